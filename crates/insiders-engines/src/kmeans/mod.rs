//! `kmeans`: k-means with greedy k-means++ seeding, `n_init` restarts, Hamerly-accelerated
//! Lloyd iterations, then two optional improvements (on by default) that scikit-learn does
//! not have: Hartigan refinement of the best restarts and random-swap polishing of the best
//! one.
//!
//! The restarts follow scikit-learn's `KMeans` (`init="k-means++"`, `algorithm="lloyd"`):
//!
//! - **Seeding**: greedy k-means++ (Arthur & Vassilvitskii 2007, as scikit-learn does it):
//!   the first centre is a uniformly drawn point; each next centre is the best of
//!   `2 + floor(ln k)` candidates drawn with probability proportional to the squared distance
//!   to the nearest chosen centre, "best" meaning the candidate that lowers the potential
//!   (sum of squared distances) most.
//! - **Iterations**: Lloyd's algorithm, accelerated with Hamerly's bounds (Hamerly 2010,
//!   "Making k-means even faster"): one upper bound on the distance to the assigned centre
//!   and one lower bound on the distance to the second-closest centre per point, so most
//!   points skip the distance computations once the centres settle. Hamerly (not Elkan)
//!   because the spaces clustered here are low-dimensional (2 to 100 columns) and k <= a
//!   few dozen: Hamerly's O(n) bounds beat Elkan's O(n k) there. The bounds never change the
//!   result: `algorithm = "lloyd"` (plain exhaustive assignment) gives the same labels and
//!   is kept as a reference.
//! - **Stopping** as scikit-learn: stop when no label changes ("strict convergence") or when
//!   the total squared centre shift is at most `tol` times the mean per-column variance of the
//!   data; in the latter case labels are reassigned once more to the final centres.
//! - **Empty clusters** are relocated as scikit-learn does: each empty cluster takes the point
//!   farthest from its centre (largest first, ties by index).
//! - **Restarts**: `n_init` runs, run `r` seeded with `derive_seed(seed, r)`, in parallel with
//!   rayon (each run sequential inside when there are at least as many runs as threads);
//!   the best run is the one with the lowest inertia, ties to the lower run index.
//! - **Kernels**: the distance loops are compiled for the data dimension when it is 2, 3 or 5
//!   (the study's spaces), with the same additions in the same order as the generic loop, so
//!   the results are the same bits.
//!
//! Improvements (set `refine = "none"` and `swaps = 0` for scikit-learn's algorithm):
//!
//! - **Hartigan refinement** (`refine = "hartigan"`, default) of the 3 restarts with the
//!   lowest Lloyd inertia: single-point moves that lower the inertia (Hartigan & Wong 1979),
//!   with the live-set bookkeeping. Never worse than the Lloyd run it starts from; every
//!   point still ends at its nearest centre. (Refining all `n_init` restarts cost 1.5x the
//!   restarts themselves and changed the winner rarely.)
//! - **Random swap** (`swaps = 50`, default, at most 5 per cluster; Fränti 2018, "Efficiency
//!   of random swap clustering"): the best restart is polished by trials, each moving one
//!   random centre to a point drawn by D^2 sampling, repartitioning locally and running at
//!   most 20 Lloyd iterations (single-threaded, the cluster sums updated only by the points
//!   that change cluster); the cost of its labels then bounds the inertia Lloyd would
//!   reach. Trials run in pairs from the same solution (in parallel); the better of a pair,
//!   if its bound is below the current solution's Lloyd inertia (before Hartigan) plus 1%,
//!   runs Lloyd to convergence and Hartigan, and replaces the current solution if its
//!   inertia is lower. The trials use the seed `derive_seed(seed, u64::MAX)`. At the study's
//!   n_init = 10 this is what makes our inertia reliably at or below scikit-learn's (see
//!   `tests/parity_kmeans_gmm.rs`): best-of-10 Lloyd runs is a lottery whose spread (up to
//!   ~3% of the inertia on the study's data) is larger than the gap between implementations.
//!   `swap_patience` (default 0 = off) stops the chain after that many consecutive trials
//!   without an accepted swap: cheaper, but it loses that parity (see docs/engines.md).
//!
//! Determinism: each restart and the swap chain are pure functions of their seeds. Inside a
//! run the assignment step is split into fixed chunks of points (independent of the thread
//! count) whose partial sums are added in chunk order, whether the chunks run in parallel or
//! not, so the result is bit-identical for any number of threads.
//!
//! Layout: this file has the engine ([`KMeans`], [`KMeansModel`]) and the stages' driver;
//! `params.rs` the parameters, `seeding.rs` k-means++, `lloyd.rs` Lloyd/Hamerly,
//! `hartigan.rs` the refinement, `swap.rs` the random swap, `kernels.rs` the distance and
//! assignment kernels, `tests.rs` the unit tests.

