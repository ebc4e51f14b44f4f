//! CDNOW (`CDNOW_master.txt`): the purchases of the 23,570 customers who first bought at the
//! online CD shop CDNOW in the first quarter of 1997, to the end of June 1998.
//!
//! Whitespace-separated, an optional header line (`customer_id  date number_of_cds
//! dollar_value`), then four fields per line: customer id (zero-padded), date `YYYYMMDD`,
//! number of CDs, dollar value of the whole line. Line ends may be `\r\n`.

use crate::DatasetError;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One purchase line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Purchase {
    /// The customer id (the zero padding dropped).
    pub customer_id: u32,
    /// The day, as days since 1970-01-01 (as `insiders_ingest::date`).
    pub day: i64,
    /// Number of CDs bought.
    pub quantity: u32,
    /// Dollar value of the line (not a unit price).
    pub amount: f64,
}

/// The purchases of a CDNOW file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchases {
    /// The file read.
    pub path: PathBuf,
    /// One row per data line.
    pub rows: Vec<Purchase>,
}

impl Purchases {
    /// Number of purchase lines.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there is no purchase.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of distinct customers.
    pub fn customers(&self) -> usize {
        self.rows
            .iter()
            .map(|r| r.customer_id)
            .collect::<HashSet<_>>()
            .len()
    }

    /// First and last day, when there is a purchase.
    pub fn period(&self) -> Option<(i64, i64)> {
        let first = self.rows.iter().map(|r| r.day).min()?;
        let last = self.rows.iter().map(|r| r.day).max()?;
        Some((first, last))
    }
}

/// Reads a CDNOW file.
///
/// # Errors
/// [`DatasetError::Missing`] / [`DatasetError::Io`] naming the file, or
/// [`DatasetError::Parse`] naming file, line and column of the first malformed value.
pub fn read(path: &Path) -> Result<Purchases, DatasetError> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    parse(path, &bytes)
}

/// Parses the text of a CDNOW file; `path` is used in messages.
///
/// # Errors
/// [`DatasetError::Parse`] naming file, line and column of the first malformed value.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Purchases, DatasetError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        DatasetError::parse(path, line, 1, "not UTF-8 text")
    })?;
    let mut rows = Vec::with_capacity(text.len() / 28);
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        if lineno == 1 && fields[0] == "customer_id" {
            continue;
        }
        if fields.len() != 4 {
            return Err(DatasetError::parse(
                path,
                lineno,
                fields.len().min(4) + 1,
                format!(
                    "expected 4 fields (customer id, YYYYMMDD date, quantity, amount), found {}",
                    fields.len()
                ),
            ));
        }
        let bad = |column: usize, what: &str| {
            DatasetError::parse(
                path,
                lineno,
                column,
                format!("`{}` is not {what}", fields[column - 1]),
            )
        };
        let customer_id: u32 = fields[0]
            .parse()
            .map_err(|_| bad(1, "a customer id (an unsigned integer)"))?;
        let day = parse_yyyymmdd(fields[1]).ok_or_else(|| bad(2, "a date YYYYMMDD"))?;
        let quantity: u32 = fields[2]
            .parse()
            .map_err(|_| bad(3, "a quantity (an unsigned integer)"))?;
        let amount: f64 = fields[3]
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad(4, "an amount (a finite number)"))?;
        rows.push(Purchase {
            customer_id,
            day,
            quantity,
            amount,
        });
    }
    Ok(Purchases {
        path: path.to_path_buf(),
        rows,
    })
}

/// Days since 1970-01-01 of a real date written `YYYYMMDD`.
fn parse_yyyymmdd(s: &str) -> Option<i64> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let m: u32 = s[4..6].parse().ok()?;
    let d: u32 = s[6..].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let day = insiders_ingest::date::days_from_civil(y, m, d);
    (insiders_ingest::date::civil_from_days(day) == (y, m, d)).then_some(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_with_header_padding_and_crlf() {
        let text = b" customer_id  date number_of_cds  dollar_value\r\n 00001 19970101  1   11.77\r\n 00002 19970112  2   12.00\r\n\r\n";
        let p = parse(Path::new("cdnow.txt"), text).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            p.rows[0],
            Purchase {
                customer_id: 1,
                day: 9862,
                quantity: 1,
                amount: 11.77
            }
        );
        assert_eq!(p.rows[1].day, 9862 + 11);
        assert_eq!(p.customers(), 2);
        assert_eq!(p.period(), Some((9862, 9873)));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let cases: [(&[u8], usize, usize); 5] = [
            (b"00001 19970101 1 1.0\n00002 19970230 1 2.0\n", 2, 2),
            (b"00001 19970101 x 1.0\n", 1, 3),
            (b"00001 19970101 1 1.0\n00001 19970101 1\n", 2, 4),
            (b"0000a 19970101 1 1.0\n", 1, 1),
            (b"00001 19970101 1 nan\n", 1, 4),
        ];
        for (text, line, column) in cases {
            let e = parse(Path::new("x/CDNOW_master.txt"), text).unwrap_err();
            match &e {
                DatasetError::Parse {
                    line: l, column: c, ..
                } => assert_eq!((*l, *c), (line, column), "{e}"),
                other => panic!("{other}"),
            }
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("x/CDNOW_master.txt: line {line}, column {column}")),
                "{msg}"
            );
        }
    }
}
