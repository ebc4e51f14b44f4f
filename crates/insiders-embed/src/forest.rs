//! The random-forest regressor and the forest space built on its leaves (the study's "tree
//! space"; registry name `forest`, alias `tree`).
//!
//! - [`tree`]: one CART regression tree (squared-error splits, flat node array, scikit-learn's
//!   node numbering);
//! - [`RandomForest`]: bootstrap forest of such trees grown in parallel, with out-of-bag R²,
//!   impurity importances and leaf indices (`apply`);
//! - [`forest_space`] and the registered embedder `forest`: the forest predicts a target from the
//!   input, every row becomes the vector of leaves it reaches (rows × trees), and UMAP takes
//!   that matrix to a few dimensions.
//!
//! Two leaf metrics ([`LeafMode`]): `proximity` (the default) compares leaf vectors with the
//! Hamming distance, the share of trees in which two rows fall in different leaves
//! (`1 - random-forest proximity`); `compat` reproduces the study, which fed scikit-learn's
//! leaf node ids to UMAP as numbers with the euclidean distance.

pub mod ensemble;
mod mt19937;
mod sort;
pub mod tree;

pub use ensemble::{ForestParams, MaxFeatures, RandomForest, RandomStream, r2_score};
pub use tree::{Node, Tree};

use crate::knn::Metric;
use crate::registry::EmbedderSpec;
use crate::umap::{UmapParams, umap};
use insiders_core::{Embedder, Embedding, Error, FittedEmbedder, Matrix, MatrixView, derive_seed};
use serde::{Deserialize, Serialize};

/// The embedders this module registers.
pub const SPECS: &[EmbedderSpec] = &[EmbedderSpec {
    name: "forest",
    aliases: &["tree"],
    about: "forest space: random-forest leaves (target required) embedded by UMAP",
    supervised: true,
    build: build_forest,
}];

fn build_forest(table: &toml::Table) -> Result<Box<dyn Embedder>, Error> {
    let params: ForestSpaceParams = crate::params::from_table(table)?;
    params.validate()?;
    Ok(Box::new(ForestSpace { params }))
}

/// How leaf vectors are compared in the forest space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeafMode {
    /// Leaf numbers compared with the Hamming distance: `1 - random-forest proximity`
    /// (the share of trees in which two rows share a leaf).
    #[default]
    Proximity,
    /// The study's: scikit-learn's leaf node ids used as coordinates, euclidean distance.
    Compat,
}

/// Parameters of the forest space ([`forest_space`], embedder `forest`): the forest's, the leaf
/// mode and UMAP's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForestSpaceParams {
    /// Number of trees (100).
    pub n_estimators: usize,
    /// Maximum tree depth; unlimited when absent.
    pub max_depth: Option<usize>,
    /// Minimum distinct samples to split a node (2).
    pub min_samples_split: usize,
    /// Minimum distinct samples in a leaf (1).
    pub min_samples_leaf: usize,
    /// Features considered per split (all: `1.0`).
    pub max_features: MaxFeatures,
    /// Bootstrap samples per tree (true).
    pub bootstrap: bool,
    /// Random stream of the forest; when absent, `sklearn` in `compat` mode (the study's
    /// forest, tree for tree) and `native` in `proximity` mode.
    pub rng: Option<RandomStream>,
    /// Leaf metric: `proximity` (default) or `compat`.
    pub mode: LeafMode,
    /// UMAP neighbourhood size (15).
    pub n_neighbors: usize,
    /// UMAP minimum distance (0.1).
    pub min_dist: f64,
    /// Output dimensions (2).
    pub n_components: usize,
    /// UMAP epochs; umap-learn's rule when absent.
    pub n_epochs: Option<usize>,
}

impl Default for ForestSpaceParams {
    fn default() -> Self {
        let f = ForestParams::default();
        let u = UmapParams::default();
        ForestSpaceParams {
            n_estimators: f.n_estimators,
            max_depth: f.max_depth,
            min_samples_split: f.min_samples_split,
            min_samples_leaf: f.min_samples_leaf,
            max_features: f.max_features,
            bootstrap: f.bootstrap,
            rng: None,
            mode: LeafMode::default(),
            n_neighbors: u.n_neighbors,
            min_dist: u.min_dist,
            n_components: u.n_components,
            n_epochs: u.n_epochs,
        }
    }
}

