//! Fitting an engine on a sample of the points and assigning every other point: how large
//! shops are clustered (`[model.sample]` of `insiders.toml`, the grid's `[sample]`).
//!
//! Each engine says how a point it did not see joins a cluster ([`rule`]):
//! - k-means (`kmeans`, `smartcore_kmeans`): the nearest centroid of the sample's clusters
//!   ([`Assign::NearestCentroid`]);
//! - `gmm`: the fitted mixture's most probable component (scikit-learn's `predict`,
//!   [`Assign::MixturePredict`]);
//! - every engine without a natural predict (`ward`, `hierarchical`, `genie`, `dbscan`,
//!   `hdbscan`, `optics`, and any engine added later): a vote of the point's nearest sample
//!   points in the space ([`Assign::NeighbourVote`]): the label most of its `vote_k`
//!   nearest sample points carry (noise is a label: a point among noise stays noise), ties
//!   to the label of the nearest of the tied.
//!
//! The sample's points keep the labels of the fit. Everything is a pure function of the
//! input, the sample and the seed: the nearest-neighbour search breaks ties by the smaller
//! index, so the result does not depend on the thread count.

use crate::kdtree::KdTree;
use insiders_core::{Diagnostics, Error, MatrixView, Partition, check_matrix};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// How an engine places a point it was not fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assign {
    /// The nearest centroid (mean of the sample's members) of a cluster.
    NearestCentroid,
    /// The most probable component of the fitted Gaussian mixture.
    MixturePredict,
    /// A majority vote of the nearest sample points.
    NeighbourVote,
}

impl Assign {
    /// The name written in run outputs (`nearest_centroid`, `mixture_predict`,
    /// `neighbour_vote`).
    pub fn name(self) -> &'static str {
        match self {
            Assign::NearestCentroid => "nearest_centroid",
            Assign::MixturePredict => "mixture_predict",
            Assign::NeighbourVote => "neighbour_vote",
        }
    }
}

/// The assignment rule of the registered engine `name` (after aliases).
pub fn rule(name: &str) -> Assign {
    match name {
        "kmeans" | "smartcore_kmeans" | "smartcore-kmeans" => Assign::NearestCentroid,
        "gmm" => Assign::MixturePredict,
        _ => Assign::NeighbourVote,
    }
}

/// A partition of every point from a fit on some of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// Labels of every row of the input (the fit's labels on the sample's rows).
    pub partition: Partition,
    /// The rule used for the other rows.
    pub rule: Assign,
    /// Rows the engine was fitted on.
    pub fit_rows: usize,
}

