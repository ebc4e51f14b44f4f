//! Reading invoice lines from CSV (plain or gzip) and Excel workbooks.
//!
//! The published copies of the data are recognised by their headers and value formats
//! (see `docs/data-formats.md`). CSV bodies are split into chunks at record boundaries
//! (quote-aware) and parsed in parallel; chunks are merged in file order, so the result
//! (including interned ids, which follow first appearance) does not depend on the thread count.

use crate::date::{self, DateFormat};
use crate::error::{IngestError, Location};
use crate::options::{Encoding, InputFormat, InputOptions, OnBadRow};
use crate::split::{Record, Splitter};
use crate::transactions::{Line, Transactions};
use rayon::prelude::*;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, e))?;
    read_bytes(path, bytes, opts)
}

/// Reads invoice lines from bytes; `name` is used in messages.
pub fn read_bytes(name: &Path, bytes: Vec<u8>, opts: &InputOptions) -> Result<Loaded, IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty {
            path: name.to_path_buf(),
        });
    }
    let is_zip = bytes.starts_with(b"PK\x03\x04");
    let ext_xlsx = name
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "xlsx" | "xlsm" | "xls"));
    let format = match opts.format {
        InputFormat::Auto if is_zip || ext_xlsx => InputFormat::Xlsx,
        InputFormat::Auto => InputFormat::Csv,
        f => f,
    };
    match format {
        InputFormat::Xlsx => crate::xlsx::read_xlsx(name, bytes, opts),
        _ => {
            if crate::gz::is_gzip(&bytes) {
                read_csv_gz(name, bytes, opts)
            } else {
                read_csv(name, &bytes, opts)
            }
        }
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

// ---- value parsers shared by the CSV and xlsx readers ----

pub(crate) fn parse_quantity(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
        _ => Err(format!("quantity `{s}` is not an integer")),
    }
}

pub(crate) fn parse_price(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("unit price `{s}` is not a number")),
    }
}

pub(crate) fn customer_from_f64(v: f64, raw: &str) -> Result<Option<u32>, String> {
    if v.is_finite() && v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v) {
        Ok(Some(v as u32))
    } else {
        Err(format!("customer id `{raw}` is not a non-negative integer"))
    }
}

pub(crate) fn parse_customer(s: &str) -> Result<Option<u32>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = t.parse::<u32>() {
        return Ok(Some(v));
    }
    // `17850.0` (our copy): the integer part decides, as the float parse would.
    if let Some(int) = t.strip_suffix(".0")
        && let Ok(v) = int.parse::<u32>()
    {
        return Ok(Some(v));
    }
    match t.parse::<f64>() {
        Ok(v) => customer_from_f64(v, s),
        Err(_) => Err(format!("customer id `{s}` is not a number")),
    }
}

pub(crate) fn parse_date(s: &str, fmt: &DateFormat, offset_secs: i64) -> Result<i64, String> {
    fmt.parse(s)
        .map(|t| t + offset_secs)
        .ok_or_else(|| format!("date `{s}` does not match the format `{}`", fmt.spec()))
}

// ---- CSV ----

struct CsvCtx<'a> {
    path: &'a Path,
    map: ColumnMap,
    n_fields: usize,
    date_fmt: DateFormat,
    offset_secs: i64,
    encoding: Encoding,
    on_bad: OnBadRow,
    delimiter: u8,
}

fn decode(b: &[u8], enc: Encoding) -> Result<Cow<'_, str>, ()> {
    match enc {
        Encoding::Latin1 => Ok(latin1(b)),
        Encoding::Utf8 => std::str::from_utf8(b).map(Cow::Borrowed).map_err(|_| ()),
        Encoding::Auto => Ok(match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => latin1(b),
        }),
    }
}

fn latin1(b: &[u8]) -> Cow<'_, str> {
    Cow::Owned(b.iter().map(|&c| c as char).collect())
}

fn record_text(rec: &Record, data: &[u8]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let fields: csv::ByteRecord = rec.iter(data).collect();
    // Writing to a Vec cannot fail; fall back to a lossy join if it somehow does.
    if w.write_byte_record(&fields).is_ok()
        && let Ok(bytes) = w.into_inner()
    {
        return String::from_utf8_lossy(&bytes).trim_end().to_string();
    }
    rec.iter(data)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Default)]
