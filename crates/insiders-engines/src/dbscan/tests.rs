//! Unit tests of `dbscan` (and the density engines' shared behaviour on degenerate inputs).

use super::tree::{find, union};
use super::*;
use crate::hdbscan::{Hdbscan, HdbscanBackend, HdbscanParams};
use crate::kdtree::sq_dist;
use crate::optics::{Optics, OpticsParams};
use insiders_core::{Matrix, Rng};
use ndarray::array;

/// Literal transcription of scikit-learn's DBSCAN (brute-force neighbourhoods, index-order
/// depth-first expansion with a stack) as the reference for the tests.
fn sklearn_dbscan(x: &Matrix, eps: f64, min_samples: usize) -> Vec<i64> {
    let n = x.nrows();
    let nbh: Vec<Vec<usize>> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| {
                    let a = x.row(i);
                    let b = x.row(j);
                    sq_dist(a.as_slice().unwrap(), b.as_slice().unwrap()) <= eps * eps
                })
                .collect()
        })
        .collect();
    let core: Vec<bool> = nbh.iter().map(|v| v.len() >= min_samples).collect();
    let mut labels = vec![-1i64; n];
    let mut label = 0;
    for start in 0..n {
        if labels[start] != -1 || !core[start] {
            continue;
        }
        let mut stack = Vec::new();
        let mut i = start;
        loop {
            if labels[i] == -1 {
                labels[i] = label;
                if core[i] {
                    for &v in &nbh[i] {
                        if labels[v] == -1 {
                            stack.push(v);
                        }
                    }
                }
            }
            match stack.pop() {
                Some(v) => i = v,
                None => break,
            }
        }
        label += 1;
    }
    labels
}

fn ours(x: &Matrix, eps: f64, min_samples: usize) -> Vec<i64> {
    dbscan(x.view(), eps, min_samples)
        .unwrap()
        .labels
        .iter()
        .map(|l| l.map_or(-1, |c| c as i64))
        .collect()
}

pub(crate) fn blobs_with_duplicates(seed: u64) -> Matrix {
    let mut rng = Rng::new(seed);
    let mut rows = Vec::new();
    for c in 0..4 {
        let (cx, cy) = (c as f64 * 3.0, (c % 2) as f64 * 2.0);
        for _ in 0..60 {
            let p = [cx + rng.normal() * 0.6, cy + rng.normal() * 0.6];
            // round to a grid so distances tie and points repeat
            let p = [(p[0] * 4.0).round() / 4.0, (p[1] * 4.0).round() / 4.0];
            let copies = if rng.below(5) == 0 { 3 } else { 1 };
            for _ in 0..copies {
                rows.push(p);
            }
        }
    }
    let n = rows.len();
    Matrix::from_shape_vec((n, 2), rows.into_iter().flatten().collect()).unwrap()
}

#[test]
fn dbscan_equals_sklearn_transcription_with_duplicates_and_ties() {
    for seed in 0..4 {
        let x = blobs_with_duplicates(seed);
        for (eps, m) in [
            (0.25, 3),
            (0.25, 5),
            (0.5, 5),
            (0.5, 10),
            (0.75, 20),
            (1.0, 8),
            // large radii: whole boxes inside the ball (the k-d tree shortcuts)
            (2.0, 5),
            (3.0, 40),
            (6.0, 20),
        ] {
            assert_eq!(
                ours(&x, eps, m),
                sklearn_dbscan(&x, eps, m),
                "seed {seed} eps {eps} m {m}"
            );
        }
    }
}

/// DBSCAN by its definition, brute force without neighbour lists: core points by counting,
/// components over all core pairs, a border point joins the smallest adjacent root.
fn definition_dbscan(data: &[f64], d: usize, eps: f64, min_samples: usize) -> Vec<i64> {
    let n = data.len() / d;
    let r2 = eps * eps;
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let core: Vec<bool> = (0..n)
        .map(|i| (0..n).filter(|&j| sq_dist(row(i), row(j)) <= r2).count() >= min_samples)
        .collect();
    let mut parent: Vec<usize> = (0..n).collect();
    for i in (0..n).filter(|&i| core[i]) {
        for j in (0..i).filter(|&j| core[j]) {
            if sq_dist(row(i), row(j)) <= r2 {
                union(&mut parent, i, j);
            }
        }
    }
    let root: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut number = vec![-1i64; n];
    let mut next = 0;
    for i in 0..n {
        if core[i] && root[i] == i {
            number[i] = next;
            next += 1;
        }
    }
    (0..n)
        .map(|i| {
            if core[i] {
                number[root[i]]
            } else {
                (0..n)
                    .filter(|&j| core[j] && sq_dist(row(i), row(j)) <= r2)
                    .map(|j| root[j])
                    .min()
                    .map_or(-1, |r| number[r])
            }
        })
        .collect()
}

