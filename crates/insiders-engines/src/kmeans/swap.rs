//! The random-swap stage (Fränti 2018) that polishes the best restart.

use super::SWAP_SLACK;
use super::hartigan::{hartigan_refine, own_and_second};
use super::kernels::{Data, fmin, sq, width};
use super::lloyd::{Lloyd, Run, Warm};
use insiders_core::Rng;
use rayon::prelude::*;

/// Settings of the swap stage.
pub(super) struct SwapCfg {
    pub(super) trials: usize,
    pub(super) batch: usize,
    pub(super) steps: usize,
    pub(super) max_iter: usize,
    pub(super) tol_abs: f64,
    pub(super) bounds: bool,
    pub(super) hartigan: bool,
    pub(super) max_passes: usize,
    pub(super) patience: usize,
}

/// Swap polishing of a converged run (random swap: Fränti, "Efficiency of random swap
/// clustering", J. Big Data 2018). Each trial moves a uniformly drawn centre to a point drawn
/// with probability proportional to the squared distance to its centre (greedy best of
/// `2 + ln k` draws, as k-means++), repartitions locally (the points of the removed centre
/// are reassigned, every other point only compares its centre with the new one, which also
/// gives valid Hamerly bounds) and runs a few Lloyd iterations (`steps`). The cost of the
/// labels at that point bounds the inertia that Lloyd would reach from there; trials whose
/// bound does not beat the current inertia are dropped. Trials run in batches of `batch`
/// from the same solution (in parallel, each one sequential inside); the batch's best
/// surviving trial runs Lloyd to convergence (then Hartigan) and replaces the current
/// solution if its inertia is lower. Returns the number of accepted swaps.
pub(super) fn swap_polish(
    data: &Data,
    k: usize,
    run: &mut Run,
    cfg: &SwapCfg,
    rng: &mut Rng,
) -> usize {
    let n = data.n;
    if k < 2 || cfg.trials == 0 {
        return 0;
    }
    let mut accepted = 0;
    let n_cand = 2 + (k as f64).ln().floor() as usize;
    let (mut d1, mut second) = by_dim!(data.d, own_and_second(data, k, run, true));
    let mut cumsum = vec![0.0; n];
    let mut left = cfg.trials;
    let mut idle = 0;
    while left > 0 {
        if cfg.patience > 0 && idle >= cfg.patience {
            break;
        }
        let b = left.min(cfg.batch.max(1));
        left -= b;
        let mut acc = 0.0;
        for i in 0..n {
            acc += d1[i];
            cumsum[i] = acc;
        }
        if acc <= 0.0 {
            break;
        }
        let plans: Vec<(usize, Vec<usize>)> = (0..b)
            .map(|_| {
                let j = rng.below(k);
                let draws: Vec<usize> = (0..n_cand)
                    .map(|_| {
                        let r = rng.uniform() * acc;
                        cumsum.partition_point(|&v| v <= r).min(n - 1)
                    })
                    .collect();
                (j, draws)
            })
            .collect();
        let current: &Run = run;
        let (d1r, secr) = (&d1, &second);
        let trials: Vec<(f64, Lloyd)> = plans
            .par_iter()
            .map(|(j, draws)| {
                by_dim!(
                    data.d,
                    swap_trial(data, k, current, d1r, secr, *j, draws, cfg)
                )
            })
            .collect();
        let mut best: Option<(f64, Lloyd)> = None;
        for (cost, st) in trials {
            if cost < run.lloyd_inertia * (1.0 + SWAP_SLACK)
                && best.as_ref().is_none_or(|b| cost < b.0)
            {
                best = Some((cost, st));
            }
        }
        idle += b;
        let Some((_, mut st)) = best else {
            continue;
        };
        if st.inc.take().is_some() {
            // One more iteration at least, with sums over all points: exact means.
            st.converged = false;
            st.strict = false;
        }
        st.iterate(data, k, cfg.max_iter, cfg.max_iter, cfg.tol_abs, true);
        let mut cand = st.finish(data, k, true);
        if cfg.hartigan {
            hartigan_refine(data, k, &mut cand, cfg.max_passes);
        }
        if cand.inertia < run.inertia * (1.0 - 1e-12) {
            *run = cand;
            (d1, second) = by_dim!(data.d, own_and_second(data, k, run, true));
            accepted += 1;
            idle = 0;
        }
    }
    accepted
}

/// One swap trial from `run` (see [`swap_polish`]): returns the cost of its labels after
/// at most `cfg.steps` Lloyd iterations, and the Lloyd state to continue from.
#[allow(clippy::too_many_arguments)]
fn swap_trial<const D: usize>(
    data: &Data,
    k: usize,
    run: &Run,
    d1: &[f64],
    second: &[f64],
    j: usize,
    draws: &[usize],
    cfg: &SwapCfg,
) -> (f64, Lloyd) {
    let (n, d) = (data.n, data.d);
    let mut best: Option<(f64, usize)> = None;
    let dd = width::<D>(d);
    for &c in draws {
        let y = data.row(c);
        let mut pot = 0.0;
        for (x, &o) in data.xs.chunks_exact(dd).zip(d1) {
            pot += fmin(o, sq::<D>(x, y));
        }
        if best.is_none_or(|(p, _)| pot < p) {
            best = Some((pot, c));
        }
    }
    let mut centres = run.centres.clone();
    if let Some((_, c)) = best {
        centres[j * d..(j + 1) * d].copy_from_slice(data.row(c));
    }
    // Local repartition with valid bounds for the swapped centres.
    let mut warm = Warm {
        labels: Vec::with_capacity(n),
        upper: Vec::with_capacity(n),
        lower: Vec::with_capacity(n),
    };
    let cj = &centres[j * d..(j + 1) * d];
    for i in 0..n {
        let x = data.row(i);
        let a = run.labels[i] as usize;
        let (l, u, lo) = if a == j {
            let (mut b1, mut e1, mut e2) = (0usize, f64::INFINITY, f64::INFINITY);
            for t in 0..k {
                let e = sq::<D>(x, &centres[t * d..(t + 1) * d]);
                if e < e1 {
                    e2 = e1;
                    e1 = e;
                    b1 = t;
                } else if e < e2 {
                    e2 = e;
                }
            }
            (b1 as u32, e1.sqrt(), e2.sqrt())
        } else {
            let own = d1[i].sqrt();
            let dy = sq::<D>(x, cj).sqrt();
            if dy < own {
                (j as u32, dy, own)
            } else {
                (a as u32, own, second[i].min(dy))
            }
        };
        warm.labels.push(l);
        warm.upper.push(u);
        warm.lower.push(lo);
    }
    let (mut sums, mut counts) = (vec![0.0; k * d], vec![0usize; k]);
    for (i, &l) in warm.labels.iter().enumerate() {
        let l = l as usize;
        counts[l] += 1;
        for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(data.row(i)) {
            *s += v;
        }
    }
    let mut st = Lloyd::new(n, k, centres, Some(warm), cfg.bounds);
    st.inc = Some((sums, counts));
    st.iterate(data, k, cfg.steps, cfg.max_iter, cfg.tol_abs, false);
    (st.label_cost(data, false), st)
}
