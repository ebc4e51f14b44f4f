//! The E-step and scatter kernels: log-sum-exp with a vectorisable `exp`, the quadratic
//! forms, and the per-chunk loops, compiled a second time for AVX2 (the only `unsafe` of the
//! engine: calls into those copies right after the run-time check; the same IEEE
//! operations, so the same bits).

use super::em::{Params, first_moments};
use crate::kmeans::Data;

/// log-sum-exp with one exp per component: `out = exp(w - max) / sum`, returns
/// `max + ln sum`. The exps run through [`exp_poly`] (a branch-free polynomial that the
/// compiler vectorises over the components, at most 1 ulp from `f64::exp`, see its test)
/// for arguments at or above [`EXP_POLY_MIN`]; below, where the result is subnormal or 0,
/// `f64::exp` (an argument below -746 gives exactly 0 and is not computed).
#[inline(always)]
pub(super) fn normalise(w: &[f64], max: f64, out: &mut [f64]) -> f64 {
    let out = &mut out[..w.len()];
    let mut low = false;
    for (o, &v) in out.iter_mut().zip(w.iter()) {
        let z = v - max;
        low |= z < EXP_POLY_MIN;
        *o = exp_poly(if z < EXP_POLY_MIN { EXP_POLY_MIN } else { z });
    }
    if low {
        for (o, &v) in out.iter_mut().zip(w.iter()) {
            let z = v - max;
            if z < EXP_POLY_MIN {
                *o = if z < -746.0 { 0.0 } else { z.exp() };
            }
        }
    }
    let mut s = 0.0;
    for &e in out.iter() {
        s += e;
    }
    let inv = 1.0 / s;
    for o in out.iter_mut() {
        *o *= inv;
    }
    max + s.ln()
}

/// Smallest argument of [`exp_poly`]: its result stays a normal number.
const EXP_POLY_MIN: f64 = -708.0;

/// `exp(z)` for `EXP_POLY_MIN <= z <= 700`, without branches or tables so that a loop of
/// them vectorises: `z = n ln 2 + r` with `n = round(z / ln 2)` and `|r| <= ln 2 / 2`
/// (Cody-Waite: `ln 2` in two parts, `n ln2_hi` exact), `exp(r)` by its Taylor polynomial
/// of degree 13 (truncation error below `4e-18` relative) by Estrin's scheme, times `2^n` built
/// in the exponent bits. Measured against `f64::exp` on the whole range: at most 1 ulp
/// (test `exp_poly_is_within_one_ulp`).
#[inline(always)]
fn exp_poly(z: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // 1.5 * 2^52: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 significant bits (n * LN2_HI exact).
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let kd = z * LOG2E + SHIFT;
    let n = kd.to_bits().wrapping_sub(SHIFT.to_bits());
    let nf = kd - SHIFT;
    let r = (z - nf * LN2_HI) - nf * LN2_LO;
    // exp(r) = 1 + (r + r^2 Q(r)), Q(r) = sum_{i<12} C[i] r^i by Estrin's scheme (short
    // dependency chains; the leading 1 is added last, one rounding).
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let a = (C[0] + C[1] * r) + (C[2] + C[3] * r) * r2;
    let b = (C[4] + C[5] * r) + (C[6] + C[7] * r) * r2;
    let c = (C[8] + C[9] * r) + (C[10] + C[11] * r) * r2;
    let q = (a + b * r4) + c * r8;
    let p = 1.0 + (r + r2 * q);
    let scale = f64::from_bits(n.wrapping_add(1023) << 52);
    p * scale
}

/// Responsibilities and log-likelihoods of the points of one chunk (`out` holds their rows
/// of `resp`, the first point is `first`); adds their first moments to `acc` when given
/// (see [`first_moments`]). Returns the chunk's sum of log-likelihoods, in point order.
///
/// On a CPU with AVX2 the same code runs with 256-bit registers ([`e_chunk_avx2`]): IEEE
/// add, multiply, divide and the libm calls give the same bits on either path (no fused
/// multiply-add), so the output does not depend on the CPU.
pub(super) fn e_chunk(
    data: &Data,
    params: &Params,
    first: usize,
    out: &mut [f64],
    acc: Option<&mut [f64]>,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `e_chunk_avx2` only needs AVX2, which the CPU has (checked just above).
        #[allow(unsafe_code)]
        return unsafe { e_chunk_avx2(data, params, first, out, acc) };
    }
    e_chunk_body(data, params, first, out, acc)
}

