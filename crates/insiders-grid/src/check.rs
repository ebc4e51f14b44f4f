//! `insiders grid-check RUN [--fixtures DIR]` (alias `cargo xtask grid-check`): a run of the default grid on the real data
//! against the Python grid (`fixtures/reference_grid.csv`) and scikit-learn's KMeans inertia
//! (`fixtures/kmeans_gmm.csv`).
//!
//! Asserted (the command fails otherwise):
//! - every cell of the run's config is present and no cell failed;
//! - **ward**, features and PCA spaces: silhouette equal to the Python grid's within 1e-6 at
//!   every k (scipy's tree is reproduced exactly, so the partitions are the same);
//! - **kmeans**, features space: inertia at most scikit-learn's (n_init 10) × (1 + 1e-3) at
//!   every k, the fixture's rule (`kmeans_gmm.csv` has no inertia for the 2-component PCA
//!   space); features and PCA spaces: silhouettes within [`KMEANS_MAX_ABS_SIL_TOL`] of the
//!   Python grid's at every k and within [`KMEANS_MEAN_ABS_SIL_TOL`] on average over k (our
//!   k-means reaches lower inertias than scikit-learn's at many k, so the partitions, and
//!   their silhouettes, differ somewhat there);
//! - **dbscan**, features and PCA spaces: the Python grid's eps (to its 6 significant
//!   digits), the same number of clusters and noise share, and the silhouette within 1e-6
//!   (both empty when a single cluster is found);
//! - **gmm**, features and PCA spaces: the fixture's log-likelihood rule compares two draws
//!   of a multi-modal optimisation (see `tests/parity_kmeans_gmm.rs` of insiders-engines),
//!   and so do silhouettes; asserted is that over the 42 cells our silhouette is not lower
//!   than the Python grid's on average by more than [`GMM_MEAN_SIL_TOL`].
//!
//! Printed beside: the silhouettes of every engine and space against the Python grid (the
//! UMAP, t-SNE and tree spaces are our own embeddings and differ from umap-learn's), with
//! the kmeans silhouette differences and the dbscan eps and cluster counts.

use crate::GridError;
use crate::python::{PyRow, read_kmeans_inertia};
use crate::results::Cell;
use std::collections::BTreeMap;
use std::path::Path;

/// Ward silhouettes: exact partitions, so only rounding separates the scores.
pub const WARD_TOL: f64 = 1e-6;
/// KMeans inertia: ours <= scikit-learn's × (1 + this) (the fixture's rule).
pub const KMEANS_INERTIA_RTOL: f64 = 1e-3;
/// KMeans: largest |ours - Python| silhouette over the k of the features and PCA spaces.
pub const KMEANS_MAX_ABS_SIL_TOL: f64 = 0.03;
/// KMeans: mean |ours - Python| silhouette over the k of each of those spaces.
pub const KMEANS_MEAN_ABS_SIL_TOL: f64 = 0.01;
/// DBSCAN eps: relative difference allowed (the Python grid prints 6 significant digits).
pub const DBSCAN_EPS_RTOL: f64 = 1e-5;
/// GMM: the mean over the features and PCA cells of (ours - Python) silhouette must be at
/// least minus this.
pub const GMM_MEAN_SIL_TOL: f64 = 0.05;

/// One line of the comparison.
#[derive(Debug, Clone)]
pub struct Line {
    pub space: String,
    pub engine: String,
    pub k: String,
    pub ours: Option<f64>,
    pub python: Option<f64>,
    pub note: String,
    /// `None`: not asserted; `Some(ok)`: asserted.
    pub pass: Option<bool>,
}

/// The outcome of a check.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub lines: Vec<Line>,
    pub failures: Vec<String>,
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.6}"))
}

