//! Scores of partitions and embeddings.
//!
//! - internal scores of a partition of a space: [`silhouette()`] (exact), [`silhouette_many`]
//!   (many labellings of one space sharing the distance work), [`silhouette_sampled`]
//!   (unbiased estimate with a standard error), [`davies_bouldin`], [`calinski_harabasz`],
//!   and [`internal_scores`] (all three with the noise accounting);
//! - agreement between two partitions: [`adjusted_rand_index`], [`normalized_mutual_info`],
//!   and [`mean_pairwise_ari`] for stability studies;
//! - external scores against reference partitions as the clustering benchmark suite defines
//!   them: [`normalized_clustering_accuracy`], [`reference_scores`] (ARI, NMI, NCA with the
//!   reference's noise points left out) and [`best_reference_scores`] (best over several
//!   reference labellings, each at its own k);
//! - quality of an embedding: [`trustworthiness`], [`continuity`], [`knn_preservation`].
//!
//! Every score follows scikit-learn's definition (euclidean distances) and matches its
//! values on the parity fixtures; `docs/metrics.md` gives the formulas and complexities.
//!
//! # Labels and the noise policy
//! Labels are `&[Option<u32>]`, one per point, `None` = noise (the convention of
//! [`insiders_core::Partition`]); cluster ids need not be contiguous.
//!
//! - Internal scores (silhouette, Davies-Bouldin, Calinski-Harabasz) are computed on the
//!   non-noise points only: noise points are neither scored nor used as neighbours or in
//!   centroids. Report [`noise_share`] beside them ([`InternalScores`] does).
//! - Agreement scores (ARI, NMI) treat noise as one more cluster ("noise"), as
//!   scikit-learn does with DBSCAN's `-1` labels: two labellings agree on a noise point when
//!   both call it noise.
//! - Fewer than 2 clusters among the scored points (or one cluster per point) is a typed
//!   error ([`EvalError::TooFewClusters`], [`EvalError::TooManyClusters`]), never a panic
//!   or a `NaN`.
//!
//! # Example
//! ```
//! use insiders_core::Matrix;
//! use insiders_eval::{EvalError, adjusted_rand_index, silhouette, silhouette_many};
//!
//! let x = Matrix::from_shape_vec((5, 1), vec![0.0, 1.0, 10.0, 11.0, 50.0]).unwrap();
//! let k2 = [Some(0), Some(0), Some(1), Some(1), None]; // the last point is noise
//! let k3 = [Some(0), Some(0), Some(1), Some(1), Some(2)];
//! let s = silhouette(x.view(), &k2)?; // on the 4 non-noise points
//! assert!((s - (9.5 / 10.5 + 8.5 / 9.5) / 2.0).abs() < 1e-12);
//! assert_eq!(silhouette_many(x.view(), &[&k2, &k3])?[0], s);
//! assert!(adjusted_rand_index(&k2, &k3)? == 1.0); // noise is a cluster of its own
//! let one = [Some(3); 5];
//! assert!(matches!(silhouette(x.view(), &one), Err(EvalError::TooFewClusters { found: 1, .. })));
//! # Ok::<(), EvalError>(())
//! ```
//!
//! # Determinism
//! Work runs in parallel with rayon, but every reduction collects per-task results in
//! index order and sums them sequentially: the same input gives bit-identical scores
//! whatever the thread count.

pub mod agreement;
pub mod error;
pub mod external;
pub mod internal;
mod labels;
pub mod neighbours;
pub mod silhouette;

pub use agreement::{adjusted_rand_index, mean_pairwise_ari, normalized_mutual_info};
pub use error::EvalError;
pub use external::{
    BestScores, ExternalScores, best_reference_scores, normalized_clustering_accuracy, reference_k,
    reference_scores,
};
pub use internal::{InternalScores, calinski_harabasz, davies_bouldin, internal_scores};
pub use labels::noise_share;
pub use neighbours::{continuity, knn_preservation, trustworthiness};
pub use silhouette::{
    SampledScore, silhouette, silhouette_each, silhouette_many, silhouette_sampled,
};
