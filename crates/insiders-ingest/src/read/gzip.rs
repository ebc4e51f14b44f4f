//! The gzip path: a gzip-compressed CSV parsed while it is inflated. A decoder thread cuts
//! the stream after the last newline outside quotes of every chunk, and each chunk is parsed
//! on the rayon pool as it arrives; the result is the plain CSV path's.

use super::Loaded;
use super::csv::{CHUNK, delimiter_byte, merge, prepare, read_csv, splittable};
use super::record::{ChunkOut, parse_chunk};
use crate::error::IngestError;
use crate::options::InputOptions;
use crate::split::{Delim, Record, Splitter};
use std::path::Path;

/// Reads a gzip-compressed CSV while it is being decompressed: a decoder thread inflates
/// the stream into chunks that end at record boundaries, and each chunk is parsed on the
/// rayon pool as soon as it arrives, so decompression and parsing overlap. The result is
/// the one [`read_csv`] gives on the decompressed bytes.
pub(super) fn read_csv_gz(
    path: &Path,
    gz: Vec<u8>,
    opts: &InputOptions,
) -> Result<Loaded, IngestError> {
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
