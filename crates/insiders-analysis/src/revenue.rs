//! Q5: the Insiders' expected revenue in the coming months. Every forecast candidate of
//! `insiders_stats::clv` (BG/NBD + Gamma-Gamma, plain and seasonal, the naive run rate, plain
//! and seasonal, the seasonal naive) is backtested on the Insiders a run at the cut-off would
//! have chosen; the winner by `clv::choice_rule` makes the forecast.

use crate::Inputs;
use crate::answers::Interval;
use crate::options::ForecastOptions;
use insiders_features::Cleaned;
use insiders_ingest::{Transactions, date};
use insiders_stats::clv::{self, Event, ForecastConfig};
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

/// A group's holdout revenue: actual, predicted by the chosen forecast, and by the naive
/// baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestGroup {
    /// Customers of the group known at the cut-off.
    pub customers: usize,
    /// Actual revenue in the holdout.
    pub actual: f64,
    /// The chosen forecast's prediction.
    pub model: f64,
    /// The naive baseline's (calibration revenue per day x holdout days).
    pub naive: f64,
    /// (model - actual) / actual.
    pub model_error: f64,
    /// (naive - actual) / actual.
    pub naive_error: f64,
    /// Mean absolute error per customer, the chosen forecast.
    pub model_mae: f64,
    /// Mean absolute error per customer, naive.
    pub naive_mae: f64,
}

/// One forecast candidate in the backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateRow {
    /// Its name (`bgnbd_gamma_gamma`, `seasonal_bgnbd_gamma_gamma`, `run_rate`,
    /// `seasonal_run_rate`, `seasonal_naive`).
    pub name: String,
    /// In words.
    pub label: String,
    /// Why it does not apply (then every number is null).
    pub not_applicable: Option<String>,
    /// Its prediction of the Insiders' holdout revenue.
    pub predicted: Option<f64>,
    /// (predicted - actual) / actual, the Insiders.
    pub error: Option<f64>,
    /// Mean absolute error per Insider.
    pub mae: Option<f64>,
    /// (predicted - actual) / actual, every customer.
    pub everyone_error: Option<f64>,
    /// Mean absolute error per customer, every customer.
    pub everyone_mae: Option<f64>,
    /// Whether the rule chose it.
    pub chosen: bool,
}

/// One calendar month's multiplier of the repeat-purchase rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeasonMonth {
    /// `Jan` .. `Dec`.
    pub month: String,
    /// The month's repeat-purchase rate over the period's average (1 when not seen).
    pub multiplier: f64,
    /// Whether the period had enough exposure in the month to estimate it.
    pub seen: bool,
}

/// The backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Last day of the calibration period (inclusive).
    pub calibration_end: String,
    /// Last day of the holdout.
    pub holdout_end: String,
    /// Holdout length in days.
    pub holdout_days: u32,
    /// How the backtest's Insiders were chosen.
    pub insiders_chosen: String,
    /// The Insiders chosen at the cut-off, scored on the holdout.
    pub insiders: BacktestGroup,
    /// Every customer known at the cut-off.
    pub everyone: BacktestGroup,
    /// Insiders chosen at the cut-off without a purchase by then (not scored; 0 normally).
    pub insiders_unseen: usize,
    /// Customers whose first purchase is in the holdout (no candidate can see them).
    pub new_customers: usize,
    /// Their holdout revenue.
    pub new_customer_revenue: f64,
    /// Every candidate, scored on the Insiders chosen at the cut-off and on everyone.
    pub candidates: Vec<CandidateRow>,
    /// The chosen candidate's name.
    pub chosen: String,
    /// The rule that chose it.
    pub choice_rule: String,
    /// The choice in words: which, and by how much against the naive baseline.
    pub choice: String,
    /// The calibration's seasonal profile (the seasonal candidates' clock).
    pub seasonal_profile: Vec<SeasonMonth>,
}

