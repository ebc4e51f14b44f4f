//! `optics`: our own OPTICS with scikit-learn's semantics (`OPTICS(cluster_method=
//! "dbscan")`). Noise is labelled `None`.
//!
//! Core distance = distance to the `min_samples`-th nearest point (itself included),
//! reachability updated with the minimum, the next point is the unprocessed one with the
//! smallest reachability (ties: lowest index), clusters extracted at `eps` as
//! scikit-learn's `cluster_optics_dbscan`. [`optics_ordering`] gives the ordering and the
//! reachability plot. Neighbours come from the shared k-d tree (`crate::kdtree`).
//!
//! Why not petal-clustering 0.14's `Optics` (checked, see the tests): its core distance is
//! the distance to the nearest *other* point whatever `min_samples` is, the reachability
//! keeps the maximum instead of the minimum, and a reachability of exactly 0 (an exact
//! duplicate) is treated as "undefined" (`is_normal`), so duplicates start new clusters or
//! become noise.
//!
//! Determinism: no randomness; results do not depend on the seed or the thread count
//! (the core distances are computed in parallel, one value per point in index order).

use crate::dbscan::{caps, check_eps, check_min, elbow_eps, row_major};
use crate::kdtree::{KdTree, OrdF64, sq_dist};
use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::{Caps, Diagnostics, Engine, Error, MatrixView, Partition, check_matrix};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[EngineSpec {
    name: "optics",
    about: "OPTICS with scikit-learn semantics, clusters extracted at eps (dbscan-style)",
    build: build_optics,
}];

/// Parameters of the `optics` engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpticsParams {
    /// Points (itself included) within the core distance. Default 20 (the study's).
    pub min_samples: usize,
    /// Largest neighbourhood radius searched. Default: none (infinite, scikit-learn's default).
    pub max_eps: Option<f64>,
    /// Extraction radius (scikit-learn's `cluster_optics_dbscan`). Default: none, chosen by the
    /// k-distance elbow as for `dbscan`; must not exceed `max_eps`.
    pub eps: Option<f64>,
}

impl Default for OpticsParams {
    fn default() -> Self {
        OpticsParams {
            min_samples: 20,
            max_eps: None,
            eps: None,
        }
    }
}

fn build_optics(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: OpticsParams = from_table(table)?;
    Ok(Box::new(Optics::new(params)?))
}

/// The `optics` engine (our own, scikit-learn semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct Optics {
    params: OpticsParams,
}

impl Optics {
    /// Validates the parameters.
    pub fn new(params: OpticsParams) -> Result<Self, Error> {
        check_min("min_samples", params.min_samples)?;
        check_eps("max_eps", params.max_eps)?;
        check_eps("eps", params.eps)?;
        if let (Some(e), Some(m)) = (params.eps, params.max_eps)
            && e > m
        {
            return Err(Error::param("eps", format!("eps {e} exceeds max_eps {m}")));
        }
        Ok(Optics { params })
    }
}

/// The OPTICS ordering of a data set (scikit-learn's `OPTICS` attributes).
#[derive(Debug, Clone, PartialEq)]
pub struct OpticsOrdering {
    /// Point indices in visiting order.
    pub ordering: Vec<usize>,
    /// Reachability distance of each point (input order; infinite for the first point of each
    /// connected region).
    pub reachability: Vec<f64>,
    /// Core distance of each point (input order; infinite when above `max_eps`).
    pub core_distance: Vec<f64>,
    /// The point from which each point was reached (`None` for region starts).
    pub predecessor: Vec<Option<usize>>,
}

impl OpticsOrdering {
    /// Labels at `eps` as scikit-learn's `cluster_optics_dbscan` (`None` = noise): walking the
    /// ordering, a point whose reachability exceeds `eps` starts a new cluster when its core
    /// distance is at most `eps` and is noise otherwise.
    pub fn extract_dbscan(&self, eps: f64) -> Vec<Option<usize>> {
        let n = self.reachability.len();
        let mut labels: Vec<Option<usize>> = vec![None; n];
        let mut current: Option<usize> = None;
        let mut next = 0usize;
        for &p in &self.ordering {
            let far = self.reachability[p] > eps; // reachabilities are never NaN
            let near_core = self.core_distance[p] <= eps;
            if far {
                if near_core {
                    current = Some(next);
                    next += 1;
                    labels[p] = current;
                } else {
                    labels[p] = None;
                }
            } else {
                labels[p] = current;
            }
        }
        labels
    }
}

