//! The instruction-count gate of `cargo xtask bench --ci`: deterministic workloads (examples
//! that read no file) run once under valgrind's callgrind with one rayon thread, and their
//! instruction counts (callgrind's `summary`) are compared with the committed baseline
//! `benches/instructions.toml`. A count more than `tolerance_percent` above the baseline fails
//! the command (a performance regression that timings on a shared machine would hide); one
//! more than that below it is reported, so the baseline can be lowered
//! (`cargo xtask bench --update-instructions` rewrites it). Without valgrind the gate is
//! skipped with a message, and fails under `CI=true`.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The workloads: (package, example).
pub const WORKLOADS: &[(&str, &str)] = &[("insiders-engines", "genie_instructions")];

/// The baseline file, relative to the workspace root.
pub const BASELINE: &str = "benches/instructions.toml";

/// Callgrind's total instruction count from its output file (the `summary:` line).
pub fn parse_summary(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("summary:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The verdict of one count against its baseline.
pub fn verdict(count: u64, baseline: Option<u64>, tolerance_percent: f64) -> (bool, String) {
    match baseline {
        None => (false, format!("{count} instructions, no baseline")),
        Some(b) => {
            let change = (count as f64 / b.max(1) as f64 - 1.0) * 100.0;
            let text = format!("{count} instructions, baseline {b} ({change:+.2}%)");
            if change > tolerance_percent {
                (
                    false,
                    format!("{text}: above the {tolerance_percent}% tolerance"),
                )
            } else if change < -tolerance_percent {
                (
                    true,
                    format!(
                        "{text}: below the tolerance, lower the baseline (--update-instructions --reason TEXT)"
                    ),
                )
            } else {
                (true, text)
            }
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Builds and runs every workload under callgrind; fails on a regression (or, with
/// `update = Some(reason)`, rewrites the baseline with the counts measured and the reason).
pub fn gate(root: &Path, target_dir: &Path, update: Option<&str>) -> Result<()> {
    let reason = update;
    let update = update.is_some();
    let has_valgrind = Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_valgrind {
        if in_ci() {
            bail!("the instruction-count gate needs valgrind (not found)");
        }
        eprintln!("SKIP instruction counts: valgrind not found");
        return Ok(());
    }
    let path = root.join(BASELINE);
    let base: toml::Table = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("parsing {}", path.display()))?,
        // A first `--update-instructions` writes the file.
        Err(_) if update => toml::Table::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let tolerance = base
        .get("tolerance_percent")
        .and_then(toml::Value::as_float)
        .unwrap_or(2.0);
    let counts = base.get("counts").and_then(toml::Value::as_table);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut measured = toml::Table::new();
    let mut failed = Vec::new();
    for (package, example) in WORKLOADS {
        let st = Command::new(&cargo)
            .current_dir(root)
            .args(["build", "--release", "-p", package, "--example", example])
            .status()
            .context("building the instruction-count workloads")?;
        if !st.success() {
            bail!("building {package} example {example} failed");
        }
        let exe = target_dir.join("release").join("examples").join(example);
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("callgrind.out");
        let st = Command::new("valgrind")
            .env("RAYON_NUM_THREADS", "1")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(&exe)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {} under callgrind", exe.display()))?;
        if !st.success() {
            bail!("{example} under callgrind failed ({st})");
        }
        let text = std::fs::read_to_string(&out)?;
        let Some(count) = parse_summary(&text) else {
            bail!("no `summary:` line in callgrind's output for {example}");
        };
        let key = format!("{package}/{example}");
        let b = counts
            .and_then(|c| c.get(&key))
            .and_then(toml::Value::as_integer)
            .and_then(|v| u64::try_from(v).ok());
        let (ok, text) = verdict(count, b, tolerance);
        println!("instructions {key}: {text}");
        if !ok && !update {
            failed.push(key.clone());
        }
        measured.insert(key, toml::Value::Integer(i64::try_from(count)?));
    }
    if update {
        let mut t = toml::Table::new();
        t.insert("tolerance_percent".into(), toml::Value::Float(tolerance));
        t.insert(
            "reason".into(),
            toml::Value::String(reason.unwrap_or_default().to_string()),
        );
        t.insert("counts".into(), toml::Value::Table(measured));
        let text = format!(
            "# Instruction counts of the deterministic workloads under callgrind (one thread),\n\
             # checked by `cargo xtask bench --ci`; rewritten by\n\
             # `--update-instructions --reason TEXT` (`reason`: why the counts last moved).\n{}",
            toml::to_string(&t)?
        );
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("instruction baseline -> {}", path.display());
    } else if !failed.is_empty() {
        bail!(
            "instruction counts above the baseline: {}",
            failed.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_verdicts() {
        let out = "version: 1\ncmd: x\nevents: Ir\nsummary: 123456789\ntotals: 123456789\n";
        assert_eq!(parse_summary(out), Some(123_456_789));
        assert_eq!(parse_summary("events: Ir\n"), None);
        assert!(verdict(101, Some(100), 2.0).0);
        assert!(!verdict(103, Some(100), 2.0).0);
        let (ok, text) = verdict(90, Some(100), 2.0);
        assert!(ok && text.contains("lower the baseline"), "{text}");
        assert!(!verdict(5, None, 2.0).0);
    }
}
