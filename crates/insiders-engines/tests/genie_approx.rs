//! The approximate spanning tree of `genie` (`mst = "approximate"`) measured against the
//! exact one on the clustbench data sets of 10,000 and 100,000 points: fit time, total tree
//! length and the agreement (ARI) of the partitions at the true k. `#[ignore]`d (the exact
//! trees of 100,000 points take minutes in the test profile); by hand, in release:
//! `cargo test --release -p insiders-engines --test genie_approx -- --ignored --nocapture`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use insiders_core::Engine;
use insiders_datasets::Data;
use insiders_engines::genie::{Genie, GenieParams, GenieTree, MstKind};
use std::time::Instant;

#[test]
#[ignore = "minutes in the test profile; run in release by hand"]
fn approximate_tree_against_the_exact_one_on_large_batteries() {
    for id in [
        "clustbench/wut/trajectories",
        "clustbench/sipu/birch1",
        "clustbench/sipu/birch2",
        "clustbench/sipu/worms_2",
    ] {
        let Some(d) = insiders_datasets::require(id) else {
            continue;
        };
        let Data::Points(b) = d.load().unwrap() else {
            panic!("{id} holds no points");
        };
        let k = b.clusters(0);
        let x = b.points.view();
        let mut parts = Vec::new();
        let mut lengths = Vec::new();
        for mst in [MstKind::Exact, MstKind::Approximate] {
            let params = GenieParams {
                mst,
                ..GenieParams::default()
            };
            let t = Instant::now();
            let p = Genie::new(params.clone())
                .unwrap()
                .fit(x, Some(k), 0)
                .unwrap();
            let secs = t.elapsed().as_secs_f64();
            let tree = GenieTree::build_with(x, &params).unwrap();
            let length: f64 = tree.edges().iter().map(|e| e.weight).sum();
            let truth = insiders_eval::reference_scores(&b.labels[0], &p.labels).unwrap();
            println!(
                "{id} n={} k={k} {mst:?}: fit {secs:.2} s, tree length {length:.6}, ARI vs truth {:.4}",
                x.nrows(),
                truth.ari
            );
            parts.push(p);
            lengths.push(length);
        }
        let agree = insiders_eval::adjusted_rand_index(&parts[0].labels, &parts[1].labels).unwrap();
        println!(
            "{id}: ARI(approximate, exact) {agree:.4}, length ratio {:.6}",
            lengths[1] / lengths[0]
        );
        assert!(
            lengths[1] >= lengths[0] * (1.0 - 1e-12),
            "{id}: shorter than the MST"
        );
        assert!(lengths[1] <= lengths[0] * 1.01, "{id}: more than 1% longer");
    }
}
