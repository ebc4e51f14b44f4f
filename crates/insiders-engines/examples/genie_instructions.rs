//! The workload of the instruction-count gate (`cargo xtask bench --ci`, valgrind's
//! callgrind, one thread): one Genie hierarchy and its 21 cuts k = 2..22 on a seeded 2-D
//! matrix of 3,000 points (8 gaussian blobs), no file read, so the count depends only on the
//! code and the compiler. Prints a checksum of the labels so the work cannot be optimised
//! away.
//!
//! `RAYON_NUM_THREADS=1 valgrind --tool=callgrind target/release/examples/genie_instructions`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use insiders_core::{Engine, Matrix, Rng};
use insiders_engines::genie::{Genie, GenieParams};

fn main() {
    let mut rng = Rng::new(7);
    let centres: Vec<(f64, f64)> = (0..8)
        .map(|_| (rng.uniform() * 20.0, rng.uniform() * 20.0))
        .collect();
    let x = Matrix::from_shape_fn((3_000, 2), |(i, j)| {
        let c = centres[i % 8];
        (if j == 0 { c.0 } else { c.1 }) + rng.normal()
    });
    let ks: Vec<usize> = (2..=22).collect();
    let parts = Genie::new(GenieParams::default())
        .unwrap()
        .fit_many(x.view(), &ks, 0)
        .unwrap();
    let sum: u64 = parts
        .iter()
        .flat_map(|p| p.labels.iter().flatten())
        .map(|&l| u64::from(l))
        .sum();
    println!(
        "genie_instructions: {} cuts, label checksum {sum}",
        parts.len()
    );
}
