//! Hartigan's single-point refinement with Hartigan–Wong live sets.

use super::CHUNK;
use super::kernels::{Data, fmax, fmin, half_separation, sq};
use super::lloyd::Run;
use rayon::prelude::*;

/// Hartigan's single-point moves, sequential in point order (deterministic), starting from a
/// converged Lloyd run; updates labels, centres and inertia of `run` in place.
///
/// Uses Hartigan & Wong's "live set" bookkeeping: a point is re-examined only against the
/// clusters that changed since it was last examined (all clusters when its own changed), so
/// late passes cost O(k) per point instead of O(k d).
pub(super) fn hartigan_refine(data: &Data, k: usize, run: &mut Run, max_passes: usize) {
    by_dim!(data.d, hartigan(data, k, run, max_passes, true))
}

/// `prune`: skip the points that the bounds show cannot move (the same result; `false` only
/// in the test that checks this).
pub(super) fn hartigan<const D: usize>(
    data: &Data,
    k: usize,
    run: &mut Run,
    max_passes: usize,
    prune: bool,
) {
    let (n, d) = (data.n, data.d);
    if k < 2 {
        return;
    }
    let mut counts = vec![0usize; k];
    let mut sums = vec![0.0; k * d];
    let recompute = |labels: &[u32], counts: &mut [usize], sums: &mut [f64]| {
        counts.iter_mut().for_each(|c| *c = 0);
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (i, &l) in labels.iter().enumerate() {
            let l = l as usize;
            counts[l] += 1;
            for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(data.row(i)) {
                *s += v;
            }
        }
    };
    recompute(&run.labels, &mut counts, &mut sums);
    let mut centres = vec![0.0; k * d];
    let refresh = |j: usize, centres: &mut [f64], sums: &[f64], counts: &[usize]| {
        if counts[j] > 0 {
            let inv = 1.0 / counts[j] as f64;
            for c in 0..d {
                centres[j * d + c] = sums[j * d + c] * inv;
            }
        }
    };
    for j in 0..k {
        refresh(j, &mut centres, &sums, &counts);
    }
    // The factor n_j / (n_j + 1) of the cost of adding a point to cluster j (kept with the
    // counts: no division in the inner loop).
    let add_factor = |nj: usize| nj as f64 / (nj as f64 + 1.0);
    let mut factor: Vec<f64> = counts.iter().map(|&c| add_factor(c)).collect();
    // Steps are point visits, counted from 1; 0 = "before the refinement started".
    let mut step: u64 = 0;
    let mut last_change = vec![1u64; k]; // every cluster is live at the start
    let mut latest_change = 1u64; // max of last_change
    let mut last_check = vec![0u64; n];
    let mut moves = 0;
    // Pruning (exact: only points that cannot move are skipped). Every centre has moved by
    // at most `drift` from the run's centres, so a point x of cluster a is at least
    // `max(lower - drift, 2 half_sep[a] - 2 drift - |x - c_a|)` from every other centre
    // (`lower`: the Lloyd run's bounds, when known; `half_sep`: of the run's centres), and
    // adding it to cluster j costs at least `min_j factor_j` times the square of that.
    // Small relative margins absorb the rounding of the bounds.
    let lower = std::mem::take(&mut run.lower);
    let has_lower = lower.len() == n;
    let base = run.centres.clone();
    let sep2 = half_separation(&base, k, d);
    let drift_of = |j: usize, centres: &[f64]| {
        sq::<D>(&centres[j * d..(j + 1) * d], &base[j * d..(j + 1) * d]).sqrt()
    };
    let mut drift = (0..k).map(|j| drift_of(j, &centres)).fold(0.0, fmax);
    let mut min_factor = factor.iter().copied().fold(f64::INFINITY, fmin);
    for _ in 0..max_passes {
        let mut moved = 0;
        for i in 0..n {
            step += 1;
            let seen = last_check[i];
            last_check[i] = step;
            if latest_change <= seen {
                continue; // no cluster changed since this point was last examined
            }
            let a = run.labels[i] as usize;
            let own_live = last_change[a] > seen;
            let na = counts[a];
            if na <= 1 {
                continue;
            }
            let x = data.row(i);
            let own = sq::<D>(x, &centres[a * d..(a + 1) * d]);
            let remove = na as f64 / (na - 1) as f64 * own;
            let by_sep = 2.0 * (sep2[a] * (1.0 - 1e-10) - drift * (1.0 + 1e-10))
                - own.sqrt() * (1.0 + 1e-10);
            let l = if has_lower {
                fmax(by_sep, lower[i] * (1.0 - 1e-10) - drift * (1.0 + 1e-10))
            } else {
                by_sep
            };
            if prune && l > 0.0 && min_factor * (l * l) >= remove * (1.0 + 1e-10) {
                continue;
            }
            let mut best = (remove, a);
            for j in 0..k {
                if j == a || !(own_live || last_change[j] > seen) {
                    continue;
                }
                let add = factor[j] * sq::<D>(x, &centres[j * d..(j + 1) * d]);
                best = if add < best.0 { (add, j) } else { best };
            }
            // A move must gain more than rounding noise, or passes could cycle.
            let (add, b) = best;
            if b != a && add < remove * (1.0 - 1e-12) {
                for c in 0..d {
                    sums[a * d + c] -= x[c];
                    sums[b * d + c] += x[c];
                }
                counts[a] -= 1;
                counts[b] += 1;
                factor[a] = add_factor(counts[a]);
                factor[b] = add_factor(counts[b]);
                refresh(a, &mut centres, &sums, &counts);
                refresh(b, &mut centres, &sums, &counts);
                drift = fmax(drift, fmax(drift_of(a, &centres), drift_of(b, &centres)));
                min_factor = factor.iter().copied().fold(f64::INFINITY, fmin);
                run.labels[i] = b as u32;
                last_change[a] = step;
                last_change[b] = step;
                latest_change = step;
                moved += 1;
            }
        }
        if moved == 0 {
            break;
        }
        moves += moved;
    }
    run.refine_moves += moves;
    if moves == 0 {
        return;
    }
    // Exact means of the final labels (removes the drift of the incremental sums).
    recompute(&run.labels, &mut counts, &mut sums);
    for j in 0..k {
        refresh(j, &mut centres, &sums, &counts);
    }
    run.centres = centres;
    run.inertia = (0..n)
        .map(|i| {
            let l = run.labels[i] as usize;
            sq::<D>(data.row(i), &run.centres[l * d..(l + 1) * d])
        })
        .sum();
}

/// Squared distance of each point to its own centre and distance to the second-closest
/// centre, for a run whose points are at their nearest centres.
pub(super) fn own_and_second<const D: usize>(
    data: &Data,
    k: usize,
    run: &Run,
    par: bool,
) -> (Vec<f64>, Vec<f64>) {
    let d = data.d;
    let row = |i: usize| {
        let x = data.row(i);
        let a = run.labels[i] as usize;
        let own = sq::<D>(x, &run.centres[a * d..(a + 1) * d]);
        let mut second = f64::INFINITY;
        for j in 0..k {
            if j != a {
                second = fmin(second, sq::<D>(x, &run.centres[j * d..(j + 1) * d]));
            }
        }
        (own, second.sqrt())
    };
    let rows: Vec<(f64, f64)> = if par {
        (0..data.n)
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(row)
            .collect()
    } else {
        (0..data.n).map(row).collect()
    };
    rows.into_iter().unzip()
}
