//! `insiders run`: the main job. Ingest, clean, features, the configured space and model,
//! the Insiders, the answers to the nine questions, the membership history, and the report.
//!
//! Everything is computed before anything is written, and every file is replaced atomically:
//! a run that fails or is killed leaves the earlier outputs and the database as they were.

use crate::DataArgs;
use crate::commands::{load_config, prepare};
use crate::config::Config;
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use insiders_analysis::{Inputs, membership_stability};
use insiders_features::Scaler;
use insiders_ingest::{date, matrix::format_f64, write_atomic};
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// `insiders run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Only invoices dated before this day are seen (YYYY-MM-DD): replays a past month's run.
    #[arg(long)]
    as_of: Option<String>,
    /// Output folder.
    #[arg(long, default_value = "out")]
    out: PathBuf,
    /// Membership history database (SQLite). Default: history.sqlite in the output folder.
    #[arg(long)]
    db: Option<PathBuf>,
    /// The master seed (default: the configuration's).
    #[arg(long)]
    seed: Option<u64>,
}

/// FNV-1a, 64 bits: fingerprints of the data and the configuration (not cryptographic).
pub(crate) fn fnv1a(bytes: impl IntoIterator<Item = u8>, mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// A fingerprint of the invoice lines as read (every column, in file order).
fn data_fingerprint(lines: &insiders_ingest::Transactions) -> String {
    let mut h = FNV_OFFSET;
    for i in 0..lines.len() {
        h = fnv1a(lines.timestamp[i].to_le_bytes(), h);
        h = fnv1a(lines.quantity[i].to_le_bytes(), h);
        h = fnv1a(lines.unit_price[i].to_bits().to_le_bytes(), h);
        h = fnv1a(lines.customer_id[i].unwrap_or(u32::MAX).to_le_bytes(), h);
        h = fnv1a(lines.invoices.resolve(lines.invoice[i]).bytes(), h);
        h = fnv1a(lines.stock_codes.resolve(lines.stock_code[i]).bytes(), h);
        h = fnv1a(lines.countries.resolve(lines.country[i]).bytes(), h);
    }
    format!("{h:016x}")
}

fn config_hash(cfg: &Config) -> Result<String> {
    let text = toml::to_string(cfg).context("serialising the configuration")?;
    Ok(format!("{:016x}", fnv1a(text.bytes(), FNV_OFFSET)))
}

/// Stage timings, for run.json (never in the deterministic outputs).
#[derive(Debug, Default)]
struct Timings(Vec<(&'static str, f64)>, Option<Instant>);

impl Timings {
    fn lap(&mut self, stage: &'static str) {
        let now = Instant::now();
        if let Some(t) = self.1 {
            self.0.push((stage, (now - t).as_secs_f64()));
        }
        self.1 = Some(now);
    }
}

pub fn run(a: RunArgs) -> Result<()> {
    let wall = Instant::now();
    let mut timings = Timings::default();
    timings.lap("start");
    let mut cfg = load_config(&a.data)?;
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(d) = &a.as_of {
        if date::parse_day(d).is_none() {
            bail!("--as-of: `{d}` is not a date YYYY-MM-DD");
        }
        cfg.cleaning.as_of = Some(d.clone());
    }
    let opts = cfg.analysis();
    let progress = Progress::start();
    let p = prepare(&a.data, &cfg, &progress)?;
    timings.lap("read, clean, features");
    progress.stage("scaling");
    let selected: Vec<&str> = cfg.features.selected.iter().map(String::as_str).collect();
    let scaler = Scaler::fit(cfg.features.scaler, &p.table, &selected)?;
    let scaled = scaler.transform(&p.table)?;
    let inputs = Inputs {
        lines: &p.loaded.lines,
        cleaned: &p.cleaned,
        table: &p.table,
        scaled: &scaled,
        selected: &cfg.features.selected,
    };
    progress.stage("space and clusters");
    let seg = insiders_analysis::segment(inputs, &opts, cfg.seed)?;
    timings.lap("space and clusters");
    progress.stage("profiles");
    let desc = insiders_analysis::describe(inputs, &seg)?;
    timings.lap("profiles");
    progress.stage("membership stability");
    let stab = membership_stability(inputs, &seg, &opts, cfg.seed)?;
    timings.lap("stability");

    // ---- outputs, all in memory first ----
    let as_of = a.as_of.clone();
    let ids = &p.table.customer_id;
    let mut insiders_csv = String::from("customer_id,cluster,distance_to_centre");
    for c in &p.table.columns {
        insiders_csv.push(',');
        insiders_csv.push_str(c);
    }
    insiders_csv.push('\n');
    let mut insider_ids = Vec::new();
    for i in 0..p.table.len() {
        if !seg.insider[i] {
            continue;
        }
        insider_ids.push(ids[i]);
        let _ = write!(
            insiders_csv,
            "{},{},{}",
            ids[i],
            seg.insiders_cluster,
            format_f64(seg.distance[i])
        );
        for col in &p.table.values {
            insiders_csv.push(',');
            insiders_csv.push_str(&format_f64(col[i]));
        }
        insiders_csv.push('\n');
    }
    let id_strings: Vec<String> = ids.iter().map(u32::to_string).collect();
    let labels: Vec<i64> = seg
        .fitted
        .cluster
        .iter()
        .map(|c| c.map_or(-1, i64::from))
        .collect();
    let labels_csv = insiders_ingest::matrix::labels_csv("customer_id", &id_strings, &labels);
    let space_cols: Vec<String> = (0..seg.fitted.coords.ncols())
        .map(|j| format!("{}_{}", cfg.model.space, j + 1))
        .collect();
    let space_csv = insiders_ingest::matrix::matrix_csv(
        "customer_id",
        &id_strings,
        &space_cols,
        &seg.fitted.coords,
    );
    let fingerprint = data_fingerprint(&p.loaded.lines);
    let chash = config_hash(&cfg)?;
    let answers = json!({
        "run": {
            "as_of": as_of,
            "seed": cfg.seed,
            "source": p.loaded.report.source,
            "data_fingerprint": fingerprint,
            "config_hash": chash,
            "customers": p.table.len(),
            "model": {
                "space": cfg.model.space,
                "space_target": cfg.model.space_target,
                "space_params": cfg.model.space_params,
                "engine": cfg.model.engine,
                "k": cfg.model.k,
                "engine_params": cfg.model.engine_params,
            },
            "space_info": seg.fitted.space_info,
            "clusters_found": seg.fitted.k,
            "noise": seg.noise,
            "insiders_cluster": seg.insiders_cluster,
        },
        "q1_who": {
            "file": "insiders.csv",
            "customer_ids": insider_ids,
        },
        "q2_how_many": {
            "insiders": desc.size.insiders,
            "customers": desc.size.customers,
            "share_customers": desc.size.share_customers,
        },
        "q3_characteristics": desc.contrast,
        "q4_revenue_share": {
            "insiders_revenue": desc.size.revenue,
            "total_revenue": desc.size.total_revenue,
            "share_revenue": desc.size.share_revenue,
        },
        "q8_guarantee": {
            "membership_stability": stab,
        },
        "q9_actions": desc.actions,
        "hypotheses": desc.hypotheses,
        "clusters": seg.profiles,
    });
    let answers_text = serde_json::to_string_pretty(&answers)? + "\n";
    timings.lap("answers");
    let accounting = json!({
        "read": p.loaded.report,
        "accounting": p.cleaned.account,
    });

    progress.stage("writing");
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("creating the output folder {}", a.out.display()))?;
    write_atomic(&a.out.join("insiders.csv"), insiders_csv.as_bytes())?;
    write_atomic(&a.out.join("labels.csv"), &labels_csv)?;
    write_atomic(&a.out.join("space.csv"), &space_csv)?;
    write_atomic(&a.out.join("customers.csv"), &p.table.to_csv())?;
    write_atomic(
        &a.out.join("row_accounting.json"),
        (serde_json::to_string_pretty(&accounting)? + "\n").as_bytes(),
    )?;
    write_atomic(&a.out.join("answers.json"), answers_text.as_bytes())?;
    timings.lap("write");
    let run_info = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "data": a.data.data.as_ref().map(|p| p.display().to_string()),
        "threads": rayon::current_num_threads(),
        "wall_seconds": wall.elapsed().as_secs_f64(),
        "stages": timings.0.iter().skip(1).map(|(s, t)| json!({"stage": s, "seconds": t})).collect::<Vec<_>>(),
    });
    write_atomic(
        &a.out.join("run.json"),
        (serde_json::to_string_pretty(&run_info)? + "\n").as_bytes(),
    )?;
    progress.finish("run");
    println!(
        "source: {} ({})",
        p.loaded.report.path, p.loaded.report.source
    );
    println!(
        "model: {} on the {} space, k = {} -> {} clusters{}",
        cfg.model.engine,
        cfg.model.space,
        cfg.model.k,
        seg.fitted.k,
        if seg.noise > 0 {
            format!(", {} customers in noise", seg.noise)
        } else {
            String::new()
        }
    );
    println!(
        "Insiders: cluster {} with {} of {} customers ({:.1}%), {:.1}% of revenue",
        seg.insiders_cluster,
        desc.size.insiders,
        desc.size.customers,
        100.0 * desc.size.share_customers,
        100.0 * desc.size.share_revenue
    );
    for h in &desc.hypotheses {
        println!(
            "{}: {}: {}",
            h.id,
            h.statement,
            if h.holds { "TRUE" } else { "FALSE" }
        );
    }
    println!(
        "membership stability (Jaccard): seeds {:.3}, subsamples {:.3}",
        stab.seed_mean, stab.subsample_mean
    );
    println!("wrote {}", a.out.display());
    Ok(())
}
