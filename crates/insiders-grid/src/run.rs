//! Running a grid: the model matrix from the one pipeline, every space built once, every
//! cell of it fitted and scored, and the run folder written (`results.csv`/`.json`,
//! `labels/`, `spaces/`, `manifest.json`).

use crate::GridError;
use crate::cell_stability::{self, StabilityConfig};
use crate::config::{
    EngineSpec, GridConfig, SpaceSpec, cell_id, cell_seed, param_points, params_text,
};
use crate::results::{self, Cell};
use insiders_core::{Matrix, Partition, derive_seed, process_cpu_seconds};
use insiders_ingest::write_atomic;
use insiders_pipeline::{Config, Source};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct GridArgs {
    /// The grid configuration; `None`: the built-in default grid (the repository's
    /// `grid.toml`).
    pub config: Option<PathBuf>,
    /// The pipeline configuration (`insiders.toml`: input, cleaning, features, scaler);
    /// `None`: the defaults (the repository's `insiders.toml`).
    pub pipeline: Option<PathBuf>,
    /// The invoice lines (files or patterns, read as one table in name order, see
    /// `insiders_pipeline::Source::from_paths`); none: the pipeline's built-in synthetic shop.
    pub data: Vec<PathBuf>,
    pub quick: bool,
    pub only_spaces: Vec<String>,
    pub only_engines: Vec<String>,
    pub out: Option<PathBuf>,
    /// `--stability` (Some(true)) / `--no-stability` (Some(false)); None = the config's.
    pub stability: Option<bool>,
    /// `--serial`: spaces one after another and the cells of a row one at a time, so that
    /// each stage's CPU seconds can be attributed (profiling). By default spaces and cells
    /// run concurrently; the results are the same bits either way.
    pub serial: bool,
    /// `--datasets`: matrix data sets of the registry to run over instead of the customer
    /// table (ids or prefixes; overrides the configuration's `datasets`).
    pub datasets: Vec<String>,
    /// `--true-k-only`: on matrix data sets, only the true k(s) of each data set, not the
    /// grid's k range too.
    pub true_k_only: bool,
}

/// A silhouette, with its standard error and points scored when sampled.
type Sil = (f64, Option<(f64, usize)>);

/// A scored cell: (index, silhouette, its standard error and points when sampled,
/// Davies-Bouldin, Calinski-Harabasz, score error).
type Scored = (
    usize,
    Option<f64>,
    Option<(f64, usize)>,
    Option<f64>,
    Option<f64>,
    Option<String>,
);

/// The start of a timed stage: wall clock and process CPU time.
#[derive(Debug)]
pub struct Lap {
    t: Instant,
    cpu: f64,
}

impl Lap {
    /// Starts timing.
    pub fn start() -> Self {
        Lap {
            t: Instant::now(),
            cpu: process_cpu_seconds(),
        }
    }
}

/// Wall and CPU seconds per stage (stages of the same name add up).
#[derive(Debug, Default)]
pub struct StageClock {
    /// Wall-clock seconds per stage.
    pub wall: BTreeMap<String, f64>,
    /// Process CPU seconds (user + system, all threads) per stage.
    pub cpu: BTreeMap<String, f64>,
}

impl StageClock {
    /// Adds the time since `lap` to stage `name`; returns the wall seconds of this lap.
    pub fn add(&mut self, name: impl Into<String>, lap: &Lap) -> f64 {
        let name = name.into();
        let wall = lap.t.elapsed().as_secs_f64();
        let cpu = (process_cpu_seconds() - lap.cpu).max(0.0);
        *self.wall.entry(name.clone()).or_insert(0.0) += wall;
        *self.cpu.entry(name).or_insert(0.0) += cpu;
        wall
    }
}

/// The model matrix of the grid: the pipeline's customer table and scaling, with the
/// grid's `features` when it names them. Returns (customer ids, feature names, matrix).
pub fn model_matrix(
    source: &Source,
    pipeline: &Config,
    features: Option<&[String]>,
) -> Result<(Vec<String>, Vec<String>, Matrix), GridError> {
    let mut cfg = pipeline.clone();
    if let Some(f) = features {
        cfg.features.selected = f.to_vec();
    }
    let p = insiders_pipeline::prepare(source, &cfg, &|_| {})?;
    let m = insiders_pipeline::model_matrix(&p.table, &cfg)?;
    Ok((m.ids, m.names, m.x))
}

