//! Split-and-merge EM (Ueda et al. 2000) on the best restart: proposals, their ranking and
//! the trials.

use super::cholesky::precision_cholesky;
use super::em::{EmRun, Params};
use super::kernels::quad;
use super::params::CovarianceType;
use super::{GaussianMixture, LN_2PI};
use crate::kmeans::{CHUNK, Data};
use rayon::prelude::*;

// ---------------------------------------------------------------------------------------
// Split-and-merge refinement.

/// Responsibilities at or below this are ignored when proposing and ranking split and
/// merge candidates (a point so counted changes a candidate's predicted gain by about its
/// responsibility at most); the trials themselves are scored exactly, on every point.
const SMEM_MIN_RESP: f64 = 1e-3;

/// Maximum EM iterations of the weighted two-Gaussian fit that proposes a split.
const SPLIT_ITERS: usize = 10;

/// Power iterations for the principal axis of a component's scatter.
const POWER_ITERS: usize = 100;

/// A ranking is abandoned after this many consecutive rejected trials.
const SMEM_PATIENCE: usize = 5;

/// Pairs (the best merges) whose points are also re-split into two Gaussians.
const RESPLIT_PAIRS: usize = 3;

/// One Gaussian in internal (centred) coordinates.
#[derive(Debug, Clone)]
struct Gauss {
    mean: Vec<f64>,
    /// `d x d` covariance (full form), `reg_covar` included.
    cov: Vec<f64>,
    /// Upper-triangular precision Cholesky factor.
    prec: Vec<f64>,
    /// `sum_c ln P[c][c]`.
    log_det: f64,
}

impl Gauss {
    /// `ln N(x | mean, cov)`.
    #[inline]
    fn log_pdf(&self, x: &[f64], diagonal: bool, diff: &mut [f64]) -> f64 {
        let d = self.mean.len();
        let q = quad(x, &self.mean, &self.prec, d, diagonal, diff);
        -0.5 * (d as f64 * LN_2PI + q) + self.log_det
    }
}

/// Maximum-likelihood Gaussian of the points `pts` with weights `w`, with the formulas of
/// [`m_step`] (`+ 10 eps` on the total weight, covariance around the weighted mean, `reg`
/// on the diagonal). Returns it and the total weight; `None` when the weights vanish or the
/// covariance is not positive definite.
fn fit_gauss(
    data: &Data,
    pts: &[u32],
    w: &[f64],
    cov_type: CovarianceType,
    reg: f64,
) -> Option<(Gauss, f64)> {
    let d = data.d;
    let total: f64 = w.iter().sum::<f64>() + 10.0 * f64::EPSILON;
    if !(total > 1e-8 && total.is_finite()) {
        return None;
    }
    let mut mean = vec![0.0; d];
    for (&i, &wi) in pts.iter().zip(w) {
        for (m, v) in mean.iter_mut().zip(data.row(i as usize)) {
            *m += wi * v;
        }
    }
    for m in &mut mean {
        *m /= total;
    }
    let mut cov = vec![0.0; d * d];
    let mut diff = vec![0.0; d];
    let full = cov_type == CovarianceType::Full;
    for (&i, &wi) in pts.iter().zip(w) {
        if wi == 0.0 {
            continue;
        }
        for (c, (x, m)) in diff.iter_mut().zip(data.row(i as usize).iter().zip(&mean)) {
            *c = x - m;
        }
        for p in 0..d {
            let wp = wi * diff[p];
            if full {
                for q in p..d {
                    cov[p * d + q] += wp * diff[q];
                }
            } else {
                cov[p * d + p] += wp * diff[p];
            }
        }
    }
    for p in 0..d {
        for q in p..d {
            let v = cov[p * d + q] / total;
            cov[p * d + q] = v;
            cov[q * d + p] = v;
        }
        cov[p * d + p] += reg;
    }
    if cov_type == CovarianceType::Spherical {
        let v = (0..d).map(|c| cov[c * d + c]).sum::<f64>() / d as f64;
        for c in 0..d {
            cov[c * d + c] = v;
        }
    }
    let prec = precision_cholesky(&cov, d)?;
    let log_det = (0..d).map(|c| prec[c * d + c].ln()).sum();
    Some((
        Gauss {
            mean,
            cov,
            prec,
            log_det,
        },
        total,
    ))
}

