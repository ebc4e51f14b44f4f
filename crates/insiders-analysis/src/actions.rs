//! Q9: an action per cluster, derived from its profile against the whole base, and the
//! study's hypotheses, each with the number that decides it.

use crate::profile::{ClusterProfile, Summary};
use serde::Serialize;
use std::collections::BTreeMap;

/// The suggested action for one cluster, with the figures that led to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// Cluster number.
    pub cluster: u32,
    /// A short segment name (`insiders`, `grow`, `win back`, `convert`, `nurture`).
    pub segment: String,
    /// What marketing can do.
    pub action: String,
    /// The figures behind it.
    pub evidence: String,
    /// A second action when the cluster returns much more than the base.
    pub returns_note: Option<String>,
}

fn median(f: &BTreeMap<String, Summary>, name: &str) -> f64 {
    f.get(name).map_or(f64::NAN, |s| s.median)
}

fn mean(f: &BTreeMap<String, Summary>, name: &str) -> f64 {
    f.get(name).map_or(f64::NAN, |s| s.mean)
}

/// The rules, in order (the first that holds names the segment):
/// 1. the Insiders: retain and reward;
/// 2. median revenue at least twice the base's and recency no worse than the base's: grow
///    toward Insiders;
/// 3. median recency at least twice the base's: win back;
/// 4. median invoices at most 1 (one-off buyers): convert to a second purchase;
/// 5. otherwise: nurture through low-cost channels.
///
/// Returns per item bought at least 1.5 times the base's add a returns note.
pub fn actions(
    profiles: &[ClusterProfile],
    base: &BTreeMap<String, Summary>,
    insiders: u32,
) -> Vec<Action> {
    let base_rev = median(base, "gross_revenue");
    let base_rec = median(base, "recency_days");
    let base_ret_rate = mean(base, "qtde_returns") / mean(base, "qtde_items");
    profiles
        .iter()
        .map(|p| {
            let f = &p.features;
            let rev = median(f, "gross_revenue");
            let rec = median(f, "recency_days");
            let inv = median(f, "qtde_invoices");
            let rev_idx = rev / base_rev;
            let rec_idx = rec / base_rec;
            let evidence = format!(
                "median gross revenue {rev:.2} ({rev_idx:.2}x the base's {base_rev:.2}); \
                 median recency {rec:.0} days ({rec_idx:.2}x the base's {base_rec:.0}); \
                 median invoices {inv:.0}; {:.1}% of customers, {:.1}% of revenue",
                100.0 * p.share_customers,
                100.0 * p.share_revenue
            );
            let (segment, action) = if p.cluster == insiders {
                (
                    "insiders",
                    "Retain and reward: the loyalty programme (early access, free shipping, a \
                     named contact); no discounts needed to keep them buying; watch for \
                     lapses (recency rising) month by month.",
                )
            } else if rev_idx >= 2.0 && rec_idx <= 1.0 {
                (
                    "grow",
                    "Grow toward the Insiders: cross-sell and personalised recommendations, \
                     volume thresholds that unlock Insider benefits.",
                )
            } else if rec_idx >= 2.0 {
                (
                    "win back",
                    "Win back: a reactivation campaign with a time-limited offer; ask why \
                     they stopped buying.",
                )
            } else if inv <= 1.0 {
                (
                    "convert",
                    "Convert to repeat buyers: a second-purchase incentive shortly after the \
                     first order.",
                )
            } else {
                (
                    "nurture",
                    "Nurture through low-cost channels (newsletter, seasonal campaigns); \
                     bundles to raise the ticket.",
                )
            };
            let ret_rate = mean(f, "qtde_returns") / mean(f, "qtde_items");
            let returns_note = (ret_rate >= 1.5 * base_ret_rate && ret_rate > 0.0).then(|| {
                format!(
                    "Returns: {:.2}% of items bought come back ({:.1}x the base's {:.2}%); \
                     review product information and the return policy for this group.",
                    100.0 * ret_rate,
                    ret_rate / base_ret_rate,
                    100.0 * base_ret_rate
                )
            });
            Action {
                cluster: p.cluster,
                segment: segment.to_string(),
                action: action.to_string(),
                evidence,
                returns_note,
            }
        })
        .collect()
}

/// One of the study's hypotheses, decided by a number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// The study's id (`H3`, `H4`, `H5`).
    pub id: String,
    /// The statement.
    pub statement: String,
    /// TRUE or FALSE.
    pub holds: bool,
    /// The deciding number.
    pub value: f64,
    /// How it was computed.
    pub detail: String,
}

/// Inputs of the hypotheses.
#[derive(Debug, Clone, Copy)]
pub struct HypothesisInputs {
    /// Insiders' share of gross revenue.
    pub revenue_share: f64,
    /// Insiders' share of the sum of per-customer distinct products (the study's measure),
    /// and the share of the catalogue's distinct stock codes that Insiders bought at least
    /// once; `None` when the data has no stock codes (H4 is then not tested).
    pub products: Option<(f64, f64)>,
    /// Insiders' and the whole base's mean returns; `None` when the data has no quantities
    /// (H5 is then not tested).
    pub returns: Option<(f64, f64)>,
}

/// H3, H4 and H5 of the study (H4 and H5 where the data has the columns they need).
pub fn hypotheses(x: HypothesisInputs) -> Vec<Hypothesis> {
    let mut out = vec![Hypothesis {
        id: "H3".into(),
        statement: "Insiders buy more than 10% of the total revenue".into(),
        holds: x.revenue_share > 0.10,
        value: x.revenue_share,
        detail: format!(
            "Insiders' gross revenue is {:.2}% of all customers' gross revenue",
            100.0 * x.revenue_share
        ),
    }];
    if let Some((products_share, catalogue_share)) = x.products {
        out.push(Hypothesis {
            id: "H4".into(),
            statement: "Insiders buy more than 10% of the distinct products".into(),
            holds: products_share > 0.10,
            value: products_share,
            detail: format!(
                "Insiders' distinct products per customer, summed, are {:.2}% of the base's \
                 sum (the study's measure); they bought {:.2}% of the catalogue's stock codes \
                 at least once",
                100.0 * products_share,
                100.0 * catalogue_share
            ),
        });
    }
    if let Some((insiders_returns, base_returns)) = x.returns {
        let ratio = insiders_returns / base_returns;
        out.push(Hypothesis {
            id: "H5".into(),
            statement: "Insiders return less than the average customer".into(),
            holds: insiders_returns < base_returns,
            value: ratio,
            detail: format!(
                "mean returned items per Insider {insiders_returns:.2} against \
                 {base_returns:.2} for the whole base ({ratio:.2}x)"
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypotheses_decide_by_their_numbers() {
        let h = hypotheses(HypothesisInputs {
            revenue_share: 0.4405,
            products: Some((0.33, 0.9)),
            returns: Some((30.0, 10.0)),
        });
        assert!(h[0].holds && h[1].holds);
        assert!(!h[2].holds);
        assert!((h[2].value - 3.0).abs() < 1e-12);
        let h = hypotheses(HypothesisInputs {
            revenue_share: 0.05,
            products: Some((0.10, 0.1)),
            returns: Some((1.0, 2.0)),
        });
        assert!(!h[0].holds && !h[1].holds && h[2].holds);
        // Data without stock codes or quantities: H4 and H5 are not tested.
        let h = hypotheses(HypothesisInputs {
            revenue_share: 0.2,
            products: None,
            returns: None,
        });
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].id, "H3");
    }
}