struct ChunkOut {
    lines: Transactions,
    rows: u64,
    rejects: Vec<Reject>,
    error: Option<IngestError>,
}

/// A bad row found while parsing: (column, reason class, message).
type Bad = (String, &'static str, String);

/// Values of the previous row, reused when a row repeats them (invoice lines come grouped by
/// invoice: the same date and customer many rows in a row).
#[derive(Default)]
struct RowMemo {
    date_raw: Vec<u8>,
    date: i64,
    customer_raw: Vec<u8>,
    customer: Option<u32>,
}

/// `s.trim()`, skipping the work when both ends are visible ASCII (nothing to trim).
#[inline]
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() && l.is_ascii_graphic() => s,
        (None, _) => s,
        _ => s.trim(),
    }
}

/// Parses one record of `data` (`text` is `data` itself when it is valid UTF-8 and the
/// encoding allows reading it so).
fn parse_record(
    rec: &Record,
    data: &[u8],
    text: Option<&str>,
    ctx: &CsvCtx<'_>,
    memo: &mut RowMemo,
    out: &mut Transactions,
) -> Result<(), Bad> {
    if rec.len() != ctx.n_fields {
        let column = if rec.len() > ctx.n_fields {
            format!("field {}", ctx.n_fields + 1)
        } else {
            format!("field {}", rec.len() + 1)
        };
        return Err((
            column,
            "wrong field count",
            format!("expected {} fields, found {}", ctx.n_fields, rec.len()),
        ));
    }
    let m = &ctx.map;
    // The chunk was checked for UTF-8 once; fields in it are sub-slices (the delimiter,
    // quotes and terminators are ASCII, so field boundaries are character boundaries).
    let get = |k: usize| -> Result<Cow<'_, str>, Bad> {
        let Some(i) = m.idx[k] else {
            return Ok(Cow::Borrowed(""));
        };
        if let Some(s) = text.and_then(|t| rec.in_input(i).and_then(|(a, b)| t.get(a..b))) {
            return Ok(Cow::Borrowed(s));
        }
        decode(rec.get(data, i).unwrap_or(b""), ctx.encoding).map_err(|_| {
            (
                m.names[k].clone(),
                "invalid text encoding",
                "invalid UTF-8 (set input.encoding = \"latin1\" for ISO-8859-1 files)".to_string(),
            )
        })
    };
    let raw = |k: usize| -> &[u8] { m.idx[k].and_then(|i| rec.get(data, i)).unwrap_or(b"") };
    let bad = |k: usize, class: &'static str| move |msg: String| (m.names[k].clone(), class, msg);
    let invoice = get(0)?;
    let stock = get(1)?;
    let desc = get(2)?;
    let quantity = parse_quantity(&get(3)?).map_err(bad(3, "bad quantity"))?;
    let date_raw = raw(4);
    let timestamp = if !memo.date_raw.is_empty() && memo.date_raw == date_raw {
        memo.date
    } else {
        let t = parse_date(&get(4)?, &ctx.date_fmt, ctx.offset_secs).map_err(bad(4, "bad date"))?;
        memo.date_raw.clear();
        memo.date_raw.extend_from_slice(date_raw);
        memo.date = t;
        t
    };
    let unit_price = parse_price(&get(5)?).map_err(bad(5, "bad unit price"))?;
    let customer_raw = raw(6);
    let customer_id = if !memo.customer_raw.is_empty() && memo.customer_raw == customer_raw {
        memo.customer
    } else {
        let c = parse_customer(&get(6)?).map_err(bad(6, "bad customer id"))?;
        memo.customer_raw.clear();
        memo.customer_raw.extend_from_slice(customer_raw);
        memo.customer = c;
        c
    };
    let country = get(7)?;
    let invoice = trim(&invoice);
    if invoice.is_empty() {
        return Err((
            m.names[0].clone(),
            "missing invoice",
            "empty invoice number".into(),
        ));
    }
    out.push(&Line {
        invoice,
        stock_code: trim(&stock),
        description: trim(&desc),
        quantity,
        timestamp,
        unit_price,
        customer_id,
        country: trim(&country),
    });
    Ok(())
}

