//! `insiders`: find an e-commerce company's most valuable customers by clustering.
//!
//! Commands: `run` (the main job), `features`, `inspect`, `synth`, `cluster`, `embed`, `list`,
//! `history`, `serve`, `grid`, `grid-report`, `grid-check`, `evaluate`. With no `--data`,
//! the data is the built-in seeded synthetic shop, so every command works on a fresh machine.

#[cfg(feature = "distributed")]
mod ballista;
mod beside;
mod commands;
mod compute;
mod evaluate;
mod grid;
mod progress;
mod run;
#[cfg(feature = "serve")]
mod serve;
mod synth_out;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Find an e-commerce company's most valuable customers by clustering, and benchmark
/// clustering engines.
#[derive(Debug, Parser)]
#[command(name = "insiders", version, about, long_about = None)]
struct Cli {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job: the Insiders, the answers to the nine business questions, the membership
    /// history and the report.
    Run(run::RunArgs),
    /// Clean the invoice lines and write the customer table, the scaled model matrix and the
    /// row accounting.
    Features(commands::FeaturesArgs),
    /// Describe the invoice lines: dimensions, types, missing values, statistics.
    Inspect(commands::InspectArgs),
    /// Write the seeded synthetic shop (invoice lines and each customer's true archetype).
    Synth(commands::SynthArgs),
    /// Cluster any numeric CSV matrix with a registered engine and print the scores.
    Cluster(commands::ClusterArgs),
    /// Embed any numeric CSV matrix with PCA, UMAP, t-SNE or the forest leaf space.
    Embed(commands::EmbedArgs),
    /// List the runs in the membership history, or one customer's runs.
    History(run::HistoryArgs),
    /// The read-only web server over the history: a JSON API and a dashboard.
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// List the registered engines and embedders.
    List,
    /// The benchmark grid: every space x engine x k of a grid configuration, fitted and
    /// scored on the pipeline's model matrix; writes a run folder.
    Grid(grid::GridCmd),
    /// The report of a grid run folder: report.html, report.md and SVG figures.
    GridReport(grid::GridReportCmd),
    /// Compare a run of the default grid on the real data with the Python grid.
    GridCheck(grid::GridCheckCmd),
    /// How right are the Insiders: recovery of the planted high-value customers of synthetic
    /// shops and the forward check on real data (docs/recovery.md).
    Evaluate(evaluate::EvaluateArgs),
    /// Run a Ballista scheduler or executor: the cluster of `--compute ballista://HOST:PORT`
    /// (docs/distributed.md).
    #[cfg(feature = "distributed")]
    Ballista(ballista::BallistaCmd),
}

/// Options shared by the commands that read invoice lines.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// Invoice lines (CSV, CSV.gz, Parquet or xlsx). Default: the built-in synthetic shop.
    /// Give it again, or a pattern like `exports/*.csv.gz` (`*` and `?` in the file name),
    /// to read several files as one table, in name order.
    #[arg(long)]
    data: Vec<PathBuf>,
    /// The memory this command may use (e.g. `6GiB`); overrides `[limits] memory`.
    /// Default: what the machine can give when the command starts.
    #[arg(long)]
    memory_limit: Option<String>,
    /// Configuration file (see insiders.toml for every key); laid over --preset when given.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A named configuration: `study` (the study's method exactly: the tree space, Ward with
    /// k = 10, everyone eligible).
    #[arg(long)]
    preset: Option<String>,
    /// What to do with malformed rows: `error` (default) or `skip` (counted, and written to
    /// rejects.csv).
    #[arg(long)]
    on_bad_row: Option<insiders_ingest::OnBadRow>,
    /// Sheet of an Excel workbook (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Where the cleaning and the customer features are computed: `local` (in this process,
    /// the default), `datafusion` (an Apache DataFusion plan in this process, spilling to
    /// disk beyond --compute-memory) or `ballista://HOST:PORT` (the plan on a Ballista
    /// cluster). Needs the `distributed` feature; see docs/distributed.md.
    #[arg(
        long,
        value_name = "local|datafusion|ballista://HOST:PORT",
        default_value = "local"
    )]
    compute: String,
    /// Memory of `--compute datafusion` in MiB (beyond it, sorts and aggregations spill).
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    compute_memory: u64,
    /// Seconds within which `--compute datafusion|ballista://...` must finish.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    compute_timeout: u64,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // Worker threads get the main thread's stack size: the whole command runs on one.
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(8 << 20);
    if let Some(n) = cli.threads {
        pool = pool.num_threads(n);
    }
    pool.build_global()?;
    // The command runs on a worker of the pool, so that the thousands of parallel calls of
    // a run are not each injected from outside the pool (see `insiders_core::on_pool`).
    let command = cli.command;
    insiders_core::on_pool(move || dispatch(command))
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Run(a) => run::run(a),
        Command::Features(a) => commands::features(a),
        Command::Inspect(a) => commands::inspect(a),
        Command::Synth(a) => commands::synth(a),
        Command::Cluster(a) => commands::cluster(a),
        Command::Embed(a) => commands::embed(a),
        Command::History(a) => run::history(a),
        #[cfg(feature = "serve")]
        Command::Serve(a) => serve::serve(a),
        Command::List => commands::list(),
        Command::Grid(a) => grid::grid(a),
        Command::GridReport(a) => grid::grid_report(a),
        Command::GridCheck(a) => grid::grid_check(a),
        Command::Evaluate(a) => evaluate::evaluate(a),
        #[cfg(feature = "distributed")]
        Command::Ballista(a) => ballista::ballista(a),
    }
}
