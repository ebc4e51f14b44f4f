//! `insiders grid-report RUN [--baseline RUN | --baseline python] [--k K] [--out DIR]` (alias
//! `cargo xtask report`): the report of a grid run folder as a self-contained HTML page and
//! Markdown with SVG figures.
//!
//! A run over matrix data sets (the batteries) gets its own sections instead of the per-space
//! figures: external scores per battery and engine, ours against the published peers, wins
//! and losses by case, where the silhouette disagrees with the reference labels, and the
//! customer data sets of the run (best silhouette per space and engine, archetype ARI).
//!
//! Reads `results.csv` (the typed [`Cell`] record; the stability scores where a cell has them),
//! `manifest.json`, `spaces/*.csv` and `labels/*.csv`. Failed cells and missing spaces are
//! reported, never fatal.

mod batteries;
mod best;
mod cells;
mod comparison;
mod curves;
mod customers;
mod scatter;
mod summary;
mod time;

use crate::GridError;
use crate::results::{Cell, EXTRA_SCORES};
use insiders_report::doc::{Callout, Document, Table};
use insiders_report::fmt_fixed;
use insiders_report::svg::{BarChart, ColorScale, HeatMap, LineChart, ScatterPlot, Series, color};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What to compare the run against.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Another run folder of `insiders grid`.
    Run(PathBuf),
    /// The Python grid (`reference_grid.csv`).
    Python(PathBuf),
}

/// Options of `insiders grid-report`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Optional baseline.
    pub baseline: Option<Baseline>,
    /// k of the scatter plots (the study's ward k = 10 by default).
    pub k: usize,
    /// Output folder; default = the run folder.
    pub out: Option<PathBuf>,
}

/// A CSV table read by column name (spaces and labels files of a run folder).
#[derive(Debug, Clone)]
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Result<Csv, GridError> {
        let err = |source| GridError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let mut r = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .from_path(path)
            .map_err(err)?;
        let header = r.headers().map_err(err)?.iter().map(String::from).collect();
        let mut rows = Vec::new();
        for rec in r.records() {
            rows.push(rec.map_err(err)?.iter().map(String::from).collect());
        }
        Ok(Csv { header, rows })
    }

    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// Reads `results.csv` of a run folder; also returns the [`EXTRA_SCORES`] that some cell
/// has (an empty heat map would say nothing: the stability columns of a run without
/// `--stability` are left out).
pub fn read_results(path: &Path) -> Result<(Vec<Cell>, Vec<String>), GridError> {
    let cells = crate::results::read_csv(path)?;
    let extra = EXTRA_SCORES
        .iter()
        .filter(|n| cells.iter().any(|c| c.extra(n).is_some()))
        .map(|n| n.to_string())
        .collect();
    Ok((cells, extra))
}

/// A run folder, read.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub dir: PathBuf,
    cells: Vec<Cell>,
    extra_cols: Vec<String>,
    manifest: serde_json::Value,
}

impl Run {
    fn read(dir: &Path) -> Result<Run, GridError> {
        if !dir.is_dir() {
            return Err(GridError::Invalid(format!(
                "{} is not a run folder",
                dir.display()
            )));
        }
        let (cells, extra_cols) = read_results(&dir.join("results.csv"))?;
        let manifest = std::fs::read_to_string(dir.join("manifest.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null);
        Ok(Run {
            dir: dir.to_path_buf(),
            cells,
            extra_cols,
            manifest,
        })
    }

    /// Spaces in the order of the config, then any others seen in the results.
    fn spaces(&self) -> Vec<String> {
        let mut out: Vec<String> = self.configured_spaces();
        for c in &self.cells {
            if !out.contains(&c.space) {
                out.push(c.space.clone());
            }
        }
        out
    }

    fn configured_spaces(&self) -> Vec<String> {
        self.manifest["config"]["space"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn engines(&self) -> Vec<String> {
        let mut out: Vec<String> = self.manifest["config"]["engine"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for c in &self.cells {
            if !out.contains(&c.engine) {
                out.push(c.engine.clone());
            }
        }
        out
    }

    fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        )
    }
}

/// The 2-D coordinates of a space (`spaces/NAME.csv`), if it has exactly two columns.
/// Customer ids and their 2-D points.
type Points2d = (Vec<String>, Vec<(f64, f64)>);

fn read_space_2d(dir: &Path, space: &str) -> Option<Points2d> {
    let csv = Csv::read(&dir.join("spaces").join(format!("{space}.csv"))).ok()?;
    if csv.header.len() != 3 {
        return None;
    }
    let mut ids = Vec::new();
    let mut pts = Vec::new();
    for r in &csv.rows {
        if r.len() < 3 {
            continue;
        }
        ids.push(r[0].clone());
        pts.push((
            r[1].trim().parse().unwrap_or(f64::NAN),
            r[2].trim().parse().unwrap_or(f64::NAN),
        ));
    }
    Some((ids, pts))
}

/// The labels of one cell (`labels/SPACE.csv`, column = cell id without the space).
fn read_labels(dir: &Path, space: &str, column: &str) -> Option<(Vec<String>, Vec<i64>)> {
    let csv = Csv::read(&dir.join("labels").join(format!("{space}.csv"))).ok()?;
    let col = csv.col(column)?;
    let mut ids = Vec::new();
    let mut labels = Vec::new();
    for r in &csv.rows {
        if r.len() <= col {
            continue;
        }
        ids.push(r[0].clone());
        labels.push(r[col].trim().parse().unwrap_or(-1));
    }
    Some((ids, labels))
}

// ---------------------------------------------------------------------------------------------
// Building the report

fn f3(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| fmt_fixed(x, 3))
}

fn f4(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| fmt_fixed(x, 4))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| fmt_fixed(x, if x < 10.0 { 3 } else { 1 }))
}

