//! Excel workbooks (`.xlsx`): the UCI original stores dates as Excel date-times and ids as numbers.

use crate::date::{self, DateFormat};
use crate::error::{IngestError, Location};
use crate::options::{InputOptions, OnBadRow};
use crate::read::{
    Loaded, Reject, customer_from_f64, date_offset, describe_source, finish, map_columns,
    parse_amount, parse_customer, parse_date, parse_price, parse_quantity, resolve_date_format,
};
use crate::transactions::{Line, Transactions};
use calamine::{Data, Reader};
use std::io::Cursor;
use std::path::Path;

/// `A`, `B`, ..., `Z`, `AA`, ... for a 0-based column index.
pub fn column_letters(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::Error(e) => return Err(format!("cell error {e:?}")),
    })
}

fn cell_timestamp(d: &Data, fmt: Option<&DateFormat>, offset_secs: i64) -> Result<i64, String> {
    match d {
        Data::DateTime(dt) => dt
            .as_datetime()
            .map(|n| n.and_utc().timestamp() + offset_secs)
            .ok_or_else(|| format!("date-time cell {} is out of range", dt.as_f64())),
        Data::Float(f) => date::from_excel_serial(*f)
            .map(|t| t + offset_secs)
            .ok_or_else(|| format!("date serial {f} is out of range")),
        Data::Int(i) => date::from_excel_serial(*i as f64)
            .map(|t| t + offset_secs)
            .ok_or_else(|| format!("date serial {i} is out of range")),
        Data::String(s) | Data::DateTimeIso(s) => {
            let f = match fmt {
                Some(f) => f.clone(),
                None => date::detect(s)
                    .ok_or_else(|| format!("date `{s}` is in no recognised format"))?,
            };
            parse_date(s, &f, offset_secs)
        }
        other => Err(format!(
            "`{}` is not a date",
            cell_text(other).unwrap_or_default()
        )),
    }
}

/// Reads the first (or the configured) sheet of a workbook.
pub(crate) fn read_xlsx(
    path: &Path,
    bytes: Vec<u8>,
    opts: &InputOptions,
) -> Result<Loaded, IngestError> {
    let not_sheet = |detail: String| IngestError::NotSpreadsheet {
        path: path.to_path_buf(),
        detail,
    };
    let mut wb = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| not_sheet(e.to_string()))?;
    let names = wb.sheet_names();
    let sheet = match &opts.sheet {
        Some(s) => {
            if !names.contains(s) {
                return Err(IngestError::NoSheet {
                    path: path.to_path_buf(),
                    sheet: s.clone(),
                    available: names.join(", "),
                });
            }
            s.clone()
        }
        None => names
            .first()
            .cloned()
            .ok_or_else(|| not_sheet("the workbook has no sheets".into()))?,
    };
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| not_sheet(e.to_string()))?;
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows();
    let header: Vec<String> = match rows.next() {
        Some(h) => h.iter().map(|c| cell_text(c).unwrap_or_default()).collect(),
        None => {
            return Err(IngestError::Empty {
                path: path.to_path_buf(),
            });
        }
    };
    let map = map_columns(path, &header, opts)?;
    let configured = resolve_date_format(opts, None)?;
    let spec = configured
        .as_ref()
        .map_or("Excel date-time".to_string(), |f| f.spec().to_string());
    let offset_days = date_offset(opts, &spec);
    let offset_secs = offset_days * date::DAY;
    let source = describe_source(true, &map, &spec);
    let mut lines = Transactions::for_descriptions(opts.descriptions);
    let mut rejects = Vec::new();
    let mut rows_read = 0u64;
    let empty = Data::Empty;
    for (r, row) in rows.enumerate() {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        rows_read += 1;
        let excel_row = row0 as usize + r + 2; // 1-based, header is the first row
        let cell = |k: usize| -> (&Data, String) {
            match map.idx[k] {
                Some(i) => (
                    row.get(i).unwrap_or(&empty),
                    format!("{}{}", column_letters(col0 as usize + i), excel_row),
                ),
                None => (&empty, String::new()),
            }
        };
        let parsed: Result<(), (usize, String, &'static str, String)> = (|| {
            let text = |k: usize| {
                let (d, addr) = cell(k);
                cell_text(d).map_err(|m| (k, addr, "bad cell", m))
            };
            let invoice = text(0)?;
            let stock = text(1)?;
            let desc = text(2)?;
            let has = |k: usize| map.idx[k].is_some();
            let (qd, qa) = cell(3);
            let quantity = match qd {
                _ if !has(3) => 0,
                Data::Int(i) => *i,
                other => parse_quantity(&cell_text(other).unwrap_or_default())
                    .map_err(|m| (3, qa.clone(), "bad quantity", m))?,
            };
            let (dd, da) = cell(4);
            let timestamp = cell_timestamp(dd, configured.as_ref(), offset_secs)
                .map_err(|m| (4, da.clone(), "bad date", m))?;
            let (pd, pa) = cell(5);
            let unit_price = match pd {
                _ if !has(5) => f64::NAN,
                Data::Float(f) => *f,
                Data::Int(i) => *i as f64,
                other => parse_price(&cell_text(other).unwrap_or_default())
                    .map_err(|m| (5, pa.clone(), "bad unit price", m))?,
            };
            let (cd, ca) = cell(6);
            let customer_id = match cd {
                Data::Float(f) => customer_from_f64(*f, &f.to_string()),
                Data::Int(i) => customer_from_f64(*i as f64, &i.to_string()),
                other => parse_customer(&cell_text(other).unwrap_or_default()),
            }
            .map_err(|m| (6, ca.clone(), "bad customer id", m))?;
            let country = text(7)?;
            let (ad, aa) = cell(8);
            let amount = match ad {
                _ if !has(8) => None,
                Data::Float(f) if f.is_finite() => Some(*f),
                Data::Int(i) => Some(*i as f64),
                other => Some(
                    parse_amount(&cell_text(other).unwrap_or_default())
                        .map_err(|m| (8, aa.clone(), "bad amount", m))?,
                ),
            };
            if invoice.trim().is_empty() && has(0) {
                return Err((
                    0,
                    cell(0).1,
                    "missing invoice",
                    "empty invoice number".into(),
                ));
            }
            lines.push(&Line {
                invoice: invoice.trim(),
                stock_code: stock.trim(),
                description: desc.trim(),
                quantity,
                timestamp,
                unit_price,
                customer_id,
                country: country.trim(),
                amount,
            });
            Ok(())
        })();
        if let Err((k, addr, reason, detail)) = parsed {
            match opts.on_bad_row {
                OnBadRow::Error => {
                    return Err(IngestError::BadRow {
                        path: path.to_path_buf(),
                        location: Location::Cell {
                            sheet: sheet.clone(),
                            cell: addr,
                            column: map.names[k].clone(),
                        },
                        reason: detail,
                    });
                }
                OnBadRow::Skip => rejects.push(Reject {
                    location: format!("sheet {sheet}, cell {addr}"),
                    column: map.names[k].clone(),
                    reason: reason.to_string(),
                    detail,
                    record: row
                        .iter()
                        .map(|c| cell_text(c).unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(","),
                }),
            }
        }
    }
    let mut loaded = finish(
        path,
        lines,
        &map,
        rows_read,
        rejects,
        source,
        &spec,
        opts,
        offset_days,
    )?;
    loaded.report.encoding = "xlsx (UTF-8)".into();
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(4), "E");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }
}
