//! UMAP's layout optimisation: stochastic gradient descent over the graph's edges with
//! negative sampling (umap-learn's `optimize_layout_euclidean`), made reproducible.
//!
//! umap-learn lets threads race over a shared embedding. Here the vertices are cut into
//! fixed blocks: `ceil(n / SGD_BLOCK)` runs of consecutive vertices of about equal expected
//! work per epoch (positive and negative samples of their edges), a cut that depends on the
//! graph only, never on the thread count. In every epoch each block runs umap-learn's
//! sequential epoch over the edges whose head is in the block, on a private copy of its own
//! vertices, reading every other vertex from the embedding as it was at the start of the
//! epoch; the pulls on tails outside the block are recorded and added at the end of the
//! epoch, block by block in order. Blocks run in parallel, one task each (so that work
//! stealing balances them over the threads), and the result is bit-identical whatever the
//! thread count. A graph of at most [`SGD_BLOCK`] vertices is one block.
//!
//! Within a block epoch (for 1–4 output dimensions) the edges of the first and of the
//! second half of the block's vertices run as two interleaved streams, one edge of each in
//! turn, so that the dependency chains of two heads overlap; each stream draws its negative
//! samples from its own seeded generator per (epoch, block), two vertex draws per 64-bit
//! output. Which edges are sampled in an epoch comes from a schedule listed once per 64
//! epochs (umap-learn's `epoch_of_next_sample` test, made once per sample instead of once
//! per edge and epoch); the gradient coefficients come from tables (`GradTable`).

mod block;
mod draws;
mod tables;

pub use tables::{POW_TABLE_STEPS, PowTable};

use super::graph::FuzzyGraph;
use block::{Block, EpochContext, WINDOW, block_epoch, block_epoch_fixed};
use draws::below;
use insiders_core::{Rng, derive_seed};
use rayon::prelude::*;
use tables::{GradTable, Gradient, attract, repel};

/// Average vertices per block of the reproducible parallel SGD: a graph of `n` vertices is
/// cut into `ceil(n / SGD_BLOCK)` runs of consecutive vertices of about equal expected work.
pub const SGD_BLOCK: usize = 256;
/// Gradient components are clipped to `[-CLIP, CLIP]` (umap-learn: 4).
pub const CLIP: f64 = 4.0;
/// Added to the squared distance in the repulsive gradient (umap-learn: 0.001).
pub const REPULSION_EPS: f64 = 0.001;

/// Settings of one optimisation.
#[derive(Debug, Clone, Copy)]
pub struct SgdSettings {
    /// Curve parameter a.
    pub a: f64,
    /// Curve parameter b.
    pub b: f64,
    /// Weight of the repulsive term.
    pub gamma: f64,
    /// Initial learning rate.
    pub alpha: f64,
    /// Negative samples per positive sample.
    pub negative_sample_rate: usize,
    /// Epochs.
    pub n_epochs: usize,
}

#[inline]
pub(super) fn clip(v: f64) -> f64 {
    v.clamp(-CLIP, CLIP)
}

/// umap-learn's `make_epochs_per_sample`: an edge of weight w is sampled every
/// `max_w / w` epochs (`n_epochs / (n_epochs · w / max_w)`, kept in that form).
pub fn epochs_per_sample(weights: &[f64], n_epochs: usize) -> Vec<f64> {
    let max = weights.iter().copied().fold(0.0, f64::max);
    let ne = n_epochs as f64;
    weights
        .iter()
        .map(|&w| {
            let n_samples = ne * (w / max);
            if n_samples > 0.0 {
                ne / n_samples
            } else {
                -1.0
            }
        })
        .collect()
}

/// The learning rate of epoch `epoch` (umap-learn updates it after each epoch).
#[inline]
fn learning_rate(initial: f64, epoch: usize, n_epochs: usize) -> f64 {
    if epoch == 0 {
        initial
    } else {
        initial * (1.0 - (epoch - 1) as f64 / n_epochs as f64)
    }
}

