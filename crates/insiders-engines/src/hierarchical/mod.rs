//! Agglomerative hierarchical clustering: `ward` (the study's engine) and `hierarchical`
//! (linkage `ward`, `complete`, `average` or `single`).
//!
//! One fit builds one tree, a [`Dendrogram`] in scipy's linkage-matrix form (rows
//! `a, b, height, size`); every k is a cut of that tree, made exactly as scipy's
//! `fcluster(Z, k, criterion="maxclust")` makes it. [`Engine::fit_many`] builds the tree once
//! and cuts it for every k.
//!
//! # Algorithms
//! - **ward**: nearest-neighbour chain on cluster centroids (Murtagh 1983; Müllner 2011). The
//!   Ward distance between clusters `A` and `B` is computed from their sizes and centroids,
//!   `sqrt(2 |A||B| / (|A| + |B|)) * ||cA - cB||`, which is the height scipy reports (the
//!   Lance–Williams recursion scipy runs on the full distance matrix gives the same value up to
//!   rounding). O(n²·d) time, O(n·d) memory: no n×n matrix.
//! - **complete**, **average**: nearest-neighbour chain with the Lance–Williams update on the
//!   condensed pairwise distance matrix, as scipy does: O(n²) time and O(n²) memory
//!   (n(n-1)/2 `f64`, 130 MB for n = 5,695); refused above [`MAX_MATRIX_POINTS`] points.
//! - **single**: Prim's minimum spanning tree with distances computed on the fly, as scipy's
//!   `mst_single_linkage`: O(n²·d) time, O(n) memory.
//!
//! The merge order reproduces scipy's: the chain starts at the lowest active index, ties go
//! to the previous chain element and then to the lowest index, a merged cluster takes the
//! larger of the two indices, the merges are then sorted by height with a stable sort and
//! relabelled with a union-find (so equal heights keep their merge order).
//!
//! # Cutting
//! [`Dendrogram::cut`] follows scipy's `cluster_maxclust_monocrit`: the criterion of a node is
//! the largest height in its subtree; a binary search over the merges (in row order) finds
//! the lowest criterion value at which the cut leaves at most k clusters, and every maximal
//! subtree whose criterion is at most that value becomes one cluster. With exactly tied
//! heights this may give fewer than k clusters (scipy does the same). The labels are scipy's
//! cluster numbers minus one.
//!
//! Determinism: no randomness; the result does not depend on the seed or the thread count.

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::engine::check_k;
use insiders_core::{Caps, Diagnostics, Engine, Error, MatrixView, Partition, check_matrix};
use serde::{Deserialize, Serialize};

mod linkage;
#[cfg(test)]
mod tests;

use linkage::{matrix_nn_chain, mst_single, uf_find, ward_nn_chain};

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[
    EngineSpec {
        name: "ward",
        about: "agglomerative Ward clustering (NN-chain on centroids), one tree cut for every k as scipy fcluster maxclust",
        build: build_ward,
    },
    EngineSpec {
        name: "hierarchical",
        about: "agglomerative clustering with linkage ward | complete | average | single (scipy linkage + fcluster maxclust)",
        build: build_hierarchical,
    },
];

/// Largest input accepted by the linkages that keep the condensed distance matrix
/// (`complete`, `average`): 20,000 points need 1.6 GB.
pub const MAX_MATRIX_POINTS: usize = 20_000;

fn build_ward(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let _params: WardParams = from_table(table)?;
    Ok(Box::new(Hierarchical::new("ward", Linkage::Ward)))
}

fn build_hierarchical(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: HierarchicalParams = from_table(table)?;
    Ok(Box::new(Hierarchical::new("hierarchical", params.linkage)))
}

/// Parameters of the `ward` engine: none (any key is an error).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WardParams {}

/// Parameters of the `hierarchical` engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HierarchicalParams {
    /// `ward` (default), `complete`, `average` or `single`.
    pub linkage: Linkage,
}

