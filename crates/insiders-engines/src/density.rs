//! Density-based engines: `dbscan`, `hdbscan` and `optics`. Noise is labelled `None`.
//!
//! - **dbscan**: scikit-learn's DBSCAN semantics, exactly. A point is *core* when at least
//!   `min_samples` points (itself and its exact duplicates included) lie within `eps`
//!   (boundary included); clusters are the connected components of core points (two cores
//!   within `eps` are connected); a non-core point within `eps` of a core point is a *border*
//!   point and joins, among the clusters of its core neighbours, the one whose lowest core
//!   index is smallest (this is what scikit-learn's index-order expansion does, so the
//!   result is deterministic and equal to scikit-learn's, border points included); the rest
//!   is noise. The neighbour search is our exact k-d tree; the expansion is our own: see
//!   "petal-clustering" below for why not petal's `Dbscan`.
//!   When `eps` is not given it is chosen by the k-distance elbow ([`elbow_eps`]) and
//!   reported in `Diagnostics::extra["eps"]`.
//! - **hdbscan**: exact HDBSCAN with scikit-learn's semantics (core distance to the
//!   `min_samples`-th nearest point itself included, mutual reachability, exact minimum
//!   spanning tree, condensed tree with `min_cluster_size`, excess-of-mass selection, the root
//!   never selected), merging equal weights simultaneously as the HDBSCAN paper and petal do.
//!   Two backends ([`HdbscanBackend`]): our own (`native`, the default: k-d tree core
//!   distances in parallel, dense vectorised Prim, see `density/hdbscan.rs` for the exact
//!   definition and tie-breaking) and petal-clustering's `HDbscan` (`petal`, Prim too). They
//!   give the same partitions on the study's inputs (tested).
//! - **optics**: our own OPTICS with scikit-learn's semantics (`OPTICS(cluster_method=
//!   "dbscan")`): core distance = distance to the `min_samples`-th nearest point (itself
//!   included), reachability updated with the minimum, the next point is the unprocessed one
//!   with the smallest reachability (ties: lowest index), clusters extracted at `eps` as
//!   scikit-learn's `cluster_optics_dbscan`. [`optics_ordering`] gives the ordering and the
//!   reachability plot.
//!
//! # petal-clustering 0.14 and exact duplicates (checked, see the tests)
//! - `Dbscan`: core test and duplicates agree with scikit-learn (the point and its duplicates
//!   count toward `min_samples`), but (1) a cluster with fewer than `min_samples` members is
//!   dropped and its points become noise, which scikit-learn never does (a core point whose
//!   neighbours were claimed as border points by an earlier cluster still forms its own
//!   cluster), and (2) its ball tree compares `dist < eps` in leaves but accepts whole nodes
//!   with `dist <= eps`, so points at exactly `eps` are in or out depending on the tree
//!   layout. Exact duplicates at distance 0 (< eps) are counted correctly.
//! - `Optics`: the core distance is the distance to the nearest *other* point whatever
//!   `min_samples` is, the reachability keeps the maximum instead of the minimum, and a
//!   reachability of exactly 0 (an exact duplicate) is treated as "undefined" (`is_normal`),
//!   so duplicates start new clusters or become noise. Hence our own OPTICS.
//! - `HDbscan`: counts the point itself toward `min_samples` as scikit-learn does; a zero
//!   mutual-reachability distance (at least `min_samples` exact duplicates) gets the density
//!   `f64::MAX` instead of infinity (petal issue #70), harmless for the flat clustering; exact
//!   duplicates always end in the same cluster (tested).
//!
//! Determinism: no randomness; results do not depend on the seed or the thread count
//! (parallel loops only compute per-point values collected in index order).

mod hdbscan;
mod kdtree;

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::{
    Caps, Diagnostics, Engine, Error, MatrixView, Partition, check_matrix, quantile_sorted,
};
use kdtree::{KdTree, OrdF64, Visit, sq_dist};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[
    EngineSpec {
        name: "dbscan",
        about: "DBSCAN with scikit-learn semantics (exact k-d tree; eps from the k-distance elbow when not given)",
        build: build_dbscan,
    },
    EngineSpec {
        name: "hdbscan",
        about: "HDBSCAN, exact (k-d tree core distances, Prim MST, excess of mass); backend native or petal",
        build: build_hdbscan,
    },
    EngineSpec {
        name: "optics",
        about: "OPTICS with scikit-learn semantics, clusters extracted at eps (dbscan-style)",
        build: build_optics,
    },
];

/// Points per parallel work chunk (fixed, so work is split the same way for any thread count).
const CHUNK: usize = 512;

/// Core points per parallel chunk of DBSCAN's union phase: smaller than [`CHUNK`] so that the
/// components found so far prune the next chunk's queries early.
const UNION_CHUNK: usize = 128;

fn caps() -> Caps {
    Caps {
        needs_k: false,
        emits_noise: true,
        deterministic: true,
    }
}

fn check_eps(key: &str, eps: Option<f64>) -> Result<(), Error> {
    match eps {
        Some(e) if !(e.is_finite() && e > 0.0) => Err(Error::param(
            key,
            format!("must be a positive finite number, got {e}"),
        )),
        _ => Ok(()),
    }
}

fn check_min(key: &str, v: usize) -> Result<(), Error> {
    if v == 0 {
        return Err(Error::param(key, "must be at least 1"));
    }
    Ok(())
}

fn row_major(x: MatrixView<'_>) -> Vec<f64> {
    x.iter().copied().collect()
}

// ---------------------------------------------------------------------------------------------
// k-distance elbow

/// The k-distance of every point: the distance to its `k`-th nearest point, the point itself
/// included (so a point is a DBSCAN core point at `eps` exactly when its k-distance with
/// `k = min_samples` is at most `eps`). In input order.
pub fn k_distances(x: MatrixView<'_>, k: usize) -> Result<Vec<f64>, Error> {
    check_matrix(x)?;
    check_min("k", k)?;
    let d = x.ncols();
    let data = row_major(x);
    let tree = KdTree::new(&data, d);
    Ok(tree_k_distances(&tree, &data, d, k))
}

/// [`k_distances`] of the rows of `data` (row-major, `d` columns) with their tree.
fn tree_k_distances(tree: &KdTree<'_>, data: &[f64], d: usize, k: usize) -> Vec<f64> {
    data.par_chunks(d)
        .map(|q| tree.kth_sq_dist(q, k).sqrt())
        .collect()
}

