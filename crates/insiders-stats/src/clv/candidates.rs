//! The forecast candidates of Q5, their backtest on a group of customers, and the rule that
//! chooses the forecast a run reports.
//!
//! Every candidate predicts each customer's revenue over a period after an end day from the
//! purchases up to that day:
//! - [`Candidate::BgNbd`]: BG/NBD expected purchase days × Gamma-Gamma expected value;
//! - [`Candidate::SeasonalBgNbd`]: the same on the seasonal clock of a [`SeasonalProfile`]
//!   estimated from the calibration ([`Models::fit_seasonal`]);
//! - [`Candidate::RunRate`]: the naive baseline, revenue per observed day (first purchase day
//!   to end day, inclusive) × the period's days;
//! - [`Candidate::SeasonalRunRate`]: revenue per seasonal day of observation × the period's
//!   seasonal days (the classical seasonally adjusted run rate);
//! - [`Candidate::SeasonalNaive`]: the customer's revenue in the same calendar window
//!   [`SEASONAL_NAIVE_LAG_DAYS`] days earlier; not applicable when the data do not reach
//!   back to the start of that window.
//!
//! [`compare_candidates`] fits every candidate on the events up to a cut-off, scores it on the
//! holdout against the actual revenue of a group and of everyone, and chooses one by
//! [`choice_rule`].

use std::collections::{BTreeMap, BTreeSet};

use super::forecast::expected_spend;
use super::seasonal::civil_from_days;
use super::{
    BgNbdFit, CustomerSummary, ErrorSummary, Event, GammaGammaFit, Models, SeasonalProfile,
    summarise,
};
use crate::StatsError;

/// How far back the seasonal naive looks: one calendar year of 365 days.
pub const SEASONAL_NAIVE_LAG_DAYS: i64 = 365;

/// A forecast of each customer's revenue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Candidate {
    /// BG/NBD + Gamma-Gamma.
    #[serde(rename = "bgnbd_gamma_gamma")]
    BgNbd,
    /// BG/NBD + Gamma-Gamma on the seasonal clock.
    #[serde(rename = "seasonal_bgnbd_gamma_gamma")]
    SeasonalBgNbd,
    /// Revenue per observed day carried forward (the naive baseline).
    #[serde(rename = "run_rate")]
    RunRate,
    /// Revenue per seasonal day carried forward over the period's seasonal days.
    #[serde(rename = "seasonal_run_rate")]
    SeasonalRunRate,
    /// The same calendar window a year earlier.
    #[serde(rename = "seasonal_naive")]
    SeasonalNaive,
}

impl Candidate {
    /// Every candidate, in the order of tables and of the last tie-break.
    pub const ALL: [Candidate; 5] = [
        Candidate::BgNbd,
        Candidate::SeasonalBgNbd,
        Candidate::RunRate,
        Candidate::SeasonalRunRate,
        Candidate::SeasonalNaive,
    ];

    /// The name in `answers.json`.
    pub fn name(self) -> &'static str {
        match self {
            Candidate::BgNbd => "bgnbd_gamma_gamma",
            Candidate::SeasonalBgNbd => "seasonal_bgnbd_gamma_gamma",
            Candidate::RunRate => "run_rate",
            Candidate::SeasonalRunRate => "seasonal_run_rate",
            Candidate::SeasonalNaive => "seasonal_naive",
        }
    }

    /// The name in words.
    pub fn label(self) -> &'static str {
        match self {
            Candidate::BgNbd => "BG/NBD + Gamma-Gamma",
            Candidate::SeasonalBgNbd => "seasonal BG/NBD + Gamma-Gamma",
            Candidate::RunRate => "naive run rate",
            Candidate::SeasonalRunRate => "seasonal run rate",
            Candidate::SeasonalNaive => "seasonal naive (a year earlier)",
        }
    }

    /// Whether the candidate is a probability model ([`Models`]), whose forecast has a
    /// simulated band.
    pub fn is_model(self) -> bool {
        matches!(self, Candidate::BgNbd | Candidate::SeasonalBgNbd)
    }
}

/// The rule of [`compare_candidates`], in words.
pub fn choice_rule() -> &'static str {
    "among the candidates no worse than the naive run rate on both the absolute error of the \
     group's total and the per-customer mean absolute error, the lowest absolute error of the \
     total, ties broken by the lower MAE (the run rate itself qualifies, so it is the \
     forecast when no candidate beats it on both)"
}

