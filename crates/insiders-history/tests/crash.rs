//! Crash safety: a process killed (SIGKILL) in the middle of recording a run leaves the
//! database intact, with the earlier runs all there and the half-written run absent.
//!
//! The test binary re-invokes itself: `crash_child` (ignored unless asked for by name, and
//! a no-op without the environment variable) records three runs, then starts re-recording
//! one of them with millions of memberships; the parent kills it once SQLite has begun
//! writing that transaction into the database file itself.
#![allow(clippy::unwrap_used)] // helpers of tests may unwrap too

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{members, month, record};
use insiders_history::{History, Membership, RunId};

/// Tells the child process its working directory.
const CHILD_ENV: &str = "INSIDERS_HISTORY_CRASH_CHILD";
/// Customers in the run that gets killed: large enough that SQLite spills the transaction
/// into the database file long before it could commit.
const HUGE: i64 = 3_000_000;

fn small_run(m: usize) -> Vec<Membership> {
    let m = m as i64;
    members(1..=50 + 10 * m, &[m + 1, m + 2, m + 3, 40 + m])
}

fn db(dir: &Path) -> PathBuf {
    dir.join("history.db")
}

fn journal(dir: &Path) -> PathBuf {
    dir.join("history.db-journal")
}

#[test]
#[ignore = "helper process of killed_run_leaves_database_intact"]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
    let mut history = History::open(db(&dir)).unwrap();
    for m in 0..3 {
        history
            .record_run(&record(&month(m)), &small_run(m))
            .unwrap();
    }
    let huge: Vec<Membership> = (1..=HUGE)
        .map(|customer_id| Membership {
            customer_id,
            cluster: customer_id % 2,
            insider: customer_id % 2 == 0,
        })
        .collect();
    let committed_size = std::fs::metadata(db(&dir)).unwrap().len();
    // Tell the parent the size of the database with three committed runs, then rerun
    // February with the huge membership list (a replacement: the old February must survive).
    std::fs::write(dir.join("ready"), committed_size.to_string()).unwrap();
    history.record_run(&record(&month(1)), &huge).unwrap();
    std::fs::write(dir.join("finished"), "").unwrap();
}

#[test]
fn killed_run_leaves_database_intact() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--ignored", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let wait_for = |what: &str, child: &mut std::process::Child, ready: &dyn Fn() -> bool| {
        while !ready() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child exited ({status}) before {what}");
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let ready = dir.path().join("ready");
    wait_for("it was ready", &mut child, &|| {
        std::fs::read_to_string(&ready).is_ok_and(|s| s.parse::<u64>().is_ok())
    });
    let committed_size: u64 = std::fs::read_to_string(&ready).unwrap().parse().unwrap();
    // Mid-transaction: the rollback journal exists and SQLite has already written pages of
    // the uncommitted run into the database file (it outgrew its page cache).
    let d = dir.path().to_path_buf();
    wait_for(
        "the transaction reached the database file",
        &mut child,
        &|| {
            journal(&d).exists()
                && std::fs::metadata(db(&d)).is_ok_and(|m| m.len() > committed_size)
        },
    );
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(
        !dir.path().join("finished").exists(),
        "the huge run finished before the kill"
    );
    // The evidence of a half-written transaction is on disk: a hot journal, and a database
    // file holding uncommitted pages.
    assert!(std::fs::metadata(journal(dir.path())).unwrap().len() > 0);
    let dirty_size = std::fs::metadata(db(dir.path())).unwrap().len();
    assert!(dirty_size > committed_size);

    // Reopening rolls the hot journal back.
    let mut history = History::open(db(dir.path())).unwrap();
    history.check_integrity().unwrap();
    let conn = rusqlite::Connection::open(db(dir.path())).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    assert!(
        !journal(dir.path()).exists(),
        "the hot journal was rolled back"
    );

    let runs = history.runs().unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| r.record.as_of.as_str())
            .collect::<Vec<_>>(),
        [month(0), month(1), month(2)]
    );
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        [RunId(1), RunId(2), RunId(3)],
        "the original February run, not a replacement"
    );
    for (m, run) in runs.iter().enumerate() {
        assert_eq!(run.record, record(&month(m)));
        assert_eq!(
            (run.customers, run.insiders),
            (50 + 10 * m, 4),
            "{}",
            run.record.as_of
        );
    }
    let total: i64 = conn
        .query_row("SELECT count(*) FROM memberships", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        total,
        50 + 60 + 70,
        "no membership of the killed run is left"
    );
    let max_customer: i64 = conn
        .query_row("SELECT max(customer_id) FROM memberships", [], |r| r.get(0))
        .unwrap();
    assert_eq!(max_customer, 70);
    drop(conn);
    // The February memberships are the original ones.
    let february = history.customer(2).unwrap();
    assert_eq!(february.len(), 3);
    assert!(february[0].insider && february[1].insider && !february[2].insider);
    let flows = history.flows(runs[0].id, runs[1].id).unwrap();
    assert_eq!(
        (flows.entered, flows.left, flows.stayed),
        (vec![4, 41], vec![1, 40], 2)
    );

    // And the database keeps working: the rerun can now be done properly.
    let id = history
        .record_run(&record(&month(1)), &small_run(5))
        .unwrap();
    assert_eq!(id, RunId(4));
    assert_eq!(history.runs().unwrap()[1].customers, 100);
    history.check_integrity().unwrap();
}