/// The knee of an ascending curve: the index of the point farthest below the chord from the
/// first to the last point, both axes scaled to [0, 1] (the "kneedle" idea: the maximum of
/// `x_i - y_i` in normalised coordinates; ties to the lowest index). `None` if the curve is
/// flat or has fewer than 3 points.
pub fn knee_index(sorted: &[f64]) -> Option<usize> {
    let n = sorted.len();
    if n < 3 {
        return None;
    }
    let (y0, y1) = (sorted[0], sorted[n - 1]);
    let span = y1 - y0;
    if span.is_nan() || span <= 0.0 {
        return None;
    }
    let mut best = (f64::NEG_INFINITY, 0usize);
    for (i, &y) in sorted.iter().enumerate() {
        let gap = i as f64 / (n - 1) as f64 - (y - y0) / span;
        if gap > best.0 {
            best = (gap, i);
        }
    }
    Some(best.1)
}

/// DBSCAN's `eps` from the k-distance elbow: sort the k-distances ([`k_distances`]) ascending
/// and take the value at their knee ([`knee_index`]). Degenerate curves: when every k-distance
/// is equal, that value; a non-positive choice is replaced by the smallest positive
/// k-distance, and by 1.0 when all points coincide (any positive eps then gives the same
/// clustering).
pub fn elbow_eps(x: MatrixView<'_>, k: usize) -> Result<f64, Error> {
    Ok(elbow_of(k_distances(x, k)?))
}

/// [`elbow_eps`] from the (non-empty) k-distances.
fn elbow_of(mut kd: Vec<f64>) -> f64 {
    kd.sort_by(f64::total_cmp);
    let eps = knee_index(&kd).map_or(kd[kd.len() - 1], |i| kd[i]);
    if eps > 0.0 {
        return eps;
    }
    kd.iter().copied().find(|&v| v > 0.0).unwrap_or(1.0)
}

/// DBSCAN's `eps` as the `q`-quantile (`0 < q <= 1`) of the k-distances ([`k_distances`]),
/// interpolated linearly between order statistics (numpy's default `percentile(d, 100 q)`).
/// A non-positive value is replaced as in [`elbow_eps`].
pub fn quantile_eps(x: MatrixView<'_>, k: usize, q: f64) -> Result<f64, Error> {
    if !(q > 0.0 && q <= 1.0) {
        return Err(Error::param(
            "eps_quantile",
            format!("must be in (0, 1], got {q}"),
        ));
    }
    Ok(quantile_of(k_distances(x, k)?, q))
}

/// [`quantile_eps`] from the (non-empty) k-distances, `q` already checked: the core's
/// [`quantile_sorted`] (numpy's linear rule), then the non-positive replacement of
/// [`elbow_eps`].
fn quantile_of(mut kd: Vec<f64>, q: f64) -> f64 {
    kd.sort_by(f64::total_cmp);
    let eps = quantile_sorted(&kd, q);
    if eps > 0.0 {
        return eps;
    }
    kd.iter().copied().find(|&v| v > 0.0).unwrap_or(1.0)
}

// ---------------------------------------------------------------------------------------------
// DBSCAN

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

/// [`dbscan`] of the rows of `data` (row-major, `d` columns, checked) with their tree.
fn tree_dbscan(
    tree: &KdTree<'_>,
    data: &[f64],
    d: usize,
    eps: f64,
    min_samples: usize,
) -> DbscanResult {
    let n = data.len() / d;
    let r2 = eps * eps;
    // Core test: counting stops at min_samples; boxes inside the ball count whole.
    let core: Vec<bool> = data
        .par_chunks(d)
        .map_init(Vec::new, |stack, q| {
            tree.count_within_capped(q, r2, min_samples, stack) >= min_samples
        })
        .collect();
    let core_ids: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
    // Lowest core index of every node (usize::MAX: the node holds no core point).
    let node_core = tree.node_min(|i| if core[i] { i } else { usize::MAX });

    // Connected components of core points (union-find with union by smaller root index, so the
    // root of a component is its lowest core index, whatever the order of the unions).
    //
    // The core points are processed in chunks of consecutive core indices. A pair of core
    // neighbours inside one chunk is found by testing the chunk's pairs directly; a pair across
    // chunks by the later point's ball query, which looks only for core neighbours in earlier
    // chunks (indices below the chunk start `cs`). A node whose box lies entirely inside the
    // ball is recorded whole: all its core points are neighbours of `i`, hence `i` is linked to
    // the node's lowest core point and the node's core points are linked together (once per
    // node, below). Nodes are skipped when they hold no core point below `cs`, or when all
    // their core points below `cs` lie in one component (as of the chunk start) to which the
    // query has already found a link; points are recorded only when their component is new to
    // the query. Skipped links are implied by recorded ones, so the components are exact.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut covered = vec![false; tree.n_nodes()];
    let mut root = vec![usize::MAX; n];
    for chunk in core_ids.chunks(UNION_CHUNK) {
        let cs = chunk[0];
        for &i in &core_ids {
            if i >= cs {
                break;
            }
            root[i] = find(&mut parent, i);
        }
        let node_comp = tree.node_reduce(
            NO_CORE,
            |i| if i < cs { root[i] } else { NO_CORE },
            merge_comp,
        );
        let links: Vec<(Vec<usize>, Vec<usize>)> = chunk
            .par_iter()
            .enumerate()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(stack, linked), (k, &i)| {
                    let (mut nodes, mut points) = (Vec::new(), Vec::new());
                    let q = &data[i * d..(i + 1) * d];
                    for &j in &chunk[..k] {
                        if sq_dist(q, &data[j * d..(j + 1) * d]) <= r2 {
                            points.push(j);
                        }
                    }
                    // components (as of the chunk start) this query already links to
                    linked.clear();
                    tree.visit_within(q, r2, stack, |v| match v {
                        Visit::Enter(node) => {
                            node_core[node] >= cs
                                || (node_comp[node] < MIXED && linked.contains(&node_comp[node]))
                        }
                        Visit::Whole(node) => {
                            nodes.push(node);
                            if node_comp[node] < MIXED {
                                linked.push(node_comp[node]);
                            }
                            false
                        }
                        Visit::Point(j) => {
                            if j < cs && core[j] && !linked.contains(&root[j]) {
                                linked.push(root[j]);
                                points.push(j);
                            }
                            false
                        }
                    });
                    (nodes, points)
                },
            )
            .collect();
        for (&i, (nodes, points)) in chunk.iter().zip(&links) {
            for &node in nodes {
                covered[node] = true;
                union(&mut parent, i, node_core[node]);
            }
            for &j in points {
                union(&mut parent, i, j);
            }
        }
    }
    for (node, _) in covered.iter().enumerate().filter(|(_, c)| **c) {
        let rep = node_core[node];
        for &j in tree.node_points(node) {
            if core[j] {
                union(&mut parent, rep, j);
            }
        }
    }
    let root: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    // Border points: the cluster (root = lowest core index) with the smallest root among the
    // core neighbours. Nodes whose smallest core root cannot improve the best so far are
    // skipped; boxes inside the ball contribute their smallest core root whole.
    let node_root = tree.node_min(|i| if core[i] { root[i] } else { usize::MAX });
    let border: Vec<Option<usize>> = (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map_init(Vec::new, |stack, i| {
            if core[i] {
                return None;
            }
            let mut best = usize::MAX;
            tree.visit_within(&data[i * d..(i + 1) * d], r2, stack, |v| match v {
                Visit::Enter(node) => node_root[node] >= best,
                Visit::Whole(node) => {
                    best = best.min(node_root[node]);
                    false
                }
                Visit::Point(j) => {
                    if core[j] {
                        best = best.min(root[j]);
                    }
                    false
                }
            });
            (best != usize::MAX).then_some(best)
        })
        .collect();
    // Number clusters by their lowest core index.
    let mut cluster_of_root = vec![usize::MAX; n];
    let mut next = 0;
    for &i in &core_ids {
        if root[i] == i {
            cluster_of_root[i] = next;
            next += 1;
        }
    }
    let labels = (0..n)
        .map(|i| {
            if core[i] {
                Some(cluster_of_root[root[i]])
            } else {
                border[i].map(|r| cluster_of_root[r])
            }
        })
        .collect();
    DbscanResult { labels, core, eps }
}

