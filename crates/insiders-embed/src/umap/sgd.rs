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

use super::graph::FuzzyGraph;
use insiders_core::{Rng, derive_seed};
use rayon::prelude::*;

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
fn clip(v: f64) -> f64 {
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

/// The attractive gradient coefficient at squared distance `d2`.
#[inline]
fn attract(d2: f64, a: f64, b: f64, pow: &PowTable) -> f64 {
    if d2 > 0.0 {
        let pb = pow.pow(d2);
        -2.0 * a * b * pb / (d2 * (a * pb + 1.0))
    } else {
        0.0
    }
}

/// The repulsive gradient coefficient at squared distance `d2 > 0`.
#[inline]
fn repel(d2: f64, a: f64, b: f64, gamma: f64, pow: &PowTable) -> f64 {
    2.0 * gamma * b / ((REPULSION_EPS + d2) * (a * pow.pow(d2) + 1.0))
}

/// `x^b` for the gradients: read from a table of [`POW_TABLE_STEPS`] points per octave of `x`
/// with linear interpolation (relative error below 1e-5 for `b <= 1`, 3e-6 at the default
/// `b` — UMAP's `b` is below 1 unless `min_dist` is close to `spread` — and below 6e-5 up to
/// `b = 2`; umap-learn computes in float32), several times faster than `powf`; `exp(b ln x)`
/// outside the table's range `[2^-32, 2^20)`.
#[derive(Debug, Clone)]
pub struct PowTable {
    b: f64,
    /// Per interval between two table points: the left point's value and the difference to
    /// the right one's.
    table: Vec<[f64; 2]>,
}

/// Mantissa bits that index the table (64 points per octave: 27 KiB, so that the table and
/// the snapshot of the embedding compete less for the L1 cache).
const POW_TABLE_BITS: u32 = 6;
/// Points per octave of [`PowTable`].
pub const POW_TABLE_STEPS: usize = 1 << POW_TABLE_BITS;
/// Smallest and largest (exclusive) binary exponents in the table.
const POW_TABLE_EMIN: i64 = -32;
const POW_TABLE_EMAX: i64 = 20;
/// Mantissa bits below the table index: the position within an interval.
const POW_FRAC_BITS: u32 = 52 - POW_TABLE_BITS;
/// `x.to_bits() >> POW_FRAC_BITS` at the table's first point `2^POW_TABLE_EMIN`.
const POW_INDEX_BASE: u64 = ((1023 + POW_TABLE_EMIN) as u64) << POW_TABLE_BITS;

impl PowTable {
    /// The table of `x^b`.
    pub fn new(b: f64) -> Self {
        let octaves = (POW_TABLE_EMAX - POW_TABLE_EMIN) as usize;
        let values: Vec<f64> = (0..=octaves * POW_TABLE_STEPS)
            .map(|i| {
                let e = POW_TABLE_EMIN + (i / POW_TABLE_STEPS) as i64;
                let m = 1.0 + (i % POW_TABLE_STEPS) as f64 / POW_TABLE_STEPS as f64;
                let x = m * (e as f64).exp2();
                (b * x.ln()).exp()
            })
            .collect();
        let table = values.windows(2).map(|w| [w[0], w[1] - w[0]]).collect();
        PowTable { b, table }
    }

    /// `x^b` for `x > 0`.
    #[inline(always)]
    pub fn pow(&self, x: f64) -> f64 {
        let bits = x.to_bits();
        // The exponent and the top mantissa bits, counted from the table's first point: one
        // (wrapping) comparison checks both ends of the range.
        let idx = (bits >> POW_FRAC_BITS).wrapping_sub(POW_INDEX_BASE);
        match self.table.get(idx as usize) {
            Some(&[lo, step]) => {
                let frac = (bits & ((1u64 << POW_FRAC_BITS) - 1)) as f64
                    * (1.0 / (1u64 << POW_FRAC_BITS) as f64);
                lo + frac * step
            }
            None => (self.b * x.ln()).exp(),
        }
    }
}

/// Which gradient coefficient a [`GradTable`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gradient {
    /// `-2ab d^(2(b-1)) / (1 + a d^(2b))` of a positive sample.
    Attract,
    /// `2γb / ((0.001 + d²)(1 + a d^(2b)))` of a negative sample.
    Repel,
}

/// A gradient coefficient of the fit as a function of the squared distance `x = d²`,
/// tabulated: per 1/64 octave of `x` in `[2^-32, 2^20)` a quadratic in the position within
/// the interval through the exact values at its ends and its middle (relative error below
/// 1e-6 for the default curve; the coefficients are smooth in `x` away from 0), computed
/// exactly outside that range. Two table reads, two multiplications and two additions
/// replace `d^b`'s table, a division and four more operations.
#[derive(Debug, Clone)]
struct GradTable {
    kind: Gradient,
    a: f64,
    b: f64,
    /// `-2ab` or `2γb`.
    num: f64,
    /// Per interval: `c0, c1, c2` of `c0 + f (c1 + f c2)`, `f` in `[0, 1)` the position.
    table: Vec<[f64; 3]>,
}

