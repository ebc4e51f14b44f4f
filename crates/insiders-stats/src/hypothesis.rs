//! Statistical tests and effect sizes for "are the Insiders really different?":
//!
//! - [`mann_whitney_u`]: the two-sided Mann-Whitney U test with the tie-corrected normal
//!   approximation and continuity correction, equal to
//!   `scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")`;
//! - [`effect_sizes`]: rank-biserial correlation, common-language effect size and Cliff's
//!   delta (how often, and how consistently, one group's values exceed the other's);
//! - [`bootstrap_diff_ci`]: percentile bootstrap confidence interval of the difference of
//!   means or of medians between two groups, seeded, identical for any thread count;
//! - [`jaccard`]: the overlap of two id sets (stability of a membership list).
//!
//! # Example
//! ```
//! use insiders_stats::hypothesis::{Statistic, bootstrap_diff_ci, jaccard, mann_whitney_u};
//!
//! let insiders = [120.0, 340.0, 95.0, 410.0, 280.0, 150.0];
//! let rest = [20.0, 35.0, 95.0, 12.0, 60.0, 41.0, 18.0];
//! let mw = mann_whitney_u(&insiders, &rest)?;
//! assert_eq!(mw.u1, 41.5); // 41 wins and one tie out of 42 pairs
//! assert!(mw.p_value < 0.01);
//! assert!(mw.effect.cliffs_delta > 0.9);
//! let ci = bootstrap_diff_ci(&insiders, &rest, Statistic::Median, 1000, 0.95, 7)?;
//! assert!(ci.low <= ci.estimate && ci.estimate <= ci.high);
//! assert_eq!(jaccard(&[1u32, 2, 3], &[2, 3, 4])?, 0.5);
//! # Ok::<(), insiders_stats::StatsError>(())
//! ```

use insiders_core::{Rng, jaccard_sorted, quantile_sorted};
use rayon::prelude::*;

use crate::StatsError;
use crate::error::check_sample;
use crate::special::{beta_draw, normal_sf};

/// Effect sizes of group `x` against group `y`, all functions of the pairwise comparisons
/// `(x_i, y_j)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EffectSizes {
    /// Rank-biserial correlation `2 U1 / (n1 n2) - 1` in [-1, 1]: positive when `x` tends to
    /// exceed `y`.
    pub rank_biserial: f64,
    /// Common-language effect size `U1 / (n1 n2) = P(X > Y) + P(X = Y) / 2` in [0, 1].
    pub common_language: f64,
    /// Cliff's delta `P(X > Y) - P(X < Y)` in [-1, 1], counted directly from the pairs (equal
    /// to the rank-biserial correlation; computed independently as a check).
    pub cliffs_delta: f64,
}

/// The result of [`mann_whitney_u`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannWhitney {
    /// Size of `x`.
    pub n1: usize,
    /// Size of `y`.
    pub n2: usize,
    /// `U1 = R1 - n1 (n1 + 1) / 2`: pairs with `x_i > y_j`, ties counting one half (scipy's
    /// `statistic`).
    pub u1: f64,
    /// `U2 = n1 n2 - U1`.
    pub u2: f64,
    /// `z = (max(U1, U2) - n1 n2 / 2 - 1/2) / σ` with the tie-corrected σ (>= 0 up to the
    /// continuity correction).
    pub z: f64,
    /// Two-sided p-value `2 P(Z > z)`, clipped to 1.
    pub p_value: f64,
    /// Effect sizes of `x` against `y`.
    pub effect: EffectSizes,
}