// Numerical kernels index several parallel arrays with the same counter; iterator chains
// would hide the arithmetic.
#![allow(clippy::needless_range_loop)]

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::engine::check_k;
use insiders_core::{
    Caps, Diagnostics, Engine, Error, Matrix, MatrixView, Partition, Rng, check_matrix, derive_seed,
};
use rayon::prelude::*;

#[macro_use]
mod kernels;
mod hartigan;
mod lloyd;
mod params;
mod seeding;
mod swap;
#[cfg(test)]
mod tests;

pub(crate) use kernels::Data;
pub use params::{KMeansAlgorithm, KMeansParams, KMeansRefine};

use hartigan::hartigan_refine;
use lloyd::{Run, run_once};
use swap::{SwapCfg, swap_polish};

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[EngineSpec {
    name: "kmeans",
    about: "k-means: greedy k-means++, n_init restarts, Hamerly-accelerated Lloyd, Hartigan refinement, random-swap polishing",
    build: build_kmeans,
}];

fn build_kmeans(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: KMeansParams = from_table(table)?;
    Ok(Box::new(KMeans::new(params)?))
}

/// Cap on random-swap trials per cluster: `min(swaps, 5 k)` trials are run.
const SWAPS_PER_CLUSTER: usize = 5;

/// Restarts (the lowest Lloyd inertias, ties to the lower run index) that get the
/// Hartigan refinement.
const HARTIGAN_TOP: usize = 3;

/// Swap trials evaluated together from the same solution (in parallel). Fixed, so that
/// results do not depend on the thread count.
const SWAP_BATCH: usize = 2;

/// Lloyd iterations a swap trial gets before it is judged.
const SWAP_STEPS: usize = 20;

/// A trial survives when the cost of its labels is below the current solution's Lloyd
/// inertia (before Hartigan) times `1 + SWAP_SLACK`.
const SWAP_SLACK: f64 = 0.01;

/// Default of [`KMeansParams::swap_patience`].
const PATIENCE: usize = 0;

/// Points per work chunk. Fixed (never derived from the thread count) so that partial sums are
/// always formed and added in the same order.
pub(crate) const CHUNK: usize = 256;

/// The k-means engine (registry name `kmeans`).
#[derive(Debug, Clone)]
pub struct KMeans {
    params: KMeansParams,
    bounds: bool,
    hartigan: bool,
}

impl Default for KMeans {
    fn default() -> Self {
        KMeans {
            params: KMeansParams::default(),
            bounds: true,
            hartigan: true,
        }
    }
}

/// A fitted k-means model: the best run's centres and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansModel {
    /// Cluster centres, one row per cluster (`k x d`), in the input's coordinates.
    pub centres: Matrix,
    /// Cluster of each point: a row index into [`KMeansModel::centres`]. Unlike
    /// [`Partition`] labels these are not renumbered by first appearance.
    pub labels: Vec<usize>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// Lloyd iterations of the run that produced the result (the best restart, or the last
    /// accepted swap trial).
    pub n_iter: usize,
    /// Whether that run stopped by convergence (not by `max_iter`).
    pub converged: bool,
    /// Index of the best run in `0..n_init`.
    pub best_run: usize,
    /// Points moved by the Hartigan refinement in the best run (0 without refinement).
    pub refine_moves: usize,
    /// Swap-polishing trials that lowered the inertia.
    pub swaps_accepted: usize,
    /// Inertia of every run, by run index (after the Hartigan refinement for the refined ones).
    pub run_inertias: Vec<f64>,
}

impl KMeansModel {
    /// The model as a [`Partition`] (labels renumbered by first appearance), with diagnostics
    /// `inertia`, `n_iter`, `converged` and extra `refine_moves`.
    pub fn partition(&self) -> Partition {
        let raw: Vec<Option<usize>> = self.labels.iter().map(|&l| Some(l)).collect();
        let mut diag = Diagnostics {
            inertia: Some(self.inertia),
            n_iter: Some(self.n_iter),
            converged: Some(self.converged),
            ..Diagnostics::default()
        };
        diag.extra
            .insert("refine_moves".into(), self.refine_moves as f64);
        Partition::from_raw(&raw, diag)
    }

    /// Assigns each row of `x` to its nearest centre (ties to the lower centre index).
    pub fn predict(&self, x: MatrixView<'_>) -> Result<Vec<usize>, Error> {
        check_matrix(x)?;
        if x.ncols() != self.centres.ncols() {
            return Err(Error::Shape(format!(
                "model has {} columns, input has {}",
                self.centres.ncols(),
                x.ncols()
            )));
        }
        Ok(x.outer_iter()
            .map(|row| {
                let mut best = (f64::INFINITY, 0);
                for (j, c) in self.centres.outer_iter().enumerate() {
                    let d: f64 = row
                        .iter()
                        .zip(c.iter())
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum();
                    if d < best.0 {
                        best = (d, j);
                    }
                }
                best.1
            })
            .collect())
    }
}

