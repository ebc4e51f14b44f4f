//! Parity with the published results of the clustering benchmark suite on the three
//! batteries (fcps, sipu, wut; data sets of at most 10,000 points), through the grid over
//! data sets end to end: our engines at the true k against the labels scikit-learn,
//! fastcluster and genieclust published, scored the same way (ARI, the reference's noise
//! left out, best over the references at their own k).
//!
//! The batteries are read from the shared folder (`INSIDERS_SHARED`); locally a missing
//! folder skips, under `CI=true` it fails. The seeded engines' test is `#[ignore]`d (about
//! 20 s in release, minutes in the test profile): `.ci/run` runs it with `--release`.

#![allow(clippy::unwrap_used)]

use insiders_grid::{Cell, GridArgs, GridConfig};
use std::collections::BTreeMap;

fn run(engines: &str) -> Option<Vec<Cell>> {
    let reg = insiders_datasets::Registry::new();
    insiders_datasets::shared::require(reg.clustbench_root().join("data"))?;
    let cfg = GridConfig::parse(
        &format!(
            "seed = 42\nk_min = 2\nk_max = 22\n\
             datasets = [\"clustbench/fcps\", \"clustbench/sipu\", \"clustbench/wut\"]\n\
             max_points = 10000\n{engines}"
        ),
        "test grid",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = GridArgs {
        out: Some(dir.path().join("run")),
        true_k_only: true,
        ..GridArgs::default()
    };
    let out = insiders_grid::datasets::run(&args, &cfg).unwrap();
    Some(insiders_grid::results::read_csv(&out.join("results.csv")).unwrap())
}

/// Per case (data set, k): ARI of `ours` and of `published`.
fn cases(cells: &[Cell], ours: &str, published: &str) -> BTreeMap<(String, usize), (f64, f64)> {
    let get = |e: &str| -> BTreeMap<(String, usize), f64> {
        cells
            .iter()
            .filter(|c| c.engine == e && c.true_k == Some(true))
            .filter_map(|c| Some(((c.dataset.clone(), c.k?), c.ari?)))
            .collect()
    };
    let (a, b) = (get(ours), get(published));
    a.iter()
        .filter_map(|(key, x)| b.get(key).map(|y| (key.clone(), (*x, *y))))
        .collect()
}

/// Per battery and pooled: mean over data sets of the best ARI over the data set's true ks
/// (the suite's score), ours and published.
fn means(cases: &BTreeMap<(String, usize), (f64, f64)>) -> BTreeMap<String, (f64, f64, usize)> {
    let mut best: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((d, _), (x, y)) in cases {
        let e = best
            .entry(d.as_str())
            .or_insert((f64::NEG_INFINITY, f64::NEG_INFINITY));
        e.0 = e.0.max(*x);
        e.1 = e.1.max(*y);
    }
    let mut out: BTreeMap<String, (f64, f64, usize)> = BTreeMap::new();
    for (d, (x, y)) in best {
        let battery = d.split('/').nth(1).unwrap_or_default().to_string();
        for key in [battery, "all".to_string()] {
            let e = out.entry(key).or_insert((0.0, 0.0, 0));
            e.0 += x;
            e.1 += y;
            e.2 += 1;
        }
    }
    for v in out.values_mut() {
        v.0 /= v.2 as f64;
        v.1 /= v.2 as f64;
    }
    out
}

#[test]
fn genie_reproduces_the_published_genie_labels() {
    let Some(cells) = run("[[engine]]\nname = \"genie\"\n") else {
        return;
    };
    let c = cases(&cells, "genie", "Genie_G0.3");
    // 9 + 21 + 25 cases (data set, true k) of at most 10,000 points.
    assert_eq!(c.len(), 56, "{:?}", c.keys().collect::<Vec<_>>());
    // Identical partitions (equal ARI) everywhere but wut/z1, whose points lie on a lattice:
    // 2,114 distinct distances among 18,336 pairs, so the spanning tree has tied edges that
    // the published run's 1e-6 jitter ordered at random and we order by index.
    let differ: Vec<_> = c.iter().filter(|(_, (x, y))| x != y).collect();
    for ((d, k), (x, y)) in &differ {
        assert_eq!((d.as_str(), *k), ("clustbench/wut/z1", 3), "{x} vs {y}");
        assert!((x - y).abs() < 0.01, "{x} vs {y}");
    }
    for (b, (ours, published, n)) in means(&c) {
        assert!(
            (ours - published).abs() < 0.001,
            "{b}: mean ARI {ours} vs {published} over {n} data sets"
        );
    }
}

#[test]
#[ignore = "about 20 s in release (gmm with 100 restarts): .ci/run runs it with --release"]
fn kmeans_gmm_and_ward_are_within_a_hundredth_of_the_published_mean_ari() {
    let Some(cells) = run("[[engine]]\nname = \"kmeans\"\nparams = { n_init = 10 }\n\
         [[engine]]\nname = \"gmm\"\nparams = { n_init = 100, refine = \"none\" }\n\
         [[engine]]\nname = \"ward\"\n")
    else {
        return;
    };
    // The cases that differ by more than 0.05 (docs/benchmarks.md explains each): ward on
    // data with tied distances (the published jitter breaks the ties at random), gmm where
    // 100 restarts of EM end in other local optima than scikit-learn's 100.
    let known = [
        ("ward", "clustbench/fcps/wingnut", 2),
        ("ward", "clustbench/wut/z1", 3),
        ("gmm", "clustbench/fcps/target", 2),
        ("gmm", "clustbench/sipu/compound", 5),
        ("gmm", "clustbench/wut/labirynth", 6),
        ("gmm", "clustbench/wut/x2", 4),
    ];
    for (ours, published) in [
        ("kmeans", "sklearn_kmeans"),
        ("gmm", "sklearn_gm"),
        ("ward", "fastcluster_ward"),
    ] {
        let c = cases(&cells, ours, published);
        assert_eq!(c.len(), 56, "{ours}");
        for ((d, k), (x, y)) in &c {
            assert!(
                (x - y).abs() <= 0.05 || known.contains(&(ours, d.as_str(), *k)),
                "{ours} on {d} at k = {k}: ARI {x} vs published {y}"
            );
        }
        let m = means(&c);
        let (o, p, _) = m["all"];
        assert!((o - p).abs() < 0.01, "{ours}: pooled mean ARI {o} vs {p}");
        for b in ["sipu", "wut"] {
            let (o, p, _) = m[b];
            assert!((o - p).abs() < 0.012, "{ours} on {b}: mean ARI {o} vs {p}");
        }
    }
}