/// The candidates' inputs at an end day: the summaries, the fitted models and the past
/// events. Models that fail to fit make their candidate not applicable, with the reason.
struct Calibrated {
    end_day: i64,
    first_data_day: i64,
    summaries: Vec<CustomerSummary>,
    plain: Result<Models, String>,
    seasonal: Result<Models, String>,
    profile: SeasonalProfile,
    /// `(customer, day, value)` of the events up to the end day, sorted.
    past: Vec<(u32, i64, f64)>,
}

impl Calibrated {
    fn fit(events: &[Event], end_day: i64, which: &[Candidate]) -> Result<Self, StatsError> {
        let summaries = summarise(events, end_day)?;
        let first_data_day = events.iter().map(|e| e.day).min().unwrap_or(end_day);
        let not_asked = || Err("not fitted".to_string());
        let plain = if which.contains(&Candidate::BgNbd) {
            Models::fit(events, end_day).map_err(|e| e.to_string())
        } else {
            not_asked()
        };
        let seasonal = if which.contains(&Candidate::SeasonalBgNbd) {
            Models::fit_seasonal(events, end_day).map_err(|e| e.to_string())
        } else {
            not_asked()
        };
        let profile = match &seasonal {
            Ok(m) => m.profile.clone().unwrap_or_else(SeasonalProfile::flat),
            Err(_) => SeasonalProfile::estimate(events, end_day)?,
        };
        let mut past: Vec<(u32, i64, f64)> = if which.contains(&Candidate::SeasonalNaive) {
            events
                .iter()
                .filter(|e| e.day <= end_day)
                .map(|e| (e.customer, e.day, e.value))
                .collect()
        } else {
            Vec::new()
        };
        past.sort_by_key(|&(c, d, _)| (c, d));
        Ok(Calibrated {
            end_day,
            first_data_day,
            summaries,
            plain,
            seasonal,
            profile,
            past,
        })
    }

    /// Each summary customer's predicted revenue in `(end + from, end + to]` (calendar days),
    /// or why the candidate does not apply.
    fn predict(&self, c: Candidate, from: f64, to: f64) -> Result<Vec<f64>, String> {
        let end = self.end_day as f64;
        match c {
            Candidate::BgNbd | Candidate::SeasonalBgNbd => {
                let m = if c == Candidate::BgNbd {
                    &self.plain
                } else {
                    &self.seasonal
                };
                let m = m
                    .as_ref()
                    .map_err(|e| format!("the models could not be fitted: {e}"))?;
                let (bg, gg) = (m.bgnbd.model, m.gamma_gamma.model);
                let (t0, t1) = (m.model_days(from), m.model_days(to));
                m.summaries()
                    .iter()
                    .map(|s| {
                        let x = f64::from(s.frequency);
                        let n1 = bg.expected_purchases(t1, x, s.recency, s.age)?;
                        let n0 = if t0 > 0.0 {
                            bg.expected_purchases(t0, x, s.recency, s.age)?
                        } else {
                            0.0
                        };
                        Ok((n1 - n0) * expected_spend(&gg, x, s.monetary)?)
                    })
                    .collect::<Result<Vec<f64>, StatsError>>()
                    .map_err(|e| e.to_string())
            }
            Candidate::RunRate => Ok(self
                .summaries
                .iter()
                .map(|s| s.total_value / (s.age + 1.0) * (to - from))
                .collect()),
            Candidate::SeasonalRunRate => {
                let ahead = self.profile.integral(end + from, end + to);
                Ok(self
                    .summaries
                    .iter()
                    .map(|s| {
                        s.total_value / self.profile.days_between(s.first_day - 1, self.end_day)
                            * ahead
                    })
                    .collect())
            }
            Candidate::SeasonalNaive => {
                let lag = SEASONAL_NAIVE_LAG_DAYS as f64;
                let (lo, hi) = (end + from - lag, end + to - lag);
                let first_window_day = lo.floor() as i64 + 1;
                if hi > end {
                    return Err(format!(
                        "the period is longer than {SEASONAL_NAIVE_LAG_DAYS} days"
                    ));
                }
                if first_window_day < self.first_data_day {
                    let ymd = |d: i64| {
                        let (y, m, dd) = civil_from_days(d);
                        format!("{y:04}-{m:02}-{dd:02}")
                    };
                    return Err(format!(
                        "the data start on {}, {} days after the start of the same window a \
                         year earlier ({})",
                        ymd(self.first_data_day),
                        self.first_data_day - first_window_day,
                        ymd(first_window_day)
                    ));
                }
                let mut by_customer: BTreeMap<u32, f64> = BTreeMap::new();
                for &(cust, day, v) in &self.past {
                    let d = day as f64;
                    if d > lo && d <= hi {
                        *by_customer.entry(cust).or_insert(0.0) += v;
                    }
                }
                Ok(self
                    .summaries
                    .iter()
                    .map(|s| by_customer.get(&s.customer).copied().unwrap_or(0.0))
                    .collect())
            }
        }
    }
}

