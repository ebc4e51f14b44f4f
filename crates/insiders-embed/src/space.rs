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
    if names.len() != x.ncols() {
        return Err(Error::Shape(format!(
            "{} column names for a matrix of {} columns",
            names.len(),
            x.ncols()
        )));
    }
    if method == IDENTITY {
        return Ok(Embedding {
            coords: x.clone(),
            info: BTreeMap::new(),
        });
    }
    let spec = registry::find(method)?;
    let embedder = (spec.build)(params)?;
    if !spec.supervised {
        return embedder.fit_transform(x.view(), None, seed);
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
    embedder.fit_transform(inputs.view(), Some(&y), seed)
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