impl ForestSpaceParams {
    /// The forest part.
    pub fn forest(&self) -> ForestParams {
        ForestParams {
            n_estimators: self.n_estimators,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features: self.max_features,
            bootstrap: self.bootstrap,
            rng: self.rng.unwrap_or(match self.mode {
                LeafMode::Proximity => RandomStream::Native,
                LeafMode::Compat => RandomStream::Sklearn,
            }),
        }
    }

    /// The UMAP part (metric from the leaf mode, other UMAP settings at their defaults).
    pub fn umap(&self) -> UmapParams {
        UmapParams {
            n_neighbors: self.n_neighbors,
            min_dist: self.min_dist,
            n_components: self.n_components,
            n_epochs: self.n_epochs,
            metric: match self.mode {
                LeafMode::Proximity => Metric::Hamming,
                LeafMode::Compat => Metric::Euclidean,
            },
            ..UmapParams::default()
        }
    }

    /// Checks what can be checked without data.
    pub fn validate(&self) -> Result<(), Error> {
        self.forest().validate()?;
        if self.n_neighbors < 2 {
            return Err(Error::param("n_neighbors", "must be at least 2"));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0) {
            return Err(Error::param("min_dist", "must be finite and >= 0"));
        }
        if self.n_components == 0 {
            return Err(Error::param("n_components", "must be at least 1"));
        }
        if self.n_epochs == Some(0) {
            return Err(Error::param("n_epochs", "must be at least 1 (or absent)"));
        }
        Ok(())
    }
}

/// A computed forest space: the forest, the leaf matrix UMAP saw, and the embedding.
#[derive(Debug, Clone)]
pub struct ForestSpaceFit {
    /// The fitted forest.
    pub forest: RandomForest,
    /// Rows × trees: leaf numbers (`proximity`) or scikit-learn node ids (`compat`), as f64.
    pub leaves: Matrix,
    /// UMAP of `leaves`; `info` carries UMAP's figures and `oob_r2` (when bootstrapped),
    /// `train_r2`, `mean_depth`, `mean_leaves`.
    pub embedding: Embedding,
}

/// The seed UMAP gets inside [`forest_space`]: derived from the master seed, so that UMAP's
/// stream is unrelated to the trees' (tree `t` uses `derive_seed(seed, t)`).
pub fn umap_seed(seed: u64) -> u64 {
    derive_seed(seed, 0x756d_6170_u64 << 32)
}

/// Computes the forest space of `x` for `target`: a [`RandomForest`] fitted with `seed`, its
/// leaf matrix on `x`, and UMAP (seeded with [`umap_seed`]`(seed)`) of that matrix.
pub fn forest_space(
    x: MatrixView<'_>,
    target: &[f64],
    params: &ForestSpaceParams,
    seed: u64,
) -> Result<ForestSpaceFit, Error> {
    insiders_core::on_pool(|| forest_space_here(x, target, params, seed))
}

/// [`forest_space`] on the current thread (a rayon worker: see [`insiders_core::on_pool`]).
fn forest_space_here(
    x: MatrixView<'_>,
    target: &[f64],
    params: &ForestSpaceParams,
    seed: u64,
) -> Result<ForestSpaceFit, Error> {
    params.validate()?;
    let forest = RandomForest::fit(x, target, &params.forest(), seed)?;
    let leaves = leaf_matrix(&forest, params.mode, x)?;
    let mut embedding = umap(leaves.view(), &params.umap(), umap_seed(seed))?;
    let train_r2 = forest.score(x, target)?;
    if let Some(r2) = forest.oob_r2() {
        embedding.info.insert("oob_r2".into(), r2);
    }
    embedding.info.insert("train_r2".into(), train_r2);
    embedding
        .info
        .insert("mean_depth".into(), forest.mean_depth());
    embedding
        .info
        .insert("mean_leaves".into(), forest.mean_leaves());
    Ok(ForestSpaceFit {
        forest,
        leaves,
        embedding,
    })
}

/// The `forest` embedder (forest space); needs the `target` argument of `fit_transform`.
#[derive(Debug, Clone, Default)]
pub struct ForestSpace {
    /// Its parameters.
    pub params: ForestSpaceParams,
}

impl Embedder for ForestSpace {
    fn name(&self) -> &str {
        "forest"
    }

    fn fit_transform(
        &self,
        x: MatrixView<'_>,
        target: Option<&[f64]>,
        seed: u64,
    ) -> Result<Embedding, Error> {
        let target = target.ok_or_else(|| {
            Error::param(
                "target",
                "the forest space is supervised: give the column the forest predicts",
            )
        })?;
        Ok(forest_space(x, target, &self.params, seed)?.embedding)
    }

