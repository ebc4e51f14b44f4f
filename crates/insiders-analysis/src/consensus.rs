//! The default way to find the Insiders: a consensus over resampled clusterings of the
//! eligible customers, each read with a value-aware rule.
//!
//! 1. For every k in `k_min..=k_max` and each of `resamples` subsamples (a `fraction` of the
//!    eligible customers, drawn without replacement), the engine clusters the subsample;
//!    every eligible customer is then assigned to the nearest centre of that fit.
//! 2. Each fit's clusters are ranked by the mean of ln(1 + gross revenue) of their
//!    customers; the Insiders of the fit are the clusters above the largest gap between two
//!    consecutive ranked means (the value break between the top group and the rest: the
//!    number of top clusters is not fixed).
//! 3. A customer's **Insider probability** is the share of the fits that made it an
//!    Insider; the Insiders are the customers whose probability is at least `threshold`.
//!
//! Averaging over k and over subsamples removes the two choices that made the study's
//! Insiders move with the shop (a fixed k) and with the seed (one fit). The final partition
//! that profiles the segments is the full-data fit at the k with the highest
//! Calinski-Harabasz index, with the Insiders taken out as a segment of their own.
//!
//! Everything is a pure function of the inputs and the seed: the fits run in parallel and
//! are combined in a fixed order, so the result does not depend on the thread count.

use crate::error::AnalysisError;
use insiders_core::{Matrix, Rng, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// `[model.consensus]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusOptions {
    /// Off: one fit at `model.k`, the Insiders by `insiders.cluster` (the study's way).
    pub enabled: bool,
    /// The smallest k of the fits.
    pub k_min: usize,
    /// The largest k.
    pub k_max: usize,
    /// Subsample fits per k.
    pub resamples: u32,
    /// Share of the eligible customers in each subsample.
    pub fraction: f64,
    /// The Insider probability from which a customer is in the consensus' top group.
    pub threshold: f64,
    /// The largest share of the eligible customers a fit's top group may hold: a value break
    /// that would put more of them above it is not a break between the few best customers
    /// and the rest (a loyalty programme is for the few), and a fit without a break under
    /// this share names nobody.
    pub max_share: f64,
    /// How the consensus becomes membership: `value_break` (the customers at or above the
    /// revenue that best separates the top group from the rest) or `probability` (the top
    /// group itself).
    pub membership: Membership,
    /// Engine parameters of the subsample fits and of the final partition's fits, laid over
    /// `model.engine_params` (the consensus averages many fits, so each can be cheaper than
    /// a single fit; the final partition only draws the segments beside the Insiders).
    pub fit_params: toml::Table,
    /// The most customers a fit sees: a subsample is `fraction` of the eligible customers
    /// but at most this many, and the final partition is fitted on a seeded sample of this
    /// many when there are more; every customer is then assigned to the nearest centre. The
    /// cost of a run then grows linearly with the customers (`answers.json` says when a
    /// sample was used: `run.space_info.final_fit_rows`).
    pub max_fit_rows: usize,
}

impl Default for ConsensusOptions {
    fn default() -> Self {
        let mut fit_params = toml::Table::new();
        fit_params.insert("n_init".into(), toml::Value::Integer(2));
        fit_params.insert("swaps".into(), toml::Value::Integer(0));
        ConsensusOptions {
            enabled: false,
            k_min: 2,
            k_max: 10,
            resamples: 5,
            fraction: 0.8,
            threshold: 0.5,
            max_share: 0.5,
            membership: Membership::ValueBreak,
            fit_params,
            max_fit_rows: 20_000,
        }
    }
}

impl ConsensusOptions {
    /// Rows of each subsample fit among `n` eligible customers.
    pub fn subsample_rows(&self, n: usize) -> usize {
        (((n as f64) * self.fraction).round() as usize)
            .min(self.max_fit_rows)
            .clamp(1, n.max(1))
    }

