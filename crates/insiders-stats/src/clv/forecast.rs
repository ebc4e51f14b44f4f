//! Revenue forecast of a group of customers, period by period, with a simulated band.

use std::collections::BTreeSet;

use insiders_core::{Rng, quantile_sorted};
use rayon::prelude::*;

use super::seasonal::seasonal_summary;
use super::{
    BgNbd, BgNbdFit, CustomerSummary, Event, GammaGamma, GammaGammaFit, SeasonalProfile, summarise,
};
use crate::StatsError;
use crate::optim::{cholesky, numeric_hessian, spd_inverse};
use crate::special::{beta_draw, gamma_draw};

/// Settings of [`forecast`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastConfig {
    /// Length in days of each forecast period, in order, starting the day after the data end.
    pub period_days: Vec<f64>,
    /// Number of simulated futures for the band (0: no band, `low`/`high` are NaN).
    pub simulations: usize,
    /// Coverage of the band, in (0, 1), e.g. 0.9 for the 5% and 95% quantiles.
    pub level: f64,
    /// Seed of the simulation.
    pub seed: u64,
    /// Whether to draw the model parameters from their asymptotic normal distribution (in
    /// log-parameters, covariance = inverse observed information) in each simulation. Used only
    /// where that distribution is proper (see [`Forecast::parameter_uncertainty_used`]).
    pub parameter_uncertainty: bool,
}

impl ForecastConfig {
    /// `n` periods of an average month (365.25 / 12 days), 1,000 simulations, a 90% band,
    /// parameter uncertainty on.
    pub fn months(n: usize, seed: u64) -> ForecastConfig {
        ForecastConfig {
            period_days: vec![365.25 / 12.0; n],
            simulations: 1000,
            level: 0.9,
            seed,
            parameter_uncertainty: true,
        }
    }
}

/// The group's revenue in one period (or over the whole horizon).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ForecastPeriod {
    /// Start, in days after the data end (exclusive).
    pub start: f64,
    /// End, in days after the data end (inclusive).
    pub end: f64,
    /// The model's expected revenue (closed form: BG/NBD conditional expectation ×
    /// Gamma-Gamma conditional spend, summed over the group).
    pub expected: f64,
    /// Mean of the simulated revenues (close to `expected`; differs by Monte-Carlo error and,
    /// with parameter uncertainty, by the non-linearity of the model in its parameters).
    pub simulated_mean: f64,
    /// Lower end of the band (quantile `(1 - level) / 2` of the simulated revenues).
    pub low: f64,
    /// Upper end of the band (quantile `(1 + level) / 2`).
    pub high: f64,
}

/// One group customer's expected purchases and revenue over the whole horizon.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CustomerForecast {
    /// The customer's id.
    pub customer: u32,
    /// BG/NBD probability of being alive at the data end.
    pub prob_alive: f64,
    /// Expected number of purchase days over the horizon.
    pub expected_purchases: f64,
    /// Gamma-Gamma expected value of one purchase day.
    pub expected_value: f64,
    /// `expected_purchases * expected_value`.
    pub expected_revenue: f64,
}

/// The result of [`forecast`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Forecast {
    /// The last day of data (the forecast starts the day after).
    pub end_day: i64,
    /// The BG/NBD fit on all events.
    pub bgnbd: BgNbdFit,
    /// The Gamma-Gamma fit on all events.
    pub gamma_gamma: GammaGammaFit,
    /// Group members with a purchase history (the customers forecast).
    pub n_customers: usize,
    /// Group members without any purchase up to the end day (forecast as zero).
    pub group_unseen: usize,
    /// One entry per configured period.
    pub periods: Vec<ForecastPeriod>,
    /// The whole horizon.
    pub total: ForecastPeriod,
    /// Per-customer forecasts over the whole horizon, ascending by id.
    pub customers: Vec<CustomerForecast>,
    /// Whether the simulations drew the parameters (false when not asked, when a BG/NBD or
    /// Gamma-Gamma parameter sits at a bound of the search ([`BgNbdFit::at_bound`],
    /// [`GammaGammaFit::at_bound`], e.g. on the boundary `a → 0, b → ∞`), or when the observed
    /// information is not positive definite or gives a log-parameter standard deviation
    /// above 1).
    pub parameter_uncertainty_used: bool,
    /// Number of simulations behind the band.
    pub simulations: usize,
    /// Coverage of the band.
    pub level: f64,
}

