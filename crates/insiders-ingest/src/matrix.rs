//! Matrix files (a CSV with a header whose first column is the row id) and labels files
//! (the row id and a `label` column, noise = -1).

use crate::error::{IngestError, Location};
use insiders_core::Matrix;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A numeric table with row ids and column names.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixFile {
    /// Name of the id column (`customer_id`, or `row` when the file had none).
    pub id_name: String,
    /// Row ids as written in the file (1, 2, ... when the file had none).
    pub ids: Vec<String>,
    /// Names of the numeric columns.
    pub columns: Vec<String>,
    /// The values, one row per id.
    pub data: Matrix,
}

/// Whether the first column of a matrix file is a row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdColumn {
    /// The first column is the row id (the project's matrix-file convention).
    #[default]
    First,
    /// No id column: rows are numbered from 1.
    None,
    /// The first column is an id when it is named like one (`customer_id`, `id`, `row`, `row_id`,
    /// or empty) or holds a value that is not a number.
    Auto,
}

fn looks_like_id(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    n.is_empty()
        || n == "id"
        || n == "row"
        || n == "row_id"
        || n.ends_with("_id")
        || n == "customerid"
}

/// Reads a matrix file (plain or gzip CSV). Empty cells and non-numbers are errors naming
/// the line and column.
pub fn read_matrix(path: &Path, id: IdColumn) -> Result<MatrixFile, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, e))?;
    if bytes.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let data = crate::gz::maybe_gunzip(path, bytes)?;
    let csv_err = |line: u64, e: csv::Error| IngestError::Csv {
        path: path.to_path_buf(),
        line,
        detail: e.to_string(),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data.as_slice());
    let mut records = Vec::new();
    let mut rec = csv::StringRecord::new();
    let mut line = 1u64;
    while rdr.read_record(&mut rec).map_err(|e| csv_err(line, e))? {
        line = rec.position().map_or(line, |p| p.line());
        records.push((line, rec.clone()));
    }
    let Some((_, header)) = records.first().cloned() else {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    };
    if records.len() < 2 {
        return Err(IngestError::NoRows {
            path: path.to_path_buf(),
        });
    }
    let has_id = match id {
        IdColumn::First => true,
        IdColumn::None => false,
        IdColumn::Auto => {
            looks_like_id(&header[0])
                || records[1..]
                    .iter()
                    .any(|(_, r)| r.get(0).is_some_and(|v| v.trim().parse::<f64>().is_err()))
        }
    };
    let skip = usize::from(has_id);
    let columns: Vec<String> = header
        .iter()
        .skip(skip)
        .map(|s| s.trim().to_string())
        .collect();
    if columns.is_empty() {
        return Err(IngestError::BadRow {
            path: path.to_path_buf(),
            location: Location::Line {
                line: 1,
                column: header.get(0).unwrap_or("").to_string(),
            },
            reason: "no numeric columns after the id column".into(),
        });
    }
    let n = records.len() - 1;
    let d = columns.len();
    let mut values = Vec::with_capacity(n * d);
    let mut ids = Vec::with_capacity(n);
    for (k, (line, r)) in records[1..].iter().enumerate() {
        if r.len() != header.len() {
            return Err(IngestError::BadRow {
                path: path.to_path_buf(),
                location: Location::Line {
                    line: *line,
                    column: format!("field {}", r.len().min(header.len()) + 1),
                },
                reason: format!("expected {} fields, found {}", header.len(), r.len()),
            });
        }
        ids.push(if has_id {
            r[0].trim().to_string()
        } else {
            (k + 1).to_string()
        });
        for (j, v) in r.iter().skip(skip).enumerate() {
            let x: f64 = v.trim().parse().map_err(|_| IngestError::BadRow {
                path: path.to_path_buf(),
                location: Location::Line {
                    line: *line,
                    column: columns[j].clone(),
                },
                reason: format!("`{v}` is not a number"),
            })?;
            if !x.is_finite() {
                return Err(IngestError::BadRow {
                    path: path.to_path_buf(),
                    location: Location::Line {
                        line: *line,
                        column: columns[j].clone(),
                    },
                    reason: format!("`{v}` is not a finite number"),
                });
            }
            values.push(x);
        }
    }
    let data = Matrix::from_shape_vec((n, d), values).map_err(|e| IngestError::BadRow {
        path: path.to_path_buf(),
        location: Location::Line {
            line: 1,
            column: String::new(),
        },
        reason: e.to_string(),
    })?;
    Ok(MatrixFile {
        id_name: if has_id {
            header[0].trim().to_string()
        } else {
            "row".into()
        },
        ids,
        columns,
        data,
    })
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, then a rename.
/// A crash never leaves half a file under the final name.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), IngestError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(contents).map_err(|e| IngestError::Write {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    f.commit()
}

