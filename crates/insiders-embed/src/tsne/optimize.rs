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
use super::kernel::attraction;
use rayon::prelude::*;

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
