//! The seeded synthetic shop: invoice lines in exactly the format of the project's copy of the
//! UCI "Online Retail" data, generated from customer archetypes, with the ground truth.
//!
//! It is the tool's embedded default data (what runs when a user gives no `--data`) and a
//! test bed for clustering engines: every customer id in the CSV has a known
//! [`Archetype`]. The same [`ShopConfig`] always gives byte-identical output; every random
//! choice flows from [`ShopConfig::seed`] through [`insiders_core::Rng`], one stream per
//! customer (`derive_seed(seed, customer_index)`), so the output does not depend on the order
//! in which customers are generated.
//!
//! ```
//! let shop = insiders_synth::generate(&insiders_synth::ShopConfig {
//!     customers: 50,
//!     ..Default::default()
//! })?;
//! let text = std::str::from_utf8(&shop.csv).unwrap();
//! assert!(text.starts_with("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,"));
//! assert_eq!(shop.truth.len(), 51); // 50 customers + the known-bad user 16446
//! # Ok::<(), insiders_synth::SynthError>(())
//! ```
//!
//! The design (archetypes, knobs, what each cleaning rule finds) is documented in
//! `docs/synthetic-shop.md`.

mod archetype;
mod calendar;
mod catalogue;
mod generate;

use std::io::Write;

pub use archetype::Archetype;
pub use generate::stream::{Batch, Row, StreamOptions, csv_header, generate_stream};
pub use generate::{BAD_USER_ID, FIRST_CUSTOMER_ID, FIRST_INVOICE};

/// The largest number of customers [`generate`] accepts.
pub const MAX_CUSTOMERS: usize = 10_000_000;

/// Errors of [`generate`]: an invalid [`ShopConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// `customers` is 0.
    #[error("the synthetic shop needs at least one customer")]
    NoCustomers,
    /// Writing the generated shop (or its temporary run files) failed.
    #[error("writing the synthetic shop: {0}")]
    Io(String),
    /// `customers` is above [`MAX_CUSTOMERS`].
    #[error("too many customers: {0} (at most {MAX_CUSTOMERS})")]
    TooManyCustomers(usize),
    /// `start` is not a real date with a four-digit year.
    #[error("invalid start date {0:04}-{1:02}-{2:02}")]
    BadDate(i32, u32, u32),
    /// `days` is out of range, or the period ends after 9999-12-31.
    #[error("invalid period of {0} days (28..=3660, ending by 9999-12-31)")]
    BadDays(u32),
    /// A share of [`ShopConfig::mix`] is negative or not finite.
    #[error("invalid share {value} for archetype {archetype}")]
    BadShare {
        /// The archetype whose share is invalid.
        archetype: Archetype,
        /// The share given.
        value: f64,
    },
    /// All shares of [`ShopConfig::mix`] are zero.
    #[error("the archetype shares sum to zero")]
    ZeroShares,
    /// A share knob (`anonymous_share`, `foreign_share`) is out of its range.
    #[error("{name} must be in {range}, got {value}")]
    BadKnob {
        /// The knob.
        name: &'static str,
        /// The accepted range.
        range: &'static str,
        /// The value given.
        value: f64,
    },
    /// `products` is out of range.
    #[error("products must be in 20..=5000, got {0}")]
    BadProducts(usize),
    /// The data would need more invoice numbers than seven digits give.
    #[error("{0} invoices do not fit in 8-digit invoice numbers; use fewer customers or days")]
    TooManyInvoices(usize),
    /// An archetype name that does not exist.
    #[error("unknown archetype {0:?}")]
    UnknownArchetype(String),
    /// Shares set with [`ShopConfig::with_shares`] that cannot be met: they sum to more than
    /// 1, or they name every archetype without summing to 1, or name one twice.
    #[error("archetype shares cannot be met: {0}")]
    Shares(String),
}