/// Unit principal axis of the weighted scatter of `pts` around `mean` (power iteration from
/// the scatter's column of largest variance); `None` when the scatter vanishes.
fn principal_axis(data: &Data, pts: &[u32], w: &[f64], mean: &[f64]) -> Option<Vec<f64>> {
    let d = data.d;
    let mut s = vec![0.0; d * d];
    let mut diff = vec![0.0; d];
    for (&i, &wi) in pts.iter().zip(w) {
        for (c, (x, m)) in diff.iter_mut().zip(data.row(i as usize).iter().zip(mean)) {
            *c = x - m;
        }
        for p in 0..d {
            let wp = wi * diff[p];
            for q in 0..d {
                s[p * d + q] += wp * diff[q];
            }
        }
    }
    let mut top = 0;
    for c in 1..d {
        if s[c * d + c] > s[top * d + top] {
            top = c;
        }
    }
    if !(s[top * d + top] > 0.0 && s[top * d + top].is_finite()) {
        return None;
    }
    let normalise = |v: &mut [f64]| -> bool {
        let len = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if !(len > 0.0 && len.is_finite()) {
            return false;
        }
        for a in v.iter_mut() {
            *a /= len;
        }
        true
    };
    let mut v: Vec<f64> = (0..d).map(|r| s[r * d + top]).collect();
    if !normalise(&mut v) {
        return None;
    }
    for _ in 0..POWER_ITERS {
        let mut u: Vec<f64> = (0..d)
            .map(|r| (0..d).map(|c| s[r * d + c] * v[c]).sum())
            .collect();
        if !normalise(&mut u) {
            return None;
        }
        let change: f64 = u.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = u;
        if change < 1e-10 {
            break;
        }
    }
    Some(v)
}

/// Two Gaussians for the points `pts` with weights `w`, with their shares of the total
/// weight: the points are halved by the hyperplane through their weighted mean orthogonal
/// to their principal axis, then a weighted two-Gaussian EM (at most [`SPLIT_ITERS`]
/// iterations, stopped when the weighted log-likelihood gains less than `tol` per unit of
/// weight) refines the halves. `None` when a half is empty or degenerate.
fn split_points(
    data: &Data,
    pts: &[u32],
    w: &[f64],
    cov_type: CovarianceType,
    reg: f64,
    tol: f64,
) -> Option<[(Gauss, f64); 2]> {
    let d = data.d;
    let diagonal = cov_type != CovarianceType::Full;
    let (whole, total) = fit_gauss(data, pts, w, cov_type, reg)?;
    let axis = principal_axis(data, pts, w, &whole.mean)?;
    let mut q: Vec<f64> = pts
        .iter()
        .map(|&i| {
            let x = data.row(i as usize);
            let side: f64 = (0..d).map(|c| (x[c] - whole.mean[c]) * axis[c]).sum();
            if side > 0.0 { 1.0 } else { 0.0 }
        })
        .collect();
    let mut diff = vec![0.0; d];
    let mut prev = f64::NEG_INFINITY;
    let mut parts: Option<[(Gauss, f64); 2]> = None;
    for _ in 0..=SPLIT_ITERS {
        // M-step from the memberships q of the first part.
        let wa: Vec<f64> = w.iter().zip(&q).map(|(a, b)| a * b).collect();
        let wb: Vec<f64> = w.iter().zip(&q).map(|(a, b)| a * (1.0 - b)).collect();
        let (ga, ta) = fit_gauss(data, pts, &wa, cov_type, reg)?;
        let (gb, tb) = fit_gauss(data, pts, &wb, cov_type, reg)?;
        let (la0, lb0) = ((ta / total).ln(), (tb / total).ln());
        // E-step and weighted log-likelihood.
        let mut obj = 0.0;
        for (t, &i) in pts.iter().enumerate() {
            let x = data.row(i as usize);
            let la = la0 + ga.log_pdf(x, diagonal, &mut diff);
            let lb = lb0 + gb.log_pdf(x, diagonal, &mut diff);
            let m = la.max(lb);
            let lse = m + ((la - m).exp() + (lb - m).exp()).ln();
            q[t] = (la - lse).exp();
            obj += w[t] * lse;
        }
        parts = Some([(ga, ta / total), (gb, tb / total)]);
        if !obj.is_finite() || obj - prev < tol * total {
            break;
        }
        prev = obj;
    }
    parts
}

/// A proposed local change: the components `replaced` give way to the Gaussians `parts`
/// (each with its log mixing weight), and the predicted change of the total
/// log-likelihood, the other components fixed.
#[derive(Debug, Clone)]
struct Proposal {
    replaced: Vec<usize>,
    parts: Vec<(Gauss, f64)>,
    gain: f64,
}

/// The current mixture evaluated on every point: responsibilities (`n x k`), per-point
/// log-likelihood, and the points of each component (responsibility above
/// [`SMEM_MIN_RESP`]), in index order.
struct Snapshot {
    resp: Vec<f64>,
    ll: Vec<f64>,
    members: Vec<Vec<u32>>,
}

