//! The Python grid (`fixtures/reference_grid.csv`: the study's grid run with scikit-learn,
//! scipy and umap-learn) read once, with one mapping of its names to ours, for the check
//! (`insiders grid-check`) and the report's Python baseline; and scikit-learn's KMeans
//! inertia by k (`fixtures/kmeans_gmm.csv`).

use crate::GridError;
use crate::results::Cell;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Python grid shipped with the fixtures.
pub fn default_path() -> PathBuf {
    crate::shared_dir().join("fixtures/reference_grid.csv")
}

/// One row of the Python grid, with our space and engine names.
#[derive(Debug, Clone, PartialEq)]
pub struct PyRow {
    /// Our space name.
    pub space: String,
    /// Our engine name (`hclust_ward` is `ward`).
    pub engine: String,
    /// The Python algorithm name as written.
    pub algorithm: String,
    /// k asked (k-engines) or clusters found (dbscan).
    pub k: usize,
    pub silhouette: Option<f64>,
    pub fit_seconds: Option<f64>,
    pub score_seconds: Option<f64>,
    /// dbscan's `m=..;eps=..;min_samples=..`.
    pub param: String,
    pub noise_frac: Option<f64>,
}

impl PyRow {
    /// Whether the engine is asked for k (else `k` is the clusters found).
    pub fn has_k(&self) -> bool {
        matches!(self.engine.as_str(), "kmeans" | "gmm" | "ward")
    }

    /// dbscan's eps factor `m`.
    pub fn eps_factor(&self) -> Option<f64> {
        self.param_value("m")
    }

    /// A `key=value` of the param column.
    pub fn param_value(&self, key: &str) -> Option<f64> {
        self.param
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse().ok())
    }

    /// The row as a cell of our results (for the report's comparisons).
    pub fn to_cell(&self) -> Cell {
        Cell {
            cell: format!("{}/{}/{}", self.space, self.algorithm, self.k),
            space: self.space.clone(),
            engine: self.engine.clone(),
            params: self.param.clone(),
            k: self.has_k().then_some(self.k),
            k_found: Some(self.k),
            noise_share: self.noise_frac,
            silhouette: self.silhouette,
            fit_seconds: self.fit_seconds,
            score_seconds: self.score_seconds,
            ..Cell::default()
        }
    }
}

/// Our engine name of a Python algorithm name.
pub fn engine_name(name: &str) -> String {
    match name {
        "hclust_ward" | "hclust" | "agglomerative" => "ward".to_string(),
        "k-means" => "kmeans".to_string(),
        "gaussian_mixture" => "gmm".to_string(),
        other => other.to_string(),
    }
}

/// Our space name of a Python space name.
pub fn space_name(name: &str) -> String {
    match name {
        "feature" | "raw" => "features".to_string(),
        "tree_space" | "rf" => "tree".to_string(),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
struct Raw {
    space: String,
    algorithm: String,
    k: usize,
    silhouette: Option<f64>,
    #[serde(default)]
    fit_seconds: Option<f64>,
    #[serde(default)]
    score_seconds: Option<f64>,
    #[serde(default)]
    param: String,
    #[serde(default)]
    noise_frac: Option<f64>,
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> GridError + '_ {
    move |source| GridError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the Python grid.
pub fn read(path: &Path) -> Result<Vec<PyRow>, GridError> {
    let mut r = csv::Reader::from_path(path).map_err(csv_err(path))?;
    let mut rows = Vec::new();
    for raw in r.deserialize::<Raw>() {
        let raw = raw.map_err(csv_err(path))?;
        rows.push(PyRow {
            space: space_name(&raw.space),
            engine: engine_name(&raw.algorithm),
            algorithm: raw.algorithm,
            k: raw.k,
            silhouette: raw.silhouette.filter(|v| v.is_finite()),
            fit_seconds: raw.fit_seconds.filter(|v| v.is_finite()),
            score_seconds: raw.score_seconds.filter(|v| v.is_finite()),
            param: raw.param,
            noise_frac: raw.noise_frac.filter(|v| v.is_finite()),
        });
    }
    Ok(rows)
}

/// scikit-learn's KMeans inertia (n_init 10) on the scaled features, by k.
pub fn read_kmeans_inertia(path: &Path) -> Result<BTreeMap<usize, f64>, GridError> {
    #[derive(Deserialize)]
    struct Row {
        input: String,
        k: usize,
        kmeans_inertia: f64,
    }
    let mut r = csv::Reader::from_path(path).map_err(csv_err(path))?;
    let mut out = BTreeMap::new();
    for row in r.deserialize::<Row>() {
        let row = row.map_err(csv_err(path))?;
        if row.input == "scaled_features" {
            out.insert(row.k, row.kmeans_inertia);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_ours_and_rows_become_cells() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.csv");
        std::fs::write(
            &p,
            "space,algorithm,k,silhouette,fit_seconds,score_seconds,param,noise_frac\n\
             tree_space,hclust_ward,4,0.5,0.1,0.2,,0.0\n\
             features,dbscan,3,,0.1,0.2,m=0.5;eps=0.01;min_samples=5,0.25\n",
        )
        .unwrap();
        let rows = read(&p).unwrap();
        assert_eq!(
            (rows[0].space.as_str(), rows[0].engine.as_str()),
            ("tree", "ward")
        );
        assert_eq!(rows[0].to_cell().k, Some(4));
        assert_eq!(rows[1].to_cell().k, None);
        assert_eq!(rows[1].to_cell().k_found, Some(3));
        assert_eq!(rows[1].eps_factor(), Some(0.5));
        assert_eq!(rows[1].silhouette, None);
        std::fs::write(&p, "space,algorithm,k\nfeatures,kmeans,x\n").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("g.csv"), "{e}");
    }
}
