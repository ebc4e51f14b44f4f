//! One block's epoch of the fit: the schedule of the edges due in a window of epochs
//! ([`Block::schedule`], umap-learn's `epoch_of_next_sample` test), the general block epoch
//! ([`block_epoch`]) and the one compiled for 1–4 output dimensions with two interleaved
//! streams of edges ([`block_epoch_fixed`]).

use super::clip;
use super::draws::DrawBuffer;
use super::tables::GradTable;
use crate::umap::graph::FuzzyGraph;
use insiders_core::Rng;

/// Below this every integer is an `f64` and adding 1 to it is exact.
pub(super) const EXACT_INTEGERS: f64 = 4_503_599_627_370_496.0; // 2^52

/// Epochs whose due edges a block lists at once (one bitmap over its edges per epoch).
pub(super) const WINDOW: usize = 64;

/// Per-block state of the fit.
pub(super) struct Block {
    pub(super) start: usize,
    pub(super) end: usize,
    /// First edge of the block (edges of a CSR graph are grouped by head).
    pub(super) e0: usize,
    /// Per edge of the block: the epoch of its next positive sample (umap-learn's
    /// `epoch_of_next_sample`), advanced when the edge is entered in the schedule.
    pub(super) next: Vec<f64>,
    pub(super) next_neg: Vec<f64>,
    /// Per edge of the block: its head, counted from `start`.
    pub(super) head: Vec<u32>,
    /// The schedule of the current window of [`WINDOW`] epochs: per epoch a bitmap of
    /// `words` words over the block's edges, bit set = the edge is sampled in that epoch.
    pub(super) due: Vec<u64>,
    pub(super) words: usize,
    pub(super) local: Vec<f64>,
    pub(super) tmp: Vec<f64>,
    /// Pulls on vertices outside the block, bucketed by the block of the vertex (in the
    /// order they were made): per pull the vertex index (its bits in an f64, never computed
    /// with) and its `dim` deltas.
    pub(super) out: Vec<Vec<f64>>,
}

impl Block {
    /// Lists the edges sampled in epochs `w0..w1` (`w1 - w0 <= WINDOW`), the epochs before
    /// `w0` having been listed: edge `e` is sampled in epoch `t` when
    /// `epoch_of_next_sample <= t`, which then grows by `eps[e]` (umap-learn's test, made
    /// once per sample instead of once per edge and epoch).
    pub(super) fn schedule(&mut self, eps: &[f64], w0: usize, w1: usize) {
        let words = self.words;
        let due = &mut self.due[..];
        due.fill(0);
        let eps = &eps[self.e0..self.e0 + self.next.len()];
        let last = (w1 - 1) as f64;
        for (le, (next, &ep)) in self.next.iter_mut().zip(eps).enumerate() {
            let (word, bit) = (le / 64, 1u64 << (le % 64));
            if ep.is_nan() || ep <= 0.0 {
                // (not for a graph with positive weights) the test never fails again
                for t in 0..w1 - w0 {
                    due[t * words + word] |= bit;
                }
                continue;
            }
            if ep == 1.0 && *next < EXACT_INTEGERS && next.fract() == 0.0 {
                // (the heaviest edges) sampled in every epoch from `max(next, w0)` on: the
                // loop below sets those bits and adds 1 as often, exactly (integers)
                let first = (*next as usize).max(w0);
                for t in first..w1 {
                    due[(t - w0) * words + word] |= bit;
                }
                *next += w1.saturating_sub(first) as f64;
                continue;
            }
            let mut t_min = w0 as i64;
            while *next <= last {
                // the first epoch from `t_min` that passes the test (`next > 0`: rounded up)
                let mut t = *next as i64;
                if (t as f64) < *next {
                    t += 1;
                }
                let t = t.max(t_min);
                if t as f64 > last {
                    break;
                }
                due[(t as usize - w0) * words + word] |= bit;
                *next += ep;
                t_min = t + 1;
            }
        }
    }

    /// The bitmap of the edges sampled in epoch `epoch` (listed by [`Block::schedule`]).
    #[cfg(test)]
    pub(super) fn due_in(&self, epoch: usize) -> &[u64] {
        let at = (epoch % WINDOW) * self.words;
        &self.due[at..at + self.words]
    }
}

