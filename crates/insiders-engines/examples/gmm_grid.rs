//! The benchmark grid's gmm row alone: `gmm` with `n_init = 1, refine = "none"` (scikit-learn's
//! algorithm) for k = 2..22 on the spaces written by `xtask grid` (`<out>/spaces/*.csv`), with
//! the CPU seconds and a bit checksum of every fitted model (to check that a kernel change
//! keeps the bits). `K=3,10` picks other ks.
//!
//! `cargo run --release -p insiders-engines --example gmm_grid -- /tmp/gmm-grid/spaces`

#![allow(clippy::unwrap_used)]

use insiders_core::{Matrix, process_cpu_seconds};
use insiders_engines::gmm::{GaussianMixture, GmmParams, GmmRefine};
use insiders_fixtures::read_table;

/// FNV-1a over the bits of `v`.
fn hash(h: &mut u64, v: f64) {
    for b in v.to_bits().to_le_bytes() {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/gmm-grid/spaces".into());
    let ks: Vec<usize> = match std::env::var("K") {
        Ok(s) => s.split(',').map(|v| v.trim().parse().unwrap()).collect(),
        Err(_) => (2..=22).collect(),
    };
    let engine = GaussianMixture::new(GmmParams {
        refine: GmmRefine::None,
        ..GmmParams::default()
    })
    .unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    names.sort();
    let mut all = 0xcbf2_9ce4_8422_2325u64;
    let start = process_cpu_seconds();
    for path in names {
        let t = read_table(&path);
        let cols: Vec<String> = (0..8)
            .map(|c| format!("x{c}"))
            .filter(|c| t.columns.contains(c))
            .collect();
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        let (n, d, v) = t.matrix(&cols);
        let x = Matrix::from_shape_vec((n, d), v).unwrap();
        let t0 = process_cpu_seconds();
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut iters = 0;
        let mut pairs = 0;
        for &k in &ks {
            let m = engine.fit_model(x.view(), k, 42 + k as u64).unwrap();
            iters += m.n_iter;
            pairs += (m.n_iter + 1) * k * n;
            hash(&mut h, m.lower_bound);
            hash(&mut h, m.mean_log_likelihood);
            for v in m.responsibilities.iter().chain(m.means.iter()) {
                hash(&mut h, *v);
            }
            for p in &m.precisions_cholesky {
                for v in p.iter() {
                    hash(&mut h, *v);
                }
            }
        }
        hash(&mut all, f64::from_bits(h));
        println!(
            "{:10} {n} x {d}: {iters:5} EM iterations, {:.1} M (point, component) E-steps, {:.2} CPU s, checksum {h:016x}",
            path.file_stem().unwrap().to_string_lossy(),
            pairs as f64 * 1e-6,
            process_cpu_seconds() - t0
        );
    }
    println!(
        "total {:.2} CPU s, checksum {all:016x}",
        process_cpu_seconds() - start
    );
}
