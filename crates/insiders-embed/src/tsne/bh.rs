//! Barnes-Hut repulsion of t-SNE on a deterministic space-partitioning tree
//! (binary tree, quadtree or octree for 1, 2 or 3 output dimensions).
//!
//! The tree: the points' bounding box is cut in halves along every axis, level after level
//! (as scikit-learn's quadtree: cells are not square when the box is not); a cell with at
//! most [`LEAF_SIZE`] points, or at the finest level, is a leaf. Points are sorted by
//! (Morton code, point index) — distinct keys, so the sorted order is unique — with a
//! serial radix sort, and every cell is a run of that order, found by binary search; the
//! tree depends only on the positions, never on the thread count. The build is serial
//! (about 6 % of a fit): the descent runs it beside the attraction, on the other thread.
//! Cells with a single non-empty child are skipped (the child is the same set of points
//! in a smaller cell).
//!
//! The acceptance criterion is scikit-learn's, `max_width / d < angle` (`max_width`: the
//! cell's largest side, `d`: the distance to its centre of mass), evaluated for a group of
//! points at once (Barnes 1990) with `d` the distance from the centre of mass to the
//! group's bounding box, i.e. to the group's nearest point. Every point therefore sees
//! each summarised cell at least as far away as scikit-learn's per-point criterion
//! requires: the approximation is never coarser than scikit-learn's for the same `angle`.
//!
//! The walk is a dual-tree traversal: the tree is descended once as the "group" side; a
//! cell accepted for a group is summarised for all the group's points, cells a group is
//! too large to decide are handed down to its children, and cells too large for the
//! group are opened. At a leaf, each point sums (a) the cells accepted by the leaf and its
//! ancestors (absolute `f32` coordinates, shared by the subtree) and (b) its near field:
//! the leaf's own points and the points of the leaves it could not summarise, one by one,
//! relative to the leaf's centre. Both sums run in a branch-free `f32` loop (as
//! scikit-learn's float32 Barnes-Hut), eight partners at a time with the running sums in
//! SIMD registers (one AVX register per sum when the CPU has AVX, else two SSE2 ones, with
//! the same bits), the eight lane sums combined in `f64` in a fixed order.
//! A point meets itself once in its near field with weight exactly 1 and no force; that 1
//! is removed from its `Z` term. `angle = 0` gives the exact O(n²) repulsion.
//!
//! Determinism: the work is split into subtrees fixed by the tree (never by the thread
//! count), every list is built in the tree's order, every sum runs in a fixed order, so the
//! forces are bit-identical whatever the thread count.

// Loops over the (1 to 3) output axes index several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::kernel::{Soa, kernel};
use rayon::prelude::*;

/// Largest number of points in a leaf.
pub const LEAF_SIZE: usize = 16;
/// Subtrees of at most this many points are walked as one parallel task.
const TASK_SIZE: usize = 128;

/// A cell of the tree.
#[derive(Debug, Clone, Copy)]
struct Node<const D: usize> {
    /// Centre of mass of its points.
    com: [f64; D],
    /// Bounding box of its points.
    bmin: [f64; D],
    bmax: [f64; D],
    /// Number of points.
    mass: f64,
    /// Square of the largest side of the cell.
    width2: f64,
    /// Its points: `lo..hi` in the sorted order.
    lo: u32,
    hi: u32,
    /// The node after this subtree in preorder (its first child is the next node).
    next: u32,
    leaf: bool,
}

/// Per-task buffers of the walk.
#[derive(Debug)]
struct Scratch<const D: usize> {
    /// Cells accepted by the current group and its ancestors (a stack), absolute
    /// coordinates: it is shared by all the points below.
    far: Soa<D>,
    /// The points of the current leaf and of the leaves it could not summarise, relative to
    /// the leaf's centre (the near field keeps its precision).
    near: Soa<D>,
    /// Candidate and deferred cells, two buffers per depth.
    pools: Vec<Vec<u32>>,
}

impl<const D: usize> Scratch<D> {
    fn new() -> Self {
        Scratch {
            far: Soa::new(),
            near: Soa::new(),
            pools: Vec::new(),
        }
    }

