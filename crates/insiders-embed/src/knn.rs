//! Nearest-neighbour search shared by UMAP, t-SNE and the quality measures.
//!
//! - [`exact`] is a brute-force search parallelised over query rows: O(n² d) time, O(n k)
//!   memory, deterministic (ties broken by the smaller index), the right choice for the
//!   study's n ≈ 6,000. The euclidean search computes squared distances to tiles of rows
//!   column by column (vectorised) and takes square roots only for rows that can enter the
//!   top k; the Hamming search uses inverted lists per column value. Both give the plain
//!   brute force's neighbours and distances bit for bit.
//! - [`query`] is the same brute force for new points against a fixed data set.
//! - [`nn_descent`] is an approximate search for large n (Dong, Moses & Li 2011, with a
//!   random-projection-forest start as in pynndescent), seeded and bit-identical whatever
//!   the thread count: every round computes its candidate updates in parallel per point
//!   from a snapshot of the graph and applies them sequentially in point order.
//! - [`search`] picks one of them ([`KnnMethod`]).

mod descent;

pub use descent::{NnDescentParams, nn_descent};

use insiders_core::{Error, MatrixView};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A distance between two rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Square root of the sum of squared differences.
    #[default]
    Euclidean,
    /// Sum of absolute differences.
    Manhattan,
    /// 1 - cosine similarity (1 for a zero vector against anything but itself).
    Cosine,
    /// Share of coordinates that differ (for leaf vectors: 1 - random-forest proximity).
    Hamming,
}

impl Metric {
    /// Parses a metric name.
    pub fn parse(name: &str) -> Result<Self, Error> {
        match name {
            "euclidean" => Ok(Metric::Euclidean),
            "manhattan" => Ok(Metric::Manhattan),
            "cosine" => Ok(Metric::Cosine),
            "hamming" => Ok(Metric::Hamming),
            other => Err(Error::param(
                "metric",
                format!("unknown metric `{other}` (euclidean, manhattan, cosine, hamming)"),
            )),
        }
    }

    /// The distance between two equal-length slices.
    #[inline]
    pub fn distance(self, a: &[f64], b: &[f64]) -> f64 {
        match self {
            Metric::Euclidean => a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt(),
            Metric::Manhattan => a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum(),
            Metric::Cosine => {
                let (mut dot, mut na, mut nb) = (0.0, 0.0, 0.0);
                for (x, y) in a.iter().zip(b) {
                    dot += x * y;
                    na += x * x;
                    nb += y * y;
                }
                if na == 0.0 && nb == 0.0 {
                    0.0
                } else if na == 0.0 || nb == 0.0 {
                    1.0
                } else {
                    (1.0 - dot / (na.sqrt() * nb.sqrt())).max(0.0)
                }
            }
            Metric::Hamming => {
                if a.is_empty() {
                    return 0.0;
                }
                let differ: usize = a.iter().zip(b).map(|(x, y)| usize::from(x != y)).sum();
                differ as f64 / a.len() as f64
            }
        }
    }
}

/// The k nearest neighbours of every row, self excluded.
#[derive(Debug, Clone, PartialEq)]
pub struct Knn {
    /// Neighbours per row.
    pub k: usize,
    /// `indices[i * k + j]`: the j-th nearest neighbour of row i (nearest first).
    pub indices: Vec<usize>,
    /// `distances[i * k + j]`: its distance.
    pub distances: Vec<f64>,
}

impl Knn {
    /// Neighbour indices of row `i`.
    pub fn row_indices(&self, i: usize) -> &[usize] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }
    /// Neighbour distances of row `i`.
    pub fn row_distances(&self, i: usize) -> &[f64] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
}

/// Exact kNN by brute force (self excluded; ties by smaller index). Needs `1 <= k < n`.
pub fn exact(x: MatrixView<'_>, k: usize, metric: Metric) -> Result<Knn, Error> {
    let n = x.nrows();
    if k == 0 || k >= n {
        return Err(Error::param(
            "n_neighbors",
            format!("need 1 <= k < n, got k = {k}, n = {n}"),
        ));
    }
    if metric == Metric::Hamming
        && let Some(found) = hamming_by_shared_values(x, k)
    {
        return Ok(found);
    }
    if metric == Metric::Euclidean {
        return Ok(euclidean_by_tiles(x, k));
    }
    Ok(brute_force(x, k, metric))
}

