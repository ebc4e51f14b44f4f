//! Parity of the CLV models with lifetimes 0.11.3 and an independent scipy maximisation of
//! the published likelihoods (`datasets/fixtures/stats/make_clv_reference.py`), on the study's data
//! (calibration until 2011-09-09, holdout to 2011-12-09) and on lifetimes' CDNOW summary.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use insiders_fixtures::read_table;
use insiders_stats::clv::{
    BgNbd, CustomerSummary, Event, ForecastConfig, GammaGamma, backtest, forecast, summarise,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(data(name)).unwrap()).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn events() -> Vec<Event> {
    let t = read_table(&data("clv_events.csv.gz"));
    let day = t.column("day");
    let value = t.column("value");
    t.ids
        .iter()
        .enumerate()
        .map(|(i, &c)| Event {
            customer: c as u32,
            day: day[i] as i64,
            value: value[i],
        })
        .collect()
}

#[test]
fn summary_matches_pandas() {
    let r = json("clv_reference.json");
    let ev = events();
    let s = summarise(&ev, r["calibration_end_day"].as_i64().unwrap()).unwrap();
    let t = read_table(&data("clv_summary.csv.gz"));
    assert_eq!(s.len(), r["n_customers"].as_u64().unwrap() as usize);
    assert_eq!(s.len(), 4430);
    let (f, rc, age, m, tot) = (
        t.column("frequency"),
        t.column("recency"),
        t.column("T"),
        t.column("monetary"),
        t.column("calibration_value"),
    );
    for (i, c) in s.iter().enumerate() {
        assert_eq!(i64::from(c.customer), t.ids[i]);
        assert_eq!(f64::from(c.frequency), f[i]);
        assert_eq!(c.recency, rc[i]);
        assert_eq!(c.age, age[i]);
        assert!(rel(c.monetary, m[i]) < 1e-12 || c.monetary == m[i], "{i}");
        assert!(rel(c.total_value, tot[i]) < 1e-12, "{i}");
    }
}

fn summaries_from(t: &insiders_fixtures::Table, m_col: &str) -> Vec<CustomerSummary> {
    let (f, rc, age, m) = (
        t.column("frequency"),
        t.column("recency"),
        t.column("T"),
        t.column(m_col),
    );
    (0..t.ids.len())
        .map(|i| CustomerSummary {
            customer: t.ids[i] as u32,
            frequency: f[i] as u32,
            recency: rc[i],
            age: age[i],
            monetary: m[i],
            total_value: 0.0,
            first_day: 0,
        })
        .collect()
}

fn params(v: &serde_json::Value, keys: &[&str]) -> Vec<f64> {
    keys.iter().map(|k| v[*k].as_f64().unwrap()).collect()
}

/// The formulas at lifetimes' own parameters give lifetimes' predictions.
fn check_formulas(
    s: &[CustomerSummary],
    t: &insiders_fixtures::Table,
    r: &serde_json::Value,
    horizon: f64,
) {
    let b = params(&r["lifetimes_bgnbd"], &["r", "alpha", "a", "b"]);
    let bg = BgNbd::new(b[0], b[1], b[2], b[3]).unwrap();
    let g = params(&r["lifetimes_gg"], &["p", "q", "v"]);
    let gg = GammaGamma::new(g[0], g[1], g[2]).unwrap();
    let (e, pa, ev) = (
        t.column("lt_expected_purchases"),
        t.column("lt_prob_alive"),
        t.column("lt_expected_value"),
    );
    let mut worst = (0.0f64, 0.0f64, 0.0f64);
    for (i, c) in s.iter().enumerate() {
        let x = f64::from(c.frequency);
        let ours = bg.expected_purchases(horizon, x, c.recency, c.age).unwrap();
        worst.0 = worst.0.max(rel(ours, e[i]));
        worst.1 = worst
            .1
            .max((bg.prob_alive(x, c.recency, c.age).unwrap() - pa[i]).abs());
        worst.2 = worst.2.max(rel(
            gg.conditional_expected_value(x, c.monetary).unwrap(),
            ev[i],
        ));
    }
    println!("formula parity at lifetimes' parameters: {worst:?}");
    assert!(
        worst.0 < 1e-8 && worst.1 < 1e-10 && worst.2 < 1e-12,
        "{worst:?}"
    );
    for (k, v) in r["lifetimes_expected_new"].as_object().unwrap() {
        let t: f64 = k.parse().unwrap();
        assert!(rel(bg.expected_purchases_new(t).unwrap(), v.as_f64().unwrap()) < 1e-8);
    }
    // our likelihood at their parameters equals the scipy re-implementation's
    let ll = bg.log_likelihood(s).unwrap();
    let want = r["lifetimes_bgnbd_ll_sum"].as_f64().unwrap();
    assert!((ll - want).abs() < 1e-7, "{ll} vs {want}");
    let ll = gg.log_likelihood(s).unwrap();
    let want = r["lifetimes_gg_ll_sum"].as_f64().unwrap();
    assert!((ll - want).abs() < 1e-7, "{ll} vs {want}");
}

