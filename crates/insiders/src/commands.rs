//! The command implementations.

use crate::DataArgs;
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use insiders_ingest::{IdColumn, read_matrix, write_atomic};
use insiders_pipeline::{Config, Prepared, Source, model_matrix};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(crate) fn load_config(args: &DataArgs) -> Result<Config> {
    let base = match &args.preset {
        Some(name) => Config::preset(name)?,
        None => Config::default(),
    };
    let mut cfg = match &args.config {
        Some(p) => Config::load_over(&base, p)?,
        None => base,
    };
    if let Some(p) = args.on_bad_row {
        cfg.input.on_bad_row = p;
    }
    if let Some(s) = &args.sheet {
        cfg.input.sheet = Some(s.clone());
    }
    if let Some(m) = &args.memory_limit {
        cfg.limits.memory = Some(m.clone());
    }
    Ok(cfg)
}

/// The data source of a command: `--data`, or the built-in synthetic shop.
pub(crate) fn source(args: &DataArgs) -> Result<Source> {
    Ok(Source::from_paths(&args.data)?)
}

/// Lines, cleaning and the customer table, with the stages shown on the terminal.
pub(crate) fn prepare(args: &DataArgs, cfg: &Config, progress: &Progress) -> Result<Prepared> {
    let mut p = insiders_pipeline::prepare(&source(args)?, cfg, &|s| progress.stage(s))?;
    // `--compute X`: the table and the accounting from the plan (docs/distributed.md).
    if let Some(c) = crate::compute::plan(args)? {
        crate::compute::replace(&mut p, args, cfg, c, progress)?;
    }
    Ok(p)
}

/// `insiders features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Output folder.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Also write the customer table as Apache Parquet (`customers.parquet`).
    #[arg(long)]
    parquet: bool,
}

pub fn features(a: FeaturesArgs) -> Result<()> {
    let cfg = load_config(&a.data)?;
    if let Some(c) = crate::compute::plan(&a.data)? {
        return crate::compute::features(&a.data, &a.out, &cfg, c);
    }
    let progress = Progress::start();
    let p = prepare(&a.data, &cfg, &progress)?;
    progress.stage("scaling");
    let m = model_matrix(&p.table, &cfg)?;
    // Everything is computed before anything is written: an error writes nothing.
    let scaled_csv = insiders_ingest::matrix::matrix_csv("customer_id", &m.ids, &m.names, &m.x);
    let accounting = serde_json::json!({
        "read": p.loaded.report,
        "accounting": p.cleaned.account,
    });
    progress.stage("writing");
    write_atomic(&a.out.join("customers.csv"), &p.table.to_csv())?;
    if a.parquet {
        write_parquet_table(&a.out.join("customers.parquet"), &p.table)?;
    }
    write_atomic(&a.out.join("scaled.csv"), &scaled_csv)?;
    write_atomic(
        &a.out.join("scaler.json"),
        serde_json::to_string_pretty(&m.scaler)?.as_bytes(),
    )?;
    write_atomic(
        &a.out.join("row_accounting.json"),
        serde_json::to_string_pretty(&accounting)?.as_bytes(),
    )?;
    if !p.loaded.report.rejects.is_empty() {
        let mut buf = Vec::new();
        insiders_ingest::write_rejects(&p.loaded.report.rejects, &mut buf)?;
        write_atomic(&a.out.join("rejects.csv"), &buf)?;
    }
    progress.finish("features");
    println!(
        "source: {} ({})",
        p.loaded.report.path, p.loaded.report.source
    );
    print!("{}", p.cleaned.account.to_text());
    println!(
        "wrote {} customers x {} features to {}",
        p.table.len(),
        p.table.columns.len(),
        a.out.display()
    );
    Ok(())
}

/// The customer table as Parquet (`customer_id`, then the features; a missing value is null).
#[cfg(feature = "parquet")]
fn write_parquet_table(path: &Path, t: &insiders_features::CustomerTable) -> Result<()> {
    let f = insiders_ingest::AtomicFile::create(path)?;
    let f = insiders_ingest::parquet::write_table(
        f,
        "customer_id",
        &t.customer_id,
        &t.columns,
        &t.values,
    )?;
    f.commit()?;
    Ok(())
}

#[cfg(not(feature = "parquet"))]
fn write_parquet_table(_: &Path, _: &insiders_features::CustomerTable) -> Result<()> {
    anyhow::bail!("this binary was built without Parquet support (cargo feature `parquet`)")
}

