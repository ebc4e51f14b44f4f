//! Gradient descent of t-SNE, as scikit-learn's `_gradient_descent` with the Barnes-Hut
//! objective `_kl_divergence_bh` (degrees of freedom 1, i.e. the Cauchy kernel).
//!
//! Gradient: `4 (e Σ_j p_ij w_ij (y_i - y_j) - Σ_j w_ij² (y_i - y_j) / Z)` with
//! `w = 1 / (1 + |y_i - y_j|²)`, `Z = Σ_{i≠j} w_ij` (Barnes-Hut) and `e` the exaggeration.
//! Update per coordinate: delta-bar-delta gains (`+0.2` when the gradient's sign differs from
//! the last update's, `×0.8` otherwise, at least `min_gain`), `update = momentum · update -
//! learning_rate · gains · grad`. Two stages, each starting with zero updates and unit gains:
//! the exaggerated exploration (momentum 0.5), then the rest (momentum 0.8). Every 50
//! iterations the KL divergence is computed; a stage stops when it has not improved for
//! `n_iter_without_progress` iterations or the gradient norm falls to `min_grad_norm`.

// Loops over the (1 to 3) output axes index several arrays at once.
#![allow(clippy::needless_range_loop)]

use super::affinity::JointP;
use super::bh::Tree;
#[cfg(target_arch = "x86_64")]
use super::bh::combine8;
use rayon::prelude::*;
use wide::f32x4;

/// Iterations between convergence checks (scikit-learn: 50).
pub const CHECK_EVERY: usize = 50;
/// Smallest gain (scikit-learn: 0.01).
pub const MIN_GAIN: f64 = 0.01;
/// Floor of probabilities inside logarithms (scikit-learn: float32 tiny).
const TINY: f64 = f32::MIN_POSITIVE as f64;
/// Points per parallel task of the per-point passes (fixed, so the work split never
/// depends on the thread count).
const CHUNK: usize = 256;

/// One stage of the descent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stage {
    /// First iteration index (iterations are numbered across stages).
    pub start: usize,
    /// One past the last iteration index.
    pub end: usize,
    pub momentum: f64,
    pub exaggeration: f64,
    pub n_iter_without_progress: usize,
}

/// The state of the descent.
#[derive(Debug)]
pub(crate) struct Descent<'a, const D: usize> {
    p: &'a JointP,
    /// The values of P in `f32`, for the attraction.
    p32: Vec<f32>,
    pub y: Vec<[f64; D]>,
    /// The positions in `f32` (half the memory: the attraction's random reads stay in
    /// cache).
    y32: Vec<[f32; D]>,
    update: Vec<[f64; D]>,
    gains: Vec<[f64; D]>,
    tree: Tree<D>,
    rep: Vec<[f64; D]>,
    z: Vec<f64>,
    /// Per point: the attraction `Σ_j p_ij w_ij (y_i - y_j)` (without the exaggeration).
    attr: Vec<[f64; D]>,
    angle: f64,
    learning_rate: f64,
    min_grad_norm: f64,
}

impl<'a, const D: usize> Descent<'a, D> {
    pub(crate) fn new(
        p: &'a JointP,
        y: Vec<[f64; D]>,
        angle: f64,
        learning_rate: f64,
        min_grad_norm: f64,
    ) -> Self {
        let n = y.len();
        Descent {
            p,
            p32: p.values.iter().map(|&v| v as f32).collect(),
            y32: y.iter().map(|p| p.map(|v| v as f32)).collect(),
            y,
            update: vec![[0.0; D]; n],
            gains: vec![[1.0; D]; n],
            tree: Tree::new(n),
            rep: vec![[0.0; D]; n],
            z: vec![0.0; n],
            attr: vec![[0.0; D]; n],
            angle,
            learning_rate,
            min_grad_norm,
        }
    }

    /// The Barnes-Hut normalisation `Z` at the current positions (builds the tree and
    /// fills the repulsion buffers). Summed in the tree's order: fixed for given positions.
    fn repulsion(&mut self) -> f64 {
        self.tree.build(&self.y);
        self.tree.repulsion(self.angle, &mut self.rep, &mut self.z);
        self.z.iter().sum::<f64>().max(f64::MIN_POSITIVE)
    }

