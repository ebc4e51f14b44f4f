//! The error type of the distributed computation.

use thiserror::Error;

/// What can go wrong when the aggregation runs as a DataFusion plan, in this process or on a
/// Ballista cluster.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DistributedError {
    /// `--compute` is not `local`, `datafusion` or `ballista://HOST:PORT`.
    #[error("--compute `{value}`: {message}")]
    Compute { value: String, message: String },
    /// The input (its files, its header, a setting) cannot be read by the plan.
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    /// A setting the plan does not support (it would give other answers than `local`).
    #[error(
        "setting `{key}` is not supported by --compute {compute}: {message} (use --compute local)"
    )]
    Unsupported {
        key: String,
        compute: String,
        message: String,
    },
    /// A malformed row with `input.on_bad_row = "error"` (the plan knows the file set, the
    /// column and the value, not the line: see docs/distributed.md).
    #[error(
        "{path}: malformed row, column {column}: {detail} ({count} malformed rows in all; the plan does not know line numbers: `insiders inspect --data FILE` names the line, or set input.on_bad_row = \"skip\")"
    )]
    BadRow {
        path: String,
        column: String,
        detail: String,
        count: u64,
    },
    /// The Ballista scheduler cannot be reached.
    #[error("cannot reach the Ballista scheduler at {address} within {seconds} s: {message}")]
    Unreachable {
        address: String,
        seconds: u64,
        message: String,
    },
    /// The query did not finish in time.
    #[error("the query on {compute} did not finish within {seconds} s (set --compute-timeout)")]
    Timeout { compute: String, seconds: u64 },
    /// DataFusion or Ballista failed (an executor lost beyond Ballista's retries, a file
    /// that cannot be read, out of memory and disk...).
    #[error("{compute}: {message}")]
    Engine { compute: String, message: String },
    /// A cleaning rule failed (synthetic ids colliding with real ones, no customer left...).
    #[error(transparent)]
    Features(#[from] insiders_features::FeaturesError),
    /// A cluster process (scheduler or executor) could not start or stopped with an error.
    #[error("ballista {role}: {message}")]
    Cluster { role: &'static str, message: String },
    /// The async runtime could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
