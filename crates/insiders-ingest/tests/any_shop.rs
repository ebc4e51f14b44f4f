//! Any shop's data: only the customer id, the date and a revenue (quantity and unit price,
//! or an amount per line) are required; invoice, stock code, description and country are
//! optional (orders are derived without invoices); whitespace-separated files with `%Y%m%d`
//! dates and zero-padded ids (CDNOW) read through the same path; errors name the file, line
//! and column, or the setting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use insiders_ingest::{ColumnNames, Delimiter, InputOptions, Loaded, OnBadRow, read_path};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// The options of CDNOW's `CDNOW_master.txt` (as in `docs/cdnow.toml`).
fn cdnow_options() -> InputOptions {
    InputOptions {
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
    }
}

const CDNOW_SAMPLE: &str = " customer_id  date number_of_cds  dollar_value\r\n \
00001 19970101  1   11.77\r\n \
00002 19970112  1   12.00\r\n \
00002 19970112  5   77.00\r\n \
00003 19970102  2   20.76\r\n \
00003 19970330  2   20.76\r\n";

#[test]
fn a_whitespace_file_with_amounts_zero_padded_ids_and_packed_dates() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "cdnow.txt", CDNOW_SAMPLE.as_bytes());
    let l = read_path(&p, &cdnow_options()).unwrap();
    let t = &l.lines;
    assert_eq!(l.report.rows_read, 5);
    assert_eq!(
        t.column(insiders_ingest::Transactions::customer_id),
        vec![Some(1), Some(2), Some(2), Some(3), Some(3)]
    );
    assert_eq!(
        t.column(insiders_ingest::Transactions::quantity),
        vec![1, 1, 5, 2, 2]
    );
    assert_eq!(
        t.column(|t, i| t.amount(i).unwrap_or(f64::NAN)),
        vec![11.77, 12.0, 77.0, 20.76, 20.76]
    );
    assert!(
        t.column(insiders_ingest::Transactions::unit_price)
            .iter()
            .all(|p| p.is_nan())
    );
    assert!(t.present.amount && t.present.quantity);
    assert!(!t.present.invoice && !t.present.stock_code && !t.present.unit_price);
    assert!(!t.present.country && !t.present.description);
    // Customer 2's two lines of 1997-01-12 are one order; customer 3 has two orders.
    assert_eq!(
        t.column(insiders_ingest::Transactions::invoice),
        vec![0, 1, 1, 2, 3]
    );
    assert_eq!(t.invoices.resolve(1), "2@1997-01-12 00:00:00");
    assert_eq!(t.revenue(2), 77.0);
    assert!(!t.is_return(2));
    assert_eq!(l.report.source, "custom");
    assert_eq!(l.report.date_format, "%Y%m%d");
    assert_eq!(l.report.amount_column.as_deref(), Some("dollar_value"));
    assert_eq!(
        l.report.absent_columns,
        [
            "InvoiceNo",
            "StockCode",
            "Description",
            "UnitPrice",
            "Country"
        ]
    );
    assert!(l.report.derived_invoices.is_some());
    let json = serde_json::to_value(&l.report).unwrap();
    assert_eq!(json["absent_columns"][0], "InvoiceNo");

    // The date format is also detected.
    let detected = InputOptions {
        date_format: None,
        ..cdnow_options()
    };
    let l2 = read_path(&p, &detected).unwrap();
    assert_eq!(
        l2.lines.column(insiders_ingest::Transactions::timestamp),
        t.column(insiders_ingest::Transactions::timestamp)
    );
}