/// Builds a space from the model matrix (`names` are its columns): the one rule of
/// [`insiders_embed::fit_space`] (a supervised method predicts the spec's `target`).
pub fn build_space(
    spec: &SpaceSpec,
    names: &[String],
    x: &Matrix,
    seed: u64,
) -> Result<(Matrix, BTreeMap<String, f64>), GridError> {
    let e = insiders_embed::fit_space(
        &spec.method,
        &spec.params,
        names,
        x,
        spec.target.as_deref(),
        seed,
    )?;
    Ok((e.coords, e.info))
}

pub(crate) fn run_folder(args: &GridArgs) -> PathBuf {
    if let Some(o) = &args.out {
        return o.clone();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let stamp = insiders_ingest::date::format_timestamp(now).replace([' ', ':'], "-");
    Path::new("runs").join(format!("grid-{stamp}"))
}

/// The `items` named in `only` (`--only space=...,engine=...`), or all when it is empty.
pub(crate) fn only<'a, T>(
    items: &'a [T],
    only: &[String],
    name: impl Fn(&T) -> &String,
) -> Vec<&'a T> {
    items
        .iter()
        .filter(|x| only.is_empty() || only.contains(name(x)))
        .collect()
}

/// Runs the grid; returns the run folder.
pub fn run(args: &GridArgs) -> Result<PathBuf, GridError> {
    let t_all = Instant::now();
    let lap_all = Lap::start();
    let mut cfg = GridConfig::load(args.config.as_deref())?;
    if !args.datasets.is_empty() {
        cfg.datasets = args.datasets.clone();
    }
    if !cfg.datasets.is_empty() {
        return crate::datasets::run(args, &cfg);
    }
    // The study's pipeline (the Python grid's: the canonical five features, min-max), with
    // a --pipeline file's keys laid over it.
    let study = Config::preset("study")?;
    let pipeline = match &args.pipeline {
        Some(p) => Config::load_over(&study, p)?,
        None => study,
    };
    let ks: Vec<usize> = if args.quick && !cfg.quick_ks.is_empty() {
        cfg.quick_ks.clone()
    } else {
        (cfg.k_min..=cfg.k_max).collect()
    };
    let spaces = only(&cfg.spaces, &args.only_spaces, |s| &s.name);
    let engines = only(&cfg.engines, &args.only_engines, |e| &e.name);
    if spaces.is_empty() || engines.is_empty() {
        return Err(GridError::Invalid(
            "--only selects no space or no engine".into(),
        ));
    }
    let mut stability = cfg.stability.clone();
    if let Some(on) = args.stability {
        stability.enabled = on;
    }
    let source = Source::from_paths(&args.data)?;
    let mut clock = StageClock::default();
    let lap = Lap::start();
    let (ids, names, x) = model_matrix(&source, &pipeline, cfg.features.as_deref())?;
    clock.add("features", &lap);
    // The grid at scale: above [sample] max_rows customers, a seeded sample of them.
    let customers = x.nrows();
    let sample_seed = cell_seed(cfg.seed, "sample");
    let (ids, x) = if cfg.sample.max_rows > 0 && customers > cfg.sample.max_rows {
        let rows =
            insiders_engines::assign::sample_rows(customers, cfg.sample.max_rows, sample_seed);
        let ids: Vec<String> = rows.iter().map(|&i| ids[i].clone()).collect();
        (ids, x.select(ndarray::Axis(0), &rows))
    } else {
        (ids, x)
    };
    // The manifest records the features the grid scored.
    cfg.features = Some(names.clone());
    let (spaces, engines): (Vec<SpaceSpec>, Vec<EngineSpec>) = (
        spaces.into_iter().cloned().collect(),
        engines.into_iter().cloned().collect(),
    );
    let spaces: Vec<&SpaceSpec> = spaces.iter().collect();
    let engines: Vec<&EngineSpec> = engines.iter().collect();

    // Plan the cells.
    let (jobs, n_cells) = plan(&engines, &ks)?;
    let total = (n_cells * spaces.len()) as u64;
    let bar = crate::progress_bar(total);

    let out = run_folder(args);
    let ctx = SpaceCtx {
        cfg: &cfg,
        names: &names,
        jobs: &jobs,
        engines: &engines,
        x: &x,
        ids: &ids,
        out: &out,
        bar: &bar,
        stability: &stability,
        serial: args.serial,
        prefix: None,
        reference: None,
    };
    let results: Vec<Result<SpaceOut, GridError>> = if args.serial {
        spaces.iter().map(|s| run_space(&ctx, s)).collect()
    } else {
        use rayon::prelude::*;
        spaces.par_iter().map(|s| run_space(&ctx, s)).collect()
    };
    let mut cells: Vec<Cell> = Vec::new();
    let mut space_info = BTreeMap::new();
    for (s, r) in spaces.iter().zip(results) {
        let r = r?;
        cells.extend(r.cells);
        if let Some(info) = r.info {
            space_info.insert(s.name.clone(), info);
        }
        for (stage, v) in r.clock.wall {
            *clock.wall.entry(stage).or_insert(0.0) += v;
        }
        for (stage, v) in r.clock.cpu {
            *clock.cpu.entry(stage).or_insert(0.0) += v;
        }
    }
    bar.finish_and_clear();
    clock.add("total", &lap_all);
    results::write(&out, &cells)?;
    let data = if args.data.is_empty() {
        format!(
            "synthetic shop ({} customers, seed {})",
            pipeline.synth.customers, pipeline.seed
        )
    } else {
        let files: Vec<String> = args.data.iter().map(|p| p.display().to_string()).collect();
        files.join(" ")
    };
    let config_path = args
        .config
        .as_ref()
        .map_or("built-in grid.toml".to_string(), |p| {
            p.display().to_string()
        });
    let pipeline_path = args
        .pipeline
        .as_ref()
        .map_or("built-in insiders.toml".to_string(), |p| {
            p.display().to_string()
        });
    let mut manifest = crate::manifest::manifest(
        &cfg,
        &config_path,
        &pipeline_path,
        &data,
        &clock.wall,
        &space_info,
        args.quick,
    );
    if !args.serial {
        // Stages overlap: only the whole run's CPU time is attributable.
        clock
            .cpu
            .retain(|stage, _| stage == "total" || stage == "features");
    }
    manifest["cpu_seconds"] = serde_json::json!(clock.cpu);
    manifest["stages_concurrent"] = serde_json::Value::Bool(!args.serial);
    manifest["stability"] = serde_json::json!(stability);
    manifest["sample"] = serde_json::json!({
        "customers": customers,
        "rows": x.nrows(),
        "sampled": x.nrows() < customers,
        "seed": sample_seed,
        "max_rows": cfg.sample.max_rows,
        "score_exact_up_to": cfg.sample.score_exact_up_to,
        "score_rows": cfg.sample.score_rows,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|source| GridError::Json {
        path: out.join("manifest.json"),
        source,
    })?;
    write_atomic(&out.join("manifest.json"), text.as_bytes())?;
    let failed_n = cells.iter().filter(|c| c.error.is_some()).count();
    println!(
        "{} cells ({} failed) in {:.2} s -> {}",
        cells.len(),
        failed_n,
        t_all.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(out)
}

/// Plans the rows of a grid: every engine and parameter point, with `ks` for the engines
/// that need k; returns the rows and the number of cells of one space.
pub(crate) fn plan(engines: &[&EngineSpec], ks: &[usize]) -> Result<(Vec<Job>, usize), GridError> {
    let mut jobs = Vec::new();
    let mut n_cells = 0;
    for (ei, e) in engines.iter().enumerate() {
        for p in param_points(e)? {
            let needs_k = insiders_engines::build(&e.name, &p).map(|b| b.caps().needs_k);
            let ks_for = match needs_k {
                Ok(true) => Some(ks.to_vec()),
                _ => None,
            };
            n_cells += ks_for.as_ref().map_or(1, Vec::len);
            jobs.push(Job {
                engine: ei,
                params: p,
                ks: ks_for,
            });
        }
    }
    Ok((jobs, n_cells))
}

/// What every space of a run shares.
pub(crate) struct SpaceCtx<'a> {
    pub cfg: &'a GridConfig,
    pub names: &'a [String],
    pub jobs: &'a [Job],
    pub engines: &'a [&'a EngineSpec],
    pub x: &'a Matrix,
    pub ids: &'a [String],
    pub out: &'a Path,
    pub bar: &'a indicatif::ProgressBar,
    pub stability: &'a StabilityConfig,
    pub serial: bool,
    /// In a grid over registry data sets: the data set id, put before the space's name in
    /// the cell ids, the `space` column and the file names. The seeds stay those of the
    /// unprefixed ids (the customer grid's), so the cells equal a `--data` run's.
    pub prefix: Option<&'a str>,
    /// Reference labels of the rows (a synthetic shop's archetypes): the cells get external
    /// scores against them.
    pub reference: Option<&'a [Option<u32>]>,
}

