//! The merge sequences: Ward by nearest-neighbour chain on centroids, complete and average
//! by nearest-neighbour chain on the condensed distance matrix, single by Prim, and the
//! union-find that relabels them.

use super::Linkage;
use rayon::prelude::*;

/// Union-find root of `x`, with path compression.
pub(super) fn uf_find(parent: &mut [usize], mut x: usize) -> usize {
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
    pub(super) fn nearest(&self, p: usize) -> (f64, usize) {
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
    pub(super) fn scan(&self, p: usize, lo: usize, hi: usize) -> (f64, usize) {
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
pub(super) fn ward_nn_chain(data: &[f64], n: usize, d: usize) -> Vec<(usize, usize, f64)> {
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
pub(super) fn condensed(n: usize, i: usize, j: usize) -> usize {
    let (i, j) = if i < j { (i, j) } else { (j, i) };
    n * i - i * (i + 1) / 2 + (j - i - 1)
}

/// Complete and average linkage: NN-chain with the Lance–Williams update on the condensed
/// distance matrix (scipy's `nn_chain`).
pub(super) fn matrix_nn_chain(
    data: &[f64],
    n: usize,
    d: usize,
    linkage: Linkage,
) -> Vec<(usize, usize, f64)> {
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
pub(super) fn mst_single(data: &[f64], n: usize, d: usize) -> Vec<(usize, usize, f64)> {
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