/// One candidate's backtest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CandidateScore {
    /// The candidate.
    pub candidate: Candidate,
    /// Why it does not apply (then it has no scores and is not chosen).
    pub not_applicable: Option<String>,
    /// Its errors on the group.
    pub group: Option<ErrorSummary>,
    /// Its errors on every calibration customer.
    pub everyone: Option<ErrorSummary>,
    /// Whether [`choice_rule`] chose it.
    pub chosen: bool,
}

/// The result of [`compare_candidates`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Last calibration day (inclusive).
    pub cutoff_day: i64,
    /// Last holdout day (inclusive).
    pub end_day: i64,
    /// Holdout length in days.
    pub holdout_days: f64,
    /// Group members with a purchase up to the cut-off (the customers scored).
    pub group_customers: usize,
    /// Their actual holdout revenue.
    pub group_actual: f64,
    /// Group members without a purchase up to the cut-off (not scored).
    pub group_unseen: usize,
    /// Every calibration customer.
    pub everyone_customers: usize,
    /// Their actual holdout revenue.
    pub everyone_actual: f64,
    /// Customers whose first purchase is in the holdout (no candidate can see them).
    pub new_customers: usize,
    /// Their holdout revenue.
    pub new_customer_revenue: f64,
    /// Every candidate, in [`Candidate::ALL`] order.
    pub candidates: Vec<CandidateScore>,
    /// The chosen candidate.
    pub chosen: Candidate,
    /// The seasonal profile of the calibration.
    pub profile: SeasonalProfile,
    /// The calibration's BG/NBD fit (calendar days), when it succeeded.
    pub bgnbd: Option<BgNbdFit>,
    /// The calibration's BG/NBD fit on the seasonal clock, when it succeeded.
    pub seasonal_bgnbd: Option<BgNbdFit>,
    /// The calibration's Gamma-Gamma fit, when it succeeded.
    pub gamma_gamma: Option<GammaGammaFit>,
}

impl Comparison {
    /// The score of one candidate.
    pub fn score(&self, c: Candidate) -> Option<&CandidateScore> {
        self.candidates.iter().find(|s| s.candidate == c)
    }
}

fn error_summary(pred: &[f64], actual: &[f64], rows: &[usize]) -> ErrorSummary {
    let n = rows.len().max(1) as f64;
    let (mut p, mut a, mut abs, mut sq) = (0.0, 0.0, 0.0, 0.0);
    for &i in rows {
        p += pred[i];
        a += actual[i];
        abs += (pred[i] - actual[i]).abs();
        sq += (pred[i] - actual[i]).powi(2);
    }
    let error = p - a;
    ErrorSummary {
        predicted_total: p,
        error,
        abs_error: error.abs(),
        rel_error: if a != 0.0 {
            error.abs() / a.abs()
        } else {
            f64::NAN
        },
        mae: abs / n,
        rmse: (sq / n).sqrt(),
    }
}

/// Chooses among scored candidates by [`choice_rule`]; `None` without a scored run rate.
fn choose(scores: &[CandidateScore]) -> Option<Candidate> {
    let naive = scores
        .iter()
        .find(|s| s.candidate == Candidate::RunRate)?
        .group?;
    scores
        .iter()
        .filter_map(|s| s.group.map(|g| (s.candidate, g)))
        .filter(|(_, g)| g.abs_error <= naive.abs_error && g.mae <= naive.mae)
        .min_by(|(ca, a), (cb, b)| {
            a.abs_error
                .total_cmp(&b.abs_error)
                .then(a.mae.total_cmp(&b.mae))
                .then(ca.cmp(cb))
        })
        .map(|(c, _)| c)
}

