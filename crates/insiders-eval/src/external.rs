//! External scores against reference partitions, as Gagolewski's *Benchmark Suite for
//! Clustering Algorithms* defines them: the normalised clustering accuracy (NCA), and the
//! suite's rule for data sets with noise points and several reference labellings.
//!
//! - [`normalized_clustering_accuracy`]: `NCA = (max_σ (1/k) Σ_i c_{i,σ(i)} / n_i − 1/k) /
//!   (1 − 1/k)` over one-to-one matchings σ of the k reference clusters to predicted clusters
//!   (M. Gagolewski, "Normalised clustering accuracy: an asymmetric external cluster validity
//!   measure", Journal of Classification, 2024): the mean recall of the reference clusters
//!   under the best matching, 0 for a labelling no better than a constant one, 1 for a
//!   perfect one. With fewer predicted clusters than k the missing ones are empty. The best
//!   matching is an assignment problem, solved exactly by the Hungarian method (O(k²·k')).
//! - [`reference_scores`]: ARI, NMI and NCA of a predicted labelling against one reference,
//!   the reference's noise points (`None`, label 0 in the suite's files) left out.
//! - [`best_reference_scores`]: the suite's rule for several valid truths: each reference
//!   labelling with k clusters is compared with the prediction made at that k, and each score
//!   is the best over the references.
//!
//! Predicted noise (`None`) is one more cluster, as in [`crate::adjusted_rand_index`].

use crate::EvalError;
use crate::agreement::{adjusted_rand_index, normalized_mutual_info};
use crate::labels::Compact;
use serde::{Deserialize, Serialize};

/// ARI, NMI and NCA of one predicted labelling against one reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExternalScores {
    /// Adjusted Rand index.
    pub ari: f64,
    /// Normalised mutual information (arithmetic mean normalisation).
    pub nmi: f64,
    /// Normalised clustering accuracy.
    pub nca: f64,
}

/// The best scores over a data set's reference labellings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestScores {
    /// The best of each score (each maximised on its own, as the suite does).
    pub best: ExternalScores,
    /// The reference labelling that gave the best ARI (its position).
    pub ari_reference: usize,
    /// The number of references compared (those whose k had a prediction).
    pub compared: usize,
}