/// One engine and parameter point of the plan, with its ks (None: an engine without k).
pub(crate) struct Job {
    engine: usize,
    params: toml::Table,
    ks: Option<Vec<usize>>,
}

/// A space's cells (in plan order), its info for the manifest, and its stage times.
pub(crate) struct SpaceOut {
    pub cells: Vec<Cell>,
    pub info: Option<serde_json::Value>,
    pub clock: StageClock,
}

/// Builds one space, fits and scores every cell of it, and writes its coordinates and labels.
pub(crate) fn run_space(ctx: &SpaceCtx<'_>, s: &SpaceSpec) -> Result<SpaceOut, GridError> {
    let SpaceCtx {
        cfg,
        names,
        jobs,
        engines,
        x,
        ids,
        out,
        bar,
        stability,
        serial,
        prefix,
        reference,
    } = *ctx;
    let mut clock = StageClock::default();
    let mut cells: Vec<Cell> = Vec::new();
    // The row label of the cells: the space, after the data set id in a registry grid.
    let row = prefix.map_or_else(|| s.name.clone(), |p| format!("{p}/{}", s.name));
    let file = row.replace('/', "__");
    let sseed = cell_seed(cfg.seed, &format!("space/{}", s.name));
    bar.set_message(format!("space {row}"));
    let lap = Lap::start();
    let built = build_space(s, names, x, sseed);
    let secs = clock.add(format!("space/{row}"), &lap);
    let (coords, info) = match built {
        Ok(v) => v,
        Err(e) => {
            // The space failed: every cell of it is recorded with the error.
            for j in jobs {
                let e_name = &engines[j.engine].name;
                for k in
                    j.ks.clone()
                        .map_or(vec![None], |v| v.into_iter().map(Some).collect())
                {
                    let id = cell_id(&row, e_name, &j.params, k);
                    cells.push(Cell::failed(
                        &id,
                        &row,
                        e_name,
                        &params_text(&j.params),
                        k,
                        cfg.seed,
                        format!("space failed: {e}"),
                    ));
                    bar.inc(1);
                }
            }
            return Ok(SpaceOut {
                cells,
                info: None,
                clock,
            });
        }
    };
    let info = Some(serde_json::json!({"seconds": secs, "info": info, "dims": coords.ncols()}));
    let cols: Vec<String> = (0..coords.ncols()).map(|j| format!("x{j}")).collect();
    write_atomic(
        &out.join("spaces").join(format!("{file}.csv")),
        &insiders_ingest::matrix::matrix_csv("customer_id", ids, &cols, &coords),
    )?;
    // Fit every cell of the space, then its stability.
    let mut fitted: Vec<(Cell, Option<Partition>)> = Vec::new();
    for j in jobs {
        let e_name = &engines[j.engine].name;
        bar.set_message(format!("{row} / {e_name}"));
        let engine = insiders_engines::build(e_name, &j.params);
        let klist: Vec<Option<usize>> =
            j.ks.clone()
                .map_or(vec![None], |v| v.into_iter().map(Some).collect());
        // Seeds from the space's own ids (the customer grid's); cell ids with the row label.
        let seed_ids: Vec<String> = klist
            .iter()
            .map(|&k| cell_id(&s.name, e_name, &j.params, k))
            .collect();
        let ids: Vec<String> = klist
            .iter()
            .map(|&k| cell_id(&row, e_name, &j.params, k))
            .collect();
        let seeds: Vec<u64> = seed_ids.iter().map(|id| cell_seed(cfg.seed, id)).collect();
        let lap = Lap::start();
        let results = fit_row(&engine, coords.view(), &klist, &seeds, serial);
        clock.add(format!("fit/{e_name}"), &lap);
        let first = fitted.len();
        for (((&k, id), &seed), (r, secs)) in klist.iter().zip(&ids).zip(&seeds).zip(results) {
            let mut c = Cell::failed(
                id,
                &row,
                e_name,
                &params_text(&j.params),
                k,
                seed,
                String::new(),
            );
            c.error = None;
            c.fit_seconds = Some(secs);
            match r {
                Ok(p) => {
                    c.k_found = Some(p.n_clusters());
                    c.noise_share = Some(p.n_noise() as f64 / p.labels.len().max(1) as f64);
                    c.diagnostics = diagnostics(&p.diag);
                    if let Some(r) = reference {
                        let (t, sc) = crate::datasets::external(&[r.to_vec()], k, &p.labels);
                        c.true_k = t;
                        if let Some(sc) = sc {
                            (c.ari, c.nmi, c.nca) = (Some(sc.ari), Some(sc.nmi), Some(sc.nca));
                        }
                    }
                    fitted.push((c, Some(p)));
                }
                Err(e) => {
                    c.error = Some(e);
                    fitted.push((c, None));
                }
            }
            bar.inc(1);
        }
        if let (true, Ok(en)) = (stability.enabled, &engine) {
            bar.set_message(format!("{row} / {e_name} stability"));
            let lap = Lap::start();
            let row_cells = &fitted[first..];
            let fits: Vec<Option<&Partition>> = row_cells.iter().map(|(_, p)| p.as_ref()).collect();
            let row_id = cell_id(&s.name, e_name, &j.params, None);
            let st_row = cell_stability::Row {
                engine: en.as_ref(),
                x: coords.view(),
                row_id: &row_id,
                cell_ids: &seed_ids,
                ks: &klist,
                fits: &fits,
            };
            let st = cell_stability::row_stability(&st_row, cfg.seed, stability);
            let secs = clock.add(format!("stability/{e_name}"), &lap);
            for ((c, _), v) in fitted[first..].iter_mut().zip(st) {
                c.stability_seed_ari = v.seed_ari;
                c.stability_boot_ari = v.boot_ari;
                c.stability_seconds = Some(secs / klist.len() as f64);
            }
        }
    }
    // Score all labellings of the space together (shared distance work).
    bar.set_message(format!("{row} / scoring"));
    let lap = Lap::start();
    let with: Vec<usize> = (0..fitted.len())
        .filter(|&i| fitted[i].1.is_some())
        .collect();
    let labellings: Vec<&[Option<u32>]> = with
        .iter()
        .filter_map(|&i| fitted[i].1.as_ref().map(|p| p.labels.as_slice()))
        .collect();
    let score_rows = cfg.sample.score_rows.max(2);
    let exact_up_to = cfg.sample.score_exact_up_to;
    let sampled_scores = exact_up_to > 0 && coords.nrows() > exact_up_to;
    let sils: Vec<Result<Sil, insiders_eval::EvalError>> = if labellings.is_empty() {
        Vec::new()
    } else if sampled_scores {
        // Each cell's silhouette from `score_rows` points scored against every point, with
        // its standard error; the points drawn from the cell's seed.
        use rayon::prelude::*;
        with.par_iter()
            .zip(labellings.par_iter())
            .map(|(&i, l)| {
                insiders_eval::silhouette_sampled(
                    coords.view(),
                    l,
                    score_rows,
                    derive_seed(fitted[i].0.seed, 0x5111),
                )
                .map(|s| (s.value, Some((s.std_error, s.sample_size))))
            })
            .collect()
    } else {
        insiders_eval::silhouette_each(coords.view(), &labellings)?
            .into_iter()
            .map(|r| r.map(|v| (v, None)))
            .collect()
    };
    let mut scored: Vec<Scored> = Vec::new();
    for (w, &i) in with.iter().enumerate() {
        let Some(p) = fitted[i].1.as_ref() else {
            continue;
        };
        let db = insiders_eval::davies_bouldin(coords.view(), &p.labels);
        let ch = insiders_eval::calinski_harabasz(coords.view(), &p.labels);
        // A partition with fewer than 2 clusters has no silhouette: left empty, as the
        // Python grid does, and not an error.
        let err = sils[w]
            .as_ref()
            .err()
            .filter(|_| p.n_clusters() >= 2)
            .map(|e| format!("score: {e}"));
        let sil = sils[w].as_ref().ok().copied();
        scored.push((
            i,
            sil.map(|s| s.0),
            sil.and_then(|s| s.1),
            db.ok(),
            ch.ok(),
            err,
        ));
    }
    let score_s = clock.add(format!("score/{row}"), &lap);
    let per = score_s / with.len().max(1) as f64;
    for (i, sil, se, db, ch, err) in scored {
        let c = &mut fitted[i].0;
        c.silhouette = sil;
        c.silhouette_se = se.map(|s| s.0);
        c.score_rows = se.map(|s| s.1);
        c.davies_bouldin = db;
        c.calinski_harabasz = ch;
        c.score_seconds = Some(per);
        if c.error.is_none() {
            c.error = err;
        }
    }
    // Labels of every cell of the space: one column per cell.
    let mut header = vec!["customer_id".to_string()];
    let mut columns: Vec<Vec<i64>> = Vec::new();
    for (c, p) in &fitted {
        if let Some(p) = p {
            header.push(c.cell.trim_start_matches(&format!("{row}/")).to_string());
            columns.push(p.as_i64());
        }
    }
    let mut text = header.join(",");
    text.push('\n');
    for (r, id) in ids.iter().enumerate() {
        text.push_str(id);
        for col in &columns {
            text.push(',');
            text.push_str(&col[r].to_string());
        }
        text.push('\n');
    }
    write_atomic(
        &out.join("labels").join(format!("{file}.csv")),
        text.as_bytes(),
    )?;
    cells.extend(fitted.into_iter().map(|(c, _)| c));
    Ok(SpaceOut { cells, info, clock })
}

