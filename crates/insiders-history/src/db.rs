//! The [`History`] database: opening, recording runs, queries.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::date::validate_date;
use crate::error::{Error, Result};
use crate::store::RunDocuments;

/// The schema version this crate writes and understands. Stored in the `schema_version`
/// table; a database with a larger number is refused with [`Error::NewerSchema`].
pub const SCHEMA_VERSION: i64 = 2;

/// The SQLite `application_id` of an insiders history ("INSH" in ASCII), written in the
/// database header so tools such as `file` can tell what it is, and so that we never mistake
/// another program's database for ours.
pub const APPLICATION_ID: i32 = 0x494E_5348;

/// How long a writer waits for another process holding the database lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations: `MIGRATIONS[v - 1]` takes the schema from version `v - 1` to `v`. A new
/// database gets them all; an older one the missing ones, in the transaction that opens it.
const MIGRATIONS: [&str; 2] = [SCHEMA_V1, SCHEMA_V2];

const SCHEMA_V1: &str = "
CREATE TABLE schema_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
CREATE TABLE runs (
    run_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of            TEXT    NOT NULL UNIQUE,
    recorded_at      TEXT    NOT NULL,
    config_hash      TEXT    NOT NULL,
    data_fingerprint TEXT    NOT NULL,
    seed             INTEGER NOT NULL,
    model            TEXT    NOT NULL,
    insiders_cluster INTEGER NOT NULL,
    tool_version     TEXT    NOT NULL,
    n_customers      INTEGER NOT NULL,
    n_insiders       INTEGER NOT NULL,
    n_clusters       INTEGER NOT NULL
);
CREATE TABLE memberships (
    run_id      INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    customer_id INTEGER NOT NULL,
    cluster     INTEGER NOT NULL,
    insider     INTEGER NOT NULL CHECK (insider IN (0, 1)),
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_customer ON memberships (customer_id, run_id);
";

/// Version 2: each run's documents (for `insiders serve`) and the views for BI tools.
const SCHEMA_V2: &str = "
CREATE TABLE run_documents (
    run_id       INTEGER PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    answers      TEXT NOT NULL,
    insiders_csv TEXT NOT NULL,
    report_html  TEXT NOT NULL
);
CREATE VIEW current_insiders AS
SELECT r.as_of, m.customer_id, m.cluster
FROM memberships m JOIN runs r ON r.run_id = m.run_id
WHERE m.insider = 1 AND r.as_of = (SELECT max(as_of) FROM runs);
CREATE VIEW run_pairs AS
SELECT run_id, as_of,
       lag(run_id) OVER (ORDER BY as_of) AS previous_run_id,
       lag(as_of) OVER (ORDER BY as_of) AS previous_as_of
FROM runs;
CREATE VIEW monthly_flows AS
SELECT p.as_of, p.previous_as_of, r.n_customers AS customers, r.n_insiders AS insiders,
       (SELECT count(*) FROM memberships m
        WHERE m.run_id = p.run_id AND m.insider = 1 AND NOT EXISTS (
            SELECT 1 FROM memberships o
            WHERE o.run_id = p.previous_run_id AND o.customer_id = m.customer_id
              AND o.insider = 1)) AS entered,
       (SELECT count(*) FROM memberships o
        WHERE o.run_id = p.previous_run_id AND o.insider = 1 AND NOT EXISTS (
            SELECT 1 FROM memberships m
            WHERE m.run_id = p.run_id AND m.customer_id = o.customer_id
              AND m.insider = 1)) AS exited
FROM run_pairs p JOIN runs r ON r.run_id = p.run_id
WHERE p.previous_run_id IS NOT NULL;
CREATE VIEW cluster_flows AS
SELECT p.previous_as_of AS from_as_of, p.as_of AS to_as_of,
       a.cluster AS from_cluster, b.cluster AS to_cluster, count(*) AS customers
FROM run_pairs p
JOIN memberships a ON a.run_id = p.previous_run_id
JOIN memberships b ON b.run_id = p.run_id AND b.customer_id = a.customer_id
GROUP BY p.previous_as_of, p.as_of, a.cluster, b.cluster;
";

/// The id of one recorded run (SQLite's `runs.run_id`).
///
/// Ids are never reused: a rerun for the same as-of date gets a new id, and the old id then
/// answers [`Error::UnknownRun`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What describes one run of `insiders run`, as given to [`History::record_run`].
///
/// The counts of customers, Insiders and clusters are not part of it: they are derived from
/// the memberships when the run is recorded, so they cannot disagree with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The as-of date, `YYYY-MM-DD`: the run saw only invoices up to this date. At most one
    /// run per as-of date is kept.
    pub as_of: String,
    /// A hash of the effective configuration (any stable hex string; the listing shows its
    /// first 8 characters).
    pub config_hash: String,
    /// A fingerprint of the input data (e.g. a hash of the invoice file).
    pub data_fingerprint: String,
    /// The master seed of the run. Stored as SQLite's signed 64-bit integer by two's
    /// complement, so seeds above `i64::MAX` read back unchanged but look negative in the
    /// raw table.
    pub seed: u64,
    /// A human description of the space and model, e.g. `"ward k=10 on tree space"`.
    pub model: String,
    /// The id of the Insiders cluster in this run.
    pub insiders_cluster: i64,
    /// The version of the tool that made the run (e.g. `env!("CARGO_PKG_VERSION")`).
    pub tool_version: String,
}

