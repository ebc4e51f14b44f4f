//! Times the embedders on the study's 5,695 x 5 scaled features, one task per run, for CPU
//! measurements with `/usr/bin/time -v`:
//!
//! `cargo run --release -p insiders-embed --example embed_timing -- umap|tsne|forest|forest-sklearn|forest-space [threads] [repeats]`
//!
//! Prints the wall time of every repeat and a checksum of the output bits (equal checksums:
//! bit-identical output).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use insiders_core::Matrix;
use insiders_embed::forest::{ForestParams, ForestSpaceParams, RandomForest, forest_space};
use insiders_embed::tsne::{TsneParams, tsne};
use insiders_embed::umap::{UmapParams, umap};
use std::time::Instant;

fn input() -> Matrix {
    let path = insiders_fixtures::fixture_path("scaled_features.csv.gz");
    let t = insiders_fixtures::read_table(&path);
    let (n, d, v) = t.matrix(&["x0", "x1", "x2", "x3", "x4"]);
    Matrix::from_shape_vec((n, d), v).unwrap()
}

/// FNV-1a over the bits of the values.
fn checksum<'a>(values: impl IntoIterator<Item = &'a f64>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for v in values {
        for byte in v.to_bits().to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let task = args.get(1).map_or("umap", String::as_str).to_string();
    let threads: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
    let repeats: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let x = input();
    let x4 = x.slice(ndarray::s![.., 1..]).to_owned();
    let y: Vec<f64> = x.column(0).to_vec();
    let body = || {
        for _ in 0..repeats {
            let t0 = Instant::now();
            let sum = match task.as_str() {
                "umap" => checksum(
                    umap(x.view(), &UmapParams::default(), 42)
                        .unwrap()
                        .coords
                        .iter(),
                ),
                "tsne" => checksum(
                    tsne(x.view(), &TsneParams::default(), 42)
                        .unwrap()
                        .coords
                        .iter(),
                ),
                "forest" => {
                    let f = RandomForest::fit(x4.view(), &y, &ForestParams::default(), 42).unwrap();
                    checksum(f.predict(x4.view()).unwrap().iter())
                }
                "forest-sklearn" => {
                    let p = ForestParams {
                        rng: insiders_embed::forest::RandomStream::Sklearn,
                        ..ForestParams::default()
                    };
                    let f = RandomForest::fit(x4.view(), &y, &p, 42).unwrap();
                    println!("oob_r2 {:?}", f.oob_r2());
                    checksum(f.predict(x4.view()).unwrap().iter())
                }
                "forest-space" => checksum(
                    forest_space(x4.view(), &y, &ForestSpaceParams::default(), 42)
                        .unwrap()
                        .embedding
                        .coords
                        .iter(),
                ),
                other => panic!("unknown task {other}"),
            };
            println!(
                "{task} threads {threads}: {:.3} s, checksum {sum:016x}",
                t0.elapsed().as_secs_f64()
            );
        }
    };
    if std::env::var_os("OUTSIDE_POOL").is_some() {
        body();
    } else {
        pool.install(body);
    }
}
