//! The one error type of the crate.

use std::path::{Path, PathBuf};

/// Why a data set could not be found, checked or loaded. Every variant about a file names it.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// No data set has this id.
    #[error("unknown data set `{id}` (known: {known})")]
    Unknown {
        /// The id asked for.
        id: String,
        /// The ids of the registry, comma-separated.
        known: String,
    },
    /// A file of the data set does not exist.
    #[error("{path}: the file is missing (set INSIDERS_SHARED / INSIDERS_DATA)")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A file exists but could not be read (or its gzip stream is corrupt).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A value of a text file is malformed.
    #[error("{path}: line {line}, column {column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// 1-based field number within the line.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A file's checksum is not the registered one.
    #[error("{path}: sha256 of the {what} is {actual}, the registry expects {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// `file` (the bytes as stored) or `gunzipped content`.
        what: &'static str,
        /// The registered digest.
        expected: String,
        /// The digest computed.
        actual: String,
    },
    /// Two files of a data set disagree on its shape (e.g. labels vs points).
    #[error("{path}: {message}")]
    Shape {
        /// The file that does not fit.
        path: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// The data set is not of the kind asked for (e.g. invoice lines of a point cloud).
    #[error("data set `{id}` holds {holds}, not {wanted}")]
    WrongKind {
        /// The data set.
        id: String,
        /// What it holds.
        holds: &'static str,
        /// What was asked for.
        wanted: &'static str,
    },
    /// Reading invoice lines failed.
    #[error(transparent)]
    Ingest(#[from] insiders_ingest::IngestError),
    /// Generating a synthetic shop failed.
    #[error(transparent)]
    Synth(#[from] insiders_synth::SynthError),
}

impl DatasetError {
    /// An I/O error on `path`; a file that does not exist is [`DatasetError::Missing`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            DatasetError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            DatasetError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// A parse error at `line`, `column` of `path`.
    pub fn parse(path: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        DatasetError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}
