//! The canonical cleaning rules of the reference pipeline, each configurable, and the row
//! accounting: every row read ends in exactly one bucket, and the buckets sum to the rows read.
//! A rule that needs a column the data does not have (unit price, stock code, country) is not
//! applied, and the accounting lists it with the reason.

use crate::error::FeaturesError;
use crate::features::{Unavailable, unavailable_features};
use insiders_ingest::{ReadReport, Transactions, date};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// What to do with lines that have no customer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingCustomer {
    /// One new id per distinct id-less invoice (or, without invoice numbers, per derived
    /// anonymous order), numbered from the synthetic id start in order of first appearance
    /// (the canonical rule).
    #[default]
    Synthetic,
    /// Drop the lines.
    Drop,
}

/// The cleaning rules (the `[cleaning]` table of the configuration); defaults are canonical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleaningOptions {
    /// Policy for lines without a customer id.
    pub missing_customer: MissingCustomer,
    /// First synthetic id. When absent (the default): 19000, or the largest real customer
    /// id read plus one when that is larger, so synthetic ids never collide with real ones.
    /// When set, used as is (a collision is an error).
    pub synthetic_id_start: Option<u32>,
    /// Lines with a lower unit price are dropped (0.04).
    pub min_unit_price: f64,
    /// Stock codes whose lines are dropped (postage, discounts, manual, fees...).
    pub excluded_stock_codes: Vec<String>,
    /// Countries whose lines are dropped.
    pub excluded_countries: Vec<String>,
    /// Customers whose lines are dropped (16446 bought and returned 80,995 units the same day).
    pub bad_customers: Vec<u32>,
    /// Only lines dated before this day (`YYYY-MM-DD`, exclusive) are used; all when absent.
    pub as_of: Option<String>,
}

impl Default for CleaningOptions {
    fn default() -> Self {
        CleaningOptions {
            missing_customer: MissingCustomer::Synthetic,
            synthetic_id_start: None,
            min_unit_price: 0.04,
            excluded_stock_codes: [
                "POST",
                "D",
                "DOT",
                "M",
                "S",
                "AMAZONFEE",
                "m",
                "DCGSSBOY",
                "DCGSSGIRL",
                "PADS",
                "B",
                "CRUK",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            excluded_countries: vec!["European Community".into(), "Unspecified".into()],
            bad_customers: vec![16446],
            as_of: None,
        }
    }
}

/// One bucket of the row accounting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// `kept`, `dropped` or `rejected`.
    pub fate: String,
    /// The rule or reason.
    pub reason: String,
    /// Rows in this bucket.
    pub rows: u64,
}

/// The default first synthetic id (the canonical 19000), unless real ids reach it.
pub const SYNTHETIC_ID_START: u32 = 19_000;

/// Customer counts at each checkpoint of the canonical run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccount {
    /// Distinct real customer ids in the rows read.
    pub raw_customers_with_id: u64,
    /// Synthetic ids assigned (one per id-less invoice).
    pub new_ids_assigned: u64,
    /// The first synthetic id, when any was assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic_id_start: Option<u32>,
    /// Distinct customers after id assignment (real + synthetic).
    pub customers_after_id_assignment: u64,
    /// Distinct customers in the rows kept.
    pub customers_after_filter: u64,
    /// Customers with at least one purchase line (the customer table).
    pub customers_with_purchases: u64,
    /// Customers with only returns (dropped from the table).
    pub customers_only_returns_dropped: u64,
}

/// A cleaning rule that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplied {
    /// The rule (the reason its bucket would have).
    pub rule: String,
    /// Why: the column it needs is not in the data.
    pub why: String,
}

/// Where every row went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowAccount {
    /// The input file.
    pub source: String,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// The buckets, in rule order; they sum to `rows_read`.
    pub buckets: Vec<Bucket>,
    /// Rows kept (purchases + returns).
    pub rows_kept: u64,
    /// Customer checkpoints.
    pub customers: CustomerAccount,
    /// Rules not applied because the data lacks the column they need (omitted when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<NotApplied>,
    /// Features unavailable because the data lacks a column they need (omitted when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable_features: Vec<Unavailable>,
}

