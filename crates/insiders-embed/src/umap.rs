//! UMAP (McInnes, Healy & Melville 2018), written after umap-learn's documented behaviour
//! and reproducible: the same seed and input give bit-identical output whatever the thread
//! count.
//!
//! Steps (submodules):
//! 1. kNN ([`crate::knn::search`]: exact up to 20,000 rows, NN-descent above); as in
//!    umap-learn the point itself counts as its first neighbour, so `n_neighbors = 15`
//!    means the point and its 14 nearest others;
//! 2. [`graph`]: smooth kNN distances (rho, sigma), membership strengths and their fuzzy
//!    union, a sparse symmetric graph; edges below `max weight / n_epochs` are dropped;
//! 3. [`curve`]: `a`, `b` of `1 / (1 + a d^(2b))` from `min_dist` and `spread`;
//! 4. [`spectral`]: initialisation by the normalised Laplacian's eigenvectors (component by
//!    component for a disconnected graph), scaled to `[-10, 10]` plus `N(0, 1e-4)` noise,
//!    then every column rescaled to `[0, 10]` as umap-learn does;
//! 5. [`sgd`]: epochs of SGD with negative sampling (blocked, deterministic).
//!
//! [`FittedUmap`] places new points as umap-learn's `transform` does.

pub mod curve;
pub mod graph;
pub mod sgd;
pub mod spectral;

pub use curve::find_ab_params;
pub use graph::{FuzzyGraph, smooth_knn_dist};

use crate::knn::{self, KnnMethod, Metric};
use crate::registry::EmbedderSpec;
use insiders_core::{
    Embedder, Embedding, Error, FittedEmbedder, Matrix, MatrixView, Rng, check_matrix, derive_seed,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The embedders this module registers.
pub const SPECS: &[EmbedderSpec] = &[EmbedderSpec {
    name: "umap",
    aliases: &[],
    about: "UMAP (McInnes et al. 2018): fuzzy kNN graph laid out by seeded SGD; reproducible",
    supervised: false,
    build: build_umap,
}];

fn build_umap(table: &toml::Table) -> Result<Box<dyn Embedder>, Error> {
    let params: UmapParams = crate::params::from_table(table)?;
    params.validate()?;
    Ok(Box::new(Umap { params }))
}

/// How the layout starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum UmapInit {
    /// Eigenvectors of the normalised graph Laplacian (umap-learn's default).
    #[default]
    Spectral,
    /// Principal components of the input.
    Pca,
    /// Uniform in `[-10, 10]`.
    Random,
}

/// Parameters of UMAP (umap-learn's defaults).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UmapParams {
    /// Size of the local neighbourhood, the point itself included (umap-learn: 15).
    pub n_neighbors: usize,
    /// Minimum distance between embedded points (0.1).
    pub min_dist: f64,
    /// Scale of embedded points (1.0).
    pub spread: f64,
    /// Output dimensions (2).
    pub n_components: usize,
    /// SGD epochs; umap-learn's rule (200 for large n, 500 for small) when absent.
    pub n_epochs: Option<usize>,
    /// Input metric.
    pub metric: Metric,
    /// Initial SGD learning rate (1.0).
    pub learning_rate: f64,
    /// Negative samples per positive sample (5).
    pub negative_sample_rate: usize,
    /// Weight of the repulsive term (1.0).
    pub repulsion_strength: f64,
    /// Initialisation (spectral).
    pub init: UmapInit,
    /// Neighbours assumed connected at full strength (1.0; umap-learn's `local_connectivity`).
    pub local_connectivity: f64,
    /// 1 = fuzzy union of the directed memberships, 0 = fuzzy intersection (1.0).
    pub set_op_mix_ratio: f64,
    /// Neighbour search (auto: exact up to 20,000 rows, NN-descent above).
    pub knn: KnnMethod,
}

impl Default for UmapParams {
    fn default() -> Self {
        UmapParams {
            n_neighbors: 15,
            min_dist: 0.1,
            spread: 1.0,
            n_components: 2,
            n_epochs: None,
            metric: Metric::Euclidean,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            init: UmapInit::Spectral,
            local_connectivity: 1.0,
            set_op_mix_ratio: 1.0,
            knn: KnnMethod::Auto,
        }
    }
}