/// Rows compared at once by [`euclidean_by_tiles`].
const TILE: usize = 256;

/// The euclidean [`brute_force`], bit for bit, faster: squared distances to a tile of
/// [`TILE`] rows are computed column by column (each one the same sequence of additions as
/// [`Metric::distance`], so the same value; the loop vectorises), and a square root is taken
/// only for a row whose squared distance is below the current k-th one's (`sqrt` is
/// monotone, so no other row can enter).
fn euclidean_by_tiles(x: MatrixView<'_>, k: usize) -> Knn {
    let (n, d) = x.dim();
    let cols: Vec<Vec<f64>> = x.columns().into_iter().map(|c| c.to_vec()).collect();
    let rows = flat_rows(x);
    let per_row: Vec<Vec<(f64, usize, f64)>> = (0..n)
        .into_par_iter()
        .with_min_len(16)
        .map_init(
            || vec![0.0f64; TILE],
            |d2, i| {
                let xi = &rows[i * d..(i + 1) * d];
                // (distance, index, squared distance), sorted as the brute force sorts.
                let mut best: Vec<(f64, usize, f64)> = Vec::with_capacity(k + 1);
                let mut kth_d2 = f64::INFINITY;
                for j0 in (0..n).step_by(TILE) {
                    let m = TILE.min(n - j0);
                    let buf = &mut d2[..m];
                    buf.fill(0.0);
                    for (c, col) in cols.iter().enumerate() {
                        let q = xi[c];
                        for (b, &v) in buf.iter_mut().zip(&col[j0..j0 + m]) {
                            let df = q - v;
                            *b += df * df;
                        }
                    }
                    for (o, &v) in buf.iter().enumerate() {
                        if v >= kth_d2 {
                            continue;
                        }
                        let j = j0 + o;
                        if j == i {
                            continue;
                        }
                        let dj = v.sqrt();
                        if best.len() == k {
                            if dj.total_cmp(&best[k - 1].0).is_ge() {
                                continue;
                            }
                            best.pop();
                        }
                        let at = best.partition_point(|&(bd, _, _)| bd.total_cmp(&dj).is_le());
                        best.insert(at, (dj, j, v));
                        if best.len() == k {
                            kth_d2 = best[k - 1].2;
                        }
                    }
                }
                best
            },
        )
        .collect();
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for row in per_row {
        for (dist, j, _) in row {
            indices.push(j);
            distances.push(dist);
        }
    }
    Knn {
        k,
        indices,
        distances,
    }
}

/// The brute force behind [`exact`] (`1 <= k < n` checked by the caller).
fn brute_force(x: MatrixView<'_>, k: usize, metric: Metric) -> Knn {
    let n = x.nrows();
    let rows: Vec<Vec<f64>> = x.outer_iter().map(|r| r.to_vec()).collect();
    let per_row: Vec<(Vec<usize>, Vec<f64>)> = (0..n)
        .into_par_iter()
        .with_min_len(16)
        .map(|i| {
            // The k best so far, sorted; rows come in index order, so a row enters only
            // when strictly closer than the k-th (ties keep the smaller index, as a sort
            // by (distance, index) would).
            let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
            for (j, r) in rows.iter().enumerate() {
                if j == i {
                    continue;
                }
                let dj = metric.distance(&rows[i], r);
                if best.len() == k {
                    if dj.total_cmp(&best[k - 1].0).is_ge() {
                        continue;
                    }
                    best.pop();
                }
                let at = best.partition_point(|&(d, _)| d.total_cmp(&dj).is_le());
                best.insert(at, (dj, j));
            }
            best.into_iter().map(|(d, j)| (j, d)).unzip()
        })
        .collect();
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for (idx, dist) in per_row {
        indices.extend(idx);
        distances.extend(dist);
    }
    Knn {
        k,
        indices,
        distances,
    }
}

/// The value of a coordinate as a key of equality under `!=` (`-0.0` equals `0.0`; the
/// input is finite, so there is no NaN).
#[inline]
fn equality_key(v: f64) -> u64 {
    if v == 0.0 { 0 } else { v.to_bits() }
}