/// What every block of an epoch shares.
pub(super) struct EpochContext<'a> {
    pub(super) graph: &'a FuzzyGraph,
    pub(super) eps: &'a [f64],
    pub(super) eps_neg: &'a [f64],
    pub(super) snapshot: &'a [f64],
    pub(super) dim: usize,
    /// The epoch, and the same as f64.
    pub(super) epoch_index: usize,
    pub(super) epoch: f64,
    pub(super) n_epochs: usize,
    pub(super) alpha: f64,
    pub(super) attract: &'a GradTable,
    pub(super) repel: &'a GradTable,
    pub(super) negatives: bool,
    pub(super) block_of: &'a [u32],
}

impl EpochContext<'_> {
    /// Builds the block's schedule when a window of epochs starts.
    pub(super) fn prepare(&self, blk: &mut Block) {
        if self.epoch_index.is_multiple_of(WINDOW) {
            let w1 = (self.epoch_index + WINDOW).min(self.n_epochs);
            blk.schedule(self.eps, self.epoch_index, w1);
        }
    }
}

/// Negative samples evaluated together (from the same head position).
pub(super) const NEG_CHUNK: usize = 8;

/// One epoch of umap-learn's sequential SGD over the edges whose head is in the block.
///
/// One deviation in the order of updates: a positive sample and (up to [`NEG_CHUNK`] of) its
/// negative samples are all evaluated at the head's position before any of them moves it,
/// then applied in order (umap-learn moves the head between them). The gradients are the
/// same functions; the six `pow` evaluations of a sample no longer wait on each other.
/// `#[inline(always)]` so that the callers specialise it for small constant `dim`.
#[inline(always)]
pub(super) fn block_epoch(blk: &mut Block, cx: &EpochContext<'_>, dim: usize, rng: &mut Rng) {
    cx.prepare(blk);
    let (start, end) = (blk.start, blk.end);
    let len = end - start;
    let g = cx.graph;
    let snapshot = cx.snapshot;
    let alpha = cx.alpha;
    let mut draw = DrawBuffer::new(g.n_rows);
    blk.local.copy_from_slice(&snapshot[start * dim..end * dim]);
    blk.out.iter_mut().for_each(Vec::clear);
    let indices = &g.indices[blk.e0..];
    let eps_neg = &cx.eps_neg[blk.e0..];
    let at = (cx.epoch_index % WINDOW) * blk.words;
    let due = &blk.due[at..at + blk.words];
    let local = &mut blk.local[..];
    let (cur, rest) = blk.tmp.split_at_mut(dim);
    let (tail_delta, rest) = rest.split_at_mut(dim);
    let acc = &mut rest[..dim];
    for (wi, &word) in due.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let le = wi * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let co = blk.head[le] as usize * dim;
            let t = indices[le];
            let t_local = t.wrapping_sub(start) < len;
            let other = if t_local {
                &local[(t - start) * dim..(t - start + 1) * dim]
            } else {
                &snapshot[t * dim..(t + 1) * dim]
            };
            cur.copy_from_slice(&local[co..co + dim]);
            let mut d2 = 0.0;
            for d in 0..dim {
                let df = cur[d] - other[d];
                d2 += df * df;
            }
            let coeff = if d2 > 0.0 { cx.attract.at(d2) } else { 0.0 };
            for d in 0..dim {
                let step = clip(coeff * (cur[d] - other[d])) * alpha;
                acc[d] = step;
                tail_delta[d] = -step;
            }
            let n_neg = if cx.negatives {
                let ratio = (cx.epoch - blk.next_neg[le]) / eps_neg[le];
                if ratio > 0.0 {
                    ratio as i64 as usize
                } else {
                    0
                }
            } else {
                0
            };
            let mut remaining = n_neg;
            loop {
                let c = remaining.min(NEG_CHUNK);
                for &k in draw.take(c, rng) {
                    let o = if k.wrapping_sub(start) < len {
                        &local[(k - start) * dim..(k - start + 1) * dim]
                    } else {
                        &snapshot[k * dim..(k + 1) * dim]
                    };
                    let mut d2 = 0.0;
                    for d in 0..dim {
                        let df = cur[d] - o[d];
                        d2 += df * df;
                    }
                    // (d2 = 0: a finite coefficient times a zero difference)
                    let cf = cx.repel.at(d2);
                    for d in 0..dim {
                        acc[d] += clip(cf * (cur[d] - o[d])) * alpha;
                    }
                }
                for d in 0..dim {
                    local[co + d] += acc[d];
                    acc[d] = 0.0;
                }
                remaining -= c;
                if remaining == 0 {
                    break;
                }
                cur.copy_from_slice(&local[co..co + dim]);
            }
            if t_local {
                let to = (t - start) * dim;
                for d in 0..dim {
                    local[to + d] += tail_delta[d];
                }
            } else {
                let out = &mut blk.out[cx.block_of[t] as usize];
                out.push(f64::from_bits(t as u64));
                out.extend_from_slice(tail_delta);
            }
            blk.next_neg[le] += n_neg as i64 as f64 * eps_neg[le];
        }
    }
}

