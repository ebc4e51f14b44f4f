//! Schema, recording, replacing, flows, transitions and the listing.
#![allow(clippy::unwrap_used)] // helpers of tests may unwrap too

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{members, month, record};
use insiders_history::{
    APPLICATION_ID, Error, Flows, History, Membership, RunId, SCHEMA_VERSION, write_listing,
};
use rusqlite::Connection;

fn tables(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn count(path: &Path, sql: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn open_creates_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    assert!(!path.exists());
    let history = History::open(&path).unwrap();
    assert_eq!(history.path(), path);
    assert!(history.runs().unwrap().is_empty());
    history.check_integrity().unwrap();
    drop(history);
    assert!(path.exists());
    let expected = [
        "memberships",
        "memberships_by_customer",
        "run_documents",
        "runs",
        "schema_version",
    ];
    assert_eq!(tables(&path), expected);
    assert_eq!(
        count(&path, "SELECT version FROM schema_version"),
        SCHEMA_VERSION
    );
    assert_eq!(count(&path, "SELECT count(*) FROM schema_version"), 1);
    assert_eq!(
        count(&path, "PRAGMA application_id"),
        i64::from(APPLICATION_ID)
    );
    // The rollback journal, not WAL: a single file at rest.
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    drop(conn);

    // Reopening keeps everything and adds nothing.
    let mut history = History::open(&path).unwrap();
    history
        .record_run(&record("2011-01-01"), &members(1..=3, &[2]))
        .unwrap();
    drop(history);
    let history = History::open(&path).unwrap();
    assert_eq!(history.runs().unwrap().len(), 1);
    assert_eq!(tables(&path), expected);
    assert_eq!(count(&path, "SELECT count(*) FROM schema_version"), 1);
}

#[test]
fn open_existing_does_not_create() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = History::open_existing(&path).unwrap_err();
    assert!(
        matches!(&err, Error::Missing { path: p } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("absent.db"));
    assert!(!path.exists());
    History::open(&path).unwrap();
    History::open_existing(&path).unwrap();
}

#[test]
fn a_file_that_is_not_a_database_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoices.csv");
    let content = "InvoiceNo,StockCode,Description,Quantity\n536365,85123A,WHITE HANGING HEART,6\n"
        .repeat(200);
    std::fs::write(&path, &content).unwrap();
    let err = History::open(&path).unwrap_err();
    assert!(
        matches!(&err, Error::NotADatabase { path: p } if *p == path),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not an SQLite database"), "{message}");
    // Untouched.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    drop(conn);
    let err = History::open(&path).unwrap_err();
    assert!(
        matches!(&err, Error::ForeignDatabase { path: p } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("other.db"));
    assert_eq!(tables(&path), ["notes"]);
}

#[test]
fn a_newer_schema_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    History::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE schema_version SET version = ?1",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();
    drop(conn);
    let err = History::open(&path).unwrap_err();
    match &err {
        Error::NewerSchema {
            path: p,
            found,
            supported,
        } => {
            assert_eq!(*p, path);
            assert_eq!(*found, SCHEMA_VERSION + 1);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("future.db") && message.contains("newer"),
        "{message}"
    );
}

#[test]
fn record_and_replace_the_same_as_of() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut history = History::open(&path).unwrap();
    let jan = history
        .record_run(&record("2011-01-01"), &members(1..=5, &[1, 2]))
        .unwrap();
    let mut first_feb = record("2011-02-01");
    first_feb.seed = u64::MAX - 7; // above i64::MAX: must read back unchanged
    let feb = history
        .record_run(&first_feb, &members(1..=10, &[3, 4, 5]))
        .unwrap();
    assert_ne!(jan, feb);
    let runs = history.runs().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].record, first_feb);
    assert_eq!((runs[1].customers, runs[1].insiders), (10, 3));
    assert_eq!(runs[1].clusters, 4); // 0 plus 1 + id % 3 for the others
    assert_eq!(runs[1].recorded_at.len(), "2011-01-01T00:00:00Z".len());
    assert_eq!(count(&path, "SELECT count(*) FROM memberships"), 15);

    // The rerun for February: fewer customers, other Insiders, another model.
    let mut second_feb = record("2011-02-01");
    second_feb.model = "kmeans k=8 on umap".to_owned();
    second_feb.insiders_cluster = 7;
    let rerun: Vec<Membership> = (101..=104)
        .map(|customer_id| Membership {
            customer_id,
            cluster: if customer_id % 2 == 0 { 7 } else { 3 },
            insider: customer_id % 2 == 0,
        })
        .collect();
    let feb2 = history.record_run(&second_feb, &rerun).unwrap();
    assert!(feb2 > feb, "ids are not reused");
    let runs = history.runs().unwrap();
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [jan, feb2],
        "January kept, February replaced"
    );
    assert_eq!(runs[1].record, second_feb);
    assert_eq!(
        (runs[1].customers, runs[1].insiders, runs[1].clusters),
        (4, 2, 2)
    );
    // No leftovers of the first February run.
    assert_eq!(count(&path, "SELECT count(*) FROM runs"), 2);
    assert_eq!(count(&path, "SELECT count(*) FROM memberships"), 5 + 4);
    assert_eq!(
        count(
            &path,
            &format!("SELECT count(*) FROM memberships WHERE run_id = {}", feb.0)
        ),
        0
    );
    assert!(history.customer(3).unwrap().iter().all(|e| e.run == jan));
    assert!(matches!(history.run(feb), Err(Error::UnknownRun(id)) if id == feb.0));
    assert!(matches!(history.flows(jan, feb), Err(Error::UnknownRun(_))));
    let entries = history.customer(104).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].run,
            entries[0].as_of.as_str(),
            entries[0].cluster,
            entries[0].insider
        ),
        (feb2, "2011-02-01", 7, true)
    );
    // The January run is untouched.
    assert_eq!(history.run(jan).unwrap().record, record("2011-01-01"));
    assert_eq!((runs[0].customers, runs[0].insiders), (5, 2));
    history.check_integrity().unwrap();
}

