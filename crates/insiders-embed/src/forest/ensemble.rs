//! The random-forest regressor: bootstrap + CART trees built in parallel, out-of-bag score,
//! impurity importances, leaf indices.

use super::mt19937::{Mt19937, RAND_R_MAX};
use super::tree::{self, FeatureRng, SplitValue, Tree, TreeRules};
use insiders_core::{Error, MatrixView, Rng, check_matrix};
use ndarray::Array2;
use rayon::prelude::*;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// How many features each split considers (scikit-learn's `max_features`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxFeatures {
    /// A share of the features, `max(1, floor(share × d))`, share in `(0, 1]`. `1.0` (all
    /// features) is scikit-learn's default for regression. TOML: a float, e.g. `0.5`.
    Fraction(f64),
    /// A number of features in `1..=d`. TOML: an integer, e.g. `2`.
    Count(usize),
    /// `max(1, floor(sqrt(d)))`. TOML: `"sqrt"`.
    Sqrt,
    /// `max(1, floor(log2(d)))`. TOML: `"log2"`.
    Log2,
}

impl Default for MaxFeatures {
    fn default() -> Self {
        MaxFeatures::Fraction(1.0)
    }
}

impl MaxFeatures {
    /// The number of features to visit per node for `d` features.
    pub fn resolve(self, d: usize) -> Result<usize, Error> {
        let k = match self {
            MaxFeatures::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(Error::param(
                        "max_features",
                        format!("a share must be in (0, 1], got {f}"),
                    ));
                }
                ((f * d as f64) as usize).max(1)
            }
            MaxFeatures::Count(k) => {
                if k == 0 || k > d {
                    return Err(Error::param(
                        "max_features",
                        format!("a count must be in 1..={d}, got {k}"),
                    ));
                }
                k
            }
            MaxFeatures::Sqrt => ((d as f64).sqrt() as usize).max(1),
            MaxFeatures::Log2 => ((d as f64).log2() as usize).max(1),
        };
        Ok(k.min(d))
    }
}