/// Q5.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpectedRevenue {
    /// The forecast used (a candidate's name, see [`CandidateRow::name`]).
    pub model: String,
    /// Why it is used: the backtest's choice, or the default when there is no backtest.
    pub model_reason: String,
    /// Months ahead.
    pub months: u32,
    /// The same, in days.
    pub horizon_days: f64,
    /// The Insiders' expected revenue over the horizon, with its band.
    pub insiders: Interval,
    /// Month by month.
    pub per_month: Vec<MonthForecast>,
    /// Every customer's expected revenue over the horizon (the same forecast).
    pub everyone: f64,
    /// The seasonal profile of all the data, when the forecast is seasonal.
    pub seasonal_profile: Option<Vec<SeasonMonth>>,
    /// BG/NBD parameters (r, alpha, a, b) and log-likelihood, fitted on all the data in
    /// calendar days (the activity probabilities of Q7 come from this fit).
    pub bgnbd: BTreeMap<String, f64>,
    /// Gamma-Gamma parameters (p, q, v).
    pub gamma_gamma: BTreeMap<String, f64>,
    /// Parameters whose maximum-likelihood estimate sits at a bound of the search box (the
    /// likelihood is flat along a ridge there: e.g. no dropout, `a` -> 0; the predictions are
    /// identified, that parameter alone is not).
    pub at_bound: Vec<String>,
    /// The backtest.
    pub backtest: Option<Backtest>,
    /// Why there is no backtest, when there is none (too little history, or the Insiders
    /// could not be chosen at the cut-off).
    pub backtest_skipped: Option<String>,
    /// Monthly revenue so far.
    pub monthly: Vec<MonthRevenue>,
    /// How the band was made (none for a forecast that is not a probability model).
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

/// Adds `fitted_customers` (the fit's systematic sample, `insiders_stats::clv::fit_sample`)
/// when the fit saw fewer customers than it was given.
fn with_sample(mut m: BTreeMap<String, f64>, given: usize, fitted: usize) -> BTreeMap<String, f64> {
    if fitted < given {
        m.insert("fitted_customers".into(), fitted as f64);
    }
    m
}

