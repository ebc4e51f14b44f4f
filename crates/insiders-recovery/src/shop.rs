//! Recovery on a synthetic shop: the configured method's Insiders against the planted
//! high-value customers, with membership stability, beside the reference ceilings.
//!
//! Who counts: the rows of the customer table (after the canonical cleaning), ascending id.
//! A row is a **true high-value customer** when its id is a real customer id whose archetype
//! is `loyal_high_value` or `bulk_wholesale`. Anonymous invoices (synthetic ids) are rows of
//! the table, may be chosen by a method whose `[insiders] eligible` allows it, and are never
//! high-value. Planted customers the cleaning removes (an excluded country) are not rows and
//! not counted (`planted_removed` says how many).

use crate::RecoveryError;
use crate::metrics::{Confusion, top_n};
use insiders_analysis::{Inputs, anonymous, membership_stability, segment};
use insiders_core::{Rng, derive_seed};
use insiders_features::{clean, customer_table};
use insiders_pipeline::{Config, model_matrix};
use insiders_stats::tree::{ClassWeight, DecisionTree, TreeConfig};
use insiders_synth::{Archetype, ShopConfig, generate};
use ndarray::Axis;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// One synthetic shop to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShopSpec {
    /// Customers with an id.
    pub customers: usize,
    /// The shop's seed.
    pub seed: u64,
    /// Share of the planted high-value customers (`None`: the default mix, 10%).
    pub high_value_share: Option<f64>,
}

impl ShopSpec {
    /// The generator's configuration.
    ///
    /// # Errors
    /// [`RecoveryError::Synth`] for a share outside `0..=1`.
    pub fn shop_config(&self) -> Result<ShopConfig, RecoveryError> {
        let cfg = ShopConfig {
            customers: self.customers,
            seed: self.seed,
            ..Default::default()
        };
        Ok(match self.high_value_share {
            Some(s) => cfg.with_high_value_share(s)?,
            None => cfg,
        })
    }

    /// `default mix` or `high-value 3%`.
    pub fn label(&self) -> String {
        match self.high_value_share {
            None => "default mix (10%)".into(),
            Some(s) => format!("high-value {}%", fmt_pct(s)),
        }
    }
}

fn fmt_pct(s: f64) -> String {
    let p = 100.0 * s;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}")
    } else {
        format!("{p}")
    }
}

/// One method's selection on a shop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodRow {
    /// `configured`, `top-N revenue` or `classifier (5-fold CV)`.
    pub method: String,
    /// Customers selected.
    pub selected: usize,
    /// Selected rows that are anonymous invoices.
    pub selected_anonymous: usize,
    /// Selected and truly high-value.
    pub hits: usize,
    /// hits / selected.
    pub precision: f64,
    /// hits / true high-value rows.
    pub recall: f64,
    /// 2 hits / (selected + true high-value rows).
    pub f1: f64,
    /// Mean Jaccard of the Insiders across reseeded refits (`None`: not a refitted method).
    pub jaccard_seeds: Option<f64>,
    /// Mean Jaccard across subsample refits.
    pub jaccard_subsamples: Option<f64>,
    /// Wall time of the method (for the configured method: the fit and the stability refits).
    pub seconds: f64,
}

impl MethodRow {
    fn new(
        method: &str,
        sel: &[bool],
        truth: &[bool],
        anon: &[bool],
        seconds: f64,
    ) -> Result<MethodRow, RecoveryError> {
        let c = Confusion::of(sel, truth)?;
        Ok(MethodRow {
            method: method.into(),
            selected: c.selected,
            selected_anonymous: sel.iter().zip(anon).filter(|&(&s, &a)| s && a).count(),
            hits: c.hits,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
            jaccard_seeds: None,
            jaccard_subsamples: None,
            seconds,
        })
    }
}

/// The evaluation of one shop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShopResult {
    /// The shop.
    pub spec: ShopSpec,
    /// Its label (`default mix (10%)`, `high-value 3%`).
    pub shop: String,
    /// Rows of the customer table (identified customers and anonymous invoices).
    pub rows: usize,
    /// Of which anonymous invoices.
    pub anonymous_rows: usize,
    /// True high-value customers among the rows.
    pub high_value: usize,
    /// Planted high-value customers that the cleaning removed (not rows).
    pub planted_removed: usize,
    /// The configured method, then the ceilings.
    pub methods: Vec<MethodRow>,
    /// Wall time of the whole cell: generation, reading, cleaning, features, every method.
    pub seconds: f64,
}

