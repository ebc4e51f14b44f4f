//! The forward check on real data: choose the Insiders with the data before a cut-off (no
//! look-ahead), then judge them on the revenue of the days after it.
//!
//! Definitions (`docs/recovery.md`):
//! - **calibration**: the lines dated before the cut-off day (`cleaning.as_of = cutoff`),
//!   through the configuration's whole pipeline; the method is fitted there;
//! - **holdout**: the days from the cut-off to `cutoff + holdout_days`, both included (91:
//!   2011-09-09 .. 2011-12-09, the rest of the real data, as `[forecast] holdout_days`
//!   counts them); a customer's holdout revenue is the sum of quantity x unit price of their
//!   purchase lines (quantity >= 0; gross, returns not netted) dated then, over the lines of
//!   the [`Basis`]: those the canonical cleaning keeps, or every line (issue 14's figures);
//! - **identified customers**: real customer ids (anonymous invoices have no future: their
//!   synthetic ids are per invoice). The universe of the revenue shares and of the top
//!   spenders is every identified customer with holdout revenue, new customers included;
//! - **N**: the number of identified Insiders (anonymous Insiders cannot be reached);
//! - **share of holdout revenue**: the N customers' holdout revenue over the universe's;
//! - **precision@N**: the share of the N that are among the N identified customers with the
//!   most holdout revenue (ties by lower id);
//! - **naive**: the N identified customers with the highest revenue before the cut-off (same
//!   basis);
//! - **CLV**: the N identified customers with the highest BG/NBD x Gamma-Gamma expected
//!   revenue from the cut-off to the holdout's last day, the models fitted on the purchase
//!   days before the cut-off (every customer of the cleaned calibration data, anonymous
//!   invoices included, as `insiders run` fits them).

use crate::RecoveryError;
use crate::metrics::{precision_at_n, revenue_share, top_n};
use insiders_analysis::events::day_purchases;
use insiders_analysis::{anonymous, segment};
use insiders_ingest::date;
use insiders_pipeline::{Config, Source, model_matrix, prepare};
use insiders_stats::clv::{Event, ForecastConfig, Models};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

/// Which invoice lines the past and the holdout revenue are summed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The lines the canonical cleaning keeps (what the feature `gross_revenue` sums): no
    /// postage, fees or manual lines, no excluded country, not the known-bad user.
    Canonical,
    /// Every purchase line with a customer id, no cleaning rule applied (the definition of
    /// the figures in issue 14: postage and fees count, and so does the known-bad user's
    /// 80,995 units on 2011-12-09, cancelled minutes later).
    Raw,
}

/// One ranking judged on the holdout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardRow {
    /// The method (`configured`, `study preset`, `naive (past revenue)`, `CLV (BG/NBD +
    /// Gamma-Gamma)`).
    pub method: String,
    /// Customers the method chose (for a clustering: every Insider, anonymous included).
    pub chosen: usize,
    /// Of which anonymous invoices.
    pub anonymous: usize,
    /// The identified customers judged (N).
    pub n: usize,
    /// Their share of the holdout revenue of identified customers.
    pub share_of_holdout_revenue: f64,
    /// Precision@N against the top N holdout spenders.
    pub precision_at_n: f64,
    /// Wall time (for a clustering: preparing the calibration data and the fit).
    pub seconds: f64,
    /// The N identified customers' ids, ascending.
    pub ids: Vec<u32>,
}

/// The forward check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forward {
    /// The data file.
    pub data: String,
    /// First day of the holdout; the calibration sees the days before it.
    pub cutoff: String,
    /// Last day of the holdout (inclusive).
    pub holdout_last_day: String,
    /// Which lines the revenues are summed over.
    pub basis: Basis,
    /// Days from the cut-off to the last holdout day.
    pub holdout_days: u32,
    /// Identified customers of the calibration table.
    pub calibration_identified: usize,
    /// Identified customers with holdout revenue (the universe).
    pub holdout_customers: usize,
    /// Of which new (not in the calibration table).
    pub holdout_new_customers: usize,
    /// Holdout revenue of identified customers.
    pub holdout_revenue: f64,
    /// The rankings.
    pub rows: Vec<ForwardRow>,
    /// Wall time of the whole check.
    pub seconds: f64,
}

fn with_as_of(cfg: &Config, day: i64) -> Config {
    let mut c = cfg.clone();
    c.cleaning.as_of = Some(date::format_day(day));
    c
}

