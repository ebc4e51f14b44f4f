//! `insiders run`: the main job. Ingest, clean, features, the configured space and model,
//! the Insiders, the answers to the nine questions, the membership history, and the report.
//!
//! Everything is computed before anything is written, and every file is replaced atomically:
//! a run that fails or is killed leaves the earlier outputs and the database as they were.

use crate::DataArgs;
use crate::commands::{load_config, prepare};
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use insiders_analysis::answers::{Answers, RunInfo};
use insiders_analysis::rules::MembershipChanges;
use insiders_analysis::run_report::{FlowRow, ReportInputs};
use insiders_core::memory;
use insiders_core::numeric::{FNV_OFFSET, fnv1a};
use insiders_history::{Membership, RunDocuments, RunRecord, Store};
use insiders_ingest::{date, matrix::format_f64, write_atomic};
use insiders_pipeline::{Config, model_matrix};
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
    /// Membership history: an SQLite file, or `postgresql://USER@HOST:PORT/DB`. Default:
    /// `[history] db` of the configuration, else history.sqlite in the output folder.
    #[arg(long)]
    db: Option<String>,
    /// The master seed (default: the configuration's).
    #[arg(long)]
    seed: Option<u64>,
}

/// A fingerprint of the invoice lines as read (every column, in file order).
fn data_fingerprint(lines: &insiders_ingest::Transactions) -> String {
    let mut h = FNV_OFFSET;
    for i in 0..lines.len() {
        h = fnv1a(lines.timestamp(i).to_le_bytes(), h);
        h = fnv1a(lines.quantity(i).to_le_bytes(), h);
        h = fnv1a(lines.unit_price(i).to_bits().to_le_bytes(), h);
        h = fnv1a(lines.customer_id(i).unwrap_or(u32::MAX).to_le_bytes(), h);
        h = fnv1a(lines.invoices.resolve(lines.invoice(i)).bytes(), h);
        h = fnv1a(lines.stock_codes.resolve(lines.stock_code(i)).bytes(), h);
        h = fnv1a(lines.countries.resolve(lines.country(i)).bytes(), h);
    }
    format!("{h:016x}")
}

/// A fingerprint of the configuration, without the as-of date (recorded on its own), so that
/// monthly runs of one configuration share it.
fn config_hash(cfg: &Config) -> Result<String> {
    let mut c = cfg.clone();
    c.cleaning.as_of = None;
    c.history = insiders_pipeline::HistoryOptions::default();
    let text = toml::to_string(&c).context("serialising the configuration")?;
    Ok(format!("{:016x}", fnv1a(text.bytes(), FNV_OFFSET)))
}

