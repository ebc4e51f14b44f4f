//! The batteries of Gagolewski's *Benchmark Suite for Clustering Algorithms* (version 1):
//! point clouds with reference labellings, and published labellings of other implementations.
//!
//! Layout under the root (`<shared>/datasets/clustbench`):
//! - `data/<battery>/<name>.data.gz`: whitespace-separated numbers, one point per line;
//! - `data/<battery>/<name>.labels<j>.gz`: one integer per line, 1..k a cluster, 0 noise;
//!   several files are several valid truths;
//! - `results/<method>/<battery>/<name>.result<k>.gz`: a CSV with a quoted header naming the
//!   method variant(s), then one label per point and variant, at k clusters.

use crate::DatasetError;
use insiders_core::Matrix;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A labelling: one entry per point, `None` for noise (label 0 in the files).
pub type Labelling = Vec<Option<u32>>;

/// A benchmark data set: its points and its reference labellings.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// The battery (`fcps`, `sipu`, `wut`).
    pub battery: String,
    /// The data set's name in the battery.
    pub name: String,
    /// One row per point.
    pub points: Matrix,
    /// The reference labellings (`labels0`, `labels1`, ...), each with one entry per point.
    pub labels: Vec<Labelling>,
}

impl Benchmark {
    /// Number of clusters of reference labelling `j` (noise not counted).
    pub fn clusters(&self, j: usize) -> usize {
        distinct(&self.labels[j])
    }

    /// Number of noise points of reference labelling `j`.
    pub fn noise(&self, j: usize) -> usize {
        self.labels[j].iter().filter(|l| l.is_none()).count()
    }
}

/// Published labels of one method at one k.
#[derive(Debug, Clone)]
pub struct PublishedResult {
    /// The method's folder (`sklearn_kmeans`, `sklearn_gm`, `fastcluster_ward`, `Genie`).
    pub method: String,
    /// The battery.
    pub battery: String,
    /// The data set.
    pub name: String,
    /// The number of clusters asked for.
    pub k: usize,
    /// The file read.
    pub path: PathBuf,
    /// The method variants (the CSV header, e.g. `Genie_G0.3`), in column order.
    pub variants: Vec<String>,
    /// One labelling per variant.
    pub labels: Vec<Labelling>,
}

