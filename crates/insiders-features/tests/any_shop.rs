//! Any shop's data through cleaning and features: rules that need a missing column are not
//! applied (and the accounting says so), features that need one are left out of the table
//! (and asking for one names the column), orders are derived without invoices, and synthetic
//! ids start above the largest real id unless configured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use insiders_features::{
    ALL_FEATURES, CleaningOptions, FeaturesError, clean, customer_table, unavailable_features,
};
use insiders_ingest::{ColumnNames, Delimiter, InputOptions, Loaded, Present, read_bytes};
use std::path::Path;

fn read(text: &str, opts: &InputOptions) -> Loaded {
    read_bytes(Path::new("shop.csv"), text.as_bytes().to_vec(), opts).unwrap()
}

fn amount_only() -> InputOptions {
    InputOptions {
        columns: ColumnNames {
            customer_id: Some("client".into()),
            invoice_date: Some("when".into()),
            amount: Some("total".into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Customer 7: two orders (two lines at 10:00 on day 1, one on day 11) and a refund;
/// customer 8: one order of a cent; an anonymous order; customer 9: only a refund.
const AMOUNT_ONLY: &str = "client,when,total
7,2021-03-01 10:00:00,10.5
7,2021-03-01 10:00:00,4.5
,2021-03-01 11:00:00,3
8,2021-03-05 09:00:00,0.01
7,2021-03-11 09:00:00,5
7,2021-03-12 09:00:00,-2
9,2021-03-12 09:00:00,-1
";

#[test]
fn amount_only_data_without_invoices() {
    let l = read(AMOUNT_ONLY, &amount_only());
    let c = clean(&l.lines, &l.report, &CleaningOptions::default()).unwrap();
    let a = &c.account;
    // The unit price floor (0.04 by default) is not applied: the cent stays.
    let rules: Vec<&str> = a.not_applied.iter().map(|n| n.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "unit price below the minimum",
            "excluded stock code",
            "excluded country"
        ]
    );
    assert!(a.not_applied[0].why.contains("input.columns.unit_price"));
    let reasons: Vec<(&str, u64)> = a
        .buckets
        .iter()
        .map(|b| (b.reason.as_str(), b.rows))
        .collect();
    assert_eq!(
        reasons,
        [
            ("known bad customer", 0),
            ("purchase (amount >= 0)", 5),
            ("return (amount < 0)", 2)
        ]
    );
    assert_eq!(a.buckets.iter().map(|b| b.rows).sum::<u64>(), a.rows_read);
    // One anonymous order: one synthetic id, 19000 (real ids are small).
    assert_eq!(a.customers.new_ids_assigned, 1);
    assert_eq!(a.customers.synthetic_id_start, Some(19_000));
    assert_eq!(a.customers.customers_only_returns_dropped, 1);
    let unavailable: Vec<&str> = a
        .unavailable_features
        .iter()
        .map(|u| u.feature.as_str())
        .collect();
    assert_eq!(
        unavailable,
        [
            "qtde_items",
            "qtde_products",
            "qtde_returns",
            "avg_basket_size",
            "avg_unique_basket_size"
        ]
    );
    let text = a.to_text();
    assert!(
        text.contains("not applied: excluded country: the data has no country column"),
        "{text}"
    );
    assert!(text.contains("unavailable feature: qtde_products (needs the StockCode column"));

    let t = customer_table(&l.lines, &c).unwrap();
    assert_eq!(
        t.columns,
        [
            "gross_revenue",
            "recency_days",
            "qtde_invoices",
            "avg_ticket",
            "avg_recency_days",
            "frequency"
        ]
    );
    assert_eq!(t.customer_id, [7, 8, 19_000]);
    let col = |n: &str| t.column(n).unwrap().to_vec();
    assert_eq!(col("gross_revenue"), [20.0, 0.01, 3.0]);
    // Two lines at one timestamp are one order: customer 7 has two orders in 11 days.
    assert_eq!(col("qtde_invoices"), [2.0, 1.0, 1.0]);
    assert_eq!(col("frequency")[0], 2.0 / 11.0);
    assert_eq!(col("avg_ticket")[0], 20.0 / 3.0);
    assert_eq!(col("recency_days"), [1.0, 7.0, 11.0]);
    // Customer 7's distinct days 1, 11, 12 (the refund's day included).
    assert_eq!(col("avg_recency_days")[0], 5.5);
    let e = t.column("qtde_products").unwrap_err();
    assert_eq!(
        e,
        FeaturesError::UnavailableFeature {
            feature: "qtde_products".into(),
            column: "StockCode".into(),
            setting: "input.columns.stock_code".into(),
        }
    );
    assert!(e.to_string().contains("the StockCode column"), "{e}");
    assert!(matches!(
        t.column("qtde_item"),
        Err(FeaturesError::UnknownFeature { .. })
    ));
    let csv = String::from_utf8(t.to_csv()).unwrap();
    assert!(csv.starts_with(
        "customer_id,gross_revenue,recency_days,qtde_invoices,avg_ticket,avg_recency_days,frequency\n"
    ));
    // filter_rows keeps the knowledge of what is unavailable.
    assert_eq!(
        t.filter_rows(&[true, false, true]).unavailable,
        t.unavailable
    );
}

#[test]
fn quantity_and_amount_without_stock_codes_cdnow_like() {
    let opts = InputOptions {
        delimiter: Delimiter::Whitespace,
        date_format: Some("%Y%m%d".into()),
        columns: ColumnNames {
            customer_id: Some("customer_id".into()),
            invoice_date: Some("date".into()),
            quantity: Some("number_of_cds".into()),
            amount: Some("dollar_value".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let text = " customer_id  date number_of_cds  dollar_value
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
 00002 19970301  2   20.00
";
    let l = read(text, &opts);
    let cleaning = CleaningOptions {
        bad_customers: vec![],
        ..Default::default()
    };
    let c = clean(&l.lines, &l.report, &cleaning).unwrap();
    assert_eq!(c.account.rows("purchase (quantity >= 0)"), 4);
    assert_eq!(c.account.customers.synthetic_id_start, None);
    let t = customer_table(&l.lines, &c).unwrap();
    assert_eq!(
        t.columns,
        [
            "gross_revenue",
            "recency_days",
            "qtde_invoices",
            "qtde_items",
            "avg_ticket",
            "avg_recency_days",
            "frequency",
            "qtde_returns",
            "avg_basket_size"
        ]
    );
    let col = |n: &str| t.column(n).unwrap().to_vec();
    assert_eq!(col("gross_revenue"), [11.77, 109.0]);
    assert_eq!(col("qtde_items"), [1.0, 8.0]);
    assert_eq!(col("qtde_invoices"), [1.0, 2.0]);
    assert_eq!(col("avg_basket_size"), [1.0, 4.0]);
    assert_eq!(col("qtde_returns"), [0.0, 0.0]);
    assert_eq!(col("recency_days"), [59.0, 0.0]);
}

#[test]
fn rules_apply_where_their_column_is() {
    // Stock codes but no country and no invoice: the stock-code rule applies, the country
    // rule does not; the unit price floor applies.
    let text = "CustomerID,InvoiceDate,StockCode,Quantity,UnitPrice
1,2011-01-01 10:00:00,POST,1,18
1,2011-01-01 10:00:00,85123A,6,2.55
1,2011-01-01 10:00:00,85123B,6,0.01
2,2011-01-02 10:00:00,85123A,-2,2.55
2,2011-01-03 10:00:00,85123A,4,2.55
";
    let l = read(text, &InputOptions::default());
    let c = clean(&l.lines, &l.report, &CleaningOptions::default()).unwrap();
    let a = &c.account;
    assert_eq!(a.rows("excluded stock code"), 1);
    assert_eq!(a.rows("unit price below the minimum"), 1);
    assert_eq!(a.rows("purchase (quantity >= 0)"), 2);
    assert_eq!(a.rows("return (quantity < 0)"), 1);
    assert_eq!(a.not_applied.len(), 1);
    assert_eq!(a.not_applied[0].rule, "excluded country");
    let t = customer_table(&l.lines, &c).unwrap();
    assert_eq!(t.columns.len(), ALL_FEATURES.len());
    assert!(t.unavailable.is_empty());
    assert_eq!(t.column("qtde_returns").unwrap(), [0.0, 2.0]);
    assert_eq!(t.column("qtde_products").unwrap(), [1.0, 1.0]);
    // The published columns: every rule applies, nothing is listed, nothing unavailable.
    let json = serde_json::to_value(a).unwrap();
    assert!(json.get("unavailable_features").is_none());
    assert!(unavailable_features(&Present::default()).is_empty());
}

#[test]
fn synthetic_ids_start_above_the_largest_real_id() {
    // 7,000 customers: real ids reach 12346 + 7000 > 19000.
    let shop = insiders_synth::generate(&insiders_synth::ShopConfig {
        customers: 7_000,
        seed: 3,
        days: 60,
        ..Default::default()
    })
    .unwrap();
    let l = read_bytes(Path::new("shop.csv"), shop.csv, &InputOptions::default()).unwrap();
    let largest = l
        .lines
        .column(insiders_ingest::Transactions::customer_id)
        .iter()
        .flatten()
        .max()
        .copied()
        .unwrap();
    assert!(largest >= 19_000, "largest real id {largest}");
    let c = clean(&l.lines, &l.report, &CleaningOptions::default()).unwrap();
    let acc = &c.account.customers;
    assert!(acc.new_ids_assigned > 0);
    assert_eq!(acc.synthetic_id_start, Some(largest + 1));
    assert_eq!(
        acc.customers_after_id_assignment,
        acc.raw_customers_with_id + acc.new_ids_assigned
    );
    let t = customer_table(&l.lines, &c).unwrap();
    assert!(t.customer_id.contains(&(largest + 1)));
    // Configured explicitly, the start is used as is, and a collision is an error.
    let explicit = CleaningOptions {
        synthetic_id_start: Some(19_000),
        ..Default::default()
    };
    let e = clean(&l.lines, &l.report, &explicit).unwrap_err();
    assert!(
        matches!(e, FeaturesError::SyntheticIdClash { start: 19_000, .. }),
        "{e}"
    );
    let high = CleaningOptions {
        synthetic_id_start: Some(1_000_000),
        ..Default::default()
    };
    let c = clean(&l.lines, &l.report, &high).unwrap();
    assert_eq!(c.account.customers.synthetic_id_start, Some(1_000_000));
}
