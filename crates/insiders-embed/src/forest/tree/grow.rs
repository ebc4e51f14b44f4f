//! Growing one tree: scikit-learn's `DepthFirstTreeBuilder` + `BestSplitter` + `MSE`
//! criterion, step for step (see the parent module for the rules). The split values are
//! generic ([`SplitValue`]: `f32` as scikit-learn, or `f64`); a node's samples are ordered
//! either from presorted feature lists partitioned stably at each split, or by sorting
//! them at every node with scikit-learn's introsort ([`Order`]).

use super::{FEATURE_THRESHOLD, LEAF_THRESHOLD, NONE, Node, Tree};
use insiders_core::Rng;

/// scikit-learn's `EPSILON` for "impurity is zero".
const EPSILON: f64 = f64::EPSILON;

/// Sortable split values: `f64`, or `f32` as scikit-learn uses.
pub(crate) trait SplitValue: Copy + PartialOrd + Send + Sync + std::fmt::Debug {
    /// Whether `next` (sorted after `prev`) counts as the same value:
    /// `next <= prev + FEATURE_THRESHOLD`, in the value's own precision.
    fn tied(next: Self, prev: Self) -> bool;
    /// The value as f64.
    fn to_f64(self) -> f64;
    /// An `f64` input converted to this type.
    fn from_f64(v: f64) -> Self;
}

impl SplitValue for f64 {
    #[inline]
    fn tied(next: f64, prev: f64) -> bool {
        next <= prev + FEATURE_THRESHOLD
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(v: f64) -> f64 {
        v
    }
}

impl SplitValue for f32 {
    #[inline]
    fn tied(next: f32, prev: f32) -> bool {
        next <= prev + FEATURE_THRESHOLD as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
}

/// The random integers a tree builder draws (feature order).
#[derive(Debug, Clone)]
pub(crate) enum FeatureRng {
    /// `insiders_core::Rng`.
    Native(Rng),
    /// scikit-learn's `rand_r` state.
    Sklearn(u32),
}

impl FeatureRng {
    /// A uniform integer in `low..high` (`low < high`).
    #[inline]
    fn rand_int(&mut self, low: usize, high: usize) -> usize {
        match self {
            FeatureRng::Native(r) => low + r.below(high - low),
            FeatureRng::Sklearn(state) => {
                low + crate::forest::mt19937::our_rand_r(state) as usize % (high - low)
            }
        }
    }
}

/// Stopping and sampling rules of one tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TreeRules {
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    /// Features to visit per node (`1..=d`).
    pub max_features: usize,
    /// A node whose targets are all equal is a leaf, whatever its computed impurity.
    pub pure_nodes_are_leaves: bool,
}

/// A node waiting on the builder's stack.
#[derive(Debug, Clone, Copy)]
struct Pending {
    start: usize,
    end: usize,
    depth: usize,
    parent: u32,
    is_left: bool,
    impurity: f64,
    n_constant: usize,
}

/// The best split of a node.
#[derive(Debug, Clone, Copy)]
struct Split {
    feature: usize,
    threshold: f64,
    /// Samples `start..pos` go left.
    pos: usize,
    impurity_left: f64,
    impurity_right: f64,
    improvement: f64,
}

/// The running sums of scikit-learn's `RegressionCriterion` over `samples[start..end]`.
#[derive(Debug, Clone, Copy)]
struct Criterion {
    start: usize,
    end: usize,
    pos: usize,
    w_node: f64,
    s_total: f64,
    ss_total: f64,
    w_left: f64,
    s_left: f64,
}

impl Criterion {
    fn reset(&mut self) {
        self.pos = self.start;
        self.w_left = 0.0;
        self.s_left = 0.0;
    }

