//! Recognising the published copy: the logical [`Field`]s and the header names they go by,
//! the column map of a header (with configured overrides; which columns are required and
//! which optional), the date format (configured or detected from a sample), the course
//! copy's date offset, and the name of the source.

use crate::date::{self, DateFormat};
use crate::error::IngestError;
use crate::options::InputOptions;
use crate::transactions::Present;
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
    /// The whole amount of a line (only when `input.columns.amount` is set).
    Amount,
}

impl Field {
    /// All fields, in the order of the published header, then the amount.
    pub const ALL: [Field; 9] = [
        Field::Invoice,
        Field::StockCode,
        Field::Description,
        Field::Quantity,
        Field::InvoiceDate,
        Field::UnitPrice,
        Field::CustomerId,
        Field::Country,
        Field::Amount,
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
            Field::Amount => &["Amount"],
        }
    }

    /// The canonical (UCI) name.
    pub fn canonical(self) -> &'static str {
        self.candidates()[0]
    }

    /// The setting that names this column (`input.columns.<key>`).
    pub fn setting(self) -> &'static str {
        match self {
            Field::Invoice => "input.columns.invoice",
            Field::StockCode => "input.columns.stock_code",
            Field::Description => "input.columns.description",
            Field::Quantity => "input.columns.quantity",
            Field::InvoiceDate => "input.columns.invoice_date",
            Field::UnitPrice => "input.columns.unit_price",
            Field::CustomerId => "input.columns.customer_id",
            Field::Country => "input.columns.country",
            Field::Amount => "input.columns.amount",
        }
    }
}

/// Column positions of the logical fields in a header (indexed as [`Field::ALL`]).
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    pub idx: [Option<usize>; 9],
    pub names: [String; 9],
}

impl ColumnMap {
    /// Which columns the header has.
    pub(crate) fn present(&self) -> Present {
        let has = |f: Field| self.idx[f as usize].is_some();
        Present {
            invoice: has(Field::Invoice),
            stock_code: has(Field::StockCode),
            description: has(Field::Description),
            quantity: has(Field::Quantity),
            unit_price: has(Field::UnitPrice),
            country: has(Field::Country),
            amount: has(Field::Amount),
        }
    }

    /// The published columns (or, with the setting, the amount) that the header lacks.
    pub(crate) fn absent(&self) -> Vec<String> {
        Field::ALL
            .iter()
            .filter(|&&f| self.idx[f as usize].is_none() && f != Field::Amount)
            .map(|f| f.canonical().to_string())
            .collect()
    }
}

/// Maps the header to the logical fields. The customer id and the date are required, and
/// either quantity and unit price, or (with `input.columns.amount`) an amount per line;
/// invoice, stock code, description and country are optional. A column named in
/// `[input.columns]` must be in the header.
pub(crate) fn map_columns(
    path: &Path,
    header: &[String],
    opts: &InputOptions,
) -> Result<ColumnMap, IngestError> {
    let mut idx = [None; 9];
    let mut names: [String; 9] = Default::default();
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
        &c.amount,
    ];
    let by_amount = c.amount.is_some();
    let missing = |field: Field, wanted: &[&str], note: &str| IngestError::MissingColumn {
        path: path.to_path_buf(),
        column: field.canonical(),
        candidates: wanted
            .iter()
            .map(|w| format!("`{w}`"))
            .collect::<Vec<_>>()
            .join(" or "),
        setting: format!("{}{note}", field.setting()),
        header: header.join(","),
    };
    for (k, field) in Field::ALL.iter().copied().enumerate() {
        let wanted: Vec<&str> = match overrides[k] {
            Some(name) => vec![name.as_str()],
            // The amount is read only when configured.
            None if field == Field::Amount => continue,
            None => field.candidates().to_vec(),
        };
        let found = header.iter().position(|h| {
            let h = h.trim().trim_start_matches('\u{feff}');
            wanted.iter().any(|w| h.eq_ignore_ascii_case(w))
        });
        let required = match field {
            Field::CustomerId | Field::InvoiceDate => true,
            Field::Quantity | Field::UnitPrice => !by_amount,
            _ => false,
        };
        match found {
            Some(i) => {
                idx[k] = Some(i);
                names[k] = header[i].trim().trim_start_matches('\u{feff}').to_string();
            }
            None if overrides[k].is_some() => return Err(missing(field, &wanted, "")),
            None if required => {
                let note = match field {
                    Field::Quantity | Field::UnitPrice => {
                        ", or input.columns.amount for a file with an amount per line"
                    }
                    Field::CustomerId => " (without customer ids there is nothing to cluster)",
                    _ => "",
                };
                return Err(missing(field, &wanted, note));
            }
            None => names[k] = field.canonical().to_string(),
        }
    }
    Ok(ColumnMap { idx, names })
}

/// Names the published copy from its header and date format.
pub(crate) fn describe_source(xlsx: bool, map: &ColumnMap, date_spec: &str) -> String {
    let p = map.present();
    let published = p.invoice && p.stock_code && p.quantity && p.unit_price && p.country;
    if !published || p.amount {
        return "custom".into();
    }
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
