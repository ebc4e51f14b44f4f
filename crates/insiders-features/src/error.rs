//! The features error type.

use thiserror::Error;

/// What can go wrong between invoice lines and a scaled matrix.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum FeaturesError {
    /// Synthetic customer ids would reuse real ones.
    #[error(
        "synthetic customer ids {start}..{end} collide with real customer id {id}; set cleaning.synthetic_id_start above the largest real id, or leave it unset (synthetic ids then start above the largest real id)"
    )]
    SyntheticIdClash { start: u32, end: u32, id: u32 },
    /// A cleaning option is invalid.
    #[error("cleaning option `{key}`: {message}")]
    Option { key: String, message: String },
    /// No customer is left after cleaning.
    #[error("no customer with purchases is left after cleaning ({rows} rows kept)")]
    NoCustomers { rows: u64 },
    /// A feature name is unknown.
    #[error("unknown feature `{name}`; known: {known}")]
    UnknownFeature { name: String, known: String },
    /// A feature needs a column the data does not have.
    #[error(
        "feature `{feature}` is unavailable: it needs the {column} column, which the data does not have (name it with {setting})"
    )]
    UnavailableFeature {
        feature: String,
        column: String,
        setting: String,
    },
    /// A scaler was applied to a table with other columns.
    #[error("scaler fitted on columns [{fitted}] cannot scale columns [{given}]")]
    ScalerColumns { fitted: String, given: String },
    /// A value to scale is missing or not finite.
    #[error(
        "column `{column}` of customer {customer_id} is missing or not finite; drop or impute it before scaling"
    )]
    NotFinite { column: String, customer_id: u32 },
    /// The row accounting does not add up (a bug, reported rather than hidden).
    #[error("row accounting does not add up: {buckets} in buckets, {rows} rows read")]
    Accounting { buckets: u64, rows: u64 },
}