/// Exact Hamming kNN from inverted lists, for inputs whose columns take few repeated values
/// (leaf vectors: a leaf holds a handful of rows). For every column the rows are grouped by
/// value; a row's candidates are the rows sharing at least one value with it, each with the
/// count of shared columns, so the distance `(d - shared) / d` equals
/// [`Metric::distance`]'s `differ / d` to the bit. Every other row is at distance exactly 1,
/// and ties are broken by the smaller index, so when fewer than `k` rows share a value the
/// list is completed with the smallest-index rows sharing none: the result is the brute
/// force's, bit for bit, in `O(Σ_columns Σ_groups size²)` instead of `O(n² d)`.
///
/// Returns `None` (use the brute force) when there are no columns or when the groups are so
/// large that the inverted lists would cost more than a quarter of the brute force.
fn hamming_by_shared_values(x: MatrixView<'_>, k: usize) -> Option<Knn> {
    let (n, d) = x.dim();
    if d == 0 || n < 2 || n.saturating_mul(d) > u32::MAX as usize {
        return None;
    }
    // groups[c]: the rows sorted by (key of column c, row); starts of groups in group_of.
    let mut order: Vec<u32> = Vec::with_capacity(n * d);
    // group_start[c * n + i]..group_end: the slice of `order` holding row i's group in c.
    let mut span: Vec<(u32, u32)> = vec![(0, 0); n * d];
    let mut pairs: u64 = 0;
    let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(n);
    for c in 0..d {
        keyed.clear();
        keyed.extend((0..n).map(|i| (equality_key(x[[i, c]]), i as u32)));
        keyed.sort_unstable();
        let base = order.len();
        order.extend(keyed.iter().map(|&(_, i)| i));
        let mut s = 0;
        while s < n {
            let mut e = s + 1;
            while e < n && keyed[e].0 == keyed[s].0 {
                e += 1;
            }
            let size = (e - s) as u64;
            pairs += size * size;
            for &(_, i) in &keyed[s..e] {
                span[i as usize * d + c] = ((base + s) as u32, (base + e) as u32);
            }
            s = e;
        }
        // Stop early when the lists already cost more than a quarter of the brute force.
        if pairs > (n as u64) * (n as u64) * (d as u64) / 4 {
            return None;
        }
    }
    let dd = d as f64;
    let per_row: Vec<Vec<(f64, usize)>> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map_init(
            || (vec![0u32; n], Vec::<u32>::new()),
            |(shared, touched), i| {
                for c in 0..d {
                    let (s, e) = span[i * d + c];
                    for &j in &order[s as usize..e as usize] {
                        let slot = &mut shared[j as usize];
                        if *slot == 0 {
                            touched.push(j);
                        }
                        *slot += 1;
                    }
                }
                let mut cand: Vec<(f64, usize)> = Vec::with_capacity(touched.len().max(k));
                for &j in touched.iter() {
                    let j = j as usize;
                    if j != i {
                        let differ = d - shared[j] as usize;
                        cand.push((differ as f64 / dd, j));
                    }
                    shared[j] = 0;
                }
                touched.clear();
                if cand.len() > k {
                    cand.select_nth_unstable_by(k - 1, pair_cmp);
                    cand.truncate(k);
                }
                cand.sort_unstable_by(pair_cmp);
                if cand.len() < k {
                    // Rows sharing no value are all at distance 1: the smallest indices.
                    let mut taken: Vec<usize> = cand.iter().map(|&(_, j)| j).collect();
                    taken.push(i);
                    taken.sort_unstable();
                    let mut next = 0usize;
                    let mut t = 0usize;
                    while cand.len() < k && next < n {
                        if t < taken.len() && taken[t] == next {
                            t += 1;
                        } else {
                            cand.push((1.0, next));
                        }
                        next += 1;
                    }
                }
                cand
            },
        )
        .collect();
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for row in per_row {
        for (dist, j) in row {
            indices.push(j);
            distances.push(dist);
        }
    }
    Some(Knn {
        k,
        indices,
        distances,
    })
}