/// Compares the cells of a run with the Python grid.
pub fn compare(
    cells: &[Cell],
    reference: &[PyRow],
    inertia: &BTreeMap<usize, f64>,
    expected_cells: Option<usize>,
) -> Outcome {
    let mut o = Outcome::default();
    if let Some(n) = expected_cells
        && n != cells.len()
    {
        o.failures.push(format!(
            "{} cells in the run, {n} in its config",
            cells.len()
        ));
    }
    for c in cells.iter().filter(|c| c.error.is_some()) {
        o.failures.push(format!(
            "cell {} failed: {}",
            c.cell,
            c.error.as_deref().unwrap_or("")
        ));
    }
    let find = |space: &str, engine: &str, k: usize| {
        cells
            .iter()
            .find(|c| c.space == space && c.engine == engine && c.k == Some(k))
    };
    let mut gmm_diffs = Vec::new();
    let mut kmeans_diffs: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in reference {
        let exact = r.space == "features" || r.space == "pca";
        match r.engine.as_str() {
            "ward" | "kmeans" | "gmm" => {
                let Some(c) = find(&r.space, &r.engine, r.k) else {
                    o.failures
                        .push(format!("no cell {}/{}/k{}", r.space, r.engine, r.k));
                    continue;
                };
                let diff = match (c.silhouette, r.silhouette) {
                    (Some(a), Some(b)) => Some(a - b),
                    _ => None,
                };
                let mut line = Line {
                    space: r.space.clone(),
                    engine: r.engine.clone(),
                    k: r.k.to_string(),
                    ours: c.silhouette,
                    python: r.silhouette,
                    note: diff.map_or(String::new(), |d| format!("Δ {d:+.2e}")),
                    pass: None,
                };
                if exact && r.engine == "ward" {
                    let ok = diff.is_some_and(|d| d.abs() <= WARD_TOL);
                    line.pass = Some(ok);
                    if !ok {
                        o.failures.push(format!(
                            "{}/ward/k{}: silhouette {} vs Python {} (tolerance {WARD_TOL})",
                            r.space,
                            r.k,
                            fmt(c.silhouette),
                            fmt(r.silhouette)
                        ));
                    }
                }
                if exact && r.engine == "kmeans" {
                    let ok = diff.is_some_and(|d| d.abs() <= KMEANS_MAX_ABS_SIL_TOL);
                    line.pass = Some(ok);
                    if !ok {
                        o.failures.push(format!(
                            "{}/kmeans/k{}: silhouette {} vs Python {} (tolerance {KMEANS_MAX_ABS_SIL_TOL})",
                            r.space,
                            r.k,
                            fmt(c.silhouette),
                            fmt(r.silhouette)
                        ));
                    }
                    if let Some(d) = diff {
                        kmeans_diffs
                            .entry(r.space.clone())
                            .or_default()
                            .push(d.abs());
                    }
                }
                if r.space == "features" && r.engine == "kmeans" {
                    let ours = c.diagnostics.get("inertia").copied();
                    let theirs = inertia.get(&r.k).copied();
                    let ok = matches!((ours, theirs), (Some(a), Some(b)) if a <= b * (1.0 + KMEANS_INERTIA_RTOL));
                    line.note = format!(
                        "{}; inertia {} vs sklearn {} ({:+.3}%)",
                        line.note,
                        fmt(ours),
                        fmt(theirs),
                        match (ours, theirs) {
                            (Some(a), Some(b)) => (a / b - 1.0) * 100.0,
                            _ => f64::NAN,
                        }
                    );
                    line.pass = Some(ok && line.pass != Some(false));
                    if !ok {
                        o.failures.push(format!(
                            "{}/kmeans/k{}: inertia {} > sklearn's {} × (1 + {KMEANS_INERTIA_RTOL})",
                            r.space,
                            r.k,
                            fmt(ours),
                            fmt(theirs)
                        ));
                    }
                }
                if exact
                    && r.engine == "gmm"
                    && let Some(d) = diff
                {
                    gmm_diffs.push(d);
                }
                o.lines.push(line);
            }
            "dbscan" => {
                let m = r.eps_factor();
                let c = cells.iter().find(|c| {
                    c.space == r.space
                        && c.engine == "dbscan"
                        && m.is_some()
                        && c.params
                            .split(';')
                            .filter_map(|kv| kv.split_once('='))
                            .any(|(k, v)| k == "eps_factor" && v.parse::<f64>().ok() == m)
                });
                let Some(c) = c else {
                    o.failures
                        .push(format!("no dbscan cell for {} m={m:?}", r.space));
                    continue;
                };
                let pass = exact.then(|| {
                    let eps_ok = match (c.diagnostics.get("eps"), r.param_value("eps")) {
                        (Some(&a), Some(b)) => (a - b).abs() <= DBSCAN_EPS_RTOL * b.abs(),
                        _ => false,
                    };
                    let sil_ok = match (c.silhouette, r.silhouette) {
                        (Some(a), Some(b)) => (a - b).abs() <= WARD_TOL,
                        (None, None) => true,
                        _ => false,
                    };
                    let noise_ok = matches!((c.noise_share, r.noise_frac),
                        (Some(a), Some(b)) if (a - b).abs() <= 1e-12);
                    eps_ok && sil_ok && noise_ok && c.k_found == Some(r.k)
                });
                if pass == Some(false) {
                    o.failures.push(format!(
                        "{}/dbscan m={}: eps, clusters, noise or silhouette differ from the Python grid's",
                        r.space,
                        m.unwrap_or(f64::NAN)
                    ));
                }
                o.lines.push(Line {
                    space: r.space.clone(),
                    engine: "dbscan".into(),
                    k: format!("m={}", m.unwrap_or(f64::NAN)),
                    ours: c.silhouette,
                    python: r.silhouette,
                    pass,
                    note: format!(
                        "eps {} vs {}; clusters {} vs {}; noise {:.4} vs {:.4}",
                        fmt(c.diagnostics.get("eps").copied()),
                        fmt(r.param_value("eps")),
                        c.k_found.map_or("-".into(), |k| k.to_string()),
                        r.k,
                        c.noise_share.unwrap_or(f64::NAN),
                        r.noise_frac.unwrap_or(f64::NAN)
                    ),
                });
            }
            _ => {}
        }
    }
    for (space, d) in &kmeans_diffs {
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let ok = mean <= KMEANS_MEAN_ABS_SIL_TOL;
        o.lines.push(Line {
            space: space.clone(),
            engine: "kmeans".into(),
            k: "mean".into(),
            ours: None,
            python: None,
            note: format!(
                "mean |silhouette difference| over {} k {mean:.4} (<= {KMEANS_MEAN_ABS_SIL_TOL})",
                d.len()
            ),
            pass: Some(ok),
        });
        if !ok {
            o.failures.push(format!(
                "{space}/kmeans: mean |silhouette difference| {mean:.4} above {KMEANS_MEAN_ABS_SIL_TOL}"
            ));
        }
    }
    if !gmm_diffs.is_empty() {
        let mean = gmm_diffs.iter().sum::<f64>() / gmm_diffs.len() as f64;
        let ok = mean >= -GMM_MEAN_SIL_TOL;
        o.lines.push(Line {
            space: "features+pca".into(),
            engine: "gmm".into(),
            k: "mean".into(),
            ours: None,
            python: None,
            note: format!(
                "mean silhouette difference over {} cells {mean:+.4} (>= -{GMM_MEAN_SIL_TOL})",
                gmm_diffs.len()
            ),
            pass: Some(ok),
        });
        if !ok {
            o.failures.push(format!(
                "gmm: mean silhouette difference {mean:+.4} below -{GMM_MEAN_SIL_TOL}"
            ));
        }
    }
    o
}

