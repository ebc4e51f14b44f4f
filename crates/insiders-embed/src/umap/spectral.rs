//! Spectral initialisation: the leading non-trivial eigenvectors of the normalised graph
//! Laplacian `L = I − D^{-1/2} W D^{-1/2}`, i.e. the largest eigenvectors of
//! `M = D^{-1/2} W D^{-1/2}` after the trivial one (`∝ D^{1/2} 1`, eigenvalue 1).
//!
//! Large components use a thick-restart Lanczos iteration (Wu & Simon 2000) with full
//! (twice classical Gram–Schmidt) reorthogonalisation and the trivial eigenvector deflated
//! explicitly; components of at most [`DENSE_MAX`] vertices use a dense eigen-decomposition.
//! Disconnected graphs are laid out component by component around a meta-layout, as
//! umap-learn's `multi_component_layout` does.

use super::graph::FuzzyGraph;
use insiders_core::{Matrix, MatrixView, Rng, derive_seed};
use nalgebra::{DMatrix, SymmetricEigen};
use rayon::prelude::*;

/// Components up to this size are decomposed densely.
pub const DENSE_MAX: usize = 256;
/// Lanczos stops when every wanted Ritz pair has a residual `‖M x − θ x‖` below this.
pub const LANCZOS_TOL: f64 = 1e-4;
/// Restarts before Lanczos gives up converging and returns its current Ritz vectors.
pub const LANCZOS_MAX_RESTARTS: usize = 500;

/// A spectral layout and how it was obtained.
#[derive(Debug, Clone)]
pub struct SpectralLayout {
    /// `n × dim` coordinates (eigenvectors; components placed around their meta-layout).
    pub coords: Matrix,
    /// Connected components of the graph.
    pub n_components: usize,
    /// Whether every eigensolve converged to [`LANCZOS_TOL`].
    pub converged: bool,
}

/// Matrix-vector product with `M = D^{-1/2} W D^{-1/2}` of a connected (sub)graph.
struct NormalisedAdjacency<'a> {
    graph: &'a FuzzyGraph,
    inv_sqrt_deg: Vec<f64>,
    /// Per stored entry `(i, c)`: its weight times `inv_sqrt_deg[c]` (the first product of
    /// every term, computed once).
    scaled: Vec<f64>,
}

impl<'a> NormalisedAdjacency<'a> {
    fn new(graph: &'a FuzzyGraph, inv_sqrt_deg: Vec<f64>) -> Self {
        let scaled = graph
            .indices
            .iter()
            .zip(&graph.weights)
            .map(|(&c, &v)| v * inv_sqrt_deg[c])
            .collect();
        NormalisedAdjacency {
            graph,
            inv_sqrt_deg,
            scaled,
        }
    }

    fn apply(&self, x: &[f64], y: &mut [f64]) {
        let g = self.graph;
        let f = |(i, yi): (usize, &mut f64)| {
            let r = g.indptr[i]..g.indptr[i + 1];
            let mut s = 0.0;
            for (&c, &v) in g.indices[r.clone()].iter().zip(&self.scaled[r]) {
                s += v * x[c];
            }
            *yi = s * self.inv_sqrt_deg[i];
        };
        // Rows are independent: parallel output is the serial one whatever the threads.
        if g.n_rows >= MATVEC_PAR_MIN {
            y.par_iter_mut().enumerate().with_min_len(512).for_each(f);
        } else {
            y.iter_mut().enumerate().for_each(f);
        }
    }
}

/// Vectors at least this long are processed in parallel (in fixed chunks, so the result
/// does not depend on the thread count).
const PAR_MIN: usize = 32_768;
/// Graphs with at least this many rows get a parallel matrix-vector product.
const MATVEC_PAR_MIN: usize = 2_048;
/// Chunk length of the vector operations.
const CHUNK: usize = 4_096;
/// Element chunk of [`add_combination`] (any length gives the same values).
const COMBINATION_CHUNK: usize = 1_024;

