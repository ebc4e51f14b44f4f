//! One CART regression tree: squared-error (variance reduction) splits on weighted samples,
//! built depth first into a flat node array.
//!
//! The builder is scikit-learn's `DepthFirstTreeBuilder` + `BestSplitter` + `MSE` criterion
//! (version 1.9), step for step, so that with scikit-learn's random streams it grows the same
//! trees bit for bit:
//! - samples of weight 0 (not drawn by the bootstrap) take no part in the tree;
//! - a node is a leaf when `depth >= max_depth`, it has fewer than `min_samples_split` or
//!   `2 * min_samples_leaf` distinct samples, or its impurity is `<= f64::EPSILON`; with
//!   [`TreeRules::pure_nodes_are_leaves`] also when all its targets are equal (scikit-learn may
//!   split such a node when rounding leaves its impurity above `EPSILON`, e.g. for large targets);
//! - candidate features are drawn without replacement (Fisher-Yates over a features array that
//!   persists from node to node) until `max_features` were visited and at least one was not
//!   constant in the node; features found constant are remembered for the node's descendants;
//! - a visited feature sorts the node's samples (scikit-learn's introsort, [`super::sort`]),
//!   thresholds are swept at midpoints between consecutive values that differ by more than
//!   `1e-7` (`FEATURE_THRESHOLD`), and the split maximising the proxy improvement
//!   `S_L² / W_L + S_R² / W_R` wins; the first one found wins a tie;
//! - nodes are numbered in creation order, depth first, left child first: scikit-learn's node
//!   ids (`tree_.apply`). Leaves are also numbered `0..n_leaves` in that order.
//!
//! The split values are generic ([`SplitValue`]): `f32` reproduces scikit-learn, which casts the
//! input to `float32`; `f64` keeps full precision.

mod grow;

pub(crate) use grow::{FeatureRng, SplitValue, TreeRules, build};

/// Consecutive sorted feature values closer than this are treated as equal (scikit-learn's
/// `FEATURE_THRESHOLD`).
pub const FEATURE_THRESHOLD: f64 = 1e-7;

/// Marks "no such node" in [`Node::left`], [`Node::right`], [`Node::feature`] and
/// [`Node::leaf`].
pub const NONE: u32 = u32::MAX;

/// The threshold stored in leaves (scikit-learn's `TREE_UNDEFINED`).
pub const LEAF_THRESHOLD: f64 = -2.0;

/// A node of a [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// Split feature (column of the input); [`NONE`] for a leaf.
    pub feature: u32,
    /// Rows with `x[feature] <= threshold` go left; `-2.0` for a leaf (scikit-learn's
    /// `TREE_UNDEFINED`).
    pub threshold: f64,
    /// Index of the left child in [`Tree::nodes`]; [`NONE`] for a leaf.
    pub left: u32,
    /// Index of the right child in [`Tree::nodes`]; [`NONE`] for a leaf.
    pub right: u32,
    /// The prediction of the node: the weighted mean target of its training samples.
    pub value: f64,
    /// The leaf number (`0..n_leaves`, depth-first order) of a leaf; [`NONE`] for a split node.
    pub leaf: u32,
    /// Depth of the node (the root has depth 0).
    pub depth: u32,
    /// Distinct training samples in the node.
    pub n_samples: u32,
    /// Sum of the sample weights (bootstrap multiplicities) in the node.
    pub weighted_n_samples: f64,
    /// Weighted variance of the target in the node.
    pub impurity: f64,
}

impl Node {
    /// Whether the node is a leaf.
    #[inline]
    pub fn is_leaf(&self) -> bool {
        self.feature == NONE
    }
}

/// A fitted regression tree in flat storage: `nodes[0]` is the root.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    nodes: Vec<Node>,
    /// Compact copy of the split rules for walking the tree (see [`Step`]).
    walk: Vec<Step>,
    n_leaves: usize,
    depth: usize,
}

/// One node as the tree walk reads it: 16 bytes. The left child of node `i` is always `i + 1`
/// (depth-first, left-first numbering); a leaf has `threshold = -inf` and `right = i`, so that
/// every finite input stays on it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    threshold: f64,
    feature: u32,
    right: u32,
}

