//! `smartcore_kmeans`: the k-means of the [smartcore](https://smartcorelib.org) crate (0.7)
//! behind the same [`Engine`] contract, to show that engines from other libraries plug in
//! and to compare implementations in the grid.
//! (registry name `smartcore_kmeans`; the former `smartcore-kmeans` is an alias accepted by
//! [`crate::build`])
//!
//! How it plugs in: our matrix is copied into smartcore's row-major `DenseMatrix<f64>`,
//! `smartcore::cluster::kmeans::KMeans::fit` runs with `KMeansParameters { k, max_iter,
//! seed: Some(..) }` (k-means++ seeding, then Lloyd iterations on a BBD tree), and the labels
//! come from its `predict` (nearest centroid). smartcore's `Failed` errors become
//! [`Error::Backend`]; so does a panic inside smartcore (caught with `catch_unwind`, so bad
//! input never unwinds through our API).
//!
//! Determinism: smartcore seeds its `SmallRng` from the `u64` we pass (`seed` is public in
//! `KMeansParameters`), and it runs single-threaded, so the result is a pure function of
//! (input, k, seed) for a given build. Its RNG stream belongs to the `rand` crate and may
//! change when smartcore or rand are upgraded; our own engines do not have that caveat.
//!
//! Differences from our `kmeans` (documented, not hidden):
//! - k = 1 is rejected by smartcore ("invalid number of clusters: 1"); the wrapper answers it
//!   itself with the trivial one-cluster partition, without calling smartcore.
//! - smartcore has no `n_init`; the wrapper offers one (default 1): run `r` is seeded with
//!   `derive_seed(seed, r)` and the lowest inertia wins (ties to the lower run index).
//! - smartcore stops when the distortion stops decreasing and does not relocate empty
//!   clusters; an empty cluster simply disappears from the partition.

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::engine::check_k;
use insiders_core::{
    Caps, Diagnostics, Engine, Error, MatrixView, Partition, check_matrix, derive_seed,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::cluster::kmeans::{KMeans as ScKMeans, KMeansParameters};
use smartcore::linalg::basic::matrix::DenseMatrix;

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[EngineSpec {
    name: "smartcore_kmeans",
    about: "smartcore 0.7 k-means (k-means++ + BBD-tree Lloyd) behind the engine contract",
    build: build_smartcore_kmeans,
}];

fn build_smartcore_kmeans(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: SmartcoreKMeansParams = from_table(table)?;
    Ok(Box::new(SmartcoreKMeans::new(params)?))
}

/// Parameters of [`SmartcoreKMeans`] (TOML keys of the `smartcore_kmeans` engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmartcoreKMeansParams {
    /// smartcore's maximum number of iterations. Default 100 (smartcore's default).
    pub max_iter: usize,
    /// Seeded restarts done by the wrapper; the lowest inertia wins. Default 1.
    pub n_init: usize,
}

impl Default for SmartcoreKMeansParams {
    fn default() -> Self {
        SmartcoreKMeansParams {
            max_iter: 100,
            n_init: 1,
        }
    }
}

/// smartcore's k-means as an [`Engine`] (registry name `smartcore_kmeans`).
#[derive(Debug, Clone)]
pub struct SmartcoreKMeans {
    params: SmartcoreKMeansParams,
}

impl SmartcoreKMeans {
    /// Builds the engine, validating `params` (errors are [`Error::Param`]).
    pub fn new(params: SmartcoreKMeansParams) -> Result<Self, Error> {
        if params.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        if params.n_init == 0 {
            return Err(Error::param("n_init", "must be at least 1"));
        }
        Ok(SmartcoreKMeans { params })
    }
}

fn backend(message: impl Into<String>) -> Error {
    Error::Backend {
        backend: "smartcore".into(),
        message: message.into(),
    }
}