/// Fits the cells of one row (one engine and parameter point, every k) with their seeds;
/// returns each cell's result and fit seconds. An engine whose output does not depend on the
/// seed (`Caps::deterministic`, e.g. ward) fits every k at once with `fit_many` (one tree,
/// cut per k; each cell is charged an equal share of the time); if that fails, or for seeded
/// engines, each k is fitted alone with its cell seed.
pub(crate) fn fit_row(
    engine: &Result<Box<dyn insiders_core::Engine>, insiders_core::Error>,
    x: insiders_core::MatrixView<'_>,
    ks: &[Option<usize>],
    seeds: &[u64],
    serial: bool,
) -> Vec<(Result<Partition, String>, f64)> {
    let en = match engine {
        Ok(en) => en,
        Err(e) => return ks.iter().map(|_| (Err(e.to_string()), 0.0)).collect(),
    };
    let all_k: Option<Vec<usize>> = ks.iter().copied().collect();
    if let (Some(all_k), true) = (&all_k, en.caps().deterministic && ks.len() > 1) {
        let t = Instant::now();
        if let Ok(parts) = en.fit_many(x, all_k, seeds[0]) {
            let per = t.elapsed().as_secs_f64() / ks.len() as f64;
            return parts.into_iter().map(|p| (Ok(p), per)).collect();
        }
    }
    let one = |(&k, &seed): (&Option<usize>, &u64)| {
        let t = Instant::now();
        let r = en.fit(x, k, seed).map_err(|e| e.to_string());
        (r, t.elapsed().as_secs_f64())
    };
    if serial {
        ks.iter().zip(seeds).map(one).collect()
    } else {
        use rayon::prelude::*;
        ks.par_iter().zip(seeds.par_iter()).map(one).collect()
    }
}

/// An engine's diagnostics as one name -> value map.
pub(crate) fn diagnostics(d: &insiders_core::Diagnostics) -> BTreeMap<String, f64> {
    let mut m = d.extra.clone();
    if let Some(v) = d.inertia {
        m.insert("inertia".into(), v);
    }
    if let Some(v) = d.log_likelihood {
        m.insert("log_likelihood".into(), v);
    }
    if let Some(v) = d.n_iter {
        m.insert("n_iter".into(), v as f64);
    }
    if let Some(v) = d.converged {
        m.insert("converged".into(), f64::from(u8::from(v)));
    }
    m
}
