//! A shallow CART classifier that explains a boolean membership (e.g. "is an Insider") with
//! readable rules.
//!
//! [`DecisionTree::fit`] grows a binary tree greedily, as scikit-learn's
//! `DecisionTreeClassifier` does: at each node every feature and every threshold halfway
//! between consecutive distinct sorted values is tried, and the split that most reduces the
//! weighted Gini impurity wins (ties: the first feature, then the lowest threshold); samples
//! with `value <= threshold` go left. Growth stops at `max_depth`, at pure nodes, and where no
//! split leaves `min_samples_leaf` samples on both sides. Each leaf predicts the class with the
//! larger (weighted) count.
//!
//! [`DecisionTree::rules`] turns each leaf that predicts membership into plain-language
//! conditions, e.g. `"gross_revenue > 4,382.61 and n_purchases > 7"`, with its support,
//! precision and recall on the training data.
//!
//! # Example
//! ```
//! use insiders_core::Matrix;
//! use insiders_stats::tree::{DecisionTree, TreeConfig};
//!
//! // revenue, purchases
//! let x = Matrix::from_shape_vec((6, 2), vec![
//!     100.0, 1.0, 200.0, 2.0, 5000.0, 9.0, 6000.0, 12.0, 5500.0, 3.0, 150.0, 10.0,
//! ]).unwrap();
//! let y = [false, false, true, true, false, false];
//! let tree = DecisionTree::fit(x.view(), &["revenue", "purchases"], &y, &TreeConfig::new(2))?;
//! let rules = tree.rules();
//! assert_eq!(rules.len(), 1);
//! assert_eq!(rules[0].text, "revenue > 2,600.00 and purchases > 6.00");
//! assert_eq!(tree.training_scores().accuracy, 1.0);
//! # Ok::<(), insiders_stats::StatsError>(())
//! ```

use insiders_core::MatrixView;
use rayon::prelude::*;

use crate::StatsError;

/// Values closer than this are treated as equal when looking for thresholds (scikit-learn's
/// `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;

/// Class weights of the impurity and of the leaf votes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every sample weighs 1.
    Uniform,
    /// `n / (2 n_class)`, so that both classes weigh the same in total (scikit-learn's
    /// `"balanced"`).
    Balanced,
    /// Explicit weights of the negative and positive class (each finite and > 0).
    Custom {
        /// Weight of a sample of the negative class.
        negative: f64,
        /// Weight of a sample of the positive class.
        positive: f64,
    },
}

/// Settings of [`DecisionTree::fit`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeConfig {
    /// Maximum depth (the root is depth 0; a tree of depth 3 has at most 8 leaves); >= 1.
    pub max_depth: usize,
    /// Minimum number of samples in each leaf; >= 1.
    pub min_samples_leaf: usize,
    /// Class weights.
    pub class_weight: ClassWeight,
}

impl TreeConfig {
    /// Depth `max_depth`, `min_samples_leaf = 1`, uniform weights (scikit-learn's defaults).
    pub fn new(max_depth: usize) -> TreeConfig {
        TreeConfig {
            max_depth,
            min_samples_leaf: 1,
            class_weight: ClassWeight::Uniform,
        }
    }
}

/// One node of a fitted tree.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Node {
    /// The split: feature index and threshold (`<=` goes left); `None` for a leaf.
    pub split: Option<(usize, f64)>,
    /// Index of the left child (when split).
    pub left: usize,
    /// Index of the right child (when split).
    pub right: usize,
    /// Depth (root = 0).
    pub depth: usize,
    /// Training samples reaching the node.
    pub n_samples: usize,
    /// Positive training samples reaching the node.
    pub n_positive: usize,
    /// The class predicted if the node were a leaf.
    pub predicts: bool,
}

/// One condition of a rule on a feature: `lower < value <= upper` (either end optional).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Condition {
    /// The feature's name.
    pub feature: String,
    /// Strict lower bound (`value > lower`).
    pub lower: Option<f64>,
    /// Inclusive upper bound (`value <= upper`).
    pub upper: Option<f64>,
}