    fn pool(&mut self, i: usize) -> Vec<u32> {
        if self.pools.len() <= i {
            self.pools.resize_with(i + 1, Vec::new);
        }
        let mut v = std::mem::take(&mut self.pools[i]);
        v.clear();
        v
    }
}

/// A subtree walked as one task: its root, the cells its ancestors accepted, the cells
/// they handed down, and the task's buffers. Kept across iterations (the tree keeps one
/// per task slot), so the walk allocates nothing once the buffers have grown.
#[derive(Debug)]
struct Task<const D: usize> {
    root: usize,
    far: Soa<D>,
    cand: Vec<u32>,
    scratch: Scratch<D>,
}

impl<const D: usize> Task<D> {
    fn new() -> Self {
        Task {
            root: 0,
            far: Soa::new(),
            cand: Vec::new(),
            scratch: Scratch::new(),
        }
    }
}

/// The tree over the current positions, rebuilt every iteration.
#[derive(Debug)]
pub(crate) struct Tree<const D: usize> {
    nodes: Vec<Node<D>>,
    /// `(Morton code, point index)` in the tree's order (by code, ties by index).
    keys: Vec<(u64, u32)>,
    /// Buffers of the radix sort.
    spare: Vec<(u64, u32)>,
    hist: Vec<u32>,
    /// `rank[i]`: position of point i in the tree's order.
    rank: Vec<u32>,
    /// Positions in the tree's order.
    spos: Vec<[f64; D]>,
    /// Side of the root box along each axis.
    width: [f64; D],
    /// The walk's tasks (slots reused across iterations; the first ones are in use).
    tasks: Vec<Task<D>>,
}

/// Bits of the Morton code per axis.
const fn bits(d: usize) -> u32 {
    match d {
        1 | 2 => 32,
        _ => 21,
    }
}

/// Spreads the low bits of `v` so that they occupy every `D`-th bit.
#[inline]
fn spread<const D: usize>(v: u64) -> u64 {
    match D {
        1 => v,
        2 => {
            let mut x = v & 0xFFFF_FFFF;
            x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
            x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
            x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
            x = (x | (x << 2)) & 0x3333_3333_3333_3333;
            (x | (x << 1)) & 0x5555_5555_5555_5555
        }
        _ => {
            let mut x = v & 0x1F_FFFF;
            x = (x | (x << 32)) & 0x001F_0000_0000_FFFF;
            x = (x | (x << 16)) & 0x001F_0000_FF00_00FF;
            x = (x | (x << 8)) & 0x100F_00F0_0F00_F00F;
            x = (x | (x << 4)) & 0x10C3_0C30_C30C_30C3;
            (x | (x << 2)) & 0x1249_2492_4924_9249
        }
    }
}

/// Bits per digit of the radix sort.
const RADIX_BITS: u32 = 11;

/// Sorts `keys` by (code, index): a least-significant-digit radix sort on the code
/// (stable; digits on which all keys agree are skipped), then the runs of equal codes
/// (points in one finest cell, rare) by index. Linear time; the order is the unique sorted
/// order whatever the input order.
fn sort_keys(keys: &mut Vec<(u64, u32)>, spare: &mut Vec<(u64, u32)>, hist: &mut Vec<u32>) {
    const DIGITS: usize = 64_usize.div_ceil(RADIX_BITS as usize);
    const BUCKETS: usize = 1 << RADIX_BITS;
    let n = keys.len();
    if n < 2 {
        return;
    }
    hist.clear();
    hist.resize(DIGITS * BUCKETS, 0);
    let mask = (BUCKETS - 1) as u64;
    for k in keys.iter() {
        for d in 0..DIGITS {
            let b = ((k.0 >> (d as u32 * RADIX_BITS)) & mask) as usize;
            hist[d * BUCKETS + b] += 1;
        }
    }
    spare.clear();
    spare.resize(n, (0, 0));
    for d in 0..DIGITS {
        let h = &mut hist[d * BUCKETS..(d + 1) * BUCKETS];
        if h.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut start = 0u32;
        for c in h.iter_mut() {
            let count = *c;
            *c = start;
            start += count;
        }
        let shift = d as u32 * RADIX_BITS;
        for k in keys.iter() {
            let b = ((k.0 >> shift) & mask) as usize;
            spare[h[b] as usize] = *k;
            h[b] += 1;
        }
        std::mem::swap(keys, spare);
    }
    let mut lo = 0;
    while lo < n {
        let code = keys[lo].0;
        let mut hi = lo + 1;
        while hi < n && keys[hi].0 == code {
            hi += 1;
        }
        if hi - lo > 1 {
            keys[lo..hi].sort_unstable();
        }
        lo = hi;
    }
}