impl KMeans {
    /// Builds the engine, validating `params` (errors are [`Error::Param`]).
    pub fn new(params: KMeansParams) -> Result<Self, Error> {
        if params.n_init == 0 {
            return Err(Error::param("n_init", "must be at least 1"));
        }
        if params.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        if !(params.tol.is_finite() && params.tol >= 0.0) {
            return Err(Error::param(
                "tol",
                format!("must be finite and >= 0, got {}", params.tol),
            ));
        }
        let bounds = params.algorithm == KMeansAlgorithm::Hamerly;
        let hartigan = params.refine == KMeansRefine::Hartigan;
        Ok(KMeans {
            params,
            bounds,
            hartigan,
        })
    }

    /// The validated parameters.
    pub fn params(&self) -> &KMeansParams {
        &self.params
    }

    /// Fits k-means with `k` clusters and returns the best run's centres and labels.
    ///
    /// Errors: empty or non-finite input, k = 0 or k > n, or a numerical overflow
    /// (values so large that squared distances are not finite).
    pub fn fit_model(&self, x: MatrixView<'_>, k: usize, seed: u64) -> Result<KMeansModel, Error> {
        check_matrix(x)?;
        let k = check_k("kmeans", Some(k), x.nrows())?;
        let data = Data::new(x);
        let tol_abs = data.mean_variance() * self.params.tol;
        // Restarts run in parallel; each one is sequential inside unless there are fewer
        // restarts than threads (same result either way).
        let par = self.params.n_init < rayon::current_num_threads();
        let mut runs: Vec<Run> = (0..self.params.n_init)
            .into_par_iter()
            .map(|r| {
                let mut rng = Rng::new(derive_seed(seed, r as u64));
                run_once(
                    &data,
                    k,
                    &mut rng,
                    self.params.max_iter,
                    tol_abs,
                    self.bounds,
                    par,
                )
            })
            .collect();
        if self.hartigan {
            let mut order: Vec<usize> = (0..runs.len()).collect();
            order.sort_by(|&a, &b| runs[a].inertia.total_cmp(&runs[b].inertia).then(a.cmp(&b)));
            let mut chosen = vec![false; runs.len()];
            for &r in order.iter().take(HARTIGAN_TOP) {
                chosen[r] = true;
            }
            runs.par_iter_mut()
                .zip(chosen.par_iter())
                .filter(|(_, c)| **c)
                .for_each(|(run, _)| hartigan_refine(&data, k, run, self.params.max_refine_passes));
        }
        let run_inertias: Vec<f64> = runs.iter().map(|r| r.inertia).collect();
        let mut best = 0;
        for (r, run) in runs.iter().enumerate() {
            if run.inertia < runs[best].inertia {
                best = r;
            }
        }
        let Some(mut run) = runs.into_iter().nth(best) else {
            return Err(Error::Numerical {
                method: "kmeans".into(),
                message: "no run".into(),
            });
        };
        let cfg = SwapCfg {
            trials: self.params.swaps.min(SWAPS_PER_CLUSTER * k),
            batch: SWAP_BATCH,
            steps: SWAP_STEPS,
            max_iter: self.params.max_iter,
            tol_abs,
            bounds: self.bounds,
            hartigan: self.hartigan,
            max_passes: self.params.max_refine_passes,
            patience: self.params.swap_patience,
        };
        let swaps_accepted = swap_polish(
            &data,
            k,
            &mut run,
            &cfg,
            &mut Rng::new(derive_seed(seed, u64::MAX)),
        );
        if !run.inertia.is_finite() {
            return Err(Error::Numerical {
                method: "kmeans".into(),
                message: format!(
                    "inertia is {} (values too large for squared distances)",
                    run.inertia
                ),
            });
        }
        let d = data.d;
        let mut centres = Matrix::zeros((k, d));
        for j in 0..k {
            for c in 0..d {
                centres[[j, c]] = run.centres[j * d + c] + data.mean[c];
            }
        }
        Ok(KMeansModel {
            centres,
            labels: run.labels.iter().map(|&l| l as usize).collect(),
            inertia: run.inertia,
            n_iter: run.n_iter,
            converged: run.converged,
            best_run: best,
            refine_moves: run.refine_moves,
            swaps_accepted,
            run_inertias,
        })
    }
}

impl Engine for KMeans {
    fn name(&self) -> &str {
        "kmeans"
    }

    fn caps(&self) -> Caps {
        Caps::SEEDED_K
    }

    fn fit(&self, x: MatrixView<'_>, k: Option<usize>, seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let k = check_k("kmeans", k, x.nrows())?;
        Ok(self.fit_model(x, k, seed)?.partition())
    }
}
