//! `cargo xtask grid`: every space x engine x k of a grid config, fitted and scored, written
//! to one run folder.

use anyhow::{Context, Result, bail};
use insiders_core::{Matrix, Partition, derive_seed, process_cpu_seconds};
use insiders_features::{CleaningOptions, Scaler, ScalerKind, clean, customer_table};
use insiders_ingest::{InputOptions, read_path, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A space of the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSpec {
    pub name: String,
    /// `identity` (the scaled features) or a registered embedder.
    pub method: String,
    /// A feature used as the target (the forest) and removed from the inputs.
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub params: toml::Table,
}

/// An engine of the grid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    /// Registered engine name.
    pub name: String,
    /// Fixed parameters.
    #[serde(default)]
    pub params: toml::Table,
    /// Parameter grid (each key a list); the cartesian product is run.
    #[serde(default)]
    pub grid: toml::Table,
}

/// The grid configuration (`grid.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    pub seed: u64,
    pub k_min: usize,
    pub k_max: usize,
    #[serde(default)]
    pub quick_ks: Vec<usize>,
    pub features: Vec<String>,
    #[serde(rename = "space")]
    pub spaces: Vec<SpaceSpec>,
    #[serde(rename = "engine")]
    pub engines: Vec<EngineSpec>,
    /// Stability scores (seed and bootstrap ARI per cell).
    #[serde(default)]
    pub stability: crate::stability::StabilityConfig,
}

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct GridArgs {
    pub config: PathBuf,
    pub data: Option<PathBuf>,
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
}

/// One row of the results: one cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cell {
    pub cell: String,
    pub space: String,
    pub engine: String,
    pub params: String,
    pub k: Option<usize>,
    pub seed: u64,
    pub k_found: Option<usize>,
    pub noise_share: Option<f64>,
    pub silhouette: Option<f64>,
    pub davies_bouldin: Option<f64>,
    pub calinski_harabasz: Option<f64>,
    pub fit_seconds: Option<f64>,
    pub score_seconds: Option<f64>,
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
    /// The engine's diagnostics: `inertia`, `log_likelihood`, `n_iter` and its extras.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub diagnostics: BTreeMap<String, f64>,
}

/// A scored cell: (index, silhouette, Davies-Bouldin, Calinski-Harabasz, score error).
type Scored = (usize, Option<f64>, Option<f64>, Option<f64>, Option<String>);

/// The start of a timed stage: wall clock and process CPU time.
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

/// FNV-1a of a string: the task id of a cell id in `derive_seed`.
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The seed of a cell (or a space), from the master seed and its id.
pub fn cell_seed(master: u64, id: &str) -> u64 {
    derive_seed(master, fnv1a(id))
}

