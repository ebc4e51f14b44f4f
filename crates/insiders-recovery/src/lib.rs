//! How right are the Insiders? A benchmark of the selection (`insiders evaluate`,
//! `docs/recovery.md`):
//!
//! - **recovery** on synthetic shops ([`shop`]): the Insiders of whatever method a
//!   configuration describes (found by `insiders_analysis::segment`, never re-implemented
//!   here) against the planted high-value customers (`loyal_high_value` and
//!   `bulk_wholesale`): precision, recall, F1, and membership stability; beside two
//!   reference ceilings measured the same way: the top N identified customers by gross
//!   revenue (N = the true number), and a decision tree trained on the truth (5-fold
//!   cross-validation);
//! - the **forward check** on real data ([`forward`]): Insiders chosen with the data before a
//!   cut-off, judged on the revenue of the days after it, beside the naive ranking (past
//!   revenue) and a CLV ranking (BG/NBD + Gamma-Gamma).
//!
//! [`table`] renders the results as Markdown; every result serialises to JSON.

pub mod forward;
pub mod metrics;
pub mod shop;
pub mod table;

pub use forward::{Basis, Forward, ForwardRow, forward_check};
pub use metrics::{Confusion, precision_at_n, revenue_share, top_n};
pub use shop::{MethodRow, ShopResult, ShopSpec, evaluate_shop};

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// Loading, cleaning or scaling the data.
    #[error(transparent)]
    Pipeline(#[from] insiders_pipeline::PipelineError),
    /// Reading the synthetic shop's bytes.
    #[error(transparent)]
    Ingest(#[from] insiders_ingest::IngestError),
    /// Cleaning or the customer table.
    #[error(transparent)]
    Features(#[from] insiders_features::FeaturesError),
    /// The synthetic shop could not be generated.
    #[error(transparent)]
    Synth(#[from] insiders_synth::SynthError),
    /// The method (space, model, stability refits).
    #[error(transparent)]
    Analysis(#[from] insiders_analysis::AnalysisError),
    /// The CLV models or the classifier.
    #[error("{stage}: {source}")]
    Stats {
        /// Which step.
        stage: &'static str,
        /// The statistics error.
        #[source]
        source: insiders_stats::StatsError,
    },
    /// Masks or scores of different lengths (a bug, reported rather than a panic).
    #[error("shape: {0}")]
    Shape(String),
    /// A setting of the evaluation (cut-off date, sizes, holdout).
    #[error("{0}")]
    Setting(String),
}