/// [`e_chunk`] compiled for AVX2 (the same operations in wider registers: the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn e_chunk_avx2(
    data: &Data,
    params: &Params,
    first: usize,
    out: &mut [f64],
    acc: Option<&mut [f64]>,
) -> f64 {
    e_chunk_body(data, params, first, out, acc)
}

/// The body of [`e_chunk`].
#[inline(always)]
fn e_chunk_body(
    data: &Data,
    params: &Params,
    first: usize,
    out: &mut [f64],
    acc: Option<&mut [f64]>,
) -> f64 {
    if !params.diagonal {
        match params.d {
            1 => return e_chunk_full::<1>(data, params, first, out, acc),
            2 => return e_chunk_full::<2>(data, params, first, out, acc),
            3 => return e_chunk_full::<3>(data, params, first, out, acc),
            4 => return e_chunk_full::<4>(data, params, first, out, acc),
            5 => return e_chunk_full::<5>(data, params, first, out, acc),
            6 => return e_chunk_full::<6>(data, params, first, out, acc),
            7 => return e_chunk_full::<7>(data, params, first, out, acc),
            8 => return e_chunk_full::<8>(data, params, first, out, acc),
            _ => {}
        }
    }
    let (k, d) = (params.k, params.d);
    let mut diff = vec![0.0; d];
    let mut w = vec![0.0; k];
    let mut sum = 0.0;
    let mut acc = acc;
    for (t, o) in out.chunks_mut(k).enumerate() {
        let x = data.row(first + t);
        sum += params.responsibilities_of(x, &mut diff, &mut w, o);
        if let Some(a) = acc.as_deref_mut() {
            first_moments(x, o, a, d + 1);
        }
    }
    sum
}

/// [`e_chunk`] for full covariances in `D` dimensions.
#[inline(always)]
fn e_chunk_full<const D: usize>(
    data: &Data,
    params: &Params,
    first: usize,
    out: &mut [f64],
    acc: Option<&mut [f64]>,
) -> f64 {
    let k = params.k;
    let mut w = vec![0.0; k];
    let mut sum = 0.0;
    let mut acc = acc;
    let xs = &data.xs[first * D..];
    for (o, x) in out.chunks_exact_mut(k).zip(xs.chunks_exact(D)) {
        sum += params.responsibilities_full::<D>(x, &mut w, o);
        if let Some(a) = acc.as_deref_mut() {
            first_moments(x, o, a, D + 1);
        }
    }
    sum
}

/// `|(x - mu)^T P|^2` for the precision factor `P` of one component (`diagonal`: `P` is
/// diagonal); `diff` is a work buffer of length `d`.
#[inline(always)]
pub(super) fn quad(
    x: &[f64],
    mu: &[f64],
    p: &[f64],
    d: usize,
    diagonal: bool,
    diff: &mut [f64],
) -> f64 {
    if diagonal {
        quad_diag(x, mu, p, d)
    } else {
        match d {
            1 => quad_full::<1>(x, mu, p),
            2 => quad_full::<2>(x, mu, p),
            3 => quad_full::<3>(x, mu, p),
            4 => quad_full::<4>(x, mu, p),
            5 => quad_full::<5>(x, mu, p),
            6 => quad_full::<6>(x, mu, p),
            7 => quad_full::<7>(x, mu, p),
            8 => quad_full::<8>(x, mu, p),
            _ => quad_full_dyn(x, mu, p, d, diff),
        }
    }
}

/// `|(x - mu)^T P|^2` for an upper-triangular `P` (`y_c = sum_{r <= c} (x - mu)_r P[r][c]`),
/// with the dimension known at compile time so the loops unroll.
#[inline(always)]
pub(super) fn quad_full<const D: usize>(x: &[f64], mu: &[f64], p: &[f64]) -> f64 {
    let (x, mu, p) = (&x[..D], &mu[..D], &p[..D * D]);
    let mut diff = [0.0; D];
    for c in 0..D {
        diff[c] = x[c] - mu[c];
    }
    let mut q = 0.0;
    for c in 0..D {
        let mut y = 0.0;
        for r in 0..=c {
            y += diff[r] * p[r * D + c];
        }
        q += y * y;
    }
    q
}

