//! The Genie merge sequence over a sorted minimum spanning tree (Gagolewski, Bartoszuk &
//! Cena, Information Sciences 363, 2016).
//!
//! Every point starts as its own cluster; each step merges the two clusters joined by one
//! unused spanning-tree edge (a spanning tree has no cycle, so every unused edge joins two
//! different clusters). While the Gini index of the cluster sizes exceeds the threshold, the
//! step takes the shortest unused edge that touches a cluster of the smallest size;
//! otherwise the shortest unused edge. With threshold 1 this is single linkage.
//!
//! The Gini index of sizes `c_1..c_k` (summing to n) is `Σ_{i<j} |c_i − c_j| / ((k − 1) n)`
//! (0 for k = 1). The numerator is kept exactly, in integers, and updated per merge over the
//! distinct sizes present (at most about √(2n) of them), so no rounding can flip a decision.

use super::mst::Edge;
use std::collections::BTreeMap;

/// One step of the merge sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The spanning-tree edge used (its position in the sorted edge list).
    pub edge: usize,
    /// The Gini index of the cluster sizes before the step.
    pub gini_before: f64,
    /// Whether the step was forced by the Gini rule (a smallest cluster had to merge).
    pub forced: bool,
}

/// Cluster sizes as a multiset, with the exact numerator of their Gini index.
struct Sizes {
    /// size -> number of clusters of that size.
    count: BTreeMap<u64, u64>,
    /// `Σ_{i<j} |c_i − c_j|`.
    sum_abs: u128,
    /// Number of clusters.
    k: u64,
    n: u64,
}

impl Sizes {
    fn singletons(n: usize) -> Self {
        let mut count = BTreeMap::new();
        if n > 0 {
            count.insert(1, n as u64);
        }
        Sizes {
            count,
            sum_abs: 0,
            k: n as u64,
            n: n as u64,
        }
    }

    /// `Σ_j |s − c_j|` over the clusters present.
    fn dist_to_all(&self, s: u64) -> u128 {
        self.count
            .iter()
            .map(|(&c, &m)| u128::from(m) * u128::from(s.abs_diff(c)))
            .sum()
    }

    fn remove(&mut self, s: u64) {
        if let Some(m) = self.count.get_mut(&s) {
            *m -= 1;
            if *m == 0 {
                self.count.remove(&s);
            }
        }
        self.k -= 1;
        self.sum_abs -= self.dist_to_all(s);
    }

    fn insert(&mut self, s: u64) {
        self.sum_abs += self.dist_to_all(s);
        *self.count.entry(s).or_insert(0) += 1;
        self.k += 1;
    }

    fn smallest(&self) -> u64 {
        self.count.keys().next().copied().unwrap_or(0)
    }

    fn gini(&self) -> f64 {
        if self.k <= 1 {
            0.0
        } else {
            self.sum_abs as f64 / ((self.k - 1) as f64 * self.n as f64)
        }
    }
}

/// Union-find over the points with cluster sizes.
#[derive(Debug)]
pub struct Forest {
    parent: Vec<usize>,
    size: Vec<u64>,
}

impl Forest {
    fn new(n: usize) -> Self {
        Forest {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    /// The root of `x`'s cluster (path halving).
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Merges the clusters rooted at `ra` and `rb`; the lower root stays the root.
    fn union_roots(&mut self, ra: usize, rb: usize) -> u64 {
        let (lo, hi) = (ra.min(rb), ra.max(rb));
        self.parent[hi] = lo;
        self.size[lo] += self.size[hi];
        self.size[lo]
    }

    /// Each point's cluster root.
    pub fn roots(&mut self) -> Vec<usize> {
        (0..self.parent.len()).map(|i| self.find(i)).collect()
    }
}

/// "The first unused edge at or after position i": a union-find over positions whose root
/// is the next unused one (position `len` stands for "none").
struct Unused {
    next: Vec<usize>,
}

impl Unused {
    fn new(len: usize) -> Self {
        Unused {
            next: (0..=len).collect(),
        }
    }

    fn first_from(&mut self, mut i: usize) -> usize {
        while self.next[i] != i {
            self.next[i] = self.next[self.next[i]];
            i = self.next[i];
        }
        i
    }

    fn take(&mut self, i: usize) {
        self.next[i] = i + 1;
    }
}

/// Runs the Genie merges over `edges` (sorted by weight) for `n` points, calling
/// `visit(clusters_left, &mut forest, step)` after every step, until `stop_at` clusters are
/// left (at least 1).
pub fn run(
    n: usize,
    edges: &[Edge],
    gini_threshold: f64,
    stop_at: usize,
    mut visit: impl FnMut(usize, &mut Forest, &Step),
) {
    let mut forest = Forest::new(n);
    let mut sizes = Sizes::singletons(n);
    let mut unused = Unused::new(edges.len());
    // The forced search resumes where it stopped while the smallest size is unchanged: sizes
    // only grow, so an edge skipped for touching no cluster of the smallest size m touches
    // none later while m stays the smallest.
    let mut resume: Option<(u64, usize)> = None;
    let mut left = n;
    while left > stop_at.max(1) {
        let gini = sizes.gini();
        let forced = gini > gini_threshold;
        let pos = if forced {
            let m = sizes.smallest();
            let start = match resume {
                Some((rm, p)) if rm == m => p,
                _ => 0,
            };
            let mut p = unused.first_from(start);
            while p < edges.len() {
                let e = edges[p];
                let (ra, rb) = (forest.find(e.a), forest.find(e.b));
                if forest.size[ra] == m || forest.size[rb] == m {
                    break;
                }
                p = unused.first_from(p + 1);
            }
            resume = Some((m, p));
            p
        } else {
            unused.first_from(0)
        };
        if pos >= edges.len() {
            break; // unreachable for a spanning tree: a smallest cluster always has an edge
        }
        unused.take(pos);
        let e = edges[pos];
        let (ra, rb) = (forest.find(e.a), forest.find(e.b));
        let (sa, sb) = (forest.size[ra], forest.size[rb]);
        sizes.remove(sa);
        sizes.remove(sb);
        let s = forest.union_roots(ra, rb);
        sizes.insert(s);
        left -= 1;
        let step = Step {
            edge: pos,
            gini_before: gini,
            forced,
        };
        visit(left, &mut forest, &step);
    }
}

/// The Gini index of a list of cluster sizes (for tests and diagnostics).
pub fn gini_of(sizes: &[usize]) -> f64 {
    let k = sizes.len();
    let n: usize = sizes.iter().sum();
    if k <= 1 || n == 0 {
        return 0.0;
    }
    let mut s = 0u128;
    for i in 0..k {
        for j in i + 1..k {
            s += sizes[i].abs_diff(sizes[j]) as u128;
        }
    }
    s as f64 / ((k - 1) as f64 * n as f64)
}
