//! One rule for building a space from the scaled feature matrix, shared by the grid
//! (`cargo xtask grid`) and the analysis (`insiders run`).
//!
//! - `identity`: the input matrix itself (the target and the parameters are not used);
//! - a registered embedder that is [supervised](crate::EmbedderSpec::supervised) (the
//!   forest): the `target` column, found by name, is taken out of the inputs and is what
//!   the forest predicts from the other columns;
//! - any other registered embedder: the full matrix; `target` is ignored.
//!
//! The embedding is the embedder's `fit_transform` on those inputs: the same call, and so
//! the same bits, as the grid and the analysis made before they shared this function.

use crate::registry;
use insiders_core::{Embedding, Error, Matrix};
use std::collections::BTreeMap;

/// The method name of the space that is the input itself.
pub const IDENTITY: &str = "identity";

/// Builds the space `method` (`identity`, or a registered embedder name or alias) of `x`,
/// whose columns are named `names`, with the method's TOML `params` and `seed`.
///
/// For a supervised method the column `target` is removed from the inputs and used as the
/// target; for an unsupervised method or `identity` the whole matrix is used and `target`
/// is ignored.
///
/// # Errors
/// - [`Error::Unknown`]: `method` is neither `identity` nor registered;
/// - [`Error::Param`] from the embedder's parameters;
/// - [`Error::Shape`]: `names` does not name every column of `x`;
/// - [`Error::Param`] with key `target`: a supervised method without a target, or a target
///   that is not one of `names` (the message lists them);
/// - whatever the embedder reports about the input.
pub fn fit_space(
    method: &str,
    params: &toml::Table,
    names: &[String],
    x: &Matrix,
    target: Option<&str>,
    seed: u64,
) -> Result<Embedding, Error> {
    if method == IDENTITY {
        check_names(names, x)?;
        return Ok(Embedding {
            coords: x.clone(),
            info: BTreeMap::new(),
        });
    }
    let (embedder, inputs, y) = prepare(method, params, names, x, target)?;
    embedder.fit_transform(inputs.view(), y.as_deref(), seed)
}

/// [`fit_space`] fitted on the rows `sample` of `x` (ascending) and every other row placed
/// by the fitted model ([`insiders_core::FittedEmbedder`]: PCA's projection, UMAP's
/// `transform`, the forest's leaves placed by its UMAP). The sample's rows keep the fit's
/// coordinates. `info` gets `fit_rows`. With every row in the sample this is [`fit_space`]
/// with the same seed, bit for bit (the fit sees the same matrix).
///
/// # Errors
/// As [`fit_space`]; [`Error::Unsupported`] for a method that cannot place new points
/// (t-SNE); [`Error::Shape`] for a sample that is not ascending rows of `x`.
pub fn fit_space_sampled(
    method: &str,
    params: &toml::Table,
    names: &[String],
    x: &Matrix,
    target: Option<&str>,
    seed: u64,
    sample: &[usize],
) -> Result<Embedding, Error> {
    let n = x.nrows();
    if sample.windows(2).any(|w| w[0] >= w[1]) || sample.last().is_some_and(|&l| l >= n) {
        return Err(Error::Shape(format!(
            "the sample must be ascending rows of 0..{n}"
        )));
    }
    if method == IDENTITY || sample.len() == n {
        let mut e = fit_space(method, params, names, x, target, seed)?;
        if method != IDENTITY {
            e.info.insert("fit_rows".into(), n as f64);
        }
        return Ok(e);
    }
    let (embedder, inputs, y) = prepare(method, params, names, x, target)?;
    let fit_x = inputs.select(ndarray::Axis(0), sample);
    let fit_y: Option<Vec<f64>> = y.map(|y| sample.iter().map(|&i| y[i]).collect());
    let (fitted, model) = embedder.fit(fit_x.view(), fit_y.as_deref(), seed)?;
    drop(fit_x);
    let mut in_sample = vec![usize::MAX; n];
    for (j, &i) in sample.iter().enumerate() {
        in_sample[i] = j;
    }
    let rest: Vec<usize> = (0..n).filter(|&i| in_sample[i] == usize::MAX).collect();
    let placed = model.transform(inputs.select(ndarray::Axis(0), &rest).view())?;
    let dim = fitted.coords.ncols();
    if placed.ncols() != dim {
        return Err(Error::Shape(format!(
            "{method} placed new rows in {} dimensions, fitted {dim}",
            placed.ncols()
        )));
    }
    let mut coords = Matrix::zeros((n, dim));
    for (i, &j) in in_sample.iter().enumerate() {
        if j != usize::MAX {
            coords.row_mut(i).assign(&fitted.coords.row(j));
        }
    }
    for (r, &i) in rest.iter().enumerate() {
        coords.row_mut(i).assign(&placed.row(r));
    }
    let mut info = fitted.info;
    info.insert("fit_rows".into(), sample.len() as f64);
    Ok(Embedding { coords, info })
}

fn check_names(names: &[String], x: &Matrix) -> Result<(), Error> {
    if names.len() != x.ncols() {
        return Err(Error::Shape(format!(
            "{} column names for a matrix of {} columns",
            names.len(),
            x.ncols()
        )));
    }
    Ok(())
}

