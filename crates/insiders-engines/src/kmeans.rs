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

// Numerical kernels index several parallel arrays with the same counter; iterator chains
// would hide the arithmetic.
#![allow(clippy::needless_range_loop)]

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::engine::check_k;
use insiders_core::{
    Caps, Diagnostics, Engine, Error, Matrix, MatrixView, Partition, Rng, check_matrix,
    derive_seed,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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

/// Parameters of [`KMeans`] (TOML keys of the `kmeans` engine).
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

/// The input as a contiguous row-major buffer, centred on its column means (as scikit-learn
/// does, for precision; distances and inertia do not change).
#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) xs: Vec<f64>,
    pub(crate) mean: Vec<f64>,
}

impl Data {
    pub(crate) fn new(x: MatrixView<'_>) -> Self {
        let (n, d) = x.dim();
        let mut mean = vec![0.0; d];
        for row in x.outer_iter() {
            for (m, v) in mean.iter_mut().zip(row.iter()) {
                *m += v;
            }
        }
        for m in &mut mean {
            *m /= n as f64;
        }
        let mut xs = Vec::with_capacity(n * d);
        for row in x.outer_iter() {
            xs.extend(row.iter().zip(&mean).map(|(v, m)| v - m));
        }
        Data { n, d, xs, mean }
    }

    #[inline]
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.xs[i * self.d..(i + 1) * self.d]
    }

    /// Mean over columns of the (population) column variances.
    fn mean_variance(&self) -> f64 {
        let mut var = vec![0.0; self.d];
        for i in 0..self.n {
            for (v, x) in var.iter_mut().zip(self.row(i)) {
                *v += x * x; // data are centred
            }
        }
        var.iter().sum::<f64>() / (self.n * self.d) as f64
    }
}

#[inline]
fn sqdist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// [`sqdist`] with the dimension known at compile time (`D > 0`; `D = 0` means any
/// dimension). The squares are added in the same order as in [`sqdist`] (whose fold starts
/// from a zero that the first, non-negative square absorbs exactly), so both give the same
/// bits; the constant lets the compiler unroll the loop and drop the bounds checks.
#[inline(always)]
fn sq<const D: usize>(a: &[f64], b: &[f64]) -> f64 {
    if D == 0 {
        return sqdist(a, b);
    }
    let (a, b) = (&a[..D], &b[..D]);
    let mut s = 0.0;
    for c in 0..D {
        let t = a[c] - b[c];
        s += t * t;
    }
    s
}

/// The row length of a kernel compiled for `D` (`D = 0`: the data dimension `d`, at least 1
/// so that `chunks_exact` is defined).
#[inline(always)]
fn width<const D: usize>(d: usize) -> usize {
    if D == 0 { d.max(1) } else { D }
}

/// Calls `f::<D>(args)` with `D` the data dimension when it has a specialised kernel
/// (2, 3, 5: the study's embeddings and features), `D = 0` (any dimension) otherwise.
macro_rules! by_dim {
    ($d:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $d {
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            5 => $f::<5>($($arg),*),
            _ => $f::<0>($($arg),*),
        }
    };
}

/// One k-means run.
#[derive(Debug)]
struct Run {
    centres: Vec<f64>,
    labels: Vec<u32>,
    inertia: f64,
    n_iter: usize,
    converged: bool,
    refine_moves: usize,
    /// Inertia before the Hartigan refinement (the Lloyd result's).
    lloyd_inertia: f64,
    /// Per point, a lower bound on its distance to every centre but its own (Hamerly's
    /// lower bound, valid for `centres`); empty when not known. Lets Hartigan's passes skip
    /// the points that cannot move.
    lower: Vec<f64>,
}

/// Greedy k-means++ seeding; returns `k x d` centres (row-major).
pub(crate) fn kmeans_plus_plus(data: &Data, k: usize, rng: &mut Rng) -> Vec<f64> {
    by_dim!(data.d, seed_pp(data, k, rng, true))
}

/// Greedy k-means++ seeding, with the candidates scored in parallel (`par`) or one after the
/// other in two reused buffers; both give the same centres.
fn seed_pp<const D: usize>(data: &Data, k: usize, rng: &mut Rng, par: bool) -> Vec<f64> {
    let (n, d) = (data.n, data.d);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centres = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centres.extend_from_slice(data.row(first));
    let mut closest: Vec<f64> = (0..n)
        .map(|i| sq::<D>(data.row(i), data.row(first)))
        .collect();
    let mut pot: f64 = closest.iter().sum();
    let mut cumsum = vec![0.0; n];
    let (mut cur, mut best_dist) = if par {
        (Vec::new(), Vec::new())
    } else {
        (vec![0.0; n], vec![0.0; n])
    };
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, v) in cumsum.iter_mut().zip(&closest) {
            acc += v;
            *c = acc;
        }
        let last_positive = closest.iter().rposition(|&v| v > 0.0).unwrap_or(n - 1);
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.uniform() * pot;
                // First point whose cumulative weight exceeds r: never a zero-weight point.
                let idx = cumsum.partition_point(|&c| c <= r);
                if idx >= n { last_positive } else { idx }
            })
            .collect();
        // Potential with candidate `c` added; the new distances go to `out`.
        let dd = width::<D>(d);
        let score = |c: usize, out: &mut [f64]| -> f64 {
            let cand = data.row(c);
            let mut s = 0.0;
            for ((x, o), &cl) in data.xs.chunks_exact(dd).zip(out.iter_mut()).zip(&closest) {
                let v = fmin(sq::<D>(x, cand), cl);
                *o = v;
                s += v;
            }
            s
        };
        let best = if par {
            let scored: Vec<(f64, Vec<f64>)> = candidates
                .par_iter()
                .map(|&c| {
                    let mut dist = vec![0.0; n];
                    (score(c, &mut dist), dist)
                })
                .collect();
            let mut best = 0;
            for (t, s) in scored.iter().enumerate() {
                if s.0 < scored[best].0 {
                    best = t;
                }
            }
            let Some((best_pot, dist)) = scored.into_iter().nth(best) else {
                break;
            };
            pot = best_pot;
            closest = dist;
            best
        } else {
            let mut best: Option<(f64, usize)> = None;
            for (t, &c) in candidates.iter().enumerate() {
                let s = score(c, &mut cur);
                if best.is_none_or(|(b, _)| s < b) {
                    best = Some((s, t));
                    std::mem::swap(&mut cur, &mut best_dist);
                }
            }
            let Some((best_pot, best)) = best else {
                break;
            };
            pot = best_pot;
            std::mem::swap(&mut closest, &mut best_dist);
            best
        };
        centres.extend_from_slice(data.row(candidates[best]));
    }
    centres
}

