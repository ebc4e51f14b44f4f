//! The ingest error type: every error names the file and, where there is one, the line
//! (or sheet and cell) and the column.

use std::path::PathBuf;
use thiserror::Error;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A CSV line (1-based, the header is line 1) and column name.
    Line { line: u64, column: String },
    /// A row of a Parquet file (1-based over the whole file) and column name.
    Row { row: u64, column: String },
    /// A spreadsheet cell (`Sheet1!E17`) and column name.
    Cell {
        sheet: String,
        cell: String,
        column: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line { line, column } => write!(f, "line {line}, column `{column}`"),
            Location::Row { row, column } => write!(f, "row {row}, column `{column}`"),
            Location::Cell {
                sheet,
                cell,
                column,
            } => write!(f, "sheet `{sheet}`, cell {cell}, column `{column}`"),
        }
    }
}

/// What can go wrong when reading input files.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file has no bytes, or no header.
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    /// The file has a header but no data rows.
    #[error("{path}: no data rows after the header")]
    NoRows { path: PathBuf },
    /// A gzip stream is truncated or corrupt.
    #[error("{path}: truncated or corrupt gzip stream ({detail})")]
    Gzip { path: PathBuf, detail: String },
    /// The file is not a readable spreadsheet.
    #[error("{path}: not a readable Excel workbook: {detail}")]
    NotSpreadsheet { path: PathBuf, detail: String },
    /// The file is not a readable Parquet file (or this build cannot read Parquet).
    #[error("{path}: not a readable Parquet file: {detail}")]
    NotParquet { path: PathBuf, detail: String },
    /// The named sheet does not exist.
    #[error("{path}: no sheet named `{sheet}` (sheets: {available})")]
    NoSheet {
        path: PathBuf,
        sheet: String,
        available: String,
    },
    /// A required (or configured) column is not in the header.
    #[error(
        "{path}: line 1: required column `{column}` not found (looked for {candidates}; set {setting}; header: {header})"
    )]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        candidates: String,
        /// The setting that names the column (`input.columns.customer_id`), with advice.
        setting: String,
        header: String,
    },
    /// A row is malformed: wrong field count, unparseable number or date.
    #[error("{path}: {location}: {reason}")]
    BadRow {
        path: PathBuf,
        location: Location,
        reason: String,
    },
    /// A CSV syntax problem the reader could not get past.
    #[error("{path}: line {line}: {detail}")]
    Csv {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    /// The invoice lines would not fit in the memory this run may use.
    #[error(
        "{path}: the invoice lines need more than {budget} of memory ({rows} rows read so far; the lines may take half of the {limit} this run may use). Raise [limits] memory (or --memory-limit) on a machine that has the memory, or read fewer files or months at a time"
    )]
    Memory {
        path: PathBuf,
        rows: u64,
        budget: String,
        limit: String,
    },
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Writing an output file failed.
    #[error("writing {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

impl IngestError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        IngestError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
