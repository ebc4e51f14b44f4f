//! Cluster profiles and the Insiders against the rest of the base.

use insiders_features::CustomerTable;
use serde::Serialize;
use std::collections::BTreeMap;

/// Location and spread of one feature in one group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Non-missing values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// First quartile (linear interpolation, as pandas).
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

impl Summary {
    /// Summary of the finite values (a missing `avg_recency_days` is left out); NaN fields
    /// when there are none.
    pub fn of(values: impl Iterator<Item = f64>) -> Summary {
        let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        let q = |p| insiders_core::quantile_sorted(&v, p);
        let mean = if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        };
        Summary {
            count: v.len(),
            mean,
            q1: q(0.25),
            median: q(0.5),
            q3: q(0.75),
            min: v.first().copied().unwrap_or(f64::NAN),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// The profile of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterProfile {
    /// Cluster number (1 = highest mean gross revenue).
    pub cluster: u32,
    /// Customers in it.
    pub customers: usize,
    /// Share of all customers.
    pub share_customers: f64,
    /// Its gross revenue.
    pub revenue: f64,
    /// Share of the gross revenue of all customers.
    pub share_revenue: f64,
    /// Every feature's summary.
    pub features: BTreeMap<String, Summary>,
}

/// Total of a column over the rows where `member` holds.
pub fn total(column: &[f64], member: impl Fn(usize) -> bool) -> f64 {
    column
        .iter()
        .enumerate()
        .filter(|&(i, v)| member(i) && v.is_finite())
        .map(|(_, v)| v)
        .sum()
}

/// Summaries of every feature over the rows where `member` holds.
pub fn feature_summaries(
    table: &CustomerTable,
    member: impl Fn(usize) -> bool,
) -> BTreeMap<String, Summary> {
    table
        .columns
        .iter()
        .zip(&table.values)
        .map(|(name, col)| {
            (
                name.clone(),
                Summary::of(
                    col.iter()
                        .enumerate()
                        .filter(|&(i, _)| member(i))
                        .map(|(_, v)| *v),
                ),
            )
        })
        .collect()
}

/// The profile of every cluster (noise, if any, is left out and counted by the caller).
pub fn profiles(
    table: &CustomerTable,
    revenue: &[f64],
    cluster: &[Option<u32>],
    k: usize,
) -> Vec<ClusterProfile> {
    let n = table.len() as f64;
    let all = total(revenue, |_| true);
    (1..=k as u32)
        .map(|c| {
            let member = |i: usize| cluster[i] == Some(c);
            let customers = cluster.iter().filter(|l| **l == Some(c)).count();
            let rev = total(revenue, member);
            ClusterProfile {
                cluster: c,
                customers,
                share_customers: customers as f64 / n,
                revenue: rev,
                share_revenue: rev / all,
                features: feature_summaries(table, member),
            }
        })
        .collect()
}

/// One feature of the Insiders against the rest of the base.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contrast {
    /// Feature name.
    pub feature: String,
    /// The Insiders.
    pub insiders: Summary,
    /// Every other customer.
    pub rest: Summary,
    /// Insiders' median over the rest's (NaN when the rest's median is 0).
    pub median_ratio: f64,
    /// Insiders' mean over the rest's.
    pub mean_ratio: f64,
}

/// Every feature of the Insiders against the rest (Q3).
pub fn contrast(table: &CustomerTable, insider: &[bool]) -> Vec<Contrast> {
    let ins = feature_summaries(table, |i| insider[i]);
    let rest = feature_summaries(table, |i| !insider[i]);
    table
        .columns
        .iter()
        .map(|name| {
            let a = ins[name];
            let b = rest[name];
            let ratio = |x: f64, y: f64| if y == 0.0 { f64::NAN } else { x / y };
            Contrast {
                feature: name.clone(),
                insiders: a,
                rest: b,
                median_ratio: ratio(a.median, b.median),
                mean_ratio: ratio(a.mean, b.mean),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_matches_pandas_quantiles() {
        // pandas: Series([1, 2, 3, 4, 10]).quantile([.25, .5, .75]) = 2, 3, 4
        let s = Summary::of([4.0, 1.0, 10.0, f64::NAN, 3.0, 2.0].into_iter());
        assert_eq!(s.count, 5);
        assert_eq!((s.q1, s.median, s.q3), (2.0, 3.0, 4.0));
        assert_eq!(s.mean, 4.0);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert!(Summary::of(std::iter::empty()).median.is_nan());
    }
}
