//! End-to-end tests of the binary: the README's main command works on the built-in synthetic
//! shop, bad input exits non-zero with file/line/column and writes nothing, and the real
//! data's row accounting reaches `row_accounting.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
mod common;

use common::{insiders, text};

#[test]
fn features_on_the_synthetic_shop_writes_every_file_deterministically() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a");
    let b = d.path().join("b");
    let o = insiders(&["features", "--out", a.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o2 = insiders(&["--threads", "1", "features", "--out", b.to_str().unwrap()]);
    assert!(o2.status.success(), "{}", text(&o2));
    for f in [
        "customers.csv",
        "scaled.csv",
        "scaler.json",
        "row_accounting.json",
    ] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between runs"
        );
    }
    let customers = std::fs::read_to_string(a.join("customers.csv")).unwrap();
    assert!(customers.starts_with("customer_id,gross_revenue,recency_days,qtde_invoices"));
    let acc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("row_accounting.json")).unwrap())
            .unwrap();
    let rows = acc["accounting"]["rows_read"].as_u64().unwrap();
    let sum: u64 = acc["accounting"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, rows);
    let n = acc["accounting"]["customers"]["customers_with_purchases"]
        .as_u64()
        .unwrap();
    assert_eq!(customers.lines().count() as u64, n + 1);
}

#[test]
fn bad_input_exits_non_zero_names_line_and_column_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("bad.csv");
    std::fs::write(
        &input,
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
         536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
         536366,85123A,HEART,6,2010-12-01 08:26:00,2.5x,17850.0,United Kingdom\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let o = insiders(&[
        "features",
        "--data",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("bad.csv: line 3, column `UnitPrice`"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    assert!(!out.exists(), "an error must write nothing");
    // With --on-bad-row skip the row is counted and written to rejects.csv.
    let o = insiders(&[
        "features",
        "--data",
        input.to_str().unwrap(),
        "--on-bad-row",
        "skip",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert!(
        rejects.contains("line 3") && rejects.contains("UnitPrice"),
        "{rejects}"
    );
    assert!(text(&o).contains("malformed row: bad unit price"));
    // A config with an unknown key is an error naming the key.
    let cfg = d.path().join("c.toml");
    std::fs::write(&cfg, "[cleaning]\nmin_price = 1\n").unwrap();
    let o = insiders(&[
        "features",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && text(&o).contains("min_price"),
        "{}",
        text(&o)
    );
}

#[test]
fn real_data_features_match_the_reference_counts() {
    let Some(data) = insiders_fixtures::real_data() else {
        return;
    };
    let Some(reference) = insiders_fixtures::reference() else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let o = insiders(&[
        "features",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let acc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("row_accounting.json")).unwrap())
            .unwrap();
    let rc = &reference["reference_counts"];
    assert_eq!(acc["accounting"]["rows_read"], rc["raw_rows"]);
    assert_eq!(acc["accounting"]["rows_kept"], rc["rows_after_filter"]);
    assert_eq!(
        acc["accounting"]["customers"]["customers_with_purchases"],
        rc["customers_final"]
    );
    let inspect = insiders(&["inspect", "--data", data.to_str().unwrap(), "--json"]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    let d: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(d["description"]["rows"], 541_909);
    let cust = d["description"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "CustomerID")
        .unwrap();
    assert_eq!(cust["missing"], 135_080);
    assert_eq!(cust["distinct"], 4_372);
    let desc = d["description"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "Description")
        .unwrap();
    assert_eq!(desc["missing"], 1_454);
    assert!(Path::new(&out.join("customers.csv")).exists());
}
