//! Benchmarks of the statistics behind questions 5, 6 and 8:
//! - BG/NBD and Gamma-Gamma maximum-likelihood fits on the study's calibration summary
//!   (4,430 customers, committed in `tests/data/clv_summary.csv.gz`);
//! - the closed-form forecast with a 1,000-simulation band for one group (one customer in 5);
//! - Mann-Whitney U on the 5,695 customers' gross revenue (1,093 Insiders against the rest);
//! - percentile bootstrap of the difference of means and of medians (1,000 resamples);
//! - the CART tree of depth 3 on 10 features.
//!
//! The customer features come from `../shared/fixtures` (with the Ward labels defining the
//! Insiders); when they are missing, a seeded synthetic table of the same shape is measured.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use insiders_core::{Matrix, Rng};
use insiders_fixtures::read_table;
use insiders_stats::clv::{BgNbd, CustomerSummary, Event, ForecastConfig, GammaGamma, forecast};
use insiders_stats::hypothesis::{Statistic, bootstrap_diff_ci, mann_whitney_u};
use insiders_stats::tree::{DecisionTree, TreeConfig};

const FEATURES: [&str; 10] = [
    "gross_revenue",
    "recency_days",
    "qtde_invoices",
    "qtde_items",
    "qtde_products",
    "avg_ticket",
    "frequency",
    "qtde_returns",
    "avg_basket_size",
    "avg_unique_basket_size",
];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn summaries() -> Vec<CustomerSummary> {
    let t = read_table(&data("clv_summary.csv.gz"));
    let (f, r, a, m) = (
        t.column("frequency"),
        t.column("recency"),
        t.column("T"),
        t.column("monetary"),
    );
    (0..t.ids.len())
        .map(|i| CustomerSummary {
            customer: t.ids[i] as u32,
            frequency: f[i] as u32,
            recency: r[i],
            age: a[i],
            monetary: m[i],
            total_value: 0.0,
            first_day: 0,
        })
        .collect()
}

fn events() -> Vec<Event> {
    let t = read_table(&data("clv_events.csv.gz"));
    let (d, v) = (t.column("day"), t.column("value"));
    (0..t.ids.len())
        .map(|i| Event {
            customer: t.ids[i] as u32,
            day: d[i] as i64,
            value: v[i],
        })
        .collect()
}

/// The 10 features (5,695 x 10) and the Insiders (Ward k = 10 on the tree space, highest mean
/// revenue), or a synthetic stand-in.
fn customers() -> (Matrix, Vec<bool>) {
    let (fp, wp) = (
        insiders_fixtures::fixture_path("features.csv.gz"),
        insiders_fixtures::fixture_path("ward_labels.csv.gz"),
    );
    if fp.exists() && wp.exists() {
        let f = read_table(&fp);
        let w = read_table(&wp);
        let (n, d, v) = f.matrix(&FEATURES);
        let lab = w.column("tree_space_k10");
        let rev = f.column("gross_revenue");
        let mut sums = std::collections::BTreeMap::<i64, (f64, f64)>::new();
        for (l, r) in lab.iter().zip(&rev) {
            let e = sums.entry(*l as i64).or_default();
            e.0 += r;
            e.1 += 1.0;
        }
        let best = sums
            .iter()
            .max_by(|a, b| (a.1.0 / a.1.1).total_cmp(&(b.1.0 / b.1.1)))
            .map(|(k, _)| *k)
            .unwrap();
        let y = lab.iter().map(|&l| l as i64 == best).collect();
        return (Matrix::from_shape_vec((n, d), v).unwrap(), y);
    }
    eprintln!("NOTE: fixtures missing; measuring a seeded synthetic 5,695 x 10 table instead");
    let mut rng = Rng::new(5);
    let y: Vec<bool> = (0..5695).map(|i| i % 5 == 0).collect();
    let x = Matrix::from_shape_fn((5695, 10), |(i, _)| {
        (rng.normal() + if y[i] { 1.0 } else { 0.0 }).exp() * 100.0
    });
    (x, y)
}

fn bench(c: &mut Criterion) {
    let s = summaries();
    c.bench_function("bgnbd_fit_4430", |b| {
        b.iter(|| BgNbd::fit(black_box(&s)).unwrap())
    });
    c.bench_function("gamma_gamma_fit_4430", |b| {
        b.iter(|| GammaGamma::fit(black_box(&s)).unwrap())
    });

    let ev = events();
    let group: Vec<u32> = s.iter().step_by(5).map(|c| c.customer).collect();
    let mut cfg = ForecastConfig::months(3, 42);
    cfg.simulations = 1000;
    c.bench_function("forecast_3_months_1000_sims", |b| {
        b.iter(|| forecast(black_box(&ev), 15317, Some(&group), &cfg).unwrap())
    });

    let (x, y) = customers();
    let rev: Vec<f64> = x.column(0).to_vec();
    let ins: Vec<f64> = rev.iter().zip(&y).filter(|p| *p.1).map(|p| *p.0).collect();
    let rest: Vec<f64> = rev.iter().zip(&y).filter(|p| !*p.1).map(|p| *p.0).collect();
    c.bench_function("mann_whitney_5695", |b| {
        b.iter(|| mann_whitney_u(black_box(&ins), black_box(&rest)).unwrap())
    });
    c.bench_function("bootstrap_mean_1000", |b| {
        b.iter(|| bootstrap_diff_ci(&ins, &rest, Statistic::Mean, 1000, 0.95, 42).unwrap())
    });
    c.bench_function("bootstrap_median_1000", |b| {
        b.iter(|| bootstrap_diff_ci(&ins, &rest, Statistic::Median, 1000, 0.95, 42).unwrap())
    });
    c.bench_function("tree_depth3_5695x10", |b| {
        b.iter(|| DecisionTree::fit(x.view(), &FEATURES, &y, &TreeConfig::new(3)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
