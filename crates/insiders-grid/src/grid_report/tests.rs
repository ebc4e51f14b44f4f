//! Tests of the grid report: partial runs, baselines, the Python grid.

use super::*;

/// A small run folder: two spaces (one 2-D), a failed cell, a missing configured space,
/// a stability column, and columns in an unusual order.
fn fake_run(dir: &Path, stability: bool) {
    std::fs::create_dir_all(dir.join("labels")).unwrap();
    std::fs::create_dir_all(dir.join("spaces")).unwrap();
    let extra = if stability { ",stability_seed_ari" } else { "" };
    let mut csv = format!(
        "silhouette,space,engine,params,k,k_found,cell,error,fit_seconds,score_seconds{extra}\n"
    );
    for (sp, en, k, sil) in [
        ("pca", "ward", 2, 0.61),
        ("pca", "ward", 3, 0.55),
        ("pca", "kmeans", 2, 0.62),
        ("pca", "kmeans", 3, 0.50),
        ("features", "ward", 2, 0.70),
        ("features", "ward", 3, 0.65),
    ] {
        csv.push_str(&format!(
            "{sil},{sp},{en},,{k},{k},{sp}/{en}/k{k},,0.5,0.1{}\n",
            if stability { ",0.9" } else { "" }
        ));
    }
    csv.push_str(&format!(
        "\n,pca,gmm,,2,,pca/gmm/k2,\"boom, with a comma\",,{}\n",
        if stability { "," } else { "" }
    ));
    std::fs::write(dir.join("results.csv"), csv).unwrap();
    std::fs::write(
        dir.join("manifest.json"),
        r#"{"seed":42,"config":{"space":[{"name":"features"},{"name":"pca"},{"name":"umap"}],"engine":[{"name":"kmeans"},{"name":"gmm"},{"name":"ward"}]},"timings_seconds":{"total":1.5}}"#,
    )
    .unwrap();
    let mut sp = String::from("customer_id,x0,x1\n");
    let mut lab = String::from("customer_id,ward/k2,ward/k3,kmeans/k2,kmeans/k3\n");
    for i in 0..40 {
        sp.push_str(&format!("{i},{},{}\n", i % 7, i / 7));
        lab.push_str(&format!("{i},{},{},{},{}\n", i % 2, i % 3, (i / 20), i % 3));
    }
    std::fs::write(dir.join("spaces/pca.csv"), sp).unwrap();
    std::fs::write(dir.join("labels/pca.csv"), lab).unwrap();
}

#[test]
fn report_of_a_partial_run_names_failures_missing_spaces_and_stability() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    fake_run(&dir, true);
    let args = ReportArgs {
        run: dir.clone(),
        baseline: None,
        k: 3,
        out: None,
    };
    run(&args).unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(html.contains("1 configured space(s) have no results"));
    assert!(html.contains("Missing: umap."));
    assert!(html.contains("<dd>features, pca (no results: umap)</dd>"));
    assert!(html.contains("1 of 7 cells failed"));
    assert!(html.contains("boom, with a comma"));
    assert!(html.contains("<th class=\"num\">stability_seed_ari</th>"));
    // the scatter of the 2-D pca space uses ward k=3 with its 3 clusters
    assert!(html.contains("coloured by pca/ward/k3"));
    assert!(html.contains("cluster 2 (13)"));
    // the best of pca/ward is k=2 with 0.6100
    assert!(html.contains(
        "<td>pca</td><td>ward</td><td class=\"num\">2</td><td></td><td class=\"num\">0.6100</td>"
    ));
    assert!(md.contains("![Space pca: 4 of 5 cells scored.](silhouette-pca.svg)"));
    for f in [
        "silhouette-pca.svg",
        "silhouette-features.svg",
        "silhouette-umap.svg",
        "scatter-pca.svg",
        "best-silhouette.svg",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    // deterministic
    let first = html.clone();
    run(&args).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("report.html")).unwrap(),
        first
    );
    // --k that does not exist: the best cell is used and said so
    let args = ReportArgs {
        k: 9,
        out: Some(tmp.path().join("o")),
        ..args
    };
    run(&args).unwrap();
    let html = std::fs::read_to_string(tmp.path().join("o/report.html")).unwrap();
    assert!(html.contains("coloured by pca/kmeans/k2 (ward k = 9 not in this run"));
}

