//! The inputs of the plan: which reader each file or glob needs, the settings of `[input]`
//! the plan supports, the header mapped to the fields as the local reader maps it, the date
//! format, and the local reader's names and messages (so that both paths say the same).

use crate::compute::Compute;
use crate::error::DistributedError;
use crate::sql::{quote_ident, strings};
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use insiders_ingest::read::Field as LineField;
use insiders_ingest::{Encoding, InputFormat, InputOptions};

/// How one input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Csv,
    CsvGz,
    Parquet,
}

pub(crate) fn kind_of(path: &str) -> Kind {
    let p = path.to_ascii_lowercase();
    if p.ends_with(".parquet") || p.ends_with(".pq") {
        Kind::Parquet
    } else if p.ends_with(".gz") {
        Kind::CsvGz
    } else {
        Kind::Csv
    }
}

/// The canonical names the plan's SQL gives the raw fields.
pub(crate) const RAW: [&str; 7] = [
    "inv",
    "code",
    "qty_raw",
    "date_raw",
    "price_raw",
    "cust_raw",
    "country_raw",
];
/// The logical fields the plan needs, in `RAW` order.
pub(crate) const NEEDED: [LineField; 7] = [
    LineField::Invoice,
    LineField::StockCode,
    LineField::Quantity,
    LineField::InvoiceDate,
    LineField::UnitPrice,
    LineField::CustomerId,
    LineField::Country,
];

pub(crate) fn unsupported(compute: &Compute, key: &str, message: &str) -> DistributedError {
    DistributedError::Unsupported {
        key: key.to_string(),
        compute: compute.to_string(),
        message: message.to_string(),
    }
}

/// The settings of `[input]` the plan cannot honour (it would read otherwise than `local`).
pub(crate) fn check_input_options(
    opts: &InputOptions,
    compute: &Compute,
) -> Result<(), DistributedError> {
    if opts.format == InputFormat::Xlsx || opts.sheet.is_some() {
        return Err(unsupported(
            compute,
            "input.format",
            "Excel workbooks are read by the local path only",
        ));
    }
    if opts.delimiter != insiders_ingest::Delimiter::Char(',') {
        return Err(unsupported(
            compute,
            "input.delimiter",
            "the plan reads comma-separated files",
        ));
    }
    if opts.encoding == Encoding::Latin1 {
        return Err(unsupported(
            compute,
            "input.encoding",
            "the plan reads UTF-8 (DataFusion's CSV reader)",
        ));
    }
    if opts.columns.amount.is_some() {
        return Err(unsupported(
            compute,
            "input.columns.amount",
            "the plan computes revenue as quantity x unit price",
        ));
    }
    Ok(())
}