fn distinct(l: &Labelling) -> usize {
    let mut v: Vec<u32> = l.iter().flatten().copied().collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn read_gz_text(path: &Path) -> Result<String, DatasetError> {
    let f = std::fs::File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
        .read_to_string(&mut text)
        .map_err(|e| DatasetError::io(path, e))?;
    Ok(text)
}

/// Sorted names of the sub-folders of `dir`.
fn subdirs(dir: &Path) -> Result<Vec<String>, DatasetError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
        let e = e.map_err(|e| DatasetError::io(dir, e))?;
        if e.path().is_dir()
            && let Some(n) = e.file_name().to_str()
        {
            out.push(n.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// Sorted `(stem, number)` of the files of `dir` named `<stem>.<tag><number>.gz`.
fn numbered_files(dir: &Path, tag: &str) -> Result<Vec<(String, usize, PathBuf)>, DatasetError> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| DatasetError::io(dir, e))? {
        let e = e.map_err(|e| DatasetError::io(dir, e))?;
        let Some(file) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(base) = file.strip_suffix(".gz") else {
            continue;
        };
        let Some((stem, rest)) = base.rsplit_once('.') else {
            continue;
        };
        if let Some(num) = rest.strip_prefix(tag).and_then(|n| n.parse().ok()) {
            out.push((stem.to_string(), num, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The batteries under `root` (the sub-folders of `root/data`).
///
/// # Errors
/// [`DatasetError::Missing`] / [`DatasetError::Io`] naming the folder.
pub fn batteries(root: &Path) -> Result<Vec<String>, DatasetError> {
    subdirs(&root.join("data"))
}

/// The data sets of a battery (every `<name>.data.gz` of its folder), sorted.
///
/// # Errors
/// [`DatasetError::Missing`] / [`DatasetError::Io`] naming the folder.
pub fn names(root: &Path, battery: &str) -> Result<Vec<String>, DatasetError> {
    let dir = root.join("data").join(battery);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(|e| DatasetError::io(&dir, e))? {
        let e = e.map_err(|e| DatasetError::io(&dir, e))?;
        if let Some(n) = e
            .file_name()
            .to_str()
            .and_then(|f| f.strip_suffix(".data.gz"))
        {
            out.push(n.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// The points file of a data set.
pub fn data_file(root: &Path, battery: &str, name: &str) -> PathBuf {
    root.join("data")
        .join(battery)
        .join(format!("{name}.data.gz"))
}

/// Reads a points file: whitespace-separated numbers, one point per line, all lines of the
/// same width.
///
/// # Errors
/// Missing or unreadable file, an unparsable number, or a line of another width (naming file,
/// line and column).
pub fn read_points(path: &Path) -> Result<Matrix, DatasetError> {
    let text = read_gz_text(path)?;
    let mut values = Vec::new();
    let mut width = None;
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        let mut n = 0;
        for (c, field) in line.split_ascii_whitespace().enumerate() {
            let v: f64 = field.parse().map_err(|_| {
                DatasetError::parse(path, i + 1, c + 1, format!("`{field}` is not a number"))
            })?;
            values.push(v);
            n += 1;
        }
        if n == 0 {
            continue;
        }
        match width {
            None => width = Some(n),
            Some(w) if w != n => {
                return Err(DatasetError::parse(
                    path,
                    i + 1,
                    n.min(w) + 1,
                    format!("{n} values, the first point has {w}"),
                ));
            }
            Some(_) => {}
        }
        rows += 1;
    }
    let width = width.ok_or_else(|| DatasetError::Shape {
        path: path.to_path_buf(),
        message: "no points".into(),
    })?;
    Matrix::from_shape_vec((rows, width), values).map_err(|e| DatasetError::Shape {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads a labels file: one non-negative integer per line, 0 = noise (`None`).
///
/// # Errors
/// Missing or unreadable file, or a value that is not a non-negative integer (naming file,
/// line and column).
pub fn read_labels(path: &Path) -> Result<Labelling, DatasetError> {
    let text = read_gz_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let v: u32 = t.parse().map_err(|_| {
            DatasetError::parse(
                path,
                i + 1,
                1,
                format!("`{t}` is not a label (0 = noise, 1..k)"),
            )
        })?;
        out.push((v != 0).then_some(v));
    }
    Ok(out)
}

fn check_len(path: &Path, got: usize, points: usize) -> Result<(), DatasetError> {
    if got == points {
        Ok(())
    } else {
        Err(DatasetError::Shape {
            path: path.to_path_buf(),
            message: format!("{got} labels for {points} points"),
        })
    }
}

/// Loads a data set: its points and every reference labelling.
///
/// # Errors
/// As [`read_points`] and [`read_labels`]; [`DatasetError::Shape`] when a labelling's length
/// is not the number of points, or there is no labelling.
pub fn load(root: &Path, battery: &str, name: &str) -> Result<Benchmark, DatasetError> {
    let data = data_file(root, battery, name);
    let points = read_points(&data)?;
    let dir = root.join("data").join(battery);
    let mut labels = Vec::new();
    for (stem, _, path) in numbered_files(&dir, "labels")? {
        if stem == name {
            let l = read_labels(&path)?;
            check_len(&path, l.len(), points.nrows())?;
            labels.push(l);
        }
    }
    if labels.is_empty() {
        return Err(DatasetError::Missing {
            path: dir.join(format!("{name}.labels0.gz")),
        });
    }
    Ok(Benchmark {
        battery: battery.to_string(),
        name: name.to_string(),
        points,
        labels,
    })
}

/// The methods with published results (the sub-folders of `root/results`).
///
/// # Errors
/// [`DatasetError::Missing`] / [`DatasetError::Io`] naming the folder.
pub fn methods(root: &Path) -> Result<Vec<String>, DatasetError> {
    subdirs(&root.join("results"))
}

/// Reads one published result file (a CSV: a quoted header of variant names, then one row
/// of labels per point).
///
/// # Errors
/// Missing or unreadable file, a malformed row or label (naming file, line and column).
pub fn read_result(path: &Path) -> Result<(Vec<String>, Vec<Labelling>), DatasetError> {
    let text = read_gz_text(path)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let variants: Vec<String> = rdr
        .headers()
        .map_err(|e| DatasetError::parse(path, 1, 1, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut labels: Vec<Labelling> = vec![Vec::new(); variants.len()];
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| DatasetError::parse(path, line, 1, e.to_string()))?;
        if rec.len() != variants.len() {
            return Err(DatasetError::parse(
                path,
                line,
                rec.len().min(variants.len()) + 1,
                format!("{} labels, the header names {}", rec.len(), variants.len()),
            ));
        }
        for (c, (field, col)) in rec.iter().zip(labels.iter_mut()).enumerate() {
            let v: u32 = field.trim().parse().map_err(|_| {
                DatasetError::parse(path, line, c + 1, format!("`{field}` is not a label"))
            })?;
            col.push((v != 0).then_some(v));
        }
    }
    Ok((variants, labels))
}

/// Every published result for a data set: all methods, all k, sorted by method then k.
/// Each labelling's length is checked against `points` (the data set's number of points).
///
/// # Errors
/// As [`read_result`]; [`DatasetError::Shape`] for a labelling of another length.
pub fn results(
    root: &Path,
    battery: &str,
    name: &str,
    points: usize,
) -> Result<Vec<PublishedResult>, DatasetError> {
    let mut out = Vec::new();
    for method in methods(root)? {
        let dir = root.join("results").join(&method).join(battery);
        if !dir.is_dir() {
            continue;
        }
        for (stem, k, path) in numbered_files(&dir, "result")? {
            if stem != name {
                continue;
            }
            let (variants, labels) = read_result(&path)?;
            for l in &labels {
                check_len(&path, l.len(), points)?;
            }
            out.push(PublishedResult {
                method: method.clone(),
                battery: battery.to_string(),
                name: name.to_string(),
                k,
                path,
                variants,
                labels,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::fast(),
        );
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap();
    }

    #[test]
    fn a_small_battery_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        gz(&root.join("data/toy/two.data.gz"), "0 0\n1e0\t2.5\n-3 4\n");
        gz(&root.join("data/toy/two.labels0.gz"), "1\n2\n0\n");
        gz(&root.join("data/toy/two.labels1.gz"), "1\n1\n1\n");
        gz(
            &root.join("results/m/toy/two.result2.gz"),
            "\"m_a\",\"m_b\"\n1,2\n2,2\n1,1\n",
        );
        assert_eq!(batteries(root).unwrap(), ["toy"]);
        assert_eq!(names(root, "toy").unwrap(), ["two"]);
        let b = load(root, "toy", "two").unwrap();
        assert_eq!(b.points.dim(), (3, 2));
        assert_eq!(b.points[[1, 1]], 2.5);
        assert_eq!(b.labels.len(), 2);
        assert_eq!(b.labels[0], [Some(1), Some(2), None]);
        assert_eq!((b.clusters(0), b.noise(0)), (2, 1));
        assert_eq!((b.clusters(1), b.noise(1)), (1, 0));
        let r = results(root, "toy", "two", 3).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].method.as_str(), r[0].k), ("m", 2));
        assert_eq!(r[0].variants, ["m_a", "m_b"]);
        assert_eq!(r[0].labels[1], [Some(2), Some(2), Some(1)]);
        assert!(results(root, "toy", "two", 4).is_err());
    }

    #[test]
    fn malformed_files_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        gz(&root.join("data/toy/ragged.data.gz"), "0 0\n1 2 3\n");
        let e = load(root, "toy", "ragged").unwrap_err().to_string();
        assert!(e.contains("ragged.data.gz: line 2, column 3"), "{e}");
        gz(&root.join("data/toy/nan.data.gz"), "0 x\n");
        let e = load(root, "toy", "nan").unwrap_err().to_string();
        assert!(e.contains("nan.data.gz: line 1, column 2"), "{e}");
        gz(&root.join("data/toy/short.data.gz"), "0\n1\n");
        gz(&root.join("data/toy/short.labels0.gz"), "1\n");
        let e = load(root, "toy", "short").unwrap_err().to_string();
        assert!(e.contains("short.labels0.gz: 1 labels for 2 points"), "{e}");
        gz(&root.join("data/toy/nolabels.data.gz"), "0\n");
        let e = load(root, "toy", "nolabels").unwrap_err().to_string();
        assert!(e.contains("nolabels.labels0.gz"), "{e}");
        let e = load(root, "toy", "absent").unwrap_err();
        assert!(matches!(e, DatasetError::Missing { .. }), "{e}");
        assert!(e.to_string().contains("absent.data.gz"), "{e}");
    }
}
