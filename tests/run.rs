//! End-to-end tests of `insiders run` on the synthetic shop: deterministic outputs whatever
//! the thread count, answers that agree with the customer table, and clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
mod common;

use common::{id_list, insider_ids, insiders, text};
use std::process::Command;

/// A small shop and few refits, so the test profile stays fast.
const SMALL: &str = "[synth]\ncustomers = 400\n[stability]\nseeds = 1\nsubsamples = 1\nbootstrap_resamples = 200\n[forecast]\nsimulations = 50\n";

fn small_config(dir: &Path) -> String {
    let p = dir.join("small.toml");
    std::fs::write(&p, SMALL).unwrap();
    p.to_str().unwrap().to_string()
}

fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn same_seed_same_bytes_with_one_and_two_threads_and_answers_agree_with_the_table() {
    let d = tempfile::tempdir().unwrap();
    let cfg = small_config(d.path());
    let a = d.path().join("a");
    let b = d.path().join("b");
    let o = insiders(&["run", "--config", &cfg, "--out", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = insiders(&[
        "--threads",
        "1",
        "run",
        "--config",
        &cfg,
        "--out",
        b.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for f in [
        "insiders.csv",
        "answers.json",
        "labels.csv",
        "space.csv",
        "customers.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }

    // The answers agree with the files, recomputed here from customers.csv and labels.csv.
    let answers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("answers.json")).unwrap()).unwrap();
    let (ch, customers) = read_csv(&a.join("customers.csv"));
    let rev_col = ch.iter().position(|c| c == "gross_revenue").unwrap();
    let (_, labels) = read_csv(&a.join("labels.csv"));
    assert_eq!(labels.len(), customers.len());
    let insiders_cluster = answers["run"]["insiders_cluster"].as_i64().unwrap();
    // The Insiders are the cluster with the highest mean gross revenue.
    let mut sums = std::collections::BTreeMap::<i64, (f64, usize)>::new();
    for (row, lab) in customers.iter().zip(&labels) {
        assert_eq!(row[0], lab[0]);
        let l: i64 = lab[1].parse().unwrap();
        let e = sums.entry(l).or_default();
        e.0 += row[rev_col].parse::<f64>().unwrap();
        e.1 += 1;
    }
    let best = sums
        .iter()
        .filter(|(l, _)| **l >= 0)
        .max_by(|x, y| (x.1.0 / x.1.1 as f64).total_cmp(&(y.1.0 / y.1.1 as f64)))
        .unwrap();
    assert_eq!(*best.0, insiders_cluster);
    let total: f64 = sums.values().map(|v| v.0).sum();
    let share = sums[&insiders_cluster].0 / total;
    let got = answers["q4_revenue_share"]["share_revenue"]
        .as_f64()
        .unwrap();
    assert!((got - share).abs() < 1e-9, "{got} vs {share}");
    let (ih, insiders_rows) = read_csv(&a.join("insiders.csv"));
    assert_eq!(&ih[..3], ["customer_id", "cluster", "distance_to_centre"]);
    assert_eq!(insiders_rows.len(), sums[&insiders_cluster].1);
    assert_eq!(
        answers["q2_how_many"]["insiders"].as_u64().unwrap() as usize,
        insiders_rows.len()
    );
    for key in [
        "q1_who",
        "q2_how_many",
        "q3_characteristics",
        "q4_revenue_share",
        "q8_guarantee",
        "q9_actions",
        "hypotheses",
    ] {
        assert!(!answers[key].is_null(), "{key} missing");
    }
    // The study's method beside the default: the configured side is this run's Insiders,
    // and the forward check judges both at the backtest's cut-off beside the naive ranking.
    let beside = &answers["beside_study"];
    assert_eq!(beside["methods"][0]["method"], "configured");
    assert_eq!(
        beside["methods"][0]["insiders"],
        answers["q2_how_many"]["insiders"]
    );
    assert_eq!(beside["methods"][1]["method"], "study preset");
    let rows = beside["forward_check"]["rows"].as_array().unwrap();
    assert!(rows.len() >= 3, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r["method"].as_str().unwrap().starts_with("naive"))
    );
    let report = std::fs::read_to_string(a.join("report.md")).unwrap();
    assert!(report.contains("Beside the study's method"));
    // (Markdown escapes the underscore.)
    assert!(report.contains("insider\\_probability") && report.contains("On the edge"));
    let h3 = &answers["hypotheses"][0];
    assert_eq!(h3["id"], "H3");
    assert_eq!(h3["holds"].as_bool().unwrap(), share > 0.10);
}

#[test]
fn bad_as_of_and_bad_config_exit_non_zero_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = insiders(&[
        "run",
        "--as-of",
        "2011-13-01",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("2011-13-01"), "{}", text(&o));
    assert!(!out.exists());
    let cfg = d.path().join("bad.toml");
    std::fs::write(&cfg, "[model]\nspace_target = \"nope\"\n").unwrap();
    let o = insiders(&[
        "run",
        "--preset",
        "study",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("space_target"), "{}", text(&o));
    assert!(!out.exists());
    // The default's consensus settings are checked too.
    std::fs::write(&cfg, "[model.consensus]\nmax_share = 0.0\n").unwrap();
    let o = insiders(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("model.consensus.max_share"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}

#[test]
fn monthly_runs_fill_the_history_and_a_rerun_replaces_its_month() {
    let d = tempfile::tempdir().unwrap();
    let cfg = small_config(d.path());
    let db = d.path().join("history.sqlite");
    let db_s = db.to_str().unwrap();
    for m in ["2011-04-01", "2011-07-01", "2011-10-01"] {
        let out = d.path().join(m);
        let o = insiders(&[
            "run",
            "--config",
            &cfg,
            "--as-of",
            m,
            "--out",
            out.to_str().unwrap(),
            "--db",
            db_s,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let answers: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
        assert_eq!(answers["run"]["as_of"], m);
        let prev = &answers["q7_conditions_to_leave"]["since_previous"];
        if m == "2011-04-01" {
            assert!(prev.is_null());
        } else {
            // Entries and exits are exactly the set differences of the two runs' insiders.csv.
            let before = insider_ids(&d.path().join(if m == "2011-07-01" {
                "2011-04-01"
            } else {
                "2011-07-01"
            }));
            let now = insider_ids(&out);
            let entered: Vec<i64> = now.difference(&before).copied().collect();
            let left: Vec<i64> = before.difference(&now).copied().collect();
            assert_eq!(id_list(prev, "entered"), entered);
            assert_eq!(id_list(prev, "left"), left);
            assert_eq!(
                prev["stayed"].as_u64().unwrap() as usize,
                now.intersection(&before).count()
            );
        }
    }
    // A run only sees invoices before its as-of date.
    let (_, early) = read_csv(&d.path().join("2011-04-01/customers.csv"));
    let (_, late) = read_csv(&d.path().join("2011-10-01/customers.csv"));
    assert!(early.len() < late.len());
    let o = insiders(&["history", "--db", db_s]);
    assert!(o.status.success(), "{}", text(&o));
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    for m in ["2011-04-01", "2011-07-01", "2011-10-01"] {
        assert_eq!(listing.matches(m).count(), 1, "{listing}");
    }
    // Rerun a month with another seed: it replaces that month, nothing is added.
    let out = d.path().join("rerun");
    let o = insiders(&[
        "run",
        "--config",
        &cfg,
        "--as-of",
        "2011-07-01",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
        "--db",
        db_s,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = insiders(&["history", "--db", db_s]);
    let listing2 = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(listing2.matches("2011-07-01").count(), 1, "{listing2}");
    assert_eq!(listing.lines().count(), listing2.lines().count());
    // One customer's history.
    let first_id = &read_csv(&d.path().join("2011-10-01/insiders.csv")).1[0][0];
    let o = insiders(&["history", "--db", db_s, "--customer", first_id]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2011-10-01"));
    // A missing database is an error naming it.
    let missing = d.path().join("nope.sqlite");
    let o = insiders(&["history", "--db", missing.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("nope.sqlite"), "{}", text(&o));
}

#[test]
fn a_run_killed_half_way_leaves_the_outputs_and_the_database_intact() {
    let d = tempfile::tempdir().unwrap();
    let cfg = small_config(d.path());
    let out = d.path().join("out");
    let out_s = out.to_str().unwrap();
    let o = insiders(&["run", "--config", &cfg, "--out", out_s]);
    assert!(o.status.success(), "{}", text(&o));
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != "history.sqlite")
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().to_string(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = snapshot(&out);
    let listing = |db: &Path| {
        let o = insiders(&["history", "--db", db.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let db = out.join("history.sqlite");
    let history_before = listing(&db);
    // A heavier run (more refits) with another seed, killed while it computes.
    let heavy = d.path().join("heavy.toml");
    std::fs::write(&heavy, SMALL.replace("seeds = 1", "seeds = 3000")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_insiders"))
        .args([
            "run",
            "--config",
            heavy.to_str().unwrap(),
            "--seed",
            "9",
            "--out",
            out_s,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the heavy run ended before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(snapshot(&out), before, "outputs changed by a killed run");
    assert_eq!(listing(&db), history_before);
}

#[test]
fn the_model_can_come_from_a_grid_runs_best_cell() {
    let d = tempfile::tempdir().unwrap();
    let grid = d.path().join("grid-run");
    std::fs::create_dir_all(&grid).unwrap();
    std::fs::write(
        grid.join("manifest.json"),
        r#"{"config": {"features": ["gross_revenue", "recency_days", "qtde_products", "frequency", "qtde_returns"],
            "space": [{"name": "features", "method": "identity", "params": {}, "target": null}]}}"#,
    )
    .unwrap();
    std::fs::write(
        grid.join("results.json"),
        r#"[{"cell": "features/kmeans[n_init=3]/k5", "space": "features", "engine": "kmeans", "params": "n_init=3",
             "k": 5, "k_found": 5, "noise_share": 0.0, "silhouette": 0.61, "error": null},
            {"cell": "features/ward/k3", "space": "features", "engine": "ward", "params": "",
             "k": 3, "k_found": 3, "noise_share": 0.0, "silhouette": 0.7, "error": null}]"#,
    )
    .unwrap();
    let cfg = d.path().join("cfg.toml");
    std::fs::write(
        &cfg,
        format!(
            "{SMALL}[model.from_grid]\nrun = \"{}\"\n",
            grid.display().to_string().replace('\\', "/")
        ),
    )
    .unwrap();
    let out = d.path().join("out");
    // The grid scored the study's features: the run selects them too.
    let o = insiders(&[
        "run",
        "--preset",
        "study",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let answers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("answers.json")).unwrap()).unwrap();
    // ward k=3 scores higher but has fewer clusters than the default k_min of 4.
    assert_eq!(answers["run"]["engine"], "kmeans");
    assert_eq!(answers["run"]["k"], 5);
    assert_eq!(answers["run"]["space"], "identity");
    assert_eq!(answers["run"]["clusters_found"], 5);
    assert_eq!(
        answers["run"]["model_choice"]["cell"],
        "features/kmeans[n_init=3]/k5"
    );
}