/// Our maximum-likelihood fits are at least as good as both references, and predict alike.
fn check_fits(
    s: &[CustomerSummary],
    t: &insiders_fixtures::Table,
    r: &serde_json::Value,
    horizon: f64,
    pred_tol: f64,
) {
    let bg = BgNbd::fit(s).unwrap();
    let gg = GammaGamma::fit(s).unwrap();
    let ref_bg = r["lifetimes_bgnbd_ll_sum"]
        .as_f64()
        .unwrap()
        .max(r["scipy_bgnbd_ll_sum"].as_f64().unwrap());
    let ref_gg = r["lifetimes_gg_ll_sum"]
        .as_f64()
        .unwrap()
        .max(r["scipy_gg_ll_sum"].as_f64().unwrap());
    println!(
        "BG/NBD {:?} ll {} (ref {ref_bg}, {} evals); GG {:?} ll {} (ref {ref_gg})",
        bg.model, bg.log_likelihood, bg.evaluations, gg.model, gg.log_likelihood
    );
    assert!(bg.log_likelihood >= ref_bg - 1e-6);
    assert!(gg.log_likelihood >= ref_gg - 1e-6);
    let g = params(&r["lifetimes_gg"], &["p", "q", "v"]);
    for (ours, theirs) in [gg.model.p, gg.model.q, gg.model.v].iter().zip(&g) {
        assert!(rel(*ours, *theirs) < 1e-4, "{ours} vs {theirs}");
    }
    let (e, ev) = (
        t.column("lt_expected_purchases"),
        t.column("lt_expected_value"),
    );
    let (mut worst_e, mut worst_v, mut sum_ours, mut sum_theirs) = (0.0f64, 0.0f64, 0.0, 0.0);
    for (i, c) in s.iter().enumerate() {
        let x = f64::from(c.frequency);
        let ours = bg
            .model
            .expected_purchases(horizon, x, c.recency, c.age)
            .unwrap();
        let v = gg.model.conditional_expected_value(x, c.monetary).unwrap();
        worst_e = worst_e.max(rel(ours, e[i]));
        worst_v = worst_v.max(rel(v, ev[i]));
        sum_ours += ours * v;
        sum_theirs += e[i] * ev[i];
    }
    println!(
        "prediction parity of the fits: purchases {worst_e:.2e}, value {worst_v:.2e}, revenue total {:.2e}",
        rel(sum_ours, sum_theirs)
    );
    assert!(worst_e < pred_tol && worst_v < 1e-4, "{worst_e} {worst_v}");
}

#[test]
fn study_data_matches_lifetimes() {
    let r = json("clv_reference.json");
    let t = read_table(&data("clv_summary.csv.gz"));
    let s = summaries_from(&t, "monetary");
    check_formulas(&s, &t, &r, r["holdout_days"].as_f64().unwrap());
    // the maximum is on the boundary a -> 0, b -> inf: a and b are not identified, but the
    // likelihood and the predictions are
    check_fits(&s, &t, &r, r["holdout_days"].as_f64().unwrap(), 1e-3);
}