/// Minimum-cost assignment of every row of `cost` (`rows x cols`, `rows <= cols`, row-major)
/// to a distinct column: the Hungarian method with potentials (shortest augmenting paths).
/// Returns the column of each row.
fn assign_min(cost: &[f64], rows: usize, cols: usize) -> Vec<usize> {
    // 1-based internals; column 0 is the virtual start.
    let inf = f64::INFINITY;
    let mut u = vec![0.0; rows + 1];
    let mut v = vec![0.0; cols + 1];
    let mut p = vec![0usize; cols + 1]; // row matched to each column
    let mut way = vec![0usize; cols + 1];
    for i in 1..=rows {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; cols + 1];
        let mut used = vec![false; cols + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=cols {
                if used[j] {
                    continue;
                }
                let cur = cost[(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
                if cur < minv[j] {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if minv[j] < delta {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for j in 0..=cols {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; rows];
    for j in 1..=cols {
        if p[j] != 0 {
            out[p[j] - 1] = j - 1;
        }
    }
    out
}

/// The normalised clustering accuracy of `predicted` against `reference` (same points; the
/// reference must have no noise: use [`reference_scores`] to leave noise points out).
/// Asymmetric: the reference's clusters are the ones whose recall is averaged.
///
/// # Errors
/// Empty or unequal lengths; [`EvalError::TooFewClusters`] when the reference has noise or
/// fewer than 2 clusters (NCA is undefined for k = 1).
pub fn normalized_clustering_accuracy(
    reference: &[Option<u32>],
    predicted: &[Option<u32>],
) -> Result<f64, EvalError> {
    check_lengths(reference, predicted)?;
    let r = Compact::new(reference);
    if r.scored != reference.len() || r.k < 2 {
        return Err(EvalError::TooFewClusters {
            found: r.k,
            points: r.scored,
        });
    }
    let p = Compact::with_noise_as_label(predicted);
    let k = r.k;
    let cols = p.k.max(k);
    let mut counts = vec![0u64; k * cols];
    for (&a, &b) in r.ids.iter().zip(&p.ids) {
        counts[a as usize * cols + b as usize] += 1;
    }
    // Maximise the summed recalls = minimise their negatives.
    let cost: Vec<f64> = counts
        .iter()
        .enumerate()
        .map(|(c, &m)| -(m as f64) / r.sizes[c / cols] as f64)
        .collect();
    let matching = assign_min(&cost, k, cols);
    let mut recall = 0.0;
    for (i, &j) in matching.iter().enumerate() {
        recall += counts[i * cols + j] as f64 / r.sizes[i] as f64;
    }
    let kf = k as f64;
    Ok((recall / kf - 1.0 / kf) / (1.0 - 1.0 / kf))
}

fn check_lengths(a: &[Option<u32>], b: &[Option<u32>]) -> Result<(), EvalError> {
    if a.is_empty() {
        return Err(EvalError::EmptyInput {
            what: "reference labels",
            rows: 0,
            cols: 1,
        });
    }
    if a.len() != b.len() {
        return Err(EvalError::LengthMismatch {
            what: "predicted labels",
            expected: a.len(),
            found: b.len(),
        });
    }
    Ok(())
}

/// ARI, NMI and NCA of `predicted` against `reference`, the points that are noise in the
/// reference (`None`) left out, as the benchmark suite scores.
///
/// # Errors
/// Empty or unequal lengths; fewer than 2 reference clusters among its non-noise points.
pub fn reference_scores(
    reference: &[Option<u32>],
    predicted: &[Option<u32>],
) -> Result<ExternalScores, EvalError> {
    check_lengths(reference, predicted)?;
    let (r, p): (Vec<Option<u32>>, Vec<Option<u32>>) = reference
        .iter()
        .zip(predicted)
        .filter(|(r, _)| r.is_some())
        .map(|(r, p)| (*r, *p))
        .unzip();
    let nca = normalized_clustering_accuracy(&r, &p)?;
    Ok(ExternalScores {
        ari: adjusted_rand_index(&r, &p)?,
        nmi: normalized_mutual_info(&r, &p)?,
        nca,
    })
}

/// The number of clusters of a reference labelling (noise not counted).
pub fn reference_k(reference: &[Option<u32>]) -> usize {
    Compact::new(reference).k
}

/// The suite's score of a method on a data set with several reference labellings: each
/// reference with k clusters ([`reference_k`]) is compared ([`reference_scores`]) with
/// `predicted_at(k)`, the method's labelling at that k (`None` when the method has none:
/// that reference is skipped), and each score is the best over the references compared.
/// `Ok(None)` when no reference had a prediction.
///
/// # Errors
/// As [`reference_scores`], for the first reference that fails.
pub fn best_reference_scores<'a>(
    references: &[&[Option<u32>]],
    mut predicted_at: impl FnMut(usize) -> Option<&'a [Option<u32>]>,
) -> Result<Option<BestScores>, EvalError> {
    let mut out: Option<BestScores> = None;
    for (j, reference) in references.iter().enumerate() {
        let Some(pred) = predicted_at(reference_k(reference)) else {
            continue;
        };
        let s = reference_scores(reference, pred)?;
        out = Some(match out {
            None => BestScores {
                best: s,
                ari_reference: j,
                compared: 1,
            },
            Some(b) => BestScores {
                best: ExternalScores {
                    ari: b.best.ari.max(s.ari),
                    nmi: b.best.nmi.max(s.nmi),
                    nca: b.best.nca.max(s.nca),
                },
                ari_reference: if s.ari > b.best.ari {
                    j
                } else {
                    b.ari_reference
                },
                compared: b.compared + 1,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &[u32]) -> Vec<Option<u32>> {
        v.iter().map(|&x| (x != 0).then_some(x)).collect()
    }

    #[test]
    fn nca_by_hand() {
        // Reference clusters of sizes 4, 4, 2. Predicted: the first cluster right, the second
        // split 3/1 with the 1 going to the third cluster's label, the third cluster right.
        // Recalls under the best matching (1->a, 2->b, 3->c): 4/4, 3/4, 2/2 -> mean 11/12;
        // NCA = (11/12 - 1/3) / (2/3) = 7/8.
        let r = l(&[1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
        let p = l(&[5, 5, 5, 5, 6, 6, 6, 7, 7, 7]);
        let nca = normalized_clustering_accuracy(&r, &p).unwrap();
        assert!((nca - 7.0 / 8.0).abs() < 1e-15, "{nca}");
        // Relabelling the prediction changes nothing; a perfect one is 1.
        let q = l(&[9, 9, 9, 9, 1, 1, 1, 4, 4, 4]);
        assert_eq!(normalized_clustering_accuracy(&r, &q).unwrap(), nca);
        assert_eq!(normalized_clustering_accuracy(&r, &r).unwrap(), 1.0);
        // One predicted cluster: best recall sum 1 (any one cluster), (1/3 - 1/3) = 0.
        let one = l(&[1; 10]);
        assert_eq!(normalized_clustering_accuracy(&r, &one).unwrap(), 0.0);
    }

    #[test]
    fn nca_needs_the_best_matching_not_the_greedy_one() {
        // Greedy on counts takes (1, a) = 6 first and forces (2, b) = 0; the best matching
        // is (1, b), (2, a): recalls 4/10 + 5/5 = 1.4 against 6/10 + 0/5 = 0.6.
        // NCA = (1.4/2 - 1/2) / (1/2) = 0.4.
        let mut r = vec![1u32; 10];
        r.extend([2; 5]);
        let mut p = vec![1u32; 6];
        p.extend([2; 4]);
        p.extend([1; 5]);
        let nca = normalized_clustering_accuracy(&l(&r), &l(&p)).unwrap();
        assert!((nca - 0.4).abs() < 1e-12, "{nca}");
    }

    #[test]
    fn hungarian_equals_brute_force_on_random_tables() {
        let mut state = 12345u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % 50
        };
        for (rows, cols) in [(3, 3), (4, 5), (5, 5), (2, 6), (6, 6)] {
            let cost: Vec<f64> = (0..rows * cols).map(|_| next() as f64).collect();
            let got = assign_min(&cost, rows, cols);
            let total = |a: &[usize]| {
                a.iter()
                    .enumerate()
                    .map(|(i, &j)| cost[i * cols + j])
                    .sum::<f64>()
            };
            // Brute force over injective maps.
            fn best(i: usize, rows: usize, cols: usize, used: &mut Vec<bool>, cost: &[f64]) -> f64 {
                if i == rows {
                    return 0.0;
                }
                let mut b = f64::INFINITY;
                for j in 0..cols {
                    if !used[j] {
                        used[j] = true;
                        b = b.min(cost[i * cols + j] + best(i + 1, rows, cols, used, cost));
                        used[j] = false;
                    }
                }
                b
            }
            let mut distinct = got.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), rows);
            assert_eq!(
                total(&got),
                best(0, rows, cols, &mut vec![false; cols], &cost)
            );
        }
    }

    #[test]
    fn noise_points_of_the_reference_are_left_out() {
        // Points 4 and 5 are noise in the reference; without them the prediction is perfect.
        let r = l(&[1, 1, 1, 0, 0, 2, 2, 2]);
        let p = l(&[1, 1, 1, 2, 1, 2, 2, 2]);
        let s = reference_scores(&r, &p).unwrap();
        assert_eq!((s.ari, s.nmi, s.nca), (1.0, 1.0, 1.0));
        // ARI of the 6 kept points by hand when one point is wrong: contingency [[3,0],[1,2]]
        // (rows: reference). sum C(nij,2) = 3 + 1 = 4; rows 3, 3 -> 6; cols 4, 2 -> 7;
        // expected 6 * 7 / 15 = 2.8; max (6 + 7) / 2 = 6.5; ARI = (4 - 2.8) / (6.5 - 2.8).
        let q = l(&[1, 1, 1, 2, 1, 1, 2, 2]);
        let s = reference_scores(&r, &q).unwrap();
        assert!((s.ari - 1.2 / 3.7).abs() < 1e-12, "{}", s.ari);
        // Recalls 3/3 and 2/3: NCA = (5/6 - 1/2) / (1/2) = 2/3.
        assert!((s.nca - 2.0 / 3.0).abs() < 1e-12, "{}", s.nca);
        assert!(reference_scores(&l(&[1, 1, 0]), &l(&[1, 2, 1])).is_err());
    }

    #[test]
    fn best_over_references_takes_each_references_own_k() {
        let r2 = l(&[1, 1, 1, 2, 2, 2]);
        let r3 = l(&[1, 1, 2, 2, 3, 3]);
        let at2 = l(&[1, 1, 1, 2, 2, 2]); // perfect for r2
        let at3 = l(&[1, 2, 2, 2, 3, 3]); // one point off for r3
        let refs: Vec<&[Option<u32>]> = vec![&r3, &r2];
        let b = best_reference_scores(&refs, |k| match k {
            2 => Some(&at2[..]),
            3 => Some(&at3[..]),
            _ => None,
        })
        .unwrap()
        .unwrap();
        assert_eq!(b.best.ari, 1.0);
        assert_eq!(b.ari_reference, 1);
        assert_eq!(b.compared, 2);
        // Only k = 3 predicted: the score is r3's.
        let b3 = best_reference_scores(&refs, |k| (k == 3).then_some(&at3[..]))
            .unwrap()
            .unwrap();
        assert_eq!(b3.compared, 1);
        assert_eq!(b3.best, reference_scores(&r3, &at3).unwrap());
        assert!(best_reference_scores(&refs, |_| None).unwrap().is_none());
    }
}