/// Average ranks (1-based) of the pooled sample, with the tie term `Σ (t³ - t)`.
fn pooled_ranks(x: &[f64], y: &[f64]) -> (Vec<f64>, f64) {
    let n = x.len() + y.len();
    let value = |i: usize| if i < x.len() { x[i] } else { y[i - x.len()] };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| value(a).total_cmp(&value(b)));
    let mut ranks = vec![0.0; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && value(order[j]) == value(order[i]) {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0; // mean of ranks i+1..=j
        for &k in &order[i..j] {
            ranks[k] = avg;
        }
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    (ranks, tie_term)
}

/// The two-sided Mann-Whitney U test of `x` against `y` (normal approximation with tie
/// correction and continuity correction), with effect sizes.
///
/// It tests whether one group's values tend to be larger than the other's (stochastic
/// dominance, `P(X > Y) ≠ P(X < Y)`), not whether the means or medians differ.
///
/// # Errors
/// [`StatsError::Empty`] / [`StatsError::NonFinite`] for an empty or non-finite sample;
/// [`StatsError::Degenerate`] when every pooled value is the same (zero variance).
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Result<MannWhitney, StatsError> {
    check_sample("x", x)?;
    check_sample("y", y)?;
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let n = n1 + n2;
    let (ranks, tie_term) = pooled_ranks(x, y);
    let r1: f64 = ranks[..x.len()].iter().sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let u2 = n1 * n2 - u1;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var.is_nan() || var <= 0.0 {
        return Err(StatsError::Degenerate(
            "every value is the same: the Mann-Whitney variance is zero".into(),
        ));
    }
    let z = (u1.max(u2) - n1 * n2 / 2.0 - 0.5) / var.sqrt();
    let p_value = (2.0 * normal_sf(z)).min(1.0);
    Ok(MannWhitney {
        n1: x.len(),
        n2: y.len(),
        u1,
        u2,
        z,
        p_value,
        effect: effect_sizes_from(x, y, u1),
    })
}

fn effect_sizes_from(x: &[f64], y: &[f64], u1: f64) -> EffectSizes {
    let pairs = x.len() as f64 * y.len() as f64;
    let mut ys = y.to_vec();
    ys.sort_by(f64::total_cmp);
    let (mut greater, mut less) = (0usize, 0usize);
    for &xi in x {
        let below = ys.partition_point(|&v| v < xi);
        let not_above = ys.partition_point(|&v| v <= xi);
        greater += below;
        less += ys.len() - not_above;
    }
    EffectSizes {
        rank_biserial: 2.0 * u1 / pairs - 1.0,
        common_language: u1 / pairs,
        cliffs_delta: (greater as f64 - less as f64) / pairs,
    }
}

/// Effect sizes of `x` against `y` (see [`EffectSizes`]).
///
/// # Errors
/// [`StatsError::Empty`] / [`StatsError::NonFinite`] for an empty or non-finite sample.
pub fn effect_sizes(x: &[f64], y: &[f64]) -> Result<EffectSizes, StatsError> {
    check_sample("x", x)?;
    check_sample("y", y)?;
    let (ranks, _) = pooled_ranks(x, y);
    let n1 = x.len() as f64;
    let u1 = ranks[..x.len()].iter().sum::<f64>() - n1 * (n1 + 1.0) / 2.0;
    Ok(effect_sizes_from(x, y, u1))
}

/// The statistic compared by [`bootstrap_diff_ci`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Arithmetic mean.
    Mean,
    /// Median (mean of the two middle values for an even count).
    Median,
}

/// A bootstrap confidence interval of `statistic(x) - statistic(y)`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BootstrapCi {
    /// The statistic compared.
    pub statistic: Statistic,
    /// The observed difference `statistic(x) - statistic(y)`.
    pub estimate: f64,
    /// Lower end (quantile `(1 - level) / 2` of the resampled differences).
    pub low: f64,
    /// Upper end (quantile `(1 + level) / 2`).
    pub high: f64,
    /// The bootstrap standard error (standard deviation of the resampled differences).
    pub standard_error: f64,
    /// Coverage, e.g. 0.95.
    pub level: f64,
    /// Number of resamples.
    pub resamples: usize,
    /// The seed.
    pub seed: u64,
    /// How the bootstrap distribution was obtained.
    pub method: BootstrapMethod,
}

/// Up to this many values in the two groups together, [`bootstrap_diff_ci`] resamples every
/// value ([`BootstrapMethod::Resampled`]); above it, each resample costs O(1) instead of
/// O(n) ([`BootstrapMethod::OrderStatistics`] for medians, [`BootstrapMethod::CornishFisher`]
/// for means).
pub const BOOTSTRAP_RESAMPLED_UP_TO: usize = 65_536;

