//! `cargo xtask scale`: how time and memory grow with the shop. For each size, the
//! synthetic shop of `insiders synth --customers N --seed 1` (made once into --dir, as
//! csv.gz, and as Parquet with --parquet), then `insiders features` and `insiders run` on it
//! --runs times, each under `/usr/bin/time -v`; the median wall time, the largest peak
//! resident size, the customers after cleaning and the growth per customer go to a Markdown
//! table, with `insiders run`'s stages (from the run.json of its median run: each stage's
//! wall seconds and the peak resident size after it). The tables replace what lies between
//! the markers `<!-- scale:begin -->` and `<!-- scale:end -->` of --out (default
//! docs/scale.md), or the whole file when it has no markers.

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Measure {
    wall: Vec<f64>,
    peak_kb: u64,
    /// `run`: the stages of the median run (name, seconds, peak bytes so far).
    stages: Vec<(String, f64, u64)>,
}

/// The stages of a run.json (`stages`: stage, seconds, peak_rss_bytes).
fn run_stages(work: &Path) -> Result<Vec<(String, f64, u64)>> {
    let text = std::fs::read_to_string(work.join("run.json"))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    Ok(v["stages"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["stage"].as_str().unwrap_or("").to_string(),
                        s["seconds"].as_f64().unwrap_or(f64::NAN),
                        s["peak_rss_bytes"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default())
}

fn timed(bin: &Path, args: &[&str]) -> Result<(f64, u64)> {
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin)
        .args(args)
        .output()
        .context("running /usr/bin/time (GNU time; Debian package `time`)")?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("insiders {} failed:\n{err}", args.join(" "));
    }
    let field = |name: &str| {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
        .context("no elapsed time from /usr/bin/time")?;
    let mut secs = 0.0;
    for part in wall.split(':') {
        secs = secs * 60.0 + part.parse::<f64>().unwrap_or(0.0);
    }
    let peak = field("Maximum resident set size (kbytes):")
        .and_then(|v| v.parse::<u64>().ok())
        .context("no peak memory from /usr/bin/time")?;
    Ok((secs, peak))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let mut sizes = vec![10_000usize, 100_000, 1_000_000];
    let mut runs = 3usize;
    let mut dir = PathBuf::from("target/scale");
    let mut out = root.join("docs/scale.md");
    let mut parquet = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--customers" => {
                sizes = val()?
                    .split(',')
                    .map(|s| s.trim().parse().context("--customers: a list of numbers"))
                    .collect::<Result<_>>()?
            }
            "--runs" => runs = val()?.parse().context("--runs: a number")?,
            "--dir" => dir = PathBuf::from(val()?),
            "--out" => out = PathBuf::from(val()?),
            "--parquet" => parquet = true,
            other => bail!("unknown option `{other}` of xtask scale"),
        }
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--quiet", "--release", "-p", "insiders"])
        .status()?;
    if !status.success() {
        bail!("building insiders failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let bin = target.join("release/insiders");
    std::fs::create_dir_all(&dir)?;
    let mut rows: Vec<(String, usize, usize, u64, String, Measure)> = Vec::new();
    for &n in &sizes {
        let mut inputs = vec![("csv.gz", dir.join(format!("shop{n}.csv.gz")))];
        if parquet {
            inputs.push(("parquet", dir.join(format!("shop{n}.parquet"))));
        }
        for (_, path) in &inputs {
            if !path.exists() {
                eprintln!("synth {n} customers -> {}", path.display());
                let p = path.to_string_lossy();
                let n_text = n.to_string();
                timed(
                    &bin,
                    &["synth", "--customers", &n_text, "--seed", "1", "--out", &p],
                )?;
            }
        }
        for (format, path) in &inputs {
            let p = path.to_string_lossy().into_owned();
            let stages: &[&str] = if *format == "csv.gz" {
                &["features", "run"]
            } else {
                &["features"]
            };
            for &stage in stages {
                let work = dir.join(format!("{stage}-{n}-{}", format.replace('.', "")));
                let w = work.to_string_lossy().into_owned();
                let mut m = Measure {
                    wall: Vec::new(),
                    peak_kb: 0,
                    stages: Vec::new(),
                };
                let mut all_stages = Vec::new();
                for k in 0..runs {
                    // A fresh folder each time: a run's history would otherwise grow.
                    let _ = std::fs::remove_dir_all(&work);
                    let (secs, kb) = timed(&bin, &[stage, "--data", &p, "--out", &w])?;
                    eprintln!("{stage} {n} {format} run {}: {secs:.2} s, {kb} kB", k + 1);
                    m.wall.push(secs);
                    m.peak_kb = m.peak_kb.max(kb);
                    if stage == "run" {
                        all_stages.push((secs, run_stages(&work)?));
                    }
                }
                all_stages.sort_by(|a, b| a.0.total_cmp(&b.0));
                if let Some((_, st)) = all_stages.get(all_stages.len() / 2) {
                    m.stages = st.clone();
                }
                let acc = std::fs::read_to_string(work.join("row_accounting.json"))?;
                let v: serde_json::Value = serde_json::from_str(&acc)?;
                let a = v.get("accounting").unwrap_or(&v);
                let customers = a["customers"]["customers_with_purchases"]
                    .as_u64()
                    .unwrap_or(0) as usize;
                let lines = a["rows_read"].as_u64().unwrap_or(0);
                rows.push((
                    stage.to_string(),
                    n,
                    customers,
                    lines,
                    format.to_string(),
                    m,
                ));
            }
        }
    }
    let mut md = String::from(
        "| command | input | shop (`--customers`) | customers after cleaning | lines | median wall (s) | peak memory (GiB) | wall per customer (us) | bytes per line at peak |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (stage, size, customers, lines, format, m) in &rows {
        let wall = median(&m.wall);
        let _ = writeln!(
            md,
            "| {stage} | {format} | {size} | {customers} | {lines} | {wall:.2} | {:.2} | {:.1} | {:.1} |",
            m.peak_kb as f64 / 1048576.0,
            wall / (*customers).max(1) as f64 * 1e6,
            m.peak_kb as f64 * 1024.0 / (*lines).max(1) as f64,
        );
    }
    for (stage, size, customers, _, _, m) in &rows {
        if stage != "run" || m.stages.is_empty() {
            continue;
        }
        let _ = writeln!(
            md,
            "\n`insiders run`, shop of {size} (`--customers`), {customers} customers, its median run's stages:\n\n| stage | wall (s) | peak memory so far (GiB) |\n|---|---:|---:|"
        );
        for (name, secs, peak) in &m.stages {
            let _ = writeln!(
                md,
                "| {name} | {secs:.2} | {:.2} |",
                *peak as f64 / 1073741824.0
            );
        }
    }
    let (begin, end) = ("<!-- scale:begin -->", "<!-- scale:end -->");
    let doc = std::fs::read_to_string(&out).unwrap_or_default();
    let text = match (doc.find(begin), doc.find(end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{begin}\n{md}{}", &doc[..b], &doc[e..])
        }
        _ => md.clone(),
    };
    std::fs::write(&out, text)?;
    print!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}