/// Optimises `emb` (`n × dim`, row-major) in place against a symmetric graph: every stored
/// entry `(head, tail)` is an edge (both directions of an undirected edge are stored, as in
/// umap-learn), and both ends move on a positive sample.
pub fn optimize_fit(emb: &mut [f64], dim: usize, graph: &FuzzyGraph, s: &SgdSettings, seed: u64) {
    let n = graph.n_rows;
    if n == 0 || dim == 0 || s.n_epochs == 0 || graph.n_entries() == 0 {
        return;
    }
    let eps = epochs_per_sample(&graph.weights, s.n_epochs);
    let rate = s.negative_sample_rate as f64;
    let eps_neg: Vec<f64> = eps.iter().map(|e| e / rate).collect();
    // Expected work of a vertex per epoch: its samples, positive and negative, plus a
    // little per stored edge (the check whether it is due) and per vertex.
    let cost: Vec<f64> = (0..n)
        .map(|v| {
            eps[graph.indptr[v]..graph.indptr[v + 1]]
                .iter()
                .map(|&e| 0.25 + if e > 0.0 { (1.0 + rate) / e } else { 0.0 })
                .sum::<f64>()
                + 0.25
        })
        .collect();
    let bounds = cut_blocks(&cost, n.div_ceil(SGD_BLOCK));
    let n_blocks = bounds.len() - 1;
    let mut block_of = vec![0u32; n];
    for b in 0..n_blocks {
        block_of[bounds[b]..bounds[b + 1]].fill(b as u32);
    }
    let mut blocks: Vec<Block> = (0..n_blocks)
        .map(|b| {
            let (start, end) = (bounds[b], bounds[b + 1]);
            let (e0, e1) = (graph.indptr[start], graph.indptr[end]);
            let head = (start..end)
                .flat_map(|v| {
                    std::iter::repeat_n((v - start) as u32, graph.indptr[v + 1] - graph.indptr[v])
                })
                .collect();
            let words = (e1 - e0).div_ceil(64);
            Block {
                start,
                end,
                e0,
                next: eps[e0..e1].to_vec(),
                next_neg: eps_neg[e0..e1].to_vec(),
                head,
                due: vec![0; WINDOW * words],
                words,
                local: vec![0.0; (end - start) * dim],
                tmp: vec![0.0; 3 * dim],
                out: vec![Vec::new(); n_blocks],
            }
        })
        .collect();
    let attract = GradTable::new(Gradient::Attract, s.a, s.b, s.gamma);
    let repel = GradTable::new(Gradient::Repel, s.a, s.b, s.gamma);
    for epoch in 0..s.n_epochs {
        let cx = EpochContext {
            graph,
            eps: &eps,
            eps_neg: &eps_neg,
            snapshot: emb,
            dim,
            epoch_index: epoch,
            epoch: epoch as f64,
            n_epochs: s.n_epochs,
            alpha: learning_rate(s.alpha, epoch, s.n_epochs),
            attract: &attract,
            repel: &repel,
            negatives: s.negative_sample_rate > 0,
            block_of: &block_of,
        };
        let stream = epoch as u64 * n_blocks as u64;
        // One task per block (work stealing balances the blocks over the threads).
        blocks
            .par_iter_mut()
            .with_max_len(1)
            .enumerate()
            .for_each(|(bi, blk)| {
                let task = 2 * (stream + bi as u64);
                let mut rngs = [
                    Rng::new(derive_seed(seed, task)),
                    Rng::new(derive_seed(seed, task + 1)),
                ];
                match cx.dim {
                    1 => block_epoch_fixed::<1>(blk, &cx, &mut rngs),
                    2 => block_epoch_fixed::<2>(blk, &cx, &mut rngs),
                    3 => block_epoch_fixed::<3>(blk, &cx, &mut rngs),
                    4 => block_epoch_fixed::<4>(blk, &cx, &mut rngs),
                    d => block_epoch(blk, &cx, d, &mut rngs[0]),
                }
            });
        // Every block's vertices: its private copy, then the pulls of the blocks in block
        // order (each vertex gets the serial sequence of additions); blocks in parallel.
        let blocks = &blocks;
        let mut parts: Vec<&mut [f64]> = Vec::with_capacity(n_blocks);
        let mut rest = &mut emb[..];
        for blk in blocks {
            let (head, tail) = rest.split_at_mut((blk.end - blk.start) * dim);
            parts.push(head);
            rest = tail;
        }
        parts
            .into_par_iter()
            .with_max_len(1)
            .enumerate()
            .for_each(|(tb, out)| match dim {
                1 => merge_fixed::<1>(out, blocks, tb),
                2 => merge_fixed::<2>(out, blocks, tb),
                3 => merge_fixed::<3>(out, blocks, tb),
                4 => merge_fixed::<4>(out, blocks, tb),
                _ => merge(out, blocks, tb, dim),
            });
    }
}

/// The vertices of block `tb` after an epoch: its private copy, then the pulls of the
/// blocks in block order.
#[inline(always)]
fn merge(out: &mut [f64], blocks: &[Block], tb: usize, dim: usize) {
    out.copy_from_slice(&blocks[tb].local);
    let base = blocks[tb].start;
    for src in blocks {
        for pull in src.out[tb].chunks_exact(dim + 1) {
            let at = (pull[0].to_bits() as usize - base) * dim;
            for d in 0..dim {
                out[at + d] += pull[1 + d];
            }
        }
    }
}

