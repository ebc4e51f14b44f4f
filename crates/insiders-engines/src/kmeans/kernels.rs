//! The distance kernels: the centred input ([`Data`]), squared distances compiled for the
//! study's dimensions (`by_dim!`), the NaN-free `fmin`/`fmax`, and the assignment passes
//! (exhaustive and with Hamerly's bounds) with their per-chunk sums.

use super::CHUNK;
use insiders_core::MatrixView;
use rayon::prelude::*;

/// The input as a contiguous row-major buffer, centred on its column means (as scikit-learn
/// does, for precision; distances and inertia do not change).
#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) xs: Vec<f64>,
    pub(crate) mean: Vec<f64>,
}

impl Data {
    pub(crate) fn new(x: MatrixView<'_>) -> Self {
        let (n, d) = x.dim();
        let mut mean = vec![0.0; d];
        for row in x.outer_iter() {
            for (m, v) in mean.iter_mut().zip(row.iter()) {
                *m += v;
            }
        }
        for m in &mut mean {
            *m /= n as f64;
        }
        let mut xs = Vec::with_capacity(n * d);
        for row in x.outer_iter() {
            xs.extend(row.iter().zip(&mean).map(|(v, m)| v - m));
        }
        Data { n, d, xs, mean }
    }

    #[inline]
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.xs[i * self.d..(i + 1) * self.d]
    }

    /// Mean over columns of the (population) column variances.
    pub(super) fn mean_variance(&self) -> f64 {
        let mut var = vec![0.0; self.d];
        for i in 0..self.n {
            for (v, x) in var.iter_mut().zip(self.row(i)) {
                *v += x * x; // data are centred
            }
        }
        var.iter().sum::<f64>() / (self.n * self.d) as f64
    }
}

#[inline]
pub(super) fn sqdist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// [`sqdist`] with the dimension known at compile time (`D > 0`; `D = 0` means any
/// dimension). The squares are added in the same order as in [`sqdist`] (whose fold starts
/// from a zero that the first, non-negative square absorbs exactly), so both give the same
/// bits; the constant lets the compiler unroll the loop and drop the bounds checks.
#[inline(always)]
pub(super) fn sq<const D: usize>(a: &[f64], b: &[f64]) -> f64 {
    if D == 0 {
        return sqdist(a, b);
    }
    let (a, b) = (&a[..D], &b[..D]);
    let mut s = 0.0;
    for c in 0..D {
        let t = a[c] - b[c];
        s += t * t;
    }
    s
}

/// The row length of a kernel compiled for `D` (`D = 0`: the data dimension `d`, at least 1
/// so that `chunks_exact` is defined).
#[inline(always)]
pub(super) fn width<const D: usize>(d: usize) -> usize {
    if D == 0 { d.max(1) } else { D }
}

/// Calls `f::<D>(args)` with `D` the data dimension when it has a specialised kernel
/// (2, 3, 5: the study's embeddings and features), `D = 0` (any dimension) otherwise.
macro_rules! by_dim {
    ($d:expr, $f:ident ( $($arg:expr),* $(,)? )) => {
        match $d {
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            5 => $f::<5>($($arg),*),
            _ => $f::<0>($($arg),*),
        }
    };
}

/// Per-chunk output of an assignment pass.
struct ChunkStats {
    pub(super) changed: usize,
    pub(super) sums: Vec<f64>,
    pub(super) counts: Vec<usize>,
}

