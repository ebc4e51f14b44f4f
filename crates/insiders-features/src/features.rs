//! The 11 per-customer features of the reference pipeline (dates truncated to the day), and
//! which of them a data set can have: a feature that needs a column the data lacks
//! ([`unavailable_features`]) is left out of the table, which lists it as unavailable.

use crate::clean::Cleaned;
use crate::error::FeaturesError;
use insiders_core::Matrix;
use insiders_ingest::{Present, Transactions, date};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Every feature, in the order of the reference table.
pub const ALL_FEATURES: [&str; 11] = [
    "gross_revenue",
    "recency_days",
    "qtde_invoices",
    "qtde_items",
    "qtde_products",
    "avg_ticket",
    "avg_recency_days",
    "frequency",
    "qtde_returns",
    "avg_basket_size",
    "avg_unique_basket_size",
];

/// The five features of the canonical model.
pub const SELECTED_FEATURES: [&str; 5] = [
    "gross_revenue",
    "recency_days",
    "qtde_products",
    "frequency",
    "qtde_returns",
];

/// A feature the data cannot give, and the column it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// The feature.
    pub feature: String,
    /// The column it needs (its canonical name: `StockCode`, `Quantity`).
    pub column: String,
    /// The setting that names that column.
    pub setting: String,
}

/// The features that need a column the data does not have, in [`ALL_FEATURES`] order.
///
/// The revenue (quantity x unit price, or the amount), the dates and the orders (invoice
/// numbers, or orders derived from customer and timestamp) are always there, so
/// `gross_revenue`, `recency_days`, `qtde_invoices`, `avg_ticket`, `avg_recency_days` and
/// `frequency` always are. Quantities are needed by `qtde_items`, `qtde_returns` and
/// `avg_basket_size`; stock codes by `qtde_products` (purchase lines count as products
/// only where a line is one product, which a stock code says) and `avg_unique_basket_size`.
pub fn unavailable_features(present: &Present) -> Vec<Unavailable> {
    let needs = |feature: &str| -> Option<(&'static str, &'static str)> {
        match feature {
            "qtde_items" | "qtde_returns" | "avg_basket_size" if !present.quantity => {
                Some(("Quantity", "input.columns.quantity"))
            }
            "qtde_products" | "avg_unique_basket_size" if !present.stock_code => {
                Some(("StockCode", "input.columns.stock_code"))
            }
            _ => None,
        }
    };
    ALL_FEATURES
        .iter()
        .filter_map(|f| {
            needs(f).map(|(column, setting)| Unavailable {
                feature: f.to_string(),
                column: column.to_string(),
                setting: setting.to_string(),
            })
        })
        .collect()
}

/// Customers (ascending id) and named feature columns. Missing values are `NaN`
/// (`avg_recency_days` of customers with a single distinct date). Features the data cannot
/// give are not columns; they are listed in `unavailable`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerTable {
    /// Customer ids, ascending.
    pub customer_id: Vec<u32>,
    /// Column names.
    pub columns: Vec<String>,
    /// Column-major values: `values[j][i]` is column j of customer i.
    pub values: Vec<Vec<f64>>,
    /// The features left out because the data lacks a column they need.
    pub unavailable: Vec<Unavailable>,
}

impl CustomerTable {
    /// Number of customers.
    pub fn len(&self) -> usize {
        self.customer_id.len()
    }

    /// Whether the table has no customers.
    pub fn is_empty(&self) -> bool {
        self.customer_id.is_empty()
    }

    /// A column by name; an unavailable feature is an error naming the column it needs.
    pub fn column(&self, name: &str) -> Result<&[f64], FeaturesError> {
        if let Some(j) = self.columns.iter().position(|c| c == name) {
            return Ok(self.values[j].as_slice());
        }
        Err(match self.unavailable.iter().find(|u| u.feature == name) {
            Some(u) => FeaturesError::UnavailableFeature {
                feature: u.feature.clone(),
                column: u.column.clone(),
                setting: u.setting.clone(),
            },
            None => FeaturesError::UnknownFeature {
                name: name.to_string(),
                known: self.columns.join(", "),
            },
        })
    }

