//! Parity of `dbscan` with scikit-learn's DBSCAN on the study's tree space
//! (`dbscan_labels.csv.gz`, columns `eps0.5_min5`, `eps1.0_min20`, `eps2.0_min20`; -1 = noise)
//! and with the cluster / noise counts of `reference.json` `dbscan`.
//!
//! Our border-point rule is scikit-learn's own (the earliest-seeded adjacent cluster), so the
//! expectation is stronger than "same core/noise split and partition of core points": the
//! whole label vector must be identical, numbering included.
#![allow(clippy::unwrap_used)]

use insiders_core::{Engine, Matrix};
use insiders_engines::dbscan::{self, Dbscan, DbscanParams};
use insiders_fixtures::{fixture, read_table, reference};
use std::collections::HashMap;

const CONFIGS: [(f64, usize, &str); 3] = [
    (0.5, 5, "eps0.5_min5"),
    (1.0, 20, "eps1.0_min20"),
    (2.0, 20, "eps2.0_min20"),
];

fn tree_space() -> Option<(Vec<i64>, Matrix)> {
    let t = read_table(&fixture("tree_space.csv.gz")?);
    let (n, d, v) = t.matrix(&["x0", "x1"]);
    Some((t.ids.clone(), Matrix::from_shape_vec((n, d), v).unwrap()))
}

fn labels_i64(labels: &[Option<usize>]) -> Vec<i64> {
    labels.iter().map(|l| l.map_or(-1, |c| c as i64)).collect()
}

/// Same noise set and the same partition of the clustered points.
fn assert_same_clustering(ours: &[i64], theirs: &[i64], what: &str) {
    let mut ab: HashMap<i64, i64> = HashMap::new();
    let mut ba: HashMap<i64, i64> = HashMap::new();
    for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(a == -1, b == -1, "{what}: point {i} noise {a} vs {b}");
        if a == -1 {
            continue;
        }
        assert_eq!(*ab.entry(a).or_insert(b), b, "{what}: point {i}");
        assert_eq!(*ba.entry(b).or_insert(a), a, "{what}: point {i}");
    }
}

#[test]
fn dbscan_equals_sklearn_on_tree_space() {
    let Some((ids, x)) = tree_space() else {
        return;
    };
    let Some(path) = fixture("dbscan_labels.csv.gz") else {
        return;
    };
    let reference_labels = read_table(&path);
    assert_eq!(reference_labels.ids, ids);
    let counts = reference().unwrap()["dbscan"].as_array().unwrap().clone();
    for (eps, min_samples, column) in CONFIGS {
        let theirs: Vec<i64> = reference_labels
            .column(column)
            .iter()
            .map(|&v| v as i64)
            .collect();
        let r = dbscan::dbscan(x.view(), eps, min_samples).unwrap();
        let ours = labels_i64(&r.labels);
        assert_same_clustering(&ours, &theirs, column);
        assert_eq!(
            ours, theirs,
            "{column}: identical labels expected (sklearn's numbering)"
        );
        let n_clusters = ours.iter().max().unwrap() + 1;
        let n_noise = ours.iter().filter(|&&l| l == -1).count();
        let n_core = r.core.iter().filter(|&&c| c).count();
        let n_border = ours.len() - n_noise - n_core;
        let rc = counts
            .iter()
            .find(|c| {
                c["eps"].as_f64() == Some(eps)
                    && c["min_samples"].as_u64() == Some(min_samples as u64)
            })
            .unwrap();
        assert_eq!(
            n_clusters as u64,
            rc["n_clusters"].as_u64().unwrap(),
            "{column}"
        );
        assert_eq!(n_noise as u64, rc["n_noise"].as_u64().unwrap(), "{column}");
        eprintln!(
            "{column}: {n_clusters} clusters, {n_noise} noise, {n_core} core, {n_border} border: equal to sklearn"
        );
    }
}

#[test]
fn engine_matches_function_and_ignores_threads() {
    let Some((_, x)) = tree_space() else {
        return;
    };
    let t = insiders_core::params::parse_pairs(&["eps=2.0", "min_samples=20"]).unwrap();
    let engine = insiders_engines::build("dbscan", &t).unwrap();
    assert!(engine.caps().emits_noise && !engine.caps().needs_k);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| engine.fit(x.view(), None, 0).unwrap())
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one.n_clusters(), 38);
    assert_eq!(one.n_noise(), 110);
    assert_eq!(one.diag.extra["eps"], 2.0);
}