/// The set bits of a bitmap in a range of positions, in order.
pub(super) struct Bits<'a> {
    pub(super) words: &'a [u64],
    pub(super) wi: usize,
    pub(super) cur: u64,
    pub(super) hi: usize,
}

impl<'a> Bits<'a> {
    /// The set bits of `words` at positions `lo..hi`.
    pub(super) fn new(words: &'a [u64], lo: usize, hi: usize) -> Self {
        let wi = lo / 64;
        let cur = if lo < hi {
            words.get(wi).map_or(0, |&w| w & (u64::MAX << (lo % 64)))
        } else {
            0
        };
        Bits { words, wi, cur, hi }
    }

    #[inline(always)]
    pub(super) fn next(&mut self) -> Option<usize> {
        while self.cur == 0 {
            self.wi += 1;
            if self.wi * 64 >= self.hi {
                return None;
            }
            self.cur = self.words[self.wi];
        }
        let b = self.wi * 64 + self.cur.trailing_zeros() as usize;
        self.cur &= self.cur - 1;
        if b < self.hi {
            Some(b)
        } else {
            self.cur = 0;
            self.wi = self.words.len();
            None
        }
    }
}

/// What the samples of one edge of a block touch, for a constant `D`.
pub(super) struct EdgeSampler<'a, const D: usize> {
    pub(super) start: usize,
    pub(super) len: usize,
    pub(super) local: &'a mut [[f64; D]],
    pub(super) snapshot: &'a [[f64; D]],
    pub(super) head: &'a [u32],
    pub(super) indices: &'a [usize],
    pub(super) eps_neg: &'a [f64],
    pub(super) next_neg: &'a mut [f64],
    pub(super) out: &'a mut [Vec<f64>],
    pub(super) block_of: &'a [u32],
    pub(super) attract: &'a GradTable,
    pub(super) repel: &'a GradTable,
    pub(super) alpha: f64,
    pub(super) epoch: f64,
    pub(super) negatives: bool,
}

