//! The generator in bounded memory: customers are generated in blocks; each block's
//! invoices are sorted by time and, when there is more than one block, spilled to a
//! temporary run file; the runs are merged by `Draft::order` (minute, the invoice's kind
//! in the text order of its number, source stream, ordinal: a total order, the in-memory
//! generator's sort key) and handed out in batches of consecutive invoices,
//! numbered in that order. The invoices are therefore the in-memory generator's, in the same
//! order, whatever the block size and the thread count.

use rayon::prelude::*;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::assign::{self, customer_id};
use super::context::{COUNTRIES, Ctx};
use super::csv::{CHUNK, Counts, HEADER, format_chunk, item_fields};
use super::invoice::{CustomerInfo, Draft, Kind, Line, Sink};
use super::{FIRST_INVOICE, anonymous::anonymous_stream, customers, operations::ops_stream};
use crate::{ShopConfig, ShopStats, SynthError, Truth};

/// How the streamed generator works: customers per block and where runs are spilled.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Customers generated (and held) at a time.
    pub block_customers: usize,
    /// Folder for the temporary run files (removed when done); the system's temporary
    /// folder when `None`.
    pub spill_dir: Option<PathBuf>,
    /// Invoice lines per batch handed to the consumer (at least one invoice).
    pub batch_lines: usize,
    /// Cut batches where the month changes (for one file per month).
    pub split_months: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            block_customers: 50_000,
            spill_dir: None,
            batch_lines: 1 << 20,
            split_months: false,
        }
    }
}

/// One row of a batch, as the CSV writes it (for writers of other formats).
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Invoice number, with its `C`/`A` prefix.
    pub invoice: &'a str,
    pub stock_code: &'a str,
    /// Empty for the real data's unexplained zero-price adjustments.
    pub description: &'a str,
    pub quantity: i32,
    /// Minutes since the epoch (1970-01-01 00:00, the shop's local time).
    pub minute: i64,
    /// Unit price in thousandths of a pound.
    pub price_milli: i64,
    /// Customer id, `None` for anonymous invoices.
    pub customer_id: Option<u32>,
    pub country: &'static str,
}

/// Consecutive invoices, in the shop's order.
pub struct Batch<'c> {
    ctx: &'c Ctx<'c>,
    items: &'c [(Vec<u8>, Vec<u8>)],
    drafts: Vec<Draft>,
    lines: Vec<Line>,
    first_number: u64,
    start_day: i64,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("invoices", &self.drafts.len())
            .field("lines", &self.lines.len())
            .field("first_number", &self.first_number)
            .finish()
    }
}

impl Batch<'_> {
    /// Number of invoice lines.
    pub fn lines(&self) -> usize {
        self.lines.len()
    }

    /// The month `(year, month)` of the batch's first invoice.
    pub fn month(&self) -> (i32, u32) {
        let d = self.drafts.first().map_or(0, |d| d.minute / 1440);
        let (y, m, _) = crate::calendar::civil_from_days(self.start_day + i64::from(d));
        (y, m)
    }

    /// The CSV lines (no header), formatted in parallel chunks and concatenated in order.
    pub fn csv(&self) -> Vec<u8> {
        let parts: Vec<(Vec<u8>, Counts)> = self
            .drafts
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| {
                let first = self.first_number + (c * CHUNK) as u64;
                format_chunk(self.ctx, self.items, chunk, &self.lines, first)
            })
            .collect();
        let mut out = Vec::with_capacity(parts.iter().map(|(b, _)| b.len()).sum());
        for (b, _) in parts {
            out.extend_from_slice(&b);
        }
        out
    }

    /// Calls `f` with every row, in order.
    pub fn for_each_row(&self, mut f: impl FnMut(&Row<'_>)) {
        let mut invoice = String::new();
        for (k, d) in self.drafts.iter().enumerate() {
            invoice.clear();
            match d.kind {
                Kind::Sale => {}
                Kind::Cancel => invoice.push('C'),
                Kind::Adjust => invoice.push('A'),
            }
            invoice.push_str(&(self.first_number + k as u64).to_string());
            let minute =
                (self.start_day + i64::from(d.minute / 1440)) * 1440 + i64::from(d.minute % 1440);
            let country = COUNTRIES[d.country as usize].0;
            let customer_id = (d.customer_id != 0).then_some(d.customer_id);
            for l in &self.lines[d.first as usize..(d.first + d.len) as usize] {
                let item = &self.ctx.cat.items[l.item as usize];
                f(&Row {
                    invoice: &invoice,
                    stock_code: &item.code,
                    description: if l.no_description {
                        ""
                    } else {
                        &item.description
                    },
                    quantity: l.qty,
                    minute,
                    price_milli: l.price_milli,
                    customer_id,
                    country,
                });
            }
        }
    }

    fn counts(&self) -> Counts {
        let products = self.ctx.cat.products as u32;
        let mut c = Counts::default();
        for d in &self.drafts {
            c.invoice(d);
            for l in &self.lines[d.first as usize..(d.first + d.len) as usize] {
                c.line(l, products);
            }
        }
        c
    }
}

