//! Special functions and samplers used by the models and hypothesis tests: `ln Γ`, `erfc`,
//! the normal tail, and Gamma / Beta draws from [`insiders_core::Rng`] (sample quantiles are
//! [`insiders_core::quantile_sorted`]).
//!
//! Everything here is written for this crate (Rust's standard library has no `lgamma` or
//! `erfc` on stable), accurate to a few units in the last place over the ranges we use.

use insiders_core::Rng;

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// `ln Γ(x)` for `x > 0` (Stirling's series after shifting the argument to `x >= 15`).
///
/// Returns `+inf` for `x <= 0` or NaN input (callers keep arguments positive).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::INFINITY;
    }
    let mut shift = 0.0;
    let mut z = x;
    // ln Γ(x) = ln Γ(x + n) - ln(x (x+1) ... (x+n-1)); the product is kept in range by
    // taking its logarithm in blocks.
    let mut prod = 1.0;
    while z < 15.0 {
        prod *= z;
        z += 1.0;
        if prod > 1e280 {
            shift += prod.ln();
            prod = 1.0;
        }
    }
    shift += prod.ln();
    let zi = 1.0 / z;
    let zi2 = zi * zi;
    // Bernoulli terms B_{2k} / (2k (2k-1) z^{2k-1})
    let series = zi
        * (1.0 / 12.0
            + zi2
                * (-1.0 / 360.0
                    + zi2
                        * (1.0 / 1260.0
                            + zi2
                                * (-1.0 / 1680.0
                                    + zi2
                                        * (1.0 / 1188.0
                                            + zi2 * (-691.0 / 360_360.0 + zi2 / 156.0))))));
    (z - 0.5) * z.ln() - z + HALF_LN_2PI + series - shift
}

/// `ln Γ(z + d) - ln Γ(z)` for `z > 0`, `z + d > 0`, without the cancellation of the plain
/// difference when `z` is large: for `z >= 1000` the difference of Stirling's series
/// `(z - ½) ln(1 + d/z) + d ln(z + d) - d + (1/12)(1/(z+d) - 1/z) - (1/360)(1/(z+d)³ - 1/z³)`
/// (the next term is below `1e-18`).
pub fn ln_gamma_ratio(z: f64, d: f64) -> f64 {
    if z >= 1000.0 && z + d >= 1000.0 {
        let w = z + d;
        let cube = |v: f64| v * v * v;
        (z - 0.5) * (d / z).ln_1p() + d * w.ln()
            - d
            - d / (12.0 * z * w)
            - (1.0 / cube(w) - 1.0 / cube(z)) / 360.0
    } else {
        ln_gamma(z + d) - ln_gamma(z)
    }
}

/// `ln(e^a + e^b)` without overflow; `-inf` terms are allowed.
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// The complementary error function `erfc(x) = 1 - erf(x)`, with full relative accuracy in
/// the upper tail (continued fraction) and a cancellation-free series near zero.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.5 {
        return 1.0 - erf_series(x);
    }
    if x > 27.3 {
        return 0.0; // below the smallest subnormal
    }
    // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ...)))), modified Lentz
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for n in 1..500 {
        let an = n as f64 * 0.5;
        d = x + an * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = x + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * f)
}

/// `erf(x)` for `0 <= x < 3` by `erf(x) = 2/√π e^{-x²} Σ 2^n x^{2n+1} / (1·3···(2n+1))`
/// (positive terms: no cancellation).
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    loop {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x2).exp() * sum
}

/// The standard normal upper tail `P(Z > z)`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// A Gamma(shape, rate) draw (Marsaglia & Tsang 2000; shape < 1 via the `U^{1/shape}` boost).
pub fn gamma_draw(rng: &mut Rng, shape: f64, rate: f64) -> f64 {
    if shape < 1.0 {
        let u = loop {
            let u = rng.uniform();
            if u > 0.0 {
                break u;
            }
        };
        return gamma_draw(rng, shape + 1.0, rate) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let z = rng.normal();
        let v = 1.0 + c * z;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.uniform();
        if u > 0.0 && u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v / rate;
        }
    }
}

/// A Beta(a, b) draw as `X / (X + Y)` with independent Gamma draws.
pub fn beta_draw(rng: &mut Rng, a: f64, b: f64) -> f64 {
    let x = gamma_draw(rng, a, 1.0);
    let y = gamma_draw(rng, b, 1.0);
    if x + y > 0.0 { x / (x + y) } else { 0.5 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_known_values() {
        // absolute accuracy near the zeros at 1 and 2 is a few ulps of ln Γ(15) ≈ 25
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(2.0)).abs() < 1e-14);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        // ln Γ(101) = ln(100!)
        let lf: f64 = (1..=100).map(|k| (k as f64).ln()).sum();
        assert!((ln_gamma(101.0) - lf).abs() < 1e-12 * lf);
        // small argument: ln Γ(x) ≈ -ln x - γ x
        let x = 1e-7;
        assert!((ln_gamma(x) - (-(x.ln()) - 0.577_215_664_901_532_9 * x)).abs() < 1e-12);
        assert_eq!(ln_gamma(0.0), f64::INFINITY);
    }

    #[test]
    fn ln_gamma_ratio_is_accurate_for_large_arguments() {
        // mpmath: loggamma(1e12 + 3.5) - loggamma(1e12) and loggamma(2000.25) - loggamma(2000)
        let v = ln_gamma_ratio(1e12, 3.5);
        assert!((v - 96.708_573_905_754_3).abs() < 1e-13, "{v}");
        let w = ln_gamma_ratio(2000.0, 0.25);
        assert!((w - 1.900_178_737_932_762).abs() < 1e-13, "{w}");
        assert!((ln_gamma_ratio(3.0, 2.0) - 24.0f64.ln() + 2.0f64.ln()).abs() < 1e-13);
    }

    #[test]
    fn erfc_known_values() {
        // values from scipy.special.erfc
        let cases = [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (2.5, 0.000_406_952_017_444_958_9),
            (3.0, 2.209_049_699_858_544e-5),
            (5.0, 1.537_459_794_428_034_8e-12),
            (10.0, 2.088_487_583_762_545e-45),
            (-1.0, 1.842_700_792_949_715),
        ];
        for (x, want) in cases {
            let got = erfc(x);
            assert!(
                ((got - want) / want).abs() < 1e-13,
                "erfc({x}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn gamma_and_beta_draws_have_the_right_moments() {
        let mut rng = Rng::new(3);
        for (shape, rate) in [(0.3, 2.0), (2.5, 0.5), (40.0, 4.0)] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| gamma_draw(&mut rng, shape, rate)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            assert!(
                (m / (shape / rate) - 1.0).abs() < 0.02,
                "{shape} {rate} mean {m}"
            );
            assert!(
                (v / (shape / rate / rate) - 1.0).abs() < 0.05,
                "{shape} {rate} var {v}"
            );
        }
        let n = 100_000;
        let m = (0..n).map(|_| beta_draw(&mut rng, 2.0, 6.0)).sum::<f64>() / n as f64;
        assert!((m - 0.25).abs() < 0.005);
    }
}
