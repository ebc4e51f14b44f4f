//! Inertia of `kmeans` against scikit-learn's (`/work/shared/fixtures/kmeans_gmm.csv`) for
//! k = 2..22 on the study's two inputs, with the CPU time per input. Parameters are TOML
//! `key = value` pairs given as arguments (default engine when none); `SEEDS=0,1,2` picks
//! the seeds (default 42).
//!
//! `cargo run --release -p insiders-engines --example kmeans_parity -- 'swaps = 0'`

#![allow(clippy::unwrap_used)]

use insiders_core::{Matrix, process_cpu_seconds};
use insiders_engines::kmeans::{KMeans, KMeansParams};
use insiders_fixtures::{fixture, read_records, read_table};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let table: toml::Table = args.join("\n").parse().unwrap();
    let params: KMeansParams = insiders_core::params::from_table(&table).unwrap();
    let engine = KMeans::new(params).unwrap();
    let seeds: Vec<u64> = std::env::var("SEEDS")
        .unwrap_or_else(|_| "42".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let Some(refs) = fixture("kmeans_gmm.csv") else {
        println!("fixtures missing");
        return;
    };
    let refs = read_records(&refs);
    let quiet = std::env::var("QUIET").is_ok();
    let (mut worst, mut fails, mut total) = (f64::NEG_INFINITY, 0, 0);
    let mut cpu_total = 0.0;
    for (name, file, cols) in [
        (
            "scaled_features",
            "scaled_features.csv.gz",
            &["x0", "x1", "x2", "x3", "x4"][..],
        ),
        ("tree_space", "tree_space.csv.gz", &["x0", "x1"][..]),
    ] {
        let t = read_table(&fixture(file).unwrap());
        let (n, d, v) = t.matrix(cols);
        let x = Matrix::from_shape_vec((n, d), v).unwrap();
        let c0 = process_cpu_seconds();
        for k in 2..=22usize {
            let theirs: f64 = refs
                .iter()
                .find(|r| r["input"] == name && r["k"] == k.to_string())
                .unwrap()["kmeans_inertia"]
                .parse()
                .unwrap();
            let mut line = format!("{name:16} k={k:2}");
            for &seed in &seeds {
                let m = engine.fit_model(x.view(), k, seed).unwrap();
                let rel = m.inertia / theirs - 1.0;
                worst = worst.max(rel);
                total += 1;
                if rel > 1e-3 {
                    fails += 1;
                }
                line += &format!(" {rel:+.1e}/{}", m.swaps_accepted);
            }
            if !quiet {
                println!("{line}");
            }
        }
        let cpu = process_cpu_seconds() - c0;
        cpu_total += cpu;
        println!("{name}: {cpu:.2} CPU s for 21 k x {} seeds", seeds.len());
    }
    println!(
        "worst {worst:+.2e}; rule fails {fails} of {total}; CPU {cpu_total:.2} s; params {args:?}"
    );
}