/// Node component marker: the node holds no core point.
const NO_CORE: usize = usize::MAX;
/// Node component marker: the node's core points lie in more than one component.
const MIXED: usize = usize::MAX - 1;

/// Combines two node component markers (a root, [`NO_CORE`] or [`MIXED`]).
fn merge_comp(a: usize, b: usize) -> usize {
    if a == NO_CORE || a == b {
        b
    } else if b == NO_CORE {
        a
    } else {
        MIXED
    }
}

/// Joins the sets of `a` and `b`, the smaller root becoming the root.
fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi] = lo;
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    let mut r = x;
    while parent[r] != r {
        r = parent[r];
    }
    while parent[x] != r {
        let next = parent[x];
        parent[x] = r;
        x = next;
    }
    r
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

// ---------------------------------------------------------------------------------------------
// HDBSCAN (native, see `density/hdbscan.rs`, or petal-clustering)

/// Which implementation the `hdbscan` engine runs (both have the semantics of the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HdbscanBackend {
    /// Our own exact HDBSCAN (k-d tree core distances, dense Prim, simultaneous merges of
    /// equal weights): the default, about 10x faster than petal on the study's inputs.
    #[default]
    Native,
    /// petal-clustering's `HDbscan` (Prim over the mutual-reachability graph, not Borůvka).
    Petal,
}

/// Parameters of the `hdbscan` engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HdbscanParams {
    /// Smallest cluster kept by the condensed tree. Default 20 (the study's `min_samples`).
    pub min_cluster_size: usize,
    /// Neighbours (the point itself included) defining the core distance. Default: none,
    /// meaning `min_cluster_size` (scikit-learn's rule).
    pub min_samples: Option<usize>,
    /// Distance scaling of the mutual-reachability graph (petal's `alpha`). Default 1.
    pub alpha: f64,
    /// `"native"` (default) or `"petal"`.
    pub backend: HdbscanBackend,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        HdbscanParams {
            min_cluster_size: 20,
            min_samples: None,
            alpha: 1.0,
            backend: HdbscanBackend::Native,
        }
    }
}

fn build_hdbscan(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: HdbscanParams = from_table(table)?;
    Ok(Box::new(Hdbscan::new(params)?))
}

/// The `hdbscan` engine (native or petal-clustering backend, [`HdbscanBackend`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Hdbscan {
    params: HdbscanParams,
}

impl Hdbscan {
    /// Validates the parameters.
    pub fn new(params: HdbscanParams) -> Result<Self, Error> {
        if params.min_cluster_size < 2 {
            return Err(Error::param("min_cluster_size", "must be at least 2"));
        }
        if let Some(m) = params.min_samples {
            check_min("min_samples", m)?;
        }
        check_eps("alpha", Some(params.alpha))?;
        Ok(Hdbscan { params })
    }

    fn min_samples(&self) -> usize {
        self.params
            .min_samples
            .unwrap_or(self.params.min_cluster_size)
    }
}

impl Engine for Hdbscan {
    fn name(&self) -> &str {
        "hdbscan"
    }

    fn caps(&self) -> Caps {
        caps()
    }

    fn fit(&self, x: MatrixView<'_>, _k: Option<usize>, _seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let n = x.nrows();
        let mut diag = Diagnostics::default();
        diag.extra.insert(
            "min_cluster_size".into(),
            self.params.min_cluster_size as f64,
        );
        diag.extra
            .insert("min_samples".into(), self.min_samples() as f64);
        // Too few points for two clusters of min_cluster_size: all noise (as scikit-learn
        // without allow_single_cluster), and no backend is asked (petal needs >= 2 points).
        if n < 2 * self.params.min_cluster_size.max(1) || n < 2 {
            return Ok(Partition::from_raw(&vec![None; n], diag));
        }
        let raw = match self.params.backend {
            HdbscanBackend::Native => hdbscan::hdbscan_labels(
                &row_major(x),
                x.ncols(),
                self.params.min_cluster_size,
                self.min_samples().min(n),
                self.params.alpha,
            ),
            HdbscanBackend::Petal => self.fit_petal(x)?,
        };
        Ok(Partition::from_raw(&raw, diag))
    }
}

impl Hdbscan {
    /// Raw labels from petal-clustering's `HDbscan` (`x` checked, at least 2 rows).
    fn fit_petal(&self, x: MatrixView<'_>) -> Result<Vec<Option<usize>>, Error> {
        use petal_clustering::{Fit, HDbscan};
        let n = x.nrows();
        let mut model = HDbscan {
            alpha: self.params.alpha,
            min_samples: self.min_samples().min(n),
            min_cluster_size: self.params.min_cluster_size,
            metric: petal_neighbors::distance::Euclidean::default(),
            boruvka: false,
        };
        let owned = x.as_standard_layout();
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            model.fit(&owned.view(), None)
        }))
        .map_err(|_| Error::Backend {
            backend: "petal-clustering".into(),
            message: "HDbscan::fit panicked".into(),
        })?;
        let (clusters, _noise, _scores) = out;
        let mut raw: Vec<Option<usize>> = vec![None; n];
        for (id, members) in clusters {
            for i in members {
                if i < n {
                    raw[i] = Some(id);
                }
            }
        }
        Ok(raw)
    }
}

