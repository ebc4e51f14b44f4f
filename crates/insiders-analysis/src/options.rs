//! The analysis options: the `[model]`, `[insiders]`, `[forecast]`, `[rules]` and
//! `[stability]` sections of `insiders.toml`.

use serde::{Deserialize, Serialize};

/// The space and the clustering model. Default: the study's choice, Ward with k = 10 on the
/// tree space (a forest predicting scaled `gross_revenue` from the other selected features,
/// its leaves embedded in 2-D by UMAP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelOptions {
    /// `identity` (the scaled features themselves) or a registered embedder (`pca`, `umap`,
    /// `tsne`, `forest`).
    pub space: String,
    /// The selected feature the space predicts (the forest); removed from its inputs.
    /// Ignored by unsupervised spaces.
    pub space_target: String,
    /// Parameters of the embedder (as `insiders embed --param`).
    pub space_params: toml::Table,
    /// A registered engine (`insiders list`).
    pub engine: String,
    /// Number of clusters (ignored by engines that find it themselves, e.g. `dbscan`).
    pub k: usize,
    /// Parameters of the engine (as `insiders cluster --param`).
    pub engine_params: toml::Table,
    /// Take the space and model from a grid run's best cell instead ("best by stated
    /// criteria"); absent by default.
    pub from_grid: Option<crate::choice::GridCriteria>,
    /// The consensus over resampled fits (`[model.consensus]`); off: one fit at `k`.
    pub consensus: crate::consensus::ConsensusOptions,
    /// Above how many customers the space and the model are fitted on a seeded sample and
    /// every other customer is assigned (`[model.sample]`). Left out of the serialised
    /// configuration at its defaults, so that configuration hashes do not change.
    #[serde(skip_serializing_if = "SampleOptions::is_default")]
    pub sample: SampleOptions,
}

/// Sample-and-assign for large shops (`[model.sample]`): above `max_fit_rows` customers,
/// the space and the model are fitted on a seeded sample of `max_fit_rows` of them; every
/// other customer is placed in the space by the fitted embedder (PCA's projection, UMAP's
/// and the forest's `transform`) and assigned to a cluster by the engine's rule
/// ([`insiders_engines::assign`]: nearest centroid, the mixture's predict, or a vote of its
/// `vote_neighbours` nearest sample customers in the space).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleOptions {
    /// The most customers a space or model is fitted on (20,000: the study's Ward is
    /// quadratic in the customers). 0: never sample.
    pub max_fit_rows: usize,
    /// Neighbours of the vote for engines without a natural predict (15).
    pub vote_neighbours: usize,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            max_fit_rows: 20_000,
            vote_neighbours: 15,
        }
    }
}

impl SampleOptions {
    /// Whether both keys have their defaults.
    pub fn is_default(&self) -> bool {
        *self == SampleOptions::default()
    }

    /// The seeded sample of `n` rows the fits see, or `None` when every row is fitted.
    pub fn sample(&self, n: usize, seed: u64) -> Option<Vec<usize>> {
        (self.max_fit_rows > 0 && n > self.max_fit_rows)
            .then(|| insiders_engines::assign::sample_rows(n, self.max_fit_rows, seed))
    }
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            space: "forest".into(),
            space_target: "gross_revenue".into(),
            space_params: toml::Table::new(),
            engine: "ward".into(),
            k: 10,
            engine_params: toml::Table::new(),
            from_grid: None,
            consensus: crate::consensus::ConsensusOptions::default(),
            sample: SampleOptions::default(),
        }
    }
}

/// Which cluster is the Insiders, and who may be one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InsidersOptions {
    /// `0` (default): the cluster with the highest mean gross revenue. Otherwise the cluster
    /// of that rank (clusters are numbered 1.. by decreasing mean gross revenue).
    pub cluster: u32,
    /// Who may be an Insider: `everyone`, or `identified` (customers with a real id: the
    /// synthetic ids of anonymous invoices cannot be enrolled in a loyalty programme).
    /// Anonymous invoices count in every total either way.
    pub eligible: Eligible,
    /// `insiders run` with another method than the study's also runs the study's method on
    /// the same data and shows its Insiders beside (sizes, overlap, revenue shares, forward
    /// check), on tables of up to this many customers (0: never; the study's Ward is
    /// quadratic in the customers).
    pub beside_study_up_to: usize,
}

impl Default for InsidersOptions {
    fn default() -> Self {
        InsidersOptions {
            cluster: 0,
            eligible: Eligible::default(),
            beside_study_up_to: 20_000,
        }
    }
}

/// Who may be an Insider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligible {
    /// Every customer of the table, anonymous invoices included (the study's rule).
    #[default]
    Everyone,
    /// Customers with a real id only.
    Identified,
}

/// The revenue forecast (Q5) and its backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastOptions {
    /// Months ahead to forecast (of 30.4375 days).
    pub months: u32,
    /// Days held out at the end of the data for the backtest (91: 2011-09-09 .. 2011-12-09
    /// on the study's data).
    pub holdout_days: u32,
    /// Simulated futures for the forecast band (0: no band).
    pub simulations: u32,
    /// Level of the band (0.9: a 90% interval).
    pub band_level: f64,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        ForecastOptions {
            months: 3,
            holdout_days: 91,
            simulations: 1000,
            band_level: 0.9,
        }
    }
}

/// The membership rules (Q6, Q7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesOptions {
    /// Depth of the decision tree that reproduces membership (short rules need a shallow tree).
    pub max_depth: usize,
    /// Minimum customers in a leaf.
    pub min_samples_leaf: usize,
}

impl Default for RulesOptions {
    fn default() -> Self {
        RulesOptions {
            max_depth: 3,
            min_samples_leaf: 20,
        }
    }
}

/// The guarantee (Q8): tests and membership stability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StabilityOptions {
    /// Refits of the space and model with other seeds.
    pub seeds: u32,
    /// Refits on random subsamples of the customers.
    pub subsamples: u32,
    /// Share of customers in each subsample.
    pub fraction: f64,
    /// Bootstrap resamples for the confidence intervals of the group differences.
    pub bootstrap_resamples: u32,
    /// Confidence level of those intervals.
    pub level: f64,
}

impl Default for StabilityOptions {
    fn default() -> Self {
        StabilityOptions {
            seeds: 3,
            subsamples: 3,
            fraction: 0.8,
            bootstrap_resamples: 2000,
            level: 0.95,
        }
    }
}

/// Every analysis option.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisOptions {
    /// The space and model.
    pub model: ModelOptions,
    /// Which cluster is the Insiders.
    pub insiders: InsidersOptions,
    /// Q5.
    pub forecast: ForecastOptions,
    /// Q6, Q7.
    pub rules: RulesOptions,
    /// Q8.
    pub stability: StabilityOptions,
}