/// The study's tree space (2-D) and scaled features (5-D) from the fixtures; the ones
/// missing locally are skipped (`insiders_fixtures::fixture` fails under CI).
pub(crate) fn study_spaces() -> Vec<(&'static str, Matrix)> {
    [
        ("tree_space.csv.gz", &["x0", "x1"][..]),
        (
            "scaled_features.csv.gz",
            &["x0", "x1", "x2", "x3", "x4"][..],
        ),
    ]
    .into_iter()
    .filter_map(|(name, cols)| {
        let path = insiders_fixtures::fixture(name)?;
        let (n, d, v) = insiders_fixtures::read_table(&path).matrix(cols);
        Some((name, Matrix::from_shape_vec((n, d), v).unwrap()))
    })
    .collect()
}

/// The benchmark grid's DBSCAN (min_samples 5, eps = m x the 0.99 quantile of the
/// 5-distances, m in 0.5..16) on the study's tree space and scaled features: the labels,
/// numbering included, equal the brute-force definition.
#[test]
fn grid_eps_factors_equal_the_definition_on_the_study_spaces() {
    for (name, x) in study_spaces() {
        let d = x.ncols();
        let v: Vec<f64> = x.iter().copied().collect();
        let base = quantile_eps(x.view(), 5, 0.99).unwrap();
        for m in [0.5, 1.0, 2.0, 4.0, 8.0, 16.0] {
            let eps = m * base;
            let got = ours(&x, eps, 5);
            let want = definition_dbscan(&v, d, eps, 5);
            assert_eq!(got, want, "{name} eps factor {m}");
            let clusters = want.iter().max().map_or(0, |&c| c + 1);
            let noise = want.iter().filter(|&&l| l == -1).count();
            eprintln!("{name} m={m}: eps {eps:.4}, {clusters} clusters, {noise} noise");
        }
    }
}

pub(crate) fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn dbscan_is_the_same_for_one_and_two_threads() {
    let (one, two) = (pool(1), pool(2));
    for seed in 0..3 {
        let x = blobs_with_duplicates(seed);
        for (eps, m) in [(0.25, 3), (0.75, 5), (2.0, 5), (6.0, 20)] {
            let a = one.install(|| dbscan(x.view(), eps, m).unwrap());
            let b = two.install(|| dbscan(x.view(), eps, m).unwrap());
            assert_eq!(a, b, "seed {seed} eps {eps} m {m}");
        }
    }
}

#[test]
fn definition_equals_sklearn_transcription() {
    for seed in 0..2 {
        let x = blobs_with_duplicates(seed);
        let v: Vec<f64> = x.iter().copied().collect();
        for (eps, m) in [(0.25, 3), (0.5, 10), (2.0, 5), (6.0, 20)] {
            assert_eq!(
                definition_dbscan(&v, 2, eps, m),
                sklearn_dbscan(&x, eps, m),
                "seed {seed} eps {eps} m {m}"
            );
        }
    }
}

#[test]
fn duplicates_count_toward_min_samples() {
    // Five copies of one point and a far point: with min_samples 5 the copies are core
    // (each counts itself and the four others), the far point is noise.
    let x = array![
        [0.0, 0.0],
        [0.0, 0.0],
        [0.0, 0.0],
        [0.0, 0.0],
        [0.0, 0.0],
        [9.0, 9.0]
    ];
    let r = dbscan(x.view(), 0.1, 5).unwrap();
    assert_eq!(
        r.labels,
        vec![Some(0), Some(0), Some(0), Some(0), Some(0), None]
    );
    assert!(r.core[..5].iter().all(|&c| c));
    // six needed: nobody is core
    let r = dbscan(x.view(), 0.1, 6).unwrap();
    assert!(r.labels.iter().all(|l| l.is_none()));
    // petal-clustering agrees on this one (duplicates at distance 0 are counted)
    use petal_clustering::Fit;
    let (clusters, noise) =
        petal_clustering::Dbscan::new(0.1, 5, petal_neighbors::distance::Euclidean::default())
            .fit(&x, None);
    assert_eq!(clusters.len(), 1);
    assert_eq!(noise, vec![5]);
}

