//! Q8: the Insiders against the rest of the base, feature by feature: Mann-Whitney U tests,
//! effect sizes and bootstrap confidence intervals of the differences.

use crate::AnalysisError;
use crate::answers::{GroupTest, Interval};
use crate::options::StabilityOptions;
use crate::profile::Summary;
use insiders_core::derive_seed;
use insiders_features::CustomerTable;
use insiders_stats::StatsError;
use insiders_stats::hypothesis::{
    BOOTSTRAP_RESAMPLED_UP_TO, BootstrapMethod, Statistic, bootstrap_diff_ci, mann_whitney_u,
};

/// The features compared (revenue, frequency, recency, returns and two more of volume).
pub const TESTED_FEATURES: [&str; 6] = [
    "gross_revenue",
    "frequency",
    "recency_days",
    "qtde_invoices",
    "qtde_products",
    "qtde_returns",
];

/// Tests every feature of [`TESTED_FEATURES`], Insiders (`insider[i]`) against the rest.
/// A feature on which every customer has the same value has no test (p-value NaN and a note).
pub fn group_tests(
    table: &CustomerTable,
    insider: &[bool],
    opts: &StabilityOptions,
    seed: u64,
) -> Result<Vec<GroupTest>, AnalysisError> {
    let stats = |source| AnalysisError::Stats {
        stage: "Insiders against the rest (Q8)",
        source,
    };
    let mut out = Vec::new();
    // Features the data cannot give (no stock codes, no quantities) are not tested.
    for (t, name) in TESTED_FEATURES
        .iter()
        .enumerate()
        .filter(|(_, n)| table.columns.iter().any(|c| c == *n))
    {
        let col = table.column(name)?;
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (v, &b) in col.iter().zip(insider) {
            if v.is_finite() {
                if b { x.push(*v) } else { y.push(*v) }
            }
        }
        let (u, p_value, rank_biserial, common_language, note) = match mann_whitney_u(&x, &y) {
            Ok(m) => (
                m.u1,
                m.p_value,
                m.effect.rank_biserial,
                m.effect.common_language,
                None,
            ),
            Err(StatsError::Degenerate(_)) => (
                f64::NAN,
                f64::NAN,
                0.0,
                0.5,
                Some("every customer has the same value: nothing to test".to_string()),
            ),
            Err(e) => return Err(stats(e)),
        };
        let mut methods = Vec::new();
        let mut ci = |statistic, k| -> Result<Interval, AnalysisError> {
            let c = bootstrap_diff_ci(
                &x,
                &y,
                statistic,
                opts.bootstrap_resamples as usize,
                opts.level,
                derive_seed(seed, (2 * t + k) as u64),
            )
            .map_err(stats)?;
            if c.method != BootstrapMethod::Resampled {
                methods.push(format!("{statistic:?}: {}", c.method.describe()).to_lowercase());
            }
            Ok(Interval {
                estimate: c.estimate,
                lo: c.low,
                hi: c.high,
                level: opts.level,
            })
        };
        let mean_difference = ci(Statistic::Mean, 0)?;
        let median_difference = ci(Statistic::Median, 1)?;
        out.push(GroupTest {
            feature: name.to_string(),
            insiders_median: Summary::of(x.iter().copied()).median,
            rest_median: Summary::of(y.iter().copied()).median,
            u,
            p_value,
            rank_biserial,
            common_language,
            mean_difference,
            median_difference,
            note,
            interval_method: (!methods.is_empty()).then(|| {
                format!(
                    "{} customers (more than {BOOTSTRAP_RESAMPLED_UP_TO}): {}",
                    x.len() + y.len(),
                    methods.join("; ")
                )
            }),
        });
    }
    Ok(out)
}
