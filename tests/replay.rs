//! The study's monthly re-run, replayed on the real data: twelve `insiders run --as-of`
//! runs (2011-01-01 .. 2011-12-01) into one history database, then `insiders history`.
//! The same twelve runs go into a PostgreSQL history too (a throwaway loopback cluster),
//! and the two histories must be equal: every run, its counts and every membership. Then
//! June is rerun into PostgreSQL with another seed: it replaces June, in one transaction.
//! Slow (twenty-five whole runs), so it is ignored by `cargo test` and run by `.ci/run` in
//! release mode: `cargo test --release -p insiders --test replay -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pg::Pg;
use common::{id_list, insider_ids, insiders, text};
use std::collections::BTreeSet;

fn run_ok(args: &[&str]) -> String {
    let o = insiders(args);
    assert!(o.status.success(), "insiders {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
#[ignore = "twelve runs on the real data: run in release mode by .ci/run"]
fn twelve_monthly_runs_on_the_real_data() {
    let Some(data) = insiders_fixtures::real_data() else {
        return;
    };
    let data = data.to_str().unwrap().to_string();
    let d = tempfile::tempdir().unwrap();
    // Fewer refits than the default: the membership-stability refits are most of a run's time.
    let cfg = d.path().join("replay.toml");
    std::fs::write(&cfg, "[stability]\nseeds = 1\nsubsamples = 1\n").unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let db = d.path().join("history.sqlite");
    let db_s = db.to_str().unwrap().to_string();
    let pg = Pg::start();
    let months: Vec<String> = (1..=12).map(|m| format!("2011-{m:02}-01")).collect();
    let mut previous: Option<BTreeSet<i64>> = None;
    let mut customers = 0;
    for m in &months {
        let out = d.path().join(m);
        let run = |out: &std::path::Path, db: &str| {
            run_ok(&[
                "run",
                "--data",
                &data,
                "--config",
                &cfg,
                "--as-of",
                m,
                "--out",
                out.to_str().unwrap(),
                "--db",
                db,
            ])
        };
        if let Some(pg) = &pg {
            let pg_out = d.path().join(format!("{m}-pg"));
            run(&pg_out, &pg.url);
        }
        run(&out, &db_s);
        let answers: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
        assert_eq!(answers["run"]["as_of"], m.as_str());
        // Each month sees more customers than the one before: only invoices before the date.
        let n = answers["run"]["customers"].as_u64().unwrap();
        assert!(n > customers, "{m}: {n} customers after {customers}");
        customers = n;
        let now = insider_ids(&out);
        let since = &answers["q7_conditions_to_leave"]["since_previous"];
        match &previous {
            None => assert!(since.is_null()),
            Some(before) => {
                assert_eq!(
                    id_list(since, "entered"),
                    now.difference(before).copied().collect::<Vec<_>>()
                );
                assert_eq!(
                    id_list(since, "left"),
                    before.difference(&now).copied().collect::<Vec<_>>()
                );
            }
        }
        previous = Some(now);
    }
    let listing = run_ok(&["history", "--db", &db_s]);
    println!("{listing}");
    for m in &months {
        assert_eq!(listing.matches(m.as_str()).count(), 1, "{listing}");
    }
    let Some(pg) = pg else { return };

    // The PostgreSQL history equals the SQLite one: every run and every membership.
    let mut sq = insiders_history::open(&db_s, false).unwrap();
    let mut pq = insiders_history::open(&pg.url, false).unwrap();
    let (a, b) = (sq.all_runs().unwrap(), pq.all_runs().unwrap());
    assert_eq!(a.len(), 12);
    assert_eq!(b.len(), 12);
    println!("as-of       customers  insiders  clusters  memberships equal (SQLite = PostgreSQL)");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.record, y.record, "run records");
        assert_eq!(
            (x.customers, x.insiders, x.clusters),
            (y.customers, y.insiders, y.clusters)
        );
        let (mx, my) = (sq.memberships(x.id).unwrap(), pq.memberships(y.id).unwrap());
        assert_eq!(mx.len(), x.customers);
        assert_eq!(mx, my, "memberships of {}", x.record.as_of);
        assert_eq!(sq.documents(x.id).unwrap(), pq.documents(y.id).unwrap());
        println!(
            "{}  {:>9}  {:>8}  {:>8}  {} memberships equal",
            x.record.as_of,
            x.customers,
            x.insiders,
            x.clusters,
            mx.len()
        );
    }
    let flows = |s: &mut dyn insiders_history::Store| {
        s.all_transitions()
            .unwrap()
            .into_iter()
            .map(|t| (t.to_as_of, t.flows))
            .collect::<Vec<_>>()
    };
    assert_eq!(flows(sq.as_mut()), flows(pq.as_mut()));
    let pg_listing = run_ok(&["history", "--db", &pg.url]);
    assert_eq!(
        pg_listing.replace(&pg.url, "DB"),
        listing.replace(&db_s, "DB")
    );

    // A rerun of June into PostgreSQL replaces it: still twelve runs, June's new.
    let june = b[5].clone();
    let out = d.path().join("june-rerun");
    run_ok(&[
        "run",
        "--data",
        &data,
        "--config",
        &cfg,
        "--as-of",
        "2011-06-01",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
        "--db",
        &pg.url,
    ]);
    let after = pq.all_runs().unwrap();
    assert_eq!(after.len(), 12);
    let new_june = &after[5];
    assert_eq!(new_june.record.as_of, "2011-06-01");
    assert_eq!(new_june.record.seed, 7);
    assert_ne!(new_june.id, june.id);
    assert!(matches!(
        pq.run_by_id(june.id),
        Err(insiders_history::Error::UnknownRun(_))
    ));
    assert_eq!(
        pq.memberships(new_june.id).unwrap().len(),
        new_june.customers
    );
    let other: Vec<_> = after
        .iter()
        .filter(|r| r.id != new_june.id)
        .map(|r| r.id)
        .collect();
    assert_eq!(other.len(), 11, "the other months are untouched");
    println!(
        "rerun of 2011-06-01 (seed 7) in PostgreSQL: run {} replaced by run {}: {} Insiders before, {} after; still {} runs",
        june.id,
        new_june.id,
        june.insiders,
        new_june.insiders,
        after.len()
    );
    println!("{}", run_ok(&["history", "--db", &pg.url]));
    // INSIDERS_REPLAY_KEEP=1: leave the PostgreSQL server running and the folder in place,
    // to look at the history by hand (`insiders serve --db URL`, the screenshot in the docs).
    if std::env::var_os("INSIDERS_REPLAY_KEEP").is_some() {
        println!("kept: {} and {}", pg.url, d.path().display());
        std::mem::forget(pg);
        std::mem::forget(d);
    }
}