/// A leaf that predicts membership, as conditions with its quality on the training data.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    /// The conditions, one per feature, in the order they are first tested from the root.
    pub conditions: Vec<Condition>,
    /// The conditions in words, joined by "and" (e.g. `"gross_revenue > 4,382.61 and
    /// recency_days <= 30.50"`); `"always"` for a tree with no split.
    pub text: String,
    /// Training samples meeting the rule.
    pub support: usize,
    /// `support` as a share of all training samples.
    pub support_share: f64,
    /// Members among them.
    pub positives: usize,
    /// `positives / support`: how many who meet the rule are members.
    pub precision: f64,
    /// `positives / all members`: how many members the rule finds.
    pub recall: f64,
}

/// Confusion counts and scores of membership predictions.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Members predicted as members.
    pub true_positives: usize,
    /// Non-members predicted as members.
    pub false_positives: usize,
    /// Non-members predicted as non-members.
    pub true_negatives: usize,
    /// Members predicted as non-members.
    pub false_negatives: usize,
    /// `tp / (tp + fp)` (NaN when nothing is predicted a member).
    pub precision: f64,
    /// `tp / (tp + fn)` (NaN when there is no member).
    pub recall: f64,
    /// Share of correct predictions.
    pub accuracy: f64,
}

impl Scores {
    fn from_counts(tp: usize, fp: usize, tn: usize, fn_: usize) -> Scores {
        let ratio = |a: usize, b: usize| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        Scores {
            true_positives: tp,
            false_positives: fp,
            true_negatives: tn,
            false_negatives: fn_,
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            accuracy: ratio(tp + tn, tp + fp + tn + fn_),
        }
    }
}

/// A fitted classification tree.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecisionTree {
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// The nodes; the root is node 0.
    pub nodes: Vec<Node>,
    /// The settings it was fitted with.
    pub config: TreeConfig,
}

/// The best split of one feature at one node: (proxy improvement, threshold).
fn best_split_of_feature(
    col: &[f64],
    y: &[bool],
    idx: &[usize],
    w: (f64, f64),
    min_leaf: usize,
) -> Option<(f64, f64)> {
    let mut order: Vec<usize> = idx.to_vec();
    order.sort_by(|&a, &b| col[a].total_cmp(&col[b]));
    let n = order.len();
    let (wn, wp) = w;
    let tot_p = order.iter().filter(|&&i| y[i]).count() as f64 * wp;
    let tot_n = (n as f64) * wn - order.iter().filter(|&&i| y[i]).count() as f64 * wn;
    let (mut lp, mut ln) = (0.0, 0.0);
    let mut best: Option<(f64, f64)> = None;
    for i in 1..n {
        let prev = order[i - 1];
        if y[prev] {
            lp += wp;
        } else {
            ln += wn;
        }
        if i < min_leaf || n - i < min_leaf {
            continue;
        }
        let (a, b) = (col[prev], col[order[i]]);
        if b <= a + FEATURE_THRESHOLD {
            continue;
        }
        let (rp, rn) = (tot_p - lp, tot_n - ln);
        let (wl, wr) = (lp + ln, rp + rn);
        // -(w_l gini_l + w_r gini_r) up to a constant: sum of squares over weights
        let proxy = (lp * lp + ln * ln) / wl + (rp * rp + rn * rn) / wr;
        if best.is_none_or(|(p, _)| proxy > p) {
            let mut t = a / 2.0 + b / 2.0;
            if t == b || !t.is_finite() {
                t = a;
            }
            best = Some((proxy, t));
        }
    }
    best
}

