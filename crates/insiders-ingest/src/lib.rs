//! Reading the data: invoice lines from the published copies of "Online Retail" (CSV, gzip
//! CSV, Excel), with format detection, a bad-row policy, and errors that name the file,
//! line (or cell) and column; matrix and labels files; atomic writes.

pub mod date;
pub mod describe;
pub mod error;
pub mod gz;
pub mod matrix;
pub mod options;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod read;
mod split;
pub mod transactions;
pub mod xlsx;

pub use error::{IngestError, Location};
pub use matrix::{AtomicFile, IdColumn, MatrixFile, read_matrix, write_atomic};
pub use options::{ColumnNames, Delimiter, Encoding, InputFormat, InputOptions, OnBadRow};
pub use read::{
    Loaded, ReadReport, Reject, expand_pattern, read_bytes, read_path, read_paths, write_rejects,
};
pub use transactions::{Interner, Line, Present, Transactions};