impl Tree {
    fn new(nodes: Vec<Node>, n_leaves: usize, depth: usize) -> Tree {
        let walk = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if n.is_leaf() {
                    Step {
                        threshold: f64::NEG_INFINITY,
                        feature: 0,
                        right: i as u32,
                    }
                } else {
                    debug_assert_eq!(n.left as usize, i + 1);
                    Step {
                        threshold: n.threshold,
                        feature: n.feature,
                        right: n.right,
                    }
                }
            })
            .collect();
        Tree {
            nodes,
            walk,
            n_leaves,
            depth,
        }
    }

    /// The leaf node reached by each row of `xs` (row-major, `d` finite values per row),
    /// passed to `out(row, node)`. Rows walk the tree eight at a time in lockstep, without
    /// branches, for `depth` steps (a row that reached its leaf stays there).
    pub(crate) fn leaf_nodes_of(&self, xs: &[f64], d: usize, mut out: impl FnMut(usize, u32)) {
        const LANES: usize = 8;
        let n = xs.len().checked_div(d).unwrap_or(0);
        let walk = &self.walk[..];
        let mut r = 0;
        while r + LANES <= n {
            let block = &xs[r * d..(r + LANES) * d];
            let mut ids = [0u32; LANES];
            for _ in 0..self.depth {
                for (k, id) in ids.iter_mut().enumerate() {
                    let s = walk[*id as usize];
                    let v = block[k * d + s.feature as usize];
                    *id = if v <= s.threshold { *id + 1 } else { s.right };
                }
            }
            for (k, &id) in ids.iter().enumerate() {
                out(r + k, id);
            }
            r += LANES;
        }
        for i in r..n {
            let row = &xs[i * d..(i + 1) * d];
            out(i, self.leaf_node_by(|f| row[f]) as u32);
        }
    }
}

