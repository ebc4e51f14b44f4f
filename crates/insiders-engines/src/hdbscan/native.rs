//! Our own exact HDBSCAN (the `native` backend of the `hdbscan` engine): the definition
//! and the entry point; the spanning tree is in `mst.rs`, the hierarchy, condensed tree and
//! selection in `condense.rs`.
//!
//! Semantics (scikit-learn's `HDBSCAN` / the `hdbscan` library with `allow_single_cluster =
//! False`, `cluster_selection_method = "eom"`, `cluster_selection_epsilon = 0`):
//!
//! 1. **Core distance** of a point: the euclidean distance to its `min_samples`-th nearest
//!    point, the point itself included (so with `min_samples = 1` it is 0), computed as the
//!    square root of the squared distance summed in column order (our exact k-d tree).
//! 2. **Mutual reachability** of two points: `max(core_a, core_b, d(a, b) / alpha)`.
//! 3. **Minimum spanning tree** of the complete mutual-reachability graph, exact, by Prim's
//!    algorithm over the dense graph (O(n²) time, O(n) memory; the inner loop over the points
//!    not yet in the tree is branch-free and vectorised, specialised for d = 1..=8). Prim
//!    compares squared weights `max(core_a², core_b², d²/alpha²)`; the weights kept are their
//!    square roots, which for `alpha = 1` are exactly `max(core_a, core_b, d)` (the square
//!    root is correctly rounded and monotone). Tie-breaking: the tree grows from point 0; the
//!    next point is the one with the smallest key, among equal keys the lowest index; its
//!    edge goes to the tree point that first gave that key (keys are lowered only by a strict
//!    improvement). Any tie-breaking gives the same clustering, because of step 4.
//! 4. **Single-linkage hierarchy**: the spanning-tree edges sorted by weight, and all edges
//!    of one weight merged *simultaneously*: a weight level whose edges join several
//!    components produces one multi-way node per resulting component. This is the
//!    hierarchy of the HDBSCAN paper (Campello et al. 2015, edges of equal weight removed
//!    together) and petal-clustering's; it depends only on the graph, not on which spanning
//!    tree was found. (scikit-learn builds a binary dendrogram whose order within ties comes
//!    from its Prim traversal; when two clusters of at least `min_cluster_size` points and a
//!    smaller piece join at one weight, its result depends on that order: see
//!    docs/engines.md.)
//! 5. **Condensed tree** with `min_cluster_size`, top-down: at a node of at least
//!    `min_cluster_size` points and weight `w` (density `lambda = 1 / w`; `f64::MAX` for
//!    `w = 0`, as petal-clustering, so that no `inf - inf` arises), when at least two
//!    children have `min_cluster_size` points each of them becomes a new cluster born at
//!    `lambda`; otherwise the one large child (if any) continues its parent's cluster. The
//!    points of the smaller children leave the cluster at `lambda`.
//! 6. **Excess of mass**: the stability of a cluster is the sum over its points and child
//!    clusters of `(lambda_leave - lambda_birth) × size` (the root is born at 0); bottom-up,
//!    a cluster is selected when its stability is at least the sum of its children's
//!    (ties keep the parent, as scikit-learn and petal), else it takes that sum. The root is
//!    never selected (`allow_single_cluster = False`).
//! 7. **Labels**: a point belongs to the selected cluster above the cluster it left (points
//!    that leave a selected cluster or any of its descendants belong to it); the rest is
//!    noise (`None`). Clusters are numbered by first appearance in index order.
//!
//! Determinism: no randomness. The core distances are computed in parallel, one value per
//! point collected in index order; everything else is sequential, so the labels are the same
//! bits for any thread count.

use super::condense::Hierarchy;
use super::mst::{core_sq_distances, prim_mst};

/// "No node / no cluster".
pub(super) const NONE: u32 = u32::MAX;

/// HDBSCAN labels of the rows of `data` (row-major, `d >= 1` columns, `n >= 1` rows, finite),
/// `min_cluster_size >= 2`, `1 <= min_samples` (clamped to `n`), `alpha > 0`.
pub(crate) fn hdbscan_labels(
    data: &[f64],
    d: usize,
    min_cluster_size: usize,
    min_samples: usize,
    alpha: f64,
) -> Vec<Option<usize>> {
    let n = data.len() / d;
    if n < 2 {
        return vec![None; n];
    }
    let core2 = core_sq_distances(data, d, min_samples.clamp(1, n));
    let mst = prim_mst(data, d, &core2, 1.0 / (alpha * alpha));
    let h = Hierarchy::from_mst(n, mst);
    h.labels(min_cluster_size)
}
