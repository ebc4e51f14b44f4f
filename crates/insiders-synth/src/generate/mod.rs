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
pub mod stream;

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

/// Runs the whole generator in memory (the configuration is validated again).
pub(crate) fn run(cfg: &ShopConfig) -> Result<(Vec<u8>, Vec<Truth>, ShopStats), SynthError> {
    stream::run(cfg)
}
