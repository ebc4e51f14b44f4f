//! The CSV path: the delimiter, the header and first data row (column map, date format,
//! source), the body cut into ~2 MB chunks at record boundaries (quote parity) and parsed in
//! parallel, and the chunks merged in file order.

use super::detect::{date_offset, describe_source, map_columns, resolve_date_format};
use super::record::{ChunkOut, CsvCtx, parse_chunk};
use super::{Loaded, finish};
use crate::date;
use crate::error::{IngestError, Location};
use crate::options::{Delimiter, InputOptions};
use crate::split::{Delim, Record, Splitter};
use crate::transactions::Transactions;
use rayon::prelude::*;
use std::path::Path;

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

/// The delimiter of `opts` for the splitter, or a configuration error.
pub(super) fn delimiter_byte(opts: &InputOptions) -> Result<Delim, IngestError> {
    let c = match opts.delimiter {
        Delimiter::Whitespace => return Ok(Delim::Blanks),
        Delimiter::Char(c) => c,
    };
    u8::try_from(u32::from(c))
        .ok()
        .filter(u8::is_ascii)
        .filter(|d| !matches!(d, b'"' | b'\n' | b'\r'))
        .map(Delim::Byte)
        .ok_or_else(|| {
            IngestError::Config(format!(
                "input.delimiter `{}` is not an ASCII character other than a quote or a line end (or \"whitespace\")",
                c.escape_default()
            ))
        })
}

/// Whether bodies with this delimiter may be cut at newlines outside quotes (blank-separated
/// files, which have no quoting, are read as one piece).
pub(super) fn splittable(delimiter: Delim) -> bool {
    matches!(delimiter, Delim::Byte(b',' | b';' | b'\t'))
}

/// What the header and the first data row of a CSV tell: the parsing context, where the
/// body starts (byte offset and physical line) and the description of the source.
pub(super) struct Prepared<'a> {
    pub(super) ctx: CsvCtx<'a>,
    pub(super) body_start: usize,
    pub(super) body_line: u64,
    pub(super) source: String,
    pub(super) offset_days: i64,
}

/// Reads the header and the first data row of `data` (which must hold at least both, or be
/// the whole file).
pub(super) fn prepare<'a>(
    path: &'a Path,
    data: &[u8],
    opts: &InputOptions,
    delimiter: Delim,
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
            descriptions: opts.descriptions,
        },
        body_start,
        body_line,
        source,
        offset_days,
    })
}

/// Merges parsed chunks (in file order) into the loaded table: the first error in file
/// order wins; interned ids follow first appearance, whatever the chunking.
pub(super) fn merge(
    path: &Path,
    outs: Vec<ChunkOut>,
    prep: &Prepared<'_>,
    opts: &InputOptions,
) -> Result<Loaded, IngestError> {
    let total: usize = outs.iter().map(|o| o.lines.len()).sum();
    let mut lines = Transactions::for_descriptions(opts.descriptions);
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
        &prep.ctx.map,
        rows_read,
        rejects,
        prep.source.clone(),
        prep.ctx.date_fmt.spec(),
        opts,
        prep.offset_days,
    )
}

pub(super) fn read_csv(
    path: &Path,
    data: &[u8],
    opts: &InputOptions,
) -> Result<Loaded, IngestError> {
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
pub(super) const CHUNK: usize = 2 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::read_bytes;

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
            delimiter: Delimiter::Char('"'),
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
}