/// The CSV header the generator writes.
pub fn csv_header() -> &'static [u8] {
    HEADER
}

/// A sorted run of invoices: in memory, or spilled to a file.
enum Run {
    Memory {
        drafts: std::vec::IntoIter<Draft>,
        lines: Vec<Line>,
    },
    File {
        reader: BufReader<std::fs::File>,
        left: usize,
    },
}

const DRAFT_BYTES: usize = 4 * 4 + 1 + 4 + 2;
const LINE_BYTES: usize = 4 + 4 + 8 + 1;

fn kind_byte(k: Kind) -> u8 {
    match k {
        Kind::Sale => 0,
        Kind::Cancel => 1,
        Kind::Adjust => 2,
    }
}

fn spill(path: &Path, sink: &Sink) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for d in &sink.drafts {
        let mut b = [0u8; DRAFT_BYTES];
        b[0..4].copy_from_slice(&d.minute.to_le_bytes());
        b[4..8].copy_from_slice(&d.src.to_le_bytes());
        b[8..12].copy_from_slice(&d.ord.to_le_bytes());
        b[12..16].copy_from_slice(&d.len.to_le_bytes());
        b[16] = kind_byte(d.kind);
        b[17..21].copy_from_slice(&d.customer_id.to_le_bytes());
        b[21..23].copy_from_slice(&d.country.to_le_bytes());
        w.write_all(&b)?;
        for l in &sink.lines[d.first as usize..(d.first + d.len) as usize] {
            let mut b = [0u8; LINE_BYTES];
            b[0..4].copy_from_slice(&l.item.to_le_bytes());
            b[4..8].copy_from_slice(&l.qty.to_le_bytes());
            b[8..16].copy_from_slice(&l.price_milli.to_le_bytes());
            b[16] = u8::from(l.no_description);
            w.write_all(&b)?;
        }
    }
    w.flush()
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl Run {
    /// The next invoice: its draft (with `first` meaningless) and its lines appended to `out`.
    fn next(&mut self, out: &mut Vec<Line>) -> std::io::Result<Option<Draft>> {
        match self {
            Run::Memory { drafts, lines } => Ok(drafts.next().inspect(|d| {
                out.extend_from_slice(&lines[d.first as usize..(d.first + d.len) as usize]);
            })),
            Run::File { reader, left } => {
                if *left == 0 {
                    return Ok(None);
                }
                *left -= 1;
                let mut b = [0u8; DRAFT_BYTES];
                reader.read_exact(&mut b)?;
                let kind = match b[16] {
                    0 => Kind::Sale,
                    1 => Kind::Cancel,
                    _ => Kind::Adjust,
                };
                let d = Draft {
                    minute: u32_at(&b, 0),
                    src: u32_at(&b, 4),
                    ord: u32_at(&b, 8),
                    len: u32_at(&b, 12),
                    kind,
                    customer_id: u32_at(&b, 17),
                    country: u16::from_le_bytes([b[21], b[22]]),
                    first: 0,
                };
                for _ in 0..d.len {
                    let mut l = [0u8; LINE_BYTES];
                    reader.read_exact(&mut l)?;
                    out.push(Line {
                        item: u32_at(&l, 0),
                        qty: i32::from_le_bytes([l[4], l[5], l[6], l[7]]),
                        price_milli: i64::from_le_bytes([
                            l[8], l[9], l[10], l[11], l[12], l[13], l[14], l[15],
                        ]),
                        no_description: l[16] != 0,
                    });
                }
                Ok(Some(d))
            }
        }
    }
}

