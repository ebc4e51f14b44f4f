//! Expectation-maximisation: the mixture in internal (centred) coordinates, the E-step in
//! fixed chunks and the M-step per component.

use super::LN_2PI;
use super::cholesky::precision_cholesky;
use super::kernels::{e_chunk, normalise, quad, quad_full, scatter_chunk};
use super::params::CovarianceType;
use crate::kmeans::{CHUNK, Data};
use insiders_core::Error;
use rayon::prelude::*;

/// Mixture parameters in the internal (centred) coordinates.
#[derive(Debug, Clone)]
pub(super) struct Params {
    pub(super) k: usize,
    pub(super) d: usize,
    pub(super) log_weights: Vec<f64>,
    /// `k x d`.
    pub(super) means: Vec<f64>,
    /// `k` upper-triangular `d x d` precision Cholesky factors, row-major.
    pub(super) prec: Vec<f64>,
    /// `sum_c ln P[c][c]` per component.
    pub(super) log_det: Vec<f64>,
    /// `k` covariances `d x d` (full form), row-major.
    pub(super) cov: Vec<f64>,
    /// `P` is diagonal (diag and spherical covariances): skip the off-diagonal products.
    pub(super) diagonal: bool,
}

impl Params {
    /// Fills `out` with the membership probabilities of `x` and returns its log-likelihood.
    #[inline]
    pub(super) fn responsibilities_of(
        &self,
        x: &[f64],
        diff: &mut [f64],
        w: &mut [f64],
        out: &mut [f64],
    ) -> f64 {
        let (k, d) = (self.k, self.d);
        let mut max = f64::NEG_INFINITY;
        for j in 0..k {
            let mu = &self.means[j * d..(j + 1) * d];
            let p = &self.prec[j * d * d..(j + 1) * d * d];
            let q = quad(x, mu, p, d, self.diagonal, diff);
            w[j] = self.log_weights[j] - 0.5 * (d as f64 * LN_2PI + q) + self.log_det[j];
            if w[j] > max {
                max = w[j];
            }
        }
        normalise(w, max, out)
    }

    /// [`Params::responsibilities_of`] for full covariances in `D` dimensions (known at
    /// compile time): the same arithmetic, without the per-component dispatch.
    #[inline(always)]
    pub(super) fn responsibilities_full<const D: usize>(
        &self,
        x: &[f64],
        w: &mut [f64],
        out: &mut [f64],
    ) -> f64 {
        let k = self.k;
        let (means, prec) = (&self.means[..k * D], &self.prec[..k * D * D]);
        let (lw, ld) = (&self.log_weights[..k], &self.log_det[..k]);
        let w = &mut w[..k];
        let mut max = f64::NEG_INFINITY;
        for j in 0..k {
            let q = quad_full::<D>(
                x,
                &means[j * D..(j + 1) * D],
                &prec[j * D * D..(j + 1) * D * D],
            );
            let v = lw[j] - 0.5 * (D as f64 * LN_2PI + q) + ld[j];
            w[j] = v;
            if v > max {
                max = v;
            }
        }
        normalise(w, max, out)
    }
}

#[derive(Debug)]
pub(super) struct EmRun {
    pub(super) params: Params,
    pub(super) lower_bound: f64,
    pub(super) n_iter: usize,
    pub(super) converged: bool,
}

/// E-step: fills `resp` (`n x k`) and returns the sum over points of the log-likelihood.
pub(super) fn e_step(data: &Data, params: &Params, resp: &mut [f64]) -> f64 {
    let k = params.k;
    let partial: Vec<f64> = resp
        .par_chunks_mut(CHUNK * k)
        .enumerate()
        .map(|(c, out)| e_chunk(data, params, c * CHUNK, out, None))
        .collect();
    partial.iter().sum()
}

/// E-step fused with the M-step's first pass: fills `resp` (`n x k`), returns the sum over
/// points of the log-likelihood and the per-component sums `[sum r, sum r x]` (`k x (d + 1)`)
/// that [`m_step`] would compute from `resp`, with the same chunks and the same order of
/// additions (bit-identical), saving one pass over the points.
pub(super) fn e_step_with_sums(data: &Data, params: &Params, resp: &mut [f64]) -> (f64, Vec<f64>) {
    let (k, d) = (params.k, params.d);
    let width = d + 1;
    let partial: Vec<(f64, Vec<f64>)> = resp
        .par_chunks_mut(CHUNK * k)
        .enumerate()
        .map(|(c, out)| {
            let mut acc = vec![0.0; k * width];
            let sum = e_chunk(data, params, c * CHUNK, out, Some(&mut acc));
            (sum, acc)
        })
        .collect();
    let mut total = 0.0;
    let mut first = vec![0.0; k * width];
    for (s, acc) in &partial {
        total += s;
        for (t, v) in first.iter_mut().zip(acc) {
            *t += v;
        }
    }
    (total, first)
}