/// What to generate. `Default` is the tool's embedded data set: 2,000 customers, seed 42,
/// 374 days from 2010-12-01 (the real data's period, 2010-12-01 .. 2011-12-09).
#[derive(Debug, Clone, PartialEq)]
pub struct ShopConfig {
    /// Number of customers with an id (1..=[`MAX_CUSTOMERS`]); the known-bad user is extra.
    pub customers: usize,
    /// The master seed.
    pub seed: u64,
    /// First day of the period, `(year, month, day)`.
    pub start: (i32, u32, u32),
    /// Length of the period in days (28..=3660).
    pub days: u32,
    /// Relative share of each archetype of [`Archetype::MIXED`], in that order; normalised,
    /// so they need not sum to 1. Customers get exact largest-remainder quotas.
    pub mix: [f64; 7],
    /// Number of catalogue products (20..=5000).
    pub products: usize,
    /// Target share of lines without CustomerID (0..=0.9; the real data has 0.249).
    pub anonymous_share: f64,
    /// Share of customers outside the United Kingdom (0..=1; wholesale customers are 3.5x as
    /// likely to be abroad).
    pub foreign_share: f64,
    /// Whether to add the real data's dirt: junk stock codes, zero / 0.001 / negative prices,
    /// the countries "Unspecified" and "European Community", and the known-bad user 16446.
    /// With `false` the canonical cleaning rules 2-5 find nothing.
    pub junk: bool,
}

impl Default for ShopConfig {
    fn default() -> Self {
        let mut mix = [0.0; 7];
        for (m, a) in mix.iter_mut().zip(Archetype::MIXED) {
            *m = a.default_share();
        }
        ShopConfig {
            customers: 2_000,
            seed: 42,
            start: (2010, 12, 1),
            days: 374,
            mix,
            products: 400,
            anonymous_share: 0.25,
            foreign_share: 0.10,
            junk: true,
        }
    }
}

impl ShopConfig {
    /// The normalised share of `archetype` (0 for [`Archetype::BadUser`]).
    pub fn share(&self, archetype: Archetype) -> f64 {
        let total: f64 = self.mix.iter().sum();
        match archetype.mix_index() {
            Some(i) if total > 0.0 => self.mix[i] / total,
            _ => 0.0,
        }
    }

    /// Sets the relative share of a mixed archetype (builder style; `BadUser` is ignored).
    pub fn with_share(mut self, archetype: Archetype, share: f64) -> Self {
        if let Some(i) = archetype.mix_index() {
            self.mix[i] = share;
        }
        self
    }

