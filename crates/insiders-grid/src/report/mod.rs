//! `insiders grid-report RUN [--baseline RUN | --baseline python] [--k K] [--out DIR]` (alias
//! `cargo xtask report`): the report of a grid run folder as a self-contained HTML page and
//! Markdown with SVG figures.
//!
//! Reads `results.csv` (the typed [`Cell`] record; the stability scores where a cell has them),
//! `manifest.json`, `spaces/*.csv` and `labels/*.csv`. Failed cells and missing spaces are
//! reported, never fatal.

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
struct Run {
    dir: PathBuf,
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
    // --- summary
    let m = &run.manifest;
    let n_failed = run.cells.iter().filter(|c| c.error.is_some()).count();
    let mut kv: Vec<(String, String)> = vec![
        ("Run folder".into(), run.dir.display().to_string()),
        (
            "Cells".into(),
            format!("{} ({} failed)", run.cells.len(), n_failed),
        ),
        ("Spaces".into(), {
            let with: Vec<&str> = spaces
                .iter()
                .filter(|sp| run.cells.iter().any(|c| &c.space == *sp))
                .map(String::as_str)
                .collect();
            let without: Vec<&str> = spaces
                .iter()
                .filter(|sp| !run.cells.iter().any(|c| &c.space == *sp))
                .map(String::as_str)
                .collect();
            if without.is_empty() {
                with.join(", ")
            } else {
                format!("{} (no results: {})", with.join(", "), without.join(", "))
            }
        }),
        ("Engines".into(), run.engines().join(", ")),
    ];
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    for (label, v) in [
        ("Data", &m["data"]),
        ("Master seed", &m["seed"]),
        ("Quick grid", &m["quick"]),
        ("Git commit", &m["git_commit"]),
        ("Uncommitted changes", &m["git_dirty"]),
        ("CPU", &m["machine"]["cpu"]),
        ("Cores", &m["machine"]["cores"]),
    ] {
        if let Some(t) = s(v) {
            kv.push((label.into(), t));
        }
    }
    if let Some(t) = m["timings_seconds"]["total"].as_f64() {
        kv.push(("Total wall time".into(), format!("{} s", fmt_fixed(t, 2))));
    }
    if let Some(b) = &args.baseline {
        kv.push((
            "Baseline".into(),
            match b {
                Baseline::Run(p) => format!("run {}", p.display()),
                Baseline::Python(p) => format!("Python grid {}", p.display()),
            },
        ));
    }
    doc.key_values(kv);