/// Fits every candidate on the events on or before `cutoff_day`, predicts each calibration
/// customer's revenue in `(cutoff_day, end_day]`, scores the predictions against the actual
/// revenue of the `group` (customer ids; duplicates and ids never seen are allowed) and of
/// every calibration customer, and chooses a candidate by [`choice_rule`] on the group.
///
/// Candidates that do not apply (a model that cannot be fitted, a seasonal naive without a
/// year of history) are listed with the reason and never chosen. Customers first seen in the
/// holdout are counted apart.
///
/// # Errors
/// [`StatsError::Param`] when `end_day <= cutoff_day`; [`StatsError::Empty`] when no group
/// member bought anything up to the cut-off; the errors of [`summarise`] and of
/// [`SeasonalProfile::estimate`].
pub fn compare_candidates(
    events: &[Event],
    cutoff_day: i64,
    end_day: i64,
    group: &[u32],
) -> Result<Comparison, StatsError> {
    if end_day <= cutoff_day {
        return Err(StatsError::param(
            "end_day",
            format!("must be after the cut-off day {cutoff_day}, got {end_day}"),
        ));
    }
    let cal = Calibrated::fit(events, cutoff_day, &Candidate::ALL)?;
    let horizon = (end_day - cutoff_day) as f64;
    let mut holdout: BTreeMap<u32, f64> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.day > cutoff_day && e.day <= end_day)
    {
        *holdout.entry(e.customer).or_insert(0.0) += e.value;
    }
    let actual: Vec<f64> = cal
        .summaries
        .iter()
        .map(|s| holdout.get(&s.customer).copied().unwrap_or(0.0))
        .collect();
    let group_set: BTreeSet<u32> = group.iter().copied().collect();
    let seen: BTreeSet<u32> = cal.summaries.iter().map(|s| s.customer).collect();
    let group_rows: Vec<usize> = (0..cal.summaries.len())
        .filter(|&i| group_set.contains(&cal.summaries[i].customer))
        .collect();
    if group_rows.is_empty() {
        return Err(StatsError::Empty {
            what: "group members with a purchase up to the cut-off",
        });
    }
    let all_rows: Vec<usize> = (0..cal.summaries.len()).collect();
    let mut candidates: Vec<CandidateScore> = Candidate::ALL
        .iter()
        .map(|&c| match cal.predict(c, 0.0, horizon) {
            Ok(pred) => CandidateScore {
                candidate: c,
                not_applicable: None,
                group: Some(error_summary(&pred, &actual, &group_rows)),
                everyone: Some(error_summary(&pred, &actual, &all_rows)),
                chosen: false,
            },
            Err(why) => CandidateScore {
                candidate: c,
                not_applicable: Some(why),
                group: None,
                everyone: None,
                chosen: false,
            },
        })
        .collect();
    let chosen = choose(&candidates).unwrap_or(Candidate::RunRate);
    for s in &mut candidates {
        s.chosen = s.candidate == chosen;
    }
    let (mut new_customers, mut new_customer_revenue) = (0, 0.0);
    for (c, v) in &holdout {
        if !seen.contains(c) {
            new_customers += 1;
            new_customer_revenue += v;
        }
    }
    Ok(Comparison {
        cutoff_day,
        end_day,
        holdout_days: horizon,
        group_customers: group_rows.len(),
        group_actual: group_rows.iter().map(|&i| actual[i]).sum(),
        group_unseen: group_set.iter().filter(|c| !seen.contains(c)).count(),
        everyone_customers: all_rows.len(),
        everyone_actual: actual.iter().sum(),
        new_customers,
        new_customer_revenue,
        candidates,
        chosen,
        bgnbd: cal.plain.as_ref().ok().map(|m| m.bgnbd.clone()),
        seasonal_bgnbd: cal.seasonal.as_ref().ok().map(|m| m.bgnbd.clone()),
        gamma_gamma: cal.plain.as_ref().ok().map(|m| m.gamma_gamma.clone()),
        profile: cal.profile,
    })
}

/// A candidate's point forecast of a group's revenue, period by period.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PointForecast {
    /// The candidate.
    pub candidate: Candidate,
    /// The group's expected revenue in each period.
    pub periods: Vec<f64>,
    /// Over the whole horizon.
    pub total: f64,
    /// Group members with a purchase history (the customers forecast).
    pub n_customers: usize,
    /// Group members without any purchase up to the end day (forecast as zero).
    pub group_unseen: usize,
    /// `(customer, expected revenue over the horizon)`, ascending by id.
    pub customers: Vec<(u32, f64)>,
}

