//! The aggregation as a DataFusion plan: the invoice lines read (CSV, gzip CSV, Parquet; a
//! file, a list or a glob), parsed by the local reader's rules ([`crate::udf`]), cleaned by
//! the rules of `[cleaning]` with the row accounting, and aggregated into the 11 features, as
//! SQL over listing tables. The same SQL runs in this process (DataFusion) or on a Ballista
//! cluster; only the small results (a few counts, one row per customer) come back.
//!
//! The order of first appearance of the anonymous invoices (which numbers their synthetic
//! customer ids) is defined here as the order of their earliest line's timestamp, ties broken
//! by the invoice number (byte order): it depends neither on how the input is split into files
//! nor on which executor reads which part. On input in time order (the published copies, the
//! synthetic shop, monthly files) it is the local reader's order of first appearance in the
//! file; see docs/distributed.md.

use crate::compute::Compute;
use crate::error::DistributedError;
use crate::input::{
    Kind, RAW, bad_detail, check_input_options, csv_options, describe_source, first_date, kind_of,
    map_header, probe,
};
use crate::sql::{floats, in_list, ints, opt_int, query, quote_ident, quote_str, strings};
use crate::udf;
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use insiders_features::{
    ALL_FEATURES, CleaningOptions, CustomerAccount, CustomerTable, FeaturesError, MissingCustomer,
    RowAccount, SYNTHETIC_ID_START,
};
use insiders_ingest::date::{self, DateFormat};
use insiders_ingest::{InputOptions, OnBadRow, ReadReport};
use std::collections::BTreeMap;
use std::path::Path;

/// What the plan gives back: the same four things the local path gives.
#[derive(Debug, Clone)]
pub struct PlanOutput {
    /// What the read found out (rows read, rejected rows by reason, date format...).
    pub report: ReadReport,
    /// Where every row went.
    pub account: RowAccount,
    /// One row per customer with purchases, ascending id, the 11 features.
    pub table: CustomerTable,
    /// The last day (since 1970-01-01) in the kept rows, returns included.
    pub last_day: i64,
}

