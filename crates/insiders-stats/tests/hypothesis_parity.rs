//! Parity of the hypothesis tests (`insiders_stats::hypothesis`) with scipy 1.17
//! (`datasets/fixtures/stats/make_tests_reference.py`):
//! small hand-made samples with and without ties, and the Insiders of the fixtures (Ward,
//! k = 10 on the study's tree space; the cluster of highest mean gross revenue) against the
//! rest of the base.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use insiders_fixtures::{fixture, read_table};
use insiders_stats::hypothesis::{
    Statistic, bootstrap_diff_ci, effect_sizes, jaccard, mann_whitney_u,
};

fn reference() -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tests_reference.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b { 0.0 } else { (a - b).abs() / b.abs() }
}

#[test]
fn small_samples_match_scipy() {
    let r = reference();
    for (name, case) in r["small"].as_object().unwrap() {
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let mw = mann_whitney_u(&x, &y).unwrap();
        assert_eq!(mw.u1, case["u1"].as_f64().unwrap(), "{name}");
        let p = case["p_value"].as_f64().unwrap();
        assert!(rel(mw.p_value, p) < 1e-12, "{name}: {} vs {p}", mw.p_value);
        assert!(
            rel(
                mw.effect.rank_biserial,
                case["rank_biserial"].as_f64().unwrap()
            ) < 1e-12
        );
        assert!(
            rel(
                mw.effect.cliffs_delta,
                case["cliffs_delta"].as_f64().unwrap()
            ) < 1e-12
        );
        assert!((mw.effect.cliffs_delta - mw.effect.rank_biserial).abs() < 1e-12);
        assert_eq!(effect_sizes(&x, &y).unwrap(), mw.effect);
    }
}

/// The Insiders (by the fixtures' rule) and the rest, for one feature column.
fn groups(col: &str) -> Option<(Vec<f64>, Vec<f64>, Vec<i64>)> {
    let feats = read_table(&fixture("features.csv.gz")?);
    let ward = read_table(&fixture("ward_labels.csv.gz")?);
    assert_eq!(feats.ids, ward.ids);
    let lab = ward.column("tree_space_k10");
    let rev = feats.column("gross_revenue");
    let mut sums = std::collections::BTreeMap::<i64, (f64, f64)>::new();
    for (l, v) in lab.iter().zip(&rev) {
        let e = sums.entry(*l as i64).or_default();
        e.0 += v;
        e.1 += 1.0;
    }
    let best = sums
        .iter()
        .max_by(|a, b| (a.1.0 / a.1.1).total_cmp(&(b.1.0 / b.1.1)))
        .map(|(k, _)| *k)
        .unwrap();
    assert_eq!(best, reference()["insider_cluster"].as_i64().unwrap());
    let v = feats.column(col);
    let (mut ins, mut rest, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..v.len() {
        if lab[i] as i64 == best {
            ins.push(v[i]);
            ids.push(feats.ids[i]);
        } else {
            rest.push(v[i]);
        }
    }
    Some((ins, rest, ids))
}

#[test]
fn insiders_against_the_rest_match_scipy() {
    let r = reference();
    for (col, want) in r["real"].as_object().unwrap() {
        let Some((ins, rest, _)) = groups(col) else {
            return;
        };
        assert_eq!(ins.len(), r["n_insiders"].as_u64().unwrap() as usize);
        let mw = mann_whitney_u(&ins, &rest).unwrap();
        let p = want["p_value"].as_f64().unwrap();
        println!(
            "{col}: U1 {} p {:e} (scipy {p:e}) rank-biserial {:.4}",
            mw.u1, mw.p_value, mw.effect.rank_biserial
        );
        assert_eq!(mw.u1, want["u1"].as_f64().unwrap(), "{col}");
        assert!(rel(mw.p_value, p) < 1e-9, "{col}: {} vs {p}", mw.p_value);
        assert!(
            rel(
                mw.effect.common_language,
                want["common_language"].as_f64().unwrap()
            ) < 1e-12
        );
        assert!((mw.effect.cliffs_delta - mw.effect.rank_biserial).abs() < 1e-12);
    }
}

#[test]
fn bootstrap_matches_scipy_within_monte_carlo_error() {
    let r = reference();
    for col in ["gross_revenue", "frequency", "recency_days", "qtde_returns"] {
        let Some((ins, rest, _)) = groups(col) else {
            return;
        };
        for (stat, name) in [(Statistic::Mean, "mean"), (Statistic::Median, "median")] {
            let want = &r["bootstrap"][format!("{col}_{name}")];
            let ci = bootstrap_diff_ci(&ins, &rest, stat, 4000, 0.95, 42).unwrap();
            let (lo, hi, se) = (
                want["low"].as_f64().unwrap(),
                want["high"].as_f64().unwrap(),
                want["standard_error"].as_f64().unwrap(),
            );
            println!(
                "{col} {name}: ours [{:.6}, {:.6}] se {:.6}; scipy [{lo:.6}, {hi:.6}] se {se:.6}",
                ci.low, ci.high, ci.standard_error
            );
            assert!(rel(ci.estimate, want["estimate"].as_f64().unwrap()) < 1e-12);
            // different random streams: the ends agree within Monte-Carlo error, which for
            // 4,000 resamples is about 0.06 standard errors (sd of the difference of two
            // 2.5% quantile estimates); medians of whole numbers also move in steps of 1/2,
            // so one step is allowed on top
            let integer = ins.iter().chain(&rest).all(|v| v.fract() == 0.0);
            let step = if integer && stat == Statistic::Median {
                1.0
            } else {
                0.0
            };
            let tol = 0.25 * se.max(1e-12) + step;
            assert!(
                (ci.low - lo).abs() <= tol && (ci.high - hi).abs() <= tol,
                "{col} {name}"
            );
            assert!(rel(ci.standard_error, se) < 0.1 || (ci.standard_error - se).abs() < 1e-12);
        }
    }
}

#[test]
fn bootstrap_is_bit_identical_across_thread_counts() {
    let x: Vec<f64> = (0..5695)
        .map(|i| ((i * 7919) % 1000) as f64 * 1.37)
        .collect();
    let (a, b) = x.split_at(1093);
    let run = |threads: usize, stat| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| bootstrap_diff_ci(a, b, stat, 500, 0.9, 11).unwrap())
    };
    for stat in [Statistic::Mean, Statistic::Median] {
        let (one, two) = (run(1, stat), run(2, stat));
        assert_eq!(one.low.to_bits(), two.low.to_bits());
        assert_eq!(one.high.to_bits(), two.high.to_bits());
        assert_eq!(one.standard_error.to_bits(), two.standard_error.to_bits());
        assert_ne!(
            run(1, stat).low,
            bootstrap_diff_ci(a, b, stat, 500, 0.9, 12).unwrap().low
        );
    }
}