#[test]
fn whitespace_errors_name_file_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let bad = CDNOW_SAMPLE.replace("19970330", "1997033");
    let p = write(d.path(), "cd.txt", bad.as_bytes());
    let e = read_path(&p, &cdnow_options()).unwrap_err().to_string();
    assert!(
        e.contains("cd.txt") && e.contains("line 6, column `date`") && e.contains("1997033"),
        "{e}"
    );
    let bad = CDNOW_SAMPLE.replace("12.00", "12.OO");
    let p = write(d.path(), "cd2.txt", bad.as_bytes());
    let e = read_path(&p, &cdnow_options()).unwrap_err().to_string();
    assert!(e.contains("line 3, column `dollar_value`"), "{e}");
    let bad = CDNOW_SAMPLE.replace(" 00003 19970102", " 0000x 19970102");
    let p = write(d.path(), "cd3.txt", bad.as_bytes());
    let e = read_path(&p, &cdnow_options()).unwrap_err().to_string();
    assert!(e.contains("line 5, column `customer_id`"), "{e}");
    let bad = CDNOW_SAMPLE.replace("  5   77.00", "  5   77.00 extra");
    let p = write(d.path(), "cd4.txt", bad.as_bytes());
    let e = read_path(&p, &cdnow_options()).unwrap_err().to_string();
    assert!(
        e.contains("line 4") && e.contains("expected 4 fields"),
        "{e}"
    );
    // Skipped instead, the bad row is counted.
    let opts = InputOptions {
        on_bad_row: OnBadRow::Skip,
        ..cdnow_options()
    };
    let l = read_path(&p, &opts).unwrap();
    assert_eq!((l.report.rows_read, l.lines.len()), (5, 4));
}