impl UmapParams {
    /// Checks the ranges (as umap-learn does): `n_neighbors >= 2`, `n_components >= 1`,
    /// `0 <= min_dist <= spread`, `spread > 0`, `learning_rate > 0`,
    /// `repulsion_strength >= 0`, `local_connectivity >= 0`, `set_op_mix_ratio` in `[0, 1]`,
    /// all finite.
    pub fn validate(&self) -> Result<(), Error> {
        if self.n_neighbors < 2 {
            return Err(Error::param("n_neighbors", "must be at least 2"));
        }
        if self.n_components < 1 {
            return Err(Error::param("n_components", "must be at least 1"));
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return Err(Error::param("spread", "must be finite and > 0"));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0) {
            return Err(Error::param("min_dist", "must be finite and >= 0"));
        }
        if self.min_dist > self.spread {
            return Err(Error::param("min_dist", "must be <= spread"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::param("learning_rate", "must be finite and > 0"));
        }
        if !(self.repulsion_strength.is_finite() && self.repulsion_strength >= 0.0) {
            return Err(Error::param(
                "repulsion_strength",
                "must be finite and >= 0",
            ));
        }
        if !(self.local_connectivity.is_finite() && self.local_connectivity >= 0.0) {
            return Err(Error::param(
                "local_connectivity",
                "must be finite and >= 0",
            ));
        }
        if !(self.set_op_mix_ratio.is_finite() && (0.0..=1.0).contains(&self.set_op_mix_ratio)) {
            return Err(Error::param("set_op_mix_ratio", "must be in [0, 1]"));
        }
        Ok(())
    }

    /// The epochs used for `n` points (umap-learn: 500 up to 10,000 points, else 200).
    pub fn epochs_for(&self, n: usize) -> usize {
        self.n_epochs.unwrap_or(default_epochs(n))
    }
}

fn default_epochs(n: usize) -> usize {
    if n <= 10_000 { 500 } else { 200 }
}

/// Seeds of the steps, derived from the master seed.
mod stream {
    pub const KNN: u64 = 1;
    pub const INIT: u64 = 2;
    pub const NOISE: u64 = 3;
    pub const SGD: u64 = 4;
    pub const TRANSFORM: u64 = 5;
}

/// Scales coordinates so that the largest magnitude is `max_coord`, then adds seeded
/// `N(0, noise²)` noise (umap-learn's `noisy_scale_coords`).
fn noisy_scale(coords: &mut Matrix, max_coord: f64, noise: f64, rng: &mut Rng) {
    let max = coords.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let expansion = if max > 0.0 { max_coord / max } else { 1.0 };
    for v in coords.iter_mut() {
        *v = *v * expansion + noise * rng.normal();
    }
}

/// Rescales every column to `[0, 10]` (a constant column becomes 0), as umap-learn does
/// before the SGD.
fn rescale_columns(coords: &mut Matrix) {
    for mut col in coords.columns_mut() {
        let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let range = hi - lo;
        for v in col.iter_mut() {
            *v = if range > 0.0 {
                10.0 * (*v - lo) / range
            } else {
                0.0
            };
        }
    }
}

/// Everything a fit produces.
struct Fit {
    coords: Matrix,
    a: f64,
    b: f64,
    n_epochs: usize,
    n_neighbors: usize,
    n_entries: usize,
    n_graph_components: usize,
    spectral_converged: Option<bool>,
    exact_knn: bool,
}

impl Fit {
    fn info(&self) -> BTreeMap<String, f64> {
        let mut info = BTreeMap::new();
        info.insert("a".into(), self.a);
        info.insert("b".into(), self.b);
        info.insert("n_epochs".into(), self.n_epochs as f64);
        info.insert("n_neighbors".into(), self.n_neighbors as f64);
        info.insert("graph_edges".into(), (self.n_entries / 2) as f64);
        info.insert("graph_components".into(), self.n_graph_components as f64);
        info.insert("exact_knn".into(), f64::from(u8::from(self.exact_knn)));
        if let Some(c) = self.spectral_converged {
            info.insert("spectral_converged".into(), f64::from(u8::from(c)));
        }
        info
    }
}

/// [`fit_on_worker`] run on a worker thread of the current rayon pool (the global one
/// outside any pool; [`insiders_core::on_pool`]). A fit runs about three thousand short parallel loops (the SGD's two
/// per epoch, the Lanczos steps); started from a worker, each one is a cheap fork-join,
/// while started from outside the pool each one would have to wake the pool and put the
/// caller to sleep until it is done. The result is the same either way.
fn fit(x: MatrixView<'_>, params: &UmapParams, seed: u64) -> Result<Fit, Error> {
    insiders_core::on_pool(|| fit_on_worker(x, params, seed))
}

fn fit_on_worker(x: MatrixView<'_>, params: &UmapParams, seed: u64) -> Result<Fit, Error> {
    params.validate()?;
    check_matrix(x)?;
    let n = x.nrows();
    if n < 2 {
        return Err(Error::Shape("UMAP needs at least 2 rows".into()));
    }
    let (a, b) = find_ab_params(params.spread, params.min_dist)?;
    // The point itself counts as a neighbour (umap-learn); at most all n points.
    let width = params.n_neighbors.min(n);
    let exact_knn = match params.knn {
        KnnMethod::Auto => n <= knn::EXACT_MAX_N,
        KnnMethod::Exact => true,
        KnnMethod::NnDescent => false,
    };
    let found = knn::search(
        x,
        width - 1,
        params.metric,
        if exact_knn {
            KnnMethod::Exact
        } else {
            KnnMethod::NnDescent
        },
        derive_seed(seed, stream::KNN),
    )?;
    let mut indices = Vec::with_capacity(n * width);
    let mut distances = Vec::with_capacity(n * width);
    for i in 0..n {
        indices.push(i);
        distances.push(0.0);
        indices.extend_from_slice(found.row_indices(i));
        distances.extend_from_slice(found.row_distances(i));
    }
    drop(found);
    let (sigmas, rhos) = smooth_knn_dist(
        &distances,
        width,
        width as f64,
        params.local_connectivity,
        1.0,
    );
    let directed = graph::membership_graph(&indices, &distances, width, n, &sigmas, &rhos, true);
    let union = graph::fuzzy_union(&directed, params.set_op_mix_ratio);
    drop(directed);
    let n_epochs = params.epochs_for(n);
    let threshold_epochs = if n_epochs > 10 {
        n_epochs
    } else {
        default_epochs(n)
    };
    let g = union.drop_below(union.max_weight() / threshold_epochs as f64);
    drop(union);
    let dim = params.n_components;

    let mut noise_rng = Rng::new(derive_seed(seed, stream::NOISE));
    let init_seed = derive_seed(seed, stream::INIT);
    let random_init = |rng_seed: u64| {
        let mut rng = Rng::new(rng_seed);
        Matrix::from_shape_fn((n, dim), |_| rng.uniform() * 20.0 - 10.0)
    };
    let (n_graph_components, _) = g.components();
    let mut spectral_converged = None;
    let mut coords = match params.init {
        UmapInit::Spectral => match spectral::spectral_layout(&g, x, dim, init_seed) {
            Some(layout) => {
                spectral_converged = Some(layout.converged);
                let mut c = layout.coords;
                noisy_scale(&mut c, 10.0, 1e-4, &mut noise_rng);
                c
            }
            None => random_init(init_seed),
        },
        UmapInit::Pca => {
            let keep = dim.min(x.ncols()).min(n);
            let model = crate::pca::fit_pca(x, Some(keep))?;
            let proj = model.project(x)?;
            let mut rng = Rng::new(init_seed);
            let mut c = Matrix::from_shape_fn((n, dim), |(i, j)| {
                if j < keep {
                    proj[[i, j]]
                } else {
                    rng.uniform() * 2.0 - 1.0
                }
            });
            noisy_scale(&mut c, 10.0, 1e-4, &mut noise_rng);
            c
        }
        UmapInit::Random => random_init(init_seed),
    };
    rescale_columns(&mut coords);

    let settings = sgd::SgdSettings {
        a,
        b,
        gamma: params.repulsion_strength,
        alpha: params.learning_rate,
        negative_sample_rate: params.negative_sample_rate,
        n_epochs,
    };
    let mut flat: Vec<f64> = coords.iter().copied().collect();
    sgd::optimize_fit(
        &mut flat,
        dim,
        &g,
        &settings,
        derive_seed(seed, stream::SGD),
    );
    let coords = Matrix::from_shape_vec((n, dim), flat)
        .map_err(|e| Error::Shape(format!("UMAP output: {e}")))?;
    if coords.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical {
            method: "umap".into(),
            message: "the layout diverged (non-finite coordinates)".into(),
        });
    }
    Ok(Fit {
        coords,
        a,
        b,
        n_epochs,
        n_neighbors: width,
        n_entries: g.n_entries(),
        n_graph_components,
        spectral_converged,
        exact_knn,
    })
}

