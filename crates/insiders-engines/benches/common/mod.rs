//! Inputs shared by the engine benchmarks: a study fixture, or a seeded stand-in of its shape.

use insiders_core::{Matrix, Rng};

/// Rows of the study's inputs (customers).
pub const N: usize = 5_695;

/// The columns `cols` of the fixture `name` (`../shared/fixtures/{name}.csv.gz`); when it is
/// missing, a seeded mixture of 12 gaussian blobs of the same shape (like an embedding of
/// customers), with a message saying so.
pub fn load(name: &str, cols: &[&str], seed: u64) -> Matrix {
    let path = insiders_fixtures::fixture_path(&format!("{name}.csv.gz"));
    if path.exists() {
        let t = insiders_fixtures::read_table(&path);
        let (n, d, v) = t.matrix(cols);
        return Matrix::from_shape_vec((n, d), v).unwrap();
    }
    eprintln!(
        "{} is missing: benchmarking a seeded synthetic {N} x {} matrix instead",
        path.display(),
        cols.len()
    );
    let mut rng = Rng::new(seed);
    let d = cols.len();
    let centres: Vec<Vec<f64>> = (0..12)
        .map(|_| (0..d).map(|_| rng.uniform() * 20.0 - 10.0).collect())
        .collect();
    let mut v = Vec::with_capacity(N * d);
    for _ in 0..N {
        let c = &centres[rng.below(12)];
        v.extend(c.iter().map(|m| m + rng.normal()));
    }
    Matrix::from_shape_vec((N, d), v).unwrap()
}
