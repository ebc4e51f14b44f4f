//! Backtest of the BG/NBD + Gamma-Gamma revenue prediction against actuals and a baseline.

use std::collections::{BTreeMap, BTreeSet};

use super::{BgNbd, BgNbdFit, Event, GammaGamma, GammaGammaFit, summarise};
use crate::StatsError;

/// One calibration customer's holdout prediction and outcome.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CustomerPrediction {
    /// The customer's id.
    pub customer: u32,
    /// Whether the customer is in the group passed to [`backtest`].
    pub in_group: bool,
    /// BG/NBD probability of being alive at the cut-off.
    pub prob_alive: f64,
    /// BG/NBD expected number of purchase days in the holdout.
    pub expected_purchases: f64,
    /// Gamma-Gamma expected value of one purchase day.
    pub expected_value: f64,
    /// The model's predicted holdout revenue (`expected_purchases * expected_value`).
    pub predicted: f64,
    /// The naive baseline: calibration revenue per observed day × holdout days.
    pub baseline: f64,
    /// The actual holdout revenue.
    pub actual: f64,
    /// The actual number of purchase days in the holdout.
    pub actual_purchases: u32,
}

/// Errors of one predictor (model or baseline) on a set of customers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ErrorSummary {
    /// Sum of the predictions.
    pub predicted_total: f64,
    /// Signed error of the total: `predicted_total - actual_total`.
    pub error: f64,
    /// `|predicted_total - actual_total|`.
    pub abs_error: f64,
    /// `|predicted_total - actual_total| / actual_total` (NaN when the actual total is 0).
    pub rel_error: f64,
    /// Customer-level mean absolute error.
    pub mae: f64,
    /// Customer-level root mean squared error.
    pub rmse: f64,
}

/// Model and baseline scores on one set of customers.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BacktestScores {
    /// Number of customers scored.
    pub n_customers: usize,
    /// Their actual holdout revenue.
    pub actual_total: f64,
    /// The BG/NBD + Gamma-Gamma prediction.
    pub model: ErrorSummary,
    /// The naive run-rate baseline.
    pub baseline: ErrorSummary,
}

/// The result of [`backtest`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Backtest {
    /// Last calibration day (inclusive).
    pub cutoff_day: i64,
    /// Last holdout day (inclusive).
    pub end_day: i64,
    /// Holdout length in days (`end_day - cutoff_day`).
    pub holdout_days: f64,
    /// The BG/NBD fit on the calibration events.
    pub bgnbd: BgNbdFit,
    /// The Gamma-Gamma fit on the calibration events.
    pub gamma_gamma: GammaGammaFit,
    /// Scores over every calibration customer.
    pub everyone: BacktestScores,
    /// Scores over the calibration customers in the group (`None` without a group).
    pub group: Option<BacktestScores>,
    /// Group members with no purchase up to the cut-off (not predictable, not scored).
    pub group_unseen: usize,
    /// Customers whose first purchase is in the holdout (not scored).
    pub new_customers: usize,
    /// Their holdout revenue (not part of any actual total above).
    pub new_customer_revenue: f64,
    /// Per-customer predictions, ascending by customer id.
    pub customers: Vec<CustomerPrediction>,
}

fn error_summary<F: Fn(&CustomerPrediction) -> f64>(
    rows: &[&CustomerPrediction],
    f: F,
) -> ErrorSummary {
    let n = rows.len().max(1) as f64;
    let actual: f64 = rows.iter().map(|c| c.actual).sum();
    let predicted: f64 = rows.iter().map(|c| f(c)).sum();
    let mae = rows.iter().map(|c| (f(c) - c.actual).abs()).sum::<f64>() / n;
    let mse = rows.iter().map(|c| (f(c) - c.actual).powi(2)).sum::<f64>() / n;
    let error = predicted - actual;
    ErrorSummary {
        predicted_total: predicted,
        error,
        abs_error: error.abs(),
        rel_error: if actual != 0.0 {
            error.abs() / actual.abs()
        } else {
            f64::NAN
        },
        mae,
        rmse: mse.sqrt(),
    }
}