/// The smaller of two numbers that are not NaN (the first when equal): `f64::min` without
/// its NaN handling, which keeps the hot loops branch-free and vectorisable. Same bits as
/// `f64::min` for non-NaN inputs that are not zeros of opposite signs (squared distances and
/// bounds here are never -0).
#[inline(always)]
pub(super) fn fmin(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// The larger of two numbers that are not NaN (the first when equal); see [`fmin`].
#[inline(always)]
pub(super) fn fmax(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// The nearest centre of `x` and the squared distances to the nearest and the second
/// nearest (ties keep the lower index).
#[inline(always)]
fn nearest_two<const D: usize>(x: &[f64], centres: &[f64], k: usize) -> (usize, f64, f64) {
    let d = width::<D>(x.len());
    let (mut b1, mut d1, mut d2) = (0usize, f64::INFINITY, f64::INFINITY);
    for (j, c) in centres.chunks_exact(d).take(k).enumerate() {
        let dj = sq::<D>(x, c);
        // branch-free form of "if dj < d1 { d2 = d1; d1 = dj; b1 = j } else if dj < d2
        // { d2 = dj }" (the same values: d1 <= d2 always)
        d2 = fmin(d2, fmax(d1, dj));
        b1 = if dj < d1 { j } else { b1 };
        d1 = fmin(d1, dj);
    }
    (b1, d1, d2)
}

/// Hamerly's bound update after the centres moved, not yet applied to the points: each
/// point's upper bound grows by the move of its own centre, `p[a]`, and its lower bound
/// shrinks by the largest move of another centre (`m2` for the points of the centre that
/// moved most, `arg`, else `m1`). The assignment passes apply it to each point just before
/// testing it (one pass over the points per iteration instead of two; the same additions,
/// so the same bits). The zero shift changes nothing (`x + 0.0 == x`, `x - 0.0 == x`).
#[derive(Debug, Clone)]
pub(super) struct Shift {
    pub(super) p: Vec<f64>,
    pub(super) arg: usize,
    pub(super) m1: f64,
    pub(super) m2: f64,
}

impl Shift {
    pub(super) fn zero(k: usize) -> Self {
        Shift {
            p: vec![0.0; k],
            arg: 0,
            m1: 0.0,
            m2: 0.0,
        }
    }

    /// How much the lower bound of a point of cluster `a` shrinks.
    #[inline(always)]
    pub(super) fn lower_drop(&self, a: usize) -> f64 {
        if a == self.arg { self.m2 } else { self.m1 }
    }

    /// Per cluster `a`: `[half_sep[a], p[a], the lower-bound decrease of its points]`, the
    /// three numbers an assignment pass needs per point, in one place.
    pub(super) fn per_cluster(&self, half_sep: &[f64]) -> Vec<[f64; 3]> {
        half_sep
            .iter()
            .zip(&self.p)
            .enumerate()
            .map(|(a, (&h, &p))| [h, p, self.lower_drop(a)])
            .collect()
    }
}

/// Adds `x` to the sums of cluster `l` (component by component: the same bits whatever `D`).
#[inline(always)]
fn add_row<const D: usize>(sums: &mut [f64], l: usize, x: &[f64]) {
    let d = width::<D>(x.len());
    let (s, x) = (&mut sums[l * d..][..d], &x[..d]);
    for c in 0..d {
        s[c] += x[c];
    }
}

/// Assignment of the points `start..start + lab.len()` (one chunk): adds their coordinates
/// to `sums` and counts to `counts` (both zeroed by the caller); returns the label changes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn assign_chunk<const D: usize>(
    data: &Data,
    centres: &[f64],
    k: usize,
    cl: &[[f64; 3]],
    start: usize,
    lab: &mut [u32],
    up: &mut [f64],
    lo: &mut [f64],
    full: bool,
    sums: &mut [f64],
    counts: &mut [usize],
) -> usize {
    let d = width::<D>(data.d);
    let mut changed = 0;
    let rows = data.xs[start * d..].chunks_exact(d);
    for (((x, lab), up), lo) in rows
        .zip(lab.iter_mut())
        .zip(up.iter_mut())
        .zip(lo.iter_mut())
    {
        let a = *lab as usize;
        let mut search = full;
        if !full {
            let [hs, pa, la] = cl[a];
            (*up, *lo) = (*up + pa, *lo - la);
            let m = fmax(hs, *lo);
            if *up > m {
                *up = sq::<D>(x, &centres[a * d..][..d]).sqrt();
                search = *up > m;
            }
        }
        if search {
            let (b1, d1, d2) = nearest_two::<D>(x, centres, k);
            if b1 != a || full {
                if *lab as usize != b1 {
                    changed += 1;
                }
                *lab = b1 as u32;
            }
            *up = d1.sqrt();
            *lo = d2.sqrt();
        }
        let l = *lab as usize;
        counts[l] += 1;
        add_row::<D>(sums, l, x);
    }
    changed
}

/// Bounds-accelerated assignment of every point that keeps `sums` and `counts` up to date by
/// moving only the points that change cluster (O(d) per move instead of O(n d) per pass).
/// With `full`, every point is assigned exhaustively.
#[allow(clippy::too_many_arguments)]
pub(super) fn assign_moves<const D: usize>(
    data: &Data,
    centres: &[f64],
    k: usize,
    cl: &[[f64; 3]],
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    full: bool,
    sums: &mut [f64],
    counts: &mut [usize],
) -> usize {
    let d = width::<D>(data.d);
    let mut changed = 0;
    let rows = data.xs.chunks_exact(d);
    for (((x, lab), up), lo) in rows
        .zip(labels.iter_mut())
        .zip(upper.iter_mut())
        .zip(lower.iter_mut())
    {
        let a = *lab as usize;
        if !full {
            let [hs, pa, la] = cl[a];
            (*up, *lo) = (*up + pa, *lo - la);
            let m = fmax(hs, *lo);
            if *up <= m {
                continue;
            }
            *up = sq::<D>(x, &centres[a * d..][..d]).sqrt();
            if *up <= m {
                continue;
            }
        }
        let (b1, d1, d2) = nearest_two::<D>(x, centres, k);
        if b1 != a {
            changed += 1;
            *lab = b1 as u32;
            counts[a] -= 1;
            counts[b1] += 1;
            let (sa, sb) = (&mut sums[a * d..][..d], x);
            for c in 0..d {
                sa[c] -= sb[c];
            }
            add_row::<D>(sums, b1, x);
        }
        *up = d1.sqrt();
        *lo = d2.sqrt();
    }
    changed
}

/// Bounds-accelerated (or exhaustive) assignment of every point, with per-cluster sums.
///
/// `cl[j]` is [`Shift::per_cluster`]: half the distance from centre `j` to its nearest
/// other centre, and the pending bound update of its points. With `full`, every point is
/// assigned exhaustively and its bounds are reset. The chunks run in
/// parallel (`par`) or in order; their partial sums are added in chunk order either way.
#[allow(clippy::too_many_arguments)]
pub(super) fn assign(
    data: &Data,
    centres: &[f64],
    k: usize,
    cl: &[[f64; 3]],
    labels: &mut [u32],
    upper: &mut [f64],
    lower: &mut [f64],
    full: bool,
    par: bool,
) -> (usize, Vec<f64>, Vec<usize>) {
    let d = data.d;
    let mut changed = 0;
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0; k];
    if par {
        let stats: Vec<ChunkStats> = labels
            .par_chunks_mut(CHUNK)
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, ((lab, up), lo))| {
                let mut st = ChunkStats {
                    changed: 0,
                    sums: vec![0.0; k * d],
                    counts: vec![0; k],
                };
                st.changed = by_dim!(
                    d,
                    assign_chunk(
                        data,
                        centres,
                        k,
                        cl,
                        c * CHUNK,
                        lab,
                        up,
                        lo,
                        full,
                        &mut st.sums,
                        &mut st.counts
                    )
                );
                st
            })
            .collect();
        for st in stats {
            changed += st.changed;
            for (a, b) in sums.iter_mut().zip(&st.sums) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(&st.counts) {
                *a += b;
            }
        }
    } else {
        let (mut cs, mut cc) = (vec![0.0; k * d], vec![0usize; k]);
        for (c, ((lab, up), lo)) in labels
            .chunks_mut(CHUNK)
            .zip(upper.chunks_mut(CHUNK))
            .zip(lower.chunks_mut(CHUNK))
            .enumerate()
        {
            cs.fill(0.0);
            cc.fill(0);
            changed += by_dim!(
                d,
                assign_chunk(
                    data,
                    centres,
                    k,
                    cl,
                    c * CHUNK,
                    lab,
                    up,
                    lo,
                    full,
                    &mut cs,
                    &mut cc
                )
            );
            for (a, b) in sums.iter_mut().zip(&cs) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(&cc) {
                *a += b;
            }
        }
    }
    (changed, sums, counts)
}

/// Half the distance from each centre to its nearest other centre (infinite when k = 1).
pub(super) fn half_separation(centres: &[f64], k: usize, d: usize) -> Vec<f64> {
    (0..k)
        .map(|j| {
            let cj = &centres[j * d..(j + 1) * d];
            (0..k)
                .filter(|&o| o != j)
                .map(|o| sqdist(cj, &centres[o * d..(o + 1) * d]))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
                * 0.5
        })
        .collect()
}