impl GradTable {
    fn new(kind: Gradient, a: f64, b: f64, gamma: f64) -> Self {
        let num = match kind {
            Gradient::Attract => -2.0 * a * b,
            Gradient::Repel => 2.0 * gamma * b,
        };
        let mut t = GradTable {
            kind,
            a,
            b,
            num,
            table: Vec::new(),
        };
        let octaves = (POW_TABLE_EMAX - POW_TABLE_EMIN) as usize;
        let step = 1.0 / POW_TABLE_STEPS as f64;
        t.table = (0..octaves * POW_TABLE_STEPS)
            .map(|i| {
                let scale = ((POW_TABLE_EMIN + (i / POW_TABLE_STEPS) as i64) as f64).exp2();
                let m = 1.0 + (i % POW_TABLE_STEPS) as f64 * step;
                let f0 = t.exact(m * scale);
                let fm = t.exact((m + 0.5 * step) * scale);
                let f1 = t.exact((m + step) * scale);
                [f0, 4.0 * fm - 3.0 * f0 - f1, 2.0 * (f0 + f1) - 4.0 * fm]
            })
            .collect();
        t
    }

    /// The coefficient at `x >= 0`, computed (`x^b` by `powf`).
    #[cold]
    fn exact(&self, x: f64) -> f64 {
        let pb = x.powf(self.b);
        match self.kind {
            Gradient::Attract => self.num * pb / (x * (self.a * pb + 1.0)),
            Gradient::Repel => self.num / ((REPULSION_EPS + x) * (self.a * pb + 1.0)),
        }
    }

    /// The coefficient at `x >= 0` (`x > 0` for [`Gradient::Attract`]).
    #[inline(always)]
    fn at(&self, x: f64) -> f64 {
        let bits = x.to_bits();
        let idx = (bits >> POW_FRAC_BITS).wrapping_sub(POW_INDEX_BASE);
        match self.table.get(idx as usize) {
            Some(&[c0, c1, c2]) => {
                let f = (bits & ((1u64 << POW_FRAC_BITS) - 1)) as f64
                    * (1.0 / (1u64 << POW_FRAC_BITS) as f64);
                c0 + f * (c1 + f * c2)
            }
            None => self.exact(x),
        }
    }
}

/// A uniform integer in `0..n` from `rng` (Lemire's multiply-shift with rejection, the same
/// draws as [`Rng::below`]) with the rejection threshold `(2^64 - n) mod n` precomputed.
#[inline(always)]
fn below(rng: &mut Rng, n: usize, threshold: u64) -> usize {
    loop {
        let m = (rng.next_u64() as u128) * (n as u128);
        if (m as u64) >= threshold {
            return (m >> 64) as usize;
        }
    }
}

/// Vertex draws made at once by a [`DrawBuffer`] (one more when the last 64-bit output
/// gives two).
const DRAW_BATCH: usize = 64;

/// Uniform vertex indices in `0..n` from an [`Rng`], drawn [`DRAW_BATCH`] at a time: Lemire's
/// multiply-shift with rejection on the 32-bit halves of the generator's 64-bit outputs (low
/// half first: two draws per output) when `n < 2^32`, on whole outputs above. The draws come
/// out in the order in which they are made, so batching does not change them.
struct DrawBuffer {
    n: u64,
    threshold32: u32,
    threshold64: u64,
    buf: [usize; DRAW_BATCH + 1],
    len: usize,
    pos: usize,
}

impl DrawBuffer {
    /// Draws in `0..n`, `n >= 1`.
    fn new(n: usize) -> Self {
        let n = (n as u64).max(1);
        let threshold32 = if n <= u64::from(u32::MAX) {
            (n as u32).wrapping_neg() % (n as u32)
        } else {
            0
        };
        DrawBuffer {
            n,
            threshold32,
            threshold64: n.wrapping_neg() % n,
            buf: [0; DRAW_BATCH + 1],
            len: 0,
            pos: 0,
        }
    }

    /// Moves the unread draws to the front and draws until at least [`DRAW_BATCH`] are there.
    fn refill(&mut self, rng: &mut Rng) {
        self.buf.copy_within(self.pos..self.len, 0);
        let mut len = self.len - self.pos;
        if self.n > u64::from(u32::MAX) {
            while len < DRAW_BATCH {
                let m = u128::from(rng.next_u64()) * u128::from(self.n);
                if (m as u64) >= self.threshold64 {
                    self.buf[len] = (m >> 64) as usize;
                    len += 1;
                }
            }
        } else {
            while len < DRAW_BATCH {
                let w = rng.next_u64();
                for r in [w as u32, (w >> 32) as u32] {
                    let m = u64::from(r) * self.n;
                    if (m as u32) >= self.threshold32 {
                        self.buf[len] = (m >> 32) as usize;
                        len += 1;
                    }
                }
            }
        }
        self.len = len;
        self.pos = 0;
    }

    /// The next `c` draws, `c <= DRAW_BATCH`.
    #[inline(always)]
    fn take(&mut self, c: usize, rng: &mut Rng) -> &[usize] {
        if self.pos + c > self.len {
            self.refill(rng);
        }
        let at = self.pos;
        self.pos += c;
        &self.buf[at..at + c]
    }
}

