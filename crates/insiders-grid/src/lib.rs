//! The benchmark grid as a library: every space x engine x parameter point x k of a grid
//! configuration (`grid.toml`), fitted and scored on the model matrix of the one pipeline
//! (`insiders_pipeline`, so the grid honours `insiders.toml`), written to a run folder.
//!
//! - [`config`]: the grid configuration, cell ids and cell seeds;
//! - [`results`]: the one typed results record ([`Cell`]), read and written by everyone;
//! - [`run`]: running a grid (spaces concurrently, cells in parallel, bit-identical for any
//!   thread count);
//! - [`datasets`]: the grid over matrix data sets of the `datasets/` registry with reference
//!   labels (the clustbench batteries): true k(s) and the k range, external scores, and the
//!   published labels of other implementations scored the same way;
//! - [`customer_sets`]: the real data and the synthetic shops in the same run, through the
//!   customer pipeline (the shops' archetypes as reference labels);
//! - [`cell_stability`]: stability as a score (seed and bootstrap ARI per cell);
//! - [`python`]: the Python grid (`reference_grid.csv`) read once, with our names;
//! - [`check`]: a run against the Python grid (`insiders grid-check`);
//! - [`grid_report`]: a run folder as HTML and Markdown with SVG figures (`insiders grid-report`);
//! - [`choice`]: the best cell by stated criteria (`[model.from_grid]` of `insiders run`);
//! - [`manifest`]: what produced a run (commit, config, versions, machine, timings).

pub mod cell_stability;
pub mod check;
pub mod choice;
pub mod config;
pub mod customer_sets;
pub mod datasets;
pub mod grid_report;
pub mod manifest;
pub mod python;
pub mod results;
pub mod run;

pub use config::{EngineSpec, GridConfig, SpaceSpec, cell_id, cell_seed, param_points};
pub use results::Cell;
pub use run::{GridArgs, run};

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the grid, its checks and its report.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A CSV file is malformed (the csv crate's message names the line).
    #[error("{}: {source}", path.display())]
    Csv { path: PathBuf, source: csv::Error },
    /// A JSON file is malformed.
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A grid configuration is not valid (the message names the key).
    #[error("in {path}: {source}")]
    Config {
        path: String,
        source: Box<toml::de::Error>,
    },
    /// A setting or an argument is invalid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The data could not be prepared (read, clean, features, scaling).
    #[error("preparing the model matrix: {0}")]
    Pipeline(#[from] insiders_pipeline::PipelineError),
    /// A matrix or labels file could not be read or written.
    #[error(transparent)]
    Ingest(#[from] insiders_ingest::IngestError),
    /// An engine, embedder or metric refused its input.
    #[error(transparent)]
    Contract(#[from] insiders_core::Error),
    /// A score could not be computed.
    #[error(transparent)]
    Eval(#[from] insiders_eval::EvalError),
    /// A data set of the registry could not be found or read.
    #[error(transparent)]
    Dataset(#[from] insiders_datasets::DatasetError),
    /// The comparison with the Python grid failed; every failed check is listed.
    #[error("{} check(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    CheckFailed(Vec<String>),
}

impl GridError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        GridError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads a text file, naming it in the error.
pub(crate) fn read_text(path: &Path) -> Result<String, GridError> {
    std::fs::read_to_string(path).map_err(|e| GridError::io(path, e))
}

/// Reads a JSON file, naming it in the error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, GridError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|source| GridError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// The shared data folder: `INSIDERS_SHARED`, or `../shared` beside the workspace this crate
/// was built from.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("INSIDERS_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    )
}

/// The real data set: `INSIDERS_DATA`, or the copy in the shared folder.
pub fn real_data() -> PathBuf {
    std::env::var_os("INSIDERS_DATA").map_or_else(
        || shared_dir().join("datasets/online-retail/online-retail.csv.gz"),
        PathBuf::from,
    )
}

/// A progress bar of cells on standard error (hidden when it is not a terminal).
pub fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} cells {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
