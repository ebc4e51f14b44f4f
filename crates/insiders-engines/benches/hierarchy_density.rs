//! Benchmarks of the hierarchical and density engines on the study's inputs (5,695 customers):
//! a Ward tree plus the 21 cuts k = 2..22 on the 2-D tree space and on the 5-D scaled
//! features (scipy + fcluster take 0.6–1 s per k there), the other linkages once, DBSCAN
//! (eps 2, min_samples 20) on the tree space, HDBSCAN (native and petal backends, both spaces)
//! and OPTICS once.
//!
//! Inputs come from `../shared/fixtures`; when a fixture is missing, a seeded synthetic matrix of
//! the same shape is used instead (a message says so).
//!
//! `cargo bench -p insiders-engines --bench hierarchy_density -- --warm-up-time 1 --measurement-time 5`
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use criterion::{Criterion, criterion_group, criterion_main};
use insiders_core::Engine;
use insiders_engines::dbscan::{Dbscan, DbscanParams};
use insiders_engines::hdbscan::{Hdbscan, HdbscanBackend, HdbscanParams};
use insiders_engines::hierarchical::{Hierarchical, Linkage};
use insiders_engines::optics::{Optics, OpticsParams};
use std::hint::black_box;

mod common;
use common::load;

fn benches(c: &mut Criterion) {
    let tree = load("tree_space", &["x0", "x1"], 1);
    let features = load("scaled_features", &["x0", "x1", "x2", "x3", "x4"], 2);
    let ks: Vec<usize> = (2..=22).collect();

    let mut g = c.benchmark_group("hierarchy");
    g.sample_size(10);
    let ward = Hierarchical::new("ward", Linkage::Ward);
    g.bench_function("ward_tree_21_cuts/tree_space_5695x2", |b| {
        b.iter(|| black_box(ward.fit_many(tree.view(), &ks, 0).unwrap()))
    });
    g.bench_function("ward_tree_21_cuts/scaled_features_5695x5", |b| {
        b.iter(|| black_box(ward.fit_many(features.view(), &ks, 0).unwrap()))
    });
    for l in [Linkage::Single, Linkage::Average, Linkage::Complete] {
        let e = Hierarchical::new("hierarchical", l);
        g.bench_function(
            format!("{}_tree_21_cuts/tree_space_5695x2", l.name()),
            |b| b.iter(|| black_box(e.fit_many(tree.view(), &ks, 0).unwrap())),
        );
    }
    g.finish();

    let mut g = c.benchmark_group("density");
    g.sample_size(10);
    let dbscan = Dbscan::new(DbscanParams {
        eps: Some(2.0),
        min_samples: 20,
        ..DbscanParams::default()
    })
    .unwrap();
    g.bench_function("dbscan_eps2_min20/tree_space_5695x2", |b| {
        b.iter(|| black_box(dbscan.fit(tree.view(), None, 0).unwrap()))
    });
    let elbow = Dbscan::new(DbscanParams::default()).unwrap();
    g.bench_function("dbscan_elbow_eps_min20/tree_space_5695x2", |b| {
        b.iter(|| black_box(elbow.fit(tree.view(), None, 0).unwrap()))
    });
    for (backend, tag) in [
        (HdbscanBackend::Native, "native"),
        (HdbscanBackend::Petal, "petal"),
    ] {
        let hdbscan = Hdbscan::new(HdbscanParams {
            backend,
            ..HdbscanParams::default()
        })
        .unwrap();
        g.bench_function(
            format!("hdbscan_{tag}_min_cluster_size20/tree_space_5695x2"),
            |b| b.iter(|| black_box(hdbscan.fit(tree.view(), None, 0).unwrap())),
        );
        g.bench_function(
            format!("hdbscan_{tag}_min_cluster_size20/scaled_features_5695x5"),
            |b| b.iter(|| black_box(hdbscan.fit(features.view(), None, 0).unwrap())),
        );
    }
    let optics = Optics::new(OpticsParams::default()).unwrap();
    g.bench_function("optics_min20_max_eps_inf/tree_space_5695x2", |b| {
        b.iter(|| black_box(optics.fit(tree.view(), None, 0).unwrap()))
    });
    g.finish();
}

criterion_group!(hierarchy_density, benches);
criterion_main!(hierarchy_density);
