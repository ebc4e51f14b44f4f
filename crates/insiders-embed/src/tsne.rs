//! t-SNE (van der Maaten & Hinton 2008) with Barnes-Hut repulsion (van der Maaten 2014),
//! written for `insiders`, with scikit-learn's `TSNE` defaults.
//!
//! Pipeline, as `sklearn.manifold.TSNE(method="barnes_hut")`:
//! 1. exact k nearest neighbours ([`crate::knn::exact`]) with
//!    `k = min(n - 1, floor(3 · perplexity + 1))`;
//! 2. per-point Gaussian conditionals over those neighbours, each calibrated by bisection to
//!    the perplexity, on squared euclidean distances ([`affinity::conditional`]);
//! 3. the symmetric sparse joint `P = (C + Cᵀ) / sum` ([`affinity::joint`]);
//! 4. initial positions: the PCA projection scaled so that the first coordinate has
//!    standard deviation `1e-4` (or `1e-4 · N(0, 1)` with `init = "random"`);
//! 5. gradient descent on KL(P‖Q) with the Cauchy kernel: 250 iterations with P exaggerated
//!    12× and momentum 0.5, then momentum 0.8 up to 1000 iterations in all; delta-bar-delta
//!    gains; learning rate `max(n / early_exaggeration / 4, 50)` (`"auto"`);
//! 6. the repulsion by Barnes-Hut on a deterministic quadtree with `angle = 0.5`
//!    (the `bh` module: a dual-tree walk whose acceptance test is never coarser than
//!    scikit-learn's per-point test; interaction sums in `f32`, as scikit-learn's float32
//!    Barnes-Hut, accumulated into `f64`); the attraction over the sparse P from `f32`
//!    positions. Positions, gains and updates are kept in `f64`. Internally the points are
//!    renumbered breadth-first over the graph of P so that neighbours sit close in memory;
//!    the output is in the input's order.
//!
//! Why Barnes-Hut rather than FFT-accelerated interpolation (Linderman et al. 2019): at the
//! study's size (n ≈ 6,000) the interpolation grid and its FFTs cost as much as the tree
//! walk, and FIt-SNE pays off from tens of thousands of points; Barnes-Hut is also
//! scikit-learn's method, so `angle` means the same thing here and there.
//!
//! One fork-join for the forces in each iteration: the repulsion (tree build, then the tree
//! walk in parallel subtree tasks) and the attraction (parallel row chunks) run side by
//! side in one `rayon::join`; then the update (a few flops per point) runs in parallel
//! chunks.
//!
//! Same seed and input: bit-identical output whatever the rayon thread count. Forces are
//! computed per point into per-point buffers, the parallel tasks are fixed by the data
//! (tree subtrees, fixed chunks of rows), and every sum runs in a fixed order, the
//! normalisation `Z` included (per-point terms summed in the tree's order); the tree
//! depends only on the positions; the only randomness is the optional random
//! initialisation, drawn from the seed.
//!
//! t-SNE cannot place new points: [`Tsne`] keeps the default
//! [`Embedder::fit`], which returns
//! [`Error::Unsupported`].

pub mod affinity;
mod bh;
mod kernel;
mod optimize;

use crate::knn::{self, Metric};
use crate::registry::EmbedderSpec;
use insiders_core::{Embedder, Embedding, Error, Matrix, MatrixView, Rng, check_matrix};
use optimize::{Descent, Stage};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

pub use bh::LEAF_SIZE;

/// The embedders this module registers.
pub const SPECS: &[EmbedderSpec] = &[EmbedderSpec {
    name: "tsne",
    aliases: &[],
    about: "t-SNE (Barnes-Hut), scikit-learn's defaults: 2-D, perplexity 30, PCA init; cannot place new points",
    supervised: false,
    build: build_tsne,
}];

fn build_tsne(table: &toml::Table) -> Result<Box<dyn Embedder>, Error> {
    let params: TsneParams = crate::params::from_table(table)?;
    params.validate()?;
    Ok(Box::new(Tsne { params }))
}

