//! The Insiders analysis: the configured space and model, cluster profiles, the Insiders
//! cluster, and the evidence behind the answers to the marketing team's nine questions
//! (`../shared/docs/reference-pipeline.md`). `insiders run` drives it; every number here is a
//! pure function of the input lines, the options and the seed.

pub mod actions;
pub mod answers;
pub mod beside;
pub mod choice;
pub mod consensus;
pub mod error;
pub mod events;
pub mod guarantee;
pub mod membership_stability;
pub mod model;
pub mod options;
pub mod profile;
pub mod revenue;
pub mod rules;
pub mod run_report;

pub use error::AnalysisError;
pub use options::{
    AnalysisOptions, Eligible, ForecastOptions, InsidersOptions, ModelOptions, RulesOptions,
    StabilityOptions,
};

use crate::actions::{Action, Hypothesis, HypothesisInputs};
use crate::events::DayPurchase;
use crate::membership_stability::Stability;
use crate::model::{Fitted, ModelInput};
use crate::profile::{ClusterProfile, Contrast, Summary};
use insiders_core::Matrix;
use insiders_features::{Cleaned, CustomerTable};
use insiders_ingest::Transactions;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the analysis reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The invoice lines.
    pub lines: &'a Transactions,
    /// Their cleaning.
    pub cleaned: &'a Cleaned,
    /// The customer table (all 11 features).
    pub table: &'a CustomerTable,
    /// The scaled selected features (the model matrix), rows as `table`.
    pub scaled: &'a Matrix,
    /// The names of its columns.
    pub selected: &'a [String],
}

/// The clustering and the Insiders, before the questions.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Space and clusters.
    pub fitted: Fitted,
    /// The Insiders' cluster number.
    pub insiders_cluster: u32,
    /// Whether each customer is an Insider.
    pub insider: Vec<bool>,
    /// Each customer's Insider probability across the consensus' resampled fits (`None`
    /// without a consensus: one fit decides).
    pub probability: Option<Vec<f64>>,
    /// Each customer's distance to its cluster's centroid in the clustered space.
    pub distance: Vec<f64>,
    /// Each cluster's profile.
    pub profiles: Vec<ClusterProfile>,
    /// Whether each customer is an anonymous invoice ([`anonymous`] of the inputs it was
    /// fitted on; eligibility, the description and the stability refits read it).
    pub anonymous: Vec<bool>,
    /// Eligible customers left as noise by the engine.
    pub noise: usize,
    /// Customers that may not be Insiders (anonymous invoices under `eligible =
    /// "identified"`): not clustered by the consensus, counted in every total.
    pub not_eligible: usize,
}

/// What a selection of the Insiders reads: the model matrix, revenue and eligibility of
/// some customers (all of them, or a subsample for the stability refits).
#[derive(Debug, Clone, Copy)]
pub struct SelectInput<'a> {
    /// The model matrix rows.
    pub scaled: &'a Matrix,
    /// Its column names.
    pub names: &'a [String],
    /// Gross revenue per row.
    pub revenue: &'a [f64],
    /// Who may be an Insider.
    pub eligible: &'a [bool],
}

/// A selection: the clusters and the Insiders.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Space and clusters (clusters numbered 1.. by decreasing mean revenue; with a
    /// consensus, cluster 1 is the Insiders).
    pub fitted: Fitted,
    /// The Insiders' cluster.
    pub insiders_cluster: u32,
    /// Whether each row is an Insider.
    pub insider: Vec<bool>,
    /// The consensus' Insider probabilities.
    pub probability: Option<Vec<f64>>,
}

