//! The canonical cleaning rules of the reference pipeline, each configurable, and the row
//! accounting: every row read ends in exactly one bucket, and the buckets sum to the rows read.
//! A rule that needs a column the data does not have (unit price, stock code, country) is not
//! applied, and the accounting lists it with the reason.

use crate::error::FeaturesError;
use crate::features::{Unavailable, unavailable_features};
use insiders_ingest::{ReadReport, Transactions, date};
use rayon::prelude::*;
use rustc_hash::FxHashSet;
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

    /// The customer of run `r` of the lines this was cleaned from.
    #[inline]
    pub fn run_customer(&self, r: usize) -> u32 {
        self.run_customer[r]
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
    // (A run's lines share its customer: customers are read per run.)
    let max_real = (0..lines.runs())
        .filter_map(|r| lines.run_customer(r))
        .max();
    let mut real = IdSet::up_to(max_real.unwrap_or(0));
    for c in (0..lines.runs()).filter_map(|r| lines.run_customer(r)) {
        real.insert(c);
    }
    // The first synthetic id: as configured, or above every real id (`None`: no room).
    let start = match opts.synthetic_id_start {
        Some(s) => Some(s),
        None => match max_real {
            Some(m) if m >= SYNTHETIC_ID_START => m.checked_add(1),
            _ => Some(SYNTHETIC_ID_START),
        },
    };
    // Per invoice id: 0, or 1 + the order in which its synthetic id was assigned.
    let mut synthetic_of: Vec<u32> = Vec::new();
    let mut assigned = 0u32;
    // Runs share invoice and customer: ids are assigned per run, in file order.
    let mut run_customer = vec![u32::MAX; lines.runs()];
    for (r, slot) in run_customer.iter_mut().enumerate() {
        match lines.run_customer(r) {
            Some(c) => *slot = c,
            None if opts.missing_customer == MissingCustomer::Synthetic => {
                let next = start
                    .and_then(|s| s.checked_add(assigned))
                    .ok_or_else(|| FeaturesError::Option {
                        key: "synthetic_id_start".into(),
                        message: "synthetic ids overflow u32 (set cleaning.missing_customer = \"drop\", or a lower start)".into(),
                    })?;
                // The first synthetic id (`next` is the one the next new invoice gets).
                let first = next - assigned;
                if synthetic_of.is_empty() {
                    synthetic_of = vec![0; lines.invoices.len()];
                }
                let k = &mut synthetic_of[lines.run_invoice(r) as usize];
                if *k == 0 {
                    assigned += 1;
                    *k = assigned;
                }
                *slot = first + (*k - 1);
            }
            None => {}
        }
    }
    drop(synthetic_of);
    let synthetic_count = assigned as usize;
    let start = start.unwrap_or(u32::MAX);
    if synthetic_count > 0 {
        let end = start + synthetic_count as u32 - 1;
        if let Some(id) = real.min_in(start, end) {
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
    // The rules that depend only on the run (customer, date, country), decided once per run:
    // the bucket of a run's lines before the line rules (missing customer, as-of date) and
    // after them (country, bad customer), `NONE` when no such rule drops them.
    const NONE: u8 = u8::MAX;
    let run_rules: Vec<(u8, u8)> = (0..lines.runs())
        .map(|r| {
            let customer = run_customer[r];
            let before = if customer == u32::MAX {
                0
            } else if as_of.is_some_and(|t| lines.run_timestamp(r) >= t) {
                1
            } else {
                NONE
            };
            let after = if country_rule && excluded_countries[lines.run_country(r) as usize] {
                4
            } else if bad.contains(&customer) {
                5
            } else {
                NONE
            };
            (before, after)
        })
        .collect();
    let bucket = |i: usize| -> usize {
        let (before, after) = run_rules[lines.run_of(i)];
        if before != NONE {
            before as usize
        } else if price_rule && lines.unit_price(i) < opts.min_unit_price {
            2
        } else if code_rule && excluded_codes[lines.stock_code(i) as usize] {
            3
        } else if after != NONE {
            after as usize
        } else if !lines.is_return(i) {
            6
        } else {
            7
        }
    };
    // The lines in blocks, in parallel: each block's counts, then the kept lines of every
    // block written in place (in file order).
    const BLOCK: usize = 1 << 20;
    let block_counts: Vec<[u64; 8]> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut c = [0u64; 8];
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                c[bucket(i)] += 1;
            }
            c
        })
        .collect();
    let mut counts = [0u64; 8];
    for c in &block_counts {
        for (t, x) in counts.iter_mut().zip(c) {
            *t += x;
        }
    }
    let mut kept = vec![0u32; (counts[6] + counts[7]) as usize];
    let mut blocks: Vec<(usize, &mut [u32])> = Vec::with_capacity(block_counts.len());
    let mut rest: &mut [u32] = &mut kept;
    for (b, c) in block_counts.iter().enumerate() {
        let (mine, r) = std::mem::take(&mut rest).split_at_mut((c[6] + c[7]) as usize);
        blocks.push((b, mine));
        rest = r;
    }
    let last_ts = blocks
        .into_par_iter()
        .map(|(b, out)| {
            let mut k = 0;
            let mut last = None;
            for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                if bucket(i) >= 6 {
                    out[k] = i as u32;
                    k += 1;
                    last = last.max(Some(lines.timestamp(i)));
                }
            }
            last
        })
        .max()
        .flatten();
    let last_day = last_ts.map_or(0, date::day_of);
    drop(run_rules);

    // 3. Accounting.
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
    let buckets = account_buckets(
        &read.rejected,
        &counts,
        &applied,
        present.quantity,
        read.rows_read,
    )?;
    let max_id = run_customer
        .iter()
        .copied()
        .filter(|&c| c != u32::MAX)
        .max()
        .unwrap_or(0);
    let mut after = IdSet::up_to(max_id);
    let mut with_purchase = IdSet::up_to(max_id);
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
        new_ids_assigned: synthetic_count as u64,
        synthetic_id_start: (synthetic_count > 0).then_some(start),
        customers_after_id_assignment: (real.len() + synthetic_count) as u64,
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

