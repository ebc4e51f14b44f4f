//! The grid configuration (`grid.toml`): spaces, engines with their parameter grids, the k
//! range, the master seed and stability; cell ids and the seed of every cell.

use crate::GridError;
use crate::cell_stability::StabilityConfig;
use insiders_core::{derive_seed, fnv1a_str};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The repository's `grid.toml`: the default grid when no `--config` is given.
pub const DEFAULT_GRID: &str = include_str!("../../../grid.toml");

/// A space of the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSpec {
    /// The row label: the first part of its cells' ids (and so of their seeds).
    pub name: String,
    /// `identity` (the model matrix itself) or a registered embedder.
    pub method: String,
    /// The feature a supervised method (the forest) predicts; removed from its inputs.
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub params: toml::Table,
}

/// An engine of the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    /// Registered engine name.
    pub name: String,
    /// Fixed parameters.
    #[serde(default)]
    pub params: toml::Table,
    /// Parameter grid (each key a list); the cartesian product is run.
    #[serde(default)]
    pub grid: toml::Table,
}

/// The grid configuration (`grid.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    pub seed: u64,
    pub k_min: usize,
    pub k_max: usize,
    #[serde(default)]
    pub quick_ks: Vec<usize>,
    /// The model matrix's features. Absent: the pipeline configuration's
    /// `[features] selected` (`insiders.toml`); a run's manifest records the list used.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// The spaces of the customer table (not used by a grid over matrix data sets, whose
    /// one space is each data set's points).
    #[serde(rename = "space", default)]
    pub spaces: Vec<SpaceSpec>,
    #[serde(rename = "engine")]
    pub engines: Vec<EngineSpec>,
    /// Stability scores (seed and bootstrap ARI per cell).
    #[serde(default)]
    pub stability: StabilityConfig,
    /// Matrix data sets of the `datasets/` registry to run over instead of the customer
    /// table: ids (`clustbench/fcps/hepta`) or id prefixes (`clustbench/fcps`, `clustbench`).
    /// Empty: the grid over the pipeline's customer table. `--datasets` overrides it.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// Data sets with more points are skipped (default 10,000: the exact engines' O(n²)).
    #[serde(default)]
    pub max_points: Option<usize>,
    /// The grid at scale (`[sample]`): above `max_rows` customers the grid runs on a seeded
    /// sample of them, and silhouettes of more than `score_rows` points are estimated from
    /// a sample with their standard error.
    #[serde(default)]
    pub sample: GridSample,
}

/// The grid at scale (`[sample]` of `grid.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridSample {
    /// Above this many customers, every space and cell is fitted and scored on a seeded
    /// sample of this many (the manifest's `sample` says how many of how many; the labels
    /// and spaces files list the sampled customers). 0: never.
    pub max_rows: usize,
    /// Silhouettes over up to this many points are exact; above, estimated from
    /// `score_rows` points. 0: always exact.
    pub score_exact_up_to: usize,
    /// Points of a sampled silhouette, each scored against every point
    /// ([`insiders_eval::silhouette_sampled`]: unbiased), with its standard error
    /// (`silhouette_se`, `score_rows` in the results).
    pub score_rows: usize,
}

impl Default for GridSample {
    fn default() -> Self {
        GridSample {
            max_rows: 20_000,
            score_exact_up_to: 10_000,
            score_rows: 2_000,
        }
    }
}

impl GridConfig {
    /// Parses grid configuration text; `what` names it in errors.
    pub fn parse(text: &str, what: &str) -> Result<GridConfig, GridError> {
        let cfg: GridConfig = toml::from_str(text).map_err(|source| GridError::Config {
            path: what.to_string(),
            source: Box::new(source),
        })?;
        if cfg.k_min == 0 || cfg.k_min > cfg.k_max {
            return Err(GridError::Invalid(format!(
                "{what}: k_min..=k_max must be a non-empty range of positive ks (got {}..={})",
                cfg.k_min, cfg.k_max
            )));
        }
        Ok(cfg)
    }

    /// Reads a grid configuration file, or the built-in default grid for `None`.
    pub fn load(path: Option<&Path>) -> Result<GridConfig, GridError> {
        match path {
            Some(p) => Self::parse(&crate::read_text(p)?, &p.display().to_string()),
            None => Self::parse(DEFAULT_GRID, "the built-in grid.toml"),
        }
    }
}