/// Dot product of one chunk with four interleaved partial sums (a fixed order:
/// deterministic, and vectorisable).
#[inline]
fn dot_chunk(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let ((ca, ra), (cb, rb)) = (a.as_chunks::<4>(), b.as_chunks::<4>());
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Dot product: chunk sums added in chunk order (the same value serial or parallel).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    if a.len() >= PAR_MIN {
        let parts: Vec<f64> = a
            .par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(|(x, y)| dot_chunk(x, y))
            .collect();
        parts.iter().sum()
    } else {
        a.chunks(CHUNK)
            .zip(b.chunks(CHUNK))
            .map(|(x, y)| dot_chunk(x, y))
            .sum()
    }
}

/// `y += alpha x`, element-wise (parallel for long vectors).
fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    let f = |(yc, xc): (&mut [f64], &[f64])| {
        for (yi, xi) in yc.iter_mut().zip(xc) {
            *yi += alpha * xi;
        }
    };
    if y.len() >= PAR_MIN {
        y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(f);
    } else {
        y.chunks_mut(CHUNK).zip(x.chunks(CHUNK)).for_each(f);
    }
}

/// The dot products of every vector of `vecs` with `w`, in order (each one the serial
/// [`dot`]; in parallel for long vectors: the same values whatever the thread count).
fn dots_with(vecs: &[Vec<f64>], w: &[f64]) -> Vec<f64> {
    if w.len() >= MATVEC_PAR_MIN {
        vecs.par_iter().map(|b| dot(b, w)).collect()
    } else {
        vecs.iter().map(|b| dot(b, w)).collect()
    }
}

/// `y += Σ_i coefs[i] · vecs[i]`, every element updated by the terms in order `i` (the
/// serial sequence of [`axpy`] calls, element by element); element chunks in parallel for
/// long vectors, so the result does not depend on the thread count.
fn add_combination(y: &mut [f64], coefs: &[f64], vecs: &[Vec<f64>]) {
    let f = |(ci, yc): (usize, &mut [f64])| {
        let off = ci * COMBINATION_CHUNK;
        let len = yc.len();
        let terms = coefs.len().min(vecs.len());
        // four terms per pass over the chunk, each element taking them in order
        let mut t = 0;
        while t + 4 <= terms {
            let c = [coefs[t], coefs[t + 1], coefs[t + 2], coefs[t + 3]];
            let v = [
                &vecs[t][off..off + len],
                &vecs[t + 1][off..off + len],
                &vecs[t + 2][off..off + len],
                &vecs[t + 3][off..off + len],
            ];
            for (k, yi) in yc.iter_mut().enumerate() {
                let mut y = *yi;
                y += c[0] * v[0][k];
                y += c[1] * v[1][k];
                y += c[2] * v[2][k];
                y += c[3] * v[3][k];
                *yi = y;
            }
            t += 4;
        }
        for (&c, v) in coefs[t..terms].iter().zip(&vecs[t..terms]) {
            for (yi, xi) in yc.iter_mut().zip(&v[off..]) {
                *yi += c * xi;
            }
        }
    };
    if y.len() >= MATVEC_PAR_MIN {
        y.par_chunks_mut(COMBINATION_CHUNK).enumerate().for_each(f);
    } else {
        y.chunks_mut(COMBINATION_CHUNK).enumerate().for_each(f);
    }
}

fn normalise(v: &mut [f64]) -> f64 {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
    norm
}

/// Makes the entry of largest magnitude positive (first such entry on ties).
fn fix_sign(v: &mut [f64]) {
    let mut arg = 0;
    for (i, x) in v.iter().enumerate() {
        if x.abs() > v[arg].abs() {
            arg = i;
        }
    }
    if v.get(arg).is_some_and(|&x| x < 0.0) {
        for x in v.iter_mut() {
            *x = -*x;
        }
    }
}