    /// Sets the shares of some archetypes exactly (each in `0..=1`); the archetypes not named
    /// share the rest in proportion to their current relative shares (`mix`). Naming every
    /// mixed archetype requires the shares to sum to 1 (within 1e-9).
    ///
    /// # Errors
    /// [`SynthError::BadShare`] for a share outside `0..=1` or not finite, [`SynthError::Shares`]
    /// for shares summing to more than 1, an archetype named twice or `BadUser`, or a rest that
    /// the unnamed archetypes cannot take (they all have share 0).
    pub fn with_shares(mut self, shares: &[(Archetype, f64)]) -> Result<Self, SynthError> {
        let mut named = [None; 7];
        for &(archetype, value) in shares {
            if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
                return Err(SynthError::BadShare { archetype, value });
            }
            let i = archetype.mix_index().ok_or_else(|| {
                SynthError::Shares(format!("{archetype} is not a mixed archetype"))
            })?;
            if named[i].replace(value).is_some() {
                return Err(SynthError::Shares(format!("{archetype} named twice")));
            }
        }
        let set: f64 = named.iter().flatten().sum();
        if set > 1.0 + 1e-9 {
            return Err(SynthError::Shares(format!("the shares sum to {set} > 1")));
        }
        let rest = (1.0 - set).max(0.0);
        let others: f64 = (0..7)
            .filter(|&i| named[i].is_none())
            .map(|i| self.mix[i].max(0.0))
            .sum();
        let unnamed = named.iter().filter(|v| v.is_none()).count();
        if rest > 1e-9 && !(others > 0.0 && others.is_finite()) {
            return Err(SynthError::Shares(if unnamed == 0 {
                format!("the shares of every archetype sum to {set}, not 1")
            } else {
                format!("the rest {rest} falls to archetypes whose shares are all 0")
            }));
        }
        for (m, n) in self.mix.iter_mut().zip(named) {
            *m = match n {
                Some(v) => v,
                None if rest > 1e-9 => m.max(0.0) / others * rest,
                None => 0.0,
            };
        }
        Ok(self)
    }

    /// Sets the planted high-value customers (`loyal_high_value` and `bulk_wholesale`) to
    /// `share` of the customers together, in their default 4:1 ratio; the other archetypes
    /// share the rest in proportion to their current shares.
    ///
    /// # Errors
    /// As [`ShopConfig::with_shares`], for a share outside `0..=1`.
    pub fn with_high_value_share(self, share: f64) -> Result<Self, SynthError> {
        let (l, b) = (
            Archetype::LoyalHighValue.default_share(),
            Archetype::BulkWholesale.default_share(),
        );
        if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
            return Err(SynthError::BadShare {
                archetype: Archetype::LoyalHighValue,
                value: share,
            });
        }
        self.with_shares(&[
            (Archetype::LoyalHighValue, share * l / (l + b)),
            (Archetype::BulkWholesale, share * b / (l + b)),
        ])
    }

    /// Parses `name=share,name=share,...` (archetype names as in the truth CSV) for
    /// [`ShopConfig::with_shares`].
    ///
    /// # Errors
    /// [`SynthError::UnknownArchetype`] for an unknown name, [`SynthError::Shares`] for a
    /// malformed item.
    pub fn parse_shares(text: &str) -> Result<Vec<(Archetype, f64)>, SynthError> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (name, value) = item
                    .split_once('=')
                    .ok_or_else(|| SynthError::Shares(format!("`{item}` is not name=share")))?;
                let a: Archetype = name.trim().parse()?;
                let v: f64 = value.trim().parse().map_err(|_| {
                    SynthError::Shares(format!("`{}` is not a number", value.trim()))
                })?;
                Ok((a, v))
            })
            .collect()
    }

    /// The last day of the period, `(year, month, day)`; `None` for an invalid configuration.
    pub fn end(&self) -> Option<(i32, u32, u32)> {
        self.validate()
            .ok()
            .map(|start| calendar::civil_from_days(start + i64::from(self.days) - 1))
    }

    /// Checks every knob; returns the first day as days since 1970-01-01.
    fn validate(&self) -> Result<i64, SynthError> {
        if self.customers == 0 {
            return Err(SynthError::NoCustomers);
        }
        if self.customers > MAX_CUSTOMERS {
            return Err(SynthError::TooManyCustomers(self.customers));
        }
        let (y, m, d) = self.start;
        if !calendar::is_valid_date(y, m, d) {
            return Err(SynthError::BadDate(y, m, d));
        }
        let start = calendar::days_from_civil(y, m, d);
        let end_limit = calendar::days_from_civil(9999, 12, 31);
        if !(28..=3660).contains(&self.days) || start + i64::from(self.days) - 1 > end_limit {
            return Err(SynthError::BadDays(self.days));
        }
        for (&value, archetype) in self.mix.iter().zip(Archetype::MIXED) {
            if !value.is_finite() || value < 0.0 {
                return Err(SynthError::BadShare { archetype, value });
            }
        }
        if self.mix.iter().sum::<f64>() <= 0.0 {
            return Err(SynthError::ZeroShares);
        }
        if !(20..=5000).contains(&self.products) {
            return Err(SynthError::BadProducts(self.products));
        }
        if !(0.0..=0.9).contains(&self.anonymous_share) {
            return Err(SynthError::BadKnob {
                name: "anonymous_share",
                range: "[0, 0.9]",
                value: self.anonymous_share,
            });
        }
        if !(0.0..=1.0).contains(&self.foreign_share) {
            return Err(SynthError::BadKnob {
                name: "foreign_share",
                range: "[0, 1]",
                value: self.foreign_share,
            });
        }
        Ok(start)
    }
}

/// The ground truth of one customer id of the CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Truth {
    /// The CustomerID as written in the CSV (without the `.0`).
    pub customer_id: u32,
    /// The archetype that generated the customer.
    pub archetype: Archetype,
}

