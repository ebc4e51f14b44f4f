//! The configured method's Insiders beside another method's (by default the study's):
//! sizes, overlap and revenue shares on the run's data, and a forward check at Q5's
//! backtest cut-off, where each method chooses its Insiders from the calibration data (the
//! lines before the cut-off: no look-ahead) and is judged on the days after it, beside the
//! naive ranking of as many identified customers by past revenue.
//!
//! Definitions (docs/insiders-run.md, "Beside the study's method"):
//! - **holdout revenue** of an identified customer: their gross revenue in the run's
//!   customer table minus that in the calibration table (the same cleaning), i.e. the
//!   canonical purchase lines from the cut-off to the last day;
//! - **N**: a method's identified Insiders at the cut-off (anonymous invoices have no
//!   future: an id per invoice);
//! - **share of holdout revenue**: the N customers' holdout revenue over every identified
//!   customer's (new customers included);
//! - **precision@N**: the share of the N among the N identified customers with the most
//!   holdout revenue (ties by the lower id);
//! - **naive**: the N identified customers of the calibration table with the highest gross
//!   revenue.

use crate::AnalysisError;
use insiders_core::numeric::{jaccard_masks, top_n};
use insiders_features::CustomerTable;
use serde::{Deserialize, Serialize};

/// One method's Insiders on the run's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSide {
    /// `configured` or the other method's name (`study preset`).
    pub method: String,
    /// Insiders.
    pub insiders: usize,
    /// Of which anonymous invoices.
    pub anonymous: usize,
    /// Their share of the gross revenue of every customer.
    pub share_revenue: f64,
}

/// One ranking judged on the holdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardRow {
    /// The method, or `naive (past revenue)`.
    pub method: String,
    /// Identified customers chosen at the cut-off.
    pub n: usize,
    /// Their share of the holdout revenue of identified customers.
    pub share_of_holdout_revenue: f64,
    /// Precision@N against the N top holdout spenders.
    pub precision_at_n: f64,
}

/// The forward check at the backtest cut-off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardCheck {
    /// The first day of the holdout (the calibration sees the days before it).
    pub cutoff: String,
    /// The last day of the holdout (the run's last day).
    pub last_day: String,
    /// Identified customers with holdout revenue.
    pub holdout_customers: usize,
    /// Their holdout revenue.
    pub holdout_revenue: f64,
    /// Each method, then the naive ranking at each method's N.
    pub rows: Vec<ForwardRow>,
}

/// The comparison (`answers.json` key `beside_study`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beside {
    /// The configured method, then the other.
    pub methods: Vec<MethodSide>,
    /// Customers who are Insiders of both.
    pub both: usize,
    /// Jaccard index of the two sets of Insiders (1 when both are empty; `None` when the
    /// other method was not run).
    pub jaccard: Option<f64>,
    /// The forward check, when the run has calibration data.
    pub forward_check: Option<ForwardCheck>,
    /// Why a part is missing (no calibration data, the other method skipped), if one is.
    pub note: Option<String>,
}

/// One method's Insiders over the rows of a customer table.
#[derive(Debug, Clone, Copy)]
pub struct Chosen<'a> {
    /// Its name.
    pub method: &'a str,
    /// Whether each row is an Insider.
    pub insider: &'a [bool],
}

