//! Customer-lifetime value: how many purchases and how much revenue to expect from each
//! customer, from their purchase history alone.
//!
//! - [`summarise`] turns purchase events into the RFM summary the models read
//!   ([`CustomerSummary`]: frequency `x`, recency `t_x`, age `T`, mean repeat spend `m`), at
//!   daily resolution as `lifetimes.utils.summary_data_from_transaction_data(freq="D")` does;
//! - [`BgNbd`] (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models the
//!   number of repeat purchases of a non-contractual customer base, fitted by maximum
//!   likelihood;
//! - [`GammaGamma`] (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The
//!   Gamma-Gamma model of monetary value") models the mean spend per purchase;
//! - [`backtest`] calibrates both on events up to a cut-off and scores their predictions of
//!   each customer's revenue over a holdout period against the actual revenue and against a
//!   naive run-rate baseline;
//! - [`forecast`] fits both on all events and predicts a group's revenue period by period,
//!   with a simulated uncertainty band;
//! - [`SeasonalProfile`] estimates a month-of-year profile of the repeat-purchase rate from
//!   the calibration period; [`Models::fit_seasonal`] runs both models on its clock;
//! - [`compare_candidates`] backtests every [`Candidate`] forecast (BG/NBD + Gamma-Gamma,
//!   plain and seasonal, the run rate, plain and seasonal, and the seasonal naive) on a
//!   group and chooses one by [`choice_rule`]; [`point_forecast`] is the forecast of the
//!   candidates without a probability model.
//!
//! Time is measured in days (`i64` day numbers, e.g. days since 1970-01-01), so model rates
//! are per day.
//!
//! # Example
//! ```
//! use insiders_stats::clv::{Event, summarise, BgNbd};
//!
//! let events = vec![
//!     Event { customer: 1, day: 0, value: 10.0 },
//!     Event { customer: 1, day: 0, value: 5.0 },   // same day: one purchase of 15
//!     Event { customer: 1, day: 30, value: 20.0 },
//!     Event { customer: 1, day: 50, value: 40.0 },
//!     Event { customer: 2, day: 10, value: 8.0 },
//! ];
//! let s = summarise(&events, 60)?;
//! assert_eq!((s[0].frequency, s[0].recency, s[0].age, s[0].monetary), (2, 50.0, 60.0, 30.0));
//! assert_eq!((s[1].frequency, s[1].recency, s[1].age, s[1].monetary), (0, 0.0, 50.0, 0.0));
//! let model = BgNbd::new(0.25, 4.4, 0.8, 2.4)?;
//! let alive = model.prob_alive(2.0, 50.0, 60.0)?;
//! assert!(alive > 0.0 && alive < 1.0);
//! # Ok::<(), insiders_stats::StatsError>(())
//! ```

mod backtest;
mod bgnbd;
mod candidates;
mod forecast;
mod gamma_gamma;
mod seasonal;

pub use backtest::{Backtest, BacktestScores, CustomerPrediction, ErrorSummary, backtest};
pub use bgnbd::{AtBound, BgNbd, BgNbdFit};
pub use candidates::{
    Candidate, CandidateScore, Comparison, PointForecast, choice_rule, compare_candidates,
    point_forecast,
};
pub use forecast::{CustomerForecast, Forecast, ForecastConfig, ForecastPeriod, Models, forecast};
pub use gamma_gamma::{GammaGamma, GammaGammaFit};
pub use seasonal::{MIN_EXPECTED_REPEATS, MIN_MULTIPLIER, SeasonalProfile};

use crate::StatsError;

/// One purchase: who, when (a day number), and its value (e.g. revenue).
///
/// Several events of one customer on one day count as one purchase whose value is their sum
/// (the daily resolution of the models).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Event {
    /// The customer's id.
    pub customer: u32,
    /// The day of the purchase (any fixed origin; only differences matter).
    pub day: i64,
    /// The value of the purchase (revenue); must be finite.
    pub value: f64,
}