/// How [`bootstrap_diff_ci`] obtained the bootstrap distribution of the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BootstrapMethod {
    /// Every resample draws every value of both groups with replacement.
    Resampled,
    /// Medians: each resample draws the one or two middle order statistics of its indices
    /// directly (the k-th smallest of n uniform draws is Beta(k, n + 1 - k); the one below
    /// it is that times the largest of k - 1 more), which has exactly the distribution of
    /// resampling every value, at O(1) a resample.
    OrderStatistics,
    /// Means: no resampling. The bootstrap distribution of a difference of means has mean
    /// the observed difference, variance `v_x / n_x + v_y / n_y` and third cumulant
    /// `k3_x / n_x² - k3_y / n_y²` (`v`, `k3`: the groups' central moments); the interval is
    /// its Cornish-Fisher quantiles `d + sd (z + γ (z² - 1) / 6)`, which agree with the
    /// resampled percentiles up to O(1/n).
    CornishFisher,
}

impl BootstrapMethod {
    /// How the interval was computed, in words (for reports).
    pub fn describe(self) -> &'static str {
        match self {
            BootstrapMethod::Resampled => "percentile bootstrap, every customer resampled",
            BootstrapMethod::OrderStatistics => {
                "percentile bootstrap, each resample's middle order statistics drawn directly \
                 (the distribution of resampling every customer, at O(1) a resample)"
            }
            BootstrapMethod::CornishFisher => {
                "Cornish-Fisher expansion of the bootstrap distribution (normal with its \
                 skewness term; an approximation to O(1/n), not resampled)"
            }
        }
    }
}

/// The standard normal quantile `Φ⁻¹(p)`, by bisection on [`normal_sf`] (to its accuracy).
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if 1.0 - normal_sf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// One group prepared for resampling: values sorted ascending (order statistics of a
/// resample are then order statistics of its indices).
struct Group {
    sorted: Vec<f64>,
}

impl Group {
    fn new(v: &[f64]) -> Group {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        Group { sorted }
    }

    fn statistic(&self, s: Statistic) -> f64 {
        let n = self.sorted.len();
        match s {
            Statistic::Mean => self.sorted.iter().sum::<f64>() / n as f64,
            Statistic::Median => {
                if n % 2 == 1 {
                    self.sorted[n / 2]
                } else {
                    0.5 * (self.sorted[n / 2 - 1] + self.sorted[n / 2])
                }
            }
        }
    }

    /// Mean and the central moments `(1/n) Σ (x - m)²` and `(1/n) Σ (x - m)³`.
    fn moments(&self) -> (f64, f64, f64) {
        let n = self.sorted.len() as f64;
        let m = self.sorted.iter().sum::<f64>() / n;
        let (v, k3) = self.sorted.iter().fold((0.0, 0.0), |(v, k3), &x| {
            let d = x - m;
            (v + d * d, k3 + d * d * d)
        });
        (m, v / n, k3 / n)
    }

    /// The median of one resample with replacement, from its middle order statistics drawn
    /// directly ([`BootstrapMethod::OrderStatistics`]).
    fn resampled_median(&self, rng: &mut Rng) -> f64 {
        let n = self.sorted.len();
        let at = |u: f64| self.sorted[((u * n as f64) as usize).min(n - 1)];
        if n % 2 == 1 {
            let k = n.div_ceil(2);
            at(beta_draw(rng, k as f64, (n + 1 - k) as f64))
        } else {
            let k = n / 2;
            let upper = beta_draw(rng, (k + 1) as f64, (n - k) as f64);
            let lower = upper * rng.uniform().powf(1.0 / k as f64);
            0.5 * (at(lower) + at(upper))
        }
    }

    /// The statistic of one resample with replacement (`idx` is scratch space).
    fn resample(&self, s: Statistic, rng: &mut Rng, idx: &mut Vec<u32>) -> f64 {
        let n = self.sorted.len();
        idx.clear();
        idx.extend((0..n).map(|_| rng.below(n) as u32));
        match s {
            Statistic::Mean => idx.iter().map(|&i| self.sorted[i as usize]).sum::<f64>() / n as f64,
            Statistic::Median => {
                let k = n / 2;
                let (left, mid, _) = idx.select_nth_unstable(k);
                let upper = self.sorted[*mid as usize];
                if n % 2 == 1 {
                    upper
                } else {
                    let lower = left.iter().copied().max().unwrap_or(*mid);
                    0.5 * (self.sorted[lower as usize] + upper)
                }
            }
        }
    }
}

