//! DBSCAN's clustering on the k-d tree: the core test, the union of core points in chunks
//! with box-level pruning, and the border points' smallest core root.

use crate::kdtree::{KdTree, Visit, sq_dist};
use rayon::prelude::*;

use super::{CHUNK, DbscanResult, UNION_CHUNK};

/// [`dbscan`] of the rows of `data` (row-major, `d` columns, checked) with their tree.
pub(super) fn tree_dbscan(
    tree: &KdTree<'_>,
    data: &[f64],
    d: usize,
    eps: f64,
    min_samples: usize,
) -> DbscanResult {
    let n = data.len() / d;
    let r2 = eps * eps;
    // Core test: counting stops at min_samples; boxes inside the ball count whole.
    let core: Vec<bool> = data
        .par_chunks(d)
        .map_init(Vec::new, |stack, q| {
            tree.count_within_capped(q, r2, min_samples, stack) >= min_samples
        })
        .collect();
    let core_ids: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
    // Lowest core index of every node (usize::MAX: the node holds no core point).
    let node_core = tree.node_min(|i| if core[i] { i } else { usize::MAX });

    // Connected components of core points (union-find with union by smaller root index, so the
    // root of a component is its lowest core index, whatever the order of the unions).
    //
    // The core points are processed in chunks of consecutive core indices. A pair of core
    // neighbours inside one chunk is found by testing the chunk's pairs directly; a pair across
    // chunks by the later point's ball query, which looks only for core neighbours in earlier
    // chunks (indices below the chunk start `cs`). A node whose box lies entirely inside the
    // ball is recorded whole: all its core points are neighbours of `i`, hence `i` is linked to
    // the node's lowest core point and the node's core points are linked together (once per
    // node, below). Nodes are skipped when they hold no core point below `cs`, or when all
    // their core points below `cs` lie in one component (as of the chunk start) to which the
    // query has already found a link; points are recorded only when their component is new to
    // the query. Skipped links are implied by recorded ones, so the components are exact.
    let mut parent: Vec<usize> = (0..n).collect();
    let mut covered = vec![false; tree.n_nodes()];
    let mut root = vec![usize::MAX; n];
    for chunk in core_ids.chunks(UNION_CHUNK) {
        let cs = chunk[0];
        for &i in &core_ids {
            if i >= cs {
                break;
            }
            root[i] = find(&mut parent, i);
        }
        let node_comp = tree.node_reduce(
            NO_CORE,
            |i| if i < cs { root[i] } else { NO_CORE },
            merge_comp,
        );
        let links: Vec<(Vec<usize>, Vec<usize>)> = chunk
            .par_iter()
            .enumerate()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(stack, linked), (k, &i)| {
                    let (mut nodes, mut points) = (Vec::new(), Vec::new());
                    let q = &data[i * d..(i + 1) * d];
                    for &j in &chunk[..k] {
                        if sq_dist(q, &data[j * d..(j + 1) * d]) <= r2 {
                            points.push(j);
                        }
                    }
                    // components (as of the chunk start) this query already links to
                    linked.clear();
                    tree.visit_within(q, r2, stack, |v| match v {
                        Visit::Enter(node) => {
                            node_core[node] >= cs
                                || (node_comp[node] < MIXED && linked.contains(&node_comp[node]))
                        }
                        Visit::Whole(node) => {
                            nodes.push(node);
                            if node_comp[node] < MIXED {
                                linked.push(node_comp[node]);
                            }
                            false
                        }
                        Visit::Point(j) => {
                            if j < cs && core[j] && !linked.contains(&root[j]) {
                                linked.push(root[j]);
                                points.push(j);
                            }
                            false
                        }
                    });
                    (nodes, points)
                },
            )
            .collect();
        for (&i, (nodes, points)) in chunk.iter().zip(&links) {
            for &node in nodes {
                covered[node] = true;
                union(&mut parent, i, node_core[node]);
            }
            for &j in points {
                union(&mut parent, i, j);
            }
        }
    }
    for (node, _) in covered.iter().enumerate().filter(|(_, c)| **c) {
        let rep = node_core[node];
        for &j in tree.node_points(node) {
            if core[j] {
                union(&mut parent, rep, j);
            }
        }
    }
    let root: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    // Border points: the cluster (root = lowest core index) with the smallest root among the
    // core neighbours. Nodes whose smallest core root cannot improve the best so far are
    // skipped; boxes inside the ball contribute their smallest core root whole.
    let node_root = tree.node_min(|i| if core[i] { root[i] } else { usize::MAX });
    let border: Vec<Option<usize>> = (0..n)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map_init(Vec::new, |stack, i| {
            if core[i] {
                return None;
            }
            let mut best = usize::MAX;
            tree.visit_within(&data[i * d..(i + 1) * d], r2, stack, |v| match v {
                Visit::Enter(node) => node_root[node] >= best,
                Visit::Whole(node) => {
                    best = best.min(node_root[node]);
                    false
                }
                Visit::Point(j) => {
                    if core[j] {
                        best = best.min(root[j]);
                    }
                    false
                }
            });
            (best != usize::MAX).then_some(best)
        })
        .collect();
    // Number clusters by their lowest core index.
    let mut cluster_of_root = vec![usize::MAX; n];
    let mut next = 0;
    for &i in &core_ids {
        if root[i] == i {
            cluster_of_root[i] = next;
            next += 1;
        }
    }
    let labels = (0..n)
        .map(|i| {
            if core[i] {
                Some(cluster_of_root[root[i]])
            } else {
                border[i].map(|r| cluster_of_root[r])
            }
        })
        .collect();
    DbscanResult { labels, core, eps }
}

/// Node component marker: the node holds no core point.
const NO_CORE: usize = usize::MAX;
/// Node component marker: the node's core points lie in more than one component.
const MIXED: usize = usize::MAX - 1;

/// Combines two node component markers (a root, [`NO_CORE`] or [`MIXED`]).
fn merge_comp(a: usize, b: usize) -> usize {
    if a == NO_CORE || a == b {
        b
    } else if b == NO_CORE {
        a
    } else {
        MIXED
    }
}

/// Joins the sets of `a` and `b`, the smaller root becoming the root.
pub(super) fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi] = lo;
    }
}

pub(super) fn find(parent: &mut [usize], mut x: usize) -> usize {
    let mut r = x;
    while parent[r] != r {
        r = parent[r];
    }
    while parent[x] != r {
        let next = parent[x];
        parent[x] = r;
        x = next;
    }
    r
}
