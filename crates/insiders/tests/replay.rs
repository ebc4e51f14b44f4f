//! The study's monthly re-run, replayed on the real data: twelve `insiders run --as-of`
//! runs (2011-01-01 .. 2011-12-01) into one history database, then `insiders history`.
//! Slow (twelve whole runs), so it is ignored by `cargo test` and run by `.ci/run` in
//! release mode: `cargo test --release -p insiders --test replay -- --ignored`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn insiders(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_insiders"))
        .args(args)
        .output()
        .expect("run insiders");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "insiders {args:?}: {text}");
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn insider_ids(dir: &Path) -> BTreeSet<i64> {
    std::fs::read_to_string(dir.join("insiders.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
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
        insiders(&[
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
                let list = |k: &str| -> Vec<i64> {
                    since[k]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_i64().unwrap())
                        .collect()
                };
                assert_eq!(
                    list("entered"),
                    now.difference(before).copied().collect::<Vec<_>>()
                );
                assert_eq!(
                    list("left"),
                    before.difference(&now).copied().collect::<Vec<_>>()
                );
            }
        }
        previous = Some(now);
    }
    let listing = insiders(&["history", "--db", &db_s]);
    println!("{listing}");
    for m in &months {
        assert_eq!(listing.matches(m.as_str()).count(), 1, "{listing}");
    }
}
