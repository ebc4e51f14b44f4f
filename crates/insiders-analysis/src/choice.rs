//! "Best by stated criteria" from a grid run (`insiders grid`): the settings
//! (`[model.from_grid]`) and the record of the chosen cell in the answers. The choice itself
//! is made by `insiders_grid::choice::choose`, which reads the run's typed results.

use crate::options::ModelOptions;
use serde::{Deserialize, Serialize};

/// The criteria (`[model.from_grid]` in `insiders.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridCriteria {
    /// The run folder of `cargo xtask grid` (with `results.json` and `manifest.json`).
    pub run: String,
    /// Smallest number of clusters a marketing team can use.
    pub k_min: usize,
    /// Largest.
    pub k_max: usize,
    /// Largest share of customers left as noise.
    pub max_noise_share: f64,
    /// Smallest stability (the lower of the seed and bootstrap ARI), when the run has it.
    pub min_stability: f64,
    /// Spaces considered (empty: all).
    pub spaces: Vec<String>,
    /// Engines considered (empty: all).
    pub engines: Vec<String>,
}

impl Default for GridCriteria {
    fn default() -> Self {
        GridCriteria {
            run: String::new(),
            k_min: 4,
            k_max: 12,
            max_noise_share: 0.05,
            min_stability: 0.0,
            spaces: Vec::new(),
            engines: Vec::new(),
        }
    }
}

/// The chosen cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// The cell id in the grid run.
    pub cell: String,
    /// Its silhouette (in its own space).
    pub silhouette: f64,
    /// Cells that met the criteria.
    pub candidates: usize,
    /// The criteria, in words.
    pub criteria: String,
    /// The model taken from it.
    #[serde(skip)]
    pub model: ModelOptions,
}
