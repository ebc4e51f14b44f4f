//! The generator: customers (one seeded stream each), the shop's "operations" stream (junk
//! codes, price oddities, excluded countries), the anonymous (no CustomerID) stream, then one
//! sort by time, invoice numbering and CSV formatting.
//!
//! - `context`: calendar, catalogue, countries, prices, product picks, random draws;
//! - `invoice`: drafts, lines and the sink streams write into;
//! - `assign`: archetype quotas, customer ids, the ground truth;
//! - `customers`: the customer streams and the known-bad user;
//! - `operations`: junk codes, price oddities, excluded countries;
//! - `anonymous`: lines without CustomerID;
//! - `csv`: invoice numbering and the CSV bytes.

mod anonymous;
mod assign;
mod context;
mod csv;
mod customers;
mod invoice;
mod operations;

use rayon::prelude::*;

use self::anonymous::anonymous_stream;
use self::assign::customer_id;
use self::context::Ctx;
use self::csv::write_csv;
use self::customers::{bad_user_stream, customer_stream};
use self::invoice::{CustomerInfo, Sink};
use self::operations::ops_stream;
use crate::{ShopConfig, ShopStats, SynthError, Truth};

/// The first customer id, as in the real data.
pub const FIRST_CUSTOMER_ID: u32 = 12_346;
/// The id of the known-bad user of cleaning rule 5 (reserved: regular customers skip it).
pub const BAD_USER_ID: u32 = 16_446;
/// The first invoice number, as in the real data (536365).
pub const FIRST_INVOICE: u32 = 536_365;

// Task ids of the non-customer streams: far above any customer index.
const TAG_ASSIGN: u64 = u64::MAX;
const TAG_CATALOGUE: u64 = u64::MAX - 1;
const TAG_OPS: u64 = u64::MAX - 2;
const TAG_ANON: u64 = u64::MAX - 3;
const TAG_BAD: u64 = u64::MAX - 4;

/// Runs the whole generator (the configuration is already validated).
pub(crate) fn run(
    cfg: &ShopConfig,
    start_day: i64,
) -> Result<(Vec<u8>, Vec<Truth>, ShopStats), SynthError> {
    let ctx = Ctx::new(cfg, start_day);

    // Archetypes: exact quotas, shuffled over the customer indices.
    let archetypes = assign::archetypes(cfg);

    // Customers in parallel, each into its own sink from its own stream; merged in index
    // order, so the result is the same for any thread count.
    let n = cfg.customers;
    let per_customer: Vec<(CustomerInfo, Sink)> = archetypes
        .par_iter()
        .enumerate()
        .map(|(i, &a)| {
            let mut own = Sink::default();
            let info = customer_stream(&ctx, i, customer_id(i, cfg.junk), a, &mut own);
            (info, own)
        })
        .collect();
    let mut sink = Sink::default();
    let total_lines: usize = per_customer.iter().map(|(_, s)| s.lines.len()).sum();
    sink.lines.reserve(total_lines + total_lines / 2);
    let mut infos: Vec<CustomerInfo> = Vec::with_capacity(n + 1);
    for (info, own) in per_customer {
        infos.push(info);
        sink.append(own);
    }
    if cfg.junk {
        infos.push(bad_user_stream(&ctx, n as u32, &mut sink));
        ops_stream(&ctx, &infos, n as u32 + 1, &mut sink);
    }
    let identified: usize = sink
        .drafts
        .iter()
        .filter(|d| d.customer_id != 0)
        .map(|d| d.len as usize)
        .sum();
    let anonymous_so_far = sink.lines.len() - identified;
    let s = cfg.anonymous_share;
    let target = (s / (1.0 - s) * identified as f64).round() as usize;
    if target > anonymous_so_far {
        anonymous_stream(&ctx, n as u32 + 2, target - anonymous_so_far, &mut sink);
    }

    let Sink { mut drafts, lines } = sink;
    // (minute, src, ord) is unique per draft: a total order, so any sort gives one result.
    drafts.par_sort_unstable_by_key(|d| (d.minute, d.src, d.ord));
    let total = drafts.len();
    let first_invoice = if total <= (1_000_000 - FIRST_INVOICE) as usize {
        FIRST_INVOICE
    } else if total <= 900_000 {
        100_000
    } else if total <= 9_000_000 {
        // Larger shops than the real data's numbering can hold: 7-digit invoice numbers.
        1_000_000
    } else {
        return Err(SynthError::TooManyInvoices(total));
    };

    let (csv, stats) = write_csv(&ctx, &drafts, &lines, first_invoice, start_day);
    let truth = assign::truth(&infos);
    let stats = ShopStats {
        customers: truth.len(),
        ..stats
    };
    Ok((csv, truth, stats))
}
