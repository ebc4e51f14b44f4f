//! `genie`: the Genie hierarchical clustering (Gagolewski, Bartoszuk & Cena, "Genie: A new,
//! fast, and outlier-resistant hierarchical clustering algorithm", Information Sciences 363,
//! 2016), our own implementation.
//!
//! Genie is single linkage with a brake on inequality: the merges follow the euclidean
//! minimum spanning tree's edges by increasing length, except that while the Gini index of
//! the cluster sizes exceeds `gini_threshold`, the next merge must involve a cluster of the
//! smallest size (the shortest unused tree edge touching one). Every point is in a cluster
//! (no noise points: the published `Genie_G*` results and genieclust's default, `M = 1`).
//!
//! - [`mst`]: the exact minimum spanning tree by Prim's algorithm, O(n²·d) time, O(n·d)
//!   memory, parallel over fixed chunks (`mst = "exact"`, the default).
//! - [`approx`]: an approximate tree from the k-nearest-neighbour graph for large n
//!   (`mst = "approximate"`, `mst_neighbours`).
//! - [`merge`]: the merge sequence with the Gini rule, exact integer Gini bookkeeping.
//! - [`GenieTree`]: one hierarchy; [`GenieTree::cut`] gives any k in O(n). `fit_many` builds
//!   it once and cuts it for every k.
//!
//! Determinism: no randomness (the seed is ignored); ties in the tree are broken by point
//! index and in the merge order by edge position, so the result depends on neither the
//! seed nor the thread count.

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::engine::check_k;
use insiders_core::{Caps, Diagnostics, Engine, Error, MatrixView, Partition, check_matrix};
use serde::{Deserialize, Serialize};

pub mod approx;
pub mod merge;
pub mod mst;
#[cfg(test)]
mod tests;

pub use mst::Edge;

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[EngineSpec {
    name: "genie",
    about: "Genie: minimum-spanning-tree hierarchy with merges steered by a Gini-index bound on cluster sizes",
    build,
}];

/// Parameters of the `genie` engine (TOML keys; unknown keys are an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenieParams {
    /// The bound on the Gini index of cluster sizes, in [0, 1]; default 0.3 (the paper's and
    /// genieclust's default). 1 gives single linkage.
    pub gini_threshold: f64,
    /// The spanning tree: `exact` (default; Prim, O(n²·d)) or `approximate` (from the
    /// `mst_neighbours`-nearest-neighbour graph, for large n).
    pub mst: MstKind,
    /// Neighbours per point of the approximate tree's graph (at least 1; default 16).
    pub mst_neighbours: usize,
}

impl Default for GenieParams {
    fn default() -> Self {
        GenieParams {
            gini_threshold: 0.3,
            mst: MstKind::Exact,
            mst_neighbours: 16,
        }
    }
}

/// Which minimum spanning tree Genie merges along.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MstKind {
    /// The exact euclidean minimum spanning tree ([`mst::prim`]).
    #[default]
    Exact,
    /// The minimum spanning tree of the k-nearest-neighbour graph, its components joined by
    /// widening the neighbourhoods ([`approx::knn_mst`]).
    Approximate,
}

fn build(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: GenieParams = from_table(table)?;
    Ok(Box::new(Genie::new(params)?))
}

/// The `genie` engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Genie {
    params: GenieParams,
}

impl Genie {
    /// Validates the parameters: `gini_threshold` must be a number in [0, 1].
    pub fn new(params: GenieParams) -> Result<Self, Error> {
        let g = params.gini_threshold;
        if !(0.0..=1.0).contains(&g) {
            return Err(Error::param(
                "gini_threshold",
                format!("must be in [0, 1], got {g}"),
            ));
        }
        if params.mst_neighbours == 0 {
            return Err(Error::param("mst_neighbours", "must be at least 1"));
        }
        Ok(Genie { params })
    }

    /// The parameters.
    pub fn params(&self) -> &GenieParams {
        &self.params
    }
}

/// One Genie hierarchy: the sorted spanning tree and the order in which its edges merge.
#[derive(Debug, Clone, PartialEq)]
pub struct GenieTree {
    n: usize,
    edges: Vec<Edge>,
    /// Edge positions in merge order (`n - 1` of them, down to one cluster).
    order: Vec<usize>,
    /// Whether each merge was forced by the Gini rule.
    forced: Vec<bool>,
}