impl DecisionTree {
    /// Fits a tree predicting `y` from the rows of `x` (one column per named feature).
    ///
    /// # Errors
    /// [`StatsError::Empty`] for no rows or no columns; [`StatsError::Shape`] when `y` or the
    /// names do not match `x`; [`StatsError::NonFinite`] for a NaN or infinite feature value
    /// (index = row * columns + column); [`StatsError::Param`] for `max_depth` or
    /// `min_samples_leaf` of 0 or bad custom weights; [`StatsError::Degenerate`] when `y` has
    /// one class only.
    pub fn fit<S: AsRef<str>>(
        x: MatrixView<'_>,
        feature_names: &[S],
        y: &[bool],
        config: &TreeConfig,
    ) -> Result<DecisionTree, StatsError> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 {
            return Err(StatsError::Empty {
                what: "feature matrix",
            });
        }
        if y.len() != n {
            return Err(StatsError::Shape(format!(
                "{} labels for {n} rows",
                y.len()
            )));
        }
        if feature_names.len() != d {
            return Err(StatsError::Shape(format!(
                "{} feature names for {d} columns",
                feature_names.len()
            )));
        }
        if let Some((k, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(StatsError::NonFinite {
                what: "feature matrix",
                index: k,
                value: *v,
            });
        }
        if config.max_depth == 0 {
            return Err(StatsError::param("max_depth", "must be >= 1"));
        }
        if config.min_samples_leaf == 0 {
            return Err(StatsError::param("min_samples_leaf", "must be >= 1"));
        }
        let n_pos = y.iter().filter(|&&v| v).count();
        if n_pos == 0 || n_pos == n {
            return Err(StatsError::Degenerate(
                "the membership has one class only: nothing to explain".into(),
            ));
        }
        let w = match config.class_weight {
            ClassWeight::Uniform => (1.0, 1.0),
            ClassWeight::Balanced => (
                n as f64 / (2.0 * (n - n_pos) as f64),
                n as f64 / (2.0 * n_pos as f64),
            ),
            ClassWeight::Custom { negative, positive } => {
                for (key, v) in [
                    ("class_weight.negative", negative),
                    ("class_weight.positive", positive),
                ] {
                    if !(v.is_finite() && v > 0.0) {
                        return Err(StatsError::param(
                            key,
                            format!("must be finite and > 0, got {v}"),
                        ));
                    }
                }
                (negative, positive)
            }
        };
        let cols: Vec<Vec<f64>> = (0..d).map(|j| x.column(j).to_vec()).collect();
        let mut tree = DecisionTree {
            feature_names: feature_names
                .iter()
                .map(|s| s.as_ref().to_string())
                .collect(),
            nodes: Vec::new(),
            config: *config,
        };
        // depth-first growth with an explicit stack: (node index, its samples)
        let all: Vec<usize> = (0..n).collect();
        tree.nodes.push(Self::leaf(&all, y, w, 0));
        let mut stack = vec![(0usize, all)];
        while let Some((id, idx)) = stack.pop() {
            let node = &tree.nodes[id];
            let pure = node.n_positive == 0 || node.n_positive == node.n_samples;
            if node.depth >= config.max_depth || pure || idx.len() < 2 * config.min_samples_leaf {
                continue;
            }
            let candidates: Vec<Option<(f64, f64)>> = cols
                .par_iter()
                .map(|c| best_split_of_feature(c, y, &idx, w, config.min_samples_leaf))
                .collect();
            let mut best: Option<(usize, f64, f64)> = None;
            for (j, c) in candidates.into_iter().enumerate() {
                if let Some((proxy, t)) = c
                    && best.is_none_or(|(_, p, _)| proxy > p)
                {
                    best = Some((j, proxy, t));
                }
            }
            let Some((j, _, t)) = best else { continue };
            let (left, right): (Vec<usize>, Vec<usize>) =
                idx.iter().partition(|&&i| cols[j][i] <= t);
            let depth = tree.nodes[id].depth + 1;
            let (li, ri) = (tree.nodes.len(), tree.nodes.len() + 1);
            tree.nodes.push(Self::leaf(&left, y, w, depth));
            tree.nodes.push(Self::leaf(&right, y, w, depth));
            let node = &mut tree.nodes[id];
            node.split = Some((j, t));
            node.left = li;
            node.right = ri;
            stack.push((ri, right));
            stack.push((li, left));
        }
        Ok(tree)
    }

    fn leaf(idx: &[usize], y: &[bool], w: (f64, f64), depth: usize) -> Node {
        let n_positive = idx.iter().filter(|&&i| y[i]).count();
        let n_negative = idx.len() - n_positive;
        Node {
            split: None,
            left: 0,
            right: 0,
            depth,
            n_samples: idx.len(),
            n_positive,
            predicts: n_positive as f64 * w.1 > n_negative as f64 * w.0,
        }
    }

    /// The depth of the fitted tree (0 for a single leaf).
    pub fn depth(&self) -> usize {
        self.nodes.iter().map(|n| n.depth).max().unwrap_or(0)
    }