fn parse_chunk(data: &[u8], first_line: u64, ctx: &CsvCtx<'_>) -> ChunkOut {
    let mut out = ChunkOut::default();
    let text = match ctx.encoding {
        Encoding::Latin1 => None,
        _ => std::str::from_utf8(data).ok(),
    };
    let mut split = Splitter::new(data, first_line, ctx.delimiter);
    let mut rec = Record::default();
    let mut memo = RowMemo::default();
    while split.next_record(&mut rec) {
        out.rows += 1;
        if let Err((column, reason, detail)) =
            parse_record(&rec, data, text, ctx, &mut memo, &mut out.lines)
        {
            let line = rec.line();
            match ctx.on_bad {
                OnBadRow::Error => {
                    out.error = Some(IngestError::BadRow {
                        path: ctx.path.to_path_buf(),
                        location: Location::Line { line, column },
                        reason: detail,
                    });
                    return out;
                }
                OnBadRow::Skip => out.rejects.push(Reject {
                    location: format!("line {line}"),
                    column,
                    reason: reason.to_string(),
                    detail,
                    record: record_text(&rec, data),
                }),
            }
        }
    }
    out
}

/// Splits `body` into about `n` chunks whose boundaries are record boundaries (a newline
/// outside quotes). Returns the chunk start offsets (first is 0) plus `body.len()`.
fn chunk_bounds(body: &[u8], n: usize) -> Vec<usize> {
    let mut bounds = vec![0];
    let mut pos = 0;
    let mut quotes_before = 0usize; // quotes in body[..pos]
    for i in 1..n {
        let target = body.len() * i / n;
        if target <= pos {
            continue;
        }
        quotes_before += memchr::memchr_iter(b'"', &body[pos..target]).count();
        let mut j = target;
        let mut q = quotes_before;
        let mut found = None;
        while j < body.len() {
            match memchr::memchr2(b'\n', b'"', &body[j..]) {
                None => break,
                Some(off) => {
                    let at = j + off;
                    if body[at] == b'"' {
                        q += 1;
                    } else if q.is_multiple_of(2) {
                        found = Some(at + 1);
                        break;
                    }
                    j = at + 1;
                }
            }
        }
        match found {
            Some(b) if b < body.len() => {
                quotes_before = q;
                pos = b;
                bounds.push(b);
            }
            _ => break,
        }
    }
    bounds.push(body.len());
    bounds
}

/// The delimiter of `opts` as a byte, or a configuration error.
fn delimiter_byte(opts: &InputOptions) -> Result<u8, IngestError> {
    u8::try_from(u32::from(opts.delimiter))
        .ok()
        .filter(u8::is_ascii)
        .filter(|d| !matches!(d, b'"' | b'\n' | b'\r'))
        .ok_or_else(|| {
            IngestError::Config(format!(
                "delimiter `{}` is not an ASCII character other than a quote or a line end",
                opts.delimiter.escape_default()
            ))
        })
}

/// Whether bodies with this delimiter may be cut at newlines outside quotes.
fn splittable(delimiter: u8) -> bool {
    matches!(delimiter, b',' | b';' | b'\t')
}

/// What the header and the first data row of a CSV tell: the parsing context, where the
/// body starts (byte offset and physical line) and the description of the source.
struct Prepared<'a> {
    ctx: CsvCtx<'a>,
    body_start: usize,
    body_line: u64,
    source: String,
    offset_days: i64,
}

