//! Membership history of insiders in an embedded SQLite database, or in PostgreSQL (the
//! `postgres` feature; [`open`] picks the backend from the location, both are a [`Store`]).
//!
//! Every `insiders run` records one run (as-of date, configuration hash, data fingerprint,
//! seed, model, Insiders cluster, tool version) and every customer's cluster and Insider
//! status in it. A rerun for the same as-of date replaces that run atomically. The queries
//! answer who entered and who left the Insiders between runs, and follow one customer
//! across runs; [`write_listing`] prints them for `insiders history`.
//!
//! ```
//! use insiders_history::{History, Membership, RunRecord};
//!
//! # fn main() -> Result<(), insiders_history::Error> {
//! let dir = tempfile::tempdir().map_err(insiders_history::Error::Io)?;
//! let mut history = History::open(dir.path().join("history.db"))?;
//! let record = |as_of: &str| RunRecord {
//!     as_of: as_of.into(),
//!     config_hash: "0123456789abcdef".into(),
//!     data_fingerprint: "f00d".into(),
//!     seed: 42,
//!     model: "ward k=10 on tree space".into(),
//!     insiders_cluster: 1,
//!     tool_version: "0.1.0".into(),
//! };
//! let m = |customer_id, cluster| Membership { customer_id, cluster, insider: cluster == 1 };
//! let jan = history.record_run(&record("2011-01-01"), &[m(10, 1), m(11, 0), m(12, 1)])?;
//! let feb = history.record_run(&record("2011-02-01"), &[m(10, 0), m(11, 1), m(12, 1), m(13, 1)])?;
//! let flows = history.flows(jan, feb)?;
//! assert_eq!(flows.entered, [11, 13]); // 13 is new: absent in January counts as entered
//! assert_eq!(flows.left, [10]);
//! assert_eq!(flows.stayed, 1);
//!
//! let mut listing = Vec::new();
//! insiders_history::write_listing(&mut history, None, &mut listing)?;
//! assert!(String::from_utf8_lossy(&listing).contains("2011-02-01"));
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/history.md` for the schema and the atomicity guarantees.

mod date;
mod db;
mod error;
mod listing;
#[cfg(feature = "postgres")]
mod pg;
mod sqlite_store;
mod store;

pub use date::validate_date;
pub use db::{
    APPLICATION_ID, CustomerEntry, Flows, History, Membership, RunId, RunRecord, RunSummary,
    SCHEMA_VERSION, Transition,
};
pub use error::{Error, Result};

/// The [flows](History::flows) between two ascending lists of Insiders (an earlier run's and
/// a later one's), computed in memory: what a run about to be recorded uses for its answers.
pub fn flows_between_lists(before: &[i64], after: &[i64]) -> Flows {
    db::compare(before, after)
}
pub use listing::{SHORT_HASH, write_listing};
#[cfg(feature = "postgres")]
pub use pg::PgHistory;
pub use store::{ClusterFlow, RunDocuments, Store, is_postgres, open, redact, snapshot};
