//! Clustering engines behind the [`insiders_core::Engine`] contract.
//!
//! One module (a file, or a folder when the engine is more than one idea) per engine family.
//! The [`engines!`](registry) list below is the registry: one line per engine module declares
//! the module and registers its `SPECS`; [`registry`] builds engines by name from it.

mod params;
#[macro_use]
pub mod registry;

engines! {
    kmeans,
    gmm,
    hierarchical,
    density,
    smartcore_backend,
}

pub use registry::{EngineSpec, all, build, names};
