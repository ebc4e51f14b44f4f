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
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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

fn uf_find(parent: &mut [usize], mut x: usize) -> usize {
    let mut root = x;
    while parent[root] != root {
        root = parent[root];
    }
    while parent[x] != root {
        let next = parent[x];
        parent[x] = root;
        x = next;
    }
    root
}

/// Squared euclidean distance, summed in column order.
#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        s += t * t;
    }
    s
}

/// Ward clusters in compact storage: position `p` holds cluster `rep[p]` with size `cnt[p]`
/// and centroid `(cols[0][p], .., cols[d-1][p])`. The centroids are stored by coordinate
/// (structure of arrays), so a scan computes the distances of a block of candidates one
/// coordinate at a time, in vector registers.
struct WardSet {
    rep: Vec<usize>,
    pos: Vec<usize>,
    cnt: Vec<f64>,
    cols: Vec<Vec<f64>>,
}

const GONE: usize = usize::MAX;

/// Ward scans over at least this many coordinates run in parallel.
const PAR_MIN_WORK: usize = 8192;
/// Positions per parallel chunk of a Ward scan (fixed, independent of the thread count).
const PAR_CHUNK: usize = 1024;
/// Candidates whose distances a scan computes together.
const SCAN_BLOCK: usize = 128;

/// The lexicographically smaller of two (cost, index) candidates.
fn closer(a: (f64, usize), b: (f64, usize)) -> (f64, usize) {
    if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) {
        b
    } else {
        a
    }
}

impl WardSet {
    /// Squared distance between the centroids at positions `p` and `q`, summed in
    /// coordinate order.
    fn sq_dist(&self, p: usize, q: usize) -> f64 {
        let mut s = 0.0;
        for col in &self.cols {
            let t = col[p] - col[q];
            s += t * t;
        }
        s
    }

    /// Ward criterion `|A||B|/(|A|+|B|) * ||cA - cB||²` between positions `p` and `q`
    /// (half the squared height). Symmetric bit for bit.
    fn cost(&self, p: usize, q: usize) -> f64 {
        let (np, nq) = (self.cnt[p], self.cnt[q]);
        (np * nq / (np + nq)) * self.sq_dist(p, q)
    }

    /// The nearest cluster to position `p`: smallest cost, ties to the smallest index.
    ///
    /// Large scans are split into fixed chunks run in parallel; the lexicographic minimum of
    /// (cost, index) does not depend on how the chunks are combined, so the result is the
    /// same for any thread count.
    fn nearest(&self, p: usize) -> (f64, usize) {
        let len = self.rep.len();
        if len * self.cols.len() >= PAR_MIN_WORK {
            (0..len.div_ceil(PAR_CHUNK))
                .into_par_iter()
                .map(|c| self.scan(p, c * PAR_CHUNK, ((c + 1) * PAR_CHUNK).min(len)))
                .reduce(|| (f64::INFINITY, GONE), closer)
        } else {
            self.scan(p, 0, len)
        }
    }

    /// Scans positions `lo..hi` for the nearest cluster to position `p`.
    ///
    /// The squared distances of a block of candidates are computed first, coordinate by
    /// coordinate (each candidate's sum in coordinate order, as [`WardSet::sq_dist`]).
    /// `|A||B|/(|A|+|B|) >= |A|/(|A|+1)` since `|B| >= 1`, so `s * |A|/(|A|+1)` is a lower
    /// bound of the cost (also after rounding, which is monotone); candidates whose bound
    /// exceeds the best cost so far skip the exact cost (and its division).
    fn scan(&self, p: usize, lo: usize, hi: usize) -> (f64, usize) {
        let np = self.cnt[p];
        let fmin = np / (np + 1.0);
        let mut best = (f64::INFINITY, GONE);
        let mut buf = [0.0f64; SCAN_BLOCK];
        let mut b0 = lo;
        while b0 < hi {
            let b1 = (b0 + SCAN_BLOCK).min(hi);
            let s = &mut buf[..b1 - b0];
            s.fill(0.0);
            for col in &self.cols {
                let c = col[p];
                for (sk, &q) in s.iter_mut().zip(&col[b0..b1]) {
                    let t = c - q;
                    *sk += t * t;
                }
            }
            for (k, &sk) in s.iter().enumerate() {
                if sk * fmin > best.0 {
                    continue;
                }
                let q = b0 + k;
                if q == p {
                    continue;
                }
                let nq = self.cnt[q];
                let w = (np * nq / (np + nq)) * sk;
                if w < best.0 || (w == best.0 && self.rep[q] < best.1) {
                    best = (w, self.rep[q]);
                }
            }
            b0 = b1;
        }
        best
    }

