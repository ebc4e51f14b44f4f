//! The anonymous stream: walk-in baskets without CustomerID, until the configured share of
//! anonymous lines is reached.

use insiders_core::{Rng, derive_seed};

use super::TAG_ANON;
use super::context::{Ctx, between};
use super::invoice::{Kind, Line, Sink, Stream};
use super::operations::junk_line;
use crate::catalogue::{Junk, round_price};

/// The anonymous stream: walk-in style baskets without CustomerID (larger baskets of small
/// quantities at retail prices, 20% above list) until `target` anonymous lines exist.
pub(super) fn anonymous_stream(ctx: &Ctx<'_>, src: u32, target: usize, sink: &mut Sink) {
    let mut rng = Rng::new(derive_seed(ctx.cfg.seed, TAG_ANON));
    let last = ctx.cfg.days - 1;
    let mut stream = Stream { sink, src, ord: 0 };
    let mut lines = Vec::new();
    let mut made = 0;
    while made < target {
        let day = ctx.cal.sample_day(&mut rng, 0, last);
        let minute = ctx.minute_of(&mut rng, day);
        let country = if rng.uniform() < 0.97 {
            0
        } else {
            ctx.foreign_country(&mut rng)
        };
        let n = (22f64.ln() + 0.8 * rng.normal())
            .exp()
            .round()
            .clamp(1.0, 400.0) as usize;
        let n = n.min(target - made).max(1);
        lines.clear();
        let mut value = 0i64;
        for _ in 0..n {
            let item = ctx.pick_product(&mut rng, &[], 0.0, &lines);
            let qty = (0.7 * rng.normal()).exp().round().max(1.0) as i32;
            let list = ctx.cat.items[item as usize].price_pence;
            let price_milli = round_price(list as f64 * 1.2) * 10;
            value += price_milli * i64::from(qty);
            lines.push(Line {
                item,
                qty,
                price_milli,
                no_description: false,
            });
        }
        if ctx.cfg.junk && n >= 5 && rng.uniform() < 0.25 {
            // Dotcom postage: a few percent of the order value (replaces the last line, so
            // the line count stays on target).
            let fee =
                ((value as f64 * between(&mut rng, 0.03, 0.06) / 10.0).round() as i64).max(85) * 10;
            if let Some(l) = lines.last_mut() {
                *l = junk_line(ctx, Junk::DotcomPostage, 1, fee);
            }
        }
        made += lines.len();
        stream.push(minute, Kind::Sale, 0, country, &lines);
    }
}
