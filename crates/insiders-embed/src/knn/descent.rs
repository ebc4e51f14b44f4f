//! NN-descent (Dong, Moses & Li 2011): approximate k nearest neighbours for large inputs,
//! started from the leaves of seeded random-projection trees (as pynndescent does), seeded
//! and bit-identical whatever the thread count: every round computes its candidate updates
//! in parallel per point from a snapshot of the graph and applies them in point order.

use super::{Knn, Metric, exact, flat_rows, pair_cmp};
use insiders_core::{Error, MatrixView, Rng, derive_seed};
use rayon::prelude::*;

/// Settings of [`nn_descent`]; zero means "choose from n and k" where said.
#[derive(Debug, Clone, PartialEq)]
pub struct NnDescentParams {
    /// Random-projection trees whose leaves seed the graph (0: a random start only).
    pub n_trees: usize,
    /// Largest leaf of those trees (0: `max(2k, 32)`).
    pub leaf_size: usize,
    /// New and old candidates per point and round (0: `k` clamped to `10..=60`).
    pub max_candidates: usize,
    /// Most rounds (0: `max(5, round(log2 n))`, doubled — rounds stop early anyway).
    pub max_rounds: usize,
    /// Stop when a round changes at most `delta * n * k` graph entries.
    pub delta: f64,
}

impl Default for NnDescentParams {
    fn default() -> Self {
        NnDescentParams {
            n_trees: 8,
            leaf_size: 0,
            max_candidates: 0,
            max_rounds: 0,
            delta: 0.001,
        }
    }
}

/// Rows of k neighbours kept sorted by `(distance, index)`, with a "new" flag per entry.
struct NeighbourGraph {
    k: usize,
    idx: Vec<usize>,
    dist: Vec<f64>,
    new: Vec<bool>,
}

impl NeighbourGraph {
    fn new(n: usize, k: usize) -> Self {
        NeighbourGraph {
            k,
            idx: vec![usize::MAX; n * k],
            dist: vec![f64::INFINITY; n * k],
            new: vec![true; n * k],
        }
    }

    /// The current worst distance of row `i`.
    #[inline]
    fn worst(&self, i: usize) -> f64 {
        self.dist[i * self.k + self.k - 1]
    }

    /// Inserts `j` at distance `d` into row `i` when it is better than the worst and not yet
    /// there; returns whether the row changed.
    fn push(&mut self, i: usize, j: usize, d: f64) -> bool {
        let k = self.k;
        let row = i * k..(i + 1) * k;
        push_sorted(
            &mut self.idx[row.clone()],
            &mut self.dist[row.clone()],
            &mut self.new[row],
            j,
            d,
        )
    }
}

/// Inserts `(d, j)` into the sorted row (idx, dist, new) if it beats the last entry and `j`
/// is absent; returns whether it did.
fn push_sorted(idx: &mut [usize], dist: &mut [f64], new: &mut [bool], j: usize, d: f64) -> bool {
    let k = idx.len();
    if pair_cmp(&(d, j), &(dist[k - 1], idx[k - 1])) != std::cmp::Ordering::Less {
        return false;
    }
    if idx.contains(&j) {
        return false;
    }
    let mut pos = k - 1;
    while pos > 0 && pair_cmp(&(d, j), &(dist[pos - 1], idx[pos - 1])) == std::cmp::Ordering::Less {
        idx[pos] = idx[pos - 1];
        dist[pos] = dist[pos - 1];
        new[pos] = new[pos - 1];
        pos -= 1;
    }
    idx[pos] = j;
    dist[pos] = d;
    new[pos] = true;
    true
}