/// Per-chunk output of an assignment pass.
struct ChunkStats {
    changed: usize,
    sums: Vec<f64>,
    counts: Vec<usize>,
}

/// The smaller of two numbers that are not NaN (the first when equal): `f64::min` without
/// its NaN handling, which keeps the hot loops branch-free and vectorisable. Same bits as
/// `f64::min` for non-NaN inputs that are not zeros of opposite signs (squared distances and
/// bounds here are never -0).
#[inline(always)]
fn fmin(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// The larger of two numbers that are not NaN (the first when equal); see [`fmin`].
#[inline(always)]
fn fmax(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// The nearest centre of `x` and the squared distances to the nearest and the second
/// nearest (ties keep the lower index).
#[inline(always)]
fn nearest_two<const D: usize>(x: &[f64], centres: &[f64], k: usize) -> (usize, f64, f64) {
    let d = width::<D>(x.len());
    let (mut b1, mut d1, mut d2) = (0usize, f64::INFINITY, f64::INFINITY);
    for (j, c) in centres.chunks_exact(d).take(k).enumerate() {
        let dj = sq::<D>(x, c);
        // branch-free form of "if dj < d1 { d2 = d1; d1 = dj; b1 = j } else if dj < d2
        // { d2 = dj }" (the same values: d1 <= d2 always)
        d2 = fmin(d2, fmax(d1, dj));
        b1 = if dj < d1 { j } else { b1 };
        d1 = fmin(d1, dj);
    }
    (b1, d1, d2)
}

/// Hamerly's bound update after the centres moved, not yet applied to the points: each
/// point's upper bound grows by the move of its own centre, `p[a]`, and its lower bound
/// shrinks by the largest move of another centre (`m2` for the points of the centre that
/// moved most, `arg`, else `m1`). The assignment passes apply it to each point just before
/// testing it (one pass over the points per iteration instead of two; the same additions,
/// so the same bits). The zero shift changes nothing (`x + 0.0 == x`, `x - 0.0 == x`).
#[derive(Debug, Clone)]
struct Shift {
    p: Vec<f64>,
    arg: usize,
    m1: f64,
    m2: f64,
}

impl Shift {
    fn zero(k: usize) -> Self {
        Shift {
            p: vec![0.0; k],
            arg: 0,
            m1: 0.0,
            m2: 0.0,
        }
    }

    /// How much the lower bound of a point of cluster `a` shrinks.
    #[inline(always)]
    fn lower_drop(&self, a: usize) -> f64 {
        if a == self.arg { self.m2 } else { self.m1 }
    }

    /// Per cluster `a`: `[half_sep[a], p[a], the lower-bound decrease of its points]`, the
    /// three numbers an assignment pass needs per point, in one place.
    fn per_cluster(&self, half_sep: &[f64]) -> Vec<[f64; 3]> {
        half_sep
            .iter()
            .zip(&self.p)
            .enumerate()
            .map(|(a, (&h, &p))| [h, p, self.lower_drop(a)])
            .collect()
    }
}

/// Adds `x` to the sums of cluster `l` (component by component: the same bits whatever `D`).
#[inline(always)]
fn add_row<const D: usize>(sums: &mut [f64], l: usize, x: &[f64]) {
    let d = width::<D>(x.len());
    let (s, x) = (&mut sums[l * d..][..d], &x[..d]);
    for c in 0..d {
        s[c] += x[c];
    }
}

/// Assignment of the points `start..start + lab.len()` (one chunk): adds their coordinates
/// to `sums` and counts to `counts` (both zeroed by the caller); returns the label changes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn assign_chunk<const D: usize>(
    data: &Data,
    centres: &[f64],
    k: usize,
    cl: &[[f64; 3]],
    start: usize,
    lab: &mut [u32],
    up: &mut [f64],
    lo: &mut [f64],
    full: bool,
    sums: &mut [f64],
    counts: &mut [usize],
) -> usize {
    let d = width::<D>(data.d);
    let mut changed = 0;
    let rows = data.xs[start * d..].chunks_exact(d);
    for (((x, lab), up), lo) in rows
        .zip(lab.iter_mut())
        .zip(up.iter_mut())
        .zip(lo.iter_mut())
    {
        let a = *lab as usize;
        let mut search = full;
        if !full {
            let [hs, pa, la] = cl[a];
            (*up, *lo) = (*up + pa, *lo - la);
            let m = fmax(hs, *lo);
            if *up > m {
                *up = sq::<D>(x, &centres[a * d..][..d]).sqrt();
                search = *up > m;
            }
        }
        if search {
            let (b1, d1, d2) = nearest_two::<D>(x, centres, k);
            if b1 != a || full {
                if *lab as usize != b1 {
                    changed += 1;
                }
                *lab = b1 as u32;
            }
            *up = d1.sqrt();
            *lo = d2.sqrt();
        }
        let l = *lab as usize;
        counts[l] += 1;
        add_row::<D>(sums, l, x);
    }
    changed
}

/// Bounds-accelerated assignment of every point that keeps `sums` and `counts` up to date by
/// moving only the points that change cluster (O(d) per move instead of O(n d) per pass).
/// With `full`, every point is assigned exhaustively.
#[allow(clippy::too_many_arguments)]
fn assign_moves<const D: usize>(
    data: &Data,
    centres: &[f64],
    k: usize,
    cl: &[[f64; 3]],
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    full: bool,
    sums: &mut [f64],
    counts: &mut [usize],
) -> usize {
    let d = width::<D>(data.d);
    let mut changed = 0;
    let rows = data.xs.chunks_exact(d);
    for (((x, lab), up), lo) in rows
        .zip(labels.iter_mut())
        .zip(upper.iter_mut())
        .zip(lower.iter_mut())
    {
        let a = *lab as usize;
        if !full {
            let [hs, pa, la] = cl[a];
            (*up, *lo) = (*up + pa, *lo - la);
            let m = fmax(hs, *lo);
            if *up <= m {
                continue;
            }
            *up = sq::<D>(x, &centres[a * d..][..d]).sqrt();
            if *up <= m {
                continue;
            }
        }
        let (b1, d1, d2) = nearest_two::<D>(x, centres, k);
        if b1 != a {
            changed += 1;
            *lab = b1 as u32;
            counts[a] -= 1;
            counts[b1] += 1;
            let (sa, sb) = (&mut sums[a * d..][..d], x);
            for c in 0..d {
                sa[c] -= sb[c];
            }
            add_row::<D>(sums, b1, x);
        }
        *up = d1.sqrt();
        *lo = d2.sqrt();
    }
    changed
}

/// Bounds-accelerated (or exhaustive) assignment of every point, with per-cluster sums.
///
/// `cl[j]` is [`Shift::per_cluster`]: half the distance from centre `j` to its nearest
/// other centre, and the pending bound update of its points. With `full`, every point is
/// assigned exhaustively and its bounds are reset. The chunks run in
/// parallel (`par`) or in order; their partial sums are added in chunk order either way.
#[allow(clippy::too_many_arguments)]
fn assign(
    data: &Data,
    centres: &[f64],
    k: usize,
    cl: &[[f64; 3]],
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    full: bool,
    par: bool,
) -> (usize, Vec<f64>, Vec<usize>) {
    let d = data.d;
    let mut changed = 0;
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0; k];
    if par {
        let stats: Vec<ChunkStats> = labels
            .par_chunks_mut(CHUNK)
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, ((lab, up), lo))| {
                let mut st = ChunkStats {
                    changed: 0,
                    sums: vec![0.0; k * d],
                    counts: vec![0; k],
                };
                st.changed = by_dim!(
                    d,
                    assign_chunk(
                        data,
                        centres,
                        k,
                        cl,
                        c * CHUNK,
                        lab,
                        up,
                        lo,
                        full,
                        &mut st.sums,
                        &mut st.counts
                    )
                );
                st
            })
            .collect();
        for st in stats {
            changed += st.changed;
            for (a, b) in sums.iter_mut().zip(&st.sums) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(&st.counts) {
                *a += b;
            }
        }
    } else {
        let (mut cs, mut cc) = (vec![0.0; k * d], vec![0usize; k]);
        for (c, ((lab, up), lo)) in labels
            .chunks_mut(CHUNK)
            .zip(upper.chunks_mut(CHUNK))
            .zip(lower.chunks_mut(CHUNK))
            .enumerate()
        {
            cs.fill(0.0);
            cc.fill(0);
            changed += by_dim!(
                d,
                assign_chunk(
                    data,
                    centres,
                    k,
                    cl,
                    c * CHUNK,
                    lab,
                    up,
                    lo,
                    full,
                    &mut cs,
                    &mut cc
                )
            );
            for (a, b) in sums.iter_mut().zip(&cs) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(&cc) {
                *a += b;
            }
        }
    }
    (changed, sums, counts)
}

