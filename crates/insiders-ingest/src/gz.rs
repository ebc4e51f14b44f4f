//! Gzip input: whole-buffer decompression with libdeflate (fast), falling back to a
//! streaming multi-member decoder (flate2) for files libdeflate cannot size.

use crate::error::IngestError;
use std::io::Read;
use std::path::Path;

/// Whether the bytes start with the gzip magic number.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompresses gzip data; returns other data unchanged.
pub fn maybe_gunzip(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, IngestError> {
    if !is_gzip(&bytes) {
        return Ok(bytes);
    }
    let gz_err = |detail: String| IngestError::Gzip {
        path: path.to_path_buf(),
        detail,
    };
    if bytes.len() < 18 {
        return Err(gz_err(format!("only {} bytes", bytes.len())));
    }
    // ISIZE: the uncompressed size mod 2^32 of the last member.
    let n = bytes.len();
    let isize =
        u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]) as usize;
    if isize > 0 && isize < (1 << 31) {
        let mut out = vec![0u8; isize];
        let mut d = libdeflater::Decompressor::new();
        match d.gzip_decompress(&bytes, &mut out) {
            Ok(written) if written == isize => {
                out.truncate(written);
                return Ok(out);
            }
            Ok(_) | Err(libdeflater::DecompressionError::InsufficientSpace) => {}
            Err(libdeflater::DecompressionError::BadData) => {}
        }
    }
    // Multi-member, > 4 GiB, or corrupt: the streaming decoder tells which.
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| gz_err(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
/// Inflates a gzip stream into chunks of about `chunk` bytes that end at record
/// boundaries (see [`records_from`]).
pub(crate) fn inflate_records(
    gz: &[u8],
    chunk: usize,
    tx: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<(), String> {
    records_from(flate2::read::MultiGzDecoder::new(gz), chunk, tx)
}

/// Reads `reader` into chunks of about `chunk` bytes, each cut after the last newline
/// outside quotes, and sends them in order (the last chunk is whatever remains). Stops
/// quietly when the receiver is gone.
pub(crate) fn records_from(
    mut reader: impl Read,
    chunk: usize,
    tx: &std::sync::mpsc::SyncSender<Vec<u8>>,
) -> Result<(), String> {
    let mut buf: Vec<u8> = Vec::with_capacity(chunk);
    loop {
        let want = (chunk + chunk / 8).saturating_sub(buf.len()).max(chunk / 8) as u64;
        let got = (&mut reader)
            .take(want)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        if got == 0 {
            if !buf.is_empty() {
                let _ = tx.send(buf);
            }
            return Ok(());
        }
        if buf.len() < chunk {
            continue;
        }
        if let Some(cut) = last_record_end(&buf) {
            let mut next = Vec::with_capacity(chunk + chunk / 8);
            next.extend_from_slice(&buf[cut..]);
            buf.truncate(cut);
            if tx.send(std::mem::replace(&mut buf, next)).is_err() {
                return Ok(());
            }
        }
    }
}

fn last_record_end(data: &[u8]) -> Option<usize> {
    let mut quotes = memchr::memchr_iter(b'"', data).count();
    let mut end = data.len();
    while let Some(i) = memchr::memrchr2(b'"', b'\n', &data[..end]) {
        if data[i] == b'"' {
            quotes -= 1;
        } else if quotes.is_multiple_of(2) {
            return Some(i + 1);
        }
        end = i;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn last_record_end_skips_quoted_newlines() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny\"\n\"p\nq"), Some(8));
        assert_eq!(last_record_end(b"a,\"x\ny"), None);
        assert_eq!(last_record_end(b"abc"), None);
    }

    #[test]
    fn inflate_records_cuts_at_record_boundaries() {
        let mut data = Vec::new();
        for i in 0..5000 {
            data.extend_from_slice(format!("{i},\"multi\nline {i}\",x\n").as_bytes());
        }
        let gz = gzip(&data);
        let (tx, rx) = std::sync::mpsc::sync_channel(1000);
        inflate_records(&gz, 4096, &tx).unwrap();
        drop(tx);
        let chunks: Vec<Vec<u8>> = rx.into_iter().collect();
        assert!(chunks.len() > 10);
        assert_eq!(chunks.concat(), data);
        for c in &chunks {
            assert!(c.ends_with(b",x\n"));
            assert_eq!(memchr::memchr_iter(b'"', c).count() % 2, 0);
        }
        let (tx, _rx) = std::sync::mpsc::sync_channel(1000);
        let e = inflate_records(&gz[..gz.len() / 2], 4096, &tx).unwrap_err();
        assert!(!e.is_empty());
    }

    #[test]
    fn round_trip_multi_member_and_truncated() {
        let data = b"InvoiceNo,StockCode\n1,2\n".repeat(100);
        let gz = gzip(&data);
        assert_eq!(maybe_gunzip(Path::new("x.gz"), gz.clone()).unwrap(), data);
        let mut two = gz.clone();
        two.extend(gzip(b"more"));
        let mut want = data.clone();
        want.extend(b"more");
        assert_eq!(maybe_gunzip(Path::new("x.gz"), two).unwrap(), want);
        let cut = gz[..gz.len() / 2].to_vec();
        let e = maybe_gunzip(Path::new("x.gz"), cut).unwrap_err();
        assert!(
            e.to_string().contains("x.gz: truncated or corrupt gzip"),
            "{e}"
        );
        assert_eq!(
            maybe_gunzip(Path::new("p"), b"plain".to_vec()).unwrap(),
            b"plain"
        );
    }
}