#[test]
fn small_cluster_next_to_an_earlier_one_is_kept_unlike_petal() {
    // eps 1, min_samples 4. Three groups of 4 points (indices 0..12) along three
    // directions u at 1.85u, 2.0u, 2.1u, 2.2u: all core. Border points b = 0.9u (12..15):
    // neighbours {b, c, nearest group point} = 3 < 4. Centre c = (0, 0) (index 15):
    // neighbours {c, b1, b2, b3} = 4, core, but its neighbours were claimed by the three
    // earlier clusters, so scikit-learn gives it a cluster of its own with one member.
    let dirs = [
        (1.0, 0.0),
        (-0.5, 0.75f64.sqrt()),
        (-0.5, -(0.75f64.sqrt())),
    ];
    let mut rows = Vec::new();
    for (ux, uy) in dirs {
        for r in [1.85, 2.0, 2.1, 2.2] {
            rows.extend([ux * r, uy * r]);
        }
    }
    for (ux, uy) in dirs {
        rows.extend([ux * 0.9, uy * 0.9]);
    }
    rows.extend([0.0, 0.0]);
    let x = Matrix::from_shape_vec((16, 2), rows).unwrap();
    let m = 4;
    let ours = ours(&x, 1.0, m);
    assert_eq!(ours, sklearn_dbscan(&x, 1.0, m));
    assert_eq!(ours, vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 2, 3]);
    // petal drops the one-member cluster of the core point c and calls c noise
    use petal_clustering::Fit;
    let (clusters, noise) =
        petal_clustering::Dbscan::new(1.0, m, petal_neighbors::distance::Euclidean::default())
            .fit(&x, None);
    assert_eq!(clusters.len(), 3);
    assert_eq!(noise, vec![15]);
}

#[test]
fn elbow_of_a_hockey_stick() {
    // y = 1 for 90 points then rising steeply: the knee is at the bend.
    let mut v: Vec<f64> = vec![1.0; 90];
    v.extend((1..=10).map(|i| 1.0 + i as f64 * 10.0));
    assert_eq!(knee_index(&v), Some(89));
    assert_eq!(knee_index(&[1.0, 1.0, 1.0]), None);
    assert_eq!(knee_index(&[1.0, 2.0]), None);
}

#[test]
fn dbscan_engine_reports_eps_and_validates() {
    let x = blobs_with_duplicates(5);
    let e = Dbscan::new(DbscanParams {
        eps: None,
        min_samples: 5,
        ..DbscanParams::default()
    })
    .unwrap();
    let p = e.fit(x.view(), None, 0).unwrap();
    let eps = p.diag.extra["eps"];
    assert_eq!(eps, elbow_eps(x.view(), 5).unwrap());
    assert!(eps > 0.0);
    let fixed = Dbscan::new(DbscanParams {
        eps: Some(eps),
        min_samples: 5,
        ..DbscanParams::default()
    })
    .unwrap()
    .fit(x.view(), None, 9)
    .unwrap();
    assert_eq!(p, fixed);
    assert!(
        Dbscan::new(DbscanParams {
            eps: Some(0.0),
            min_samples: 5,
            ..DbscanParams::default()
        })
        .is_err()
    );
    assert!(
        Dbscan::new(DbscanParams {
            eps: Some(f64::NAN),
            min_samples: 5,
            ..DbscanParams::default()
        })
        .is_err()
    );
    assert!(
        Dbscan::new(DbscanParams {
            eps: None,
            min_samples: 0,
            ..DbscanParams::default()
        })
        .is_err()
    );
    // eps_factor scales the elbow eps, and only the elbow eps.
    let doubled = Dbscan::new(DbscanParams {
        min_samples: 5,
        eps_factor: 2.0,
        ..DbscanParams::default()
    })
    .unwrap()
    .fit(x.view(), None, 0)
    .unwrap();
    assert_eq!(doubled.diag.extra["eps"], 2.0 * eps);
    // The quantile rule: numpy's percentile, linear between order statistics.
    let mut kd = k_distances(x.view(), 5).unwrap();
    kd.sort_by(f64::total_cmp);
    let h = (kd.len() - 1) as f64 * 0.9;
    let lo = h.floor() as usize;
    let want = kd[lo] + (h - lo as f64) * (kd[lo + 1] - kd[lo]);
    assert_eq!(quantile_eps(x.view(), 5, 0.9).unwrap(), want);
    assert_eq!(quantile_eps(x.view(), 5, 1.0).unwrap(), kd[kd.len() - 1]);
    let q = Dbscan::new(DbscanParams {
        min_samples: 5,
        eps_factor: 0.5,
        eps_quantile: Some(0.9),
        ..DbscanParams::default()
    })
    .unwrap()
    .fit(x.view(), None, 0)
    .unwrap();
    assert_eq!(q.diag.extra["eps"], 0.5 * want);
    for bad in [0.0, 1.5, f64::NAN] {
        assert!(
            Dbscan::new(DbscanParams {
                eps_quantile: Some(bad),
                ..DbscanParams::default()
            })
            .is_err()
        );
    }
    assert!(
        Dbscan::new(DbscanParams {
            eps: Some(1.0),
            eps_quantile: Some(0.99),
            ..DbscanParams::default()
        })
        .is_err()
    );
    for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let r = Dbscan::new(DbscanParams {
            eps_factor: bad,
            ..DbscanParams::default()
        });
        assert!(matches!(r, Err(Error::Param { ref key, .. }) if key == "eps_factor"));
    }
    assert!(matches!(
        Dbscan::new(DbscanParams {
            eps: Some(1.0),
            eps_factor: 2.0,
            ..DbscanParams::default()
        }),
        Err(Error::Param { .. })
    ));
    let t = insiders_core::params::parse_pairs(&["epsilon=1"]).unwrap();
    assert!(matches!(build_dbscan(&t), Err(Error::Param { .. })));
    let empty = Matrix::zeros((0, 2));
    assert!(matches!(
        e.fit(empty.view(), None, 0),
        Err(Error::EmptyInput { .. })
    ));
}

