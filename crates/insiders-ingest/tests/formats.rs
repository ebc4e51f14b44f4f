//! The same customer table from every published format of the data: our CSV, gzip CSV,
//! the Kaggle copy (ISO-8859-1, month-first dates, integer ids), the course copy
//! (`29-Nov-16` dates shifted by 2190 days, trailing empty column), the "Online Retail II"
//! headers, and the UCI Excel workbook (Excel date-times, numeric ids).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use insiders_ingest::date::{self, DAY};
use insiders_ingest::{InputOptions, Loaded, read_path};
use std::io::Write;
use std::path::Path;

/// One invoice line in neutral form.
#[derive(Debug, Clone)]
struct Row {
    invoice: String,
    stock: String,
    desc: String,
    qty: i64,
    ts: i64,
    price: String,
    customer: Option<u32>,
    country: String,
}

fn ts(y: i32, m: u32, d: u32, h: u32, mi: u32) -> i64 {
    date::timestamp(y, m, d, h, mi, 0).unwrap()
}

/// A small hand-made sample covering quotes, commas, returns, id-less invoices and a
/// non-ASCII description.
fn sample() -> Vec<Row> {
    let r =
        |inv: &str, st: &str, de: &str, q: i64, t: i64, p: &str, c: Option<u32>, co: &str| Row {
            invoice: inv.into(),
            stock: st.into(),
            desc: de.into(),
            qty: q,
            ts: t,
            price: p.into(),
            customer: c,
            country: co.into(),
        };
    vec![
        r(
            "536365",
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            6,
            ts(2010, 12, 1, 8, 26),
            "2.55",
            Some(17850),
            "United Kingdom",
        ),
        r(
            "536365",
            "71053",
            "WHITE METAL LANTERN",
            6,
            ts(2010, 12, 1, 8, 26),
            "3.39",
            Some(17850),
            "United Kingdom",
        ),
        r(
            "536381",
            "82567",
            "AIRLINE LOUNGE,METAL SIGN",
            2,
            ts(2010, 12, 1, 9, 41),
            "2.1",
            Some(15311),
            "United Kingdom",
        ),
        r(
            "536477",
            "22041",
            "RECORD FRAME 7\" SINGLE SIZE ",
            48,
            ts(2010, 12, 1, 12, 27),
            "2.1",
            Some(16210),
            "United Kingdom",
        ),
        r(
            "536544",
            "21773",
            "DECORATIVE ROSE BATHROOM BOTTLE",
            1,
            ts(2010, 12, 1, 14, 32),
            "2.51",
            None,
            "United Kingdom",
        ),
        r(
            "536544",
            "21774",
            "DECORATIVE CATS BATHROOM BOTTLE",
            2,
            ts(2010, 12, 1, 14, 32),
            "2.51",
            None,
            "United Kingdom",
        ),
        r(
            "C536379",
            "D",
            "Discount",
            -1,
            ts(2010, 12, 1, 9, 41),
            "27.5",
            Some(14527),
            "United Kingdom",
        ),
        r(
            "536379",
            "22633",
            "HAND WARMER UNION JACK",
            6,
            ts(2010, 12, 1, 9, 41),
            "1.85",
            Some(14527),
            "United Kingdom",
        ),
        r(
            "C536383",
            "35004C",
            "SET OF 3 COLOURED  FLYING DUCKS",
            -1,
            ts(2010, 12, 2, 9, 49),
            "4.65",
            Some(15311),
            "United Kingdom",
        ),
        r(
            "536390",
            "22941",
            "CAFÉ CHRISTMAS LIGHTS",
            12,
            ts(2010, 12, 3, 10, 19),
            "8.5",
            Some(17511),
            "France",
        ),
        r(
            "536390",
            "POST",
            "POSTAGE",
            1,
            ts(2010, 12, 3, 10, 19),
            "18",
            Some(17511),
            "France",
        ),
        r(
            "537001",
            "22633",
            "HAND WARMER UNION JACK",
            24,
            ts(2011, 1, 5, 11, 0),
            "1.85",
            Some(17850),
            "United Kingdom",
        ),
        r(
            "537002",
            "21730",
            "GLASS STAR FROSTED T-LIGHT HOLDER",
            3,
            ts(2011, 2, 6, 16, 5),
            "4.25",
            Some(15311),
            "Unspecified",
        ),
        r(
            "537003",
            "21730",
            "GLASS STAR FROSTED T-LIGHT HOLDER",
            8,
            ts(2011, 3, 7, 7, 45),
            "4.25",
            Some(15311),
            "United Kingdom",
        ),
        r(
            "537004",
            "22752",
            "SET 7 BABUSHKA NESTING BOXES",
            2,
            ts(2011, 3, 7, 8, 0),
            "0.00",
            Some(14527),
            "United Kingdom",
        ),
        r(
            "537005",
            "22752",
            "SET 7 BABUSHKA NESTING BOXES",
            2,
            ts(2011, 12, 9, 12, 50),
            "7.65",
            None,
            "Germany",
        ),
        r(
            "537006",
            "84406B",
            "CREAM CUPID HEARTS COAT HANGER",
            8,
            ts(2011, 12, 9, 12, 50),
            "2.75",
            Some(12346),
            "United Kingdom",
        ),
    ]
}

