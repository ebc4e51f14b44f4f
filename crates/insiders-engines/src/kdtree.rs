//! An exact k-d tree for euclidean radius and k-nearest-neighbour queries, shared by the
//! density engines (`dbscan` and its k-distance elbow, `optics`, `hdbscan`'s core distances).
//!
//! Distances are compared as squared distances summed in column order (as scikit-learn's
//! trees compare "reduced distances" with `eps²`), so a point is a neighbour exactly when
//! `sum_j (q_j - p_j)² <= eps²`. Whole boxes are accepted or pruned through their corner
//! distances; because floating-point rounding is monotone, a box accepted whole never holds
//! a point that the per-point test would reject, so the shortcut is exact.

/// Points per leaf.
const LEAF: usize = 16;

#[derive(Debug, Clone)]
struct Node {
    start: usize,
    end: usize,
    /// Children (`usize::MAX` for a leaf).
    left: usize,
    right: usize,
}

/// A k-d tree over the rows of a row-major `n x d` matrix.
#[derive(Debug, Clone)]
pub(crate) struct KdTree<'a> {
    data: &'a [f64],
    d: usize,
    idx: Vec<usize>,
    nodes: Vec<Node>,
    /// Bounding boxes: `lo[node * d + j]`, `hi[node * d + j]`.
    lo: Vec<f64>,
    hi: Vec<f64>,
}

/// Squared euclidean distance, summed in column order.
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        s += t * t;
    }
    s
}

impl<'a> KdTree<'a> {
    /// Builds the tree; `data.len()` must be a multiple of `d` (d >= 1).
    pub(crate) fn new(data: &'a [f64], d: usize) -> Self {
        let n = data.len().checked_div(d).unwrap_or(0);
        let mut tree = KdTree {
            data,
            d,
            idx: (0..n).collect(),
            nodes: Vec::with_capacity(2 * n / LEAF + 2),
            lo: Vec::new(),
            hi: Vec::new(),
        };
        if n > 0 {
            tree.build(0, n);
        }
        tree
    }

    fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    fn build(&mut self, start: usize, end: usize) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            start,
            end,
            left: usize::MAX,
            right: usize::MAX,
        });
        let d = self.d;
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for &i in &self.idx[start..end] {
            for (j, &v) in self.data[i * d..(i + 1) * d].iter().enumerate() {
                lo[j] = lo[j].min(v);
                hi[j] = hi[j].max(v);
            }
        }
        let (dim, spread) = (0..d)
            .map(|j| (j, hi[j] - lo[j]))
            .fold((0, f64::NEG_INFINITY), |b, c| if c.1 > b.1 { c } else { b });
        self.lo.extend_from_slice(&lo);
        self.hi.extend_from_slice(&hi);
        if end - start > LEAF && spread > 0.0 {
            let mid = start + (end - start) / 2;
            let data = self.data;
            self.idx[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
                data[a * d + dim]
                    .total_cmp(&data[b * d + dim])
                    .then(a.cmp(&b))
            });
            let left = self.build(start, mid);
            let right = self.build(mid, end);
            self.nodes[id].left = left;
            self.nodes[id].right = right;
        }
        id
    }

    /// Smallest and largest squared distance from `q` to the box of `node`.
    #[inline]
    fn box_bounds(&self, node: usize, q: &[f64]) -> (f64, f64) {
        let d = self.d;
        let (lo, hi) = (
            &self.lo[node * d..(node + 1) * d],
            &self.hi[node * d..(node + 1) * d],
        );
        let (mut near, mut far) = (0.0, 0.0);
        for j in 0..d {
            let (a, b) = (q[j] - lo[j], hi[j] - q[j]);
            let n = if a < 0.0 {
                -a
            } else if b < 0.0 {
                -b
            } else {
                0.0
            };
            near += n * n;
            // the farther corner coordinate, with the same subtraction as a point would use
            let f = (q[j] - lo[j]).abs().max((q[j] - hi[j]).abs());
            far += f * f;
        }
        (near, far)
    }

    /// Calls `f(i, sq_dist)` for every point with `sq_dist(q, row i) <= r2` (any order;
    /// `sq_dist` is `NaN` for points accepted through their box, use [`Self::row`] if needed).
    fn for_each_within(&self, q: &[f64], r2: f64, mut f: impl FnMut(usize)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack = vec![0usize];
        while let Some(node) = stack.pop() {
            let (near, far) = self.box_bounds(node, q);
            if near > r2 {
                continue;
            }
            let nd = &self.nodes[node];
            if far <= r2 {
                for &i in &self.idx[nd.start..nd.end] {
                    f(i);
                }
            } else if nd.left == usize::MAX {
                for &i in &self.idx[nd.start..nd.end] {
                    if sq_dist(q, self.row(i)) <= r2 {
                        f(i);
                    }
                }
            } else {
                stack.push(nd.right);
                stack.push(nd.left);
            }
        }
    }

    /// Number of points within squared radius `r2` of `q` (boundary included), counted only up
    /// to `cap`: the result is `min(count, cap)` or more (exactly the count when it is below
    /// `cap`), so `count_within_capped(q, r2, m) >= m` exactly when `count_within(q, r2) >= m`.
    /// Boxes that lie entirely within the radius are counted whole, without visiting points.
    /// `stack` is scratch space (its contents are discarded).
    pub(crate) fn count_within_capped(
        &self,
        q: &[f64],
        r2: f64,
        cap: usize,
        stack: &mut Vec<usize>,
    ) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut c = 0;
        stack.clear();
        stack.push(0);
        while let Some(node) = stack.pop() {
            let (near, far) = self.box_bounds(node, q);
            if near > r2 {
                continue;
            }
            let nd = &self.nodes[node];
            if far <= r2 {
                c += nd.end - nd.start;
            } else if nd.left == usize::MAX {
                for &i in &self.idx[nd.start..nd.end] {
                    if sq_dist(q, self.row(i)) <= r2 {
                        c += 1;
                    }
                }
            } else {
                stack.push(nd.right);
                stack.push(nd.left);
                continue;
            }
            if c >= cap {
                return c;
            }
        }
        c
    }

    /// Number of nodes; node ids are `0..n_nodes()`, a parent's id is smaller than its
    /// children's (pre-order), so a reverse sweep visits children before parents.
    pub(crate) fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// For every node, the minimum of `key(i)` over its points `i` (`usize::MAX` for none;
    /// `key` returns `usize::MAX` for points to leave out).
    pub(crate) fn node_min(&self, key: impl Fn(usize) -> usize) -> Vec<usize> {
        self.node_reduce(usize::MAX, key, usize::min)
    }

    /// For every node, `combine` folded over `key(i)` of its points, starting from `empty`
    /// (`combine` must be associative and commutative with `empty` as identity).
    pub(crate) fn node_reduce<T: Copy>(
        &self,
        empty: T,
        key: impl Fn(usize) -> T,
        combine: impl Fn(T, T) -> T,
    ) -> Vec<T> {
        let mut out = vec![empty; self.nodes.len()];
        for node in (0..self.nodes.len()).rev() {
            let nd = &self.nodes[node];
            out[node] = if nd.left == usize::MAX {
                self.idx[nd.start..nd.end]
                    .iter()
                    .fold(empty, |acc, &i| combine(acc, key(i)))
            } else {
                combine(out[nd.left], out[nd.right])
            };
        }
        out
    }

    /// The points of `node`.
    pub(crate) fn node_points(&self, node: usize) -> &[usize] {
        let nd = &self.nodes[node];
        &self.idx[nd.start..nd.end]
    }

    /// A radius query with whole-box shortcuts: every point within squared radius `r2` of `q`
    /// (boundary included) is reported exactly once, either as [`Visit::Whole`] (the box of
    /// the node lies entirely within the radius, so all its points are neighbours) or as
    /// [`Visit::Point`], unless a node holding it was skipped: every node that intersects the
    /// ball is first offered as [`Visit::Enter`], and `f` returning `true` there leaves the
    /// node out with all its points. The return value of `f` is ignored for the other visits.
    /// `stack` is scratch space (its contents are discarded).
    pub(crate) fn visit_within(
        &self,
        q: &[f64],
        r2: f64,
        stack: &mut Vec<usize>,
        mut f: impl FnMut(Visit) -> bool,
    ) {
        if self.nodes.is_empty() {
            return;
        }
        stack.clear();
        stack.push(0);
        while let Some(node) = stack.pop() {
            let (near, far) = self.box_bounds(node, q);
            if near > r2 || f(Visit::Enter(node)) {
                continue;
            }
            let nd = &self.nodes[node];
            if far <= r2 {
                f(Visit::Whole(node));
            } else if nd.left == usize::MAX {
                for &i in &self.idx[nd.start..nd.end] {
                    if sq_dist(q, self.row(i)) <= r2 {
                        f(Visit::Point(i));
                    }
                }
            } else {
                stack.push(nd.right);
                stack.push(nd.left);
            }
        }
    }

    /// Number of points within squared radius `r2` of `q` (boundary included).
    #[cfg(test)]
    pub(crate) fn count_within(&self, q: &[f64], r2: f64) -> usize {
        let mut c = 0;
        self.for_each_within(q, r2, |_| c += 1);
        c
    }

    /// The points within squared radius `r2` of `q` (boundary included), appended to `out`.
    pub(crate) fn within(&self, q: &[f64], r2: f64, out: &mut Vec<usize>) {
        self.for_each_within(q, r2, |i| out.push(i));
    }

    /// Squared distance from `q` to its `k`-th nearest point (k >= 1; a query point that is
    /// a row of the tree counts itself, at distance 0). `k` larger than n gives the farthest.
    pub(crate) fn kth_sq_dist(&self, q: &[f64], k: usize) -> f64 {
        let n = self.idx.len();
        let k = k.clamp(1, n.max(1));
        if n == 0 {
            return f64::INFINITY;
        }
        // the k best squared distances so far, ascending (k is small: insertion is cheap)
        let mut best: Vec<f64> = Vec::with_capacity(k + 1);
        let worst = |best: &Vec<f64>| {
            if best.len() == k {
                best[k - 1]
            } else {
                f64::INFINITY
            }
        };
        // nodes with the squared distance from `q` to their box
        let mut stack = vec![(0usize, self.box_near(0, q))];
        while let Some((node, near)) = stack.pop() {
            if near > worst(&best) {
                continue;
            }
            let nd = &self.nodes[node];
            if nd.left == usize::MAX {
                for &i in &self.idx[nd.start..nd.end] {
                    let s = sq_dist(q, self.row(i));
                    if best.len() < k || s < best[k - 1] {
                        let at = best.partition_point(|&b| b <= s);
                        best.insert(at, s);
                        best.truncate(k);
                    }
                }
            } else {
                // visit the nearer child first
                let (l, r) = (nd.left, nd.right);
                let (nl, nr) = (self.box_near(l, q), self.box_near(r, q));
                if nl <= nr {
                    stack.push((r, nr));
                    stack.push((l, nl));
                } else {
                    stack.push((l, nl));
                    stack.push((r, nr));
                }
            }
        }
        best.last().copied().unwrap_or(f64::INFINITY)
    }

    /// The `k` nearest points of `q` as `(squared distance, index)`, nearest first; ties by
    /// the smaller index, so the result does not depend on the tree's shape (k >= 1; at
    /// most n points).
    pub(crate) fn nearest(&self, q: &[f64], k: usize) -> Vec<(f64, usize)> {
        let n = self.idx.len();
        let k = k.clamp(1, n.max(1));
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        if n == 0 {
            return best;
        }
        let before = |a: &(f64, usize), b: &(f64, usize)| a.0 < b.0 || (a.0 == b.0 && a.1 < b.1);
        let mut stack = vec![(0usize, self.box_near(0, q))];
        while let Some((node, near)) = stack.pop() {
            // Strict: a box at exactly the k-th distance may hold a tie of smaller index.
            if best.len() == k && near > best[k - 1].0 {
                continue;
            }
            let nd = &self.nodes[node];
            if nd.left == usize::MAX {
                for &i in &self.idx[nd.start..nd.end] {
                    let c = (sq_dist(q, self.row(i)), i);
                    if best.len() < k || before(&c, &best[k - 1]) {
                        let at = best.partition_point(|b| before(b, &c));
                        best.insert(at, c);
                        best.truncate(k);
                    }
                }
            } else {
                let (l, r) = (nd.left, nd.right);
                let (nl, nr) = (self.box_near(l, q), self.box_near(r, q));
                if nl <= nr {
                    stack.push((r, nr));
                    stack.push((l, nl));
                } else {
                    stack.push((l, nl));
                    stack.push((r, nr));
                }
            }
        }
        best
    }

    /// Smallest squared distance from `q` to the box of `node` (as in [`Self::box_bounds`]).
    #[inline]
    fn box_near(&self, node: usize, q: &[f64]) -> f64 {
        let d = self.d;
        let (lo, hi) = (
            &self.lo[node * d..(node + 1) * d],
            &self.hi[node * d..(node + 1) * d],
        );
        let mut near = 0.0;
        for j in 0..d {
            let (a, b) = (q[j] - lo[j], hi[j] - q[j]);
            let n = if a < 0.0 {
                -a
            } else if b < 0.0 {
                -b
            } else {
                0.0
            };
            near += n * n;
        }
        near
    }
}

