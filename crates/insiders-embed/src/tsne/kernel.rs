//! The SIMD kernels of t-SNE's forces, the crate's only `unsafe` code: the Barnes-Hut
//! repulsion summed over an interaction list ([`kernel`] over a [`Soa`]) and the attraction
//! summed over a row of P ([`attraction`]). Both compute their terms in `f32`, eight
//! partners at a time with the running sums in SIMD registers: one 256-bit register per sum
//! when the CPU has AVX (AVX2 for the attraction, detected at run time; the calls into the
//! `#[target_feature]` functions are the `unsafe` blocks, each right after its check), else
//! two SSE2 registers with the same IEEE operations in the same order (no fused
//! multiply-add), so the output bits do not depend on the path. The eight lane sums are
//! combined in `f64` as `((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7))`, then the tail
//! partners are added one by one.

// Loops over the (1 to 3) output axes index several arrays at once.
#![allow(clippy::needless_range_loop)]

use wide::f32x4;

/// Interaction partners in `f32` (as scikit-learn's float32 Barnes-Hut), one vector per
/// axis, with their masses.
#[derive(Debug, Clone)]
pub(super) struct Soa<const D: usize> {
    pub(super) cols: [Vec<f32>; D],
    pub(super) mass: Vec<f32>,
}

impl<const D: usize> Soa<D> {
    pub(super) fn new() -> Self {
        Soa {
            cols: std::array::from_fn(|_| Vec::new()),
            mass: Vec::new(),
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.mass.len()
    }

    #[inline]
    pub(super) fn push(&mut self, c: [f32; D], m: f32) {
        for a in 0..D {
            self.cols[a].push(c[a]);
        }
        self.mass.push(m);
    }

    /// Appends the points `ps` relative to `origin`, each of mass 1 (one pass per
    /// column: no per-point capacity checks).
    pub(super) fn extend_relative(&mut self, ps: &[[f64; D]], origin: &[f64; D]) {
        for a in 0..D {
            let o = origin[a];
            self.cols[a].extend(ps.iter().map(|p| (p[a] - o) as f32));
        }
        self.mass.extend(std::iter::repeat_n(1.0f32, ps.len()));
    }

    pub(super) fn truncate(&mut self, len: usize) {
        for c in &mut self.cols {
            c.truncate(len);
        }
        self.mass.truncate(len);
    }

    pub(super) fn assign(&mut self, other: &Soa<D>) {
        for a in 0..D {
            self.cols[a].clear();
            self.cols[a].extend_from_slice(&other.cols[a]);
        }
        self.mass.clear();
        self.mass.extend_from_slice(&other.mass);
    }
}

/// Lanes of the kernel's running sums (one AVX register of `f32`).
const LANES: usize = 8;

/// Sums an interaction list for one point `p` (in the list's frame):
/// `(Σ m w² (p - c), Σ m w)` with `w = 1 / (1 + |p - c|²)`. The terms are computed in
/// `f32` (as scikit-learn's float32 Barnes-Hut), eight partners at a time, each running sum
/// kept per lane; the eight lane sums are combined pairwise in `f64`, then the tail
/// partners are added in order. On a CPU with AVX the same arithmetic runs in 256-bit
/// registers ([`kernel_avx`]), else in SSE2 ones: IEEE add, multiply and divide give the
/// same bits either way (no fused multiply-add), so the output does not depend on the path.
#[inline(never)]
pub(super) fn kernel<const D: usize>(p: &[f32; D], list: &Soa<D>) -> ([f64; D], f64) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx") {
        // SAFETY: `kernel_avx` only needs AVX, which the CPU has (checked just above).
        #[allow(unsafe_code)]
        return unsafe { kernel_avx(p, list) };
    }
    kernel_body(p, list)
}