fn signed(v: f64, d: usize) -> String {
    let s = fmt_fixed(v, d);
    if v > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{s}")
    } else {
        s
    }
}

/// The best cell (highest silhouette) among these.
fn best<'a>(cells: impl Iterator<Item = &'a Cell>) -> Option<&'a Cell> {
    cells
        .filter(|c| c.silhouette.is_some())
        .fold(None, |acc: Option<&Cell>, c| match acc {
            Some(b) if b.silhouette >= c.silhouette => Some(b),
            _ => Some(c),
        })
}

/// The key matching a cell across runs: with parameters between our runs, without against
/// Python (whose parameter texts differ).
fn match_key(c: &Cell, python: bool) -> (String, String, String, Option<usize>) {
    if python {
        (c.space.clone(), c.engine.clone(), String::new(), c.k)
    } else {
        c.key()
    }
}

/// Seconds (fit + score) of this run and of the baseline for one (space, engine), over
/// comparable cells: the matched cells when both sides have cells with k, else all cells of
/// each side. `None` = no cell on that side. Also returns the number of matched cells.
fn paired_seconds(
    ours: &[&Cell],
    theirs: &[&Cell],
    python: bool,
) -> (Option<f64>, Option<f64>, usize) {
    let theirs_k: BTreeMap<_, &Cell> = theirs
        .iter()
        .filter(|c| c.k.is_some())
        .map(|c| (match_key(c, python), *c))
        .collect();
    let pairs: Vec<(&Cell, &Cell)> = ours
        .iter()
        .filter(|c| c.k.is_some())
        .filter_map(|c| theirs_k.get(&match_key(c, python)).map(|b| (*c, *b)))
        .collect();
    let sum = |v: &mut dyn Iterator<Item = &Cell>| -> Option<f64> {
        let mut any = false;
        let mut t = 0.0;
        for c in v {
            if let Some(x) = c.seconds() {
                any = true;
                t += x;
            }
        }
        any.then_some(t)
    };
    if pairs.is_empty() {
        (
            sum(&mut ours.iter().copied()),
            sum(&mut theirs.iter().copied()),
            0,
        )
    } else {
        let n = pairs.len();
        (
            sum(&mut pairs.iter().map(|p| p.0)),
            sum(&mut pairs.iter().map(|p| p.1)),
            n,
        )
    }
}

fn engine_color(engines: &[String], e: &str) -> String {
    color(engines.iter().position(|x| x == e).unwrap_or(engines.len())).to_string()
}

/// What every section of the report reads.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub args: &'a ReportArgs,
    pub run: &'a Run,
    /// The baseline's cells (another run's, or the Python grid's).
    pub base_cells: Option<&'a [Cell]>,
    pub base_name: &'a str,
    /// Spaces in the config's order, then any others of the results.
    pub spaces: &'a Vec<String>,
    /// Engines of the run, then the baseline's others.
    pub engines: &'a Vec<String>,
    /// The baseline is the Python grid.
    pub python: bool,
}

/// Builds the report document.
pub fn build(args: &ReportArgs) -> Result<Document, GridError> {
    let run = Run::read(&args.run)?;
    let base_run = match &args.baseline {
        Some(Baseline::Run(p)) => Some(Run::read(p)?),
        _ => None,
    };
    let python = match &args.baseline {
        Some(Baseline::Python(p)) => Some(
            crate::python::read(p)?
                .iter()
                .map(crate::python::PyRow::to_cell)
                .collect::<Vec<_>>(),
        ),
        _ => None,
    };
    let (base_cells, base_name): (Option<&[Cell]>, String) = match (&base_run, &python) {
        (Some(b), _) => (Some(b.cells.as_slice()), format!("baseline {}", b.name())),
        (_, Some(p)) => (Some(p.as_slice()), "Python".to_string()),
        _ => (None, String::new()),
    };
    let spaces = run.spaces();
    let mut engines = run.engines();
    if let Some(b) = base_cells {
        for c in b {
            if !engines.contains(&c.engine) {
                engines.push(c.engine.clone());
            }
        }
    }

    let mut doc = Document::new(format!("Benchmark grid: {}", run.name()));
    let cx = Ctx {
        args,
        run: &run,
        base_cells,
        base_name: &base_name,
        spaces: &spaces,
        engines: &engines,
        python: python.is_some(),
    };
    summary::summary(&mut doc, &cx);
    if batteries::is_dataset_run(&run.cells) {
        // A grid over matrix data sets: external scores, peers, wins, disagreements.
        batteries::batteries(&mut doc, &cx);
        customers::customers(&mut doc, &cx);
        cells::cells(&mut doc, &cx);
        return Ok(doc);
    }
    best::best_cells(&mut doc, &cx);
    best::added_scores(&mut doc, &cx);
    curves::curves(&mut doc, &cx);
    scatter::scatter(&mut doc, &cx);
    time::time(&mut doc, &cx);
    if let Some(b) = base_cells {
        comparison::comparison(
            &mut doc,
            &run,
            b,
            &base_name,
            &spaces,
            &engines,
            python.is_some(),
        );
    }
    cells::cells(&mut doc, &cx);
    Ok(doc)
}

/// Runs `cargo xtask report`; returns the output folder.
pub fn run(args: &ReportArgs) -> Result<PathBuf, GridError> {
    let doc = build(args)?;
    let out = args.out.clone().unwrap_or_else(|| args.run.clone());
    doc.write(&out, "report")
        .map_err(|e| GridError::io(&out, e))?;
    println!(
        "report -> {} and {}",
        out.join("report.html").display(),
        out.join("report.md").display()
    );
    Ok(out)
}

#[cfg(test)]
mod tests;