#[test]
fn elbow_eps_on_tree_space() {
    let Some((_, x)) = tree_space() else {
        return;
    };
    let engine = Dbscan::new(DbscanParams::default()).unwrap();
    let p = engine.fit(x.view(), None, 0).unwrap();
    let eps = p.diag.extra["eps"];
    // the elbow is one of the k-distances, below the largest one
    let mut kd = dbscan::k_distances(x.view(), 20).unwrap();
    kd.sort_by(f64::total_cmp);
    assert!(kd.contains(&eps));
    assert!(eps > kd[0] && eps < kd[kd.len() - 1]);
    // every point whose k-distance is <= eps is core, so the noise share is below the
    // share of k-distances above eps
    let above = kd.iter().filter(|&&v| v > eps).count();
    assert!(p.n_noise() <= above);
    eprintln!(
        "elbow eps (k = 20) = {eps:.4}: {} clusters, {} noise points",
        p.n_clusters(),
        p.n_noise()
    );
}

#[test]
fn duplicates_of_a_far_point_become_a_cluster() {
    let Some((_, x)) = tree_space() else {
        return;
    };
    let n = x.nrows();
    let base = dbscan::dbscan(x.view(), 1.0, 20).unwrap();
    // a new point 5 units beyond the data in both coordinates, plus copies of it
    let far = [
        x.column(0).fold(f64::MIN, |a, &b| a.max(b)) + 5.0,
        x.column(1).fold(f64::MIN, |a, &b| a.max(b)) + 5.0,
    ];
    let with_copies = |copies: usize| {
        let mut rows: Vec<f64> = x.iter().copied().collect();
        for _ in 0..copies {
            rows.extend(far);
        }
        Matrix::from_shape_vec((n + copies, 2), rows).unwrap()
    };
    // 20 identical points: each counts itself and its 19 duplicates, so all are core
    let y = with_copies(20);
    let r = dbscan::dbscan(y.view(), 1.0, 20).unwrap();
    let c = r.labels[n].expect("20 duplicates are core");
    assert!((n..n + 20).all(|i| r.labels[i] == Some(c) && r.core[i]));
    assert_eq!(
        r.labels.iter().flatten().max(),
        Some(&c),
        "the last cluster seeded"
    );
    // everything else is unchanged, numbering included
    assert_eq!(labels_i64(&r.labels[..n]), labels_i64(&base.labels));
    // 19 are not enough: noise
    let y = with_copies(19);
    let r = dbscan::dbscan(y.view(), 1.0, 20).unwrap();
    assert!((n..n + 19).all(|i| r.labels[i].is_none()));
    assert_eq!(labels_i64(&r.labels[..n]), labels_i64(&base.labels));
}

/// The Python grid's DBSCAN "elbow" is numpy's `percentile(k-distances, 99)` with
/// k = min_samples = 5 (the point itself included): `reference_grid.csv` gives
/// `eps=0.0471784` for m = 1 on the scaled features (6 significant digits), and m × that
/// for the other factors.
#[test]
fn quantile_eps_is_the_python_grids_elbow() {
    let Some(path) = fixture("scaled_features.csv.gz") else {
        return;
    };
    let t = read_table(&path);
    let (n, d, v) = t.matrix(&["x0", "x1", "x2", "x3", "x4"]);
    let x = Matrix::from_shape_vec((n, d), v).unwrap();
    let eps = dbscan::quantile_eps(x.view(), 5, 0.99).unwrap();
    assert!((eps - 0.0471784).abs() <= 5e-8, "eps {eps}");
    for m in [0.5, 2.0, 16.0] {
        let p = Dbscan::new(DbscanParams {
            min_samples: 5,
            eps_factor: m,
            eps_quantile: Some(0.99),
            ..DbscanParams::default()
        })
        .unwrap()
        .fit(x.view(), None, 0)
        .unwrap();
        assert_eq!(p.diag.extra["eps"], m * eps);
    }
}