    /// Moves `samples[pos..new_pos]` to the left by forward sums only (the native layout:
    /// fewer operations; the same sums up to rounding).
    #[inline(always)]
    fn advance(&mut self, new_pos: usize, samples: &[u32], wwy: &[(f64, f64)]) {
        for &i in &samples[self.pos..new_pos] {
            let (w, wy) = wwy[i as usize];
            self.s_left += wy;
            self.w_left += w;
        }
        self.pos = new_pos;
    }

    /// Moves `samples[pos..new_pos]` to the left, summing from whichever end is nearer
    /// (scikit-learn's `update`, for bit-faithful sums).
    #[inline]
    fn update(&mut self, new_pos: usize, samples: &[u32], wwy: &[(f64, f64)]) {
        if new_pos - self.pos <= self.end - new_pos {
            self.advance(new_pos, samples, wwy);
        } else {
            self.s_left = self.s_total;
            self.w_left = self.w_node;
            for &i in samples[new_pos..self.end].iter().rev() {
                let (w, wy) = wwy[i as usize];
                self.s_left -= wy;
                self.w_left -= w;
            }
            self.pos = new_pos;
        }
    }

    #[inline]
    fn w_right(&self) -> f64 {
        self.w_node - self.w_left
    }

    #[inline]
    fn s_right(&self) -> f64 {
        self.s_total - self.s_left
    }
}

/// How the builder keeps a node's samples sorted by the feature it looks at.
enum Order<V> {
    /// scikit-learn's way: one samples array, re-sorted (introsort) for every visited feature
    /// of every node and partitioned in place after a split. Reproduces scikit-learn's exact
    /// summation order.
    Sort { samples: Vec<u32>, xf: Vec<V> },
    /// Every feature sorted once for the whole forest; the tree keeps, per feature, its drawn
    /// samples in that order (with their values) and partitions these lists stably at each
    /// split, so a node is the same range in every list and needs no sorting.
    Presorted {
        m: usize,
        /// `lists[f * m + p]`: the sample at position `p` of feature `f`'s list.
        lists: Vec<u32>,
        /// `vals[f * m + p]`: its value of feature `f`.
        vals: Vec<V>,
        goes_left: Vec<bool>,
        scratch: Vec<(u32, V)>,
    },
}

impl<V: SplitValue> Order<V> {
    /// The samples of `start..end`, in the order the node's statistics are summed.
    fn node(&self, start: usize, end: usize) -> &[u32] {
        match self {
            Order::Sort { samples, .. } => &samples[start..end],
            Order::Presorted { lists, .. } => &lists[start..end],
        }
    }

    /// Sorts the node `start..end` by feature `f`; returns the whole sample order (index with
    /// absolute positions) and values aligned with it.
    fn sort_by(&mut self, cols: &[Vec<V>], f: usize, start: usize, end: usize) -> (&[u32], &[V]) {
        match self {
            Order::Sort { samples, xf } => {
                let col = &cols[f];
                for p in start..end {
                    xf[p] = col[samples[p] as usize];
                }
                crate::forest::sort::sort(&mut xf[start..end], &mut samples[start..end]);
                (samples, xf)
            }
            Order::Presorted { m, lists, vals, .. } => {
                let r = f * *m..(f + 1) * *m;
                (&lists[r.clone()], &vals[r])
            }
        }
    }

