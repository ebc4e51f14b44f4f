//! The grid over data sets of the `datasets/` registry: matrix data sets with reference labels
//! (the clustbench batteries) here, and the customer data sets (the real data, the synthetic
//! shops) through the customer pipeline ([`crate::customer_sets`]), in one run. On a matrix
//! data set, every engine of the grid configuration on every data set's points,
//! at the data set's true k(s) and over the grid's k range, scored with the internal scores
//! (silhouette, Davies-Bouldin, Calinski-Harabasz) and the external ones (ARI, NMI, NCA:
//! noise points of the reference left out, best over the reference labellings with that k),
//! beside the labels other implementations published for the suite, scored the same way.
//!
//! `insiders grid --datasets clustbench/fcps,clustbench/sipu,clustbench/wut` (or
//! `datasets = [...]` in the grid configuration; `grid-datasets.toml` is the battery grid).
//!
//! - **Points:** the suite's "original" preprocessing without its random jitter: columns of
//!   zero variance dropped, every column centred, everything divided by the standard
//!   deviation of all values (one number, so distances keep their shape). The published
//!   results were computed on the same preprocessing plus white noise of 1e-6 standard
//!   deviations, which only breaks ties (see `docs/benchmarks.md`).
//! - **Cells:** space = the data set id, `dataset` = the same id, `origin` = `ours` or
//!   `published` (then `engine` is the method variant, e.g. `Genie_G0.3`, and there is no
//!   fit time). A cell at a true k is scored against the references with that k (`true_k`
//!   = true); a cell at another k, or of an engine without k, against all of them.
//! - **Seeds:** each cell's seed is derived from the master seed and its id, as in the grid
//!   over the customer table.
//! - Data sets with more than `max_points` points are skipped (listed in the manifest); a
//!   data set that cannot be read gives one failed cell per engine, with the reason.

use crate::GridError;
use crate::config::{EngineSpec, GridConfig, cell_id, cell_seed, param_points, params_text};
use crate::results::{self, Cell};
use crate::run::{GridArgs, Lap, StageClock, diagnostics, fit_row, run_folder};
use insiders_core::Matrix;
use insiders_datasets::{Data, Kind, Registry, clustbench};
use insiders_eval::{ExternalScores, reference_k, reference_scores};
use insiders_ingest::write_atomic;
use std::collections::BTreeMap;
use std::time::Instant;

/// Data sets with more points are skipped unless the configuration says otherwise.
pub const DEFAULT_MAX_POINTS: usize = 10_000;
/// `origin` of our engines' cells.
pub const OURS: &str = "ours";
/// `origin` of the cells of published labels.
pub const PUBLISHED: &str = "published";

/// The suite's "original" preprocessing without the jitter: zero-variance columns dropped,
/// columns centred, all divided by the population standard deviation of all values.
pub fn preprocess(x: &Matrix) -> Matrix {
    let (n, d) = x.dim();
    let nf = n.max(1) as f64;
    let mut keep = Vec::new();
    let mut means = Vec::new();
    for j in 0..d {
        let col = x.column(j);
        let mean = col.iter().sum::<f64>() / nf;
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / nf;
        if var > 0.0 {
            keep.push(j);
            means.push(mean);
        }
    }
    let mut out = Matrix::zeros((n, keep.len()));
    let mut ss = 0.0;
    for (c, (&j, &m)) in keep.iter().zip(&means).enumerate() {
        for i in 0..n {
            let v = x[[i, j]] - m;
            out[[i, c]] = v;
            ss += v * v;
        }
    }
    let sd = (ss / (nf * keep.len().max(1) as f64)).sqrt();
    if sd > 0.0 {
        out.mapv_inplace(|v| v / sd);
    }
    out
}