/// A method's Insiders at the cut-off, as real customer ids.
struct Chosen {
    chosen: usize,
    anonymous: usize,
    identified: BTreeSet<u32>,
    seconds: f64,
}

fn insiders_at_cutoff(data: &Path, cfg: &Config, cutoff: i64) -> Result<Chosen, RecoveryError> {
    let t = Instant::now();
    let cfg = with_as_of(cfg, cutoff);
    let p = prepare(&Source::File(data.to_path_buf()), &cfg, &|_| {})?;
    let m = model_matrix(&p.table, &cfg)?;
    let inputs = p.inputs(&m);
    let seg = segment(inputs, &cfg.analysis(), cfg.seed)?;
    let anon = anonymous(inputs);
    let mut c = Chosen {
        chosen: 0,
        anonymous: 0,
        identified: BTreeSet::new(),
        seconds: 0.0,
    };
    for i in (0..p.table.len()).filter(|&i| seg.insider[i]) {
        c.chosen += 1;
        if anon[i] {
            c.anonymous += 1;
        } else {
            c.identified.insert(p.table.customer_id[i]);
        }
    }
    c.seconds = t.elapsed().as_secs_f64();
    Ok(c)
}

/// Runs the forward check of `methods` (name, configuration) on `data`: the first
/// configuration's input and cleaning options read the data for the holdout, the naive and
/// the CLV rankings; N of the naive and CLV rankings is the first method's number of
/// identified Insiders (and, when another method's differs, that one's too).
///
/// # Errors
/// [`RecoveryError::Setting`] for a cut-off that is not a date or no method; the errors of
/// the pipeline, the methods and the CLV models.
pub fn forward_check(
    data: &Path,
    methods: &[(String, Config)],
    cutoff: &str,
    holdout_days: u32,
    basis: Basis,
) -> Result<Forward, RecoveryError> {
    let t0 = Instant::now();
    let cut = date::parse_day(cutoff)
        .ok_or_else(|| RecoveryError::Setting(format!("cut-off `{cutoff}` is not YYYY-MM-DD")))?;
    let Some((_, base)) = methods.first() else {
        return Err(RecoveryError::Setting("no method to check".into()));
    };
    if holdout_days == 0 {
        return Err(RecoveryError::Setting(
            "the holdout needs at least one day".into(),
        ));
    }
    // The last day of the holdout.
    let end = cut + i64::from(holdout_days);

    // Calibration: the customer table before the cut-off and its purchase days.
    let cal_cfg = with_as_of(base, cut);
    let cal = prepare(&Source::File(data.to_path_buf()), &cal_cfg, &|_| {})?;
    let cal_m = model_matrix(&cal.table, &cal_cfg)?;
    let cal_inputs = cal.inputs(&cal_m);
    let cal_anon = anonymous(cal_inputs);
    let past_revenue: BTreeMap<u32, f64> = match basis {
        Basis::Canonical => {
            let rev = cal.table.column("gross_revenue")?;
            (0..cal.table.len())
                .filter(|&i| !cal_anon[i])
                .map(|i| (cal.table.customer_id[i], rev[i]))
                .collect()
        }
        Basis::Raw => {
            let l = &cal.loaded.lines;
            let mut m = BTreeMap::new();
            for i in 0..l.len() {
                if let Some(id) = l.customer_id(i)
                    && l.quantity(i) >= 0
                    && date::day_of(l.timestamp(i)) < cut
                {
                    *m.entry(id).or_insert(0.0) += l.quantity(i) as f64 * l.unit_price(i);
                }
            }
            m
        }
    };

    // Holdout: identified customers' purchase lines in [cut, end].
    let full = prepare(
        &Source::File(data.to_path_buf()),
        &with_as_of(base, end + 1),
        &|_| {},
    )?;
    let lines = &full.loaded.lines;
    let mut holdout: BTreeMap<u32, f64> = BTreeMap::new();
    let mut add = |i: usize| {
        let day = date::day_of(lines.timestamp(i));
        if let Some(id) = lines.customer_id(i)
            && lines.quantity(i) >= 0
            && (cut..=end).contains(&day)
        {
            *holdout.entry(id).or_insert(0.0) += lines.quantity(i) as f64 * lines.unit_price(i);
        }
    };
    match basis {
        Basis::Canonical => full.cleaned.kept.iter().for_each(|&i| add(i as usize)),
        Basis::Raw => (0..lines.len()).for_each(add),
    }
    // The universe: identified customers known at the cut-off or buying in the holdout.
    let universe_ids: Vec<u32> = past_revenue
        .keys()
        .chain(holdout.keys())
        .copied()
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .collect();
    let n_u = universe_ids.len();
    let future: Vec<f64> = universe_ids
        .iter()
        .map(|id| holdout.get(id).copied().unwrap_or(0.0))
        .collect();
    let buyer: Vec<bool> = future.iter().map(|&v| v > 0.0).collect();
    let known: Vec<bool> = universe_ids
        .iter()
        .map(|id| past_revenue.contains_key(id))
        .collect();
    let mask = |set: &BTreeSet<u32>| -> Vec<bool> {
        universe_ids.iter().map(|id| set.contains(id)).collect()
    };
    let judge = |method: String,
                 chosen_mask: &[bool],
                 chosen: usize,
                 anonymous: usize,
                 seconds: f64|
     -> Result<ForwardRow, RecoveryError> {
        let n = chosen_mask.iter().filter(|&&b| b).count();
        let top = top_n(&future, &buyer, n)?;
        Ok(ForwardRow {
            method,
            chosen,
            anonymous,
            n,
            share_of_holdout_revenue: revenue_share(chosen_mask, &future, &buyer)?,
            precision_at_n: precision_at_n(chosen_mask, &top, n)?,
            seconds,
            ids: universe_ids
                .iter()
                .zip(chosen_mask)
                .filter(|&(_, &b)| b)
                .map(|(&id, _)| id)
                .collect(),
        })
    };

    let mut rows = Vec::new();
    let mut ns: Vec<usize> = Vec::new();
    for (name, cfg) in methods {
        let c = insiders_at_cutoff(data, cfg, cut)?;
        let m = mask(&c.identified);
        let row = judge(name.clone(), &m, c.chosen, c.anonymous, c.seconds)?;
        if !ns.contains(&row.n) {
            ns.push(row.n);
        }
        rows.push(row);
    }

    // The naive ranking: past gross revenue.
    let past: Vec<f64> = universe_ids
        .iter()
        .map(|id| past_revenue.get(id).copied().unwrap_or(0.0))
        .collect();
    // The CLV ranking: expected revenue over the holdout days, fitted on the calibration.
    let t = Instant::now();
    let events: Vec<Event> = day_purchases(&cal.loaded.lines, &cal.cleaned)
        .into_iter()
        .map(|p| Event {
            customer: p.customer_id,
            day: p.day,
            value: p.value,
        })
        .collect();
    let stats = |source| RecoveryError::Stats {
        stage: "CLV ranking",
        source,
    };
    let models = Models::fit(&events, cut - 1).map_err(stats)?;
    let fc = models
        .forecast(
            None,
            &ForecastConfig {
                // From the calibration end (the day before the cut-off) to `end`.
                period_days: vec![f64::from(holdout_days) + 1.0],
                simulations: 0,
                level: 0.9,
                seed: base.seed,
                parameter_uncertainty: false,
            },
        )
        .map_err(stats)?;
    let expected: BTreeMap<u32, f64> = fc
        .customers
        .iter()
        .map(|c| (c.customer, c.expected_revenue))
        .collect();
    let clv: Vec<f64> = universe_ids
        .iter()
        .map(|id| expected.get(id).copied().unwrap_or(0.0))
        .collect();
    let clv_seconds = t.elapsed().as_secs_f64();
    for &n in &ns {
        let t = Instant::now();
        let naive = top_n(&past, &known, n)?;
        let suffix = if ns.len() > 1 {
            format!(", N = {n}")
        } else {
            String::new()
        };
        rows.push(judge(
            format!("naive (past revenue{suffix})"),
            &naive,
            n,
            0,
            t.elapsed().as_secs_f64(),
        )?);
        let top = top_n(&clv, &known, n)?;
        rows.push(judge(
            format!("CLV (BG/NBD + Gamma-Gamma{suffix})"),
            &top,
            n,
            0,
            clv_seconds,
        )?);
    }
    Ok(Forward {
        data: data.display().to_string(),
        cutoff: date::format_day(cut),
        holdout_last_day: date::format_day(end),
        basis,
        holdout_days,
        calibration_identified: past_revenue.len(),
        holdout_customers: buyer.iter().filter(|&&b| b).count(),
        holdout_new_customers: (0..n_u).filter(|&i| buyer[i] && !known[i]).count(),
        holdout_revenue: future.iter().sum(),
        rows,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
