//! DBSCAN's `eps` when it is not given: the k-distances of the points, their knee (the
//! "elbow") or a quantile of them (the Python grid's rule).

use crate::kdtree::KdTree;
use insiders_core::{Error, MatrixView, check_matrix, quantile_sorted};
use rayon::prelude::*;

use super::{check_min, row_major};

/// The k-distance of every point: the distance to its `k`-th nearest point, the point itself
/// included (so a point is a DBSCAN core point at `eps` exactly when its k-distance with
/// `k = min_samples` is at most `eps`). In input order.
pub fn k_distances(x: MatrixView<'_>, k: usize) -> Result<Vec<f64>, Error> {
    check_matrix(x)?;
    check_min("k", k)?;
    let d = x.ncols();
    let data = row_major(x);
    let tree = KdTree::new(&data, d);
    Ok(tree_k_distances(&tree, &data, d, k))
}

/// [`k_distances`] of the rows of `data` (row-major, `d` columns) with their tree.
pub(super) fn tree_k_distances(tree: &KdTree<'_>, data: &[f64], d: usize, k: usize) -> Vec<f64> {
    data.par_chunks(d)
        .map(|q| tree.kth_sq_dist(q, k).sqrt())
        .collect()
}

/// The knee of an ascending curve: the index of the point farthest below the chord from the
/// first to the last point, both axes scaled to [0, 1] (the "kneedle" idea: the maximum of
/// `x_i - y_i` in normalised coordinates; ties to the lowest index). `None` if the curve is
/// flat or has fewer than 3 points.
pub fn knee_index(sorted: &[f64]) -> Option<usize> {
    let n = sorted.len();
    if n < 3 {
        return None;
    }
    let (y0, y1) = (sorted[0], sorted[n - 1]);
    let span = y1 - y0;
    if span.is_nan() || span <= 0.0 {
        return None;
    }
    let mut best = (f64::NEG_INFINITY, 0usize);
    for (i, &y) in sorted.iter().enumerate() {
        let gap = i as f64 / (n - 1) as f64 - (y - y0) / span;
        if gap > best.0 {
            best = (gap, i);
        }
    }
    Some(best.1)
}

/// DBSCAN's `eps` from the k-distance elbow: sort the k-distances ([`k_distances`]) ascending
/// and take the value at their knee ([`knee_index`]). Degenerate curves: when every k-distance
/// is equal, that value; a non-positive choice is replaced by the smallest positive
/// k-distance, and by 1.0 when all points coincide (any positive eps then gives the same
/// clustering).
pub fn elbow_eps(x: MatrixView<'_>, k: usize) -> Result<f64, Error> {
    Ok(elbow_of(k_distances(x, k)?))
}

/// [`elbow_eps`] from the (non-empty) k-distances.
pub(super) fn elbow_of(mut kd: Vec<f64>) -> f64 {
    kd.sort_by(f64::total_cmp);
    let eps = knee_index(&kd).map_or(kd[kd.len() - 1], |i| kd[i]);
    if eps > 0.0 {
        return eps;
    }
    kd.iter().copied().find(|&v| v > 0.0).unwrap_or(1.0)
}

/// DBSCAN's `eps` as the `q`-quantile (`0 < q <= 1`) of the k-distances ([`k_distances`]),
/// interpolated linearly between order statistics (numpy's default `percentile(d, 100 q)`).
/// A non-positive value is replaced as in [`elbow_eps`].
pub fn quantile_eps(x: MatrixView<'_>, k: usize, q: f64) -> Result<f64, Error> {
    if !(q > 0.0 && q <= 1.0) {
        return Err(Error::param(
            "eps_quantile",
            format!("must be in (0, 1], got {q}"),
        ));
    }
    Ok(quantile_of(k_distances(x, k)?, q))
}

/// [`quantile_eps`] from the (non-empty) k-distances, `q` already checked: the core's
/// [`quantile_sorted`] (numpy's linear rule), then the non-positive replacement of
/// [`elbow_eps`].
pub(super) fn quantile_of(mut kd: Vec<f64>, q: f64) -> f64 {
    kd.sort_by(f64::total_cmp);
    let eps = quantile_sorted(&kd, q);
    if eps > 0.0 {
        return eps;
    }
    kd.iter().copied().find(|&v| v > 0.0).unwrap_or(1.0)
}