/// `candidate`'s forecast of the revenue of `group` (every customer when `None`) in each
/// period of `period_days` (days, in order, starting the day after `end_day`), fitted on the
/// events up to `end_day`. The point forecast only; the models' band comes from
/// [`Models::forecast`].
///
/// # Errors
/// [`StatsError::Param`] for an empty or invalid period list, or when the candidate does not
/// apply (the message says why); the errors of [`summarise`] and of the profile.
pub fn point_forecast(
    events: &[Event],
    end_day: i64,
    group: Option<&[u32]>,
    period_days: &[f64],
    candidate: Candidate,
) -> Result<PointForecast, StatsError> {
    if period_days.is_empty() || period_days.iter().any(|d| !(d.is_finite() && *d > 0.0)) {
        return Err(StatsError::param(
            "period_days",
            "needs at least one period, each finite and > 0 days",
        ));
    }
    let cal = Calibrated::fit(events, end_day, &[candidate])?;
    let set: Option<BTreeSet<u32>> = group.map(|g| g.iter().copied().collect());
    let rows: Vec<usize> = (0..cal.summaries.len())
        .filter(|&i| {
            set.as_ref()
                .is_none_or(|g| g.contains(&cal.summaries[i].customer))
        })
        .collect();
    let mut periods = Vec::with_capacity(period_days.len());
    let mut per_customer = vec![0.0; rows.len()];
    let mut start = 0.0;
    for d in period_days {
        let pred = cal
            .predict(candidate, start, start + d)
            .map_err(|m| StatsError::param("candidate", format!("{}: {m}", candidate.name())))?;
        let mut sum = 0.0;
        for (k, &i) in rows.iter().enumerate() {
            sum += pred[i];
            per_customer[k] += pred[i];
        }
        periods.push(sum);
        start += d;
    }
    Ok(PointForecast {
        candidate,
        total: periods.iter().sum(),
        periods,
        n_customers: rows.len(),
        group_unseen: set.map_or(0, |g| g.len() - rows.len()),
        customers: rows
            .iter()
            .zip(per_customer)
            .map(|(&i, v)| (cal.summaries[i].customer, v))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(c: Candidate, abs_error: f64, mae: f64) -> CandidateScore {
        let e = ErrorSummary {
            predicted_total: 0.0,
            error: abs_error,
            abs_error,
            rel_error: 0.0,
            mae,
            rmse: 0.0,
        };
        CandidateScore {
            candidate: c,
            not_applicable: None,
            group: Some(e),
            everyone: Some(e),
            chosen: false,
        }
    }

    #[test]
    fn the_rule_needs_both_measures_no_worse_than_the_run_rate() {
        use Candidate::*;
        // the lowest total error, but a worse MAE than the run rate: not eligible
        let s = [
            score(BgNbd, 10.0, 6.0),
            score(RunRate, 50.0, 5.0),
            score(SeasonalRunRate, 40.0, 5.0),
        ];
        assert_eq!(choose(&s), Some(SeasonalRunRate));
        // nobody beats the run rate on both
        let s = [score(BgNbd, 60.0, 1.0), score(RunRate, 50.0, 5.0)];
        assert_eq!(choose(&s), Some(RunRate));
        // ties on the total go to the lower MAE, then to the order of ALL
        let s = [
            score(BgNbd, 20.0, 4.0),
            score(SeasonalBgNbd, 20.0, 3.0),
            score(RunRate, 50.0, 5.0),
        ];
        assert_eq!(choose(&s), Some(SeasonalBgNbd));
        let s = [
            score(SeasonalBgNbd, 20.0, 3.0),
            score(BgNbd, 20.0, 3.0),
            score(RunRate, 50.0, 5.0),
        ];
        assert_eq!(choose(&s), Some(BgNbd));
        // not applicable candidates have no group score and are never chosen
        let mut na = score(SeasonalNaive, 0.0, 0.0);
        na.group = None;
        let s = [score(RunRate, 50.0, 5.0), na];
        assert_eq!(choose(&s), Some(RunRate));
        assert_eq!(choose(&[score(BgNbd, 1.0, 1.0)]), None);
    }

    #[test]
    fn names_serialise_as_in_answers() {
        for c in Candidate::ALL {
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.name()));
        }
    }
}