/// One customer's place in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Membership {
    /// The customer id.
    pub customer_id: i64,
    /// Their cluster in this run (any integer the caller uses; e.g. `-1` for noise).
    pub cluster: i64,
    /// Whether they are an Insider in this run. Must equal
    /// `cluster == record.insiders_cluster`.
    pub insider: bool,
}

/// A recorded run as read back from the database, with its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run's id.
    pub id: RunId,
    /// What the run was recorded with.
    pub record: RunRecord,
    /// When it was recorded, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub recorded_at: String,
    /// How many customers the run assigned.
    pub customers: usize,
    /// How many of them are Insiders.
    pub insiders: usize,
    /// How many distinct clusters the memberships use.
    pub clusters: usize,
}

/// How Insider status changed from one run to another; see [`History::flows`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flows {
    /// Customers who are Insiders in the later run but were not in the earlier one: either
    /// they were in another cluster, or they were absent from the earlier run altogether
    /// (new customers count as entered). Ascending ids.
    pub entered: Vec<i64>,
    /// Customers who were Insiders in the earlier run but are not in the later one: either
    /// they moved to another cluster, or they are absent from the later run. Ascending ids.
    pub left: Vec<i64>,
    /// How many customers are Insiders in both runs.
    pub stayed: usize,
}

/// The flows between two consecutive runs; see [`History::transitions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The earlier run.
    pub from: RunId,
    /// Its as-of date.
    pub from_as_of: String,
    /// The later run.
    pub to: RunId,
    /// Its as-of date.
    pub to_as_of: String,
    /// Who entered and left the Insiders between them.
    pub flows: Flows,
}

/// One customer in one run; see [`History::customer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerEntry {
    /// The run.
    pub run: RunId,
    /// Its as-of date.
    pub as_of: String,
    /// The customer's cluster in that run.
    pub cluster: i64,
    /// Whether they were an Insider in that run.
    pub insider: bool,
}

/// The membership history: an SQLite database file holding every run and every customer's
/// cluster and Insider status in it.
///
/// Opened with [`History::open`]; written with [`History::record_run`], one transaction per
/// run; read with [`runs`](History::runs), [`previous_run`](History::previous_run),
/// [`flows`](History::flows), [`transitions`](History::transitions) and
/// [`customer`](History::customer). See `docs/history.md` for the schema and the
/// guarantees.
#[derive(Debug)]
pub struct History {
    pub(crate) conn: Connection,
    path: PathBuf,
}