/// Sum of squared distances of the points to the mean of their cluster.
fn inertia(x: MatrixView<'_>, labels: &[usize], k: usize) -> f64 {
    let d = x.ncols();
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for (row, &l) in x.outer_iter().zip(labels) {
        counts[l] += 1;
        for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(row.iter()) {
            *s += v;
        }
    }
    let mut total = 0.0;
    for (row, &l) in x.outer_iter().zip(labels) {
        let c = counts[l] as f64;
        for (s, v) in sums[l * d..(l + 1) * d].iter().zip(row.iter()) {
            total += (v - s / c) * (v - s / c);
        }
    }
    total
}

/// One seeded smartcore fit; returns the labels (`predict` on the fitted points).
fn fit_once(
    m: &DenseMatrix<f64>,
    k: usize,
    max_iter: usize,
    seed: u64,
) -> Result<Vec<usize>, Error> {
    let params = KMeansParameters {
        k,
        max_iter,
        seed: Some(seed),
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let model = ScKMeans::<f64, usize, DenseMatrix<f64>, Vec<usize>>::fit(m, params)
            .map_err(|e| backend(e.to_string()))?;
        model.predict(m).map_err(|e| backend(e.to_string()))
    }));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(backend(format!("panicked: {msg}")))
        }
    }
}

impl Engine for SmartcoreKMeans {
    fn name(&self) -> &str {
        "smartcore_kmeans"
    }

    fn caps(&self) -> Caps {
        Caps::SEEDED_K
    }

    fn fit(&self, x: MatrixView<'_>, k: Option<usize>, seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let (n, d) = x.dim();
        let k = check_k("smartcore_kmeans", k, n)?;
        if k == 1 {
            let labels = vec![0usize; n];
            return Ok(partition(&labels, inertia(x, &labels, 1)));
        }
        let values: Vec<f64> = x.iter().copied().collect();
        let m = DenseMatrix::new(n, d, values, false).map_err(|e| backend(e.to_string()))?;
        let runs: Vec<(f64, Vec<usize>)> = (0..self.params.n_init)
            .into_par_iter()
            .map(|r| {
                let labels = fit_once(&m, k, self.params.max_iter, derive_seed(seed, r as u64))?;
                if labels.len() != n || labels.iter().any(|&l| l >= k) {
                    return Err(backend("predict returned labels of the wrong shape"));
                }
                Ok((inertia(x, &labels, k), labels))
            })
            .collect::<Result<_, Error>>()?;
        let mut best = 0;
        for (r, run) in runs.iter().enumerate() {
            if run.0 < runs[best].0 {
                best = r;
            }
        }
        let (inertia, labels) = &runs[best];
        Ok(partition(labels, *inertia))
    }
}

fn partition(labels: &[usize], inertia: f64) -> Partition {
    let raw: Vec<Option<usize>> = labels.iter().map(|&l| Some(l)).collect();
    Partition::from_raw(
        &raw,
        Diagnostics {
            inertia: Some(inertia),
            ..Diagnostics::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::{Matrix, Rng};

    #[test]
    fn finds_separated_blobs_and_reports_inertia() {
        let mut rng = Rng::new(3);
        let centres = [[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]];
        let x = Matrix::from_shape_fn((300, 2), |(i, j)| centres[i / 100][j] + rng.normal());
        let e = SmartcoreKMeans::new(SmartcoreKMeansParams::default()).unwrap();
        let p = e.fit(x.view(), Some(3), 1).unwrap();
        for b in 0..3 {
            let first = p.labels[b * 100];
            assert!(p.labels[b * 100..(b + 1) * 100].iter().all(|&l| l == first));
        }
        assert_eq!(p.n_clusters(), 3);
        let raw: Vec<usize> = p.labels.iter().map(|l| l.unwrap() as usize).collect();
        assert_eq!(p.diag.inertia, Some(inertia(x.view(), &raw, 3)));
        // k = 1 is answered without smartcore.
        let one = e.fit(x.view(), Some(1), 1).unwrap();
        assert_eq!(one.n_clusters(), 1);
    }
}
