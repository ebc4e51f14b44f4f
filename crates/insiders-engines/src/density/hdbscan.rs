//! Our own exact HDBSCAN (the `native` backend of the `hdbscan` engine).
//!
//! Semantics (scikit-learn's `HDBSCAN` / the `hdbscan` library with `allow_single_cluster =
//! False`, `cluster_selection_method = "eom"`, `cluster_selection_epsilon = 0`):
//!
//! 1. **Core distance** of a point: the euclidean distance to its `min_samples`-th nearest
//!    point, the point itself included (so with `min_samples = 1` it is 0), computed as the
//!    square root of the squared distance summed in column order (our exact k-d tree).
//! 2. **Mutual reachability** of two points: `max(core_a, core_b, d(a, b) / alpha)`.
//! 3. **Minimum spanning tree** of the complete mutual-reachability graph, exact, by Prim's
//!    algorithm over the dense graph (O(n²) time, O(n) memory; the inner loop over the points
//!    not yet in the tree is branch-free and vectorised, specialised for d = 1..=8). Prim
//!    compares squared weights `max(core_a², core_b², d²/alpha²)`; the weights kept are their
//!    square roots, which for `alpha = 1` are exactly `max(core_a, core_b, d)` (the square
//!    root is correctly rounded and monotone). Tie-breaking: the tree grows from point 0; the
//!    next point is the one with the smallest key, among equal keys the lowest index; its
//!    edge goes to the tree point that first gave that key (keys are lowered only by a strict
//!    improvement). Any tie-breaking gives the same clustering, because of step 4.
//! 4. **Single-linkage hierarchy**: the spanning-tree edges sorted by weight, and all edges
//!    of one weight merged *simultaneously*: a weight level whose edges join several
//!    components produces one multi-way node per resulting component. This is the
//!    hierarchy of the HDBSCAN paper (Campello et al. 2015, edges of equal weight removed
//!    together) and petal-clustering's; it depends only on the graph, not on which spanning
//!    tree was found. (scikit-learn builds a binary dendrogram whose order within ties comes
//!    from its Prim traversal; when two clusters of at least `min_cluster_size` points and a
//!    smaller piece join at one weight, its result depends on that order: see
//!    docs/engines.md.)
//! 5. **Condensed tree** with `min_cluster_size`, top-down: at a node of at least
//!    `min_cluster_size` points and weight `w` (density `lambda = 1 / w`; `f64::MAX` for
//!    `w = 0`, as petal-clustering, so that no `inf - inf` arises), when at least two
//!    children have `min_cluster_size` points each of them becomes a new cluster born at
//!    `lambda`; otherwise the one large child (if any) continues its parent's cluster. The
//!    points of the smaller children leave the cluster at `lambda`.
//! 6. **Excess of mass**: the stability of a cluster is the sum over its points and child
//!    clusters of `(lambda_leave - lambda_birth) × size` (the root is born at 0); bottom-up,
//!    a cluster is selected when its stability is at least the sum of its children's
//!    (ties keep the parent, as scikit-learn and petal), else it takes that sum. The root is
//!    never selected (`allow_single_cluster = False`).
//! 7. **Labels**: a point belongs to the selected cluster above the cluster it left (points
//!    that leave a selected cluster or any of its descendants belong to it); the rest is
//!    noise (`None`). Clusters are numbered by first appearance in index order.
//!
//! Determinism: no randomness. The core distances are computed in parallel, one value per
//! point collected in index order; everything else is sequential, so the labels are the same
//! bits for any thread count.

use super::kdtree::KdTree;
use rayon::prelude::*;

/// "No node / no cluster".
const NONE: u32 = u32::MAX;

/// HDBSCAN labels of the rows of `data` (row-major, `d >= 1` columns, `n >= 1` rows, finite),
/// `min_cluster_size >= 2`, `1 <= min_samples` (clamped to `n`), `alpha > 0`.
pub(crate) fn hdbscan_labels(
    data: &[f64],
    d: usize,
    min_cluster_size: usize,
    min_samples: usize,
    alpha: f64,
) -> Vec<Option<usize>> {
    let n = data.len() / d;
    if n < 2 {
        return vec![None; n];
    }
    let core2 = core_sq_distances(data, d, min_samples.clamp(1, n));
    let mst = prim_mst(data, d, &core2, 1.0 / (alpha * alpha));
    let h = Hierarchy::from_mst(n, mst);
    h.labels(min_cluster_size)
}

