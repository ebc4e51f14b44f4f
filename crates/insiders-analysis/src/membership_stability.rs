//! Membership stability (part of Q8): are the same customers Insiders when the space and
//! model are refitted with other seeds, or on a random part of the customers?

use crate::error::AnalysisError;
use crate::options::StabilityOptions;
use insiders_core::{Rng, derive_seed};
use rayon::prelude::*;
use serde::Serialize;

/// Jaccard index |A ∩ B| / |A ∪ B| of two Insider memberships over the same customers:
/// two refits that both find no Insider agree, so two empty sets count as 1.
pub fn jaccard(a: &[bool], b: &[bool]) -> f64 {
    insiders_core::jaccard_masks(a, b).unwrap_or(1.0)
}

/// The Jaccard index of the Insiders of each refit against the run's Insiders.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stability {
    /// Refits with other seeds, on every customer.
    pub seed_jaccard: Vec<f64>,
    /// Their mean.
    pub seed_mean: f64,
    /// Refits on subsamples (`fraction` of the customers, without replacement), each compared
    /// on the customers of its subsample.
    pub subsample_jaccard: Vec<f64>,
    /// Their mean.
    pub subsample_mean: f64,
    /// Share of customers in each subsample.
    pub fraction: f64,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Refits the selection `seeds` times with other seeds (`refit(None, seed)`: the Insiders of
/// every customer) and `subsamples` times on random subsamples (`refit(Some(rows), seed)`:
/// the Insiders of those rows), and compares each refit's Insiders with `insider`. Each
/// refit's seed derives from (`seed`, refit index): reproducible, and the refits run in
/// parallel without changing any result.
pub fn stability<F>(
    insider: &[bool],
    s: &StabilityOptions,
    seed: u64,
    refit: F,
) -> Result<Stability, AnalysisError>
where
    F: Fn(Option<&[usize]>, u64) -> Result<Vec<bool>, AnalysisError> + Sync,
{
    if !(s.fraction > 0.0 && s.fraction <= 1.0) {
        return Err(AnalysisError::option(
            "stability.fraction",
            "must be in (0, 1]",
        ));
    }
    let n = insider.len();
    let seed_runs: Vec<Result<f64, AnalysisError>> = (0..s.seeds)
        .into_par_iter()
        .map(|i| {
            let other = refit(None, derive_seed(seed, 1000 + u64::from(i)))?;
            Ok(jaccard(insider, &other))
        })
        .collect();
    let m = ((n as f64) * s.fraction).round() as usize;
    let sub_runs: Vec<Result<f64, AnalysisError>> = (0..s.subsamples)
        .into_par_iter()
        .map(|i| {
            let sub_seed = derive_seed(seed, 2000 + u64::from(i));
            let mut idx: Vec<usize> = (0..n).collect();
            Rng::new(sub_seed).shuffle(&mut idx);
            idx.truncate(m);
            idx.sort_unstable();
            let other = refit(Some(&idx), derive_seed(sub_seed, 1))?;
            let mine: Vec<bool> = idx.iter().map(|&i| insider[i]).collect();
            Ok(jaccard(&mine, &other))
        })
        .collect();
    let seed_jaccard = seed_runs.into_iter().collect::<Result<Vec<_>, _>>()?;
    let subsample_jaccard = sub_runs.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Stability {
        seed_mean: mean(&seed_jaccard),
        subsample_mean: mean(&subsample_jaccard),
        seed_jaccard,
        subsample_jaccard,
        fraction: s.fraction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_counts() {
        assert_eq!(
            jaccard(&[true, true, false, false], &[true, false, true, false]),
            1.0 / 3.0
        );
        assert_eq!(jaccard(&[false, false], &[false, false]), 1.0);
    }
}