// ---------------------------------------------------------------------------------------------
// OPTICS

/// Parameters of the `optics` engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpticsParams {
    /// Points (itself included) within the core distance. Default 20 (the study's).
    pub min_samples: usize,
    /// Largest neighbourhood radius searched. Default: none (infinite, scikit-learn's default).
    pub max_eps: Option<f64>,
    /// Extraction radius (scikit-learn's `cluster_optics_dbscan`). Default: none, chosen by the
    /// k-distance elbow as for `dbscan`; must not exceed `max_eps`.
    pub eps: Option<f64>,
}

impl Default for OpticsParams {
    fn default() -> Self {
        OpticsParams {
            min_samples: 20,
            max_eps: None,
            eps: None,
        }
    }
}

fn build_optics(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: OpticsParams = from_table(table)?;
    Ok(Box::new(Optics::new(params)?))
}

/// The `optics` engine (our own, scikit-learn semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct Optics {
    params: OpticsParams,
}

impl Optics {
    /// Validates the parameters.
    pub fn new(params: OpticsParams) -> Result<Self, Error> {
        check_min("min_samples", params.min_samples)?;
        check_eps("max_eps", params.max_eps)?;
        check_eps("eps", params.eps)?;
        if let (Some(e), Some(m)) = (params.eps, params.max_eps)
            && e > m
        {
            return Err(Error::param("eps", format!("eps {e} exceeds max_eps {m}")));
        }
        Ok(Optics { params })
    }
}

/// The OPTICS ordering of a data set (scikit-learn's `OPTICS` attributes).
#[derive(Debug, Clone, PartialEq)]
pub struct OpticsOrdering {
    /// Point indices in visiting order.
    pub ordering: Vec<usize>,
    /// Reachability distance of each point (input order; infinite for the first point of each
    /// connected region).
    pub reachability: Vec<f64>,
    /// Core distance of each point (input order; infinite when above `max_eps`).
    pub core_distance: Vec<f64>,
    /// The point from which each point was reached (`None` for region starts).
    pub predecessor: Vec<Option<usize>>,
}

impl OpticsOrdering {
    /// Labels at `eps` as scikit-learn's `cluster_optics_dbscan` (`None` = noise): walking the
    /// ordering, a point whose reachability exceeds `eps` starts a new cluster when its core
    /// distance is at most `eps` and is noise otherwise.
    pub fn extract_dbscan(&self, eps: f64) -> Vec<Option<usize>> {
        let n = self.reachability.len();
        let mut labels: Vec<Option<usize>> = vec![None; n];
        let mut current: Option<usize> = None;
        let mut next = 0usize;
        for &p in &self.ordering {
            let far = self.reachability[p] > eps; // reachabilities are never NaN
            let near_core = self.core_distance[p] <= eps;
            if far {
                if near_core {
                    current = Some(next);
                    next += 1;
                    labels[p] = current;
                } else {
                    labels[p] = None;
                }
            } else {
                labels[p] = current;
            }
        }
        labels
    }
}

/// OPTICS ordering of the rows of `x` (scikit-learn semantics; `max_eps = None` is infinite).
pub fn optics_ordering(
    x: MatrixView<'_>,
    min_samples: usize,
    max_eps: Option<f64>,
) -> Result<OpticsOrdering, Error> {
    check_matrix(x)?;
    check_min("min_samples", min_samples)?;
    check_eps("max_eps", max_eps)?;
    let n = x.nrows();
    let d = x.ncols();
    let data = row_major(x);
    let tree = KdTree::new(&data, d);
    let max_eps = max_eps.unwrap_or(f64::INFINITY);
    let core_distance: Vec<f64> = data
        .par_chunks(d)
        .map(|q| {
            let c = if min_samples > n {
                f64::INFINITY
            } else {
                tree.kth_sq_dist(q, min_samples).sqrt()
            };
            if c > max_eps { f64::INFINITY } else { c }
        })
        .collect();
    let mut reach = vec![f64::INFINITY; n];
    let mut pred: Vec<Option<usize>> = vec![None; n];
    let mut processed = vec![false; n];
    let mut ordering = Vec::with_capacity(n);
    let mut heap: BinaryHeap<Reverse<(OrdF64, usize)>> = BinaryHeap::new();
    let mut cursor = 0usize; // lowest possibly unprocessed index
    let mut nb: Vec<usize> = Vec::new();
    let r2 = max_eps * max_eps;
    while ordering.len() < n {
        // next point: unprocessed with the smallest reachability, ties to the lowest index;
        // when every unprocessed reachability is infinite, the lowest unprocessed index.
        let mut p = None;
        while let Some(Reverse((OrdF64(r), i))) = heap.pop() {
            if !processed[i] && r == reach[i] {
                p = Some(i);
                break;
            }
        }
        let p = match p {
            Some(p) => p,
            None => {
                while processed[cursor] {
                    cursor += 1;
                }
                cursor
            }
        };
        processed[p] = true;
        ordering.push(p);
        let cp = core_distance[p];
        if !cp.is_finite() {
            continue;
        }
        let q = &data[p * d..(p + 1) * d];
        nb.clear();
        if max_eps.is_finite() {
            tree.within(q, r2, &mut nb);
        } else {
            nb.extend(0..n);
        }
        for &o in &nb {
            if processed[o] {
                continue;
            }
            let rd = sq_dist(q, &data[o * d..(o + 1) * d]).sqrt().max(cp);
            if rd < reach[o] {
                reach[o] = rd;
                pred[o] = Some(p);
                heap.push(Reverse((OrdF64(rd), o)));
            }
        }
    }
    Ok(OpticsOrdering {
        ordering,
        reachability: reach,
        core_distance,
        predecessor: pred,
    })
}

impl Engine for Optics {
    fn name(&self) -> &str {
        "optics"
    }

    fn caps(&self) -> Caps {
        caps()
    }

