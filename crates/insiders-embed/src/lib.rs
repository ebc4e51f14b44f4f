//! Embedding spaces behind the [`insiders_core::Embedder`] contract:
//! PCA, UMAP, t-SNE and the random-forest leaf space (`forest`, alias `tree`).
//!
//! [`registry`] lists every embedder; [`space::fit_space`] builds a space (identity or a
//! registered embedder, with the target column of a supervised one) from a named feature
//! matrix; [`knn`] is the shared nearest-neighbour search.

pub mod forest;
pub mod knn;
mod params;
pub mod pca;
pub mod registry;
pub mod space;
pub mod tsne;
pub mod umap;

pub use registry::{EmbedderSpec, all, build, find, names};
pub use space::{fit_space, fit_space_sampled};