/// Runs the plan on `ctx` (a DataFusion or a Ballista session with the functions of
/// [`udf`] registered) over `inputs` (files or globs).
pub async fn run_plan(
    ctx: &SessionContext,
    inputs: &[String],
    input: &InputOptions,
    cleaning: &CleaningOptions,
    compute: &Compute,
) -> Result<PlanOutput, DistributedError> {
    check_input_options(input, compute)?;
    if inputs.is_empty() {
        return Err(DistributedError::Input {
            path: "--data".into(),
            message: "no input file".into(),
        });
    }
    if !cleaning.min_unit_price.is_finite() {
        return Err(FeaturesError::Option {
            key: "min_unit_price".into(),
            message: "must be a finite number".into(),
        }
        .into());
    }
    let as_of = match &cleaning.as_of {
        None => None,
        Some(s) => Some(
            date::parse_day(s).ok_or_else(|| FeaturesError::Option {
                key: "as_of".into(),
                message: format!("`{s}` is not a date YYYY-MM-DD"),
            })? * date::DAY,
        ),
    };
    // 1. One listing table per file; the first one's header names the columns. Patterns are
    // expanded here, by the local reader's rule (`*` and `?` in the file name, name order):
    // Ballista 55 receives a listing table's path without its glob and would list the whole
    // folder (measured: a `shop-*.csv` read the `shop.truth.csv` beside it).
    let given = inputs;
    let mut files = Vec::new();
    for i in given {
        let found =
            insiders_ingest::expand_pattern(Path::new(i)).map_err(|e| DistributedError::Input {
                path: i.clone(),
                message: e.to_string(),
            })?;
        files.extend(found.into_iter().map(|p| p.display().to_string()));
    }
    let inputs = &files[..];
    let first = &inputs[0];
    let header = probe(first, kind_of(first)).await?;
    let names = map_header(&header, input, first, compute)?;
    let mut selects = Vec::new();
    for (n, path) in inputs.iter().enumerate() {
        let kind = kind_of(path);
        if kind == Kind::CsvGz && matches!(compute, Compute::Ballista { .. }) {
            // Measured with Ballista 55: the scan reaches the executors without its gzip
            // compression, which then read the compressed bytes as text.
            return Err(DistributedError::Unsupported {
                key: "--data".into(),
                compute: compute.to_string(),
                message: format!(
                    "{path}: gzip CSV is not read correctly by Ballista 55's executors (the scan loses its compression on the way); use plain CSV or Parquet files, or --compute datafusion"
                ),
            });
        }
        let table = format!("insiders_input_{n}");
        let reg = |e: datafusion::error::DataFusionError| DistributedError::Input {
            path: path.clone(),
            message: e.to_string(),
        };
        match kind {
            Kind::Parquet => ctx
                .register_parquet(table.as_str(), path, ParquetReadOptions::default())
                .await
                .map_err(reg)?,
            Kind::Csv | Kind::CsvGz => {
                // Every column as text: the plan's functions parse them by the local rules.
                let h = if n == 0 {
                    header.clone()
                } else {
                    probe(path, kind).await?
                };
                if h != header {
                    return Err(DistributedError::Input {
                        path: path.clone(),
                        message: format!(
                            "its header ({}) differs from the first input's ({}): all inputs must have the same columns",
                            h.join(","),
                            header.join(",")
                        ),
                    });
                }
                let schema = Schema::new(
                    h.iter()
                        .map(|c| Field::new(c, DataType::Utf8, true))
                        .collect::<Vec<_>>(),
                );
                ctx.register_csv(table.as_str(), path, csv_options(kind, Some(&schema)))
                    .await
                    .map_err(reg)?
            }
        }
        let cols: Vec<String> = names
            .iter()
            .zip(RAW)
            .map(|(src, alias)| format!("CAST({} AS VARCHAR) AS {alias}", quote_ident(src)))
            .collect();
        selects.push(format!("SELECT {} FROM {table}", cols.join(", ")));
    }
    // 2. The date format: configured, or detected from the first row, as the local reader.
    let fmt = match &input.date_format {
        Some(spec) => DateFormat::parse_spec(spec).map_err(|m| DistributedError::Input {
            path: "input.date_format".into(),
            message: m,
        })?,
        None => {
            let sample = first_date(first, kind_of(first), &header, &names[3]).await?;
            sample
                .as_deref()
                .and_then(date::detect)
                .ok_or_else(|| DistributedError::Input {
                    path: first.clone(),
                    message: format!(
                        "cannot detect the date format of the {} column from `{}`; set input.date_format",
                        names[3],
                        sample.unwrap_or_default()
                    ),
                })?
        }
    };
    let spec = fmt.spec().to_string();
    let offset_days = input
        .date_offset_days
        .unwrap_or(if spec == "%d-%b-%y" { -2190 } else { 0 });
    let parsed = format!(
        "raw AS ({union}),
parsed0 AS (SELECT {trim}(inv) AS inv, {trim}(code) AS code, {trim}(country_raw) AS country,
  {qty}(qty_raw) AS qty, {ts}(date_raw, {spec_lit}, {offset}) AS ts, {price}(price_raw) AS price,
  {cust}(cust_raw) AS cust, qty_raw, date_raw, price_raw, cust_raw FROM raw),
parsed AS (SELECT *, CASE WHEN qty IS NULL THEN 'bad quantity' WHEN ts IS NULL THEN 'bad date'
  WHEN price IS NULL THEN 'bad unit price' WHEN cust IS NULL THEN 'bad customer id'
  WHEN inv = '' THEN 'missing invoice' END AS bad FROM parsed0)",
        union = selects.join(" UNION ALL "),
        trim = udf::TRIM,
        qty = udf::QUANTITY,
        ts = udf::TIMESTAMP,
        price = udf::PRICE,
        cust = udf::CUSTOMER,
        spec_lit = quote_str(&spec),
        offset = offset_days * date::DAY,
    );
    // 3. Rows read, malformed rows by reason, the real customers, the anonymous invoices.
    let stats = query(
        ctx,
        &format!(
            "WITH {parsed} SELECT bad, COUNT(*) AS n,
  MAX(CASE WHEN cust >= 0 THEN cust END) AS max_real,
  COUNT(DISTINCT CASE WHEN cust >= 0 THEN cust END) AS n_real,
  COUNT(DISTINCT CASE WHEN cust = -1 THEN inv END) AS n_anon
FROM parsed GROUP BY bad"
        ),
        compute,
    )
    .await?;
    let source = if inputs.len() > 1 {
        format!(
            "{} files: {} .. {}",
            inputs.len(),
            inputs[0],
            inputs[inputs.len() - 1]
        )
    } else {
        inputs[0].clone()
    };
    let mut rows_read = 0u64;
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    let (mut max_real, mut n_real, mut n_anon) = (None, 0u64, 0u64);
    for b in &stats {
        let (bad, n, mr, nr, na) = (
            strings(b, "bad")?,
            ints(b, "n")?,
            ints(b, "max_real")?,
            ints(b, "n_real")?,
            ints(b, "n_anon")?,
        );
        for i in 0..b.num_rows() {
            rows_read += n.value(i) as u64;
            if bad.is_null(i) {
                max_real = opt_int(&mr, i);
                n_real = nr.value(i) as u64;
                n_anon = na.value(i) as u64;
            } else {
                *rejected.entry(bad.value(i).to_string()).or_insert(0) += n.value(i) as u64;
            }
        }
    }
    if rows_read == 0 {
        return Err(DistributedError::Input {
            path: source,
            message: "no data rows".into(),
        });
    }
    let n_bad: u64 = rejected.values().sum();
    if n_bad > 0 && input.on_bad_row == OnBadRow::Error {
        let ex = query(
            ctx,
            &format!(
                "WITH {parsed} SELECT bad, qty_raw, date_raw, price_raw, cust_raw FROM parsed WHERE bad IS NOT NULL LIMIT 1"
            ),
            compute,
        )
        .await?;
        let b = ex.iter().find(|b| b.num_rows() > 0);
        let (column, detail) = match b {
            Some(b) => {
                let r = strings(b, "bad")?.value(0).to_string();
                let (k, raw_col) = match r.as_str() {
                    "bad quantity" => (2, "qty_raw"),
                    "bad date" => (3, "date_raw"),
                    "bad unit price" => (4, "price_raw"),
                    "bad customer id" => (5, "cust_raw"),
                    _ => (0, "qty_raw"),
                };
                let raw = strings(b, raw_col)?;
                let raw = if raw.is_null(0) { "" } else { raw.value(0) };
                (names[k].clone(), bad_detail(&r, raw, &spec))
            }
            None => (String::new(), String::new()),
        };
        return Err(DistributedError::BadRow {
            path: source,
            column,
            detail,
            count: n_bad,
        });
    }
    // 4. Synthetic ids: from the configured start, or above every real id.
    let synthetic = cleaning.missing_customer == MissingCustomer::Synthetic;
    let n_anon = if synthetic { n_anon } else { 0 };
    let start: Option<u32> = match cleaning.synthetic_id_start {
        Some(s) => Some(s),
        None => match max_real {
            Some(m) if m >= i64::from(SYNTHETIC_ID_START) => {
                u32::try_from(m).ok().and_then(|m| m.checked_add(1))
            }
            _ => Some(SYNTHETIC_ID_START),
        },
    };
    if n_anon > 0 {
        let fits = start.is_some_and(|s| u64::from(s) + n_anon - 1 <= u64::from(u32::MAX));
        if !fits {
            return Err(FeaturesError::Option {
                key: "synthetic_id_start".into(),
                message: "synthetic ids overflow u32 (set cleaning.missing_customer = \"drop\", or a lower start)".into(),
            }
            .into());
        }
    }
    let start = start.unwrap_or(u32::MAX);
    let end = u64::from(start) + n_anon.saturating_sub(1);
    if n_anon > 0 && cleaning.synthetic_id_start.is_some() {
        let clash = query(
            ctx,
            &format!(
                "WITH {parsed} SELECT MIN(cust) AS id FROM parsed WHERE bad IS NULL AND cust >= {start} AND cust <= {end}"
            ),
            compute,
        )
        .await?;
        if let Some(id) = clash.iter().find_map(|b| {
            ints(b, "id")
                .ok()
                .and_then(|a| (b.num_rows() > 0).then(|| opt_int(&a, 0)).flatten())
        }) {
            return Err(FeaturesError::SyntheticIdClash {
                start,
                end: end as u32,
                id: id as u32,
            }
            .into());
        }
    }
    // 5. The buckets: a row is counted under the first rule that drops it.
    let lines = if synthetic {
        format!(
            "anon AS (SELECT inv, MIN(ts) AS first_ts FROM parsed WHERE bad IS NULL AND cust = -1 GROUP BY inv),
ids AS (SELECT inv, CAST({start} + ROW_NUMBER() OVER (ORDER BY first_ts, inv) - 1 AS BIGINT) AS sid FROM anon),
lines AS (SELECT p.inv, p.code, p.country, p.qty, p.ts, p.price,
  CASE WHEN p.cust >= 0 THEN p.cust ELSE ids.sid END AS c
  FROM ids RIGHT JOIN parsed p ON p.inv = ids.inv AND p.cust = -1 WHERE p.bad IS NULL)"
        )
    } else {
        "lines AS (SELECT inv, code, country, qty, ts, price, CASE WHEN cust >= 0 THEN cust END AS c FROM parsed WHERE bad IS NULL)".to_string()
    };
    let as_of_rule = match as_of {
        Some(t) => format!("ts >= {t}"),
        None => "FALSE".into(),
    };
    let bad_customers: Vec<String> = cleaning
        .bad_customers
        .iter()
        .map(|c| c.to_string())
        .collect();
    let bad_rule = if bad_customers.is_empty() {
        "FALSE".to_string()
    } else {
        format!("c IN ({})", bad_customers.join(", "))
    };
    let bucketed = format!(
        "{parsed}, {lines},
b AS (SELECT c, inv, code, qty, price, ts,
  (ts - (((ts % 86400) + 86400) % 86400)) / 86400 AS day,
  CASE WHEN c IS NULL THEN 0 WHEN {as_of_rule} THEN 1 WHEN price < CAST({min_price} AS DOUBLE) THEN 2
    WHEN {codes} THEN 3 WHEN {countries} THEN 4 WHEN {bad_rule} THEN 5 WHEN qty >= 0 THEN 6 ELSE 7 END AS bucket
  FROM lines)",
        min_price = quote_str(&format!("{:?}", cleaning.min_unit_price)),
        codes = in_list("code", &cleaning.excluded_stock_codes),
        countries = in_list("country", &cleaning.excluded_countries),
    );
    let counts = query(
        ctx,
        &format!("WITH {bucketed} SELECT bucket, COUNT(*) AS n, MAX(CASE WHEN bucket >= 6 THEN ts END) AS last_ts FROM b GROUP BY bucket"),
        compute,
    )
    .await?;
    let mut per_bucket = [0u64; 8];
    let mut last_ts: Option<i64> = None;
    for b in &counts {
        let (k, n, t) = (ints(b, "bucket")?, ints(b, "n")?, ints(b, "last_ts")?);
        for i in 0..b.num_rows() {
            per_bucket[k.value(i) as usize] += n.value(i) as u64;
            if let Some(t) = opt_int(&t, i) {
                last_ts = Some(last_ts.map_or(t, |l: i64| l.max(t)));
            }
        }
    }
    let last_day = last_ts.map_or(0, date::day_of);
    // 6. The features: per customer, over the kept rows.
    let feats = query(
        ctx,
        &format!(
            "WITH {bucketed} SELECT c,
  SUM(CASE WHEN bucket = 6 THEN CAST(qty AS DOUBLE) * price END) AS gross,
  SUM(CASE WHEN bucket = 6 THEN 1 ELSE 0 END) AS n_lines,
  SUM(CASE WHEN bucket = 6 THEN qty ELSE 0 END) AS items,
  SUM(CASE WHEN bucket = 7 THEN -qty ELSE 0 END) AS returned,
  COUNT(DISTINCT CASE WHEN bucket = 6 THEN inv END) AS n_inv,
  COUNT(DISTINCT CASE WHEN bucket = 6 THEN code END) AS n_codes,
  MIN(CASE WHEN bucket = 6 THEN day END) AS first_buy,
  MAX(CASE WHEN bucket = 6 THEN day END) AS last_buy,
  COUNT(DISTINCT day) AS n_days, MIN(day) AS min_day, MAX(day) AS max_day
FROM b WHERE bucket >= 6 GROUP BY c"
        ),
        compute,
    )
    .await?;
    let mut rows: Vec<(u32, [f64; 11])> = Vec::new();
    let mut after_filter = 0u64;
    for b in &feats {
        let c = ints(b, "c")?;
        let gross = floats(b, "gross")?;
        let (n_lines, items, returned) =
            (ints(b, "n_lines")?, ints(b, "items")?, ints(b, "returned")?);
        let (n_inv, n_codes) = (ints(b, "n_inv")?, ints(b, "n_codes")?);
        let (first_buy, last_buy) = (ints(b, "first_buy")?, ints(b, "last_buy")?);
        let (n_days, min_day, max_day) =
            (ints(b, "n_days")?, ints(b, "min_day")?, ints(b, "max_day")?);
        for i in 0..b.num_rows() {
            after_filter += 1;
            let lines = n_lines.value(i);
            if lines == 0 {
                continue;
            }
            let g = gross.value(i);
            let ninv = n_inv.value(i) as f64;
            let it = items.value(i) as f64;
            let (fb, lb) = (first_buy.value(i), last_buy.value(i));
            let nd = n_days.value(i);
            let avg_recency = if nd > 1 {
                (max_day.value(i) - min_day.value(i)) as f64 / (nd - 1) as f64
            } else {
                f64::NAN
            };
            rows.push((
                c.value(i) as u32,
                [
                    g,
                    (last_day - lb) as f64,
                    ninv,
                    it,
                    lines as f64,
                    g / lines as f64,
                    avg_recency,
                    ninv / ((lb - fb) as f64 + 1.0),
                    returned.value(i) as f64,
                    it / ninv,
                    n_codes.value(i) as f64 / ninv,
                ],
            ));
        }
    }
    rows.sort_unstable_by_key(|r| r.0);
    // 7. The accounting, bucket by bucket as the local path lists it (every rule applies:
    // the plan requires their columns).
    let buckets =
        insiders_features::account_buckets(&rejected, &per_bucket, &[true; 8], true, rows_read)?;
    let rows_kept = per_bucket[6] + per_bucket[7];
    if rows.is_empty() {
        return Err(FeaturesError::NoCustomers { rows: rows_kept }.into());
    }
    let with_purchases = rows.len() as u64;
    let account = RowAccount {
        source: source.clone(),
        rows_read,
        buckets,
        rows_kept,
        customers: CustomerAccount {
            raw_customers_with_id: n_real,
            new_ids_assigned: n_anon,
            synthetic_id_start: (n_anon > 0).then_some(start),
            customers_after_id_assignment: n_real + n_anon,
            customers_after_filter: after_filter,
            customers_with_purchases: with_purchases,
            customers_only_returns_dropped: after_filter - with_purchases,
        },
        not_applied: Vec::new(),
        unavailable_features: Vec::new(),
    };
    let mut values: Vec<Vec<f64>> = (0..11).map(|_| Vec::with_capacity(rows.len())).collect();
    for (_, f) in &rows {
        for (j, v) in f.iter().enumerate() {
            values[j].push(*v);
        }
    }
    let table = CustomerTable {
        customer_id: rows.iter().map(|r| r.0).collect(),
        columns: ALL_FEATURES.iter().map(|s| s.to_string()).collect(),
        values,
        unavailable: Vec::new(),
    };
    // Described as the local reader describes its input (Parquet: "(Parquet)" and its
    // encoding); the date format is the one the plan parsed the timestamps' text with.
    let parquet = inputs.iter().all(|i| kind_of(i) == Kind::Parquet);
    let report = ReadReport {
        path: source,
        source: if parquet {
            format!("{} (Parquet)", describe_source(&names, &spec))
        } else {
            describe_source(&names, &spec)
        },
        date_format: spec,
        encoding: if parquet {
            "Parquet (UTF-8)".into()
        } else {
            "UTF-8 (DataFusion's CSV reader)".into()
        },
        date_offset_days: offset_days,
        rows_read,
        rejected,
        absent_columns: Vec::new(),
        amount_column: None,
        derived_invoices: None,
        rejects: Vec::new(),
    };
    Ok(PlanOutput {
        report,
        account,
        table,
        last_day,
    })
}
