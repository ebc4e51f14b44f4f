//! The forest space: random-forest leaves embedded by UMAP. Needs UMAP: a UMAP that
//! still answers `Unsupported` makes these tests fail, on purpose.
#![allow(clippy::unwrap_used)] // helpers of tests may unwrap too

use insiders_core::{Error, Matrix, Rng};
use insiders_embed::forest::{
    ForestSpaceFit, ForestSpaceParams, LeafMode, RandomStream, forest_space,
};
use insiders_embed::knn::{Metric, exact};
use insiders_fixtures::{fixture, read_table};
use rayon::prelude::*;

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn bits(m: &Matrix) -> Vec<u64> {
    m.iter().map(|v| v.to_bits()).collect()
}

/// Trustworthiness (Venna & Kaski; scikit-learn's formula) of `coords` against the leaf space
/// with the Hamming distance (`1 - proximity`), `k` neighbours, under two conventions for the
/// many ties of that space (distances are multiples of 1/trees; rows with equal features share
/// every leaf): `(by_index, shared)`. `by_index` breaks ties by the smaller row index, as
/// [`insiders_embed::knn::exact`] does and as scikit-learn's arbitrary argsort order would;
/// `shared` gives tied rows the best rank of their tie (a neighbour at distance 0 is never
/// penalised).
///
/// Computed from an inverted index of the leaves (rows sharing a leaf in a tree), so the n²
/// leaf comparisons are never made.
fn trustworthiness_vs_leaves(leaves: &Matrix, coords: &Matrix, k: usize) -> (f64, f64) {
    let (n, trees) = leaves.dim();
    // For every tree: rows grouped by leaf; group_of[t][i] = (start, end) in members[t].
    let mut members: Vec<Vec<u32>> = Vec::with_capacity(trees);
    let mut group_of: Vec<Vec<(u32, u32)>> = Vec::with_capacity(trees);
    for t in 0..trees {
        let mut rows: Vec<u32> = (0..n as u32).collect();
        rows.sort_by(|&a, &b| {
            leaves[[a as usize, t]]
                .total_cmp(&leaves[[b as usize, t]])
                .then(a.cmp(&b))
        });
        let mut groups = vec![(0u32, 0u32); n];
        let mut s = 0;
        while s < n {
            let leaf = leaves[[rows[s] as usize, t]];
            let mut e = s;
            while e < n && leaves[[rows[e] as usize, t]] == leaf {
                e += 1;
            }
            for &r in &rows[s..e] {
                groups[r as usize] = (s as u32, e as u32);
            }
            s = e;
        }
        members.push(rows);
        group_of.push(groups);
    }
    let emb = exact(coords.view(), k, Metric::Euclidean).unwrap();
    let penalties: Vec<(u64, u64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut shared = vec![0u16; n];
            for t in 0..trees {
                let (s, e) = group_of[t][i];
                for &j in &members[t][s as usize..e as usize] {
                    shared[j as usize] += 1;
                }
            }
            // Rank of j among l != i: more shared leaves first, then smaller index.
            let mut hist = vec![0u64; trees + 1];
            for (l, &c) in shared.iter().enumerate() {
                if l != i {
                    hist[c as usize] += 1;
                }
            }
            let mut more = vec![0u64; trees + 2];
            for c in (0..=trees).rev() {
                more[c] = more[c + 1] + hist[c];
            }
            let mut nb: Vec<usize> = emb.row_indices(i).to_vec();
            nb.sort_unstable();
            let mut seen = vec![0u64; trees + 1];
            let mut next = 0;
            let (mut by_index, mut tied) = (0u64, 0u64);
            for (l, &c) in shared.iter().enumerate() {
                if next < nb.len() && nb[next] == l {
                    let rank = more[c as usize + 1] + seen[c as usize] + 1;
                    by_index += rank.saturating_sub(k as u64);
                    tied += (more[c as usize + 1] + 1).saturating_sub(k as u64);
                    next += 1;
                }
                if l != i {
                    seen[c as usize] += 1;
                }
            }
            (by_index, tied)
        })
        .collect();
    let (n, k) = (n as f64, k as f64);
    let score = |total: u64| 1.0 - 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)) * total as f64;
    let by_index: u64 = penalties.iter().map(|p| p.0).sum();
    let tied: u64 = penalties.iter().map(|p| p.1).sum();
    (score(by_index), score(tied))
}