/// Half the distance from each centre to its nearest other centre (infinite when k = 1).
fn half_separation(centres: &[f64], k: usize, d: usize) -> Vec<f64> {
    (0..k)
        .map(|j| {
            let cj = &centres[j * d..(j + 1) * d];
            (0..k)
                .filter(|&o| o != j)
                .map(|o| sqdist(cj, &centres[o * d..(o + 1) * d]))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
                * 0.5
        })
        .collect()
}

/// scikit-learn's relocation of empty clusters: each empty cluster takes the point farthest
/// from its (old) centre, largest distance first, ties by point index. Works on the sums
/// (labels are left alone, as in scikit-learn); returns the moves as (point, new cluster).
fn relocate_empty(
    data: &Data,
    old_centres: &[f64],
    labels: &[u32],
    sums: &mut [f64],
    counts: &mut [usize],
) -> Vec<(usize, usize)> {
    let d = data.d;
    let empty: Vec<usize> = (0..counts.len()).filter(|&j| counts[j] == 0).collect();
    if empty.is_empty() {
        return Vec::new();
    }
    let mut far: Vec<(f64, usize)> = (0..data.n)
        .map(|i| {
            let l = labels[i] as usize;
            (sqdist(data.row(i), &old_centres[l * d..(l + 1) * d]), i)
        })
        .collect();
    far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut moves = Vec::with_capacity(empty.len());
    for (&j, &(_, i)) in empty.iter().zip(&far) {
        let old = labels[i] as usize;
        let x = data.row(i);
        for (s, v) in sums[old * d..(old + 1) * d].iter_mut().zip(x) {
            *s -= v;
        }
        counts[old] -= 1;
        sums[j * d..(j + 1) * d].copy_from_slice(x);
        counts[j] = 1;
        moves.push((i, j));
    }
    moves
}

#[allow(clippy::too_many_arguments)]
fn run_once(
    data: &Data,
    k: usize,
    rng: &mut Rng,
    max_iter: usize,
    tol_abs: f64,
    bounds: bool,
    par: bool,
) -> Run {
    let centres = if par {
        kmeans_plus_plus(data, k, rng)
    } else {
        by_dim!(data.d, seed_pp(data, k, rng, false))
    };
    let mut st = Lloyd::new(data.n, k, centres, None, bounds);
    st.iterate(data, k, max_iter, max_iter, tol_abs, par);
    st.finish(data, k, par)
}

/// A Lloyd state to continue from: labels with Hamerly bounds valid for the given centres
/// (upper >= distance to the own centre, lower <= distance to every other centre).
#[derive(Debug)]
struct Warm {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
}