/// [`merge`] for a constant `D` (the same additions).
fn merge_fixed<const D: usize>(out: &mut [f64], blocks: &[Block], tb: usize) {
    out.copy_from_slice(&blocks[tb].local);
    let (rows, _) = out.as_chunks_mut::<D>();
    let base = blocks[tb].start;
    for src in blocks {
        for pull in src.out[tb].chunks_exact(D + 1) {
            let row = &mut rows[pull[0].to_bits() as usize - base];
            for d in 0..D {
                row[d] += pull[1 + d];
            }
        }
    }
}

/// Cuts `0..cost.len()` into at most `n_blocks` runs of consecutive vertices of about equal
/// total cost: the starts of the runs, then `cost.len()`. Depends on the costs only.
fn cut_blocks(cost: &[f64], n_blocks: usize) -> Vec<usize> {
    let n = cost.len();
    let total: f64 = cost.iter().sum();
    let mut bounds = vec![0];
    let mut acc = 0.0;
    let mut next = 1;
    for (v, &c) in cost.iter().enumerate() {
        if next < n_blocks
            && v > bounds[bounds.len() - 1]
            && acc >= total * next as f64 / n_blocks as f64
        {
            bounds.push(v);
            next += 1;
        }
        acc += c;
    }
    bounds.push(n);
    bounds
}