/// Embeds `x` with UMAP. Same seed and input: bit-identical output whatever the thread count.
///
/// `info` holds `a`, `b`, `n_epochs`, `n_neighbors` (self included, after clamping to n),
/// `graph_edges` (undirected edges kept for the SGD), `graph_components`, `exact_knn`
/// (1/0) and, for the spectral start, `spectral_converged` (1/0).
///
/// # Errors
/// Invalid parameters ([`Error::Param`]), an empty or non-finite input, fewer than 2 rows
/// ([`Error::Shape`]), or a diverged layout ([`Error::Numerical`]).
pub fn umap(x: MatrixView<'_>, params: &UmapParams, seed: u64) -> Result<Embedding, Error> {
    let f = fit(x, params, seed)?;
    let info = f.info();
    Ok(Embedding {
        coords: f.coords,
        info,
    })
}

/// The `umap` embedder.
#[derive(Debug, Clone, Default)]
pub struct Umap {
    /// Its parameters.
    pub params: UmapParams,
}

impl Embedder for Umap {
    fn name(&self) -> &str {
        "umap"
    }

    fn fit_transform(
        &self,
        x: MatrixView<'_>,
        _target: Option<&[f64]>,
        seed: u64,
    ) -> Result<Embedding, Error> {
        umap(x, &self.params, seed)
    }