/// The leaves of one random-projection tree over all `n` rows: each node splits its rows by
/// the hyperplane halfway between two of them drawn at random (Euclidean geometry whatever
/// the metric; an even random split when that hyperplane does not separate).
fn rp_tree_leaves(
    data: &[f64],
    n: usize,
    d: usize,
    leaf_size: usize,
    rng: &mut Rng,
) -> Vec<Vec<usize>> {
    let mut leaves = Vec::new();
    let mut stack: Vec<Vec<usize>> = vec![(0..n).collect()];
    let mut normal = vec![0.0; d];
    while let Some(mut ids) = stack.pop() {
        if ids.len() <= leaf_size {
            leaves.push(ids);
            continue;
        }
        let len = ids.len();
        let ia = rng.below(len);
        let mut ib = rng.below(len - 1);
        if ib >= ia {
            ib += 1;
        }
        let (a, b) = (
            &data[ids[ia] * d..(ids[ia] + 1) * d],
            &data[ids[ib] * d..(ids[ib] + 1) * d],
        );
        let mut offset = 0.0;
        for t in 0..d {
            normal[t] = a[t] - b[t];
            offset += normal[t] * (a[t] + b[t]) * 0.5;
        }
        let mut left = Vec::with_capacity(len / 2 + 1);
        let mut right = Vec::with_capacity(len / 2 + 1);
        for &id in &ids {
            let r = &data[id * d..(id + 1) * d];
            let side: f64 = r.iter().zip(&normal).map(|(x, w)| x * w).sum::<f64>() - offset;
            let go_left = if side > 0.0 {
                true
            } else if side < 0.0 {
                false
            } else {
                rng.below(2) == 0
            };
            if go_left {
                left.push(id);
            } else {
                right.push(id);
            }
        }
        if left.is_empty() || right.is_empty() {
            rng.shuffle(&mut ids);
            right = ids.split_off(len / 2);
            left = ids;
        }
        stack.push(right);
        stack.push(left);
    }
    leaves
}

/// A bounded candidate list keeping the `cap` entries of smallest priority.
fn push_candidate(list: &mut Vec<(u64, usize)>, cap: usize, prio: u64, j: usize) {
    if list.iter().any(|&(_, x)| x == j) {
        return;
    }
    if list.len() < cap {
        list.push((prio, j));
        return;
    }
    let (worst_pos, worst) = list
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1))
        .map(|(p, &e)| (p, e))
        .unwrap_or((0, (0, 0)));
    if (prio, j) < worst {
        list[worst_pos] = (prio, j);
    }
}