/// Optimises the places `emb` (`m × dim`) of new points against a fixed training
/// embedding `tail` (`n × dim`) along a bipartite graph (row i: training neighbours of new
/// point i). Only the new points move (umap-learn's transform). Each new point is
/// independent and has its own seeded stream, so points run in parallel and the result
/// does not depend on the thread count.
pub fn optimize_transform(
    emb: &mut [f64],
    tail: &[f64],
    dim: usize,
    graph: &FuzzyGraph,
    s: &SgdSettings,
    seed: u64,
) {
    let n_tail = graph.n_cols;
    if s.n_epochs == 0 || graph.n_entries() == 0 || n_tail == 0 {
        return;
    }
    let eps = epochs_per_sample(&graph.weights, s.n_epochs);
    let rate = s.negative_sample_rate as f64;
    let (a, b, gamma) = (s.a, s.b, s.gamma);
    let pow = PowTable::new(b);
    let threshold = (n_tail as u64).wrapping_neg() % (n_tail as u64);
    emb.par_chunks_mut(dim).enumerate().for_each(|(i, cur)| {
        let mut rng = Rng::for_task(seed, i as u64);
        let edges = graph.indptr[i]..graph.indptr[i + 1];
        let mut next: Vec<f64> = eps[edges.clone()].to_vec();
        let eps_neg: Vec<f64> = next.iter().map(|e| e / rate).collect();
        let mut next_neg = eps_neg.clone();
        for epoch in 0..s.n_epochs {
            let alpha = learning_rate(s.alpha, epoch, s.n_epochs);
            let epoch_f = epoch as f64;
            for (le, e) in edges.clone().enumerate() {
                if next[le] > epoch_f {
                    continue;
                }
                let t = graph.indices[e];
                let other = &tail[t * dim..(t + 1) * dim];
                let d2: f64 = cur.iter().zip(other).map(|(x, y)| (x - y) * (x - y)).sum();
                let coeff = attract(d2, a, b, &pow);
                for d in 0..dim {
                    cur[d] += clip(coeff * (cur[d] - other[d])) * alpha;
                }
                next[le] += eps[e];
                if rate <= 0.0 {
                    continue;
                }
                let ratio = (epoch_f - next_neg[le]) / eps_neg[le];
                let n_neg = if ratio > 0.0 { ratio as usize } else { 0 };
                for _ in 0..n_neg {
                    let k = below(&mut rng, n_tail, threshold);
                    let other = &tail[k * dim..(k + 1) * dim];
                    let d2: f64 = cur.iter().zip(other).map(|(x, y)| (x - y) * (x - y)).sum();
                    if d2 <= 0.0 {
                        continue;
                    }
                    let coeff = repel(d2, a, b, gamma, &pow);
                    for d in 0..dim {
                        cur[d] += clip(coeff * (cur[d] - other[d])) * alpha;
                    }
                }
                next_neg[le] += n_neg as f64 * eps_neg[le];
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::draws::DrawBuffer;
    use super::*;

    #[test]
    fn pow_table_is_accurate_everywhere() {
        for b in [0.5, 0.8950607195982855, 1.0, 1.9] {
            let t = PowTable::new(b);
            let mut x = 1e-20;
            while x < 1e12 {
                let rel = (t.pow(x) / x.powf(b) - 1.0).abs();
                let bound = if b <= 1.0 { 1e-5 } else { 6e-5 };
                assert!(rel < bound, "b {b} x {x} rel {rel}");
                x *= 1.013_7;
            }
        }
    }

    /// A ring of `n` vertices, each joined to its neighbours at distance 1 (weight 1) and 2
    /// (weight 0.4), both directions stored.
    fn ring(n: usize) -> FuzzyGraph {
        let mut indptr = vec![0];
        let (mut indices, mut weights) = (Vec::new(), Vec::new());
        for i in 0..n {
            let mut row: Vec<(usize, f64)> = [(1, 1.0), (2, 0.4)]
                .iter()
                .flat_map(|&(s, w)| [((i + s) % n, w), ((i + n - s) % n, w)])
                .collect();
            row.sort_by_key(|e| e.0);
            for (j, w) in row {
                indices.push(j);
                weights.push(w);
            }
            indptr.push(indices.len());
        }
        FuzzyGraph {
            n_rows: n,
            n_cols: n,
            indptr,
            indices,
            weights,
        }
    }

    #[test]
    fn every_dimension_is_reproducible_whatever_the_thread_count() {
        let g = ring(700);
        let s = SgdSettings {
            a: 1.577,
            b: 0.895,
            gamma: 1.0,
            alpha: 1.0,
            negative_sample_rate: 5,
            n_epochs: 70,
        };
        for dim in [2, 5] {
            let mut rng = Rng::new(9);
            let init: Vec<f64> = (0..700 * dim).map(|_| 10.0 * rng.uniform()).collect();
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut emb = init.clone();
                pool.install(|| optimize_fit(&mut emb, dim, &g, &s, 3));
                emb
            };
            let one = run(1);
            assert!(one.iter().all(|v| v.is_finite()));
            assert_ne!(one, init);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(&run(2)), "dim {dim}");
            // ring neighbours end up closer than random pairs
            let dist = |i: usize, j: usize| -> f64 {
                (0..dim)
                    .map(|d| (one[i * dim + d] - one[j * dim + d]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            let near: f64 = (0..700).map(|i| dist(i, (i + 1) % 700)).sum::<f64>() / 700.0;
            let far: f64 = (0..700).map(|i| dist(i, (i + 350) % 700)).sum::<f64>() / 700.0;
            assert!(
                near < 0.25 * far,
                "dim {dim}: neighbours {near}, opposite {far}"
            );
        }
    }

    #[test]
    fn gradient_tables_match_the_formulas() {
        let (a0, b0) = (1.576_943_613_374_989_7, 0.895_060_719_598_285_5);
        for (a, b) in [
            (a0, b0),
            (1.929, 0.7915),
            (0.583, 1.334),
            (8.0, 0.5),
            (0.3, 2.0),
        ] {
            for kind in [Gradient::Attract, Gradient::Repel] {
                let t = GradTable::new(kind, a, b, 1.0);
                let mut worst = 0.0f64;
                let mut x = 1e-12f64;
                while x < 1e8 {
                    let pb = x.powf(b);
                    let exact = match kind {
                        Gradient::Attract => -2.0 * a * b * pb / (x * (a * pb + 1.0)),
                        Gradient::Repel => 2.0 * b / ((REPULSION_EPS + x) * (a * pb + 1.0)),
                    };
                    worst = worst.max((t.at(x) / exact - 1.0).abs());
                    x *= 1.003_7;
                }
                let bound = if b == b0 { 1e-6 } else { 5e-6 };
                assert!(
                    worst < bound,
                    "{kind:?} a {a} b {b}: relative error {worst}"
                );
            }
        }
        // outside the table: computed; at 0 the repulsion is finite
        let r = GradTable::new(Gradient::Repel, a0, b0, 1.0);
        assert_eq!(r.at(0.0), 2.0 * b0 / REPULSION_EPS);
        assert!((r.at(1e9) / (2.0 * b0 / (1e9 * (a0 * 1e9f64.powf(b0) + 1.0))) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn index_draws_are_uniform_and_in_range() {
        for n in [1usize, 2, 7, 5695] {
            let mut rng = Rng::new(3);
            let mut draw = DrawBuffer::new(n);
            let mut counts = vec![0usize; n];
            let m = 20_000 * n.min(50);
            for _ in 0..m {
                counts[draw.take(1, &mut rng)[0]] += 1;
            }
            if n <= 7 {
                let expect = m as f64 / n as f64;
                for &c in &counts {
                    assert!(
                        (c as f64 - expect).abs() < 5.0 * expect.sqrt(),
                        "{counts:?}"
                    );
                }
            }
        }
    }

    /// One draw at a time, as before batching: the low half of a 64-bit output, its high
    /// half kept for the next draw.
    fn draws_one_at_a_time(n: u64, count: usize, rng: &mut Rng) -> Vec<usize> {
        let threshold = (n as u32).wrapping_neg() % (n as u32);
        let mut spare: Option<u32> = None;
        let mut out = Vec::new();
        while out.len() < count {
            let r = match spare.take() {
                Some(r) => r,
                None => {
                    let w = rng.next_u64();
                    spare = Some((w >> 32) as u32);
                    w as u32
                }
            };
            let m = u64::from(r) * n;
            if (m as u32) >= threshold {
                out.push((m >> 32) as usize);
            }
        }
        out
    }

    #[test]
    fn batched_draws_are_the_draws_one_at_a_time() {
        // 2^31 + 1 rejects almost half of the 32-bit values: batches end on either half
        for n in [1u64, 7, 5695, (1 << 31) + 1] {
            let mut rng = Rng::new(11);
            let mut draw = DrawBuffer::new(n as usize);
            let mut batched = Vec::new();
            for c in (0..400).map(|i| i % 9) {
                batched.extend_from_slice(draw.take(c, &mut rng));
            }
            let mut rng = Rng::new(11);
            assert_eq!(
                batched,
                draws_one_at_a_time(n, batched.len(), &mut rng),
                "n {n}"
            );
        }
    }

    #[test]
    fn schedule_is_umap_learns_test_epoch_by_epoch() {
        let mut rng = Rng::new(5);
        // epochs per sample as umap-learn makes them (>= 1), some below 1, and invalid ones
        let mut eps: Vec<f64> = (0..150).map(|_| 1.0 + 60.0 * rng.uniform()).collect();
        eps.extend([1.0, 1.0, 0.3, 0.999, 64.0, 500.0, 1e300, -1.0, f64::NAN]);
        // every-epoch edges (eps 1) starting at integers, a fraction, late and huge
        eps.extend([1.0, 1.0, 1.0, 1.0, 1.0]);
        let m = eps.len();
        let mut start = eps.clone();
        start[m - 5..].copy_from_slice(&[0.0, 3.0, 2.5, 100.0, 1e300]);
        let n_epochs: usize = 150;
        let mut blk = Block {
            start: 0,
            end: 1,
            e0: 0,
            next: start.clone(),
            next_neg: Vec::new(),
            head: vec![0; m],
            due: vec![0; WINDOW * m.div_ceil(64)],
            words: m.div_ceil(64),
            local: Vec::new(),
            tmp: Vec::new(),
            out: Vec::new(),
        };
        let mut next = start;
        for epoch in 0..n_epochs {
            if epoch.is_multiple_of(WINDOW) {
                blk.schedule(&eps, epoch, (epoch + WINDOW).min(n_epochs));
            }
            let due = blk.due_in(epoch);
            for e in 0..m {
                let listed = due[e / 64] >> (e % 64) & 1 == 1;
                // umap-learn's test: `epoch_of_next_sample[e] <= n` (also true for NaN here)
                let sampled =
                    next[e].partial_cmp(&(epoch as f64)) != Some(std::cmp::Ordering::Greater);
                assert_eq!(listed, sampled, "epoch {epoch} edge {e} eps {}", eps[e]);
                if sampled {
                    next[e] += eps[e];
                }
            }
        }
    }

    #[test]
    fn blocks_cut_by_cost() {
        let cost = vec![1.0; 10];
        assert_eq!(cut_blocks(&cost, 2), vec![0, 5, 10]);
        assert_eq!(cut_blocks(&cost, 1), vec![0, 10]);
        let skewed = [9.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(cut_blocks(&skewed, 2), vec![0, 1, 10]);
        // never an empty block, never more than asked
        assert_eq!(cut_blocks(&[1.0, 1.0], 5), vec![0, 1, 2]);
        assert_eq!(cut_blocks(&[5.0], 3), vec![0, 1]);
    }

    #[test]
    fn epochs_per_sample_follow_the_weights() {
        assert_eq!(
            epochs_per_sample(&[1.0, 0.5, 0.25], 200),
            vec![1.0, 2.0, 4.0]
        );
        assert_eq!(learning_rate(1.0, 0, 10), 1.0);
        assert_eq!(learning_rate(1.0, 1, 10), 1.0);
        assert!((learning_rate(1.0, 6, 10) - 0.5).abs() < 1e-15);
    }
}