/// OPTICS ordering of the rows of `x` (scikit-learn semantics; `max_eps = None` is infinite).
pub fn optics_ordering(
    x: MatrixView<'_>,
    min_samples: usize,
    max_eps: Option<f64>,
) -> Result<OpticsOrdering, Error> {
    check_matrix(x)?;
    check_min("min_samples", min_samples)?;
    check_eps("max_eps", max_eps)?;
    let n = x.nrows();
    let d = x.ncols();
    let data = row_major(x);
    let tree = KdTree::new(&data, d);
    let max_eps = max_eps.unwrap_or(f64::INFINITY);
    let core_distance: Vec<f64> = data
        .par_chunks(d)
        .map(|q| {
            let c = if min_samples > n {
                f64::INFINITY
            } else {
                tree.kth_sq_dist(q, min_samples).sqrt()
            };
            if c > max_eps { f64::INFINITY } else { c }
        })
        .collect();
    let mut reach = vec![f64::INFINITY; n];
    let mut pred: Vec<Option<usize>> = vec![None; n];
    let mut processed = vec![false; n];
    let mut ordering = Vec::with_capacity(n);
    let mut heap: BinaryHeap<Reverse<(OrdF64, usize)>> = BinaryHeap::new();
    let mut cursor = 0usize; // lowest possibly unprocessed index
    let mut nb: Vec<usize> = Vec::new();
    let r2 = max_eps * max_eps;
    while ordering.len() < n {
        // next point: unprocessed with the smallest reachability, ties to the lowest index;
        // when every unprocessed reachability is infinite, the lowest unprocessed index.
        let mut p = None;
        while let Some(Reverse((OrdF64(r), i))) = heap.pop() {
            if !processed[i] && r == reach[i] {
                p = Some(i);
                break;
            }
        }
        let p = match p {
            Some(p) => p,
            None => {
                while processed[cursor] {
                    cursor += 1;
                }
                cursor
            }
        };
        processed[p] = true;
        ordering.push(p);
        let cp = core_distance[p];
        if !cp.is_finite() {
            continue;
        }
        let q = &data[p * d..(p + 1) * d];
        nb.clear();
        if max_eps.is_finite() {
            tree.within(q, r2, &mut nb);
        } else {
            nb.extend(0..n);
        }
        for &o in &nb {
            if processed[o] {
                continue;
            }
            let rd = sq_dist(q, &data[o * d..(o + 1) * d]).sqrt().max(cp);
            if rd < reach[o] {
                reach[o] = rd;
                pred[o] = Some(p);
                heap.push(Reverse((OrdF64(rd), o)));
            }
        }
    }
    Ok(OpticsOrdering {
        ordering,
        reachability: reach,
        core_distance,
        predecessor: pred,
    })
}

impl Engine for Optics {
    fn name(&self) -> &str {
        "optics"
    }

    fn caps(&self) -> Caps {
        caps()
    }

    fn fit(&self, x: MatrixView<'_>, _k: Option<usize>, _seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let p = &self.params;
        let eps = match p.eps {
            Some(e) => e,
            None => {
                let e = elbow_eps(x, p.min_samples)?;
                p.max_eps.map_or(e, |m| e.min(m))
            }
        };
        let ord = optics_ordering(x, p.min_samples, p.max_eps)?;
        let labels = ord.extract_dbscan(eps);
        let mut diag = Diagnostics::default();
        diag.extra.insert("eps".into(), eps);
        diag.extra
            .insert("min_samples".into(), p.min_samples as f64);
        Ok(Partition::from_raw(&labels, diag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dbscan::dbscan;
    use crate::dbscan::tests::blobs_with_duplicates;
    use insiders_core::Matrix;

    #[test]
    fn petal_optics_splits_exact_duplicates_ours_does_not() {
        // Two tight groups, each point duplicated: OPTICS extraction at eps 1 must give 2
        // clusters, duplicates together.
        let mut rows = Vec::new();
        for c in [0.0, 10.0] {
            for k in 0..6 {
                let p = c + k as f64 * 0.1;
                rows.push(p);
                rows.push(p);
            }
        }
        let n = rows.len();
        let x = Matrix::from_shape_vec((n, 1), rows).unwrap();
        let ord = optics_ordering(x.view(), 4, None).unwrap();
        let labels = ord.extract_dbscan(1.0);
        for i in (0..n).step_by(2) {
            assert_eq!(labels[i], labels[i + 1]);
        }
        assert!(labels.iter().all(|l| l.is_some()));
        assert_eq!(labels.iter().flatten().max(), Some(&1));
        // the same labels as DBSCAN at eps 1 (every point is core)
        let db = dbscan(x.view(), 1.0, 4).unwrap();
        assert_eq!(
            Partition::from_raw(&labels, Diagnostics::default()).labels,
            Partition::from_raw(&db.labels, Diagnostics::default()).labels
        );
        // petal's OPTICS: duplicates get reachability 0, taken as "undefined" -> extra clusters
        use petal_clustering::Fit;
        let (clusters, _noise) =
            petal_clustering::Optics::new(1.0, 4, petal_neighbors::distance::Euclidean::default())
                .fit(&x, None);
        assert!(
            clusters.len() > 2,
            "petal optics found {} clusters",
            clusters.len()
        );
    }

    #[test]
    fn optics_extraction_matches_dbscan_core_partition() {
        let x = blobs_with_duplicates(11);
        for (eps, m) in [(0.5, 5), (0.75, 10)] {
            let ord = optics_ordering(x.view(), m, None).unwrap();
            let opt = ord.extract_dbscan(eps);
            let db = dbscan(x.view(), eps, m).unwrap();
            // core points: same partition and no noise among them
            let mut map = std::collections::HashMap::new();
            for (i, o) in opt.iter().enumerate() {
                if db.core[i] {
                    let o = o.unwrap();
                    let dcl = db.labels[i].unwrap();
                    assert_eq!(*map.entry(dcl).or_insert(o), o);
                }
                // DBSCAN noise is OPTICS noise (the converse fails for border points processed
                // before their core neighbour, as in scikit-learn's cluster_optics_dbscan)
                if db.labels[i].is_none() {
                    assert!(o.is_none(), "point {i}");
                }
            }
        }
    }
}