/// [`quad_full`] for any dimension.
fn quad_full_dyn(x: &[f64], mu: &[f64], p: &[f64], d: usize, diff: &mut [f64]) -> f64 {
    for c in 0..d {
        diff[c] = x[c] - mu[c];
    }
    let mut q = 0.0;
    for c in 0..d {
        let mut y = 0.0;
        for r in 0..=c {
            y += diff[r] * p[r * d + c];
        }
        q += y * y;
    }
    q
}

/// `|(x - mu)^T P|^2` for a diagonal `P`.
#[inline]
fn quad_diag(x: &[f64], mu: &[f64], p: &[f64], d: usize) -> f64 {
    let mut q = 0.0;
    for c in 0..d {
        let y = (x[c] - mu[c]) * p[c * d + c];
        q += y * y;
    }
    q
}

/// Adds the scatter of the points of `range` around `means` to `acc` (`k x width`, see
/// [`m_step`]), component by component in point order. Full covariances in at most 8
/// dimensions go through [`scatter_block`] (several components at once, the same additions
/// in the same order). On a CPU with AVX2 the same code runs in 256-bit registers (the same
/// bits, as [`e_chunk`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn scatter_chunk(
    xs: &[f64],
    resp: &[f64],
    k: usize,
    d: usize,
    full: bool,
    means: &[f64],
    range: std::ops::Range<usize>,
    acc: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `scatter_chunk_avx2` only needs AVX2, which the CPU has (checked above).
        #[allow(unsafe_code)]
        return unsafe { scatter_chunk_avx2(xs, resp, k, d, full, means, range, acc) };
    }
    scatter_chunk_body(xs, resp, k, d, full, means, range, acc)
}

/// [`scatter_chunk`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn scatter_chunk_avx2(
    xs: &[f64],
    resp: &[f64],
    k: usize,
    d: usize,
    full: bool,
    means: &[f64],
    range: std::ops::Range<usize>,
    acc: &mut [f64],
) {
    scatter_chunk_body(xs, resp, k, d, full, means, range, acc)
}

/// The body of [`scatter_chunk`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scatter_chunk_body(
    xs: &[f64],
    resp: &[f64],
    k: usize,
    d: usize,
    full: bool,
    means: &[f64],
    range: std::ops::Range<usize>,
    acc: &mut [f64],
) {
    let width = if full { d * (d + 1) / 2 } else { d };
    if full && (1..=8).contains(&d) {
        for j0 in (0..k).step_by(if d <= 3 { 4 } else { 2 }) {
            let range = range.clone();
            match d {
                1 => scatter_block::<1, 4>(xs, resp, k, j0, range, means, acc),
                2 => scatter_block::<2, 4>(xs, resp, k, j0, range, means, acc),
                3 => scatter_block::<3, 4>(xs, resp, k, j0, range, means, acc),
                4 => scatter_block::<4, 2>(xs, resp, k, j0, range, means, acc),
                5 => scatter_block::<5, 2>(xs, resp, k, j0, range, means, acc),
                6 => scatter_block::<6, 2>(xs, resp, k, j0, range, means, acc),
                7 => scatter_block::<7, 2>(xs, resp, k, j0, range, means, acc),
                _ => scatter_block::<8, 2>(xs, resp, k, j0, range, means, acc),
            }
        }
        return;
    }
    for j in 0..k {
        let mu = &means[j * d..(j + 1) * d];
        let a = &mut acc[j * width..(j + 1) * width];
        let range = range.clone();
        if !full {
            scatter_diag(xs, resp, k, j, d, range, mu, a);
            continue;
        }
        let mut diff = vec![0.0; d];
        for i in range {
            let r = resp[i * k + j];
            if r == 0.0 {
                continue;
            }
            let x = &xs[i * d..(i + 1) * d];
            for c in 0..d {
                diff[c] = x[c] - mu[c];
            }
            let mut t = 0;
            for p in 0..d {
                let rp = r * diff[p];
                for q in p..d {
                    a[t] += rp * diff[q];
                    t += 1;
                }
            }
        }
    }
}