impl GenieTree {
    /// Builds the hierarchy of the rows of `x` (euclidean distances) under the threshold.
    ///
    /// # Errors
    /// Empty or non-finite input ([`check_matrix`]); a threshold outside [0, 1]
    /// ([`Error::Param`]).
    pub fn build(x: MatrixView<'_>, gini_threshold: f64) -> Result<Self, Error> {
        Self::build_with(
            x,
            &GenieParams {
                gini_threshold,
                ..GenieParams::default()
            },
        )
    }

    /// Builds the hierarchy under all the engine's parameters (threshold and tree).
    ///
    /// # Errors
    /// As [`GenieTree::build`]; `mst_neighbours = 0` ([`Error::Param`]).
    pub fn build_with(x: MatrixView<'_>, params: &GenieParams) -> Result<Self, Error> {
        check_matrix(x)?;
        let params = Genie::new(params.clone())?.params;
        let (n, d) = x.dim();
        let data: Vec<f64> = x.iter().copied().collect(); // row-major copy
        let edges = match params.mst {
            MstKind::Exact => mst::prim(&data, n, d),
            MstKind::Approximate => approx::knn_mst(&data, n, d, params.mst_neighbours),
        };
        Ok(Self::from_edges(n, edges, params.gini_threshold))
    }

    /// The hierarchy over a given spanning tree (`n - 1` edges sorted by weight), e.g. an
    /// approximate one.
    pub fn from_edges(n: usize, edges: Vec<Edge>, gini_threshold: f64) -> Self {
        let mut order = Vec::with_capacity(n.saturating_sub(1));
        let mut forced = Vec::with_capacity(n.saturating_sub(1));
        merge::run(n, &edges, gini_threshold, 1, |_, _, step| {
            order.push(step.edge);
            forced.push(step.forced);
        });
        GenieTree {
            n,
            edges,
            order,
            forced,
        }
    }

    /// Number of points.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The spanning tree's edges, sorted by `(weight, a, b)`.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// The merges in order, as edges.
    pub fn merges(&self) -> impl Iterator<Item = &Edge> {
        self.order.iter().map(|&p| &self.edges[p])
    }

    /// The flat clustering with `k` clusters (`1 <= k <= n`): the state after the first
    /// `n - k` merges. Labels are cluster roots renumbered by first appearance.
    pub fn cut(&self, k: usize) -> Result<Partition, Error> {
        if k == 0 || k > self.n {
            return Err(Error::InvalidK { k, n: self.n });
        }
        let mut parent: Vec<usize> = (0..self.n).collect();
        let steps = (self.n - k).min(self.order.len());
        let mut height = 0.0f64;
        for &p in &self.order[..steps] {
            let e = self.edges[p];
            let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
            parent[ra.max(rb)] = ra.min(rb);
            height = height.max(e.weight);
        }
        let raw: Vec<Option<usize>> = (0..self.n).map(|i| Some(find(&mut parent, i))).collect();
        let p = Partition::from_raw(&raw, Diagnostics::default());
        let mut sizes = vec![0usize; p.n_clusters()];
        for l in p.labels.iter().flatten() {
            sizes[*l as usize] += 1;
        }
        let mut diag = Diagnostics::default();
        diag.extra.insert("gini".into(), merge::gini_of(&sizes));
        diag.extra.insert(
            "forced_merges".into(),
            self.forced[..steps].iter().filter(|f| **f).count() as f64,
        );
        diag.extra.insert("max_merge_weight".into(), height);
        Ok(Partition {
            labels: p.labels,
            diag,
        })
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

impl Engine for Genie {
    fn name(&self) -> &str {
        "genie"
    }

    fn caps(&self) -> Caps {
        Caps {
            needs_k: true,
            emits_noise: false,
            deterministic: true,
        }
    }

    fn fit(&self, x: MatrixView<'_>, k: Option<usize>, _seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let k = check_k("genie", k, x.nrows())?;
        GenieTree::build_with(x, &self.params)?.cut(k)
    }

    fn fit_many(
        &self,
        x: MatrixView<'_>,
        ks: &[usize],
        _seed: u64,
    ) -> Result<Vec<Partition>, Error> {
        if ks.is_empty() {
            return Ok(Vec::new());
        }
        check_matrix(x)?;
        for &k in ks {
            check_k("genie", Some(k), x.nrows())?;
        }
        let tree = GenieTree::build_with(x, &self.params)?;
        ks.iter().map(|&k| tree.cut(k)).collect()
    }
}
