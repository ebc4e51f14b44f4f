//! `cargo xtask <command>`: project automation (benchmarks, engine scaffolding, screenshots,
//! the load test of `insiders serve`, the tidy checks). No numerical code lives here: `grid`, `report` and `grid-check` are
//! aliases of the `insiders` binary's `grid`, `grid-report` and `grid-check` (the
//! `insiders-grid` library), run in release mode.

mod bench;
mod instructions;
mod load;
mod new_engine;
mod scale;
mod screenshot;

use anyhow::{Result, bail};
use std::path::PathBuf;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  grid [--config grid.toml] [--pipeline insiders.toml] [--data F] [--quick]
       [--only space=a,b,engine=c] [--out DIR] [--stability | --no-stability] [--serial]
        alias of `insiders grid` (release build); without --data, the real data
        (INSIDERS_DATA, or ../shared/datasets/online-retail/online-retail.csv.gz)
  report RUN [--baseline RUN | --baseline python] [--k K] [--out DIR]
        alias of `insiders grid-report`: HTML + Markdown report of a grid run
  grid-check RUN [--fixtures DIR]
        alias of `insiders grid-check`: a run of the default grid vs the Python grid
  screenshot FILE.html --out FILE.png [--size WxH]
        screenshot of a page in headless Chromium (/usr/bin/chromium)
  bench [--ci] [--save NAME] [--baseline NAME] [--target PKG/BENCH] [FILTER]
        run every criterion benchmark of the workspace; fails when a target or the
        filter measures nothing; --ci: short mode, then the instruction-count gate
        (callgrind, benches/instructions.toml); --baseline: change per benchmark
  bench --update-instructions --reason TEXT
        measure the instruction-count workloads and rewrite benches/instructions.toml,
        with the reason the counts moved
  new-engine NAME
        scaffold an engine in crates/insiders-engines/src (a seeded engine with typed
        parameters and tests) and register it
  load (--db DB | --addr 127.0.0.1:PORT) [--clients 50] [--seconds 20] [--token T]
        load test of `insiders serve` on loopback: p50/p99 latency and errors of
        /api/runs/{as_of}/insiders and /api/customers/{id}; --db starts a release server
  scale [--customers 10000,100000,1000000] [--runs 3] [--dir target/scale] [--parquet]
        [--out docs/scale.md]
        how time and memory grow: synthetic shops of each size (made once in --dir), then
        `insiders features` and `insiders run` --runs times under /usr/bin/time -v
        (median wall, peak memory, per customer and per line); --parquet: features on the
        same shops as Parquet too
  tidy  the repository's own rules (module comments, line budget, registries documented):
        runs the tidy test
  help  this text
";

/// The workspace root: `$INSIDERS_ROOT` if set, else the parent of the xtask crate.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("INSIDERS_ROOT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    )
}

/// The real data set: `INSIDERS_DATA`, or the copy in `../shared` beside the workspace.
fn real_data() -> PathBuf {
    std::env::var_os("INSIDERS_DATA").map_or_else(
        || {
            let shared = std::env::var_os("INSIDERS_SHARED")
                .map_or_else(|| workspace_root().join("../shared"), PathBuf::from);
            shared.join("datasets/online-retail/online-retail.csv.gz")
        },
        PathBuf::from,
    )
}

/// Runs `insiders SUBCOMMAND ARGS` from a release build of this workspace.
fn insiders(sub: &str, args: &[String]) -> Result<()> {
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(workspace_root())
            .args(["run", "--quiet", "--release", "-p", "insiders", "--", sub])
            .args(args)
            .status()?;
    if !status.success() {
        bail!("insiders {sub} failed ({status})");
    }
    Ok(())
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
            let mut rest = args[1..].to_vec();
            if !rest.iter().any(|a| a == "--data") {
                rest.extend(["--data".to_string(), real_data().display().to_string()]);
            }
            insiders("grid", &rest)
        }
        Some("report") => insiders("grid-report", &args[1..]),
        Some("grid-check") => insiders("grid-check", &args[1..]),
        Some("tidy") => {
            let status = std::process::Command::new(
                std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
            )
            .current_dir(workspace_root())
            .args(["test", "--quiet", "-p", "insiders", "--test", "tidy"])
            .status()?;
            if !status.success() {
                bail!("tidy failed ({status})");
            }
            Ok(())
        }
        Some("screenshot") => screenshot::main(&args[1..]),
        Some("load") => load::main(&args[1..]),
        Some("scale") => scale::main(&workspace_root(), &args[1..]),
        Some("bench") => {
            let b = bench::parse_args(&args[1..])?;
            let root = workspace_root();
            let target = bench::target_dir(&root);
            if b.update_instructions {
                return instructions::gate(&root, &target, b.reason.as_deref());
            }
            bench::run(&root, &b)?;
            if b.ci {
                instructions::gate(&root, &target, None)?;
            }
            Ok(())
        }
        Some("new-engine") => new_engine::main(&workspace_root(), &args[1..]),
        Some(other) => bail!("unknown xtask command `{other}`\n\n{USAGE}"),
    }
}