/// A normal approximation of the log-parameters: mean and lower Cholesky factor of the
/// covariance.
struct ParamLaw {
    mean: Vec<f64>,
    chol: Vec<f64>,
}

impl ParamLaw {
    fn build<F: FnMut(&[f64]) -> f64>(mut neg_ll: F, mean: Vec<f64>) -> Option<ParamLaw> {
        let n = mean.len();
        let h = numeric_hessian(&mut neg_ll, &mean, 1e-4);
        let cov = spd_inverse(&h, n)?;
        if (0..n).any(|i| !(cov[i * n + i].is_finite() && cov[i * n + i] <= 1.0)) {
            return None;
        }
        let chol = cholesky(&cov, n)?;
        Some(ParamLaw { mean, chol })
    }

    fn draw(&self, rng: &mut Rng) -> Vec<f64> {
        let n = self.mean.len();
        let z: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        (0..n)
            .map(|i| {
                let s: f64 = (0..=i).map(|k| self.chol[i * n + k] * z[k]).sum();
                (self.mean[i] + s).exp()
            })
            .collect()
    }
}

/// Simulates one future of the group's revenue per period (plus the total, last).
fn simulate(
    bg: &BgNbd,
    gg: &GammaGamma,
    customers: &[CustomerSummary],
    ends: &[f64],
    rng: &mut Rng,
) -> Vec<f64> {
    let horizon = ends.last().copied().unwrap_or(0.0);
    let mut out = vec![0.0; ends.len() + 1];
    for c in customers {
        let x = f64::from(c.frequency);
        let alive = 1.0 / (1.0 + bg.dead_odds(x, c.recency, c.age));
        if rng.uniform() >= alive {
            continue;
        }
        let lambda = gamma_draw(rng, bg.r + x, bg.alpha + c.age);
        let p_drop = beta_draw(rng, bg.a, bg.b + x);
        let nu = gamma_draw(rng, gg.p * x + gg.q, gg.v + x * c.monetary);
        let mut t = 0.0;
        let mut k = 0;
        loop {
            t += -(1.0 - rng.uniform()).ln() / lambda;
            if t.is_nan() || t > horizon {
                break;
            }
            while k + 1 < ends.len() && t > ends[k] {
                k += 1;
            }
            let value = gamma_draw(rng, gg.p, nu);
            out[k] += value;
            out[ends.len()] += value;
            if rng.uniform() < p_drop {
                break;
            }
        }
    }
    out
}

/// Fits BG/NBD and Gamma-Gamma on all events up to `end_day` and forecasts the revenue of the
/// `group` (every customer when `None`) in each configured period after `end_day`.
///
/// The point forecast is the closed-form expectation. The band comes from `simulations`
/// simulated futures: in each, every group customer is alive with their posterior probability,
/// draws a purchase rate `λ ~ Gamma(r+x, α+T)`, a dropout probability `p ~ Beta(a, b+x)` and a
/// spend rate `ν ~ Gamma(px+q, v+xm)` from their posterior, then buys as a Poisson process
/// (dropping out after each purchase with probability `p`), each purchase worth
/// `Gamma(p, ν)`. With [`ForecastConfig::parameter_uncertainty`], each simulation first draws
/// the model parameters from their asymptotic normal law. The band thus covers purchase
/// and spend randomness, customer heterogeneity and (where available) estimation error; it
/// does not cover model misspecification or customers not yet acquired (no acquisitions are
/// forecast). Simulation `i` is seeded by `derive_seed(seed, i)`: the result is identical
/// whatever the number of threads.
///
/// # Errors
/// [`StatsError::Param`] for an empty or invalid period list, a level outside (0, 1);
/// the errors of [`summarise`], the fits and the predictions.
pub fn forecast(
    events: &[Event],
    end_day: i64,
    group: Option<&[u32]>,
    config: &ForecastConfig,
) -> Result<Forecast, StatsError> {
    check_config(config)?;
    Models::fit(events, end_day)?.forecast(group, config)
}

