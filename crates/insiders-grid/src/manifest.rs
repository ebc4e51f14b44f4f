//! The run manifest: what produced a run (commit, config, seed, versions, machine, timings).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn git_dirty() -> bool {
    Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty())
}

/// Versions of the named dependencies, from Cargo.lock.
fn dependency_versions() -> BTreeMap<String, String> {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let wanted = [
        "ndarray",
        "nalgebra",
        "rayon",
        "petal-clustering",
        "smartcore",
        "calamine",
        "libdeflater",
    ];
    let mut out = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(lock) {
        let mut name = None;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("name = ") {
                name = Some(n.trim_matches('"').to_string());
            } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take())
                && wanted.contains(&n.as_str())
            {
                out.insert(n, v.trim_matches('"').to_string());
            }
        }
    }
    out.insert("insiders".into(), env!("CARGO_PKG_VERSION").into());
    out
}

/// CPU model, cores and memory of this machine.
pub fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_string(), |s| s.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    serde_json::json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "memory_gib": (mem_kib as f64 / 1048576.0 * 10.0).round() / 10.0,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

/// The manifest of a grid run.
pub fn manifest(
    cfg: &crate::config::GridConfig,
    config_path: &str,
    pipeline_path: &str,
    data: &str,
    timings: &BTreeMap<String, f64>,
    spaces: &BTreeMap<String, serde_json::Value>,
    quick: bool,
) -> serde_json::Value {
    serde_json::json!({
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "config_path": config_path,
        "pipeline_path": pipeline_path,
        "config": cfg,
        "seed": cfg.seed,
        "quick": quick,
        "data": data,
        "versions": dependency_versions(),
        "machine": machine(),
        "timings_seconds": timings,
        "spaces": spaces,
    })
}