/// The kernel in 256-bit AVX registers: one register per running sum, the eight lanes
/// being those of [`kernel_body`] (same operations, same order: the same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn kernel_avx<const D: usize>(p: &[f32; D], list: &Soa<D>) -> ([f64; D], f64) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_div_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_sub_ps,
    };
    let len = list.len();
    let cols: [&[f32]; D] = std::array::from_fn(|a| &list.cols[a][..len]);
    let mass = &list.mass[..len];
    let one = _mm256_set1_ps(1.0);
    let mut pv = [_mm256_setzero_ps(); D];
    for a in 0..D {
        pv[a] = _mm256_set1_ps(p[a]);
    }
    let mut sz: __m256 = _mm256_setzero_ps();
    let mut sf = [_mm256_setzero_ps(); D];
    let full = len - len % LANES;
    let mut j = 0;
    while j < full {
        let m = load8(&mass[j..j + LANES]);
        let mut dd = [_mm256_setzero_ps(); D];
        let mut d2 = _mm256_setzero_ps();
        for a in 0..D {
            dd[a] = _mm256_sub_ps(pv[a], load8(&cols[a][j..j + LANES]));
            d2 = _mm256_add_ps(d2, _mm256_mul_ps(dd[a], dd[a]));
        }
        let w = _mm256_div_ps(one, _mm256_add_ps(one, d2));
        let mw = _mm256_mul_ps(m, w);
        sz = _mm256_add_ps(sz, mw);
        let mw2 = _mm256_mul_ps(mw, w);
        for a in 0..D {
            sf[a] = _mm256_add_ps(sf[a], _mm256_mul_ps(mw2, dd[a]));
        }
        j += LANES;
    }
    let mut z = combine8(sz);
    let mut f = [0.0; D];
    for a in 0..D {
        f[a] = combine8(sf[a]);
    }
    kernel_tail(p, &cols, mass, full, &mut f, &mut z);
    (f, z)
}

/// Eight consecutive `f32` (`v` holds eight) in one AVX register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn load8(v: &[f32]) -> std::arch::x86_64::__m256 {
    std::arch::x86_64::_mm256_setr_ps(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
}

/// `((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7))` in `f64` over the lanes of `v`
/// (the kernel's sums and the attraction's).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
fn combine8(v: std::arch::x86_64::__m256) -> f64 {
    use std::arch::x86_64::{
        _mm_add_pd, _mm_cvtsd_f64, _mm_unpackhi_pd, _mm256_add_pd, _mm256_castpd256_pd128,
        _mm256_castps256_ps128, _mm256_cvtps_pd, _mm256_extractf128_pd, _mm256_extractf128_ps,
    };
    let t = _mm256_add_pd(
        _mm256_cvtps_pd(_mm256_castps256_ps128(v)),
        _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v)),
    );
    let u = _mm_add_pd(_mm256_castpd256_pd128(t), _mm256_extractf128_pd::<1>(t));
    _mm_cvtsd_f64(u) + _mm_cvtsd_f64(_mm_unpackhi_pd(u, u))
}

/// The kernel in 128-bit registers (SSE2): lanes 0–3 and 4–7 of the running sums in two
/// registers each.
fn kernel_body<const D: usize>(p: &[f32; D], list: &Soa<D>) -> ([f64; D], f64) {
    let len = list.len();
    let cols: [&[f32]; D] = std::array::from_fn(|a| &list.cols[a][..len]);
    let mass = &list.mass[..len];
    let pv: [f32x4; D] = std::array::from_fn(|a| f32x4::splat(p[a]));
    let one = f32x4::splat(1.0);
    let zero = f32x4::splat(0.0);
    let mut sz = [zero; 2];
    let mut sf = [[zero; 2]; D];
    let full = len - len % LANES;
    let load = |v: &[f32], j: usize| f32x4::new(std::array::from_fn(|l| v[j + l]));
    let mut j = 0;
    while j < full {
        for h in 0..2 {
            let k = j + 4 * h;
            let m = load(mass, k);
            let mut dd = [zero; D];
            let mut d2 = zero;
            for a in 0..D {
                dd[a] = pv[a] - load(cols[a], k);
                d2 += dd[a] * dd[a];
            }
            let w = one / (one + d2);
            let mw = m * w;
            sz[h] += mw;
            let mw2 = mw * w;
            for a in 0..D {
                sf[a][h] += mw2 * dd[a];
            }
        }
        j += LANES;
    }
    let combine = |v: &[f32x4; 2]| {
        let (lo, hi) = (v[0].to_array(), v[1].to_array());
        let t: [f64; 4] = std::array::from_fn(|l| f64::from(lo[l]) + f64::from(hi[l]));
        (t[0] + t[2]) + (t[1] + t[3])
    };
    let mut z = combine(&sz);
    let mut f: [f64; D] = std::array::from_fn(|a| combine(&sf[a]));
    kernel_tail(p, &cols, mass, full, &mut f, &mut z);
    (f, z)
}

/// Adds the partners `from..` of a list to the kernel's sums, one by one in order.
#[inline(always)]
fn kernel_tail<const D: usize>(
    p: &[f32; D],
    cols: &[&[f32]; D],
    mass: &[f32],
    from: usize,
    f: &mut [f64; D],
    z: &mut f64,
) {
    for j in from..mass.len() {
        let mut dd = [0.0f32; D];
        let mut d2 = 0.0f32;
        for a in 0..D {
            dd[a] = p[a] - cols[a][j];
            d2 += dd[a] * dd[a];
        }
        let w = 1.0 / (1.0 + d2);
        let mw = mass[j] * w;
        *z += f64::from(mw);
        let mw2 = mw * w;
        for a in 0..D {
            f[a] += f64::from(mw2 * dd[a]);
        }
    }
}