/// Sizes, overlap and revenue shares of two methods' Insiders over the rows of `table`
/// (`anonymous`: which rows are anonymous invoices).
///
/// # Errors
/// [`AnalysisError::TooLittleData`] when a mask's length is not the table's.
pub fn sides(
    table: &CustomerTable,
    anonymous: &[bool],
    a: Chosen<'_>,
    b: Chosen<'_>,
) -> Result<Beside, AnalysisError> {
    let rev = table.column("gross_revenue")?;
    let n = table.len();
    for m in [a.insider, b.insider, anonymous] {
        if m.len() != n {
            return Err(AnalysisError::TooLittleData(format!(
                "a selection of {} rows against a table of {n}",
                m.len()
            )));
        }
    }
    let total: f64 = rev.iter().sum();
    let side = |c: Chosen<'_>| {
        let rows = (0..n).filter(|&i| c.insider[i]);
        MethodSide {
            method: c.method.to_string(),
            insiders: rows.clone().count(),
            anonymous: rows.clone().filter(|&i| anonymous[i]).count(),
            share_revenue: if total > 0.0 {
                rows.map(|i| rev[i]).sum::<f64>() / total
            } else {
                0.0
            },
        }
    };
    Ok(Beside {
        methods: vec![side(a), side(b)],
        both: (0..n).filter(|&i| a.insider[i] && b.insider[i]).count(),
        jaccard: Some(jaccard_masks(a.insider, b.insider).unwrap_or(1.0)),
        forward_check: None,
        note: None,
    })
}