    pub(crate) fn check(&self) -> Result<(), AnalysisError> {
        let bad =
            |key: &str, m: &str| Err(AnalysisError::option(&format!("model.consensus.{key}"), m));
        if self.k_min < 2 || self.k_min > self.k_max {
            return bad("k_min", "k_min..=k_max must be a range of ks from 2");
        }
        if self.resamples == 0 {
            return bad("resamples", "must be at least 1");
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return bad("fraction", "must be in (0, 1]");
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return bad("threshold", "must be in (0, 1]");
        }
        if !(self.max_share > 0.0 && self.max_share <= 1.0) {
            return bad("max_share", "must be in (0, 1]");
        }
        if self.max_fit_rows <= self.k_max {
            return bad("max_fit_rows", "must be more than k_max");
        }
        Ok(())
    }
}

/// How the consensus probability becomes membership (`[model.consensus] membership`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// The customers whose value is at least the break of [`value_break`]: a value tier,
    /// ordered like the value itself.
    ValueBreak,
    /// The customers whose probability is at least the threshold.
    Probability,
}

/// The clusters of `labels` above the largest gap in mean `value` (clusters ranked by it,
/// ties by label) among the cuts whose top group holds at most `max_share` of the labelled
/// rows; `k` bounds the labels. Returns which labels are the top group (none when even the
/// top cluster alone holds more).
pub fn top_group(labels: &[Option<u32>], value: &[f64], k: usize, max_share: f64) -> Vec<bool> {
    let mut sums = vec![(0.0, 0usize); k];
    for (l, v) in labels.iter().zip(value) {
        if let Some(l) = l {
            let s = &mut sums[*l as usize];
            s.0 += v;
            s.1 += 1;
        }
    }
    let total: usize = sums.iter().map(|s| s.1).sum();
    let mut means: Vec<(usize, f64, usize)> = sums
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1 > 0)
        .map(|(c, s)| (c, s.0 / s.1 as f64, s.1))
        .collect();
    means.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut top = vec![false; k];
    if means.len() < 2 {
        return top;
    }
    let cap = max_share * total as f64;
    let (mut cut, mut best) = (0, f64::NEG_INFINITY);
    let mut above = 0usize;
    for j in 1..means.len() {
        above += means[j - 1].2;
        if above as f64 > cap {
            break;
        }
        let gap = means[j - 1].1 - means[j].1;
        if gap > best {
            best = gap;
            cut = j;
        }
    }
    for m in &means[..cut] {
        top[m.0] = true;
    }
    top
}

/// Labels of every row of `x` by its nearest centre (ties: the smaller label).
pub fn assign(x: &Matrix, centres: &Matrix) -> Vec<Option<u32>> {
    (0..x.nrows())
        .map(|i| {
            let row = x.row(i);
            let mut best = (0u32, f64::INFINITY);
            for (c, centre) in centres.rows().into_iter().enumerate() {
                let d: f64 = row
                    .iter()
                    .zip(centre.iter())
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                if d < best.1 {
                    best = (c as u32, d);
                }
            }
            Some(best.0)
        })
        .collect()
}

/// The centroid of every label `0..k` of `x` (a label without points keeps a centre of
/// infinities, so that nothing is assigned to it).
pub fn centroids(x: &Matrix, labels: &[Option<u32>], k: usize) -> Matrix {
    let mut c = Matrix::zeros((k, x.ncols()));
    let mut n = vec![0usize; k];
    for (i, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            let l = *l as usize;
            n[l] += 1;
            for j in 0..x.ncols() {
                c[[l, j]] += x[[i, j]];
            }
        }
    }
    for l in 0..k {
        for j in 0..x.ncols() {
            c[[l, j]] = if n[l] > 0 {
                c[[l, j]] / n[l] as f64
            } else {
                f64::INFINITY
            };
        }
    }
    c
}

/// `m` of the rows `0..n`, drawn without replacement by `seed`, ascending.
pub fn sample_rows(n: usize, m: usize, seed: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut idx);
    idx.truncate(m);
    idx.sort_unstable();
    idx
}

