//! `dbscan`: DBSCAN with scikit-learn's semantics, exactly. Noise is labelled `None`.
//!
//! A point is *core* when at least `min_samples` points (itself and its exact duplicates
//! included) lie within `eps` (boundary included); clusters are the connected components of
//! core points (two cores within `eps` are connected); a non-core point within `eps` of a
//! core point is a *border* point and joins, among the clusters of its core neighbours, the
//! one whose lowest core index is smallest (this is what scikit-learn's index-order
//! expansion does, so the result is deterministic and equal to scikit-learn's, border points
//! included); the rest is noise. The neighbour search is our exact k-d tree
//! (`crate::kdtree`); the expansion is our own (`tree.rs`). When `eps` is not given it is
//! chosen from the k-distances ([`elbow_eps`] or [`quantile_eps`], `eps.rs`) and reported in
//! `Diagnostics::extra["eps"]`.
//!
//! Why not petal-clustering 0.14's `Dbscan` (checked, see the tests): its core test and
//! duplicates agree with scikit-learn (the point and its duplicates count toward
//! `min_samples`), but (1) a cluster with fewer than `min_samples` members is dropped and its
//! points become noise, which scikit-learn never does (a core point whose neighbours were
//! claimed as border points by an earlier cluster still forms its own cluster), and (2) its
//! ball tree compares `dist < eps` in leaves but accepts whole nodes with `dist <= eps`, so
//! points at exactly `eps` are in or out depending on the tree layout. Exact duplicates at
//! distance 0 (< eps) are counted correctly.
//!
//! This module also holds what the density engines (`dbscan`, `hdbscan`, `optics`) share:
//! their caps and parameter checks, and the k-distance eps rules.
//!
//! Determinism: no randomness; results do not depend on the seed or the thread count
//! (parallel loops only compute per-point values collected in index order).

mod eps;
#[cfg(test)]
pub(crate) mod tests;
mod tree;

pub use eps::{elbow_eps, k_distances, knee_index, quantile_eps};

use crate::kdtree::KdTree;
use crate::params::from_table;
use crate::registry::EngineSpec;
use eps::{elbow_of, quantile_of, tree_k_distances};
use insiders_core::{Caps, Diagnostics, Engine, Error, MatrixView, Partition, check_matrix};
use serde::{Deserialize, Serialize};
use tree::tree_dbscan;

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[EngineSpec {
    name: "dbscan",
    about: "DBSCAN with scikit-learn semantics (exact k-d tree; eps from the k-distance elbow when not given)",
    build: build_dbscan,
}];

/// Points per parallel work chunk (fixed, so work is split the same way for any thread count).
const CHUNK: usize = 512;

/// Core points per parallel chunk of DBSCAN's union phase: smaller than [`CHUNK`] so that the
/// components found so far prune the next chunk's queries early.
const UNION_CHUNK: usize = 128;

/// The caps of the density engines: no k, noise, deterministic.
pub(crate) fn caps() -> Caps {
    Caps {
        needs_k: false,
        emits_noise: true,
        deterministic: true,
    }
}

/// A radius parameter, when given, is positive and finite.
pub(crate) fn check_eps(key: &str, eps: Option<f64>) -> Result<(), Error> {
    match eps {
        Some(e) if !(e.is_finite() && e > 0.0) => Err(Error::param(
            key,
            format!("must be a positive finite number, got {e}"),
        )),
        _ => Ok(()),
    }
}

/// A count parameter is at least 1.
pub(crate) fn check_min(key: &str, v: usize) -> Result<(), Error> {
    if v == 0 {
        return Err(Error::param(key, "must be at least 1"));
    }
    Ok(())
}

/// The rows of `x` as one row-major buffer.
pub(crate) fn row_major(x: MatrixView<'_>) -> Vec<f64> {
    x.iter().copied().collect()
}