/// Fits the engine `name` with `params` on the rows `sample` of `x` (ascending, distinct)
/// at `k` with `seed`, and assigns every other row by the engine's [`rule`]; a neighbour
/// vote asks `vote_k` neighbours. With every row in the sample this is the engine's own fit.
///
/// # Errors
/// The engine's errors on the sample; [`Error::Shape`] for a sample index out of range or
/// not ascending; [`Error::Param`] (`vote_k`) for `vote_k = 0`.
pub fn fit_on_sample(
    name: &str,
    params: &toml::Table,
    x: MatrixView<'_>,
    sample: &[usize],
    k: Option<usize>,
    seed: u64,
    vote_k: usize,
) -> Result<Assigned, Error> {
    check_matrix(x)?;
    let n = x.nrows();
    if sample.windows(2).any(|w| w[0] >= w[1]) || sample.last().is_some_and(|&l| l >= n) {
        return Err(Error::Shape(format!(
            "the sample must be ascending rows of 0..{n}"
        )));
    }
    if vote_k == 0 {
        return Err(Error::param("vote_k", "must be at least 1"));
    }
    let engine = crate::build(name, params)?;
    let rule = rule(engine.name());
    let xs = x.select(ndarray::Axis(0), sample);
    let (fit, component_labels): (Partition, Option<(crate::gmm::GmmModel, Vec<u32>)>) =
        if rule == Assign::MixturePredict {
            let gmm = crate::gmm::GaussianMixture::new(crate::params::from_table(params)?)?;
            let kk = insiders_core::engine::check_k("gmm", k, sample.len())?;
            let model = gmm.fit_model(xs.view(), kk, seed)?;
            let p = model.partition();
            let map = component_map(&model.labels, &p.labels, model.k());
            (p, Some((model, map)))
        } else {
            let kk = engine.caps().needs_k.then_some(k).flatten();
            (engine.fit(xs.view(), kk, seed)?, None)
        };
    let mut in_sample = vec![usize::MAX; n];
    for (j, &i) in sample.iter().enumerate() {
        in_sample[i] = j;
    }
    let rest: Vec<usize> = (0..n).filter(|&i| in_sample[i] == usize::MAX).collect();
    let d = x.ncols();
    let row = |i: usize| -> Vec<f64> { x.row(i).iter().copied().collect() };
    let assigned: Vec<Option<u32>> = match (rule, &component_labels) {
        (Assign::MixturePredict, Some((model, map))) => {
            let xr = x.select(ndarray::Axis(0), &rest);
            let proba = model.predict_proba(xr.view())?;
            proba
                .outer_iter()
                .map(|p| {
                    let mut best = 0;
                    for c in 1..p.len() {
                        if p[c] > p[best] {
                            best = c;
                        }
                    }
                    Some(map[best])
                })
                .collect()
        }
        (Assign::NearestCentroid, _) => {
            let k_found = fit.n_clusters();
            let mut centre = vec![0.0; k_found * d];
            let mut count = vec![0usize; k_found];
            for (j, l) in fit.labels.iter().enumerate() {
                if let Some(l) = l {
                    let l = *l as usize;
                    count[l] += 1;
                    for c in 0..d {
                        centre[l * d + c] += xs[[j, c]];
                    }
                }
            }
            for l in 0..k_found {
                for c in 0..d {
                    centre[l * d + c] /= count[l].max(1) as f64;
                }
            }
            rest.par_iter()
                .with_min_len(256)
                .map(|&i| {
                    let q = row(i);
                    let mut best: Option<(f64, u32)> = None;
                    for l in 0..k_found {
                        if count[l] == 0 {
                            continue;
                        }
                        let s = crate::kdtree::sq_dist(&q, &centre[l * d..(l + 1) * d]);
                        if best.is_none_or(|b| s < b.0) {
                            best = Some((s, l as u32));
                        }
                    }
                    best.map(|b| b.1)
                })
                .collect()
        }
        _ => {
            let flat: Vec<f64> = xs.iter().copied().collect();
            let tree = KdTree::new(&flat, d);
            rest.par_iter()
                .with_min_len(256)
                .map(|&i| vote(&tree.nearest(&row(i), vote_k), &fit.labels))
                .collect()
        }
    };
    let mut labels = vec![None; n];
    for (j, &i) in sample.iter().enumerate() {
        labels[i] = fit.labels[j];
    }
    for (&i, l) in rest.iter().zip(assigned) {
        labels[i] = l;
    }
    let mut diag: Diagnostics = fit.diag.clone();
    diag.extra.insert("fit_rows".into(), sample.len() as f64);
    Ok(Assigned {
        partition: Partition { labels, diag },
        rule,
        fit_rows: sample.len(),
    })
}

/// The label most of the `near` sample points (nearest first) carry; ties to the label of
/// the nearest of the tied.
fn vote(near: &[(f64, usize)], labels: &[Option<u32>]) -> Option<u32> {
    let mut counts: BTreeMap<Option<u32>, (usize, usize)> = BTreeMap::new();
    for (rank, &(_, j)) in near.iter().enumerate() {
        let e = counts.entry(labels[j]).or_insert((0, rank));
        e.0 += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| (a.1.0).cmp(&b.1.0).then((b.1.1).cmp(&a.1.1)))
        .and_then(|(l, _)| l)
}

/// Component index -> partition label (the partition numbers components by first
/// appearance); components no sample point chose get the next labels, in index order.
fn component_map(components: &[usize], labels: &[Option<u32>], k: usize) -> Vec<u32> {
    let mut map = vec![u32::MAX; k];
    for (&c, l) in components.iter().zip(labels) {
        if let Some(l) = l {
            map[c] = *l;
        }
    }
    let mut next = map.iter().filter(|&&m| m != u32::MAX).count() as u32;
    for m in &mut map {
        if *m == u32::MAX {
            *m = next;
            next += 1;
        }
    }
    map
}