fn quote(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(
    rows: &[Row],
    path: &Path,
    header: &str,
    fmt_date: impl Fn(i64) -> String,
    fmt_cust: impl Fn(Option<u32>) -> String,
    trailing: bool,
    latin1: bool,
) {
    let mut s = String::from(header);
    s.push('\n');
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{}{}\n",
            r.invoice,
            r.stock,
            quote(&r.desc),
            r.qty,
            fmt_date(r.ts),
            r.price,
            fmt_cust(r.customer),
            r.country,
            if trailing { "," } else { "" }
        ));
    }
    let bytes: Vec<u8> = if latin1 {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect()
    } else {
        s.into_bytes()
    };
    std::fs::write(path, bytes).unwrap();
}

fn ours_date(t: i64) -> String {
    date::format_timestamp(t)
}

fn kaggle_date(t: i64) -> String {
    let (y, m, d) = date::civil_from_days(date::day_of(t));
    let s = t.rem_euclid(DAY);
    format!("{m}/{d}/{y} {}:{:02}", s / 3600, (s / 60) % 60)
}

fn course_date(t: i64) -> String {
    let (y, m, d) = date::civil_from_days(date::day_of(t) + 2190);
    const M: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{d}-{}-{:02}", M[m as usize - 1], y % 100)
}

fn cust_float(c: Option<u32>) -> String {
    c.map_or(String::new(), |c| format!("{c}.0"))
}

fn cust_int(c: Option<u32>) -> String {
    c.map_or(String::new(), |c| c.to_string())
}

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";

fn write_xlsx(rows: &[Row], path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (j, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, j as u16, h).unwrap();
    }
    let fmt = Format::new().set_num_format("m/d/yyyy h:mm");
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        match r.invoice.parse::<f64>() {
            Ok(v) => ws.write_number(row, 0, v).unwrap(),
            Err(_) => ws.write_string(row, 0, &r.invoice).unwrap(),
        };
        match r.stock.parse::<f64>() {
            Ok(v) => ws.write_number(row, 1, v).unwrap(),
            Err(_) => ws.write_string(row, 1, &r.stock).unwrap(),
        };
        ws.write_string(row, 2, &r.desc).unwrap();
        ws.write_number(row, 3, r.qty as f64).unwrap();
        let (y, m, d) = date::civil_from_days(date::day_of(r.ts));
        let s = r.ts.rem_euclid(DAY);
        let dt = ExcelDateTime::from_ymd(y as u16, m as u8, d as u8)
            .unwrap()
            .and_hms((s / 3600) as u16, ((s / 60) % 60) as u8, 0)
            .unwrap();
        ws.write_datetime_with_format(row, 4, &dt, &fmt).unwrap();
        ws.write_number(row, 5, r.price.parse::<f64>().unwrap())
            .unwrap();
        if let Some(c) = r.customer {
            ws.write_number(row, 6, f64::from(c)).unwrap();
        }
        ws.write_string(row, 7, &r.country).unwrap();
    }
    wb.save(path).unwrap();
}

/// Per-line fingerprint of what features depend on (dates truncated to the day).
type Fingerprint = (String, String, i64, i64, u64, Option<u32>, String);

fn fingerprint(l: &Loaded) -> Vec<Fingerprint> {
    let t = &l.lines;
    (0..t.len())
        .map(|i| {
            (
                t.invoices.resolve(t.invoice(i)).to_string(),
                t.stock_codes.resolve(t.stock_code(i)).to_string(),
                t.quantity(i),
                date::day_of(t.timestamp(i)),
                t.unit_price(i).to_bits(),
                t.customer_id(i),
                t.countries.resolve(t.country(i)).to_string(),
            )
        })
        .collect()
}