impl Tree {
    /// The nodes, in depth-first creation order (left child first); index = scikit-learn's
    /// node id.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.n_leaves
    }

    /// Depth of the deepest leaf (a single-leaf tree has depth 0), as scikit-learn's
    /// `get_depth()`.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The index in [`Tree::nodes`] of the leaf reached by a row whose feature `f` is
    /// `value(f)`.
    #[inline]
    pub fn leaf_node_by(&self, value: impl Fn(usize) -> f64) -> usize {
        let mut id = 0usize;
        loop {
            let s = self.walk[id];
            if s.right as usize == id {
                return id;
            }
            id = if value(s.feature as usize) <= s.threshold {
                id + 1
            } else {
                s.right as usize
            };
        }
    }

    /// Impurity decrease per feature, normalised to sum 1 (all zeros for a single leaf);
    /// scikit-learn's `feature_importances_` of one tree.
    pub fn feature_importances(&self, n_features: usize) -> Vec<f64> {
        let mut imp = vec![0.0; n_features];
        for node in &self.nodes {
            if node.is_leaf() {
                continue;
            }
            let l = &self.nodes[node.left as usize];
            let r = &self.nodes[node.right as usize];
            imp[node.feature as usize] += node.weighted_n_samples * node.impurity
                - l.weighted_n_samples * l.impurity
                - r.weighted_n_samples * r.impurity;
        }
        let root_w = self.nodes[0].weighted_n_samples;
        if root_w > 0.0 {
            for v in &mut imp {
                *v /= root_w;
            }
        }
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            for v in &mut imp {
                *v /= total;
            }
        }
        imp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Rng;

    fn rules() -> TreeRules {
        TreeRules {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: 1,
            pure_nodes_are_leaves: true,
        }
    }

    fn cols(x: &[f64]) -> Vec<Vec<f64>> {
        vec![x.to_vec()]
    }

    fn native() -> FeatureRng {
        FeatureRng::Native(Rng::new(1))
    }

    /// Builds with both layouts (same random stream) and checks they agree.
    fn build_both(
        cols: &[Vec<f64>],
        y: &[f64],
        w: &[f64],
        rules: &TreeRules,
        rng: &mut FeatureRng,
    ) -> Tree {
        let presorted: Vec<Vec<u32>> = cols
            .iter()
            .map(|c| {
                let mut o: Vec<u32> = (0..c.len() as u32).collect();
                o.sort_by(|&a, &b| c[a as usize].total_cmp(&c[b as usize]).then(a.cmp(&b)));
                o
            })
            .collect();
        let mut rng2 = rng.clone();
        let a = build(cols, y, w, None, rules, rng);
        let b = build(cols, y, w, Some(&presorted), rules, &mut rng2);
        assert_eq!(a, b, "sorting and presorted layouts disagree");
        a
    }

    #[test]
    fn a_step_function_is_one_split() {
        let y = [1.0, 1.0, 5.0, 5.0];
        let t = build_both(
            &cols(&[0.0, 1.0, 2.0, 3.0]),
            &y,
            &[1.0; 4],
            &rules(),
            &mut native(),
        );
        assert_eq!(t.nodes().len(), 3);
        assert_eq!(t.n_leaves(), 2);
        assert_eq!(t.depth(), 1);
        let root = t.nodes()[0];
        assert_eq!(root.feature, 0);
        assert_eq!(root.threshold, 1.5);
        assert_eq!((root.left, root.right), (1, 2));
        assert_eq!(t.nodes()[1].value, 1.0);
        assert_eq!(t.nodes()[2].value, 5.0);
        assert_eq!((t.nodes()[1].leaf, t.nodes()[2].leaf), (0, 1));
        assert_eq!(t.leaf_node_by(|_| 1.5), 1);
        assert_eq!(t.leaf_node_by(|_| 1.6), 2);
        assert_eq!(t.feature_importances(1), vec![1.0]);
    }

    #[test]
    fn weights_move_the_mean_and_zero_weight_samples_are_ignored() {
        let y = [1.0, 3.0, 5.0, 100.0];
        let r = TreeRules {
            max_depth: Some(0),
            ..rules()
        };
        let t = build_both(
            &cols(&[0.0, 1.0, 2.0, 3.0]),
            &y,
            &[1.0, 3.0, 0.0, 0.0],
            &r,
            &mut native(),
        );
        assert_eq!(t.nodes().len(), 1);
        assert_eq!(t.nodes()[0].value, 2.5);
        assert_eq!(t.nodes()[0].n_samples, 2);
        assert_eq!(t.nodes()[0].weighted_n_samples, 4.0);
    }

    #[test]
    fn depth_first_left_first_numbering() {
        // y separates into 4 groups along x: a full tree of depth 2.
        let y = [0.0, 1.0, 10.0, 11.0];
        let t = build_both(
            &cols(&[0.0, 1.0, 2.0, 3.0]),
            &y,
            &[1.0; 4],
            &rules(),
            &mut native(),
        );
        // root(0) -> left(1) -> leaves 2, 3; right(4) -> leaves 5, 6
        let n = t.nodes();
        assert_eq!(n.len(), 7);
        assert_eq!((n[0].left, n[0].right), (1, 4));
        assert_eq!((n[1].left, n[1].right), (2, 3));
        assert_eq!((n[4].left, n[4].right), (5, 6));
        let leaves: Vec<u32> = n.iter().map(|v| v.leaf).collect();
        assert_eq!(leaves, vec![NONE, NONE, 0, 1, NONE, 2, 3]);
        assert_eq!(t.depth(), 2);
    }

    #[test]
    fn near_equal_values_are_not_split() {
        let y = [0.0, 1.0, 2.0];
        let t = build_both(
            &cols(&[0.0, 0.5e-7, 1.0]),
            &y,
            &[1.0; 3],
            &rules(),
            &mut native(),
        );
        // Only the threshold between 0.5e-7 and 1.0 is allowed; the two first samples share a leaf.
        assert_eq!(t.n_leaves(), 2);
        assert_eq!(t.leaf_node_by(|_| 0.0), t.leaf_node_by(|_| 0.5e-7));
        assert_eq!(t.nodes()[0].threshold, 0.5e-7 / 2.0 + 0.5);
    }

    #[test]
    fn min_samples_leaf_is_respected() {
        let y = [100.0, 0.0, 0.0, 0.0, 0.0];
        let r = TreeRules {
            min_samples_leaf: 2,
            ..rules()
        };
        let t = build_both(
            &cols(&[0.0, 1.0, 2.0, 3.0, 4.0]),
            &y,
            &[1.0; 5],
            &r,
            &mut native(),
        );
        for node in t.nodes().iter().filter(|n| n.is_leaf()) {
            assert!(node.n_samples >= 2);
        }
        assert_eq!(t.nodes()[0].threshold, 1.5);
    }

    #[test]
    fn constant_features_are_skipped_and_remembered() {
        // Feature 0 is constant, feature 1 carries the signal: every split is on feature 1,
        // whatever the draw order, and the importances say so.
        let x = vec![vec![3.0; 8], (0..8).map(f64::from).collect()];
        let y: Vec<f64> = (0..8).map(|i| f64::from(i * i)).collect();
        for seed in 0..5 {
            let r = TreeRules {
                max_features: 1,
                ..rules()
            };
            let t = build_both(&x, &y, &[1.0; 8], &r, &mut FeatureRng::Sklearn(seed));
            assert!(t.nodes().iter().all(|n| n.is_leaf() || n.feature == 1));
            assert_eq!(t.n_leaves(), 8);
            assert_eq!(t.feature_importances(2), vec![0.0, 1.0]);
        }
    }

    #[test]
    fn pure_nodes_rule() {
        // Large equal targets: rounding can leave a pure node's impurity above EPSILON.
        let y = [1e9 + 0.1; 6];
        let x = cols(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let t = build_both(
            &x,
            &y,
            &[1.0, 2.0, 3.0, 1.0, 1.0, 1.0],
            &rules(),
            &mut native(),
        );
        assert_eq!(t.n_leaves(), 1);
    }
}
