//! Unit tests of the `kmeans` engine.

use super::hartigan::hartigan;
use super::kernels::Data;
use super::lloyd::{relocate_empty, run_once};
use super::params::{KMeansAlgorithm, KMeansParams, KMeansRefine};
use super::*;

fn blobs(seed: u64, per: usize, centres: &[[f64; 2]], sd: f64) -> Matrix {
    let mut rng = Rng::new(seed);
    let mut m = Matrix::zeros((per * centres.len(), 2));
    for (b, c) in centres.iter().enumerate() {
        for i in 0..per {
            m[[b * per + i, 0]] = c[0] + sd * rng.normal();
            m[[b * per + i, 1]] = c[1] + sd * rng.normal();
        }
    }
    m
}

fn brute_inertia(x: &Matrix, labels: &[usize], k: usize) -> f64 {
    let d = x.ncols();
    let mut c = vec![vec![0.0; d]; k];
    let mut n = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        n[l] += 1;
        for j in 0..d {
            c[l][j] += x[[i, j]];
        }
    }
    let mut s = 0.0;
    for (i, &l) in labels.iter().enumerate() {
        for j in 0..d {
            let m = c[l][j] / n[l] as f64;
            s += (x[[i, j]] - m).powi(2);
        }
    }
    s
}

#[test]
fn hamerly_equals_plain_lloyd() {
    let x = blobs(
        3,
        150,
        &[[0.0, 0.0], [3.0, 0.5], [1.0, 4.0], [5.0, 5.0], [-2.0, 3.0]],
        1.2,
    );
    for refine in [KMeansRefine::None, KMeansRefine::Hartigan] {
        for k in [1, 2, 5, 9] {
            let fit = |algorithm: KMeansAlgorithm| {
                KMeans::new(KMeansParams {
                    algorithm,
                    refine,
                    ..KMeansParams::default()
                })
                .unwrap()
                .fit_model(x.view(), k, 11)
                .unwrap()
            };
            let (h, l) = (fit(KMeansAlgorithm::Hamerly), fit(KMeansAlgorithm::Lloyd));
            assert_eq!(h.labels, l.labels, "k={k}");
            assert_eq!(h.n_iter, l.n_iter, "k={k}");
            assert_eq!(h.inertia.to_bits(), l.inertia.to_bits(), "k={k}");
        }
    }
}

#[test]
fn hartigan_pruning_changes_nothing() {
    // Overlapping blobs (many boundary points), a 5-D set with duplicated rows, and
    // Lloyd runs from several seeds: the pruned passes give the same bits as full ones.
    let x2 = blobs(
        3,
        150,
        &[[0.0, 0.0], [1.5, 0.5], [1.0, 1.5], [3.0, 3.0], [-1.0, 2.5]],
        0.8,
    );
    let mut rng = Rng::new(11);
    let mut x5 = Matrix::zeros((600, 5));
    for i in 0..600 {
        for c in 0..5 {
            x5[[i, c]] = if i >= 500 {
                x5[[i - 500, c]]
            } else {
                (rng.uniform() * 4.0).floor() + 0.3 * rng.normal()
            };
        }
    }
    let mut pruned_any = 0;
    for x in [&x2, &x5] {
        let data = Data::new(x.view());
        for k in [2, 4, 9, 17] {
            for seed in 0..4 {
                let one = |prune: bool| {
                    let mut rng = Rng::new(seed);
                    let mut run = run_once(&data, k, &mut rng, 300, 1e-4, true, false);
                    assert_eq!(run.lower.len(), data.n);
                    by_dim!(data.d, hartigan(&data, k, &mut run, 50, prune));
                    run
                };
                let (a, b) = (one(true), one(false));
                assert_eq!(a.labels, b.labels, "k={k} seed={seed}");
                assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
                assert_eq!(a.refine_moves, b.refine_moves);
                assert!(
                    a.centres
                        .iter()
                        .zip(&b.centres)
                        .all(|(p, q)| p.to_bits() == q.to_bits())
                );
                pruned_any += usize::from(a.refine_moves > 0);
            }
        }
    }
    // Hartigan moved points in some of these runs (the comparison is not vacuous).
    assert!(pruned_any > 4, "{pruned_any}");
}