/// Prints the comparison as a Markdown table.
pub fn print(o: &Outcome) {
    println!("| space | engine | k | ours | Python | | note |");
    println!("|---|---|---|---|---|---|---|");
    for l in &o.lines {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            l.space,
            l.engine,
            l.k,
            fmt(l.ours),
            fmt(l.python),
            match l.pass {
                None => "",
                Some(true) => "ok",
                Some(false) => "FAIL",
            },
            l.note
        );
    }
}

/// The shared fixtures folder.
pub fn default_fixtures() -> std::path::PathBuf {
    crate::shared_dir().join("fixtures")
}

/// The number of cells a config plans (spaces × (k-engines × ks + other engines × points)).
fn expected_cells(manifest: &serde_json::Value) -> Option<usize> {
    let cfg: crate::config::GridConfig =
        serde_json::from_value(manifest.get("config")?.clone()).ok()?;
    if manifest.get("quick")?.as_bool()? {
        return None;
    }
    let nk = cfg.k_max + 1 - cfg.k_min;
    let mut per_space = 0;
    for e in &cfg.engines {
        let points = crate::config::param_points(e).ok()?;
        for p in points {
            let needs_k = insiders_engines::build(&e.name, &p).ok()?.caps().needs_k;
            per_space += if needs_k { nk } else { 1 };
        }
    }
    Some(per_space * cfg.spaces.len())
}