#[test]
fn cdnow_matches_lifetimes() {
    let r = json("cdnow_reference.json");
    let t = read_table(&data("cdnow_summary.csv.gz"));
    let s = summaries_from(&t, "monetary_value");
    check_formulas(&s, &t, &r, 39.0);
    check_fits(&s, &t, &r, 39.0, 1e-4);
    let bg = BgNbd::fit(&s).unwrap();
    let b = params(&r["lifetimes_bgnbd"], &["r", "alpha", "a", "b"]);
    for (ours, theirs) in [bg.model.r, bg.model.alpha, bg.model.a, bg.model.b]
        .iter()
        .zip(&b)
    {
        assert!(rel(*ours, *theirs) < 1e-4, "{ours} vs {theirs}");
    }
}

#[test]
fn backtest_on_the_study_data() {
    let r = json("clv_reference.json");
    let ev = events();
    let cut = r["calibration_end_day"].as_i64().unwrap();
    let end = r["observation_end_day"].as_i64().unwrap();
    let t = read_table(&data("clv_summary.csv.gz"));
    // a group: the top 20% of calibration revenue
    let mut by_rev: Vec<(f64, i64)> = t
        .column("calibration_value")
        .iter()
        .zip(&t.ids)
        .map(|(v, id)| (*v, *id))
        .collect();
    by_rev.sort_by(|a, b| b.0.total_cmp(&a.0));
    let group: Vec<u32> = by_rev[..by_rev.len() / 5]
        .iter()
        .map(|p| p.1 as u32)
        .collect();
    let bt = backtest(&ev, cut, end, Some(&group)).unwrap();
    let hv = t.column("holdout_value");
    let actual: f64 = hv.iter().sum();
    assert_eq!(bt.customers.len(), 4430);
    assert!(rel(bt.everyone.actual_total, actual) < 1e-12);
    let g = bt.group.unwrap();
    assert_eq!(g.n_customers, group.len());
    // the reference prediction of the total from lifetimes' columns
    let lt_total: f64 = t
        .column("lt_expected_purchases")
        .iter()
        .zip(t.column("lt_expected_value"))
        .map(|(a, b)| a * b)
        .sum();
    println!(
        "everyone: actual {:.0}, model {:.0} (lifetimes {lt_total:.0}), baseline {:.0}; model MAE {:.1} RMSE {:.1}, baseline MAE {:.1} RMSE {:.1}",
        bt.everyone.actual_total,
        bt.everyone.model.predicted_total,
        bt.everyone.baseline.predicted_total,
        bt.everyone.model.mae,
        bt.everyone.model.rmse,
        bt.everyone.baseline.mae,
        bt.everyone.baseline.rmse
    );
    println!(
        "group: n {} actual {:.0}, model {:.0} (rel err {:.3}), baseline {:.0} (rel err {:.3}); new customers {} revenue {:.0}",
        g.n_customers,
        g.actual_total,
        g.model.predicted_total,
        g.model.rel_error,
        g.baseline.predicted_total,
        g.baseline.rel_error,
        bt.new_customers,
        bt.new_customer_revenue
    );
    assert!(rel(bt.everyone.model.predicted_total, lt_total) < 1e-3);
    // the model is a better customer-level predictor than the run rate
    assert!(bt.everyone.model.mae < bt.everyone.baseline.mae);
    assert!(g.model.mae < g.baseline.mae);
    // bad input
    assert!(backtest(&ev, end, cut, None).is_err());
}