#[test]
fn an_invoice_less_amount_only_csv() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "shop.csv",
        b"client;when;total\n\
          7;2021-03-01 10:00:00;10.5\n\
          7;2021-03-01 10:00:00;4.5\n\
          ;2021-03-01 10:00:00;3\n\
          8;2021-03-02 09:00:00;-2.25\n",
    );
    let opts = InputOptions {
        delimiter: Delimiter::Char(';'),
        columns: ColumnNames {
            customer_id: Some("client".into()),
            invoice_date: Some("when".into()),
            amount: Some("total".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let l: Loaded = read_path(&p, &opts).unwrap();
    let t = &l.lines;
    assert!(!t.present.quantity && t.present.amount);
    assert_eq!(
        t.column(insiders_ingest::Transactions::invoice),
        vec![0, 0, 1, 2]
    );
    assert_eq!(t.invoices.resolve(1), "anonymous@2021-03-01 10:00:00");
    assert!(t.is_return(3) && !t.is_return(0));
    assert_eq!(t.revenue(3), -2.25);
    assert!(l.report.absent_columns.contains(&"Quantity".to_string()));
}

#[test]
fn optional_published_columns_may_be_absent() {
    let d = tempfile::tempdir().unwrap();
    // No invoice, no stock code, no description, no country.
    let p = write(
        d.path(),
        "min.csv",
        b"CustomerID,InvoiceDate,Quantity,UnitPrice\n\
          17850,2010-12-01 08:26:00,6,2.55\n\
          17850,2010-12-01 08:26:00,-1,2.55\n",
    );
    let l = read_path(&p, &InputOptions::default()).unwrap();
    let t = &l.lines;
    assert!(t.present.quantity && t.present.unit_price && !t.present.amount);
    assert!(!t.present.invoice && !t.present.stock_code && !t.present.country);
    assert_eq!(t.revenue(0), 6.0 * 2.55);
    assert!(t.is_return(1));
    assert_eq!(t.column(insiders_ingest::Transactions::invoice), vec![0, 0]);
    // The published copies' report keeps its fields: nothing absent, nothing derived.
    let full = write(
        d.path(),
        "full.csv",
        b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
          536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n",
    );
    let l = read_path(&full, &InputOptions::default()).unwrap();
    let json = serde_json::to_value(&l.report).unwrap();
    for key in ["absent_columns", "amount_column", "derived_invoices"] {
        assert!(json.get(key).is_none(), "{key} in {json}");
    }
    assert_eq!(l.report.source, "UCI Online Retail (CSV copy)");
}

#[test]
fn missing_required_columns_name_the_setting() {
    let d = tempfile::tempdir().unwrap();
    let err = |name: &str, body: &[u8], opts: &InputOptions| {
        let p = write(d.path(), name, body);
        read_path(&p, opts).unwrap_err().to_string()
    };
    let e = err(
        "nocust.csv",
        b"InvoiceDate,Quantity,UnitPrice\n2010-12-01 08:26:00,6,2.55\n",
        &InputOptions::default(),
    );
    assert!(
        e.contains("nocust.csv: line 1")
            && e.contains("`CustomerID`")
            && e.contains("input.columns.customer_id"),
        "{e}"
    );
    let e = err(
        "noprice.csv",
        b"CustomerID,InvoiceDate,Quantity\n1,2010-12-01 08:26:00,6\n",
        &InputOptions::default(),
    );
    assert!(
        e.contains("`UnitPrice`")
            && e.contains("input.columns.unit_price")
            && e.contains("input.columns.amount"),
        "{e}"
    );
    let e = err(
        "nodate.txt",
        CDNOW_SAMPLE.replace(" date ", " day ").as_bytes(),
        &cdnow_options(),
    );
    assert!(
        e.contains("`date`") && e.contains("input.columns.invoice_date"),
        "{e}"
    );
    // A configured optional column must be there.
    let opts = InputOptions {
        columns: ColumnNames {
            country: Some("Land".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = err(
        "noland.csv",
        b"CustomerID,InvoiceDate,Quantity,UnitPrice\n1,2010-12-01 08:26:00,6,2.55\n",
        &opts,
    );
    assert!(
        e.contains("`Land`") && e.contains("input.columns.country"),
        "{e}"
    );
    let bad = InputOptions::default();
    let parsed: Result<InputOptions, _> = serde_json::from_str(r#"{"delimiter": "ab"}"#);
    assert!(parsed.is_err());
    let ws: InputOptions = serde_json::from_str(r#"{"delimiter": "whitespace"}"#).unwrap();
    assert_eq!(ws.delimiter, Delimiter::Whitespace);
    assert_eq!(bad.delimiter, Delimiter::Char(','));
}

#[test]
fn an_xlsx_without_invoices_with_an_amount_column() {
    use rust_xlsxwriter::Workbook;
    let d = tempfile::tempdir().unwrap();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (j, h) in ["Customer", "Day", "Amount"].iter().enumerate() {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    let rows = [
        (12.0, "2011-01-02", 5.5),
        (12.0, "2011-01-02", 1.0),
        (13.0, "2011-01-03", 2.0),
    ];
    for (i, (c, day, a)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_number(r, 0, *c).unwrap();
        ws.write_string(r, 1, *day).unwrap();
        ws.write_number(r, 2, *a).unwrap();
    }
    let p = d.path().join("shop.xlsx");
    wb.save(&p).unwrap();
    let opts = InputOptions {
        date_format: Some("%Y-%m-%d".into()),
        columns: ColumnNames {
            customer_id: Some("Customer".into()),
            invoice_date: Some("Day".into()),
            amount: Some("Amount".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let l = read_path(&p, &opts).unwrap();
    assert_eq!(
        l.lines.column(|t, i| t.amount(i).unwrap_or(f64::NAN)),
        vec![5.5, 1.0, 2.0]
    );
    assert_eq!(
        l.lines.column(insiders_ingest::Transactions::invoice),
        vec![0, 0, 1]
    );
    assert!(!l.lines.present.quantity);
}

/// The real CDNOW file, when the shared folder has it.
#[test]
fn the_cdnow_file_reads_every_line() {
    let Some(p) = insiders_fixtures::require(
        insiders_fixtures::shared_dir().join("datasets/cdnow/CDNOW_master.txt"),
    ) else {
        return;
    };
    let l = read_path(&p, &cdnow_options()).unwrap();
    assert_eq!(l.report.rows_read, 69_659);
    assert_eq!(l.lines.len(), 69_659);
    let ids: std::collections::BTreeSet<u32> = l
        .lines
        .column(insiders_ingest::Transactions::customer_id)
        .iter()
        .map(|c| c.unwrap())
        .collect();
    assert_eq!(ids.len(), 23_570);
    assert_eq!((ids.first(), ids.last()), (Some(&1), Some(&23_570)));
    // One order per customer and day: 67,591 distinct (customer, date) pairs.
    assert_eq!(l.lines.invoices.len(), 67_591);
}
