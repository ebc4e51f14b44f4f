//! The `kmeans` engine's parameters ([`KMeansParams`]) and its choices ([`KMeansAlgorithm`],
//! [`KMeansRefine`]).

use super::PATIENCE;
use serde::{Deserialize, Serialize};

/// Parameters of [`KMeans`](super::KMeans) (TOML keys of the `kmeans` engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KMeansParams {
    /// Number of seeded restarts; the run with the lowest inertia wins. Default 10
    /// (scikit-learn's historical default; the study used 100).
    pub n_init: usize,
    /// Maximum Lloyd iterations per run. Default 300.
    pub max_iter: usize,
    /// Relative tolerance: a run stops when the total squared centre shift is at most
    /// `tol * mean(column variances)`. Default 1e-4.
    pub tol: f64,
    /// `"hamerly"` (default, bounds-accelerated) or `"lloyd"` (plain exhaustive assignment;
    /// same result, slower, kept as a reference).
    pub algorithm: KMeansAlgorithm,
    /// Local refinement after Lloyd converges, of the 3 best restarts and of the swap
    /// candidates that get that far: `"hartigan"` (default) or `"none"` (plain
    /// scikit-learn behaviour). Hartigan's single-point moves (Hartigan & Wong 1979;
    /// Telgarsky & Vattani 2010) move a point from cluster a to b whenever
    /// `n_b/(n_b+1) |x - c_b|^2 < n_a/(n_a-1) |x - c_a|^2`, which strictly lowers the
    /// inertia; its fixed points are a subset of Lloyd's, so the result is never worse
    /// than the Lloyd run it starts from and every point still ends at its nearest centre.
    pub refine: KMeansRefine,
    /// Maximum passes over the points of the Hartigan refinement. Default 100.
    pub max_refine_passes: usize,
    /// Random-swap trials that polish the best restart (see the module docs), at most
    /// 5 per cluster (small k has few local minima); 0 = none, as scikit-learn. Default 50.
    pub swaps: usize,
    /// The swap chain stops early after this many consecutive trials without an accepted
    /// swap (counted in whole batches of 2); 0 = never stop early (default).
    pub swap_patience: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            algorithm: KMeansAlgorithm::Hamerly,
            refine: KMeansRefine::Hartigan,
            max_refine_passes: 100,
            swaps: 50,
            swap_patience: PATIENCE,
        }
    }
}

/// How the `kmeans` engine assigns points to centres (TOML key `algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KMeansAlgorithm {
    /// Lloyd with Hamerly's bounds (the default).
    #[default]
    Hamerly,
    /// Plain exhaustive assignment: the same result, slower, kept as a reference.
    Lloyd,
}

/// The local refinement of the `kmeans` engine (TOML key `refine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KMeansRefine {
    /// Hartigan's single-point moves (the default).
    #[default]
    Hartigan,
    /// None: scikit-learn's algorithm.
    None,
}