/// Counts of what [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopStats {
    /// Data lines (without the header).
    pub lines: usize,
    /// Distinct invoices (sales, cancellations and adjustments).
    pub invoices: usize,
    /// Invoices numbered `C…` (all lines with negative quantity).
    pub cancellation_invoices: usize,
    /// Lines of `C…` invoices.
    pub cancellation_lines: usize,
    /// Invoices without CustomerID.
    pub anonymous_invoices: usize,
    /// Lines without CustomerID.
    pub anonymous_lines: usize,
    /// Customer ids in the data (= truth rows, the known-bad user included).
    pub customers: usize,
    /// Catalogue products (junk codes not counted).
    pub products: usize,
    /// Lines with a junk stock code (POST, D, DOT, M, m, S, AMAZONFEE, BANK CHARGES, PADS,
    /// CRUK, B, DCGSSBOY, DCGSSGIRL).
    pub junk_code_lines: usize,
    /// Lines with unit price below 0.04 (zero, 0.001 or negative).
    pub low_price_lines: usize,
    /// Lines in "Unspecified" or "European Community".
    pub excluded_country_lines: usize,
    /// Size of the CSV in bytes.
    pub bytes: usize,
    /// First day of the period.
    pub first_day: (i32, u32, u32),
    /// Last day of the period.
    pub last_day: (i32, u32, u32),
}

/// A generated shop.
#[derive(Debug, Clone)]
pub struct Shop {
    /// The whole CSV, header included (UTF-8, `\n` line ends, sorted by date).
    pub csv: Vec<u8>,
    /// One row per customer id in the CSV, ascending id.
    pub truth: Vec<Truth>,
    /// Counts of what was written.
    pub stats: ShopStats,
}

/// Generates the shop described by `cfg`.
///
/// # Errors
/// [`SynthError`] for an invalid configuration (no customers, a bad date or period, bad
/// shares or knobs) or when the invoices would not fit in 8-digit numbers.
pub fn generate(cfg: &ShopConfig) -> Result<Shop, SynthError> {
    let (csv, truth, stats) = generate::run(cfg)?;
    Ok(Shop { csv, truth, stats })
}