/// The forward check: `chosen` are masks over the rows of `calibration` (the customer table
/// before `cutoff`); `full` is the run's table, whose last day is `last_day`.
///
/// # Errors
/// [`AnalysisError::TooLittleData`] when a mask's length is not the calibration table's;
/// a missing `gross_revenue` column.
pub fn forward_check(
    full: &CustomerTable,
    full_anonymous: &[bool],
    calibration: &CustomerTable,
    calibration_anonymous: &[bool],
    chosen: &[Chosen<'_>],
    cutoff: i64,
    last_day: i64,
) -> Result<ForwardCheck, AnalysisError> {
    let full_rev = full.column("gross_revenue")?;
    let cal_rev = calibration.column("gross_revenue")?;
    let nc = calibration.len();
    // Rows of the universe: the identified customers of the run's table.
    let rows: Vec<usize> = (0..full.len()).filter(|&i| !full_anonymous[i]).collect();
    let ids: Vec<u32> = rows.iter().map(|&i| full.customer_id[i]).collect();
    let past_row = |id: u32| calibration.customer_id.binary_search(&id).ok();
    let past: Vec<f64> = ids
        .iter()
        .map(|&id| past_row(id).map_or(f64::NEG_INFINITY, |r| cal_rev[r]))
        .collect();
    let known: Vec<bool> = past.iter().map(|v| v.is_finite()).collect();
    let future: Vec<f64> = rows
        .iter()
        .zip(&past)
        .map(|(&i, &p)| {
            let f = full_rev[i] - if p.is_finite() { p } else { 0.0 };
            // A difference of two sums of the same lines: rounding, not revenue.
            if f.abs() <= 1e-9 * full_rev[i].abs().max(1.0) {
                0.0
            } else {
                f
            }
        })
        .collect();
    let buyer: Vec<bool> = future.iter().map(|&f| f > 0.0).collect();
    let holdout_revenue: f64 = future.iter().filter(|&&f| f > 0.0).sum();
    let judge = |method: String, mask: &[bool]| {
        let n = mask.iter().filter(|&&b| b).count();
        let top = top_n(&future, &buyer, n);
        let hits = mask.iter().zip(&top).filter(|&(&a, &b)| a && b).count();
        let part: f64 = (0..mask.len())
            .filter(|&j| mask[j] && buyer[j])
            .map(|j| future[j])
            .sum();
        ForwardRow {
            method,
            n,
            share_of_holdout_revenue: if holdout_revenue > 0.0 {
                part / holdout_revenue
            } else {
                0.0
            },
            precision_at_n: if n == 0 { 0.0 } else { hits as f64 / n as f64 },
        }
    };
    let mut out = Vec::new();
    let mut ns = Vec::new();
    for c in chosen {
        if c.insider.len() != nc || calibration_anonymous.len() != nc {
            return Err(AnalysisError::TooLittleData(format!(
                "a selection of {} rows against a calibration table of {nc}",
                c.insider.len()
            )));
        }
        let mask: Vec<bool> = ids
            .iter()
            .map(|&id| past_row(id).is_some_and(|r| c.insider[r] && !calibration_anonymous[r]))
            .collect();
        let row = judge(c.method.to_string(), &mask);
        if !ns.contains(&row.n) {
            ns.push(row.n);
        }
        out.push(row);
    }
    for n in ns {
        let naive = top_n(&past, &known, n);
        out.push(judge(format!("naive (past revenue, N = {n})"), &naive));
    }
    Ok(ForwardCheck {
        cutoff: insiders_ingest::date::format_day(cutoff),
        last_day: insiders_ingest::date::format_day(last_day),
        holdout_customers: buyer.iter().filter(|&&b| b).count(),
        holdout_revenue,
        rows: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(ids: &[u32], revenue: &[f64]) -> CustomerTable {
        CustomerTable {
            customer_id: ids.to_vec(),
            columns: vec!["gross_revenue".into()],
            values: vec![revenue.to_vec()],
            unavailable: Vec::new(),
        }
    }

    #[test]
    fn sizes_overlap_and_shares() {
        let t = table(&[1, 2, 3, 4], &[50.0, 30.0, 15.0, 5.0]);
        let anon = [false, false, false, true];
        let a = [true, true, false, false];
        let b = [true, false, false, true];
        let s = sides(
            &t,
            &anon,
            Chosen {
                method: "configured",
                insider: &a,
            },
            Chosen {
                method: "study preset",
                insider: &b,
            },
        )
        .unwrap();
        assert_eq!((s.methods[0].insiders, s.methods[0].anonymous), (2, 0));
        assert_eq!((s.methods[1].insiders, s.methods[1].anonymous), (2, 1));
        assert!((s.methods[0].share_revenue - 0.8).abs() < 1e-12);
        assert!((s.methods[1].share_revenue - 0.55).abs() < 1e-12);
        assert_eq!(s.both, 1);
        assert!((s.jaccard.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!(sides(&t, &anon[..3], s_chosen(&a), s_chosen(&b)).is_err());
    }

    fn s_chosen(m: &[bool]) -> Chosen<'_> {
        Chosen {
            method: "m",
            insider: m,
        }
    }

    #[test]
    fn the_forward_check_by_hand() {
        // Before the cut-off: customers 1..4 (4 anonymous) with revenue 100, 80, 60, 500.
        // After: customer 1 buys 10 more, 2 buys 90, 3 nothing, new customer 5 buys 50.
        let cal = table(&[1, 2, 3, 4], &[100.0, 80.0, 60.0, 500.0]);
        let full = table(&[1, 2, 3, 4, 5], &[110.0, 170.0, 60.0, 500.0, 50.0]);
        let cal_anon = [false, false, false, true];
        let full_anon = [false, false, false, true, false];
        // The method chose 2 and 3 (and the anonymous 4, which does not count).
        let m = [false, true, true, true];
        let f = forward_check(&full, &full_anon, &cal, &cal_anon, &[s_chosen(&m)], 10, 20).unwrap();
        // Holdout revenue: 10 + 90 + 50 = 150, three buyers.
        assert_eq!((f.holdout_customers, f.holdout_revenue), (3, 150.0));
        // The method: N = 2 (2, 3): 90 / 150; top 2 spenders are 2 and 5: precision 1/2.
        assert_eq!(f.rows[0].n, 2);
        assert!((f.rows[0].share_of_holdout_revenue - 0.6).abs() < 1e-12);
        assert_eq!(f.rows[0].precision_at_n, 0.5);
        // Naive at N = 2: customers 1 and 2 (past 100, 80): 100 / 150, precision 1/2.
        assert_eq!(f.rows[1].method, "naive (past revenue, N = 2)");
        assert!((f.rows[1].share_of_holdout_revenue - 100.0 / 150.0).abs() < 1e-12);
        assert_eq!(f.rows[1].precision_at_n, 0.5);
    }
}