/// Selects the Insiders of `inp` as the options say: the study's single fit (the cluster of
/// rank `insiders.cluster`, eligible members only), or the consensus
/// ([`consensus`](crate::consensus)).
pub fn select(
    inp: SelectInput<'_>,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Selection, AnalysisError> {
    let input = ModelInput {
        scaled: inp.scaled,
        names: inp.names,
    };
    if !opts.model.consensus.enabled {
        let fitted = model::fit(input, inp.revenue, &opts.model, seed)?;
        let insiders_cluster = match opts.insiders.cluster {
            0 => 1,
            c if (c as usize) <= fitted.k => c,
            c => {
                return Err(AnalysisError::option(
                    "insiders.cluster",
                    format!("cluster {c} does not exist: the model found {}", fitted.k),
                ));
            }
        };
        let insider = fitted
            .cluster
            .iter()
            .zip(inp.eligible)
            .map(|(c, &e)| e && *c == Some(insiders_cluster))
            .collect();
        return Ok(Selection {
            fitted,
            insiders_cluster,
            insider,
            probability: None,
        });
    }
    if opts.insiders.cluster != 0 {
        return Err(AnalysisError::option(
            "insiders.cluster",
            "with model.consensus the Insiders are the consensus' top group (cluster 0)",
        ));
    }
    model::fit_consensus(input, inp.revenue, inp.eligible, &opts.model, seed)
}

/// Fits the configured space and model and picks the Insiders.
pub fn segment(
    inputs: Inputs<'_>,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Segmentation, AnalysisError> {
    let revenue = inputs.table.column("gross_revenue")?;
    let anonymous = anonymous(inputs);
    let eligible = eligible(&anonymous, opts.insiders.eligible);
    let sel = select(
        SelectInput {
            scaled: inputs.scaled,
            names: inputs.selected,
            revenue,
            eligible: &eligible,
        },
        opts,
        seed,
    )?;
    let fitted = sel.fitted;
    let distance = model::distance_to_centre(&fitted.coords, &fitted.cluster, fitted.k);
    let profiles = profile::profiles(inputs.table, revenue, &fitted.cluster, fitted.k);
    let noise = fitted
        .cluster
        .iter()
        .zip(&eligible)
        .filter(|(c, e)| c.is_none() && (**e || sel.probability.is_none()))
        .count();
    Ok(Segmentation {
        fitted,
        insiders_cluster: sel.insiders_cluster,
        insider: sel.insider,
        probability: sel.probability,
        distance,
        profiles,
        anonymous,
        noise,
        not_eligible: eligible.iter().filter(|&&e| !e).count(),
    })
}

/// Whether each customer of the table is an anonymous invoice: a synthetic id given by the
/// cleaning to an invoice without a customer id.
pub fn anonymous(inputs: Inputs<'_>) -> Vec<bool> {
    let ids = &inputs.table.customer_id;
    let mut anon = vec![false; ids.len()];
    // A run of lines has one customer: one look-up a run.
    let mut last_run = usize::MAX;
    for &i in &inputs.cleaned.kept {
        let i = i as usize;
        let r = inputs.lines.run_of(i);
        if r == last_run {
            continue;
        }
        last_run = r;
        if inputs.lines.customer_id(i).is_none()
            && let Ok(row) = ids.binary_search(&inputs.cleaned.customer(inputs.lines, i))
        {
            anon[row] = true;
        }
    }
    anon
}

/// The customers the Insiders may be chosen from (`[insiders] eligible`), given which are
/// anonymous ([`anonymous`]).
pub fn eligible(anonymous: &[bool], rule: Eligible) -> Vec<bool> {
    match rule {
        Eligible::Everyone => vec![true; anonymous.len()],
        Eligible::Identified => anonymous.iter().map(|a| !a).collect(),
    }
}

/// Q2 and Q4: how many Insiders, and their share of revenue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Size {
    /// Insiders.
    pub insiders: usize,
    /// All customers.
    pub customers: usize,
    /// Insiders' share of customers.
    pub share_customers: f64,
    /// Insiders' gross revenue.
    pub revenue: f64,
    /// All customers' gross revenue.
    pub total_revenue: f64,
    /// Insiders' share of it.
    pub share_revenue: f64,
}

/// The answers that follow from the segmentation alone (Q2, Q3, Q4, Q9 and the hypotheses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Descriptive {
    /// Q2 and Q4.
    pub size: Size,
    /// Q3: every feature of the Insiders against the rest.
    pub contrast: Vec<Contrast>,
    /// The whole base's summaries.
    pub base: BTreeMap<String, Summary>,
    /// Q9.
    pub actions: Vec<Action>,
    /// H3, H4, H5.
    pub hypotheses: Vec<Hypothesis>,
    /// Anonymous invoices: how many customers of the table, and their share of revenue.
    pub anonymous: (usize, f64),
}