impl Snapshot {
    fn new(data: &Data, params: &Params) -> Self {
        let (n, k, d) = (data.n, params.k, params.d);
        let mut resp = vec![0.0; n * k];
        let mut ll = vec![0.0; n];
        resp.par_chunks_mut(CHUNK * k)
            .zip(ll.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (out, lls))| {
                let mut diff = vec![0.0; d];
                let mut w = vec![0.0; k];
                for (t, (o, l)) in out.chunks_mut(k).zip(lls.iter_mut()).enumerate() {
                    *l = params.responsibilities_of(data.row(c * CHUNK + t), &mut diff, &mut w, o);
                }
            });
        let mut members = vec![Vec::new(); k];
        for (i, row) in resp.chunks(k).enumerate() {
            for (j, &r) in row.iter().enumerate() {
                if r > SMEM_MIN_RESP {
                    members[j].push(i as u32);
                }
            }
        }
        Snapshot { resp, ll, members }
    }

    /// The points of the components `comps` (sorted union of their members) and their summed
    /// responsibilities.
    fn points_of(&self, comps: &[usize]) -> (Vec<u32>, Vec<f64>) {
        let k = self.members.len();
        let mut pts: Vec<u32> = comps
            .iter()
            .flat_map(|&j| self.members[j].iter().copied())
            .collect();
        pts.sort_unstable();
        pts.dedup();
        let w = pts
            .iter()
            .map(|&i| comps.iter().map(|&j| self.resp[i as usize * k + j]).sum())
            .collect();
        (pts, w)
    }

    /// Predicted change of the total log-likelihood when the components whose summed
    /// responsibilities on `pts` are `w` are replaced by `parts`, the others fixed:
    /// `sum_i ln(1 - w_i + sum_p exp(ln w_p + ln N_p(x_i) - ln p(x_i)))`.
    fn gain(
        &self,
        data: &Data,
        pts: &[u32],
        w: &[f64],
        parts: &[(Gauss, f64)],
        diagonal: bool,
    ) -> f64 {
        let mut diff = vec![0.0; data.d];
        let mut gain = 0.0;
        for (&i, &wi) in pts.iter().zip(w) {
            let x = data.row(i as usize);
            let ll = self.ll[i as usize];
            let mut new = (1.0 - wi).max(0.0);
            for (g, lw) in parts {
                new += (lw + g.log_pdf(x, diagonal, &mut diff) - ll).exp();
            }
            gain += new.ln();
        }
        gain
    }
}

impl GaussianMixture {
    /// Split-and-merge EM (after Ueda, Nakano, Ghahramani & Hinton 2000) on a converged run;
    /// see the module docs. Returns the run, the number of trials and the number accepted.
    /// A trial whose EM fails (a covariance not positive definite) is rejected, so the
    /// refinement never fails and never lowers the lower bound.
    pub(super) fn smem(&self, data: &Data, mut run: EmRun) -> (EmRun, usize, usize) {
        let k = run.params.k;
        let max_trials = self.params.max_refine_trials;
        let (mut trials, mut accepted) = (0, 0);
        while trials < max_trials {
            let snap = Snapshot::new(data, &run.params);
            let props = self.proposals(data, &run.params, &snap);
            // Candidates: a merge with a split of another component (k unchanged), or a
            // re-split of a pair; best predicted gain first, ties in generation order.
            let mut cands: Vec<(f64, usize, Option<usize>)> = Vec::new();
            for (a, pa) in props.iter().enumerate() {
                match (pa.replaced.len(), pa.parts.len()) {
                    (2, 2) => cands.push((pa.gain, a, None)),
                    (2, 1) => {
                        for (b, pb) in props.iter().enumerate() {
                            if pb.replaced.len() == 1
                                && pb.parts.len() == 2
                                && !pa.replaced.contains(&pb.replaced[0])
                            {
                                cands.push((pa.gain + pb.gain, a, Some(b)));
                            }
                        }
                    }
                    _ => {}
                }
            }
            cands.retain(|c| c.0.is_finite());
            cands.sort_by(|x, y| y.0.total_cmp(&x.0));
            // Trials in order; after an acceptance, candidates touching the changed
            // components wait for the next ranking.
            let mut dirty = vec![false; k];
            let mut improved = false;
            let mut failures = 0;
            for &(_, a, b) in &cands {
                if trials >= max_trials {
                    break;
                }
                let used: Vec<&Proposal> = std::iter::once(&props[a])
                    .chain(b.map(|b| &props[b]))
                    .collect();
                if used.iter().any(|p| p.replaced.iter().any(|&j| dirty[j])) {
                    continue;
                }
                if failures >= SMEM_PATIENCE {
                    break;
                }
                trials += 1;
                let start = apply_proposals(&run.params, &used);
                let resp = vec![0.0; data.n * k];
                let res = self.em_from(data, start, resp);
                if let Ok(next) = res
                    && next.lower_bound > run.lower_bound
                {
                    // Any gain is kept; only one above EM's own resolution (`tol`) is worth
                    // a new ranking.
                    improved |= next.lower_bound > run.lower_bound + self.params.tol;
                    failures = 0;
                    run = next;
                    accepted += 1;
                    for p in &used {
                        for &j in &p.replaced {
                            dirty[j] = true;
                        }
                    }
                } else {
                    failures += 1;
                }
            }
            if !improved {
                break;
            }
        }
        (run, trials, accepted)
    }