/// Parameters of the `dbscan` engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbscanParams {
    /// Neighbourhood radius (euclidean, boundary included). Default: none, chosen by the
    /// k-distance elbow with `k = min_samples` ([`elbow_eps`]).
    pub eps: Option<f64>,
    /// Points (the point itself and its duplicates included) within `eps` for a core point.
    /// Default 20 (the study's).
    pub min_samples: usize,
    /// Multiplies the elbow eps (used only when `eps` is not given): the Python grid runs
    /// `eps = m × elbow` for m in {0.5, 1, 2, 4, 8, 16}. Default 1; positive and finite.
    pub eps_factor: f64,
    /// When set (in `(0, 1]`), the "elbow" is this quantile of the k-distances
    /// ([`quantile_eps`]) instead of their knee ([`elbow_eps`]). The Python grid's elbow is
    /// the 0.99 quantile (numpy's `percentile(d, 99)`). Default: none (the knee).
    pub eps_quantile: Option<f64>,
}

impl Default for DbscanParams {
    fn default() -> Self {
        DbscanParams {
            eps: None,
            min_samples: 20,
            eps_factor: 1.0,
            eps_quantile: None,
        }
    }
}

fn build_dbscan(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: DbscanParams = from_table(table)?;
    Ok(Box::new(Dbscan::new(params)?))
}

/// The `dbscan` engine (scikit-learn semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct Dbscan {
    params: DbscanParams,
}

/// The outcome of [`dbscan`].
#[derive(Debug, Clone, PartialEq)]
pub struct DbscanResult {
    /// Cluster of each point (`None` = noise), clusters numbered by their lowest core index.
    pub labels: Vec<Option<usize>>,
    /// Whether each point is a core point.
    pub core: Vec<bool>,
    /// The eps used.
    pub eps: f64,
}

impl Dbscan {
    /// Validates the parameters.
    pub fn new(params: DbscanParams) -> Result<Self, Error> {
        check_eps("eps", params.eps)?;
        check_min("min_samples", params.min_samples)?;
        check_eps("eps_factor", Some(params.eps_factor))?;
        if params.eps.is_some() && params.eps_factor != 1.0 {
            return Err(Error::param(
                "eps_factor",
                "scales the elbow eps and cannot be combined with an explicit eps",
            ));
        }
        if let Some(q) = params.eps_quantile {
            if !(q > 0.0 && q <= 1.0) {
                return Err(Error::param(
                    "eps_quantile",
                    format!("must be in (0, 1], got {q}"),
                ));
            }
            if params.eps.is_some() {
                return Err(Error::param(
                    "eps_quantile",
                    "chooses the elbow eps and cannot be combined with an explicit eps",
                ));
            }
        }
        Ok(Dbscan { params })
    }
}

/// DBSCAN of the rows of `x` with scikit-learn's semantics (see the module docs).
pub fn dbscan(x: MatrixView<'_>, eps: f64, min_samples: usize) -> Result<DbscanResult, Error> {
    check_matrix(x)?;
    check_eps("eps", Some(eps))?;
    check_min("min_samples", min_samples)?;
    let d = x.ncols();
    let data = row_major(x);
    let tree = KdTree::new(&data, d);
    Ok(tree_dbscan(&tree, &data, d, eps, min_samples))
}

impl Engine for Dbscan {
    fn name(&self) -> &str {
        "dbscan"
    }

    fn caps(&self) -> Caps {
        caps()
    }

    fn fit(&self, x: MatrixView<'_>, _k: Option<usize>, _seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        // one tree serves the k-distances and the clustering
        let d = x.ncols();
        let data = row_major(x);
        let tree = KdTree::new(&data, d);
        let eps = match self.params.eps {
            Some(e) => e,
            None => {
                let kd = tree_k_distances(&tree, &data, d, self.params.min_samples);
                let base = match self.params.eps_quantile {
                    Some(q) => quantile_of(kd, q),
                    None => elbow_of(kd),
                };
                self.params.eps_factor * base
            }
        };
        check_eps("eps", Some(eps))?;
        let r = tree_dbscan(&tree, &data, d, eps, self.params.min_samples);
        let mut diag = Diagnostics::default();
        diag.extra.insert("eps".into(), eps);
        diag.extra
            .insert("min_samples".into(), self.params.min_samples as f64);
        diag.extra.insert(
            "n_core".into(),
            r.core.iter().filter(|&&c| c).count() as f64,
        );
        Ok(Partition::from_raw(&r.labels, diag))
    }
}
