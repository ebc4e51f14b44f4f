//! The Cholesky factor of a precision matrix (scikit-learn's `precisions_cholesky_`).

/// The upper-triangular `P = (L^-1)^T` of a covariance `S = L L^T` (row-major `d x d`), so
/// that `P P^T = S^-1`; `None` when `S` is not positive definite.
pub(super) fn precision_cholesky(s: &[f64], d: usize) -> Option<Vec<f64>> {
    // Cholesky: L lower triangular.
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut v = s[i * d + j];
            for t in 0..j {
                v -= l[i * d + t] * l[j * d + t];
            }
            if i == j {
                if !(v > 0.0 && v.is_finite()) {
                    return None;
                }
                l[i * d + i] = v.sqrt();
            } else {
                l[i * d + j] = v / l[j * d + j];
            }
        }
    }
    // L^-1 by forward substitution, column by column; P[r][c] = Linv[c][r].
    let mut p = vec![0.0; d * d];
    for col in 0..d {
        // Solve L z = e_col; z[r] = 0 for r < col.
        let mut z = vec![0.0; d];
        for r in col..d {
            let mut v = if r == col { 1.0 } else { 0.0 };
            for t in col..r {
                v -= l[r * d + t] * z[t];
            }
            z[r] = v / l[r * d + r];
        }
        for r in col..d {
            // Linv[r][col] = z[r] -> P[col][r].
            p[col * d + r] = z[r];
        }
    }
    if p.iter().all(|v| v.is_finite()) {
        Some(p)
    } else {
        None
    }
}