/// A unit random vector orthogonal to `deflate` and to `basis` (twice Gram–Schmidt).
fn random_orthogonal(n: usize, deflate: &[f64], basis: &[Vec<f64>], rng: &mut Rng) -> Vec<f64> {
    for _ in 0..8 {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for _ in 0..2 {
            let c = dot(deflate, &v);
            axpy(&mut v, -c, deflate);
            for b in basis {
                let c = dot(b, &v);
                axpy(&mut v, -c, b);
            }
        }
        if normalise(&mut v) > 1e-8 {
            return v;
        }
    }
    vec![0.0; n]
}

/// The `nev` largest eigenpairs of `op` on the complement of the unit vector `deflate`,
/// by thick-restart Lanczos; returns `(eigenvectors, converged)`.
fn lanczos_top(
    op: &NormalisedAdjacency<'_>,
    deflate: &[f64],
    nev: usize,
    rng: &mut Rng,
) -> (Vec<Vec<f64>>, bool) {
    let n = deflate.len();
    // Basis size: 32 vectors (at least 2 nev + 2, at most n - 1). A restart keeps the
    // best 3 nev Ritz vectors (at most half the basis beyond the wanted ones): fewer kept
    // vectors leave more new Lanczos steps per cycle, and on the study's graph (nev = 2) the
    // cycles needed drop from 27 to 17, a quarter less work than keeping 17 of 32.
    let m = (2 * nev + 2).max(32).min(n - 1);
    let keep_max = (3 * nev).min(nev + (m - nev) / 2).min(m - 1);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m + 1);
    basis.push(random_orthogonal(n, deflate, &[], rng));
    let mut h = vec![0.0; m * m];
    let mut kept = 0;
    let mut w = vec![0.0; n];
    let mut coef = vec![0.0; m];
    for restart in 0..=LANCZOS_MAX_RESTARTS {
        let mut beta_last = 0.0;
        for j in kept..m {
            op.apply(&basis[j], &mut w);
            let c = dot(deflate, &w);
            axpy(&mut w, -c, deflate);
            coef[..=j].iter_mut().for_each(|c| *c = 0.0);
            for _ in 0..2 {
                let dots = dots_with(&basis[..=j], &w);
                let minus: Vec<f64> = dots.iter().map(|d| -d).collect();
                add_combination(&mut w, &minus, &basis[..=j]);
                for (c, d) in coef.iter_mut().zip(&dots) {
                    *c += d;
                }
                let c = dot(deflate, &w);
                axpy(&mut w, -c, deflate);
            }
            for i in 0..=j {
                h[i * m + j] = coef[i];
                h[j * m + i] = coef[i];
            }
            let beta = dot(&w, &w).sqrt();
            let next = if beta > 1e-10 {
                beta_last = beta;
                w.iter().map(|x| x / beta).collect()
            } else {
                // Invariant subspace: continue with a fresh orthogonal direction.
                beta_last = 0.0;
                random_orthogonal(n, deflate, &basis, rng)
            };
            basis.push(next);
        }
        let hm = DMatrix::from_fn(m, m, |r, c| h[r * m + c]);
        let eig = SymmetricEigen::new(hm);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&x, &y| {
            eig.eigenvalues[y]
                .total_cmp(&eig.eigenvalues[x])
                .then(x.cmp(&y))
        });
        let converged = order[..nev]
            .iter()
            .all(|&c| (beta_last * eig.eigenvectors[(m - 1, c)]).abs() <= LANCZOS_TOL);
        let ritz = |count: usize| -> Vec<Vec<f64>> {
            order[..count]
                .iter()
                .map(|&c| {
                    let mut u = vec![0.0; n];
                    let coefs: Vec<f64> = (0..m).map(|j| eig.eigenvectors[(j, c)]).collect();
                    add_combination(&mut u, &coefs, &basis[..m]);
                    u
                })
                .collect()
        };
        if converged || restart == LANCZOS_MAX_RESTARTS {
            return (ritz(nev), converged);
        }
        let residual = basis[m].clone();
        let mut new_basis = ritz(keep_max);
        new_basis.push(residual);
        basis = new_basis;
        h.iter_mut().for_each(|x| *x = 0.0);
        for (i, &c) in order[..keep_max].iter().enumerate() {
            h[i * m + i] = eig.eigenvalues[c];
        }
        kept = keep_max;
    }
    (Vec::new(), false)
}

