//! `knn-recall`: recall@k of the approximate nearest-neighbour search (NN-descent, the
//! search UMAP uses above `EXACT_MAX_N` rows) against the exact search, on the spaces the
//! tool searches: the default model matrix (3 value features, log-standard), the study's
//! (5 features, min-max) and the study's forest leaves (Hamming: the forest space's UMAP
//! input).
//!
//! ```text
//! cargo run --release -p insiders-benches --bin knn-recall -- [--data FILE] [--sample N]
//!     [--k 15] [--seed 42]
//! ```
//! Without `--data`: the real data (`../shared`). `--sample N`: a seeded sample of N
//! customers of the table. `--min-recall R`: exit non-zero when a space's recall by
//! distance is below R (a check for CI). Prints one Markdown row per space: rows, k, recall by index
//! (the share of the exact k neighbours found) and by distance (the share of found
//! neighbours no farther than the exact k-th: ties at the k-th distance count as found),
//! and both searches' seconds.

use insiders_embed::forest::{ForestSpaceParams, RandomForest};
use insiders_embed::knn::{self, Knn, Metric, NnDescentParams};
use insiders_pipeline::{Config, Source};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    if let Err(e) = run() {
        eprintln!("knn-recall: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut data: Option<PathBuf> = None;
    let mut sample: Option<usize> = None;
    let mut k = 15usize;
    let mut seed = 42u64;
    let mut min_recall: Option<f64> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        match args[i].as_str() {
            "--data" => data = Some(PathBuf::from(v)),
            "--sample" => sample = Some(v.parse().map_err(|e| format!("--sample: {e}"))?),
            "--k" => k = v.parse().map_err(|e| format!("--k: {e}"))?,
            "--seed" => seed = v.parse().map_err(|e| format!("--seed: {e}"))?,
            "--min-recall" => {
                min_recall = Some(v.parse().map_err(|e| format!("--min-recall: {e}"))?)
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
        i += 2;
    }
    let data = match data {
        Some(d) => d,
        None => insiders_datasets::require("online-retail")
            .ok_or("the real data is missing (../shared)")?
            .files[0]
            .path
            .clone(),
    };
    let t = Instant::now();
    let study = Config::preset("study").map_err(|e| e.to_string())?;
    let p = insiders_pipeline::prepare(&Source::File(data.clone()), &study, &|_| {})
        .map_err(|e| e.to_string())?;
    let n_all = p.table.len();
    let rows: Option<Vec<usize>> =
        sample.map(|m| insiders_engines::assign::sample_rows(n_all, m, seed));
    let pick = |m: insiders_core::Matrix| match &rows {
        Some(r) => m.select(ndarray::Axis(0), r),
        None => m,
    };
    let default_x = pick(
        insiders_pipeline::model_matrix(&p.table, &Config::default())
            .map_err(|e| e.to_string())?
            .x,
    );
    let study_m = insiders_pipeline::model_matrix(&p.table, &study).map_err(|e| e.to_string())?;
    let study_x = pick(study_m.x);
    drop(p);
    eprintln!(
        "{} customers, {} searched, prepared in {:.1} s",
        n_all,
        study_x.nrows(),
        t.elapsed().as_secs_f64()
    );
    // The forest leaves of the study's space: gross_revenue predicted from the other four.
    let target_col = study_m
        .names
        .iter()
        .position(|n| n == "gross_revenue")
        .ok_or("no gross_revenue")?;
    let keep: Vec<usize> = (0..study_x.ncols()).filter(|&c| c != target_col).collect();
    let inputs = study_x.select(ndarray::Axis(1), &keep);
    let y = study_x.column(target_col).to_vec();
    let fp = ForestSpaceParams::default().forest();
    let forest = RandomForest::fit(inputs.view(), &y, &fp, seed).map_err(|e| e.to_string())?;
    let leaves = forest
        .apply(inputs.view())
        .map_err(|e| e.to_string())?
        .mapv(f64::from);
    println!("| space | rows | k | recall (index) | recall (distance) | exact s | NN-descent s |");
    println!("|---|---|---|---|---|---|---|");
    for (name, x, metric) in [
        (
            "default: 3 value features, log-standard",
            &default_x,
            Metric::Euclidean,
        ),
        ("study: 5 features, min-max", &study_x, Metric::Euclidean),
        ("study: forest leaves (Hamming)", &leaves, Metric::Hamming),
    ] {
        let t = Instant::now();
        let exact = knn::exact(x.view(), k, metric).map_err(|e| e.to_string())?;
        let te = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let approx = knn::nn_descent(x.view(), k, metric, seed, &NnDescentParams::default())
            .map_err(|e| e.to_string())?;
        let ta = t.elapsed().as_secs_f64();
        let (by_index, by_distance) = recall(&exact, &approx);
        println!(
            "| {name} | {} | {k} | {by_index:.4} | {by_distance:.4} | {te:.1} | {ta:.1} |",
            x.nrows()
        );
        if let Some(min) = min_recall
            && by_distance < min
        {
            return Err(format!(
                "{name}: recall by distance {by_distance:.4} is below --min-recall {min}"
            ));
        }
    }
    Ok(())
}

/// (recall by index, recall by distance) of `approx` against `exact`.
fn recall(exact: &Knn, approx: &Knn) -> (f64, f64) {
    let n = exact.indices.len() / exact.k;
    let (mut hit, mut near) = (0usize, 0usize);
    for i in 0..n {
        let want: HashSet<usize> = exact.row_indices(i).iter().copied().collect();
        let kth = exact.row_distances(i)[exact.k - 1];
        for (j, d) in approx.row_indices(i).iter().zip(approx.row_distances(i)) {
            hit += usize::from(want.contains(j));
            near += usize::from(*d <= kth);
        }
    }
    let total = (n * exact.k) as f64;
    (hit as f64 / total, near as f64 / total)
}