/// Squared core distances: the squared distance to the `k`-th nearest point (itself included).
fn core_sq_distances(data: &[f64], d: usize, k: usize) -> Vec<f64> {
    let tree = KdTree::new(data, d);
    data.par_chunks(d)
        .with_min_len(64)
        .map(|q| tree.kth_sq_dist(q, k))
        .collect()
}

/// One spanning-tree edge: squared mutual-reachability weight and its two end points.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Edge {
    w2: f64,
    a: u32,
    b: u32,
}

/// Exact minimum spanning tree of the mutual-reachability graph by dense Prim (see the module
/// docs for the tie-breaking). `inv_alpha2 = 1 / alpha²` scales the squared distances.
fn prim_mst(data: &[f64], d: usize, core2: &[f64], inv_alpha2: f64) -> Vec<Edge> {
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
    core2: Vec<f64>,
    key: Vec<f64>,
    src: Vec<u64>,
}

impl Remaining {
    fn new(n: usize, core2: &[f64]) -> Self {
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
            let s = super::kdtree::sq_dist(&rows[t * d..(t + 1) * d], q) * inv_alpha2;
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

/// Union-find with path halving.
fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let p = parent[parent[i as usize] as usize];
        parent[i as usize] = p;
        i = p;
    }
    i
}

/// The single-linkage hierarchy with simultaneous merges of equal weights: nodes `0..n` are
/// the points, nodes `n..` the merges (a parent is created after its children).
#[derive(Debug, Clone)]
struct Hierarchy {
    n: usize,
    /// Weight (mutual-reachability distance) of every merge node (index `node - n`).
    weight: Vec<f64>,
    /// Size of every node.
    size: Vec<u32>,
    /// Children of merge node `v` are `child[child_start[v - n]..child_start[v - n + 1]]`,
    /// in ascending node order.
    child_start: Vec<usize>,
    child: Vec<u32>,
}

impl Hierarchy {
    fn from_mst(n: usize, mut mst: Vec<Edge>) -> Self {
        mst.sort_by(|x, y| x.w2.total_cmp(&y.w2));
        let mut uf: Vec<u32> = (0..n as u32).collect();
        // the hierarchy node currently representing each union-find root
        let mut comp_node: Vec<u32> = (0..n as u32).collect();
        let mut new_of = vec![NONE; n];
        let mut seen = vec![false; n];
        let mut parent: Vec<u32> = vec![NONE; n];
        let mut size: Vec<u32> = vec![1; n];
        let mut weight = Vec::new();
        let (mut roots, mut touched) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < mst.len() {
            let w2 = mst[i].w2;
            let mut j = i;
            while j < mst.len() && mst[j].w2 == w2 {
                j += 1;
            }
            let group = &mst[i..j];
            roots.clear();
            for e in group {
                for v in [e.a, e.b] {
                    let r = find(&mut uf, v);
                    if !seen[r as usize] {
                        seen[r as usize] = true;
                        roots.push(r);
                    }
                }
            }
            for e in group {
                let (ra, rb) = (find(&mut uf, e.a), find(&mut uf, e.b));
                if ra != rb {
                    // union by smaller index: any rule works, the roots are remapped below
                    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                    uf[hi as usize] = lo;
                }
            }
            touched.clear();
            for &r in &roots {
                seen[r as usize] = false;
                let p = find(&mut uf, r);
                if new_of[p as usize] == NONE {
                    new_of[p as usize] = parent.len() as u32;
                    parent.push(NONE);
                    size.push(0);
                    weight.push(w2.sqrt());
                    touched.push(p);
                }
                let node = new_of[p as usize];
                let c = comp_node[r as usize];
                parent[c as usize] = node;
                size[node as usize] += size[c as usize];
            }
            for &p in &touched {
                comp_node[p as usize] = new_of[p as usize];
                new_of[p as usize] = NONE;
            }
            i = j;
        }
        // children lists (counting sort by parent; children in ascending node order)
        let m = weight.len();
        let mut child_start = vec![0usize; m + 1];
        for &p in &parent {
            if p != NONE {
                child_start[p as usize - n + 1] += 1;
            }
        }
        for v in 0..m {
            child_start[v + 1] += child_start[v];
        }
        let mut fill = child_start.clone();
        let mut child = vec![0u32; child_start[m]];
        for (c, &p) in parent.iter().enumerate() {
            if p != NONE {
                let v = p as usize - n;
                child[fill[v]] = c as u32;
                fill[v] += 1;
            }
        }
        Hierarchy {
            n,
            weight,
            size,
            child_start,
            child,
        }
    }