#[test]
fn invalid_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut history = History::open(&path).unwrap();
    let jan = history
        .record_run(&record("2011-01-01"), &members(1..=5, &[1, 2]))
        .unwrap();

    let mut duplicate = members(1..=5, &[1]);
    duplicate.push(duplicate[2]);
    let err = history
        .record_run(&record("2011-01-01"), &duplicate)
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateCustomer { customer_id: 3 }),
        "{err:?}"
    );

    let mut inconsistent = members(1..=5, &[1]);
    inconsistent[3].insider = true;
    let err = history
        .record_run(&record("2011-01-01"), &inconsistent)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InconsistentInsider {
                customer_id: 4,
                insider: true,
                insiders_cluster: 0,
                ..
            }
        ),
        "{err:?}"
    );

    for bad in ["2011-02-30", "2011-1-01", "01/02/2011", ""] {
        let err = history
            .record_run(&record(bad), &members(1..=2, &[]))
            .unwrap_err();
        assert!(matches!(&err, Error::InvalidDate(s) if s == bad), "{err:?}");
        assert!(matches!(
            history.previous_run(bad),
            Err(Error::InvalidDate(_))
        ));
    }
    let runs = history.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, jan);
    assert_eq!((runs[0].customers, runs[0].insiders), (5, 2));
    assert_eq!(count(&path, "SELECT count(*) FROM memberships"), 5);
}

#[test]
fn flows_with_hand_made_sets() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(dir.path().join("h.db")).unwrap();
    // Before: customers 1..=10, Insiders 1, 2, 3, 4, 9.
    // After: customer 3 and 9 gone, 11 and 12 new; Insiders 1, 2, 5, 11.
    let before = history
        .record_run(&record("2011-03-01"), &members(1..=10, &[1, 2, 3, 4, 9]))
        .unwrap();
    let after_customers = [1, 2, 4, 5, 6, 7, 8, 10, 11, 12];
    let after = history
        .record_run(
            &record("2011-04-01"),
            &members(after_customers, &[1, 2, 5, 11]),
        )
        .unwrap();
    let flows = history.flows(before, after).unwrap();
    assert_eq!(
        flows,
        Flows {
            entered: vec![5, 11], // 5 changed cluster, 11 is new
            left: vec![3, 4, 9],  // 4 changed cluster, 3 and 9 are gone
            stayed: 2,            // 1 and 2
        }
    );
    // Reversed runs swap the roles.
    let back = history.flows(after, before).unwrap();
    assert_eq!(back.entered, flows.left);
    assert_eq!(back.left, flows.entered);
    assert_eq!(back.stayed, 2);
    // A run against itself: nothing moves.
    let same = history.flows(after, after).unwrap();
    assert_eq!(
        same,
        Flows {
            entered: vec![],
            left: vec![],
            stayed: 4
        }
    );
    assert!(matches!(
        history.flows(before, RunId(999)),
        Err(Error::UnknownRun(999))
    ));

    // previous_run is strictly before the date.
    assert_eq!(history.previous_run("2011-03-01").unwrap(), None);
    assert_eq!(
        history.previous_run("2011-03-02").unwrap().unwrap().id,
        before
    );
    assert_eq!(
        history.previous_run("2011-04-01").unwrap().unwrap().id,
        before
    );
    assert_eq!(
        history.previous_run("2012-01-01").unwrap().unwrap().id,
        after
    );
    assert_eq!(history.run_at("2011-04-01").unwrap().unwrap().id, after);
    assert_eq!(history.run_at("2011-04-02").unwrap(), None);
}