/// Q2, Q3, Q4, Q9 and the hypotheses.
pub fn describe(inputs: Inputs<'_>, seg: &Segmentation) -> Result<Descriptive, AnalysisError> {
    let t = inputs.table;
    let revenue = t.column("gross_revenue")?;
    // Columns a shop's data may lack (no stock codes, no quantities): their hypotheses are
    // then not tested.
    let available = |name: &str| t.columns.iter().any(|c| c == name);
    let products = if available("qtde_products") {
        Some(t.column("qtde_products")?)
    } else {
        None
    };
    let returns = if available("qtde_returns") {
        Some(t.column("qtde_returns")?)
    } else {
        None
    };
    let ins = &seg.insider;
    let n_ins = ins.iter().filter(|&&b| b).count();
    let rev_ins = profile::total(revenue, |i| ins[i]);
    let rev_all = profile::total(revenue, |_| true);
    let size = Size {
        insiders: n_ins,
        customers: t.len(),
        share_customers: n_ins as f64 / t.len() as f64,
        revenue: rev_ins,
        total_revenue: rev_all,
        share_revenue: rev_ins / rev_all,
    };
    let base = profile::feature_summaries(t, |_| true);
    let mean_of = |col: &[f64], member: &dyn Fn(usize) -> bool| {
        let (s, c) = col
            .iter()
            .enumerate()
            .filter(|&(i, _)| member(i))
            .fold((0.0, 0usize), |(s, c), (_, v)| (s + v, c + 1));
        s / c as f64
    };
    let hyp = actions::hypotheses(HypothesisInputs {
        revenue_share: size.share_revenue,
        products: products.map(|p| {
            (
                profile::total(p, |i| ins[i]) / profile::total(p, |_| true),
                catalogue_share(inputs, ins),
            )
        }),
        returns: returns.map(|r| (mean_of(r, &|i| ins[i]), mean_of(r, &|_| true))),
    });
    let anon = &seg.anonymous;
    let anon_rev = profile::total(revenue, |i| anon[i]);
    Ok(Descriptive {
        // + 0.0: an empty sum is -0.0, which would print as a negative share.
        anonymous: (
            anon.iter().filter(|&&a| a).count(),
            anon_rev / rev_all + 0.0,
        ),
        size,
        contrast: profile::contrast(t, ins),
        actions: actions::actions(&seg.profiles, &base, seg.insiders_cluster),
        base,
        hypotheses: hyp,
    })
}

/// The ids of the customers where `insider` holds, ascending.
pub fn insider_ids(table: &CustomerTable, insider: &[bool]) -> Vec<u32> {
    table
        .customer_id
        .iter()
        .zip(insider)
        .filter(|&(_, &b)| b)
        .map(|(&c, _)| c)
        .collect()
}

/// Share of the distinct stock codes of kept purchase lines that Insiders bought at least once.
fn catalogue_share(inputs: Inputs<'_>, insider: &[bool]) -> f64 {
    // Stock codes are interned ids: a mark per code, and one membership look-up a run of
    // lines (a run has one customer).
    let codes = inputs.lines.stock_codes.len();
    let (mut all, mut theirs) = (vec![false; codes], vec![false; codes]);
    let ids = &inputs.table.customer_id;
    let (mut last_run, mut member) = (usize::MAX, false);
    for &i in &inputs.cleaned.kept {
        let i = i as usize;
        let r = inputs.lines.run_of(i);
        if r != last_run {
            last_run = r;
            member = ids
                .binary_search(&inputs.cleaned.customer(inputs.lines, i))
                .is_ok_and(|row| insider[row]);
        }
        if inputs.lines.is_return(i) {
            continue;
        }
        let code = inputs.lines.stock_code(i) as usize;
        all[code] = true;
        theirs[code] |= member;
    }
    let count = |v: &[bool]| v.iter().filter(|&&b| b).count();
    count(&theirs) as f64 / count(&all).max(1) as f64
}

