//! `insiders grid`, `insiders grid-report` and `insiders grid-check`: the benchmark grid of
//! `insiders_grid` on the command line (`cargo xtask grid|report|grid-check` call these).

use anyhow::{Context, Result};
use insiders_grid::grid_report::{Baseline, ReportArgs};
use std::path::PathBuf;

/// `insiders grid`.
#[derive(Debug, clap::Args)]
pub struct GridCmd {
    /// The grid configuration (default: the built-in grid, the repository's grid.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The pipeline configuration: input, cleaning, features and scaler, laid over the
    /// study preset's (default: the study preset, the Python grid's pipeline).
    #[arg(long)]
    pipeline: Option<PathBuf>,
    /// Invoice lines (CSV, CSV.gz, Parquet or xlsx). Give it again, or a pattern like
    /// `exports/*.csv.gz` (`*` and `?` in the file name), to read several files as one
    /// table, in name order. Default: the built-in synthetic shop.
    #[arg(long)]
    data: Vec<PathBuf>,
    /// Only the grid's quick ks (`quick_ks`).
    #[arg(long)]
    quick: bool,
    /// Only these spaces and engines: `space=a,b,engine=c`.
    #[arg(long)]
    only: Option<String>,
    /// The run folder (default: runs/grid-<timestamp>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Compute the stability scores (seed and bootstrap ARI per cell).
    #[arg(long, conflicts_with = "no_stability")]
    stability: bool,
    /// Do not compute them, whatever the configuration says.
    #[arg(long)]
    no_stability: bool,
    /// Spaces and cells one at a time, with CPU seconds per stage (profiling).
    #[arg(long)]
    serial: bool,
    /// Run over data sets of the registry instead of the one customer table: ids or
    /// prefixes, comma-separated (`clustbench/fcps,clustbench/sipu,clustbench/wut,online-retail`;
    /// the real data and the synthetic shops go through the customer pipeline).
    #[arg(long, value_delimiter = ',')]
    datasets: Vec<String>,
    /// With data sets: only each data set's true k(s), not the grid's k range too (a data set
    /// without reference labels, the real data, keeps the k range).
    #[arg(long)]
    true_k_only: bool,
}

/// Parses `--only space=a,b,engine=c` into (spaces, engines).
pub fn parse_only(v: &str) -> Result<(Vec<String>, Vec<String>)> {
    let (mut spaces, mut engines) = (Vec::new(), Vec::new());
    let mut current = "";
    for part in v.split(',') {
        let item = match part.split_once('=') {
            Some((key, val)) => {
                current = match key {
                    "space" => "space",
                    "engine" => "engine",
                    other => anyhow::bail!("--only: unknown key `{other}` (space, engine)"),
                };
                val
            }
            None => part,
        };
        match current {
            "space" => spaces.push(item.to_string()),
            "engine" => engines.push(item.to_string()),
            _ => anyhow::bail!("--only: write space=NAME or engine=NAME"),
        }
    }
    Ok((spaces, engines))
}

pub fn grid(a: GridCmd) -> Result<()> {
    let (only_spaces, only_engines) = match &a.only {
        Some(v) => parse_only(v)?,
        None => (Vec::new(), Vec::new()),
    };
    let args = insiders_grid::GridArgs {
        config: a.config,
        pipeline: a.pipeline,
        data: a.data,
        quick: a.quick,
        only_spaces,
        only_engines,
        out: a.out,
        stability: if a.stability {
            Some(true)
        } else if a.no_stability {
            Some(false)
        } else {
            None
        },
        serial: a.serial,
        datasets: a.datasets,
        true_k_only: a.true_k_only,
    };
    insiders_grid::run(&args)?;
    Ok(())
}

/// `insiders grid-report`.
#[derive(Debug, clap::Args)]
pub struct GridReportCmd {
    /// The run folder of `insiders grid`.
    run: PathBuf,
    /// Compare against another run folder, or `python` (the Python grid of the fixtures),
    /// or `python=FILE`.
    #[arg(long)]
    baseline: Option<String>,
    /// k of the scatter plots (the study's ward k = 10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    k: u64,
    /// Output folder (default: the run folder).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn grid_report(a: GridReportCmd) -> Result<()> {
    let baseline = a.baseline.map(|v| {
        if v == "python" {
            Baseline::Python(insiders_grid::python::default_path())
        } else if let Some(path) = v.strip_prefix("python=") {
            Baseline::Python(PathBuf::from(path))
        } else {
            Baseline::Run(PathBuf::from(v))
        }
    });
    let args = ReportArgs {
        run: a.run,
        baseline,
        k: usize::try_from(a.k).context("--k")?,
        out: a.out,
    };
    insiders_grid::grid_report::run(&args)?;
    Ok(())
}

/// `insiders grid-check`.
#[derive(Debug, clap::Args)]
pub struct GridCheckCmd {
    /// The run folder of `insiders grid` on the real data with the default grid.
    run: PathBuf,
    /// The fixtures folder with reference_grid.csv and kmeans_gmm.csv (default: the shared
    /// fixtures).
    #[arg(long)]
    fixtures: Option<PathBuf>,
}

pub fn grid_check(a: GridCheckCmd) -> Result<()> {
    let fixtures = a
        .fixtures
        .unwrap_or_else(insiders_grid::check::default_fixtures);
    insiders_grid::check::check_run(&a.run, &fixtures)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_filters_parse() {
        let (s, e) = parse_only("space=tree,umap,engine=ward").unwrap();
        assert_eq!(s, vec!["tree", "umap"]);
        assert_eq!(e, vec!["ward"]);
        assert!(parse_only("x=1").is_err());
        assert!(parse_only("ward").is_err());
    }
}
