//! Parity of the scores with scikit-learn on the shared fixtures (`reference.json`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use insiders_core::Matrix;
use insiders_eval::*;
use insiders_fixtures::{fixture, read_table, reference, rel_diff};

fn space(name: &str) -> Option<Matrix> {
    let (file, cols): (&str, &[&str]) = match name {
        "scaled_features" => ("scaled_features.csv.gz", &["x0", "x1", "x2", "x3", "x4"]),
        "tree_space" => ("tree_space.csv.gz", &["x0", "x1"]),
        other => panic!("unknown input {other}"),
    };
    let t = read_table(&fixture(file)?);
    let (n, d, v) = t.matrix(cols);
    Some(Matrix::from_shape_vec((n, d), v).unwrap())
}

fn labelling(name: &str) -> Option<Vec<Option<u32>>> {
    let t = read_table(&fixture("labellings.csv.gz")?);
    Some(
        t.column(name)
            .into_iter()
            .map(|v| {
                assert!(v >= 0.0 && v.fract() == 0.0, "label {v}");
                Some(v as u32)
            })
            .collect(),
    )
}

/// The 2-D PCA of the scaled features from the reference components.
fn pca2(x: &Matrix, r: &serde_json::Value) -> Matrix {
    let comps = &r["pca"]["components"];
    let means = x.mean_axis(ndarray::Axis(0)).unwrap();
    let mut low = Matrix::zeros((x.nrows(), 2));
    for (i, row) in x.outer_iter().enumerate() {
        for c in 0..2 {
            low[[i, c]] = (0..x.ncols())
                .map(|j| (row[j] - means[j]) * comps[c][j].as_f64().unwrap())
                .sum();
        }
    }
    low
}

/// One unit of the trustworthiness penalty sum (one rank step of one neighbour).
fn rank_unit(n: usize, k: usize) -> f64 {
    let (nf, kf) = (n as f64, k as f64);
    2.0 / (nf * kf * (2.0 * nf - 3.0 * kf - 1.0))
}

#[test]
fn trustworthiness_of_pca_matches_sklearn_up_to_duplicate_ties() {
    let (Some(x), Some(r)) = (space("scaled_features"), reference()) else {
        return;
    };
    let low = pca2(&x, &r);
    let t = trustworthiness(x.view(), low.view(), 15).unwrap();
    let want = r["embedding_quality"]["pca"]["trustworthiness_k15"]
        .as_f64()
        .unwrap();
    let units = (want - t) / rank_unit(x.nrows(), 15);
    println!("trustworthiness k=15: ours {t:.16}, sklearn {want:.16}, diff {units:.3} rank units");
    // The scaled features hold 6 pairs of identical customers. Their distances tie exactly,
    // and scikit-learn orders exact ties as numpy's unstable argsort and the KD-tree happen
    // to; we break them by point index. Every other rank is identical, and the tie
    // resolutions of this data span [-5, +14] units around our value (sklearn: +6).
    assert!(
        units.abs() <= 8.0 + 1e-6,
        "{t} vs {want}: {units} rank units"
    );
    assert!(
        (units - units.round()).abs() < 1e-3,
        "not a whole number of rank units: {units}"
    );
    // Neighbourhoods of a 2-D PCA keep most, not all, of the 5-D neighbours.
    let c = continuity(x.view(), low.view(), 15).unwrap();
    let p = knn_preservation(x.view(), low.view(), 15).unwrap();
    println!("continuity {c:.6}, knn preservation {p:.6}");
    assert!(c > 0.95 && c < 1.0, "{c}");
    assert!(p > 0.2 && p < 1.0, "{p}");
}

