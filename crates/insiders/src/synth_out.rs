//! Where `insiders synth` writes: CSV, gzip CSV (members compressed in parallel) or Parquet;
//! one file, or one per month. Every file is written beside its place and renamed into it
//! when complete.

use anyhow::{Result, bail};
use insiders_ingest::AtomicFile;
use rayon::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    /// The format named by `--format`, or by the extension of `out`.
    pub fn of(out: &Path, named: Option<&str>) -> Result<Format> {
        let name = out.to_string_lossy().to_ascii_lowercase();
        let f = match named {
            Some("csv") => Format::Csv,
            Some("csv.gz") | Some("gz") => Format::CsvGz,
            Some("parquet") => Format::Parquet,
            Some(other) => bail!("unknown --format `{other}` (csv, csv.gz or parquet)"),
            None if name.ends_with(".gz") => Format::CsvGz,
            None if name.ends_with(".parquet") => Format::Parquet,
            None => Format::Csv,
        };
        if f == Format::Parquet && !cfg!(feature = "parquet") {
            bail!(
                "this binary was built without Parquet support (cargo feature `parquet`): write csv or csv.gz"
            );
        }
        Ok(f)
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::CsvGz => "csv.gz",
            Format::Parquet => "parquet",
        }
    }
}

enum Sink {
    Text(AtomicFile),
    #[cfg(feature = "parquet")]
    Parquet(Box<insiders_ingest::parquet::LinesWriter<AtomicFile>>),
}

/// The open output file(s).
pub struct Output {
    base: PathBuf,
    format: Format,
    split: bool,
    current: Option<((i32, u32), Sink)>,
    written: Vec<PathBuf>,
    lines: usize,
}

/// Bytes of CSV per gzip member (members are compressed in parallel and concatenated).
const MEMBER: usize = 4 << 20;

impl Output {
    pub fn new(base: &Path, format: Format, split: bool) -> Output {
        Output {
            base: base.to_path_buf(),
            format,
            split,
            current: None,
            written: Vec::new(),
            lines: 0,
        }
    }

    /// Lines written so far.
    pub fn lines(&self) -> usize {
        self.lines
    }

    fn path_for(&self, month: (i32, u32)) -> PathBuf {
        if !self.split {
            return self.base.clone();
        }
        let name = self
            .base
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = self.format.extension();
        let stem = name
            .strip_suffix(&format!(".{ext}"))
            .unwrap_or(&name)
            .to_string();
        self.base
            .with_file_name(format!("{stem}-{:04}-{:02}.{ext}", month.0, month.1))
    }

    fn open(&self, month: (i32, u32)) -> std::io::Result<Sink> {
        let path = self.path_for(month);
        let mut f = AtomicFile::create(&path).map_err(std::io::Error::other)?;
        Ok(match self.format {
            Format::Csv => {
                f.write_all(insiders_synth::csv_header())?;
                Sink::Text(f)
            }
            Format::CsvGz => {
                f.write_all(&gzip_members(insiders_synth::csv_header())?)?;
                Sink::Text(f)
            }
            #[cfg(feature = "parquet")]
            Format::Parquet => Sink::Parquet(Box::new(
                insiders_ingest::parquet::LinesWriter::new(f).map_err(std::io::Error::other)?,
            )),
            #[cfg(not(feature = "parquet"))]
            Format::Parquet => return Err(std::io::Error::other("no Parquet support")),
        })
    }

    fn close(&mut self) -> std::io::Result<()> {
        if let Some((_, sink)) = self.current.take() {
            let file = match sink {
                Sink::Text(f) => f,
                #[cfg(feature = "parquet")]
                Sink::Parquet(w) => w.finish().map_err(std::io::Error::other)?,
            };
            self.written.push(file.path().to_path_buf());
            file.commit().map_err(std::io::Error::other)?;
        }
        Ok(())
    }

    /// Writes one batch of invoices (a batch never spans two months when splitting).
    pub fn batch(&mut self, b: &insiders_synth::Batch<'_>) -> std::io::Result<()> {
        let month = if self.split { b.month() } else { (0, 0) };
        if self.current.as_ref().is_some_and(|(m, _)| *m != month) {
            self.close()?;
        }
        if self.current.is_none() {
            self.current = Some((month, self.open(month)?));
        }
        let Some((_, sink)) = self.current.as_mut() else {
            return Err(std::io::Error::other("no open output"));
        };
        match sink {
            Sink::Text(f) => {
                let csv = b.csv();
                if self.format == Format::CsvGz {
                    f.write_all(&gzip_members(&csv)?)?;
                } else {
                    f.write_all(&csv)?;
                }
            }
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => {
                let mut err = None;
                b.for_each_row(|r| {
                    if err.is_none()
                        && let Err(e) = w.push(&insiders_ingest::parquet::LineRow {
                            invoice: r.invoice,
                            stock_code: r.stock_code,
                            description: r.description,
                            quantity: i64::from(r.quantity),
                            timestamp: r.minute * 60,
                            unit_price: r.price_milli as f64 / 1000.0,
                            customer_id: r.customer_id,
                            country: r.country,
                        })
                    {
                        err = Some(e);
                    }
                });
                if let Some(e) = err {
                    return Err(std::io::Error::other(e));
                }
            }
        }
        self.lines += b.lines();
        Ok(())
    }

    /// Closes the last file; returns every file written, in order.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.close()?;
        Ok(std::mem::take(&mut self.written))
    }
}

/// `data` as concatenated gzip members of at most [`MEMBER`] bytes each, compressed in
/// parallel (a gzip reader reads them as one stream).
fn gzip_members(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let parts: Vec<std::io::Result<Vec<u8>>> = data
        .par_chunks(MEMBER)
        .map(|piece| {
            let mut e = flate2::write::GzEncoder::new(
                Vec::with_capacity(piece.len() / 4),
                flate2::Compression::default(),
            );
            e.write_all(piece)?;
            e.finish()
        })
        .collect();
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(&p?);
    }
    Ok(out)
}