/// Approximate k nearest neighbours of every row (self excluded) by NN-descent.
///
/// Start: the leaves of `n_trees` seeded random-projection trees (every point meets its
/// leaf-mates), topped up with seeded random points. Rounds: every point's new and old
/// neighbours, forward and reverse, sampled to `max_candidates` by a seeded hash priority,
/// are joined pairwise; candidate updates are computed in parallel per point against a
/// snapshot of the graph (in fixed blocks of points) and applied in point order, so the
/// result is bit-identical for a seed whatever the thread count. Stops when a round
/// changes at most `delta * n * k` entries. Falls back to [`exact`] when `4 (k + 1) > n`.
pub fn nn_descent(
    x: MatrixView<'_>,
    k: usize,
    metric: Metric,
    seed: u64,
    params: &NnDescentParams,
) -> Result<Knn, Error> {
    let n = x.nrows();
    if k == 0 || k >= n {
        return Err(Error::param(
            "n_neighbors",
            format!("need 1 <= k < n, got k = {k}, n = {n}"),
        ));
    }
    if !(params.delta >= 0.0 && params.delta.is_finite()) {
        return Err(Error::param("delta", "must be finite and >= 0"));
    }
    if 4 * (k + 1) > n {
        return exact(x, k, metric);
    }
    let d = x.ncols();
    let data = flat_rows(x);
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let leaf_size = if params.leaf_size == 0 {
        (2 * k).max(32)
    } else {
        params.leaf_size.max(2)
    };
    let max_cand = if params.max_candidates == 0 {
        k.clamp(10, 60)
    } else {
        params.max_candidates
    };
    let max_rounds = if params.max_rounds == 0 {
        2 * 5usize.max((n as f64).log2().round() as usize)
    } else {
        params.max_rounds
    };

    // Start: leaf-mates in the random-projection trees, then random points.
    let tree_seed = derive_seed(seed, 1);
    let forests: Vec<Vec<Vec<usize>>> = (0..params.n_trees)
        .into_par_iter()
        .map(|t| {
            let mut rng = Rng::for_task(tree_seed, t as u64);
            rp_tree_leaves(&data, n, d, leaf_size, &mut rng)
        })
        .collect();
    let mut leaf_of = vec![0usize; params.n_trees * n];
    for (t, leaves) in forests.iter().enumerate() {
        for (l, leaf) in leaves.iter().enumerate() {
            for &i in leaf {
                leaf_of[t * n + i] = l;
            }
        }
    }
    let fill_seed = derive_seed(seed, 2);
    let rows: Vec<(Vec<usize>, Vec<f64>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut idx = vec![usize::MAX; k];
            let mut dist = vec![f64::INFINITY; k];
            let mut new = vec![true; k];
            for (t, leaves) in forests.iter().enumerate() {
                for &j in &leaves[leaf_of[t * n + i]] {
                    if j != i {
                        let dj = metric.distance(row(i), row(j));
                        push_sorted(&mut idx, &mut dist, &mut new, j, dj);
                    }
                }
            }
            let mut rng = Rng::for_task(fill_seed, i as u64);
            while idx[k - 1] == usize::MAX {
                let j = rng.below(n);
                if j != i {
                    let dj = metric.distance(row(i), row(j));
                    push_sorted(&mut idx, &mut dist, &mut new, j, dj);
                }
            }
            (idx, dist)
        })
        .collect();
    drop(forests);
    let mut graph = NeighbourGraph::new(n, k);
    for (i, (idx, dist)) in rows.into_iter().enumerate() {
        graph.idx[i * k..(i + 1) * k].copy_from_slice(&idx);
        graph.dist[i * k..(i + 1) * k].copy_from_slice(&dist);
    }

    const BLOCK: usize = 2048;
    let threshold = params.delta * (n * k) as f64;
    for round in 0..max_rounds {
        let round_seed = derive_seed(derive_seed(seed, 3), round as u64);
        let prio = |a: usize, b: usize| {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            derive_seed(round_seed, ((lo as u64) << 32) ^ hi as u64)
        };
        // Candidates, forward and reverse, sampled by priority (order-independent).
        let mut new_c: Vec<Vec<(u64, usize)>> = vec![Vec::new(); n];
        let mut old_c: Vec<Vec<(u64, usize)>> = vec![Vec::new(); n];
        for i in 0..n {
            for s in i * k..(i + 1) * k {
                let j = graph.idx[s];
                let p = prio(i, j);
                if graph.new[s] {
                    push_candidate(&mut new_c[i], max_cand, p, j);
                    push_candidate(&mut new_c[j], max_cand, p, i);
                } else {
                    push_candidate(&mut old_c[i], max_cand, p, j);
                    push_candidate(&mut old_c[j], max_cand, p, i);
                }
            }
        }
        for (i, cands) in new_c.iter().enumerate() {
            for s in i * k..(i + 1) * k {
                if graph.new[s] && cands.iter().any(|&(_, x)| x == graph.idx[s]) {
                    graph.new[s] = false;
                }
            }
        }
        let mut changes = 0usize;
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let snapshot = &graph;
            let updates: Vec<Vec<(usize, usize, f64)>> = (start..end)
                .into_par_iter()
                .map(|i| {
                    let mut out = Vec::new();
                    let nc = &new_c[i];
                    let oc = &old_c[i];
                    for (a, &(_, p)) in nc.iter().enumerate() {
                        for &(_, q) in nc[a + 1..].iter().chain(oc.iter()) {
                            if p == q {
                                continue;
                            }
                            let dpq = metric.distance(row(p), row(q));
                            if dpq < snapshot.worst(p) || dpq < snapshot.worst(q) {
                                out.push((p, q, dpq));
                            }
                        }
                    }
                    out
                })
                .collect();
            for list in updates {
                for (p, q, dpq) in list {
                    changes += usize::from(graph.push(p, q, dpq));
                    changes += usize::from(graph.push(q, p, dpq));
                }
            }
        }
        if changes as f64 <= threshold {
            break;
        }
    }
    Ok(Knn {
        k,
        indices: graph.idx,
        distances: graph.dist,
    })
}