/// Q8's stability part for the segmentation: the same selection refitted with other seeds
/// and on subsamples.
pub fn membership_stability(
    inputs: Inputs<'_>,
    seg: &Segmentation,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Stability, AnalysisError> {
    let revenue = inputs.table.column("gross_revenue")?;
    let eligible = eligible(&seg.anonymous, opts.insiders.eligible);
    let input = SelectInput {
        scaled: inputs.scaled,
        names: inputs.selected,
        revenue,
        eligible: &eligible,
    };
    membership_stability::stability(&seg.insider, &opts.stability, seed, |rows, s| {
        let sel = match rows {
            None => select(input, opts, s)?,
            Some(idx) => {
                let scaled = inputs.scaled.select(ndarray::Axis(0), idx);
                let rev: Vec<f64> = idx.iter().map(|&i| revenue[i]).collect();
                let el: Vec<bool> = idx.iter().map(|&i| eligible[i]).collect();
                let sub = SelectInput {
                    scaled: &scaled,
                    names: inputs.selected,
                    revenue: &rev,
                    eligible: &el,
                };
                select(sub, opts, s)?
            }
        };
        // The refit's Insiders: by the run's cluster rank (one fit), or its own consensus.
        Ok(match sel.probability {
            Some(_) => sel.insider,
            None => sel
                .fitted
                .cluster
                .iter()
                .zip(rows.map_or_else(
                    || eligible.clone(),
                    |idx| idx.iter().map(|&i| eligible[i]).collect(),
                ))
                .map(|(c, e)| e && *c == Some(seg.insiders_cluster))
                .collect(),
        })
    })
}

/// Purchase events of every customer in the table, per day.
pub fn purchases(inputs: Inputs<'_>) -> Vec<DayPurchase> {
    events::day_purchases(inputs.lines, inputs.cleaned)
}

/// Everything a run computes before it touches the history database.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The space, the clusters and the Insiders.
    pub segmentation: Segmentation,
    /// Q2, Q3, Q4, Q9 and the hypotheses.
    pub descriptive: Descriptive,
    /// Q8: membership stability.
    pub stability: Stability,
    /// Q5.
    pub revenue: revenue::RevenueModel,
    /// Q6 (and the Insiders on the edge, for Q7).
    pub entry: rules::EntryAnalysis,
    /// Q8: Insiders against the rest.
    pub tests: Vec<answers::GroupTest>,
    /// The last day of the data.
    pub end_day: i64,
    /// The Insiders chosen from the calibration data (Q5's backtest), their ids; `None`
    /// without calibration data or when none could be chosen.
    pub calibration_insiders: Option<Vec<u32>>,
    /// Wall seconds of each step (for run.json and the scale benchmark; never in the
    /// answers). Membership stability runs beside the statistics, so the steps overlap.
    pub timings: Vec<(&'static str, f64)>,
}

/// Tells each step's name as it starts (progress on a terminal).
pub type StepObserver<'a> = &'a (dyn Fn(&str) + Sync);

/// Runs `f` and records its wall seconds under `name`; `step` is told `name` first.
fn timed<T>(
    step: StepObserver<'_>,
    out: &mut Vec<(&'static str, f64)>,
    name: &'static str,
    f: impl FnOnce() -> T,
) -> T {
    step(name);
    let t = std::time::Instant::now();
    let r = f();
    out.push((name, t.elapsed().as_secs_f64()));
    r
}

/// Runs the whole analysis without calibration data: Q5 has no backtest and forecasts with
/// BG/NBD + Gamma-Gamma ([`analyse_with_calibration`]).
pub fn analyse(
    inputs: Inputs<'_>,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Analysis, AnalysisError> {
    analyse_with_calibration(inputs, None, opts, seed)
}

/// Runs the whole analysis. `calibration` is the same pipeline on the data up to Q5's
/// backtest cut-off ([`revenue::backtest_cutoff`]; `as_of` the day after it), from which Q5
/// chooses the backtest's Insiders. The membership-stability refits run beside the
/// statistics; every step's seed derives from `seed`, so the result is the same whatever the
/// number of threads.
pub fn analyse_with_calibration(
    inputs: Inputs<'_>,
    calibration: Option<Inputs<'_>>,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Analysis, AnalysisError> {
    analyse_observed(inputs, calibration, opts, seed, &|_| {})
}

/// [`analyse_with_calibration`], telling `step` each step's name as it starts (membership
/// stability runs beside the statistics, so two steps can be under way at once).
pub fn analyse_observed(
    inputs: Inputs<'_>,
    calibration: Option<Inputs<'_>>,
    opts: &AnalysisOptions,
    seed: u64,
    step: StepObserver<'_>,
) -> Result<Analysis, AnalysisError> {
    let mut timings = Vec::new();
    let segmentation = timed(step, &mut timings, "space and clusters", || {
        segment(inputs, opts, seed)
    })?;
    let descriptive = timed(step, &mut timings, "description", || {
        describe(inputs, &segmentation)
    })?;
    let seg = &segmentation;
    let end_day = inputs.cleaned.last_day;
    let ((stability, stability_t), (rest, mut rest_t)) = rayon::join(
        || {
            let mut t = Vec::new();
            let r = timed(
                step,
                &mut t,
                "membership stability (beside the rest)",
                || membership_stability(inputs, seg, opts, seed),
            );
            (r, t)
        },
        || {
            let mut t = Vec::new();
            let r = (|| -> Result<_, AnalysisError> {
                let purchases = timed(step, &mut t, "purchases", || purchases(inputs));
                let ids = insider_ids(inputs.table, &seg.insider);
                let cal_ids = timed(step, &mut t, "calibration Insiders", || {
                    revenue::calibration_insiders(inputs, calibration, opts, seed)
                });
                let revenue = timed(step, &mut t, "expected revenue", || {
                    revenue::expected_revenue(
                        &purchases,
                        &ids,
                        cal_ids.clone(),
                        end_day,
                        &opts.forecast,
                        insiders_core::derive_seed(seed, 3),
                    )
                })?;
                let entry = timed(step, &mut t, "entry rules", || {
                    rules::entry_rules(inputs.table, &seg.insider, &opts.rules)
                })?;
                let tests = timed(step, &mut t, "group tests", || {
                    guarantee::group_tests(
                        inputs.table,
                        &seg.insider,
                        &opts.stability,
                        insiders_core::derive_seed(seed, 4),
                    )
                })?;
                Ok((revenue, entry, tests, cal_ids.ok()))
            })();
            (r, t)
        },
    );
    let (revenue, entry, tests, calibration_insiders) = rest?;
    timings.extend(stability_t);
    timings.append(&mut rest_t);
    Ok(Analysis {
        segmentation,
        descriptive,
        stability: stability?,
        revenue,
        entry,
        tests,
        end_day,
        calibration_insiders,
        timings,
    })
}

/// The answers of an analysis, given what was run and the changes since the previous run.
pub fn answers(
    a: &Analysis,
    table: &CustomerTable,
    run: answers::RunInfo,
    since_previous: Option<rules::MembershipChanges>,
) -> answers::Answers {
    let seg = &a.segmentation;
    let d = &a.descriptive;
    let ids = insider_ids(table, &seg.insider);
    answers::Answers {
        run,
        q1_who: answers::Who {
            file: "insiders.csv".into(),
            customer_ids: ids,
        },
        q2_how_many: answers::HowMany {
            insiders: d.size.insiders,
            customers: d.size.customers,
            share_customers: d.size.share_customers,
            anonymous: d.anonymous.0,
            anonymous_share_revenue: d.anonymous.1,
            eligible: d.size.customers - seg.not_eligible,
        },
        q3_characteristics: d.contrast.clone(),
        q4_revenue_share: answers::RevenueShare {
            insiders_revenue: d.size.revenue,
            total_revenue: d.size.total_revenue,
            share_revenue: d.size.share_revenue,
        },
        q5_expected_revenue: a.revenue.answer.clone(),
        q6_conditions_to_enter: a.entry.rules.clone(),
        q7_conditions_to_leave: rules::LeaveConditions {
            summary: a.entry.leave_summary.clone(),
            on_the_edge: a.entry.on_the_edge.clone(),
            likely_lapsed: a.revenue.likely_lapsed.clone(),
            since_previous,
        },
        q8_guarantee: answers::Guarantee {
            tests: a.tests.clone(),
            membership_stability: a.stability.clone(),
        },
        q9_actions: d.actions.clone(),
        hypotheses: d.hypotheses.clone(),
        clusters: seg.profiles.clone(),
        base_profile: d.base.clone(),
        beside_study: None,
    }
}