/// A set of customer ids: a bitmap when the largest id is small enough (ids are dense in
/// practice), else a hash set.
enum IdSet {
    Bits { words: Vec<u64>, len: usize },
    Hash(FxHashSet<u32>),
}

impl IdSet {
    /// An empty set for ids up to `max`.
    fn up_to(max: u32) -> Self {
        if max < 1 << 28 {
            IdSet::Bits {
                words: vec![0; max as usize / 64 + 1],
                len: 0,
            }
        } else {
            IdSet::Hash(FxHashSet::default())
        }
    }

    /// Adds `c` (at most the `max` given, for a bitmap).
    fn insert(&mut self, c: u32) {
        match self {
            IdSet::Bits { words, len } => {
                let (w, bit) = (c as usize / 64, 1u64 << (c % 64));
                if words[w] & bit == 0 {
                    words[w] |= bit;
                    *len += 1;
                }
            }
            IdSet::Hash(h) => {
                h.insert(c);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            IdSet::Bits { len, .. } => *len,
            IdSet::Hash(h) => h.len(),
        }
    }

    /// The smallest id of the set within `start..=end`.
    fn min_in(&self, start: u32, end: u32) -> Option<u32> {
        match self {
            IdSet::Bits { words, .. } => {
                let top = (words.len() * 64 - 1) as u64;
                (u64::from(start)..=u64::from(end).min(top))
                    .find(|&c| words[c as usize / 64] & (1 << (c % 64)) != 0)
                    .map(|c| c as u32)
            }
            IdSet::Hash(h) => h
                .iter()
                .copied()
                .filter(|c| (start..=end).contains(c))
                .min(),
        }
    }
}

/// The buckets of a row accounting, in the order every path lists them: the malformed rows
/// by reason, then the rules in the order they apply (`counts`: no customer, after the as-of
/// date, low price, stock code, country, bad customer, purchase, return). A policy bucket
/// (the first two) shows when it counted a row; the others always, unless their rule was
/// not applied. Checked: the buckets add up to `rows_read`. The local path ([`clean`]) and
/// the DataFusion plan (`insiders-distributed`) both build their accounting with it.
pub fn account_buckets(
    rejected: &std::collections::BTreeMap<String, u64>,
    counts: &[u64; 8],
    applied: &[bool; 8],
    by_quantity: bool,
    rows_read: u64,
) -> Result<Vec<Bucket>, FeaturesError> {
    let mut buckets: Vec<Bucket> = rejected
        .iter()
        .map(|(r, &c)| Bucket {
            fate: "rejected".into(),
            reason: format!("malformed row: {r}"),
            rows: c,
        })
        .collect();
    let (purchase, ret) = if by_quantity {
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
    for (k, (fate, r)) in names.iter().enumerate() {
        if counts[k] > 0 || (k >= 2 && applied[k]) {
            buckets.push(Bucket {
                fate: fate.to_string(),
                reason: r.to_string(),
                rows: counts[k],
            });
        }
    }
    let total: u64 = buckets.iter().map(|b| b.rows).sum();
    if total != rows_read {
        return Err(FeaturesError::Accounting {
            buckets: total,
            rows: rows_read,
        });
    }
    Ok(buckets)
}