/// Adds point `x`'s responsibilities `r` and weighted coordinates `r x` to the per-component
/// sums `acc` (`k x width`, `width = d + 1`). Zero responsibilities are added too (no
/// branch): adding `+0` or `-0` leaves a sum that started at `+0` unchanged, bit for bit.
#[inline(always)]
pub(super) fn first_moments(x: &[f64], r: &[f64], acc: &mut [f64], width: usize) {
    for (&rj, a) in r.iter().zip(acc.chunks_exact_mut(width)) {
        a[0] += rj;
        for (s, v) in a[1..].iter_mut().zip(x) {
            *s += rj * v;
        }
    }
}

/// Sums over points in fixed chunks (in parallel), added in chunk order: deterministic for
/// any thread count. `f(range, acc)` adds the contributions of the points in `range` (one
/// chunk) to a zeroed `len`-vector.
fn chunked_sum(
    n: usize,
    len: usize,
    f: impl Fn(std::ops::Range<usize>, &mut [f64]) + Sync,
) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut acc = vec![0.0; len];
            f(c * CHUNK..((c + 1) * CHUNK).min(n), &mut acc);
            acc
        })
        .collect();
    let mut total = vec![0.0; len];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// M-step: weights, means, covariances and precision factors from responsibilities, with
/// scikit-learn's formulas (`nk = sum r + 10 eps`, two-pass covariances around the new
/// means, `reg_covar` on the diagonal). `init` normalises the weights by n (scikit-learn's
/// initialisation) instead of by their sum.
pub(super) fn m_step(
    data: &Data,
    resp: &[f64],
    k: usize,
    cov_type: CovarianceType,
    reg: f64,
    init: bool,
    first: Option<Vec<f64>>,
) -> Result<Params, Error> {
    let (n, d) = (data.n, data.d);
    // Pass 1: nk and weighted sums, point-major (contiguous rows of resp), unless the
    // E-step computed them (`e_step_with_sums`, the same sums).
    let first = match first {
        Some(f) => f,
        None => chunked_sum(n, k * (d + 1), |range, acc| {
            for i in range {
                first_moments(data.row(i), &resp[i * k..(i + 1) * k], acc, d + 1);
            }
        }),
    };
    let mut nk = vec![0.0; k];
    let mut means = vec![0.0; k * d];
    for j in 0..k {
        nk[j] = first[j * (d + 1)] + 10.0 * f64::EPSILON;
        for c in 0..d {
            means[j * d + c] = first[j * (d + 1) + 1 + c] / nk[j];
        }
    }
    // Pass 2: scatter around the new means (upper triangle for full, diagonal otherwise).
    let full = cov_type == CovarianceType::Full;
    let width = if full { d * (d + 1) / 2 } else { d };
    // Component-major within each chunk: a component's sums stay in registers while the
    // chunk's points are added in point order (the same additions as point-major).
    let xs = &data.xs[..];
    let scatter = chunked_sum(n, k * width, |range, acc| {
        scatter_chunk(xs, resp, k, d, full, &means, range, acc);
    });
    // Sequential: a d x d factorisation per component is far cheaper than a fork-join.
    let comps: Vec<(Vec<f64>, Vec<f64>, f64)> = (0..k)
        .map(|j| {
            let a = &scatter[j * width..(j + 1) * width];
            let mut cov = vec![0.0; d * d];
            if full {
                let mut t = 0;
                for p in 0..d {
                    for q in p..d {
                        let v = a[t] / nk[j];
                        cov[p * d + q] = v;
                        cov[q * d + p] = v;
                        t += 1;
                    }
                    cov[p * d + p] += reg;
                }
            } else {
                for c in 0..d {
                    cov[c * d + c] = a[c] / nk[j] + reg;
                }
                if cov_type == CovarianceType::Spherical {
                    let v = (0..d).map(|c| cov[c * d + c]).sum::<f64>() / d as f64;
                    for c in 0..d {
                        cov[c * d + c] = v;
                    }
                }
            }
            let prec = precision_cholesky(&cov, d).ok_or_else(|| Error::Numerical {
                method: "gmm".into(),
                message: format!(
                    "the covariance of component {j} is not positive definite \
                     (collapsed component or duplicated points); increase reg_covar"
                ),
            })?;
            let log_det = (0..d).map(|c| prec[c * d + c].ln()).sum();
            Ok((cov, prec, log_det))
        })
        .collect::<Result<_, Error>>()?;
    let total: f64 = if init { n as f64 } else { nk.iter().sum() };
    let mut params = Params {
        k,
        d,
        log_weights: nk.iter().map(|v| (v / total).ln()).collect(),
        means,
        prec: Vec::with_capacity(k * d * d),
        log_det: Vec::with_capacity(k),
        cov: Vec::with_capacity(k * d * d),
        diagonal: !full,
    };
    for (cov, prec, log_det) in comps {
        params.prec.extend(prec);
        params.log_det.push(log_det);
        params.cov.extend(cov);
    }
    Ok(params)
}