fn named(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn season(p: &clv::SeasonalProfile) -> Vec<SeasonMonth> {
    (0..12)
        .map(|m| SeasonMonth {
            month: MONTHS[m].to_string(),
            multiplier: p.multipliers[m],
            seen: p.seen[m],
        })
        .collect()
}

/// The backtest's cut-off (the last calibration day, inclusive): `holdout_days` before the
/// last day of the data. There is a backtest only when the calibration period (first
/// purchase day of the data to the cut-off, inclusive) is at least as long as the holdout;
/// otherwise the reason why not.
pub fn backtest_cutoff(
    lines: &Transactions,
    cleaned: &Cleaned,
    opts: &ForecastOptions,
) -> Result<i64, String> {
    let holdout = i64::from(opts.holdout_days);
    if holdout == 0 {
        return Err("forecast.holdout_days is 0: no backtest".into());
    }
    let first = cleaned
        .kept
        .iter()
        .map(|&i| i as usize)
        .filter(|&i| !lines.is_return(i))
        .map(|i| date::day_of(lines.timestamp(i)))
        .min()
        .ok_or_else(|| "no purchase in the data".to_string())?;
    let cutoff = cleaned.last_day - holdout;
    if cutoff - first + 1 < holdout {
        return Err(format!(
            "too little history: the data cover {} days, and the backtest needs at least {} \
             days of calibration before a holdout of {} days",
            cleaned.last_day - first + 1,
            holdout,
            holdout
        ));
    }
    Ok(cutoff)
}

/// The Insiders a run at the backtest's cut-off would have chosen: the configured
/// segmentation ([`crate::segment`], the same options and seed) on the calibration data
/// (the pipeline with `as_of` the day after the cut-off), or why there are none (too little
/// history for a backtest of `inputs`, or no calibration data given).
pub fn calibration_insiders(
    inputs: Inputs<'_>,
    calibration: Option<Inputs<'_>>,
    opts: &crate::AnalysisOptions,
    seed: u64,
) -> Result<Vec<u32>, String> {
    backtest_cutoff(inputs.lines, inputs.cleaned, &opts.forecast)?;
    let cal = calibration
        .ok_or_else(|| "no calibration data (the data up to the cut-off) were given".to_string())?;
    let seg = crate::segment(cal, opts, seed)
        .map_err(|e| format!("the Insiders could not be chosen at the cut-off: {e}"))?;
    Ok(crate::insider_ids(cal.table, &seg.insider))
}

fn group_scores(
    c: &clv::Comparison,
    chosen: clv::Candidate,
    pick: impl Fn(&clv::CandidateScore) -> Option<clv::ErrorSummary>,
    customers: usize,
    actual: f64,
) -> BacktestGroup {
    let get = |k| {
        c.score(k)
            .and_then(&pick)
            .map_or((f64::NAN, f64::NAN, f64::NAN), |e| {
                (e.predicted_total, e.error / actual, e.mae)
            })
    };
    let (model, model_error, model_mae) = get(chosen);
    let (naive, naive_error, naive_mae) = get(clv::Candidate::RunRate);
    BacktestGroup {
        customers,
        actual,
        model,
        naive,
        model_error,
        naive_error,
        model_mae,
        naive_mae,
    }
}

fn backtest_answer(c: &clv::Comparison, opts: &ForecastOptions) -> Backtest {
    let insiders = group_scores(c, c.chosen, |s| s.group, c.group_customers, c.group_actual);
    let everyone = group_scores(
        c,
        c.chosen,
        |s| s.everyone,
        c.everyone_customers,
        c.everyone_actual,
    );
    let candidates = c
        .candidates
        .iter()
        .map(|s| CandidateRow {
            name: s.candidate.name().to_string(),
            label: s.candidate.label().to_string(),
            not_applicable: s.not_applicable.clone(),
            predicted: s.group.map(|g| g.predicted_total),
            error: s.group.map(|g| g.error / c.group_actual),
            mae: s.group.map(|g| g.mae),
            everyone_error: s.everyone.map(|g| g.error / c.everyone_actual),
            everyone_mae: s.everyone.map(|g| g.mae),
            chosen: s.chosen,
        })
        .collect();
    let choice = if c.chosen == clv::Candidate::RunRate {
        format!(
            "the naive run rate (error {:+.1}%, MAE {:.0}): no candidate beat it on both the \
             total and the per-customer error",
            100.0 * insiders.naive_error,
            insiders.naive_mae
        )
    } else {
        format!(
            "the {} (error {:+.1}%, MAE {:.0}) against the naive run rate (error {:+.1}%, MAE \
             {:.0}): {:.1} points closer on the total, {:.0} lower MAE per Insider",
            c.chosen.label(),
            100.0 * insiders.model_error,
            insiders.model_mae,
            100.0 * insiders.naive_error,
            insiders.naive_mae,
            100.0 * (insiders.naive_error.abs() - insiders.model_error.abs()),
            insiders.naive_mae - insiders.model_mae
        )
    };
    Backtest {
        calibration_end: date::format_day(c.cutoff_day),
        holdout_end: date::format_day(c.end_day),
        holdout_days: opts.holdout_days,
        insiders_chosen: "the Insiders a run at the cut-off would have chosen: the same \
                          segmentation on the data up to the cut-off, the holdout unseen"
            .into(),
        insiders,
        everyone,
        insiders_unseen: c.group_unseen,
        new_customers: c.new_customers,
        new_customer_revenue: c.new_customer_revenue,
        candidates,
        chosen: c.chosen.name().to_string(),
        choice_rule: clv::choice_rule().to_string(),
        choice,
        seasonal_profile: season(&c.profile),
    }
}

/// The chosen forecast of the Insiders and of everyone, with its band when it is a model.
struct Chosen {
    insiders: Interval,
    per_month: Vec<Interval>,
    everyone: f64,
    band_method: String,
    profile: Option<Vec<SeasonMonth>>,
}

fn forecast_chosen(
    events: &[Event],
    models: &clv::Models,
    chosen: clv::Candidate,
    insiders: &[u32],
    end_day: i64,
    config: &ForecastConfig,
) -> Result<Chosen, insiders_stats::StatsError> {
    let level = config.level;
    let seasonal;
    let m = match chosen {
        clv::Candidate::BgNbd => Some(models),
        clv::Candidate::SeasonalBgNbd => {
            seasonal = clv::Models::fit_seasonal(events, end_day)?;
            Some(&seasonal)
        }
        _ => None,
    };
    if let Some(m) = m {
        let fc = m.forecast(Some(insiders), config)?;
        let everyone = m.forecast(
            None,
            &ForecastConfig {
                simulations: 0,
                parameter_uncertainty: false,
                ..config.clone()
            },
        )?;
        let interval = |p: &clv::ForecastPeriod| Interval {
            estimate: p.expected,
            lo: p.low,
            hi: p.high,
            level,
        };
        return Ok(Chosen {
            insiders: interval(&fc.total),
            per_month: fc.periods.iter().map(interval).collect(),
            everyone: everyone.total.expected,
            band_method: format!(
                "{} simulated futures of the Insiders' purchases and spend drawn from the \
                 fitted models{}; the band is the central {:.0}% of them",
                fc.simulations,
                if fc.parameter_uncertainty_used {
                    ", with the models' parameters drawn from their estimated sampling \
                     distribution"
                } else {
                    ""
                },
                100.0 * level
            ),
            profile: m.profile.as_ref().map(season),
        });
    }
    let pf = clv::point_forecast(events, end_day, Some(insiders), &config.period_days, chosen)?;
    let everyone = clv::point_forecast(events, end_day, None, &config.period_days, chosen)?;
    let point = |estimate| Interval {
        estimate,
        lo: f64::NAN,
        hi: f64::NAN,
        level,
    };
    let profile = match chosen {
        clv::Candidate::SeasonalRunRate => {
            Some(season(&clv::SeasonalProfile::estimate(events, end_day)?))
        }
        _ => None,
    };
    Ok(Chosen {
        insiders: point(pf.total),
        per_month: pf.periods.iter().map(|&v| point(v)).collect(),
        everyone: everyone.total,
        band_method: format!(
            "no band: the {} is not a probability model (its backtest error is the guide to \
             its accuracy)",
            chosen.label()
        ),
        profile,
    })
}

/// Q5. Backtests every forecast candidate with the Insiders chosen at the cut-off
/// (`calibration_insiders`: their ids, or why there are none), chooses one by
/// [`clv::choice_rule`], and forecasts this run's Insiders' revenue `months` ahead with it.
/// BG/NBD and Gamma-Gamma are fitted on every customer's purchase days up to `end_day` in
/// any case (their parameters and Q7's activity probabilities); without a backtest the
/// forecast is theirs.
pub fn expected_revenue(
    purchases: &[crate::events::DayPurchase],
    insiders: &[u32],
    calibration_insiders: Result<Vec<u32>, String>,
    end_day: i64,
    opts: &ForecastOptions,
    seed: u64,
) -> Result<RevenueModel, crate::AnalysisError> {
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
    let models = clv::Models::fit(&events, end_day).map_err(stats)?;
    let cutoff = end_day - i64::from(opts.holdout_days);
    let comparison = calibration_insiders.and_then(|ids| {
        clv::compare_candidates(&events, cutoff, end_day, &ids)
            .map_err(|e| format!("the backtest could not be run: {e}"))
    });
    let (backtest, backtest_skipped, chosen, mut model_reason) = match &comparison {
        Ok(c) => {
            let b = backtest_answer(c, opts);
            let reason = format!("chosen by the backtest: {}", b.choice);
            (Some(b), None, c.chosen, reason)
        }
        Err(why) => (
            None,
            Some(why.clone()),
            clv::Candidate::BgNbd,
            format!(
                "no backtest ({why}): the forecast is {}, the default",
                clv::Candidate::BgNbd.label()
            ),
        ),
    };
    let (chosen, forecast) =
        match forecast_chosen(&events, &models, chosen, insiders, end_day, &config) {
            Ok(f) => (chosen, f),
            Err(e) if chosen != clv::Candidate::BgNbd => {
                model_reason = format!(
                    "{model_reason}; but the {} could not forecast from the whole data ({e}), \
                     so the forecast is {}",
                    chosen.label(),
                    clv::Candidate::BgNbd.label()
                );
                let f = forecast_chosen(
                    &events,
                    &models,
                    clv::Candidate::BgNbd,
                    insiders,
                    end_day,
                    &config,
                )
                .map_err(stats)?;
                (clv::Candidate::BgNbd, f)
            }
            Err(e) => return Err(stats(e)),
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
    let bg = models.bgnbd.model;
    let mut likely_lapsed = Vec::new();
    for s in models
        .summaries()
        .iter()
        .filter(|s| set.contains(&s.customer))
    {
        let alive = bg
            .prob_alive(f64::from(s.frequency), s.recency, s.age)
            .map_err(stats)?;
        if alive < 0.5 {
            likely_lapsed.push(s.customer);
        }
    }
    let g = models.gamma_gamma.model;
    let answer = ExpectedRevenue {
        model: chosen.name().to_string(),
        model_reason,
        months: opts.months,
        horizon_days: month * f64::from(opts.months),
        insiders: forecast.insiders,
        per_month: forecast
            .per_month
            .iter()
            .enumerate()
            .map(|(i, p)| MonthForecast {
                month_ahead: i as u32 + 1,
                insiders: *p,
            })
            .collect(),
        everyone: forecast.everyone,
        seasonal_profile: forecast.profile,
        bgnbd: with_sample(
            named(&[
                ("r", bg.r),
                ("alpha", bg.alpha),
                ("a", bg.a),
                ("b", bg.b),
                ("log_likelihood", models.bgnbd.log_likelihood),
                ("customers", models.bgnbd.n_customers as f64),
            ]),
            models.bgnbd.n_customers,
            models.bgnbd.n_fitted,
        ),
        gamma_gamma: with_sample(
            named(&[
                ("p", g.p),
                ("q", g.q),
                ("v", g.v),
                ("log_likelihood", models.gamma_gamma.log_likelihood),
                ("customers", models.gamma_gamma.n_customers as f64),
            ]),
            models.gamma_gamma.n_customers,
            models.gamma_gamma.n_fitted,
        ),
        at_bound: models
            .bgnbd
            .at_bound
            .iter()
            .map(|b| ("BG/NBD", b))
            .chain(
                models
                    .gamma_gamma
                    .at_bound
                    .iter()
                    .map(|b| ("Gamma-Gamma", b)),
            )
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
        band_method: forecast.band_method,
    };
    Ok(RevenueModel {
        answer,
        likely_lapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DayPurchase;

    /// 300 customers from day 15,000 (2011-01-26): customer `c` first buys on day
    /// `15,000 + c % 60`, then every `4 + c % 23` days, spending `10 + c % 7` a day.
    fn purchases() -> (Vec<DayPurchase>, i64) {
        let end = 15_000 + 300;
        let mut p = Vec::new();
        for c in 0..300u32 {
            let every = 4 + i64::from(c % 23);
            let mut d = 15_000 + i64::from(c % 60);
            while d <= end {
                p.push(DayPurchase {
                    customer_id: c,
                    day: d,
                    value: 10.0 + f64::from(c % 7),
                });
                d += every;
            }
        }
        (p, end)
    }

    fn opts() -> ForecastOptions {
        ForecastOptions {
            simulations: 50,
            ..ForecastOptions::default()
        }
    }

    #[test]
    fn without_calibration_insiders_there_is_no_backtest_and_bgnbd_forecasts() {
        let (p, end) = purchases();
        let ids: Vec<u32> = (0..40).collect();
        let r = expected_revenue(&p, &ids, Err("too little history".into()), end, &opts(), 7)
            .unwrap()
            .answer;
        assert!(r.backtest.is_none());
        assert_eq!(r.backtest_skipped.as_deref(), Some("too little history"));
        assert_eq!(r.model, "bgnbd_gamma_gamma");
        assert!(r.model_reason.contains("no backtest"), "{}", r.model_reason);
        assert!(r.insiders.lo <= r.insiders.estimate && r.insiders.estimate <= r.insiders.hi);
    }

    #[test]
    fn the_backtest_scores_the_calibration_insiders_and_its_choice_makes_the_forecast() {
        let (p, end) = purchases();
        let run_insiders: Vec<u32> = (0..40).collect();
        // a different group at the cut-off: the backtest must score it, not the run's
        let at_cutoff: Vec<u32> = (100..160).collect();
        let o = opts();
        let r = expected_revenue(&p, &run_insiders, Ok(at_cutoff.clone()), end, &o, 7)
            .unwrap()
            .answer;
        let b = r.backtest.as_ref().unwrap();
        assert_eq!(b.insiders.customers, 60);
        assert_eq!(b.candidates.len(), 5);
        let chosen: Vec<&CandidateRow> = b.candidates.iter().filter(|c| c.chosen).collect();
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].name, b.chosen);
        assert_eq!(r.model, b.chosen);
        assert_eq!(chosen[0].error, Some(b.insiders.model_error));
        assert_eq!(chosen[0].mae, Some(b.insiders.model_mae));
        // the run rate, computed here from the purchases
        let cutoff = end - i64::from(o.holdout_days);
        let (mut actual, mut naive, mut abs) = (0.0, 0.0, 0.0);
        for c in &at_cutoff {
            let mine: Vec<&DayPurchase> = p.iter().filter(|x| x.customer_id == *c).collect();
            let first = mine.iter().map(|x| x.day).min().unwrap();
            let cal: f64 = mine
                .iter()
                .filter(|x| x.day <= cutoff)
                .map(|x| x.value)
                .sum();
            let hold: f64 = mine
                .iter()
                .filter(|x| x.day > cutoff)
                .map(|x| x.value)
                .sum();
            let pred = cal / (cutoff - first + 1) as f64 * f64::from(o.holdout_days);
            actual += hold;
            naive += pred;
            abs += (pred - hold).abs();
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        assert!(close(b.insiders.actual, actual));
        assert!(close(b.insiders.naive, naive));
        assert!(close(b.insiders.naive_mae, abs / 60.0));
        assert!(close(b.insiders.naive_error, (naive - actual) / actual));
        // the chosen forecast is no worse than the run rate on both measures
        assert!(b.insiders.model_error.abs() <= b.insiders.naive_error.abs());
        assert!(b.insiders.model_mae <= b.insiders.naive_mae);
        // the data span 301 days: a year earlier is not in them
        let sn = b
            .candidates
            .iter()
            .find(|c| c.name == "seasonal_naive")
            .unwrap();
        assert!(sn.not_applicable.is_some() && sn.error.is_none());
    }
}
