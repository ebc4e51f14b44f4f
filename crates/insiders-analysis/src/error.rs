//! The analysis error.

use thiserror::Error;

/// Why an analysis step failed.
#[derive(Debug, Error)]
pub enum AnalysisError {
    /// An option of the `[model]`, `[insiders]`, `[forecast]` or `[stability]` sections.
    #[error("option `{key}`: {message}")]
    Option {
        /// The option key, e.g. `model.k`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// An engine or embedder failed.
    #[error("{stage}: {source}")]
    Model {
        /// The step (`space`, `cluster`, `stability`).
        stage: &'static str,
        /// The contract error.
        #[source]
        source: insiders_core::Error,
    },
    /// A statistical model or test.
    #[error("{stage}: {source}")]
    Stats {
        /// The question it serves.
        stage: &'static str,
        /// The statistics error.
        #[source]
        source: insiders_stats::StatsError,
    },
    /// The feature table.
    #[error(transparent)]
    Features(#[from] insiders_features::FeaturesError),
    /// Too little data for a step.
    #[error("{0}")]
    TooLittleData(String),
}

impl AnalysisError {
    pub(crate) fn option(key: &str, message: impl Into<String>) -> Self {
        AnalysisError::Option {
            key: key.to_string(),
            message: message.into(),
        }
    }
}