/// Squared distance from `c` to the box `[lo, hi]` (0 inside).
#[inline]
fn box_dist2<const D: usize>(c: &[f64; D], lo: &[f64; D], hi: &[f64; D]) -> f64 {
    let mut d2 = 0.0;
    for a in 0..D {
        let gap = (lo[a] - c[a]).max(c[a] - hi[a]).max(0.0);
        d2 += gap * gap;
    }
    d2
}

#[inline]
fn to_f32<const D: usize>(p: &[f64; D]) -> [f32; D] {
    std::array::from_fn(|a| p[a] as f32)
}

impl<const D: usize> Tree<D> {
    /// An empty tree for `n` points.
    pub(crate) fn new(n: usize) -> Self {
        Tree {
            nodes: Vec::new(),
            keys: (0..n as u32).map(|i| (0, i)).collect(),
            spare: Vec::new(),
            hist: Vec::new(),
            rank: vec![0; n],
            spos: vec![[0.0; D]; n],
            width: [0.0; D],
            tasks: Vec::new(),
        }
    }

    /// Position of point `i` in the tree's order (index into the outputs of
    /// [`Tree::repulsion`]).
    #[inline]
    pub(crate) fn rank(&self, i: usize) -> usize {
        self.rank[i] as usize
    }

    /// Rebuilds the tree over `y` (one row per point).
    pub(crate) fn build(&mut self, y: &[[f64; D]]) {
        let b = bits(D);
        let mut lo = [f64::INFINITY; D];
        let mut hi = [f64::NEG_INFINITY; D];
        for p in y {
            for a in 0..D {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let cells = (1u64 << b) as f64;
        let max_q = (1u64 << b) - 1;
        let mut scale = [0.0; D];
        for a in 0..D {
            let w = hi[a] - lo[a];
            self.width[a] = if w.is_finite() { w } else { 0.0 };
            scale[a] = if w > 0.0 && w.is_finite() {
                cells / w
            } else {
                0.0
            };
        }
        let codes = |key: &mut (u64, u32)| {
            let p = &y[key.1 as usize];
            let mut code = 0u64;
            for a in 0..D {
                // `as` saturates (NaN -> 0), so the cast never panics.
                let q = (((p[a] - lo[a]) * scale[a]) as u64).min(max_q);
                code |= spread::<D>(q) << (D - 1 - a);
            }
            key.0 = code;
        };
        let n = self.keys.len();
        self.keys.iter_mut().for_each(codes);
        // Keys are distinct (point indices are), so the sorted order is unique. It is the
        // order of a most-significant-digit radix partition with leaves sorted by
        // (code, index).
        sort_keys(&mut self.keys, &mut self.spare, &mut self.hist);
        for (s, k) in self.spos.iter_mut().zip(&self.keys) {
            *s = y[k.1 as usize];
        }
        for (r, k) in self.keys.iter().enumerate() {
            self.rank[k.1 as usize] = r as u32;
        }
        self.nodes.clear();
        if n > 0 {
            self.build_node(0, n, 0);
        }
    }

    /// Appends the subtree of the points `lo..hi` of the sorted order (whose codes agree on
    /// the first `level` digits): children are the runs of equal digits at the first level
    /// where the codes differ. Returns the sum of their positions.
    fn build_node(&mut self, lo: usize, hi: usize, mut level: u32) -> [f64; D] {
        let b = bits(D);
        let count = hi - lo;
        let mut leaf = count <= LEAF_SIZE;
        if !leaf {
            // Skip the levels where every point falls in the same child (codes are sorted).
            let (cmin, cmax) = (self.keys[lo].0, self.keys[hi - 1].0);
            if cmin == cmax {
                level = b;
                leaf = true;
            } else {
                let top = 63 - (cmin ^ cmax).leading_zeros();
                level = level.max(b - 1 - top / D as u32);
            }
        }
        let idx = self.nodes.len();
        let shrink = 0.5f64.powi(level as i32);
        let width2 = self
            .width
            .iter()
            .map(|w| (w * shrink) * (w * shrink))
            .fold(0.0, f64::max);
        self.nodes.push(Node {
            com: [0.0; D],
            bmin: [f64::INFINITY; D],
            bmax: [f64::NEG_INFINITY; D],
            mass: count as f64,
            width2,
            lo: lo as u32,
            hi: hi as u32,
            next: 0,
            leaf,
        });
        let mut sum = [0.0; D];
        let mut bmin = [f64::INFINITY; D];
        let mut bmax = [f64::NEG_INFINITY; D];
        if leaf {
            for p in &self.spos[lo..hi] {
                for a in 0..D {
                    sum[a] += p[a];
                    bmin[a] = bmin[a].min(p[a]);
                    bmax[a] = bmax[a].max(p[a]);
                }
            }
        } else {
            // Children: the runs of equal digits of `level`, in digit order.
            let shift = (b - 1 - level) as usize * D;
            let mask = (1u64 << D) - 1;
            let mut c_lo = lo;
            while c_lo < hi {
                let digit = (self.keys[c_lo].0 >> shift) & mask;
                let c_hi =
                    c_lo + self.keys[c_lo..hi].partition_point(|k| (k.0 >> shift) & mask == digit);
                let child_idx = self.nodes.len();
                let child = self.build_node(c_lo, c_hi, level + 1);
                let cn = &self.nodes[child_idx];
                for a in 0..D {
                    sum[a] += child[a];
                    bmin[a] = bmin[a].min(cn.bmin[a]);
                    bmax[a] = bmax[a].max(cn.bmax[a]);
                }
                c_lo = c_hi;
            }
        }
        let next = self.nodes.len() as u32;
        let node = &mut self.nodes[idx];
        for a in 0..D {
            node.com[a] = sum[a] / count as f64;
        }
        node.bmin = bmin;
        node.bmax = bmax;
        node.next = next;
        sum
    }

    /// The children of node `g`, in order.
    #[inline]
    fn children(&self, g: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.nodes[g].next as usize;
        let mut c = g + 1;
        std::iter::from_fn(move || {
            if c >= end {
                return None;
            }
            let this = c;
            c = self.nodes[c].next as usize;
            Some(this)
        })
    }

    /// The centre of a node's bounding box (the origin of its near field).
    #[inline]
    fn centre(&self, g: usize) -> [f64; D] {
        let n = &self.nodes[g];
        std::array::from_fn(|a| 0.5 * (n.bmin[a] + n.bmax[a]))
    }

    /// Decides the candidate cells `cand` for the group `g`: accepted cells go on `far`;
    /// when `g` is a leaf, the points of the leaves it cannot summarise go on `near`
    /// (relative to `g`'s centre); cells left to `g`'s children go to `deferred`.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &self,
        g: usize,
        cand: &[u32],
        theta2: f64,
        far: &mut Soa<D>,
        near: &mut Soa<D>,
        work: &mut Vec<u32>,
        deferred: &mut Vec<u32>,
    ) {
        let gn = &self.nodes[g];
        let origin = self.centre(g);
        work.clear();
        work.extend(cand.iter().rev());
        while let Some(c) = work.pop() {
            let c = c as usize;
            let cn = &self.nodes[c];
            if c == g {
                // The group against itself: its children against each other.
                if !gn.leaf {
                    deferred.extend(self.children(g).map(|k| k as u32));
                }
                continue;
            }
            if cn.width2 < theta2 * box_dist2(&cn.com, &gn.bmin, &gn.bmax) {
                far.push(to_f32(&cn.com), cn.mass as f32);
            } else if cn.leaf {
                if gn.leaf {
                    near.extend_relative(&self.spos[cn.lo as usize..cn.hi as usize], &origin);
                } else {
                    deferred.push(c as u32);
                }
            } else if gn.leaf || cn.width2 >= gn.width2 {
                // Open the cell: its children are decided next, in order.
                let mark = work.len();
                work.extend(self.children(c).map(|k| k as u32));
                work[mark..].reverse();
            } else {
                deferred.push(c as u32);
            }
        }
    }

    /// Walks the subtree of `g` with the candidate cells `cand`, writing the repulsion of
    /// its points to `f_out` / `z_out` (indexed from `base` in the tree's order).
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        g: usize,
        cand: &[u32],
        depth: usize,
        theta2: f64,
        s: &mut Scratch<D>,
        base: usize,
        f_out: &mut [[f64; D]],
        z_out: &mut [f64],
    ) {
        let mark = s.far.len();
        let mut work = s.pool(2 * depth);
        let mut deferred = s.pool(2 * depth + 1);
        let gn = self.nodes[g];
        s.near.truncate(0);
        if gn.leaf {
            // The leaf's own points first (each meets itself once: w = 1, no force).
            let origin = self.centre(g);
            s.near
                .extend_relative(&self.spos[gn.lo as usize..gn.hi as usize], &origin);
        }
        self.decide(
            g,
            cand,
            theta2,
            &mut s.far,
            &mut s.near,
            &mut work,
            &mut deferred,
        );
        if gn.leaf {
            let off = gn.lo as usize - base;
            let own = gn.hi as usize - gn.lo as usize;
            for r in 0..own {
                let p = &self.spos[gn.lo as usize + r];
                let (f_far, z_far) = kernel(&to_f32(p), &s.far);
                let rel: [f32; D] = std::array::from_fn(|a| s.near.cols[a][r]);
                let (f_near, z_near) = kernel(&rel, &s.near);
                f_out[off + r] = std::array::from_fn(|a| f_far[a] + f_near[a]);
                // Remove the point's meeting with itself (exactly 1 in the sum).
                z_out[off + r] = z_far + (z_near - 1.0);
            }
        } else {
            let mut c = g + 1;
            while c < gn.next as usize {
                self.walk(c, &deferred, depth + 1, theta2, s, base, f_out, z_out);
                c = self.nodes[c].next as usize;
            }
        }
        s.far.truncate(mark);
        s.pools[2 * depth] = work;
        s.pools[2 * depth + 1] = deferred;
    }

