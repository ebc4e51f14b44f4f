//! The customer streams: each identified customer's invoices from its own seeded stream (its
//! archetype's rates, baskets and returns), and the known-bad user of cleaning rule 5.

use insiders_core::{Rng, derive_seed};

use super::context::{COUNTRIES, Ctx, between, poisson};
use super::invoice::{CustomerInfo, Kind, Line, Sink, Stream};
use super::{BAD_USER_ID, TAG_BAD};
use crate::archetype::{Archetype, Profile};
use crate::catalogue::Junk;

/// Everything a customer stream needs to fill baskets.
struct Buyer<'a> {
    profile: Profile,
    spend: f64,
    lines_scale: f64,
    favourites: &'a [u32],
}

impl Buyer<'_> {
    /// A purchase basket.
    fn basket(&self, ctx: &Ctx<'_>, rng: &mut Rng, out: &mut Vec<Line>) {
        out.clear();
        let median = (self.profile.lines_per_invoice * self.lines_scale).max(1.0);
        let n = (median.ln() + 0.55 * rng.normal())
            .exp()
            .round()
            .clamp(1.0, 300.0) as usize;
        let qty_scale = self.profile.qty_mult * self.spend.powf(0.75);
        for _ in 0..n {
            let item = ctx.pick_product(rng, self.favourites, self.profile.favourite_p, out);
            let pack = ctx.cat.items[item as usize].pack;
            let k = (qty_scale * (0.45 * rng.normal()).exp())
                .round()
                .clamp(1.0, 5_000.0) as i32;
            let qty = pack.saturating_mul(k).min(100_000);
            out.push(Line {
                item,
                qty,
                price_milli: ctx.line_price(item, qty),
                no_description: false,
            });
        }
    }
}

/// The customer stream of customer `index`: all its invoices, from its own seeded stream.
pub(super) fn customer_stream(
    ctx: &Ctx<'_>,
    index: usize,
    id: u32,
    archetype: Archetype,
    sink: &mut Sink,
) -> CustomerInfo {
    let cfg = ctx.cfg;
    let mut rng = Rng::new(derive_seed(cfg.seed, index as u64));
    let profile = archetype.profile();
    let country = ctx.customer_country(&mut rng, &profile);
    let spend = (profile.spend_sigma * rng.normal()).exp();
    let rate_jitter = (0.35 * rng.normal()).exp();
    let lines_scale = (0.3 * rng.normal()).exp() * spend.powf(0.25);
    let n_fav = 5 + rng.below(25);
    let favourites: Vec<u32> = (0..n_fav).map(|_| ctx.cat.popular(&mut rng)).collect();

    let days = cfg.days as f64;
    let last = cfg.days - 1;
    let at = |f: f64| ((f * days) as u32).min(last);
    let span_years = |lo: u32, hi: u32| f64::from(hi - lo + 1) / 365.0;
    let rate = profile.invoices_per_year * rate_jitter;
    let mut return_only = false;
    let (lo, hi, n) = match archetype {
        Archetype::LoyalHighValue => {
            let lo = at(between(&mut rng, 0.0, 0.08));
            (
                lo,
                last,
                poisson(&mut rng, rate * span_years(lo, last)).max(6),
            )
        }
        Archetype::Regular => {
            let lo = at(between(&mut rng, 0.0, 0.5));
            (
                lo,
                last,
                poisson(&mut rng, rate * span_years(lo, last)).max(3),
            )
        }
        Archetype::Occasional => {
            let lo = at(between(&mut rng, 0.0, 0.75));
            (lo, last, (2 + poisson(&mut rng, 1.2)).min(6))
        }
        Archetype::OneOff => (0, last, 1),
        Archetype::Lapsed => {
            let lo = at(between(&mut rng, 0.0, 0.1));
            let hi = at(between(&mut rng, 0.15, 0.45)).max(lo);
            (lo, hi, 2 + poisson(&mut rng, 2.5))
        }
        Archetype::BulkWholesale => {
            let lo = at(between(&mut rng, 0.0, 0.3));
            (
                lo,
                last,
                poisson(&mut rng, rate * span_years(lo, last)).max(3),
            )
        }
        Archetype::Returner => {
            let lo = at(between(&mut rng, 0.0, 0.5));
            let n = poisson(&mut rng, rate * span_years(lo, last)).max(2);
            // 10% bought before the period and only return in it (like the real data's
            // customers with only returns).
            return_only = rng.uniform() < 0.10;
            (lo, last, if return_only { 0 } else { n })
        }
        Archetype::BadUser => (0, last, 0),
    };

    let mut stream = Stream {
        sink,
        src: index as u32,
        ord: 0,
    };
    let buyer = Buyer {
        profile,
        spend,
        lines_scale,
        favourites: &favourites,
    };
    let mut minutes: Vec<u32> = (0..n)
        .map(|_| {
            let day = ctx.cal.sample_day(&mut rng, lo, hi);
            ctx.minute_of(&mut rng, day)
        })
        .collect();
    minutes.sort_unstable();
    let post_price = COUNTRIES[country as usize].2 * 10;
    let mut basket = Vec::new();
    let mut returned = Vec::new();
    for &minute in &minutes {
        buyer.basket(ctx, &mut rng, &mut basket);
        if cfg.junk && post_price > 0 && rng.uniform() < 0.7 {
            basket.push(Line {
                item: ctx.cat.junk(Junk::Post),
                qty: 1 + rng.below(3) as i32,
                price_milli: post_price,
                no_description: false,
            });
        }
        stream.push(minute, Kind::Sale, id, country, &basket);
        if rng.uniform() < profile.p_return {
            let day = minute / 1440;
            let ret_day = ctx.cal.sample_day(&mut rng, day, day + 21);
            let ret_minute = if ret_day == day {
                (minute + 1 + rng.below(90) as u32).min(day * 1440 + 1439)
            } else {
                ctx.minute_of(&mut rng, ret_day)
            };
            let products = basket.iter().filter(|l| l.item < ctx.cat.products as u32);
            let mut idx: Vec<usize> = (0..products.count()).collect();
            rng.shuffle(&mut idx);
            let r = 1 + rng.below(profile.return_lines.min(idx.len()).max(1));
            returned.clear();
            for &i in idx.iter().take(r) {
                let l = basket[i];
                let (a, b) = profile.return_frac;
                let q = (f64::from(l.qty) * between(&mut rng, a, b)).ceil().max(1.0) as i32;
                returned.push(Line { qty: -q, ..l });
            }
            stream.push(ret_minute, Kind::Cancel, id, country, &returned);
        }
    }
    if return_only {
        for _ in 0..1 + rng.below(2) {
            let day = ctx.cal.sample_day(&mut rng, lo, hi);
            let minute = ctx.minute_of(&mut rng, day);
            returned.clear();
            for _ in 0..1 + rng.below(3) {
                let item = ctx.pick_product(&mut rng, &favourites, 0.5, &returned);
                let pack = ctx.cat.items[item as usize].pack;
                let qty = pack * (1 + rng.below(3) as i32);
                returned.push(Line {
                    item,
                    qty: -qty,
                    price_milli: ctx.line_price(item, qty),
                    no_description: false,
                });
            }
            stream.push(minute, Kind::Cancel, id, country, &returned);
        }
    }
    CustomerInfo {
        id,
        archetype,
        country,
        lo,
        hi,
    }
}

