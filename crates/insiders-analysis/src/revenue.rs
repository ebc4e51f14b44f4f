//! Q5: the Insiders' expected revenue in the coming months (BG/NBD with Gamma-Gamma), and the
//! model's backtest against actuals and a naive baseline.

use crate::answers::Interval;
use serde::Serialize;
use std::collections::BTreeMap;

/// One month of revenue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthRevenue {
    /// `YYYY-MM`.
    pub month: String,
    /// The Insiders' revenue in it.
    pub insiders: f64,
    /// Every customer's.
    pub everyone: f64,
}

/// A group's holdout revenue: actual, predicted by the model, and by the naive baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestGroup {
    /// Customers of the group known at the cut-off.
    pub customers: usize,
    /// Actual revenue in the holdout.
    pub actual: f64,
    /// The model's prediction.
    pub model: f64,
    /// The naive baseline's (calibration revenue per day x holdout days).
    pub naive: f64,
    /// (model - actual) / actual.
    pub model_error: f64,
    /// (naive - actual) / actual.
    pub naive_error: f64,
    /// Mean absolute error per customer, model.
    pub model_mae: f64,
    /// Mean absolute error per customer, naive.
    pub naive_mae: f64,
}

/// The backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Last day of the calibration period (exclusive cut-off).
    pub calibration_end: String,
    /// Last day of the holdout.
    pub holdout_end: String,
    /// Holdout length in days.
    pub holdout_days: u32,
    /// The Insiders (of this run).
    pub insiders: BacktestGroup,
    /// Every customer.
    pub everyone: BacktestGroup,
}

/// Q5.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedRevenue {
    /// Months ahead.
    pub months: u32,
    /// The same, in days.
    pub horizon_days: f64,
    /// The Insiders' expected revenue over the horizon, with its band.
    pub insiders: Interval,
    /// Month by month.
    pub per_month: Vec<MonthForecast>,
    /// Every customer's expected revenue over the horizon.
    pub everyone: f64,
    /// BG/NBD parameters (r, alpha, a, b) and log-likelihood, fitted on all the data.
    pub bgnbd: BTreeMap<String, f64>,
    /// Gamma-Gamma parameters (p, q, v).
    pub gamma_gamma: BTreeMap<String, f64>,
    /// Parameters whose maximum-likelihood estimate sits at a bound of the search box (the
    /// likelihood is flat along a ridge there: e.g. no dropout, `a` -> 0; the predictions are
    /// identified, that parameter alone is not).
    pub at_bound: Vec<String>,
    /// The backtest.
    pub backtest: Option<Backtest>,
    /// Why there is no backtest, when there is none (too little history).
    pub backtest_skipped: Option<String>,
    /// Monthly revenue so far.
    pub monthly: Vec<MonthRevenue>,
    /// How the band was made.
    pub band_method: String,
}

/// One month ahead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthForecast {
    /// Months after the data end (1 = the first).
    pub month_ahead: u32,
    /// Expected revenue of the Insiders in it, with its band.
    pub insiders: Interval,
}

/// What Q5 produces beyond the answer: each Insider's probability of still being active.
#[derive(Debug, Clone, PartialEq)]
pub struct RevenueModel {
    /// The answer.
    pub answer: ExpectedRevenue,
    /// Insiders with a probability below 0.5 of still being active, ascending ids.
    pub likely_lapsed: Vec<u32>,
}