#[test]
fn forecast_band_brackets_the_expectation_and_is_thread_independent() {
    let r = json("cdnow_reference.json");
    let _ = r;
    let ev = events();
    let end = json("clv_reference.json")["observation_end_day"]
        .as_i64()
        .unwrap();
    let t = read_table(&data("clv_summary.csv.gz"));
    let group: Vec<u32> = t.ids.iter().step_by(7).map(|&i| i as u32).collect();
    let mut cfg = ForecastConfig::months(3, 42);
    cfg.simulations = 300;
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| forecast(&ev, end, Some(&group), &cfg).unwrap())
    };
    let f1 = run(1);
    let f2 = run(2);
    assert_eq!(f1, f2);
    println!(
        "{:?} param uncertainty {}",
        f1.total, f1.parameter_uncertainty_used
    );
    assert_eq!(f1.periods.len(), 3);
    for p in f1.periods.iter().chain([&f1.total]) {
        assert!(p.low <= p.expected && p.expected <= p.high, "{p:?}");
    }
    let sum: f64 = f1.periods.iter().map(|p| p.expected).sum();
    assert!(rel(sum, f1.total.expected) < 1e-12);
    if !f1.parameter_uncertainty_used {
        // pure posterior simulation: its mean estimates the closed form
        let se = (f1.total.high - f1.total.low) / (2.0 * 1.645) / (300f64).sqrt();
        assert!(
            (f1.total.simulated_mean - f1.total.expected).abs() < 4.0 * se,
            "{:?}",
            f1.total
        );
    }
}

#[test]
fn candidates_on_the_study_data_agree_with_the_backtest() {
    use insiders_stats::clv::{Candidate, compare_candidates};
    let r = json("clv_reference.json");
    let ev = events();
    let cut = r["calibration_end_day"].as_i64().unwrap();
    let end = r["observation_end_day"].as_i64().unwrap();
    let t = read_table(&data("clv_summary.csv.gz"));
    let mut by_rev: Vec<(f64, i64)> = t
        .column("calibration_value")
        .iter()
        .zip(&t.ids)
        .map(|(v, id)| (*v, *id))
        .collect();
    by_rev.sort_by(|a, b| b.0.total_cmp(&a.0));
    let group: Vec<u32> = by_rev[..by_rev.len() / 5]
        .iter()
        .map(|p| p.1 as u32)
        .collect();
    let c = compare_candidates(&ev, cut, end, &group).unwrap();
    let bt = backtest(&ev, cut, end, Some(&group)).unwrap();
    let g = bt.group.unwrap();
    for s in &c.candidates {
        if let Some(e) = s.group {
            println!(
                "{:28} total {:>10.0} error {:+7.2}% MAE {:7.1}{}",
                s.candidate.name(),
                e.predicted_total,
                100.0 * e.error / c.group_actual,
                e.mae,
                if s.chosen { " (chosen)" } else { "" }
            );
        } else {
            println!("{:28} {:?}", s.candidate.name(), s.not_applicable);
        }
    }
    println!(
        "profile {:?} seen {:?}",
        c.profile.multipliers, c.profile.seen
    );
    // the plain candidates are the backtest's model and baseline
    let bg = c.score(Candidate::BgNbd).unwrap().group.unwrap();
    let naive = c.score(Candidate::RunRate).unwrap().group.unwrap();
    assert!(rel(bg.predicted_total, g.model.predicted_total) < 1e-12);
    assert!(rel(bg.mae, g.model.mae) < 1e-12);
    assert!(rel(naive.predicted_total, g.baseline.predicted_total) < 1e-12);
    assert!(rel(naive.mae, g.baseline.mae) < 1e-12);
    assert_eq!(c.group_customers, g.n_customers);
    assert!(rel(c.group_actual, g.actual_total) < 1e-12);
    assert_eq!(c.new_customers, bt.new_customers);
    // the calibration starts on 2010-12-01: no year before the holdout; October and
    // November are not in it
    assert!(
        c.score(Candidate::SeasonalNaive)
            .unwrap()
            .not_applicable
            .is_some()
    );
    assert!(!c.profile.seen[9] && !c.profile.seen[10]);
    assert_eq!(
        (c.profile.multipliers[9], c.profile.multipliers[10]),
        (1.0, 1.0)
    );
    assert!(c.profile.seen[0] && c.profile.seen[5] && c.profile.seen[8]);
}
