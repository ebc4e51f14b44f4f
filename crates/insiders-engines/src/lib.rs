//! Clustering engines behind the [`insiders_core::Engine`] contract.
//!
//! One module per engine family: a file, or a folder when the engine is more than one idea.
//! **Registering an engine is its `pub mod NAME;` line below**: every public module here
//! that exports `pub const SPECS: &[EngineSpec]` is listed by [`registry`] (the build script
//! collects them, in the order of these lines), so an engine is its file(s) plus one line.
//! Modules that are not engines are private (`params`, `kdtree`: the k-d tree that `dbscan`,
//! `hdbscan` and `optics` share) or have no `SPECS` (`registry`).

pub mod assign;
mod kdtree;
mod params;
pub mod registry;

pub mod dbscan;
pub mod genie;
pub mod gmm;
pub mod hdbscan;
pub mod hierarchical;
pub mod kmeans;
pub mod optics;
pub mod smartcore_backend;

pub use registry::{EngineSpec, all, build, names};