/// Whether an archetype is one of the planted high-value ones.
pub fn is_high_value(a: Archetype) -> bool {
    matches!(a, Archetype::LoyalHighValue | Archetype::BulkWholesale)
}

/// Generates the shop of `spec`, runs it through the pipeline of `cfg` and evaluates the
/// configured method (with its membership stability, `[stability]` of `cfg`) and the
/// ceilings. The method's seed is `cfg.seed`.
///
/// The synthetic ids of anonymous invoices follow the cleaning's rule (by default they start
/// above the shop's largest real id).
///
/// # Errors
/// Any error of the generator, the pipeline, the method or the classifier.
pub fn evaluate_shop(cfg: &Config, spec: &ShopSpec) -> Result<ShopResult, RecoveryError> {
    let t0 = Instant::now();
    let shop = generate(&spec.shop_config()?)?;
    let name = format!(
        "synthetic shop ({} customers, seed {})",
        spec.customers, spec.seed
    );
    let loaded = insiders_ingest::read_bytes(Path::new(&name), shop.csv, &cfg.input)?;
    let cleaned = clean(&loaded.lines, &loaded.report, &cfg.cleaning)?;
    let table = customer_table(&loaded.lines, &cleaned)?;
    let m = model_matrix(&table, cfg)?;
    let inputs = Inputs {
        lines: &loaded.lines,
        cleaned: &cleaned,
        table: &table,
        scaled: &m.x,
        selected: &cfg.features.selected,
    };
    let anon = anonymous(inputs);
    let archetype: BTreeMap<u32, Archetype> = shop
        .truth
        .iter()
        .map(|t| (t.customer_id, t.archetype))
        .collect();
    let truth: Vec<bool> = table
        .customer_id
        .iter()
        .zip(&anon)
        .map(|(id, &a)| !a && archetype.get(id).is_some_and(|&x| is_high_value(x)))
        .collect();
    let high_value = truth.iter().filter(|&&b| b).count();
    let planted = shop
        .truth
        .iter()
        .filter(|t| is_high_value(t.archetype))
        .count();

    // The configured method, exactly as `insiders run` fits it.
    let opts = cfg.analysis();
    let t = Instant::now();
    let seg = segment(inputs, &opts, cfg.seed)?;
    let stab = membership_stability(inputs, &seg, &opts, cfg.seed)?;
    let mut configured = MethodRow::new(
        "configured",
        &seg.insider,
        &truth,
        &anon,
        t.elapsed().as_secs_f64(),
    )?;
    configured.jaccard_seeds = Some(stab.seed_mean);
    configured.jaccard_subsamples = Some(stab.subsample_mean);

    // Ceiling 1: the top N identified customers by gross revenue, N = the true number.
    let t = Instant::now();
    let revenue = table.column("gross_revenue")?;
    let identified: Vec<bool> = anon.iter().map(|&a| !a).collect();
    let top = top_n(revenue, &identified, high_value)?;
    let top_row = MethodRow::new(
        "top-N revenue",
        &top,
        &truth,
        &anon,
        t.elapsed().as_secs_f64(),
    )?;

    // Ceiling 2: a decision tree trained on the truth, 5-fold cross-validated.
    let t = Instant::now();
    let predicted = cross_validated_tree(&table, &truth, derive_seed(cfg.seed, 0x7265_636f))?;
    let tree_row = MethodRow::new(
        "classifier (5-fold CV)",
        &predicted,
        &truth,
        &anon,
        t.elapsed().as_secs_f64(),
    )?;

    Ok(ShopResult {
        shop: spec.label(),
        spec: spec.clone(),
        rows: table.len(),
        anonymous_rows: anon.iter().filter(|&&a| a).count(),
        high_value,
        planted_removed: planted - high_value,
        methods: vec![configured, top_row, tree_row],
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Folds for cross-validation.
pub const FOLDS: usize = 5;

/// Out-of-fold predictions of a decision tree (depth 4, leaves of at least 5 customers)
/// trained on `truth` from every feature of the table that is finite for every row (the
/// unscaled features): rows are shuffled by `seed` and dealt into [`FOLDS`] folds; each
/// fold is predicted by a tree fitted on the others (a fold whose training part has one
/// class only predicts that class).
///
/// # Errors
/// [`RecoveryError::Stats`] when the tree cannot be fitted.
pub fn cross_validated_tree(
    table: &insiders_features::CustomerTable,
    truth: &[bool],
    seed: u64,
) -> Result<Vec<bool>, RecoveryError> {
    let n = table.len();
    if truth.len() != n {
        return Err(RecoveryError::Shape(format!(
            "{} labels for {n} rows",
            truth.len()
        )));
    }
    let names: Vec<&str> = table
        .columns
        .iter()
        .zip(&table.values)
        .filter(|(_, v)| v.iter().all(|x| x.is_finite()))
        .map(|(c, _)| c.as_str())
        .collect();
    let x = table.select(&names)?;
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    let mut fold = vec![0usize; n];
    for (pos, &i) in order.iter().enumerate() {
        fold[i] = pos % FOLDS;
    }
    let config = TreeConfig {
        max_depth: 4,
        min_samples_leaf: 5,
        class_weight: ClassWeight::Uniform,
    };
    let stats = |source| RecoveryError::Stats {
        stage: "classifier ceiling",
        source,
    };
    let mut out = vec![false; n];
    for f in 0..FOLDS {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
        if test.is_empty() {
            continue;
        }
        let y: Vec<bool> = train.iter().map(|&i| truth[i]).collect();
        let xt = x.select(Axis(0), &test);
        let pred = if y.iter().all(|&b| b == y[0]) || train.is_empty() {
            vec![y.first().copied().unwrap_or(false); test.len()]
        } else {
            let xr = x.select(Axis(0), &train);
            DecisionTree::fit(xr.view(), &names, &y, &config)
                .and_then(|tree| tree.predict(xt.view()))
                .map_err(stats)?
        };
        for (&i, p) in test.iter().zip(pred) {
            out[i] = p;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_features::CustomerTable;

    fn table(revenue: Vec<f64>, other: Vec<f64>) -> CustomerTable {
        CustomerTable {
            customer_id: (1..=revenue.len() as u32).collect(),
            columns: vec!["gross_revenue".into(), "other".into(), "undefined".into()],
            values: vec![revenue.clone(), other, vec![f64::NAN; revenue.len()]],
            unavailable: Vec::new(),
        }
    }

    #[test]
    fn the_classifier_ceiling_predicts_out_of_fold() {
        // High value is exactly revenue above 500, with a gap: every fold's tree learns a
        // threshold in the gap from the other folds and predicts its own rows right. The NaN
        // column is skipped.
        let revenue: Vec<f64> = (0..60)
            .map(|i| f64::from(i) + if i >= 40 { 1000.0 } else { 0.0 })
            .collect();
        let other: Vec<f64> = (0..60).map(|i| f64::from(i % 7)).collect();
        let truth: Vec<bool> = revenue.iter().map(|&r| r > 500.0).collect();
        let t = table(revenue, other);
        let p = cross_validated_tree(&t, &truth, 7).unwrap();
        assert_eq!(p, truth);
        assert!(cross_validated_tree(&t, &truth[1..], 7).is_err());
        // One class only: predicted as that class, no error.
        let none = vec![false; 60];
        assert_eq!(cross_validated_tree(&t, &none, 7).unwrap(), none);
    }

    #[test]
    fn share_specs_label_and_configure_the_shop() {
        let s = ShopSpec {
            customers: 100,
            seed: 3,
            high_value_share: Some(0.03),
        };
        assert_eq!(s.label(), "high-value 3%");
        let c = s.shop_config().unwrap();
        assert!((c.share(Archetype::LoyalHighValue) - 0.024).abs() < 1e-12);
        let d = ShopSpec {
            high_value_share: None,
            ..s
        };
        assert_eq!(
            d.shop_config().unwrap(),
            ShopConfig {
                customers: 100,
                seed: 3,
                ..Default::default()
            }
        );
        assert!(is_high_value(Archetype::BulkWholesale) && !is_high_value(Archetype::Regular));
    }
}