#[test]
fn hartigan_never_worsens_a_run_and_keeps_nearest_centres() {
    let x = blobs(
        8,
        120,
        &[[0.0, 0.0], [2.0, 0.5], [1.0, 2.0], [3.0, 3.0], [-1.0, 2.5]],
        1.0,
    );
    let mut improved = 0;
    for k in [3, 6, 10, 15] {
        let fit = |refine: KMeansRefine, swaps| {
            KMeans::new(KMeansParams {
                refine,
                swaps,
                ..KMeansParams::default()
            })
            .unwrap()
            .fit_model(x.view(), k, 5)
            .unwrap()
        };
        let (plain, refined) = (fit(KMeansRefine::None, 0), fit(KMeansRefine::Hartigan, 0));
        // Swaps start from the best restart and only accept improvements.
        let swapped = fit(KMeansRefine::Hartigan, 30);
        assert_eq!(swapped.run_inertias, refined.run_inertias);
        assert!(swapped.inertia <= refined.inertia);
        assert_eq!(swapped.predict(x.view()).unwrap(), swapped.labels);
        for (a, b) in refined.run_inertias.iter().zip(&plain.run_inertias) {
            assert!(a <= b, "k={k}: {a} > {b}");
            if a < b {
                improved += 1;
            }
        }
        assert!(refined.inertia <= plain.inertia);
        assert_eq!(refined.predict(x.view()).unwrap(), refined.labels, "k={k}");
        let b = brute_inertia(&x, &refined.labels, k);
        assert!((refined.inertia - b).abs() <= 1e-9 * b);
    }
    // The refinement does something on overlapping blobs.
    assert!(improved > 0);
}

#[test]
fn inertia_labels_and_centres_agree() {
    let x = blobs(5, 100, &[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], 1.0);
    let m = KMeans::default().fit_model(x.view(), 3, 1).unwrap();
    let b = brute_inertia(&x, &m.labels, 3);
    assert!((m.inertia - b).abs() <= 1e-9 * b, "{} vs {b}", m.inertia);
    // Converged: every point is at its nearest centre.
    assert_eq!(m.predict(x.view()).unwrap(), m.labels);
    assert!(m.converged);
    assert_eq!(m.run_inertias.len(), 10);
    assert!(m.run_inertias.iter().all(|&r| r >= m.inertia));
    // Centres are in the input's coordinates (the blob centres, within sampling error).
    let mut found = [false; 3];
    for c in m.centres.outer_iter() {
        for (t, truth) in [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]].iter().enumerate() {
            if (c[0] - truth[0]).abs() < 0.4 && (c[1] - truth[1]).abs() < 0.4 {
                found[t] = true;
            }
        }
    }
    assert_eq!(found, [true; 3], "{:?}", m.centres);
}

#[test]
fn kmeanspp_picks_distinct_points_and_relocation_keeps_k() {
    // 5 distinct values, heavily duplicated: k = 5 must find all of them.
    let vals = [0.0, 1.0, 2.0, 50.0, 51.0];
    let mut x = Matrix::zeros((200, 1));
    for i in 0..200 {
        x[[i, 0]] = vals[i % 5];
    }
    for seed in 0..20 {
        let m = KMeans::default().fit_model(x.view(), 5, seed).unwrap();
        assert!(m.inertia < 1e-20, "seed {seed}: {}", m.inertia);
        let p = m.partition();
        assert_eq!(p.n_clusters(), 5);
    }
}

#[test]
fn relocate_empty_moves_the_farthest_point() {
    let x = ndarray::array![[0.0], [1.0], [10.0]];
    let data = Data::new(x.view());
    let centres = vec![data.row(0)[0], 100.0];
    let labels = vec![0u32, 0, 0];
    let mut sums = vec![data.row(0)[0] + data.row(1)[0] + data.row(2)[0], 0.0];
    let mut counts = vec![3, 0];
    relocate_empty(&data, &centres, &labels, &mut sums, &mut counts);
    assert_eq!(counts, vec![2, 1]);
    assert_eq!(sums[1], data.row(2)[0]);
    assert!((sums[0] - (data.row(0)[0] + data.row(1)[0])).abs() < 1e-12);
}

#[test]
fn params_are_validated() {
    for (key, t) in [
        ("n_init", "n_init = 0"),
        ("max_iter", "max_iter = 0"),
        ("tol", "tol = -1.0"),
        ("algorithm", "algorithm = \"elkan\""),
        ("refine", "refine = \"swap\""),
        ("n_inits", "n_inits = 3"),
    ] {
        let table: toml::Table = t.parse().unwrap();
        match build_kmeans(&table) {
            Err(Error::Param { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{t}: {other:?}"),
        }
    }
}

#[test]
fn k_equals_n_and_k_one() {
    let x = blobs(9, 4, &[[0.0, 0.0]], 1.0);
    let m = KMeans::default().fit_model(x.view(), 4, 0).unwrap();
    assert!(m.inertia < 1e-20);
    let m = KMeans::default().fit_model(x.view(), 1, 0).unwrap();
    assert!(m.labels.iter().all(|&l| l == 0));
    let b = brute_inertia(&x, &m.labels, 1);
    assert!((m.inertia - b).abs() < 1e-12);
}

#[test]
fn unknown_algorithm_is_rejected_naming_the_key_and_the_choices() {
    crate::params::assert_rejects_unknown_choice(build_kmeans, "algorithm", &["hamerly", "lloyd"]);
}

#[test]
fn unknown_refine_is_rejected_naming_the_key_and_the_choices() {
    crate::params::assert_rejects_unknown_choice(build_kmeans, "refine", &["hartigan", "none"]);
}