/// The step size of the gradient descent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LearningRate {
    /// scikit-learn's `"auto"`: `max(n / early_exaggeration / 4, 50)`.
    #[default]
    Auto,
    /// A fixed step size (scikit-learn's scale: its gradient includes the factor 4).
    Fixed(f64),
}

impl LearningRate {
    /// The step size for `n` points.
    pub fn resolve(self, n: usize, early_exaggeration: f64) -> f64 {
        match self {
            LearningRate::Auto => (n as f64 / early_exaggeration / 4.0).max(50.0),
            LearningRate::Fixed(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for LearningRate {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(v) => Ok(LearningRate::Fixed(v)),
            Raw::Text(s) if s == "auto" => Ok(LearningRate::Auto),
            Raw::Text(s) => Err(serde::de::Error::custom(format!(
                "learning_rate must be a number or \"auto\", got \"{s}\""
            ))),
        }
    }
}

/// How the positions start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// PCA projection, scaled so that the first coordinate has standard deviation `1e-4`
    /// (scikit-learn's default). Falls back to `Random` when that coordinate is constant.
    #[default]
    Pca,
    /// `1e-4 · N(0, 1)` from the seed.
    Random,
}

/// Parameters of t-SNE (scikit-learn's `TSNE` defaults).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TsneParams {
    /// Output dimensions: 1, 2 (default) or 3. The kernel is the Cauchy kernel (one degree
    /// of freedom) in every dimension; scikit-learn uses `max(n_components - 1, 1)`
    /// degrees of freedom, which differs only for 3.
    pub n_components: usize,
    /// Effective number of neighbours (30); must be below the number of points.
    pub perplexity: f64,
    /// Factor on P during the exploration stage (12; at least 1).
    pub early_exaggeration: f64,
    /// Iterations of the exploration stage (scikit-learn: 250, fixed).
    pub early_exaggeration_iter: usize,
    /// Step size: a positive number or `"auto"` (default).
    pub learning_rate: LearningRate,
    /// Iterations in all, exploration included (1000).
    pub max_iter: usize,
    /// Stop the second stage after this many iterations without progress (300).
    pub n_iter_without_progress: usize,
    /// Stop when the gradient norm falls to this (1e-7).
    pub min_grad_norm: f64,
    /// Barnes-Hut angle θ in `[0, 1]` (0.5); 0 computes the exact repulsion (O(n²)).
    pub angle: f64,
    /// Initial positions: `"pca"` (default) or `"random"`.
    pub init: Init,
    /// Input metric (euclidean, squared for the affinities as scikit-learn does; other
    /// metrics are used unsquared).
    pub metric: Metric,
}

impl Default for TsneParams {
    fn default() -> Self {
        TsneParams {
            n_components: 2,
            perplexity: 30.0,
            early_exaggeration: 12.0,
            early_exaggeration_iter: 250,
            learning_rate: LearningRate::Auto,
            max_iter: 1000,
            n_iter_without_progress: 300,
            min_grad_norm: 1e-7,
            angle: 0.5,
            init: Init::Pca,
            metric: Metric::Euclidean,
        }
    }
}