/// The `dim` leading non-trivial eigenvectors of a connected graph's normalised Laplacian
/// as an `n × dim` row-major buffer, or `None` when the graph is too small
/// (`n <= dim + 1`). The bool says whether the eigensolver converged.
pub fn connected_layout(graph: &FuzzyGraph, dim: usize, seed: u64) -> Option<(Vec<f64>, bool)> {
    let n = graph.n_rows;
    if n <= dim + 1 {
        return None;
    }
    let deg: Vec<f64> = (0..n).map(|i| graph.row(i).1.iter().sum::<f64>()).collect();
    if deg.iter().any(|&d| d <= 0.0 || !d.is_finite()) {
        return None;
    }
    let inv_sqrt_deg: Vec<f64> = deg.iter().map(|d| 1.0 / d.sqrt()).collect();
    let mut vectors: Vec<Vec<f64>> = if n <= DENSE_MAX {
        let mut dense = DMatrix::zeros(n, n);
        for i in 0..n {
            let (cols, w) = graph.row(i);
            for (&c, &v) in cols.iter().zip(w) {
                dense[(i, c)] = v * inv_sqrt_deg[i] * inv_sqrt_deg[c];
            }
        }
        let sym = (&dense + dense.transpose()) * 0.5;
        let eig = SymmetricEigen::new(sym);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| {
            eig.eigenvalues[y]
                .total_cmp(&eig.eigenvalues[x])
                .then(x.cmp(&y))
        });
        order[1..=dim]
            .iter()
            .map(|&c| eig.eigenvectors.column(c).iter().copied().collect())
            .collect()
    } else {
        let mut deflate: Vec<f64> = deg.iter().map(|d| d.sqrt()).collect();
        normalise(&mut deflate);
        let op = NormalisedAdjacency::new(graph, inv_sqrt_deg);
        let mut rng = Rng::new(seed);
        let (vecs, converged) = lanczos_top(&op, &deflate, dim, &mut rng);
        if vecs.len() != dim || vecs.iter().flatten().any(|x| !x.is_finite()) {
            return None;
        }
        let mut out = vec![0.0; n * dim];
        for (c, mut v) in vecs.into_iter().enumerate() {
            normalise(&mut v);
            fix_sign(&mut v);
            for i in 0..n {
                out[i * dim + c] = v[i];
            }
        }
        return Some((out, converged));
    };
    let mut out = vec![0.0; n * dim];
    for (c, v) in vectors.iter_mut().enumerate() {
        fix_sign(v);
        for i in 0..n {
            out[i * dim + c] = v[i];
        }
    }
    Some((out, true))
}

/// The meta-layout of `nc` components in `dim` dimensions: ± unit vectors when
/// `nc <= 2 dim` (umap-learn), otherwise the principal components of the component
/// centroids in the input space, scaled to a largest magnitude of 1 (umap-learn uses a
/// spectral embedding of the centroids' Gaussian affinities there).
fn meta_layout(
    x: MatrixView<'_>,
    labels: &[usize],
    nc: usize,
    dim: usize,
    rng: &mut Rng,
) -> Vec<f64> {
    let mut meta = vec![0.0; nc * dim];
    if nc <= 2 * dim {
        let k = nc.div_ceil(2);
        for c in 0..nc {
            let axis = c % k;
            meta[c * dim + axis] = if c < k { 1.0 } else { -1.0 };
        }
        return meta;
    }
    let d = x.ncols();
    let mut centroids = Matrix::zeros((nc, d));
    let mut counts = vec![0usize; nc];
    for (i, r) in x.outer_iter().enumerate() {
        let c = labels[i];
        counts[c] += 1;
        let mut row = centroids.row_mut(c);
        row += &r;
    }
    for (c, mut row) in centroids.outer_iter_mut().enumerate() {
        row /= counts[c].max(1) as f64;
    }
    let keep = dim.min(d).min(nc);
    if let Ok(model) = crate::pca::fit_pca(centroids.view(), Some(keep))
        && let Ok(proj) = model.project(centroids.view())
    {
        for c in 0..nc {
            for j in 0..keep {
                meta[c * dim + j] = proj[[c, j]];
            }
        }
    }
    let max = meta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if max > 0.0 && max.is_finite() {
        meta.iter_mut().for_each(|v| *v /= max);
        // Components whose centroids coincide would share a place: jitter them apart.
        let eps = 1e-3;
        meta.iter_mut()
            .for_each(|v| *v += eps * (rng.uniform() - 0.5));
    } else {
        meta.iter_mut().for_each(|v| *v = rng.uniform() * 2.0 - 1.0);
    }
    meta
}

