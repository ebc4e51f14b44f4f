//! [`Store`]: what every history backend does (SQLite's [`History`](crate::History), and
//! PostgreSQL's `PgHistory` with the `postgres` feature), and [`open`], which picks the
//! backend from the location (`postgresql://...` or a file path).

use crate::db::{CustomerEntry, Flows, Membership, RunId, RunRecord, RunSummary, Transition};
use crate::error::Result;

/// The documents of one run, kept beside its memberships so that `insiders serve` can answer
/// from the database alone: `answers.json`, `insiders.csv` and `report.html` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDocuments {
    /// The answers (`answers.json`), a JSON object.
    pub answers: String,
    /// The Insiders with their features (`insiders.csv`).
    pub insiders_csv: String,
    /// The report (`report.html`).
    pub report_html: String,
}

/// How many customers went from one cluster in a run to another cluster in the next one
/// (customers present in both runs); see [`Store::cluster_flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterFlow {
    /// The cluster in the earlier run.
    pub from_cluster: i64,
    /// The cluster in the later run.
    pub to_cluster: i64,
    /// How many customers moved so.
    pub customers: usize,
}

/// A membership history backend: the same schema, semantics and answers in SQLite and in
/// PostgreSQL. Reads that must agree with each other go in one [`snapshot`].
pub trait Store: Send + std::fmt::Debug {
    /// Where the database is: a file path, or a `postgresql://` URL without its password.
    fn location(&self) -> String;

    /// Records one run, its memberships and (optionally) its documents in one transaction;
    /// a run with the same as-of date is replaced in that transaction. Validation and errors
    /// as [`History::record_run`](crate::History::record_run).
    ///
    /// # Errors
    /// Invalid input, or a database failure (nothing is changed then).
    fn record_run_with(
        &mut self,
        record: &RunRecord,
        memberships: &[Membership],
        documents: Option<&RunDocuments>,
    ) -> Result<RunId>;

    /// All runs, by as-of date.
    ///
    /// # Errors
    /// A database failure.
    fn all_runs(&mut self) -> Result<Vec<RunSummary>>;

    /// The run with this id.
    ///
    /// # Errors
    /// [`Error::UnknownRun`](crate::Error::UnknownRun); a database failure.
    fn run_by_id(&mut self, id: RunId) -> Result<RunSummary>;

    /// The run for this as-of date, if any.
    ///
    /// # Errors
    /// [`Error::InvalidDate`](crate::Error::InvalidDate); a database failure.
    fn run_on(&mut self, as_of: &str) -> Result<Option<RunSummary>>;

    /// The latest run strictly before this as-of date.
    ///
    /// # Errors
    /// [`Error::InvalidDate`](crate::Error::InvalidDate); a database failure.
    fn run_before(&mut self, as_of: &str) -> Result<Option<RunSummary>>;

    /// The Insiders of a run, ascending.
    ///
    /// # Errors
    /// A database failure.
    fn insider_ids(&mut self, id: RunId) -> Result<Vec<i64>>;

    /// Every membership of a run, by ascending customer id.
    ///
    /// # Errors
    /// A database failure.
    fn memberships(&mut self, id: RunId) -> Result<Vec<Membership>>;

    /// One customer's cluster and status in every run they are in, by as-of date.
    ///
    /// # Errors
    /// A database failure.
    fn customer_runs(&mut self, customer_id: i64) -> Result<Vec<CustomerEntry>>;

    /// The documents recorded with a run, if any.
    ///
    /// # Errors
    /// A database failure.
    fn documents(&mut self, id: RunId) -> Result<Option<RunDocuments>>;

    /// How many customers of both runs went from each cluster of `from` to each cluster of
    /// `to`, by (from, to) cluster.
    ///
    /// # Errors
    /// A database failure.
    fn cluster_flows(&mut self, from: RunId, to: RunId) -> Result<Vec<ClusterFlow>>;

    /// Starts a read-only snapshot: the reads until [`end_read`](Store::end_read) see one
    /// committed state (a run being written is seen whole or not at all). Use [`snapshot`].
    ///
    /// # Errors
    /// A database failure.
    fn begin_read(&mut self) -> Result<()>;