impl RowAccount {
    /// Rows in the bucket with this reason (0 if none).
    pub fn rows(&self, reason: &str) -> u64 {
        self.buckets
            .iter()
            .filter(|b| b.reason == reason)
            .map(|b| b.rows)
            .sum()
    }

    /// A plain-text table for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = format!("row accounting of {}\n", self.source);
        s.push_str(&format!("{:<9} {:<44} {:>10}\n", "fate", "reason", "rows"));
        for b in &self.buckets {
            s.push_str(&format!("{:<9} {:<44} {:>10}\n", b.fate, b.reason, b.rows));
        }
        let total: u64 = self.buckets.iter().map(|b| b.rows).sum();
        s.push_str(&format!(
            "{:<9} {:<44} {:>10}\n",
            "total", "(= rows read)", total
        ));
        for n in &self.not_applied {
            s.push_str(&format!("not applied: {}: {}\n", n.rule, n.why));
        }
        let c = &self.customers;
        s.push_str(&format!(
            "customers: {} with id, +{} synthetic = {}; {} after filters; {} with purchases ({} return-only dropped)\n",
            c.raw_customers_with_id,
            c.new_ids_assigned,
            c.customers_after_id_assignment,
            c.customers_after_filter,
            c.customers_with_purchases,
            c.customers_only_returns_dropped
        ));
        if let Some(start) = c.synthetic_id_start {
            s.push_str(&format!("synthetic ids from {start}\n"));
        }
        for u in &self.unavailable_features {
            s.push_str(&format!(
                "unavailable feature: {} (needs the {} column, {})\n",
                u.feature, u.column, u.setting
            ));
        }
        s
    }
}

/// Reasons of the cleaning buckets (stable strings: tests and reports use them).
pub mod reason {
    pub const NO_CUSTOMER: &str = "no customer id (drop policy)";
    pub const AFTER_AS_OF: &str = "dated on or after the as-of date";
    pub const LOW_PRICE: &str = "unit price below the minimum";
    pub const STOCK_CODE: &str = "excluded stock code";
    pub const COUNTRY: &str = "excluded country";
    pub const BAD_CUSTOMER: &str = "known bad customer";
    pub const PURCHASE: &str = "purchase (quantity >= 0)";
    pub const RETURN: &str = "return (quantity < 0)";
    /// Purchases and returns of data without a quantity column.
    pub const PURCHASE_BY_AMOUNT: &str = "purchase (amount >= 0)";
    pub const RETURN_BY_AMOUNT: &str = "return (amount < 0)";
}

/// The cleaned view of the lines: which rows are kept, and each row's customer.
#[derive(Debug, Clone)]
pub struct Cleaned {
    /// Indices of kept rows, in file order.
    pub kept: Vec<u32>,
    /// Customer id of every run of lines (see [`Transactions::run_of`]): synthetic where
    /// assigned; `u32::MAX` where none and dropped. Read it with [`Cleaned::customer`].
    run_customer: Vec<u32>,
    /// Where every row went.
    pub account: RowAccount,
    /// The last day (since 1970-01-01) in the kept rows, returns included.
    pub last_day: i64,
}

impl Cleaned {
    /// The customer of line `i` of `lines` (the lines this was cleaned from).
    #[inline]
    pub fn customer(&self, lines: &Transactions, i: usize) -> u32 {
        self.run_customer[lines.run_of(i)]
    }
}