/// Month `m` (0 = January 2011): customers 1..=20+2m, Insiders the sliding window
/// 2m+1..=2m+6; customer 1000 is an Insider in April and May only and absent otherwise.
fn month_members(m: usize) -> (Vec<Membership>, BTreeSet<i64>) {
    let m = m as i64;
    let mut customers: Vec<i64> = (1..=20 + 2 * m).collect();
    let mut insiders: Vec<i64> = (2 * m + 1..=2 * m + 6).collect();
    if m == 3 || m == 4 {
        customers.push(1000);
        insiders.push(1000);
    }
    (
        members(customers, &insiders),
        insiders.into_iter().collect(),
    )
}

#[test]
fn twelve_monthly_runs_transitions_and_listing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut history = History::open(&path).unwrap();
    let mut ids = Vec::new();
    for m in 0..12 {
        if m == 6 {
            // A first, wrong July run, replaced below by the rerun.
            history
                .record_run(&record(&month(m)), &members(500..600, &[500, 501]))
                .unwrap();
        }
        let (memberships, _) = month_members(m);
        ids.push(
            history
                .record_run(&record(&month(m)), &memberships)
                .unwrap(),
        );
    }
    // Recorded out of order: the order is by as-of date, not by insertion.
    let runs = history.runs().unwrap();
    assert_eq!(runs.len(), 12);
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), ids);

    let transitions = history.transitions().unwrap();
    assert_eq!(transitions.len(), 11);
    for (i, t) in transitions.iter().enumerate() {
        let (_, before_insiders) = month_members(i);
        let (after, after_insiders) = month_members(i + 1);
        let present_after: BTreeSet<i64> = after.iter().map(|m| m.customer_id).collect();
        // Independent set arithmetic.
        let entered: Vec<i64> = after_insiders
            .difference(&before_insiders)
            .copied()
            .collect();
        let left: Vec<i64> = before_insiders
            .difference(&after_insiders)
            .copied()
            .collect();
        let stayed = before_insiders.intersection(&after_insiders).count();
        assert_eq!((t.from, t.to), (ids[i], ids[i + 1]));
        assert_eq!(
            (t.from_as_of.as_str(), t.to_as_of.clone()),
            (month(i).as_str(), month(i + 1))
        );
        assert_eq!(t.flows.entered, entered, "{}", t.to_as_of);
        assert_eq!(t.flows.left, left, "{}", t.to_as_of);
        assert_eq!(t.flows.stayed, stayed, "{}", t.to_as_of);
        assert!(t.flows.entered.iter().all(|c| present_after.contains(c)));
    }
    // The hand-checked months: 1000 enters in April from nowhere and leaves in June by
    // vanishing.
    assert_eq!(transitions[2].flows.entered, [11, 12, 1000]);
    assert_eq!(transitions[2].flows.left, [5, 6]);
    assert_eq!(transitions[4].flows.entered, [15, 16]);
    assert_eq!(transitions[4].flows.left, [9, 10, 1000]);
    assert_eq!(transitions[4].flows.stayed, 4);

    let mut out = Vec::new();
    write_listing(&mut history, None, &mut out).unwrap();
    let expected = format!(
        "12 runs in {}
as-of       customers  insiders  entered  left  config    model
2011-01-01         20         6        -     -  cafebabe  ward k=10 on tree space
2011-02-01         22         6        2     2  cafebabe  ward k=10 on tree space
2011-03-01         24         6        2     2  cafebabe  ward k=10 on tree space
2011-04-01         27         7        3     2  cafebabe  ward k=10 on tree space
2011-05-01         29         7        2     2  cafebabe  ward k=10 on tree space
2011-06-01         30         6        2     3  cafebabe  ward k=10 on tree space
2011-07-01         32         6        2     2  cafebabe  ward k=10 on tree space
2011-08-01         34         6        2     2  cafebabe  ward k=10 on tree space
2011-09-01         36         6        2     2  cafebabe  ward k=10 on tree space
2011-10-01         38         6        2     2  cafebabe  ward k=10 on tree space
2011-11-01         40         6        2     2  cafebabe  ward k=10 on tree space
2011-12-01         42         6        2     2  cafebabe  ward k=10 on tree space
",
        path.display()
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);

    // Customer 5: an Insider from the first run until March, present throughout.
    let mut out = Vec::new();
    write_listing(&mut history, Some(5), &mut out).unwrap();
    let expected = "\
customer 5: in 12 of 12 runs, an Insider in 3; entered: 2011-01-01 (first run); left: 2011-04-01
as-of       cluster  insider  change
2011-01-01        0      yes
2011-02-01        0      yes
2011-03-01        0      yes
2011-04-01        3       no  left
2011-05-01        3       no
2011-06-01        3       no
2011-07-01        3       no
2011-08-01        3       no
2011-09-01        3       no
2011-10-01        3       no
2011-11-01        3       no
2011-12-01        3       no
";
    assert_eq!(String::from_utf8(out).unwrap(), expected);

    // Customer 1000: absent, then an Insider in April and May, then absent again.
    let mut out = Vec::new();
    write_listing(&mut history, Some(1000), &mut out).unwrap();
    let expected = "\
customer 1000: in 2 of 12 runs, an Insider in 2; entered: 2011-04-01; left: 2011-06-01
as-of       cluster  insider  change
2011-01-01        -        -
2011-02-01        -        -
2011-03-01        -        -
2011-04-01        0      yes  entered
2011-05-01        0      yes
2011-06-01        -        -  left (absent)
2011-07-01        -        -
2011-08-01        -        -
2011-09-01        -        -
2011-10-01        -        -
2011-11-01        -        -
2011-12-01        -        -
";
    assert_eq!(String::from_utf8(out).unwrap(), expected);

    // Customer 41 joins in December, never an Insider; 5000 is unknown.
    let entries = history.customer(41).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].as_of.as_str(), entries[0].insider),
        ("2011-12-01", false)
    );
    let mut out = Vec::new();
    write_listing(&mut history, Some(5000), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "customer 5000 is in none of the 12 runs in {}\n",
            path.display()
        )
    );
    history.check_integrity().unwrap();
}