fn all_formats(rows: &[Row], dir: &Path) -> Vec<(String, Loaded)> {
    let opts = InputOptions::default();
    let mut out = Vec::new();
    let p = dir.join("ours.csv");
    write_csv(rows, &p, HEADER, ours_date, cust_float, false, false);
    out.push(("ours".to_string(), read_path(&p, &opts).unwrap()));
    let gz = dir.join("ours.csv.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&std::fs::read(&p).unwrap()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    out.push(("gzip".to_string(), read_path(&gz, &opts).unwrap()));
    let p = dir.join("data.csv");
    write_csv(rows, &p, HEADER, kaggle_date, cust_int, false, true);
    out.push(("kaggle".to_string(), read_path(&p, &opts).unwrap()));
    let p = dir.join("Ecommerce.csv");
    write_csv(
        rows,
        &p,
        &format!("{HEADER},"),
        course_date,
        cust_int,
        true,
        false,
    );
    out.push(("course".to_string(), read_path(&p, &opts).unwrap()));
    let p = dir.join("online_retail_II.csv");
    write_csv(
        rows,
        &p,
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country",
        ours_date,
        cust_float,
        false,
        false,
    );
    out.push(("retail-ii".to_string(), read_path(&p, &opts).unwrap()));
    let p = dir.join("Online Retail.xlsx");
    write_xlsx(rows, &p);
    out.push(("xlsx".to_string(), read_path(&p, &opts).unwrap()));
    out
}

#[test]
fn every_published_format_reads_to_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    let rows = sample();
    let loaded = all_formats(&rows, dir.path());
    let reference = fingerprint(&loaded[0].1);
    assert_eq!(reference.len(), rows.len());
    for (name, l) in &loaded {
        assert_eq!(
            fingerprint(l),
            reference,
            "format {name} ({})",
            l.report.source
        );
        assert_eq!(l.report.rows_read, rows.len() as u64);
    }
    let sources: Vec<&str> = loaded
        .iter()
        .map(|(_, l)| l.report.source.as_str())
        .collect();
    assert_eq!(
        sources,
        [
            "UCI Online Retail (CSV copy)",
            "UCI Online Retail (CSV copy)",
            "Kaggle copy (data.csv)",
            "course copy (Ecommerce.csv)",
            "Online Retail II",
            "UCI Online Retail (xlsx)"
        ]
    );
    // Time of day survives where the format has it.
    let t0 = loaded[0].1.lines.timestamp(0);
    assert_eq!(date::format_timestamp(t0), "2010-12-01 08:26:00");
    assert_eq!(loaded[2].1.lines.timestamp(0), t0);
    assert_eq!(loaded[5].1.lines.timestamp(0), t0);
    // The Latin-1 description decodes to the same text.
    let k = &loaded[2].1.lines;
    assert!(
        k.descriptions
            .strings()
            .any(|d| d == "CAFÉ CHRISTMAS LIGHTS")
    );
    assert_eq!(loaded[3].1.report.date_offset_days, -2190);
}

#[test]
fn real_data_sample_reads_the_same_in_every_format() {
    let Some(path) = insiders_fixtures::real_data() else {
        return;
    };
    let full = read_path(&path, &InputOptions::default()).unwrap();
    let t = &full.lines;
    // Every 50th line of the real data: ~10,800 lines with all their quirks.
    let rows: Vec<Row> = (0..t.len())
        .step_by(50)
        .map(|i| Row {
            invoice: t.invoices.resolve(t.invoice(i)).into(),
            stock: t.stock_codes.resolve(t.stock_code(i)).into(),
            desc: t.descriptions.resolve(t.description(i)).into(),
            qty: t.quantity(i),
            ts: t.timestamp(i),
            price: format!("{}", t.unit_price(i)),
            customer: t.customer_id(i),
            country: t.countries.resolve(t.country(i)).into(),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let loaded = all_formats(&rows, dir.path());
    let reference = fingerprint(&loaded[0].1);
    assert_eq!(reference.len(), rows.len());
    for (name, l) in &loaded {
        assert_eq!(fingerprint(l), reference, "format {name}");
    }
}

/// Several files are one table in the order given; a pattern matches in name order; the
/// memory guard stops a read that would hold more than its budget, naming the setting.
#[test]
#[allow(clippy::unwrap_used)]
fn several_files_are_one_table_and_the_memory_guard_stops_a_read() {
    use insiders_ingest::{
        IngestError, InputOptions, Transactions, expand_pattern, read_path, read_paths,
    };
    let head =
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
    let a = "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n536366,22633,HAND,6,2010-12-01 08:28:00,1.85,,United Kingdom\n";
    let b = "C536379,D,Discount,-1,2011-01-01 09:41:00,27.5,14527.0,United Kingdom\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("2010-12.csv"), format!("{head}{a}")).unwrap();
    std::fs::write(dir.path().join("2011-01.csv"), format!("{head}{b}")).unwrap();
    std::fs::write(dir.path().join("all.txt"), format!("{head}{a}{b}")).unwrap();
    let files = expand_pattern(&dir.path().join("20*.csv")).unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[0].ends_with("2010-12.csv"));
    let opts = InputOptions::default();
    let both = read_paths(&files, &opts).unwrap();
    let one = read_path(&dir.path().join("all.txt"), &opts).unwrap();
    assert_eq!(both.report.rows_read, 3);
    assert_eq!(
        both.lines.column(Transactions::customer_id),
        one.lines.column(Transactions::customer_id)
    );
    assert_eq!(
        both.lines.column(Transactions::timestamp),
        one.lines.column(Transactions::timestamp)
    );
    assert!(both.report.path.contains("2 files"));
    let none = expand_pattern(&dir.path().join("1999-*.csv")).unwrap_err();
    assert!(none.to_string().contains("no file matches"), "{none}");

    // A budget of 1 KiB: the second file would push the lines past it.
    let tight = InputOptions {
        memory_budget: Some((1024, 2048)),
        ..InputOptions::default()
    };
    let e = read_paths(&files, &tight).unwrap_err();
    assert!(matches!(e, IngestError::Memory { .. }), "{e}");
    assert!(e.to_string().contains("[limits] memory"), "{e}");
}