    fn fit(&self, x: MatrixView<'_>, _k: Option<usize>, _seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let p = &self.params;
        let eps = match p.eps {
            Some(e) => e,
            None => {
                let e = elbow_eps(x, p.min_samples)?;
                p.max_eps.map_or(e, |m| e.min(m))
            }
        };
        let ord = optics_ordering(x, p.min_samples, p.max_eps)?;
        let labels = ord.extract_dbscan(eps);
        let mut diag = Diagnostics::default();
        diag.extra.insert("eps".into(), eps);
        diag.extra
            .insert("min_samples".into(), p.min_samples as f64);
        Ok(Partition::from_raw(&labels, diag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::{Matrix, Rng};
    use ndarray::array;

    /// Literal transcription of scikit-learn's DBSCAN (brute-force neighbourhoods, index-order
    /// depth-first expansion with a stack) as the reference for the tests.
    fn sklearn_dbscan(x: &Matrix, eps: f64, min_samples: usize) -> Vec<i64> {
        let n = x.nrows();
        let nbh: Vec<Vec<usize>> = (0..n)
            .map(|i| {
                (0..n)
                    .filter(|&j| {
                        let a = x.row(i);
                        let b = x.row(j);
                        sq_dist(a.as_slice().unwrap(), b.as_slice().unwrap()) <= eps * eps
                    })
                    .collect()
            })
            .collect();
        let core: Vec<bool> = nbh.iter().map(|v| v.len() >= min_samples).collect();
        let mut labels = vec![-1i64; n];
        let mut label = 0;
        for start in 0..n {
            if labels[start] != -1 || !core[start] {
                continue;
            }
            let mut stack = Vec::new();
            let mut i = start;
            loop {
                if labels[i] == -1 {
                    labels[i] = label;
                    if core[i] {
                        for &v in &nbh[i] {
                            if labels[v] == -1 {
                                stack.push(v);
                            }
                        }
                    }
                }
                match stack.pop() {
                    Some(v) => i = v,
                    None => break,
                }
            }
            label += 1;
        }
        labels
    }

    fn ours(x: &Matrix, eps: f64, min_samples: usize) -> Vec<i64> {
        dbscan(x.view(), eps, min_samples)
            .unwrap()
            .labels
            .iter()
            .map(|l| l.map_or(-1, |c| c as i64))
            .collect()
    }

    fn blobs_with_duplicates(seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        let mut rows = Vec::new();
        for c in 0..4 {
            let (cx, cy) = (c as f64 * 3.0, (c % 2) as f64 * 2.0);
            for _ in 0..60 {
                let p = [cx + rng.normal() * 0.6, cy + rng.normal() * 0.6];
                // round to a grid so distances tie and points repeat
                let p = [(p[0] * 4.0).round() / 4.0, (p[1] * 4.0).round() / 4.0];
                let copies = if rng.below(5) == 0 { 3 } else { 1 };
                for _ in 0..copies {
                    rows.push(p);
                }
            }
        }
        let n = rows.len();
        Matrix::from_shape_vec((n, 2), rows.into_iter().flatten().collect()).unwrap()
    }

    #[test]
    fn dbscan_equals_sklearn_transcription_with_duplicates_and_ties() {
        for seed in 0..4 {
            let x = blobs_with_duplicates(seed);
            for (eps, m) in [
                (0.25, 3),
                (0.25, 5),
                (0.5, 5),
                (0.5, 10),
                (0.75, 20),
                (1.0, 8),
                // large radii: whole boxes inside the ball (the k-d tree shortcuts)
                (2.0, 5),
                (3.0, 40),
                (6.0, 20),
            ] {
                assert_eq!(
                    ours(&x, eps, m),
                    sklearn_dbscan(&x, eps, m),
                    "seed {seed} eps {eps} m {m}"
                );
            }
        }
    }

    /// DBSCAN by its definition, brute force without neighbour lists: core points by counting,
    /// components over all core pairs, a border point joins the smallest adjacent root.
    fn definition_dbscan(data: &[f64], d: usize, eps: f64, min_samples: usize) -> Vec<i64> {
        let n = data.len() / d;
        let r2 = eps * eps;
        let row = |i: usize| &data[i * d..(i + 1) * d];
        let core: Vec<bool> = (0..n)
            .map(|i| (0..n).filter(|&j| sq_dist(row(i), row(j)) <= r2).count() >= min_samples)
            .collect();
        let mut parent: Vec<usize> = (0..n).collect();
        for i in (0..n).filter(|&i| core[i]) {
            for j in (0..i).filter(|&j| core[j]) {
                if sq_dist(row(i), row(j)) <= r2 {
                    union(&mut parent, i, j);
                }
            }
        }
        let root: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
        let mut number = vec![-1i64; n];
        let mut next = 0;
        for i in 0..n {
            if core[i] && root[i] == i {
                number[i] = next;
                next += 1;
            }
        }
        (0..n)
            .map(|i| {
                if core[i] {
                    number[root[i]]
                } else {
                    (0..n)
                        .filter(|&j| core[j] && sq_dist(row(i), row(j)) <= r2)
                        .map(|j| root[j])
                        .min()
                        .map_or(-1, |r| number[r])
                }
            })
            .collect()
    }

    /// The study's tree space (2-D) and scaled features (5-D) from the fixtures; the ones
    /// missing locally are skipped (`insiders_fixtures::fixture` fails under CI).
    fn study_spaces() -> Vec<(&'static str, Matrix)> {
        [
            ("tree_space.csv.gz", &["x0", "x1"][..]),
            (
                "scaled_features.csv.gz",
                &["x0", "x1", "x2", "x3", "x4"][..],
            ),
        ]
        .into_iter()
        .filter_map(|(name, cols)| {
            let path = insiders_fixtures::fixture(name)?;
            let (n, d, v) = insiders_fixtures::read_table(&path).matrix(cols);
            Some((name, Matrix::from_shape_vec((n, d), v).unwrap()))
        })
        .collect()
    }

    /// The benchmark grid's DBSCAN (min_samples 5, eps = m x the 0.99 quantile of the
    /// 5-distances, m in 0.5..16) on the study's tree space and scaled features: the labels,
    /// numbering included, equal the brute-force definition.
    #[test]
    fn grid_eps_factors_equal_the_definition_on_the_study_spaces() {
        for (name, x) in study_spaces() {
            let d = x.ncols();
            let v: Vec<f64> = x.iter().copied().collect();
            let base = quantile_eps(x.view(), 5, 0.99).unwrap();
            for m in [0.5, 1.0, 2.0, 4.0, 8.0, 16.0] {
                let eps = m * base;
                let got = ours(&x, eps, 5);
                let want = definition_dbscan(&v, d, eps, 5);
                assert_eq!(got, want, "{name} eps factor {m}");
                let clusters = want.iter().max().map_or(0, |&c| c + 1);
                let noise = want.iter().filter(|&&l| l == -1).count();
                eprintln!("{name} m={m}: eps {eps:.4}, {clusters} clusters, {noise} noise");
            }
        }
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn dbscan_is_the_same_for_one_and_two_threads() {
        let (one, two) = (pool(1), pool(2));
        for seed in 0..3 {
            let x = blobs_with_duplicates(seed);
            for (eps, m) in [(0.25, 3), (0.75, 5), (2.0, 5), (6.0, 20)] {
                let a = one.install(|| dbscan(x.view(), eps, m).unwrap());
                let b = two.install(|| dbscan(x.view(), eps, m).unwrap());
                assert_eq!(a, b, "seed {seed} eps {eps} m {m}");
            }
        }
    }

    #[test]
    fn definition_equals_sklearn_transcription() {
        for seed in 0..2 {
            let x = blobs_with_duplicates(seed);
            let v: Vec<f64> = x.iter().copied().collect();
            for (eps, m) in [(0.25, 3), (0.5, 10), (2.0, 5), (6.0, 20)] {
                assert_eq!(
                    definition_dbscan(&v, 2, eps, m),
                    sklearn_dbscan(&x, eps, m),
                    "seed {seed} eps {eps} m {m}"
                );
            }
        }
    }

    #[test]
    fn duplicates_count_toward_min_samples() {
        // Five copies of one point and a far point: with min_samples 5 the copies are core
        // (each counts itself and the four others), the far point is noise.
        let x = array![
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [0.0, 0.0],
            [9.0, 9.0]
        ];
        let r = dbscan(x.view(), 0.1, 5).unwrap();
        assert_eq!(
            r.labels,
            vec![Some(0), Some(0), Some(0), Some(0), Some(0), None]
        );
        assert!(r.core[..5].iter().all(|&c| c));
        // six needed: nobody is core
        let r = dbscan(x.view(), 0.1, 6).unwrap();
        assert!(r.labels.iter().all(|l| l.is_none()));
        // petal-clustering agrees on this one (duplicates at distance 0 are counted)
        use petal_clustering::Fit;
        let (clusters, noise) =
            petal_clustering::Dbscan::new(0.1, 5, petal_neighbors::distance::Euclidean::default())
                .fit(&x, None);
        assert_eq!(clusters.len(), 1);
        assert_eq!(noise, vec![5]);
    }

    #[test]
    fn small_cluster_next_to_an_earlier_one_is_kept_unlike_petal() {
        // eps 1, min_samples 4. Three groups of 4 points (indices 0..12) along three
        // directions u at 1.85u, 2.0u, 2.1u, 2.2u: all core. Border points b = 0.9u (12..15):
        // neighbours {b, c, nearest group point} = 3 < 4. Centre c = (0, 0) (index 15):
        // neighbours {c, b1, b2, b3} = 4, core, but its neighbours were claimed by the three
        // earlier clusters, so scikit-learn gives it a cluster of its own with one member.
        let dirs = [
            (1.0, 0.0),
            (-0.5, 0.75f64.sqrt()),
            (-0.5, -(0.75f64.sqrt())),
        ];
        let mut rows = Vec::new();
        for (ux, uy) in dirs {
            for r in [1.85, 2.0, 2.1, 2.2] {
                rows.extend([ux * r, uy * r]);
            }
        }
        for (ux, uy) in dirs {
            rows.extend([ux * 0.9, uy * 0.9]);
        }
        rows.extend([0.0, 0.0]);
        let x = Matrix::from_shape_vec((16, 2), rows).unwrap();
        let m = 4;
        let ours = ours(&x, 1.0, m);
        assert_eq!(ours, sklearn_dbscan(&x, 1.0, m));
        assert_eq!(ours, vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 2, 3]);
        // petal drops the one-member cluster of the core point c and calls c noise
        use petal_clustering::Fit;
        let (clusters, noise) =
            petal_clustering::Dbscan::new(1.0, m, petal_neighbors::distance::Euclidean::default())
                .fit(&x, None);
        assert_eq!(clusters.len(), 3);
        assert_eq!(noise, vec![15]);
    }

    #[test]
    fn petal_optics_splits_exact_duplicates_ours_does_not() {
        // Two tight groups, each point duplicated: OPTICS extraction at eps 1 must give 2
        // clusters, duplicates together.
        let mut rows = Vec::new();
        for c in [0.0, 10.0] {
            for k in 0..6 {
                let p = c + k as f64 * 0.1;
                rows.push(p);
                rows.push(p);
            }
        }
        let n = rows.len();
        let x = Matrix::from_shape_vec((n, 1), rows).unwrap();
        let ord = optics_ordering(x.view(), 4, None).unwrap();
        let labels = ord.extract_dbscan(1.0);
        for i in (0..n).step_by(2) {
            assert_eq!(labels[i], labels[i + 1]);
        }
        assert!(labels.iter().all(|l| l.is_some()));
        assert_eq!(labels.iter().flatten().max(), Some(&1));
        // the same labels as DBSCAN at eps 1 (every point is core)
        let db = dbscan(x.view(), 1.0, 4).unwrap();
        assert_eq!(
            Partition::from_raw(&labels, Diagnostics::default()).labels,
            Partition::from_raw(&db.labels, Diagnostics::default()).labels
        );
        // petal's OPTICS: duplicates get reachability 0, taken as "undefined" -> extra clusters
        use petal_clustering::Fit;
        let (clusters, _noise) =
            petal_clustering::Optics::new(1.0, 4, petal_neighbors::distance::Euclidean::default())
                .fit(&x, None);
        assert!(
            clusters.len() > 2,
            "petal optics found {} clusters",
            clusters.len()
        );
    }

    #[test]
    fn optics_extraction_matches_dbscan_core_partition() {
        let x = blobs_with_duplicates(11);
        for (eps, m) in [(0.5, 5), (0.75, 10)] {
            let ord = optics_ordering(x.view(), m, None).unwrap();
            let opt = ord.extract_dbscan(eps);
            let db = dbscan(x.view(), eps, m).unwrap();
            // core points: same partition and no noise among them
            let mut map = std::collections::HashMap::new();
            for (i, o) in opt.iter().enumerate() {
                if db.core[i] {
                    let o = o.unwrap();
                    let dcl = db.labels[i].unwrap();
                    assert_eq!(*map.entry(dcl).or_insert(o), o);
                }
                // DBSCAN noise is OPTICS noise (the converse fails for border points processed
                // before their core neighbour, as in scikit-learn's cluster_optics_dbscan)
                if db.labels[i].is_none() {
                    assert!(o.is_none(), "point {i}");
                }
            }
        }
    }

    #[test]
    fn elbow_of_a_hockey_stick() {
        // y = 1 for 90 points then rising steeply: the knee is at the bend.
        let mut v: Vec<f64> = vec![1.0; 90];
        v.extend((1..=10).map(|i| 1.0 + i as f64 * 10.0));
        assert_eq!(knee_index(&v), Some(89));
        assert_eq!(knee_index(&[1.0, 1.0, 1.0]), None);
        assert_eq!(knee_index(&[1.0, 2.0]), None);
    }

    #[test]
    fn dbscan_engine_reports_eps_and_validates() {
        let x = blobs_with_duplicates(5);
        let e = Dbscan::new(DbscanParams {
            eps: None,
            min_samples: 5,
            ..DbscanParams::default()
        })
        .unwrap();
        let p = e.fit(x.view(), None, 0).unwrap();
        let eps = p.diag.extra["eps"];
        assert_eq!(eps, elbow_eps(x.view(), 5).unwrap());
        assert!(eps > 0.0);
        let fixed = Dbscan::new(DbscanParams {
            eps: Some(eps),
            min_samples: 5,
            ..DbscanParams::default()
        })
        .unwrap()
        .fit(x.view(), None, 9)
        .unwrap();
        assert_eq!(p, fixed);
        assert!(
            Dbscan::new(DbscanParams {
                eps: Some(0.0),
                min_samples: 5,
                ..DbscanParams::default()
            })
            .is_err()
        );
        assert!(
            Dbscan::new(DbscanParams {
                eps: Some(f64::NAN),
                min_samples: 5,
                ..DbscanParams::default()
            })
            .is_err()
        );
        assert!(
            Dbscan::new(DbscanParams {
                eps: None,
                min_samples: 0,
                ..DbscanParams::default()
            })
            .is_err()
        );
        // eps_factor scales the elbow eps, and only the elbow eps.
        let doubled = Dbscan::new(DbscanParams {
            min_samples: 5,
            eps_factor: 2.0,
            ..DbscanParams::default()
        })
        .unwrap()
        .fit(x.view(), None, 0)
        .unwrap();
        assert_eq!(doubled.diag.extra["eps"], 2.0 * eps);
        // The quantile rule: numpy's percentile, linear between order statistics.
        let mut kd = k_distances(x.view(), 5).unwrap();
        kd.sort_by(f64::total_cmp);
        let h = (kd.len() - 1) as f64 * 0.9;
        let lo = h.floor() as usize;
        let want = kd[lo] + (h - lo as f64) * (kd[lo + 1] - kd[lo]);
        assert_eq!(quantile_eps(x.view(), 5, 0.9).unwrap(), want);
        assert_eq!(quantile_eps(x.view(), 5, 1.0).unwrap(), kd[kd.len() - 1]);
        let q = Dbscan::new(DbscanParams {
            min_samples: 5,
            eps_factor: 0.5,
            eps_quantile: Some(0.9),
            ..DbscanParams::default()
        })
        .unwrap()
        .fit(x.view(), None, 0)
        .unwrap();
        assert_eq!(q.diag.extra["eps"], 0.5 * want);
        for bad in [0.0, 1.5, f64::NAN] {
            assert!(
                Dbscan::new(DbscanParams {
                    eps_quantile: Some(bad),
                    ..DbscanParams::default()
                })
                .is_err()
            );
        }
        assert!(
            Dbscan::new(DbscanParams {
                eps: Some(1.0),
                eps_quantile: Some(0.99),
                ..DbscanParams::default()
            })
            .is_err()
        );
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            let r = Dbscan::new(DbscanParams {
                eps_factor: bad,
                ..DbscanParams::default()
            });
            assert!(matches!(r, Err(Error::Param { ref key, .. }) if key == "eps_factor"));
        }
        assert!(matches!(
            Dbscan::new(DbscanParams {
                eps: Some(1.0),
                eps_factor: 2.0,
                ..DbscanParams::default()
            }),
            Err(Error::Param { .. })
        ));
        let t = insiders_core::params::parse_pairs(&["epsilon=1"]).unwrap();
        assert!(matches!(build_dbscan(&t), Err(Error::Param { .. })));
        let empty = Matrix::zeros((0, 2));
        assert!(matches!(
            e.fit(empty.view(), None, 0),
            Err(Error::EmptyInput { .. })
        ));
    }

    #[test]
    fn hdbscan_finds_blobs_and_keeps_duplicates_together() {
        let mut rng = Rng::new(8);
        let mut rows = Vec::new();
        for c in [[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]] {
            for _ in 0..80 {
                rows.push([c[0] + rng.normal() * 0.5, c[1] + rng.normal() * 0.5]);
            }
            // 25 exact copies of the centre: core distance 0 with min_samples 20
            for _ in 0..25 {
                rows.push(c);
            }
        }
        rows.push([30.0, 30.0]);
        let n = rows.len();
        let x = Matrix::from_shape_vec((n, 2), rows.into_iter().flatten().collect()).unwrap();
        let mut fits = Vec::new();
        for backend in [HdbscanBackend::Native, HdbscanBackend::Petal] {
            let e = Hdbscan::new(HdbscanParams {
                backend,
                ..HdbscanParams::default()
            })
            .unwrap();
            let p = e.fit(x.view(), None, 0).unwrap();
            assert_eq!(p.n_clusters(), 3, "{:?}", p.labels);
            assert_eq!(p.labels[n - 1], None);
            for b in 0..3 {
                let base = b * 105;
                let c = p.labels[base + 80];
                assert!(c.is_some());
                assert!((base + 80..base + 105).all(|i| p.labels[i] == c));
            }
            // deterministic across runs and thread counts
            let run = |t: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap()
                    .install(|| e.fit(x.view(), None, 0).unwrap())
            };
            assert_eq!(run(1), p);
            assert_eq!(run(2), p);
            // tiny inputs never reach a backend
            let one = array![[1.0, 1.0]];
            assert_eq!(e.fit(one.view(), None, 0).unwrap().labels, vec![None]);
            fits.push(p);
        }
        assert_eq!(fits[0], fits[1]);
    }

    #[test]
    fn degenerate_inputs_never_panic() {
        let same = Matrix::from_elem((60, 2), 3.0);
        let mut two = Matrix::from_elem((60, 1), 0.0);
        for i in 30..60 {
            two[[i, 0]] = 5.0;
        }
        let line = Matrix::from_shape_fn((50, 1), |(i, _)| i as f64);
        let engines: Vec<Box<dyn Engine>> = vec![
            Box::new(Dbscan::new(DbscanParams::default()).unwrap()),
            Box::new(Hdbscan::new(HdbscanParams::default()).unwrap()),
            Box::new(
                Hdbscan::new(HdbscanParams {
                    backend: HdbscanBackend::Petal,
                    ..HdbscanParams::default()
                })
                .unwrap(),
            ),
            Box::new(Optics::new(OpticsParams::default()).unwrap()),
        ];
        for e in &engines {
            let p = e.fit(same.view(), None, 0).unwrap();
            assert_eq!(p.labels.len(), 60, "{}", e.name());
            // identical points: one cluster or all noise, never split
            assert!(p.n_clusters() <= 1, "{}: {:?}", e.name(), p.labels);
            let p = e.fit(two.view(), None, 0).unwrap();
            assert!(p.n_clusters() <= 2, "{}", e.name());
            assert!((1..30).all(|i| p.labels[i] == p.labels[0]), "{}", e.name());
            assert!(
                (31..60).all(|i| p.labels[i] == p.labels[30]),
                "{}",
                e.name()
            );
            assert_eq!(e.fit(line.view(), None, 0).unwrap().labels.len(), 50);
        }
        // all points identical: every k-distance is 0 and the elbow falls back to 1.0
        assert_eq!(elbow_eps(same.view(), 20).unwrap(), 1.0);
        let p = engines[0].fit(same.view(), None, 0).unwrap();
        assert_eq!(p.n_clusters(), 1);
        assert_eq!(p.n_noise(), 0);
    }

    fn hdbscan_fit(
        x: &Matrix,
        mcs: usize,
        ms: Option<usize>,
        backend: HdbscanBackend,
    ) -> Partition {
        Hdbscan::new(HdbscanParams {
            min_cluster_size: mcs,
            min_samples: ms,
            backend,
            ..HdbscanParams::default()
        })
        .unwrap()
        .fit(x.view(), None, 0)
        .unwrap()
    }

    #[test]
    fn hdbscan_hand_checked_two_blobs_a_bridge_a_small_group_and_an_outlier() {
        // 1-D, min_cluster_size 3, min_samples 2 (core distance = distance to the nearest
        // other point). Points: A = 0,1,2,3; B = 10..13; a bridge point 5; C = 30, 40, 41;
        // an outlier 100. Core distances: 1 in A, B and {40, 41}; 2 for 5; 10 for 30; 59 for
        // 100. Spanning tree: the chains at 1, (3,5) at 2, (5,10) at 5, (30,40) at 10,
        // (13,30) at 17, (41,100) at 59. Condensed tree: 100 leaves the root at 1/59; at 1/17
        // the root splits into AB' = A+5+B (9 points) and C (3); at 1/5 AB' splits into
        // A' = A+5 and B. Stabilities: AB' 9(1/5 - 1/17) = 1.27 < A' + B = (1/2 - 1/5)
        // + 4(1 - 1/5) + 4(1 - 1/5) = 6.7, so A' and B are selected (5 left A' at 1/2 and
        // belongs to it); C (3(1/10 - 1/17) = 0.12) is a leaf, selected.
        let v = [0., 1., 2., 3., 10., 11., 12., 13., 5., 30., 40., 41., 100.];
        let x = Matrix::from_shape_vec((v.len(), 1), v.to_vec()).unwrap();
        let want = vec![
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            Some(0),
            Some(2),
            Some(2),
            Some(2),
            None,
        ];
        for backend in [HdbscanBackend::Native, HdbscanBackend::Petal] {
            assert_eq!(
                hdbscan_fit(&x, 3, Some(2), backend).labels,
                want,
                "{backend:?}"
            );
        }
        // min_cluster_size 4: C (3 points) is no cluster; its points leave the root: noise.
        // AB' still splits into A' (5) and B (4).
        let mut want4 = want.clone();
        for l in &mut want4[9..] {
            *l = None;
        }
        for backend in [HdbscanBackend::Native, HdbscanBackend::Petal] {
            assert_eq!(
                hdbscan_fit(&x, 4, Some(2), backend).labels,
                want4,
                "{backend:?}"
            );
        }
    }

    #[test]
    fn hdbscan_native_equals_petal_on_the_study_spaces() {
        for (name, x) in study_spaces() {
            for (mcs, ms) in [(20, None), (10, None), (50, Some(10))] {
                let native = hdbscan_fit(&x, mcs, ms, HdbscanBackend::Native);
                let petal = hdbscan_fit(&x, mcs, ms, HdbscanBackend::Petal);
                eprintln!(
                    "{name} mcs {mcs} ms {ms:?}: {} clusters, {} noise",
                    native.n_clusters(),
                    native.n_noise()
                );
                assert!(native.n_clusters() >= 2, "{name} {mcs}");
                assert_eq!(native.labels, petal.labels, "{name} mcs {mcs} ms {ms:?}");
            }
        }
    }

    #[test]
    fn hdbscan_native_is_the_same_for_one_and_two_threads_and_equals_the_definition() {
        let (one, two) = (pool(1), pool(2));
        let mut petal_differs = 0;
        for seed in 0..3 {
            let x = blobs_with_duplicates(seed);
            let v: Vec<f64> = x.iter().copied().collect();
            for (mcs, ms) in [(5, None), (10, Some(3)), (20, None)] {
                let a = one.install(|| hdbscan_fit(&x, mcs, ms, HdbscanBackend::Native));
                let b = two.install(|| hdbscan_fit(&x, mcs, ms, HdbscanBackend::Native));
                assert_eq!(a, b, "seed {seed} mcs {mcs}");
                let want = hdbscan::tests::reference_hdbscan(&v, 2, mcs, ms.unwrap_or(mcs), 1.0);
                let want = Partition::from_raw(&want, Diagnostics::default()).labels;
                assert_eq!(a.labels, want, "seed {seed} mcs {mcs} vs the definition");
                let p = hdbscan_fit(&x, mcs, ms, HdbscanBackend::Petal);
                if p.labels != want {
                    petal_differs += 1;
                }
            }
        }
        // On this grid data (many equal weights) petal's condensed tree goes wrong in some
        // cases: when one weight level merges several components and its edges interleave,
        // petal's `condense_mst` groups rows by (parent, weight) runs and processes one merge
        // node as several partial nodes (docs/engines.md). Pinned so that a fixed petal shows.
        eprintln!("petal differs from the definition in {petal_differs} of 9 cases");
        assert!(petal_differs > 0);
    }

    #[test]
    fn hdbscan_backend_parses() {
        let t = insiders_core::params::parse_pairs(&["backend=\"petal\""]).unwrap();
        let p: HdbscanParams = from_table(&t).unwrap();
        assert_eq!(p.backend, HdbscanBackend::Petal);
        assert_eq!(HdbscanParams::default().backend, HdbscanBackend::Native);
        let t = insiders_core::params::parse_pairs(&["backend=\"sklearn\""]).unwrap();
        assert!(build_hdbscan(&t).is_err());
    }

    #[test]
    fn unknown_backend_is_rejected_naming_the_key_and_the_choices() {
        crate::params::assert_rejects_unknown_choice(
            build_hdbscan,
            "backend",
            &["native", "petal"],
        );
    }
}
