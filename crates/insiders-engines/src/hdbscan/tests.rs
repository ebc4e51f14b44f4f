//! Unit tests of `hdbscan`: the native backend against brute-force and reference
//! transcriptions of the definition, and the engine (both backends).

use super::condense::find;
use super::mst::{core_sq_distances, prim_mst};
use super::*;
use crate::dbscan::tests::{blobs_with_duplicates, pool, study_spaces};
use insiders_core::Matrix;

/// Brute-force Prim with the same tie rule, for comparison.
fn brute_mst_weights(data: &[f64], d: usize, core2: &[f64]) -> Vec<f64> {
    let n = data.len() / d;
    let mut in_tree = vec![false; n];
    let mut key = vec![f64::INFINITY; n];
    let mut cur = 0;
    let mut out = Vec::new();
    for _ in 1..n {
        in_tree[cur] = true;
        for j in 0..n {
            if !in_tree[j] {
                let s = super::super::kdtree::sq_dist(
                    &data[cur * d..(cur + 1) * d],
                    &data[j * d..(j + 1) * d],
                );
                key[j] = key[j].min(s.max(core2[cur]).max(core2[j]));
            }
        }
        let next = (0..n)
            .filter(|&j| !in_tree[j])
            .min_by(|&a, &b| key[a].total_cmp(&key[b]).then(a.cmp(&b)))
            .unwrap();
        out.push(key[next]);
        cur = next;
    }
    out.sort_by(f64::total_cmp);
    out
}

#[test]
fn prim_kernels_equal_brute_force() {
    let mut rng = insiders_core::Rng::new(3);
    for d in [1, 2, 5, 9] {
        let n = 120;
        // coarse grid values: many ties
        let data: Vec<f64> = (0..n * d).map(|_| (rng.uniform() * 6.0).floor()).collect();
        let core2 = core_sq_distances(&data, d, 4);
        let mut got: Vec<f64> = prim_mst(&data, d, &core2, 1.0)
            .iter()
            .map(|e| e.w2)
            .collect();
        got.sort_by(f64::total_cmp);
        assert_eq!(got, brute_mst_weights(&data, d, &core2), "d {d}");
        let edges = prim_mst(&data, d, &core2, 1.0);
        // a spanning tree: n - 1 edges joining everything
        let mut uf: Vec<u32> = (0..n as u32).collect();
        for e in &edges {
            let (a, b) = (find(&mut uf, e.a), find(&mut uf, e.b));
            assert_ne!(a, b);
            uf[a as usize] = b;
        }
    }
}