impl Default for HierarchicalParams {
    fn default() -> Self {
        HierarchicalParams {
            linkage: Linkage::Ward,
        }
    }
}

/// How the distance between two clusters is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Linkage {
    /// Minimum increase of the within-cluster sum of squares (euclidean), reported as scipy does.
    Ward,
    /// Largest pairwise distance between the two clusters.
    Complete,
    /// Mean pairwise distance between the two clusters (UPGMA).
    Average,
    /// Smallest pairwise distance between the two clusters.
    Single,
}

impl Linkage {
    /// Every linkage, in documentation order.
    pub const ALL: [Linkage; 4] = [
        Linkage::Ward,
        Linkage::Complete,
        Linkage::Average,
        Linkage::Single,
    ];

    /// The name used in parameters (`ward`, `complete`, `average`, `single`).
    pub fn name(self) -> &'static str {
        match self {
            Linkage::Ward => "ward",
            Linkage::Complete => "complete",
            Linkage::Average => "average",
            Linkage::Single => "single",
        }
    }

    /// Parses a linkage name; an unknown name is [`Error::Param`] on key `linkage`.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Linkage::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| {
                Error::param(
                    "linkage",
                    format!("unknown linkage `{name}`; expected ward, complete, average or single"),
                )
            })
    }
}

/// One merge of the tree: a row of scipy's linkage matrix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    /// The smaller node id of the two merged clusters (ids `< n` are points; row `i` creates
    /// node `n + i`).
    pub a: usize,
    /// The larger node id of the two merged clusters.
    pub b: usize,
    /// The merge height (distance between the two clusters under the linkage).
    pub height: f64,
    /// Number of points in the merged cluster.
    pub size: usize,
}

/// A full agglomerative tree of `n` points, in scipy's linkage-matrix form.
///
/// Row `i` of [`Dendrogram::merges`] merges nodes `a` and `b` into node `n + i`; rows are
/// sorted by height (stable). Use it for plots ([`Dendrogram::to_rows`]) and for flat
/// clusterings ([`Dendrogram::cut`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Dendrogram {
    n: usize,
    linkage: Linkage,
    merges: Vec<Merge>,
    /// Monotone criterion of each merge: the largest height in its subtree.
    max_height: Vec<f64>,
    /// `max_height`, sorted ascending (to count the merges at or below a threshold).
    sorted_max_height: Vec<f64>,
}

/// A flat clustering cut from a [`Dendrogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cut {
    /// Cluster of each point, `0..n_clusters` (scipy's `fcluster` numbers minus one).
    pub labels: Vec<usize>,
    /// Number of clusters (at most the k asked for).
    pub n_clusters: usize,
    /// The threshold used: merges whose subtree height is at most this are applied
    /// (`-inf` when every point is its own cluster).
    pub height: f64,
    /// Sum over the applied merges of `height² / 2`: for Ward this is the within-cluster sum of
    /// squares of the cut (the k-means inertia of the partition).
    pub ward_inertia: f64,
}

impl Dendrogram {
    /// Builds the tree of the rows of `x` under `linkage` (euclidean distances).
    ///
    /// Errors: empty or non-finite input; for `complete` and `average`, more than
    /// [`MAX_MATRIX_POINTS`] points ([`Error::Unsupported`]).
    pub fn build(x: MatrixView<'_>, linkage: Linkage) -> Result<Self, Error> {
        check_matrix(x)?;
        let n = x.nrows();
        let d = x.ncols();
        let data: Vec<f64> = x.iter().copied().collect(); // row-major copy
        let raw = match linkage {
            // On a pool thread, so that the many small parallel scans of the chain are
            // fork-joins between workers rather than a hand-off from the caller's thread
            // (which costs a futex wake-up and a context switch per scan).
            Linkage::Ward => rayon::scope(|_| ward_nn_chain(&data, n, d)),
            Linkage::Complete | Linkage::Average => {
                if n > MAX_MATRIX_POINTS {
                    return Err(Error::Unsupported(format!(
                        "{} linkage keeps the n x n distance matrix; {n} points exceed the limit of {MAX_MATRIX_POINTS}",
                        linkage.name()
                    )));
                }
                matrix_nn_chain(&data, n, d, linkage)
            }
            Linkage::Single => mst_single(&data, n, d),
        };
        Ok(Self::from_raw_merges(n, linkage, raw))
    }