#[test]
fn empty_extra_columns_are_not_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("results.csv");
    std::fs::write(
        &path,
        "cell,space,engine,k,silhouette,stability_seed_ari,stability_boot_ari\n\
         a/k2,a,kmeans,2,0.5,,0.8\n\
         a/k3,a,kmeans,3,0.4,,\n",
    )
    .unwrap();
    let (cells, extra) = read_results(&path).unwrap();
    assert_eq!(extra, vec!["stability_boot_ari".to_string()]);
    assert_eq!(cells[0].extra("stability_boot_ari"), Some(0.8));
    assert_eq!(cells[1].extra("stability_boot_ari"), None);
    assert!(
        cells
            .iter()
            .all(|c| c.extra("stability_seed_ari").is_none())
    );
}

#[test]
fn baseline_run_and_python_comparisons() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    fake_run(&a, false);
    fake_run(&b, true);
    // the baseline is 0.01 worse everywhere
    let text = std::fs::read_to_string(b.join("results.csv")).unwrap();
    let text = text.replace("0.61,", "0.60,").replace("0.55,", "0.54,");
    std::fs::write(b.join("results.csv"), text).unwrap();
    let doc = build(&ReportArgs {
        run: a.clone(),
        baseline: Some(Baseline::Run(b.clone())),
        k: 10,
        out: None,
    })
    .unwrap();
    let html = doc.to_html();
    assert!(html.contains("Against baseline b"));
    assert!(html.contains("<td>pca</td><td>ward</td><td class=\"num\">2</td><td class=\"num\">+0.0100</td><td class=\"num\">0.0100</td>"));
    assert!(html.contains("ward (baseline b)"));

    let py = tmp.path().join("py.csv");
    std::fs::write(
        &py,
        "space,algorithm,k,silhouette,fit_seconds,score_seconds,param,noise_frac\n\
         pca,hclust_ward,2,0.61,1.0,1.0,,0.0\npca,hclust_ward,3,0.5500004,1.0,1.0,,0.0\n\
         features,hclust_ward,2,0.70,1.0,1.0,,0.0\nfeatures,hclust_ward,3,0.65,1.0,1.0,,0.0\n\
         pca,dbscan,4,0.3,0.1,0.1,m=1;eps=0.1;min_samples=5,0.01\n",
    )
    .unwrap();
    let doc = build(&ReportArgs {
        run: a,
        baseline: Some(Baseline::Python(py)),
        k: 10,
        out: None,
    })
    .unwrap();
    let html = doc.to_html();
    assert!(html.contains("Against Python"));
    assert!(html.contains("<span class=\"label\">TRUE</span><strong>Ward silhouettes in the features space equal the Python grid within 1e-6</strong>"));
    assert!(
        html.contains("<span class=\"label\">TRUE</span><strong>Ward silhouettes in the pca space")
    );
    assert!(html.contains("2 matched ks, max |Δ| = 4.00e-7"));
    assert!(html.contains("dbscan (Python)"));
    // python seconds of pca/ward: 4.0 against ours 1.2: ratio 0.300
    assert!(html.contains(
        "<td class=\"num\">1.200</td><td class=\"num\">4.000</td><td class=\"num\">0.300</td>"
    ));
}

#[test]
fn python_reference_grid_reads_with_our_names() {
    let p = crate::python::default_path();
    if !p.is_file() {
        assert!(
            std::env::var("CI").is_err(),
            "{} is missing (CI: a missing data set is a failure)",
            p.display()
        );
        return;
    }
    let cells: Vec<Cell> = crate::python::read(&p)
        .unwrap()
        .iter()
        .map(crate::python::PyRow::to_cell)
        .collect();
    assert_eq!(cells.len(), 345);
    let engines: BTreeSet<&str> = cells.iter().map(|c| c.engine.as_str()).collect();
    assert_eq!(engines, BTreeSet::from(["dbscan", "gmm", "kmeans", "ward"]));
    let spaces: BTreeSet<&str> = cells.iter().map(|c| c.space.as_str()).collect();
    assert_eq!(
        spaces,
        BTreeSet::from(["features", "pca", "tree", "tsne", "umap"])
    );
    let w = cells
        .iter()
        .find(|c| c.space == "features" && c.engine == "kmeans" && c.k == Some(2))
        .unwrap();
    assert!((w.silhouette.unwrap() - 0.6858037070822666).abs() < 1e-15);
    assert!(
        cells
            .iter()
            .filter(|c| c.engine == "dbscan")
            .all(|c| c.k.is_none() && c.k_found.is_some())
    );
}
