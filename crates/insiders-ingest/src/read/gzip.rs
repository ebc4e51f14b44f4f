//! The gzip path: a gzip-compressed CSV parsed while it is inflated. A decoder thread cuts
//! the stream after the last newline outside quotes of every chunk, and each chunk is parsed
//! on the rayon pool as it arrives; the result is the plain CSV path's.

use super::csv::{CHUNK, delimiter_byte, prepare, read_csv, splittable};
use super::record::{ChunkOut, parse_chunk};
use super::{Loaded, Reject, finish};
use crate::error::IngestError;
use crate::options::InputOptions;
use crate::split::{Delim, Record, Splitter};
use crate::transactions::Transactions;
use std::path::Path;

/// Reads a gzip-compressed CSV while it is being decompressed (see [`read_csv_stream`]).
pub(super) fn read_csv_gz(
    path: &Path,
    gz: Vec<u8>,
    opts: &InputOptions,
) -> Result<Loaded, IngestError> {
    read_csv_stream(
        path,
        flate2::read::MultiGzDecoder::new(std::io::Cursor::new(gz)),
        opts,
        true,
    )
}

/// Reads a CSV from a stream (a file, or a gzip decoder over one) without holding it: a
/// reader thread cuts the stream into chunks that end at record boundaries, and each chunk
/// is parsed on the rayon pool as soon as it arrives and merged in order as soon as the
/// chunks before it are, so reading, decompression and parsing overlap and only a few
/// chunks are in memory at a time. The result is the one [`read_csv`] gives on the whole
/// text. `gzip` says whether a read error is a gzip error.
pub(super) fn read_csv_stream(
    path: &Path,
    reader: impl std::io::Read + Send,
    opts: &InputOptions,
    gzip: bool,
) -> Result<Loaded, IngestError> {
    let fail = |detail: String| {
        if gzip {
            IngestError::Gzip {
                path: path.to_path_buf(),
                detail,
            }
        } else {
            IngestError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other(detail),
            }
        }
    };
    let delimiter = delimiter_byte(opts)?;
    if !splittable(delimiter) {
        let mut data = Vec::new();
        let mut reader = reader;
        reader
            .read_to_end(&mut data)
            .map_err(|e| fail(e.to_string()))?;
        return read_csv(path, &data, opts);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let (read, parsed) = std::thread::scope(|ts| {
        let decoder = ts.spawn(move || crate::gz::records_from(reader, CHUNK, &tx));
        let parsed = parse_stream(path, &rx, opts, delimiter);
        // Unblock the reader if parsing stopped early.
        drop(rx);
        let read = decoder
            .join()
            .unwrap_or_else(|_| Err("the reader thread failed".to_string()));
        (read, parsed)
    });
    read.map_err(fail)?;
    parsed
}

/// Parses the chunks arriving on `rx` (each ends at a record boundary, except perhaps the
/// last) in parallel, and merges them in order.
fn parse_stream(
    path: &Path,
    rx: &std::sync::mpsc::Receiver<Vec<u8>>,
    opts: &InputOptions,
    delimiter: Delim,
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
    // Chunks parsed but not merged yet are bounded: the reader waits for the merge.
    let max_pending = 2 * rayon::current_num_threads() + 2;
    let mut merger = Merger {
        budget: opts.memory_budget,
        path: path.to_path_buf(),
        ..Merger::default()
    };
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
            while index - merger.next >= max_pending {
                match done_rx.try_recv() {
                    Ok((i, out)) => merger.add(i, out),
                    // Help with the parsing meanwhile (with one thread, nobody else can).
                    Err(std::sync::mpsc::TryRecvError::Empty) => match rayon::yield_now() {
                        Some(rayon::Yield::Executed) => {}
                        _ => std::thread::sleep(std::time::Duration::from_micros(200)),
                    },
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                }
            }
            if merger.failed() {
                break;
            }
            spawn(index, chunk, 0);
            index += 1;
        }
    });
    drop(done_tx);
    for (i, out) in done_rx {
        merger.add(i, out);
    }
    let (lines, rows_read, rejects) = merger.finish()?;
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

/// Chunk outputs merged in chunk order as they arrive; the first error (in file order) wins.
#[derive(Default)]
struct Merger {
    next: usize,
    waiting: std::collections::BTreeMap<usize, ChunkOut>,
    lines: Transactions,
    rows_read: u64,
    rejects: Vec<Reject>,
    error: Option<IngestError>,
    /// The memory guard: (bytes the lines may take, what the run may use).
    budget: Option<(u64, u64)>,
    path: std::path::PathBuf,
}

impl Merger {
    fn add(&mut self, index: usize, out: ChunkOut) {
        self.waiting.insert(index, out);
        while let Some(out) = self.waiting.remove(&self.next) {
            self.next += 1;
            if self.error.is_some() {
                continue;
            }
            if let Some(e) = out.error {
                self.error = Some(e);
                continue;
            }
            self.rows_read += out.rows;
            if self.lines.is_empty() {
                self.lines = out.lines;
            } else {
                self.lines.append(&out.lines);
            }
            self.rejects.extend(out.rejects);
            if let Some((budget, limit)) = self.budget
                && self.lines.heap_bytes() as u64 > budget
            {
                self.error = Some(IngestError::Memory {
                    path: self.path.clone(),
                    rows: self.rows_read,
                    budget: insiders_core::memory::format_size(budget),
                    limit: insiders_core::memory::format_size(limit),
                });
            }
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn finish(self) -> Result<(Transactions, u64, Vec<Reject>), IngestError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.lines, self.rows_read, self.rejects)),
        }
    }
}

/// Whether `data` (which ends at a record boundary) holds a header and one complete record.
fn two_records(data: &[u8], delimiter: Delim) -> bool {
    let mut split = Splitter::new(data, 1, delimiter);
    split.skip_bom();
    let mut rec = Record::default();
    split.next_record(&mut rec) && split.next_record(&mut rec)
}

#[cfg(test)]
mod tests {
    use crate::options::InputOptions;
    use crate::read::read_bytes;
    use std::path::Path;

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
        assert_eq!(
            a.column(crate::transactions::Transactions::invoice),
            b.column(crate::transactions::Transactions::invoice)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::stock_code),
            b.column(crate::transactions::Transactions::stock_code)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::description),
            b.column(crate::transactions::Transactions::description)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::quantity),
            b.column(crate::transactions::Transactions::quantity)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::timestamp),
            b.column(crate::transactions::Transactions::timestamp)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::unit_price),
            b.column(crate::transactions::Transactions::unit_price)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::customer_id),
            b.column(crate::transactions::Transactions::customer_id)
        );
        assert_eq!(
            a.column(crate::transactions::Transactions::country),
            b.column(crate::transactions::Transactions::country)
        );
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
