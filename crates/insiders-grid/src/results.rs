//! The one typed results record of a grid run: a [`Cell`] per (space, engine, parameter
//! point, k). `results.csv` (one row per cell, for people and spreadsheets) and
//! `results.json` (the same cells with the engines' diagnostics) are written here and read
//! back here, with the csv crate and serde, by every reader: the report, the Python
//! comparison and `[model.from_grid]`.
//!
//! Numbers in `results.csv` are written as Rust's `Display` prints them (the shortest digits
//! that round-trip, never an exponent: `0.5`, `1`, `0.0000001`), so that a value read back is the same `f64`; an absent value is an empty field.

use crate::GridError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One row of the results: one cell.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    /// Cell id (`space/engine[params]/kK`).
    pub cell: String,
    /// Space (row label of the grid).
    pub space: String,
    /// Engine name.
    pub engine: String,
    /// Parameter point as `key=value;...`.
    #[serde(default)]
    pub params: String,
    /// k asked for (engines that need k).
    pub k: Option<usize>,
    /// The cell's seed.
    #[serde(default)]
    pub seed: u64,
    /// Clusters found.
    pub k_found: Option<usize>,
    /// Share of points left as noise.
    pub noise_share: Option<f64>,
    pub silhouette: Option<f64>,
    pub davies_bouldin: Option<f64>,
    pub calinski_harabasz: Option<f64>,
    pub fit_seconds: Option<f64>,
    pub score_seconds: Option<f64>,
    /// Why the cell failed (`None`: it did not).
    pub error: Option<String>,
    /// Mean pairwise ARI between fits with different seeds (1 for deterministic engines).
    #[serde(default)]
    pub stability_seed_ari: Option<f64>,
    /// Mean ARI between the fit and fits on bootstrap resamples of the customers.
    #[serde(default)]
    pub stability_boot_ari: Option<f64>,
    /// Seconds spent on the stability fits of the cell (its row's time shared equally).
    #[serde(default)]
    pub stability_seconds: Option<f64>,
    /// The data set (a `datasets/` registry id, e.g. `clustbench/fcps/hepta`) of a grid over
    /// matrix data sets; empty for the grid over the pipeline's customer table (its data are
    /// named in the manifest).
    #[serde(default)]
    pub dataset: String,
    /// Who made the labels: empty or `ours` for our engines, `published` for the labels of
    /// another implementation read from the suite's results (the `engine` column then names
    /// the method variant, e.g. `Genie_G0.3`).
    #[serde(default)]
    pub origin: String,
    /// Whether k is a true k of the data set (the number of clusters of a reference labelling).
    #[serde(default)]
    pub true_k: Option<bool>,
    /// Adjusted Rand index against the reference labels (noise points of the reference left
    /// out; best over the references with k clusters at a true k, over all of them otherwise).
    #[serde(default)]
    pub ari: Option<f64>,
    /// Normalised mutual information, as `ari`.
    #[serde(default)]
    pub nmi: Option<f64>,
    /// Normalised clustering accuracy, as `ari`.
    #[serde(default)]
    pub nca: Option<f64>,
    /// Standard error of a sampled silhouette (`[sample] score_rows`); empty when exact.
    #[serde(default)]
    pub silhouette_se: Option<f64>,
    /// Points the sampled silhouette scored (each against every point); empty when exact.
    #[serde(default)]
    pub score_rows: Option<usize>,
    /// The engine's diagnostics: `inertia`, `log_likelihood`, `n_iter` and its extras
    /// (`results.json` only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub diagnostics: BTreeMap<String, f64>,
}

/// The columns of `results.csv`, in order.
/// The grid over the customer table fills the first 17; the next six are the grid over
/// matrix data sets' (empty otherwise); the last two say when a silhouette was estimated
/// from a sample (`[sample] score_rows`; empty when exact).
pub const CSV_COLUMNS: [&str; 25] = [
    "cell",
    "space",
    "engine",
    "params",
    "k",
    "seed",
    "k_found",
    "noise_share",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "fit_seconds",
    "score_seconds",
    "stability_seed_ari",
    "stability_boot_ari",
    "stability_seconds",
    "error",
    "dataset",
    "origin",
    "true_k",
    "ari",
    "nmi",
    "nca",
    "silhouette_se",
    "score_rows",
];

/// Scores beyond the internal ones, shown by the report when some cell has them.
pub const EXTRA_SCORES: [&str; 6] = [
    "stability_seed_ari",
    "stability_boot_ari",
    "stability_seconds",
    "ari",
    "nmi",
    "nca",
];

impl Cell {
    /// A cell that failed before it could be fitted.
    pub fn failed(
        id: &str,
        space: &str,
        engine: &str,
        params: &str,
        k: Option<usize>,
        seed: u64,
        error: String,
    ) -> Cell {
        Cell {
            cell: id.to_string(),
            space: space.to_string(),
            engine: engine.to_string(),
            params: params.to_string(),
            k,
            seed,
            error: Some(error),
            ..Cell::default()
        }
    }

    /// The k to plot: k asked for, else k found.
    pub fn x(&self) -> Option<usize> {
        self.k.or(self.k_found)
    }