fn check_config(config: &ForecastConfig) -> Result<(), StatsError> {
    if config.period_days.is_empty() {
        return Err(StatsError::param(
            "period_days",
            "needs at least one period",
        ));
    }
    if let Some(d) = config
        .period_days
        .iter()
        .find(|d| !(d.is_finite() && **d > 0.0))
    {
        return Err(StatsError::param(
            "period_days",
            format!("every period must be finite and > 0 days, got {d}"),
        ));
    }
    if !(config.level > 0.0 && config.level < 1.0) {
        return Err(StatsError::param(
            "level",
            format!("must be in (0, 1), got {}", config.level),
        ));
    }
    Ok(())
}

/// The customers whose spend the Gamma-Gamma fit reads: those without a repeat purchase
/// (which the fit skips) and those whose repeat purchase days are worth more than 0 on
/// average. A repeat customer whose repeat purchases are all worth 0 (free goods: CDNOW has
/// a few) cannot come from a Gamma spend; they are left out of the fit, and
/// [`expected_spend`] gives them the model's limit as their mean spend tends to 0.
pub(crate) fn spend_sample(summaries: &[CustomerSummary]) -> Vec<CustomerSummary> {
    summaries
        .iter()
        .filter(|s| s.frequency == 0 || s.monetary != 0.0)
        .copied()
        .collect()
}

/// Gamma-Gamma's expected value of a future purchase day, `p (v + x m) / (p x + q - 1)`,
/// taken at its limit `p v / (p x + q - 1)` for a repeat customer with `m = 0` (see
/// [`spend_sample`]).
///
/// # Errors
/// As [`GammaGamma::conditional_expected_value`] (a negative or non-finite `m`, `p x + q <= 1`).
pub(crate) fn expected_spend(gg: &GammaGamma, x: f64, m: f64) -> Result<f64, StatsError> {
    if x > 0.0 && m == 0.0 {
        // v + x m rounds to v for the smallest positive m (v >= 1e-10 in any fit)
        gg.conditional_expected_value(x, f64::MIN_POSITIVE)
    } else {
        gg.conditional_expected_value(x, m)
    }
}

/// BG/NBD and Gamma-Gamma fitted on all events up to an end day: fit once, then forecast
/// any number of groups ([`Models::forecast`]); [`forecast`] is both steps in one call.
///
/// [`Models::fit_seasonal`] fits the same models on the seasonal clock of a
/// [`SeasonalProfile`]: recency, age and every forecast period are measured in seasonal days
/// (a month with twice the average repeat-purchase rate lasts twice as long), so purchases
/// follow the season while the models stay as published.
#[derive(Debug, Clone)]
pub struct Models {
    end_day: i64,
    summaries: Vec<CustomerSummary>,
    /// The BG/NBD fit (rates per seasonal day with a profile).
    pub bgnbd: BgNbdFit,
    /// The Gamma-Gamma fit.
    pub gamma_gamma: GammaGammaFit,
    /// The seasonal profile whose clock the models run on (`None`: calendar days).
    pub profile: Option<SeasonalProfile>,
}

impl Models {
    /// Summarises the events up to `end_day` and fits both models on every customer.
    ///
    /// # Errors
    /// The errors of [`summarise`] and of the fits.
    pub fn fit(events: &[Event], end_day: i64) -> Result<Models, StatsError> {
        let summaries = summarise(events, end_day)?;
        let bgnbd = BgNbd::fit(&summaries)?;
        let gamma_gamma = GammaGamma::fit(&spend_sample(&summaries))?;
        Ok(Models {
            end_day,
            summaries,
            bgnbd,
            gamma_gamma,
            profile: None,
        })
    }