    /// The number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.split.is_none()).count()
    }

    /// The prediction for one row of feature values.
    ///
    /// # Errors
    /// [`StatsError::Shape`] for a row of the wrong length; [`StatsError::NonFinite`] for a
    /// NaN or infinite value.
    pub fn predict_row(&self, row: &[f64]) -> Result<bool, StatsError> {
        if row.len() != self.feature_names.len() {
            return Err(StatsError::Shape(format!(
                "row of {} values for {} features",
                row.len(),
                self.feature_names.len()
            )));
        }
        crate::error::check_finite("row", row)?;
        let malformed = || StatsError::Shape("malformed tree: a node index is out of range".into());
        let mut node = self.nodes.first().ok_or_else(malformed)?;
        let mut steps = 0;
        while let Some((j, t)) = node.split {
            steps += 1;
            if steps > self.nodes.len() {
                return Err(malformed());
            }
            let next = if row.get(j).is_some_and(|v| *v <= t) {
                node.left
            } else {
                node.right
            };
            node = self.nodes.get(next).ok_or_else(malformed)?;
        }
        Ok(node.predicts)
    }

    /// Predictions for every row of `x`.
    ///
    /// # Errors
    /// As [`DecisionTree::predict_row`], for the first bad row.
    pub fn predict(&self, x: MatrixView<'_>) -> Result<Vec<bool>, StatsError> {
        x.outer_iter()
            .map(|r| {
                let row: Vec<f64> = r.to_vec();
                self.predict_row(&row)
            })
            .collect()
    }

    /// Precision, recall and accuracy of the predictions for `x` against `y`.
    ///
    /// # Errors
    /// As [`DecisionTree::predict`]; [`StatsError::Shape`] when `y` does not match `x`.
    pub fn evaluate(&self, x: MatrixView<'_>, y: &[bool]) -> Result<Scores, StatsError> {
        if y.len() != x.nrows() {
            return Err(StatsError::Shape(format!(
                "{} labels for {} rows",
                y.len(),
                x.nrows()
            )));
        }
        let pred = self.predict(x)?;
        let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
        for (p, t) in pred.iter().zip(y) {
            match (p, t) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, false) => tn += 1,
                (false, true) => fn_ += 1,
            }
        }
        Ok(Scores::from_counts(tp, fp, tn, fn_))
    }

    /// Precision, recall and accuracy on the training data (from the leaf counts).
    pub fn training_scores(&self) -> Scores {
        let Some(root) = self.nodes.first() else {
            return Scores::from_counts(0, 0, 0, 0);
        };
        let (mut tp, mut fp) = (0, 0);
        for leaf in self
            .nodes
            .iter()
            .filter(|n| n.split.is_none() && n.predicts)
        {
            tp += leaf.n_positive;
            fp += leaf.n_samples - leaf.n_positive;
        }
        let fn_ = root.n_positive.saturating_sub(tp);
        let tn = root.n_samples.saturating_sub(root.n_positive + fp);
        Scores::from_counts(tp, fp, tn, fn_)
    }

    /// One [`Rule`] per leaf that predicts membership, most members first (ties: left to
    /// right in the tree).
    pub fn rules(&self) -> Vec<Rule> {
        let Some(root) = self.nodes.first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // depth-first, left first, carrying the path's conditions
        let mut stack: Vec<(usize, Vec<Condition>)> = vec![(0, Vec::new())];
        let mut visits = 0;
        while let Some((id, conds)) = stack.pop() {
            visits += 1;
            let Some(node) = self.nodes.get(id).filter(|_| visits <= self.nodes.len()) else {
                continue;
            };
            match node.split {
                Some((j, t)) => {
                    let Some(name) = self.feature_names.get(j) else {
                        continue;
                    };
                    let narrow = |upper: bool| {
                        let mut c = conds.clone();
                        let pos = c.iter().position(|k| &k.feature == name);
                        let k = match pos {
                            Some(p) => &mut c[p],
                            None => {
                                c.push(Condition {
                                    feature: name.clone(),
                                    lower: None,
                                    upper: None,
                                });
                                let last = c.len() - 1;
                                &mut c[last]
                            }
                        };
                        if upper {
                            k.upper = Some(k.upper.map_or(t, |u| u.min(t)));
                        } else {
                            k.lower = Some(k.lower.map_or(t, |l| l.max(t)));
                        }
                        c
                    };
                    stack.push((node.right, narrow(false)));
                    stack.push((node.left, narrow(true)));
                }
                None if node.predicts => {
                    let text = if conds.is_empty() {
                        "always".to_string()
                    } else {
                        conds.iter().map(describe).collect::<Vec<_>>().join(" and ")
                    };
                    out.push(Rule {
                        text,
                        conditions: conds,
                        support: node.n_samples,
                        support_share: node.n_samples as f64 / root.n_samples.max(1) as f64,
                        positives: node.n_positive,
                        precision: node.n_positive as f64 / node.n_samples.max(1) as f64,
                        recall: node.n_positive as f64 / root.n_positive.max(1) as f64,
                    });
                }
                None => {}
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.positives));
        out
    }
}