/// Maps a header to the fields, as the local reader does (configured names first, then
/// the published names, case-insensitive, a byte-order mark ignored).
pub(crate) fn map_header(
    header: &[String],
    opts: &InputOptions,
    path: &str,
    compute: &Compute,
) -> Result<[String; 7], DistributedError> {
    let c = &opts.columns;
    let mut out: [String; 7] = Default::default();
    for (k, field) in NEEDED.iter().enumerate() {
        let configured = match field {
            LineField::Invoice => &c.invoice,
            LineField::StockCode => &c.stock_code,
            LineField::Quantity => &c.quantity,
            LineField::InvoiceDate => &c.invoice_date,
            LineField::UnitPrice => &c.unit_price,
            LineField::CustomerId => &c.customer_id,
            _ => &c.country,
        };
        let wanted: Vec<&str> = match configured {
            Some(n) => vec![n.as_str()],
            None => field.candidates().to_vec(),
        };
        let found = header.iter().find(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            wanted.iter().any(|w| h.eq_ignore_ascii_case(w))
        });
        match found {
            Some(h) => out[k] = h.clone(),
            None if configured.is_some()
                || matches!(
                    field,
                    LineField::CustomerId
                        | LineField::InvoiceDate
                        | LineField::Quantity
                        | LineField::UnitPrice
                ) =>
            {
                return Err(DistributedError::Input {
                    path: path.to_string(),
                    message: format!(
                        "no {} column (looked for {}; set {}); header: {}",
                        field.canonical(),
                        wanted
                            .iter()
                            .map(|w| format!("`{w}`"))
                            .collect::<Vec<_>>()
                            .join(" or "),
                        field.setting(),
                        header.join(",")
                    ),
                });
            }
            None => {
                return Err(unsupported(
                    compute,
                    field.setting(),
                    &format!(
                        "the plan needs the {} column (data without it is read by the local path, which then leaves its rule out)",
                        field.canonical()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Reads the header of an input with a plain in-process DataFusion context (the client must
/// see the input too: it lists the files and reads their schema).
pub(crate) async fn probe(path: &str, kind: Kind) -> Result<Vec<String>, DistributedError> {
    let ctx = SessionContext::new();
    let err = |e: datafusion::error::DataFusionError| DistributedError::Input {
        path: path.to_string(),
        message: e.to_string(),
    };
    let df = match kind {
        Kind::Parquet => ctx
            .read_parquet(path, ParquetReadOptions::default())
            .await
            .map_err(err)?,
        Kind::Csv | Kind::CsvGz => {
            let opts = csv_options(kind, None).schema_infer_max_records(1);
            ctx.read_csv(path, opts).await.map_err(err)?
        }
    };
    Ok(df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

pub(crate) fn csv_options<'a>(kind: Kind, schema: Option<&'a Schema>) -> CsvReadOptions<'a> {
    let mut o = CsvReadOptions::new().has_header(true);
    o = match kind {
        Kind::CsvGz => o
            .file_extension(".gz")
            .file_compression_type(FileCompressionType::GZIP),
        _ => o.file_extension(""),
    };
    if let Some(s) = schema {
        o = o.schema(s);
    }
    o
}

/// The first value of the date column: the first row of the first input, read in this
/// process by one partition (as the local reader detects the format from its first row).
pub(crate) async fn first_date(
    path: &str,
    kind: Kind,
    header: &[String],
    column: &str,
) -> Result<Option<String>, DistributedError> {
    let err = |e: datafusion::error::DataFusionError| DistributedError::Input {
        path: path.to_string(),
        message: e.to_string(),
    };
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    let schema = Schema::new(
        header
            .iter()
            .map(|c| Field::new(c, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    match kind {
        Kind::Parquet => ctx
            .register_parquet("first", path, ParquetReadOptions::default())
            .await
            .map_err(err)?,
        Kind::Csv | Kind::CsvGz => ctx
            .register_csv("first", path, csv_options(kind, Some(&schema)))
            .await
            .map_err(err)?,
    }
    let sql = format!(
        "SELECT CAST({} AS VARCHAR) AS d FROM first LIMIT 1",
        quote_ident(column)
    );
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err)?;
    for b in &batches {
        let s = strings(b, "d")?;
        if !s.is_empty() {
            return Ok((!s.is_null(0)).then(|| s.value(0).to_string()));
        }
    }
    Ok(None)
}

/// The local reader's message for a malformed value (so that both paths say the same).
pub(crate) fn bad_detail(reason: &str, raw: &str, spec: &str) -> String {
    match reason {
        "bad quantity" => format!("quantity `{raw}` is not an integer"),
        "bad date" => format!("date `{raw}` does not match the format `{spec}`"),
        "bad unit price" => format!("unit price `{raw}` is not a number"),
        "bad customer id" => match raw.trim().parse::<f64>() {
            Ok(_) => format!("customer id `{raw}` is not a non-negative integer"),
            Err(_) => format!("customer id `{raw}` is not a number"),
        },
        _ => "empty invoice number".to_string(),
    }
}

/// The name of the published copy, as the local reader names it.
pub(crate) fn describe_source(header: &[String; 7], spec: &str) -> String {
    let ii = header[0].trim().eq_ignore_ascii_case("Invoice")
        && header[4].trim().eq_ignore_ascii_case("Price");
    if ii {
        return "Online Retail II".into();
    }
    match spec {
        "%m/%d/%Y %H:%M" => "Kaggle copy (data.csv)".into(),
        "%d-%b-%y" => "course copy (Ecommerce.csv)".into(),
        "%Y-%m-%d %H:%M:%S" => "UCI Online Retail (CSV copy)".into(),
        _ => "custom".into(),
    }
}
