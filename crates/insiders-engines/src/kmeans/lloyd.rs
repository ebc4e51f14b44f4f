//! Lloyd's iterations with Hamerly's bounds (resumable, for the swap trials), scikit-learn's
//! relocation of empty clusters, one seeded run, and the inertia of a labelling.

use super::CHUNK;
use super::kernels::{Data, Shift, assign, assign_moves, half_separation, sq, sqdist, width};
use super::seeding::{kmeans_plus_plus, seed_pp};
use insiders_core::Rng;
use rayon::prelude::*;

/// One k-means run.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) centres: Vec<f64>,
    pub(super) labels: Vec<u32>,
    pub(super) inertia: f64,
    pub(super) n_iter: usize,
    pub(super) converged: bool,
    pub(super) refine_moves: usize,
    /// Inertia before the Hartigan refinement (the Lloyd result's).
    pub(super) lloyd_inertia: f64,
    /// Per point, a lower bound on its distance to every centre but its own (Hamerly's
    /// lower bound, valid for `centres`); empty when not known. Lets Hartigan's passes skip
    /// the points that cannot move.
    pub(super) lower: Vec<f64>,
}

/// scikit-learn's relocation of empty clusters: each empty cluster takes the point farthest
/// from its (old) centre, largest distance first, ties by point index. Works on the sums
/// (labels are left alone, as in scikit-learn); returns the moves as (point, new cluster).
pub(super) fn relocate_empty(
    data: &Data,
    old_centres: &[f64],
    labels: &[u32],
    sums: &mut [f64],
    counts: &mut [usize],
) -> Vec<(usize, usize)> {
    let d = data.d;
    let empty: Vec<usize> = (0..counts.len()).filter(|&j| counts[j] == 0).collect();
    if empty.is_empty() {
        return Vec::new();
    }
    let mut far: Vec<(f64, usize)> = (0..data.n)
        .map(|i| {
            let l = labels[i] as usize;
            (sqdist(data.row(i), &old_centres[l * d..(l + 1) * d]), i)
        })
        .collect();
    far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut moves = Vec::with_capacity(empty.len());
    for (&j, &(_, i)) in empty.iter().zip(&far) {
        let old = labels[i] as usize;
        let x = data.row(i);
        for (s, v) in sums[old * d..(old + 1) * d].iter_mut().zip(x) {
            *s -= v;
        }
        counts[old] -= 1;
        sums[j * d..(j + 1) * d].copy_from_slice(x);
        counts[j] = 1;
        moves.push((i, j));
    }
    moves
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_once(
    data: &Data,
    k: usize,
    rng: &mut Rng,
    max_iter: usize,
    tol_abs: f64,
    bounds: bool,
    par: bool,
) -> Run {
    let centres = if par {
        kmeans_plus_plus(data, k, rng)
    } else {
        by_dim!(data.d, seed_pp(data, k, rng, false))
    };
    let mut st = Lloyd::new(data.n, k, centres, None, bounds);
    st.iterate(data, k, max_iter, max_iter, tol_abs, par);
    st.finish(data, k, par)
}

/// A Lloyd state to continue from: labels with Hamerly bounds valid for the given centres
/// (upper >= distance to the own centre, lower <= distance to every other centre).
#[derive(Debug)]
pub(super) struct Warm {
    pub(super) labels: Vec<u32>,
    pub(super) upper: Vec<f64>,
    pub(super) lower: Vec<f64>,
}

/// Lloyd iterations in progress (resumable, so that swap trials can stop early).
#[derive(Debug)]
pub(super) struct Lloyd {
    pub(super) centres: Vec<f64>,
    pub(super) labels: Vec<u32>,
    pub(super) upper: Vec<f64>,
    pub(super) lower: Vec<f64>,
    /// The bound update of the last centre move, applied by the next assignment pass.
    pub(super) shift: Shift,
    /// Labels and bounds are not yet meaningful: the first iteration assigns exhaustively.
    cold: bool,
    pub(super) bounds: bool,
    pub(super) n_iter: usize,
    pub(super) converged: bool,
    /// Converged because no label changed (the labels already match the centres).
    pub(super) strict: bool,
    /// Cluster sums and counts kept up to date by moving only the points that change
    /// cluster (swap trials); `None`: recomputed from all points every iteration, in chunk
    /// order (scikit-learn's bits).
    pub(super) inc: Option<(Vec<f64>, Vec<usize>)>,
}

impl Lloyd {
    pub(super) fn new(
        n: usize,
        k: usize,
        centres: Vec<f64>,
        warm: Option<Warm>,
        bounds: bool,
    ) -> Self {
        let cold = warm.is_none() || !bounds;
        let Warm {
            labels,
            upper,
            lower,
        } = warm.unwrap_or_else(|| Warm {
            labels: vec![0u32; n],
            upper: vec![f64::INFINITY; n],
            lower: vec![0.0; n],
        });
        Lloyd {
            centres,
            labels,
            upper,
            lower,
            shift: Shift::zero(k),
            cold,
            bounds,
            n_iter: 0,
            converged: false,
            strict: false,
            inc: None,
        }
    }

    /// Runs at most `steps` more iterations (at most `max_iter` in all), stopping at
    /// convergence.
    pub(super) fn iterate(
        &mut self,
        data: &Data,
        k: usize,
        steps: usize,
        max_iter: usize,
        tol_abs: f64,
        par: bool,
    ) {
        let d = data.d;
        let bounds = self.bounds;
        let mut done = 0;
        while !self.converged && self.n_iter < max_iter && done < steps {
            let it = self.n_iter;
            self.n_iter += 1;
            done += 1;
            let centres = &self.centres;
            let half_sep = if bounds {
                half_separation(centres, k, d)
            } else {
                vec![0.0; k]
            };
            let cl = self.shift.per_cluster(&half_sep);
            let full = (it == 0 && self.cold) || !bounds;
            let (changed, sums, counts) = if let Some((sums, counts)) = self.inc.as_mut() {
                let changed = by_dim!(
                    d,
                    assign_moves(
                        data,
                        centres,
                        k,
                        &cl,
                        &mut self.labels,
                        &mut self.upper,
                        &mut self.lower,
                        full,
                        sums,
                        counts
                    )
                );
                if counts.contains(&0) {
                    let moves = relocate_empty(data, centres, &self.labels, sums, counts);
                    for (i, j) in moves {
                        self.labels[i] = j as u32;
                        self.upper[i] = f64::INFINITY;
                        self.lower[i] = 0.0;
                    }
                }
                (changed, sums.clone(), counts.clone())
            } else {
                let (changed, mut sums, mut counts) = assign(
                    data,
                    centres,
                    k,
                    &cl,
                    &mut self.labels,
                    &mut self.upper,
                    &mut self.lower,
                    full,
                    par,
                );
                if counts.contains(&0) {
                    relocate_empty(data, centres, &self.labels, &mut sums, &mut counts);
                }
                (changed, sums, counts)
            };
            let mut new_centres = centres.clone();
            for j in 0..k {
                if counts[j] > 0 {
                    let inv = 1.0 / counts[j] as f64;
                    for c in 0..d {
                        new_centres[j * d + c] = sums[j * d + c] * inv;
                    }
                }
            }
            let shifts: Vec<f64> = (0..k)
                .map(|j| {
                    sqdist(
                        &centres[j * d..(j + 1) * d],
                        &new_centres[j * d..(j + 1) * d],
                    )
                })
                .collect();
            let total_shift: f64 = shifts.iter().sum();
            if bounds {
                let p: Vec<f64> = shifts.iter().map(|s| s.sqrt()).collect();
                let (mut m1, mut m2, mut arg) = (0.0f64, 0.0f64, 0usize);
                for (j, &pj) in p.iter().enumerate() {
                    if pj > m1 {
                        m2 = m1;
                        m1 = pj;
                        arg = j;
                    } else if pj > m2 {
                        m2 = pj;
                    }
                }
                self.shift = Shift { p, arg, m1, m2 };
            }
            self.centres = new_centres;
            if it > 0 && changed == 0 {
                self.strict = true;
                self.converged = true;
                break;
            }
            if total_shift <= tol_abs {
                self.converged = true;
                break;
            }
        }
    }

    /// Sum of squared distances of the points to the centres of their current labels: an
    /// upper bound on the inertia that further iterations reach.
    pub(super) fn label_cost(&self, data: &Data, par: bool) -> f64 {
        inertia_of(data, &self.centres, &self.labels, par)
    }

    /// The final assignment step (unless the labels already match the centres) and the run.
    pub(super) fn finish(self, data: &Data, k: usize, par: bool) -> Run {
        let d = data.d;
        let Lloyd {
            mut centres,
            mut labels,
            mut upper,
            mut lower,
            shift,
            bounds,
            n_iter,
            converged,
            strict,
            ..
        } = self;
        let mut bounds_valid = true;
        if strict {
            // The pending bound update (zero when no label changed: the same means).
            for (l, &a) in lower.iter_mut().zip(&labels) {
                *l -= shift.lower_drop(a as usize);
            }
        } else {
            // Labels consistent with the final centres (scikit-learn's last E-step).
            let half_sep = if bounds {
                half_separation(&centres, k, d)
            } else {
                vec![0.0; k]
            };
            let (_, mut sums, mut counts) = assign(
                data,
                &centres,
                k,
                &shift.per_cluster(&half_sep),
                &mut labels,
                &mut upper,
                &mut lower,
                !bounds,
                par,
            );
            if counts.contains(&0) {
                // Rare: a cluster lost all its points in the last reassignment. Give it the
                // farthest point and recompute the affected means so that k clusters remain.
                let moves = relocate_empty(data, &centres, &labels, &mut sums, &mut counts);
                for (i, j) in moves {
                    labels[i] = j as u32;
                }
                bounds_valid = false;
                for j in 0..k {
                    if counts[j] > 0 {
                        for c in 0..d {
                            centres[j * d + c] = sums[j * d + c] / counts[j] as f64;
                        }
                    }
                }
            }
        }
        let inertia = inertia_of(data, &centres, &labels, par);
        Run {
            centres,
            labels,
            inertia,
            n_iter,
            converged,
            refine_moves: 0,
            lloyd_inertia: inertia,
            lower: if bounds_valid { lower } else { Vec::new() },
        }
    }
}

/// Sum of squared distances of the points to the centres of their labels, summed per chunk
/// and then over chunks in order (the same bits in parallel or not).
fn inertia_of(data: &Data, centres: &[f64], labels: &[u32], par: bool) -> f64 {
    by_dim!(data.d, inertia_in(data, centres, labels, par))
}

/// [`inertia_of`] with the dimension known at compile time when `D > 0` (the same bits).
fn inertia_in<const D: usize>(data: &Data, centres: &[f64], labels: &[u32], par: bool) -> f64 {
    let n = data.n;
    let d = width::<D>(data.d);
    let chunk = |c: usize| -> f64 {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        data.xs[lo * d..hi * d]
            .chunks_exact(d)
            .zip(&labels[lo..hi])
            .map(|(x, &l)| sq::<D>(x, &centres[l as usize * d..][..d]))
            .sum::<f64>()
    };
    let parts: Vec<f64> = if par {
        (0..n.div_ceil(CHUNK)).into_par_iter().map(chunk).collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(chunk).collect()
    };
    parts.iter().sum()
}