/// How [`search`] finds the neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KnnMethod {
    /// [`exact`] up to [`EXACT_MAX_N`] rows, [`nn_descent`] above.
    #[default]
    Auto,
    /// Always [`exact`].
    Exact,
    /// Always [`nn_descent`] (with the default [`NnDescentParams`]).
    #[serde(rename = "nndescent", alias = "nn_descent")]
    NnDescent,
}

/// The largest number of rows for which [`KnnMethod::Auto`] uses the exact search.
pub const EXACT_MAX_N: usize = 20_000;

/// The k nearest neighbours of every row (self excluded) by `method`; `seed` drives
/// [`nn_descent`] only. Needs `1 <= k < n`.
pub fn search(
    x: MatrixView<'_>,
    k: usize,
    metric: Metric,
    method: KnnMethod,
    seed: u64,
) -> Result<Knn, Error> {
    let use_exact = match method {
        KnnMethod::Auto => x.nrows() <= EXACT_MAX_N,
        KnnMethod::Exact => true,
        KnnMethod::NnDescent => false,
    };
    if use_exact {
        exact(x, k, metric)
    } else {
        nn_descent(x, k, metric, seed, &NnDescentParams::default())
    }
}

/// The rows of `x` as one contiguous row-major buffer.
fn flat_rows(x: MatrixView<'_>) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for r in x.outer_iter() {
        out.extend(r.iter().copied());
    }
    out
}