    /// Sorts raw merges (representative indices) by height, stably, and relabels them with a
    /// union-find into scipy's node ids.
    fn from_raw_merges(n: usize, linkage: Linkage, mut raw: Vec<(usize, usize, f64)>) -> Self {
        raw.sort_by(|p, q| p.2.total_cmp(&q.2)); // stable
        let mut parent: Vec<usize> = (0..2 * n - 1).collect();
        let mut size: Vec<usize> = vec![1; 2 * n - 1];
        let mut merges = Vec::with_capacity(n.saturating_sub(1));
        for (i, &(x, y, h)) in raw.iter().enumerate() {
            let rx = uf_find(&mut parent, x);
            let ry = uf_find(&mut parent, y);
            let (a, b) = if rx < ry { (rx, ry) } else { (ry, rx) };
            let node = n + i;
            parent[a] = node;
            parent[b] = node;
            size[node] = size[a] + size[b];
            merges.push(Merge {
                a,
                b,
                height: h,
                size: size[node],
            });
        }
        let mut max_height = Vec::with_capacity(merges.len());
        for m in &merges {
            let mut h = m.height;
            for c in [m.a, m.b] {
                if c >= n && max_height[c - n] > h {
                    h = max_height[c - n];
                }
            }
            max_height.push(h);
        }
        let mut sorted_max_height = max_height.clone();
        sorted_max_height.sort_by(f64::total_cmp);
        Dendrogram {
            n,
            linkage,
            merges,
            max_height,
            sorted_max_height,
        }
    }

    /// Number of points (leaves).
    pub fn n_points(&self) -> usize {
        self.n
    }

    /// The linkage the tree was built with.
    pub fn linkage(&self) -> Linkage {
        self.linkage
    }

    /// The `n - 1` merges, sorted by height; row `i` creates node `n + i`.
    pub fn merges(&self) -> &[Merge] {
        &self.merges
    }

    /// The tree as scipy's linkage matrix `Z`: rows `[a, b, height, size]`.
    pub fn to_rows(&self) -> Vec<[f64; 4]> {
        self.merges
            .iter()
            .map(|m| [m.a as f64, m.b as f64, m.height, m.size as f64])
            .collect()
    }

    /// Number of clusters left when every merge whose subtree height is `<= t` is applied.
    fn clusters_at(&self, t: f64) -> usize {
        self.n - self.sorted_max_height.partition_point(|&h| h <= t)
    }

    /// The flat clustering with at most `k` clusters, exactly as scipy's
    /// `fcluster(Z, k, criterion="maxclust")` (labels are scipy's numbers minus one).
    ///
    /// Errors: [`Error::InvalidK`] unless `1 <= k <= n`.
    pub fn cut(&self, k: usize) -> Result<Cut, Error> {
        let n = self.n;
        if k == 0 || k > n {
            return Err(Error::InvalidK { k, n });
        }
        if k >= n {
            return Ok(Cut {
                labels: (0..n).collect(),
                n_clusters: n,
                height: f64::NEG_INFINITY,
                ward_inertia: 0.0,
            });
        }
        // Binary search over the merge rows, as scipy: index -1 stands for -inf and is never
        // evaluated; index n - 1 is never evaluated either (row n - 2 is always legal).
        let (mut lower, mut upper): (isize, isize) = (-1, n as isize - 1);
        while upper - lower > 1 {
            let mid = (lower + upper) >> 1;
            let t = self.max_height[mid as usize];
            if self.clusters_at(t) > k {
                lower = mid;
            } else {
                upper = mid;
            }
        }
        let idx = (upper as usize).min(n - 2);
        let cutoff = self.max_height[idx];
        let labels = self.monocrit_labels(cutoff);
        let n_clusters = labels.iter().max().map_or(0, |&m| m + 1);
        let ward_inertia = self
            .merges
            .iter()
            .zip(&self.max_height)
            .filter(|(_, mc)| **mc <= cutoff)
            .map(|(m, _)| 0.5 * m.height * m.height)
            .sum();
        Ok(Cut {
            labels,
            n_clusters,
            height: cutoff,
            ward_inertia,
        })
    }