    fn fit(
        &self,
        x: MatrixView<'_>,
        _target: Option<&[f64]>,
        seed: u64,
    ) -> Result<(Embedding, Box<dyn FittedEmbedder>), Error> {
        let f = fit(x, &self.params, seed)?;
        let info = f.info();
        let model = FittedUmap {
            data: x.to_owned(),
            embedding: f.coords.clone(),
            params: self.params.clone(),
            a: f.a,
            b: f.b,
            seed,
        };
        Ok((
            Embedding {
                coords: f.coords,
                info,
            },
            Box::new(model),
        ))
    }
}

/// A fitted UMAP that places new points (umap-learn's `transform`).
#[derive(Debug, Clone)]
pub struct FittedUmap {
    /// The training rows.
    pub data: Matrix,
    /// Their embedding.
    pub embedding: Matrix,
    /// The parameters of the fit.
    pub params: UmapParams,
    /// Curve parameter a.
    pub a: f64,
    /// Curve parameter b.
    pub b: f64,
    /// The seed of the fit (new points draw their negative samples from it).
    pub seed: u64,
}

impl FittedUmap {
    /// Places new rows: their `n_neighbors` nearest training rows (exact search),
    /// memberships with `local_connectivity - 1` (so `rho = 0` by default) normalised to sum 1
    /// per row, a start at the weighted mean of the neighbours' places (at a neighbour's
    /// place when it carries all the weight), then `n_epochs / 3` epochs (100 up to 10,000
    /// training points, 30 above, by default) of SGD at a quarter of the learning rate with
    /// the training embedding fixed. Each new row has its own seeded stream, derived from
    /// the fit's seed and the row's index in `x`.
    pub fn place(&self, x: MatrixView<'_>) -> Result<Matrix, Error> {
        check_matrix(x)?;
        if x.ncols() != self.data.ncols() {
            return Err(Error::Shape(format!(
                "UMAP fitted on {} columns, got {}",
                self.data.ncols(),
                x.ncols()
            )));
        }
        let n_train = self.data.nrows();
        let m = x.nrows();
        let dim = self.embedding.ncols();
        let k = self.params.n_neighbors.min(n_train);
        let found = knn::query(self.data.view(), x, k, self.params.metric)?;
        let (sigmas, rhos) = smooth_knn_dist(
            &found.distances,
            k,
            k as f64,
            (self.params.local_connectivity - 1.0).max(0.0),
            1.0,
        );
        let mut g = graph::membership_graph(
            &found.indices,
            &found.distances,
            k,
            n_train,
            &sigmas,
            &rhos,
            false,
        );
        for i in 0..m {
            let r = g.indptr[i]..g.indptr[i + 1];
            let sum: f64 = g.weights[r.clone()].iter().sum();
            if sum > 0.0 {
                g.weights[r].iter_mut().for_each(|w| *w /= sum);
            }
        }
        let mut flat = vec![0.0; m * dim];
        for i in 0..m {
            let (cols, w) = g.row(i);
            let out = &mut flat[i * dim..(i + 1) * dim];
            if let Some(p) = w.iter().position(|&v| v == 1.0) {
                for (o, e) in out.iter_mut().zip(self.embedding.row(cols[p])) {
                    *o = *e;
                }
                continue;
            }
            for (&c, &v) in cols.iter().zip(w) {
                for (o, e) in out.iter_mut().zip(self.embedding.row(c)) {
                    *o += v * e;
                }
            }
        }
        let n_epochs = match self.params.n_epochs {
            Some(e) => e / 3,
            None => {
                if n_train <= 10_000 {
                    100
                } else {
                    30
                }
            }
        };
        if n_epochs > 0 {
            let g = g.drop_below(g.max_weight() / n_epochs as f64);
            let tail: Vec<f64> = self.embedding.iter().copied().collect();
            let settings = sgd::SgdSettings {
                a: self.a,
                b: self.b,
                gamma: self.params.repulsion_strength,
                alpha: self.params.learning_rate / 4.0,
                negative_sample_rate: self.params.negative_sample_rate,
                n_epochs,
            };
            sgd::optimize_transform(
                &mut flat,
                &tail,
                dim,
                &g,
                &settings,
                derive_seed(self.seed, stream::TRANSFORM),
            );
        }
        Matrix::from_shape_vec((m, dim), flat)
            .map_err(|e| Error::Shape(format!("UMAP output: {e}")))
    }
}

impl FittedEmbedder for FittedUmap {
    fn transform(&self, x: MatrixView<'_>) -> Result<Matrix, Error> {
        self.place(x)
    }
}
