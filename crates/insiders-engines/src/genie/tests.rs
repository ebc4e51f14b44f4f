//! Unit tests of the Genie engine: a hand-checked merge sequence, the Gini bookkeeping
//! against its definition, the spanning tree against Kruskal on all pairs, cuts of one tree.

use super::*;
use insiders_core::{Matrix, Rng};

fn genie(g: f64) -> Genie {
    Genie::new(GenieParams {
        gini_threshold: g,
        ..GenieParams::default()
    })
    .unwrap()
}

fn column(v: &[f64]) -> Matrix {
    Matrix::from_shape_vec((v.len(), 1), v.to_vec()).unwrap()
}

/// A (tight, 4 points), B (loose, 4 points) and an outlier O beyond B, on a line.
fn a_b_outlier() -> Matrix {
    column(&[0.0, 1.0, 2.0, 3.0, 10.0, 12.0, 14.0, 16.0, 30.0])
}

fn labels(p: &Partition) -> Vec<u32> {
    p.labels.iter().map(|l| l.unwrap()).collect()
}

#[test]
fn hand_checked_gini_rule_keeps_the_outlier_with_its_neighbours() {
    // Merges at g = 0.3 (worked by hand): the three A edges (Gini 0, 0.11, 0.22); then the
    // Gini index 15/45 = 0.33 > 0.3 forces the smallest clusters (singletons) to merge: the
    // three B edges (0.33, 0.39, 0.41); at sizes [4, 4, 1] the index is 6/18 = 0.33, so the
    // singleton O must merge, through edge 16-30, before the A-B edge (length 7 < 14).
    let x = a_b_outlier();
    let p = genie(0.3).fit(x.view(), Some(2), 0).unwrap();
    assert_eq!(labels(&p), [0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert_eq!(p.diag.extra["forced_merges"], 4.0);
    let p3 = genie(0.3).fit(x.view(), Some(3), 0).unwrap();
    assert_eq!(labels(&p3), [0, 0, 0, 0, 1, 1, 1, 1, 2]);
    // Threshold 1 is single linkage: the outlier alone.
    let s = genie(1.0).fit(x.view(), Some(2), 0).unwrap();
    assert_eq!(labels(&s), [0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(s.diag.extra["forced_merges"], 0.0);
    // Threshold 0 forces the smallest cluster at every step but the first.
    let z = genie(0.0).fit(x.view(), Some(2), 0).unwrap();
    assert_eq!(z.n_clusters(), 2);
}

fn random_points(n: usize, d: usize, seed: u64) -> Matrix {
    let mut rng = Rng::new(seed);
    Matrix::from_shape_fn((n, d), |(i, _)| (i % 4) as f64 * 3.0 + rng.normal())
}

#[test]
fn incremental_gini_equals_the_definition_at_every_step() {
    let x = random_points(80, 2, 7);
    let data: Vec<f64> = x.iter().copied().collect();
    let edges = mst::prim(&data, 80, 2);
    let mut ginis = Vec::new();
    let mut defined = vec![0.0];
    merge::run(80, &edges, 0.3, 1, |left, forest, step| {
        ginis.push(step.gini_before);
        let roots = forest.roots();
        let mut size = std::collections::BTreeMap::new();
        for r in roots {
            *size.entry(r).or_insert(0usize) += 1;
        }
        assert_eq!(size.len(), left);
        let sizes: Vec<usize> = size.values().copied().collect();
        defined.push(merge::gini_of(&sizes));
    });
    assert_eq!(ginis.len(), 79);
    for (i, (a, b)) in ginis.iter().zip(&defined).enumerate() {
        assert!((a - b).abs() < 1e-12, "step {i}: {a} vs {b}");
    }
    assert!(ginis.iter().any(|g| *g > 0.3), "the rule was exercised");
}

/// Kruskal over all pairs: the total weight of a minimum spanning tree.
fn kruskal_weight(x: &Matrix) -> f64 {
    let n = x.nrows();
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let d: f64 = x
                .row(i)
                .iter()
                .zip(x.row(j).iter())
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            pairs.push((d.sqrt(), i, j));
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut parent: Vec<usize> = (0..n).collect();
    let mut total = 0.0;
    for (w, i, j) in pairs {
        let (a, b) = (find(&mut parent, i), find(&mut parent, j));
        if a != b {
            parent[a] = b;
            total += w;
        }
    }
    total
}

#[test]
fn prim_gives_a_minimum_spanning_tree() {
    for (n, d, seed) in [(2, 1, 1), (50, 3, 2), (300, 2, 3), (9000, 2, 4)] {
        let x = random_points(n, d, seed);
        let data: Vec<f64> = x.iter().copied().collect();
        let edges = mst::prim(&data, n, d);
        assert_eq!(edges.len(), n - 1);
        // Spanning: n - 1 edges without a cycle.
        let mut parent: Vec<usize> = (0..n).collect();
        for e in &edges {
            assert!(e.a < e.b);
            let (a, b) = (find(&mut parent, e.a), find(&mut parent, e.b));
            assert_ne!(a, b, "cycle at {e:?}");
            parent[a] = b;
        }
        assert!(edges.windows(2).all(|w| w[0].weight <= w[1].weight));
        if n <= 300 {
            let ours: f64 = edges.iter().map(|e| e.weight).sum();
            let reference = kruskal_weight(&x);
            assert!(
                (ours - reference).abs() <= 1e-9 * reference,
                "{ours} vs {reference}"
            );
        }
    }
}

#[test]
fn one_tree_serves_every_k_and_equals_fit() {
    let x = random_points(200, 2, 9);
    let e = genie(0.3);
    let ks: Vec<usize> = (1..=22).collect();
    let many = e.fit_many(x.view(), &ks, 1).unwrap();
    for (k, p) in ks.iter().zip(&many) {
        assert_eq!(p.n_clusters(), *k);
        assert_eq!(p, &e.fit(x.view(), Some(*k), 5).unwrap());
    }
    // Nested: every cluster at k + 1 lies inside one cluster at k.
    for w in many.windows(2) {
        let mut map = std::collections::HashMap::new();
        for (fine, coarse) in w[1].labels.iter().zip(&w[0].labels) {
            assert_eq!(*map.entry(fine).or_insert(coarse), coarse);
        }
    }
}

#[test]
fn parallel_tree_is_the_same_for_one_and_two_threads() {
    let x = random_points(10_000, 2, 11);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| genie(0.3).fit(x.view(), Some(4), 0).unwrap())
    };
    assert_eq!(run(1), run(2));
}

#[test]
fn parameters_are_validated() {
    for bad in [
        "gini_threshold=-0.1",
        "gini_threshold=1.5",
        "gini_threshold=nan",
    ] {
        let t = insiders_core::params::parse_pairs(&[bad]).unwrap();
        assert!(
            matches!(build(&t), Err(Error::Param { ref key, .. }) if key == "gini_threshold"),
            "{bad}"
        );
    }
    let t = insiders_core::params::parse_pairs(&["mst_neighbours=0"]).unwrap();
    assert!(matches!(build(&t), Err(Error::Param { ref key, .. }) if key == "mst_neighbours"));
    crate::params::assert_rejects_unknown_choice(build, "mst", &["exact", "approximate"]);
    let unknown = insiders_core::params::parse_pairs(&["bogus=1"]).unwrap();
    assert!(matches!(build(&unknown), Err(Error::Param { .. })));
    assert!(build(&toml::Table::new()).is_ok());
    assert_eq!(GenieParams::default().gini_threshold, 0.3);
}

#[test]
fn approximate_tree_spans_and_equals_the_exact_one_when_the_graph_holds_it() {
    // Well-spread points: the exact tree's edges join near neighbours, so a 16-neighbour
    // graph holds every one of them and the trees are equal.
    for (n, d, seed) in [(2, 1, 1), (50, 3, 2), (600, 2, 3)] {
        let x = random_points(n, d, seed);
        let data: Vec<f64> = x.iter().copied().collect();
        let exact = mst::prim(&data, n, d);
        let approx = approx::knn_mst(&data, n, d, 16);
        assert_eq!(approx.len(), n - 1);
        let total = |e: &[Edge]| e.iter().map(|e| e.weight).sum::<f64>();
        assert!((total(&approx) - total(&exact)).abs() <= 1e-9 * total(&exact).max(1.0));
    }
    // Separated groups with 1 neighbour: the graph is a forest of many pieces, joined by
    // widening; still a spanning tree, never shorter than the exact one.
    let mut v = Vec::new();
    for g in 0..5 {
        for i in 0..40 {
            v.push(g as f64 * 100.0 + (i as f64 * 0.37).sin());
            v.push((i as f64 * 1.3).cos());
        }
    }
    let x = Matrix::from_shape_vec((200, 2), v).unwrap();
    let data: Vec<f64> = x.iter().copied().collect();
    let approx = approx::knn_mst(&data, 200, 2, 1);
    assert_eq!(approx.len(), 199);
    let mut parent: Vec<usize> = (0..200).collect();
    for e in &approx {
        let (a, b) = (find(&mut parent, e.a), find(&mut parent, e.b));
        assert_ne!(a, b);
        parent[a] = b;
    }
    let exact: f64 = mst::prim(&data, 200, 2).iter().map(|e| e.weight).sum();
    let ours: f64 = approx.iter().map(|e| e.weight).sum();
    assert!(ours >= exact - 1e-9, "{ours} < {exact}");
    let p = Genie::new(GenieParams {
        mst: MstKind::Approximate,
        mst_neighbours: 1,
        ..GenieParams::default()
    })
    .unwrap()
    .fit(x.view(), Some(5), 0)
    .unwrap();
    for i in 0..200 {
        assert_eq!(p.labels[i], p.labels[(i / 40) * 40], "point {i}");
    }
}
