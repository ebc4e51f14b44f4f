//! An approximate euclidean minimum spanning tree for large n: the minimum spanning forest of
//! the k-nearest-neighbour graph (our exact k-d tree); while that forest has several
//! components, the points outside the largest one look at twice as many neighbours, and the
//! shortest edges found between components join them (Kruskal again).
//!
//! Every edge of the exact tree that joins one endpoint to one of the other's `neighbours`
//! nearest points is found; the tree can differ from the exact one only where an exact edge
//! is longer than both endpoints' k-th neighbour distances (between well separated groups).
//! Time about O(n·k·log n) for the graph plus O(s·k'·log n) per widening round for the s
//! points outside the largest component; O(n·k) memory.
//!
//! Determinism: the neighbour lists are computed per point in parallel and collected in
//! index order; edges are sorted by (weight, a, b) before Kruskal, so the tree does not
//! depend on the thread count.

use super::mst::Edge;
use crate::kdtree::{KdTree, sq_dist};
use rayon::prelude::*;

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn by_weight(p: &Edge, q: &Edge) -> std::cmp::Ordering {
    p.weight
        .total_cmp(&q.weight)
        .then(p.a.cmp(&q.a))
        .then(p.b.cmp(&q.b))
}

fn edge(i: usize, j: usize, s2: f64) -> Edge {
    let w = s2.sqrt();
    Edge {
        a: i.min(j),
        b: i.max(j),
        weight: if w.is_nan() { f64::INFINITY } else { w },
    }
}

/// The approximate minimum spanning tree of the `n` rows of `data` (row-major, `d` columns)
/// from each point's `neighbours` nearest points; `n - 1` edges sorted by `(weight, a, b)`.
pub fn knn_mst(data: &[f64], n: usize, d: usize, neighbours: usize) -> Vec<Edge> {
    if n < 2 {
        return Vec::new();
    }
    let tree = KdTree::new(data, d);
    let row = |i: usize| &data[i * d..(i + 1) * d];
    // Each point's neighbours: every point within its (k + 1)-th smallest distance (itself
    // included), so ties at the radius are all kept.
    let neighbours_of = |points: &[usize], k: usize| -> Vec<Vec<usize>> {
        points
            .par_iter()
            .map(|&i| {
                let r2 = tree.kth_sq_dist(row(i), k + 1);
                let mut near = Vec::new();
                tree.within(row(i), r2, &mut near);
                near.retain(|&j| j != i);
                near
            })
            .collect()
    };
    let mut parent: Vec<usize> = (0..n).collect();
    let mut out = Vec::with_capacity(n - 1);
    let mut k = neighbours.clamp(1, n - 1);
    let mut points: Vec<usize> = (0..n).collect();
    loop {
        // Candidate edges from `points` to points of other components.
        let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
        let mut cands: Vec<Edge> = Vec::new();
        for (&i, near) in points.iter().zip(neighbours_of(&points, k)) {
            for j in near {
                if roots[i] != roots[j] {
                    cands.push(edge(i, j, sq_dist(row(i), row(j))));
                }
            }
        }
        cands.sort_by(by_weight);
        cands.dedup_by(|p, q| p.a == q.a && p.b == q.b);
        for e in cands {
            let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
                out.push(e);
            }
        }
        if out.len() >= n - 1 || k >= n - 1 {
            break;
        }
        // Not connected: the points outside the largest component look further (twice the
        // neighbours), until every component has found an edge to another (Borůvka-like).
        let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
        let mut size = vec![0usize; n];
        for &r in &roots {
            size[r] += 1;
        }
        let largest = (0..n)
            .max_by_key(|&r| (size[r], std::cmp::Reverse(r)))
            .unwrap_or(0);
        points = (0..n).filter(|&i| roots[i] != largest).collect();
        k = (2 * k).min(n - 1);
    }
    out.sort_by(by_weight);
    out
}