    /// Estimates the seasonal profile of the events up to `end_day`
    /// ([`SeasonalProfile::estimate`]) and fits both models on its clock: each customer's
    /// recency and age become the seasonal lengths of `(first day, last day]` and
    /// `(first day, end_day]`. The Gamma-Gamma does not depend on time and equals
    /// [`Models::fit`]'s.
    ///
    /// # Errors
    /// The errors of [`summarise`], of the profile and of the fits.
    pub fn fit_seasonal(events: &[Event], end_day: i64) -> Result<Models, StatsError> {
        let profile = SeasonalProfile::estimate(events, end_day)?;
        let summaries: Vec<CustomerSummary> = summarise(events, end_day)?
            .into_iter()
            .map(|s| seasonal_summary(&s, &profile, end_day))
            .collect();
        let bgnbd = BgNbd::fit(&summaries)?;
        let gamma_gamma = GammaGamma::fit(&spend_sample(&summaries))?;
        Ok(Models {
            end_day,
            summaries,
            bgnbd,
            gamma_gamma,
            profile: Some(profile),
        })
    }

    /// The customers' summaries the models were fitted on (seasonal recency and age with a
    /// profile), ascending by id.
    pub fn summaries(&self) -> &[CustomerSummary] {
        &self.summaries
    }

    /// The model time of `days` calendar days after the end day: `days` itself, or its
    /// seasonal length with a profile.
    pub fn model_days(&self, days: f64) -> f64 {
        let end = self.end_day as f64;
        self.profile
            .as_ref()
            .map_or(days, |p| p.integral(end, end + days))
    }

    /// Forecasts the revenue of `group` (every customer when `None`) with the fitted models;
    /// see [`forecast`] for the method. The result equals [`forecast`]'s on the same events.
    ///
    /// # Errors
    /// [`StatsError::Param`] for an empty or invalid period list or a level outside (0, 1);
    /// the errors of the predictions.
    pub fn forecast(
        &self,
        group: Option<&[u32]>,
        config: &ForecastConfig,
    ) -> Result<Forecast, StatsError> {
        check_config(config)?;
        forecast_with(self, group, config)
    }
}