    /// The named columns as a row-major matrix (customers x features).
    pub fn select(&self, names: &[&str]) -> Result<Matrix, FeaturesError> {
        let cols: Vec<&[f64]> = names
            .iter()
            .map(|n| self.column(n))
            .collect::<Result<_, _>>()?;
        Ok(Matrix::from_shape_fn((self.len(), cols.len()), |(i, j)| {
            cols[j][i]
        }))
    }

    /// The rows whose `keep` flag is set.
    pub fn filter_rows(&self, keep: &[bool]) -> CustomerTable {
        let idx: Vec<usize> = (0..self.len()).filter(|&i| keep[i]).collect();
        CustomerTable {
            customer_id: idx.iter().map(|&i| self.customer_id[i]).collect(),
            columns: self.columns.clone(),
            values: self
                .values
                .iter()
                .map(|c| idx.iter().map(|&i| c[i]).collect())
                .collect(),
            unavailable: self.unavailable.clone(),
        }
    }

    /// CSV text: `customer_id` then every column; missing values empty.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut s = String::with_capacity(self.len() * 16 * (self.columns.len() + 1));
        s.push_str("customer_id");
        for c in &self.columns {
            s.push(',');
            s.push_str(c);
        }
        s.push('\n');
        for (i, id) in self.customer_id.iter().enumerate() {
            s.push_str(&id.to_string());
            for col in &self.values {
                s.push(',');
                s.push_str(&insiders_ingest::matrix::format_f64(col[i]));
            }
            s.push('\n');
        }
        s.into_bytes()
    }
}

/// Compensated (Neumaier) summation, so that long sums do not depend on luck.
#[derive(Debug, Clone, Copy, Default)]
struct KahanSum {
    sum: f64,
    c: f64,
}

impl KahanSum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.c += (self.sum - t) + x;
        } else {
            self.c += (x - t) + self.sum;
        }
        self.sum = t;
    }
    fn value(self) -> f64 {
        self.sum + self.c
    }
}

