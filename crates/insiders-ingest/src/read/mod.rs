//! Reading invoice lines from CSV (plain or gzip) and Excel workbooks.
//!
//! The published copies of the data are recognised by their headers and value formats
//! (see `docs/data-formats.md`). CSV bodies are split into chunks at record boundaries
//! (quote-aware) and parsed in parallel; chunks are merged in file order, so the result
//! (including interned ids, which follow first appearance) does not depend on the thread count.
//!
//! The entry points are [`read_path`] and [`read_bytes`]; the format is chosen from the
//! options, the zip signature or the extension (xlsx, read by [`crate::xlsx`]), and the gzip
//! signature (streamed CSV) or else plain CSV. `detect` recognises the copy, `values` parses
//! row values, `record` turns CSV records into lines, `csv` and `gzip` are the two CSV paths.

mod csv;
mod detect;
mod gzip;
mod record;
mod values;

pub use detect::Field;
pub(crate) use detect::{
    ColumnMap, date_offset, describe_source, map_columns, resolve_date_format,
};
pub(crate) use values::{
    customer_from_f64, parse_amount, parse_customer, parse_date, parse_price, parse_quantity,
};

use crate::error::IngestError;
use crate::options::{Encoding, InputFormat, InputOptions};
use crate::transactions::Transactions;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A skipped row (with `on_bad_row = skip`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    /// Where: `line 17` or `sheet Sheet1, cell E17`.
    pub location: String,
    /// The column concerned.
    pub column: String,
    /// The reason class (counted in the row accounting).
    pub reason: String,
    /// The full message.
    pub detail: String,
    /// The row's fields, comma-joined.
    pub record: String,
}

/// What a read found out about its input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadReport {
    /// The file read (or the name of an in-memory source).
    pub path: String,
    /// The published copy recognised (or `custom`).
    pub source: String,
    /// The date format used.
    pub date_format: String,
    /// The text encoding used.
    pub encoding: String,
    /// Days added to every date.
    pub date_offset_days: i64,
    /// Data rows read (header excluded), kept or rejected.
    pub rows_read: u64,
    /// Rows rejected at parse time, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// The published columns the data does not have (canonical names); omitted when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub absent_columns: Vec<String>,
    /// The column read as each line's amount (revenue), when `input.columns.amount` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_column: Option<String>,
    /// How orders were derived for data without invoice numbers; omitted when not derived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_invoices: Option<String>,
    /// The rejected rows themselves (for the rejects file).
    #[serde(skip)]
    pub rejects: Vec<Reject>,
}

/// Invoice lines and the report of their read.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub lines: Transactions,
    pub report: ReadReport,
}

/// Reads a file of invoice lines (CSV, gzip-compressed CSV, or xlsx).
pub fn read_path(path: &Path, opts: &InputOptions) -> Result<Loaded, IngestError> {
    if looks_like_parquet(path)? {
        #[cfg(feature = "parquet")]
        return crate::parquet::read_parquet(path, opts);
        #[cfg(not(feature = "parquet"))]
        return Err(IngestError::NotParquet {
            path: path.to_path_buf(),
            detail: "this build has no Parquet support (cargo feature `parquet`)".into(),
        });
    }
    // Large CSV and every gzip CSV stream from the file: only a few chunks are in memory.
    let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let size = file.metadata().map_err(|e| IngestError::io(path, e))?.len();
    let mut head = [0u8; 4];
    let n = {
        use std::io::Read;
        (&file)
            .read(&mut head)
            .map_err(|e| IngestError::io(path, e))?
    };
    let csv = matches!(opts.format, InputFormat::Csv | InputFormat::Auto)
        && !head[..n].starts_with(b"PK\x03\x04")
        && !is_xlsx_name(path);
    if csv && n >= 2 && crate::gz::is_gzip(&head[..n]) {
        let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
        let gz =
            flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, file));
        return gzip::read_csv_stream(path, gz, opts, true);
    }
    if csv && size > STREAM_ABOVE {
        let file = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
        return gzip::read_csv_stream(path, file, opts, false);
    }
    let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, e))?;
    read_bytes(path, bytes, opts)
}

/// Reads several files of invoice lines as one table, in the order given: rows are counted
/// across them, and each line keeps its file order. Every file must have the same columns
/// (the same [`crate::Present`]).
pub fn read_paths(paths: &[PathBuf], opts: &InputOptions) -> Result<Loaded, IngestError> {
    let Some((first, rest)) = paths.split_first() else {
        return Err(IngestError::Config("no input file".into()));
    };
    let mut all = read_path(first, opts)?;
    for p in rest {
        let next = read_path(p, opts)?;
        if next.lines.present != all.lines.present {
            return Err(IngestError::Config(format!(
                "{} has other columns than {} (absent: {:?} vs {:?}); files read together must have the same columns",
                p.display(),
                first.display(),
                next.report.absent_columns,
                all.report.absent_columns
            )));
        }
        all.lines.append(&next.lines);
        if let Some((budget, limit)) = opts.memory_budget
            && all.lines.heap_bytes() as u64 > budget
        {
            return Err(IngestError::Memory {
                path: p.clone(),
                rows: all.report.rows_read + next.report.rows_read,
                budget: insiders_core::memory::format_size(budget),
                limit: insiders_core::memory::format_size(limit),
            });
        }
        let r = &mut all.report;
        r.rows_read += next.report.rows_read;
        for (k, v) in next.report.rejected {
            *r.rejected.entry(k).or_insert(0) += v;
        }
        let name = p.display().to_string();
        r.rejects
            .extend(next.report.rejects.into_iter().map(|mut j| {
                j.location = format!("{name}: {}", j.location);
                j
            }));
    }
    if paths.len() > 1 {
        all.report.path = format!(
            "{} files: {} .. {}",
            paths.len(),
            first.display(),
            paths[paths.len() - 1].display()
        );
    }
    all.lines.shrink_to_fit();
    Ok(all)
}