/// `insiders inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn inspect(a: InspectArgs) -> Result<()> {
    crate::compute::local_only(&a.data, "inspect")?;
    let cfg = load_config(&a.data)?;
    let loaded = insiders_pipeline::load(&source(&a.data)?, &cfg)?;
    let d = insiders_ingest::describe::describe(&loaded.lines);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"read": loaded.report, "description": d})
            )?
        );
    } else {
        println!(
            "{}: {} (dates {}, encoding {})",
            loaded.report.path,
            loaded.report.source,
            loaded.report.date_format,
            loaded.report.encoding
        );
        print!("{}", d.to_text());
    }
    Ok(())
}

/// `insiders synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Customers with an id.
    #[arg(long, default_value_t = 2_000)]
    customers: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Invoice lines file to write (`.csv`, `.csv.gz` or `.parquet`). With --split-months,
    /// one file per month, named `<stem>-YYYY-MM.<ext>`.
    #[arg(long)]
    out: PathBuf,
    /// Output format (`csv`, `csv.gz`, `parquet`); default: from the --out extension.
    #[arg(long)]
    format: Option<String>,
    /// One file per month of invoices (the monthly exports of a shop).
    #[arg(long)]
    split_months: bool,
    /// Customers generated and held in memory at a time; the invoices of each block are
    /// sorted and spilled to a temporary file, then merged (bounded memory at any size).
    #[arg(long, default_value_t = 50_000)]
    block_customers: usize,
    /// Folder for the temporary files of the blocks (default: the system's temporary folder).
    #[arg(long)]
    spill_dir: Option<PathBuf>,
    /// Ground-truth file (customer_id, archetype); default: beside --out as `<name>.truth.csv`.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Share of the planted high-value customers (`loyal_high_value` and `bulk_wholesale`
    /// together, in their default 4:1 ratio); the other archetypes fill the rest in
    /// proportion. Default: the default mix (10%).
    #[arg(long)]
    high_value_share: Option<f64>,
    /// Exact shares of some archetypes, e.g. `loyal_high_value=0.05,one_off=0.3`; the others
    /// fill the rest in proportion (applied after --high-value-share).
    #[arg(long)]
    mix: Option<String>,
}

pub fn synth(a: SynthArgs) -> Result<()> {
    let mut cfg = insiders_synth::ShopConfig {
        customers: a.customers,
        seed: a.seed,
        ..Default::default()
    };
    if let Some(s) = a.high_value_share {
        cfg = cfg.with_high_value_share(s)?;
    }
    if let Some(m) = &a.mix {
        cfg = cfg.with_shares(&insiders_synth::ShopConfig::parse_shares(m)?)?;
    }
    let format = crate::synth_out::Format::of(&a.out, a.format.as_deref())?;
    let opts = insiders_synth::StreamOptions {
        block_customers: a.block_customers,
        spill_dir: a.spill_dir.clone(),
        split_months: a.split_months,
        ..Default::default()
    };
    let progress = crate::progress::Progress::start();
    progress.stage(&format!("generating {} customers", a.customers));
    let mut out = crate::synth_out::Output::new(&a.out, format, a.split_months);
    let (truth, stats) = insiders_synth::generate_stream(&cfg, &opts, |b| {
        progress.stage(&format!(
            "writing {}-{:02} ({} lines written)",
            b.month().0,
            b.month().1,
            out.lines()
        ));
        out.batch(b)
    })?;
    let files = out.finish()?;
    let name = a.out.to_string_lossy();
    let truth_path = a.truth.clone().unwrap_or_else(|| {
        let stem = name
            .trim_end_matches(".gz")
            .trim_end_matches(".csv")
            .trim_end_matches(".parquet");
        PathBuf::from(format!("{stem}.truth.csv"))
    });
    let mut t = Vec::new();
    insiders_synth::write_truth_csv(&truth, &mut t)?;
    write_atomic(&truth_path, &t)?;
    progress.finish("synth");
    let place = if files.len() == 1 {
        files[0].display().to_string()
    } else {
        format!(
            "{} files ({} .. {})",
            files.len(),
            files[0].display(),
            files[files.len() - 1].display()
        )
    };
    println!(
        "wrote {} invoice lines of {} customers to {} and their archetypes to {}",
        stats.lines,
        truth.len(),
        place,
        truth_path.display()
    );
    Ok(())
}