/// The value break of a consensus: the value `v` such that the rows with `value >= v` agree
/// best with the rows whose `probability` is at least `threshold` (fewest rows on the wrong
/// side; between equally good breaks, the higher one). Rows of equal value are never split.
/// Returns the break and the number of disagreeing rows, or `None` when no row reaches the
/// threshold.
pub fn value_break(value: &[f64], probability: &[f64], threshold: f64) -> Option<(f64, usize)> {
    let mut order: Vec<usize> = (0..value.len()).collect();
    order.sort_by(|&a, &b| value[b].total_cmp(&value[a]).then(a.cmp(&b)));
    let inside = |i: usize| probability[i] >= threshold;
    let members = order.iter().filter(|&&i| inside(i)).count();
    if members == 0 {
        return None;
    }
    // Above a cut after position m: (non-members among the first m) + (members after them).
    let mut best: Option<(f64, usize)> = None;
    let mut wrong_above = 0usize;
    let mut members_above = 0usize;
    for (m, &i) in order.iter().enumerate() {
        if inside(i) {
            members_above += 1;
        } else {
            wrong_above += 1;
        }
        let last_of_value = order.get(m + 1).is_none_or(|&next| value[next] != value[i]);
        if !last_of_value {
            continue;
        }
        let wrong = wrong_above + (members - members_above);
        if best.is_none_or(|b| wrong < b.1) {
            best = Some((value[i], wrong));
        }
    }
    best
}

/// The consensus of one selection: each row's Insider probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Consensus {
    /// Share of the fits that made each row an Insider.
    pub probability: Vec<f64>,
    /// Fits combined.
    pub fits: usize,
}