#[test]
fn listing_of_an_empty_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut history = History::open(&path).unwrap();
    let mut out = Vec::new();
    write_listing(&mut history, None, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("no runs recorded in {}\n", path.display())
    );
    assert!(history.transitions().unwrap().is_empty());
}

/// A database written by the first schema (version 1, before the documents and the views)
/// is migrated on open, in place, keeping its runs; a second open finds nothing to do.
#[test]
fn a_version_1_database_is_migrated_keeping_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID};
         CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
         INSERT INTO schema_version VALUES (1, 1);
         CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, as_of TEXT NOT NULL UNIQUE,
             recorded_at TEXT NOT NULL, config_hash TEXT NOT NULL, data_fingerprint TEXT NOT NULL,
             seed INTEGER NOT NULL, model TEXT NOT NULL, insiders_cluster INTEGER NOT NULL,
             tool_version TEXT NOT NULL, n_customers INTEGER NOT NULL, n_insiders INTEGER NOT NULL,
             n_clusters INTEGER NOT NULL);
         CREATE TABLE memberships (run_id INTEGER NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
             customer_id INTEGER NOT NULL, cluster INTEGER NOT NULL,
             insider INTEGER NOT NULL CHECK (insider IN (0, 1)),
             PRIMARY KEY (run_id, customer_id)) WITHOUT ROWID;
         CREATE INDEX memberships_by_customer ON memberships (customer_id, run_id);
         INSERT INTO runs VALUES (1, '2011-01-01', '2011-01-01T00:00:00Z', 'c', 'd', 42, 'm', 1,
             '0.1.0', 2, 1, 2);
         INSERT INTO memberships VALUES (1, 10, 1, 1), (1, 11, 0, 0);"
    ))
    .unwrap();
    drop(conn);
    let mut history = History::open(&path).unwrap();
    assert_eq!(
        count(&path, "SELECT version FROM schema_version"),
        SCHEMA_VERSION
    );
    assert!(tables(&path).contains(&"run_documents".to_string()));
    let runs = history.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].insiders, 1);
    // The views answer on the migrated data, and a new run goes in beside the old one.
    let m = |customer_id, cluster| Membership {
        customer_id,
        cluster,
        insider: cluster == 1,
    };
    let mut feb = record("2011-02-01");
    feb.insiders_cluster = 1;
    history
        .record_run(&feb, &[m(10, 0), m(11, 1), m(12, 1)])
        .unwrap();
    assert_eq!(count(&path, "SELECT entered FROM monthly_flows"), 2);
    assert_eq!(count(&path, "SELECT exited FROM monthly_flows"), 1);
    assert_eq!(count(&path, "SELECT count(*) FROM current_insiders"), 2);
    history.check_integrity().unwrap();
}