    /// The forest space with a model that places new rows: their leaves in the fitted
    /// forest, placed by the fitted UMAP ([`crate::umap::FittedUmap`]: the leaf vectors'
    /// nearest training rows, exact, by inverted lists for the Hamming metric). The
    /// embedding is [`Embedder::fit_transform`]'s, bit for bit.
    fn fit(
        &self,
        x: MatrixView<'_>,
        target: Option<&[f64]>,
        seed: u64,
    ) -> Result<(Embedding, Box<dyn FittedEmbedder>), Error> {
        let target = target.ok_or_else(|| {
            Error::param(
                "target",
                "the forest space is supervised: give the column the forest predicts",
            )
        })?;
        let params = self.params.clone();
        insiders_core::on_pool(|| {
            params.validate()?;
            let forest = RandomForest::fit(x, target, &params.forest(), seed)?;
            let leaves = leaf_matrix(&forest, params.mode, x)?;
            let umap = crate::umap::Umap {
                params: params.umap(),
            };
            let (mut embedding, placer) = umap.fit(leaves.view(), None, umap_seed(seed))?;
            let train_r2 = forest.score(x, target)?;
            if let Some(r2) = forest.oob_r2() {
                embedding.info.insert("oob_r2".into(), r2);
            }
            embedding.info.insert("train_r2".into(), train_r2);
            embedding
                .info
                .insert("mean_depth".into(), forest.mean_depth());
            embedding
                .info
                .insert("mean_leaves".into(), forest.mean_leaves());
            let model: Box<dyn FittedEmbedder> = Box::new(FittedForestSpace {
                forest,
                mode: params.mode,
                placer,
            });
            Ok((embedding, model))
        })
    }
}

/// The leaf matrix of `x` in `forest` under `mode` (leaf numbers or scikit-learn node ids).
fn leaf_matrix(forest: &RandomForest, mode: LeafMode, x: MatrixView<'_>) -> Result<Matrix, Error> {
    let ids = match mode {
        LeafMode::Proximity => forest.apply(x)?,
        LeafMode::Compat => forest.apply_nodes(x)?,
    };
    Ok(ids.mapv(f64::from))
}

/// A fitted forest space: new rows go down the forest, and UMAP places their leaf vectors.
#[derive(Debug)]
pub struct FittedForestSpace {
    forest: RandomForest,
    mode: LeafMode,
    placer: Box<dyn FittedEmbedder>,
}

impl FittedEmbedder for FittedForestSpace {
    fn transform(&self, x: MatrixView<'_>) -> Result<Matrix, Error> {
        let leaves = leaf_matrix(&self.forest, self.mode, x)?;
        insiders_core::on_pool(|| self.placer.transform(leaves.view()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn registered_with_defaults_and_params_checked() {
        let e = crate::build("forest", &toml::Table::new()).unwrap();
        assert_eq!(e.name(), "forest");
        let t = insiders_core::params::parse_pairs(&["mode=compat", "n_estimators=5"]).unwrap();
        assert!(crate::build("forest", &t).is_ok());
        let t = insiders_core::params::parse_pairs(&["mode=cosine"]).unwrap();
        assert!(crate::build("forest", &t).is_err());
        let t = insiders_core::params::parse_pairs(&["n_trees=5"]).unwrap();
        assert!(crate::build("forest", &t).is_err());
        let t = insiders_core::params::parse_pairs(&["n_estimators=0"]).unwrap();
        assert!(
            matches!(crate::build("forest", &t), Err(Error::Param { key, .. }) if key == "n_estimators")
        );
        let p = ForestSpaceParams::default();
        assert_eq!(p.forest(), ForestParams::default());
        let compat = ForestSpaceParams {
            mode: LeafMode::Compat,
            ..ForestSpaceParams::default()
        };
        assert_eq!(compat.forest().rng, RandomStream::Sklearn);
        assert_eq!(compat.umap().metric, Metric::Euclidean);
        assert_eq!(p.umap().metric, Metric::Hamming);
    }

    #[test]
    fn target_is_required() {
        let x = Array2::from_shape_fn((20, 2), |(i, j)| (i * 3 + j) as f64);
        let e = ForestSpace::default();
        match e.fit_transform(x.view(), None, 1) {
            Err(Error::Param { key, .. }) => assert_eq!(key, "target"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