    /// Merges cluster `x` into cluster `y` (kept at `y`'s index); `x` disappears.
    fn merge_into(&mut self, x: usize, y: usize) {
        let (px, py) = (self.pos[x], self.pos[y]);
        let (nx, ny) = (self.cnt[px], self.cnt[py]);
        let nt = nx + ny;
        for col in &mut self.cols {
            col[py] = (nx * col[px] + ny * col[py]) / nt;
        }
        self.cnt[py] = nt;
        // swap-remove position px
        let last = self.rep.len() - 1;
        if px != last {
            self.pos[self.rep[last]] = px;
        }
        self.rep.swap_remove(px);
        self.cnt.swap_remove(px);
        for col in &mut self.cols {
            col.swap_remove(px);
        }
        self.pos[x] = GONE;
    }
}

/// Ward by nearest-neighbour chain on centroids. Returns raw merges `(x, y, height)` with
/// representative indices `x < y`, in merge order.
fn ward_nn_chain(data: &[f64], n: usize, d: usize) -> Vec<(usize, usize, f64)> {
    let mut set = WardSet {
        rep: (0..n).collect(),
        pos: (0..n).collect(),
        cnt: vec![1.0; n],
        cols: (0..d)
            .map(|j| (0..n).map(|i| data[i * d + j]).collect())
            .collect(),
    };
    let mut out = Vec::with_capacity(n.saturating_sub(1));
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut first = 0usize; // smallest active index (only ever increases)
    for _ in 1..n {
        if chain.is_empty() {
            while set.pos[first] == GONE {
                first += 1;
            }
            chain.push(first);
        }
        let (x, y, w) = loop {
            let x = chain[chain.len() - 1];
            let px = set.pos[x];
            let (best_w, best) = set.nearest(px);
            if chain.len() > 1 {
                let prev = chain[chain.len() - 2];
                let w_prev = set.cost(px, set.pos[prev]);
                if best_w >= w_prev {
                    break (x, prev, w_prev);
                }
            }
            chain.push(best);
        };
        chain.truncate(chain.len() - 2);
        let (a, b) = if x < y { (x, y) } else { (y, x) };
        out.push((a, b, (2.0 * w).sqrt()));
        set.merge_into(a, b);
    }
    out
}

#[inline]
fn condensed(n: usize, i: usize, j: usize) -> usize {
    let (i, j) = if i < j { (i, j) } else { (j, i) };
    n * i - i * (i + 1) / 2 + (j - i - 1)
}

