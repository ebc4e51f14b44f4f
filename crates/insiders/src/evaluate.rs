//! `insiders evaluate`: how right are the Insiders? Recovery of the planted high-value
//! customers of synthetic shops and the forward check on real data, for whatever method the
//! configuration describes (the work is `insiders_recovery`'s; this is the command line).
//! The document and the JSON are rewritten after every cell, so a long run that is stopped
//! keeps what it measured.

use anyhow::{Context, Result, bail};
use insiders_ingest::{date, write_atomic};
use insiders_pipeline::Config;
use insiders_recovery::table::Report;
use insiders_recovery::{Basis, ShopResult, ShopSpec, evaluate_shop, forward_check};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `insiders evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// Configuration file (see insiders.toml); laid over --preset when given.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A named configuration (`study`).
    #[arg(long)]
    preset: Option<String>,
    /// Shop sizes (customers with an id), comma-separated.
    #[arg(long, default_value = "2000,10000,40000,200000")]
    sizes: String,
    /// Shops per size: seeds 1..=N.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// High-value shares of the share variants, comma-separated (empty: none).
    #[arg(long, default_value = "0.03,0.15")]
    shares: String,
    /// Customers of the share variants' shops.
    #[arg(long, default_value_t = 10_000)]
    share_size: usize,
    /// Seeds of the share variants (default: --seeds).
    #[arg(long)]
    share_seeds: Option<u64>,
    /// Real invoice lines for the forward check (skipped without).
    #[arg(long)]
    real_data: Option<PathBuf>,
    /// The forward check's cut-off day (the calibration sees the days before it).
    #[arg(long, default_value = "2011-09-09")]
    cutoff: String,
    /// Holdout days from the cut-off.
    #[arg(long, default_value_t = 91)]
    holdout_days: u32,
    /// The Markdown table.
    #[arg(long, default_value = "docs/recovery.md")]
    out: PathBuf,
    /// The machine-readable results (default: recovery.json beside --out).
    #[arg(long)]
    json: Option<PathBuf>,
}

fn list<T: std::str::FromStr>(what: &str, s: &str) -> Result<Vec<T>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse()
                .map_err(|_| anyhow::anyhow!("--{what}: `{x}` is not a number"))
        })
        .collect()
}

fn describe(cfg: &Config, a: &EvaluateArgs) -> String {
    let source = match (&a.preset, &a.config) {
        (Some(p), Some(f)) => format!("`{}` over preset `{p}`", f.display()),
        (Some(p), None) => format!("preset `{p}`"),
        (None, Some(f)) => format!("`{}`", f.display()),
        (None, None) => "the default configuration".into(),
    };
    let m = &cfg.model;
    let s = &cfg.stability;
    let c = &m.consensus;
    let method = if c.enabled {
        format!(
            "a consensus of {} fits ({} at k = {}..{}, {} subsamples of {} each; top groups of \
             at most {} of the customers), membership: {:?} at probability {}, on {} of the {} \
             space",
            (c.k_max + 1 - c.k_min) * c.resamples as usize,
            m.engine,
            c.k_min,
            c.k_max,
            c.resamples,
            c.fraction,
            c.max_share,
            c.membership,
            c.threshold,
            cfg.features.selected.join(", "),
            m.space
        )
    } else {
        format!(
            "{} (k = {}) on the {} space (target {})",
            m.engine, m.k, m.space, m.space_target
        )
    };
    format!(
        "{source}: {method}, eligible: {:?}, seed {}; stability: {} seeds, {} subsamples of {}",
        cfg.insiders.eligible, cfg.seed, s.seeds, s.subsamples, s.fraction
    )
    .replace("ValueBreak", "value break")
    .replace("Probability", "probability")
    .replace("Everyone", "everyone")
    .replace("Identified", "identified")
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let day = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        date::format_day(day),
        s / 3600,
        (s / 60) % 60
    )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // The load when the command started: other work on the machine slows every cell.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next().map(str::to_string))
        .map_or_else(String::new, |l| format!(", load average {l} at the start"));
    format!(
        "{cpu}, {cores} cores, {} threads, {} build{load}",
        rayon::current_num_threads(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    )
}

fn write(report: &Report, out: &Path, json: &Path) -> Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_atomic(out, report.to_markdown().as_bytes())?;
    write_atomic(
        json,
        (serde_json::to_string_pretty(report)? + "\n").as_bytes(),
    )?;
    Ok(())
}

fn print_cell(c: &ShopResult) {
    let m = &c.methods[0];
    eprintln!(
        "{} {} customers seed {}: {} Insiders, precision {:.3} recall {:.3} F1 {:.3}, \
         Jaccard {:.3}/{:.3}; ceilings F1 {:.3} / {:.3}; {:.1} s",
        c.shop,
        c.spec.customers,
        c.spec.seed,
        m.selected,
        m.precision,
        m.recall,
        m.f1,
        m.jaccard_seeds.unwrap_or(f64::NAN),
        m.jaccard_subsamples.unwrap_or(f64::NAN),
        c.methods.get(1).map_or(f64::NAN, |r| r.f1),
        c.methods.get(2).map_or(f64::NAN, |r| r.f1),
        c.seconds
    );
}

pub fn evaluate(a: EvaluateArgs) -> Result<()> {
    let wall = Instant::now();
    let base = match &a.preset {
        Some(name) => Config::preset(name)?,
        None => Config::default(),
    };
    let cfg = match &a.config {
        Some(p) => Config::load_over(&base, p)?,
        None => base,
    };
    if cfg.model.from_grid.is_some() {
        bail!("[model.from_grid]: evaluate a fixed model (take the chosen cell's settings)");
    }
    let sizes: Vec<usize> = list("sizes", &a.sizes)?;
    let shares: Vec<f64> = list("shares", &a.shares)?;
    if let Some(s) = shares.iter().find(|s| !(0.0..=1.0).contains(*s)) {
        bail!("--shares: {s} is not in [0, 1]");
    }
    if date::parse_day(&a.cutoff).is_none() {
        bail!("--cutoff: `{}` is not a date YYYY-MM-DD", a.cutoff);
    }
    let json = a
        .json
        .clone()
        .unwrap_or_else(|| a.out.with_file_name("recovery.json"));
    let mut report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        config: describe(&cfg, &a),
        date: now_utc(),
        machine: machine(),
        shops: Vec::new(),
        shares: Vec::new(),
        forward: Vec::new(),
        wall_seconds: 0.0,
    };
    if let Some(data) = &a.real_data {
        let study = Config::preset("study")?;
        let mut methods = vec![("configured".to_string(), cfg.clone())];
        let same = study.analysis() == cfg.analysis()
            && study.features == cfg.features
            && study.cleaning == cfg.cleaning
            && study.seed == cfg.seed;
        if !same {
            methods.push(("study preset".to_string(), study));
        } else {
            methods[0].0 = "configured (= study preset)".into();
        }
        for basis in [Basis::Canonical, Basis::Raw] {
            eprintln!(
                "forward check on {} at {} ({basis:?} lines)",
                data.display(),
                a.cutoff
            );
            let f = forward_check(data, &methods, &a.cutoff, a.holdout_days, basis)?;
            for r in &f.rows {
                eprintln!(
                    "  {}: {} chosen ({} anonymous), N {}, {:.1}% of holdout revenue, precision@N {:.3}",
                    r.method,
                    r.chosen,
                    r.anonymous,
                    r.n,
                    100.0 * r.share_of_holdout_revenue,
                    r.precision_at_n
                );
            }
            report.forward.push(f);
            report.wall_seconds = wall.elapsed().as_secs_f64();
            write(&report, &a.out, &json)?;
        }
    }
    // The cells in order of size (the share variants after the default mix of their size),
    // so a long run stopped early has the cheap cells.
    let mut jobs: Vec<ShopSpec> = Vec::new();
    for &customers in &sizes {
        for seed in 1..=a.seeds {
            jobs.push(ShopSpec {
                customers,
                seed,
                high_value_share: None,
            });
        }
    }
    for &share in &shares {
        for seed in 1..=a.share_seeds.unwrap_or(a.seeds) {
            jobs.push(ShopSpec {
                customers: a.share_size,
                seed,
                high_value_share: Some(share),
            });
        }
    }
    jobs.sort_by_key(|j| j.customers);
    for spec in &jobs {
        let c = evaluate_shop(&cfg, spec)?;
        print_cell(&c);
        if spec.high_value_share.is_some() {
            report.shares.push(c);
        } else {
            report.shops.push(c);
        }
        report.wall_seconds = wall.elapsed().as_secs_f64();
        write(&report, &a.out, &json)?;
    }
    report.wall_seconds = wall.elapsed().as_secs_f64();
    write(&report, &a.out, &json)?;
    println!(
        "wrote {} and {} ({:.0} s)",
        a.out.display(),
        json.display(),
        report.wall_seconds
    );
    Ok(())
}