/// `Σ_j p_ij w_ij (y_i - y_j)` over one row of P, from `f32` positions: eight neighbours
/// at a time, their positions gathered straight into registers, the terms computed in
/// `f32` and kept in one running sum per axis and lane; the lane sums are combined
/// pairwise in `f64`, then the tail neighbours are added in order. On a CPU with AVX the
/// eight lanes are one 256-bit register ([`attraction_avx`]), else two SSE2 ones: the same
/// IEEE operations in the same order, so the same bits either way.
#[inline(never)]
pub(super) fn attraction<const D: usize>(
    yi: &[f32; D],
    y: &[[f32; D]],
    cols: &[u32],
    vals: &[f32],
) -> [f64; D] {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: `attraction_avx` needs AVX and AVX2, which the CPU has (AVX2 implies AVX;
        // checked just above).
        #[allow(unsafe_code)]
        return unsafe { attraction_avx(yi, y, cols, vals) };
    }
    attraction_sse(yi, y, cols, vals)
}

/// The attraction of one row in 256-bit AVX registers (AVX2 for one permutation).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,avx2")]
fn attraction_avx<const D: usize>(
    yi: &[f32; D],
    y: &[[f32; D]],
    cols: &[u32],
    vals: &[f32],
) -> [f64; D] {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_castpd_ps, _mm256_castps_pd, _mm256_div_ps, _mm256_mul_ps,
        _mm256_permute4x64_pd, _mm256_set1_ps, _mm256_setr_pd, _mm256_setr_ps, _mm256_setzero_ps,
        _mm256_shuffle_ps, _mm256_sub_ps,
    };
    let len = cols.len().min(vals.len());
    let (cols, vals) = (&cols[..len], &vals[..len]);
    let one = _mm256_set1_ps(1.0);
    let mut yiv = [_mm256_setzero_ps(); D];
    for a in 0..D {
        yiv[a] = _mm256_set1_ps(yi[a]);
    }
    let mut acc = [_mm256_setzero_ps(); D];
    let full = len - len % LANES;
    let mut e = 0;
    while e < full {
        let c = &cols[e..e + LANES];
        let q = [
            y[c[0] as usize],
            y[c[1] as usize],
            y[c[2] as usize],
            y[c[3] as usize],
            y[c[4] as usize],
            y[c[5] as usize],
            y[c[6] as usize],
            y[c[7] as usize],
        ];
        let mut dd = [_mm256_setzero_ps(); D];
        let mut d2 = _mm256_setzero_ps();
        if D == 2 {
            // A 2-D position is 8 bytes: four of them per register as `f64` lanes, then
            // the x and the y halves picked out and put back in partner order.
            let pair = |l: usize| {
                let (x, y) = (q[l][0].to_bits(), q[l][1].to_bits());
                f64::from_bits(u64::from(x) | (u64::from(y) << 32))
            };
            let lo = _mm256_castpd_ps(_mm256_setr_pd(pair(0), pair(1), pair(2), pair(3)));
            let hi = _mm256_castpd_ps(_mm256_setr_pd(pair(4), pair(5), pair(6), pair(7)));
            // [x0 x1 x4 x5 | x2 x3 x6 x7], then the 64-bit blocks in the order 0 2 1 3.
            let xs = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
            let ys = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
            let order =
                |v| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
            for (a, qa) in [order(xs), order(ys)].into_iter().enumerate() {
                dd[a] = _mm256_sub_ps(yiv[a], qa);
                d2 = _mm256_add_ps(d2, _mm256_mul_ps(dd[a], dd[a]));
            }
        } else {
            for a in 0..D {
                let qa = _mm256_setr_ps(
                    q[0][a], q[1][a], q[2][a], q[3][a], q[4][a], q[5][a], q[6][a], q[7][a],
                );
                dd[a] = _mm256_sub_ps(yiv[a], qa);
                d2 = _mm256_add_ps(d2, _mm256_mul_ps(dd[a], dd[a]));
            }
        }
        let v = &vals[e..e + LANES];
        let pv = _mm256_setr_ps(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
        let pw = _mm256_div_ps(pv, _mm256_add_ps(one, d2));
        for a in 0..D {
            acc[a] = _mm256_add_ps(acc[a], _mm256_mul_ps(pw, dd[a]));
        }
        e += LANES;
    }
    let mut out = [0.0; D];
    for a in 0..D {
        out[a] = combine8(acc[a]);
    }
    attraction_tail(yi, y, cols, vals, full, &mut out);
    out
}