    /// Puts the samples going left (`x[f] <= threshold`; positions `start..pos` of the last
    /// [`Order::sort_by`] of `f`) before the others.
    fn partition(
        &mut self,
        cols: &[Vec<V>],
        f: usize,
        threshold: f64,
        start: usize,
        pos: usize,
        end: usize,
    ) {
        match self {
            Order::Sort { samples, .. } => {
                // scikit-learn's `partition_samples_final`: swap right-goers to the back.
                let col = &cols[f];
                let (mut lo, mut hi) = (start, end);
                while lo < hi {
                    if col[samples[lo] as usize].to_f64() <= threshold {
                        lo += 1;
                    } else {
                        hi -= 1;
                        samples.swap(lo, hi);
                    }
                }
            }
            Order::Presorted {
                m,
                lists,
                vals,
                goes_left,
                scratch,
            } => {
                let m = *m;
                for (p, &i) in lists[f * m + start..f * m + end].iter().enumerate() {
                    goes_left[i as usize] = p < pos - start;
                }
                for g in 0..lists.len() / m.max(1) {
                    if g == f {
                        continue;
                    }
                    let r = g * m + start..g * m + end;
                    let (li, lv) = (&mut lists[r.clone()], &mut vals[r]);
                    scratch.clear();
                    let mut w = 0;
                    for k in 0..li.len() {
                        let (i, v) = (li[k], lv[k]);
                        if goes_left[i as usize] {
                            li[w] = i;
                            lv[w] = v;
                            w += 1;
                        } else {
                            scratch.push((i, v));
                        }
                    }
                    for (k, &(i, v)) in scratch.iter().enumerate() {
                        li[w + k] = i;
                        lv[w + k] = v;
                    }
                }
            }
        }
    }
}

struct Builder<'a, V> {
    cols: &'a [Vec<V>],
    y: &'a [f64],
    /// `(weight, weight * y)` of every sample.
    wwy: Vec<(f64, f64)>,
    /// Sum of all weights (scikit-learn's `weighted_n_samples`).
    w_all: f64,
    rules: &'a TreeRules,
    rng: &'a mut FeatureRng,
    order: Order<V>,
    m: usize,
    features: Vec<usize>,
    constant_features: Vec<usize>,
}

/// Builds one tree on the samples of positive `weight` (bootstrap multiplicities).
///
/// `cols[f][i]` is feature `f` of sample `i`; `weight.len() == y.len()`; at least one weight
/// must be positive. With `presorted` (`presorted[f]`: every sample sorted by feature `f`)
/// the builder uses the presorted layout, otherwise scikit-learn's per-node sorts.
pub(crate) fn build<V: SplitValue>(
    cols: &[Vec<V>],
    y: &[f64],
    weight: &[f64],
    presorted: Option<&[Vec<u32>]>,
    rules: &TreeRules,
    rng: &mut FeatureRng,
) -> Tree {
    let d = cols.len();
    let drawn = |i: &u32| weight[*i as usize] != 0.0;
    let order = match presorted {
        None => {
            let samples: Vec<u32> = (0..y.len() as u32).filter(drawn).collect();
            let xf = vec![V::from_f64(0.0); samples.len()];
            Order::Sort { samples, xf }
        }
        Some(sorted) => {
            let m = (0..y.len() as u32).filter(drawn).count();
            let mut lists = Vec::with_capacity(d * m);
            let mut vals = Vec::with_capacity(d * m);
            for (f, o) in sorted.iter().enumerate() {
                for &i in o.iter().filter(|i| drawn(i)) {
                    lists.push(i);
                    vals.push(cols[f][i as usize]);
                }
            }
            Order::Presorted {
                m,
                lists,
                vals,
                goes_left: vec![false; y.len()],
                scratch: Vec::with_capacity(m),
            }
        }
    };
    let m = weight.iter().filter(|&&w| w != 0.0).count();
    let mut b = Builder {
        cols,
        y,
        wwy: weight.iter().zip(y).map(|(&w, &v)| (w, w * v)).collect(),
        w_all: weight.iter().sum(),
        rules,
        rng,
        order,
        m,
        features: (0..d).collect(),
        constant_features: vec![0; d],
    };
    b.run()
}

