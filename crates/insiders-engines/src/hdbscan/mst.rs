//! Core distances (k-d tree, in parallel) and the exact minimum spanning tree of the
//! mutual-reachability graph by a dense, vectorised Prim.

use crate::kdtree::{KdTree, sq_dist};
use rayon::prelude::*;

/// Squared core distances: the squared distance to the `k`-th nearest point (itself included).
pub(super) fn core_sq_distances(data: &[f64], d: usize, k: usize) -> Vec<f64> {
    let tree = KdTree::new(data, d);
    data.par_chunks(d)
        .with_min_len(64)
        .map(|q| tree.kth_sq_dist(q, k))
        .collect()
}

/// One spanning-tree edge: squared mutual-reachability weight and its two end points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Edge {
    pub(super) w2: f64,
    pub(super) a: u32,
    pub(super) b: u32,
}

/// Exact minimum spanning tree of the mutual-reachability graph by dense Prim (see the module
/// docs for the tie-breaking). `inv_alpha2 = 1 / alpha²` scales the squared distances.
pub(super) fn prim_mst(data: &[f64], d: usize, core2: &[f64], inv_alpha2: f64) -> Vec<Edge> {
    match d {
        1 => prim_fixed::<1>(data, core2, inv_alpha2),
        2 => prim_fixed::<2>(data, core2, inv_alpha2),
        3 => prim_fixed::<3>(data, core2, inv_alpha2),
        4 => prim_fixed::<4>(data, core2, inv_alpha2),
        5 => prim_fixed::<5>(data, core2, inv_alpha2),
        6 => prim_fixed::<6>(data, core2, inv_alpha2),
        7 => prim_fixed::<7>(data, core2, inv_alpha2),
        8 => prim_fixed::<8>(data, core2, inv_alpha2),
        _ => prim_any(data, d, core2, inv_alpha2),
    }
}

/// The points not yet in the tree, compacted (swap-remove): original index, squared core
/// distance, best squared weight to the tree so far and the tree point giving it.
struct Remaining {
    idx: Vec<u32>,
    pub(super) core2: Vec<f64>,
    pub(super) key: Vec<f64>,
    src: Vec<u64>,
}

impl Remaining {
    pub(super) fn new(n: usize, core2: &[f64]) -> Self {
        // point 0 starts the tree: the rest remain
        Remaining {
            idx: (1..n as u32).collect(),
            core2: core2[1..].to_vec(),
            key: vec![f64::INFINITY; n - 1],
            src: vec![0; n - 1],
        }
    }

    fn swap_remove(&mut self, t: usize) {
        self.idx.swap_remove(t);
        self.core2.swap_remove(t);
        self.key.swap_remove(t);
        self.src.swap_remove(t);
    }
}

/// Lanes of the blocked layout of [`prim_fixed`].
const L: usize = 4;