    /// Splits the top of the tree into tasks: subtrees of at most [`TASK_SIZE`] points
    /// (or leaves), each with what its ancestors decided, written to the first slots of
    /// `tasks`; returns how many. Sequential and fixed by the tree.
    fn tasks(&self, theta2: f64, tasks: &mut Vec<Task<D>>) -> usize {
        let mut far = Soa::new();
        let mut near = Soa::new();
        let mut work = Vec::new();
        let mut used = 0;
        self.split(
            0,
            &[0],
            theta2,
            &mut far,
            &mut near,
            &mut work,
            tasks,
            &mut used,
        );
        used
    }

    #[allow(clippy::too_many_arguments)]
    fn split(
        &self,
        g: usize,
        cand: &[u32],
        theta2: f64,
        far: &mut Soa<D>,
        near: &mut Soa<D>,
        work: &mut Vec<u32>,
        tasks: &mut Vec<Task<D>>,
        used: &mut usize,
    ) {
        let gn = &self.nodes[g];
        if gn.leaf || gn.mass as usize <= TASK_SIZE {
            if *used == tasks.len() {
                tasks.push(Task::new());
            }
            let task = &mut tasks[*used];
            task.root = g;
            task.far.assign(far);
            task.cand.clear();
            task.cand.extend_from_slice(cand);
            *used += 1;
            return;
        }
        let mark = far.len();
        let mut deferred = Vec::new();
        self.decide(g, cand, theta2, far, near, work, &mut deferred);
        for c in self.children(g) {
            self.split(c, &deferred, theta2, far, near, work, tasks, used);
        }
        far.truncate(mark);
    }

