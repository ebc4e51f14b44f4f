//! The study's "data description" step: dimensions, column types, missing values,
//! descriptive statistics of numeric columns, distinct counts of categorical ones (of the
//! columns the data has; derived orders are marked `derived`).

use crate::date;
use crate::transactions::Transactions;
use serde::Serialize;

/// Statistics of one numeric column (missing values excluded), as pandas `describe()`
/// plus skewness and excess kurtosis (pandas' bias-corrected `skew()` and `kurt()`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericStats {
    pub column: String,
    pub count: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub q25: f64,
    pub median: f64,
    pub q75: f64,
    pub max: f64,
    pub skewness: f64,
    pub kurtosis: f64,
}

/// One column's type and missing count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnInfo {
    pub column: String,
    pub kind: &'static str,
    pub missing: usize,
    pub distinct: Option<usize>,
}

/// The data description of a set of invoice lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Description {
    pub rows: usize,
    pub columns: Vec<ColumnInfo>,
    pub numeric: Vec<NumericStats>,
    pub first_date: String,
    pub last_date: String,
    pub cancellation_lines: usize,
}

/// The quantile of sorted data used here: [`insiders_core::quantile_sorted`] (numpy's
/// linear rule). Re-exported so that the old path keeps working; new code should call
/// `insiders_core::quantile_sorted`.
pub use insiders_core::quantile_sorted;

