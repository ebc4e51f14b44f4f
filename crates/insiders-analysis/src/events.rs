//! Purchase events per customer and day, and monthly revenue: the inputs of the revenue
//! model (Q5) and of the revenue plot.

use insiders_features::Cleaned;
use insiders_ingest::{Transactions, date};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// The purchases of one customer on one day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DayPurchase {
    /// Customer id.
    pub customer_id: u32,
    /// Day since 1970-01-01.
    pub day: i64,
    /// Revenue of that day's purchase lines (quantity × unit price).
    pub value: f64,
}

/// Kept purchase lines (not returns; revenue = quantity x unit price, or the line's amount)
/// summed per customer and day, ordered by customer then day. Returns are not purchases:
/// they are a feature (`qtde_returns`), not a transaction of the repeat-purchase model.
///
/// A run of lines (one invoice's consecutive lines, see [`Transactions::run_of`]) has one
/// customer and one day, so the runs are ordered, not the lines: 12 bytes a run instead of
/// 24 a line. Runs of one customer and day keep file order and each sum adds the lines one
/// at a time in file order, so the sums are the same bits as summing the lines in file
/// order.
pub fn day_purchases(lines: &Transactions, cleaned: &Cleaned) -> Vec<DayPurchase> {
    // (customer, day, run, start of the run's kept lines in `kept`), in file order.
    let kept = &cleaned.kept;
    let mut runs: Vec<(u32, i32, u32)> = Vec::new();
    let mut starts: Vec<u32> = Vec::new();
    let mut last_run = usize::MAX;
    for (k, &i) in kept.iter().enumerate() {
        let r = lines.run_of(i as usize);
        if r != last_run {
            last_run = r;
            let i = i as usize;
            let day = date::day_of(lines.timestamp(i));
            runs.push((cleaned.customer(lines, i), day as i32, runs.len() as u32));
            starts.push(k as u32);
        }
    }
    starts.push(kept.len() as u32);
    // Stable: runs of one customer and day keep file order.
    runs.par_sort_by_key(|&(c, d, _)| (c, d));
    // One customer-day at a time (in parallel, collected in order), its lines added one at
    // a time in file order.
    runs.par_chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .filter_map(|group| {
            let (c, d) = (group[0].0, i64::from(group[0].1));
            let mut value: Option<f64> = None;
            for &(_, _, r) in group {
                let r = r as usize;
                for &i in &kept[starts[r] as usize..starts[r + 1] as usize] {
                    let i = i as usize;
                    if lines.is_return(i) {
                        continue;
                    }
                    let x = lines.revenue(i);
                    value = Some(value.map_or(x, |v| v + x));
                }
            }
            value.map(|value| DayPurchase {
                customer_id: c,
                day: d,
                value,
            })
        })
        .collect()
}

/// A calendar month, `YYYY-MM`.
pub fn month_of(day: i64) -> String {
    let (y, m, _) = date::civil_from_days(day);
    format!("{y:04}-{m:02}")
}

/// Revenue per calendar month of the customers where `member` holds, from the first to the
/// last month of the data (months without purchases are 0).
pub fn monthly_revenue(
    purchases: &[DayPurchase],
    member: impl Fn(u32) -> bool,
) -> Vec<(String, f64)> {
    let mut by: BTreeMap<(i32, u32), f64> = BTreeMap::new();
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for p in purchases {
        lo = lo.min(p.day);
        hi = hi.max(p.day);
        if member(p.customer_id) {
            let (y, m, _) = date::civil_from_days(p.day);
            *by.entry((y, m)).or_insert(0.0) += p.value;
        }
    }
    if lo > hi {
        return Vec::new();
    }
    let (mut y, mut m, _) = date::civil_from_days(lo);
    let (ye, me, _) = date::civil_from_days(hi);
    let mut out = Vec::new();
    while (y, m) <= (ye, me) {
        out.push((
            format!("{y:04}-{m:02}"),
            by.get(&(y, m)).copied().unwrap_or(0.0),
        ));
        m += 1;
        if m == 13 {
            m = 1;
            y += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_contiguous_and_filtered() {
        let d = |y, m, dd| date::days_from_civil(y, m, dd);
        let p = [
            DayPurchase {
                customer_id: 1,
                day: d(2010, 12, 1),
                value: 10.0,
            },
            DayPurchase {
                customer_id: 2,
                day: d(2011, 2, 3),
                value: 5.0,
            },
            DayPurchase {
                customer_id: 1,
                day: d(2011, 2, 28),
                value: 2.5,
            },
        ];
        let m = monthly_revenue(&p, |c| c == 1);
        assert_eq!(
            m,
            vec![
                ("2010-12".to_string(), 10.0),
                ("2011-01".to_string(), 0.0),
                ("2011-02".to_string(), 2.5)
            ]
        );
        assert_eq!(month_of(d(2011, 9, 9)), "2011-09");
    }
}
