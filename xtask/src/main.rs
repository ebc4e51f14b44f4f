//! `cargo xtask <command>`: project automation.

mod bench;
mod check;
mod grid;
mod manifest;
mod new_engine;
mod report;
mod screenshot;
mod stability;

use anyhow::{Result, bail};
use std::path::PathBuf;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  grid [--config grid.toml] [--data F] [--quick] [--only space=a,b,engine=c] [--out DIR]
       [--stability | --no-stability] [--serial]
        fit and score every space x engine x k of the grid; writes a run folder
        (results.csv/json, labels/, spaces/, manifest.json) under runs/;
        stability (seed and bootstrap ARI per cell) as [stability] in the config says;
        spaces and cells run concurrently (--serial: one at a time, with CPU per stage)
  report RUN [--baseline RUN | --baseline python] [--k K] [--out DIR]
        HTML + Markdown report of a grid run (report.html, report.md, *.svg)
  screenshot FILE.html --out FILE.png [--size WxH]
        screenshot of a page in headless Chromium (/usr/bin/chromium)
  grid-check RUN [--fixtures DIR]
        compare a run of the default grid with the Python grid (reference_grid.csv):
        ward silhouettes (features, pca) within 1e-6, kmeans and gmm within their
        tolerances; prints the comparison table, fails on a mismatch
  bench [--ci] [--save NAME] [--baseline NAME] [--target PKG/BENCH] [FILTER]
        run every criterion benchmark of the workspace; fails when a target or the
        filter measures nothing; --ci: short mode; --baseline: change per benchmark
  new-engine NAME
        scaffold crates/insiders-engines/src/NAME.rs (a seeded engine with typed
        parameters and tests) and register it
  help  this text
";

/// A progress bar on standard error (hidden when it is not a terminal).
pub fn progress_bar(total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} cells {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The workspace root: `$INSIDERS_ROOT` if set, else the parent of the xtask crate.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("INSIDERS_ROOT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    )
}

fn parse_grid_args(args: &[String]) -> Result<grid::GridArgs> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut g = grid::GridArgs {
        config: root.join("grid.toml"),
        ..Default::default()
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<String> {
            match it.next() {
                Some(v) => Ok(v.clone()),
                None => bail!("{name} needs a value"),
            }
        };
        match a.as_str() {
            "--config" => g.config = PathBuf::from(value("--config")?),
            "--data" => g.data = Some(PathBuf::from(value("--data")?)),
            "--out" => g.out = Some(PathBuf::from(value("--out")?)),
            "--quick" => g.quick = true,
            "--stability" => g.stability = Some(true),
            "--no-stability" => g.stability = Some(false),
            "--serial" => g.serial = true,
            "--only" => {
                let v = value("--only")?;
                let mut current = "";
                for part in v.split(',') {
                    let item = match part.split_once('=') {
                        Some((key, val)) => {
                            current = match key {
                                "space" => "space",
                                "engine" => "engine",
                                other => bail!("--only: unknown key `{other}` (space, engine)"),
                            };
                            val
                        }
                        None => part,
                    };
                    match current {
                        "space" => g.only_spaces.push(item.to_string()),
                        "engine" => g.only_engines.push(item.to_string()),
                        _ => bail!("--only: write space=NAME or engine=NAME"),
                    }
                }
            }
            other => bail!("grid: unknown argument `{other}`\n\n{USAGE}"),
        }
    }
    Ok(g)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo xtask COMMAND --help` (or -h) prints the usage instead of running COMMAND.
    if args.iter().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    match args.first().map(String::as_str) {
        None | Some("help") | Some("--help") | Some("-h") => {
            print!("{USAGE}");
            Ok(())
        }
        Some("grid") => {
            let g = parse_grid_args(&args[1..])?;
            // On a worker of the pool, so that the nested parallel calls of the grid (all
            // of them with --serial) are not injected one by one from the main thread.
            insiders_core::on_pool(|| grid::run(&g))?;
            Ok(())
        }
        Some("report") => {
            report::run(&report::parse_args(&args[1..])?)?;
            Ok(())
        }
        Some("screenshot") => screenshot::main(&args[1..]),
        Some("grid-check") => check::main(&args[1..]),
        Some("bench") => {
            let b = bench::parse_args(&args[1..])?;
            bench::run(&workspace_root(), &b)?;
            Ok(())
        }
        Some("new-engine") => new_engine::main(&workspace_root(), &args[1..]),
        Some(other) => bail!("unknown xtask command `{other}`\n\n{USAGE}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_filters_parse() {
        let g = parse_grid_args(&[
            "--only".into(),
            "space=tree,umap,engine=ward".into(),
            "--quick".into(),
        ])
        .unwrap();
        assert_eq!(g.only_spaces, vec!["tree", "umap"]);
        assert_eq!(g.only_engines, vec!["ward"]);
        assert!(g.quick);
        assert!(parse_grid_args(&["--only".into(), "x=1".into()]).is_err());
        assert!(parse_grid_args(&["--bogus".into()]).is_err());
    }
}