/// Complete and average linkage: NN-chain with the Lance–Williams update on the condensed
/// distance matrix (scipy's `nn_chain`).
fn matrix_nn_chain(data: &[f64], n: usize, d: usize, linkage: Linkage) -> Vec<(usize, usize, f64)> {
    if n < 2 {
        return Vec::new();
    }
    let mut dist = vec![0.0f64; n * (n - 1) / 2];
    // Row i of the condensed matrix holds (i, j) for j > i; fill rows in parallel.
    let mut rows: Vec<(usize, &mut [f64])> = Vec::with_capacity(n - 1);
    let mut rest: &mut [f64] = &mut dist;
    for i in 0..n - 1 {
        let (row, tail) = rest.split_at_mut(n - 1 - i);
        rows.push((i, row));
        rest = tail;
    }
    rows.into_par_iter().for_each(|(i, row)| {
        let xi = &data[i * d..(i + 1) * d];
        for (k, v) in row.iter_mut().enumerate() {
            let j = i + 1 + k;
            *v = sq_dist(xi, &data[j * d..(j + 1) * d]).sqrt();
        }
    });
    let mut size = vec![1usize; n];
    let mut out = Vec::with_capacity(n - 1);
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    for _ in 1..n {
        if chain.is_empty() {
            let first = size.iter().position(|&s| s > 0).unwrap_or(0);
            chain.push(first);
        }
        let (x, y, h) = loop {
            let x = chain[chain.len() - 1];
            let (mut y, mut cur) = if chain.len() > 1 {
                let prev = chain[chain.len() - 2];
                (prev, dist[condensed(n, x, prev)])
            } else {
                (GONE, f64::INFINITY)
            };
            for (i, &s) in size.iter().enumerate() {
                if s == 0 || i == x {
                    continue;
                }
                let v = dist[condensed(n, x, i)];
                if v < cur {
                    cur = v;
                    y = i;
                }
            }
            if chain.len() > 1 && y == chain[chain.len() - 2] {
                break (x, y, cur);
            }
            chain.push(y);
        };
        chain.truncate(chain.len() - 2);
        let (x, y) = if x < y { (x, y) } else { (y, x) };
        let (nx, ny) = (size[x], size[y]);
        out.push((x, y, h));
        size[x] = 0;
        size[y] = nx + ny;
        for i in 0..n {
            if size[i] == 0 || i == y {
                continue;
            }
            let dxi = dist[condensed(n, i, x)];
            let dyi = dist[condensed(n, i, y)];
            dist[condensed(n, i, y)] = match linkage {
                Linkage::Complete => dxi.max(dyi),
                _ => (nx as f64 * dxi + ny as f64 * dyi) / (nx + ny) as f64,
            };
        }
    }
    out
}