/// Statistics of a column. Quartiles are [`insiders_core::quantile_sorted`] (numpy's and
/// pandas' linear rule, to the bit).
pub fn numeric_stats(column: &str, values: &[f64]) -> NumericStats {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let nf = n as f64;
    let mean = v.iter().sum::<f64>() / nf;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for x in &v {
        let d = x - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    let std = if n > 1 {
        (m2 / (nf - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    // Bias-corrected sample skewness (G1) and excess kurtosis (G2), as pandas.
    let (m2n, m3n, m4n) = (m2 / nf, m3 / nf, m4 / nf);
    let skewness = if n > 2 && m2n > 0.0 {
        (nf * (nf - 1.0)).sqrt() / (nf - 2.0) * m3n / m2n.powf(1.5)
    } else {
        f64::NAN
    };
    let kurtosis = if n > 3 && m2n > 0.0 {
        let g2 = m4n / (m2n * m2n) - 3.0;
        ((nf + 1.0) * g2 + 6.0) * (nf - 1.0) / ((nf - 2.0) * (nf - 3.0))
    } else {
        f64::NAN
    };
    NumericStats {
        column: column.to_string(),
        count: n,
        mean,
        std,
        min: v.first().copied().unwrap_or(f64::NAN),
        q25: quantile_sorted(&v, 0.25),
        median: quantile_sorted(&v, 0.5),
        q75: quantile_sorted(&v, 0.75),
        max: v.last().copied().unwrap_or(f64::NAN),
        skewness,
        kurtosis,
    }
}

/// Describes invoice lines.
pub fn describe(t: &Transactions) -> Description {
    let n = t.len();
    let empty_desc = t.descriptions.get("");
    let missing_desc = empty_desc.map_or(0, |e| (0..n).filter(|&i| t.description(i) == e).count());
    let missing_cust = (0..n).filter(|&i| t.customer_id(i).is_none()).count();
    let distinct_customers = {
        let mut ids: Vec<u32> = (0..n).filter_map(|i| t.customer_id(i)).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let columns = vec![
        ColumnInfo {
            column: "InvoiceNo".into(),
            kind: "text",
            missing: 0,
            distinct: Some(t.invoices.len()),
        },
        ColumnInfo {
            column: "StockCode".into(),
            kind: "text",
            missing: 0,
            distinct: Some(t.stock_codes.len()),
        },
        ColumnInfo {
            column: "Description".into(),
            kind: "text",
            missing: missing_desc,
            distinct: Some(t.descriptions.len() - usize::from(empty_desc.is_some())),
        },
        ColumnInfo {
            column: "Quantity".into(),
            kind: "integer",
            missing: 0,
            distinct: None,
        },
        ColumnInfo {
            column: "InvoiceDate".into(),
            kind: "date-time",
            missing: 0,
            distinct: None,
        },
        ColumnInfo {
            column: "UnitPrice".into(),
            kind: "float",
            missing: 0,
            distinct: None,
        },
        ColumnInfo {
            column: "CustomerID".into(),
            kind: "integer id",
            missing: missing_cust,
            distinct: Some(distinct_customers),
        },
        ColumnInfo {
            column: "Country".into(),
            kind: "text",
            missing: 0,
            distinct: Some(t.countries.len()),
        },
    ];
    // Only the columns the data has (invoice numbers, when derived, are orders).
    let p = t.present;
    let mut columns: Vec<ColumnInfo> = columns
        .into_iter()
        .filter(|c| match c.column.as_str() {
            "StockCode" => p.stock_code,
            "Description" => p.description,
            "Quantity" => p.quantity,
            "UnitPrice" => p.unit_price,
            "Country" => p.country,
            _ => true,
        })
        .collect();
    if !p.invoice {
        columns[0].kind = "derived";
    }
    if p.amount {
        columns.push(ColumnInfo {
            column: "Amount".into(),
            kind: "float",
            missing: 0,
            distinct: None,
        });
    }
    let q: Vec<f64> = (0..n).map(|i| t.quantity(i) as f64).collect();
    let c: Vec<f64> = (0..n)
        .map(|i| t.customer_id(i).map_or(f64::NAN, f64::from))
        .collect();
    let mut numeric = Vec::with_capacity(4);
    if p.quantity {
        numeric.push(numeric_stats("Quantity", &q));
    }
    if p.unit_price {
        numeric.push(numeric_stats(
            "UnitPrice",
            &t.column(Transactions::unit_price),
        ));
    }
    if p.amount {
        numeric.push(numeric_stats(
            "Amount",
            &t.column(|t, i| t.amount(i).unwrap_or(f64::NAN)),
        ));
    }
    numeric.push(numeric_stats("CustomerID", &c));
    let first = (0..n).map(|i| t.timestamp(i)).min().unwrap_or(0);
    let last = (0..n).map(|i| t.timestamp(i)).max().unwrap_or(0);
    let cancellation_lines = if p.invoice {
        (0..n).filter(|&i| t.is_cancellation(i)).count()
    } else {
        0
    };
    Description {
        rows: n,
        columns,
        numeric,
        first_date: date::format_timestamp(first),
        last_date: date::format_timestamp(last),
        cancellation_lines,
    }
}

impl Description {
    /// A plain-text rendering for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "rows: {}   columns: {}   dates: {} .. {}   cancellation lines: {}\n\n",
            self.rows,
            self.columns.len(),
            self.first_date,
            self.last_date,
            self.cancellation_lines
        );
        s.push_str(&format!(
            "{:<12} {:<11} {:>9} {:>9}\n",
            "column", "type", "missing", "distinct"
        ));
        for c in &self.columns {
            s.push_str(&format!(
                "{:<12} {:<11} {:>9} {:>9}\n",
                c.column,
                c.kind,
                c.missing,
                c.distinct.map_or("-".to_string(), |d| d.to_string())
            ));
        }
        s.push_str(&format!(
            "\n{:<11} {:>8} {:>11} {:>11} {:>11} {:>9} {:>9} {:>9} {:>11} {:>9} {:>10}\n",
            "column", "count", "mean", "std", "min", "25%", "50%", "75%", "max", "skew", "kurtosis"
        ));
        for n in &self.numeric {
            s.push_str(&format!(
                "{:<11} {:>8} {:>11.3} {:>11.3} {:>11.3} {:>9.3} {:>9.3} {:>9.3} {:>11.3} {:>9.3} {:>10.3}\n",
                n.column, n.count, n.mean, n.std, n.min, n.q25, n.median, n.q75, n.max, n.skewness, n.kurtosis
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_match_hand_values() {
        // pandas: pd.Series([1,2,3,4,10]).skew() = 1.697056..., .kurt() = 3.152
        let s = numeric_stats("x", &[1.0, 2.0, 3.0, 4.0, 10.0, f64::NAN]);
        assert_eq!(s.count, 5);
        assert!((s.mean - 4.0).abs() < 1e-12);
        assert!((s.std - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((s.q25, s.median, s.q75), (2.0, 3.0, 4.0));
        let m2 = (9.0 + 4.0 + 1.0 + 0.0 + 36.0) / 5.0;
        let m3 = (-27.0 - 8.0 - 1.0 + 0.0 + 216.0) / 5.0;
        let g1 = m3 / f64::powf(m2, 1.5);
        assert!((s.skewness - g1 * (20.0f64).sqrt() / 3.0).abs() < 1e-12);
        assert!(
            (s.skewness - 1.697_056_274_847_714).abs() < 1e-12,
            "{}",
            s.skewness
        );
        assert!((s.kurtosis - 3.152).abs() < 1e-12, "{}", s.kurtosis);
    }

    #[test]
    fn quartiles_are_numpys_to_the_bit() {
        // numpy.quantile([0.85, 1.45], 0.75) = 1.3; `a + (b - a) * t` gives 1.2999999999999998.
        let s = numeric_stats("x", &[1.45, 0.85]);
        assert_eq!(s.q75, 1.3);
        assert_eq!(s.q25, 1.0);
    }

    #[test]
    fn only_the_columns_the_data_has() {
        use crate::transactions::{Line, Present};
        let mut t = Transactions::default();
        t.present = Present {
            invoice: false,
            stock_code: false,
            description: false,
            quantity: true,
            unit_price: false,
            country: false,
            amount: true,
        };
        for (c, a) in [(1, 11.77), (2, 12.0)] {
            t.push(&Line {
                invoice: "",
                stock_code: "",
                description: "",
                quantity: 1,
                timestamp: 0,
                unit_price: f64::NAN,
                customer_id: Some(c),
                country: "",
                amount: Some(a),
            });
        }
        t.derive_invoices();
        let d = describe(&t);
        let names: Vec<(&str, &str)> = d
            .columns
            .iter()
            .map(|c| (c.column.as_str(), c.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("InvoiceNo", "derived"),
                ("Quantity", "integer"),
                ("InvoiceDate", "date-time"),
                ("CustomerID", "integer id"),
                ("Amount", "float")
            ]
        );
        let numeric: Vec<&str> = d.numeric.iter().map(|n| n.column.as_str()).collect();
        assert_eq!(numeric, ["Quantity", "Amount", "CustomerID"]);
        assert_eq!(d.numeric[1].max, 12.0);
    }
}
