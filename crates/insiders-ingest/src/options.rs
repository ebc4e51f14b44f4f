//! Input options (the `[input]` table of the TOML configuration).

use serde::{Deserialize, Serialize};

/// Which reader to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// By content: gzip magic, zip (xlsx) magic, else CSV.
    #[default]
    Auto,
    /// CSV, plain or gzip-compressed.
    Csv,
    /// Excel workbook (`.xlsx`).
    Xlsx,
}

/// Text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// UTF-8 where a field is valid UTF-8, ISO-8859-1 otherwise (the Kaggle copy is Latin-1).
    #[default]
    Auto,
    /// Strict UTF-8: invalid bytes make a bad row.
    #[serde(alias = "utf8")]
    Utf8,
    /// ISO-8859-1: every byte is one character.
    #[serde(alias = "iso-8859-1")]
    Latin1,
}

/// What to do with a malformed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBadRow {
    /// Stop with an error naming the file, line and column; write nothing.
    #[default]
    Error,
    /// Skip it, count it by reason, and keep it for the rejects file.
    Skip,
}

impl std::str::FromStr for OnBadRow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(OnBadRow::Error),
            "skip" => Ok(OnBadRow::Skip),
            other => Err(format!("expected `error` or `skip`, got `{other}`")),
        }
    }
}

/// How the fields of a text line are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// One ASCII character (`,` by default), with CSV quoting.
    Char(char),
    /// Runs of spaces and tabs (`"whitespace"`), as in CDNOW's `CDNOW_master.txt`: blanks at
    /// the start and end of a line are ignored, quotes are ordinary characters.
    Whitespace,
}

impl Default for Delimiter {
    fn default() -> Self {
        Delimiter::Char(',')
    }
}

impl std::fmt::Display for Delimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delimiter::Char(c) => write!(f, "{}", c.escape_default()),
            Delimiter::Whitespace => f.write_str("whitespace"),
        }
    }
}

impl Serialize for Delimiter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Delimiter::Char(c) => s.serialize_char(*c),
            Delimiter::Whitespace => s.serialize_str("whitespace"),
        }
    }
}

impl<'de> Deserialize<'de> for Delimiter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            _ if s == "whitespace" => Ok(Delimiter::Whitespace),
            (Some(c), None) => Ok(Delimiter::Char(c)),
            _ => Err(serde::de::Error::custom(format!(
                "delimiter `{s}`: expected one character or \"whitespace\""
            ))),
        }
    }
}

/// Column names to look for, overriding the recognised published headers.
///
/// The customer id and the date are always needed; the revenue of a line is either
/// quantity x unit price or, when `amount` is set, that column (quantity may then be given
/// or absent). Invoice, stock code, description and country are optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ColumnNames {
    pub invoice: Option<String>,
    pub stock_code: Option<String>,
    pub description: Option<String>,
    pub quantity: Option<String>,
    pub invoice_date: Option<String>,
    pub unit_price: Option<String>,
    pub customer_id: Option<String>,
    pub country: Option<String>,
    /// The whole amount of a line (its revenue), for files without a unit price. Not looked
    /// for unless set.
    pub amount: Option<String>,
}

/// How to read invoice lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputOptions {
    /// `auto`, `csv` or `xlsx`.
    pub format: InputFormat,
    /// Sheet of a workbook (default: the first).
    pub sheet: Option<String>,
    /// Text encoding of CSV files.
    pub encoding: Encoding,
    /// Field delimiter of CSV files: one ASCII character, or `whitespace`.
    pub delimiter: Delimiter,
    /// Date format (`%Y %y %m %d %b %H %M %S`); detected from the first row when absent.
    pub date_format: Option<String>,
    /// Days added to every date; when absent, -2190 for the course copy (whose dates are
    /// shifted by 2190 days) and 0 otherwise.
    pub date_offset_days: Option<i64>,
    /// `error` or `skip`.
    pub on_bad_row: OnBadRow,
    /// Column name overrides.
    pub columns: ColumnNames,
    /// Whether to keep each line's description (4 bytes a line). `insiders inspect` reports
    /// them; the features and the run never read them, so they drop them. Not a
    /// configuration key.
    #[serde(skip, default = "yes")]
    pub descriptions: bool,
    /// The memory guard of the read: the bytes the invoice lines may take, and what this
    /// run may use in all (for the message); a read that would hold more stops with
    /// [`crate::IngestError::Memory`]. Set by the pipeline from `[limits] memory`; not a key
    /// of `[input]`.
    #[serde(skip)]
    pub memory_budget: Option<(u64, u64)>,
}

fn yes() -> bool {
    true
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            format: InputFormat::Auto,
            sheet: None,
            encoding: Encoding::Auto,
            delimiter: Delimiter::Char(','),
            date_format: None,
            date_offset_days: None,
            on_bad_row: OnBadRow::Error,
            columns: ColumnNames::default(),
            descriptions: true,
            memory_budget: None,
        }
    }
}