#[test]
fn jaccard_of_the_insiders_with_themselves_and_a_subset() {
    let Some((_, _, ids)) = groups("gross_revenue") else {
        return;
    };
    assert_eq!(jaccard(&ids, &ids).unwrap(), 1.0);
    let half: Vec<i64> = ids.iter().step_by(2).copied().collect();
    let j = jaccard(&ids, &half).unwrap();
    assert!((j - half.len() as f64 / ids.len() as f64).abs() < 1e-15);
}

/// Skewed values (a log-normal-like spread from a fixed sequence) and small counts.
fn large_groups(n: usize, shift: f64, counts: bool) -> Vec<f64> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let u = ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            if counts {
                (-(1.0 - u).ln() * (3.0 + shift)).floor()
            } else {
                (shift + 1.5 * (u / (1.0 - u)).ln()).exp()
            }
        })
        .collect()
}

/// Above `BOOTSTRAP_RESAMPLED_UP_TO` values the interval comes from the order statistics
/// (medians) or the Cornish-Fisher expansion (means): it must agree with resampling every
/// value within the Monte Carlo error of 2,000 resamples (about 0.06 of the standard error
/// at the 2.5% and 97.5% quantiles; the tolerance is 0.25), or within one step of the
/// data's lattice for counts.
#[test]
fn large_sample_bootstrap_agrees_with_resampling_every_value() {
    use insiders_stats::hypothesis::{
        BOOTSTRAP_RESAMPLED_UP_TO, BootstrapMethod, bootstrap_diff_ci_by,
    };
    for counts in [false, true] {
        let (x, y) = (
            large_groups(30_001, 0.4, counts),
            large_groups(50_000, 0.0, counts),
        );
        assert!(x.len() + y.len() > BOOTSTRAP_RESAMPLED_UP_TO);
        for stat in [Statistic::Mean, Statistic::Median] {
            let fast = bootstrap_diff_ci(&x, &y, stat, 2000, 0.95, 5).unwrap();
            let slow =
                bootstrap_diff_ci_by(&x, &y, stat, 2000, 0.95, 6, BootstrapMethod::Resampled)
                    .unwrap();
            let expected = match stat {
                Statistic::Mean => BootstrapMethod::CornishFisher,
                Statistic::Median => BootstrapMethod::OrderStatistics,
            };
            assert_eq!(fast.method, expected);
            assert_eq!(fast.estimate, slow.estimate);
            let tol = (0.25 * slow.standard_error).max(if counts { 1.0 } else { 0.0 });
            assert!(tol > 0.0 || counts);
            for (f, s) in [(fast.low, slow.low), (fast.high, slow.high)] {
                assert!(
                    (f - s).abs() <= tol,
                    "{counts} {stat:?}: {f} vs {s} (se {})",
                    slow.standard_error
                );
            }
            assert!(
                (fast.standard_error - slow.standard_error).abs()
                    <= 0.1 * slow.standard_error + 1e-12,
                "{counts} {stat:?}: se {} vs {}",
                fast.standard_error,
                slow.standard_error
            );
            // An even group size takes the two middle order statistics.
            let even = bootstrap_diff_ci(&x[1..], &y, stat, 2000, 0.95, 5).unwrap();
            assert!(
                even.low <= even.estimate && even.estimate <= even.high,
                "{stat:?}"
            );
        }
    }
}