impl History {
    /// Opens the history database at `path`, creating the file and its schema if needed.
    ///
    /// The connection uses SQLite's rollback journal (`journal_mode=DELETE`) with
    /// `synchronous=FULL`: a committed run survives a power loss, and a process killed in
    /// the middle of a write leaves a hot journal that the next open rolls back.
    ///
    /// # Errors
    /// [`Error::Open`] if the file cannot be opened or created; [`Error::NotADatabase`] if it
    /// is not an SQLite database; [`Error::ForeignDatabase`] if it is another program's
    /// database; [`Error::NewerSchema`] if a newer insiders wrote it; [`Error::Corrupt`] if
    /// its schema version table is damaged; [`Error::Sqlite`] for any other SQLite failure.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        let mut history = History { conn, path };
        history.configure()?;
        history.ensure_schema()?;
        Ok(history)
    }

    /// Like [`History::open`], but fails with [`Error::Missing`] instead of creating a new
    /// database when `path` does not exist (for read-only commands such as
    /// `insiders history`).
    ///
    /// # Errors
    /// [`Error::Missing`], or any error of [`History::open`].
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::Missing {
                path: path.to_path_buf(),
            });
        }
        Self::open(path)
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Maps a rusqlite error to ours, naming the file.
    pub(crate) fn err(&self, source: rusqlite::Error) -> Error {
        map_err(&self.path, source)
    }

    fn configure(&mut self) -> Result<()> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.err(e))?;
        // The first statement that reads the header: fails with NotADatabase on a foreign
        // file. journal_mode returns a row, so it goes through a query.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                detail: format!("cannot switch to the rollback journal (journal mode is {mode})"),
            });
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.err(e))
    }

    fn ensure_schema(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| map_err(&path, e))?;
        let app_id: i32 = tx
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(|e| map_err(&path, e))?;
        let tables: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| map_err(&path, e))?;
        if app_id == 0 && tables == 0 {
            for sql in MIGRATIONS {
                tx.execute_batch(sql).map_err(|e| map_err(&path, e))?;
            }
            tx.execute(
                "INSERT INTO schema_version (id, version) VALUES (1, ?1)",
                [SCHEMA_VERSION],
            )
            .map_err(|e| map_err(&path, e))?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(|e| map_err(&path, e))?;
            tx.commit().map_err(|e| map_err(&path, e))?;
            return Ok(());
        }
        if app_id != APPLICATION_ID {
            return Err(Error::ForeignDatabase { path });
        }
        let version: Option<i64> = tx
            .query_row("SELECT version FROM schema_version WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| Error::Corrupt {
                path: path.clone(),
                detail: format!("cannot read the schema version: {e}"),
            })?;
        match version {
            None => Err(Error::Corrupt {
                path,
                detail: "the schema_version table is empty".into(),
            }),
            Some(v) if v > SCHEMA_VERSION => Err(Error::NewerSchema {
                path,
                found: v,
                supported: SCHEMA_VERSION,
            }),
            Some(v) if v < 1 => Err(Error::Corrupt {
                path,
                detail: format!("invalid schema version {v}"),
            }),
            Some(v) => {
                // An older schema: the missing migrations, in this same transaction.
                for sql in MIGRATIONS.iter().skip(usize::try_from(v).unwrap_or(0)) {
                    tx.execute_batch(sql).map_err(|e| map_err(&path, e))?;
                }
                if v < SCHEMA_VERSION {
                    tx.execute(
                        "UPDATE schema_version SET version = ?1 WHERE id = 1",
                        [SCHEMA_VERSION],
                    )
                    .map_err(|e| map_err(&path, e))?;
                }
                tx.commit().map_err(|e| map_err(&path, e))
            }
        }
    }

    /// Records one run and its memberships in a single transaction, and returns its id.
    ///
    /// If a run with the same as-of date is already recorded, it is replaced in the same
    /// transaction: afterwards either the old run and all its memberships are gone and the
    /// new ones are in, or (on any error, or if the process dies before the commit) the
    /// database is exactly as before.
    ///
    /// The input is validated before anything is written.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] for a bad as-of date; [`Error::DuplicateCustomer`] if a customer
    /// appears twice; [`Error::InconsistentInsider`] if an Insider flag disagrees with
    /// `record.insiders_cluster`; [`Error::Sqlite`] if SQLite fails (nothing is changed then).
    pub fn record_run(&mut self, record: &RunRecord, memberships: &[Membership]) -> Result<RunId> {
        self.record_run_with_documents(record, memberships, None)
    }

    /// [`History::record_run`], with the run's documents stored in the same transaction.
    ///
    /// # Errors
    /// As [`History::record_run`].
    pub fn record_run_with_documents(
        &mut self,
        record: &RunRecord,
        memberships: &[Membership],
        documents: Option<&RunDocuments>,
    ) -> Result<RunId> {
        let counts = validate_run(record, memberships)?;
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let path = self.path.clone();
        let e = |source| map_err(&path, source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(e)?;
        tx.execute(
            "DELETE FROM memberships WHERE run_id IN (SELECT run_id FROM runs WHERE as_of = ?1)",
            [&record.as_of],
        )
        .map_err(e)?;
        tx.execute(
            "DELETE FROM run_documents WHERE run_id IN (SELECT run_id FROM runs WHERE as_of = ?1)",
            [&record.as_of],
        )
        .map_err(e)?;
        tx.execute("DELETE FROM runs WHERE as_of = ?1", [&record.as_of])
            .map_err(e)?;
        tx.execute(
            "INSERT INTO runs (as_of, recorded_at, config_hash, data_fingerprint, seed, model,
                               insiders_cluster, tool_version, n_customers, n_insiders, n_clusters)
             VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                record.as_of,
                record.config_hash,
                record.data_fingerprint,
                // Two's complement: read back with `as u64` unchanged.
                record.seed as i64,
                record.model,
                record.insiders_cluster,
                record.tool_version,
                count(counts.customers),
                count(counts.insiders),
                count(counts.clusters),
            ],
        )
        .map_err(e)?;
        let run_id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO memberships (run_id, customer_id, cluster, insider)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(e)?;
            for m in memberships {
                insert
                    .execute(params![run_id, m.customer_id, m.cluster, m.insider])
                    .map_err(e)?;
            }
        }
        if let Some(d) = documents {
            tx.execute(
                "INSERT INTO run_documents (run_id, answers, insiders_csv, report_html)
                 VALUES (?1, ?2, ?3, ?4)",
                params![run_id, d.answers, d.insiders_csv, d.report_html],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)?;
        Ok(RunId(run_id))
    }

    /// All runs, ordered by as-of date, with their counts.
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails.
    pub fn runs(&self) -> Result<Vec<RunSummary>> {
        self.select_runs("ORDER BY as_of", [])
    }

    /// The run with id `id`.
    ///
    /// # Errors
    /// [`Error::UnknownRun`] if there is none; [`Error::Sqlite`] if SQLite fails.
    pub fn run(&self, id: RunId) -> Result<RunSummary> {
        self.select_runs("WHERE run_id = ?1", [id.0])?
            .pop()
            .ok_or(Error::UnknownRun(id.0))
    }

    /// The run recorded for the as-of date `as_of`, if any.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] for a bad date; [`Error::Sqlite`] if SQLite fails.
    pub fn run_at(&self, as_of: &str) -> Result<Option<RunSummary>> {
        validate_date(as_of)?;
        Ok(self.select_runs("WHERE as_of = ?1", [as_of])?.pop())
    }

    /// The latest run strictly before the date `as_of` (whether or not a run exists for
    /// `as_of` itself); `None` if there is no earlier run.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] for a bad date; [`Error::Sqlite`] if SQLite fails.
    pub fn previous_run(&self, as_of: &str) -> Result<Option<RunSummary>> {
        validate_date(as_of)?;
        Ok(self
            .select_runs("WHERE as_of < ?1 ORDER BY as_of DESC LIMIT 1", [as_of])?
            .pop())
    }

    fn select_runs<P: rusqlite::Params>(&self, tail: &str, params: P) -> Result<Vec<RunSummary>> {
        let sql = format!(
            "SELECT run_id, as_of, config_hash, data_fingerprint, seed, model, insiders_cluster,
                    tool_version, recorded_at, n_customers, n_insiders, n_clusters
             FROM runs {tail}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, |r| {
                let seed: i64 = r.get(4)?;
                let n = |i: usize| -> rusqlite::Result<usize> {
                    let v: i64 = r.get(i)?;
                    usize::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v))
                };
                Ok(RunSummary {
                    id: RunId(r.get(0)?),
                    record: RunRecord {
                        as_of: r.get(1)?,
                        config_hash: r.get(2)?,
                        data_fingerprint: r.get(3)?,
                        seed: seed as u64,
                        model: r.get(5)?,
                        insiders_cluster: r.get(6)?,
                        tool_version: r.get(7)?,
                    },
                    recorded_at: r.get(8)?,
                    customers: n(9)?,
                    insiders: n(10)?,
                    clusters: n(11)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Who entered and who left the Insiders between run `from` (the earlier) and run `to`
    /// (the later).
    ///
    /// A customer *entered* if they are an Insider in `to` and were not one in `from`,
    /// including a customer absent from `from` (a new customer who is an Insider at once
    /// counts as entered). A customer *left* if they were an Insider in `from` and are not
    /// one in `to`, including a customer absent from `to`. *Stayed* counts the Insiders of
    /// both runs. The definition is symmetric, so swapping the runs swaps `entered` and
    /// `left`.
    ///
    /// # Errors
    /// [`Error::UnknownRun`] if either run is not in the database; [`Error::Sqlite`] if
    /// SQLite fails.
    pub fn flows(&self, from: RunId, to: RunId) -> Result<Flows> {
        self.run(from)?;
        self.run(to)?;
        Ok(compare(&self.insiders_of(from)?, &self.insiders_of(to)?))
    }

    /// The Insiders of run `id`, ascending (the table's key order, so no sort is needed).
    /// A customer absent from a run and a customer in another cluster are alike for the
    /// flows, so the Insiders are all the flows need.
    pub(crate) fn insiders_of(&self, id: RunId) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT customer_id FROM memberships
                 WHERE run_id = ?1 AND insider = 1 ORDER BY customer_id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([id.0], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.err(e))
    }

    /// The [flows](History::flows) between every pair of consecutive runs (by as-of date),
    /// in date order: one transition fewer than there are runs, none for the first run.
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails.
    pub fn transitions(&self) -> Result<Vec<Transition>> {
        let runs = self.runs()?;
        let mut transitions = Vec::with_capacity(runs.len().saturating_sub(1));
        let mut previous: Option<(&RunSummary, Vec<i64>)> = None;
        for run in &runs {
            let insiders = self.insiders_of(run.id)?;
            if let Some((before, before_insiders)) = &previous {
                transitions.push(Transition {
                    from: before.id,
                    from_as_of: before.record.as_of.clone(),
                    to: run.id,
                    to_as_of: run.record.as_of.clone(),
                    flows: compare(before_insiders, &insiders),
                });
            }
            previous = Some((run, insiders));
        }
        Ok(transitions)
    }

    /// Customer `customer_id`'s cluster and Insider status in every run they appear in,
    /// ordered by as-of date. Runs in which the customer does not appear are not listed;
    /// an unknown customer gives an empty list.
    ///
    /// # Errors
    /// [`Error::Sqlite`] if SQLite fails.
    pub fn customer(&self, customer_id: i64) -> Result<Vec<CustomerEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.run_id, r.as_of, m.cluster, m.insider
                 FROM memberships m JOIN runs r ON r.run_id = m.run_id
                 WHERE m.customer_id = ?1
                 ORDER BY r.as_of",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([customer_id], |r| {
            Ok(CustomerEntry {
                run: RunId(r.get(0)?),
                as_of: r.get(1)?,
                cluster: r.get(2)?,
                insider: r.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    /// Runs SQLite's `PRAGMA integrity_check` and the foreign key check.
    ///
    /// # Errors
    /// [`Error::Corrupt`] with SQLite's findings if the database is damaged;
    /// [`Error::Sqlite`] if the check itself fails.
    pub fn check_integrity(&self) -> Result<()> {
        let mut findings = Vec::new();
        self.conn
            .pragma_query(None, "integrity_check", |r| {
                let line: String = r.get(0)?;
                if line != "ok" {
                    findings.push(line);
                }
                Ok(())
            })
            .map_err(|e| self.err(e))?;
        self.conn
            .pragma_query(None, "foreign_key_check", |r| {
                let table: String = r.get(0)?;
                findings.push(format!("dangling reference in table {table}"));
                Ok(())
            })
            .map_err(|e| self.err(e))?;
        if findings.is_empty() {
            Ok(())
        } else {
            Err(Error::Corrupt {
                path: self.path.clone(),
                detail: findings.join("; "),
            })
        }
    }
}

/// [`History::err`] for when `self` is borrowed by a transaction.
pub(crate) fn map_err(path: &Path, source: rusqlite::Error) -> Error {
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::NotADatabase { path },
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt {
            path,
            detail: source.to_string(),
        },
        _ => Error::Sqlite { path, source },
    }
}

/// What [`validate_run`] counts.
pub(crate) struct RunCounts {
    pub customers: usize,
    pub insiders: usize,
    pub clusters: usize,
}

/// Checks a run before anything is written (the date, no customer twice, Insider flags that
/// agree with the Insiders cluster) and counts it: the same rules for every backend.
pub(crate) fn validate_run(record: &RunRecord, memberships: &[Membership]) -> Result<RunCounts> {
    validate_date(&record.as_of)?;
    let mut seen = HashSet::with_capacity(memberships.len());
    let mut clusters = HashSet::new();
    let mut insiders = 0usize;
    for m in memberships {
        if !seen.insert(m.customer_id) {
            return Err(Error::DuplicateCustomer {
                customer_id: m.customer_id,
            });
        }
        if m.insider != (m.cluster == record.insiders_cluster) {
            return Err(Error::InconsistentInsider {
                customer_id: m.customer_id,
                cluster: m.cluster,
                insider: m.insider,
                insiders_cluster: record.insiders_cluster,
            });
        }
        clusters.insert(m.cluster);
        insiders += usize::from(m.insider);
    }
    Ok(RunCounts {
        customers: memberships.len(),
        insiders,
        clusters: clusters.len(),
    })
}

/// The flows between two ascending lists of Insiders, by a merge.
pub(crate) fn compare(before: &[i64], after: &[i64]) -> Flows {
    let mut flows = Flows::default();
    let (mut i, mut j) = (0, 0);
    while i < before.len() && j < after.len() {
        match before[i].cmp(&after[j]) {
            std::cmp::Ordering::Less => {
                flows.left.push(before[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                flows.entered.push(after[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                flows.stayed += 1;
                i += 1;
                j += 1;
            }
        }
    }
    flows.left.extend_from_slice(&before[i..]);
    flows.entered.extend_from_slice(&after[j..]);
    flows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_merges_sorted_lists() {
        let flows = compare(&[1, 3, 4, 9, 12], &[2, 3, 9, 10, 11, 13]);
        assert_eq!(flows.entered, [2, 10, 11, 13]);
        assert_eq!(flows.left, [1, 4, 12]);
        assert_eq!(flows.stayed, 2);
        assert_eq!(compare(&[], &[5, 6]).entered, [5, 6]);
        assert_eq!(compare(&[5, 6], &[]).left, [5, 6]);
        assert_eq!(compare(&[5, 6], &[5, 6]).stayed, 2);
    }
}