/// Temporary run files, removed on drop.
struct SpillDir {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Generates the shop described by `cfg` and hands its invoices to `on_batch` in order,
/// holding at most one block of customers (and the anonymous and operations streams) in
/// memory. Returns the ground truth and the counts.
///
/// # Errors
/// [`SynthError`] for an invalid configuration, too many invoices, an I/O error of the
/// spill files, or the first error of `on_batch` (as [`SynthError::Io`]).
pub fn generate_stream(
    cfg: &ShopConfig,
    opts: &StreamOptions,
    mut on_batch: impl FnMut(&Batch<'_>) -> std::io::Result<()>,
) -> Result<(Vec<Truth>, ShopStats), SynthError> {
    let start_day = cfg.validate()?;
    let ctx = Ctx::new(cfg, start_day);
    let archetypes = assign::archetypes(cfg);
    let n = cfg.customers;
    let block = opts.block_customers.max(1);
    let io = |e: std::io::Error| SynthError::Io(e.to_string());
    let blocks = n.div_ceil(block);
    let mut spill_dir = None;
    if blocks > 1 {
        let base = opts.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!(
            "insiders-synth-{}-{}",
            std::process::id(),
            cfg.seed
        ));
        std::fs::create_dir_all(&dir).map_err(io)?;
        spill_dir = Some(SpillDir { dir, files: vec![] });
    }
    let mut runs: Vec<Run> = Vec::new();
    let mut infos: Vec<CustomerInfo> = Vec::with_capacity(n + 1);
    let mut identified = 0usize;
    let mut anonymous_so_far = 0usize;
    let mut total_lines = 0usize;
    let mut total_drafts = 0usize;
    let mut add_run = |mut sink: Sink, runs: &mut Vec<Run>| -> Result<(), SynthError> {
        sink.drafts.par_sort_unstable_by_key(Draft::order);
        total_drafts += sink.drafts.len();
        total_lines += sink.lines.len();
        match spill_dir.as_mut() {
            None => runs.push(Run::Memory {
                drafts: sink.drafts.into_iter(),
                lines: sink.lines,
            }),
            Some(sd) => {
                let path = sd.dir.join(format!("run-{}.bin", sd.files.len()));
                spill(&path, &sink).map_err(io)?;
                sd.files.push(path.clone());
                let left = sink.drafts.len();
                let file = std::fs::File::open(&path).map_err(io)?;
                runs.push(Run::File {
                    reader: BufReader::with_capacity(1 << 16, file),
                    left,
                });
            }
        }
        Ok(())
    };
    for b in 0..blocks {
        let (lo, hi) = (b * block, ((b + 1) * block).min(n));
        let per_customer: Vec<(CustomerInfo, Sink)> = archetypes[lo..hi]
            .par_iter()
            .enumerate()
            .map(|(j, &a)| {
                let i = lo + j;
                let mut own = Sink::default();
                let info =
                    customers::customer_stream(&ctx, i, customer_id(i, cfg.junk), a, &mut own);
                (info, own)
            })
            .collect();
        let mut sink = Sink::default();
        sink.lines
            .reserve(per_customer.iter().map(|(_, s)| s.lines.len()).sum());
        for (info, own) in per_customer {
            infos.push(info);
            sink.append(own);
        }
        let with_id = identified_lines(&sink);
        identified += with_id;
        anonymous_so_far += sink.lines.len() - with_id;
        add_run(sink, &mut runs)?;
    }
    let mut sink = Sink::default();
    if cfg.junk {
        infos.push(customers::bad_user_stream(&ctx, n as u32, &mut sink));
        ops_stream(&ctx, &infos, n as u32 + 1, &mut sink);
    }
    let with_id = identified_lines(&sink);
    identified += with_id;
    anonymous_so_far += sink.lines.len() - with_id;
    let s = cfg.anonymous_share;
    let target = (s / (1.0 - s) * identified as f64).round() as usize;
    if target > anonymous_so_far {
        anonymous_stream(&ctx, n as u32 + 2, target - anonymous_so_far, &mut sink);
    }
    add_run(sink, &mut runs)?;

    let first_invoice = first_invoice(total_drafts)?;
    let items = item_fields(&ctx);
    // The k-way merge.
    let mut heap = BinaryHeap::new();
    let mut heads: Vec<Option<(Draft, Vec<Line>)>> = Vec::with_capacity(runs.len());
    for (r, run) in runs.iter_mut().enumerate() {
        let mut lines = Vec::new();
        let head = run.next(&mut lines).map_err(io)?;
        if let Some(d) = head {
            heap.push(std::cmp::Reverse((d.order(), r)));
        }
        heads.push(head.map(|d| (d, lines)));
    }
    let mut counts = Counts::default();
    let mut number = u64::from(first_invoice);
    let mut batch = Batch {
        ctx: &ctx,
        items: &items,
        drafts: Vec::new(),
        lines: Vec::new(),
        first_number: number,
        start_day,
    };
    let month_of = |minute: u32| {
        let (y, m, _) = crate::calendar::civil_from_days(start_day + i64::from(minute / 1440));
        (y, m)
    };
    let mut emit = |batch: &mut Batch<'_>, number: u64| -> Result<(), SynthError> {
        if !batch.drafts.is_empty() {
            counts.add(&batch.counts());
            on_batch(batch).map_err(io)?;
        }
        batch.drafts.clear();
        batch.lines.clear();
        batch.first_number = number;
        Ok(())
    };
    while let Some(std::cmp::Reverse((_, r))) = heap.pop() {
        let Some((mut d, lines)) = heads[r].take() else {
            continue;
        };
        if let Some(prev) = batch.drafts.last() {
            let cut_month = opts.split_months && month_of(prev.minute) != month_of(d.minute);
            if cut_month || batch.lines.len() >= opts.batch_lines {
                emit(&mut batch, number)?;
            }
        }
        d.first = batch.lines.len() as u32;
        batch.lines.extend_from_slice(&lines);
        batch.drafts.push(d);
        number += 1;
        let mut next_lines = lines;
        next_lines.clear();
        if let Some(nd) = runs[r].next(&mut next_lines).map_err(io)? {
            heap.push(std::cmp::Reverse((nd.order(), r)));
            heads[r] = Some((nd, next_lines));
        }
    }
    emit(&mut batch, number)?;
    drop(spill_dir);
    let truth = assign::truth(&infos);
    let last = i64::from(cfg.days) - 1;
    let stats = ShopStats {
        lines: total_lines,
        invoices: total_drafts,
        cancellation_invoices: counts.cancellation_invoices,
        cancellation_lines: counts.cancellation_lines,
        anonymous_invoices: counts.anonymous_invoices,
        anonymous_lines: counts.anonymous_lines,
        customers: truth.len(),
        products: ctx.cat.products,
        junk_code_lines: counts.junk_code_lines,
        low_price_lines: counts.low_price_lines,
        excluded_country_lines: counts.excluded_country_lines,
        bytes: 0,
        first_day: crate::calendar::civil_from_days(start_day),
        last_day: crate::calendar::civil_from_days(start_day + last),
    };
    Ok((truth, stats))
}