/// What [`KdTree::visit_within`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visit {
    /// A node intersecting the ball is about to be searched (answer `true` to skip it).
    Enter(usize),
    /// All points of this node are within the radius.
    Whole(usize),
    /// This point is within the radius.
    Point(usize),
}

/// A totally ordered `f64` for heaps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OrdF64(pub f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Rng;

    #[test]
    fn queries_equal_brute_force() {
        let mut rng = Rng::new(3);
        for d in [1usize, 2, 5] {
            let n = 700;
            let mut data: Vec<f64> = (0..n * d)
                .map(|_| (rng.uniform() * 20.0).floor() / 4.0)
                .collect();
            // exact duplicates
            for i in 0..50 {
                let (a, b) = (i * d, (i + 100) * d);
                let row: Vec<f64> = data[a..a + d].to_vec();
                data[b..b + d].copy_from_slice(&row);
            }
            let t = KdTree::new(&data, d);
            for qi in (0..n).step_by(7) {
                let q = &data[qi * d..(qi + 1) * d];
                for r2 in [0.0, 0.25, 1.0, 6.25] {
                    let mut brute: Vec<usize> = (0..n)
                        .filter(|&j| sq_dist(q, &data[j * d..(j + 1) * d]) <= r2)
                        .collect();
                    let mut got = Vec::new();
                    t.within(q, r2, &mut got);
                    got.sort_unstable();
                    brute.sort_unstable();
                    assert_eq!(got, brute, "d={d} q={qi} r2={r2}");
                    assert_eq!(t.count_within(q, r2), brute.len());
                }
                let mut all: Vec<f64> = (0..n)
                    .map(|j| sq_dist(q, &data[j * d..(j + 1) * d]))
                    .collect();
                all.sort_by(f64::total_cmp);
                for k in [1usize, 2, 5, 20, n, n + 5] {
                    assert_eq!(t.kth_sq_dist(q, k), all[k.min(n) - 1], "d={d} k={k}");
                }
            }
        }
    }
}
