//! The history in PostgreSQL (`--db postgresql://USER@HOST:PORT/DB`): the same tables,
//! semantics and answers as the SQLite [`History`](crate::History), with PostgreSQL's types
//! (`date`, `timestamptz`, `boolean`, `json`). Versioned migrations are applied on first use
//! and checked on every later one, under an advisory lock so that two processes never
//! migrate at once; every run is one transaction, serialised by the same lock.

use std::io::Write as _;
use std::time::Duration;

use postgres::{Client, Config, NoTls, Row};

use crate::db::{
    CustomerEntry, Membership, RunId, RunRecord, RunSummary, SCHEMA_VERSION, validate_run,
};
use crate::error::{Error, Result};
use crate::store::{ClusterFlow, RunDocuments, Store, redact};

/// The advisory lock key of insiders' writers and migrations ("INSH").
const LOCK: i64 = 0x494E_5348;

/// How long a connection attempt waits when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations: `MIGRATIONS[v - 1]` takes the schema from version `v - 1` to `v`.
const MIGRATIONS: [&str; 2] = [PG_V1, PG_V2];

const PG_V1: &str = "
CREATE TABLE schema_version (
    id      integer PRIMARY KEY CHECK (id = 1),
    version integer NOT NULL
);
CREATE TABLE runs (
    run_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of            date        NOT NULL UNIQUE,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    config_hash      text        NOT NULL,
    data_fingerprint text        NOT NULL,
    seed             bigint      NOT NULL,
    model            text        NOT NULL,
    insiders_cluster bigint      NOT NULL,
    tool_version     text        NOT NULL,
    n_customers      bigint      NOT NULL,
    n_insiders       bigint      NOT NULL,
    n_clusters       bigint      NOT NULL
);
CREATE TABLE memberships (
    run_id      bigint  NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    customer_id bigint  NOT NULL,
    cluster     bigint  NOT NULL,
    insider     boolean NOT NULL,
    PRIMARY KEY (run_id, customer_id)
);
CREATE INDEX memberships_by_customer ON memberships (customer_id, run_id);
";

const PG_V2: &str = "
CREATE TABLE run_documents (
    run_id       bigint PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    answers      json NOT NULL,
    insiders_csv text NOT NULL,
    report_html  text NOT NULL
);
CREATE VIEW current_insiders AS
SELECT r.as_of, m.customer_id, m.cluster
FROM memberships m JOIN runs r ON r.run_id = m.run_id
WHERE m.insider AND r.as_of = (SELECT max(as_of) FROM runs);
CREATE VIEW run_pairs AS
SELECT run_id, as_of,
       lag(run_id) OVER (ORDER BY as_of) AS previous_run_id,
       lag(as_of) OVER (ORDER BY as_of) AS previous_as_of
FROM runs;
CREATE VIEW monthly_flows AS
SELECT p.as_of, p.previous_as_of, r.n_customers AS customers, r.n_insiders AS insiders,
       (SELECT count(*) FROM memberships m
        WHERE m.run_id = p.run_id AND m.insider AND NOT EXISTS (
            SELECT 1 FROM memberships o
            WHERE o.run_id = p.previous_run_id AND o.customer_id = m.customer_id
              AND o.insider)) AS entered,
       (SELECT count(*) FROM memberships o
        WHERE o.run_id = p.previous_run_id AND o.insider AND NOT EXISTS (
            SELECT 1 FROM memberships m
            WHERE m.run_id = p.run_id AND m.customer_id = o.customer_id
              AND m.insider)) AS exited
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

/// The columns of a [`RunSummary`], in the order [`summary`] reads them.
const RUN_COLUMNS: &str = "run_id, to_char(as_of, 'YYYY-MM-DD'), config_hash, data_fingerprint,
    seed, model, insiders_cluster, tool_version,
    to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
    n_customers, n_insiders, n_clusters";

/// The membership history in a PostgreSQL database.
pub struct PgHistory {
    client: Client,
    location: String,
}

