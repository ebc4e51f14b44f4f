//! Benchmarks of the Genie engine: one hierarchy (the exact minimum spanning tree and the
//! Gini-steered merges) plus the 21 cuts k = 2..22, on the study's two spaces (5,695
//! customers: the 2-D tree space and the 5-D scaled features) and on the 10,000-point
//! clustbench data set `wut/trajectories` (2-D), and one fit at its true k = 4.
//!
//! The study spaces come from `../shared/fixtures` (a seeded stand-in of the same shape when a
//! fixture is missing, as the other engine benchmarks); the battery data set from the
//! registry (skipped locally when missing, a failure under `CI=true`).
//!
//! `cargo bench -p insiders-engines --bench genie -- --warm-up-time 1 --measurement-time 5`
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use criterion::{Criterion, criterion_group, criterion_main};
use insiders_core::Engine;
use insiders_engines::genie::{Genie, GenieParams};
use std::hint::black_box;

mod common;
use common::load;

fn benches(c: &mut Criterion) {
    let tree = load("tree_space", &["x0", "x1"], 1);
    let features = load("scaled_features", &["x0", "x1", "x2", "x3", "x4"], 2);
    let ks: Vec<usize> = (2..=22).collect();
    let genie = Genie::new(GenieParams::default()).unwrap();

    let mut g = c.benchmark_group("genie");
    g.sample_size(10);
    g.bench_function("genie_tree_21_cuts/tree_space_5695x2", |b| {
        b.iter(|| black_box(genie.fit_many(tree.view(), &ks, 0).unwrap()))
    });
    g.bench_function("genie_tree_21_cuts/scaled_features_5695x5", |b| {
        b.iter(|| black_box(genie.fit_many(features.view(), &ks, 0).unwrap()))
    });
    if let Some(d) = insiders_datasets::require("clustbench/wut/trajectories") {
        let insiders_datasets::Data::Points(b) = d.load().unwrap() else {
            panic!("clustbench/wut/trajectories holds no points");
        };
        let x = b.points;
        g.bench_function("genie_tree_21_cuts/trajectories_10000x2", |bch| {
            bch.iter(|| black_box(genie.fit_many(x.view(), &ks, 0).unwrap()))
        });
        g.bench_function("genie_fit_k4/trajectories_10000x2", |bch| {
            bch.iter(|| black_box(genie.fit(x.view(), Some(4), 0).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