#[test]
fn hdbscan_finds_blobs_and_keeps_duplicates_together() {
    let mut rng = Rng::new(8);
    let mut rows = Vec::new();
    for c in [[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]] {
        for _ in 0..80 {
            rows.push([c[0] + rng.normal() * 0.5, c[1] + rng.normal() * 0.5]);
        }
        // 25 exact copies of the centre: core distance 0 with min_samples 20
        for _ in 0..25 {
            rows.push(c);
        }
    }
    rows.push([30.0, 30.0]);
    let n = rows.len();
    let x = Matrix::from_shape_vec((n, 2), rows.into_iter().flatten().collect()).unwrap();
    let mut fits = Vec::new();
    for backend in [HdbscanBackend::Native, HdbscanBackend::Petal] {
        let e = Hdbscan::new(HdbscanParams {
            backend,
            ..HdbscanParams::default()
        })
        .unwrap();
        let p = e.fit(x.view(), None, 0).unwrap();
        assert_eq!(p.n_clusters(), 3, "{:?}", p.labels);
        assert_eq!(p.labels[n - 1], None);
        for b in 0..3 {
            let base = b * 105;
            let c = p.labels[base + 80];
            assert!(c.is_some());
            assert!((base + 80..base + 105).all(|i| p.labels[i] == c));
        }
        // deterministic across runs and thread counts
        let run = |t: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| e.fit(x.view(), None, 0).unwrap())
        };
        assert_eq!(run(1), p);
        assert_eq!(run(2), p);
        // tiny inputs never reach a backend
        let one = array![[1.0, 1.0]];
        assert_eq!(e.fit(one.view(), None, 0).unwrap().labels, vec![None]);
        fits.push(p);
    }
    assert_eq!(fits[0], fits[1]);
}

#[test]
fn degenerate_inputs_never_panic() {
    let same = Matrix::from_elem((60, 2), 3.0);
    let mut two = Matrix::from_elem((60, 1), 0.0);
    for i in 30..60 {
        two[[i, 0]] = 5.0;
    }
    let line = Matrix::from_shape_fn((50, 1), |(i, _)| i as f64);
    let engines: Vec<Box<dyn Engine>> = vec![
        Box::new(Dbscan::new(DbscanParams::default()).unwrap()),
        Box::new(Hdbscan::new(HdbscanParams::default()).unwrap()),
        Box::new(
            Hdbscan::new(HdbscanParams {
                backend: HdbscanBackend::Petal,
                ..HdbscanParams::default()
            })
            .unwrap(),
        ),
        Box::new(Optics::new(OpticsParams::default()).unwrap()),
    ];
    for e in &engines {
        let p = e.fit(same.view(), None, 0).unwrap();
        assert_eq!(p.labels.len(), 60, "{}", e.name());
        // identical points: one cluster or all noise, never split
        assert!(p.n_clusters() <= 1, "{}: {:?}", e.name(), p.labels);
        let p = e.fit(two.view(), None, 0).unwrap();
        assert!(p.n_clusters() <= 2, "{}", e.name());
        assert!((1..30).all(|i| p.labels[i] == p.labels[0]), "{}", e.name());
        assert!(
            (31..60).all(|i| p.labels[i] == p.labels[30]),
            "{}",
            e.name()
        );
        assert_eq!(e.fit(line.view(), None, 0).unwrap().labels.len(), 50);
    }
    // all points identical: every k-distance is 0 and the elbow falls back to 1.0
    assert_eq!(elbow_eps(same.view(), 20).unwrap(), 1.0);
    let p = engines[0].fit(same.view(), None, 0).unwrap();
    assert_eq!(p.n_clusters(), 1);
    assert_eq!(p.n_noise(), 0);
}
