//! The `gmm` engine's parameters ([`GmmParams`]) and its choices ([`CovarianceType`],
//! [`GmmRefine`]).

use serde::{Deserialize, Serialize};

/// Parameters of [`GaussianMixture`](super::GaussianMixture) (TOML keys of the `gmm` engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GmmParams {
    /// `"full"` (default), `"diag"` or `"spherical"`.
    pub covariance: CovarianceType,
    /// Number of seeded restarts; the highest lower bound wins. Default 1 (the study used 10).
    pub n_init: usize,
    /// Maximum EM iterations per run. Default 100.
    pub max_iter: usize,
    /// Stop when the mean log-likelihood changes by less than this. Default 1e-3.
    pub tol: f64,
    /// Added to the diagonal of every covariance. Default 1e-6.
    pub reg_covar: f64,
    /// Escape from the local optimum of the best run: `"smem"` (default; split-and-merge EM,
    /// see the module docs) or `"none"` (scikit-learn's algorithm exactly).
    pub refine: GmmRefine,
    /// Maximum split-and-merge trials (each one a full EM run from a modified mixture) after
    /// the restarts; 0 = none. Default 12.
    pub max_refine_trials: usize,
}

impl Default for GmmParams {
    fn default() -> Self {
        GmmParams {
            covariance: CovarianceType::Full,
            n_init: 1,
            max_iter: 100,
            tol: 1e-3,
            reg_covar: 1e-6,
            refine: GmmRefine::Smem,
            max_refine_trials: 12,
        }
    }
}

/// The shape of the component covariances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CovarianceType {
    /// One full `d x d` covariance per component (the default).
    #[default]
    Full,
    /// One diagonal covariance per component.
    Diag,
    /// One variance per component (`sigma^2 I`).
    Spherical,
}

impl CovarianceType {
    /// Free parameters of the covariances of `k` components in `d` dimensions.
    pub(super) fn n_cov_params(self, k: usize, d: usize) -> usize {
        match self {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Spherical => k,
        }
    }
}

/// The escape from the best run's local optimum of the `gmm` engine (TOML key `refine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GmmRefine {
    /// Split-and-merge EM (the default; see the module docs).
    #[default]
    Smem,
    /// None: scikit-learn's algorithm exactly.
    None,
}