fn scores(rows: &[&CustomerPrediction]) -> BacktestScores {
    BacktestScores {
        n_customers: rows.len(),
        actual_total: rows.iter().map(|c| c.actual).sum(),
        model: error_summary(rows, |c| c.predicted),
        baseline: error_summary(rows, |c| c.baseline),
    }
}

/// Calibrates BG/NBD and Gamma-Gamma on the events on or before `cutoff_day`, predicts each
/// calibration customer's revenue in `(cutoff_day, end_day]`, and compares with the actual
/// revenue there, for everyone and for the optional `group` (customer ids; duplicates and ids
/// never seen are allowed).
///
/// The baseline predicts `total calibration revenue / (T + 1) × holdout days`, where `T + 1`
/// is the number of days the customer was observed (first purchase day to cut-off,
/// inclusive): a customer's run rate carried forward. Customers first seen in the holdout
/// cannot be predicted by either and are counted apart ([`Backtest::new_customers`]).
///
/// # Errors
/// [`StatsError::Param`] when `end_day <= cutoff_day`; the errors of [`summarise`],
/// [`BgNbd::fit`], [`GammaGamma::fit`] and of the predictions (e.g. a fitted `q <= 1`).
pub fn backtest(
    events: &[Event],
    cutoff_day: i64,
    end_day: i64,
    group: Option<&[u32]>,
) -> Result<Backtest, StatsError> {
    if end_day <= cutoff_day {
        return Err(StatsError::param(
            "end_day",
            format!("must be after the cut-off day {cutoff_day}, got {end_day}"),
        ));
    }
    let summaries = summarise(events, cutoff_day)?;
    let bgnbd = BgNbd::fit(&summaries)?;
    let gamma_gamma = GammaGamma::fit(&summaries)?;
    let horizon = (end_day - cutoff_day) as f64;

    // holdout revenue and purchase days per customer
    let mut holdout: BTreeMap<u32, (f64, BTreeSet<i64>)> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.day > cutoff_day && e.day <= end_day)
    {
        let h = holdout.entry(e.customer).or_default();
        h.0 += e.value;
        h.1.insert(e.day);
    }
    let group_set: Option<BTreeSet<u32>> = group.map(|g| g.iter().copied().collect());
    let mut customers = Vec::with_capacity(summaries.len());
    for s in &summaries {
        let x = f64::from(s.frequency);
        let expected_purchases = bgnbd
            .model
            .expected_purchases(horizon, x, s.recency, s.age)?;
        let expected_value = gamma_gamma
            .model
            .conditional_expected_value(x, s.monetary)?;
        let (actual, days) = holdout
            .get(&s.customer)
            .map_or((0.0, 0), |(v, d)| (*v, d.len() as u32));
        customers.push(CustomerPrediction {
            customer: s.customer,
            in_group: group_set.as_ref().is_some_and(|g| g.contains(&s.customer)),
            prob_alive: bgnbd.model.prob_alive(x, s.recency, s.age)?,
            expected_purchases,
            expected_value,
            predicted: expected_purchases * expected_value,
            baseline: s.total_value / (s.age + 1.0) * horizon,
            actual,
            actual_purchases: days,
        });
    }
    let seen: BTreeSet<u32> = summaries.iter().map(|s| s.customer).collect();
    let (mut new_customers, mut new_customer_revenue) = (0, 0.0);
    for (c, (v, _)) in &holdout {
        if !seen.contains(c) {
            new_customers += 1;
            new_customer_revenue += v;
        }
    }
    let all: Vec<&CustomerPrediction> = customers.iter().collect();
    let everyone = scores(&all);
    let (group_scores, group_unseen) = match &group_set {
        Some(g) => {
            let rows: Vec<&CustomerPrediction> = customers.iter().filter(|c| c.in_group).collect();
            (
                Some(scores(&rows)),
                g.iter().filter(|c| !seen.contains(c)).count(),
            )
        }
        None => (None, 0),
    };
    Ok(Backtest {
        cutoff_day,
        end_day,
        holdout_days: horizon,
        bgnbd,
        gamma_gamma,
        everyone,
        group: group_scores,
        group_unseen,
        new_customers,
        new_customer_revenue,
        customers,
    })
}