    /// Splits of every component, merges of every pair of components sharing points, and
    /// re-splits of the [`RESPLIT_PAIRS`] best merges, with their predicted gains.
    fn proposals(&self, data: &Data, params: &Params, snap: &Snapshot) -> Vec<Proposal> {
        let (n, k) = (data.n, params.k);
        let (cov_type, reg, tol) = (self.cov, self.params.reg_covar, self.params.tol);
        let diagonal = params.diagonal;
        let split_of = |comps: Vec<usize>| -> Option<Proposal> {
            let (pts, w) = snap.points_of(&comps);
            let lw = comps
                .iter()
                .map(|&j| params.log_weights[j].exp())
                .sum::<f64>()
                .ln();
            let [(ga, ta), (gb, tb)] = split_points(data, &pts, &w, cov_type, reg, tol)?;
            let parts = vec![(ga, lw + ta.ln()), (gb, lw + tb.ln())];
            let gain = snap.gain(data, &pts, &w, &parts, diagonal);
            Some(Proposal {
                replaced: comps,
                parts,
                gain,
            })
        };
        let mut overlap = vec![false; k * k];
        let mut row = Vec::with_capacity(k);
        for i in 0..n {
            row.clear();
            row.extend((0..k).filter(|&j| snap.resp[i * k + j] > SMEM_MIN_RESP));
            for (s, &a) in row.iter().enumerate() {
                for &b in &row[s + 1..] {
                    overlap[a * k + b] = true;
                }
            }
        }
        let pairs: Vec<(usize, usize)> = (0..k)
            .flat_map(|a| ((a + 1)..k).map(move |b| (a, b)))
            .filter(|&(a, b)| overlap[a * k + b])
            .collect();
        let merges: Vec<Proposal> = pairs
            .par_iter()
            .map(|&(a, b)| {
                let (pts, w) = snap.points_of(&[a, b]);
                let (g, _) = fit_gauss(data, &pts, &w, cov_type, reg)?;
                let lw = (params.log_weights[a].exp() + params.log_weights[b].exp()).ln();
                let parts = vec![(g, lw)];
                let gain = snap.gain(data, &pts, &w, &parts, diagonal);
                Some(Proposal {
                    replaced: vec![a, b],
                    parts,
                    gain,
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect();
        let mut best_merges: Vec<&Proposal> = merges.iter().collect();
        best_merges.sort_by(|x, y| y.gain.total_cmp(&x.gain));
        let mut jobs: Vec<Vec<usize>> = (0..k).map(|j| vec![j]).collect();
        jobs.extend(
            best_merges
                .iter()
                .take(RESPLIT_PAIRS)
                .map(|m| m.replaced.clone()),
        );
        let mut out: Vec<Proposal> = jobs
            .into_par_iter()
            .map(split_of)
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect();
        out.extend(merges);
        out
    }
}

/// The mixture with the proposals applied: the replaced components' slots, in increasing
/// order, take the proposals' parts in order (the candidates keep k unchanged).
fn apply_proposals(params: &Params, props: &[&Proposal]) -> Params {
    let d = params.d;
    let mut p = params.clone();
    let mut slots: Vec<usize> = props
        .iter()
        .flat_map(|q| q.replaced.iter().copied())
        .collect();
    slots.sort_unstable();
    for (&slot, (g, lw)) in slots.iter().zip(props.iter().flat_map(|q| q.parts.iter())) {
        p.log_weights[slot] = *lw;
        p.means[slot * d..(slot + 1) * d].copy_from_slice(&g.mean);
        p.cov[slot * d * d..(slot + 1) * d * d].copy_from_slice(&g.cov);
        p.prec[slot * d * d..(slot + 1) * d * d].copy_from_slice(&g.prec);
        p.log_det[slot] = g.log_det;
    }
    p
}
