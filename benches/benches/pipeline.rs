//! The whole pipeline on the real data (`online-retail`): read + clean + customer features +
//! scaling to the model matrix (the target: under 0.25 s median on the 2-core machine; pandas
//! needs about 1.15 s plus 4 s or more to start), two of its stages, and the analysis of
//! `insiders run` on top (`analysis/real_data/analyse`, 10 samples).
//!
//! The analysis takes 13 to 18 s per iteration on the shared 2-core machine (about 12 s of
//! CPU), over the ~10 s that a default run of every benchmark can afford, so it runs only
//! when `INSIDERS_BENCH_ANALYSIS=1`:
//! `INSIDERS_BENCH_ANALYSIS=1 cargo bench -p insiders-benches --bench pipeline -- analysis`.
//!
//! The data set comes from the registry (`INSIDERS_DATA` or `../shared/datasets/online-retail/`).
//! When it is missing the benchmark says so and measures the same steps on the default
//! synthetic shop instead, so that `cargo xtask bench` still finds a measurement; under
//! `CI=true` a missing data set is a failure.

use criterion::{Criterion, criterion_group, criterion_main};
use insiders_benches::{prepare, scale};
use insiders_ingest::{InputOptions, read_bytes, read_path};
use std::hint::black_box;
use std::path::Path;

fn pipeline(c: &mut Criterion) {
    let opts = InputOptions::default();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(20);
    let Some(real) = insiders_datasets::require(insiders_datasets::ONLINE_RETAIL) else {
        eprintln!("real data missing: benchmarking the default synthetic shop instead");
        let shop = match insiders_datasets::require("synthetic").map(|d| d.load()) {
            Some(Ok(insiders_datasets::Data::Shop(s))) => s,
            other => panic!("the synthetic shop: {other:?}"),
        };
        g.bench_function("synthetic/read+clean+features", |b| {
            b.iter(|| {
                let l =
                    read_bytes(Path::new("synthetic.csv"), shop.csv.clone(), &opts).expect("read");
                black_box(prepare(&l).table.len())
            })
        });
        g.finish();
        return;
    };
    let path = real.files[0].path.clone();
    g.bench_function("real_data/read+clean+features+scale", |b| {
        b.iter(|| {
            let l = read_path(&path, &opts).expect("read");
            black_box(scale(&prepare(&l).table).len())
        })
    });
    let bytes = std::fs::read(&path).expect("read");
    g.bench_function("real_data/gunzip", |b| {
        b.iter(|| {
            insiders_ingest::gz::maybe_gunzip(Path::new("x.gz"), bytes.clone())
                .expect("gunzip")
                .len()
        })
    });
    let l = read_path(&path, &opts).expect("read");
    g.bench_function("real_data/clean+features+scale", |b| {
        b.iter(|| black_box(scale(&prepare(&l).table).len()))
    });
    g.finish();
    if std::env::var("INSIDERS_BENCH_ANALYSIS").is_ok_and(|v| v == "1") {
        analysis(c, &l);
    }
}

/// The analysis of `insiders run` (space, clusters, models, tests) with the default
/// options and seed, on the prepared real data.
fn analysis(c: &mut Criterion, l: &insiders_ingest::Loaded) {
    let p = prepare(l);
    let scaled = scale(&p.table);
    let selected: Vec<String> = insiders_features::SELECTED_FEATURES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let inputs = insiders_analysis::Inputs {
        lines: &l.lines,
        cleaned: &p.cleaned,
        table: &p.table,
        scaled: &scaled,
        selected: &selected,
    };
    let opts = insiders_analysis::AnalysisOptions::default();
    let mut g = c.benchmark_group("analysis");
    g.sample_size(10);
    g.bench_function("real_data/analyse", |b| {
        b.iter(|| {
            let a = insiders_analysis::analyse(inputs, &opts, 42).expect("analyse");
            black_box(a.segmentation.insider.len())
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