impl<V: SplitValue> Builder<'_, V> {
    fn run(&mut self) -> Tree {
        let m = self.m;
        let mut nodes: Vec<Node> = Vec::with_capacity(2 * m.max(1));
        let mut n_leaves = 0usize;
        let mut max_depth_seen = 0usize;
        let mut stack = vec![Pending {
            start: 0,
            end: m,
            depth: 0,
            parent: NONE,
            is_left: false,
            impurity: f64::INFINITY,
            n_constant: 0,
        }];
        let mut first = true;
        while let Some(p) = stack.pop() {
            let (start, end, depth) = (p.start, p.end, p.depth);
            let n_node = end - start;
            // node_reset: the criterion's sums over the node, in the samples' current order.
            let (mut w, mut s, mut ss) = (0.0, 0.0, 0.0);
            let node_samples = self.order.node(start, end);
            let y0 = self.y[node_samples[0] as usize];
            let mut constant_y = true;
            for &i in node_samples {
                let ((wi, wy), yi) = (self.wwy[i as usize], self.y[i as usize]);
                s += wy;
                ss += wy * yi;
                w += wi;
                constant_y &= yi == y0;
            }
            let mut is_leaf = self.rules.max_depth.is_some_and(|md| depth >= md)
                || n_node < self.rules.min_samples_split
                || n_node < 2 * self.rules.min_samples_leaf;
            let mut impurity = p.impurity;
            if first {
                impurity = ss / w - (s / w) * (s / w);
                first = false;
            }
            is_leaf =
                is_leaf || impurity <= EPSILON || (self.rules.pure_nodes_are_leaves && constant_y);
            let mut split = None;
            let mut n_constant = p.n_constant;
            if !is_leaf {
                let crit = Criterion {
                    start,
                    end,
                    pos: start,
                    w_node: w,
                    s_total: s,
                    ss_total: ss,
                    w_left: 0.0,
                    s_left: 0.0,
                };
                let (found, total_constants) = self.node_split(crit, impurity, p.n_constant);
                n_constant = total_constants;
                split = found.filter(|sp| sp.pos < end && sp.improvement + EPSILON >= 0.0);
            }

            let id = nodes.len() as u32;
            if p.parent != NONE {
                let parent = &mut nodes[p.parent as usize];
                if p.is_left {
                    parent.left = id;
                } else {
                    parent.right = id;
                }
            }
            max_depth_seen = max_depth_seen.max(depth);
            let mut node = Node {
                feature: NONE,
                threshold: LEAF_THRESHOLD,
                left: NONE,
                right: NONE,
                value: s / w,
                leaf: NONE,
                depth: depth as u32,
                n_samples: n_node as u32,
                weighted_n_samples: w,
                impurity,
            };
            match split {
                None => {
                    node.leaf = n_leaves as u32;
                    n_leaves += 1;
                    nodes.push(node);
                }
                Some(sp) => {
                    node.feature = sp.feature as u32;
                    node.threshold = sp.threshold;
                    nodes.push(node);
                    // Right first, so that the left child is built (and numbered) first.
                    stack.push(Pending {
                        start: sp.pos,
                        end,
                        depth: depth + 1,
                        parent: id,
                        is_left: false,
                        impurity: sp.impurity_right,
                        n_constant,
                    });
                    stack.push(Pending {
                        start,
                        end: sp.pos,
                        depth: depth + 1,
                        parent: id,
                        is_left: true,
                        impurity: sp.impurity_left,
                        n_constant,
                    });
                }
            }
        }
        Tree::new(nodes, n_leaves, max_depth_seen)
    }

    /// scikit-learn's `node_split_best`: returns the best split (if any threshold is valid)
    /// and the number of features known to be constant in the node's subtree.
    fn node_split(
        &mut self,
        mut crit: Criterion,
        impurity: f64,
        n_known_constants: usize,
    ) -> (Option<Split>, usize) {
        let (start, end) = (crit.start, crit.end);
        let d = self.features.len();
        let msl = self.rules.min_samples_leaf;
        let max_features = self.rules.max_features;
        let faithful = matches!(self.order, Order::Sort { .. });
        let mut best: Option<Split> = None;
        let mut best_proxy = f64::NEG_INFINITY;
        let mut f_i = d;
        let mut n_visited = 0usize;
        let mut n_found_constants = 0usize;
        let mut n_drawn_constants = 0usize;
        let mut n_total_constants = n_known_constants;

        while f_i > n_total_constants
            && (n_visited < max_features || n_visited <= n_found_constants + n_drawn_constants)
        {
            n_visited += 1;
            let mut f_j = self
                .rng
                .rand_int(n_drawn_constants, f_i - n_found_constants);
            if f_j < n_known_constants {
                self.features.swap(n_drawn_constants, f_j);
                n_drawn_constants += 1;
                continue;
            }
            f_j += n_found_constants;
            let feature = self.features[f_j];

            let (order, xf) = self.order.sort_by(self.cols, feature, start, end);
            if V::tied(xf[end - 1], xf[start]) {
                self.features.swap(f_j, n_total_constants);
                n_found_constants += 1;
                n_total_constants += 1;
                continue;
            }
            f_i -= 1;
            self.features.swap(f_i, f_j);

            crit.reset();
            let mut p = start;
            while p < end {
                p += 1;
                while p < end && V::tied(xf[p], xf[p - 1]) {
                    p += 1;
                }
                if p == end {
                    continue;
                }
                let n_left = p - start;
                if n_left < msl || end - p < msl {
                    continue;
                }
                if faithful {
                    crit.update(p, order, &self.wwy);
                } else {
                    crit.advance(p, order, &self.wwy);
                }
                let (s_l, s_r) = (crit.s_left, crit.s_right());
                let proxy = s_l * s_l / crit.w_left + s_r * s_r / crit.w_right();
                if proxy > best_proxy {
                    best_proxy = proxy;
                    let (lo, hi) = (xf[p - 1].to_f64(), xf[p].to_f64());
                    let mut threshold = lo / 2.0 + hi / 2.0;
                    if threshold == hi || threshold.is_infinite() {
                        threshold = lo;
                    }
                    best = Some(Split {
                        feature,
                        threshold,
                        pos: p,
                        impurity_left: f64::INFINITY,
                        impurity_right: f64::INFINITY,
                        improvement: f64::NEG_INFINITY,
                    });
                }
            }
        }

        if let Some(sp) = best.as_mut() {
            // The presorted layout must see the best feature's order to partition by position.
            if matches!(self.order, Order::Presorted { .. }) {
                self.order.sort_by(self.cols, sp.feature, start, end);
            }
            self.order
                .partition(self.cols, sp.feature, sp.threshold, start, sp.pos, end);
            let order = match &self.order {
                Order::Sort { samples, .. } => &samples[..],
                Order::Presorted { m, lists, .. } => &lists[sp.feature * m..(sp.feature + 1) * m],
            };
            crit.reset();
            crit.update(sp.pos, order, &self.wwy);
            let mut sq_left = 0.0;
            for &i in &order[start..sp.pos] {
                sq_left += self.wwy[i as usize].1 * self.y[i as usize];
            }
            let sq_right = crit.ss_total - sq_left;
            let (w_l, w_r) = (crit.w_left, crit.w_right());
            let (m_l, m_r) = (crit.s_left / w_l, crit.s_right() / w_r);
            sp.impurity_left = sq_left / w_l - m_l * m_l;
            sp.impurity_right = sq_right / w_r - m_r * m_r;
            sp.improvement = (crit.w_node / self.w_all)
                * (impurity
                    - (w_r / crit.w_node * sp.impurity_right)
                    - (w_l / crit.w_node * sp.impurity_left));
        }

        // Known constants keep their order for siblings and descendants; newly found ones
        // are recorded after them.
        self.features[..n_known_constants]
            .copy_from_slice(&self.constant_features[..n_known_constants]);
        let found = n_known_constants..n_known_constants + n_found_constants;
        let (features, constants) = (&self.features, &mut self.constant_features);
        constants[found.clone()].copy_from_slice(&features[found]);
        (best, n_total_constants)
    }
}