/// Below this every integer is an `f64` and adding 1 to it is exact.
const EXACT_INTEGERS: f64 = 4_503_599_627_370_496.0; // 2^52

/// Epochs whose due edges a block lists at once (one bitmap over its edges per epoch).
const WINDOW: usize = 64;

/// Per-block state of the fit.
struct Block {
    start: usize,
    end: usize,
    /// First edge of the block (edges of a CSR graph are grouped by head).
    e0: usize,
    /// Per edge of the block: the epoch of its next positive sample (umap-learn's
    /// `epoch_of_next_sample`), advanced when the edge is entered in the schedule.
    next: Vec<f64>,
    next_neg: Vec<f64>,
    /// Per edge of the block: its head, counted from `start`.
    head: Vec<u32>,
    /// The schedule of the current window of [`WINDOW`] epochs: per epoch a bitmap of
    /// `words` words over the block's edges, bit set = the edge is sampled in that epoch.
    due: Vec<u64>,
    words: usize,
    local: Vec<f64>,
    tmp: Vec<f64>,
    /// Pulls on vertices outside the block, bucketed by the block of the vertex (in the
    /// order they were made): per pull the vertex index (its bits in an f64, never computed
    /// with) and its `dim` deltas.
    out: Vec<Vec<f64>>,
}

impl Block {
    /// Lists the edges sampled in epochs `w0..w1` (`w1 - w0 <= WINDOW`), the epochs before
    /// `w0` having been listed: edge `e` is sampled in epoch `t` when
    /// `epoch_of_next_sample <= t`, which then grows by `eps[e]` (umap-learn's test, made
    /// once per sample instead of once per edge and epoch).
    fn schedule(&mut self, eps: &[f64], w0: usize, w1: usize) {
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
    fn due_in(&self, epoch: usize) -> &[u64] {
        let at = (epoch % WINDOW) * self.words;
        &self.due[at..at + self.words]
    }
}

/// What every block of an epoch shares.
struct EpochContext<'a> {
    graph: &'a FuzzyGraph,
    eps: &'a [f64],
    eps_neg: &'a [f64],
    snapshot: &'a [f64],
    dim: usize,
    /// The epoch, and the same as f64.
    epoch_index: usize,
    epoch: f64,
    n_epochs: usize,
    alpha: f64,
    attract: &'a GradTable,
    repel: &'a GradTable,
    negatives: bool,
    block_of: &'a [u32],
}

impl EpochContext<'_> {
    /// Builds the block's schedule when a window of epochs starts.
    fn prepare(&self, blk: &mut Block) {
        if self.epoch_index.is_multiple_of(WINDOW) {
            let w1 = (self.epoch_index + WINDOW).min(self.n_epochs);
            blk.schedule(self.eps, self.epoch_index, w1);
        }
    }
}

/// Negative samples evaluated together (from the same head position).
const NEG_CHUNK: usize = 8;

/// One epoch of umap-learn's sequential SGD over the edges whose head is in the block.
///
/// One deviation in the order of updates: a positive sample and (up to [`NEG_CHUNK`] of) its
/// negative samples are all evaluated at the head's position before any of them moves it,
/// then applied in order (umap-learn moves the head between them). The gradients are the
/// same functions; the six `pow` evaluations of a sample no longer wait on each other.
/// `#[inline(always)]` so that the callers specialise it for small constant `dim`.
#[inline(always)]
fn block_epoch(blk: &mut Block, cx: &EpochContext<'_>, dim: usize, rng: &mut Rng) {
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
struct Bits<'a> {
    words: &'a [u64],
    wi: usize,
    cur: u64,
    hi: usize,
}

impl<'a> Bits<'a> {
    /// The set bits of `words` at positions `lo..hi`.
    fn new(words: &'a [u64], lo: usize, hi: usize) -> Self {
        let wi = lo / 64;
        let cur = if lo < hi {
            words.get(wi).map_or(0, |&w| w & (u64::MAX << (lo % 64)))
        } else {
            0
        };
        Bits { words, wi, cur, hi }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
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
struct EdgeSampler<'a, const D: usize> {
    start: usize,
    len: usize,
    local: &'a mut [[f64; D]],
    snapshot: &'a [[f64; D]],
    head: &'a [u32],
    indices: &'a [usize],
    eps_neg: &'a [f64],
    next_neg: &'a mut [f64],
    out: &'a mut [Vec<f64>],
    block_of: &'a [u32],
    attract: &'a GradTable,
    repel: &'a GradTable,
    alpha: f64,
    epoch: f64,
    negatives: bool,
}

impl<const D: usize> EdgeSampler<'_, D> {
    /// The positive sample of the block's edge `le` and its negative samples (drawn from
    /// `draw`, `rng`): umap-learn's steps, the head held in registers between them.
    #[inline(always)]
    fn sample(&mut self, le: usize, draw: &mut DrawBuffer, rng: &mut Rng) {
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
fn block_epoch_fixed<const D: usize>(blk: &mut Block, cx: &EpochContext<'_>, rngs: &mut [Rng; 2]) {
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