/// Single linkage: Prim's minimum spanning tree with on-the-fly distances (scipy's
/// `mst_single_linkage`).
fn mst_single(data: &[f64], n: usize, d: usize) -> Vec<(usize, usize, f64)> {
    let mut merged = vec![false; n];
    let mut best = vec![f64::INFINITY; n];
    let mut out = Vec::with_capacity(n.saturating_sub(1));
    let mut x = 0usize;
    for _ in 1..n {
        merged[x] = true;
        let xr = &data[x * d..(x + 1) * d];
        let mut cur = f64::INFINITY;
        let mut y = GONE;
        for i in 0..n {
            if merged[i] {
                continue;
            }
            let v = sq_dist(xr, &data[i * d..(i + 1) * d]).sqrt();
            if best[i] > v {
                best[i] = v;
            }
            if best[i] < cur {
                cur = best[i];
                y = i;
            }
        }
        if y == GONE {
            // Only reachable with NaN distances, which check_matrix rules out; keep the tree
            // well-formed anyway by taking the lowest unmerged index.
            y = merged.iter().position(|m| !m).unwrap_or(x);
        }
        out.push((x, y, cur));
        x = y;
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn same_partition(a: &[usize], b: &[usize]) -> bool {
        let mut ab = std::collections::HashMap::new();
        let mut ba = std::collections::HashMap::new();
        a.iter()
            .zip(b)
            .all(|(x, y)| *ab.entry(*x).or_insert(*y) == *y && *ba.entry(*y).or_insert(*x) == *x)
    }

    #[test]
    fn ward_heights_match_hand_computation() {
        // 1-D points 0, 1, 5: merge {0,1} at 1; then Ward({0,1},{5}) =
        // sqrt(2*2*1/3) * |0.5 - 5| = sqrt(4/3) * 4.5.
        let x = array![[0.0], [1.0], [5.0]];
        let t = Dendrogram::build(x.view(), Linkage::Ward).unwrap();
        let z = t.to_rows();
        assert_eq!(z[0], [0.0, 1.0, 1.0, 2.0]);
        assert_eq!(z[1][0..2], [2.0, 3.0]);
        assert!((z[1][2] - (4.0f64 / 3.0).sqrt() * 4.5).abs() < 1e-12);
        assert_eq!(z[1][3], 3.0);
        let c = t.cut(2).unwrap();
        assert_eq!(c.labels, vec![0, 0, 1]);
        // inertia of {0,1},{5} = 0.5
        assert!((c.ward_inertia - 0.5).abs() < 1e-12);
    }

    #[test]
    fn ward_inertia_is_within_cluster_sum_of_squares() {
        let x = array![
            [0.0, 0.0],
            [1.0, 0.5],
            [4.0, 4.0],
            [5.0, 5.5],
            [9.0, 0.0],
            [10.0, 1.0]
        ];
        let t = Dendrogram::build(x.view(), Linkage::Ward).unwrap();
        for k in 1..=6 {
            let c = t.cut(k).unwrap();
            let mut wss = 0.0;
            for cl in 0..c.n_clusters {
                let members: Vec<usize> = (0..6).filter(|&i| c.labels[i] == cl).collect();
                for j in 0..2 {
                    let m = members.iter().map(|&i| x[[i, j]]).sum::<f64>() / members.len() as f64;
                    wss += members
                        .iter()
                        .map(|&i| (x[[i, j]] - m).powi(2))
                        .sum::<f64>();
                }
            }
            assert!(
                (c.ward_inertia - wss).abs() < 1e-9,
                "k={k}: {} vs {wss}",
                c.ward_inertia
            );
        }
    }

    #[test]
    fn single_complete_average_on_a_line() {
        // Points 0, 1, 3, 7 on a line.
        let x = array![[0.0], [1.0], [3.0], [7.0]];
        // single: {0,1}@1, {01,3}@2, {013,7}@4
        let s = Dendrogram::build(x.view(), Linkage::Single).unwrap();
        let h: Vec<f64> = s.merges().iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 2.0, 4.0]);
        assert_eq!(s.merges()[1].a, 2);
        assert_eq!(s.merges()[1].b, 4);
        // complete: {0,1}@1, {01,3}@3, {013,7}@7
        let c = Dendrogram::build(x.view(), Linkage::Complete).unwrap();
        let h: Vec<f64> = c.merges().iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 3.0, 7.0]);
        // average: {0,1}@1, {01,3}@(3+2)/2=2.5, {013,7}@(7+6+4)/3
        let a = Dendrogram::build(x.view(), Linkage::Average).unwrap();
        let h: Vec<f64> = a.merges().iter().map(|m| m.height).collect();
        assert_eq!(h[0], 1.0);
        assert_eq!(h[1], 2.5);
        assert!((h[2] - 17.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.merges()[2].size, 4);
    }

    #[test]
    fn complete_and_single_differ_where_they_should() {
        // A chain 0,1,2,3 (gaps 1) and a point at 4.5 (gap 1.5); single links the chain first
        // and then the far point; complete prefers {3, 4.5} over growing the chain.
        let x = array![[0.0], [1.0], [2.0], [3.0], [4.5]];
        let s = Dendrogram::build(x.view(), Linkage::Single).unwrap();
        assert!(same_partition(&s.cut(2).unwrap().labels, &[0, 0, 0, 0, 1]));
        let c = Dendrogram::build(x.view(), Linkage::Complete).unwrap();
        // complete: {0,1}@1, {2,3}@1, {3..}: d({2,3},4.5)=2.5, d({0,1},{2,3})=3 -> {2,3,4.5}@2.5
        let h: Vec<f64> = c.merges().iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 1.0, 2.5, 4.5]);
        assert!(same_partition(&c.cut(2).unwrap().labels, &[0, 0, 1, 1, 1]));
    }

    #[test]
    fn ties_follow_scipy_maxclust() {
        // Four corners of a unit square: the first merges are tied at 1, so maxclust 3 gives
        // 2 clusters in scipy (the lowest threshold giving <= 3 clusters is 1, where pairs of
        // corners merge). Single linkage: all three merges at 1, so k = 2 and 3 give 1 cluster.
        let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let s = Dendrogram::build(x.view(), Linkage::Single).unwrap();
        assert_eq!(s.cut(3).unwrap().n_clusters, 1);
        assert_eq!(s.cut(4).unwrap().n_clusters, 4);
        let w = Dendrogram::build(x.view(), Linkage::Ward).unwrap();
        assert_eq!(w.cut(3).unwrap().n_clusters, 2);
        assert_eq!(w.cut(2).unwrap().n_clusters, 2);
        assert_eq!(w.cut(1).unwrap().n_clusters, 1);
    }

    #[test]
    fn duplicates_stay_together_and_k_is_capped_by_distinct_points() {
        let x = array![[0.0], [0.0], [3.0], [3.0], [3.0], [10.0]];
        for l in Linkage::ALL {
            let t = Dendrogram::build(x.view(), l).unwrap();
            let c = t.cut(3).unwrap();
            assert!(same_partition(&c.labels, &[0, 0, 1, 1, 1, 2]), "{l:?}");
            // k = 5 > 3 distinct points: the lowest threshold with <= 5 clusters is 0.
            assert_eq!(t.cut(5).unwrap().n_clusters, 3, "{l:?}");
            assert_eq!(t.cut(6).unwrap().n_clusters, 6, "{l:?}");
        }
    }

    #[test]
    fn engine_validates_and_fit_many_matches_fit() {
        let e = Hierarchical::new("ward", Linkage::Ward);
        let x = array![[0.0, 1.0], [0.2, 0.9], [5.0, 5.0], [5.1, 4.7], [9.0, 0.0]];
        assert!(matches!(
            e.fit(x.view(), None, 0),
            Err(Error::MissingK { .. })
        ));
        assert!(matches!(
            e.fit(x.view(), Some(0), 0),
            Err(Error::InvalidK { .. })
        ));
        assert!(matches!(
            e.fit(x.view(), Some(6), 0),
            Err(Error::InvalidK { .. })
        ));
        let bad = array![[0.0, f64::NAN]];
        assert!(matches!(
            e.fit(bad.view(), Some(1), 0),
            Err(Error::NonFinite { .. })
        ));
        let many = e.fit_many(x.view(), &[1, 2, 3, 4, 5], 7).unwrap();
        for (i, k) in (1..=5).enumerate() {
            assert_eq!(many[i], e.fit(x.view(), Some(k), 1).unwrap());
            assert_eq!(many[i].n_clusters(), k);
        }
        let one = array![[1.0, 2.0]];
        assert_eq!(e.fit(one.view(), Some(1), 0).unwrap().labels, vec![Some(0)]);
    }

    #[test]
    fn params_are_checked() {
        let t = insiders_core::params::parse_pairs(&["linkage=complete"]).unwrap();
        let e = build_hierarchical(&t).unwrap();
        assert_eq!(e.name(), "hierarchical");
        let t = insiders_core::params::parse_pairs(&["linkage=centroid"]).unwrap();
        assert!(
            matches!(build_hierarchical(&t), Err(Error::Param { key, .. }) if key == "linkage")
        );
        let t = insiders_core::params::parse_pairs(&["k=3"]).unwrap();
        assert!(matches!(build_ward(&t), Err(Error::Param { .. })));
        assert!(build_ward(&toml::Table::new()).is_ok());
    }

    #[test]
    fn unknown_linkage_is_rejected_naming_the_key_and_the_choices() {
        crate::params::assert_rejects_unknown_choice(
            build_hierarchical,
            "linkage",
            &["ward", "complete", "average", "single"],
        );
    }
}
