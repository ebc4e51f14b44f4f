//! Unit tests of the hierarchical engines.

use super::*;

use ndarray::array;

fn same_partition(a: &[usize], b: &[usize]) -> bool {
    let mut ab = std::collections::HashMap::new();
    let mut ba = std::collections::HashMap::new();
    a.iter()
        .zip(b)
        .all(|(x, y)| *ab.entry(*x).or_insert(*y) == *y && *ba.entry(*y).or_insert(*x) == *x)
}

#[test]
fn ward_heights_match_hand_computation() {
    // 1-D points 0, 1, 5: merge {0,1} at 1; then Ward({0,1},{5}) =
    // sqrt(2*2*1/3) * |0.5 - 5| = sqrt(4/3) * 4.5.
    let x = array![[0.0], [1.0], [5.0]];
    let t = Dendrogram::build(x.view(), Linkage::Ward).unwrap();
    let z = t.to_rows();
    assert_eq!(z[0], [0.0, 1.0, 1.0, 2.0]);
    assert_eq!(z[1][0..2], [2.0, 3.0]);
    assert!((z[1][2] - (4.0f64 / 3.0).sqrt() * 4.5).abs() < 1e-12);
    assert_eq!(z[1][3], 3.0);
    let c = t.cut(2).unwrap();
    assert_eq!(c.labels, vec![0, 0, 1]);
    // inertia of {0,1},{5} = 0.5
    assert!((c.ward_inertia - 0.5).abs() < 1e-12);
}

#[test]
fn ward_inertia_is_within_cluster_sum_of_squares() {
    let x = array![
        [0.0, 0.0],
        [1.0, 0.5],
        [4.0, 4.0],
        [5.0, 5.5],
        [9.0, 0.0],
        [10.0, 1.0]
    ];
    let t = Dendrogram::build(x.view(), Linkage::Ward).unwrap();
    for k in 1..=6 {
        let c = t.cut(k).unwrap();
        let mut wss = 0.0;
        for cl in 0..c.n_clusters {
            let members: Vec<usize> = (0..6).filter(|&i| c.labels[i] == cl).collect();
            for j in 0..2 {
                let m = members.iter().map(|&i| x[[i, j]]).sum::<f64>() / members.len() as f64;
                wss += members
                    .iter()
                    .map(|&i| (x[[i, j]] - m).powi(2))
                    .sum::<f64>();
            }
        }
        assert!(
            (c.ward_inertia - wss).abs() < 1e-9,
            "k={k}: {} vs {wss}",
            c.ward_inertia
        );
    }
}

#[test]
fn single_complete_average_on_a_line() {
    // Points 0, 1, 3, 7 on a line.
    let x = array![[0.0], [1.0], [3.0], [7.0]];
    // single: {0,1}@1, {01,3}@2, {013,7}@4
    let s = Dendrogram::build(x.view(), Linkage::Single).unwrap();
    let h: Vec<f64> = s.merges().iter().map(|m| m.height).collect();
    assert_eq!(h, vec![1.0, 2.0, 4.0]);
    assert_eq!(s.merges()[1].a, 2);
    assert_eq!(s.merges()[1].b, 4);
    // complete: {0,1}@1, {01,3}@3, {013,7}@7
    let c = Dendrogram::build(x.view(), Linkage::Complete).unwrap();
    let h: Vec<f64> = c.merges().iter().map(|m| m.height).collect();
    assert_eq!(h, vec![1.0, 3.0, 7.0]);
    // average: {0,1}@1, {01,3}@(3+2)/2=2.5, {013,7}@(7+6+4)/3
    let a = Dendrogram::build(x.view(), Linkage::Average).unwrap();
    let h: Vec<f64> = a.merges().iter().map(|m| m.height).collect();
    assert_eq!(h[0], 1.0);
    assert_eq!(h[1], 2.5);
    assert!((h[2] - 17.0 / 3.0).abs() < 1e-12);
    assert_eq!(a.merges()[2].size, 4);
}