/// Percentile bootstrap confidence interval of `statistic(x) - statistic(y)`: each of
/// `resamples` replicates resamples both groups with replacement (independently, sizes kept)
/// and takes the difference; the interval is the `(1 ± level) / 2` quantiles of the
/// replicates (linear interpolation, numpy's default).
///
/// Replicate `b` draws from `Rng::for_task(seed, b)` and replicates are collected in order, so
/// the result is bit-identical whatever the rayon thread count.
///
/// Above [`BOOTSTRAP_RESAMPLED_UP_TO`] values in both groups together, a resample no longer
/// draws every value: medians draw their middle order statistics directly (the same
/// distribution) and means take the Cornish-Fisher expansion of the bootstrap distribution
/// (an approximation); [`BootstrapCi::method`] says which.
///
/// # Errors
/// [`StatsError::TooFew`] for a group of fewer than 2 values or fewer than 2 resamples;
/// [`StatsError::NonFinite`] for a non-finite value; [`StatsError::Param`] for a level
/// outside (0, 1).
pub fn bootstrap_diff_ci(
    x: &[f64],
    y: &[f64],
    statistic: Statistic,
    resamples: usize,
    level: f64,
    seed: u64,
) -> Result<BootstrapCi, StatsError> {
    let method = match statistic {
        _ if x.len() + y.len() <= BOOTSTRAP_RESAMPLED_UP_TO => BootstrapMethod::Resampled,
        Statistic::Median => BootstrapMethod::OrderStatistics,
        Statistic::Mean => BootstrapMethod::CornishFisher,
    };
    bootstrap_diff_ci_by(x, y, statistic, resamples, level, seed, method)
}