/// Parses `2..22`, `2..=22`, `3` or `2,5,8`.
pub fn parse_ks(s: &str) -> Result<Vec<usize>> {
    let s = s.trim();
    let ks: Vec<usize> = if let Some((a, b)) = s.split_once("..") {
        let a: usize = a
            .trim()
            .parse()
            .with_context(|| format!("bad k range `{s}`"))?;
        let b: usize = b
            .trim()
            .trim_start_matches('=')
            .parse()
            .with_context(|| format!("bad k range `{s}`"))?;
        if a > b {
            bail!("empty k range `{s}`");
        }
        (a..=b).collect()
    } else {
        s.split(',')
            .map(|p| {
                p.trim()
                    .parse::<usize>()
                    .with_context(|| format!("bad k `{p}`"))
            })
            .collect::<Result<_>>()?
    };
    if ks.is_empty() {
        bail!("no k in `{s}`");
    }
    Ok(ks)
}

/// `insiders cluster`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// Numeric CSV matrix (header; an id column first is allowed).
    #[arg(long)]
    input: PathBuf,
    /// Engine name (see `insiders list`).
    #[arg(long)]
    engine: String,
    /// Number(s) of clusters: `5`, `2..22` or `2,5,8` (engines that find k ignore it).
    #[arg(long)]
    k: Option<String>,
    /// Engine parameter `key=value` (repeatable).
    #[arg(long = "param")]
    params: Vec<String>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Labels file; with several k, one file per k named `<stem>_k<k>.csv`.
    #[arg(long)]
    out: PathBuf,
    /// A labels file of true classes (id,label) to score agreement (ARI, NMI) against.
    #[arg(long)]
    truth: Option<PathBuf>,
}

pub fn cluster(a: ClusterArgs) -> Result<()> {
    let m = read_matrix(&a.input, IdColumn::Auto)?;
    let table = insiders_core::params::parse_pairs(&a.params)?;
    let engine = insiders_engines::build(&a.engine, &table)?;
    let caps = engine.caps();
    let ks: Vec<Option<usize>> = match (&a.k, caps.needs_k) {
        (Some(k), true) => parse_ks(k)?.into_iter().map(Some).collect(),
        (None, true) => bail!("engine `{}` needs --k (e.g. --k 10 or --k 2..22)", a.engine),
        (Some(_), false) => {
            eprintln!(
                "note: engine `{}` finds the number of clusters itself; --k ignored",
                a.engine
            );
            vec![None]
        }
        (None, false) => vec![None],
    };
    let t0 = Instant::now();
    let parts = if caps.needs_k {
        let ks: Vec<usize> = ks.iter().flatten().copied().collect();
        engine.fit_many(m.data.view(), &ks, a.seed)?
    } else {
        vec![engine.fit(m.data.view(), None, a.seed)?]
    };
    let fit_s = t0.elapsed().as_secs_f64();
    let truth = match &a.truth {
        Some(p) => Some(read_truth(p, &m.ids)?),
        None => None,
    };
    let t1 = Instant::now();
    let labellings: Vec<&[Option<u32>]> = parts.iter().map(|p| p.labels.as_slice()).collect();
    let sils = insiders_eval::silhouette_each(m.data.view(), &labellings)?;
    println!(
        "{:>4} {:>9} {:>7} {:>11} {:>15} {:>18}{}",
        "k",
        "clusters",
        "noise",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        if truth.is_some() {
            "      ARI      NMI"
        } else {
            ""
        }
    );
    let show = |r: Result<f64, insiders_eval::EvalError>| match r {
        Ok(v) => format!("{v:.6}"),
        Err(_) => "-".to_string(),
    };
    for (i, p) in parts.iter().enumerate() {
        let x = m.data.view();
        let db = insiders_eval::davies_bouldin(x, &p.labels);
        let ch = insiders_eval::calinski_harabasz(x, &p.labels);
        let mut line = format!(
            "{:>4} {:>9} {:>7.4} {:>11} {:>15} {:>18}",
            ks[i].map_or("-".to_string(), |k| k.to_string()),
            p.n_clusters(),
            p.n_noise() as f64 / p.labels.len() as f64,
            show(sils[i].clone()),
            show(db),
            show(ch),
        );
        if let Some(t) = &truth {
            line.push_str(&format!(
                " {:>8} {:>8}",
                show(insiders_eval::adjusted_rand_index(t, &p.labels)),
                show(insiders_eval::normalized_mutual_info(t, &p.labels))
            ));
        }
        println!("{line}");
    }
    eprintln!(
        "fit {fit_s:.3} s, scores {:.3} s ({} labellings)",
        t1.elapsed().as_secs_f64(),
        parts.len()
    );
    for (i, p) in parts.iter().enumerate() {
        let path = if parts.len() == 1 {
            a.out.clone()
        } else {
            let stem = a
                .out
                .file_stem()
                .map_or("labels".into(), |s| s.to_string_lossy().into_owned());
            let k = ks[i].unwrap_or(0);
            a.out.with_file_name(format!("{stem}_k{k}.csv"))
        };
        write_atomic(
            &path,
            &insiders_ingest::matrix::labels_csv(&m.id_name, &m.ids, &p.as_i64()),
        )?;
    }
    Ok(())
}

