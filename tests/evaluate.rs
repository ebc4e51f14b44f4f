//! End-to-end tests of `insiders evaluate`: the table of a small benchmark (columns, F1 in
//! [0, 1], the counts add up), and the forward check's figures of issue 14 on the real data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{insiders, text};
use serde_json::Value;

/// Few refits, so the dev profile stays fast.
const SMALL: &str = "[stability]\nseeds = 1\nsubsamples = 1\n";

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn a_small_benchmark_writes_every_cell_and_the_counts_add_up() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("small.toml");
    std::fs::write(&cfg, SMALL).unwrap();
    let out = d.path().join("recovery.md");
    let o = insiders(&[
        "evaluate",
        "--config",
        cfg.to_str().unwrap(),
        "--sizes",
        "2000",
        "--seeds",
        "1",
        "--shares",
        "0.15",
        "--share-size",
        "1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let md = std::fs::read_to_string(&out).unwrap();
    for col in [
        "| shop | seed | customers | rows (anonymous) | high-value | method | Insiders (anonymous) \
         | hits | precision | recall | F1 | Jaccard seeds | Jaccard subsamples | seconds |",
        "## Share variants",
        "## Definitions",
        "- command: ",
        "- machine: ",
    ] {
        assert!(md.contains(col), "missing {col:?} in\n{md}");
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("recovery.json")).unwrap())
            .unwrap();
    let shops = json["shops"].as_array().unwrap();
    let shares = json["shares"].as_array().unwrap();
    assert_eq!((shops.len(), shares.len()), (1, 1));
    assert!(json["forward"].as_array().unwrap().is_empty());
    for (cell, customers, share) in [(&shops[0], 2000u64, 0.10), (&shops[0], 2000, 0.10)]
        .into_iter()
        .chain([(&shares[0], 1000u64, 0.15)])
    {
        assert_eq!(u(&cell["spec"]["customers"]), customers);
        let hv = u(&cell["high_value"]);
        let planted = (share * customers as f64).round() as u64;
        // Every planted high-value customer is a row, or was removed by the cleaning.
        assert!(
            (hv + u(&cell["planted_removed"])).abs_diff(planted) <= 1,
            "{hv} + {} vs {planted}",
            cell["planted_removed"]
        );
        assert!(u(&cell["anonymous_rows"]) < u(&cell["rows"]));
        let methods = cell["methods"].as_array().unwrap();
        let names: Vec<&str> = methods
            .iter()
            .map(|m| m["method"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["configured", "top-N revenue", "classifier (5-fold CV)"]
        );
        for m in methods {
            let (sel, hits) = (u(&m["selected"]), u(&m["hits"]));
            assert!(hits <= sel && hits <= hv, "{m}");
            assert!(u(&m["selected_anonymous"]) <= sel - hits, "{m}");
            let (p, r, f1) = (f(&m["precision"]), f(&m["recall"]), f(&m["f1"]));
            assert!((0.0..=1.0).contains(&f1), "{m}");
            if sel > 0 {
                assert!((p * sel as f64 - hits as f64).abs() < 1e-9, "{m}");
            }
            assert!((r * hv as f64 - hits as f64).abs() < 1e-9, "{m}");
            assert!(
                (f1 * (sel + hv) as f64 - 2.0 * hits as f64).abs() < 1e-9,
                "{m}"
            );
        }
        // The configured method has its stability; the revenue ceiling picks exactly N.
        let jac = f(&methods[0]["jaccard_seeds"]);
        assert!((0.0..=1.0).contains(&jac), "{jac}");
        assert!(methods[1]["jaccard_seeds"].is_null());
        assert_eq!(u(&methods[1]["selected"]), hv);
        assert_eq!(u(&methods[1]["selected_anonymous"]), 0);
        // The planted customers are far above the rest in revenue: the ceiling finds most.
        assert!(f(&methods[1]["f1"]) > 0.6, "{}", methods[1]);
    }
    // The Markdown has a row per method of every cell, and a summary row per shop and method.
    let configured = md.lines().filter(|l| l.contains("| configured |")).count();
    assert_eq!(configured, 4, "{md}");
    for cell in [
        "| default mix (10%) | 1 | 2000 | ",
        "| high-value 15% | 1 | 1000 | ",
    ] {
        let n = md.lines().filter(|l| l.starts_with(cell)).count();
        assert_eq!(n, 1, "{cell} in\n{md}");
    }
}

#[test]
fn bad_settings_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r.md");
    for args in [
        vec!["evaluate", "--sizes", "2x", "--out"],
        vec!["evaluate", "--shares", "1.5", "--out"],
        vec!["evaluate", "--cutoff", "2011-13-01", "--out"],
        vec!["evaluate", "--preset", "nope", "--out"],
    ] {
        let mut a = args.clone();
        a.push(out.to_str().unwrap());
        let o = insiders(&a);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

#[test]
fn the_forward_check_reproduces_the_figures_of_issue_14() {
    let Some(data) = insiders_fixtures::real_data() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("recovery.md");
    let o = insiders(&[
        "evaluate",
        "--preset",
        "study",
        "--sizes",
        "",
        "--shares",
        "",
        "--real-data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path().join("recovery.json")).unwrap())
            .unwrap();
    let fw = json["forward"].as_array().unwrap();
    assert_eq!(fw.len(), 2);
    assert_eq!(fw[0]["basis"], "canonical");
    assert_eq!(fw[1]["basis"], "raw");
    let raw = fw[1]["rows"].as_array().unwrap();
    let row = |prefix: &str| {
        raw.iter()
            .find(|r| r["method"].as_str().unwrap().starts_with(prefix))
            .unwrap()
    };
    let study = row("configured");
    assert_eq!((u(&study["chosen"]), u(&study["anonymous"])), (726, 281));
    assert_eq!(u(&study["n"]), 445);
    let pct = |r: &Value| (1000.0 * f(&r["share_of_holdout_revenue"])).round() / 10.0;
    let prec = |r: &Value| (1000.0 * f(&r["precision_at_n"])).round() / 1000.0;
    assert_eq!((pct(study), prec(study)), (42.3, 0.425));
    let naive = row("naive");
    assert_eq!(u(&naive["n"]), 445);
    assert_eq!((pct(naive), prec(naive)), (46.8, 0.533));
}