/// The seed of a cell (or a space), from the master seed and its id.
pub fn cell_seed(master: u64, id: &str) -> u64 {
    derive_seed(master, fnv1a_str(id))
}

/// A parameter point as text: `key=value` pairs joined by `;` (the `params` column).
pub fn params_text(t: &toml::Table) -> String {
    t.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The cartesian product of an engine's parameter grid, merged over its fixed params.
pub fn param_points(e: &EngineSpec) -> Result<Vec<toml::Table>, GridError> {
    let mut points = vec![e.params.clone()];
    for (key, values) in &e.grid {
        let list = values.as_array().ok_or_else(|| {
            GridError::Invalid(format!("engine {}: grid.{key} must be a list", e.name))
        })?;
        let mut next = Vec::new();
        for p in &points {
            for v in list {
                let mut q = p.clone();
                q.insert(key.clone(), v.clone());
                next.push(q);
            }
        }
        points = next;
    }
    Ok(points)
}

/// The id of a cell: `space/engine[params]/kK` (the parts that apply).
pub fn cell_id(space: &str, engine: &str, params: &toml::Table, k: Option<usize>) -> String {
    let p = params_text(params);
    let mut id = format!("{space}/{engine}");
    if !p.is_empty() {
        id.push_str(&format!("[{p}]"));
    }
    if let Some(k) = k {
        id.push_str(&format!("/k{k}"));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_ids_and_seeds_are_stable() {
        let mut p = toml::Table::new();
        p.insert("n_init".into(), toml::Value::Integer(10));
        assert_eq!(
            cell_id("tree", "kmeans", &p, Some(3)),
            "tree/kmeans[n_init=10]/k3"
        );
        assert_eq!(
            cell_id("tree", "ward", &toml::Table::new(), Some(3)),
            "tree/ward/k3"
        );
        assert_eq!(cell_seed(42, "tree/ward/k3"), cell_seed(42, "tree/ward/k3"));
        assert_ne!(cell_seed(42, "tree/ward/k3"), cell_seed(42, "tree/ward/k4"));
    }

    #[test]
    fn parameter_grids_are_cartesian() {
        let e: EngineSpec = toml::from_str(
            "name = \"dbscan\"\nparams = { min_samples = 20 }\ngrid = { eps = [0.5, 1.0, 2.0] }",
        )
        .unwrap();
        let pts = param_points(&e).unwrap();
        assert_eq!(pts.len(), 3);
        assert!(
            pts.iter()
                .all(|p| p["min_samples"].as_integer() == Some(20))
        );
    }

    #[test]
    fn the_default_grid_parses() {
        let g = GridConfig::load(None).unwrap();
        assert_eq!(g.spaces.len(), 5);
        assert_eq!((g.k_min, g.k_max), (2, 22));
        let names: Vec<&str> = g.spaces.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["features", "pca", "umap", "tsne", "tree"]);
        // The Python grid's DBSCAN: min_samples 5, eps = m x elbow for six m.
        let d = g.engines.iter().find(|e| e.name == "dbscan").unwrap();
        let pts = param_points(d).unwrap();
        let m: Vec<f64> = pts
            .iter()
            .map(|p| p["eps_factor"].as_float().unwrap())
            .collect();
        assert_eq!(m, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]);
        assert!(pts.iter().all(|p| p["min_samples"].as_integer() == Some(5)));
        for p in &pts {
            insiders_engines::build("dbscan", p).unwrap();
        }
        assert!(!g.stability.enabled && g.stability.seeds >= 2 && g.stability.bootstraps >= 1);
        for e in &g.engines {
            assert!(
                insiders_engines::names().contains(&e.name.as_str()),
                "grid engine {} is not registered",
                e.name
            );
        }
    }

    #[test]
    fn bad_grids_name_the_problem() {
        let e = GridConfig::parse(
            "seed = 1\nk_min = 3\nk_max = 2\nspace = []\nengine = []",
            "g",
        )
        .unwrap_err();
        assert!(e.to_string().contains("k_min"), "{e}");
        let e = GridConfig::parse("sed = 1", "g.toml").unwrap_err();
        assert!(e.to_string().contains("sed"), "{e}");
    }
}