/// Applies the cleaning rules. Rules are applied in this order, and a row is counted under
/// the first rule that drops it: missing customer (drop policy), as-of date, unit price,
/// stock code, country, bad customer. The rest are purchases or returns (by the sign of the
/// quantity, or of the amount where the data has no quantity). The unit price, stock code
/// and country rules apply only when the data has that column; otherwise the accounting
/// lists them under `not_applied`.
#[allow(clippy::needless_range_loop)] // rows index several parallel columns
pub fn clean(
    lines: &Transactions,
    read: &ReadReport,
    opts: &CleaningOptions,
) -> Result<Cleaned, FeaturesError> {
    if !opts.min_unit_price.is_finite() {
        return Err(FeaturesError::Option {
            key: "min_unit_price".into(),
            message: "must be a finite number".into(),
        });
    }
    let as_of = match &opts.as_of {
        None => None,
        Some(s) => Some(
            date::parse_day(s).ok_or_else(|| FeaturesError::Option {
                key: "as_of".into(),
                message: format!("`{s}` is not a date YYYY-MM-DD"),
            })? * date::DAY,
        ),
    };
    let n = lines.len();
    // 1. Customer ids: synthetic per id-less invoice, in order of first appearance.
    // (Rows come in runs of one customer: the previous row's id is skipped cheaply.)
    let mut real: FxHashSet<u32> = FxHashSet::default();
    let mut prev = None;
    for c in (0..lines.len()).filter_map(|i| lines.customer_id(i)) {
        if prev != Some(c) {
            real.insert(c);
            prev = Some(c);
        }
    }
    // The first synthetic id: as configured, or above every real id (`None`: no room).
    let start = match opts.synthetic_id_start {
        Some(s) => Some(s),
        None => match real.iter().max() {
            Some(&m) if m >= SYNTHETIC_ID_START => m.checked_add(1),
            _ => Some(SYNTHETIC_ID_START),
        },
    };
    let mut synthetic: FxHashMap<u32, u32> = FxHashMap::default();
    // Runs share invoice and customer: ids are assigned per run, in file order.
    let mut run_customer = vec![u32::MAX; lines.runs()];
    for (r, slot) in run_customer.iter_mut().enumerate() {
        match lines.run_customer(r) {
            Some(c) => *slot = c,
            None if opts.missing_customer == MissingCustomer::Synthetic => {
                let next = start
                    .and_then(|s| s.checked_add(synthetic.len() as u32))
                    .ok_or_else(|| FeaturesError::Option {
                        key: "synthetic_id_start".into(),
                        message: "synthetic ids overflow u32 (set cleaning.missing_customer = \"drop\", or a lower start)".into(),
                    })?;
                *slot = *synthetic.entry(lines.run_invoice(r)).or_insert(next);
            }
            None => {}
        }
    }
    let start = start.unwrap_or(u32::MAX);
    if !synthetic.is_empty() {
        let end = start + synthetic.len() as u32 - 1;
        if let Some(id) = real
            .iter()
            .copied()
            .filter(|c| (start..=end).contains(c))
            .min()
        {
            return Err(FeaturesError::SyntheticIdClash { start, end, id });
        }
    }
    // 2. Filters.
    // Masks over the interned ids.
    let mask = |names: &[String], interner: &insiders_ingest::Interner| {
        let mut m = vec![false; interner.len()];
        for id in names.iter().filter_map(|s| interner.get(s)) {
            m[id as usize] = true;
        }
        m
    };
    // Rules whose column the data lacks are not applied.
    let present = lines.present;
    let mut not_applied = Vec::new();
    let mut skip = |applies: bool, rule: &str, what: &str, setting: &str| {
        if !applies {
            not_applied.push(NotApplied {
                rule: rule.to_string(),
                why: format!("the data has no {what} column ({setting})"),
            });
        }
        applies
    };
    let price_rule = skip(
        present.unit_price,
        reason::LOW_PRICE,
        "unit price",
        "input.columns.unit_price",
    );
    let code_rule = skip(
        present.stock_code,
        reason::STOCK_CODE,
        "stock code",
        "input.columns.stock_code",
    );
    let country_rule = skip(
        present.country,
        reason::COUNTRY,
        "country",
        "input.columns.country",
    );
    let excluded_codes = mask(&opts.excluded_stock_codes, &lines.stock_codes);
    let excluded_countries = mask(&opts.excluded_countries, &lines.countries);
    let bad: FxHashSet<u32> = opts.bad_customers.iter().copied().collect();
    let mut counts = [0u64; 8];
    let mut kept = Vec::with_capacity(n);
    for i in 0..n {
        let customer = run_customer[lines.run_of(i)];
        let b = if customer == u32::MAX {
            0
        } else if as_of.is_some_and(|t| lines.timestamp(i) >= t) {
            1
        } else if price_rule && lines.unit_price(i) < opts.min_unit_price {
            2
        } else if code_rule && excluded_codes[lines.stock_code(i) as usize] {
            3
        } else if country_rule && excluded_countries[lines.country(i) as usize] {
            4
        } else if bad.contains(&customer) {
            5
        } else if !lines.is_return(i) {
            6
        } else {
            7
        };
        counts[b] += 1;
        if b >= 6 {
            kept.push(i as u32);
        }
    }
    let last_day = kept
        .iter()
        .map(|&i| date::day_of(lines.timestamp(i as usize)))
        .max()
        .unwrap_or(0);

    // 3. Accounting.
    let mut buckets: Vec<Bucket> = read
        .rejected
        .iter()
        .map(|(r, &c)| Bucket {
            fate: "rejected".into(),
            reason: format!("malformed row: {r}"),
            rows: c,
        })
        .collect();
    let (purchase, ret) = if present.quantity {
        (reason::PURCHASE, reason::RETURN)
    } else {
        (reason::PURCHASE_BY_AMOUNT, reason::RETURN_BY_AMOUNT)
    };
    let names = [
        ("dropped", reason::NO_CUSTOMER),
        ("dropped", reason::AFTER_AS_OF),
        ("dropped", reason::LOW_PRICE),
        ("dropped", reason::STOCK_CODE),
        ("dropped", reason::COUNTRY),
        ("dropped", reason::BAD_CUSTOMER),
        ("kept", purchase),
        ("kept", ret),
    ];
    let applied = [
        true,
        true,
        price_rule,
        code_rule,
        country_rule,
        true,
        true,
        true,
    ];
    for (k, (fate, r)) in names.iter().enumerate() {
        // The policy buckets show when they apply; the filter and kept buckets always,
        // unless the rule was not applied (it is listed in `not_applied`).
        if counts[k] > 0 || (k >= 2 && applied[k]) {
            buckets.push(Bucket {
                fate: fate.to_string(),
                reason: r.to_string(),
                rows: counts[k],
            });
        }
    }
    let total: u64 = buckets.iter().map(|b| b.rows).sum();
    if total != read.rows_read {
        return Err(FeaturesError::Accounting {
            buckets: total,
            rows: read.rows_read,
        });
    }
    let mut after: FxHashSet<u32> = FxHashSet::default();
    let mut with_purchase: FxHashSet<u32> = FxHashSet::default();
    let (mut prev_after, mut prev_purchase) = (u32::MAX, u32::MAX);
    for &i in &kept {
        let i = i as usize;
        let c = run_customer[lines.run_of(i)];
        if c != prev_after {
            after.insert(c);
            prev_after = c;
        }
        if !lines.is_return(i) && c != prev_purchase {
            with_purchase.insert(c);
            prev_purchase = c;
        }
    }
    let customers = CustomerAccount {
        raw_customers_with_id: real.len() as u64,
        new_ids_assigned: synthetic.len() as u64,
        synthetic_id_start: (!synthetic.is_empty()).then_some(start),
        customers_after_id_assignment: (real.len() + synthetic.len()) as u64,
        customers_after_filter: after.len() as u64,
        customers_with_purchases: with_purchase.len() as u64,
        customers_only_returns_dropped: (after.len() - with_purchase.len()) as u64,
    };
    Ok(Cleaned {
        account: RowAccount {
            source: read.path.clone(),
            rows_read: read.rows_read,
            rows_kept: counts[6] + counts[7],
            buckets,
            customers,
            not_applied,
            unavailable_features: unavailable_features(&present),
        },
        kept,
        run_customer,
        last_day,
    })
}