impl<'de> Deserialize<'de> for MaxFeatures {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MaxFeatures;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("max_features: a share in (0, 1], a count >= 1, \"sqrt\" or \"log2\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MaxFeatures, E> {
                Ok(MaxFeatures::Count(v as usize))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MaxFeatures, E> {
                usize::try_from(v)
                    .map(MaxFeatures::Count)
                    .map_err(|_| E::custom(format!("max_features: negative count {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<MaxFeatures, E> {
                Ok(MaxFeatures::Fraction(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MaxFeatures, E> {
                match v {
                    "sqrt" => Ok(MaxFeatures::Sqrt),
                    "log2" => Ok(MaxFeatures::Log2),
                    other => Err(E::custom(format!(
                        "max_features: unknown rule `{other}` (sqrt, log2, a share or a count)"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Serialize for MaxFeatures {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            MaxFeatures::Fraction(f) => s.serialize_f64(f),
            MaxFeatures::Count(k) => s.serialize_u64(k as u64),
            MaxFeatures::Sqrt => s.serialize_str("sqrt"),
            MaxFeatures::Log2 => s.serialize_str("log2"),
        }
    }
}

/// Where a forest's random numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RandomStream {
    /// Tree `t` draws its bootstrap and its feature order from
    /// `insiders_core::Rng::new(derive_seed(seed, t))`; inputs split in full `f64` precision,
    /// and a node whose targets are all equal is always a leaf.
    #[default]
    Native,
    /// scikit-learn's streams: tree seeds from NumPy's `RandomState(seed)`, bootstraps and
    /// feature orders as `RandomForestRegressor(random_state=seed)` draws them, inputs cast
    /// to `float32`: the same trees as scikit-learn 1.9 (`seed` must be below 2³²).
    Sklearn,
}

/// Parameters of [`RandomForest`]; the defaults are scikit-learn's `RandomForestRegressor`'s.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForestParams {
    /// Number of trees (100).
    pub n_estimators: usize,
    /// Maximum depth of a tree (root = depth 0); unlimited when absent (the default).
    pub max_depth: Option<usize>,
    /// A node with fewer distinct samples is a leaf (2; at least 2).
    pub min_samples_split: usize,
    /// Every leaf keeps at least this many distinct samples (1; at least 1).
    pub min_samples_leaf: usize,
    /// Features considered per split (all: `1.0`).
    pub max_features: MaxFeatures,
    /// Each tree sees `n` draws with replacement (true); false = every tree sees every sample
    /// once (no out-of-bag score then).
    pub bootstrap: bool,
    /// Random stream: `native` (default) or `sklearn` (reproduces scikit-learn's trees).
    pub rng: RandomStream,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_estimators: 100,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_features: MaxFeatures::default(),
            bootstrap: true,
            rng: RandomStream::Native,
        }
    }
}

impl ForestParams {
    /// Checks the ranges that do not depend on the data.
    pub fn validate(&self) -> Result<(), Error> {
        if self.n_estimators == 0 {
            return Err(Error::param("n_estimators", "must be at least 1"));
        }
        if self.max_depth == Some(0) {
            return Err(Error::param("max_depth", "must be at least 1 (or absent)"));
        }
        if self.min_samples_split < 2 {
            return Err(Error::param("min_samples_split", "must be at least 2"));
        }
        if self.min_samples_leaf == 0 {
            return Err(Error::param("min_samples_leaf", "must be at least 1"));
        }
        // Data-independent part of the max_features check.
        self.max_features.resolve(usize::MAX >> 1).map(|_| ())
    }
}

/// A fitted random-forest regressor.
///
/// Each tree's bootstrap sample and feature draws depend only on the seed and the tree's
/// index (see [`RandomStream`]), so the forest is bit-identical for any number of threads.
/// Every reduction over trees (predictions, out-of-bag sums, importances) runs in tree order.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForest {
    trees: Vec<Tree>,
    n_features: usize,
    /// Inputs are rounded to `f32` before they meet a threshold (the `sklearn` stream).
    f32_inputs: bool,
    oob_prediction: Option<Vec<Option<f64>>>,
    oob_r2: Option<f64>,
    feature_importances: Vec<f64>,
}

impl RandomForest {
    /// Fits `params.n_estimators` trees predicting `y` from the rows of `x`.
    ///
    /// Errors: empty or non-finite `x` ([`Error::EmptyInput`], [`Error::NonFinite`]), `y` of
    /// another length ([`Error::Shape`]), a non-finite target ([`Error::Param`] `target`),
    /// parameters out of range ([`Error::Param`]).
    pub fn fit(
        x: MatrixView<'_>,
        y: &[f64],
        params: &ForestParams,
        seed: u64,
    ) -> Result<RandomForest, Error> {
        params.validate()?;
        check_matrix(x)?;
        let (n, d) = x.dim();
        if y.len() != n {
            return Err(Error::Shape(format!(
                "target has {} values for {n} rows",
                y.len()
            )));
        }
        if let Some((i, v)) = y.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::param(
                "target",
                format!("non-finite value {v} at row {i}"),
            ));
        }
        if n > u32::MAX as usize / 2 {
            return Err(Error::Shape(format!("too many rows for a forest: {n}")));
        }
        let rules = TreeRules {
            max_depth: params.max_depth,
            min_samples_split: params.min_samples_split,
            min_samples_leaf: params.min_samples_leaf,
            max_features: params.max_features.resolve(d)?,
            pure_nodes_are_leaves: params.rng == RandomStream::Native,
        };
        let bootstrap = params.bootstrap;
        let grown = match params.rng {
            RandomStream::Native => {
                let cols = columns::<f64>(x);
                let presorted = presort(&cols);
                grow(
                    &cols,
                    y,
                    Some(&presorted),
                    &rules,
                    bootstrap,
                    params.n_estimators,
                    |t| {
                        let mut rng = Rng::for_task(seed, t as u64);
                        let weight = draw_weights(n, bootstrap, |n| rng.below(n));
                        (weight, FeatureRng::Native(rng))
                    },
                )
            }
            RandomStream::Sklearn => {
                let seed = u32::try_from(seed).map_err(|_| {
                    Error::param(
                        "rng",
                        format!("the sklearn stream needs a seed below 2^32, got {seed}"),
                    )
                })?;
                if let Some((row, col, v)) = x
                    .indexed_iter()
                    .find(|(_, v)| (**v as f32).is_infinite())
                    .map(|((r, c), v)| (r, c, *v))
                {
                    return Err(Error::param(
                        "rng",
                        format!("value {v} at row {row}, column {col} overflows float32"),
                    ));
                }
                // RandomState(seed).randint(np.iinfo(np.int32).max), once per tree, in order.
                let mut master = Mt19937::new(seed);
                let tree_seeds: Vec<u32> = (0..params.n_estimators)
                    .map(|_| master.bounded(i32::MAX as u32 - 1))
                    .collect();
                let cols = columns::<f32>(x);
                grow(
                    &cols,
                    y,
                    None,
                    &rules,
                    bootstrap,
                    params.n_estimators,
                    |t| {
                        let mut boot = Mt19937::new(tree_seeds[t]);
                        let weight =
                            draw_weights(n, bootstrap, |n| boot.bounded(n as u32 - 1) as usize);
                        let splitter = Mt19937::new(tree_seeds[t]).bounded(RAND_R_MAX - 1);
                        (weight, FeatureRng::Sklearn(splitter))
                    },
                )
            }
        };

        let (oob_prediction, oob_r2) = if bootstrap {
            let mut sum = vec![0.0; n];
            let mut count = vec![0u32; n];
            for (_, oob) in &grown {
                for &(i, v) in oob {
                    sum[i as usize] += v;
                    count[i as usize] += 1;
                }
            }
            let pred: Vec<Option<f64>> = sum
                .iter()
                .zip(&count)
                .map(|(&s, &c)| (c > 0).then(|| s / c as f64))
                .collect();
            let (yt, yp): (Vec<f64>, Vec<f64>) = y
                .iter()
                .zip(&pred)
                .filter_map(|(&t, p)| p.map(|p| (t, p)))
                .unzip();
            let r2 = (!yt.is_empty()).then(|| r2_score(&yt, &yp));
            (Some(pred), r2)
        } else {
            (None, None)
        };

        let trees: Vec<Tree> = grown.into_iter().map(|(t, _)| t).collect();
        let feature_importances = forest_importances(&trees, d);
        Ok(RandomForest {
            trees,
            n_features: d,
            f32_inputs: params.rng == RandomStream::Sklearn,
            oob_prediction,
            oob_r2,
            feature_importances,
        })
    }

    /// The trees, in seed order.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Number of input features the forest was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// An input value as the trees compare it (rounded to `f32` for the `sklearn` stream).
    #[inline]
    fn input(&self, v: f64) -> f64 {
        if self.f32_inputs { v as f32 as f64 } else { v }
    }

    fn check_input(&self, x: MatrixView<'_>) -> Result<(), Error> {
        check_matrix(x)?;
        if x.ncols() != self.n_features {
            return Err(Error::Shape(format!(
                "forest fitted on {} columns, got {}",
                self.n_features,
                x.ncols()
            )));
        }
        Ok(())
    }

    /// The leaf node (index in the tree's node array) of every row in every tree, rows × trees
    /// row-major. Rows go by blocks in parallel; within a block, tree by tree, so that a
    /// tree's nodes stay in cache while the block's rows walk it.
    fn leaf_nodes(&self, x: MatrixView<'_>) -> Result<Vec<u32>, Error> {
        const BLOCK: usize = 256;
        self.check_input(x)?;
        let (n, d, t) = (x.nrows(), self.n_features, self.trees.len());
        let xs: Vec<f64> = x.iter().map(|&v| self.input(v)).collect();
        let mut out = vec![0u32; n * t];
        out.par_chunks_mut(BLOCK * t)
            .enumerate()
            .for_each(|(c, block)| {
                let rows = block.len() / t;
                let xs = &xs[c * BLOCK * d..(c * BLOCK + rows) * d];
                for (k, tree) in self.trees.iter().enumerate() {
                    tree.leaf_nodes_of(xs, d, |r, node| block[r * t + k] = node);
                }
            });
        Ok(out)
    }

    /// The mean of the trees' predictions for every row of `x` (summed in tree order).
    pub fn predict(&self, x: MatrixView<'_>) -> Result<Vec<f64>, Error> {
        let nodes = self.leaf_nodes(x)?;
        let t = self.trees.len();
        Ok(nodes
            .par_chunks(t)
            .map(|row| {
                let s: f64 = row
                    .iter()
                    .zip(&self.trees)
                    .map(|(&node, tree)| tree.nodes()[node as usize].value)
                    .sum();
                s / t as f64
            })
            .collect())
    }

    /// R² of [`RandomForest::predict`] against `y` (scikit-learn's `score`).
    pub fn score(&self, x: MatrixView<'_>, y: &[f64]) -> Result<f64, Error> {
        if y.len() != x.nrows() {
            return Err(Error::Shape(format!(
                "target has {} values for {} rows",
                y.len(),
                x.nrows()
            )));
        }
        Ok(r2_score(y, &self.predict(x)?))
    }

    fn map_leaves(
        &self,
        x: MatrixView<'_>,
        id: impl Fn(&Tree, u32) -> u32 + Sync,
    ) -> Result<Array2<u32>, Error> {
        let mut nodes = self.leaf_nodes(x)?;
        let t = self.trees.len();
        nodes.par_chunks_mut(t).for_each(|row| {
            for (slot, tree) in row.iter_mut().zip(&self.trees) {
                *slot = id(tree, *slot);
            }
        });
        Array2::from_shape_vec((x.nrows(), t), nodes)
            .map_err(|e| Error::Shape(format!("leaf matrix: {e}")))
    }

    /// The leaf each row reaches in each tree, as leaf numbers `0..n_leaves` of that tree
    /// (rows × trees).
    pub fn apply(&self, x: MatrixView<'_>) -> Result<Array2<u32>, Error> {
        self.map_leaves(x, |tree, node| tree.nodes()[node as usize].leaf)
    }

    /// The leaf each row reaches in each tree, as node ids (index in the tree's node array,
    /// depth-first, left child first): what scikit-learn's `apply` returns (rows × trees).
    pub fn apply_nodes(&self, x: MatrixView<'_>) -> Result<Array2<u32>, Error> {
        self.map_leaves(x, |_, node| node)
    }

    /// Out-of-bag prediction of every training row: the mean over the trees whose bootstrap
    /// did not draw it; `None` for rows drawn by every tree. `None` without bootstrap.
    pub fn oob_prediction(&self) -> Option<&[Option<f64>]> {
        self.oob_prediction.as_deref()
    }

    /// Out-of-bag R² over the rows that have an out-of-bag prediction (scikit-learn's
    /// `oob_score_`). `None` without bootstrap or when no row was ever out of bag.
    pub fn oob_r2(&self) -> Option<f64> {
        self.oob_r2
    }

    /// Impurity-decrease importances: each tree's normalised importances averaged over the
    /// trees with at least one split, normalised to sum 1 (scikit-learn's
    /// `feature_importances_`); all zeros when no tree splits.
    pub fn feature_importances(&self) -> &[f64] {
        &self.feature_importances
    }

    /// Depth of every tree.
    pub fn depths(&self) -> Vec<usize> {
        self.trees.iter().map(Tree::depth).collect()
    }

    /// Number of leaves of every tree.
    pub fn leaf_counts(&self) -> Vec<usize> {
        self.trees.iter().map(Tree::n_leaves).collect()
    }

    /// Mean tree depth.
    pub fn mean_depth(&self) -> f64 {
        self.depths().iter().sum::<usize>() as f64 / self.trees.len() as f64
    }

    /// Mean number of leaves per tree.
    pub fn mean_leaves(&self) -> f64 {
        self.leaf_counts().iter().sum::<usize>() as f64 / self.trees.len() as f64
    }
}

/// `x` column by column, as split values.
fn columns<V: SplitValue>(x: MatrixView<'_>) -> Vec<Vec<V>> {
    (0..x.ncols())
        .map(|f| x.column(f).iter().map(|&v| V::from_f64(v)).collect())
        .collect()
}

/// Every column's sample order by `(value, index)`.
fn presort(cols: &[Vec<f64>]) -> Vec<Vec<u32>> {
    cols.par_iter()
        .map(|c| {
            let mut o: Vec<u32> = (0..c.len() as u32).collect();
            o.sort_unstable_by(|&a, &b| c[a as usize].total_cmp(&c[b as usize]).then(a.cmp(&b)));
            o
        })
        .collect()
}

/// Bootstrap multiplicities: `n` draws with replacement (`draw(n)` in `0..n`), or all ones.
fn draw_weights(n: usize, bootstrap: bool, mut draw: impl FnMut(usize) -> usize) -> Vec<f64> {
    if !bootstrap {
        return vec![1.0; n];
    }
    let mut weight = vec![0.0; n];
    for _ in 0..n {
        weight[draw(n)] += 1.0;
    }
    weight
}

/// Grows `n_trees` trees in parallel (tree `t` from `setup(t)`: its weights and its feature
/// stream) and predicts each tree's out-of-bag rows; results in tree order.
fn grow<V: SplitValue>(
    cols: &[Vec<V>],
    y: &[f64],
    presorted: Option<&[Vec<u32>]>,
    rules: &TreeRules,
    bootstrap: bool,
    n_trees: usize,
    setup: impl Fn(usize) -> (Vec<f64>, FeatureRng) + Sync,
) -> Vec<(Tree, Vec<(u32, f64)>)> {
    (0..n_trees)
        .into_par_iter()
        .map(|t| {
            let (weight, mut rng) = setup(t);
            let tree = tree::build(cols, y, &weight, presorted, rules, &mut rng);
            let oob: Vec<(u32, f64)> = if bootstrap {
                (0..y.len())
                    .filter(|&i| weight[i] == 0.0)
                    .map(|i| {
                        let leaf = tree.leaf_node_by(|f| cols[f][i].to_f64());
                        (i as u32, tree.nodes()[leaf].value)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            (tree, oob)
        })
        .collect()
}

fn forest_importances(trees: &[Tree], d: usize) -> Vec<f64> {
    let mut sum = vec![0.0; d];
    let mut used = 0usize;
    for t in trees.iter().filter(|t| t.nodes().len() > 1) {
        for (s, v) in sum.iter_mut().zip(t.feature_importances(d)) {
            *s += v;
        }
        used += 1;
    }
    if used == 0 {
        return sum;
    }
    for s in &mut sum {
        *s /= used as f64;
    }
    let total: f64 = sum.iter().sum();
    if total > 0.0 {
        for s in &mut sum {
            *s /= total;
        }
    }
    sum
}

/// Coefficient of determination `1 - SS_res / SS_tot` (scikit-learn's `r2_score`; for a
/// constant `y_true` it is 1 when the prediction is exact and 0 otherwise). Sums run in
/// index order. NaN for empty or unequal-length input.
pub fn r2_score(y_true: &[f64], y_pred: &[f64]) -> f64 {
    if y_true.is_empty() || y_true.len() != y_pred.len() {
        return f64::NAN;
    }
    let mean = y_true.iter().sum::<f64>() / y_true.len() as f64;
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|t| (t - mean) * (t - mean)).sum();
    if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_features_rules() {
        assert_eq!(MaxFeatures::Fraction(1.0).resolve(4), Ok(4));
        assert_eq!(MaxFeatures::Fraction(0.3).resolve(4), Ok(1));
        assert_eq!(MaxFeatures::Fraction(0.5).resolve(4), Ok(2));
        assert_eq!(MaxFeatures::Count(3).resolve(4), Ok(3));
        assert_eq!(MaxFeatures::Sqrt.resolve(10), Ok(3));
        assert_eq!(MaxFeatures::Log2.resolve(10), Ok(3));
        assert_eq!(MaxFeatures::Log2.resolve(1), Ok(1));
        assert!(MaxFeatures::Count(5).resolve(4).is_err());
        assert!(MaxFeatures::Count(0).resolve(4).is_err());
        assert!(MaxFeatures::Fraction(0.0).resolve(4).is_err());
        assert!(MaxFeatures::Fraction(1.5).resolve(4).is_err());
    }

    #[test]
    fn params_from_toml() {
        let t = insiders_core::params::parse_pairs(&[
            "n_estimators=10",
            "max_features=sqrt",
            "max_depth=3",
        ])
        .unwrap();
        let p: ForestParams = insiders_core::params::from_table(&t).unwrap();
        assert_eq!(p.n_estimators, 10);
        assert_eq!(p.max_features, MaxFeatures::Sqrt);
        assert_eq!(p.max_depth, Some(3));
        let t = insiders_core::params::parse_pairs(&["max_features=0.5"]).unwrap();
        let p: ForestParams = insiders_core::params::from_table(&t).unwrap();
        assert_eq!(p.max_features, MaxFeatures::Fraction(0.5));
        let t = insiders_core::params::parse_pairs(&["max_features=2"]).unwrap();
        let p: ForestParams = insiders_core::params::from_table(&t).unwrap();
        assert_eq!(p.max_features, MaxFeatures::Count(2));
        let t = insiders_core::params::parse_pairs(&["max_features=half"]).unwrap();
        assert!(insiders_core::params::from_table::<ForestParams>(&t).is_err());
        assert_eq!(ForestParams::default().validate(), Ok(()));
        let bad = ForestParams {
            min_samples_split: 1,
            ..ForestParams::default()
        };
        assert!(
            matches!(bad.validate(), Err(Error::Param { key, .. }) if key == "min_samples_split")
        );
    }

    #[test]
    fn r2_conventions() {
        assert_eq!(r2_score(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(r2_score(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]), 0.0);
        assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 1.0]), 1.0);
        assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
        assert!(r2_score(&[], &[]).is_nan());
    }
}