#[test]
fn trustworthiness_tie_rule_moves_only_a_few_rank_units() {
    // Reversing the point order flips the index tie-break of every exact tie; only the
    // handful of tied ranks may move, never the bulk of the score.
    let (Some(x), Some(r)) = (space("scaled_features"), reference()) else {
        return;
    };
    let low = pca2(&x, &r);
    let rev: Vec<usize> = (0..x.nrows()).rev().collect();
    let take = |m: &Matrix| m.select(ndarray::Axis(0), &rev);
    let a = trustworthiness(x.view(), low.view(), 15).unwrap();
    let b = trustworthiness(take(&x).view(), take(&low).view(), 15).unwrap();
    let units = (b - a) / rank_unit(x.nrows(), 15);
    println!("reversed order: {b:.16} ({units:.3} rank units from {a:.16})");
    assert!(units.abs() <= 19.0 + 1e-6, "{units}");
    assert!((units - units.round()).abs() < 1e-3, "{units}");
}

#[test]
fn internal_scores_match_sklearn() {
    let Some(r) = reference() else { return };
    for m in r["metrics"].as_array().unwrap() {
        let input = m["input"].as_str().unwrap();
        let name = m["labels"].as_str().unwrap();
        let (Some(x), Some(labels)) = (space(input), labelling(name)) else {
            return;
        };
        let s = internal_scores(x.view(), &labels).unwrap();
        for (what, ours, key) in [
            ("silhouette", s.silhouette, "silhouette"),
            ("davies_bouldin", s.davies_bouldin, "davies_bouldin"),
            (
                "calinski_harabasz",
                s.calinski_harabasz,
                "calinski_harabasz",
            ),
        ] {
            let want = m[key].as_f64().unwrap();
            let rd = rel_diff(ours, want);
            println!("{name}: {what} ours {ours:.15} sklearn {want:.15} rel {rd:.2e}");
            assert!(rd < 1e-9, "{name} {what}: {ours} vs {want} (rel {rd:e})");
        }
        assert_eq!(s.noise_share, 0.0);
        assert_eq!(s.n_scored, x.nrows());
        assert_eq!(s.silhouette, silhouette(x.view(), &labels).unwrap());
        assert_eq!(s.davies_bouldin, davies_bouldin(x.view(), &labels).unwrap());
        assert_eq!(
            s.calinski_harabasz,
            calinski_harabasz(x.view(), &labels).unwrap()
        );
    }
}

#[test]
fn silhouette_many_equals_silhouette_per_labelling() {
    for (input, names) in [
        (
            "scaled_features",
            ["scaled_features_kmeans_k3", "scaled_features_kmeans_k10"],
        ),
        (
            "tree_space",
            ["tree_space_kmeans_k3", "tree_space_kmeans_k10"],
        ),
    ] {
        let Some(x) = space(input) else { return };
        let mut ls: Vec<Vec<Option<u32>>> = Vec::new();
        for n in names {
            let Some(l) = labelling(n) else { return };
            ls.push(l);
        }
        // Add a labelling with noise to show that each labelling keeps its own noise set.
        let mut noisy = ls[1].clone();
        for (i, l) in noisy.iter_mut().enumerate() {
            if i % 7 == 3 {
                *l = None;
            }
        }
        ls.push(noisy);
        let refs: Vec<&[Option<u32>]> = ls.iter().map(|l| l.as_slice()).collect();
        let many = silhouette_many(x.view(), &refs).unwrap();
        for (l, m) in refs.iter().zip(&many) {
            assert_eq!(*m, silhouette(x.view(), l).unwrap(), "{input}");
        }
        // The reversed list gives the same values, reversed.
        let rev: Vec<&[Option<u32>]> = refs.iter().rev().copied().collect();
        let mut back = silhouette_many(x.view(), &rev).unwrap();
        back.reverse();
        assert_eq!(back, many);
    }
}

