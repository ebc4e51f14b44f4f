//! The gradient coefficients of UMAP's SGD as functions of the squared distance: `x^b` by
//! table ([`PowTable`], used by `transform`) and both coefficients of the fit tabulated
//! ([`GradTable`]), each a few flops and table reads instead of `powf` and a division.

use super::REPULSION_EPS;

/// The attractive gradient coefficient at squared distance `d2`.
#[inline]
pub(super) fn attract(d2: f64, a: f64, b: f64, pow: &PowTable) -> f64 {
    if d2 > 0.0 {
        let pb = pow.pow(d2);
        -2.0 * a * b * pb / (d2 * (a * pb + 1.0))
    } else {
        0.0
    }
}

/// The repulsive gradient coefficient at squared distance `d2 > 0`.
#[inline]
pub(super) fn repel(d2: f64, a: f64, b: f64, gamma: f64, pow: &PowTable) -> f64 {
    2.0 * gamma * b / ((REPULSION_EPS + d2) * (a * pow.pow(d2) + 1.0))
}

/// `x^b` for the gradients: read from a table of [`POW_TABLE_STEPS`] points per octave of `x`
/// with linear interpolation (relative error below 1e-5 for `b <= 1`, 3e-6 at the default
/// `b` — UMAP's `b` is below 1 unless `min_dist` is close to `spread` — and below 6e-5 up to
/// `b = 2`; umap-learn computes in float32), several times faster than `powf`; `exp(b ln x)`
/// outside the table's range `[2^-32, 2^20)`.
#[derive(Debug, Clone)]
pub struct PowTable {
    b: f64,
    /// Per interval between two table points: the left point's value and the difference to
    /// the right one's.
    table: Vec<[f64; 2]>,
}

/// Mantissa bits that index the table (64 points per octave: 27 KiB, so that the table and
/// the snapshot of the embedding compete less for the L1 cache).
pub(super) const POW_TABLE_BITS: u32 = 6;
/// Points per octave of [`PowTable`].
pub const POW_TABLE_STEPS: usize = 1 << POW_TABLE_BITS;
/// Smallest and largest (exclusive) binary exponents in the table.
pub(super) const POW_TABLE_EMIN: i64 = -32;
pub(super) const POW_TABLE_EMAX: i64 = 20;
/// Mantissa bits below the table index: the position within an interval.
pub(super) const POW_FRAC_BITS: u32 = 52 - POW_TABLE_BITS;
/// `x.to_bits() >> POW_FRAC_BITS` at the table's first point `2^POW_TABLE_EMIN`.
pub(super) const POW_INDEX_BASE: u64 = ((1023 + POW_TABLE_EMIN) as u64) << POW_TABLE_BITS;

impl PowTable {
    /// The table of `x^b`.
    pub fn new(b: f64) -> Self {
        let octaves = (POW_TABLE_EMAX - POW_TABLE_EMIN) as usize;
        let values: Vec<f64> = (0..=octaves * POW_TABLE_STEPS)
            .map(|i| {
                let e = POW_TABLE_EMIN + (i / POW_TABLE_STEPS) as i64;
                let m = 1.0 + (i % POW_TABLE_STEPS) as f64 / POW_TABLE_STEPS as f64;
                let x = m * (e as f64).exp2();
                (b * x.ln()).exp()
            })
            .collect();
        let table = values.windows(2).map(|w| [w[0], w[1] - w[0]]).collect();
        PowTable { b, table }
    }

    /// `x^b` for `x > 0`.
    #[inline(always)]
    pub fn pow(&self, x: f64) -> f64 {
        let bits = x.to_bits();
        // The exponent and the top mantissa bits, counted from the table's first point: one
        // (wrapping) comparison checks both ends of the range.
        let idx = (bits >> POW_FRAC_BITS).wrapping_sub(POW_INDEX_BASE);
        match self.table.get(idx as usize) {
            Some(&[lo, step]) => {
                let frac = (bits & ((1u64 << POW_FRAC_BITS) - 1)) as f64
                    * (1.0 / (1u64 << POW_FRAC_BITS) as f64);
                lo + frac * step
            }
            None => (self.b * x.ln()).exp(),
        }
    }
}

/// Which gradient coefficient a [`GradTable`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gradient {
    /// `-2ab d^(2(b-1)) / (1 + a d^(2b))` of a positive sample.
    Attract,
    /// `2γb / ((0.001 + d²)(1 + a d^(2b)))` of a negative sample.
    Repel,
}

/// A gradient coefficient of the fit as a function of the squared distance `x = d²`,
/// tabulated: per 1/64 octave of `x` in `[2^-32, 2^20)` a quadratic in the position within
/// the interval through the exact values at its ends and its middle (relative error below
/// 1e-6 for the default curve; the coefficients are smooth in `x` away from 0), computed
/// exactly outside that range. Two table reads, two multiplications and two additions
/// replace `d^b`'s table, a division and four more operations.
#[derive(Debug, Clone)]
pub(super) struct GradTable {
    pub(super) kind: Gradient,
    pub(super) a: f64,
    pub(super) b: f64,
    /// `-2ab` or `2γb`.
    pub(super) num: f64,
    /// Per interval: `c0, c1, c2` of `c0 + f (c1 + f c2)`, `f` in `[0, 1)` the position.
    pub(super) table: Vec<[f64; 3]>,
}

impl GradTable {
    pub(super) fn new(kind: Gradient, a: f64, b: f64, gamma: f64) -> Self {
        let num = match kind {
            Gradient::Attract => -2.0 * a * b,
            Gradient::Repel => 2.0 * gamma * b,
        };
        let mut t = GradTable {
            kind,
            a,
            b,
            num,
            table: Vec::new(),
        };
        let octaves = (POW_TABLE_EMAX - POW_TABLE_EMIN) as usize;
        let step = 1.0 / POW_TABLE_STEPS as f64;
        t.table = (0..octaves * POW_TABLE_STEPS)
            .map(|i| {
                let scale = ((POW_TABLE_EMIN + (i / POW_TABLE_STEPS) as i64) as f64).exp2();
                let m = 1.0 + (i % POW_TABLE_STEPS) as f64 * step;
                let f0 = t.exact(m * scale);
                let fm = t.exact((m + 0.5 * step) * scale);
                let f1 = t.exact((m + step) * scale);
                [f0, 4.0 * fm - 3.0 * f0 - f1, 2.0 * (f0 + f1) - 4.0 * fm]
            })
            .collect();
        t
    }

    /// The coefficient at `x >= 0`, computed (`x^b` by `powf`).
    #[cold]
    pub(super) fn exact(&self, x: f64) -> f64 {
        let pb = x.powf(self.b);
        match self.kind {
            Gradient::Attract => self.num * pb / (x * (self.a * pb + 1.0)),
            Gradient::Repel => self.num / ((REPULSION_EPS + x) * (self.a * pb + 1.0)),
        }
    }

    /// The coefficient at `x >= 0` (`x > 0` for [`Gradient::Attract`]).
    #[inline(always)]
    pub(super) fn at(&self, x: f64) -> f64 {
        let bits = x.to_bits();
        let idx = (bits >> POW_FRAC_BITS).wrapping_sub(POW_INDEX_BASE);
        match self.table.get(idx as usize) {
            Some(&[c0, c1, c2]) => {
                let f = (bits & ((1u64 << POW_FRAC_BITS) - 1)) as f64
                    * (1.0 / (1u64 << POW_FRAC_BITS) as f64);
                c0 + f * (c1 + f * c2)
            }
            None => self.exact(x),
        }
    }
}