/// Insider probabilities of the rows of `x` (the eligible customers in the model space),
/// whose `value` (ln(1 + gross revenue)) ranks the clusters.
pub fn consensus(
    x: &Matrix,
    value: &[f64],
    engine: &str,
    params: &toml::Table,
    opts: &ConsensusOptions,
    seed: u64,
) -> Result<Consensus, AnalysisError> {
    opts.check()?;
    let mut p = params.clone();
    for (k, v) in &opts.fit_params {
        p.insert(k.clone(), v.clone());
    }
    let model = |source| AnalysisError::Model {
        stage: "consensus",
        source,
    };
    let e = insiders_engines::build(engine, &p).map_err(model)?;
    if !e.caps().needs_k {
        return Err(AnalysisError::option(
            "model.engine",
            format!("the consensus needs an engine that takes k; `{engine}` finds k itself"),
        ));
    }
    let n = x.nrows();
    let m = opts.subsample_rows(n);
    let jobs: Vec<(usize, u32)> = (opts.k_min..=opts.k_max)
        .flat_map(|k| (0..opts.resamples).map(move |r| (k, r)))
        .collect();
    let masks: Vec<Result<Vec<bool>, AnalysisError>> = jobs
        .par_iter()
        .map(|&(k, r)| {
            let s = derive_seed(seed, ((k as u64) << 32) | u64::from(r));
            let idx = sample_rows(n, m, s);
            if idx.len() <= k {
                return Ok(vec![false; n]);
            }
            let xs = x.select(ndarray::Axis(0), &idx);
            let fit = e
                .fit(xs.view(), Some(k), derive_seed(s, 1))
                .map_err(model)?;
            let labels = assign(x, &centroids(&xs, &fit.labels, k));
            let top = top_group(&labels, value, k, opts.max_share);
            Ok(labels
                .iter()
                .map(|l| l.is_some_and(|l| top[l as usize]))
                .collect())
        })
        .collect();
    let mut count = vec![0u32; n];
    for mask in masks {
        for (c, b) in count.iter_mut().zip(mask?) {
            *c += u32::from(b);
        }
    }
    let fits = jobs.len();
    Ok(Consensus {
        probability: count.iter().map(|&c| f64::from(c) / fits as f64).collect(),
        fits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_group_ends_at_the_largest_gap() {
        // Means: label 0 -> 10, 1 -> 9.5, 2 -> 5, 3 -> 4.
        let labels = [Some(0), Some(1), Some(2), Some(3), Some(2)];
        let value = [10.0, 9.5, 5.0, 4.0, 5.0];
        assert_eq!(
            top_group(&labels, &value, 4, 1.0),
            vec![true, true, false, false]
        );
        // At most a quarter of the 5 rows above the cut: only the top cluster may be.
        assert_eq!(
            top_group(&labels, &value, 4, 0.25),
            vec![true, false, false, false]
        );
        // Not even the top cluster fits under a tenth: the fit names nobody.
        assert_eq!(top_group(&labels, &value, 4, 0.1), vec![false; 4]);
        // One cluster: no top group.
        assert_eq!(top_group(&[Some(0)], &[1.0], 1, 1.0), vec![false]);
    }

    #[test]
    fn the_value_break_agrees_best_with_the_consensus() {
        // Values 9, 8, 7, 7, 5, 3; members: 9, 7 (the second 7 is not), 5.
        let value = [9.0, 8.0, 7.0, 7.0, 5.0, 3.0];
        let p = [0.9, 0.4, 0.8, 0.3, 0.6, 0.1];
        // Breaks: >= 9 -> 2 wrong, >= 8 -> 3, >= 7 (both 7s) -> 3, >= 5 -> 2, >= 3 -> 3.
        // 9 and 5 tie at 2 wrong: the higher break wins.
        assert_eq!(value_break(&value, &p, 0.5), Some((9.0, 2)));
        let p = [0.9, 0.8, 0.8, 0.7, 0.2, 0.1];
        assert_eq!(value_break(&value, &p, 0.5), Some((7.0, 0)));
        assert_eq!(value_break(&value, &[0.0; 6], 0.5), None);
    }

    #[test]
    fn assignment_to_the_nearest_centroid() {
        let x = ndarray::array![[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0]];
        let c = centroids(&x, &[Some(1), Some(1), Some(0), Some(0)], 3);
        assert_eq!(c[[0, 0]], 5.1);
        assert!(c[[2, 0]].is_infinite());
        assert_eq!(assign(&x, &c), vec![Some(1), Some(1), Some(0), Some(0)]);
    }

    #[test]
    fn consensus_finds_a_planted_top_group_whatever_the_threads() {
        // 300 low, 200 middle, 30 high customers on two value axes.
        let mut rng = Rng::new(3);
        let mut rows = Vec::new();
        let mut value = Vec::new();
        for (n, centre) in [(300, 0.0), (200, 3.0), (30, 8.0)] {
            for _ in 0..n {
                let a = centre + rng.uniform() - 0.5;
                let b = centre + rng.uniform() - 0.5;
                rows.push([a, b]);
                value.push(a);
            }
        }
        let x = Matrix::from_shape_fn((rows.len(), 2), |(i, j)| rows[i][j]);
        let opts = ConsensusOptions {
            enabled: true,
            k_max: 6,
            ..ConsensusOptions::default()
        };
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    consensus(&x, &value, "kmeans", &toml::Table::new(), &opts, 11).unwrap()
                })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one.fits, 5 * 5);
        let ins: Vec<usize> = (0..x.nrows())
            .filter(|&i| one.probability[i] >= 0.5)
            .collect();
        assert_eq!(ins, (500..530).collect::<Vec<_>>());
        // Fits on samples of 120 rows: every row is still assigned, and the top group found.
        let sampled = ConsensusOptions {
            max_fit_rows: 120,
            ..opts.clone()
        };
        assert_eq!(sampled.subsample_rows(x.nrows()), 120);
        let c = consensus(&x, &value, "kmeans", &toml::Table::new(), &sampled, 11).unwrap();
        let ins: Vec<usize> = (0..x.nrows())
            .filter(|&i| c.probability[i] >= 0.5)
            .collect();
        assert_eq!(ins, (500..530).collect::<Vec<_>>());
        let e = consensus(
            &x,
            &value,
            "kmeans",
            &toml::Table::new(),
            &ConsensusOptions {
                fraction: 0.0,
                ..opts.clone()
            },
            1,
        )
        .unwrap_err();
        assert!(e.to_string().contains("model.consensus.fraction"), "{e}");
    }
}