/// [`bootstrap_diff_ci`] with the method chosen by the caller (whatever the sizes).
///
/// # Errors
/// As [`bootstrap_diff_ci`], and [`StatsError::Param`] for a method that does not apply to
/// the statistic.
pub fn bootstrap_diff_ci_by(
    x: &[f64],
    y: &[f64],
    statistic: Statistic,
    resamples: usize,
    level: f64,
    seed: u64,
    method: BootstrapMethod,
) -> Result<BootstrapCi, StatsError> {
    for (what, v) in [("x", x), ("y", y)] {
        check_sample(what, v)?;
        if v.len() < 2 {
            return Err(StatsError::TooFew {
                what,
                needed: 2,
                found: v.len(),
            });
        }
    }
    if resamples < 2 {
        return Err(StatsError::TooFew {
            what: "bootstrap resamples",
            needed: 2,
            found: resamples,
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::param(
            "level",
            format!("must be in (0, 1), got {level}"),
        ));
    }
    let (gx, gy) = (Group::new(x), Group::new(y));
    let estimate = gx.statistic(statistic) - gy.statistic(statistic);
    match (statistic, method) {
        (_, BootstrapMethod::Resampled)
        | (Statistic::Median, BootstrapMethod::OrderStatistics)
        | (Statistic::Mean, BootstrapMethod::CornishFisher) => {}
        _ => {
            return Err(StatsError::param(
                "method",
                format!("{method:?} does not apply to the {statistic:?}"),
            ));
        }
    }
    let ci = |low, high, standard_error| BootstrapCi {
        statistic,
        estimate,
        low,
        high,
        standard_error,
        level,
        resamples,
        seed,
        method,
    };
    if method == BootstrapMethod::CornishFisher {
        let ((_, vx, kx), (_, vy, ky)) = (gx.moments(), gy.moments());
        let (nx, ny) = (x.len() as f64, y.len() as f64);
        let var = vx / nx + vy / ny;
        let sd = var.sqrt();
        let skew = if var > 0.0 {
            (kx / (nx * nx) - ky / (ny * ny)) / (var * sd)
        } else {
            0.0
        };
        let q = |p: f64| {
            let z = normal_quantile(p);
            estimate + sd * (z + skew * (z * z - 1.0) / 6.0)
        };
        return Ok(ci(q((1.0 - level) / 2.0), q((1.0 + level) / 2.0), sd));
    }
    let mut diffs: Vec<f64> = (0..resamples)
        .into_par_iter()
        .map_init(Vec::new, |idx, b| {
            let mut rng = Rng::for_task(seed, b as u64);
            if method == BootstrapMethod::OrderStatistics {
                let sx = gx.resampled_median(&mut rng);
                return sx - gy.resampled_median(&mut rng);
            }
            let sx = gx.resample(statistic, &mut rng, idx);
            let sy = gy.resample(statistic, &mut rng, idx);
            sx - sy
        })
        .collect();
    let mean = diffs.iter().sum::<f64>() / resamples as f64;
    let var = diffs.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (resamples - 1) as f64;
    diffs.sort_by(f64::total_cmp);
    Ok(ci(
        quantile_sorted(&diffs, (1.0 - level) / 2.0),
        quantile_sorted(&diffs, (1.0 + level) / 2.0),
        var.sqrt(),
    ))
}

/// The Jaccard index `|A ∩ B| / |A ∪ B|` of two id sets given as unsorted lists (duplicates
/// ignored): [`insiders_core::jaccard_sorted`] of the sorted, deduplicated lists.
///
/// # Errors
/// [`StatsError::Empty`] when both sets are empty (the index is undefined).
pub fn jaccard<T: Ord + Copy>(a: &[T], b: &[T]) -> Result<f64, StatsError> {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    jaccard_sorted(&a, &b).ok_or(StatsError::Empty {
        what: "both id sets",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            mann_whitney_u(&[], &[1.0]),
            Err(StatsError::Empty { .. })
        ));
        assert!(matches!(
            mann_whitney_u(&[1.0, f64::NAN], &[1.0]),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            mann_whitney_u(&[2.0, 2.0], &[2.0]),
            Err(StatsError::Degenerate(_))
        ));
        assert!(matches!(
            bootstrap_diff_ci(&[1.0], &[1.0, 2.0], Statistic::Mean, 10, 0.9, 1),
            Err(StatsError::TooFew { .. })
        ));
        assert!(bootstrap_diff_ci(&[1.0, 2.0], &[1.0, 2.0], Statistic::Mean, 10, 1.0, 1).is_err());
        assert!(bootstrap_diff_ci(&[1.0, 2.0], &[1.0, 2.0], Statistic::Mean, 1, 0.9, 1).is_err());
        assert!(jaccard::<u32>(&[], &[]).is_err());
        let m = BootstrapMethod::CornishFisher;
        assert!(
            bootstrap_diff_ci_by(&[1.0, 2.0], &[1.0, 3.0], Statistic::Median, 9, 0.9, 1, m)
                .is_err()
        );
    }

    #[test]
    fn normal_quantiles() {
        // scipy.stats.norm.ppf
        assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.025) + 1.959_963_984_540_054).abs() < 1e-12);
        assert!((normal_quantile(0.999) - 3.090_232_306_167_813_6).abs() < 1e-12);
        assert!(normal_quantile(0.5).abs() < 1e-15);
    }

    #[test]
    fn jaccard_counts_distinct_ids() {
        assert_eq!(jaccard(&[1, 1, 2], &[2, 2]).unwrap(), 0.5);
        assert_eq!(jaccard(&[1, 2], &[3]).unwrap(), 0.0);
        assert_eq!(jaccard(&[5u64], &[5]).unwrap(), 1.0);
        assert_eq!(jaccard(&[], &[7]).unwrap(), 0.0);
    }

    #[test]
    fn resampled_median_equals_sorting() {
        let g = Group::new(&[5.0, 1.0, 9.0, 3.0, 7.0, 2.0]);
        let mut idx = Vec::new();
        for seed in 0..50 {
            let mut r1 = Rng::new(seed);
            let m = g.resample(Statistic::Median, &mut r1, &mut idx);
            let mut r2 = Rng::new(seed);
            let mut v: Vec<f64> = (0..6).map(|_| g.sorted[r2.below(6)]).collect();
            v.sort_by(f64::total_cmp);
            assert_eq!(m, 0.5 * (v[2] + v[3]));
        }
    }
}
