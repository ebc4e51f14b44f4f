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
        let mut head = String::from("customer_id");
        for c in &self.columns {
            head.push(',');
            head.push_str(c);
        }
        head.push('\n');
        insiders_ingest::matrix::csv_rows(head, self.len(), |i, s| {
            use std::fmt::Write;
            // Writing to a `String` cannot fail.
            let _ = write!(s, "{}", self.customer_id[i]);
            for col in &self.values {
                s.push(',');
                insiders_ingest::matrix::push_f64(s, col[i]);
            }
            s.push('\n');
        })
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

/// What one customer's lines add up to, in file order.
#[derive(Debug, Clone, Copy)]
struct Sums {
    revenue: KahanSum,
    items: i64,
    lines: u64,
    returned: i64,
    first_buy: i64,
    last_buy: i64,
}

impl Default for Sums {
    fn default() -> Self {
        Sums {
            revenue: KahanSum::default(),
            items: 0,
            lines: 0,
            returned: 0,
            first_buy: i64::MAX,
            last_buy: i64::MIN,
        }
    }
}

/// A run with kept lines: the run, its first kept line (an index into `kept`), and its
/// customer (an id, then a rank).
struct KeptRun {
    run: u32,
    first: u32,
    who: u32,
    /// Its purchase lines.
    bought: u32,
}

/// The runs with kept lines, in file order: each run and its kept lines `kept[j0..j1]`
/// (the lines of a run are consecutive and `kept` is in file order).
fn kept_runs<'a>(
    lines: &'a Transactions,
    kept: &'a [u32],
) -> impl Iterator<Item = (usize, std::ops::Range<usize>)> + 'a {
    let mut j = 0;
    std::iter::from_fn(move || {
        let &first = kept.get(j)?;
        let r = lines.run_of(first as usize);
        let j0 = j;
        j += 1;
        while j < kept.len() && lines.run_of(kept[j] as usize) == r {
            j += 1;
        }
        Some((r, j0..j))
    })
}