fn params_text(t: &toml::Table) -> String {
    t.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// The cartesian product of an engine's parameter grid, merged over its fixed params.
pub fn param_points(e: &EngineSpec) -> Result<Vec<toml::Table>> {
    let mut points = vec![e.params.clone()];
    for (key, values) in &e.grid {
        let list = values
            .as_array()
            .with_context(|| format!("engine {}: grid.{key} must be a list", e.name))?;
        let mut next = Vec::new();
        for p in &points {
            for v in list {
                let mut q = p.clone();
                q.insert(key.clone(), v.clone());
                next.push(q);
            }
        }
        points = next;
    }
    Ok(points)
}

/// The scaled feature matrix of the data: (customer ids, feature names, matrix).
pub fn feature_matrix(data: &Path, features: &[String]) -> Result<(Vec<String>, Matrix)> {
    let loaded = read_path(data, &InputOptions::default())?;
    let cleaned = clean(&loaded.lines, &loaded.report, &CleaningOptions::default())?;
    let table = customer_table(&loaded.lines, &cleaned)?;
    let names: Vec<&str> = features.iter().map(String::as_str).collect();
    let scaler = Scaler::fit(ScalerKind::MinMax, &table, &names)?;
    let x = scaler.transform(&table)?;
    Ok((table.customer_id.iter().map(u32::to_string).collect(), x))
}

/// Builds a space from the scaled features.
pub fn build_space(
    spec: &SpaceSpec,
    features: &[String],
    x: &Matrix,
    seed: u64,
) -> Result<(Matrix, BTreeMap<String, f64>)> {
    let (inputs, target) = match &spec.target {
        None => (x.clone(), None),
        Some(t) => {
            let j = features.iter().position(|f| f == t).with_context(|| {
                format!(
                    "space {}: target `{t}` is not a selected feature",
                    spec.name
                )
            })?;
            let keep: Vec<usize> = (0..features.len()).filter(|&c| c != j).collect();
            (
                x.select(ndarray::Axis(1), &keep),
                Some(x.column(j).to_vec()),
            )
        }
    };
    if spec.method == "identity" {
        return Ok((inputs, BTreeMap::new()));
    }
    let embedder = insiders_embed::build(&spec.method, &spec.params)?;
    let e = embedder.fit_transform(inputs.view(), target.as_deref(), seed)?;
    Ok((e.coords, e.info))
}

fn default_data() -> PathBuf {
    if let Some(p) = std::env::var_os("INSIDERS_DATA") {
        return PathBuf::from(p);
    }
    let shared = std::env::var_os("INSIDERS_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    shared.join("datasets/online-retail/online-retail.csv.gz")
}

fn run_folder(args: &GridArgs) -> PathBuf {
    if let Some(o) = &args.out {
        return o.clone();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let stamp = insiders_ingest::date::format_timestamp(now).replace([' ', ':'], "-");
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../runs")
        .join(format!("grid-{stamp}"))
}

/// Runs the grid; returns the run folder.
pub fn run(args: &GridArgs) -> Result<PathBuf> {
    let t_all = Instant::now();
    let lap_all = Lap::start();
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let cfg: GridConfig =
        toml::from_str(&text).with_context(|| format!("in {}", args.config.display()))?;
    if cfg.k_min == 0 || cfg.k_min > cfg.k_max {
        bail!("k_min..=k_max must be a non-empty range of positive ks");
    }
    let ks: Vec<usize> = if args.quick && !cfg.quick_ks.is_empty() {
        cfg.quick_ks.clone()
    } else {
        (cfg.k_min..=cfg.k_max).collect()
    };
    let spaces: Vec<&SpaceSpec> = cfg
        .spaces
        .iter()
        .filter(|s| args.only_spaces.is_empty() || args.only_spaces.contains(&s.name))
        .collect();
    let engines: Vec<&EngineSpec> = cfg
        .engines
        .iter()
        .filter(|e| args.only_engines.is_empty() || args.only_engines.contains(&e.name))
        .collect();
    if spaces.is_empty() || engines.is_empty() {
        bail!("--only selects no space or no engine");
    }
    let mut stability = cfg.stability.clone();
    if let Some(on) = args.stability {
        stability.enabled = on;
    }
    let data = args.data.clone().unwrap_or_else(default_data);
    let mut clock = StageClock::default();
    let lap = Lap::start();
    let (ids, x) = feature_matrix(&data, &cfg.features)
        .with_context(|| format!("preparing the features of {}", data.display()))?;
    clock.add("features", &lap);

    // Plan the cells.
    let mut jobs = Vec::new();
    let mut n_cells = 0;
    for (ei, e) in engines.iter().enumerate() {
        for p in param_points(e)? {
            let needs_k = insiders_engines::build(&e.name, &p).map(|b| b.caps().needs_k);
            let ks_for = match needs_k {
                Ok(true) => Some(ks.clone()),
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
    let total = (n_cells * spaces.len()) as u64;
    let bar = crate::progress_bar(total);

    let out = run_folder(args);
    let ctx = SpaceCtx {
        cfg: &cfg,
        jobs: &jobs,
        engines: &engines,
        x: &x,
        ids: &ids,
        out: &out,
        bar: &bar,
        stability: &stability,
        serial: args.serial,
    };
    let results: Vec<Result<SpaceOut>> = if args.serial {
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
    write_results(&out, &cells)?;
    let mut manifest = crate::manifest::manifest(
        &cfg,
        &args.config,
        &data,
        &clock.wall,
        &space_info,
        args.quick,
    )?;
    if !args.serial {
        // Stages overlap: only the whole run's CPU time is attributable.
        clock
            .cpu
            .retain(|stage, _| stage == "total" || stage == "features");
    }
    manifest["cpu_seconds"] = serde_json::to_value(&clock.cpu)?;
    manifest["stages_concurrent"] = serde_json::Value::Bool(!args.serial);
    manifest["stability"] = serde_json::to_value(&stability)?;
    write_atomic(
        &out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
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

/// What every space of a run shares.
struct SpaceCtx<'a> {
    cfg: &'a GridConfig,
    jobs: &'a [Job],
    engines: &'a [&'a EngineSpec],
    x: &'a Matrix,
    ids: &'a [String],
    out: &'a Path,
    bar: &'a indicatif::ProgressBar,
    stability: &'a crate::stability::StabilityConfig,
    serial: bool,
}

/// One engine and parameter point of the plan, with its ks (None: an engine without k).
struct Job {
    engine: usize,
    params: toml::Table,
    ks: Option<Vec<usize>>,
}

/// A space's cells (in plan order), its info for the manifest, and its stage times.
struct SpaceOut {
    cells: Vec<Cell>,
    info: Option<serde_json::Value>,
    clock: StageClock,
}

/// Builds one space, fits and scores every cell of it, and writes its coordinates and labels.
fn run_space(ctx: &SpaceCtx<'_>, s: &SpaceSpec) -> Result<SpaceOut> {
    let SpaceCtx {
        cfg,
        jobs,
        engines,
        x,
        ids,
        out,
        bar,
        stability,
        serial,
    } = *ctx;
    let mut clock = StageClock::default();
    let mut cells: Vec<Cell> = Vec::new();
    let sseed = cell_seed(cfg.seed, &format!("space/{}", s.name));
    bar.set_message(format!("space {}", s.name));
    let lap = Lap::start();
    let built = build_space(s, &cfg.features, x, sseed);
    let secs = clock.add(format!("space/{}", s.name), &lap);
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
                    let id = cell_id(&s.name, e_name, &j.params, k);
                    cells.push(failed(
                        &id,
                        &s.name,
                        e_name,
                        &j.params,
                        k,
                        cfg.seed,
                        format!("space failed: {e:#}"),
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
        &out.join("spaces").join(format!("{}.csv", s.name)),
        &insiders_ingest::matrix::matrix_csv("customer_id", ids, &cols, &coords),
    )?;
    // Fit every cell of the space, then its stability.
    let mut fitted: Vec<(Cell, Option<Partition>)> = Vec::new();
    for j in jobs {
        let e_name = &engines[j.engine].name;
        bar.set_message(format!("{} / {}", s.name, e_name));
        let engine = insiders_engines::build(e_name, &j.params);
        let klist: Vec<Option<usize>> =
            j.ks.clone()
                .map_or(vec![None], |v| v.into_iter().map(Some).collect());
        let ids: Vec<String> = klist
            .iter()
            .map(|&k| cell_id(&s.name, e_name, &j.params, k))
            .collect();
        let seeds: Vec<u64> = ids.iter().map(|id| cell_seed(cfg.seed, id)).collect();
        let lap = Lap::start();
        let results = fit_row(&engine, coords.view(), &klist, &seeds, serial);
        clock.add(format!("fit/{e_name}"), &lap);
        let first = fitted.len();
        for (((&k, id), &seed), (r, secs)) in klist.iter().zip(&ids).zip(&seeds).zip(results) {
            let mut c = failed(id, &s.name, e_name, &j.params, k, seed, String::new());
            c.error = None;
            c.fit_seconds = Some(secs);
            match r {
                Ok(p) => {
                    c.k_found = Some(p.n_clusters());
                    c.noise_share = Some(p.n_noise() as f64 / p.labels.len().max(1) as f64);
                    c.diagnostics = diagnostics(&p.diag);
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
            bar.set_message(format!("{} / {} stability", s.name, e_name));
            let lap = Lap::start();
            let row_cells = &fitted[first..];
            let fits: Vec<Option<&Partition>> = row_cells.iter().map(|(_, p)| p.as_ref()).collect();
            let row_id = cell_id(&s.name, e_name, &j.params, None);
            let row = crate::stability::Row {
                engine: en.as_ref(),
                x: coords.view(),
                row_id: &row_id,
                cell_ids: &ids,
                ks: &klist,
                fits: &fits,
            };
            let st = crate::stability::row_stability(&row, cfg.seed, stability);
            let secs = clock.add(format!("stability/{e_name}"), &lap);
            for ((c, _), v) in fitted[first..].iter_mut().zip(st) {
                c.stability_seed_ari = v.seed_ari;
                c.stability_boot_ari = v.boot_ari;
                c.stability_seconds = Some(secs / klist.len() as f64);
            }
        }
    }
    // Score all labellings of the space together (shared distance work).
    bar.set_message(format!("{} / scoring", s.name));
    let lap = Lap::start();
    let with: Vec<usize> = (0..fitted.len())
        .filter(|&i| fitted[i].1.is_some())
        .collect();
    let labellings: Vec<&[Option<u32>]> = with
        .iter()
        .filter_map(|&i| fitted[i].1.as_ref().map(|p| p.labels.as_slice()))
        .collect();
    let sils = if labellings.is_empty() {
        Vec::new()
    } else {
        insiders_eval::silhouette_each(coords.view(), &labellings)?
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
        scored.push((i, sils[w].as_ref().ok().copied(), db.ok(), ch.ok(), err));
    }
    let score_s = clock.add(format!("score/{}", s.name), &lap);
    let per = score_s / with.len().max(1) as f64;
    for (i, sil, db, ch, err) in scored {
        let c = &mut fitted[i].0;
        c.silhouette = sil;
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
            header.push(
                c.cell
                    .trim_start_matches(&format!("{}/", s.name))
                    .to_string(),
            );
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
        &out.join("labels").join(format!("{}.csv", s.name)),
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
fn fit_row(
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
fn diagnostics(d: &insiders_core::Diagnostics) -> BTreeMap<String, f64> {
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

fn cell_id(space: &str, engine: &str, params: &toml::Table, k: Option<usize>) -> String {
    let p = params_text(params);
    let mut id = format!("{space}/{engine}");
    if !p.is_empty() {
        id.push_str(&format!("[{p}]"));
    }
    if let Some(k) = k {
        id.push_str(&format!("/k{k}"));
    }
    id
}

fn failed(
    id: &str,
    space: &str,
    engine: &str,
    params: &toml::Table,
    k: Option<usize>,
    seed: u64,
    e: String,
) -> Cell {
    Cell {
        cell: id.to_string(),
        space: space.to_string(),
        engine: engine.to_string(),
        params: params_text(params),
        k,
        seed,
        k_found: None,
        noise_share: None,
        silhouette: None,
        davies_bouldin: None,
        calinski_harabasz: None,
        fit_seconds: None,
        score_seconds: None,
        error: Some(e),
        stability_seed_ari: None,
        stability_boot_ari: None,
        stability_seconds: None,
        diagnostics: BTreeMap::new(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x}"))
}

/// Writes `results.csv` and `results.json` (one row per cell).
pub fn write_results(out: &Path, cells: &[Cell]) -> Result<()> {
    let mut csv = String::from(
        "cell,space,engine,params,k,seed,k_found,noise_share,silhouette,davies_bouldin,calinski_harabasz,fit_seconds,score_seconds,stability_seed_ari,stability_boot_ari,stability_seconds,error\n",
    );
    for c in cells {
        let q = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            q(&c.cell),
            q(&c.space),
            q(&c.engine),
            q(&c.params),
            c.k.map_or(String::new(), |k| k.to_string()),
            c.seed,
            c.k_found.map_or(String::new(), |k| k.to_string()),
            opt(c.noise_share),
            opt(c.silhouette),
            opt(c.davies_bouldin),
            opt(c.calinski_harabasz),
            opt(c.fit_seconds),
            opt(c.score_seconds),
            opt(c.stability_seed_ari),
            opt(c.stability_boot_ari),
            opt(c.stability_seconds),
            q(c.error.as_deref().unwrap_or("")),
        ));
    }
    write_atomic(&out.join("results.csv"), csv.as_bytes())?;
    write_atomic(
        &out.join("results.json"),
        serde_json::to_string_pretty(cells)?.as_bytes(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_ids_and_seeds_are_stable() {
        let mut p = toml::Table::new();
        p.insert("n_init".into(), toml::Value::Integer(10));
        assert_eq!(
            cell_id("tree", "kmeans", &p, Some(3)),
            "tree/kmeans[n_init=10]/k3"
        );
        assert_eq!(
            cell_id("tree", "ward", &toml::Table::new(), Some(3)),
            "tree/ward/k3"
        );
        assert_eq!(cell_seed(42, "tree/ward/k3"), cell_seed(42, "tree/ward/k3"));
        assert_ne!(cell_seed(42, "tree/ward/k3"), cell_seed(42, "tree/ward/k4"));
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn parameter_grids_are_cartesian() {
        let e: EngineSpec = toml::from_str(
            "name = \"dbscan\"\nparams = { min_samples = 20 }\ngrid = { eps = [0.5, 1.0, 2.0] }",
        )
        .unwrap();
        let pts = param_points(&e).unwrap();
        assert_eq!(pts.len(), 3);
        assert!(
            pts.iter()
                .all(|p| p["min_samples"].as_integer() == Some(20))
        );
    }

    #[test]
    fn the_default_grid_parses() {
        let text = include_str!("../../grid.toml");
        let g: GridConfig = toml::from_str(text).unwrap();
        assert_eq!(g.spaces.len(), 5);
        assert_eq!((g.k_min, g.k_max), (2, 22));
        let names: Vec<&str> = g.spaces.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["features", "pca", "umap", "tsne", "tree"]);
        // The Python grid's DBSCAN: min_samples 5, eps = m x elbow for six m.
        let d = g.engines.iter().find(|e| e.name == "dbscan").unwrap();
        let pts = param_points(d).unwrap();
        let m: Vec<f64> = pts
            .iter()
            .map(|p| p["eps_factor"].as_float().unwrap())
            .collect();
        assert_eq!(m, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0]);
        assert!(pts.iter().all(|p| p["min_samples"].as_integer() == Some(5)));
        for p in &pts {
            insiders_engines::build("dbscan", p).unwrap();
        }
        assert!(!g.stability.enabled && g.stability.seeds >= 2 && g.stability.bootstraps >= 1);
        for e in &g.engines {
            assert!(
                insiders_engines::names().contains(&e.name.as_str()),
                "grid engine {} is not registered",
                e.name
            );
        }
    }
}