#[test]
fn study_forest_space_is_thread_count_independent_and_reported() {
    let Some(path) = fixture("scaled_features.csv.gz") else {
        return;
    };
    let t = read_table(&path);
    let (n, d, v) = t.matrix(&["x1", "x2", "x3", "x4"]);
    let x = Matrix::from_shape_vec((n, d), v).unwrap();
    let y = t.column("x0");
    let params = ForestSpaceParams::default();
    let run = |threads| {
        in_pool(threads, || {
            let t0 = std::time::Instant::now();
            let s = forest_space(x.view(), &y, &params, 42)
                .unwrap_or_else(|e| panic!("forest space failed (is UMAP implemented?): {e}"));
            (s, t0.elapsed())
        })
    };
    let (s1, t1) = run(1);
    let (s2, t2) = run(2);
    assert_eq!(s1.forest, s2.forest);
    assert_eq!(bits(&s1.leaves), bits(&s2.leaves));
    assert_eq!(
        bits(&s1.embedding.coords),
        bits(&s2.embedding.coords),
        "forest space differs between 1 and 2 threads"
    );
    assert_eq!(s1.embedding.info, s2.embedding.info);
    assert_eq!(s1.embedding.coords.dim(), (n, 2));
    assert!(s1.embedding.coords.iter().all(|v| v.is_finite()));
    let info = &s1.embedding.info;
    for key in ["oob_r2", "train_r2", "mean_depth", "mean_leaves"] {
        assert!(info.contains_key(key), "info lacks {key}: {info:?}");
    }
    let (tw_index, tw) = trustworthiness_vs_leaves(&s1.leaves, &s1.embedding.coords, 15);
    println!(
        "forest space (proximity, seed 42): trustworthiness vs the leaf space (Hamming, k = 15) \
         {tw:.4} (ties share their best rank), {tw_index:.4} (ties by row index); \
         oob_r2 {:.4}, train_r2 {:.4}, mean_depth {:.2}, mean_leaves {:.2}; \
         {t1:?} on 1 thread, {t2:?} on 2 (test profile)",
        info["oob_r2"], info["train_r2"], info["mean_depth"], info["mean_leaves"]
    );
    // A 2-D map of a 100-tree proximity cannot keep every neighbourhood, but most.
    assert!(tw > 0.9, "trustworthiness {tw}");
    assert!(
        tw_index > 0.7 && tw_index <= tw,
        "trustworthiness (ties by index) {tw_index}"
    );
}

/// Two clusters of customers with different targets: in both modes the forest space is finite,
/// has the asked dimension, and keeps the two groups apart.
#[test]
fn small_forest_space_in_both_modes() {
    let mut rng = Rng::new(11);
    let n = 240;
    let x = Matrix::from_shape_fn((n, 3), |(i, j)| {
        let centre = if i < n / 2 { 0.2 } else { 0.8 };
        centre + 0.05 * rng.normal() + 0.01 * j as f64
    });
    let y: Vec<f64> = (0..n)
        .map(|i| if i < n / 2 { 1.0 } else { 5.0 } + 0.1 * rng.normal())
        .collect();
    for mode in [LeafMode::Proximity, LeafMode::Compat] {
        let params = ForestSpaceParams {
            n_estimators: 20,
            mode,
            n_epochs: Some(100),
            ..ForestSpaceParams::default()
        };
        let ForestSpaceFit {
            forest,
            leaves,
            embedding,
        } = forest_space(x.view(), &y, &params, 5).unwrap();
        assert_eq!(leaves.dim(), (n, 20));
        assert_eq!(embedding.coords.dim(), (n, 2));
        assert!(embedding.coords.iter().all(|v| v.is_finite()));
        assert!(embedding.info["train_r2"] > 0.9);
        // Leaf numbers (proximity) or node ids of leaves (compat).
        for (t, tree) in forest.trees().iter().enumerate() {
            for i in 0..n {
                let id = leaves[[i, t]] as usize;
                match mode {
                    LeafMode::Proximity => assert!(id < tree.n_leaves()),
                    LeafMode::Compat => assert!(tree.nodes()[id].is_leaf()),
                }
            }
        }
        // The compat default is scikit-learn's stream (f32 inputs): same forest as asking for it.
        if mode == LeafMode::Compat {
            let explicit = ForestSpaceParams {
                rng: Some(RandomStream::Sklearn),
                ..params.clone()
            };
            let again = forest_space(x.view(), &y, &explicit, 5).unwrap();
            assert_eq!(again.forest, forest);
        }
        // The two groups stay apart: each point's 10 nearest embedded neighbours are mostly
        // from its own group.
        let knn = exact(embedding.coords.view(), 10, Metric::Euclidean).unwrap();
        let same: usize = (0..n)
            .map(|i| {
                knn.row_indices(i)
                    .iter()
                    .filter(|&&j| (j < n / 2) == (i < n / 2))
                    .count()
            })
            .sum();
        let share = same as f64 / (10 * n) as f64;
        assert!(
            share > 0.9,
            "{mode:?}: share of same-group neighbours {share}"
        );
    }
}

#[test]
fn the_registered_embedder_needs_a_target() {
    let e = insiders_embed::build("forest", &toml::Table::new()).unwrap();
    let x = Matrix::from_shape_fn((30, 2), |(i, j)| (i * 2 + j) as f64);
    match e.fit_transform(x.view(), None, 1) {
        Err(Error::Param { key, .. }) => assert_eq!(key, "target"),
        other => panic!("expected a target error, got {other:?}"),
    }
    let y: Vec<f64> = (0..30).map(f64::from).collect();
    assert!(matches!(
        e.fit_transform(x.view(), Some(&y[..29]), 1),
        Err(Error::Shape(_))
    ));
    let params = insiders_core::params::parse_pairs(&["n_estimators=10", "n_epochs=50"]).unwrap();
    let e = insiders_embed::build("forest", &params).unwrap();
    let out = e.fit_transform(x.view(), Some(&y), 1).unwrap();
    assert_eq!(out.coords.dim(), (30, 2));
}
