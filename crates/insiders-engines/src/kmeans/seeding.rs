//! Greedy k-means++ seeding (scikit-learn's): the best of `2 + floor(ln k)` D²-sampled
//! candidates per centre.

use super::kernels::{Data, fmin, sq, width};
use insiders_core::Rng;
use rayon::prelude::*;

/// Greedy k-means++ seeding; returns `k x d` centres (row-major).
pub(crate) fn kmeans_plus_plus(data: &Data, k: usize, rng: &mut Rng) -> Vec<f64> {
    by_dim!(data.d, seed_pp(data, k, rng, true))
}

/// Greedy k-means++ seeding, with the candidates scored in parallel (`par`) or one after the
/// other in two reused buffers; both give the same centres.
pub(super) fn seed_pp<const D: usize>(data: &Data, k: usize, rng: &mut Rng, par: bool) -> Vec<f64> {
    let (n, d) = (data.n, data.d);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centres = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centres.extend_from_slice(data.row(first));
    let mut closest: Vec<f64> = (0..n)
        .map(|i| sq::<D>(data.row(i), data.row(first)))
        .collect();
    let mut pot: f64 = closest.iter().sum();
    let mut cumsum = vec![0.0; n];
    let (mut cur, mut best_dist) = if par {
        (Vec::new(), Vec::new())
    } else {
        (vec![0.0; n], vec![0.0; n])
    };
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, v) in cumsum.iter_mut().zip(&closest) {
            acc += v;
            *c = acc;
        }
        let last_positive = closest.iter().rposition(|&v| v > 0.0).unwrap_or(n - 1);
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.uniform() * pot;
                // First point whose cumulative weight exceeds r: never a zero-weight point.
                let idx = cumsum.partition_point(|&c| c <= r);
                if idx >= n { last_positive } else { idx }
            })
            .collect();
        // Potential with candidate `c` added; the new distances go to `out`.
        let dd = width::<D>(d);
        let score = |c: usize, out: &mut [f64]| -> f64 {
            let cand = data.row(c);
            let mut s = 0.0;
            for ((x, o), &cl) in data.xs.chunks_exact(dd).zip(out.iter_mut()).zip(&closest) {
                let v = fmin(sq::<D>(x, cand), cl);
                *o = v;
                s += v;
            }
            s
        };
        let best = if par {
            let scored: Vec<(f64, Vec<f64>)> = candidates
                .par_iter()
                .map(|&c| {
                    let mut dist = vec![0.0; n];
                    (score(c, &mut dist), dist)
                })
                .collect();
            let mut best = 0;
            for (t, s) in scored.iter().enumerate() {
                if s.0 < scored[best].0 {
                    best = t;
                }
            }
            let Some((best_pot, dist)) = scored.into_iter().nth(best) else {
                break;
            };
            pot = best_pot;
            closest = dist;
            best
        } else {
            let mut best: Option<(f64, usize)> = None;
            for (t, &c) in candidates.iter().enumerate() {
                let s = score(c, &mut cur);
                if best.is_none_or(|(b, _)| s < b) {
                    best = Some((s, t));
                    std::mem::swap(&mut cur, &mut best_dist);
                }
            }
            let Some((best_pot, best)) = best else {
                break;
            };
            pot = best_pot;
            std::mem::swap(&mut closest, &mut best_dist);
            best
        };
        centres.extend_from_slice(data.row(candidates[best]));
    }
    centres
}