/// [`prim_mst`] for `D` columns. The points not yet in the tree are kept in blocks of [`L`]
/// points in increasing index order, each block holding its points' coordinates column by
/// column (`coords[b][j][l]`). A point that joins the tree becomes a dummy (its
/// squared core distance and key are set to infinity: never improved, never chosen), and the
/// blocks are compacted (order kept) once a quarter of the slots are dummies (marked by
/// index `u32::MAX`). The update
/// loop is branch-free over whole blocks (it vectorises) and tracks, per lane, the smallest
/// key and its first block, so the next point (smallest key, then lowest position = lowest
/// index) needs no second pass.
fn prim_fixed<const D: usize>(data: &[f64], core2: &[f64], inv_alpha2: f64) -> Vec<Edge> {
    let n = data.len() / D;
    // live points in the blocks, their capacity (positions 0..cap are in use)
    let mut m = n - 1;
    let mut cap = m;
    let nb = cap.div_ceil(L);
    let mut coords = vec![[[0.0f64; L]; D]; nb];
    let mut c2 = vec![[f64::INFINITY; L]; nb];
    let mut key = vec![[f64::INFINITY; L]; nb];
    let mut src = vec![[0u64; L]; nb];
    let mut idx = vec![[u32::MAX; L]; nb];
    // point 0 starts the tree: points 1..n remain, at positions 0..n-1
    for p in 0..m {
        let i = p + 1;
        let (b, l) = (p / L, p % L);
        for j in 0..D {
            coords[b][j][l] = data[i * D + j];
        }
        c2[b][l] = core2[i];
        idx[b][l] = i as u32;
    }
    let mut out = Vec::with_capacity(n - 1);
    let mut cur = 0usize;
    let mut q = [0.0; D];
    while m > 0 {
        q.copy_from_slice(&data[cur * D..(cur + 1) * D]);
        let cc = core2[cur];
        let curv = cur as u64;
        let nb = cap.div_ceil(L);
        let mut lo = [f64::INFINITY; L];
        let mut lo_block = [0u64; L];
        for (b, (((blk, kb), sb), cb)) in coords[..nb]
            .iter()
            .zip(&mut key[..nb])
            .zip(&mut src[..nb])
            .zip(&c2[..nb])
            .enumerate()
        {
            let mut s = [0.0; L];
            for j in 0..D {
                for l in 0..L {
                    let u = blk[j][l] - q[j];
                    s[l] += u * u;
                }
            }
            let bv = b as u64;
            for l in 0..L {
                let s = s[l] * inv_alpha2;
                let w = if s > cc { s } else { cc };
                let w = if w > cb[l] { w } else { cb[l] };
                // branch-free selects (all-ones masks when the key improves / is a new low)
                let mask = u64::from(w < kb[l]).wrapping_neg();
                sb[l] = (curv & mask) | (sb[l] & !mask);
                let k = if w < kb[l] { w } else { kb[l] };
                kb[l] = k;
                let low = u64::from(k < lo[l]).wrapping_neg();
                lo_block[l] = (bv & low) | (lo_block[l] & !low);
                lo[l] = if k < lo[l] { k } else { lo[l] };
            }
        }
        // the smallest key, ties to the lowest position (= the lowest index)
        let mut t = usize::MAX;
        let mut best = f64::INFINITY;
        for l in 0..L {
            let p = lo_block[l] as usize * L + l;
            if lo[l] < best || (lo[l] == best && p < t) {
                best = lo[l];
                t = p;
            }
        }
        if t == usize::MAX {
            // every key infinite: impossible for finite input; take the first live point
            t = (0..cap)
                .find(|&p| idx[p / L][p % L] != u32::MAX)
                .unwrap_or(0);
        }
        let (bt, lt) = (t / L, t % L);
        let next = idx[bt][lt] as usize;
        out.push(Edge {
            w2: key[bt][lt],
            a: src[bt][lt] as u32,
            b: next as u32,
        });
        c2[bt][lt] = f64::INFINITY;
        key[bt][lt] = f64::INFINITY;
        idx[bt][lt] = u32::MAX;
        m -= 1;
        if 4 * m <= 3 * cap {
            // compact the live points to positions 0..m, order kept
            let mut w = 0;
            for p in 0..cap {
                let (bp, lp) = (p / L, p % L);
                if idx[bp][lp] == u32::MAX {
                    continue;
                }
                let (bw, lw) = (w / L, w % L);
                let moved = coords[bp];
                for (dst, col) in coords[bw].iter_mut().zip(&moved) {
                    dst[lw] = col[lp];
                }
                c2[bw][lw] = c2[bp][lp];
                key[bw][lw] = key[bp][lp];
                src[bw][lw] = src[bp][lp];
                idx[bw][lw] = idx[bp][lp];
                w += 1;
            }
            for p in w..cap.div_ceil(L) * L {
                let (bp, lp) = (p / L, p % L);
                c2[bp][lp] = f64::INFINITY;
                key[bp][lp] = f64::INFINITY;
                idx[bp][lp] = u32::MAX;
            }
            cap = w;
        }
        cur = next;
    }
    out
}

/// Position of the smallest key, ties to the lowest original index (keys are finite or
/// infinite, never NaN; at least one is finite).
fn argmin(key: &[f64], idx: &[u32]) -> usize {
    // the minimum (branch-free, vectorisable), then its holder with the lowest index
    let mut lo = [f64::INFINITY; L];
    for c in key.chunks_exact(L) {
        for l in 0..L {
            lo[l] = if c[l] < lo[l] { c[l] } else { lo[l] };
        }
    }
    let mut min = f64::INFINITY;
    for v in lo
        .into_iter()
        .chain(key.chunks_exact(L).remainder().iter().copied())
    {
        min = if v < min { v } else { min };
    }
    let mut best = 0;
    let mut best_idx = u32::MAX;
    for (t, (&k, &i)) in key.iter().zip(idx).enumerate() {
        if k == min && i < best_idx {
            best = t;
            best_idx = i;
        }
    }
    best
}

/// [`prim_mst`] for any number of columns (row-major rows of the remaining points).
fn prim_any(data: &[f64], d: usize, core2: &[f64], inv_alpha2: f64) -> Vec<Edge> {
    let n = data.len() / d;
    let mut rest = Remaining::new(n, core2);
    let mut rows: Vec<f64> = data[d..].to_vec();
    let mut out = Vec::with_capacity(n - 1);
    let mut cur = 0usize;
    while !rest.idx.is_empty() {
        let q = &data[cur * d..(cur + 1) * d];
        let cc = core2[cur];
        let m = rest.idx.len();
        for t in 0..m {
            let s = sq_dist(&rows[t * d..(t + 1) * d], q) * inv_alpha2;
            let w = s.max(cc).max(rest.core2[t]);
            if w < rest.key[t] {
                rest.key[t] = w;
                rest.src[t] = cur as u64;
            }
        }
        let t = argmin(&rest.key, &rest.idx);
        let next = rest.idx[t] as usize;
        out.push(Edge {
            w2: rest.key[t],
            a: rest.src[t] as u32,
            b: next as u32,
        });
        rest.swap_remove(t);
        // swap-remove row t
        let last = m - 1;
        if t != last {
            rows.copy_within(last * d..(last + 1) * d, t * d);
        }
        rows.truncate(last * d);
        cur = next;
    }
    out
}