    fn children(&self, v: usize) -> &[u32] {
        let k = v - self.n;
        &self.child[self.child_start[k]..self.child_start[k + 1]]
    }

    /// Condensed tree, excess-of-mass selection and labels (module docs, steps 5–7).
    fn labels(&self, min_cluster_size: usize) -> Vec<Option<usize>> {
        let n = self.n;
        let total = self.size.len();
        let mcs = min_cluster_size as u32;
        // condensed cluster of every node (NONE: not reached yet), whether the node lies in
        // a subtree that left its cluster, and the density at which it left
        let mut cl = vec![NONE; total];
        let mut fallen = vec![false; total];
        let mut leave = vec![0.0f64; total];
        // condensed clusters: parent, birth density, stability
        let mut cparent: Vec<u32> = vec![NONE];
        let mut birth: Vec<f64> = vec![0.0];
        let mut stab: Vec<f64> = vec![0.0];
        if total == n {
            return vec![None; n];
        }
        cl[total - 1] = 0;
        let mut big = Vec::new();
        for v in (n..total).rev() {
            let l = cl[v];
            let kids = self.children(v);
            if fallen[v] {
                for &c in kids {
                    cl[c as usize] = l;
                    fallen[c as usize] = true;
                    leave[c as usize] = leave[v];
                }
                continue;
            }
            let w = self.weight[v - n];
            let lambda = if w > 0.0 { 1.0 / w } else { f64::MAX };
            let b = birth[l as usize];
            big.clear();
            big.extend(
                kids.iter()
                    .copied()
                    .filter(|&c| self.size[c as usize] >= mcs),
            );
            if big.len() >= 2 {
                for &c in &big {
                    let id = cparent.len() as u32;
                    cparent.push(l);
                    birth.push(lambda);
                    stab.push(0.0);
                    stab[l as usize] += (lambda - b) * f64::from(self.size[c as usize]);
                    cl[c as usize] = id;
                }
            } else if let Some(&c) = big.first() {
                cl[c as usize] = l;
            }
            for &c in kids {
                let sz = self.size[c as usize];
                if sz < mcs {
                    cl[c as usize] = l;
                    fallen[c as usize] = true;
                    leave[c as usize] = lambda;
                    stab[l as usize] += (lambda - b) * f64::from(sz);
                }
            }
        }
        // excess of mass, bottom-up (children have larger ids), the root (0) excluded
        let nc = cparent.len();
        let mut selected = vec![false; nc];
        let mut child_sum = vec![0.0f64; nc];
        for c in (1..nc).rev() {
            if stab[c] >= child_sum[c] {
                selected[c] = true;
            } else {
                stab[c] = child_sum[c];
            }
            child_sum[cparent[c] as usize] += stab[c];
        }
        // the selected cluster above every cluster (top-down)
        let mut sel = vec![NONE; nc];
        for c in 1..nc {
            let up = sel[cparent[c] as usize];
            sel[c] = if up != NONE {
                up
            } else if selected[c] {
                c as u32
            } else {
                NONE
            };
        }
        (0..n)
            .map(|p| {
                let s = sel[cl[p] as usize];
                (s != NONE).then_some(s as usize)
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Brute-force Prim with the same tie rule, for comparison.
    fn brute_mst_weights(data: &[f64], d: usize, core2: &[f64]) -> Vec<f64> {
        let n = data.len() / d;
        let mut in_tree = vec![false; n];
        let mut key = vec![f64::INFINITY; n];
        let mut cur = 0;
        let mut out = Vec::new();
        for _ in 1..n {
            in_tree[cur] = true;
            for j in 0..n {
                if !in_tree[j] {
                    let s = super::super::kdtree::sq_dist(
                        &data[cur * d..(cur + 1) * d],
                        &data[j * d..(j + 1) * d],
                    );
                    key[j] = key[j].min(s.max(core2[cur]).max(core2[j]));
                }
            }
            let next = (0..n)
                .filter(|&j| !in_tree[j])
                .min_by(|&a, &b| key[a].total_cmp(&key[b]).then(a.cmp(&b)))
                .unwrap();
            out.push(key[next]);
            cur = next;
        }
        out.sort_by(f64::total_cmp);
        out
    }

    #[test]
    fn prim_kernels_equal_brute_force() {
        let mut rng = insiders_core::Rng::new(3);
        for d in [1, 2, 5, 9] {
            let n = 120;
            // coarse grid values: many ties
            let data: Vec<f64> = (0..n * d).map(|_| (rng.uniform() * 6.0).floor()).collect();
            let core2 = core_sq_distances(&data, d, 4);
            let mut got: Vec<f64> = prim_mst(&data, d, &core2, 1.0)
                .iter()
                .map(|e| e.w2)
                .collect();
            got.sort_by(f64::total_cmp);
            assert_eq!(got, brute_mst_weights(&data, d, &core2), "d {d}");
            let edges = prim_mst(&data, d, &core2, 1.0);
            // a spanning tree: n - 1 edges joining everything
            let mut uf: Vec<u32> = (0..n as u32).collect();
            for e in &edges {
                let (a, b) = (find(&mut uf, e.a), find(&mut uf, e.b));
                assert_ne!(a, b);
                uf[a as usize] = b;
            }
        }
    }

    /// An independent O(n³) transcription of the definition (module docs), without a
    /// spanning tree: a set of points `S` splits at its bottleneck weight `w*` (the smallest
    /// `t` connecting `S` with mutual-reachability edges `<= t`) into the components of the
    /// edges `< w*`; the condensed tree, stabilities and excess of mass follow recursively.
    pub(crate) fn reference_hdbscan(
        data: &[f64],
        d: usize,
        mcs: usize,
        ms: usize,
        alpha: f64,
    ) -> Vec<Option<usize>> {
        let n = data.len() / d;
        let row = |i: usize| &data[i * d..(i + 1) * d];
        let dist = |a: usize, b: usize| {
            row(a)
                .iter()
                .zip(row(b))
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt()
        };
        let core: Vec<f64> = (0..n)
            .map(|i| {
                let mut ds: Vec<f64> = (0..n).map(|j| dist(i, j)).collect();
                ds.sort_by(f64::total_cmp);
                ds[ms.min(n) - 1]
            })
            .collect();
        let mr = |a: usize, b: usize| core[a].max(core[b]).max(dist(a, b) / alpha);
        // bottleneck weight of S (max edge of any MST of S)
        let bottleneck = |s: &[usize]| {
            let mut best = vec![f64::INFINITY; s.len()];
            let mut done = vec![false; s.len()];
            let mut cur = 0;
            let mut w: f64 = 0.0;
            for _ in 1..s.len() {
                done[cur] = true;
                for t in 0..s.len() {
                    if !done[t] {
                        best[t] = best[t].min(mr(s[cur], s[t]));
                    }
                }
                let next = (0..s.len())
                    .filter(|&t| !done[t])
                    .min_by(|&a, &b| best[a].total_cmp(&best[b]))
                    .unwrap();
                w = w.max(best[next]);
                cur = next;
            }
            w
        };
        // components of S with edges < w
        let split = |s: &[usize], w: f64| {
            let mut comp = vec![usize::MAX; s.len()];
            let mut out: Vec<Vec<usize>> = Vec::new();
            for start in 0..s.len() {
                if comp[start] != usize::MAX {
                    continue;
                }
                let c = out.len();
                comp[start] = c;
                let mut stack = vec![start];
                let mut members = Vec::new();
                while let Some(t) = stack.pop() {
                    members.push(s[t]);
                    for u in 0..s.len() {
                        if comp[u] == usize::MAX && mr(s[t], s[u]) < w {
                            comp[u] = c;
                            stack.push(u);
                        }
                    }
                }
                members.sort_unstable();
                out.push(members);
            }
            out
        };
        // condensed tree: clusters (parent, birth), points (cluster left, lambda)
        let mut cparent = vec![usize::MAX];
        let mut birth = vec![0.0];
        let mut leave = vec![(usize::MAX, 0.0); n];
        let mut work = vec![((0..n).collect::<Vec<_>>(), 0usize)];
        while let Some((s, l)) = work.pop() {
            let w = bottleneck(&s);
            let lambda = if w > 0.0 { 1.0 / w } else { f64::MAX };
            let parts = split(&s, w);
            let big: Vec<&Vec<usize>> = parts.iter().filter(|p| p.len() >= mcs).collect();
            if big.len() >= 2 {
                for p in big {
                    cparent.push(l);
                    birth.push(lambda);
                    work.push((p.clone(), cparent.len() - 1));
                }
            } else if let Some(p) = big.first() {
                work.push(((*p).clone(), l));
            }
            for p in parts.iter().filter(|p| p.len() < mcs) {
                for &i in p {
                    leave[i] = (l, lambda);
                }
            }
        }
        let nc = cparent.len();
        let mut stab = vec![0.0; nc];
        for &(c, lambda) in &leave {
            stab[c] += lambda - birth[c];
        }
        for c in 1..nc {
            // a child cluster counts with its size at birth
            let size = (0..n)
                .filter(|&i| {
                    let mut k = leave[i].0;
                    while k != usize::MAX && k != c {
                        k = cparent[k];
                    }
                    k == c
                })
                .count();
            stab[cparent[c]] += (birth[c] - birth[cparent[c]]) * size as f64;
        }
        // excess of mass: children of c in the cluster tree
        fn best(c: usize, kids: &[Vec<usize>], stab: &[f64], sel: &mut [bool]) -> f64 {
            let sub: f64 = kids[c].iter().map(|&k| best(k, kids, stab, sel)).sum();
            if c != 0 && stab[c] >= sub {
                sel[c] = true;
                stab[c]
            } else {
                sub
            }
        }
        let mut kids = vec![Vec::new(); nc];
        for c in 1..nc {
            kids[cparent[c]].push(c);
        }
        let mut sel = vec![false; nc];
        best(0, &kids, &stab, &mut sel);
        // label: the topmost selected cluster above the cluster a point left
        let mut raw = vec![None; n];
        for (i, &(c, _)) in leave.iter().enumerate() {
            let mut k = c;
            while k != usize::MAX {
                if sel[k] {
                    raw[i] = Some(k);
                }
                k = cparent[k];
            }
        }
        renumber(&raw)
    }

    fn renumber(raw: &[Option<usize>]) -> Vec<Option<usize>> {
        let mut map = std::collections::HashMap::new();
        raw.iter()
            .map(|l| {
                l.map(|c| {
                    let next = map.len();
                    *map.entry(c).or_insert(next)
                })
            })
            .collect()
    }

    /// Gaussian blobs rounded to a grid (many exact ties and duplicates).
    fn grid_blobs(seed: u64, per: usize) -> Vec<f64> {
        let mut rng = insiders_core::Rng::new(seed);
        let mut rows = Vec::new();
        for c in 0..4 {
            let (cx, cy) = (c as f64 * 3.0, (c % 2) as f64 * 2.0);
            for _ in 0..per {
                let p = [cx + rng.normal() * 0.6, cy + rng.normal() * 0.6];
                let p = [(p[0] * 4.0).round() / 4.0, (p[1] * 4.0).round() / 4.0];
                let copies = if rng.below(5) == 0 { 3 } else { 1 };
                for _ in 0..copies {
                    rows.extend(p);
                }
            }
        }
        rows
    }

    #[test]
    fn native_equals_the_reference_transcription() {
        for seed in 0..4 {
            let data = grid_blobs(seed, 40);
            for (mcs, ms, alpha) in [(5, 5, 1.0), (10, 3, 1.0), (4, 8, 1.0), (6, 6, 0.5)] {
                let got = renumber(&hdbscan_labels(&data, 2, mcs, ms, alpha));
                let want = reference_hdbscan(&data, 2, mcs, ms, alpha);
                assert_eq!(got, want, "seed {seed} mcs {mcs} ms {ms} alpha {alpha}");
            }
        }
    }
}