fn named(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

fn group_scores(s: &insiders_stats::clv::BacktestScores) -> BacktestGroup {
    BacktestGroup {
        customers: s.n_customers,
        actual: s.actual_total,
        model: s.model.predicted_total,
        naive: s.baseline.predicted_total,
        model_error: s.model.error / s.actual_total,
        naive_error: s.baseline.error / s.actual_total,
        model_mae: s.model.mae,
        naive_mae: s.baseline.mae,
    }
}

/// Fits BG/NBD and Gamma-Gamma on every customer's purchase days up to `end_day`, forecasts
/// the Insiders' revenue `months` ahead with a simulated band, and backtests the same
/// models with the last `holdout_days` held out.
pub fn expected_revenue(
    purchases: &[crate::events::DayPurchase],
    insiders: &[u32],
    end_day: i64,
    opts: &crate::options::ForecastOptions,
    seed: u64,
) -> Result<RevenueModel, crate::AnalysisError> {
    use insiders_stats::clv::{self, Event, ForecastConfig};
    let stats = |source| crate::AnalysisError::Stats {
        stage: "expected revenue (Q5)",
        source,
    };
    if opts.months == 0 {
        return Err(crate::AnalysisError::option(
            "forecast.months",
            "must be at least 1",
        ));
    }
    let events: Vec<Event> = purchases
        .iter()
        .map(|p| Event {
            customer: p.customer_id,
            day: p.day,
            value: p.value,
        })
        .collect();
    let month = 365.25 / 12.0;
    let config = ForecastConfig {
        period_days: vec![month; opts.months as usize],
        simulations: opts.simulations as usize,
        level: opts.band_level,
        seed,
        parameter_uncertainty: true,
    };
    // Fitted once; the Insiders' forecast and everyone's point forecast share the models.
    let models = clv::Models::fit(&events, end_day).map_err(stats)?;
    let fc = models.forecast(Some(insiders), &config).map_err(stats)?;
    let everyone = models
        .forecast(
            None,
            &ForecastConfig {
                simulations: 0,
                parameter_uncertainty: false,
                ..config.clone()
            },
        )
        .map_err(stats)?;
    let interval = |p: &clv::ForecastPeriod| Interval {
        estimate: p.expected,
        lo: p.low,
        hi: p.high,
        level: opts.band_level,
    };
    let cutoff = end_day - i64::from(opts.holdout_days);
    let (backtest, backtest_skipped) = match clv::backtest(&events, cutoff, end_day, Some(insiders))
    {
        Ok(b) => match &b.group {
            Some(g) => (
                Some(Backtest {
                    calibration_end: insiders_ingest::date::format_day(cutoff),
                    holdout_end: insiders_ingest::date::format_day(end_day),
                    holdout_days: opts.holdout_days,
                    insiders: group_scores(g),
                    everyone: group_scores(&b.everyone),
                }),
                None,
            ),
            None => (
                None,
                Some("no Insider was a customer before the cut-off".into()),
            ),
        },
        Err(e) => (None, Some(format!("the backtest could not be fitted: {e}"))),
    };
    let set: std::collections::BTreeSet<u32> = insiders.iter().copied().collect();
    let monthly_ins = crate::events::monthly_revenue(purchases, |c| set.contains(&c));
    let monthly_all = crate::events::monthly_revenue(purchases, |_| true);
    let monthly = monthly_ins
        .into_iter()
        .zip(monthly_all)
        .map(|((month, insiders), (_, everyone))| MonthRevenue {
            month,
            insiders,
            everyone,
        })
        .collect();
    let mut likely_lapsed: Vec<u32> = fc
        .customers
        .iter()
        .filter(|c| c.prob_alive < 0.5)
        .map(|c| c.customer)
        .collect();
    likely_lapsed.sort_unstable();
    let m = fc.bgnbd.model;
    let g = fc.gamma_gamma.model;
    let answer = ExpectedRevenue {
        months: opts.months,
        horizon_days: month * f64::from(opts.months),
        insiders: interval(&fc.total),
        per_month: fc
            .periods
            .iter()
            .enumerate()
            .map(|(i, p)| MonthForecast {
                month_ahead: i as u32 + 1,
                insiders: interval(p),
            })
            .collect(),
        everyone: everyone.total.expected,
        bgnbd: named(&[
            ("r", m.r),
            ("alpha", m.alpha),
            ("a", m.a),
            ("b", m.b),
            ("log_likelihood", fc.bgnbd.log_likelihood),
            ("customers", fc.bgnbd.n_customers as f64),
        ]),
        gamma_gamma: named(&[
            ("p", g.p),
            ("q", g.q),
            ("v", g.v),
            ("log_likelihood", fc.gamma_gamma.log_likelihood),
            ("customers", fc.gamma_gamma.n_customers as f64),
        ]),
        at_bound: fc
            .bgnbd
            .at_bound
            .iter()
            .map(|b| ("BG/NBD", b))
            .chain(fc.gamma_gamma.at_bound.iter().map(|b| ("Gamma-Gamma", b)))
            .map(|(m, b)| {
                format!(
                    "{m} {} at its {} bound {:e}",
                    b.parameter,
                    if b.lower { "lower" } else { "upper" },
                    b.bound
                )
            })
            .collect(),
        backtest,
        backtest_skipped,
        monthly,
        band_method: format!(
            "{} simulated futures of the Insiders' purchases and spend drawn from the fitted \
             models{}; the band is the central {:.0}% of them",
            fc.simulations,
            if fc.parameter_uncertainty_used {
                ", with the models' parameters drawn from their estimated sampling distribution"
            } else {
                ""
            },
            100.0 * opts.band_level
        ),
    };
    Ok(RevenueModel {
        answer,
        likely_lapsed,
    })
}
