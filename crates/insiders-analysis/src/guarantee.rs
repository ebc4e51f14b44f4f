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
                let what = match statistic {
                    Statistic::Mean => "means",
                    Statistic::Median => "medians",
                };
                methods.push(format!("{what}: {}", c.method.describe()));
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
                let count = |n: usize| {
                    insiders_stats::tree::format_number(n as f64)
                        .trim_end_matches(".00")
                        .to_string()
                };
                format!(
                    "{} customers (more than {}): {}",
                    count(x.len() + y.len()),
                    count(BOOTSTRAP_RESAMPLED_UP_TO),
                    methods.join("; ")
                )
            }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize) -> CustomerTable {
        let col = |f: fn(usize) -> f64| (0..n).map(f).collect::<Vec<f64>>();
        CustomerTable {
            customer_id: (0..n as u32).collect(),
            columns: vec!["gross_revenue".into(), "frequency".into()],
            values: vec![
                col(|i| ((i * 7919) % 1000) as f64 + if i % 10 == 0 { 500.0 } else { 0.0 }),
                col(|i| ((i * 31) % 17) as f64),
            ],
            unavailable: Vec::new(),
        }
    }

    /// The intervals say how they were computed once the customers pass the size where the
    /// bootstrap stops resampling everyone, and say nothing below it.
    #[test]
    fn the_interval_method_is_stated_above_the_resampling_size() {
        let opts = StabilityOptions {
            bootstrap_resamples: 200,
            ..Default::default()
        };
        for (n, stated) in [(2_000, false), (BOOTSTRAP_RESAMPLED_UP_TO + 1, true)] {
            let insider: Vec<bool> = (0..n).map(|i| i % 10 == 0).collect();
            let tests = group_tests(&table(n), &insider, &opts, 7).unwrap();
            assert_eq!(tests.len(), 2);
            for t in &tests {
                assert_eq!(t.interval_method.is_some(), stated, "{n} {}", t.feature);
                let m = t.mean_difference;
                assert!(m.lo <= m.estimate && m.estimate <= m.hi, "{m:?}");
            }
            if stated {
                let m = tests[0].interval_method.as_deref().unwrap();
                assert!(
                    m.starts_with("65,537 customers (more than 65,536): means: Cornish-Fisher"),
                    "{m}"
                );
                assert!(m.contains("medians: percentile bootstrap"), "{m}");
            }
        }
    }
}