/// A condition in words.
fn describe(c: &Condition) -> String {
    match (c.lower, c.upper) {
        (Some(l), Some(u)) => format!(
            "{} < {} <= {}",
            format_number(l),
            c.feature,
            format_number(u)
        ),
        (Some(l), None) => format!("{} > {}", c.feature, format_number(l)),
        (None, Some(u)) => format!("{} <= {}", c.feature, format_number(u)),
        (None, None) => format!("{} (any)", c.feature),
    }
}

/// A number with two decimals and thousands separators: `4382.606` -> `"4,382.61"`.
pub fn format_number(v: f64) -> String {
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 && !s.trim_start_matches(['0', '.']).is_empty() {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Matrix;

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_number(4382.606), "4,382.61");
        assert_eq!(format_number(7.0), "7.00");
        assert_eq!(format_number(-1234567.891), "-1,234,567.89");
        assert_eq!(format_number(-0.001), "0.00");
        assert_eq!(format_number(999.999), "1,000.00");
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = Matrix::from_shape_vec((3, 1), vec![1.0, 2.0, 3.0]).unwrap();
        let cfg = TreeConfig::new(2);
        assert!(matches!(
            DecisionTree::fit(x.view(), &["a"], &[true, true, true], &cfg),
            Err(StatsError::Degenerate(_))
        ));
        assert!(matches!(
            DecisionTree::fit(x.view(), &["a"], &[true, false], &cfg),
            Err(StatsError::Shape(_))
        ));
        assert!(matches!(
            DecisionTree::fit(x.view(), &["a", "b"], &[true, false, true], &cfg),
            Err(StatsError::Shape(_))
        ));
        assert!(
            DecisionTree::fit(x.view(), &["a"], &[true, false, true], &TreeConfig::new(0)).is_err()
        );
        let nan = Matrix::from_shape_vec((2, 1), vec![1.0, f64::NAN]).unwrap();
        assert!(matches!(
            DecisionTree::fit(nan.view(), &["a"], &[true, false], &cfg),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
        let empty = Matrix::zeros((0, 2));
        assert!(DecisionTree::fit(empty.view(), &["a", "b"], &[], &cfg).is_err());
        let t = DecisionTree::fit(x.view(), &["a"], &[false, true, true], &cfg).unwrap();
        assert!(t.predict_row(&[1.0, 2.0]).is_err());
        assert!(t.predict_row(&[f64::NAN]).is_err());
    }

    #[test]
    fn malformed_trees_do_not_panic() {
        let mut t = DecisionTree {
            feature_names: vec!["a".into()],
            nodes: Vec::new(),
            config: TreeConfig::new(1),
        };
        assert!(t.predict_row(&[1.0]).is_err());
        assert!(t.rules().is_empty());
        assert_eq!(t.training_scores().true_positives, 0);
        // a node that is its own child
        t.nodes.push(Node {
            split: Some((0, 0.5)),
            left: 0,
            right: 7,
            depth: 0,
            n_samples: 2,
            n_positive: 1,
            predicts: true,
        });
        assert!(t.predict_row(&[0.0]).is_err());
        assert!(t.predict_row(&[1.0]).is_err());
        let _ = t.rules();
    }

    #[test]
    fn min_samples_leaf_and_threshold_midpoints() {
        let x = Matrix::from_shape_vec((6, 1), vec![1.0, 2.0, 3.0, 10.0, 11.0, 12.0]).unwrap();
        let y = [false, false, false, true, true, true];
        let t = DecisionTree::fit(x.view(), &["v"], &y, &TreeConfig::new(3)).unwrap();
        assert_eq!(t.nodes[0].split, Some((0, 6.5)));
        assert_eq!(t.n_leaves(), 2);
        let mut cfg = TreeConfig::new(3);
        cfg.min_samples_leaf = 4;
        let t = DecisionTree::fit(x.view(), &["v"], &y, &cfg).unwrap();
        assert_eq!(t.n_leaves(), 1);
        assert_eq!(t.training_scores().accuracy, 0.5);
    }
}