    /// Fit plus score seconds (`None` when neither was measured).
    pub fn seconds(&self) -> Option<f64> {
        match (self.fit_seconds, self.score_seconds) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        }
    }

    /// The key matching cells across runs.
    pub fn key(&self) -> (String, String, String, Option<usize>) {
        (
            self.space.clone(),
            self.engine.clone(),
            self.params.clone(),
            self.k,
        )
    }

    /// One of the [`EXTRA_SCORES`] by name.
    pub fn extra(&self, name: &str) -> Option<f64> {
        match name {
            "stability_seed_ari" => self.stability_seed_ari,
            "stability_boot_ari" => self.stability_boot_ari,
            "stability_seconds" => self.stability_seconds,
            "ari" => self.ari,
            "nmi" => self.nmi,
            "nca" => self.nca,
            _ => None,
        }
        .filter(|v| v.is_finite())
    }

    fn csv_fields(&self) -> [String; 25] {
        let n = |v: Option<usize>| v.map_or(String::new(), |k| k.to_string());
        let f = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
        [
            self.cell.clone(),
            self.space.clone(),
            self.engine.clone(),
            self.params.clone(),
            n(self.k),
            self.seed.to_string(),
            n(self.k_found),
            f(self.noise_share),
            f(self.silhouette),
            f(self.davies_bouldin),
            f(self.calinski_harabasz),
            f(self.fit_seconds),
            f(self.score_seconds),
            f(self.stability_seed_ari),
            f(self.stability_boot_ari),
            f(self.stability_seconds),
            self.error.clone().unwrap_or_default(),
            self.dataset.clone(),
            self.origin.clone(),
            self.true_k.map_or(String::new(), |t| t.to_string()),
            f(self.ari),
            f(self.nmi),
            f(self.nca),
            f(self.silhouette_se),
            n(self.score_rows),
        ]
    }
}

/// `results.csv` of `cells` as bytes.
pub fn to_csv(cells: &[Cell]) -> Result<Vec<u8>, GridError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let err = |source| GridError::Csv {
        path: "results.csv".into(),
        source,
    };
    w.write_record(CSV_COLUMNS).map_err(err)?;
    for c in cells {
        w.write_record(c.csv_fields()).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| GridError::Invalid(e.to_string()))
}

/// Writes `results.csv` and `results.json` (one row per cell) into the run folder `out`.
pub fn write(out: &Path, cells: &[Cell]) -> Result<(), GridError> {
    insiders_ingest::write_atomic(&out.join("results.csv"), &to_csv(cells)?)?;
    let json = serde_json::to_string_pretty(cells).map_err(|source| GridError::Json {
        path: out.join("results.json"),
        source,
    })?;
    insiders_ingest::write_atomic(&out.join("results.json"), json.as_bytes())?;
    Ok(())
}

/// Reads `results.csv` (columns by name: a file with fewer or more columns reads, absent
/// ones are empty). Empty fields are absent values.
pub fn read_csv(path: &Path) -> Result<Vec<Cell>, GridError> {
    let err = |source| GridError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(err)?;
    let header = r.headers().map_err(err)?.clone();
    for need in ["cell", "space", "engine"] {
        if !header.iter().any(|h| h == need) {
            return Err(GridError::Invalid(format!(
                "{}: no `{need}` column (header: {})",
                path.display(),
                header.iter().collect::<Vec<_>>().join(",")
            )));
        }
    }
    let mut cells = Vec::new();
    for row in r.deserialize::<Cell>() {
        let mut c = row.map_err(err)?;
        if c.error.as_deref() == Some("") {
            c.error = None;
        }
        cells.push(c);
    }
    Ok(cells)
}

/// Reads `results.json` (the cells with their diagnostics).
pub fn read_json(path: &Path) -> Result<Vec<Cell>, GridError> {
    crate::read_json(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells() -> Vec<Cell> {
        let mut a = Cell::failed(
            "features/ward/k3",
            "features",
            "ward",
            "",
            Some(3),
            7,
            String::new(),
        );
        a.error = None;
        a.k_found = Some(3);
        a.noise_share = Some(0.0);
        a.silhouette = Some(0.123_456_789_012_345_67);
        a.calinski_harabasz = Some(1e-7);
        a.fit_seconds = Some(1.0);
        a.silhouette_se = Some(0.0012);
        a.score_rows = Some(2000);
        let mut b = Cell::failed(
            "tree/dbscan[eps_factor=0.5;min_samples=5]",
            "tree",
            "dbscan",
            "eps_factor=0.5;min_samples=5",
            None,
            u64::MAX,
            "engine said: \"no\", twice\nand more".into(),
        );
        b.stability_boot_ari = Some(-0.25);
        vec![a, b]
    }

    #[test]
    fn csv_round_trips_every_value_and_keeps_the_historical_format() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &cells()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        // Numbers as Rust prints them, empty absent values, quotes only where needed.
        assert_eq!(
            lines.next().unwrap(),
            "features/ward/k3,features,ward,,3,7,3,0,0.12345678901234566,,0.0000001,1,,,,,,,,,,,,0.0012,2000"
        );
        let back = read_csv(&dir.path().join("results.csv")).unwrap();
        assert_eq!(back, cells());
        assert_eq!(
            read_json(&dir.path().join("results.json")).unwrap(),
            cells()
        );
    }

    #[test]
    fn a_file_without_the_id_columns_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.csv");
        std::fs::write(&p, "a,b\n1,2\n").unwrap();
        let e = read_csv(&p).unwrap_err().to_string();
        assert!(e.contains("results.csv") && e.contains("`cell`"), "{e}");
    }
}