/// Lloyd iterations in progress (resumable, so that swap trials can stop early).
#[derive(Debug)]
struct Lloyd {
    centres: Vec<f64>,
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
    /// The bound update of the last centre move, applied by the next assignment pass.
    shift: Shift,
    /// Labels and bounds are not yet meaningful: the first iteration assigns exhaustively.
    cold: bool,
    bounds: bool,
    n_iter: usize,
    converged: bool,
    /// Converged because no label changed (the labels already match the centres).
    strict: bool,
    /// Cluster sums and counts kept up to date by moving only the points that change
    /// cluster (swap trials); `None`: recomputed from all points every iteration, in chunk
    /// order (scikit-learn's bits).
    inc: Option<(Vec<f64>, Vec<usize>)>,
}

impl Lloyd {
    fn new(n: usize, k: usize, centres: Vec<f64>, warm: Option<Warm>, bounds: bool) -> Self {
        let cold = warm.is_none() || !bounds;
        let Warm {
            labels,
            upper,
            lower,
        } = warm.unwrap_or_else(|| Warm {
            labels: vec![0u32; n],
            upper: vec![f64::INFINITY; n],
            lower: vec![0.0; n],
        });
        Lloyd {
            centres,
            labels,
            upper,
            lower,
            shift: Shift::zero(k),
            cold,
            bounds,
            n_iter: 0,
            converged: false,
            strict: false,
            inc: None,
        }
    }

    /// Runs at most `steps` more iterations (at most `max_iter` in all), stopping at
    /// convergence.
    fn iterate(
        &mut self,
        data: &Data,
        k: usize,
        steps: usize,
        max_iter: usize,
        tol_abs: f64,
        par: bool,
    ) {
        let d = data.d;
        let bounds = self.bounds;
        let mut done = 0;
        while !self.converged && self.n_iter < max_iter && done < steps {
            let it = self.n_iter;
            self.n_iter += 1;
            done += 1;
            let centres = &self.centres;
            let half_sep = if bounds {
                half_separation(centres, k, d)
            } else {
                vec![0.0; k]
            };
            let cl = self.shift.per_cluster(&half_sep);
            let full = (it == 0 && self.cold) || !bounds;
            let (changed, sums, counts) = if let Some((sums, counts)) = self.inc.as_mut() {
                let changed = by_dim!(
                    d,
                    assign_moves(
                        data,
                        centres,
                        k,
                        &cl,
                        &mut self.labels,
                        &mut self.upper,
                        &mut self.lower,
                        full,
                        sums,
                        counts
                    )
                );
                if counts.contains(&0) {
                    let moves = relocate_empty(data, centres, &self.labels, sums, counts);
                    for (i, j) in moves {
                        self.labels[i] = j as u32;
                        self.upper[i] = f64::INFINITY;
                        self.lower[i] = 0.0;
                    }
                }
                (changed, sums.clone(), counts.clone())
            } else {
                let (changed, mut sums, mut counts) = assign(
                    data,
                    centres,
                    k,
                    &cl,
                    &mut self.labels,
                    &mut self.upper,
                    &mut self.lower,
                    full,
                    par,
                );
                if counts.contains(&0) {
                    relocate_empty(data, centres, &self.labels, &mut sums, &mut counts);
                }
                (changed, sums, counts)
            };
            let mut new_centres = centres.clone();
            for j in 0..k {
                if counts[j] > 0 {
                    let inv = 1.0 / counts[j] as f64;
                    for c in 0..d {
                        new_centres[j * d + c] = sums[j * d + c] * inv;
                    }
                }
            }
            let shifts: Vec<f64> = (0..k)
                .map(|j| {
                    sqdist(
                        &centres[j * d..(j + 1) * d],
                        &new_centres[j * d..(j + 1) * d],
                    )
                })
                .collect();
            let total_shift: f64 = shifts.iter().sum();
            if bounds {
                let p: Vec<f64> = shifts.iter().map(|s| s.sqrt()).collect();
                let (mut m1, mut m2, mut arg) = (0.0f64, 0.0f64, 0usize);
                for (j, &pj) in p.iter().enumerate() {
                    if pj > m1 {
                        m2 = m1;
                        m1 = pj;
                        arg = j;
                    } else if pj > m2 {
                        m2 = pj;
                    }
                }
                self.shift = Shift { p, arg, m1, m2 };
            }
            self.centres = new_centres;
            if it > 0 && changed == 0 {
                self.strict = true;
                self.converged = true;
                break;
            }
            if total_shift <= tol_abs {
                self.converged = true;
                break;
            }
        }
    }

    /// Sum of squared distances of the points to the centres of their current labels: an
    /// upper bound on the inertia that further iterations reach.
    fn label_cost(&self, data: &Data, par: bool) -> f64 {
        inertia_of(data, &self.centres, &self.labels, par)
    }

    /// The final assignment step (unless the labels already match the centres) and the run.
    fn finish(self, data: &Data, k: usize, par: bool) -> Run {
        let d = data.d;
        let Lloyd {
            mut centres,
            mut labels,
            mut upper,
            mut lower,
            shift,
            bounds,
            n_iter,
            converged,
            strict,
            ..
        } = self;
        let mut bounds_valid = true;
        if strict {
            // The pending bound update (zero when no label changed: the same means).
            for (l, &a) in lower.iter_mut().zip(&labels) {
                *l -= shift.lower_drop(a as usize);
            }
        } else {
            // Labels consistent with the final centres (scikit-learn's last E-step).
            let half_sep = if bounds {
                half_separation(&centres, k, d)
            } else {
                vec![0.0; k]
            };
            let (_, mut sums, mut counts) = assign(
                data,
                &centres,
                k,
                &shift.per_cluster(&half_sep),
                &mut labels,
                &mut upper,
                &mut lower,
                !bounds,
                par,
            );
            if counts.contains(&0) {
                // Rare: a cluster lost all its points in the last reassignment. Give it the
                // farthest point and recompute the affected means so that k clusters remain.
                let moves = relocate_empty(data, &centres, &labels, &mut sums, &mut counts);
                for (i, j) in moves {
                    labels[i] = j as u32;
                }
                bounds_valid = false;
                for j in 0..k {
                    if counts[j] > 0 {
                        for c in 0..d {
                            centres[j * d + c] = sums[j * d + c] / counts[j] as f64;
                        }
                    }
                }
            }
        }
        let inertia = inertia_of(data, &centres, &labels, par);
        Run {
            centres,
            labels,
            inertia,
            n_iter,
            converged,
            refine_moves: 0,
            lloyd_inertia: inertia,
            lower: if bounds_valid { lower } else { Vec::new() },
        }
    }
}