impl std::fmt::Debug for PgHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHistory")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl PgHistory {
    /// Connects to `url` (`postgresql://USER@HOST:PORT/DB`, any libpq-style URL), creates or
    /// migrates the schema, and checks its version.
    ///
    /// # Errors
    /// [`Error::Postgres`] if the server cannot be reached or refuses; [`Error::NewerSchema`]
    /// if a newer insiders wrote the database; [`Error::ForeignDatabase`] if it has tables
    /// named like ours but no insiders schema; [`Error::Corrupt`] for a damaged version table.
    pub fn open(url: &str) -> Result<Self> {
        let location = redact(url);
        let pg = |source| Error::Postgres {
            location: location.clone(),
            source,
        };
        let mut config: Config = url.parse().map_err(pg)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let client = config.connect(NoTls).map_err(pg)?;
        let mut history = PgHistory { client, location };
        history.ensure_schema()?;
        Ok(history)
    }

    fn err(&self, source: postgres::Error) -> Error {
        Error::Postgres {
            location: self.location.clone(),
            source,
        }
    }

    fn ensure_schema(&mut self) -> Result<()> {
        let location = self.location.clone();
        let pg = |source| Error::Postgres {
            location: location.clone(),
            source,
        };
        let mut tx = self.client.transaction().map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .map_err(pg)?;
        let exists = |tx: &mut postgres::Transaction<'_>, name: &str| -> Result<bool> {
            let row = tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
                .map_err(pg)?;
            Ok(row.get(0))
        };
        let version: i64 = if exists(&mut tx, "schema_version")? {
            let row = tx
                .query_opt("SELECT version FROM schema_version WHERE id = 1", &[])
                .map_err(pg)?;
            match row {
                Some(r) => i64::from(r.get::<_, i32>(0)),
                None => {
                    return Err(Error::Corrupt {
                        path: location.clone().into(),
                        detail: "the schema_version table is empty".into(),
                    });
                }
            }
        } else if exists(&mut tx, "runs")? || exists(&mut tx, "memberships")? {
            return Err(Error::ForeignDatabase {
                path: location.clone().into(),
            });
        } else {
            0
        };
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path: location.clone().into(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 0 {
            return Err(Error::Corrupt {
                path: location.clone().into(),
                detail: format!("invalid schema version {version}"),
            });
        }
        for sql in MIGRATIONS
            .iter()
            .skip(usize::try_from(version).unwrap_or(0))
        {
            tx.batch_execute(sql).map_err(pg)?;
        }
        let target = i32::try_from(SCHEMA_VERSION).unwrap_or(i32::MAX);
        if version == 0 {
            tx.execute(
                "INSERT INTO schema_version (id, version) VALUES (1, $1)",
                &[&target],
            )
            .map_err(pg)?;
        } else if version < SCHEMA_VERSION {
            tx.execute(
                "UPDATE schema_version SET version = $1 WHERE id = 1",
                &[&target],
            )
            .map_err(pg)?;
        }
        tx.commit().map_err(pg)
    }

    fn select_runs(
        &mut self,
        tail: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<RunSummary>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs {tail}");
        let rows = self.client.query(&sql, params).map_err(|e| self.err(e))?;
        rows.iter()
            .map(summary)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| self.err(e))
    }
}

/// A [`RunSummary`] from a row of [`RUN_COLUMNS`].
fn summary(r: &Row) -> std::result::Result<RunSummary, postgres::Error> {
    let n = |i: usize| -> std::result::Result<usize, postgres::Error> {
        Ok(usize::try_from(r.try_get::<_, i64>(i)?).unwrap_or(0))
    };
    let seed: i64 = r.try_get(4)?;
    Ok(RunSummary {
        id: RunId(r.try_get(0)?),
        record: RunRecord {
            as_of: r.try_get(1)?,
            config_hash: r.try_get(2)?,
            data_fingerprint: r.try_get(3)?,
            // Two's complement, as in SQLite: seeds above i64::MAX read back unchanged.
            seed: seed as u64,
            model: r.try_get(5)?,
            insiders_cluster: r.try_get(6)?,
            tool_version: r.try_get(7)?,
        },
        recorded_at: r.try_get(8)?,
        customers: n(9)?,
        insiders: n(10)?,
        clusters: n(11)?,
    })
}

impl Store for PgHistory {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn record_run_with(
        &mut self,
        record: &RunRecord,
        memberships: &[Membership],
        documents: Option<&RunDocuments>,
    ) -> Result<RunId> {
        let counts = validate_run(record, memberships)?;
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let location = self.location.clone();
        let pg = |source| Error::Postgres {
            location: location.clone(),
            source,
        };
        let mut tx = self.client.transaction().map_err(pg)?;
        // One writer at a time: two reruns of one month never race on its unique date.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
            .map_err(pg)?;
        // The cascade removes the old run's memberships and documents.
        tx.execute(
            "DELETE FROM runs WHERE as_of = $1::text::date",
            &[&record.as_of],
        )
        .map_err(pg)?;
        let row = tx
            .query_one(
                "INSERT INTO runs (as_of, config_hash, data_fingerprint, seed, model,
                                   insiders_cluster, tool_version, n_customers, n_insiders,
                                   n_clusters)
                 VALUES ($1::text::date, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 RETURNING run_id",
                &[
                    &record.as_of,
                    &record.config_hash,
                    &record.data_fingerprint,
                    &(record.seed as i64),
                    &record.model,
                    &record.insiders_cluster,
                    &record.tool_version,
                    &count(counts.customers),
                    &count(counts.insiders),
                    &count(counts.clusters),
                ],
            )
            .map_err(pg)?;
        let run_id: i64 = row.get(0);
        // COPY: every membership in one stream of numbers (no text from outside is in it).
        let mut text = String::with_capacity(memberships.len() * 24);
        for m in memberships {
            use std::fmt::Write as _;
            let flag = if m.insider { 't' } else { 'f' };
            let _ = writeln!(text, "{run_id}\t{}\t{}\t{flag}", m.customer_id, m.cluster);
        }
        let mut writer = tx
            .copy_in("COPY memberships (run_id, customer_id, cluster, insider) FROM STDIN")
            .map_err(pg)?;
        writer
            .write_all(text.as_bytes())
            .map_err(|source| Error::Stream {
                location: location.clone(),
                source,
            })?;
        writer.finish().map_err(pg)?;
        if let Some(d) = documents {
            tx.execute(
                "INSERT INTO run_documents (run_id, answers, insiders_csv, report_html)
                 VALUES ($1, $2::text::json, $3, $4)",
                &[&run_id, &d.answers, &d.insiders_csv, &d.report_html],
            )
            .map_err(pg)?;
        }
        tx.commit().map_err(pg)?;
        Ok(RunId(run_id))
    }

