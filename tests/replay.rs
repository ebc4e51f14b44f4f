//! The study's monthly re-run, replayed on the real data: twelve `insiders run --as-of`
//! runs (2011-01-01 .. 2011-12-01) into one history database, then `insiders history`.
//! Slow (twelve whole runs), so it is ignored by `cargo test` and run by `.ci/run` in
//! release mode: `cargo test --release -p insiders --test replay -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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
    let months: Vec<String> = (1..=12).map(|m| format!("2011-{m:02}-01")).collect();
    let mut previous: Option<BTreeSet<i64>> = None;
    let mut customers = 0;
    for m in &months {
        let out = d.path().join(m);
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
            &db_s,
        ]);
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
}
