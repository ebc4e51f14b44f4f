//! What every stream draws from: the shop's calendar, catalogue and countries (with the two
//! that cleaning rule 4 drops), list prices with quantity breaks, product picks, and the small
//! random draws (Poisson, uniform in a range).

use insiders_core::{Rng, derive_seed};

use super::TAG_CATALOGUE;
use super::invoice::Line;
use crate::ShopConfig;
use crate::archetype::Profile;
use crate::calendar::Calendar;
use crate::catalogue::{Catalogue, round_price};

/// Countries: index 0 is the United Kingdom, then the foreign ones with their weight (after
/// the real data's customers per country) and postage price in pence, then the two
/// countries cleaning rule 4 drops.
pub(super) const COUNTRIES: [(&str, f64, i64); 15] = [
    ("United Kingdom", 0.0, 0),
    ("Germany", 95.0, 1800),
    ("France", 87.0, 1800),
    ("Spain", 31.0, 2800),
    ("Belgium", 25.0, 1500),
    ("Switzerland", 21.0, 2800),
    ("Portugal", 19.0, 2800),
    ("Italy", 15.0, 2800),
    ("Finland", 12.0, 4000),
    ("Norway", 10.0, 4000),
    ("Netherlands", 9.0, 1500),
    ("Australia", 9.0, 4000),
    ("EIRE", 6.0, 1800),
    ("Unspecified", 0.0, 0),
    ("European Community", 0.0, 0),
];
pub(super) const UNSPECIFIED: u16 = 13;
pub(super) const EUROPEAN_COMMUNITY: u16 = 14;
const N_FOREIGN: usize = 12;

/// Shared read-only context of the streams.
pub(super) struct Ctx<'a> {
    pub(super) cfg: &'a ShopConfig,
    pub(super) cal: Calendar,
    pub(super) cat: Catalogue,
    /// Cumulative weights of the foreign countries (indices 1..=N_FOREIGN).
    foreign_cum: [f64; N_FOREIGN + 1],
}

/// A Poisson draw (Knuth for small means, a rounded normal for large ones).
pub(super) fn poisson(rng: &mut Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 40.0 {
        return (lambda + lambda.sqrt() * rng.normal()).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.uniform();
    while p > limit {
        k += 1;
        p *= rng.uniform();
    }
    k
}

/// Uniform in `[a, b)`.
pub(super) fn between(rng: &mut Rng, a: f64, b: f64) -> f64 {
    a + (b - a) * rng.uniform()
}

impl<'a> Ctx<'a> {
    /// The calendar and catalogue of a (validated) configuration.
    pub(super) fn new(cfg: &'a ShopConfig, start_day: i64) -> Self {
        let cal = Calendar::new(start_day, cfg.days);
        let cat = Catalogue::new(
            &mut Rng::new(derive_seed(cfg.seed, TAG_CATALOGUE)),
            cfg.products,
        );
        let mut foreign_cum = [0.0; N_FOREIGN + 1];
        for i in 0..N_FOREIGN {
            foreign_cum[i + 1] = foreign_cum[i] + COUNTRIES[i + 1].1;
        }
        Ctx {
            cfg,
            cal,
            cat,
            foreign_cum,
        }
    }

    pub(super) fn minute_of(&self, rng: &mut Rng, day: u32) -> u32 {
        day * 1440 + self.cal.sample_minute(rng, day)
    }

    pub(super) fn foreign_country(&self, rng: &mut Rng) -> u16 {
        let u = rng.uniform() * self.foreign_cum[N_FOREIGN];
        let j = self.foreign_cum[1..].partition_point(|&c| c <= u);
        (1 + j.min(N_FOREIGN - 1)) as u16
    }

    pub(super) fn customer_country(&self, rng: &mut Rng, profile: &Profile) -> u16 {
        let u = rng.uniform();
        if self.cfg.junk && u < 0.002 {
            return UNSPECIFIED;
        }
        if self.cfg.junk && u < 0.003 {
            return EUROPEAN_COMMUNITY;
        }
        let f = self.cfg.foreign_share;
        let p_foreign = (f * profile.foreign_factor).min(0.9).max(f);
        if rng.uniform() < p_foreign {
            self.foreign_country(rng)
        } else {
            0
        }
    }

    /// Price of a catalogue line: list price, 15% off from 100 units (the real data's
    /// quantity price breaks).
    pub(super) fn line_price(&self, item: u32, qty: i32) -> i64 {
        let list = self.cat.items[item as usize].price_pence;
        let pence = if qty >= 100 {
            round_price(list as f64 * 0.85)
        } else {
            list
        };
        pence * 10
    }

    /// Picks a product not yet in `lines` (a few retries, then accepts a repeat, as the
    /// real data has repeated codes within an invoice).
    pub(super) fn pick_product(
        &self,
        rng: &mut Rng,
        favourites: &[u32],
        fav_p: f64,
        lines: &[Line],
    ) -> u32 {
        let mut item = 0;
        for _ in 0..4 {
            item = if !favourites.is_empty() && rng.uniform() < fav_p {
                favourites[rng.below(favourites.len())]
            } else {
                self.cat.popular(rng)
            };
            if !lines.iter().any(|l| l.item == item) {
                break;
            }
        }
        item
    }
}