#[test]
fn complete_and_single_differ_where_they_should() {
    // A chain 0,1,2,3 (gaps 1) and a point at 4.5 (gap 1.5); single links the chain first
    // and then the far point; complete prefers {3, 4.5} over growing the chain.
    let x = array![[0.0], [1.0], [2.0], [3.0], [4.5]];
    let s = Dendrogram::build(x.view(), Linkage::Single).unwrap();
    assert!(same_partition(&s.cut(2).unwrap().labels, &[0, 0, 0, 0, 1]));
    let c = Dendrogram::build(x.view(), Linkage::Complete).unwrap();
    // complete: {0,1}@1, {2,3}@1, {3..}: d({2,3},4.5)=2.5, d({0,1},{2,3})=3 -> {2,3,4.5}@2.5
    let h: Vec<f64> = c.merges().iter().map(|m| m.height).collect();
    assert_eq!(h, vec![1.0, 1.0, 2.5, 4.5]);
    assert!(same_partition(&c.cut(2).unwrap().labels, &[0, 0, 1, 1, 1]));
}

#[test]
fn ties_follow_scipy_maxclust() {
    // Four corners of a unit square: the first merges are tied at 1, so maxclust 3 gives
    // 2 clusters in scipy (the lowest threshold giving <= 3 clusters is 1, where pairs of
    // corners merge). Single linkage: all three merges at 1, so k = 2 and 3 give 1 cluster.
    let x = array![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let s = Dendrogram::build(x.view(), Linkage::Single).unwrap();
    assert_eq!(s.cut(3).unwrap().n_clusters, 1);
    assert_eq!(s.cut(4).unwrap().n_clusters, 4);
    let w = Dendrogram::build(x.view(), Linkage::Ward).unwrap();
    assert_eq!(w.cut(3).unwrap().n_clusters, 2);
    assert_eq!(w.cut(2).unwrap().n_clusters, 2);
    assert_eq!(w.cut(1).unwrap().n_clusters, 1);
}

#[test]
fn duplicates_stay_together_and_k_is_capped_by_distinct_points() {
    let x = array![[0.0], [0.0], [3.0], [3.0], [3.0], [10.0]];
    for l in Linkage::ALL {
        let t = Dendrogram::build(x.view(), l).unwrap();
        let c = t.cut(3).unwrap();
        assert!(same_partition(&c.labels, &[0, 0, 1, 1, 1, 2]), "{l:?}");
        // k = 5 > 3 distinct points: the lowest threshold with <= 5 clusters is 0.
        assert_eq!(t.cut(5).unwrap().n_clusters, 3, "{l:?}");
        assert_eq!(t.cut(6).unwrap().n_clusters, 6, "{l:?}");
    }
}

#[test]
fn engine_validates_and_fit_many_matches_fit() {
    let e = Hierarchical::new("ward", Linkage::Ward);
    let x = array![[0.0, 1.0], [0.2, 0.9], [5.0, 5.0], [5.1, 4.7], [9.0, 0.0]];
    assert!(matches!(
        e.fit(x.view(), None, 0),
        Err(Error::MissingK { .. })
    ));
    assert!(matches!(
        e.fit(x.view(), Some(0), 0),
        Err(Error::InvalidK { .. })
    ));
    assert!(matches!(
        e.fit(x.view(), Some(6), 0),
        Err(Error::InvalidK { .. })
    ));
    let bad = array![[0.0, f64::NAN]];
    assert!(matches!(
        e.fit(bad.view(), Some(1), 0),
        Err(Error::NonFinite { .. })
    ));
    let many = e.fit_many(x.view(), &[1, 2, 3, 4, 5], 7).unwrap();
    for (i, k) in (1..=5).enumerate() {
        assert_eq!(many[i], e.fit(x.view(), Some(k), 1).unwrap());
        assert_eq!(many[i].n_clusters(), k);
    }
    let one = array![[1.0, 2.0]];
    assert_eq!(e.fit(one.view(), Some(1), 0).unwrap().labels, vec![Some(0)]);
}

#[test]
fn params_are_checked() {
    let t = insiders_core::params::parse_pairs(&["linkage=complete"]).unwrap();
    let e = build_hierarchical(&t).unwrap();
    assert_eq!(e.name(), "hierarchical");
    let t = insiders_core::params::parse_pairs(&["linkage=centroid"]).unwrap();
    assert!(matches!(build_hierarchical(&t), Err(Error::Param { key, .. }) if key == "linkage"));
    let t = insiders_core::params::parse_pairs(&["k=3"]).unwrap();
    assert!(matches!(build_ward(&t), Err(Error::Param { .. })));
    assert!(build_ward(&toml::Table::new()).is_ok());
}

#[test]
fn unknown_linkage_is_rejected_naming_the_key_and_the_choices() {
    crate::params::assert_rejects_unknown_choice(
        build_hierarchical,
        "linkage",
        &["ward", "complete", "average", "single"],
    );
}
