//! Recognising the published copy: the logical [`Field`]s and the header names they go by,
//! the column map of a header (with configured overrides), the date format (configured or
//! detected from a sample), the course copy's date offset, and the name of the source.

use crate::date::{self, DateFormat};
use crate::error::IngestError;
use crate::options::InputOptions;
use std::path::Path;

/// The logical columns of an invoice line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Invoice,
    StockCode,
    Description,
    Quantity,
    InvoiceDate,
    UnitPrice,
    CustomerId,
    Country,
}

impl Field {
    /// All fields, in the order of the published header.
    pub const ALL: [Field; 8] = [
        Field::Invoice,
        Field::StockCode,
        Field::Description,
        Field::Quantity,
        Field::InvoiceDate,
        Field::UnitPrice,
        Field::CustomerId,
        Field::Country,
    ];

    /// Header names recognised for this field (case-insensitive), in the published copies.
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            Field::Invoice => &["InvoiceNo", "Invoice"],
            Field::StockCode => &["StockCode"],
            Field::Description => &["Description"],
            Field::Quantity => &["Quantity"],
            Field::InvoiceDate => &["InvoiceDate"],
            Field::UnitPrice => &["UnitPrice", "Price"],
            Field::CustomerId => &["CustomerID", "Customer ID"],
            Field::Country => &["Country"],
        }
    }

    /// The canonical (UCI) name.
    pub fn canonical(self) -> &'static str {
        self.candidates()[0]
    }

    fn required(self) -> bool {
        self != Field::Description
    }
}

/// Column positions of the logical fields in a header.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    pub idx: [Option<usize>; 8],
    pub names: [String; 8],
}

pub(crate) fn map_columns(
    path: &Path,
    header: &[String],
    opts: &InputOptions,
) -> Result<ColumnMap, IngestError> {
    let mut idx = [None; 8];
    let mut names: [String; 8] = Default::default();
    let c = &opts.columns;
    let overrides = [
        &c.invoice,
        &c.stock_code,
        &c.description,
        &c.quantity,
        &c.invoice_date,
        &c.unit_price,
        &c.customer_id,
        &c.country,
    ];
    for (k, field) in Field::ALL.iter().enumerate() {
        let wanted: Vec<&str> = match overrides[k] {
            Some(name) => vec![name.as_str()],
            None => field.candidates().to_vec(),
        };
        let found = header.iter().position(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            wanted.iter().any(|w| h.eq_ignore_ascii_case(w))
        });
        match found {
            Some(i) => {
                idx[k] = Some(i);
                names[k] = header[i].trim().trim_start_matches('\u{feff}').to_string();
            }
            None if field.required() => {
                return Err(IngestError::MissingColumn {
                    path: path.to_path_buf(),
                    column: field.canonical(),
                    candidates: wanted
                        .iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    header: header.join(","),
                });
            }
            None => names[k] = field.canonical().to_string(),
        }
    }
    Ok(ColumnMap { idx, names })
}

/// Names the published copy from its header and date format.
pub(crate) fn describe_source(xlsx: bool, map: &ColumnMap, date_spec: &str) -> String {
    let ii =
        map.names[0].eq_ignore_ascii_case("Invoice") && map.names[5].eq_ignore_ascii_case("Price");
    if ii {
        return "Online Retail II".into();
    }
    if xlsx {
        return "UCI Online Retail (xlsx)".into();
    }
    match date_spec {
        "%m/%d/%Y %H:%M" => "Kaggle copy (data.csv)".into(),
        "%d-%b-%y" => "course copy (Ecommerce.csv)".into(),
        "%Y-%m-%d %H:%M:%S" => "UCI Online Retail (CSV copy)".into(),
        _ => "custom".into(),
    }
}

/// The date-offset rule: explicit, or -2190 days for the course copy.
pub(crate) fn date_offset(opts: &InputOptions, spec: &str) -> i64 {
    opts.date_offset_days
        .unwrap_or(if spec == "%d-%b-%y" { -2190 } else { 0 })
}

pub(crate) fn resolve_date_format(
    opts: &InputOptions,
    sample: Option<&str>,
) -> Result<Option<DateFormat>, IngestError> {
    if let Some(spec) = &opts.date_format {
        return DateFormat::parse_spec(spec)
            .map(Some)
            .map_err(IngestError::Config);
    }
    Ok(sample.and_then(date::detect))
}
