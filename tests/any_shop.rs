//! End-to-end: any shop's data through `insiders features`. CDNOW (whitespace-separated, an
//! amount per line, no invoice, stock code or country) with `docs/cdnow.toml`; a small
//! invoice-less, amount-only CSV; a shop whose ids pass 19000; and the errors: selecting an
//! unavailable feature names the feature and its column, a missing required column names
//! the setting, and neither writes anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
mod common;

use common::{insiders, text};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Checks that the buckets of a `row_accounting.json` sum to the rows read; returns them.
fn accounted(acc: &serde_json::Value) -> u64 {
    let rows = acc["accounting"]["rows_read"].as_u64().unwrap();
    let sum: u64 = acc["accounting"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, rows, "buckets do not sum to the rows read");
    rows
}

fn strings(v: &serde_json::Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn cdnow_features_with_the_documented_config() {
    let Some(data) = insiders_fixtures::require(
        insiders_fixtures::shared_dir().join("datasets/cdnow/CDNOW_master.txt"),
    ) else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let config = root().join("docs/cdnow.toml");
    let o = insiders(&[
        "features",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let acc = json(&out.join("row_accounting.json"));
    assert_eq!(accounted(&acc), 69_659);
    let a = &acc["accounting"];
    assert_eq!(a["rows_kept"], 69_659);
    assert_eq!(a["customers"]["raw_customers_with_id"], 23_570);
    assert_eq!(a["customers"]["customers_with_purchases"], 23_570);
    assert_eq!(a["customers"]["new_ids_assigned"], 0);
    assert_eq!(
        strings(&a["not_applied"], "rule"),
        [
            "unit price below the minimum",
            "excluded stock code",
            "excluded country"
        ]
    );
    assert_eq!(
        strings(&a["unavailable_features"], "feature"),
        ["qtde_products", "avg_unique_basket_size"]
    );
    let r = &acc["read"];
    assert_eq!(r["date_format"], "%Y%m%d");
    assert_eq!(r["amount_column"], "dollar_value");
    assert!(
        r["derived_invoices"]
            .as_str()
            .unwrap()
            .contains("one order")
    );

    let customers = std::fs::read_to_string(out.join("customers.csv")).unwrap();
    let mut lines = customers.lines();
    assert_eq!(
        lines.next().unwrap(),
        "customer_id,gross_revenue,recency_days,qtde_invoices,qtde_items,avg_ticket,\
         avg_recency_days,frequency,qtde_returns,avg_basket_size"
    );
    // Customer 00002 bought 1 and 5 CDs on 1997-01-12 (one order, $89); the data ends on
    // 1998-06-30, 534 days later.
    let two = lines.nth(1).unwrap();
    assert!(two.starts_with("2,89,534,1,6,44.5,"), "{two}");
    assert_eq!(customers.lines().count(), 23_571);
    let scaled = std::fs::read_to_string(out.join("scaled.csv")).unwrap();
    assert_eq!(
        scaled.lines().next().unwrap(),
        // docs/cdnow.toml keeps the default's three value features (906f798).
        "customer_id,gross_revenue,qtde_invoices,qtde_items"
    );
    assert!(
        text(&o).contains("not applied: excluded stock code"),
        "{}",
        text(&o)
    );

    // `insiders inspect` describes the columns CDNOW has.
    let o = insiders(&[
        "inspect",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["description"]["rows"], 69_659);
    let columns = strings(&d["description"]["columns"], "column");
    assert_eq!(
        columns,
        [
            "InvoiceNo",
            "Quantity",
            "InvoiceDate",
            "CustomerID",
            "Amount"
        ]
    );
    assert_eq!(d["description"]["columns"][0]["distinct"], 67_591);
}

/// Lines of a shop without invoice numbers, stock codes or countries, with an amount per line
/// and a description; one anonymous order.
const SMALL_SHOP: &str = "Client\tWhen\tWhat\tTotal
101\t2022-05-01 10:00:00\tbook\t12.5
101\t2022-05-01 10:00:00\tpen\t2.5
\t2022-05-01 11:00:00\tmap\t7
102\t2022-05-03 09:30:00\tbook\t12.5
101\t2022-05-20 16:00:00\tbag\t30
102\t2022-05-21 16:00:00\tbook\t-12.5
";

const SMALL_CONFIG: &str = r#"
[input]
delimiter = "\t"
[input.columns]
customer_id = "Client"
invoice_date = "When"
description = "What"
amount = "Total"
[features]
selected = ["gross_revenue", "recency_days", "qtde_invoices", "frequency", "avg_ticket"]
"#;

#[test]
fn an_invoice_less_amount_only_shop() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("shop.tsv");
    std::fs::write(&data, SMALL_SHOP).unwrap();
    let config = d.path().join("shop.toml");
    std::fs::write(&config, SMALL_CONFIG).unwrap();
    let out = d.path().join("out");
    let o = insiders(&[
        "features",
        "--data",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let acc = json(&out.join("row_accounting.json"));
    assert_eq!(accounted(&acc), 6);
    let a = &acc["accounting"];
    let buckets: Vec<(String, u64)> = a["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["reason"].as_str().unwrap().to_string(),
                b["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(buckets.contains(&("purchase (amount >= 0)".to_string(), 5)));
    assert!(buckets.contains(&("return (amount < 0)".to_string(), 1)));
    assert_eq!(a["customers"]["new_ids_assigned"], 1);
    assert_eq!(a["customers"]["synthetic_id_start"], 19_000);
    assert_eq!(
        strings(&a["unavailable_features"], "feature"),
        [
            "qtde_items",
            "qtde_products",
            "qtde_returns",
            "avg_basket_size",
            "avg_unique_basket_size"
        ]
    );
    let customers = std::fs::read_to_string(out.join("customers.csv")).unwrap();
    let rows: Vec<&str> = customers.lines().collect();
    assert_eq!(
        rows[0],
        "customer_id,gross_revenue,recency_days,qtde_invoices,avg_ticket,avg_recency_days,frequency"
    );
    // 101: orders of 05-01 (two lines, one timestamp) and 05-20; revenue 45 in 3 lines.
    assert_eq!(rows[1], "101,45,1,2,15,19,0.1");
    // 102: one order of 12.5; a refund on the last day (gross revenue does not net it).
    assert_eq!(rows[2], "102,12.5,18,1,12.5,18,1");
    assert_eq!(rows[3], "19000,7,20,1,7,,1");
    assert_eq!(rows.len(), 4);
}

#[test]
fn unavailable_features_and_missing_columns_are_errors_that_write_nothing() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("shop.tsv");
    std::fs::write(&data, SMALL_SHOP).unwrap();
    // The default selection has qtde_items (quantities), which this shop lacks.
    let config = d.path().join("default.toml");
    std::fs::write(
        &config,
        SMALL_CONFIG.replace(
            r#"selected = ["gross_revenue", "recency_days", "qtde_invoices", "frequency", "avg_ticket"]"#,
            "",
        ),
    )
    .unwrap();
    let out = d.path().join("out");
    let run = |config: &Path, data: &Path| {
        insiders(&[
            "features",
            "--data",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = run(&config, &data);
    let msg = text(&o);
    assert!(!o.status.success(), "{msg}");
    assert!(
        msg.contains("features.selected")
            && msg.contains("`qtde_items`")
            && msg.contains("Quantity")
            && msg.contains("input.columns.quantity"),
        "{msg}"
    );
    assert!(!out.exists(), "an error wrote {}", out.display());

    // Without a customer column there is nothing to cluster.
    let anonymous = d.path().join("anonymous.tsv");
    std::fs::write(&anonymous, SMALL_SHOP.replace("Client", "Someone")).unwrap();
    let good = d.path().join("good.toml");
    std::fs::write(&good, SMALL_CONFIG).unwrap();
    let o = run(&good, &anonymous);
    let msg = text(&o);
    assert!(!o.status.success(), "{msg}");
    assert!(
        msg.contains("anonymous.tsv: line 1")
            && msg.contains("`Client`")
            && msg.contains("input.columns.customer_id"),
        "{msg}"
    );
    // Neither an amount nor a unit price.
    let no_revenue = d.path().join("norevenue.tsv");
    std::fs::write(&no_revenue, SMALL_SHOP.replace("Total", "Note")).unwrap();
    let no_amount = d.path().join("noamount.toml");
    std::fs::write(&no_amount, SMALL_CONFIG.replace("amount = \"Total\"", "")).unwrap();
    let o = run(&no_amount, &no_revenue);
    let msg = text(&o);
    assert!(!o.status.success(), "{msg}");
    assert!(
        msg.contains("`Quantity`") && msg.contains("input.columns.amount"),
        "{msg}"
    );
    assert!(!out.exists());
}

#[test]
fn a_shop_with_ids_above_19000_gets_synthetic_ids_above_them() {
    let d = tempfile::tempdir().unwrap();
    let shop = d.path().join("shop.csv");
    let o = insiders(&[
        "synth",
        "--customers",
        "7000",
        "--seed",
        "5",
        "--out",
        shop.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let largest = std::fs::read_to_string(d.path().join("shop.truth.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse::<u32>().unwrap())
        .max()
        .unwrap();
    assert!(largest >= 19_000, "largest id {largest}");
    let out = d.path().join("out");
    let o = insiders(&[
        "features",
        "--data",
        shop.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let acc = json(&out.join("row_accounting.json"));
    accounted(&acc);
    let c = &acc["accounting"]["customers"];
    assert!(c["new_ids_assigned"].as_u64().unwrap() > 0);
    assert_eq!(c["synthetic_id_start"], largest + 1);
}