/// Adds `sum_i r_ij (x_i - mu_j)(x_i - mu_j)^T` over the points `i` of `range` (upper
/// triangle, row by row) to `acc` (`k x width`) for the `L` components `j0..j0 + L` (those
/// below `k`), one lane per component, in point order: lane `l` performs exactly the
/// operations of the one-component loop (as for `d > 8`), in the same order, so the sums are
/// bit-identical to it. The difference is that a zero
/// responsibility is not skipped but added: `0 * v = ±0`, and adding a zero leaves a sum
/// unchanged (a sum that starts at `+0` never becomes `-0` in round-to-nearest), so the bits
/// are the same.
#[inline(always)]
fn scatter_block<const D: usize, const L: usize>(
    xs: &[f64],
    resp: &[f64],
    k: usize,
    j0: usize,
    range: std::ops::Range<usize>,
    means: &[f64],
    acc: &mut [f64],
) {
    let nl = (k - j0).min(L);
    let width = D * (D + 1) / 2;
    let mut mu = [[0.0; L]; D];
    for l in 0..nl {
        for c in 0..D {
            mu[c][l] = means[(j0 + l) * D + c];
        }
    }
    let mut m = [[[0.0; L]; D]; D];
    for i in range {
        let mut r = [0.0; L];
        if nl == L {
            r.copy_from_slice(&resp[i * k + j0..i * k + j0 + L]);
        } else {
            for l in 0..nl {
                r[l] = resp[i * k + j0 + l];
            }
        }
        let x = &xs[i * D..(i + 1) * D];
        let mut diff = [[0.0; L]; D];
        for c in 0..D {
            for l in 0..L {
                diff[c][l] = x[c] - mu[c][l];
            }
        }
        for p in 0..D {
            let mut rp = [0.0; L];
            for l in 0..L {
                rp[l] = r[l] * diff[p][l];
            }
            for q in p..D {
                for l in 0..L {
                    m[p][q][l] += rp[l] * diff[q][l];
                }
            }
        }
    }
    for l in 0..nl {
        let a = &mut acc[(j0 + l) * width..(j0 + l + 1) * width];
        let mut t = 0;
        for p in 0..D {
            for q in p..D {
                a[t] += m[p][q][l];
                t += 1;
            }
        }
    }
}