/// The spectral layout of a (possibly disconnected) graph, `dim` columns.
///
/// Connected: the eigenvectors (unit norm). Disconnected (as umap-learn's
/// `multi_component_layout`): components get places in a meta-layout (see `meta_layout`),
/// each is laid out by its own eigenvectors scaled to half the distance to the nearest
/// other place, and components of fewer than `2 dim` or at most `dim + 1` vertices (or whose
/// eigensolve fails) get uniform random places in that range. `None` when the connected
/// graph is too small for its own eigenvectors (the caller falls back to random).
pub fn spectral_layout(
    graph: &FuzzyGraph,
    x: MatrixView<'_>,
    dim: usize,
    seed: u64,
) -> Option<SpectralLayout> {
    let n = graph.n_rows;
    let (nc, labels) = graph.components();
    if nc == 1 {
        let (coords, converged) = connected_layout(graph, dim, derive_seed(seed, 0))?;
        let coords = Matrix::from_shape_vec((n, dim), coords).ok()?;
        return Some(SpectralLayout {
            coords,
            n_components: 1,
            converged,
        });
    }
    let mut rng = Rng::new(derive_seed(seed, 1));
    let meta = meta_layout(x, &labels, nc, dim, &mut rng);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nc];
    for (i, &c) in labels.iter().enumerate() {
        members[c].push(i);
    }
    let layouts: Vec<(Vec<f64>, bool)> = members
        .par_iter()
        .enumerate()
        .map(|(c, mem)| {
            let here = &meta[c * dim..(c + 1) * dim];
            let mut nearest = f64::INFINITY;
            for o in 0..nc {
                let there = &meta[o * dim..(o + 1) * dim];
                let dist = here
                    .iter()
                    .zip(there)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                if dist > 0.0 && dist < nearest {
                    nearest = dist;
                }
            }
            let range = if nearest.is_finite() {
                nearest / 2.0
            } else {
                1.0
            };
            let size = mem.len();
            let spectral = if size < 2 * dim || size <= dim + 1 {
                None
            } else {
                let sub = graph.subgraph(mem);
                connected_layout(&sub, dim, derive_seed(seed, 2 + c as u64))
            };
            let mut out = vec![0.0; size * dim];
            let converged = match spectral {
                Some((emb, converged)) => {
                    let max = emb.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    let scale = if max > 0.0 { range / max } else { 0.0 };
                    for i in 0..size {
                        for j in 0..dim {
                            out[i * dim + j] = emb[i * dim + j] * scale + here[j];
                        }
                    }
                    converged
                }
                None => {
                    let mut r = Rng::for_task(derive_seed(seed, 3), c as u64);
                    for i in 0..size {
                        for j in 0..dim {
                            out[i * dim + j] = (r.uniform() * 2.0 - 1.0) * range + here[j];
                        }
                    }
                    true
                }
            };
            (out, converged)
        })
        .collect();
    let mut coords = Matrix::zeros((n, dim));
    let mut converged = true;
    for (mem, (out, conv)) in members.iter().zip(layouts) {
        converged &= conv;
        for (l, &i) in mem.iter().enumerate() {
            for j in 0..dim {
                coords[[i, j]] = out[l * dim + j];
            }
        }
    }
    Some(SpectralLayout {
        coords,
        n_components: nc,
        converged,
    })
}