/// Reads the header and the first data row of `data` (which must hold at least both, or be
/// the whole file).
fn prepare<'a>(
    path: &'a Path,
    data: &[u8],
    opts: &InputOptions,
    delimiter: u8,
) -> Result<Prepared<'a>, IngestError> {
    // Header.
    let mut split = Splitter::new(data, 1, delimiter);
    split.skip_bom();
    let mut head = Record::default();
    if !split.next_record(&mut head) {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let header: Vec<String> = head
        .iter(data)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let body_start = split.position().min(data.len());
    let body_line = split.line();
    let map = map_columns(path, &header, opts)?;
    let body = &data[body_start..];

    // Date format from the first data row unless configured.
    let mut probe = Splitter::new(body, body_line, delimiter);
    let mut first = Record::default();
    if !probe.next_record(&mut first) {
        return Err(IngestError::NoRows {
            path: path.to_path_buf(),
        });
    }
    let first_line = first.line();
    let date_idx = map.idx[4].unwrap_or(0);
    let sample = first
        .get(body, date_idx)
        .map(|b| String::from_utf8_lossy(b).into_owned());
    let date_fmt =
        resolve_date_format(opts, sample.as_deref())?.ok_or_else(|| IngestError::BadRow {
            path: path.to_path_buf(),
            location: Location::Line {
                line: first_line,
                column: map.names[4].clone(),
            },
            reason: format!(
                "date `{}` is in no recognised format; set input.date_format",
                sample.as_deref().unwrap_or("")
            ),
        })?;
    let offset_days = date_offset(opts, date_fmt.spec());
    let source = describe_source(false, &map, date_fmt.spec());
    Ok(Prepared {
        ctx: CsvCtx {
            path,
            map,
            n_fields: header.len(),
            date_fmt,
            offset_secs: offset_days * date::DAY,
            encoding: opts.encoding,
            on_bad: opts.on_bad_row,
            delimiter,
        },
        body_start,
        body_line,
        source,
        offset_days,
    })
}

/// Merges parsed chunks (in file order) into the loaded table: the first error in file
/// order wins; interned ids follow first appearance, whatever the chunking.
fn merge(
    path: &Path,
    outs: Vec<ChunkOut>,
    prep: &Prepared<'_>,
    opts: &InputOptions,
) -> Result<Loaded, IngestError> {
    let total: usize = outs.iter().map(|o| o.lines.len()).sum();
    let mut lines = Transactions::default();
    let mut rows_read = 0;
    let mut rejects = Vec::new();
    for out in outs {
        if let Some(e) = out.error {
            return Err(e);
        }
        rows_read += out.rows;
        if lines.is_empty() {
            lines = out.lines;
            lines.reserve(total - lines.len());
        } else {
            lines.append(&out.lines);
        }
        rejects.extend(out.rejects);
    }
    finish(
        path,
        lines,
        rows_read,
        rejects,
        prep.source.clone(),
        prep.ctx.date_fmt.spec(),
        opts,
        prep.offset_days,
    )
}

fn read_csv(path: &Path, data: &[u8], opts: &InputOptions) -> Result<Loaded, IngestError> {
    let delimiter = delimiter_byte(opts)?;
    let prep = prepare(path, data, opts, delimiter)?;
    let body = &data[prep.body_start..];

    // Parallel chunks at record boundaries; merged in file order.
    let n_chunks = (body.len() / CHUNK).clamp(1, 256);
    let bounds = if splittable(delimiter) {
        chunk_bounds(body, n_chunks)
    } else {
        vec![0, body.len()]
    };
    let pieces: Vec<&[u8]> = bounds.windows(2).map(|w| &body[w[0]..w[1]]).collect();
    let newlines: Vec<u64> = pieces
        .par_iter()
        .map(|p| memchr::memchr_iter(b'\n', p).count() as u64)
        .collect();
    let mut first_lines = Vec::with_capacity(pieces.len());
    let mut line = prep.body_line;
    for nl in &newlines {
        first_lines.push(line);
        line += nl;
    }
    let outs: Vec<ChunkOut> = pieces
        .par_iter()
        .zip(first_lines.par_iter())
        .map(|(p, &fl)| parse_chunk(p, fl, &prep.ctx))
        .collect();
    merge(path, outs, &prep, opts)
}

/// The size of the chunks parsed in parallel.
const CHUNK: usize = 2 << 20;

