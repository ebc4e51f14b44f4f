//! The exact euclidean minimum spanning tree by Prim's algorithm on the complete graph,
//! distances computed on the fly: O(n²·d) time, O(n·d) memory, no distance matrix.
//!
//! The points not yet in the tree are kept compactly (their index, their best squared
//! distance to the tree and the tree point that gave it); each step updates them against
//! the point that just joined and picks the smallest `(squared distance, index)`. Large
//! updates run in parallel over fixed chunks; the minimum of a total order does not depend
//! on how the chunks combine, so the tree is the same for any thread count.

use rayon::prelude::*;

/// Points per parallel chunk of an update (fixed, independent of the thread count).
const CHUNK: usize = 2048;
/// Updates over fewer remaining points run on the calling thread.
const PAR_MIN: usize = 4 * CHUNK;

/// One edge of the spanning tree: its two points (`a < b`) and its euclidean length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// The lower point index.
    pub a: usize,
    /// The higher point index.
    pub b: usize,
    /// The euclidean distance between the two points.
    pub weight: f64,
}

#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        s += t * t;
    }
    s
}

/// The smaller of two candidates `(key, point index, position)`, by key then point index.
#[inline]
fn smaller(p: Cand, q: Cand) -> Cand {
    if q.0 < p.0 || (q.0 == p.0 && q.1 < p.1) {
        q
    } else {
        p
    }
}

/// A candidate next point: its squared distance to the tree, its index, its position in the
/// compact arrays.
type Cand = (f64, usize, usize);

const NONE: Cand = (f64::INFINITY, usize::MAX, 0);

/// Updates a run of remaining points (starting at position `offset`) against the point `x`
/// (row `xr`) and returns the run's smallest candidate.
#[allow(clippy::too_many_arguments)]
fn update(
    data: &[f64],
    d: usize,
    x: usize,
    xr: &[f64],
    offset: usize,
    idx: &[usize],
    key: &mut [f64],
    from: &mut [usize],
) -> Cand {
    let mut best = NONE;
    for (p, ((&i, k), f)) in idx
        .iter()
        .zip(key.iter_mut())
        .zip(from.iter_mut())
        .enumerate()
    {
        let v = sq_dist(xr, &data[i * d..(i + 1) * d]);
        if v < *k {
            *k = v;
            *f = x;
        }
        best = smaller(best, (*k, i, offset + p));
    }
    best
}

/// The minimum spanning tree of the `n` rows of `data` (row-major, `d` columns), its `n - 1`
/// edges sorted by `(weight, a, b)`.
///
/// Ties: the tree grows from point 0; the next point is the one with the smallest squared
/// distance to the tree, then the lowest index; its edge goes to the tree point that first
/// gave that distance (keys are lowered only by strict improvements). Non-finite squared
/// distances (coordinates near `f64::MAX`) are `inf` and still give a spanning tree.
pub fn prim(data: &[f64], n: usize, d: usize) -> Vec<Edge> {
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    if n < 2 {
        return edges;
    }
    let mut idx: Vec<usize> = (1..n).collect();
    let mut key = vec![f64::INFINITY; n - 1];
    let mut from = vec![0usize; n - 1];
    let mut x = 0usize;
    while !idx.is_empty() {
        let xr = &data[x * d..(x + 1) * d];
        let best = if idx.len() >= PAR_MIN {
            idx.par_chunks(CHUNK)
                .zip(key.par_chunks_mut(CHUNK))
                .zip(from.par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(c, ((i, k), f))| update(data, d, x, xr, c * CHUNK, i, k, f))
                .collect::<Vec<_>>()
                .into_iter()
                .fold(NONE, smaller)
        } else {
            update(data, d, x, xr, 0, &idx, &mut key, &mut from)
        };
        // No candidate only with NaN keys, which check_matrix rules out: take position 0.
        let pos = if best.1 == usize::MAX { 0 } else { best.2 };
        let y = idx[pos];
        let w = key[pos].sqrt();
        let parent = from[pos];
        edges.push(Edge {
            a: parent.min(y),
            b: parent.max(y),
            weight: if w.is_nan() { f64::INFINITY } else { w },
        });
        // Order of the remaining points does not matter (the minimum is by index), so a
        // swap removal keeps the arrays compact in O(1).
        idx.swap_remove(pos);
        key.swap_remove(pos);
        from.swap_remove(pos);
        x = y;
    }
    edges.sort_by(|p, q| {
        p.weight
            .total_cmp(&q.weight)
            .then(p.a.cmp(&q.a))
            .then(p.b.cmp(&q.b))
    });
    edges
}