#[test]
fn agreement_matches_sklearn() {
    let Some(r) = reference() else { return };
    let ag = &r["agreement"];
    let between: Vec<&str> = ag["between"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let (Some(a), Some(b)) = (labelling(between[0]), labelling(between[1])) else {
        return;
    };
    let ari = adjusted_rand_index(&a, &b).unwrap();
    let nmi = normalized_mutual_info(&a, &b).unwrap();
    let (want_ari, want_nmi) = (ag["ari"].as_f64().unwrap(), ag["nmi"].as_f64().unwrap());
    println!(
        "ARI ours {ari:.17} sklearn {want_ari:.17}; NMI ours {nmi:.17} sklearn {want_nmi:.17}"
    );
    assert!((ari - want_ari).abs() < 1e-9, "{ari} vs {want_ari}");
    assert!((nmi - want_nmi).abs() < 1e-9, "{nmi} vs {want_nmi}");
    // Both are symmetric.
    assert!((adjusted_rand_index(&b, &a).unwrap() - ari).abs() < 1e-15);
    assert!((normalized_mutual_info(&b, &a).unwrap() - nmi).abs() < 1e-15);
    assert_eq!(mean_pairwise_ari(&[&a, &b]).unwrap(), ari);
}

#[test]
fn sampled_silhouette_estimates_the_exact_one() {
    let (Some(x), Some(labels)) = (space("tree_space"), labelling("tree_space_kmeans_k10")) else {
        return;
    };
    let exact = silhouette(x.view(), &labels).unwrap();
    let mut zs = Vec::new();
    for seed in 0..5u64 {
        let s = silhouette_sampled(x.view(), &labels, 500, seed).unwrap();
        assert_eq!(s.sample_size, 500);
        assert!(s.std_error > 0.0 && s.std_error < 0.05, "{s:?}");
        let z = (s.value - exact) / s.std_error;
        println!(
            "seed {seed}: {:.5} ± {:.5} (exact {exact:.5}, z = {z:.2})",
            s.value, s.std_error
        );
        assert!(z.abs() < 4.0, "seed {seed}: z = {z}");
        zs.push(s.value);
        // Same seed, same value.
        assert_eq!(s, silhouette_sampled(x.view(), &labels, 500, seed).unwrap());
    }
    // Different seeds draw different samples.
    assert!(zs.windows(2).any(|w| w[0] != w[1]));
    // The whole population: the exact value, no error.
    let all = silhouette_sampled(x.view(), &labels, 1_000_000, 7).unwrap();
    assert_eq!(all.value, exact);
    assert_eq!(all.std_error, 0.0);
    assert_eq!(all.sample_size, x.nrows());
}

/// The sampled silhouette's stated error on the real data: over 40 seeds, the interval
/// `value ± 1.96 SE` (the 95% interval the grid's `silhouette_se` states) holds the exact
/// silhouette about 95% of the time, for both real-data spaces and both k (the figure of
/// docs/metrics.md, "Sampled silhouettes", is this test's output with `--nocapture`).
#[test]
fn sampled_silhouette_is_within_its_stated_error_on_the_real_data() {
    let cases = [
        ("scaled_features", "scaled_features_kmeans_k3"),
        ("scaled_features", "scaled_features_kmeans_k10"),
        ("tree_space", "tree_space_kmeans_k3"),
        ("tree_space", "tree_space_kmeans_k10"),
    ];
    println!(
        "| space | labels | exact | sampled (mean of 40) | mean SE | max abs z | within 1.96 SE |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (sp, lab) in cases {
        let (Some(x), Some(labels)) = (space(sp), labelling(lab)) else {
            return;
        };
        let exact = silhouette(x.view(), &labels).unwrap();
        let (mut inside, mut sum, mut se_sum, mut max_z) = (0usize, 0.0, 0.0, 0.0f64);
        let seeds = 40u64;
        for seed in 0..seeds {
            let s = silhouette_sampled(x.view(), &labels, 1000, 1000 + seed).unwrap();
            let z = (s.value - exact) / s.std_error;
            inside += usize::from(z.abs() <= 1.96);
            max_z = max_z.max(z.abs());
            sum += s.value;
            se_sum += s.std_error;
            assert!(z.abs() < 4.0, "{lab} seed {seed}: z = {z}");
        }
        let coverage = inside as f64 / seeds as f64;
        println!(
            "| {sp} | {lab} | {exact:.4} | {:.4} | {:.4} | {max_z:.2} | {inside}/{seeds} |",
            sum / seeds as f64,
            se_sum / seeds as f64
        );
        // 95% expected; 40 draws: below 85% would be 3 standard deviations short.
        assert!(coverage >= 0.85, "{lab}: coverage {coverage}");
    }
}