/// Reads a gzip-compressed CSV while it is being decompressed: a decoder thread inflates
/// the stream into chunks that end at record boundaries, and each chunk is parsed on the
/// rayon pool as soon as it arrives, so decompression and parsing overlap. The result is
/// the one [`read_csv`] gives on the decompressed bytes.
fn read_csv_gz(path: &Path, gz: Vec<u8>, opts: &InputOptions) -> Result<Loaded, IngestError> {
    let delimiter = delimiter_byte(opts)?;
    if !splittable(delimiter) {
        let data = crate::gz::maybe_gunzip(path, gz)?;
        return read_csv(path, &data, opts);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let (inflated, parsed) = std::thread::scope(|ts| {
        let decoder = ts.spawn(move || crate::gz::inflate_records(&gz, CHUNK, &tx));
        let parsed = parse_stream(path, &rx, opts, delimiter);
        // Unblock the decoder if parsing stopped early.
        drop(rx);
        let inflated = decoder
            .join()
            .unwrap_or_else(|_| Err("the decoder thread failed".to_string()));
        (inflated, parsed)
    });
    inflated.map_err(|detail| IngestError::Gzip {
        path: path.to_path_buf(),
        detail,
    })?;
    parsed
}

/// Parses the chunks arriving on `rx` (each ends at a record boundary, except perhaps the
/// last) in parallel, and merges them in order.
fn parse_stream(
    path: &Path,
    rx: &std::sync::mpsc::Receiver<Vec<u8>>,
    opts: &InputOptions,
    delimiter: u8,
) -> Result<Loaded, IngestError> {
    // The first chunks, until they hold the header and a complete first record.
    let mut head: Vec<u8> = Vec::new();
    let mut more = true;
    while more {
        match rx.recv() {
            Ok(c) if head.is_empty() => head = c,
            Ok(c) => head.extend_from_slice(&c),
            Err(_) => more = false,
        }
        if more && two_records(&head, delimiter) {
            break;
        }
    }
    let prep = prepare(path, &head, opts, delimiter)?;
    let ctx = &prep.ctx;
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, ChunkOut)>();
    rayon::in_place_scope(|s| {
        let mut line = prep.body_line;
        let mut spawn = |index: usize, chunk: Vec<u8>, skip: usize| {
            let first_line = line;
            line += memchr::memchr_iter(b'\n', &chunk[skip..]).count() as u64;
            let done = done_tx.clone();
            s.spawn(move |_| {
                // The receiver outlives the scope, so the send cannot fail.
                let _ = done.send((index, parse_chunk(&chunk[skip..], first_line, ctx)));
            });
        };
        spawn(0, std::mem::take(&mut head), prep.body_start);
        let mut index = 1;
        while let Ok(chunk) = rx.recv() {
            spawn(index, chunk, 0);
            index += 1;
        }
    });
    drop(done_tx);
    let mut outs: Vec<(usize, ChunkOut)> = done_rx.into_iter().collect();
    outs.sort_by_key(|(i, _)| *i);
    merge(
        path,
        outs.into_iter().map(|(_, o)| o).collect(),
        &prep,
        opts,
    )
}

/// Whether `data` (which ends at a record boundary) holds a header and one complete record.
fn two_records(data: &[u8], delimiter: u8) -> bool {
    let mut split = Splitter::new(data, 1, delimiter);
    split.skip_bom();
    let mut rec = Record::default();
    split.next_record(&mut rec) && split.next_record(&mut rec)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    path: &Path,
    lines: Transactions,
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
            rejects,
        },
    })
}

