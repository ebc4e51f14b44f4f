//! End-to-end tests of `insiders run` on the synthetic shop: deterministic outputs whatever
//! the thread count, answers that agree with the customer table, and clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn insiders(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_insiders"))
        .args(args)
        .output()
        .expect("run insiders")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A small shop and few refits, so the test profile stays fast.
const SMALL: &str = "[synth]\ncustomers = 400\n[stability]\nseeds = 1\nsubsamples = 1\nbootstrap_resamples = 200\n[forecast]\nband_resamples = 20\n";

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
    let got = answers["q4_revenue_share"]["share_revenue"].as_f64().unwrap();
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
    let h3 = &answers["hypotheses"][0];
    assert_eq!(h3["id"], "H3");
    assert_eq!(h3["holds"].as_bool().unwrap(), share > 0.10);
}

#[test]
fn bad_as_of_and_bad_config_exit_non_zero_and_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = insiders(&["run", "--as-of", "2011-13-01", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("2011-13-01"), "{}", text(&o));
    assert!(!out.exists());
    let cfg = d.path().join("bad.toml");
    std::fs::write(&cfg, "[model]\nspace_target = \"nope\"\n").unwrap();
    let o = insiders(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("space_target"), "{}", text(&o));
    assert!(!out.exists());
}