/// The RFM summary of one customer at a calibration end day (lifetimes' convention).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CustomerSummary {
    /// The customer's id.
    pub customer: u32,
    /// `x`: the number of repeat purchase days (distinct purchase days minus one).
    pub frequency: u32,
    /// `t_x`: days from the first to the last purchase day.
    pub recency: f64,
    /// `T`: days from the first purchase day to the calibration end day.
    pub age: f64,
    /// `m`: mean value of the repeat purchase days (the first day excluded); 0 when `x = 0`.
    pub monetary: f64,
    /// Total value of all purchases up to the calibration end, the first day included.
    pub total_value: f64,
    /// The first purchase day.
    pub first_day: i64,
}

/// Summarises the events on or before `calibration_end_day` into one [`CustomerSummary`] per
/// customer, ascending by customer id. Events after the end are ignored.
///
/// # Errors
/// [`StatsError::Empty`] when no event falls on or before the end day,
/// [`StatsError::NonFinite`] for a NaN or infinite value.
pub fn summarise(
    events: &[Event],
    calibration_end_day: i64,
) -> Result<Vec<CustomerSummary>, StatsError> {
    if let Some(index) = events.iter().position(|e| !e.value.is_finite()) {
        return Err(StatsError::NonFinite {
            what: "event values",
            index,
            value: events[index].value,
        });
    }
    let mut kept: Vec<(u32, i64, f64)> = events
        .iter()
        .filter(|e| e.day <= calibration_end_day)
        .map(|e| (e.customer, e.day, e.value))
        .collect();
    if kept.is_empty() {
        return Err(StatsError::Empty {
            what: "events on or before the calibration end day",
        });
    }
    // stable sort: values of one day are summed in input order
    kept.sort_by_key(|&(c, d, _)| (c, d));
    let mut out = Vec::new();
    let mut i = 0;
    while i < kept.len() {
        let customer = kept[i].0;
        let first_day = kept[i].1;
        let mut last_day = first_day;
        let mut n_days = 0u32;
        let mut repeat_sum = 0.0;
        let mut total = 0.0;
        while i < kept.len() && kept[i].0 == customer {
            let day = kept[i].1;
            let mut day_value = 0.0;
            while i < kept.len() && kept[i].0 == customer && kept[i].1 == day {
                day_value += kept[i].2;
                i += 1;
            }
            if n_days > 0 {
                repeat_sum += day_value;
            }
            total += day_value;
            n_days += 1;
            last_day = day;
        }
        let frequency = n_days - 1;
        out.push(CustomerSummary {
            customer,
            frequency,
            recency: (last_day - first_day) as f64,
            age: (calibration_end_day - first_day) as f64,
            monetary: if frequency > 0 {
                repeat_sum / f64::from(frequency)
            } else {
                0.0
            },
            total_value: total,
            first_day,
        });
    }
    Ok(out)
}

/// Checks one customer's `(x, t_x, T)`: finite, `x >= 0` whole, `0 <= t_x <= T`.
pub(crate) fn check_rft(x: f64, t_x: f64, age: f64) -> Result<(), StatsError> {
    for (what, v) in [("frequency x", x), ("recency t_x", t_x), ("age T", age)] {
        if !v.is_finite() {
            return Err(StatsError::NonFinite {
                what,
                index: 0,
                value: v,
            });
        }
        if v < 0.0 {
            return Err(StatsError::OutOfDomain {
                what,
                index: 0,
                value: v,
                rule: "must be >= 0",
            });
        }
    }
    if x.fract() != 0.0 {
        return Err(StatsError::OutOfDomain {
            what: "frequency x",
            index: 0,
            value: x,
            rule: "must be a whole number",
        });
    }
    if t_x > age {
        return Err(StatsError::OutOfDomain {
            what: "recency t_x",
            index: 0,
            value: t_x,
            rule: "must be <= age T",
        });
    }
    Ok(())
}