/// Stage timings and memory, for run.json (never in the deterministic outputs): each
/// stage's wall seconds, the resident memory after it, and the peak so far.
#[derive(Debug, Default)]
struct Timings(
    Vec<(&'static str, f64, Option<u64>, Option<u64>)>,
    Option<Instant>,
);

impl Timings {
    fn lap(&mut self, stage: &'static str) {
        let now = Instant::now();
        if let Some(t) = self.1 {
            self.0.push((
                stage,
                (now - t).as_secs_f64(),
                memory::rss(),
                memory::peak_rss(),
            ));
        }
        self.1 = Some(now);
    }
}

/// Bytes the analysis holds per customer at its peak beyond what the run held before it
/// (measured on the synthetic shops of 100k and 1M customers, docs/scale.md), with a margin.
const ANALYSIS_BYTES_PER_CUSTOMER: u64 = 800;

/// Bytes a cleaning of the lines already read holds: the kept lines' indices (4 a line), a
/// customer a run (4), and the customer table (about 400 a customer, with its scaled copy).
fn reclean_bytes(lines: u64, runs: u64, customers: u64) -> u64 {
    4 * lines + 4 * runs + 400 * customers
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
    let choice = match cfg.model.from_grid.clone() {
        Some(c) => {
            let chosen = insiders_grid::choice::choose_from_run(&c, &cfg.features.selected)?;
            cfg.model = chosen.model.clone();
            Some(chosen)
        }
        None => None,
    };
    let opts = cfg.analysis();
    let progress = Progress::start();
    let p = prepare(&a.data, &cfg, &progress)?;
    timings.lap("read, clean, features");
    progress.stage("scaling");
    let m = model_matrix(&p.table, &cfg)?;
    let inputs = p.inputs(&m);
    // Q5's backtest: the same pipeline on the data up to its cut-off (as a run then would
    // have seen them), when the history is long enough.
    let cutoff =
        insiders_analysis::revenue::backtest_cutoff(&p.loaded.lines, &p.cleaned, &opts.forecast);
    let cal_last_day = cutoff.as_ref().ok().copied();
    let calibration = match cutoff {
        Ok(cutoff) => {
            // The lines already read, cleaned again up to the cut-off (the same as reading
            // the source again with that as-of date, without a second copy of the lines).
            let mut c = cfg.clone();
            c.cleaning.as_of = Some(date::format_day(cutoff + 1));
            progress.stage("calibration data (Q5 backtest)");
            insiders_pipeline::check_memory(
                "the Q5 calibration data",
                format!("{} lines", p.loaded.lines.len()),
                reclean_bytes(
                    p.loaded.lines.len() as u64,
                    p.loaded.lines.runs() as u64,
                    p.table.len() as u64,
                ),
                &cfg,
            )?;
            let (cleaned, table) = p.reclean(&c)?;
            let cm = model_matrix(&table, &c)?;
            Some((cleaned, table, cm))
        }
        Err(_) => None,
    };
    let calibration_inputs =
        calibration
            .as_ref()
            .map(|(cleaned, table, cm)| insiders_analysis::Inputs {
                lines: &p.loaded.lines,
                cleaned,
                table,
                scaled: &cm.x,
                selected: &cm.names,
            });
    timings.lap("calibration data (Q5 backtest)");
    progress.stage("space, clusters, models and tests");
    insiders_pipeline::check_memory(
        "the analysis",
        format!("{} customers", p.table.len()),
        ANALYSIS_BYTES_PER_CUSTOMER * p.table.len() as u64,
        &cfg,
    )?;
    let analysis =
        insiders_analysis::analyse_observed(inputs, calibration_inputs, &opts, cfg.seed, &|s| {
            progress.stage(&format!("analysis: {s}"))
        })?;
    timings.lap("analysis");
    let seg = &analysis.segmentation;

    // The as-of date: the given one, or the day after the last invoice.
    let as_of = match &a.as_of {
        Some(d) => d.clone(),
        None => date::format_day(p.cleaned.last_day + 1),
    };
    let run_info = RunInfo {
        as_of: as_of.clone(),
        seed: cfg.seed,
        source: p.loaded.report.source.clone(),
        data_fingerprint: data_fingerprint(&p.loaded.lines),
        config_hash: config_hash(&cfg)?,
        customers: p.table.len(),
        space: cfg.model.space.clone(),
        space_target: cfg.model.space_target.clone(),
        engine: cfg.model.engine.clone(),
        k: cfg.model.k,
        space_info: seg.fitted.space_info.clone(),
        clusters_found: seg.fitted.k,
        noise: seg.noise,
        insiders_cluster: seg.insiders_cluster,
        model_choice: choice,
    };

    // ---- the history: what changed since the previous run, from the database and the new
    // memberships in memory (the run itself is recorded with its documents, further down) ----
    progress.stage("history");
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("creating the output folder {}", a.out.display()))?;
    let db_location = match (&a.db, &cfg.history.db) {
        (Some(db), _) | (None, Some(db)) => db.clone(),
        (None, None) => a.out.join("history.sqlite").display().to_string(),
    };
    let mut history = insiders_history::open(&db_location, true)?;
    let memberships: Vec<Membership> = p
        .table
        .customer_id
        .iter()
        .zip(&seg.fitted.cluster)
        .zip(&seg.insider)
        .map(|((&id, c), &insider)| Membership {
            customer_id: i64::from(id),
            cluster: c.map_or(-1, i64::from),
            insider,
        })
        .collect();
    let record = RunRecord {
        as_of: as_of.clone(),
        config_hash: run_info.config_hash.clone(),
        data_fingerprint: run_info.data_fingerprint.clone(),
        seed: cfg.seed,
        model: model_description(&cfg),
        insiders_cluster: i64::from(seg.insiders_cluster),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let (since_previous, flows) = history_flows(history.as_mut(), &as_of, &memberships)?;
    timings.lap("history");

    // ---- outputs, all in memory first ----
    progress.stage("report");
    let mut answers = insiders_analysis::answers(&analysis, &p.table, run_info, since_previous);
    progress.stage("the study's method, beside");
    answers.beside_study = crate::beside::beside_study(
        &cfg,
        &p,
        seg,
        calibration
            .as_ref()
            .zip(analysis.calibration_insiders.as_deref())
            .zip(cal_last_day)
            .map(|(((cleaned, table, _), ids), day)| (cleaned, table, ids, day)),
    )?;
    timings.lap("the study's method, beside");
    let answers_text = serde_json::to_string_pretty(&answers)? + "\n";
    let ids = &p.table.customer_id;
    let mut insiders_csv = String::from("customer_id,cluster,distance_to_centre");
    // With a consensus, each Insider's probability (the share of the resampled fits that
    // made it one; membership: at least model.consensus.threshold).
    if seg.probability.is_some() {
        insiders_csv.push_str(",insider_probability");
    }
    for c in &p.table.columns {
        insiders_csv.push(',');
        insiders_csv.push_str(c);
    }
    insiders_csv.push('\n');
    for i in (0..p.table.len()).filter(|&i| seg.insider[i]) {
        let _ = write!(
            insiders_csv,
            "{},{},{}",
            ids[i],
            seg.insiders_cluster,
            format_f64(seg.distance[i])
        );
        if let Some(prob) = &seg.probability {
            insiders_csv.push(',');
            insiders_csv.push_str(&format_f64(prob[i]));
        }
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
    let report = insiders_analysis::run_report::build(ReportInputs {
        answers: &answers,
        coords: &seg.fitted.coords,
        cluster: &seg.fitted.cluster,
        table: &p.table,
        insider: &seg.insider,
        distance: &seg.distance,
        flows: &flows,
        accounting: &p.cleaned.account,
        probability: seg.probability.as_deref(),
    });
    let html = report.to_html();
    let md = report.to_markdown();
    let accounting = json!({
        "read": p.loaded.report,
        "accounting": p.cleaned.account,
    });
    timings.lap("answers and report");

    // One transaction: the run, its memberships and its documents; a rerun of the same as-of
    // date replaces it.
    progress.stage("recording");
    let documents = RunDocuments {
        answers: answers_text.clone(),
        insiders_csv: insiders_csv.clone(),
        report_html: html.clone(),
    };
    let run_id = history.record_run_with(&record, &memberships, Some(&documents))?;
    timings.lap("record");

    progress.stage("writing");
    write_atomic(&a.out.join("insiders.csv"), insiders_csv.as_bytes())?;
    write_atomic(&a.out.join("labels.csv"), &labels_csv)?;
    write_atomic(&a.out.join("space.csv"), &space_csv)?;
    write_atomic(&a.out.join("customers.csv"), &p.table.to_csv())?;
    write_atomic(
        &a.out.join("row_accounting.json"),
        (serde_json::to_string_pretty(&accounting)? + "\n").as_bytes(),
    )?;
    for (name, svg) in &md.files {
        write_atomic(&a.out.join(name), svg.as_bytes())?;
    }
    write_atomic(&a.out.join("report.md"), md.text.as_bytes())?;
    write_atomic(&a.out.join("report.html"), html.as_bytes())?;
    write_atomic(&a.out.join("answers.json"), answers_text.as_bytes())?;
    timings.lap("write");
    let info = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "data": (!a.data.data.is_empty()).then(|| {
            a.data
                .data
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        "database": history.location(),
        "run_id": run_id.0,
        "threads": rayon::current_num_threads(),
        "wall_seconds": wall.elapsed().as_secs_f64(),
        "stages": timings.0.iter().map(|(s, t, rss, peak)| json!({"stage": s, "seconds": t, "rss_bytes": rss, "peak_rss_bytes": peak})).collect::<Vec<_>>(),
        "analysis_steps": analysis.timings.iter().map(|(s, t)| json!({"step": s, "seconds": t})).collect::<Vec<_>>(),
    });
    write_atomic(
        &a.out.join("run.json"),
        (serde_json::to_string_pretty(&info)? + "\n").as_bytes(),
    )?;
    progress.finish("run");
    print_summary(&answers, &p.loaded.report, &a.out);
    Ok(())
}

/// The model as the history records it.
fn model_description(cfg: &Config) -> String {
    let m = &cfg.model;
    if m.consensus.enabled {
        format!(
            "{} consensus k={}..{} on the {} space",
            m.engine, m.consensus.k_min, m.consensus.k_max, m.space
        )
    } else {
        format!("{} k={} on the {} space", m.engine, m.k, m.space)
    }
}

/// Since the previous run (Q7) and the flows between all consecutive runs (the report), as
/// they will be once this run is recorded: the database's runs other than this date, plus
/// this run's memberships, read in one snapshot.
fn history_flows(
    store: &mut dyn Store,
    as_of: &str,
    memberships: &[Membership],
) -> Result<(Option<MembershipChanges>, Vec<FlowRow>)> {
    let mut runs = insiders_history::snapshot(store, |h| {
        let mut runs = Vec::new();
        for run in h.all_runs()? {
            if run.record.as_of != as_of {
                let ids = h.insider_ids(run.id)?;
                runs.push((run.record.as_of, ids));
            }
        }
        Ok(runs)
    })?;
    let mut now: Vec<i64> = memberships
        .iter()
        .filter(|m| m.insider)
        .map(|m| m.customer_id)
        .collect();
    now.sort_unstable();
    let previous = runs
        .iter()
        .filter(|(d, _)| d.as_str() < as_of)
        .max_by(|x, y| x.0.cmp(&y.0));
    let since_previous = previous.map(|(d, before)| {
        let f = insiders_history::flows_between_lists(before, &now);
        MembershipChanges {
            previous_as_of: d.clone(),
            entered: f.entered,
            left: f.left,
            stayed: f.stayed,
        }
    });
    runs.push((as_of.to_string(), now));
    runs.sort_by(|x, y| x.0.cmp(&y.0));
    let flows = runs
        .windows(2)
        .map(|w| {
            let f = insiders_history::flows_between_lists(&w[0].1, &w[1].1);
            FlowRow {
                as_of: w[1].0.clone(),
                stayed: f.stayed,
                entered: f.entered.len(),
                left: f.left.len(),
            }
        })
        .collect();
    Ok((since_previous, flows))
}

fn print_summary(a: &Answers, read: &insiders_ingest::ReadReport, out: &std::path::Path) {
    let r = &a.run;
    println!("source: {} ({}), as of {}", read.path, read.source, r.as_of);
    let k = match r.space_info.get("consensus_fits") {
        Some(fits) => format!("a consensus of {fits} fits over k"),
        None => format!("k = {}", r.k),
    };
    println!(
        "model: {} on the {} space, {k} -> {} clusters{}",
        r.engine,
        r.space,
        r.clusters_found,
        if r.noise > 0 {
            format!(", {} customers in noise", r.noise)
        } else {
            String::new()
        }
    );
    println!(
        "Q1-Q4 Insiders: cluster {} with {} of {} customers ({:.1}%), {:.1}% of revenue",
        r.insiders_cluster,
        a.q2_how_many.insiders,
        a.q2_how_many.customers,
        100.0 * a.q2_how_many.share_customers,
        100.0 * a.q4_revenue_share.share_revenue
    );
    let q5 = &a.q5_expected_revenue;
    println!(
        "Q5 expected revenue, next {} months ({}): {:.0}{}",
        q5.months,
        q5.model,
        q5.insiders.estimate,
        if q5.insiders.lo.is_finite() && q5.insiders.hi.is_finite() {
            format!(
                " ({:.0}% band {:.0} .. {:.0})",
                100.0 * q5.insiders.level,
                q5.insiders.lo,
                q5.insiders.hi
            )
        } else {
            " (no simulated band for this forecast)".to_string()
        }
    );
    if let Some(b) = &q5.backtest {
        println!(
            "   backtest {} .. {}: {} error {:+.1}%, naive baseline {:+.1}%",
            b.calibration_end,
            b.holdout_end,
            b.chosen,
            100.0 * b.insiders.model_error,
            100.0 * b.insiders.naive_error
        );
    }
    let q6 = &a.q6_conditions_to_enter;
    println!(
        "Q6 entry rules: {} rules, precision {:.1}%, recall {:.1}%",
        q6.rules.len(),
        100.0 * q6.precision,
        100.0 * q6.recall
    );
    if let Some(c) = &a.q7_conditions_to_leave.since_previous {
        println!(
            "Q7 since {}: {} entered, {} left, {} stayed",
            c.previous_as_of,
            c.entered.len(),
            c.left.len(),
            c.stayed
        );
    }
    let s = &a.q8_guarantee.membership_stability;
    println!(
        "Q8 membership stability (Jaccard): seeds {:.3}, subsamples {:.3}",
        s.seed_mean, s.subsample_mean
    );
    for h in &a.hypotheses {
        println!(
            "{}: {}: {}",
            h.id,
            h.statement,
            if h.holds { "TRUE" } else { "FALSE" }
        );
    }
    println!(
        "wrote {} (report.html, answers.json, insiders.csv)",
        out.display()
    );
}

/// `insiders history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The history: an SQLite file or `postgresql://USER@HOST:PORT/DB` (default: `[history]
    /// db` of --config, else out/history.sqlite, where `insiders run` writes it).
    #[arg(long)]
    db: Option<String>,
    /// Configuration file whose `[history] db` names the database.
    #[arg(long)]
    config: Option<PathBuf>,
    /// One customer's clusters and Insider status, run by run.
    #[arg(long)]
    customer: Option<i64>,
}

pub fn history(a: HistoryArgs) -> Result<()> {
    let location = db_location(a.db, a.config.as_deref())?;
    let mut h = insiders_history::open(&location, false)?;
    let mut out = std::io::stdout().lock();
    insiders_history::write_listing(h.as_mut(), a.customer, &mut out)?;
    Ok(())
}

/// The database of `history` and `serve`: `--db`, else `[history] db` of `--config`, else
/// out/history.sqlite.
pub fn db_location(db: Option<String>, config: Option<&std::path::Path>) -> Result<String> {
    if let Some(db) = db {
        return Ok(db);
    }
    if let Some(path) = config
        && let Some(db) = Config::load(path)?.history.db
    {
        return Ok(db);
    }
    Ok("out/history.sqlite".to_string())
}