impl TsneParams {
    /// Checks the parameters that do not depend on the input.
    pub fn validate(&self) -> Result<(), Error> {
        if !(1..=3).contains(&self.n_components) {
            return Err(Error::param(
                "n_components",
                format!(
                    "Barnes-Hut t-SNE supports 1, 2 or 3 dimensions, got {}",
                    self.n_components
                ),
            ));
        }
        if !(self.perplexity.is_finite() && self.perplexity > 0.0) {
            return Err(Error::param(
                "perplexity",
                format!("must be finite and > 0, got {}", self.perplexity),
            ));
        }
        if !(self.early_exaggeration.is_finite() && self.early_exaggeration >= 1.0) {
            return Err(Error::param(
                "early_exaggeration",
                format!("must be finite and >= 1, got {}", self.early_exaggeration),
            ));
        }
        if let LearningRate::Fixed(v) = self.learning_rate
            && !(v.is_finite() && v > 0.0)
        {
            return Err(Error::param(
                "learning_rate",
                format!("must be finite and > 0 (or \"auto\"), got {v}"),
            ));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        if self.early_exaggeration_iter > self.max_iter {
            return Err(Error::param(
                "early_exaggeration_iter",
                format!(
                    "must be <= max_iter ({}), got {}",
                    self.max_iter, self.early_exaggeration_iter
                ),
            ));
        }
        if !(self.min_grad_norm.is_finite() && self.min_grad_norm >= 0.0) {
            return Err(Error::param(
                "min_grad_norm",
                format!("must be finite and >= 0, got {}", self.min_grad_norm),
            ));
        }
        if !(0.0..=1.0).contains(&self.angle) {
            return Err(Error::param(
                "angle",
                format!("must be in [0, 1], got {}", self.angle),
            ));
        }
        Ok(())
    }
}

/// The result of [`tsne`].
#[derive(Debug, Clone, PartialEq)]
pub struct TsneFit {
    /// `n x n_components` positions.
    pub coords: Matrix,
    /// KL(P‖Q) at the final positions (see [`tsne`]).
    pub kl_divergence: f64,
    /// Iterations run (both stages).
    pub n_iter: usize,
    /// The step size used.
    pub learning_rate: f64,
}

/// Up to this many points the final KL divergence uses the exact normalisation `Z`
/// (O(n²), about 30 ms at n = 6,000); above it, the Barnes-Hut estimate.
pub const EXACT_KL_MAX_N: usize = 10_000;

/// Embeds `x` with t-SNE. Same seed and input: bit-identical output whatever the thread
/// count (the seed is used only by `init = "random"` and by the PCA fallback).
///
/// `kl_divergence` is `Σ p_ij ln(p_ij / q_ij)` over the stored (nearest-neighbour) entries of
/// P, as scikit-learn computes it, at the final positions, with `q_ij = w_ij / Z` and `Z`
/// exact for n up to [`EXACT_KL_MAX_N`] (Barnes-Hut above). scikit-learn reports the
/// Barnes-Hut value of its last gradient evaluation (one step before the final positions).
///
/// # Errors
/// Empty or non-finite input; invalid parameters; fewer than 2 points; `perplexity >= n`;
/// `init = "pca"` with fewer input columns than `n_components`; a diverged descent
/// ([`Error::Numerical`], e.g. with a far too large learning rate).
pub fn tsne(x: MatrixView<'_>, params: &TsneParams, seed: u64) -> Result<TsneFit, Error> {
    insiders_core::on_pool(|| tsne_here(x, params, seed))
}

/// [`tsne`] on the current thread (a rayon worker: see [`insiders_core::on_pool`]).
fn tsne_here(x: MatrixView<'_>, params: &TsneParams, seed: u64) -> Result<TsneFit, Error> {
    check_matrix(x)?;
    params.validate()?;
    let n = x.nrows();
    if n < 2 {
        return Err(Error::Shape(format!(
            "t-SNE needs at least 2 points, got {n}"
        )));
    }
    if params.perplexity >= n as f64 {
        return Err(Error::param(
            "perplexity",
            format!(
                "must be less than the number of points ({n}), got {}",
                params.perplexity
            ),
        ));
    }
    let k = ((3.0 * params.perplexity + 1.0).floor() as usize).clamp(1, n - 1);
    let knn = knn::exact(x, k, params.metric)?;
    let cond = affinity::conditional(&knn, params.perplexity, params.metric == Metric::Euclidean)?;
    let p = affinity::joint(&cond);
    drop(cond);
    drop(knn);
    let init = initial_positions(x, params, seed)?;
    match params.n_components {
        1 => descend::<1>(&p, &init, params),
        2 => descend::<2>(&p, &init, params),
        _ => descend::<3>(&p, &init, params),
    }
}

/// Initial positions (`n x n_components`).
fn initial_positions(x: MatrixView<'_>, params: &TsneParams, seed: u64) -> Result<Matrix, Error> {
    let (n, d) = x.dim();
    let dims = params.n_components;
    if params.init == Init::Pca {
        if d < dims {
            return Err(Error::param(
                "init",
                format!(
                    "PCA initialisation needs at least n_components = {dims} input columns, got {d}; use init = \"random\""
                ),
            ));
        }
        let model = crate::pca::fit_pca(x, Some(dims))?;
        let mut y = model.project(x)?;
        let first = y.column(0);
        let mean = first.sum() / n as f64;
        let var = first.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let std = var.sqrt();
        if std > 0.0 && std.is_finite() {
            let s = 1e-4 / std;
            y.mapv_inplace(|v| v * s);
            return Ok(y);
        }
        // A constant first component (all points equal): fall through to random.
    }
    let mut rng = Rng::new(seed);
    Ok(Matrix::from_shape_fn((n, dims), |_| 1e-4 * rng.normal()))
}

fn descend<const D: usize>(
    p: &affinity::JointP,
    init: &Matrix,
    params: &TsneParams,
) -> Result<TsneFit, Error> {
    let n = init.nrows();
    // Work in an order where points with affinity sit close in memory.
    let order = p.locality_order();
    let p = &p.permuted(&order);
    let y: Vec<[f64; D]> = order
        .iter()
        .map(|&i| std::array::from_fn(|a| init[[i, a]]))
        .collect();
    let learning_rate = params.learning_rate.resolve(n, params.early_exaggeration);
    let mut opt = Descent::new(p, y, params.angle, learning_rate, params.min_grad_norm);
    let explore = params.early_exaggeration_iter;
    let mut next = 0;
    if explore > 0 {
        let last = opt.run(Stage {
            start: 0,
            end: explore,
            momentum: 0.5,
            exaggeration: params.early_exaggeration,
            n_iter_without_progress: explore,
        });
        next = last + 1;
    }
    let mut n_iter = next;
    if next < params.max_iter {
        let last = opt.run(Stage {
            start: next,
            end: params.max_iter,
            momentum: 0.8,
            exaggeration: 1.0,
            n_iter_without_progress: params.n_iter_without_progress,
        });
        n_iter = last + 1;
    }
    if opt.y.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::Numerical {
            method: "tsne".into(),
            message: format!(
                "the descent diverged (non-finite positions); learning rate {learning_rate}"
            ),
        });
    }
    let kl_divergence = opt.kl_divergence(n <= EXACT_KL_MAX_N);
    let mut coords = Matrix::zeros((n, D));
    for (new, &old) in order.iter().enumerate() {
        for a in 0..D {
            coords[[old, a]] = opt.y[new][a];
        }
    }
    Ok(TsneFit {
        coords,
        kl_divergence,
        n_iter,
        learning_rate,
    })
}

/// The `tsne` embedder.
#[derive(Debug, Clone, Default)]
pub struct Tsne {
    /// Its parameters.
    pub params: TsneParams,
}

impl Embedder for Tsne {
    fn name(&self) -> &str {
        "tsne"
    }

    /// Embeds `x`; `info` has `kl_divergence`, `n_iter` and `learning_rate`.
    fn fit_transform(
        &self,
        x: MatrixView<'_>,
        _target: Option<&[f64]>,
        seed: u64,
    ) -> Result<Embedding, Error> {
        let fit = tsne(x, &self.params, seed)?;
        let mut info = BTreeMap::new();
        info.insert("kl_divergence".to_string(), fit.kl_divergence);
        info.insert("n_iter".to_string(), fit.n_iter as f64);
        info.insert("learning_rate".to_string(), fit.learning_rate);
        Ok(Embedding {
            coords: fit.coords,
            info,
        })
    }
}