    /// Every maximal subtree whose criterion is `<= cutoff` is a cluster; clusters are
    /// numbered in the order of scipy's `cluster_monocrit` traversal (0-based).
    fn monocrit_labels(&self, cutoff: f64) -> Vec<usize> {
        let n = self.n;
        let mut labels = vec![0usize; n];
        if n == 1 {
            return labels;
        }
        let mut visited = vec![false; 2 * n - 1];
        let mut stack: Vec<usize> = Vec::with_capacity(n);
        stack.push(2 * n - 2);
        let mut n_cluster = 0usize;
        let mut leader: Option<usize> = None;
        while let Some(&node) = stack.last() {
            let row = node - n;
            let Merge { a, b, .. } = self.merges[row];
            if leader.is_none() && self.max_height[row] <= cutoff {
                leader = Some(row);
                n_cluster += 1;
            }
            if a >= n && !visited[a] {
                visited[a] = true;
                stack.push(a);
                continue;
            }
            if b >= n && !visited[b] {
                visited[b] = true;
                stack.push(b);
                continue;
            }
            for leaf in [a, b] {
                if leaf < n {
                    if leader.is_none() {
                        n_cluster += 1;
                    }
                    labels[leaf] = n_cluster - 1;
                }
            }
            if leader == Some(row) {
                leader = None;
            }
            stack.pop();
        }
        labels
    }
}

/// An agglomerative clustering engine (`ward` or `hierarchical`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchical {
    name: &'static str,
    linkage: Linkage,
}

impl Hierarchical {
    /// An engine registered as `name` that builds trees with `linkage`.
    pub fn new(name: &'static str, linkage: Linkage) -> Self {
        Hierarchical { name, linkage }
    }

    /// The linkage of this engine.
    pub fn linkage(&self) -> Linkage {
        self.linkage
    }

    /// Builds the tree of `x` (one per fit; [`Engine::fit_many`] cuts it for every k).
    pub fn tree(&self, x: MatrixView<'_>) -> Result<Dendrogram, Error> {
        Dendrogram::build(x, self.linkage)
    }

    fn partition(&self, tree: &Dendrogram, k: usize) -> Result<Partition, Error> {
        let cut = tree.cut(k)?;
        let mut diag = Diagnostics::default();
        if self.linkage == Linkage::Ward {
            diag.inertia = Some(cut.ward_inertia);
        }
        diag.extra.insert("cut_height".to_string(), cut.height);
        let raw: Vec<Option<usize>> = cut.labels.iter().map(|&l| Some(l)).collect();
        Ok(Partition::from_raw(&raw, diag))
    }
}

impl Engine for Hierarchical {
    fn name(&self) -> &str {
        self.name
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
        let k = check_k(self.name, k, x.nrows())?;
        let tree = self.tree(x)?;
        self.partition(&tree, k)
    }

    fn fit_many(
        &self,
        x: MatrixView<'_>,
        ks: &[usize],
        _seed: u64,
    ) -> Result<Vec<Partition>, Error> {
        check_matrix(x)?;
        for &k in ks {
            check_k(self.name, Some(k), x.nrows())?;
        }
        let tree = self.tree(x)?;
        ks.iter().map(|&k| self.partition(&tree, k)).collect()
    }
}