    // --- warnings: missing spaces, failed cells
    let configured = run.configured_spaces();
    let present: BTreeSet<&str> = run.cells.iter().map(|c| c.space.as_str()).collect();
    let missing: Vec<&String> = configured
        .iter()
        .filter(|s| !present.contains(s.as_str()))
        .collect();
    if !missing.is_empty() {
        doc.callout(
            Callout::Warning,
            format!("{} configured space(s) have no results", missing.len()),
            format!(
                "Missing: {}. The run was filtered (--only) or stopped early; these spaces are absent from every figure.",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    if n_failed > 0 {
        let mut by: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
        for c in run.cells.iter().filter(|c| c.error.is_some()) {
            let e = by
                .entry((c.space.clone(), c.engine.clone()))
                .or_insert((0, String::new()));
            e.0 += 1;
            if e.1.is_empty() {
                e.1 = c.error.clone().unwrap_or_default();
            }
        }
        doc.callout(
            Callout::Warning,
            format!("{n_failed} of {} cells failed", run.cells.len()),
            "Failed cells have no scores; they are left out of the curves and blank in the heat map. Details below.",
        );
        let mut t = Table::new(["space", "engine", "failed cells", "first error"])
            .numeric(vec![false, false, true, false]);
        for ((sp, en), (n, e)) in &by {
            let e = if e.chars().count() > 160 {
                format!("{}…", e.chars().take(160).collect::<String>())
            } else {
                e.clone()
            };
            t.row([sp.clone(), en.clone(), n.to_string(), e]);
        }
        doc.table(t);
    }
    if run.cells.is_empty() {
        doc.callout(
            Callout::Warning,
            "The run has no cells",
            "results.csv has a header but no rows.",
        );
    }

    // --- best per (space, engine)
    doc.heading(2, "Best silhouette per space and engine");
    doc.paragraph(
        "Each cell of the heat map is the highest silhouette over k (or over the parameter grid for engines without k) \
         of one engine in one space; blank = no successful cell. Higher is better; values near 0 mean overlapping clusters.",
    );
    let run_engines = run.engines();
    fn grid_of<'a>(cells: &'a [Cell], sp: &str, en: &str) -> Option<&'a Cell> {
        best(cells.iter().filter(|c| c.space == sp && c.engine == en))
    }
    let values: Vec<Vec<f64>> = spaces
        .iter()
        .map(|sp| {
            run_engines
                .iter()
                .map(|en| {
                    grid_of(&run.cells, sp, en)
                        .and_then(|c| c.silhouette)
                        .unwrap_or(f64::NAN)
                })
                .collect()
        })
        .collect();
    let mut hm = HeatMap::new(
        "Best silhouette",
        spaces.clone(),
        run_engines.clone(),
        values,
    );
    hm.width = 760;
    hm.height = (80 + 44 * spaces.len()).clamp(200, 520) as u32;
    doc.figure(
        "best-silhouette",
        hm.to_svg(),
        "Best silhouette per (space, engine).",
    );
    let mut cols = vec![
        "space",
        "engine",
        "k",
        "params",
        "silhouette",
        "Davies-Bouldin",
        "Calinski-Harabasz",
        "noise share",
        "cells",
        "failed",
        "fit s (all cells)",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    cols.extend(run.extra_cols.iter().cloned());
    let mut numeric = vec![
        false, false, true, false, true, true, true, true, true, true, true,
    ];
    numeric.extend(run.extra_cols.iter().map(|_| true));
    let mut t = Table::new(cols).numeric(numeric);
    for sp in &spaces {
        for en in &run_engines {
            let all: Vec<&Cell> = run
                .cells
                .iter()
                .filter(|c| &c.space == sp && &c.engine == en)
                .collect();
            if all.is_empty() {
                continue;
            }
            let b = best(all.iter().copied());
            let failed = all.iter().filter(|c| c.error.is_some()).count();
            let fit: f64 = all.iter().filter_map(|c| c.fit_seconds).sum();
            let mut row = vec![
                sp.clone(),
                en.clone(),
                b.and_then(Cell::x).map_or(String::new(), |k| k.to_string()),
                b.map_or(String::new(), |c| c.params.clone()),
                f4(b.and_then(|c| c.silhouette)),
                f3(b.and_then(|c| c.davies_bouldin)),
                b.and_then(|c| c.calinski_harabasz)
                    .map_or(String::new(), |v| fmt_fixed(v, 1)),
                f3(b.and_then(|c| c.noise_share)),
                all.len().to_string(),
                failed.to_string(),
                secs(Some(fit)),
            ];
            for x in &run.extra_cols {
                row.push(f3(b.and_then(|c| c.extra(x))));
            }
            t.row(row);
        }
    }
    t.caption = Some("The best cell (highest silhouette) of each (space, engine); extra columns of the results (e.g. stability) are shown for that cell.".into());
    doc.table(t);

    // --- stability columns
    if !run.extra_cols.is_empty() {
        doc.heading(2, "Stability and other added scores");
        doc.paragraph(
            "Columns found in results.csv beyond the standard ones. Stability columns are mean adjusted Rand indices (1 = the same \
             partition every time, 0 = chance): across seeds and across bootstrap resamples of the customers. \
             The heat maps show the value at the best-silhouette cell of each (space, engine).",
        );
        for x in &run.extra_cols {
            let values: Vec<Vec<f64>> = spaces
                .iter()
                .map(|sp| {
                    run_engines
                        .iter()
                        .map(|en| {
                            grid_of(&run.cells, sp, en)
                                .and_then(|c| c.extra(x))
                                .unwrap_or(f64::NAN)
                        })
                        .collect()
                })
                .collect();
            let mut hm = HeatMap::new(x.clone(), spaces.clone(), run_engines.clone(), values);
            if x.starts_with("stability") {
                // ARIs: a fixed scale, so runs are comparable by eye
                hm.range = Some((0.0, 1.0));
            }
            hm.width = 760;
            hm.height = (80 + 44 * spaces.len()).clamp(200, 520) as u32;
            doc.figure(
                format!("extra-{x}"),
                hm.to_svg(),
                format!("{x} at the best-silhouette cell per (space, engine)."),
            );
        }
        // against k: one chart per space, one line per (engine, column); the first column
        // solid, the others dashed. Columns of other scales than the first are not mixed in.
        let stab: Vec<&String> = run
            .extra_cols
            .iter()
            .filter(|x| x.starts_with("stability"))
            .collect();
        let line_cols: Vec<&String> = if stab.is_empty() {
            run.extra_cols.iter().take(1).collect()
        } else {
            stab
        };
        for sp in &spaces {
            let y_label = if line_cols.len() == 1 {
                line_cols[0].clone()
            } else {
                "stability (ARI)".to_string()
            };
            let mut chart = LineChart::new(format!("{y_label}: {sp}"), "k", y_label.clone());
            chart.integer_x = true;
            chart.width = 900;
            chart.height = 340;
            for en in &run_engines {
                for (ci, x) in line_cols.iter().enumerate() {
                    let mut pts: Vec<(f64, f64)> = run
                        .cells
                        .iter()
                        .filter(|c| &c.space == sp && &c.engine == en && c.k.is_some())
                        .filter_map(|c| Some((c.k? as f64, c.extra(x)?)))
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    if !pts.is_empty() {
                        let name = if line_cols.len() == 1 {
                            en.clone()
                        } else {
                            format!("{en} · {x}")
                        };
                        let mut s = Series::new(name, pts);
                        s.color = Some(engine_color(&engines, en));
                        s.dashed = ci > 0;
                        chart.series.push(s);
                    }
                }
            }
            if !chart.series.is_empty() {
                let cols_text = line_cols
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                doc.figure(
                    format!("extra-{sp}"),
                    chart.to_svg(),
                    format!("{cols_text} against k in the {sp} space (engines with k; first column solid, others dashed)."),
                );
            }
        }
    }

    // --- silhouette against k per space
    doc.heading(2, "Silhouette against k");
    doc.paragraph(match &args.baseline {
        None => "One chart per space, one line per engine. Engines without k (DBSCAN, HDBSCAN) are drawn as dots at the number of clusters they found.".to_string(),
        Some(_) => format!(
            "One chart per space, one line per engine: solid = this run, dashed with square markers = {base_name}. \
             Engines without k (DBSCAN, HDBSCAN) are drawn as dots at the number of clusters they found."
        ),
    });
    let mut kmax: usize = 2;
    for c in run.cells.iter().chain(base_cells.unwrap_or(&[]).iter()) {
        if c.k.is_some() {
            kmax = kmax.max(c.k.unwrap_or(2));
        }
    }
    for sp in &spaces {
        let mut chart = LineChart::new(format!("Silhouette: {sp}"), "k (clusters)", "silhouette");
        chart.integer_x = true;
        chart.width = 900;
        chart.height = 400;
        let mut off_chart: Vec<String> = Vec::new();
        let mut add =
            |chart: &mut LineChart, cells: &[Cell], en: &str, suffix: &str, dashed: bool| {
                let with_k: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| &c.space == sp && c.engine == en && c.k.is_some())
                    .collect();
                let without: Vec<&Cell> = cells
                    .iter()
                    .filter(|c| &c.space == sp && c.engine == en && c.k.is_none())
                    .collect();
                // engines without k: dots at k found, only within the k range of the chart
                let (group, markers_only): (Vec<&Cell>, bool) = if with_k.is_empty() {
                    (without, true)
                } else {
                    (with_k, false)
                };
                let mut pts: Vec<(f64, f64)> = group
                    .iter()
                    .filter_map(|c| {
                        let x = c.x()?;
                        if markers_only && x > kmax + 2 {
                            if let Some(sil) = c.silhouette {
                                off_chart.push(format!(
                                    "{en}{suffix} found {x} clusters (silhouette {})",
                                    fmt_fixed(sil, 4)
                                ));
                            }
                            return None;
                        }
                        Some((x as f64, c.silhouette?))
                    })
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
                if pts.is_empty() {
                    return;
                }
                let mut s = Series::new(format!("{en}{suffix}"), pts);
                s.dashed = dashed;
                s.markers_only = markers_only;
                s.color = Some(engine_color(&engines, en));
                chart.series.push(s);
            };
        for en in &engines {
            add(&mut chart, &run.cells, en, "", false);
            if let Some(b) = base_cells {
                add(&mut chart, b, en, &format!(" ({base_name})"), true);
            }
        }
        let n_ok = run
            .cells
            .iter()
            .filter(|c| &c.space == sp && c.silhouette.is_some())
            .count();
        let n_all = run.cells.iter().filter(|c| &c.space == sp).count();
        let mut caption = if n_all == 0 {
            format!("Space {sp}: no cells in this run.")
        } else {
            format!("Space {sp}: {n_ok} of {n_all} cells scored.")
        };
        if !off_chart.is_empty() {
            caption.push_str(&format!(
                " Beyond the k range of the chart: {}.",
                off_chart.join("; ")
            ));
        }
        doc.figure(format!("silhouette-{sp}"), chart.to_svg(), caption);
    }

    // --- scatter plots of the 2-D spaces
    doc.heading(2, format!("Clusters in the 2-D spaces (k = {})", args.k));
    doc.paragraph(format!(
        "Each 2-D space coloured by the clusters of ward with k = {k} (the study's choice, --k to change), or, where \
         that cell is missing, of the best cell at that k, or else of the best cell of an engine with k. Grey = noise.",
        k = args.k
    ));
    let mut any_2d = false;
    for sp in &spaces {
        let Some((ids, pts)) = read_space_2d(&run.dir, sp) else {
            continue;
        };
        any_2d = true;
        let in_space: Vec<&Cell> = run
            .cells
            .iter()
            .filter(|c| &c.space == sp && c.error.is_none())
            .collect();
        // ward at k, else the best engine at k, else the best cell with k, else the best cell
        let chosen = in_space
            .iter()
            .copied()
            .find(|c| c.engine == "ward" && c.k == Some(args.k))
            .or_else(|| best(in_space.iter().copied().filter(|c| c.k == Some(args.k))))
            .or_else(|| best(in_space.iter().copied().filter(|c| c.k.is_some())))
            .or_else(|| best(in_space.iter().copied()));
        let Some(chosen) = chosen else {
            doc.callout(
                Callout::Warning,
                format!("Space {sp}: no successful cell to colour by"),
                "",
            );
            continue;
        };
        let column = chosen
            .cell
            .strip_prefix(&format!("{sp}/"))
            .unwrap_or(&chosen.cell)
            .to_string();
        let labels = match read_labels(&run.dir, sp, &column) {
            Some((lid, l)) if lid == ids => l,
            Some(_) => {
                doc.callout(
                    Callout::Warning,
                    format!("Space {sp}: labels and coordinates list different customers"),
                    "",
                );
                continue;
            }
            None => {
                doc.callout(
                    Callout::Warning,
                    format!("Space {sp}: labels of {} not found", chosen.cell),
                    "",
                );
                continue;
            }
        };
        let mut sc = ScatterPlot::new(format!("{sp}: {column}"), pts, labels);
        sc.x_label = format!("{sp} 1");
        sc.y_label = format!("{sp} 2");
        sc.max_points = Some(8000);
        sc.height = 560;
        sc.width = 800;
        let k_note = if chosen.engine == "ward" && chosen.k == Some(args.k) {
            String::new()
        } else {
            format!(
                " (ward k = {} not in this run: the best cell at that k, or else the best cell with k, is shown)",
                args.k
            )
        };
        doc.figure(
            format!("scatter-{sp}"),
            sc.to_svg(),
            format!(
                "Space {sp} coloured by {}{k_note}; silhouette {}.",
                chosen.cell,
                f4(chosen.silhouette)
            ),
        );
    }
    if !any_2d {
        doc.callout(
            Callout::Note,
            "No 2-D space in this run",
            "spaces/*.csv with exactly two coordinates were not found.",
        );
    }

    // --- time
    doc.heading(2, "Time");
    let mut fit_by: Vec<f64> = Vec::new();
    let mut base_by: Vec<f64> = Vec::new();
    for en in &engines {
        let (mut a, mut b) = (None, None);
        for sp in &spaces {
            let ours: Vec<&Cell> = run
                .cells
                .iter()
                .filter(|c| &c.engine == en && &c.space == sp)
                .collect();
            let theirs: Vec<&Cell> = base_cells
                .unwrap_or(&[])
                .iter()
                .filter(|c| &c.engine == en && &c.space == sp)
                .collect();
            let (x, y, _) = paired_seconds(&ours, &theirs, python.is_some());
            if let Some(x) = x {
                a = Some(a.unwrap_or(0.0) + x);
            }
            if let Some(y) = y {
                b = Some(b.unwrap_or(0.0) + y);
            }
        }
        fit_by.push(a.unwrap_or(f64::NAN));
        base_by.push(b.unwrap_or(f64::NAN));
    }
    let mut bc = BarChart::new(
        "Fit + score seconds per engine (all spaces)",
        engines.clone(),
        run.name(),
        fit_by.clone(),
    );
    bc.horizontal = true;
    bc.value_label = "seconds".into();
    bc.value_decimals = Some(2);
    bc.height =
        (70 + 34 * engines.len() * if base_cells.is_some() { 2 } else { 1 }).clamp(180, 600) as u32;
    if base_cells.is_some() {
        bc = bc.with_series(base_name.clone(), base_by.clone());
    }
    doc.figure("time-per-engine", bc.to_svg(), if base_cells.is_some() {
        "Sum of fit and score seconds per engine over the cells present in both runs (same space, engine and k; engines without k: all their cells). Score time is shared per space and split evenly over its cells."
    } else {
        "Sum of fit and score seconds over the cells of each engine. Score time is shared per space and split evenly over its cells."
    });
    if let Some(t) = m["timings_seconds"].as_object() {
        let mut tt = Table::new(["stage", "seconds"]).numeric(vec![false, true]);
        for (k, v) in t {
            tt.row([k.clone(), secs(v.as_f64())]);
        }
        tt.caption = Some("Stage timings from manifest.json (wall clock).".into());
        doc.table(tt);
    }

    // --- baseline comparison
    if let Some(b) = base_cells {
        comparison(
            &mut doc,
            &run,
            b,
            &base_name,
            &spaces,
            &engines,
            python.is_some(),
        );
    }

    // --- all cells
    doc.heading(2, "All cells");
    let mut cols: Vec<String> = [
        "cell",
        "k found",
        "silhouette",
        "DB",
        "CH",
        "noise",
        "fit s",
        "error",
    ]
    .map(String::from)
    .to_vec();
    cols.splice(7..7, run.extra_cols.iter().cloned());
    let mut numeric = vec![false, true, true, true, true, true, true];
    numeric.extend(run.extra_cols.iter().map(|_| true));
    numeric.push(false);
    let mut t = Table::new(cols).numeric(numeric);
    for c in &run.cells {
        let mut row = vec![
            c.cell.clone(),
            c.k_found.map_or(String::new(), |k| k.to_string()),
            f4(c.silhouette),
            f3(c.davies_bouldin),
            c.calinski_harabasz
                .map_or(String::new(), |v| fmt_fixed(v, 1)),
            f3(c.noise_share),
            secs(c.fit_seconds),
        ];
        for x in &run.extra_cols {
            row.push(f3(c.extra(x)));
        }
        row.push(c.error.clone().unwrap_or_default());
        t.row(row);
    }
    doc.table(t);
    Ok(doc)
}

/// The comparison against a baseline run or the Python grid.
fn comparison(
    doc: &mut Document,
    run: &Run,
    base: &[Cell],
    base_name: &str,
    spaces: &[String],
    engines: &[String],
    python: bool,
) {
    doc.heading(2, format!("Against {base_name}"));
    doc.paragraph(format!(
        "Cells are matched by (space, engine, k){}. Δ = this run − {base_name}: a positive Δ silhouette means this run \
         found better-separated clusters; the time ratio (this / {base_name}) is over the matched cells only, below 1 = this run is faster. \
         Engines without k are compared by their best cell and the time of all their cells.",
        if python { "" } else { " and parameters" }
    ));
    let key = |c: &Cell| match_key(c, python);
    let base_map: BTreeMap<_, &Cell> = base
        .iter()
        .filter(|c| c.k.is_some() || !python)
        .map(|c| (key(c), c))
        .collect();
    let mut t = Table::new([
        "space",
        "engine",
        "matched ks",
        "mean Δ silhouette",
        "max |Δ silhouette|",
        "best (this)",
        "best (base)",
        "Δ best",
        "seconds (this)",
        "seconds (base)",
        "time ratio",
    ])
    .numeric(vec![
        false, false, true, true, true, true, true, true, true, true, true,
    ]);
    let mut delta_best: Vec<Vec<f64>> = Vec::new();
    let mut parity: Vec<(String, usize, f64)> = Vec::new();
    for sp in spaces {
        let mut row_d = Vec::new();
        for en in engines {
            let ours: Vec<&Cell> = run
                .cells
                .iter()
                .filter(|c| &c.space == sp && &c.engine == en)
                .collect();
            let theirs: Vec<&Cell> = base
                .iter()
                .filter(|c| &c.space == sp && &c.engine == en)
                .collect();
            if ours.is_empty() && theirs.is_empty() {
                row_d.push(f64::NAN);
                continue;
            }
            let mut deltas = Vec::new();
            for c in &ours {
                if python && c.k.is_none() {
                    continue;
                }
                if let Some(b) = base_map.get(&key(c))
                    && let (Some(x), Some(y)) = (c.silhouette, b.silhouette)
                {
                    deltas.push(x - y);
                }
            }
            let bo = best(ours.iter().copied()).and_then(|c| c.silhouette);
            let bt = best(theirs.iter().copied()).and_then(|c| c.silhouette);
            let db = match (bo, bt) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            };
            row_d.push(db.unwrap_or(f64::NAN));
            let (so, st, _) = paired_seconds(&ours, &theirs, python);
            let mean =
                (!deltas.is_empty()).then(|| deltas.iter().sum::<f64>() / deltas.len() as f64);
            let maxabs =
                (!deltas.is_empty()).then(|| deltas.iter().fold(0.0f64, |m, d| m.max(d.abs())));
            if en == "ward" && (sp == "features" || sp == "pca") && !deltas.is_empty() {
                parity.push((sp.clone(), deltas.len(), maxabs.unwrap_or(f64::NAN)));
            }
            t.row([
                sp.clone(),
                en.clone(),
                deltas.len().to_string(),
                mean.map_or(String::new(), |v| signed(v, 4)),
                maxabs.map_or(String::new(), |v| {
                    if v < 1e-3 {
                        format!("{v:.1e}")
                    } else {
                        fmt_fixed(v, 4)
                    }
                }),
                f4(bo),
                f4(bt),
                db.map_or(String::new(), |v| signed(v, 4)),
                secs(so),
                secs(st),
                match (so, st) {
                    (Some(a), Some(b)) if a > 0.0 && b > 0.0 => fmt_fixed(a / b, 3),
                    _ => String::new(),
                },
            ]);
        }
        delta_best.push(row_d);
    }
    let mut hm = HeatMap::new(
        format!("Δ best silhouette (this − {base_name})"),
        spaces.to_vec(),
        engines.to_vec(),
        delta_best,
    );
    hm.scale = ColorScale::Diverging;
    hm.width = 760;
    hm.height = (80 + 44 * spaces.len()).clamp(200, 520) as u32;
    doc.figure("delta-best-silhouette", hm.to_svg(), format!("Difference of the best silhouette per (space, engine): red = this run higher, blue = {base_name} higher, white = equal, blank = missing on one side."));
    doc.table(t);
    if python {
        for (sp, n, maxabs) in parity {
            doc.callout(
                Callout::verdict(maxabs <= 1e-6),
                format!("Ward silhouettes in the {sp} space equal the Python grid within 1e-6"),
                format!(
                    "{n} matched ks, max |Δ| = {maxabs:.2e}. (Meaningful only for a run on the study's data, the real Online Retail file.)"
                ),
            );
        }
    }
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
mod tests {
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
        assert!(html.contains("<td>pca</td><td>ward</td><td class=\"num\">2</td><td></td><td class=\"num\">0.6100</td>"));
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
        assert!(html.contains(
            "<span class=\"label\">TRUE</span><strong>Ward silhouettes in the pca space"
        ));
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
}