/// The known-bad user: two small purchases, then one enormous purchase cancelled minutes
/// later (like customer 16446 of the real data: 80,995 units bought and returned).
pub(super) fn bad_user_stream(ctx: &Ctx<'_>, src: u32, sink: &mut Sink) -> CustomerInfo {
    let mut rng = Rng::new(derive_seed(ctx.cfg.seed, TAG_BAD));
    let days = f64::from(ctx.cfg.days);
    let last = ctx.cfg.days - 1;
    let mut stream = Stream { sink, src, ord: 0 };
    let early = ctx
        .cal
        .sample_day(&mut rng, (0.3 * days) as u32, (0.6 * days) as u32);
    let minute = ctx.minute_of(&mut rng, early);
    let small: Vec<Line> = (0..2)
        .map(|_| {
            let item = ctx.cat.popular(&mut rng);
            Line {
                item,
                qty: 1,
                price_milli: ctx.line_price(item, 1),
                no_description: false,
            }
        })
        .collect();
    stream.push(minute, Kind::Sale, BAD_USER_ID, 0, &small);
    let day = ctx.cal.sample_day(&mut rng, (0.9 * days) as u32, last);
    let minute = day * 1440 + ctx.cal.sample_minute(&mut rng, day).min(1200);
    let item = ctx.cat.popular(&mut rng);
    let huge = Line {
        item,
        qty: 80_995,
        price_milli: ctx.line_price(item, 80_995),
        no_description: false,
    };
    stream.push(minute, Kind::Sale, BAD_USER_ID, 0, &[huge]);
    let back = Line {
        qty: -80_995,
        ..huge
    };
    stream.push(
        minute + 1 + rng.below(30) as u32,
        Kind::Cancel,
        BAD_USER_ID,
        0,
        &[back],
    );
    CustomerInfo {
        id: BAD_USER_ID,
        archetype: Archetype::BadUser,
        country: 0,
        lo: 0,
        hi: last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShopConfig;
    use crate::generate::assign::customer_id;
    use crate::generate::invoice::Draft;

    /// The (minute, kind, customer, country, lines) of every invoice.
    fn invoices(drafts: &[Draft], lines: &[Line]) -> Vec<String> {
        drafts
            .iter()
            .map(|d| {
                let ls = &lines[d.first as usize..(d.first + d.len) as usize];
                format!(
                    "{} {:?} {} {} {:?}",
                    d.minute, d.kind, d.customer_id, d.country, ls
                )
            })
            .collect()
    }

    #[test]
    fn a_customer_does_not_depend_on_the_others() {
        let cfg = ShopConfig::default();
        let ctx = Ctx::new(&cfg, crate::calendar::days_from_civil(2010, 12, 1));
        let arch = Archetype::MIXED;
        // Customer 7 alone ...
        let mut alone = Sink::default();
        customer_stream(&ctx, 7, customer_id(7, true), arch[6], &mut alone);
        // ... and after customers 9, 8, ..., 0 (without 7) in the same sink.
        let mut shared = Sink::default();
        for i in (0..10).rev().filter(|&i| i != 7) {
            customer_stream(&ctx, i, customer_id(i, true), arch[i % 7], &mut shared);
        }
        let before = shared.drafts.len();
        customer_stream(&ctx, 7, customer_id(7, true), arch[6], &mut shared);
        assert!(alone.drafts.len() >= 2);
        assert_eq!(
            invoices(&alone.drafts, &alone.lines),
            invoices(&shared.drafts[before..], &shared.lines)
        );
    }
}
