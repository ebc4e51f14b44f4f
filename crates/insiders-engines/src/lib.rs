//! Clustering engines behind the [`insiders_core::Engine`] contract.
//!
//! One module per engine family: a file, or a folder when the engine is more than one idea.
//! **Registering an engine is its `pub mod NAME;` line below**: every public module here
//! that exports `pub const SPECS: &[EngineSpec]` is listed by [`registry`] (the build script
//! collects them, in the order of these lines), so an engine is its file(s) plus one line.
//! Modules that are not engines are private (`params`, the shared `kdtree`) or have no
//! `SPECS` (`registry`).

mod params;
pub mod registry;

pub mod density;
pub mod gmm;
pub mod hierarchical;
pub mod kmeans;
pub mod smartcore_backend;

pub use registry::{EngineSpec, all, build, names};