    /// The repulsion of every point, in the tree's order:
    /// `force[r] = Σ_j m_j w_j² (y_r - y_j)` and `z[r] = Σ_j m_j w_j` with
    /// `w = 1 / (1 + |y_r - y_j|²)` over the summarised partners of the point (its own
    /// contribution excluded).
    ///
    /// Every task is a job of its own (`with_max_len(1)`): rayon's work stealing then
    /// balances the tasks one by one over the threads, instead of handing each thread a
    /// run of tasks it must finish alone while the other waits.
    pub(crate) fn repulsion(&mut self, angle: f64, force: &mut [[f64; D]], z: &mut [f64]) {
        if self.nodes.is_empty() {
            return;
        }
        let theta2 = angle * angle;
        let mut tasks = std::mem::take(&mut self.tasks);
        let used = self.tasks(theta2, &mut tasks);
        // Split the outputs at the task boundaries (tasks tile the tree's order).
        let mut parts = Vec::with_capacity(used);
        let (mut f_rest, mut z_rest) = (force, z);
        for task in &mut tasks[..used] {
            let nd = &self.nodes[task.root];
            let len = (nd.hi - nd.lo) as usize;
            let (f_head, f_tail) = std::mem::take(&mut f_rest).split_at_mut(len);
            let (z_head, z_tail) = std::mem::take(&mut z_rest).split_at_mut(len);
            parts.push((task, f_head, z_head));
            f_rest = f_tail;
            z_rest = z_tail;
        }
        let tree = &*self;
        parts
            .into_par_iter()
            .with_max_len(1)
            .for_each(|(task, f_out, z_out)| {
                let Task {
                    root,
                    far,
                    cand,
                    scratch,
                } = task;
                scratch.far.assign(far);
                let base = tree.nodes[*root].lo as usize;
                tree.walk(*root, cand, 0, theta2, scratch, base, f_out, z_out);
            });
        self.tasks = tasks;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Rng;

    fn exact<const D: usize>(y: &[[f64; D]]) -> (Vec<[f64; D]>, Vec<f64>) {
        let n = y.len();
        let mut f = vec![[0.0; D]; n];
        let mut z = vec![0.0; n];
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let mut d2 = 0.0;
                for a in 0..D {
                    d2 += (y[i][a] - y[j][a]).powi(2);
                }
                let w = 1.0 / (1.0 + d2);
                z[i] += w;
                for a in 0..D {
                    f[i][a] += w * w * (y[i][a] - y[j][a]);
                }
            }
        }
        (f, z)
    }

    fn check<const D: usize>(n: usize) {
        let mut rng = Rng::new(3);
        let y: Vec<[f64; D]> = (0..n)
            .map(|i| std::array::from_fn(|_| rng.normal() * 5.0 + (i % 3) as f64 * 20.0))
            .collect();
        let (fe, ze) = exact(&y);
        let mut tree = Tree::<D>::new(n);
        tree.build(&y);
        for (angle, tol) in [(0.0, 1e-5), (0.5, 2e-2)] {
            let mut f = vec![[0.0; D]; n];
            let mut z = vec![0.0; n];
            tree.repulsion(angle, &mut f, &mut z);
            let (mut num, mut den) = (0.0, 0.0);
            for i in 0..n {
                let r = tree.rank(i);
                assert!(
                    (z[r] - ze[i]).abs() <= tol * ze[i],
                    "{angle} {} {}",
                    z[r],
                    ze[i]
                );
                for a in 0..D {
                    num += (f[r][a] - fe[i][a]).powi(2);
                    den += fe[i][a].powi(2);
                }
            }
            assert!(
                (num / den).sqrt() <= tol,
                "angle {angle}: {}",
                (num / den).sqrt()
            );
        }
    }

    #[test]
    fn barnes_hut_matches_the_exact_repulsion() {
        check::<1>(300);
        check::<2>(700);
        check::<3>(500);
    }

    #[test]
    fn duplicates_and_a_single_point() {
        let y = vec![[1.0, 1.0]; 40];
        let mut tree = Tree::<2>::new(40);
        tree.build(&y);
        let mut f = vec![[9.0; 2]; 40];
        let mut z = vec![0.0; 40];
        tree.repulsion(0.5, &mut f, &mut z);
        assert!(z.iter().all(|&v| v == 39.0));
        assert!(f.iter().all(|v| v == &[0.0, 0.0]));
        let mut tree = Tree::<2>::new(1);
        tree.build(&[[0.0, 0.0]]);
        let (mut f, mut z) = (vec![[1.0; 2]], vec![1.0]);
        tree.repulsion(0.5, &mut f, &mut z);
        assert_eq!((f[0], z[0]), ([0.0, 0.0], 0.0));
    }
}