/// Sum of squared distances of the points to the centres of their labels, summed per chunk
/// and then over chunks in order (the same bits in parallel or not).
fn inertia_of(data: &Data, centres: &[f64], labels: &[u32], par: bool) -> f64 {
    by_dim!(data.d, inertia_in(data, centres, labels, par))
}

/// [`inertia_of`] with the dimension known at compile time when `D > 0` (the same bits).
fn inertia_in<const D: usize>(data: &Data, centres: &[f64], labels: &[u32], par: bool) -> f64 {
    let n = data.n;
    let d = width::<D>(data.d);
    let chunk = |c: usize| -> f64 {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        data.xs[lo * d..hi * d]
            .chunks_exact(d)
            .zip(&labels[lo..hi])
            .map(|(x, &l)| sq::<D>(x, &centres[l as usize * d..][..d]))
            .sum::<f64>()
    };
    let parts: Vec<f64> = if par {
        (0..n.div_ceil(CHUNK)).into_par_iter().map(chunk).collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(chunk).collect()
    };
    parts.iter().sum()
}

/// Hartigan's single-point moves, sequential in point order (deterministic), starting from a
/// converged Lloyd run; updates labels, centres and inertia of `run` in place.
///
/// Uses Hartigan & Wong's "live set" bookkeeping: a point is re-examined only against the
/// clusters that changed since it was last examined (all clusters when its own changed), so
/// late passes cost O(k) per point instead of O(k d).
fn hartigan_refine(data: &Data, k: usize, run: &mut Run, max_passes: usize) {
    by_dim!(data.d, hartigan(data, k, run, max_passes, true))
}

/// `prune`: skip the points that the bounds show cannot move (the same result; `false` only
/// in the test that checks this).
fn hartigan<const D: usize>(data: &Data, k: usize, run: &mut Run, max_passes: usize, prune: bool) {
    let (n, d) = (data.n, data.d);
    if k < 2 {
        return;
    }
    let mut counts = vec![0usize; k];
    let mut sums = vec![0.0; k * d];
    let recompute = |labels: &[u32], counts: &mut [usize], sums: &mut [f64]| {
        counts.iter_mut().for_each(|c| *c = 0);
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (i, &l) in labels.iter().enumerate() {
            let l = l as usize;
            counts[l] += 1;
            for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(data.row(i)) {
                *s += v;
            }
        }
    };
    recompute(&run.labels, &mut counts, &mut sums);
    let mut centres = vec![0.0; k * d];
    let refresh = |j: usize, centres: &mut [f64], sums: &[f64], counts: &[usize]| {
        if counts[j] > 0 {
            let inv = 1.0 / counts[j] as f64;
            for c in 0..d {
                centres[j * d + c] = sums[j * d + c] * inv;
            }
        }
    };
    for j in 0..k {
        refresh(j, &mut centres, &sums, &counts);
    }
    // The factor n_j / (n_j + 1) of the cost of adding a point to cluster j (kept with the
    // counts: no division in the inner loop).
    let add_factor = |nj: usize| nj as f64 / (nj as f64 + 1.0);
    let mut factor: Vec<f64> = counts.iter().map(|&c| add_factor(c)).collect();
    // Steps are point visits, counted from 1; 0 = "before the refinement started".
    let mut step: u64 = 0;
    let mut last_change = vec![1u64; k]; // every cluster is live at the start
    let mut latest_change = 1u64; // max of last_change
    let mut last_check = vec![0u64; n];
    let mut moves = 0;
    // Pruning (exact: only points that cannot move are skipped). Every centre has moved by
    // at most `drift` from the run's centres, so a point x of cluster a is at least
    // `max(lower - drift, 2 half_sep[a] - 2 drift - |x - c_a|)` from every other centre
    // (`lower`: the Lloyd run's bounds, when known; `half_sep`: of the run's centres), and
    // adding it to cluster j costs at least `min_j factor_j` times the square of that.
    // Small relative margins absorb the rounding of the bounds.
    let lower = std::mem::take(&mut run.lower);
    let has_lower = lower.len() == n;
    let base = run.centres.clone();
    let sep2 = half_separation(&base, k, d);
    let drift_of = |j: usize, centres: &[f64]| {
        sq::<D>(&centres[j * d..(j + 1) * d], &base[j * d..(j + 1) * d]).sqrt()
    };
    let mut drift = (0..k).map(|j| drift_of(j, &centres)).fold(0.0, fmax);
    let mut min_factor = factor.iter().copied().fold(f64::INFINITY, fmin);
    for _ in 0..max_passes {
        let mut moved = 0;
        for i in 0..n {
            step += 1;
            let seen = last_check[i];
            last_check[i] = step;
            if latest_change <= seen {
                continue; // no cluster changed since this point was last examined
            }
            let a = run.labels[i] as usize;
            let own_live = last_change[a] > seen;
            let na = counts[a];
            if na <= 1 {
                continue;
            }
            let x = data.row(i);
            let own = sq::<D>(x, &centres[a * d..(a + 1) * d]);
            let remove = na as f64 / (na - 1) as f64 * own;
            let by_sep = 2.0 * (sep2[a] * (1.0 - 1e-10) - drift * (1.0 + 1e-10))
                - own.sqrt() * (1.0 + 1e-10);
            let l = if has_lower {
                fmax(by_sep, lower[i] * (1.0 - 1e-10) - drift * (1.0 + 1e-10))
            } else {
                by_sep
            };
            if prune && l > 0.0 && min_factor * (l * l) >= remove * (1.0 + 1e-10) {
                continue;
            }
            let mut best = (remove, a);
            for j in 0..k {
                if j == a || !(own_live || last_change[j] > seen) {
                    continue;
                }
                let add = factor[j] * sq::<D>(x, &centres[j * d..(j + 1) * d]);
                best = if add < best.0 { (add, j) } else { best };
            }
            // A move must gain more than rounding noise, or passes could cycle.
            let (add, b) = best;
            if b != a && add < remove * (1.0 - 1e-12) {
                for c in 0..d {
                    sums[a * d + c] -= x[c];
                    sums[b * d + c] += x[c];
                }
                counts[a] -= 1;
                counts[b] += 1;
                factor[a] = add_factor(counts[a]);
                factor[b] = add_factor(counts[b]);
                refresh(a, &mut centres, &sums, &counts);
                refresh(b, &mut centres, &sums, &counts);
                drift = fmax(drift, fmax(drift_of(a, &centres), drift_of(b, &centres)));
                min_factor = factor.iter().copied().fold(f64::INFINITY, fmin);
                run.labels[i] = b as u32;
                last_change[a] = step;
                last_change[b] = step;
                latest_change = step;
                moved += 1;
            }
        }
        if moved == 0 {
            break;
        }
        moves += moved;
    }
    run.refine_moves += moves;
    if moves == 0 {
        return;
    }
    // Exact means of the final labels (removes the drift of the incremental sums).
    recompute(&run.labels, &mut counts, &mut sums);
    for j in 0..k {
        refresh(j, &mut centres, &sums, &counts);
    }
    run.centres = centres;
    run.inertia = (0..n)
        .map(|i| {
            let l = run.labels[i] as usize;
            sq::<D>(data.row(i), &run.centres[l * d..(l + 1) * d])
        })
        .sum();
}