/// Writes the ground truth as CSV: header `customer_id,archetype`, then one row per
/// customer, e.g. `12346,regular`.
///
/// # Errors
/// Any error of the writer.
pub fn write_truth_csv(truth: &[Truth], mut w: impl Write) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(16 + truth.len() * 24);
    buf.extend_from_slice(b"customer_id,archetype\n");
    for t in truth {
        buf.extend_from_slice(t.customer_id.to_string().as_bytes());
        buf.push(b',');
        buf.extend_from_slice(t.archetype.name().as_bytes());
        buf.push(b'\n');
    }
    w.write_all(&buf)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_configs_are_errors_not_panics() {
        let ok = ShopConfig::default();
        let bad = |f: &dyn Fn(&mut ShopConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            generate(&c).err()
        };
        assert_eq!(bad(&|c| c.customers = 0), Some(SynthError::NoCustomers));
        assert_eq!(
            bad(&|c| c.customers = MAX_CUSTOMERS + 1),
            Some(SynthError::TooManyCustomers(MAX_CUSTOMERS + 1))
        );
        assert_eq!(
            bad(&|c| c.start = (2011, 2, 29)),
            Some(SynthError::BadDate(2011, 2, 29))
        );
        assert_eq!(
            bad(&|c| c.start = (2011, 13, 1)),
            Some(SynthError::BadDate(2011, 13, 1))
        );
        assert_eq!(bad(&|c| c.days = 27), Some(SynthError::BadDays(27)));
        assert_eq!(bad(&|c| c.days = 3661), Some(SynthError::BadDays(3661)));
        assert_eq!(
            bad(&|c| c.start = (9999, 12, 1)),
            Some(SynthError::BadDays(374))
        );
        assert!(matches!(
            bad(&|c| c.mix[2] = f64::NAN),
            Some(SynthError::BadShare {
                archetype: Archetype::Occasional,
                ..
            })
        ));
        assert!(matches!(
            bad(&|c| c.mix[0] = -0.1),
            Some(SynthError::BadShare {
                archetype: Archetype::LoyalHighValue,
                ..
            })
        ));
        assert_eq!(bad(&|c| c.mix = [0.0; 7]), Some(SynthError::ZeroShares));
        assert_eq!(bad(&|c| c.products = 19), Some(SynthError::BadProducts(19)));
        assert!(matches!(
            bad(&|c| c.anonymous_share = 0.95),
            Some(SynthError::BadKnob {
                name: "anonymous_share",
                ..
            })
        ));
        assert!(matches!(
            bad(&|c| c.foreign_share = f64::NAN),
            Some(SynthError::BadKnob {
                name: "foreign_share",
                ..
            })
        ));
        assert_eq!(ok.end(), Some((2011, 12, 9)));
    }

    #[test]
    fn archetype_names_round_trip() {
        for a in Archetype::ALL {
            assert_eq!(a.name().parse::<Archetype>(), Ok(a));
            assert_eq!(a.to_string(), a.name());
        }
        assert!("vip".parse::<Archetype>().is_err());
        let total: f64 = Archetype::MIXED.iter().map(|a| a.default_share()).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let cfg = ShopConfig::default().with_share(Archetype::OneOff, 0.0);
        assert_eq!(cfg.share(Archetype::OneOff), 0.0);
        assert!((cfg.share(Archetype::Regular) - 0.22 / 0.8).abs() < 1e-12);
    }

    #[test]
    fn shares_are_set_and_the_rest_is_proportional() {
        let c = ShopConfig::default().with_high_value_share(0.15).unwrap();
        assert!((c.share(Archetype::LoyalHighValue) - 0.12).abs() < 1e-12);
        assert!((c.share(Archetype::BulkWholesale) - 0.03).abs() < 1e-12);
        // The other five had 0.90 of the customers and now have 0.85: each x 0.85 / 0.90.
        assert!((c.share(Archetype::Occasional) - 0.30 * 0.85 / 0.90).abs() < 1e-12);
        assert!((c.share(Archetype::Returner) - 0.08 * 0.85 / 0.90).abs() < 1e-12);
        let total: f64 = Archetype::MIXED.iter().map(|&a| c.share(a)).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let c = ShopConfig::default()
            .with_shares(&ShopConfig::parse_shares("one_off=0.5, regular=0.1").unwrap())
            .unwrap();
        assert!((c.share(Archetype::OneOff) - 0.5).abs() < 1e-12);
        assert!((c.share(Archetype::Regular) - 0.1).abs() < 1e-12);
        // 0.4 left for loyal, occasional, lapsed, wholesale, returner (0.58 before).
        assert!((c.share(Archetype::Lapsed) - 0.10 * 0.4 / 0.58).abs() < 1e-12);
        let err = |t: &str| {
            ShopConfig::parse_shares(t)
                .and_then(|s| ShopConfig::default().with_shares(&s))
                .unwrap_err()
        };
        assert!(matches!(
            err("regular=0.7,one_off=0.4"),
            SynthError::Shares(_)
        ));
        assert!(matches!(
            err("regular=0.1,regular=0.2"),
            SynthError::Shares(_)
        ));
        assert!(matches!(err("vip=0.1"), SynthError::UnknownArchetype(_)));
        assert!(matches!(err("regular"), SynthError::Shares(_)));
        assert!(matches!(err("regular=-0.1"), SynthError::BadShare { .. }));
        assert!(matches!(err("bad_user=0.1"), SynthError::Shares(_)));
        assert!(ShopConfig::default().with_high_value_share(1.5).is_err());
    }

    #[test]
    fn truth_csv_has_header_and_rows() {
        let truth = [
            Truth {
                customer_id: 12346,
                archetype: Archetype::Regular,
            },
            Truth {
                customer_id: 16446,
                archetype: Archetype::BadUser,
            },
        ];
        let mut out = Vec::new();
        write_truth_csv(&truth, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "customer_id,archetype\n12346,regular\n16446,bad_user\n"
        );
    }
}
