//! Principal component analysis by eigen-decomposition of the covariance matrix.
//!
//! Matches scikit-learn's `PCA` (full solver): explained variance with the `n - 1`
//! denominator, explained variance ratio against the total variance, and the sign
//! convention of scikit-learn >= 1.5 (`svd_flip(u_based_decision=False)`): in every
//! component the entry of largest absolute value is positive.

use crate::registry::EmbedderSpec;
use insiders_core::{Embedder, Embedding, Error, FittedEmbedder, Matrix, MatrixView, check_matrix};
use nalgebra::DMatrix;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The embedders this module registers.
pub const SPECS: &[EmbedderSpec] = &[EmbedderSpec {
    name: "pca",
    aliases: &[],
    about: "principal components of the (centred) input; all components by default",
    supervised: false,
    build: build_pca,
}];

fn build_pca(table: &toml::Table) -> Result<Box<dyn Embedder>, Error> {
    let params: PcaParams = crate::params::from_table(table)?;
    if params.n_components == Some(0) {
        return Err(Error::param("n_components", "must be at least 1"));
    }
    Ok(Box::new(Pca { params }))
}

/// Parameters of [`Pca`].
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PcaParams {
    /// Components to keep; all (`min(n, d)`) when absent.
    pub n_components: Option<usize>,
}

/// A fitted PCA.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaModel {
    /// Column means of the training data.
    pub mean: Vec<f64>,
    /// Components as rows (`n_components x d`), unit length, sign-normalised.
    pub components: Matrix,
    /// Variance along each component (eigenvalues of the covariance, `n - 1` denominator).
    pub explained_variance: Vec<f64>,
    /// Each component's share of the total variance.
    pub explained_variance_ratio: Vec<f64>,
}

impl PcaModel {
    /// Projects rows onto the components.
    pub fn project(&self, x: MatrixView<'_>) -> Result<Matrix, Error> {
        if x.ncols() != self.mean.len() {
            return Err(Error::Shape(format!(
                "PCA fitted on {} columns, got {}",
                self.mean.len(),
                x.ncols()
            )));
        }
        let mut centred = x.to_owned();
        for mut row in centred.outer_iter_mut() {
            for (v, m) in row.iter_mut().zip(&self.mean) {
                *v -= m;
            }
        }
        Ok(centred.dot(&self.components.t()))
    }
}

impl FittedEmbedder for PcaModel {
    fn transform(&self, x: MatrixView<'_>) -> Result<Matrix, Error> {
        self.project(x)
    }
}

/// Fits a PCA keeping `n_components` (all when `None`).
pub fn fit_pca(x: MatrixView<'_>, n_components: Option<usize>) -> Result<PcaModel, Error> {
    check_matrix(x)?;
    let (n, d) = x.dim();
    if n < 2 {
        return Err(Error::Shape("PCA needs at least 2 rows".into()));
    }
    let max = n.min(d);
    let keep = n_components.unwrap_or(max);
    if keep == 0 || keep > max {
        return Err(Error::param(
            "n_components",
            format!("must be in 1..={max} for a {n} x {d} input, got {keep}"),
        ));
    }
    let mean: Vec<f64> = (0..d)
        .map(|j| x.column(j).iter().sum::<f64>() / n as f64)
        .collect();
    // Covariance with the n - 1 denominator, accumulated in row order (deterministic).
    let mut cov = vec![0.0; d * d];
    let mut c = vec![0.0; d];
    for row in x.outer_iter() {
        for j in 0..d {
            c[j] = row[j] - mean[j];
        }
        for a in 0..d {
            for b in a..d {
                cov[a * d + b] += c[a] * c[b];
            }
        }
    }
    let denom = (n - 1) as f64;
    let cov = DMatrix::from_fn(d, d, |a, b| {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        cov[lo * d + hi] / denom
    });
    let total: f64 = cov.diagonal().iter().sum();
    let eig = nalgebra::SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| {
        eig.eigenvalues[b]
            .total_cmp(&eig.eigenvalues[a])
            .then(a.cmp(&b))
    });
    let mut components = Matrix::zeros((keep, d));
    let mut explained_variance = Vec::with_capacity(keep);
    for (r, &i) in order.iter().take(keep).enumerate() {
        let v = eig.eigenvectors.column(i);
        let mut arg = 0;
        for j in 1..d {
            if v[j].abs() > v[arg].abs() {
                arg = j;
            }
        }
        let sign = if v[arg] < 0.0 { -1.0 } else { 1.0 };
        for j in 0..d {
            components[[r, j]] = sign * v[j];
        }
        explained_variance.push(eig.eigenvalues[i].max(0.0));
    }
    let explained_variance_ratio = explained_variance
        .iter()
        .map(|v| if total > 0.0 { v / total } else { 0.0 })
        .collect();
    Ok(PcaModel {
        mean,
        components,
        explained_variance,
        explained_variance_ratio,
    })
}

/// The `pca` embedder.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Its parameters.
    pub params: PcaParams,
}

impl Pca {
    fn embedding(model: &PcaModel, x: MatrixView<'_>) -> Result<Embedding, Error> {
        let coords = model.project(x)?;
        let mut info = BTreeMap::new();
        for (i, r) in model.explained_variance_ratio.iter().enumerate() {
            info.insert(format!("explained_variance_ratio_{i}"), *r);
        }
        Ok(Embedding { coords, info })
    }
}

impl Embedder for Pca {
    fn name(&self) -> &str {
        "pca"
    }

    fn fit_transform(
        &self,
        x: MatrixView<'_>,
        _target: Option<&[f64]>,
        _seed: u64,
    ) -> Result<Embedding, Error> {
        let model = fit_pca(x, self.params.n_components)?;
        Self::embedding(&model, x)
    }

    fn fit(
        &self,
        x: MatrixView<'_>,
        _target: Option<&[f64]>,
        _seed: u64,
    ) -> Result<(Embedding, Box<dyn FittedEmbedder>), Error> {
        let model = fit_pca(x, self.params.n_components)?;
        let e = Self::embedding(&model, x)?;
        Ok((e, Box::new(model)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn pca_of_a_line_has_one_component() {
        let x = array![[0.0, 0.0], [1.0, 2.0], [2.0, 4.0], [3.0, 6.0]];
        let m = fit_pca(x.view(), None).unwrap();
        assert!((m.explained_variance_ratio[0] - 1.0).abs() < 1e-12);
        let s5 = 5f64.sqrt();
        assert!((m.components[[0, 0]] - 1.0 / s5).abs() < 1e-12);
        assert!((m.components[[0, 1]] - 2.0 / s5).abs() < 1e-12);
        // variance along the line: |(1,2)|^2 * var(0,1,2,3) = 5 * 5/3
        assert!((m.explained_variance[0] - 25.0 / 3.0).abs() < 1e-9);
        assert!(fit_pca(x.view(), Some(3)).is_err());
    }
}