/// An independent O(n³) transcription of the definition (module docs), without a
/// spanning tree: a set of points `S` splits at its bottleneck weight `w*` (the smallest
/// `t` connecting `S` with mutual-reachability edges `<= t`) into the components of the
/// edges `< w*`; the condensed tree, stabilities and excess of mass follow recursively.
fn reference_hdbscan(
    data: &[f64],
    d: usize,
    mcs: usize,
    ms: usize,
    alpha: f64,
) -> Vec<Option<usize>> {
    let n = data.len() / d;
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let dist = |a: usize, b: usize| {
        row(a)
            .iter()
            .zip(row(b))
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    };
    let core: Vec<f64> = (0..n)
        .map(|i| {
            let mut ds: Vec<f64> = (0..n).map(|j| dist(i, j)).collect();
            ds.sort_by(f64::total_cmp);
            ds[ms.min(n) - 1]
        })
        .collect();
    let mr = |a: usize, b: usize| core[a].max(core[b]).max(dist(a, b) / alpha);
    // bottleneck weight of S (max edge of any MST of S)
    let bottleneck = |s: &[usize]| {
        let mut best = vec![f64::INFINITY; s.len()];
        let mut done = vec![false; s.len()];
        let mut cur = 0;
        let mut w: f64 = 0.0;
        for _ in 1..s.len() {
            done[cur] = true;
            for t in 0..s.len() {
                if !done[t] {
                    best[t] = best[t].min(mr(s[cur], s[t]));
                }
            }
            let next = (0..s.len())
                .filter(|&t| !done[t])
                .min_by(|&a, &b| best[a].total_cmp(&best[b]))
                .unwrap();
            w = w.max(best[next]);
            cur = next;
        }
        w
    };
    // components of S with edges < w
    let split = |s: &[usize], w: f64| {
        let mut comp = vec![usize::MAX; s.len()];
        let mut out: Vec<Vec<usize>> = Vec::new();
        for start in 0..s.len() {
            if comp[start] != usize::MAX {
                continue;
            }
            let c = out.len();
            comp[start] = c;
            let mut stack = vec![start];
            let mut members = Vec::new();
            while let Some(t) = stack.pop() {
                members.push(s[t]);
                for u in 0..s.len() {
                    if comp[u] == usize::MAX && mr(s[t], s[u]) < w {
                        comp[u] = c;
                        stack.push(u);
                    }
                }
            }
            members.sort_unstable();
            out.push(members);
        }
        out
    };
    // condensed tree: clusters (parent, birth), points (cluster left, lambda)
    let mut cparent = vec![usize::MAX];
    let mut birth = vec![0.0];
    let mut leave = vec![(usize::MAX, 0.0); n];
    let mut work = vec![((0..n).collect::<Vec<_>>(), 0usize)];
    while let Some((s, l)) = work.pop() {
        let w = bottleneck(&s);
        let lambda = if w > 0.0 { 1.0 / w } else { f64::MAX };
        let parts = split(&s, w);
        let big: Vec<&Vec<usize>> = parts.iter().filter(|p| p.len() >= mcs).collect();
        if big.len() >= 2 {
            for p in big {
                cparent.push(l);
                birth.push(lambda);
                work.push((p.clone(), cparent.len() - 1));
            }
        } else if let Some(p) = big.first() {
            work.push(((*p).clone(), l));
        }
        for p in parts.iter().filter(|p| p.len() < mcs) {
            for &i in p {
                leave[i] = (l, lambda);
            }
        }
    }
    let nc = cparent.len();
    let mut stab = vec![0.0; nc];
    for &(c, lambda) in &leave {
        stab[c] += lambda - birth[c];
    }
    for c in 1..nc {
        // a child cluster counts with its size at birth
        let size = (0..n)
            .filter(|&i| {
                let mut k = leave[i].0;
                while k != usize::MAX && k != c {
                    k = cparent[k];
                }
                k == c
            })
            .count();
        stab[cparent[c]] += (birth[c] - birth[cparent[c]]) * size as f64;
    }
    // excess of mass: children of c in the cluster tree
    fn best(c: usize, kids: &[Vec<usize>], stab: &[f64], sel: &mut [bool]) -> f64 {
        let sub: f64 = kids[c].iter().map(|&k| best(k, kids, stab, sel)).sum();
        if c != 0 && stab[c] >= sub {
            sel[c] = true;
            stab[c]
        } else {
            sub
        }
    }
    let mut kids = vec![Vec::new(); nc];
    for c in 1..nc {
        kids[cparent[c]].push(c);
    }
    let mut sel = vec![false; nc];
    best(0, &kids, &stab, &mut sel);
    // label: the topmost selected cluster above the cluster a point left
    let mut raw = vec![None; n];
    for (i, &(c, _)) in leave.iter().enumerate() {
        let mut k = c;
        while k != usize::MAX {
            if sel[k] {
                raw[i] = Some(k);
            }
            k = cparent[k];
        }
    }
    renumber(&raw)
}

fn renumber(raw: &[Option<usize>]) -> Vec<Option<usize>> {
    let mut map = std::collections::HashMap::new();
    raw.iter()
        .map(|l| {
            l.map(|c| {
                let next = map.len();
                *map.entry(c).or_insert(next)
            })
        })
        .collect()
}

/// Gaussian blobs rounded to a grid (many exact ties and duplicates).
fn grid_blobs(seed: u64, per: usize) -> Vec<f64> {
    let mut rng = insiders_core::Rng::new(seed);
    let mut rows = Vec::new();
    for c in 0..4 {
        let (cx, cy) = (c as f64 * 3.0, (c % 2) as f64 * 2.0);
        for _ in 0..per {
            let p = [cx + rng.normal() * 0.6, cy + rng.normal() * 0.6];
            let p = [(p[0] * 4.0).round() / 4.0, (p[1] * 4.0).round() / 4.0];
            let copies = if rng.below(5) == 0 { 3 } else { 1 };
            for _ in 0..copies {
                rows.extend(p);
            }
        }
    }
    rows
}

#[test]
fn native_equals_the_reference_transcription() {
    for seed in 0..4 {
        let data = grid_blobs(seed, 40);
        for (mcs, ms, alpha) in [(5, 5, 1.0), (10, 3, 1.0), (4, 8, 1.0), (6, 6, 0.5)] {
            let got = renumber(&hdbscan_labels(&data, 2, mcs, ms, alpha));
            let want = reference_hdbscan(&data, 2, mcs, ms, alpha);
            assert_eq!(got, want, "seed {seed} mcs {mcs} ms {ms} alpha {alpha}");
        }
    }
}

fn hdbscan_fit(x: &Matrix, mcs: usize, ms: Option<usize>, backend: HdbscanBackend) -> Partition {
    Hdbscan::new(HdbscanParams {
        min_cluster_size: mcs,
        min_samples: ms,
        backend,
        ..HdbscanParams::default()
    })
    .unwrap()
    .fit(x.view(), None, 0)
    .unwrap()
}