/// Builds the customer table from the cleaned lines. Customers with no purchase line are
/// left out (they are counted in the row accounting).
pub fn customer_table(
    lines: &Transactions,
    cleaned: &Cleaned,
) -> Result<CustomerTable, FeaturesError> {
    // The lines are read in file order, once, and what each customer needs is gathered
    // in its own region (no random reads of the lines: at 1M customers those dominate):
    // sums in file order (the revenue's compensated sum keeps the file order of a
    // customer's lines), the stock codes of its purchase lines, and per run the day and
    // the invoice (of runs with a purchase). A run's lines share its customer, date and
    // invoice, so customers are found per run.
    let kept = &cleaned.kept;
    // The runs with kept lines, in file order, found in parallel over blocks of the kept
    // lines (cut where a run starts), with their customer and purchase lines.
    let parts = rayon::current_num_threads().max(1) * 4;
    let mut cuts: Vec<usize> = (0..parts)
        .map(|p| {
            let mut j = kept.len() / parts * p;
            while j > 0
                && j < kept.len()
                && lines.run_of(kept[j] as usize) == lines.run_of(kept[j - 1] as usize)
            {
                j += 1;
            }
            j
        })
        .collect();
    cuts.push(kept.len());
    for p in 1..cuts.len() {
        cuts[p] = cuts[p].max(cuts[p - 1]);
    }
    let blocks: Vec<Vec<KeptRun>> = cuts
        .par_windows(2)
        .map(|w| {
            kept_runs(lines, &kept[w[0]..w[1]])
                .map(|(r, js)| KeptRun {
                    run: r as u32,
                    first: (w[0] + js.start) as u32,
                    who: cleaned.run_customer(r),
                    bought: kept[w[0] + js.start..w[0] + js.end]
                        .iter()
                        .filter(|&&i| !lines.is_return(i as usize))
                        .count() as u32,
                })
                .collect()
        })
        .collect();
    let mut runs: Vec<KeptRun> = Vec::with_capacity(blocks.iter().map(Vec::len).sum());
    for b in blocks {
        runs.extend(b);
    }
    // The customers, ascending; each run's customer becomes its rank.
    let mut ids: Vec<u32> = runs.iter().map(|k| k.who).collect();
    ids.par_sort_unstable();
    ids.dedup();
    ids.shrink_to_fit();
    runs.par_iter_mut()
        .for_each(|k| k.who = ids.partition_point(|&c| c < k.who) as u32);
    let mut n_runs = vec![0usize; ids.len()];
    let mut n_bought = vec![0usize; ids.len()];
    for k in &runs {
        n_runs[k.who as usize] += 1;
        n_bought[k.who as usize] += k.bought as usize;
    }
    let (mut run_start, mut code_start) =
        (vec![0usize; ids.len() + 1], vec![0usize; ids.len() + 1]);
    for k in 0..ids.len() {
        run_start[k + 1] = run_start[k] + n_runs[k];
        code_start[k + 1] = code_start[k] + n_bought[k];
    }
    drop((n_runs, n_bought));
    let last_day = cleaned.last_day;
    let per = if lines.stock_codes.len() <= 1 << 16 {
        gather::<u16>(lines, kept, &runs, &run_start, &code_start, last_day)
    } else {
        gather::<u32>(lines, kept, &runs, &run_start, &code_start, last_day)
    };
    drop(runs);
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

/// The features of one customer from its sums, the days of its runs with kept lines, their
/// invoices (`u32::MAX` for runs of returns only) and the stock codes of its purchase lines
/// (each reordered in place); `None` without purchases.
fn customer_features<C: StockId>(
    sum: &Sums,
    days: &mut [i64],
    invoices: &mut [u32],
    codes: &mut [C],
    last_day: i64,
) -> Option<[f64; 11]> {
    if sum.lines == 0 {
        return None;
    }
    fn distinct<T: Copy + Ord>(v: &mut [T]) -> usize {
        v.sort_unstable();
        let mut n = 0;
        let mut prev = None;
        for &x in v.iter() {
            if prev != Some(x) {
                n += 1;
                prev = Some(x);
            }
        }
        n
    }
    invoices.sort_unstable();
    let bought_runs = invoices
        .iter()
        .position(|&i| i == u32::MAX)
        .unwrap_or(invoices.len());
    let n_inv = distinct(&mut invoices[..bought_runs]) as f64;
    let n_codes = distinct(codes) as f64;
    days.sort_unstable();
    let (first, last) = (days[0], days[days.len() - 1]);
    let mut n_days = 0usize;
    let mut prev = None;
    for &d in days.iter() {
        if prev != Some(d) {
            n_days += 1;
            prev = Some(d);
        }
    }
    let (items, lines) = (sum.items, sum.lines);
    let gross = sum.revenue.value();
    let avg_recency = if n_days > 1 {
        (last - first) as f64 / (n_days - 1) as f64
    } else {
        f64::NAN
    };
    Some([
        gross,
        (last_day - sum.last_buy) as f64,
        n_inv,
        items as f64,
        lines as f64,
        gross / lines as f64,
        avg_recency,
        n_inv / ((sum.last_buy - sum.first_buy) as f64 + 1.0),
        sum.returned as f64,
        items as f64 / n_inv,
        n_codes / n_inv,
    ])
}

/// The features of every customer (rank order) from the runs with kept lines: the kept
/// lines in file order, once, in parallel over ranges of customers, gathering each
/// customer's sums, run days, invoices and purchased stock codes (as `C`) in its own
/// region; then each customer's features. `run_start` and `code_start` are the customers'
/// regions of runs and of purchase lines.
fn gather<C: StockId>(
    lines: &Transactions,
    kept: &[u32],
    runs: &[KeptRun],
    run_start: &[usize],
    code_start: &[usize],
    last_day: i64,
) -> Vec<Option<[f64; 11]>> {
    let customers = run_start.len() - 1;
    let mut sums = vec![Sums::default(); customers];
    let mut day = vec![0i64; run_start[customers]];
    // The invoice of a run with a purchase, `u32::MAX` for a run of returns only.
    let mut invoice = vec![u32::MAX; run_start[customers]];
    let mut code = vec![C::default(); code_start[customers]];
    // The kept lines in file order, once, in parallel over ranges of customers (balanced by
    // purchase lines): each range's sums, days, invoices and codes are its own.
    let parts = rayon::current_num_threads().max(1) * 2;
    let total = code_start[customers];
    let mut bounds = vec![0usize];
    for p in 1..parts {
        let want = total / parts * p;
        let k = code_start.partition_point(|&x| x < want).min(customers);
        bounds.push(k.max(*bounds.last().unwrap_or(&0)));
    }
    bounds.push(customers);
    let mut jobs = Vec::with_capacity(parts);
    {
        let (mut s_rest, mut d_rest, mut i_rest, mut c_rest): (
            &mut [Sums],
            &mut [i64],
            &mut [u32],
            &mut [C],
        ) = (&mut sums, &mut day, &mut invoice, &mut code);
        for w in bounds.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            let (s, sr) = std::mem::take(&mut s_rest).split_at_mut(hi - lo);
            let (d, dr) = std::mem::take(&mut d_rest).split_at_mut(run_start[hi] - run_start[lo]);
            let (i, ir) = std::mem::take(&mut i_rest).split_at_mut(run_start[hi] - run_start[lo]);
            let (c, cr) = std::mem::take(&mut c_rest).split_at_mut(code_start[hi] - code_start[lo]);
            (s_rest, d_rest, i_rest, c_rest) = (sr, dr, ir, cr);
            jobs.push((lo, hi, s, d, i, c));
        }
    }
    jobs.into_par_iter()
        .for_each(|(lo, hi, sums, day, invoice, code)| {
            let mut next_run: Vec<usize> = run_start[lo..hi]
                .iter()
                .map(|&x| x - run_start[lo])
                .collect();
            let mut next_code: Vec<usize> = code_start[lo..hi]
                .iter()
                .map(|&x| x - code_start[lo])
                .collect();
            for (n, kr) in runs.iter().enumerate() {
                let k = kr.who as usize;
                if k < lo || k >= hi {
                    continue;
                }
                let k = k - lo;
                let r = kr.run as usize;
                let end = runs.get(n + 1).map_or(kept.len(), |x| x.first as usize);
                let d = date::day_of(lines.run_timestamp(r));
                let sum = &mut sums[k];
                let mut bought = false;
                for &i in &kept[kr.first as usize..end] {
                    let i = i as usize;
                    // 0 where the data has no quantity (the features that read it are then
                    // unavailable).
                    let q = if lines.present.quantity {
                        lines.quantity(i)
                    } else {
                        0
                    };
                    if !lines.is_return(i) {
                        sum.revenue.add(lines.revenue(i));
                        sum.items += q;
                        sum.lines += 1;
                        code[next_code[k]] = C::of(lines.stock_code(i));
                        next_code[k] += 1;
                        bought = true;
                    } else {
                        sum.returned -= q.min(0);
                    }
                }
                if bought {
                    sum.first_buy = sum.first_buy.min(d);
                    sum.last_buy = sum.last_buy.max(d);
                    invoice[next_run[k]] = lines.run_invoice(r);
                }
                day[next_run[k]] = d;
                next_run[k] += 1;
            }
        });
    // The distinct invoices, codes and days of each customer, in parallel.
    let mut per: Vec<Option<[f64; 11]>> = vec![None; customers];
    let mut rest_day: &mut [i64] = &mut day;
    let mut rest_inv: &mut [u32] = &mut invoice;
    let mut rest_code: &mut [C] = &mut code;
    let mut parts = Vec::with_capacity(customers);
    for k in 0..customers {
        let runs = run_start[k + 1] - run_start[k];
        let bought = code_start[k + 1] - code_start[k];
        let (d, rd) = std::mem::take(&mut rest_day).split_at_mut(runs);
        let (v, ri) = std::mem::take(&mut rest_inv).split_at_mut(runs);
        let (c, rc) = std::mem::take(&mut rest_code).split_at_mut(bought);
        rest_day = rd;
        rest_inv = ri;
        rest_code = rc;
        parts.push((d, v, c));
    }
    per.par_iter_mut()
        .zip(parts.into_par_iter())
        .zip(sums.par_iter())
        .for_each(|((out, (d, v, c)), sum)| {
            *out = customer_features(sum, d, v, c, last_day);
        });
    drop((day, invoice, code, sums));
    per
}

/// A stock code id as stored while gathering a customer's codes (`u16` when there are few
/// enough distinct codes: half the memory).
trait StockId: Copy + Ord + Default + Send + Sync {
    fn of(id: u32) -> Self;
}

impl StockId for u16 {
    #[inline]
    fn of(id: u32) -> Self {
        id as u16
    }
}

impl StockId for u32 {
    #[inline]
    fn of(id: u32) -> Self {
        id
    }
}