/// Lines of invoices with a customer id.
fn identified_lines(sink: &Sink) -> usize {
    sink.drafts
        .iter()
        .filter(|d| d.customer_id != 0)
        .map(|d| d.len as usize)
        .sum()
}

/// The first invoice number: the real data's (536365) while six digits last, then 100000,
/// then 7 and 8 digits.
fn first_invoice(total: usize) -> Result<u32, SynthError> {
    if total <= (1_000_000 - FIRST_INVOICE) as usize {
        Ok(FIRST_INVOICE)
    } else if total <= 900_000 {
        Ok(100_000)
    } else if total <= 9_000_000 {
        Ok(1_000_000)
    } else if total <= 90_000_000 {
        Ok(10_000_000)
    } else {
        Err(SynthError::TooManyInvoices(total))
    }
}

/// The whole shop in memory (header included), as [`crate::generate`] returns it.
pub(crate) fn run(cfg: &ShopConfig) -> Result<(Vec<u8>, Vec<Truth>, ShopStats), SynthError> {
    let mut csv = HEADER.to_vec();
    let opts = StreamOptions {
        block_customers: usize::MAX,
        ..StreamOptions::default()
    };
    let (truth, mut stats) = generate_stream(cfg, &opts, |b| {
        csv.extend_from_slice(&b.csv());
        Ok(())
    })?;
    stats.bytes = csv.len();
    Ok((csv, truth, stats))
}
