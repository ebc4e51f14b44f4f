//! Q6 and Q7: plain-language conditions to enter and to leave the Insiders, from a shallow
//! decision tree that reproduces membership; and who entered and left since the previous run.

use serde::Serialize;

/// One path of the tree that ends in a leaf predicting "Insider".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// The conditions, e.g. `gross_revenue > 4,382.61 and qtde_invoices > 7`.
    pub text: String,
    /// Customers meeting them.
    pub customers: usize,
    /// Share of them who are Insiders.
    pub precision: f64,
    /// Share of the Insiders who meet them.
    pub recall: f64,
}

/// Q6.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryRules {
    /// The tree's depth limit.
    pub max_depth: usize,
    /// The features the tree could use (the unscaled customer features).
    pub features: Vec<String>,
    /// The rules (any one of them admits a customer).
    pub rules: Vec<Rule>,
    /// Of the customers the rules admit, the share who are Insiders.
    pub precision: f64,
    /// Of the Insiders, the share the rules admit.
    pub recall: f64,
    /// Share of all customers classified correctly.
    pub accuracy: f64,
}

/// Who entered and left since the previous run in the database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MembershipChanges {
    /// The previous run's as-of date.
    pub previous_as_of: String,
    /// Insiders now who were not then (new customers included).
    pub entered: Vec<i64>,
    /// Insiders then who are not now.
    pub left: Vec<i64>,
    /// Insiders in both.
    pub stayed: usize,
}

/// Q7.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaveConditions {
    /// Plain-language: an Insider leaves when no entry rule holds any more at a monthly run.
    pub summary: String,
    /// Insiders whom the rules do not admit: on the edge, the first to leave when the model
    /// is refitted.
    pub on_the_edge: Vec<u32>,
    /// Insiders whose BG/NBD probability of still being active is below 0.5.
    pub likely_lapsed: Vec<u32>,
    /// Changes since the previous run (none on the first run).
    pub since_previous: Option<MembershipChanges>,
}

/// Q6 and what Q7 takes from it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryAnalysis {
    /// The rules (Q6).
    pub rules: EntryRules,
    /// Insiders the rules do not admit, ascending ids.
    pub on_the_edge: Vec<u32>,
    /// The conditions to leave, in words (Q7).
    pub leave_summary: String,
}

/// The features a rule may use: every customer feature that is never missing
/// (`avg_recency_days` is missing for single-day customers, so it is left out).
pub fn rule_features(table: &insiders_features::CustomerTable) -> Vec<String> {
    table
        .columns
        .iter()
        .zip(&table.values)
        .filter(|(_, v)| v.iter().all(|x| x.is_finite()))
        .map(|(c, _)| c.clone())
        .collect()
}

fn negate(c: &insiders_stats::tree::Condition) -> String {
    use insiders_stats::tree::format_number as f;
    match (c.lower, c.upper) {
        (Some(l), Some(u)) => format!("{} <= {} or {} > {}", c.feature, f(l), c.feature, f(u)),
        (Some(l), None) => format!("{} <= {}", c.feature, f(l)),
        (None, Some(u)) => format!("{} > {}", c.feature, f(u)),
        (None, None) => format!("{} (never)", c.feature),
    }
}

/// Fits a shallow decision tree that reproduces membership from the unscaled customer
/// features and turns it into rules to enter and conditions to leave.
pub fn entry_rules(
    table: &insiders_features::CustomerTable,
    insider: &[bool],
    opts: &crate::options::RulesOptions,
) -> Result<EntryAnalysis, crate::AnalysisError> {
    use insiders_stats::tree::{ClassWeight, DecisionTree, TreeConfig};
    let stats = |source| crate::AnalysisError::Stats {
        stage: "conditions to enter (Q6)",
        source,
    };
    let features = rule_features(table);
    let n = table.len();
    let mut x = ndarray::Array2::<f64>::zeros((n, features.len()));
    for (j, f) in features.iter().enumerate() {
        for (i, v) in table.column(f)?.iter().enumerate() {
            x[[i, j]] = *v;
        }
    }
    let config = TreeConfig {
        max_depth: opts.max_depth,
        min_samples_leaf: opts.min_samples_leaf,
        class_weight: ClassWeight::Uniform,
    };
    let tree = DecisionTree::fit(x.view(), &features, insider, &config).map_err(stats)?;
    let predicted = tree.predict(x.view()).map_err(stats)?;
    let scores = tree.training_scores();
    let found = tree.rules();
    let on_the_edge = table
        .customer_id
        .iter()
        .zip(insider.iter().zip(&predicted))
        .filter(|&(_, (&is, &pred))| is && !pred)
        .map(|(&id, _)| id)
        .collect();
    let mut leave = String::from(
        "An Insider leaves at the monthly run where the model no longer puts them in the \
         Insiders' cluster. In the rules' terms: when none of the entry rules holds any more",
    );
    if found.is_empty() {
        leave.push('.');
    } else {
        leave.push_str(", that is when all of these hold: ");
        let parts: Vec<String> = found
            .iter()
            .enumerate()
            .map(|(k, r)| {
                let any: Vec<String> = r.conditions.iter().map(negate).collect();
                format!("({}) {}", k + 1, any.join(" or "))
            })
            .collect();
        leave.push_str(&parts.join("; "));
        leave.push('.');
    }
    let rules = EntryRules {
        max_depth: opts.max_depth,
        features,
        rules: found
            .iter()
            .map(|r| Rule {
                text: r.text.clone(),
                customers: r.support,
                precision: r.precision,
                recall: r.recall,
            })
            .collect(),
        precision: scores.precision,
        recall: scores.recall,
        accuracy: scores.accuracy,
    };
    Ok(EntryAnalysis {
        rules,
        on_the_edge,
        leave_summary: leave,
    })
}