/// The registry ids selected by `selectors` (an id, or a prefix such as `clustbench/fcps`),
/// in registry order, without repeats: matrix data sets with reference labels and customer
/// data sets (`online-retail`, the synthetic shops).
///
/// # Errors
/// A selector that matches no such data set (the message says what it names instead, if
/// anything, e.g. `cdnow`'s purchase lines).
pub fn select(reg: &Registry, selectors: &[String]) -> Result<Vec<String>, GridError> {
    let mut out: Vec<String> = Vec::new();
    for sel in selectors {
        let sel = sel.trim_end_matches('/');
        let matched: Vec<String> = reg
            .entries()
            .iter()
            .filter(|e| {
                matches!(e.kind, Kind::Clustbench { .. })
                    || crate::customer_sets::is_customer(&e.kind)
            })
            .filter(|e| e.id == sel || e.id.starts_with(&format!("{sel}/")))
            .map(|e| e.id.clone())
            .collect();
        if matched.is_empty() {
            let why = match reg.get(sel) {
                Ok(e) if matches!(e.kind, Kind::Clustbench { .. }) => {
                    // A well-formed clustbench id that is not on disk: run it, it fails
                    // naming the missing file.
                    out.push(e.id);
                    continue;
                }
                Ok(e) => format!(
                    "`{sel}` holds {}: the grid runs over points with reference labels and over shops' invoice lines",
                    e.holds()
                ),
                Err(e) => format!("no data set matches `{sel}`: {e}"),
            };
            return Err(GridError::Invalid(why));
        }
        for id in matched {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// The best external scores of `labels` over the references with `k` clusters (`true_k`
/// = true), or over all references when none has k or k is not given.
pub(crate) fn external(
    refs: &[clustbench::Labelling],
    k: Option<usize>,
    labels: &[Option<u32>],
) -> (Option<bool>, Option<ExternalScores>) {
    let at_k: Vec<&clustbench::Labelling> = refs
        .iter()
        .filter(|r| k.is_some_and(|k| reference_k(r) == k))
        .collect();
    let (true_k, chosen) = if at_k.is_empty() {
        (k.map(|_| false), refs.iter().collect())
    } else {
        (Some(true), at_k)
    };
    let mut best: Option<ExternalScores> = None;
    for r in chosen {
        if let Ok(s) = reference_scores(r, labels) {
            best = Some(match best {
                None => s,
                Some(b) => ExternalScores {
                    ari: b.ari.max(s.ari),
                    nmi: b.nmi.max(s.nmi),
                    nca: b.nca.max(s.nca),
                },
            });
        }
    }
    (true_k, best)
}

/// One engine row of the plan: engine, parameter point.
struct Job<'a> {
    engine: &'a EngineSpec,
    params: toml::Table,
    needs_k: bool,
}

/// What one data set contributed.
struct DatasetOut {
    cells: Vec<Cell>,
    info: serde_json::Value,
}

/// What every data set of a run shares.
struct Ctx<'a> {
    root: &'a std::path::Path,
    jobs: &'a [Job<'a>],
    cfg: &'a GridConfig,
    grid_ks: &'a [usize],
    out: &'a std::path::Path,
}

