//! End-to-end tests of `insiders grid`, `insiders grid-report` and `insiders grid-check` as a
//! user calls them: the grid honours the pipeline configuration (its features space is
//! `insiders features`' `scaled.csv` under the same configuration), a run folder gets a
//! report, and bad input is a clear error that writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{insiders, text};

/// The data rows of a matrix file (its header differs: feature names against x0, x1, ...).
fn rows(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(String::from)
        .collect()
}

#[test]
fn the_grid_clusters_the_table_the_pipeline_config_describes() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("p.toml");
    std::fs::write(
        &cfg,
        "[features]\nscaler = \"standard\"\n[cleaning]\nmin_unit_price = 0.5\n[synth]\ncustomers = 400\n",
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let feat = d.path().join("features");
    let o = insiders(&[
        "features",
        "--preset",
        "study",
        "--config",
        cfg_s,
        "--out",
        feat.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let run = d.path().join("run");
    let o = insiders(&[
        "grid",
        "--pipeline",
        cfg_s,
        "--quick",
        "--only",
        "space=features,engine=kmeans",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let scaled = rows(&feat.join("scaled.csv"));
    assert!(scaled.len() > 300, "{} customers", scaled.len());
    assert_eq!(rows(&run.join("spaces/features.csv")), scaled);
    // Standard scaling (not the default min-max): some value is negative.
    assert!(scaled.iter().any(|r| r.contains(",-")));
    // The run: 4 quick ks of kmeans, none failed; the manifest names the pipeline file.
    let results = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert_eq!(results.lines().count(), 1 + 4, "{results}");
    let manifest = std::fs::read_to_string(run.join("manifest.json")).unwrap();
    assert!(manifest.contains("p.toml"), "{manifest}");

    // Without --pipeline (min-max), the features space differs.
    let run2 = d.path().join("run2");
    let o = insiders(&[
        "grid",
        "--quick",
        "--only",
        "space=features,engine=kmeans",
        "--out",
        run2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_ne!(rows(&run2.join("spaces/features.csv")), scaled);

    // The report of the run folder.
    let o = insiders(&["grid-report", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        html.contains("Silhouette against k"),
        "no silhouette section"
    );
}

#[test]
fn bad_grid_input_is_a_clear_error_that_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("run");
    let bad = d.path().join("g.toml");
    std::fs::write(
        &bad,
        "seed = 1\nk_min = 2\nk_max = 3\nspace = []\nengine = []\nbogus = 1\n",
    )
    .unwrap();
    let o = insiders(&[
        "grid",
        "--config",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("bogus"), "{}", text(&o));
    assert!(!out.exists());
    let o = insiders(&[
        "grid",
        "--only",
        "space=nope",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("--only"), "{}", text(&o));
    assert!(!out.exists());
    let o = insiders(&["grid-report", d.path().join("missing").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not a run folder"), "{}", text(&o));
}