    fn all_runs(&mut self) -> Result<Vec<RunSummary>> {
        self.select_runs("ORDER BY as_of", &[])
    }

    fn run_by_id(&mut self, id: RunId) -> Result<RunSummary> {
        self.select_runs("WHERE run_id = $1", &[&id.0])?
            .pop()
            .ok_or(Error::UnknownRun(id.0))
    }

    fn run_on(&mut self, as_of: &str) -> Result<Option<RunSummary>> {
        crate::validate_date(as_of)?;
        Ok(self
            .select_runs("WHERE as_of = $1::text::date", &[&as_of])?
            .pop())
    }

    fn run_before(&mut self, as_of: &str) -> Result<Option<RunSummary>> {
        crate::validate_date(as_of)?;
        Ok(self
            .select_runs(
                "WHERE as_of < $1::text::date ORDER BY as_of DESC LIMIT 1",
                &[&as_of],
            )?
            .pop())
    }

    fn insider_ids(&mut self, id: RunId) -> Result<Vec<i64>> {
        let rows = self
            .client
            .query(
                "SELECT customer_id FROM memberships
                 WHERE run_id = $1 AND insider ORDER BY customer_id",
                &[&id.0],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn memberships(&mut self, id: RunId) -> Result<Vec<Membership>> {
        let rows = self
            .client
            .query(
                "SELECT customer_id, cluster, insider FROM memberships
                 WHERE run_id = $1 ORDER BY customer_id",
                &[&id.0],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| Membership {
                customer_id: r.get(0),
                cluster: r.get(1),
                insider: r.get(2),
            })
            .collect())
    }

    fn customer_runs(&mut self, customer_id: i64) -> Result<Vec<CustomerEntry>> {
        let rows = self
            .client
            .query(
                "SELECT r.run_id, to_char(r.as_of, 'YYYY-MM-DD'), m.cluster, m.insider
                 FROM memberships m JOIN runs r ON r.run_id = m.run_id
                 WHERE m.customer_id = $1 ORDER BY r.as_of",
                &[&customer_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| CustomerEntry {
                run: RunId(r.get(0)),
                as_of: r.get(1),
                cluster: r.get(2),
                insider: r.get(3),
            })
            .collect())
    }

    fn documents(&mut self, id: RunId) -> Result<Option<RunDocuments>> {
        let row = self
            .client
            .query_opt(
                "SELECT answers::text, insiders_csv, report_html FROM run_documents
                 WHERE run_id = $1",
                &[&id.0],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.map(|r| RunDocuments {
            answers: r.get(0),
            insiders_csv: r.get(1),
            report_html: r.get(2),
        }))
    }

    fn cluster_flows(&mut self, from: RunId, to: RunId) -> Result<Vec<ClusterFlow>> {
        let rows = self
            .client
            .query(
                "SELECT a.cluster, b.cluster, count(*) FROM memberships a
                 JOIN memberships b ON b.run_id = $2 AND b.customer_id = a.customer_id
                 WHERE a.run_id = $1
                 GROUP BY a.cluster, b.cluster ORDER BY a.cluster, b.cluster",
                &[&from.0, &to.0],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| ClusterFlow {
                from_cluster: r.get(0),
                to_cluster: r.get(1),
                customers: usize::try_from(r.get::<_, i64>(2)).unwrap_or(0),
            })
            .collect())
    }

    fn begin_read(&mut self) -> Result<()> {
        self.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| self.err(e))
    }

    fn end_read(&mut self, commit: bool) -> Result<()> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        self.client.batch_execute(sql).map_err(|e| self.err(e))
    }
}
