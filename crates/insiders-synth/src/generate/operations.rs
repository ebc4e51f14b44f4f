//! The operations stream: junk stock codes, price oddities and the excluded countries, at a
//! rate per 1,000 customers and at least once each, so every cleaning rule has work to do.

use insiders_core::{Rng, derive_seed};

use super::TAG_OPS;
use super::context::{Ctx, EUROPEAN_COMMUNITY, UNSPECIFIED};
use super::invoice::{CustomerInfo, Kind, Line, Sink, Stream};
use crate::archetype::Archetype;
use crate::catalogue::Junk;

/// A single junk line.
pub(super) fn junk_line(ctx: &Ctx<'_>, j: Junk, qty: i32, price_milli: i64) -> Line {
    Line {
        item: ctx.cat.junk(j),
        qty,
        price_milli,
        no_description: false,
    }
}

/// A log-normal amount of money in milli-pounds, rounded to pence.
fn money(rng: &mut Rng, median_pounds: f64, sigma: f64) -> i64 {
    ((median_pounds * (sigma * rng.normal()).exp() * 100.0).round() as i64).max(1) * 10
}

/// The operations stream: junk codes, price oddities and excluded countries, each at a rate
/// per 1,000 customers and at least once, so every cleaning rule has work to do.
pub(super) fn ops_stream(ctx: &Ctx<'_>, customers: &[CustomerInfo], src: u32, sink: &mut Sink) {
    let mut rng = Rng::new(derive_seed(ctx.cfg.seed, TAG_OPS));
    let scale = ctx.cfg.customers as f64 / 1000.0;
    let count = |rate: f64| ((rate * scale).round() as usize).max(1);
    let mut stream = Stream { sink, src, ord: 0 };
    let last = ctx.cfg.days - 1;
    let regular: Vec<&CustomerInfo> = customers
        .iter()
        .filter(|c| c.archetype != Archetype::BadUser)
        .collect();

    // Lines attached to identified customers, inside their active window.
    #[derive(Clone, Copy)]
    enum Attached {
        Manual,
        Discount,
        Cruk,
        Pads,
        BankCharges,
        Post,
        FreeGift,
    }
    let attached = [
        (Attached::Manual, 6.0),
        (Attached::Discount, 5.0),
        (Attached::Cruk, 2.0),
        (Attached::Pads, 2.0),
        (Attached::BankCharges, 1.0),
        (Attached::Post, 4.0),
        (Attached::FreeGift, 2.0),
    ];
    for (what, rate) in attached {
        for _ in 0..count(rate) {
            let c = regular[rng.below(regular.len())];
            let day = ctx.cal.sample_day(&mut rng, c.lo, c.hi);
            let minute = ctx.minute_of(&mut rng, day);
            let (kind, line) = match what {
                Attached::Manual => {
                    let line = junk_line(ctx, Junk::Manual, 1, money(&mut rng, 3.0, 1.2));
                    if rng.uniform() < 0.3 {
                        (Kind::Cancel, Line { qty: -1, ..line })
                    } else {
                        (Kind::Sale, line)
                    }
                }
                Attached::Discount => (
                    Kind::Cancel,
                    junk_line(ctx, Junk::Discount, -1, money(&mut rng, 20.0, 0.7)),
                ),
                Attached::Cruk => (
                    Kind::Cancel,
                    junk_line(ctx, Junk::Cruk, -1, money(&mut rng, 12.0, 0.8)),
                ),
                Attached::Pads => (Kind::Sale, junk_line(ctx, Junk::Pads, 1, 1)),
                Attached::BankCharges => (Kind::Sale, junk_line(ctx, Junk::BankCharges, 1, 1)),
                Attached::Post => (
                    Kind::Sale,
                    junk_line(ctx, Junk::Post, 1, money(&mut rng, 4.0, 0.4)),
                ),
                Attached::FreeGift => {
                    let item = ctx.cat.popular(&mut rng);
                    let line = Line {
                        item,
                        qty: 1 + rng.below(12) as i32,
                        price_milli: 0,
                        no_description: false,
                    };
                    (Kind::Sale, line)
                }
            };
            stream.push(minute, kind, c.id, c.country, &[line]);
        }
    }

    // Anonymous junk.
    let anywhere = |rng: &mut Rng| {
        let day = ctx.cal.sample_day(rng, 0, last);
        ctx.minute_of(rng, day)
    };
    for _ in 0..count(3.0) {
        let price = money(&mut rng, 8_000.0, 0.6);
        let minute = anywhere(&mut rng);
        if rng.uniform() < 0.3 {
            let fee = junk_line(ctx, Junk::AmazonFee, 1, price);
            stream.push(minute, Kind::Sale, 0, 0, &[fee]);
        }
        let fee = junk_line(ctx, Junk::AmazonFee, -1, price);
        stream.push(minute + 1, Kind::Cancel, 0, 0, &[fee]);
    }
    for _ in 0..count(2.0) {
        let line = junk_line(ctx, Junk::BankCharges, -1, money(&mut rng, 300.0, 0.8));
        let minute = anywhere(&mut rng);
        stream.push(minute, Kind::Cancel, 0, 0, &[line]);
    }
    for _ in 0..count(3.0) {
        let line = junk_line(ctx, Junk::Samples, -1, money(&mut rng, 15.0, 0.8));
        let minute = anywhere(&mut rng);
        stream.push(minute, Kind::Cancel, 0, 0, &[line]);
    }
    for _ in 0..count(2.0) {
        let line = junk_line(ctx, Junk::DotcomPostage, 1, money(&mut rng, 150.0, 0.7));
        let minute = anywhere(&mut rng);
        stream.push(minute, Kind::Sale, 0, 0, &[line]);
    }
    for j in [Junk::PartyBagBoy, Junk::PartyBagGirl] {
        for _ in 0..count(1.0) {
            let line = junk_line(ctx, j, 1 + rng.below(3) as i32, 3_290);
            let minute = anywhere(&mut rng);
            stream.push(minute, Kind::Sale, 0, 0, &[line]);
        }
    }
    for _ in 0..count(0.5) {
        let line = junk_line(ctx, Junk::ManualLower, 1, 2_550);
        let minute = anywhere(&mut rng);
        stream.push(minute, Kind::Sale, 0, 0, &[line]);
    }
    // Bad-debt adjustments: "A" invoices, one positive and two negative prices.
    {
        let price = money(&mut rng, 10_000.0, 0.3);
        let minute = anywhere(&mut rng);
        for (k, p) in [price, -price, -price].into_iter().enumerate() {
            let line = junk_line(ctx, Junk::BadDebt, 1, p);
            stream.push(minute + k as u32, Kind::Adjust, 0, 0, &[line]);
        }
    }
    // Unexplained zero-price stock adjustments without description or customer.
    for _ in 0..count(8.0) {
        let line = Line {
            item: ctx.cat.popular(&mut rng),
            qty: 1 + rng.below(60) as i32,
            price_milli: 0,
            no_description: true,
        };
        let minute = anywhere(&mut rng);
        stream.push(minute, Kind::Sale, 0, 0, &[line]);
    }
    // Ordinary anonymous baskets from the countries cleaning rule 4 drops.
    for (country, rate) in [(UNSPECIFIED, 2.0), (EUROPEAN_COMMUNITY, 1.0)] {
        for _ in 0..count(rate) {
            let n = 3 + rng.below(13);
            let mut lines = Vec::with_capacity(n);
            for _ in 0..n {
                let item = ctx.pick_product(&mut rng, &[], 0.0, &lines);
                let qty = ctx.cat.items[item as usize].pack * (1 + rng.below(2) as i32);
                lines.push(Line {
                    item,
                    qty,
                    price_milli: ctx.line_price(item, qty),
                    no_description: false,
                });
            }
            let minute = anywhere(&mut rng);
            stream.push(minute, Kind::Sale, 0, country, &lines);
        }
    }
}