/// Fits, scores and records every cell of one data set (already loaded).
fn run_one(
    ctx: &Ctx<'_>,
    id: &str,
    b: &clustbench::Benchmark,
    clock: &mut StageClock,
) -> Result<DatasetOut, GridError> {
    let Ctx {
        jobs,
        cfg,
        grid_ks,
        out,
        ..
    } = *ctx;
    let x = preprocess(&b.points);
    let n = x.nrows();
    let mut true_ks: Vec<usize> = b.labels.iter().map(|l| reference_k(l)).collect();
    true_ks.sort_unstable();
    true_ks.dedup();
    let mut ks: Vec<usize> = true_ks.iter().chain(grid_ks).copied().collect();
    ks.sort_unstable();
    ks.dedup();
    ks.retain(|&k| k >= 1 && k <= n);
    let mut fitted: Vec<(Cell, Option<Vec<Option<u32>>>)> = Vec::new();
    for j in jobs {
        let e_name = &j.engine.name;
        let engine = insiders_engines::build(e_name, &j.params);
        let klist: Vec<Option<usize>> = if j.needs_k {
            ks.iter().map(|&k| Some(k)).collect()
        } else {
            vec![None]
        };
        let ids: Vec<String> = klist
            .iter()
            .map(|&k| cell_id(id, e_name, &j.params, k))
            .collect();
        let seeds: Vec<u64> = ids.iter().map(|c| cell_seed(cfg.seed, c)).collect();
        let lap = Lap::start();
        let results = fit_row(&engine, x.view(), &klist, &seeds, false);
        clock.add(format!("fit/{e_name}"), &lap);
        for (((&k, cid), &seed), (r, secs)) in klist.iter().zip(&ids).zip(&seeds).zip(results) {
            let mut c = Cell::failed(cid, id, e_name, &params_text(&j.params), k, seed, "".into());
            c.error = None;
            c.dataset = id.to_string();
            c.origin = OURS.into();
            c.fit_seconds = Some(secs);
            match r {
                Ok(p) => {
                    c.k_found = Some(p.n_clusters());
                    c.noise_share = Some(p.n_noise() as f64 / p.labels.len().max(1) as f64);
                    c.diagnostics = diagnostics(&p.diag);
                    fitted.push((c, Some(p.labels)));
                }
                Err(e) => {
                    c.error = Some(e);
                    fitted.push((c, None));
                }
            }
        }
    }
    // The published labels of other implementations at their k.
    let (battery, name) = battery_and_name(id);
    let published = match clustbench::results(ctx.root, battery, name, n) {
        Ok(r) => r,
        Err(e) => {
            let cid = format!("{id}/published");
            let mut c = Cell::failed(&cid, id, PUBLISHED, "", None, 0, format!("{e}"));
            c.dataset = id.to_string();
            c.origin = PUBLISHED.into();
            fitted.push((c, None));
            Vec::new()
        }
    };
    {
        for r in published {
            for (variant, labels) in r.variants.iter().zip(r.labels) {
                let cid = format!("{id}/{variant}/k{}", r.k);
                let mut c = Cell::failed(&cid, id, variant, "", Some(r.k), 0, "".into());
                c.error = None;
                c.dataset = id.to_string();
                c.origin = PUBLISHED.into();
                let parts: Vec<Option<usize>> =
                    labels.iter().map(|l| l.map(|v| v as usize)).collect();
                let p = insiders_core::Partition::from_raw(&parts, Default::default());
                c.k_found = Some(p.n_clusters());
                c.noise_share = Some(p.n_noise() as f64 / n.max(1) as f64);
                fitted.push((c, Some(p.labels)));
            }
        }
    }
    // Score every labelling: external scores, then the internal ones together.
    let lap = Lap::start();
    for (c, labels) in &mut fitted {
        if let Some(l) = labels {
            let (t, s) = external(&b.labels, c.k, l);
            c.true_k = t;
            if let Some(s) = s {
                c.ari = Some(s.ari);
                c.nmi = Some(s.nmi);
                c.nca = Some(s.nca);
            }
        }
    }
    let with: Vec<usize> = (0..fitted.len())
        .filter(|&i| fitted[i].1.is_some())
        .collect();
    let labellings: Vec<&[Option<u32>]> = with
        .iter()
        .filter_map(|&i| fitted[i].1.as_deref())
        .collect();
    let sils = if labellings.is_empty() {
        Vec::new()
    } else {
        insiders_eval::silhouette_each(x.view(), &labellings)?
    };
    let mut scores = Vec::new();
    for (w, &i) in with.iter().enumerate() {
        if let Some(l) = fitted[i].1.as_deref() {
            scores.push((
                i,
                sils[w].as_ref().ok().copied(),
                insiders_eval::davies_bouldin(x.view(), l).ok(),
                insiders_eval::calinski_harabasz(x.view(), l).ok(),
            ));
        }
    }
    let secs = clock.add("score", &lap);
    let per = secs / with.len().max(1) as f64;
    for (i, sil, db, ch) in scores {
        let c = &mut fitted[i].0;
        c.silhouette = sil;
        c.davies_bouldin = db;
        c.calinski_harabasz = ch;
        c.score_seconds = Some(per);
    }
    // Labels of every cell: one column per cell, one row per point.
    let mut header = vec!["point".to_string()];
    let mut columns: Vec<Vec<i64>> = Vec::new();
    for (c, l) in &fitted {
        if let Some(l) = l {
            header.push(c.cell.trim_start_matches(&format!("{id}/")).to_string());
            columns.push(l.iter().map(|v| v.map_or(-1, i64::from)).collect());
        }
    }
    let mut text = header.join(",");
    text.push('\n');
    for r in 0..n {
        text.push_str(&r.to_string());
        for col in &columns {
            text.push(',');
            text.push_str(&col[r].to_string());
        }
        text.push('\n');
    }
    write_atomic(
        &out.join("labels")
            .join(format!("{}.csv", id.replace('/', "__"))),
        text.as_bytes(),
    )?;
    let info = serde_json::json!({
        "points": n,
        "dims": x.ncols(),
        "references": b.labels.len(),
        "true_ks": true_ks,
        "noise_points": (0..b.labels.len()).map(|j| b.noise(j)).collect::<Vec<_>>(),
    });
    Ok(DatasetOut {
        cells: fitted.into_iter().map(|(c, _)| c).collect(),
        info,
    })
}

