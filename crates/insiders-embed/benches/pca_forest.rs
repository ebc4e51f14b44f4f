//! PCA, the random forest and the forest space on the study's input (5,695 customers).
//!
//! Inputs come from `../shared/fixtures/scaled_features.csv.gz`; when it is missing, a seeded
//! synthetic matrix of the same shape stands in (and a message says so).
//!
//! `cargo bench -p insiders-embed --bench pca_forest -- --warm-up-time 1 --measurement-time 5`

use criterion::{Criterion, criterion_group, criterion_main};
use insiders_core::{Matrix, Rng};
use insiders_embed::forest::{
    ForestParams, ForestSpaceParams, LeafMode, RandomForest, RandomStream, forest_space,
};
use insiders_embed::pca::fit_pca;
use std::hint::black_box;

/// The scaled features (5,695 × 5, columns x0..x4), or a synthetic stand-in.
fn features() -> Matrix {
    let path = insiders_fixtures::fixture_path("scaled_features.csv.gz");
    if path.exists() {
        let t = insiders_fixtures::read_table(&path);
        let (n, d, v) = t.matrix(&["x0", "x1", "x2", "x3", "x4"]);
        if let Ok(x) = Matrix::from_shape_vec((n, d), v) {
            return x;
        }
    }
    println!(
        "pca_forest: {} is missing; using a seeded synthetic 5,695 x 5 matrix",
        path.display()
    );
    let mut rng = Rng::new(42);
    Matrix::from_shape_fn((5695, 5), |(_, j)| {
        // Skewed like the real features: many small values, a few large ones.
        let u = rng.uniform();
        if j == 0 {
            u.powi(6)
        } else {
            (u * 50.0).floor() / 50.0
        }
    })
}

fn benches(c: &mut Criterion) {
    let x5 = features();
    let x4 = x5.slice(ndarray::s![.., 1..]).to_owned();
    let y: Vec<f64> = x5.column(0).to_vec();

    c.bench_function("pca 5695x5", |b| {
        b.iter(|| fit_pca(black_box(x5.view()), None).map(|m| m.explained_variance[0]))
    });

    let mut group = c.benchmark_group("forest");
    group.sample_size(10);
    for (name, rng) in [
        ("native", RandomStream::Native),
        ("sklearn", RandomStream::Sklearn),
    ] {
        let params = ForestParams {
            rng,
            ..ForestParams::default()
        };
        group.bench_function(format!("fit 100 trees 5695x4 ({name})"), |b| {
            b.iter(|| RandomForest::fit(black_box(x4.view()), &y, &params, 42).map(|f| f.oob_r2()))
        });
    }
    let forest = RandomForest::fit(x4.view(), &y, &ForestParams::default(), 42).ok();
    if let Some(forest) = &forest {
        group.bench_function("apply 5695x100", |b| {
            b.iter(|| forest.apply(black_box(x4.view())).map(|a| a[[0, 0]]))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("forest space");
    group.sample_size(10);
    for (name, mode) in [
        ("proximity", LeafMode::Proximity),
        ("compat", LeafMode::Compat),
    ] {
        let params = ForestSpaceParams {
            mode,
            ..ForestSpaceParams::default()
        };
        match forest_space(x4.view(), &y, &params, 42) {
            Ok(_) => {
                group.bench_function(format!("forest + UMAP ({name})"), |b| {
                    b.iter(|| {
                        forest_space(black_box(x4.view()), &y, &params, 42)
                            .map(|t| t.leaves[[0, 0]])
                    })
                });
            }
            Err(e) => println!("forest space ({name}) skipped: {e}"),
        }
    }
    group.finish();
}

criterion_group!(pca_forest, benches);
criterion_main!(pca_forest);