/// Reads a labels file (id, label; -1 = noise) aligned to `ids`.
fn read_truth(path: &Path, ids: &[String]) -> Result<Vec<Option<u32>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut map = std::collections::HashMap::new();
    let mut names = std::collections::BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let (id, label) = line
            .split_once(',')
            .with_context(|| format!("{}: line {}: expected id,label", path.display(), n + 1))?;
        let label = label.trim();
        let value = match label.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as u32),
            // Class names (e.g. archetypes) are numbered in order of first appearance.
            Err(_) => {
                let next = names.len() as u32;
                Some(*names.entry(label.to_string()).or_insert(next))
            }
        };
        map.insert(id.trim().to_string(), value);
    }
    ids.iter()
        .map(|id| {
            map.get(id)
                .copied()
                .with_context(|| format!("{}: no label for id {id}", path.display()))
        })
        .collect()
}

/// `insiders embed`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// Numeric CSV matrix (header; an id column first is allowed).
    #[arg(long)]
    input: PathBuf,
    /// `pca`, `umap`, `tsne` or `forest`.
    #[arg(long)]
    method: String,
    /// Column of the input used as the target (the forest) and removed from the features.
    #[arg(long)]
    target: Option<String>,
    /// Method parameter `key=value` (repeatable).
    #[arg(long = "param")]
    params: Vec<String>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output matrix file.
    #[arg(long)]
    out: PathBuf,
}

pub fn embed(a: EmbedArgs) -> Result<()> {
    let m = read_matrix(&a.input, IdColumn::Auto)?;
    let table = insiders_core::params::parse_pairs(&a.params)?;
    let method = insiders_embed::build(&a.method, &table)?;
    let (x, target) = match &a.target {
        None => (m.data.clone(), None),
        Some(col) => {
            let j = m.columns.iter().position(|c| c == col).with_context(|| {
                format!(
                    "no column `{col}` in {} (columns: {})",
                    a.input.display(),
                    m.columns.join(", ")
                )
            })?;
            let keep: Vec<usize> = (0..m.columns.len()).filter(|&c| c != j).collect();
            (
                m.data.select(ndarray::Axis(1), &keep),
                Some(m.data.column(j).to_vec()),
            )
        }
    };
    let t0 = Instant::now();
    let e = method.fit_transform(x.view(), target.as_deref(), a.seed)?;
    eprintln!("{} in {:.3} s", a.method, t0.elapsed().as_secs_f64());
    for (k, v) in &e.info {
        println!("{k}: {v}");
    }
    let cols: Vec<String> = (0..e.coords.ncols()).map(|j| format!("x{j}")).collect();
    write_atomic(
        &a.out,
        &insiders_ingest::matrix::matrix_csv(&m.id_name, &m.ids, &cols, &e.coords),
    )?;
    Ok(())
}

/// `insiders list`.
pub fn list() -> Result<()> {
    println!("engines:");
    for s in insiders_engines::all() {
        println!("  {:<20} {}", s.name, s.about);
    }
    println!("embedders:");
    for s in insiders_embed::all() {
        println!("  {:<20} {}", s.name, s.about);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_specs() {
        assert_eq!(parse_ks("2..5").unwrap(), vec![2, 3, 4, 5]);
        assert_eq!(parse_ks("2..=3").unwrap(), vec![2, 3]);
        assert_eq!(parse_ks("7").unwrap(), vec![7]);
        assert_eq!(parse_ks("2, 5,8").unwrap(), vec![2, 5, 8]);
        assert!(parse_ks("5..2").is_err());
        assert!(parse_ks("x").is_err());
    }
}