/// Builds the customer table from the cleaned lines. Customers with no purchase line are
/// left out (they are counted in the row accounting).
pub fn customer_table(
    lines: &Transactions,
    cleaned: &Cleaned,
) -> Result<CustomerTable, FeaturesError> {
    // Group kept rows by customer: a stable counting sort on the customers' ranks. The
    // distinct customers are found with a hash map (rows come in runs of one customer, so
    // the previous row's answer is tried first), and only they are sorted.
    // Memory: one `u32` per kept line (the lines grouped by customer), nothing else per line.
    let mut slot: rustc_hash::FxHashMap<u32, u32> = rustc_hash::FxHashMap::default();
    let mut ids: Vec<u32> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut last: Option<(u32, u32)> = None;
    let mut slot_of = |c: u32, ids: &mut Vec<u32>, counts: &mut Vec<usize>| -> u32 {
        match last {
            Some((lc, ls)) if lc == c => ls,
            _ => {
                let s = *slot.entry(c).or_insert_with(|| {
                    ids.push(c);
                    counts.push(0);
                    ids.len() as u32 - 1
                });
                last = Some((c, s));
                s
            }
        }
    };
    for &i in &cleaned.kept {
        let s = slot_of(cleaned.customer(lines, i as usize), &mut ids, &mut counts);
        counts[s as usize] += 1;
    }
    // Slots are in order of first appearance; ranks are in customer id order.
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_unstable_by_key(|&s| ids[s as usize]);
    let mut start_of_slot = vec![0usize; ids.len()];
    let mut start = vec![0usize; ids.len() + 1];
    for (r, &s) in order.iter().enumerate() {
        start[r + 1] = start[r] + counts[s as usize];
        start_of_slot[s as usize] = start[r];
    }
    drop(counts);
    let ids: Vec<u32> = order.iter().map(|&s| ids[s as usize]).collect();
    drop(order);
    // The kept lines grouped by customer (file order within a customer).
    let mut grouped = vec![0u32; cleaned.kept.len()];
    for &i in &cleaned.kept {
        let s = slot_of(
            cleaned.customer(lines, i as usize),
            &mut Vec::new(),
            &mut Vec::new(),
        );
        let at = &mut start_of_slot[s as usize];
        grouped[*at] = i;
        *at += 1;
    }
    drop(start_of_slot);
    let last_day = cleaned.last_day;
    let per: Vec<Option<[f64; 11]>> = (0..ids.len())
        .into_par_iter()
        .map(|k| customer_features(lines, &grouped[start[k]..start[k + 1]], last_day))
        .collect();
    drop(grouped);
    let mut customer_id = Vec::new();
    let mut values: Vec<Vec<f64>> = (0..11).map(|_| Vec::with_capacity(ids.len())).collect();
    for (k, f) in per.into_iter().enumerate() {
        if let Some(f) = f {
            customer_id.push(ids[k]);
            for (j, v) in f.iter().enumerate() {
                values[j].push(*v);
            }
        }
    }
    if customer_id.is_empty() {
        return Err(FeaturesError::NoCustomers {
            rows: cleaned.account.rows_kept,
        });
    }
    // The features the data cannot give are left out (not zeros).
    let unavailable = unavailable_features(&lines.present);
    let mut columns = Vec::with_capacity(ALL_FEATURES.len());
    let mut kept_values = Vec::with_capacity(ALL_FEATURES.len());
    for (name, col) in ALL_FEATURES.iter().zip(values) {
        if !unavailable.iter().any(|u| u.feature == *name) {
            columns.push(name.to_string());
            kept_values.push(col);
        }
    }
    Ok(CustomerTable {
        customer_id,
        columns,
        values: kept_values,
        unavailable,
    })
}

/// The features of one customer from its kept lines (file order); `None` without purchases.
fn customer_features(t: &Transactions, rows: &[u32], last_day: i64) -> Option<[f64; 11]> {
    let mut revenue = KahanSum::default();
    let mut items: i64 = 0;
    let mut lines = 0u64;
    let mut returned: i64 = 0;
    let mut invoices: Vec<u32> = Vec::new();
    let mut codes: Vec<u32> = Vec::new();
    let mut days: Vec<i64> = Vec::with_capacity(rows.len());
    let (mut first_buy, mut last_buy) = (i64::MAX, i64::MIN);
    for &i in rows {
        let i = i as usize;
        let day = date::day_of(t.timestamp(i));
        days.push(day);
        // 0 where the data has no quantity (the features that read it are then unavailable).
        let q = if t.present.quantity { t.quantity(i) } else { 0 };
        if !t.is_return(i) {
            revenue.add(t.revenue(i));
            items += q;
            lines += 1;
            invoices.push(t.invoice(i));
            codes.push(t.stock_code(i));
            first_buy = first_buy.min(day);
            last_buy = last_buy.max(day);
        } else {
            returned -= q.min(0);
        }
    }
    if lines == 0 {
        return None;
    }
    invoices.sort_unstable();
    invoices.dedup();
    codes.sort_unstable();
    codes.dedup();
    days.sort_unstable();
    days.dedup();
    let n_inv = invoices.len() as f64;
    let gross = revenue.value();
    let avg_recency = if days.len() > 1 {
        (days[days.len() - 1] - days[0]) as f64 / (days.len() - 1) as f64
    } else {
        f64::NAN
    };
    Some([
        gross,
        (last_day - last_buy) as f64,
        n_inv,
        items as f64,
        lines as f64,
        gross / lines as f64,
        avg_recency,
        n_inv / ((last_buy - first_buy) as f64 + 1.0),
        returned as f64,
        items as f64 / n_inv,
        codes.len() as f64 / n_inv,
    ])
}
