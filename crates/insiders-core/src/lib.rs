//! Shared types of `insiders`: the [`Matrix`] alias, seeded randomness ([`rng`]),
//! the clustering [`Engine`] contract with its [`Partition`] output, the [`Embedder`]
//! contract, and the one error type of the contracts ([`Error`]).
//!
//! This crate depends on almost nothing, so every other crate can depend on it.
//! Engines and embedders are pure: they take a matrix and a seed and return values;
//! only the ingest, report and store crates and the binaries touch the file system
//! (besides [`clock`], which reads the process's own CPU time).

pub mod clock;
pub mod embed;
pub mod engine;
pub mod error;
pub mod memory;
pub mod numeric;
pub mod params;
pub mod pool;
pub mod rng;

pub use clock::process_cpu_seconds;
pub use embed::{Embedder, Embedding, FittedEmbedder};
pub use engine::{Caps, Diagnostics, Engine, Partition};
pub use error::Error;
pub use numeric::{fnv1a, fnv1a_str, jaccard_masks, jaccard_sorted, quantile_sorted};
pub use pool::on_pool;
pub use rng::{Rng, derive_seed};

/// Every numeric table crosses crate boundaries as a dense row-major `f64` matrix:
/// one row per observation (customer), one column per feature or dimension.
pub type Matrix = ndarray::Array2<f64>;
/// A borrowed [`Matrix`].
pub type MatrixView<'a> = ndarray::ArrayView2<'a, f64>;

/// Checks that a matrix can be fitted: at least one row and one column, every value finite.
///
/// The error names the first offending cell (0-based row and column).
pub fn check_matrix(x: MatrixView<'_>) -> Result<(), Error> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(Error::EmptyInput {
            rows: x.nrows(),
            cols: x.ncols(),
        });
    }
    for (row, r) in x.outer_iter().enumerate() {
        for (col, v) in r.iter().enumerate() {
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    row,
                    col,
                    value: *v,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn check_matrix_names_the_cell() {
        let x = array![[1.0, 2.0], [3.0, f64::NAN]];
        match check_matrix(x.view()) {
            Err(Error::NonFinite { row: 1, col: 1, .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
        let e = Matrix::zeros((0, 3));
        assert!(matches!(
            check_matrix(e.view()),
            Err(Error::EmptyInput { rows: 0, cols: 3 })
        ));
        assert!(check_matrix(array![[0.0]].view()).is_ok());
    }
}