/// Writes rejected rows as CSV: `location,column,reason,detail,record`.
pub fn write_rejects(rejects: &[Reject], w: impl std::io::Write) -> Result<(), csv::Error> {
    let mut wr = csv::Writer::from_writer(w);
    wr.write_record(["location", "column", "reason", "detail", "record"])?;
    for r in rejects {
        wr.write_record([&r.location, &r.column, &r.reason, &r.detail, &r.record])?;
    }
    wr.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn crlf_and_empty_lines_keep_physical_line_numbers() {
        let head =
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
        let ok = "536365,85123A,\"A, B\",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom";
        let bad = "536365,85123A,X,six,2010-12-01 08:26:00,2.55,17850.0,United Kingdom";
        for (sep, blank, want) in [("\r\n", "", 3), ("\n", "\n\n", 5), ("\r\n", "\r\n", 4)] {
            let text = format!("{head}{sep}{ok}{sep}{blank}{bad}{sep}");
            let e = read_bytes(
                Path::new("x.csv"),
                text.into_bytes(),
                &InputOptions::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains(&format!("line {want}, column `Quantity`")),
                "{sep:?} {blank:?}: {e}"
            );
        }
        let opts = InputOptions {
            delimiter: '"',
            ..Default::default()
        };
        assert!(matches!(
            read_bytes(Path::new("x.csv"), b"a\"b\n".to_vec(), &opts),
            Err(IngestError::Config(_))
        ));
    }

    #[test]
    fn chunk_bounds_respect_quotes() {
        let body = b"a,\"x\ny\",1\nb,c,2\nd,\"e\n\",3\nf,g,4\n";
        for n in 1..8 {
            let b = chunk_bounds(body, n);
            for &p in &b[1..b.len() - 1] {
                // every boundary starts a record: preceded by a newline outside quotes
                let q = body[..p].iter().filter(|&&c| c == b'"').count();
                assert_eq!(q % 2, 0, "n={n} p={p}");
                assert_eq!(body[p - 1], b'\n');
            }
            assert_eq!(*b.last().unwrap(), body.len());
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn gzip_stream_equals_plain_read_across_chunks() {
        // About 7 MB: several stream chunks, quoted newlines, CRLF, ids that repeat.
        let mut text = String::from(
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n",
        );
        let mut rows = 0u64;
        while text.len() < 7 << 20 {
            let inv = 536000 + rows / 7;
            let desc = if rows.is_multiple_of(13) {
                format!("\"LINE {}\nWITH, NEWLINE\"", rows % 97)
            } else {
                format!("ITEM {}", rows % 211)
            };
            text.push_str(&format!(
                "{inv},{code},{desc},{q},2010-12-{d:02} 08:26:00,{p}.5,{c}.0,Country {k}\r\n",
                code = 85000 + rows % 333,
                q = (rows % 11) as i64 - 2,
                d = 1 + rows % 28,
                p = rows % 9,
                c = 12000 + rows / 50 % 400,
                k = rows % 5,
            ));
            rows += 1;
        }
        let opts = InputOptions::default();
        let plain = read_bytes(Path::new("x.csv"), text.clone().into_bytes(), &opts).unwrap();
        let gz = gzip(text.as_bytes());
        let streamed = read_bytes(Path::new("x.csv.gz"), gz, &opts).unwrap();
        assert_eq!(plain.report.rows_read, rows);
        assert_eq!(streamed.report.rows_read, rows);
        let (a, b) = (&plain.lines, &streamed.lines);
        assert_eq!(a.invoice, b.invoice);
        assert_eq!(a.stock_code, b.stock_code);
        assert_eq!(a.description, b.description);
        assert_eq!(a.quantity, b.quantity);
        assert_eq!(a.timestamp, b.timestamp);
        assert_eq!(a.unit_price, b.unit_price);
        assert_eq!(a.customer_id, b.customer_id);
        assert_eq!(a.country, b.country);
        assert!(a.descriptions.strings().eq(b.descriptions.strings()));
        assert!(a.invoices.strings().eq(b.invoices.strings()));

        // A bad row deep in the file: the same physical line from both paths.
        let mut line_start = text.len() * 5 / 7;
        loop {
            line_start += text[line_start..].find("\r\n").unwrap() + 2;
            let end = line_start + text[line_start..].find("\r\n").unwrap();
            if !text[line_start..end].contains('"') {
                break;
            }
        }
        let mut bad = text.clone();
        let commas: Vec<usize> = bad[line_start..]
            .match_indices(',')
            .take(3)
            .map(|(i, _)| line_start + i)
            .collect();
        bad.insert(commas[2] + 1, 'x');
        let want_line = 1 + text[..line_start].matches('\n').count() as u64;
        for (name, bytes) in [
            ("x.csv", bad.clone().into_bytes()),
            ("x.csv.gz", gzip(bad.as_bytes())),
        ] {
            let Err(e) = read_bytes(Path::new(name), bytes, &opts) else {
                panic!("{name}: the bad row was accepted");
            };
            let e = e.to_string();
            assert!(
                e.contains(&format!("line {want_line}, column `Quantity`")),
                "{name}: {e}"
            );
        }
    }
}