    /// One iteration; returns (KL divergence, gradient norm) when `measure`
    /// (the divergence of the positions before the step, with the exaggerated P, as
    /// scikit-learn reports it).
    /// The divergence is NaN when `measure_kl` is false (a stage too short for its
    /// no-progress rule to ever stop it has no use for it).
    ///
    /// One fork-join for the forces: the repulsion (the tree built serially, then the tree
    /// walk in parallel tasks) and the attraction (parallel row chunks) run side by side, so
    /// the other thread works on the attraction while the tree is built; then the update
    /// (a few flops per point) runs in parallel chunks.
    fn step(
        &mut self,
        momentum: f64,
        exaggeration: f64,
        measure: bool,
        measure_kl: bool,
    ) -> (f64, f64) {
        let (p, tree, angle, y) = (self.p, &mut self.tree, self.angle, &self.y);
        let (p32, y32) = (&self.p32, &self.y32);
        let (rep, z, attr) = (&mut self.rep, &mut self.z, &mut self.attr);
        rayon::join(
            || {
                tree.build(y);
                tree.repulsion(angle, rep, z);
            },
            || attraction_pass(p, p32, y32, attr),
        );
        let z_total = self.z.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let inv_z = 1.0 / z_total;
        let kl = if measure && measure_kl {
            self.kl_terms(z_total, exaggeration)
        } else {
            f64::NAN
        };
        let lr = self.learning_rate;
        let (tree, rep, attr) = (&self.tree, &self.rep, &self.attr);
        // The update in parallel by fixed chunks of points (each point's update is
        // independent); the squared gradient norm summed per chunk, then over the chunks in
        // order. Running it in parallel keeps the other thread busy between iterations
        // (a serial update let it fall asleep and be woken at the next fork-join).
        let g2_parts: Vec<f64> = self
            .y
            .par_chunks_mut(CHUNK)
            .zip(self.update.par_chunks_mut(CHUNK))
            .zip(self.gains.par_chunks_mut(CHUNK))
            .zip(self.y32.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (((ys, ups), gas), ys32))| {
                let rows = ys.iter_mut().zip(ups).zip(gas).zip(ys32);
                let mut g2_chunk = 0.0;
                for (off, (((yi, up), ga), yi32)) in rows.enumerate() {
                    let i = c * CHUNK + off;
                    let (r, at) = (&rep[tree.rank(i)], &attr[i]);
                    let mut g2 = 0.0;
                    for a in 0..D {
                        let grad = 4.0 * (exaggeration * at[a] - r[a] * inv_z);
                        let u = up[a];
                        // Both candidates, then a select (no unpredictable branch).
                        let (grow, shrink) = (ga[a] + 0.2, ga[a] * 0.8);
                        let g = if u * grad < 0.0 { grow } else { shrink }.max(MIN_GAIN);
                        ga[a] = g;
                        let grad = grad * g;
                        g2 += grad * grad;
                        let u = momentum * u - lr * grad;
                        up[a] = u;
                        yi[a] += u;
                    }
                    g2_chunk += g2;
                    *yi32 = yi.map(|v| v as f32);
                }
                g2_chunk
            })
            .collect();
        let g2_total: f64 = g2_parts.iter().sum();
        if measure {
            (kl, g2_total.sqrt())
        } else {
            (f64::NAN, f64::NAN)
        }
    }

    /// `Σ (e p_ij) ln(e p_ij / q_ij)` over the stored entries of P, `q = w / Z`; rows in
    /// parallel, summed in index order.
    fn kl_terms(&self, z_total: f64, exaggeration: f64) -> f64 {
        let (p, y) = (self.p, &self.y);
        let rows: Vec<f64> = (0..y.len())
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(|i| {
                let mut kl = 0.0;
                let range = p.indptr[i]..p.indptr[i + 1];
                for (&j, &pij) in p.indices[range.clone()].iter().zip(&p.values[range]) {
                    let mut d2 = 0.0;
                    for a in 0..D {
                        d2 += (y[i][a] - y[j as usize][a]).powi(2);
                    }
                    let pe = pij * exaggeration;
                    let q = 1.0 / (1.0 + d2) / z_total;
                    kl += pe * (pe.max(TINY) / q.max(TINY)).ln();
                }
                kl
            })
            .collect();
        rows.iter().sum()
    }

    /// Runs one stage; returns the index of its last iteration.
    pub(crate) fn run(&mut self, stage: Stage) -> usize {
        for u in &mut self.update {
            *u = [0.0; D];
        }
        for g in &mut self.gains {
            *g = [1.0; D];
        }
        let mut best_error = f64::MAX;
        let mut best_iter = stage.start;
        let mut last = stage.start;
        // The no-progress rule can stop the stage only if it runs more than
        // `n_iter_without_progress` iterations after its first; otherwise the divergence
        // is not needed (scikit-learn's exploration stage: 250 iterations, rule 250).
        let measure_kl = stage.end.saturating_sub(stage.start + 1) > stage.n_iter_without_progress;
        for i in stage.start..stage.end {
            last = i;
            let check = (i + 1) % CHECK_EVERY == 0;
            let (error, grad_norm) =
                self.step(stage.momentum, stage.exaggeration, check, measure_kl);
            if check {
                if error < best_error {
                    best_error = error;
                    best_iter = i;
                } else if i - best_iter > stage.n_iter_without_progress {
                    break;
                }
                if grad_norm <= self.min_grad_norm {
                    break;
                }
            }
        }
        last
    }

    /// The KL divergence `Σ p_ij ln(p_ij / q_ij)` at the current positions, with `Z` exact
    /// (O(n²), rows in parallel, summed in index order) when `exact_z`, else from the
    /// Barnes-Hut tree.
    pub(crate) fn kl_divergence(&mut self, exact_z: bool) -> f64 {
        let z_total = if exact_z {
            let y = &self.y;
            let rows: Vec<f64> = (0..y.len())
                .into_par_iter()
                .with_min_len(64)
                .map(|i| {
                    let yi = y[i];
                    let mut s = 0.0;
                    for (j, yj) in y.iter().enumerate() {
                        if j == i {
                            continue;
                        }
                        let mut d2 = 0.0;
                        for a in 0..D {
                            d2 += (yi[a] - yj[a]) * (yi[a] - yj[a]);
                        }
                        s += 1.0 / (1.0 + d2);
                    }
                    s
                })
                .collect();
            rows.iter().sum::<f64>().max(f64::MIN_POSITIVE)
        } else {
            self.repulsion()
        };
        self.kl_terms(z_total, 1.0)
    }
}

/// The attraction of every point into `out`, rows in parallel by fixed chunks of
/// [`CHUNK`] points (each row computed alone: the same values whatever the thread count).
fn attraction_pass<const D: usize>(
    p: &JointP,
    p32: &[f32],
    y32: &[[f32; D]],
    out: &mut [[f64; D]],
) {
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, rows)| {
        for (off, o) in rows.iter_mut().enumerate() {
            let i = c * CHUNK + off;
            let range = p.indptr[i]..p.indptr[i + 1];
            *o = attraction(&y32[i], y32, &p.indices[range.clone()], &p32[range]);
        }
    });
}

/// Lanes of the attraction's running sums (one AVX register of `f32`).
const LANES: usize = 8;

/// `Σ_j p_ij w_ij (y_i - y_j)` over one row of P, from `f32` positions: eight neighbours
/// at a time, their positions gathered straight into registers, the terms computed in
/// `f32` and kept in one running sum per axis and lane; the lane sums are combined
/// pairwise in `f64`, then the tail neighbours are added in order. On a CPU with AVX the
/// eight lanes are one 256-bit register ([`attraction_avx`]), else two SSE2 ones: the same
/// IEEE operations in the same order, so the same bits either way.
#[inline(never)]
fn attraction<const D: usize>(
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