/// The attraction of one row in 128-bit registers (SSE2): lanes 0–3 and 4–7 of the running
/// sums in two registers per axis.
fn attraction_sse<const D: usize>(
    yi: &[f32; D],
    y: &[[f32; D]],
    cols: &[u32],
    vals: &[f32],
) -> [f64; D] {
    let len = cols.len().min(vals.len());
    let (cols, vals) = (&cols[..len], &vals[..len]);
    let yiv: [f32x4; D] = std::array::from_fn(|a| f32x4::splat(yi[a]));
    let one = f32x4::splat(1.0);
    let zero = f32x4::splat(0.0);
    let mut acc = [[zero; 2]; D];
    let full = len - len % LANES;
    let mut e = 0;
    while e < full {
        for h in 0..2 {
            let k = e + 4 * h;
            let q: [[f32; D]; 4] = std::array::from_fn(|l| y[cols[k + l] as usize]);
            let mut dd = [zero; D];
            let mut d2 = zero;
            for a in 0..D {
                dd[a] = yiv[a] - f32x4::new(std::array::from_fn(|l| q[l][a]));
                d2 += dd[a] * dd[a];
            }
            let pw = f32x4::new(std::array::from_fn(|l| vals[k + l])) / (one + d2);
            for a in 0..D {
                acc[a][h] += pw * dd[a];
            }
        }
        e += LANES;
    }
    let mut out: [f64; D] = std::array::from_fn(|a| {
        let (lo, hi) = (acc[a][0].to_array(), acc[a][1].to_array());
        let t: [f64; 4] = std::array::from_fn(|l| f64::from(lo[l]) + f64::from(hi[l]));
        (t[0] + t[2]) + (t[1] + t[3])
    });
    attraction_tail(yi, y, cols, vals, full, &mut out);
    out
}

/// Adds the neighbours `from..` of a row to the attraction, one by one in order.
#[inline(always)]
fn attraction_tail<const D: usize>(
    yi: &[f32; D],
    y: &[[f32; D]],
    cols: &[u32],
    vals: &[f32],
    from: usize,
    out: &mut [f64; D],
) {
    for e in from..cols.len().min(vals.len()) {
        let yj = y[cols[e] as usize];
        let mut dd = [0.0f32; D];
        let mut d2 = 0.0f32;
        for a in 0..D {
            dd[a] = yi[a] - yj[a];
            d2 += dd[a] * dd[a];
        }
        let pw = vals[e] / (1.0 + d2);
        for a in 0..D {
            out[a] += f64::from(pw * dd[a]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Rng;

    /// The AVX kernel and the SSE2 one give the same bits (every list length, so every
    /// tail length).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn kernel_paths_agree_bitwise() {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        let mut rng = Rng::new(11);
        for len in 0..40 {
            let mut list = Soa::<2>::new();
            for _ in 0..len {
                let c = [(rng.normal() * 3.0) as f32, (rng.normal() * 3.0) as f32];
                list.push(c, (1.0 + rng.below(5) as f64) as f32);
            }
            let p = [rng.normal() as f32, rng.normal() as f32];
            // SAFETY: the CPU has AVX (checked above).
            #[allow(unsafe_code)]
            let (fa, za) = unsafe { kernel_avx(&p, &list) };
            let (fs, zs) = kernel_body(&p, &list);
            assert_eq!(za.to_bits(), zs.to_bits(), "len {len}");
            for a in 0..2 {
                assert_eq!(fa[a].to_bits(), fs[a].to_bits(), "len {len}");
            }
            assert!(len == 0 || za > 0.0);
        }
    }

    /// The AVX attraction and the SSE2 one give the same bits (every row length, so every
    /// tail length).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn attraction_paths_agree_bitwise() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let mut rng = Rng::new(5);
        let y: Vec<[f32; 2]> = (0..100)
            .map(|_| [(rng.normal() * 4.0) as f32, (rng.normal() * 4.0) as f32])
            .collect();
        for len in 0..40 {
            let cols: Vec<u32> = (0..len).map(|_| rng.below(100) as u32).collect();
            let vals: Vec<f32> = (0..len).map(|_| rng.uniform() as f32 * 1e-3).collect();
            let yi = [0.5f32, -0.25];
            // SAFETY: the CPU has AVX (checked above).
            #[allow(unsafe_code)]
            let fa = unsafe { attraction_avx(&yi, &y, &cols, &vals) };
            let fs = attraction_sse(&yi, &y, &cols, &vals);
            for a in 0..2 {
                assert_eq!(fa[a].to_bits(), fs[a].to_bits(), "len {len}");
            }
            assert!(len == 0 || fa != [0.0, 0.0]);
        }
    }
}