impl<const D: usize> EdgeSampler<'_, D> {
    /// The positive sample of the block's edge `le` and its negative samples (drawn from
    /// `draw`, `rng`): umap-learn's steps, the head held in registers between them.
    #[inline(always)]
    pub(super) fn sample(&mut self, le: usize, draw: &mut DrawBuffer, rng: &mut Rng) {
        let (start, len, alpha) = (self.start, self.len, self.alpha);
        let local = &mut *self.local;
        let hv = self.head[le] as usize;
        let t = self.indices[le];
        let t_off = t.wrapping_sub(start);
        let t_local = t_off < len;
        let other: [f64; D] = if t_local {
            local[t_off]
        } else {
            self.snapshot[t]
        };
        let mut cur: [f64; D] = local[hv];
        let mut d2 = 0.0;
        for d in 0..D {
            let df = cur[d] - other[d];
            d2 += df * df;
        }
        let coeff = if d2 > 0.0 { self.attract.at(d2) } else { 0.0 };
        let mut acc = [0.0; D];
        let mut tail_delta = [0.0; D];
        for d in 0..D {
            let step = clip(coeff * (cur[d] - other[d])) * alpha;
            acc[d] = step;
            tail_delta[d] = -step;
        }
        let n_neg = if self.negatives {
            let ratio = (self.epoch - self.next_neg[le]) / self.eps_neg[le];
            if ratio > 0.0 {
                ratio as i64 as usize
            } else {
                0
            }
        } else {
            0
        };
        let mut remaining = n_neg;
        loop {
            let c = remaining.min(NEG_CHUNK);
            for &k in draw.take(c, rng) {
                let k_off = k.wrapping_sub(start);
                let o: [f64; D] = if k_off < len {
                    local[k_off]
                } else {
                    self.snapshot[k]
                };
                let mut d2 = 0.0;
                for d in 0..D {
                    let df = cur[d] - o[d];
                    d2 += df * df;
                }
                // (d2 = 0: a finite coefficient times a zero difference)
                let cf = self.repel.at(d2);
                for d in 0..D {
                    acc[d] += clip(cf * (cur[d] - o[d])) * alpha;
                }
            }
            let h = &mut local[hv];
            for d in 0..D {
                h[d] += acc[d];
                acc[d] = 0.0;
            }
            remaining -= c;
            if remaining == 0 {
                break;
            }
            cur = *h;
        }
        if t_local {
            let tl = &mut local[t_off];
            for d in 0..D {
                tl[d] += tail_delta[d];
            }
        } else {
            let mut pull = [0.0; 5];
            pull[0] = f64::from_bits(t as u64);
            pull[1..=D].copy_from_slice(&tail_delta);
            self.out[self.block_of[t] as usize].extend_from_slice(&pull[..=D]);
        }
        self.next_neg[le] += n_neg as i64 as f64 * self.eps_neg[le];
    }
}

/// [`block_epoch`] for a constant `D`, with the head, its accumulated step and the tail's
/// step held in registers. The block's vertices are cut in two halves whose edges run as
/// two interleaved streams (one edge of each in turn, each stream drawing its negative
/// samples from its own generator `rngs[0]`, `rngs[1]`): the dependency chain of a head
/// (each sample waits for the previous one's step) overlaps with the other stream's.
#[inline(always)]
pub(super) fn block_epoch_fixed<const D: usize>(
    blk: &mut Block,
    cx: &EpochContext<'_>,
    rngs: &mut [Rng; 2],
) {
    cx.prepare(blk);
    let (start, end) = (blk.start, blk.end);
    let g = cx.graph;
    let n_edges = blk.next.len();
    let mid_edge = g.indptr[start + (end - start) / 2] - blk.e0;
    blk.local.copy_from_slice(&cx.snapshot[start * D..end * D]);
    blk.out.iter_mut().for_each(Vec::clear);
    let at = (cx.epoch_index % WINDOW) * blk.words;
    let due = &blk.due[at..at + blk.words];
    let mut sampler = EdgeSampler::<D> {
        start,
        len: end - start,
        local: blk.local.as_chunks_mut::<D>().0,
        snapshot: cx.snapshot.as_chunks::<D>().0,
        head: &blk.head,
        indices: &g.indices[blk.e0..],
        eps_neg: &cx.eps_neg[blk.e0..],
        next_neg: &mut blk.next_neg,
        out: &mut blk.out,
        block_of: cx.block_of,
        attract: cx.attract,
        repel: cx.repel,
        alpha: cx.alpha,
        epoch: cx.epoch,
        negatives: cx.negatives,
    };
    let mut draws = [DrawBuffer::new(g.n_rows), DrawBuffer::new(g.n_rows)];
    let [draw_a, draw_b] = &mut draws;
    let [rng_a, rng_b] = rngs;
    let mut a = Bits::new(due, 0, mid_edge);
    let mut b = Bits::new(due, mid_edge, n_edges);
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) => {
                sampler.sample(x, draw_a, rng_a);
                sampler.sample(y, draw_b, rng_b);
            }
            (Some(x), None) => sampler.sample(x, draw_a, rng_a),
            (None, Some(y)) => sampler.sample(y, draw_b, rng_b),
            (None, None) => break,
        }
    }
}