/// `m` of the rows `0..n`, drawn without replacement by `seed`, ascending (all rows when
/// `m >= n`).
pub fn sample_rows(n: usize, m: usize, seed: u64) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = insiders_core::Rng::new(seed);
    for t in 0..m {
        let j = t + rng.below(n - t);
        idx.swap(t, j);
    }
    idx.truncate(m);
    idx.sort_unstable();
    idx
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::{Matrix, Rng};

    /// Four well separated blobs in 2-D; the blob of every point.
    fn blobs(n: usize, seed: u64) -> (Matrix, Vec<u32>) {
        let mut rng = Rng::new(seed);
        let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0), (10.0, 10.0)];
        let truth: Vec<u32> = (0..n).map(|i| (i % 4) as u32).collect();
        let x = Matrix::from_shape_fn((n, 2), |(i, j)| {
            let c = centres[i % 4];
            (if j == 0 { c.0 } else { c.1 }) + rng.normal()
        });
        (x, truth)
    }

    /// Whether two labellings are the same partition (up to renumbering).
    fn same_partition(a: &[Option<u32>], b: &[u32]) -> f64 {
        let mut map = BTreeMap::new();
        let mut agree = 0;
        for (x, &y) in a.iter().zip(b) {
            if let Some(x) = x {
                let e = *map.entry(*x).or_insert(y);
                agree += usize::from(e == y);
            }
        }
        agree as f64 / b.len() as f64
    }

    #[test]
    fn every_rule_recovers_the_blobs_from_a_tenth_of_the_points() {
        let (x, truth) = blobs(4000, 1);
        let sample = sample_rows(4000, 400, 9);
        for (engine, params, want) in [
            ("kmeans", "", Assign::NearestCentroid),
            ("gmm", "", Assign::MixturePredict),
            ("ward", "", Assign::NeighbourVote),
            ("genie", "", Assign::NeighbourVote),
        ] {
            let p: toml::Table = toml::from_str(params).unwrap();
            let a = fit_on_sample(engine, &p, x.view(), &sample, Some(4), 3, 15).unwrap();
            assert_eq!(a.rule, want);
            assert_eq!(a.fit_rows, 400);
            let share = same_partition(&a.partition.labels, &truth);
            assert!(share > 0.99, "{engine}: {share}");
            // The sample's rows keep the engine's own fit.
            let own = crate::build(engine, &p)
                .unwrap()
                .fit(x.select(ndarray::Axis(0), &sample).view(), Some(4), 3)
                .unwrap();
            let got: Vec<Option<u32>> = sample.iter().map(|&i| a.partition.labels[i]).collect();
            assert_eq!(got, own.labels, "{engine}");
        }
    }

    #[test]
    fn a_vote_keeps_noise_and_breaks_ties_by_the_nearest() {
        let labels = [Some(0), Some(1), None, None, Some(1)];
        assert_eq!(vote(&[(0.0, 2), (1.0, 3), (2.0, 0)], &labels), None);
        // 1 vote each for labels 0 and 1: the nearest (row 1, label 1) wins.
        assert_eq!(vote(&[(0.5, 1), (1.0, 0)], &labels), Some(1));
        assert_eq!(vote(&[(0.5, 0), (1.0, 1), (1.5, 4)], &labels), Some(1));
    }

    #[test]
    fn the_whole_sample_is_the_engines_own_fit_and_bad_samples_are_errors() {
        let (x, _) = blobs(300, 2);
        let all: Vec<usize> = (0..300).collect();
        let t = toml::Table::new();
        let a = fit_on_sample("ward", &t, x.view(), &all, Some(4), 1, 15).unwrap();
        let own = crate::build("ward", &t)
            .unwrap()
            .fit(x.view(), Some(4), 1)
            .unwrap();
        assert_eq!(a.partition.labels, own.labels);
        assert!(fit_on_sample("ward", &t, x.view(), &[3, 2], Some(4), 1, 15).is_err());
        assert!(fit_on_sample("ward", &t, x.view(), &[3, 300], Some(4), 1, 15).is_err());
        assert!(fit_on_sample("ward", &t, x.view(), &[1, 2, 3, 4, 5], Some(2), 1, 0).is_err());
        // Dbscan's noise travels with the vote.
        let d = fit_on_sample(
            "dbscan",
            &t,
            x.view(),
            &sample_rows(300, 150, 4),
            None,
            1,
            5,
        );
        assert!(d.is_ok());
    }

    #[test]
    fn rules_by_name() {
        assert_eq!(rule("kmeans"), Assign::NearestCentroid);
        assert_eq!(rule("smartcore_kmeans"), Assign::NearestCentroid);
        assert_eq!(rule("gmm"), Assign::MixturePredict);
        for n in [
            "ward",
            "hierarchical",
            "genie",
            "dbscan",
            "hdbscan",
            "optics",
        ] {
            assert_eq!(rule(n), Assign::NeighbourVote, "{n}");
        }
        assert_eq!(sample_rows(10, 20, 1), (0..10).collect::<Vec<_>>());
        let s = sample_rows(100, 10, 1);
        assert_eq!(s.len(), 10);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
    }
}
