//! DBSCAN as the benchmark grid runs it: `min_samples = 5`, `eps = m × (0.99 quantile of the
//! 5-distances)` for m in {0.5, 1, 2, 4, 8, 16}, on the 2-D tree space and the 5-D scaled
//! features (5,695 customers each). One benchmark iteration is the whole six-factor sweep of
//! one space, through the engine (so the quantile eps is included).
//!
//! `cargo bench -p insiders-engines --bench dbscan_grid -- --warm-up-time 1 --measurement-time 5`
//!
//! Fixed-work mode for CPU-time comparisons (`/usr/bin/time -v`): with `DBSCAN_GRID_REPS=r`
//! set, the binary runs `r` sweeps of both spaces, prints a label checksum per space and exits
//! without criterion.
#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use criterion::{Criterion, criterion_group};
use insiders_core::{Engine, Matrix};
use insiders_engines::dbscan::{Dbscan, DbscanParams};
use std::hint::black_box;

mod common;
use common::load;

const FACTORS: [f64; 6] = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

fn engines() -> Vec<Dbscan> {
    FACTORS
        .iter()
        .map(|&m| {
            Dbscan::new(DbscanParams {
                eps: None,
                min_samples: 5,
                eps_factor: m,
                eps_quantile: Some(0.99),
            })
            .unwrap()
        })
        .collect()
}

/// One six-factor sweep; returns a checksum of the labels (noise = u32::MAX).
fn sweep(engines: &[Dbscan], x: &Matrix) -> u64 {
    let mut h: u64 = 0;
    for e in engines {
        let p = e.fit(x.view(), None, 0).unwrap();
        for l in &p.labels {
            let v = l.map_or(u64::from(u32::MAX), u64::from);
            h = h.wrapping_mul(1_000_003).wrapping_add(v);
        }
    }
    h
}

fn spaces() -> Vec<(&'static str, Matrix)> {
    vec![
        ("tree_space_5695x2", load("tree_space", &["x0", "x1"], 1)),
        (
            "scaled_features_5695x5",
            load("scaled_features", &["x0", "x1", "x2", "x3", "x4"], 2),
        ),
    ]
}

fn benches(c: &mut Criterion) {
    let engines = engines();
    let mut g = c.benchmark_group("dbscan_grid");
    g.sample_size(10);
    for (name, x) in spaces() {
        g.bench_function(format!("six_eps_factors_min5/{name}"), |b| {
            b.iter(|| black_box(sweep(&engines, &x)))
        });
    }
    g.finish();
}

criterion_group!(dbscan_grid, benches);

fn main() {
    if let Some(reps) = std::env::var("DBSCAN_GRID_REPS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        let engines = engines();
        let spaces = spaces();
        let only = std::env::var("DBSCAN_GRID_SPACE").ok();
        for (name, x) in &spaces {
            if only.as_deref().is_some_and(|o| !name.contains(o)) {
                continue;
            }
            let mut h = 0;
            for _ in 0..reps {
                h = sweep(&engines, x);
            }
            println!("{name}: label checksum {h:016x}");
        }
        return;
    }
    dbscan_grid();
    Criterion::default().configure_from_args().final_summary();
}
