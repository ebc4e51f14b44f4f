//! Readers of the parity fixtures in `<shared>/fixtures` (reference values computed with
//! pandas, scikit-learn, scipy and umap-learn; see `docs/testing.md`). Test support: they
//! panic on a malformed fixture, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::shared::fixture;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A CSV table read from a fixture: header names, the first column as the row id,
/// and the other columns as `f64` (`NaN` for empty cells).
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<String>,
    pub ids: Vec<i64>,
    pub values: Vec<Vec<f64>>,
}

impl Table {
    /// The values of a column by name, one per row.
    pub fn column(&self, name: &str) -> Vec<f64> {
        let j = self
            .columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns));
        self.values.iter().map(|r| r[j]).collect()
    }

    /// Row-major values of the named columns.
    pub fn matrix(&self, names: &[&str]) -> (usize, usize, Vec<f64>) {
        let cols: Vec<Vec<f64>> = names.iter().map(|n| self.column(n)).collect();
        let n = self.ids.len();
        let mut out = Vec::with_capacity(n * names.len());
        for i in 0..n {
            for c in &cols {
                out.push(c[i]);
            }
        }
        (n, names.len(), out)
    }
}

/// Reads a (gzip-compressed or plain) CSV fixture whose first column is an integer id.
pub fn read_table(path: &Path) -> Table {
    let mut raw = Vec::new();
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f)
            .read_to_end(&mut raw)
            .unwrap();
    } else {
        f.read_to_end(&mut raw).unwrap();
    }
    let mut rdr = csv::Reader::from_reader(raw.as_slice());
    let header = rdr.headers().unwrap().clone();
    let columns: Vec<String> = header.iter().skip(1).map(str::to_string).collect();
    let mut ids = Vec::new();
    let mut values = Vec::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        ids.push(rec[0].parse::<f64>().unwrap() as i64);
        values.push(
            rec.iter()
                .skip(1)
                .map(|v| {
                    if v.is_empty() {
                        f64::NAN
                    } else {
                        v.parse().unwrap()
                    }
                })
                .collect(),
        );
    }
    Table {
        columns,
        ids,
        values,
    }
}

/// `reference.json` as a JSON value.
pub fn reference() -> Option<serde_json::Value> {
    let p = fixture("reference.json")?;
    Some(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
}

/// A plain CSV fixture without an id column (e.g. `kmeans_gmm.csv`, `reference_grid.csv`),
/// as rows of name -> string.
pub fn read_records(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let header = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Relative difference `|a - b| / max(|a|, |b|, tiny)`.
pub fn rel_diff(a: f64, b: f64) -> f64 {
    if a == b {
        return 0.0;
    }
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}