/// Squared distance of each point to its own centre and distance to the second-closest
/// centre, for a run whose points are at their nearest centres.
fn own_and_second<const D: usize>(
    data: &Data,
    k: usize,
    run: &Run,
    par: bool,
) -> (Vec<f64>, Vec<f64>) {
    let d = data.d;
    let row = |i: usize| {
        let x = data.row(i);
        let a = run.labels[i] as usize;
        let own = sq::<D>(x, &run.centres[a * d..(a + 1) * d]);
        let mut second = f64::INFINITY;
        for j in 0..k {
            if j != a {
                second = fmin(second, sq::<D>(x, &run.centres[j * d..(j + 1) * d]));
            }
        }
        (own, second.sqrt())
    };
    let rows: Vec<(f64, f64)> = if par {
        (0..data.n)
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(row)
            .collect()
    } else {
        (0..data.n).map(row).collect()
    };
    rows.into_iter().unzip()
}

/// Settings of the swap stage.
struct SwapCfg {
    trials: usize,
    batch: usize,
    steps: usize,
    max_iter: usize,
    tol_abs: f64,
    bounds: bool,
    hartigan: bool,
    max_passes: usize,
    patience: usize,
}

/// Swap polishing of a converged run (random swap: Fränti, "Efficiency of random swap
/// clustering", J. Big Data 2018). Each trial moves a uniformly drawn centre to a point drawn
/// with probability proportional to the squared distance to its centre (greedy best of
/// `2 + ln k` draws, as k-means++), repartitions locally (the points of the removed centre
/// are reassigned, every other point only compares its centre with the new one, which also
/// gives valid Hamerly bounds) and runs a few Lloyd iterations (`steps`). The cost of the
/// labels at that point bounds the inertia that Lloyd would reach from there; trials whose
/// bound does not beat the current inertia are dropped. Trials run in batches of `batch`
/// from the same solution (in parallel, each one sequential inside); the batch's best
/// surviving trial runs Lloyd to convergence (then Hartigan) and replaces the current
/// solution if its inertia is lower. Returns the number of accepted swaps.
fn swap_polish(data: &Data, k: usize, run: &mut Run, cfg: &SwapCfg, rng: &mut Rng) -> usize {
    let n = data.n;
    if k < 2 || cfg.trials == 0 {
        return 0;
    }
    let mut accepted = 0;
    let n_cand = 2 + (k as f64).ln().floor() as usize;
    let (mut d1, mut second) = by_dim!(data.d, own_and_second(data, k, run, true));
    let mut cumsum = vec![0.0; n];
    let mut left = cfg.trials;
    let mut idle = 0;
    while left > 0 {
        if cfg.patience > 0 && idle >= cfg.patience {
            break;
        }
        let b = left.min(cfg.batch.max(1));
        left -= b;
        let mut acc = 0.0;
        for i in 0..n {
            acc += d1[i];
            cumsum[i] = acc;
        }
        if acc <= 0.0 {
            break;
        }
        let plans: Vec<(usize, Vec<usize>)> = (0..b)
            .map(|_| {
                let j = rng.below(k);
                let draws: Vec<usize> = (0..n_cand)
                    .map(|_| {
                        let r = rng.uniform() * acc;
                        cumsum.partition_point(|&v| v <= r).min(n - 1)
                    })
                    .collect();
                (j, draws)
            })
            .collect();
        let current: &Run = run;
        let (d1r, secr) = (&d1, &second);
        let trials: Vec<(f64, Lloyd)> = plans
            .par_iter()
            .map(|(j, draws)| {
                by_dim!(
                    data.d,
                    swap_trial(data, k, current, d1r, secr, *j, draws, cfg)
                )
            })
            .collect();
        let mut best: Option<(f64, Lloyd)> = None;
        for (cost, st) in trials {
            if cost < run.lloyd_inertia * (1.0 + SWAP_SLACK)
                && best.as_ref().is_none_or(|b| cost < b.0)
            {
                best = Some((cost, st));
            }
        }
        idle += b;
        let Some((_, mut st)) = best else {
            continue;
        };
        if st.inc.take().is_some() {
            // One more iteration at least, with sums over all points: exact means.
            st.converged = false;
            st.strict = false;
        }
        st.iterate(data, k, cfg.max_iter, cfg.max_iter, cfg.tol_abs, true);
        let mut cand = st.finish(data, k, true);
        if cfg.hartigan {
            hartigan_refine(data, k, &mut cand, cfg.max_passes);
        }
        if cand.inertia < run.inertia * (1.0 - 1e-12) {
            *run = cand;
            (d1, second) = by_dim!(data.d, own_and_second(data, k, run, true));
            accepted += 1;
            idle = 0;
        }
    }
    accepted
}

