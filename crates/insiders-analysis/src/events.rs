//! Purchase events per customer and day, and monthly revenue: the inputs of the revenue
//! model (Q5) and of the revenue plot.

use insiders_features::Cleaned;
use insiders_ingest::{Transactions, date};
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

/// Kept purchase lines (not returns; revenue = quantity x unit price, or the line's amount) summed per customer and day, ordered by customer then
/// day. Returns are not purchases: they are a feature (`qtde_returns`), not a transaction of
/// the repeat-purchase model.
pub fn day_purchases(lines: &Transactions, cleaned: &Cleaned) -> Vec<DayPurchase> {
    let mut v: Vec<(u32, i64, f64)> = cleaned
        .kept
        .iter()
        .map(|&i| i as usize)
        .filter(|&i| !lines.is_return(i))
        .map(|i| {
            (
                cleaned.customer(lines, i),
                date::day_of(lines.timestamp(i)),
                lines.revenue(i),
            )
        })
        .collect();
    // Stable: lines of one customer and day keep file order, so the sums are reproducible.
    v.sort_by_key(|&(c, d, _)| (c, d));
    let mut out: Vec<DayPurchase> = Vec::new();
    for (c, d, x) in v {
        match out.last_mut() {
            Some(last) if last.customer_id == c && last.day == d => last.value += x,
            _ => out.push(DayPurchase {
                customer_id: c,
                day: d,
                value: x,
            }),
        }
    }
    out
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