/// Checks the run folder `run` against the Python grid in `fixtures`; prints the
/// comparison table and the stage timings; fails listing every failed check.
pub fn check_run(run: &Path, fixtures: &Path) -> Result<Outcome, GridError> {
    let cells = crate::results::read_json(&run.join("results.json"))?;
    let manifest: serde_json::Value = crate::read_json(&run.join("manifest.json"))?;
    let reference = crate::python::read(&fixtures.join("reference_grid.csv"))?;
    let inertia = read_kmeans_inertia(&fixtures.join("kmeans_gmm.csv"))?;
    let o = compare(&cells, &reference, &inertia, expected_cells(&manifest));
    print(&o);
    if let Some(t) = manifest.get("timings_seconds").and_then(|t| t.as_object()) {
        let cpu = manifest.get("cpu_seconds");
        println!("\n| stage | wall s | CPU s |\n|---|---|---|");
        for (stage, wall) in t {
            let c = cpu
                .and_then(|c| c.get(stage))
                .and_then(|v| v.as_f64())
                .map_or("-".into(), |v| format!("{v:.2}"));
            println!(
                "| {stage} | {:.2} | {c} |",
                wall.as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    if !o.failures.is_empty() {
        return Err(GridError::CheckFailed(o.failures));
    }
    println!(
        "\nall checks passed ({} cells, {} compared)",
        cells.len(),
        o.lines.len()
    );
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(space: &str, engine: &str, k: usize, sil: f64, inertia: Option<f64>) -> Cell {
        let mut c: Cell = serde_json::from_value(serde_json::json!({
            "cell": format!("{space}/{engine}/k{k}"), "space": space, "engine": engine,
            "params": "", "k": k, "seed": 1, "k_found": k, "noise_share": 0.0,
            "silhouette": sil, "davies_bouldin": null, "calinski_harabasz": null,
            "fit_seconds": 0.1, "score_seconds": 0.1, "error": null
        }))
        .unwrap();
        if let Some(i) = inertia {
            c.diagnostics.insert("inertia".into(), i);
        }
        c
    }

    fn reference(engine: &str, k: usize, sil: f64) -> PyRow {
        PyRow {
            space: "features".into(),
            engine: engine.into(),
            algorithm: engine.into(),
            k,
            silhouette: Some(sil),
            fit_seconds: Some(0.1),
            score_seconds: None,
            param: String::new(),
            noise_frac: Some(0.0),
        }
    }

    #[test]
    fn ward_and_kmeans_rules_are_enforced() {
        let inertia = BTreeMap::from([(3, 100.0)]);
        let r = [reference("ward", 3, 0.5), reference("kmeans", 3, 0.6)];
        let good = [
            cell("features", "ward", 3, 0.5 + 5e-7, None),
            cell("features", "kmeans", 3, 0.605, Some(100.05)),
        ];
        let o = compare(&good, &r, &inertia, Some(2));
        assert!(o.failures.is_empty(), "{:?}", o.failures);
        let bad = [
            cell("features", "ward", 3, 0.5 + 2e-6, None),
            cell("features", "kmeans", 3, 0.65, Some(100.2)),
        ];
        let o = compare(&bad, &r, &inertia, Some(3));
        // cell count, ward silhouette, kmeans inertia, kmeans silhouette (max and mean)
        assert_eq!(o.failures.len(), 5, "{:?}", o.failures);
        // A missing cell is a failure.
        let o = compare(&good[..1], &r, &inertia, None);
        assert_eq!(o.failures.len(), 1);
    }

    #[test]
    fn the_reference_grid_parses() {
        let dir = default_fixtures();
        if !dir.is_dir() {
            assert!(
                std::env::var("CI").is_err(),
                "{} is missing (CI: a missing data set is a failure)",
                dir.display()
            );
            return;
        }
        let rows = crate::python::read(&dir.join("reference_grid.csv")).unwrap();
        assert_eq!(rows.len(), 345);
        let d: Vec<&PyRow> = rows.iter().filter(|r| r.engine == "dbscan").collect();
        assert_eq!(d.len(), 30);
        assert!(d.iter().all(|r| r.param_value("min_samples") == Some(5.0)));
        let m: Vec<f64> = d[..6].iter().filter_map(|r| r.eps_factor()).collect();
        assert_eq!(m, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]);
        assert_eq!(
            read_kmeans_inertia(&dir.join("kmeans_gmm.csv"))
                .unwrap()
                .len(),
            21
        );
    }
}