/// The embedder of `method` and its inputs: the whole matrix, or for a supervised method
/// the other columns and the `target` column.
#[allow(clippy::type_complexity)]
fn prepare(
    method: &str,
    params: &toml::Table,
    names: &[String],
    x: &Matrix,
    target: Option<&str>,
) -> Result<(Box<dyn insiders_core::Embedder>, Matrix, Option<Vec<f64>>), Error> {
    check_names(names, x)?;
    let spec = registry::find(method)?;
    let embedder = (spec.build)(params)?;
    if !spec.supervised {
        return Ok((embedder, x.clone(), None));
    }
    let available = || names.join(", ");
    let Some(target) = target else {
        return Err(Error::param(
            "target",
            format!(
                "the {} space is supervised: name the column it predicts (one of {})",
                spec.name,
                available()
            ),
        ));
    };
    let Some(j) = names.iter().position(|n| n == target) else {
        return Err(Error::param(
            "target",
            format!("`{target}` is not one of the columns ({})", available()),
        ));
    };
    let keep: Vec<usize> = (0..names.len()).filter(|&c| c != j).collect();
    let inputs = x.select(ndarray::Axis(1), &keep);
    let y = x.column(j).to_vec();
    Ok((embedder, inputs, Some(y)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Rng;

    fn input() -> (Vec<String>, Matrix) {
        let mut rng = Rng::new(5);
        let x = Matrix::from_shape_fn((60, 3), |(i, j)| {
            (i % 3) as f64 * 2.0 + j as f64 + rng.uniform()
        });
        (vec!["a".into(), "b".into(), "c".into()], x)
    }

    fn small_forest() -> toml::Table {
        insiders_core::params::parse_pairs(&["n_estimators=5", "n_epochs=20"]).unwrap()
    }

    #[test]
    fn supervised_removes_the_target_column() {
        let (names, x) = input();
        let got = fit_space("forest", &small_forest(), &names, &x, Some("b"), 7).unwrap();
        let inputs = x.select(ndarray::Axis(1), &[0, 2]);
        let y = x.column(1).to_vec();
        let want = crate::build("forest", &small_forest())
            .unwrap()
            .fit_transform(inputs.view(), Some(&y), 7)
            .unwrap();
        assert_eq!(got, want);
        // The alias gives the same space.
        let alias = fit_space("tree", &small_forest(), &names, &x, Some("b"), 7).unwrap();
        assert_eq!(alias, want);
    }

    #[test]
    fn unknown_or_missing_target_names_the_setting_and_the_columns() {
        let (names, x) = input();
        for target in [Some("d"), None] {
            match fit_space("forest", &small_forest(), &names, &x, target, 7) {
                Err(Error::Param { key, message }) => {
                    assert_eq!(key, "target");
                    assert!(message.contains("a, b, c"), "{message}");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn unsupervised_and_identity_use_the_whole_matrix() {
        let (names, x) = input();
        let id = fit_space(IDENTITY, &toml::Table::new(), &names, &x, Some("b"), 7).unwrap();
        assert_eq!(id.coords, x);
        assert!(id.info.is_empty());
        let got = fit_space("pca", &toml::Table::new(), &names, &x, Some("zzz"), 7).unwrap();
        let want = crate::build("pca", &toml::Table::new())
            .unwrap()
            .fit_transform(x.view(), None, 7)
            .unwrap();
        assert_eq!(got, want);
        assert_eq!(got.coords.ncols(), 3);
    }

    #[test]
    fn a_space_fitted_on_a_sample_places_the_other_rows() {
        let (names, x) = input();
        let sample: Vec<usize> = (0..60).filter(|i| i % 3 != 1).collect();
        // The whole sample: the plain space.
        let all: Vec<usize> = (0..60).collect();
        let whole =
            fit_space_sampled("forest", &small_forest(), &names, &x, Some("b"), 7, &all).unwrap();
        let plain = fit_space("forest", &small_forest(), &names, &x, Some("b"), 7).unwrap();
        assert_eq!(whole.coords, plain.coords);
        // A sample: its rows are the sample's own space, the others are placed.
        let got = fit_space_sampled("forest", &small_forest(), &names, &x, Some("b"), 7, &sample)
            .unwrap();
        let xs = x.select(ndarray::Axis(0), &sample);
        let own = fit_space("forest", &small_forest(), &names, &xs, Some("b"), 7).unwrap();
        for (j, &i) in sample.iter().enumerate() {
            assert_eq!(got.coords.row(i), own.coords.row(j));
        }
        assert_eq!(got.info["fit_rows"], 40.0);
        assert!(got.coords.iter().all(|v| v.is_finite()));
        // PCA places rows by its projection: the same as projecting them with the fit.
        let p =
            fit_space_sampled("pca", &toml::Table::new(), &names, &x, None, 7, &sample).unwrap();
        let (_, model) = crate::build("pca", &toml::Table::new())
            .unwrap()
            .fit(xs.view(), None, 7)
            .unwrap();
        let row = x.select(ndarray::Axis(0), &[1]);
        assert_eq!(p.coords.row(1), model.transform(row.view()).unwrap().row(0));
        // t-SNE cannot place rows: an error, not a silent fallback.
        assert!(matches!(
            fit_space_sampled("tsne", &toml::Table::new(), &names, &x, None, 7, &sample),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn unknown_method_and_bad_names_are_errors() {
        let (names, x) = input();
        let t = toml::Table::new();
        assert!(matches!(
            fit_space("nope", &t, &names, &x, None, 7),
            Err(Error::Unknown { .. })
        ));
        assert!(matches!(
            fit_space("pca", &t, &names[..2], &x, None, 7),
            Err(Error::Shape(_))
        ));
    }
}