/// Checks every summary, naming the index of the first bad one.
pub(crate) fn check_summaries(customers: &[CustomerSummary]) -> Result<(), StatsError> {
    for (i, c) in customers.iter().enumerate() {
        check_rft(f64::from(c.frequency), c.recency, c.age).map_err(|e| match e {
            StatsError::NonFinite { what, value, .. } => StatsError::NonFinite {
                what,
                index: i,
                value,
            },
            StatsError::OutOfDomain {
                what, value, rule, ..
            } => StatsError::OutOfDomain {
                what,
                index: i,
                value,
                rule,
            },
            other => other,
        })?;
    }
    Ok(())
}

/// Above this many customers, [`BgNbd::fit`] and [`GammaGamma::fit`] (and the parameter
/// laws of the forecast's simulations) see a systematic sample of this many of them
/// ([`fit_sample`]): the fit's cost stops growing with the shop. Each fit's `n_fitted` says
/// how many it saw.
pub const FIT_SAMPLE_MAX: usize = 32_768;

/// The customers a fit sees: all of them up to [`FIT_SAMPLE_MAX`], otherwise the systematic
/// sample of `FIT_SAMPLE_MAX` rows `⌊i n / FIT_SAMPLE_MAX⌋` (rows are ascending by customer
/// id, so the sample is spread evenly over the ids; no randomness, the same rows every run).
pub fn fit_sample<T: Copy>(rows: &[T]) -> std::borrow::Cow<'_, [T]> {
    let n = rows.len();
    if n <= FIT_SAMPLE_MAX {
        return std::borrow::Cow::Borrowed(rows);
    }
    std::borrow::Cow::Owned(
        (0..FIT_SAMPLE_MAX)
            .map(|i| rows[(i as u128 * n as u128 / FIT_SAMPLE_MAX as u128) as usize])
            .collect(),
    )
}

/// Up to this many customers, the likelihoods are summed one term after another (the
/// study's and the real data's fits, bit for bit as before); above it, by
/// [`chunked_sum`].
pub(crate) const SEQUENTIAL_SUM_MAX: usize = 65_536;

/// The sum of `term` over `items` in fixed chunks of 4,096 (each summed in order, on the
/// rayon pool), the chunk sums added in order: the same bits whatever the thread count, and
/// a rounding error that grows with the number of chunks rather than of terms. A fit's
/// Nelder-Mead stops when its simplex's values agree within `1e-12` (mean log-likelihood);
/// a plain running sum of a million terms is noisier than that, and the search then ran to
/// its evaluation limit (230 s for a million customers on two cores).
pub(crate) fn chunked_sum<T: Sync>(items: &[T], term: impl Fn(&T) -> f64 + Sync) -> f64 {
    use rayon::prelude::*;
    let parts: Vec<f64> = items
        .par_chunks(4096)
        .map(|c| {
            let mut s = 0.0;
            for t in c {
                s += term(t);
            }
            s
        })
        .collect();
    let mut sum = 0.0;
    for p in parts {
        sum += p;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarise_rejects_bad_input() {
        assert!(matches!(summarise(&[], 10), Err(StatsError::Empty { .. })));
        let late = [Event {
            customer: 1,
            day: 11,
            value: 1.0,
        }];
        assert!(matches!(
            summarise(&late, 10),
            Err(StatsError::Empty { .. })
        ));
        let nan = [
            Event {
                customer: 1,
                day: 1,
                value: 1.0,
            },
            Event {
                customer: 1,
                day: 2,
                value: f64::NAN,
            },
        ];
        assert!(matches!(
            summarise(&nan, 10),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn check_rft_rules() {
        assert!(check_rft(2.0, 3.0, 5.0).is_ok());
        assert!(check_rft(2.5, 3.0, 5.0).is_err());
        assert!(check_rft(2.0, 6.0, 5.0).is_err());
        assert!(check_rft(-1.0, 0.0, 5.0).is_err());
        assert!(check_rft(1.0, f64::NAN, 5.0).is_err());
    }
}