fn forecast_with(
    models: &Models,
    group: Option<&[u32]>,
    config: &ForecastConfig,
) -> Result<Forecast, StatsError> {
    let Models {
        end_day,
        summaries,
        bgnbd,
        gamma_gamma,
        profile: _,
    } = models;
    let end_day = *end_day;
    let (bg, gg) = (bgnbd.model, gamma_gamma.model);

    let (members, group_unseen): (Vec<CustomerSummary>, usize) = match group {
        Some(g) => {
            let set: BTreeSet<u32> = g.iter().copied().collect();
            let members: Vec<CustomerSummary> = summaries
                .iter()
                .filter(|s| set.contains(&s.customer))
                .copied()
                .collect();
            let unseen = set.len() - members.len();
            (members, unseen)
        }
        None => (summaries.clone(), 0),
    };

    // period ends on the models' clock (seasonal days with a profile)
    let mut ends = Vec::with_capacity(config.period_days.len());
    let mut calendar_ends = Vec::with_capacity(config.period_days.len());
    let mut acc = 0.0;
    for d in &config.period_days {
        acc += d;
        calendar_ends.push(acc);
        ends.push(models.model_days(acc));
    }
    let horizon = acc;

    // closed-form expectations per customer and period: computed in parallel, summed in
    // customer order (the same bits whatever the thread count)
    let per_customer: Vec<(CustomerForecast, Vec<f64>)> = members
        .par_iter()
        .map(|c| -> Result<_, StatsError> {
            let x = f64::from(c.frequency);
            let value = expected_spend(&gg, x, c.monetary)?;
            let mut prev = 0.0;
            let mut parts = Vec::with_capacity(ends.len());
            for &e in &ends {
                let cum = bg.expected_purchases(e, x, c.recency, c.age)?;
                parts.push((cum - prev) * value);
                prev = cum;
            }
            let forecast = CustomerForecast {
                customer: c.customer,
                prob_alive: bg.prob_alive(x, c.recency, c.age)?,
                expected_purchases: prev,
                expected_value: value,
                expected_revenue: prev * value,
            };
            Ok((forecast, parts))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_, _>>()?; // the first error in customer order
    let mut expected = vec![0.0; ends.len()];
    let mut customers = Vec::with_capacity(members.len());
    for (forecast, parts) in per_customer {
        for (e, p) in expected.iter_mut().zip(parts) {
            *e += p;
        }
        customers.push(forecast);
    }

    // parameter laws
    // a parameter at a bound of the search is not at an interior maximum: no normal law
    let laws = if config.parameter_uncertainty
        && bgnbd.at_bound.is_empty()
        && gamma_gamma.at_bound.is_empty()
    {
        // The laws come from the likelihood the fits maximised: the fit sample's above
        // FIT_SAMPLE_MAX customers (its curvature is the uncertainty of those estimates).
        // The Gamma-Gamma's rows: spend_sample's repeat customers (x > 0, m != 0).
        let bg_rows = super::fit_sample(summaries);
        let repeat: Vec<CustomerSummary> = summaries
            .iter()
            .filter(|c| c.frequency > 0 && c.monetary != 0.0)
            .copied()
            .collect();
        let spend = super::fit_sample(&repeat);
        let bg_law = ParamLaw::build(
            |z: &[f64]| {
                let m = BgNbd {
                    r: z[0].exp(),
                    alpha: z[1].exp(),
                    a: z[2].exp(),
                    b: z[3].exp(),
                };
                m.log_likelihood(&bg_rows).map_or(f64::NAN, |v| -v)
            },
            vec![bg.r.ln(), bg.alpha.ln(), bg.a.ln(), bg.b.ln()],
        );
        let gg_law = ParamLaw::build(
            |z: &[f64]| {
                let m = GammaGamma {
                    p: z[0].exp(),
                    q: z[1].exp(),
                    v: z[2].exp(),
                };
                m.log_likelihood(&spend).map_or(f64::NAN, |v| -v)
            },
            vec![gg.p.ln(), gg.q.ln(), gg.v.ln()],
        );
        bg_law.zip(gg_law)
    } else {
        None
    };

    let sims: Vec<Vec<f64>> = (0..config.simulations)
        .into_par_iter()
        .map(|i| {
            let mut rng = Rng::for_task(config.seed, i as u64);
            let (b, g) = match &laws {
                Some((lb, lg)) => {
                    let pb = lb.draw(&mut rng);
                    let pg = lg.draw(&mut rng);
                    (
                        BgNbd {
                            r: pb[0],
                            alpha: pb[1],
                            a: pb[2],
                            b: pb[3],
                        },
                        GammaGamma {
                            p: pg[0],
                            q: pg[1],
                            v: pg[2],
                        },
                    )
                }
                None => (bg, gg),
            };
            simulate(&b, &g, &members, &ends, &mut rng)
        })
        .collect();

    let lo_q = (1.0 - config.level) / 2.0;
    let hi_q = (1.0 + config.level) / 2.0;
    let band = |k: usize| -> (f64, f64, f64) {
        if sims.is_empty() {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        let mut v: Vec<f64> = sims.iter().map(|s| s[k]).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.sort_by(f64::total_cmp);
        (mean, quantile_sorted(&v, lo_q), quantile_sorted(&v, hi_q))
    };
    let mut periods = Vec::with_capacity(ends.len());
    let mut start = 0.0;
    for (k, &end) in calendar_ends.iter().enumerate() {
        let (simulated_mean, low, high) = band(k);
        periods.push(ForecastPeriod {
            start,
            end,
            expected: expected[k],
            simulated_mean,
            low,
            high,
        });
        start = end;
    }
    let (simulated_mean, low, high) = band(ends.len());
    let total = ForecastPeriod {
        start: 0.0,
        end: horizon,
        expected: expected.iter().sum(),
        simulated_mean,
        low,
        high,
    };
    Ok(Forecast {
        end_day,
        bgnbd: bgnbd.clone(),
        gamma_gamma: gamma_gamma.clone(),
        n_customers: members.len(),
        group_unseen,
        periods,
        total,
        customers,
        parameter_uncertainty_used: laws.is_some(),
        simulations: config.simulations,
        level: config.level,
    })
}