/// One failed cell per engine row of a data set that could not be read or prepared.
fn failed_cells(id: &str, jobs: &[Job<'_>], cfg: &GridConfig, e: &str) -> Vec<Cell> {
    jobs.iter()
        .map(|j| {
            let cid = cell_id(id, &j.engine.name, &j.params, None);
            let mut c = Cell::failed(
                &cid,
                id,
                &j.engine.name,
                &params_text(&j.params),
                None,
                cfg.seed,
                format!("data set failed: {e}"),
            );
            c.dataset = id.to_string();
            c.origin = OURS.into();
            c
        })
        .collect()
}

/// The clustbench battery and name of an id (`clustbench/<battery>/<name>`).
fn battery_and_name(id: &str) -> (&str, &str) {
    let mut p = id.splitn(3, '/').skip(1);
    (p.next().unwrap_or_default(), p.next().unwrap_or_default())
}

/// Runs the grid over the configuration's `datasets` (already overridden by `--datasets`);
/// returns the run folder.
pub fn run(args: &GridArgs, cfg: &GridConfig) -> Result<std::path::PathBuf, GridError> {
    let t_all = Instant::now();
    let lap_all = Lap::start();
    let reg = Registry::at(&crate::shared_dir());
    let ids = select(&reg, &cfg.datasets)?;
    let max_points = cfg.max_points.unwrap_or(DEFAULT_MAX_POINTS);
    let grid_ks: Vec<usize> = if args.true_k_only {
        Vec::new()
    } else if args.quick && !cfg.quick_ks.is_empty() {
        cfg.quick_ks.clone()
    } else {
        (cfg.k_min..=cfg.k_max).collect()
    };
    let mut jobs = Vec::new();
    for e in crate::run::only(&cfg.engines, &args.only_engines, |e| &e.name) {
        for p in param_points(e)? {
            let needs_k = insiders_engines::build(&e.name, &p).is_ok_and(|b| b.caps().needs_k);
            jobs.push(Job {
                engine: e,
                params: p,
                needs_k,
            });
        }
    }
    if jobs.is_empty() {
        return Err(GridError::Invalid("--only selects no engine".into()));
    }
    let out = run_folder(args);
    let root = reg.clustbench_root();
    let bar = crate::progress_bar(ids.len() as u64);
    let mut clock = StageClock::default();
    let mut cells = Vec::new();
    let mut info = BTreeMap::new();
    let mut skipped = Vec::new();
    let pipeline = crate::customer_sets::pipeline(args)?;
    let range: Vec<usize> = if args.quick && !cfg.quick_ks.is_empty() {
        cfg.quick_ks.clone()
    } else {
        (cfg.k_min..=cfg.k_max).collect()
    };
    let shared = crate::customer_sets::Shared {
        args,
        cfg,
        pipeline: &pipeline,
        range: &range,
        max_points,
        out: &out,
    };
    let mut customer_sets = 0;
    for id in &ids {
        bar.set_message(id.clone());
        if let Ok(entry) = reg.get(id)
            && crate::customer_sets::is_customer(&entry.kind)
        {
            customer_sets += 1;
            use crate::customer_sets::Outcome;
            match crate::customer_sets::run_one(&shared, &entry) {
                Ok(Outcome::Ran {
                    cells: c,
                    info: i,
                    clock: k,
                }) => {
                    cells.extend(c);
                    info.insert(id.clone(), i);
                    for (stage, v) in k.wall {
                        *clock.wall.entry(stage).or_insert(0.0) += v;
                    }
                    for (stage, v) in k.cpu {
                        *clock.cpu.entry(stage).or_insert(0.0) += v;
                    }
                }
                Ok(Outcome::Skipped(n)) => skipped.push(serde_json::json!({"dataset": id,
                    "points": n, "reason": format!("more than max_points = {max_points} customers")})),
                Err(e) => cells.extend(failed_cells(id, &jobs, cfg, &e.to_string())),
            }
            bar.inc(1);
            continue;
        }
        let loaded = reg.get(id).and_then(|e| e.load());
        match loaded {
            Ok(Data::Points(b)) if b.points.nrows() > max_points => {
                skipped.push(
                    serde_json::json!({"dataset": id, "points": b.points.nrows(),
                    "reason": format!("more than max_points = {max_points} points")}),
                );
            }
            Ok(Data::Points(b)) => {
                let ctx = Ctx {
                    root: &root,
                    jobs: &jobs,
                    cfg,
                    grid_ks: &grid_ks,
                    out: &out,
                };
                let r = run_one(&ctx, id, &b, &mut clock)?;
                cells.extend(r.cells);
                info.insert(id.clone(), r.info);
            }
            Ok(_) => return Err(GridError::Invalid(format!("{id} holds no points"))),
            Err(e) => cells.extend(failed_cells(id, &jobs, cfg, &e.to_string())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    clock.add("total", &lap_all);
    results::write(&out, &cells)?;
    let config_path = args
        .config
        .as_ref()
        .map_or("built-in grid.toml".to_string(), |p| {
            p.display().to_string()
        });
    let pipeline_path = match (&args.pipeline, customer_sets) {
        (_, 0) => "(none: matrix data sets)".to_string(),
        (Some(p), _) => format!("study preset with {} laid over it", p.display()),
        (None, _) => "study preset".to_string(),
    };
    let mut manifest = crate::manifest::manifest(
        cfg,
        &config_path,
        &pipeline_path,
        &format!("data sets: {}", cfg.datasets.join(", ")),
        &clock.wall,
        &BTreeMap::new(),
        args.quick,
    );
    manifest["cpu_seconds"] = serde_json::json!(clock.cpu);
    manifest["datasets"] = serde_json::json!(info);
    manifest["skipped"] = serde_json::json!(skipped);
    manifest["true_k_only"] = serde_json::Value::Bool(args.true_k_only);
    manifest["preprocessing"] = serde_json::json!(
        "zero-variance columns dropped, columns centred, divided by the global standard deviation (no jitter)"
    );
    let text = serde_json::to_string_pretty(&manifest).map_err(|source| GridError::Json {
        path: out.join("manifest.json"),
        source,
    })?;
    write_atomic(&out.join("manifest.json"), text.as_bytes())?;
    println!(
        "{} cells ({} failed) on {} data sets ({} skipped) in {:.2} s -> {}",
        cells.len(),
        cells.iter().filter(|c| c.error.is_some()).count(),
        info.len(),
        skipped.len(),
        t_all.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preprocessing_drops_constant_columns_and_scales_by_one_global_sd() {
        let x = Matrix::from_shape_vec(
            (4, 3),
            vec![1.0, 5.0, 2.0, 3.0, 5.0, 2.0, 5.0, 5.0, 6.0, 7.0, 5.0, 6.0],
        )
        .unwrap();
        let p = preprocess(&x);
        assert_eq!(p.dim(), (4, 2));
        // Centred columns: [-3, -1, 1, 3] and [-2, -2, 2, 2]; all 8 values have mean 0 and
        // variance (9 + 1 + 1 + 9 + 4 * 4) / 8 = 4.5.
        let sd = 4.5f64.sqrt();
        assert!((p[[0, 0]] + 3.0 / sd).abs() < 1e-15);
        assert!((p[[3, 1]] - 2.0 / sd).abs() < 1e-15);
    }

    #[test]
    fn external_scores_use_the_references_with_the_cells_k() {
        let r2: clustbench::Labelling = vec![Some(1), Some(1), Some(2), Some(2), None];
        let r3: clustbench::Labelling = vec![Some(1), Some(2), Some(3), Some(3), Some(3)];
        let refs = [r2, r3];
        let at2 = [Some(0), Some(0), Some(1), Some(1), Some(1)];
        let (t, s) = external(&refs, Some(2), &at2);
        assert_eq!(t, Some(true));
        assert_eq!(s.unwrap().ari, 1.0); // against r2 without its noise point
        let (t, s) = external(&refs, Some(4), &at2);
        assert_eq!(t, Some(false)); // no reference with 4 clusters: all, best
        assert_eq!(s.unwrap().ari, 1.0);
        let (t, _) = external(&refs, None, &at2);
        assert_eq!(t, None);
    }
}