    /// Ends the snapshot (`commit == false`: after an error, rolls back).
    ///
    /// # Errors
    /// A database failure.
    fn end_read(&mut self, commit: bool) -> Result<()>;

    /// Who entered and left the Insiders between two runs; see
    /// [`History::flows`](crate::History::flows).
    ///
    /// # Errors
    /// [`Error::UnknownRun`](crate::Error::UnknownRun); a database failure.
    fn flows_between(&mut self, from: RunId, to: RunId) -> Result<Flows> {
        self.run_by_id(from)?;
        self.run_by_id(to)?;
        let before = self.insider_ids(from)?;
        let after = self.insider_ids(to)?;
        Ok(crate::db::compare(&before, &after))
    }

    /// The flows between every pair of consecutive runs; see
    /// [`History::transitions`](crate::History::transitions).
    ///
    /// # Errors
    /// A database failure.
    fn all_transitions(&mut self) -> Result<Vec<Transition>> {
        let runs = self.all_runs()?;
        let mut out = Vec::with_capacity(runs.len().saturating_sub(1));
        let mut previous: Option<(&RunSummary, Vec<i64>)> = None;
        for run in &runs {
            let insiders = self.insider_ids(run.id)?;
            if let Some((before, before_insiders)) = &previous {
                out.push(Transition {
                    from: before.id,
                    from_as_of: before.record.as_of.clone(),
                    to: run.id,
                    to_as_of: run.record.as_of.clone(),
                    flows: crate::db::compare(before_insiders, &insiders),
                });
            }
            previous = Some((run, insiders));
        }
        Ok(out)
    }
}

/// Runs `f` inside a read snapshot of `store` (see [`Store::begin_read`]).
///
/// # Errors
/// `f`'s error (the snapshot is rolled back), or a database failure.
pub fn snapshot<T>(
    store: &mut dyn Store,
    f: impl FnOnce(&mut dyn Store) -> Result<T>,
) -> Result<T> {
    store.begin_read()?;
    match f(store) {
        Ok(v) => {
            store.end_read(true)?;
            Ok(v)
        }
        Err(e) => {
            // The first error is the one to report; a failed rollback adds nothing to it.
            let _ = store.end_read(false);
            Err(e)
        }
    }
}

/// Whether `location` names a PostgreSQL database (`postgresql://` or `postgres://`).
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgresql://") || location.starts_with("postgres://")
}

/// Opens the history at `location`: a PostgreSQL URL (`postgresql://USER@HOST:PORT/DB`, with
/// the `postgres` feature) or an SQLite file path. The schema is created or migrated on first
/// use and checked on every later one. With `create == false`, a missing SQLite file is
/// [`Error::Missing`](crate::Error::Missing) (read-only commands).
///
/// # Errors
/// The backend's open errors; [`Error::NoPostgres`](crate::Error::NoPostgres) for a URL in a build without PostgreSQL.
pub fn open(location: &str, create: bool) -> Result<Box<dyn Store>> {
    if is_postgres(location) {
        return open_postgres(location);
    }
    let history = if create {
        crate::History::open(location)?
    } else {
        crate::History::open_existing(location)?
    };
    Ok(Box::new(history))
}

#[cfg(feature = "postgres")]
fn open_postgres(url: &str) -> Result<Box<dyn Store>> {
    Ok(Box::new(crate::pg::PgHistory::open(url)?))
}

#[cfg(not(feature = "postgres"))]
fn open_postgres(_url: &str) -> Result<Box<dyn Store>> {
    Err(crate::error::Error::NoPostgres)
}

/// `location` with any password of a URL replaced by `***`, for messages and listings.
pub fn redact(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => location.to_owned(),
        },
        None => location.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgresql://u:secret@h:5432/db"),
            "postgresql://u:***@h:5432/db"
        );
        assert_eq!(
            redact("postgresql://u@h:5432/db"),
            "postgresql://u@h:5432/db"
        );
        assert_eq!(redact("out/history.sqlite"), "out/history.sqlite");
        assert!(is_postgres("postgres://x") && !is_postgres("x.sqlite"));
    }
}