/// A file written in pieces and put in place atomically: the bytes go to a temporary file
/// beside `path`, which [`AtomicFile::commit`] syncs and renames; dropped without a commit,
/// the temporary file is removed, so a failed or interrupted write never leaves a partial
/// file under `path`.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicFile {
    /// Starts writing `path` (its folder is created).
    pub fn create(path: &Path) -> Result<Self, IngestError> {
        let werr = |e: std::io::Error| IngestError::Write {
            path: path.to_path_buf(),
            detail: e.to_string(),
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(werr)?;
        }
        let file_name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
        let f = std::fs::File::create(&tmp).map_err(werr)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::with_capacity(1 << 20, f)),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Syncs the file and renames it into place.
    pub fn commit(mut self) -> Result<(), IngestError> {
        let werr = |e: std::io::Error| IngestError::Write {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        if let Some(w) = self.file.take() {
            let f = w.into_inner().map_err(|e| werr(e.into_error()))?;
            f.sync_all().map_err(werr)?;
        }
        std::fs::rename(&self.tmp, &self.path).map_err(werr)
    }
}

impl std::io::Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Renders a matrix file as CSV text (shortest round-trip float formatting).
pub fn matrix_csv(id_name: &str, ids: &[String], columns: &[String], data: &Matrix) -> Vec<u8> {
    let mut head = String::from(id_name);
    for c in columns {
        head.push(',');
        head.push_str(c);
    }
    head.push('\n');
    csv_rows(head, ids.len(), |i, out| {
        out.push_str(&ids[i]);
        for j in 0..data.ncols() {
            out.push(',');
            push_f64(out, data[[i, j]]);
        }
        out.push('\n');
    })
}

/// CSV text: `head`, then rows `0..rows` as `row` writes them, formatted in parallel in
/// blocks and joined in order.
pub fn csv_rows(head: String, rows: usize, row: impl Fn(usize, &mut String) + Sync) -> Vec<u8> {
    use rayon::prelude::*;
    const BLOCK: usize = 16 * 1024;
    let blocks: Vec<String> = (0..rows.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut s = String::new();
            for i in b * BLOCK..((b + 1) * BLOCK).min(rows) {
                row(i, &mut s);
            }
            s
        })
        .collect();
    let mut out = head;
    out.reserve_exact(blocks.iter().map(String::len).sum());
    for b in blocks {
        out.push_str(&b);
    }
    out.into_bytes()
}

/// Appends a value as [`format_f64`] writes it.
#[inline]
pub fn push_f64(out: &mut String, v: f64) {
    use std::fmt::Write;
    if !v.is_nan() {
        // Writing to a `String` cannot fail.
        let _ = write!(out, "{v}");
    }
}

/// Renders a labels file: the id and `label` (noise = -1).
pub fn labels_csv(id_name: &str, ids: &[String], labels: &[i64]) -> Vec<u8> {
    let mut out = format!("{id_name},label\n");
    for (id, l) in ids.iter().zip(labels) {
        out.push_str(id);
        out.push(',');
        out.push_str(&l.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// Shortest representation that reads back to the same `f64`; empty for NaN.
pub fn format_f64(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.csv");
        let m = Matrix::from_shape_vec((2, 2), vec![0.1, 2.0, -3.5, 1e-300]).unwrap();
        let ids = vec!["a".to_string(), "b".to_string()];
        let cols = vec!["x0".to_string(), "x1".to_string()];
        write_atomic(&p, &matrix_csv("customer_id", &ids, &cols, &m)).unwrap();
        let back = read_matrix(&p, IdColumn::First).unwrap();
        assert_eq!(back.data, m);
        assert_eq!(back.ids, ids);
        assert_eq!(back.id_name, "customer_id");
        let auto = read_matrix(&p, IdColumn::Auto).unwrap();
        assert_eq!(auto.columns, cols);

        std::fs::write(&p, "x,y\n1,2\n3,\n").unwrap();
        let e = read_matrix(&p, IdColumn::None).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("column `y`"), "{e}");
        let auto = read_matrix(&dir.path().join("nope.csv"), IdColumn::None);
        assert!(auto.is_err());
        std::fs::write(&p, "x,y\n1,2\n3,4,5\n").unwrap();
        let e = read_matrix(&p, IdColumn::None).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
    }
}
