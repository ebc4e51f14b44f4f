//! The [`Store`] implementation of the SQLite [`History`], and the queries only the store
//! needs (a run's memberships and documents, the flows between clusters).

use rusqlite::OptionalExtension;

use crate::db::{CustomerEntry, History, Membership, RunId, RunRecord, RunSummary};
use crate::error::Result;
use crate::store::{ClusterFlow, RunDocuments, Store};

impl Store for History {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn record_run_with(
        &mut self,
        record: &RunRecord,
        memberships: &[Membership],
        documents: Option<&RunDocuments>,
    ) -> Result<RunId> {
        self.record_run_with_documents(record, memberships, documents)
    }

    fn all_runs(&mut self) -> Result<Vec<RunSummary>> {
        self.runs()
    }

    fn run_by_id(&mut self, id: RunId) -> Result<RunSummary> {
        self.run(id)
    }

    fn run_on(&mut self, as_of: &str) -> Result<Option<RunSummary>> {
        self.run_at(as_of)
    }

    fn run_before(&mut self, as_of: &str) -> Result<Option<RunSummary>> {
        self.previous_run(as_of)
    }

    fn insider_ids(&mut self, id: RunId) -> Result<Vec<i64>> {
        self.insiders_of(id)
    }

    fn memberships(&mut self, id: RunId) -> Result<Vec<Membership>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT customer_id, cluster, insider FROM memberships
                 WHERE run_id = ?1 ORDER BY customer_id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([id.0], |r| {
            Ok(Membership {
                customer_id: r.get(0)?,
                cluster: r.get(1)?,
                insider: r.get(2)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    fn customer_runs(&mut self, customer_id: i64) -> Result<Vec<CustomerEntry>> {
        self.customer(customer_id)
    }

    fn documents(&mut self, id: RunId) -> Result<Option<RunDocuments>> {
        self.conn
            .query_row(
                "SELECT answers, insiders_csv, report_html FROM run_documents WHERE run_id = ?1",
                [id.0],
                |r| {
                    Ok(RunDocuments {
                        answers: r.get(0)?,
                        insiders_csv: r.get(1)?,
                        report_html: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn cluster_flows(&mut self, from: RunId, to: RunId) -> Result<Vec<ClusterFlow>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.cluster, b.cluster, count(*) FROM memberships a
                 JOIN memberships b ON b.run_id = ?2 AND b.customer_id = a.customer_id
                 WHERE a.run_id = ?1
                 GROUP BY a.cluster, b.cluster ORDER BY a.cluster, b.cluster",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([from.0, to.0], |r| {
            let n: i64 = r.get(2)?;
            Ok(ClusterFlow {
                from_cluster: r.get(0)?,
                to_cluster: r.get(1)?,
                customers: usize::try_from(n).unwrap_or(0),
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.err(e))
    }

    fn begin_read(&mut self) -> Result<()> {
        // A deferred transaction: its first read takes the shared lock and holds it to the
        // end, so a writer's commit waits and the reads see one committed state.
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))
    }

    fn end_read(&mut self, commit: bool) -> Result<()> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }
}
