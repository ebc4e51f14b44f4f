//! The Insiders analysis: the configured space and model, cluster profiles, the Insiders
//! cluster, and the evidence behind the answers to the marketing team's nine questions
//! (`../shared/docs/reference-pipeline.md`). `insiders run` drives it; every number here is a
//! pure function of the input lines, the options and the seed.

pub mod actions;
pub mod error;
pub mod events;
pub mod model;
pub mod options;
pub mod profile;
pub mod stability;

pub use error::AnalysisError;
pub use options::{
    AnalysisOptions, ForecastOptions, InsidersOptions, ModelOptions, RulesOptions, StabilityOptions,
};

use crate::actions::{Action, Hypothesis, HypothesisInputs};
use crate::events::DayPurchase;
use crate::model::{Fitted, ModelInput};
use crate::profile::{ClusterProfile, Contrast, Summary};
use crate::stability::Stability;
use insiders_core::Matrix;
use insiders_features::{Cleaned, CustomerTable};
use insiders_ingest::Transactions;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Each customer's distance to its cluster's centroid in the clustered space.
    pub distance: Vec<f64>,
    /// Each cluster's profile.
    pub profiles: Vec<ClusterProfile>,
    /// Customers left as noise by the engine.
    pub noise: usize,
}

/// Fits the configured space and model and picks the Insiders.
pub fn segment(
    inputs: Inputs<'_>,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Segmentation, AnalysisError> {
    let revenue = inputs.table.column("gross_revenue")?;
    let input = ModelInput {
        scaled: inputs.scaled,
        names: inputs.selected,
    };
    let fitted = model::fit(input, revenue, &opts.model, seed)?;
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
    let insider: Vec<bool> = fitted
        .cluster
        .iter()
        .map(|c| *c == Some(insiders_cluster))
        .collect();
    let distance = model::distance_to_centre(&fitted.coords, &fitted.cluster, fitted.k);
    let profiles = profile::profiles(inputs.table, revenue, &fitted.cluster, fitted.k);
    let noise = fitted.cluster.iter().filter(|c| c.is_none()).count();
    Ok(Segmentation {
        fitted,
        insiders_cluster,
        insider,
        distance,
        profiles,
        noise,
    })
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
}

/// Q2, Q3, Q4, Q9 and the hypotheses.
pub fn describe(inputs: Inputs<'_>, seg: &Segmentation) -> Result<Descriptive, AnalysisError> {
    let t = inputs.table;
    let revenue = t.column("gross_revenue")?;
    let products = t.column("qtde_products")?;
    let returns = t.column("qtde_returns")?;
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
        products_share: profile::total(products, |i| ins[i]) / profile::total(products, |_| true),
        catalogue_share: catalogue_share(inputs, ins),
        insiders_returns: mean_of(returns, &|i| ins[i]),
        base_returns: mean_of(returns, &|_| true),
    });
    Ok(Descriptive {
        size,
        contrast: profile::contrast(t, ins),
        actions: actions::actions(&seg.profiles, &base, seg.insiders_cluster),
        base,
        hypotheses: hyp,
    })
}

/// Share of the distinct stock codes of kept purchase lines that Insiders bought at least once.
fn catalogue_share(inputs: Inputs<'_>, insider: &[bool]) -> f64 {
    let ids: BTreeSet<u32> = inputs
        .table
        .customer_id
        .iter()
        .zip(insider)
        .filter(|&(_, &b)| b)
        .map(|(&c, _)| c)
        .collect();
    let mut all = BTreeSet::new();
    let mut theirs = BTreeSet::new();
    for &i in &inputs.cleaned.kept {
        let i = i as usize;
        if inputs.lines.quantity[i] < 0 {
            continue;
        }
        let code = inputs.lines.stock_code[i];
        all.insert(code);
        if ids.contains(&inputs.cleaned.customer[i]) {
            theirs.insert(code);
        }
    }
    theirs.len() as f64 / all.len().max(1) as f64
}

/// Q8's stability part for the segmentation.
pub fn membership_stability(
    inputs: Inputs<'_>,
    seg: &Segmentation,
    opts: &AnalysisOptions,
    seed: u64,
) -> Result<Stability, AnalysisError> {
    let revenue = inputs.table.column("gross_revenue")?;
    stability::stability(
        ModelInput {
            scaled: inputs.scaled,
            names: inputs.selected,
        },
        revenue,
        &seg.insider,
        &opts.model,
        seg.insiders_cluster,
        &opts.stability,
        seed,
    )
}

/// Purchase events of every customer in the table, per day.
pub fn purchases(inputs: Inputs<'_>) -> Vec<DayPurchase> {
    events::day_purchases(inputs.lines, inputs.cleaned)
}
