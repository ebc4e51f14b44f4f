//! From data to pixels: "nice" tick values and their labels, the linear `Scale` of an
//! axis, the plot `Area`, and the finite range of the data.

use crate::fmt_fixed;

/// "Nice" tick values covering `[lo, hi]`: about `target` ticks at steps of 1, 2, 2.5 or 5
/// times a power of ten. The first tick is <= `lo` and the last >= `hi`. Non-finite input
/// gives `[0, 1]`; `lo == hi` is widened around the value.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() {
        return vec![0.0, 1.0];
    }
    let (mut lo, mut hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1e-300) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    let target = target.clamp(2, 20) as f64;
    let raw = (hi - lo) / (target - 1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let n = ((last - first) as usize).min(200);
    (0..=n)
        .map(|i| {
            let v = (first + i as f64) * step;
            // round away binary noise like 0.30000000000000004
            let d = tick_decimals(step);
            if d < 8 {
                let p = 10f64.powi(d as i32);
                (v * p).round() / p
            } else {
                v
            }
        })
        .collect()
}

/// Decimals needed to write ticks at this step exactly (0..=8).
pub fn tick_decimals(step: f64) -> usize {
    if !step.is_finite() || step <= 0.0 {
        return 0;
    }
    for d in 0..=8usize {
        let scaled = step * 10f64.powi(d as i32);
        if scaled.round() >= 1.0 && (scaled - scaled.round()).abs() < 1e-6 * scaled {
            return d;
        }
    }
    8
}

/// Writes tick labels for a tick list with a common number of decimals.
pub fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let step = if ticks.len() >= 2 {
        ticks[1] - ticks[0]
    } else {
        1.0
    };
    let d = tick_decimals(step);
    ticks
        .iter()
        .map(|t| {
            if t.abs() >= 1e7 || d >= 8 {
                format!("{t:.2e}")
            } else {
                fmt_fixed(*t, d)
            }
        })
        .collect()
}

/// A linear map from data to pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scale {
    pub(super) d0: f64,
    pub(super) d1: f64,
    pub(super) p0: f64,
    pub(super) p1: f64,
}

impl Scale {
    pub(super) fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 {
            return (self.p0 + self.p1) / 2.0;
        }
        self.p0 + (v - self.d0) / span * (self.p1 - self.p0)
    }
}

pub(super) fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Plot area in pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Area {
    pub(super) x0: f64,
    pub(super) y0: f64,
    pub(super) x1: f64,
    pub(super) y1: f64,
}