/// One swap trial from `run` (see [`swap_polish`]): returns the cost of its labels after
/// at most `cfg.steps` Lloyd iterations, and the Lloyd state to continue from.
#[allow(clippy::too_many_arguments)]
fn swap_trial<const D: usize>(
    data: &Data,
    k: usize,
    run: &Run,
    d1: &[f64],
    second: &[f64],
    j: usize,
    draws: &[usize],
    cfg: &SwapCfg,
) -> (f64, Lloyd) {
    let (n, d) = (data.n, data.d);
    let mut best: Option<(f64, usize)> = None;
    let dd = width::<D>(d);
    for &c in draws {
        let y = data.row(c);
        let mut pot = 0.0;
        for (x, &o) in data.xs.chunks_exact(dd).zip(d1) {
            pot += fmin(o, sq::<D>(x, y));
        }
        if best.is_none_or(|(p, _)| pot < p) {
            best = Some((pot, c));
        }
    }
    let mut centres = run.centres.clone();
    if let Some((_, c)) = best {
        centres[j * d..(j + 1) * d].copy_from_slice(data.row(c));
    }
    // Local repartition with valid bounds for the swapped centres.
    let mut warm = Warm {
        labels: Vec::with_capacity(n),
        upper: Vec::with_capacity(n),
        lower: Vec::with_capacity(n),
    };
    let cj = &centres[j * d..(j + 1) * d];
    for i in 0..n {
        let x = data.row(i);
        let a = run.labels[i] as usize;
        let (l, u, lo) = if a == j {
            let (mut b1, mut e1, mut e2) = (0usize, f64::INFINITY, f64::INFINITY);
            for t in 0..k {
                let e = sq::<D>(x, &centres[t * d..(t + 1) * d]);
                if e < e1 {
                    e2 = e1;
                    e1 = e;
                    b1 = t;
                } else if e < e2 {
                    e2 = e;
                }
            }
            (b1 as u32, e1.sqrt(), e2.sqrt())
        } else {
            let own = d1[i].sqrt();
            let dy = sq::<D>(x, cj).sqrt();
            if dy < own {
                (j as u32, dy, own)
            } else {
                (a as u32, own, second[i].min(dy))
            }
        };
        warm.labels.push(l);
        warm.upper.push(u);
        warm.lower.push(lo);
    }
    let (mut sums, mut counts) = (vec![0.0; k * d], vec![0usize; k]);
    for (i, &l) in warm.labels.iter().enumerate() {
        let l = l as usize;
        counts[l] += 1;
        for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(data.row(i)) {
            *s += v;
        }
    }
    let mut st = Lloyd::new(n, k, centres, Some(warm), cfg.bounds);
    st.inc = Some((sums, counts));
    st.iterate(data, k, cfg.steps, cfg.max_iter, cfg.tol_abs, false);
    (st.label_cost(data, false), st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(seed: u64, per: usize, centres: &[[f64; 2]], sd: f64) -> Matrix {
        let mut rng = Rng::new(seed);
        let mut m = Matrix::zeros((per * centres.len(), 2));
        for (b, c) in centres.iter().enumerate() {
            for i in 0..per {
                m[[b * per + i, 0]] = c[0] + sd * rng.normal();
                m[[b * per + i, 1]] = c[1] + sd * rng.normal();
            }
        }
        m
    }

    fn brute_inertia(x: &Matrix, labels: &[usize], k: usize) -> f64 {
        let d = x.ncols();
        let mut c = vec![vec![0.0; d]; k];
        let mut n = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            n[l] += 1;
            for j in 0..d {
                c[l][j] += x[[i, j]];
            }
        }
        let mut s = 0.0;
        for (i, &l) in labels.iter().enumerate() {
            for j in 0..d {
                let m = c[l][j] / n[l] as f64;
                s += (x[[i, j]] - m).powi(2);
            }
        }
        s
    }

    #[test]
    fn hamerly_equals_plain_lloyd() {
        let x = blobs(
            3,
            150,
            &[[0.0, 0.0], [3.0, 0.5], [1.0, 4.0], [5.0, 5.0], [-2.0, 3.0]],
            1.2,
        );
        for refine in [KMeansRefine::None, KMeansRefine::Hartigan] {
            for k in [1, 2, 5, 9] {
                let fit = |algorithm: KMeansAlgorithm| {
                    KMeans::new(KMeansParams {
                        algorithm,
                        refine,
                        ..KMeansParams::default()
                    })
                    .unwrap()
                    .fit_model(x.view(), k, 11)
                    .unwrap()
                };
                let (h, l) = (fit(KMeansAlgorithm::Hamerly), fit(KMeansAlgorithm::Lloyd));
                assert_eq!(h.labels, l.labels, "k={k}");
                assert_eq!(h.n_iter, l.n_iter, "k={k}");
                assert_eq!(h.inertia.to_bits(), l.inertia.to_bits(), "k={k}");
            }
        }
    }

    #[test]
    fn hartigan_pruning_changes_nothing() {
        // Overlapping blobs (many boundary points), a 5-D set with duplicated rows, and
        // Lloyd runs from several seeds: the pruned passes give the same bits as full ones.
        let x2 = blobs(
            3,
            150,
            &[[0.0, 0.0], [1.5, 0.5], [1.0, 1.5], [3.0, 3.0], [-1.0, 2.5]],
            0.8,
        );
        let mut rng = Rng::new(11);
        let mut x5 = Matrix::zeros((600, 5));
        for i in 0..600 {
            for c in 0..5 {
                x5[[i, c]] = if i >= 500 {
                    x5[[i - 500, c]]
                } else {
                    (rng.uniform() * 4.0).floor() + 0.3 * rng.normal()
                };
            }
        }
        let mut pruned_any = 0;
        for x in [&x2, &x5] {
            let data = Data::new(x.view());
            for k in [2, 4, 9, 17] {
                for seed in 0..4 {
                    let one = |prune: bool| {
                        let mut rng = Rng::new(seed);
                        let mut run = run_once(&data, k, &mut rng, 300, 1e-4, true, false);
                        assert_eq!(run.lower.len(), data.n);
                        by_dim!(data.d, hartigan(&data, k, &mut run, 50, prune));
                        run
                    };
                    let (a, b) = (one(true), one(false));
                    assert_eq!(a.labels, b.labels, "k={k} seed={seed}");
                    assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
                    assert_eq!(a.refine_moves, b.refine_moves);
                    assert!(
                        a.centres
                            .iter()
                            .zip(&b.centres)
                            .all(|(p, q)| p.to_bits() == q.to_bits())
                    );
                    pruned_any += usize::from(a.refine_moves > 0);
                }
            }
        }
        // Hartigan moved points in some of these runs (the comparison is not vacuous).
        assert!(pruned_any > 4, "{pruned_any}");
    }

    #[test]
    fn hartigan_never_worsens_a_run_and_keeps_nearest_centres() {
        let x = blobs(
            8,
            120,
            &[[0.0, 0.0], [2.0, 0.5], [1.0, 2.0], [3.0, 3.0], [-1.0, 2.5]],
            1.0,
        );
        let mut improved = 0;
        for k in [3, 6, 10, 15] {
            let fit = |refine: KMeansRefine, swaps| {
                KMeans::new(KMeansParams {
                    refine,
                    swaps,
                    ..KMeansParams::default()
                })
                .unwrap()
                .fit_model(x.view(), k, 5)
                .unwrap()
            };
            let (plain, refined) = (fit(KMeansRefine::None, 0), fit(KMeansRefine::Hartigan, 0));
            // Swaps start from the best restart and only accept improvements.
            let swapped = fit(KMeansRefine::Hartigan, 30);
            assert_eq!(swapped.run_inertias, refined.run_inertias);
            assert!(swapped.inertia <= refined.inertia);
            assert_eq!(swapped.predict(x.view()).unwrap(), swapped.labels);
            for (a, b) in refined.run_inertias.iter().zip(&plain.run_inertias) {
                assert!(a <= b, "k={k}: {a} > {b}");
                if a < b {
                    improved += 1;
                }
            }
            assert!(refined.inertia <= plain.inertia);
            assert_eq!(refined.predict(x.view()).unwrap(), refined.labels, "k={k}");
            let b = brute_inertia(&x, &refined.labels, k);
            assert!((refined.inertia - b).abs() <= 1e-9 * b);
        }
        // The refinement does something on overlapping blobs.
        assert!(improved > 0);
    }

    #[test]
    fn inertia_labels_and_centres_agree() {
        let x = blobs(5, 100, &[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], 1.0);
        let m = KMeans::default().fit_model(x.view(), 3, 1).unwrap();
        let b = brute_inertia(&x, &m.labels, 3);
        assert!((m.inertia - b).abs() <= 1e-9 * b, "{} vs {b}", m.inertia);
        // Converged: every point is at its nearest centre.
        assert_eq!(m.predict(x.view()).unwrap(), m.labels);
        assert!(m.converged);
        assert_eq!(m.run_inertias.len(), 10);
        assert!(m.run_inertias.iter().all(|&r| r >= m.inertia));
        // Centres are in the input's coordinates (the blob centres, within sampling error).
        let mut found = [false; 3];
        for c in m.centres.outer_iter() {
            for (t, truth) in [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]].iter().enumerate() {
                if (c[0] - truth[0]).abs() < 0.4 && (c[1] - truth[1]).abs() < 0.4 {
                    found[t] = true;
                }
            }
        }
        assert_eq!(found, [true; 3], "{:?}", m.centres);
    }

    #[test]
    fn kmeanspp_picks_distinct_points_and_relocation_keeps_k() {
        // 5 distinct values, heavily duplicated: k = 5 must find all of them.
        let vals = [0.0, 1.0, 2.0, 50.0, 51.0];
        let mut x = Matrix::zeros((200, 1));
        for i in 0..200 {
            x[[i, 0]] = vals[i % 5];
        }
        for seed in 0..20 {
            let m = KMeans::default().fit_model(x.view(), 5, seed).unwrap();
            assert!(m.inertia < 1e-20, "seed {seed}: {}", m.inertia);
            let p = m.partition();
            assert_eq!(p.n_clusters(), 5);
        }
    }

    #[test]
    fn relocate_empty_moves_the_farthest_point() {
        let x = ndarray::array![[0.0], [1.0], [10.0]];
        let data = Data::new(x.view());
        let centres = vec![data.row(0)[0], 100.0];
        let labels = vec![0u32, 0, 0];
        let mut sums = vec![data.row(0)[0] + data.row(1)[0] + data.row(2)[0], 0.0];
        let mut counts = vec![3, 0];
        relocate_empty(&data, &centres, &labels, &mut sums, &mut counts);
        assert_eq!(counts, vec![2, 1]);
        assert_eq!(sums[1], data.row(2)[0]);
        assert!((sums[0] - (data.row(0)[0] + data.row(1)[0])).abs() < 1e-12);
    }

    #[test]
    fn params_are_validated() {
        for (key, t) in [
            ("n_init", "n_init = 0"),
            ("max_iter", "max_iter = 0"),
            ("tol", "tol = -1.0"),
            ("algorithm", "algorithm = \"elkan\""),
            ("refine", "refine = \"swap\""),
            ("n_inits", "n_inits = 3"),
        ] {
            let table: toml::Table = t.parse().unwrap();
            match build_kmeans(&table) {
                Err(Error::Param { key: k, .. }) => assert_eq!(k, key),
                other => panic!("{t}: {other:?}"),
            }
        }
    }

    #[test]
    fn k_equals_n_and_k_one() {
        let x = blobs(9, 4, &[[0.0, 0.0]], 1.0);
        let m = KMeans::default().fit_model(x.view(), 4, 0).unwrap();
        assert!(m.inertia < 1e-20);
        let m = KMeans::default().fit_model(x.view(), 1, 0).unwrap();
        assert!(m.labels.iter().all(|&l| l == 0));
        let b = brute_inertia(&x, &m.labels, 1);
        assert!((m.inertia - b).abs() < 1e-12);
    }

    #[test]
    fn unknown_algorithm_is_rejected_naming_the_key_and_the_choices() {
        crate::params::assert_rejects_unknown_choice(
            build_kmeans,
            "algorithm",
            &["hamerly", "lloyd"],
        );
    }

    #[test]
    fn unknown_refine_is_rejected_naming_the_key_and_the_choices() {
        crate::params::assert_rejects_unknown_choice(build_kmeans, "refine", &["hartigan", "none"]);
    }
}