#[test]
fn hdbscan_hand_checked_two_blobs_a_bridge_a_small_group_and_an_outlier() {
    // 1-D, min_cluster_size 3, min_samples 2 (core distance = distance to the nearest
    // other point). Points: A = 0,1,2,3; B = 10..13; a bridge point 5; C = 30, 40, 41;
    // an outlier 100. Core distances: 1 in A, B and {40, 41}; 2 for 5; 10 for 30; 59 for
    // 100. Spanning tree: the chains at 1, (3,5) at 2, (5,10) at 5, (30,40) at 10,
    // (13,30) at 17, (41,100) at 59. Condensed tree: 100 leaves the root at 1/59; at 1/17
    // the root splits into AB' = A+5+B (9 points) and C (3); at 1/5 AB' splits into
    // A' = A+5 and B. Stabilities: AB' 9(1/5 - 1/17) = 1.27 < A' + B = (1/2 - 1/5)
    // + 4(1 - 1/5) + 4(1 - 1/5) = 6.7, so A' and B are selected (5 left A' at 1/2 and
    // belongs to it); C (3(1/10 - 1/17) = 0.12) is a leaf, selected.
    let v = [0., 1., 2., 3., 10., 11., 12., 13., 5., 30., 40., 41., 100.];
    let x = Matrix::from_shape_vec((v.len(), 1), v.to_vec()).unwrap();
    let want = vec![
        Some(0),
        Some(0),
        Some(0),
        Some(0),
        Some(1),
        Some(1),
        Some(1),
        Some(1),
        Some(0),
        Some(2),
        Some(2),
        Some(2),
        None,
    ];
    for backend in [HdbscanBackend::Native, HdbscanBackend::Petal] {
        assert_eq!(
            hdbscan_fit(&x, 3, Some(2), backend).labels,
            want,
            "{backend:?}"
        );
    }
    // min_cluster_size 4: C (3 points) is no cluster; its points leave the root: noise.
    // AB' still splits into A' (5) and B (4).
    let mut want4 = want.clone();
    for l in &mut want4[9..] {
        *l = None;
    }
    for backend in [HdbscanBackend::Native, HdbscanBackend::Petal] {
        assert_eq!(
            hdbscan_fit(&x, 4, Some(2), backend).labels,
            want4,
            "{backend:?}"
        );
    }
}

#[test]
fn hdbscan_native_equals_petal_on_the_study_spaces() {
    for (name, x) in study_spaces() {
        for (mcs, ms) in [(20, None), (10, None), (50, Some(10))] {
            let native = hdbscan_fit(&x, mcs, ms, HdbscanBackend::Native);
            let petal = hdbscan_fit(&x, mcs, ms, HdbscanBackend::Petal);
            eprintln!(
                "{name} mcs {mcs} ms {ms:?}: {} clusters, {} noise",
                native.n_clusters(),
                native.n_noise()
            );
            assert!(native.n_clusters() >= 2, "{name} {mcs}");
            assert_eq!(native.labels, petal.labels, "{name} mcs {mcs} ms {ms:?}");
        }
    }
}

#[test]
fn hdbscan_native_is_the_same_for_one_and_two_threads_and_equals_the_definition() {
    let (one, two) = (pool(1), pool(2));
    let mut petal_differs = 0;
    for seed in 0..3 {
        let x = blobs_with_duplicates(seed);
        let v: Vec<f64> = x.iter().copied().collect();
        for (mcs, ms) in [(5, None), (10, Some(3)), (20, None)] {
            let a = one.install(|| hdbscan_fit(&x, mcs, ms, HdbscanBackend::Native));
            let b = two.install(|| hdbscan_fit(&x, mcs, ms, HdbscanBackend::Native));
            assert_eq!(a, b, "seed {seed} mcs {mcs}");
            let want = reference_hdbscan(&v, 2, mcs, ms.unwrap_or(mcs), 1.0);
            let want = Partition::from_raw(&want, Diagnostics::default()).labels;
            assert_eq!(a.labels, want, "seed {seed} mcs {mcs} vs the definition");
            let p = hdbscan_fit(&x, mcs, ms, HdbscanBackend::Petal);
            if p.labels != want {
                petal_differs += 1;
            }
        }
    }
    // On this grid data (many equal weights) petal's condensed tree goes wrong in some
    // cases: when one weight level merges several components and its edges interleave,
    // petal's `condense_mst` groups rows by (parent, weight) runs and processes one merge
    // node as several partial nodes (docs/engines.md). Pinned so that a fixed petal shows.
    eprintln!("petal differs from the definition in {petal_differs} of 9 cases");
    assert!(petal_differs > 0);
}

#[test]
fn hdbscan_backend_parses() {
    let t = insiders_core::params::parse_pairs(&["backend=\"petal\""]).unwrap();
    let p: HdbscanParams = from_table(&t).unwrap();
    assert_eq!(p.backend, HdbscanBackend::Petal);
    assert_eq!(HdbscanParams::default().backend, HdbscanBackend::Native);
    let t = insiders_core::params::parse_pairs(&["backend=\"sklearn\""]).unwrap();
    assert!(build_hdbscan(&t).is_err());
}

#[test]
fn unknown_backend_is_rejected_naming_the_key_and_the_choices() {
    crate::params::assert_rejects_unknown_choice(build_hdbscan, "backend", &["native", "petal"]);
}