/// Adds `sum_i r_ij (x_i - mu)_c^2` over the points `i` of `range` to `a[c]` for component
/// `j`, in point order.
#[allow(clippy::too_many_arguments)]
fn scatter_diag(
    xs: &[f64],
    resp: &[f64],
    k: usize,
    j: usize,
    d: usize,
    range: std::ops::Range<usize>,
    mu: &[f64],
    a: &mut [f64],
) {
    for i in range {
        let r = resp[i * k + j];
        if r == 0.0 {
            continue;
        }
        let x = &xs[i * d..(i + 1) * d];
        for c in 0..d {
            let v = x[c] - mu[c];
            a[c] += r * v * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gmm::CovarianceType;
    use crate::gmm::em::{first_moments, m_step};
    use crate::kmeans::CHUNK;
    use insiders_core::{Matrix, Rng};

    #[test]
    fn lane_kernels_keep_the_bits() {
        let bits = |v: &[f64]| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
        for (d, k) in [(2, 7), (5, 3), (3, 9)] {
            let mut rng = Rng::new(11 + d as u64);
            let n = 900;
            let x = Matrix::from_shape_fn((n, d), |(i, c)| {
                (i % 5) as f64 * (1.0 + c as f64) + 0.4 * rng.normal()
            });
            let data = Data::new(x.view());
            // One-hot start with a few empty-ish components, then one EM step so that the
            // responsibilities have exact zeros, tiny values and everything between.
            let mut resp = vec![0.0; n * k];
            for i in 0..n {
                resp[i * k + (i % 5) % k] = 1.0;
            }
            let params = m_step(&data, &resp, k, CovarianceType::Full, 1e-6, true, None).unwrap();
            let (first, len) = (CHUNK, 2 * CHUNK);
            let mut out = vec![0.0; len * k];
            let mut acc = vec![0.0; k * (d + 1)];
            let sum = e_chunk_body(&data, &params, first, &mut out, Some(&mut acc));
            // Reference: the per-component code.
            let (mut ref_out, mut ref_acc) = (vec![0.0; len * k], vec![0.0; k * (d + 1)]);
            let (mut diff, mut w) = (vec![0.0; d], vec![0.0; k]);
            let mut ref_sum = 0.0;
            for t in 0..len {
                let xi = data.row(first + t);
                let o = &mut ref_out[t * k..(t + 1) * k];
                ref_sum += params.responsibilities_of(xi, &mut diff, &mut w, o);
                first_moments(xi, o, &mut ref_acc, d + 1);
            }
            assert_eq!(sum.to_bits(), ref_sum.to_bits(), "d={d}");
            assert_eq!(bits(&out), bits(&ref_out), "d={d}");
            assert_eq!(bits(&acc), bits(&ref_acc), "d={d}");
            assert!(out.contains(&0.0) || d == 5, "d={d}: no exact zero");
            // Scatter of the new responsibilities around the parameters' means.
            resp[first * k..(first + len) * k].copy_from_slice(&out);
            let width = d * (d + 1) / 2;
            let range = first..first + len;
            let mut sc = vec![0.0; k * width];
            scatter_chunk_body(
                &data.xs,
                &resp,
                k,
                d,
                true,
                &params.means,
                range.clone(),
                &mut sc,
            );
            let mut ref_sc = vec![0.0; k * width];
            for j in 0..k {
                let mu = &params.means[j * d..(j + 1) * d];
                let mut m = vec![0.0; width];
                for i in range.clone() {
                    let r = resp[i * k + j];
                    if r == 0.0 {
                        continue;
                    }
                    let xi = data.row(i);
                    let mut t = 0;
                    for p in 0..d {
                        let rp = r * (xi[p] - mu[p]);
                        for q in p..d {
                            m[t] += rp * (xi[q] - mu[q]);
                            t += 1;
                        }
                    }
                }
                ref_sc[j * width..(j + 1) * width].copy_from_slice(&m);
            }
            assert_eq!(bits(&sc), bits(&ref_sc), "d={d}: scatter");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                let mut out2 = vec![0.0; len * k];
                let mut acc2 = vec![0.0; k * (d + 1)];
                #[allow(unsafe_code)]
                // SAFETY: AVX2 is available (checked just above).
                let sum2 =
                    unsafe { e_chunk_avx2(&data, &params, first, &mut out2, Some(&mut acc2)) };
                assert_eq!(sum2.to_bits(), sum.to_bits());
                assert_eq!(bits(&out2), bits(&out));
                assert_eq!(bits(&acc2), bits(&acc));
                let mut sc2 = vec![0.0; k * width];
                #[allow(unsafe_code)]
                // SAFETY: AVX2 is available (checked above).
                unsafe {
                    scatter_chunk_avx2(&data.xs, &resp, k, d, true, &params.means, range, &mut sc2)
                };
                assert_eq!(bits(&sc2), bits(&sc));
            }
        }
    }

    /// ulp distance between two positive finite numbers.
    fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn exp_poly_is_within_one_ulp() {
        let mut rng = Rng::new(3);
        let mut worst = 0;
        let mut exact = 0usize;
        let n = 400_000;
        for i in 0..n {
            // Uniform on the range, plus a dense sample of [-2, 0] (most responsibilities).
            let z = if i % 2 == 0 {
                EXP_POLY_MIN * rng.uniform()
            } else {
                -2.0 * rng.uniform()
            };
            let (ours, libm) = (exp_poly(z), z.exp());
            let e = ulps(ours, libm);
            worst = worst.max(e);
            exact += usize::from(e == 0);
        }
        for z in [
            0.0,
            -1e-300,
            -0.5 * std::f64::consts::LN_2,
            EXP_POLY_MIN,
            1.0,
            700.0,
        ] {
            worst = worst.max(ulps(exp_poly(z), z.exp()));
        }
        assert!(worst <= 1, "exp_poly: {worst} ulp from f64::exp");
        assert!(exact as f64 > 0.85 * n as f64, "only {exact} of {n} exact");
        assert_eq!(exp_poly(0.0), 1.0);
    }
}