/// Orders `(distance, index)` pairs: smaller distance first, ties by the smaller index.
#[inline]
fn pair_cmp(a: &(f64, usize), b: &(f64, usize)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// The `k` nearest rows of `data` for every row of `queries`, by brute force (no self
/// exclusion: a query equal to a data row finds it at distance 0). Ties by the smaller
/// index. Needs `1 <= k <= data.nrows()` and the same number of columns.
pub fn query(
    data: MatrixView<'_>,
    queries: MatrixView<'_>,
    k: usize,
    metric: Metric,
) -> Result<Knn, Error> {
    let n = data.nrows();
    if k == 0 || k > n {
        return Err(Error::param(
            "n_neighbors",
            format!("need 1 <= k <= n, got k = {k}, n = {n}"),
        ));
    }
    if data.ncols() != queries.ncols() {
        return Err(Error::Shape(format!(
            "data has {} columns, queries {}",
            data.ncols(),
            queries.ncols()
        )));
    }
    if metric == Metric::Hamming
        && let Some(found) = hamming_query_by_shared_values(data, queries, k)
    {
        return Ok(found);
    }
    let d = data.ncols();
    let flat = flat_rows(data);
    let q = flat_rows(queries);
    let m = queries.nrows();
    let per_row: Vec<Vec<(f64, usize)>> = (0..m)
        .into_par_iter()
        .map(|i| {
            let qi = &q[i * d..(i + 1) * d];
            let mut cand: Vec<(f64, usize)> = (0..n)
                .map(|j| (metric.distance(qi, &flat[j * d..(j + 1) * d]), j))
                .collect();
            if k < n {
                cand.select_nth_unstable_by(k - 1, pair_cmp);
                cand.truncate(k);
            }
            cand.sort_unstable_by(pair_cmp);
            cand
        })
        .collect();
    let mut indices = Vec::with_capacity(m * k);
    let mut distances = Vec::with_capacity(m * k);
    for row in per_row {
        for (dist, j) in row {
            indices.push(j);
            distances.push(dist);
        }
    }
    Ok(Knn {
        k,
        indices,
        distances,
    })
}

/// [`query`] for the Hamming metric from inverted lists of `data` (as
/// [`hamming_by_shared_values`]): per column, the data rows sorted by value; a query's
/// candidates are the data rows sharing at least one value with it, each at distance
/// `(d - shared) / d`, and every other row is at distance exactly 1, so the list is
/// completed with the smallest-index rows sharing none. The brute force's result, bit for
/// bit, in `O(m Σ_columns (log n + group size))` instead of `O(m n d)`: how the forest space
/// places new customers (a leaf holds a handful of training rows).
///
/// Returns `None` (use the brute force) without columns or when the data's groups are so
/// large that the lists would cost more than a quarter of the brute force.
fn hamming_query_by_shared_values(
    data: MatrixView<'_>,
    queries: MatrixView<'_>,
    k: usize,
) -> Option<Knn> {
    let (n, d) = data.dim();
    if d == 0 || n == 0 || n.saturating_mul(d) > u32::MAX as usize {
        return None;
    }
    // keys[c * n..(c + 1) * n]: (key, row) of column c, sorted.
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(n * d);
    let mut pairs: u64 = 0;
    for c in 0..d {
        let base = keys.len();
        keys.extend((0..n).map(|i| (equality_key(data[[i, c]]), i as u32)));
        let col = &mut keys[base..];
        col.sort_unstable();
        let mut s = 0;
        while s < n {
            let mut e = s + 1;
            while e < n && col[e].0 == col[s].0 {
                e += 1;
            }
            pairs += ((e - s) as u64) * ((e - s) as u64);
            s = e;
        }
        // Each query costs about the mean group size per column (pairs / n).
        if pairs > (n as u64) * (n as u64) * (d as u64) / 4 {
            return None;
        }
    }
    let dd = d as f64;
    let m = queries.nrows();
    let per_row: Vec<Vec<(f64, usize)>> = (0..m)
        .into_par_iter()
        .with_min_len(64)
        .map_init(
            || (vec![0u32; n], Vec::<u32>::new()),
            |(shared, touched), i| {
                for c in 0..d {
                    let col = &keys[c * n..(c + 1) * n];
                    let key = equality_key(queries[[i, c]]);
                    let s = col.partition_point(|&(v, _)| v < key);
                    for &(v, j) in &col[s..] {
                        if v != key {
                            break;
                        }
                        let slot = &mut shared[j as usize];
                        if *slot == 0 {
                            touched.push(j);
                        }
                        *slot += 1;
                    }
                }
                let mut cand: Vec<(f64, usize)> = Vec::with_capacity(touched.len().max(k));
                for &j in touched.iter() {
                    let j = j as usize;
                    let differ = d - shared[j] as usize;
                    cand.push((differ as f64 / dd, j));
                    shared[j] = 0;
                }
                touched.clear();
                if cand.len() > k {
                    cand.select_nth_unstable_by(k - 1, pair_cmp);
                    cand.truncate(k);
                }
                cand.sort_unstable_by(pair_cmp);
                if cand.len() < k {
                    let mut taken: Vec<usize> = cand.iter().map(|&(_, j)| j).collect();
                    taken.sort_unstable();
                    let mut t = 0usize;
                    let mut next = 0usize;
                    while cand.len() < k && next < n {
                        if t < taken.len() && taken[t] == next {
                            t += 1;
                        } else {
                            cand.push((1.0, next));
                        }
                        next += 1;
                    }
                }
                cand
            },
        )
        .collect();
    let mut indices = Vec::with_capacity(m * k);
    let mut distances = Vec::with_capacity(m * k);
    for row in per_row {
        for (dist, j) in row {
            indices.push(j);
            distances.push(dist);
        }
    }
    Some(Knn {
        k,
        indices,
        distances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Rng;
    use ndarray::array;

    #[test]
    fn exact_knn_on_a_line() {
        let x = array![[0.0], [1.0], [3.0], [7.0]];
        let knn = exact(x.view(), 2, Metric::Euclidean).unwrap();
        assert_eq!(knn.row_indices(0), &[1, 2]);
        assert_eq!(knn.row_distances(0), &[1.0, 3.0]);
        assert_eq!(knn.row_indices(3), &[2, 1]);
        // tie: row 1 is at distance 1 from 0 and 2 from 2
        assert_eq!(knn.row_indices(1), &[0, 2]);
        assert!(exact(x.view(), 4, Metric::Euclidean).is_err());
    }

    #[test]
    fn euclidean_tiles_equal_the_brute_force() {
        // random data, exact duplicates and ties, more rows than a tile
        let mut rng = Rng::new(5);
        for (n, d, k, levels) in [
            (700, 5, 14, 0),
            (600, 3, 10, 4),
            (40, 2, 39, 0),
            (300, 1, 7, 3),
        ] {
            let x = ndarray::Array2::from_shape_fn((n, d), |_| {
                if levels > 0 {
                    rng.below(levels) as f64
                } else {
                    rng.normal()
                }
            });
            let fast = euclidean_by_tiles(x.view(), k);
            let slow = brute_force(x.view(), k, Metric::Euclidean);
            assert_eq!(fast.indices, slow.indices, "n {n} d {d}");
            let fd: Vec<u64> = fast.distances.iter().map(|v| v.to_bits()).collect();
            let sd: Vec<u64> = slow.distances.iter().map(|v| v.to_bits()).collect();
            assert_eq!(fd, sd);
        }
    }

    #[test]
    fn metrics() {
        let a = [1.0, 0.0, 2.0];
        let b = [1.0, 3.0, 6.0];
        assert_eq!(Metric::Euclidean.distance(&a, &b), 5.0);
        assert_eq!(Metric::Manhattan.distance(&a, &b), 7.0);
        assert!((Metric::Hamming.distance(&a, &b) - 2.0 / 3.0).abs() < 1e-15);
        assert!(Metric::Cosine.distance(&a, &a).abs() < 1e-12);
    }

    /// Leaf-like vectors: column c holds one of `leaves` values (and -0.0 / 0.0 mixed).
    fn leafy(n: usize, d: usize, leaves: usize, seed: u64) -> ndarray::Array2<f64> {
        let mut rng = Rng::new(seed);
        ndarray::Array2::from_shape_fn((n, d), |_| {
            let v = rng.below(leaves) as f64;
            if v == 0.0 && rng.uniform() < 0.5 {
                -0.0
            } else {
                v
            }
        })
    }

    #[test]
    fn hamming_queries_from_inverted_lists_equal_the_brute_force() {
        for (n, m, d, leaves, k) in [
            (300, 120, 20, 200, 10),
            (300, 50, 20, 40, 15),
            (80, 40, 5, 80, 30),
            (60, 10, 1, 60, 5),
        ] {
            let data = leafy(n, d, leaves, n as u64 + 1);
            let q = leafy(m, d, leaves, m as u64 + 2);
            let fast = hamming_query_by_shared_values(data.view(), q.view(), k).unwrap();
            // the brute force (query() takes the fast path: compare with the plain loop)
            let mut idx = Vec::new();
            let mut dist = Vec::new();
            for qi in q.outer_iter() {
                let qi: Vec<f64> = qi.to_vec();
                let mut c: Vec<(f64, usize)> = data
                    .outer_iter()
                    .enumerate()
                    .map(|(j, r)| (Metric::Hamming.distance(&qi, &r.to_vec()), j))
                    .collect();
                c.sort_by(pair_cmp);
                for &(dv, j) in &c[..k] {
                    idx.push(j);
                    dist.push(dv.to_bits());
                }
            }
            assert_eq!(fast.indices, idx, "n {n} d {d} leaves {leaves}");
            let fd: Vec<u64> = fast.distances.iter().map(|v| v.to_bits()).collect();
            assert_eq!(fd, dist);
        }
    }

    #[test]
    fn hamming_inverted_lists_equal_the_brute_force() {
        // many leaves (few rows share anything: lists topped up with distance-1 rows),
        // few leaves (large groups) and everything in between
        for (n, d, leaves, k) in [
            (300, 20, 200, 10),
            (300, 20, 40, 10),
            (200, 5, 3, 14),
            (150, 50, 150, 30),
            (60, 1, 60, 5),
        ] {
            let x = leafy(n, d, leaves, n as u64 + leaves as u64);
            let fast = hamming_by_shared_values(x.view(), k);
            let slow = brute_force(x.view(), k, Metric::Hamming);
            if let Some(fast) = fast {
                assert_eq!(fast.indices, slow.indices, "n {n} d {d} leaves {leaves}");
                let fd: Vec<u64> = fast.distances.iter().map(|v| v.to_bits()).collect();
                let sd: Vec<u64> = slow.distances.iter().map(|v| v.to_bits()).collect();
                assert_eq!(fd, sd);
            } else {
                assert!(leaves <= 3, "inverted lists declined for {leaves} leaves");
            }
            assert_eq!(exact(x.view(), k, Metric::Hamming).unwrap(), slow);
        }
        // the sparse case really is taken
        let x = leafy(300, 20, 200, 1);
        assert!(hamming_by_shared_values(x.view(), 10).is_some());
    }
}
