//! Shared steps of the whole-pipeline benchmarks (`benches/pipeline.rs`, `benches/scale.rs`):
//! the pipeline from invoice lines to the model matrix, as `insiders run` does it with the
//! default configuration. The data sets come from the registry of `insiders-datasets`
//! (`insiders_datasets::require`: a missing file skips locally and fails under `CI=true`).

use insiders_features::{
    CleaningOptions, CustomerTable, SELECTED_FEATURES, Scaler, ScalerKind, clean, customer_table,
};
use insiders_ingest::Loaded;

/// The result of cleaning and features: what the analysis takes besides the lines.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The cleaning (row accounting, synthetic ids, period).
    pub cleaned: insiders_features::Cleaned,
    /// The customer table (the 11 features).
    pub table: CustomerTable,
}

/// Cleaning and customer features with the default options.
///
/// # Panics
/// When a step fails (a benchmark has no use for a failed run).
pub fn prepare(l: &Loaded) -> Prepared {
    prepare_with(l, &CleaningOptions::default())
}

/// Cleaning and customer features with the given cleaning options.
///
/// # Panics
/// When a step fails.
pub fn prepare_with(l: &Loaded, opts: &CleaningOptions) -> Prepared {
    let cleaned = clean(&l.lines, &l.report, opts).expect("clean");
    let table = customer_table(&l.lines, &cleaned).expect("features");
    Prepared { cleaned, table }
}

/// Cleaning options for a synthetic shop: the default (whose ids for id-less invoices start
/// above the shop's largest customer id when `synthetic_id_start` is not set).
pub fn cleaning_for(_shop: &insiders_datasets::synthetic::Shop) -> CleaningOptions {
    CleaningOptions::default()
}

/// The model matrix: the five selected features, min-max scaled (the canonical scaler).
///
/// # Panics
/// When scaling fails.
pub fn scale(table: &CustomerTable) -> insiders_core::Matrix {
    let s = Scaler::fit(ScalerKind::MinMax, table, &SELECTED_FEATURES).expect("fit");
    s.transform(table).expect("scale")
}
