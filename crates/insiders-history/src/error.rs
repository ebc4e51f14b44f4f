//! The error type of the history database.

use std::path::PathBuf;

/// Everything that can go wrong while opening, writing or reading a history database.
///
/// Every variant that concerns the database file names it, so a message printed by the
/// command line tells the user which file is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or created (missing directory, permissions, a directory
    /// in its place...).
    #[error("cannot open the history database {}: {source}", .path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// [`History::open_existing`](crate::History::open_existing) was asked for a file that
    /// does not exist.
    #[error("the history database {} does not exist (run `insiders run` first)", .path.display())]
    Missing {
        /// The database file.
        path: PathBuf,
    },
    /// The file exists but is not an SQLite database at all.
    #[error("{} is not an SQLite database, so it cannot be an insiders history (wrong file?)", .path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database, but one of some other program: it has tables of its
    /// own and no insiders schema. We refuse to write into it.
    #[error(
        "{} is an SQLite database of another program (it has tables but no insiders history schema); \
         refusing to touch it",
        .path.display()
    )]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
    },
    /// The database was written by a newer insiders whose schema this version does not
    /// understand.
    #[error(
        "the history database {} has schema version {found}, newer than version {supported} \
         that this insiders understands; use a newer insiders",
        .path.display()
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The schema version stored in the file.
        found: i64,
        /// The newest schema version this crate understands ([`SCHEMA_VERSION`](crate::SCHEMA_VERSION)).
        supported: i64,
    },
    /// The database failed a consistency check (its schema version table is damaged, or
    /// `PRAGMA integrity_check` reported problems).
    #[error("the history database {} is damaged: {detail}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Any other SQLite failure while working on the database (a full disk, a lock held too
    /// long by another process, ...).
    #[error("history database {}: {source}", .path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// An as-of date that is not a real calendar date written `YYYY-MM-DD`.
    #[error("invalid as-of date {0:?}: expected a calendar date written YYYY-MM-DD")]
    InvalidDate(String),
    /// The same customer appears twice in the memberships of one run.
    #[error("customer {customer_id} appears more than once in the memberships of the run")]
    DuplicateCustomer {
        /// The repeated customer id.
        customer_id: i64,
    },
    /// A membership whose Insider flag disagrees with the run's Insiders cluster: a customer
    /// is an Insider exactly when their cluster is the run's Insiders cluster.
    #[error(
        "customer {customer_id} is in cluster {cluster} with insider = {insider}, but the run's \
         Insiders cluster is {insiders_cluster}"
    )]
    InconsistentInsider {
        /// The customer.
        customer_id: i64,
        /// Their cluster.
        cluster: i64,
        /// Their Insider flag.
        insider: bool,
        /// The run's Insiders cluster.
        insiders_cluster: i64,
    },
    /// A run id that is not (or no longer) in the database, e.g. a run replaced by a rerun
    /// for the same as-of date.
    #[error("there is no run with id {0} in the history")]
    UnknownRun(i64),
    /// A PostgreSQL failure: the server cannot be reached, refused the login, went away
    /// (a restart), or failed a statement.
    #[cfg(feature = "postgres")]
    #[error("history database {location}: {}", pg_detail(.source))]
    Postgres {
        /// The database URL, without its password.
        location: String,
        /// What the driver said.
        source: postgres::Error,
    },
    /// Streaming the memberships to PostgreSQL failed.
    #[error("history database {location}: sending the memberships: {source}")]
    Stream {
        /// The database URL, without its password.
        location: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A `postgresql://` location given to a build without the `postgres` feature.
    #[error("this insiders was built without PostgreSQL (the `postgres` feature)")]
    NoPostgres,
    /// Writing the listing failed.
    #[error("cannot write the history listing: {0}")]
    Io(#[from] std::io::Error),
}

/// The driver's error with its cause (its own text is often just "db error").
#[cfg(feature = "postgres")]
fn pg_detail(e: &postgres::Error) -> String {
    match (e.as_db_error(), std::error::Error::source(e)) {
        (Some(db), _) => format!("{}: {}", db.severity(), db.message()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

impl Error {
    /// Whether the error is the database's (unreachable, gone away, locked, failing) rather
    /// than the request's: a server answers it with 503 and tries again later.
    pub fn is_database_failure(&self) -> bool {
        match self {
            Error::Open { .. } | Error::Sqlite { .. } | Error::Stream { .. } => true,
            #[cfg(feature = "postgres")]
            Error::Postgres { .. } => true,
            _ => false,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
