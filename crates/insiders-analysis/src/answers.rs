//! The answers of a run, as written to `answers.json` and rendered in the report. Every field
//! is a pure function of the input lines, the options and the seed: two runs with the same
//! seed give the same bytes (timings live in `run.json`, never here).

use crate::actions::{Action, Hypothesis};
use crate::membership_stability::Stability;
use crate::profile::{ClusterProfile, Contrast};
use serde::Serialize;
use std::collections::BTreeMap;

/// What was run, on what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The as-of date: only invoices before it were seen.
    pub as_of: String,
    /// The master seed.
    pub seed: u64,
    /// The recognised source format.
    pub source: String,
    /// FNV-1a fingerprint of the invoice lines.
    pub data_fingerprint: String,
    /// FNV-1a fingerprint of the configuration.
    pub config_hash: String,
    /// Customers in the table.
    pub customers: usize,
    /// The space (`identity`, `pca`, `umap`, `tsne`, `forest`).
    pub space: String,
    /// The space's target (supervised spaces).
    pub space_target: String,
    /// The engine.
    pub engine: String,
    /// The requested k.
    pub k: usize,
    /// Figures of the space (out-of-bag R² of the forest...).
    pub space_info: BTreeMap<String, f64>,
    /// Clusters found.
    pub clusters_found: usize,
    /// Customers left as noise.
    pub noise: usize,
    /// The Insiders' cluster number.
    pub insiders_cluster: u32,
    /// The grid cell the model was taken from, when `[model.from_grid]` chose it.
    pub model_choice: Option<crate::choice::Choice>,
}

/// Q1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Who {
    /// The file with every Insider, features and distance to the cluster centre.
    pub file: String,
    /// Their ids, ascending.
    pub customer_ids: Vec<u32>,
}

/// Q2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HowMany {
    /// Insiders.
    pub insiders: usize,
    /// All customers.
    pub customers: usize,
    /// Their share.
    pub share_customers: f64,
    /// Customers of the table that are anonymous invoices (synthetic ids): in every total;
    /// Insiders only under `eligible = "everyone"`.
    pub anonymous: usize,
    /// The anonymous invoices' share of the gross revenue.
    pub anonymous_share_revenue: f64,
    /// Customers who may be Insiders (`[insiders] eligible`).
    pub eligible: usize,
}

/// Q4.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevenueShare {
    /// Insiders' gross revenue.
    pub insiders_revenue: f64,
    /// Every customer's.
    pub total_revenue: f64,
    /// The share.
    pub share_revenue: f64,
}

/// Q8.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guarantee {
    /// Insiders against the rest, feature by feature.
    pub tests: Vec<GroupTest>,
    /// Membership stability across seeds and subsamples.
    pub membership_stability: Stability,
}

/// A two-sided Mann-Whitney U test and bootstrap intervals of one feature, Insiders against
/// the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupTest {
    /// Feature.
    pub feature: String,
    /// Insiders' median.
    pub insiders_median: f64,
    /// The rest's median.
    pub rest_median: f64,
    /// U statistic of the Insiders.
    pub u: f64,
    /// Two-sided p-value (normal approximation with tie and continuity corrections).
    pub p_value: f64,
    /// Rank-biserial correlation (-1..1; > 0: Insiders tend to be larger).
    pub rank_biserial: f64,
    /// Probability that a random Insider exceeds a random other customer (ties count half).
    pub common_language: f64,
    /// Difference of means (Insiders - rest) and its bootstrap interval.
    pub mean_difference: Interval,
    /// Difference of medians and its bootstrap interval.
    pub median_difference: Interval,
    /// Why there is no test, when there is none.
    pub note: Option<String>,
    /// How the intervals were computed, when not by resampling every customer (above
    /// `insiders_stats::hypothesis::BOOTSTRAP_RESAMPLED_UP_TO` customers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_method: Option<String>,
}

/// An estimate with a confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
    /// Confidence level.
    pub level: f64,
}

/// Every answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answers {
    /// What was run.
    pub run: RunInfo,
    /// Q1.
    pub q1_who: Who,
    /// Q2.
    pub q2_how_many: HowMany,
    /// Q3: every feature of the Insiders against the rest.
    pub q3_characteristics: Vec<Contrast>,
    /// Q4.
    pub q4_revenue_share: RevenueShare,
    /// Q5.
    pub q5_expected_revenue: crate::revenue::ExpectedRevenue,
    /// Q6.
    pub q6_conditions_to_enter: crate::rules::EntryRules,
    /// Q7.
    pub q7_conditions_to_leave: crate::rules::LeaveConditions,
    /// Q8.
    pub q8_guarantee: Guarantee,
    /// Q9.
    pub q9_actions: Vec<Action>,
    /// H3, H4, H5.
    pub hypotheses: Vec<Hypothesis>,
    /// Every cluster's profile.
    pub clusters: Vec<ClusterProfile>,
    /// The whole base's feature summaries.
    pub base_profile: BTreeMap<String, crate::profile::Summary>,
    /// The Insiders beside the study's method's (`insiders run` when its method is not the
    /// study's; see [`crate::beside`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beside_study: Option<crate::beside::Beside>,
}