/// The files a path names: itself, or, when its file name has `*` or `?`, the files of its
/// folder whose names match, in name order.
///
/// # Errors
/// A pattern that matches no file, or a folder that cannot be listed.
pub fn expand_pattern(path: &Path) -> Result<Vec<PathBuf>, IngestError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| IngestError::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| wildcard(name.as_bytes(), e.file_name().to_string_lossy().as_bytes()))
        .map(|e| e.path())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(IngestError::Config(format!(
            "no file matches {}",
            path.display()
        )));
    }
    Ok(found)
}

/// Whether `name` matches `pat` (`*`: any run of characters, `?`: one character).
fn wildcard(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|k| wildcard(rest, &name[k..])),
        Some((b'?', rest)) => !name.is_empty() && wildcard(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && wildcard(rest, &name[1..]),
    }
}

/// Plain CSV files larger than this are streamed rather than read whole.
const STREAM_ABOVE: u64 = 64 << 20;

fn is_xlsx_name(name: &Path) -> bool {
    name.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "xlsx" | "xlsm" | "xls"))
}

/// Whether `path` is a Parquet file: its first bytes are `PAR1`, or its extension is
/// `.parquet`.
fn looks_like_parquet(path: &Path) -> Result<bool, IngestError> {
    use std::io::Read;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let mut head = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|e| IngestError::io(path, e))?;
    let n = f.read(&mut head).map_err(|e| IngestError::io(path, e))?;
    Ok(ext || (n == 4 && &head == b"PAR1"))
}

/// Reads invoice lines from bytes; `name` is used in messages.
pub fn read_bytes(name: &Path, bytes: Vec<u8>, opts: &InputOptions) -> Result<Loaded, IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty {
            path: name.to_path_buf(),
        });
    }
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let ext_xlsx = is_xlsx_name(name);
    let format = match opts.format {
        InputFormat::Auto if is_zip || ext_xlsx => InputFormat::Xlsx,
        InputFormat::Auto => InputFormat::Csv,
        f => f,
    };
    match format {
        InputFormat::Xlsx => crate::xlsx::read_xlsx(name, bytes, opts),
        _ => {
            if crate::gz::is_gzip(&bytes) {
                gzip::read_csv_gz(name, bytes, opts)
            } else {
                csv::read_csv(name, &bytes, opts)
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    path: &Path,
    mut lines: Transactions,
    map: &ColumnMap,
    rows_read: u64,
    rejects: Vec<Reject>,
    source: String,
    date_spec: &str,
    opts: &InputOptions,
    offset_days: i64,
) -> Result<Loaded, IngestError> {
    if rows_read == 0 {
        return Err(IngestError::NoRows {
            path: PathBuf::from(path),
        });
    }
    let mut rejected = BTreeMap::new();
    for r in &rejects {
        *rejected.entry(r.reason.clone()).or_insert(0) += 1;
    }
    let encoding = match opts.encoding {
        Encoding::Auto => "auto (UTF-8, ISO-8859-1 where not UTF-8)",
        Encoding::Utf8 => "UTF-8",
        Encoding::Latin1 => "ISO-8859-1",
    };
    let present = map.present();
    lines.present = present;
    lines.shrink_to_fit();
    let derived_invoices = (!present.invoice).then(|| {
        lines.derive_invoices();
        DERIVED_INVOICES.to_string()
    });
    Ok(Loaded {
        lines,
        report: ReadReport {
            path: path.display().to_string(),
            source,
            date_format: date_spec.to_string(),
            encoding: encoding.to_string(),
            date_offset_days: offset_days,
            rows_read,
            rejected,
            absent_columns: map.absent(),
            amount_column: present
                .amount
                .then(|| map.names[Field::Amount as usize].clone()),
            derived_invoices,
            rejects,
        },
    })
}

/// How orders are derived without an invoice column (see [`Transactions::derive_invoices`]).
pub const DERIVED_INVOICES: &str = "no invoice column: a customer's lines at one timestamp form one order, \
numbered `<customer id>@<YYYY-MM-DD HH:MM:SS>` (`anonymous@...` for lines without a customer id)";

/// Writes rejected rows as CSV: `location,column,reason,detail,record`.
pub fn write_rejects(rejects: &[Reject], w: impl std::io::Write) -> Result<(), ::csv::Error> {
    let mut wr = ::csv::Writer::from_writer(w);
    wr.write_record(["location", "column", "reason", "detail", "record"])?;
    for r in rejects {
        wr.write_record([&r.location, &r.column, &r.reason, &r.detail, &r.record])?;
    }
    wr.flush()?;
    Ok(())
}
