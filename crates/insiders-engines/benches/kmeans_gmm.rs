//! Benchmarks of `kmeans` and `gmm` on the study's inputs: one fit per k in {3, 10, 22} on the
//! 5,695 x 5 scaled features and the 5,695 x 2 tree space (seeded synthetic matrices of the
//! same shapes when the fixtures are missing).
//!
//! Groups: `kmeans` (default engine: n_init 10, Hartigan, 50 swaps), `kmeans_sklearn_mode`
//! (n_init 10, `refine = "none"`, `swaps = 0`: scikit-learn's algorithm), `gmm` (default
//! engine: full covariance, n_init 1, split-and-merge refinement), `gmm_sklearn_mode` (n_init 1,
//! `refine = "none"`: scikit-learn's algorithm). scikit-learn 1.9.1 takes 0.1-0.3 s per fit on
//! these inputs.
//!
//! Run: `cargo bench -p insiders-engines --bench kmeans_gmm -- --warm-up-time 1 --measurement-time 5`

#![allow(clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use insiders_core::{Matrix, Rng};
use insiders_engines::gmm::{GaussianMixture, GmmParams, GmmRefine};
use insiders_engines::kmeans::{KMeans, KMeansParams, KMeansRefine};
use std::hint::black_box;

const SEED: u64 = 42;
const KS: [usize; 3] = [3, 10, 22];

/// The fixture input, or a seeded synthetic matrix of the same shape.
fn input(name: &str, file: &str, cols: &[&str]) -> Matrix {
    let path = insiders_fixtures::fixture_path(file);
    if path.exists() {
        let t = insiders_fixtures::read_table(&path);
        let (n, d, v) = t.matrix(cols);
        return Matrix::from_shape_vec((n, d), v).unwrap();
    }
    println!(
        "{} is missing: benchmarking {name} on a seeded synthetic 5695 x {} matrix",
        path.display(),
        cols.len()
    );
    let mut rng = Rng::new(7);
    let centres: Vec<Vec<f64>> = (0..12)
        .map(|_| (0..cols.len()).map(|_| 10.0 * rng.uniform()).collect())
        .collect();
    Matrix::from_shape_fn((5695, cols.len()), |(i, j)| {
        centres[i % 12][j] + rng.normal()
    })
}

fn inputs() -> Vec<(&'static str, Matrix)> {
    vec![
        (
            "scaled_features",
            input(
                "scaled_features",
                "scaled_features.csv.gz",
                &["x0", "x1", "x2", "x3", "x4"],
            ),
        ),
        (
            "tree_space",
            input("tree_space", "tree_space.csv.gz", &["x0", "x1"]),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let data = inputs();
    let kmeans = KMeans::default();
    let sklearn_mode = KMeans::new(KMeansParams {
        refine: KMeansRefine::None,
        swaps: 0,
        ..KMeansParams::default()
    })
    .unwrap();
    let gmm = GaussianMixture::default();
    let gmm_sklearn_mode = GaussianMixture::new(GmmParams {
        refine: GmmRefine::None,
        ..GmmParams::default()
    })
    .unwrap();
    for (group, engine) in [("kmeans", &kmeans), ("kmeans_sklearn_mode", &sklearn_mode)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10);
        for (name, x) in &data {
            for k in KS {
                g.bench_with_input(BenchmarkId::new(*name, k), &k, |b, &k| {
                    b.iter(|| black_box(engine.fit_model(x.view(), k, SEED).unwrap().inertia))
                });
            }
        }
        g.finish();
    }
    for (group, engine) in [("gmm", &gmm), ("gmm_sklearn_mode", &gmm_sklearn_mode)] {
        let mut g = c.benchmark_group(group);
        g.sample_size(10);
        for (name, x) in &data {
            for k in KS {
                g.bench_with_input(BenchmarkId::new(*name, k), &k, |b, &k| {
                    b.iter(|| {
                        black_box(
                            engine
                                .fit_model(x.view(), k, SEED)
                                .unwrap()
                                .mean_log_likelihood,
                        )
                    })
                });
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
