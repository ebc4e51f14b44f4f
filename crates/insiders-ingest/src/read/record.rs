//! From CSV records to invoice lines: the parsing context of a file, one record's values
//! (with the shortcuts of the common case: the previous row's date and customer reused when
//! the raw bytes repeat, trims skipped when both ends are visible ASCII), and a chunk of
//! records with the bad-row policy applied.

use super::Reject;
use super::detect::ColumnMap;
use super::values::{parse_amount, parse_customer, parse_date, parse_price, parse_quantity};
use crate::date::DateFormat;
use crate::error::{IngestError, Location};
use crate::options::{Encoding, OnBadRow};
use crate::split::{Delim, Record, Splitter};
use crate::transactions::{Line, Transactions};
use std::borrow::Cow;
use std::path::Path;

pub(super) struct CsvCtx<'a> {
    pub(super) path: &'a Path,
    pub(super) map: ColumnMap,
    pub(super) n_fields: usize,
    pub(super) date_fmt: DateFormat,
    pub(super) offset_secs: i64,
    pub(super) encoding: Encoding,
    pub(super) on_bad: OnBadRow,
    pub(super) delimiter: Delim,
    pub(super) descriptions: bool,
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
pub(super) struct ChunkOut {
    pub(super) lines: Transactions,
    pub(super) rows: u64,
    pub(super) rejects: Vec<Reject>,
    pub(super) error: Option<IngestError>,
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
    let has = |k: usize| m.idx[k].is_some();
    let quantity = if has(3) {
        parse_quantity(&get(3)?).map_err(bad(3, "bad quantity"))?
    } else {
        0
    };
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
    let unit_price = if has(5) {
        parse_price(&get(5)?).map_err(bad(5, "bad unit price"))?
    } else {
        f64::NAN
    };
    let amount = if has(8) {
        Some(parse_amount(&get(8)?).map_err(bad(8, "bad amount"))?)
    } else {
        None
    };
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
    if invoice.is_empty() && has(0) {
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
        amount,
    });
    Ok(())
}

pub(super) fn parse_chunk(data: &[u8], first_line: u64, ctx: &CsvCtx<'_>) -> ChunkOut {
    let mut out = ChunkOut {
        lines: Transactions::for_descriptions(ctx.descriptions),
        ..ChunkOut::default()
    };
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
