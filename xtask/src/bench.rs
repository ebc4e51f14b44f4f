//! `cargo xtask bench [--ci] [--save NAME] [--baseline NAME] [--target PKG/BENCH] [FILTER]`:
//! every criterion benchmark of the workspace, each of which must measure something.
//!
//! The bench targets are read from the `[[bench]]` entries of the workspace crates'
//! `Cargo.toml`; all are built by one `cargo bench --no-run` (one feature resolution), and
//! each executable then runs as `cargo bench` runs it: `<exe> --bench <criterion args>`. What a
//! target measured is read back from criterion's `new/estimates.json` files written during
//! its run (under `$CRITERION_HOME`, set to `<target dir>/criterion`): a target that writes
//! none (no benchmark, or a filter that matches none of its benchmarks), or a filter that
//! matches no benchmark of any target, fails the command. `--ci` is criterion's quick mode
//! with short limits. `--save NAME` keeps the medians as criterion's baseline NAME;
//! `--baseline NAME` prints the change of every median against baseline NAME. `--ci` then
//! runs the instruction-count gate ([`crate::instructions`]).

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, Default)]
pub struct BenchArgs {
    /// Short mode for CI.
    pub ci: bool,
    /// Save the results as this criterion baseline.
    pub save: Option<String>,
    /// Compare against this criterion baseline.
    pub baseline: Option<String>,
    /// Only these targets (`PKG/BENCH` or `BENCH`).
    pub targets: Vec<String>,
    /// Criterion's benchmark filter (a regular expression on benchmark ids).
    pub filter: Option<String>,
    /// `--update-instructions`: only measure the instruction-count workloads and rewrite
    /// their baseline (`benches/instructions.toml`).
    pub update_instructions: bool,
    /// `--reason TEXT`: why the counts moved; required by `--update-instructions` and
    /// written beside the counts.
    pub reason: Option<String>,
}

/// A `[[bench]]` target of a workspace crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BenchTarget {
    /// The package name.
    pub package: String,
    /// The bench name.
    pub name: String,
}

/// Parses the arguments after `bench`.
pub fn parse_args(args: &[String]) -> Result<BenchArgs> {
    let mut b = BenchArgs::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<String> {
            match it.next() {
                Some(v) => Ok(v.clone()),
                None => bail!("{name} needs a value"),
            }
        };
        match a.as_str() {
            "--ci" => b.ci = true,
            "--update-instructions" => b.update_instructions = true,
            "--save" => b.save = Some(value("--save")?),
            "--baseline" => b.baseline = Some(value("--baseline")?),
            "--reason" => b.reason = Some(value("--reason")?),
            "--target" => b.targets.push(value("--target")?),
            s if s.starts_with('-') => bail!("bench: unknown argument `{s}`"),
            s => {
                if b.filter.is_some() {
                    bail!("bench: one filter only (a regular expression)");
                }
                b.filter = Some(s.to_string());
            }
        }
    }
    match (&b.reason, b.update_instructions) {
        (Some(_), false) => bail!("--reason goes with --update-instructions"),
        (None, true) => bail!(
            "--update-instructions needs --reason TEXT: why the instruction counts moved \
             (written to benches/instructions.toml beside them)"
        ),
        (Some(r), true) if r.trim().is_empty() => bail!("--reason must not be empty"),
        _ => {}
    }
    for n in [&b.save, &b.baseline].into_iter().flatten() {
        if n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            bail!("bench: baseline name `{n}` must be letters, digits, `-`, `_` or `.`");
        }
    }
    Ok(b)
}

/// Every `[[bench]]` target of the workspace members under `root`, sorted.
pub fn discover(root: &Path) -> Result<Vec<BenchTarget>> {
    let mut manifests: Vec<PathBuf> = Vec::new();
    let ws: toml::Table = toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml"))?)?;
    let members = ws
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("the root Cargo.toml has no workspace.members")?;
    for m in members.iter().filter_map(|m| m.as_str()) {
        if let Some(prefix) = m.strip_suffix("/*") {
            let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(prefix))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            dirs.sort();
            manifests.extend(dirs.into_iter().map(|d| d.join("Cargo.toml")));
        } else {
            manifests.push(root.join(m).join("Cargo.toml"));
        }
    }
    let mut out = Vec::new();
    for m in manifests.iter().filter(|m| m.is_file()) {
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(m)?)
            .with_context(|| format!("in {}", m.display()))?;
        let Some(package) = t
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
        else {
            continue;
        };
        for b in t
            .get("bench")
            .and_then(|b| b.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(name) = b.get("name").and_then(|n| n.as_str()) {
                out.push(BenchTarget {
                    package: package.to_string(),
                    name: name.to_string(),
                });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A measured benchmark: its id and median (ns).
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Criterion's full id (`group/function/parameter`).
    pub id: String,
    /// Median time of one iteration in nanoseconds.
    pub median_ns: f64,
    /// The median of the compared baseline, when there is one.
    pub baseline_ns: Option<f64>,
}

fn median_of(estimates: &Path) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(estimates).ok()?).ok()?;
    v.get("median")?.get("point_estimate")?.as_f64()
}

fn benchmark_id(new_dir: &Path) -> Option<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(new_dir.join("benchmark.json")).ok()?).ok()?;
    Some(v.get("full_id")?.as_str()?.to_string())
}

/// The benchmarks whose `new/estimates.json` under `home` was written at or after `since`.
pub fn measured_since(home: &Path, since: SystemTime, baseline: Option<&str>) -> Vec<Measured> {
    let mut found = Vec::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if !p.is_dir() {
                continue;
            }
            let est = p.join("new").join("estimates.json");
            let fresh = std::fs::metadata(&est)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since);
            if fresh && let Some(median_ns) = median_of(&est) {
                let id = benchmark_id(&p.join("new"))
                    .unwrap_or_else(|| p.strip_prefix(home).unwrap_or(&p).display().to_string());
                let baseline_ns =
                    baseline.and_then(|b| median_of(&p.join(b).join("estimates.json")));
                found.push(Measured {
                    id,
                    median_ns,
                    baseline_ns,
                });
            }
            if p.file_name().is_some_and(|n| n != "report") {
                stack.push(p);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    found
}

/// The bench executables in cargo's JSON messages: (package, bench) -> (executable, package
/// directory).
pub fn bench_executables(json_lines: &str) -> BTreeMap<(String, String), (PathBuf, PathBuf)> {
    let mut out = BTreeMap::new();
    for line in json_lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v.get("reason").and_then(|r| r.as_str()) != Some("compiler-artifact") {
            continue;
        }
        let target = &v["target"];
        let is_bench = target["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|x| x == "bench"));
        let (Some(exe), Some(name), Some(manifest)) = (
            v["executable"].as_str(),
            target["name"].as_str(),
            v["manifest_path"].as_str(),
        ) else {
            continue;
        };
        if !is_bench {
            continue;
        }
        let dir = Path::new(manifest)
            .parent()
            .map_or_else(PathBuf::new, Path::to_path_buf);
        // The package name: `package_id` is `path+file:///.../name#version` or
        // `name version (...)`; the manifest's directory name is not reliable, so read it.
        let package = std::fs::read_to_string(manifest)
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .and_then(|t| t.get("package")?.get("name")?.as_str().map(String::from))
            .unwrap_or_default();
        out.insert((package, name.to_string()), (PathBuf::from(exe), dir));
    }
    out
}

pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// A duration in nanoseconds, human-readable.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.3} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// The criterion arguments of a run.
pub fn criterion_args(a: &BenchArgs) -> Vec<String> {
    let mut v: Vec<String> = vec!["--noplot".into()];
    if a.ci {
        // Quick mode: each benchmark stops at 5% relative spread after 0.1 s, or after
        // `measurement-time` (or one iteration, if that alone is longer).
        v.extend(
            ["--quick", "--measurement-time", "1", "--nresamples", "1000"]
                .iter()
                .map(|s| s.to_string()),
        );
    }
    if let Some(s) = &a.save {
        v.extend(["--save-baseline".into(), s.clone()]);
    }
    if let Some(b) = &a.baseline {
        v.extend(["--baseline-lenient".into(), b.clone()]);
    }
    if let Some(f) = &a.filter {
        v.push(f.clone());
    }
    v
}

/// Runs the benchmarks; fails when a target or the filter measures nothing.
pub fn run(root: &Path, a: &BenchArgs) -> Result<Vec<Measured>> {
    let all = discover(root)?;
    let targets: Vec<BenchTarget> = if a.targets.is_empty() {
        all.clone()
    } else {
        let mut v = Vec::new();
        for want in &a.targets {
            let hit: Vec<&BenchTarget> = all
                .iter()
                .filter(|t| *want == t.name || *want == format!("{}/{}", t.package, t.name))
                .collect();
            if hit.is_empty() {
                bail!(
                    "--target {want}: no such bench target (known: {})",
                    all.iter()
                        .map(|t| format!("{}/{}", t.package, t.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            v.extend(hit.into_iter().cloned());
        }
        v
    };
    if targets.is_empty() {
        bail!("no [[bench]] target in the workspace");
    }
    let home = target_dir(root).join("criterion");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let t_all = Instant::now();
    // Build every bench target in one cargo invocation (one feature resolution, so nothing
    // is rebuilt per target), then run the executables one by one as `cargo bench` would:
    // `<exe> --bench <criterion args>`, in the package's directory.
    let mut build = Command::new(&cargo);
    build.current_dir(root).args([
        "bench",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    for t in &targets {
        build.args(["-p", &t.package, "--bench", &t.name]);
    }
    build.stderr(std::process::Stdio::inherit());
    let out = build.output().context("running cargo bench --no-run")?;
    if !out.status.success() {
        bail!("building the benchmarks failed");
    }
    let exes = bench_executables(&String::from_utf8_lossy(&out.stdout));
    let mut measured = Vec::new();
    let mut empty = Vec::new();
    for t in &targets {
        let Some((exe, dir)) = exes.get(&(t.package.clone(), t.name.clone())) else {
            bail!(
                "cargo built no executable for bench {}/{}",
                t.package,
                t.name
            );
        };
        let since = SystemTime::now();
        let t0 = Instant::now();
        eprintln!("== bench {}/{}", t.package, t.name);
        let st = Command::new(exe)
            .current_dir(dir)
            .env("CRITERION_HOME", &home)
            .arg("--bench")
            .args(criterion_args(a))
            .status()
            .with_context(|| format!("running bench {}/{}", t.package, t.name))?;
        if !st.success() {
            bail!("bench {}/{} failed ({st})", t.package, t.name);
        }
        let got = measured_since(&home, since, a.baseline.as_deref());
        eprintln!(
            "   {} benchmark(s) in {:.1} s",
            got.len(),
            t0.elapsed().as_secs_f64()
        );
        if got.is_empty() {
            empty.push(format!("{}/{}", t.package, t.name));
        }
        measured.extend(got);
    }
    print_table(&measured, a.baseline.as_deref());
    println!(
        "{} benchmarks in {} targets, {:.1} s",
        measured.len(),
        targets.len(),
        t_all.elapsed().as_secs_f64()
    );
    if measured.is_empty() {
        bail!(
            "no benchmark measured anything{}",
            a.filter
                .as_ref()
                .map_or(String::new(), |f| format!(" (filter `{f}` matches none)"))
        );
    }
    if !empty.is_empty() && a.filter.is_none() {
        bail!("bench targets that measured nothing: {}", empty.join(", "));
    }
    Ok(measured)
}

/// Prints the medians, and their change against the baseline when there is one.
pub fn print_table(m: &[Measured], baseline: Option<&str>) {
    let w = m.iter().map(|x| x.id.len()).max().unwrap_or(9).max(9);
    match baseline {
        None => {
            println!("{:<w$}  {:>12}", "benchmark", "median");
            for x in m {
                println!("{:<w$}  {:>12}", x.id, fmt_ns(x.median_ns));
            }
        }
        Some(b) => {
            println!(
                "{:<w$}  {:>12}  {:>12}  {:>8}",
                "benchmark", b, "now", "change"
            );
            for x in m {
                let (base, change) = match x.baseline_ns {
                    Some(bn) if bn > 0.0 => (
                        fmt_ns(bn),
                        format!("{:+.1}%", (x.median_ns / bn - 1.0) * 100.0),
                    ),
                    _ => ("-".to_string(), "new".to_string()),
                };
                println!(
                    "{:<w$}  {:>12}  {:>12}  {:>8}",
                    x.id,
                    base,
                    fmt_ns(x.median_ns),
                    change
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updating_the_instruction_baseline_needs_a_reason() {
        let a = |v: &[&str]| parse_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let e = a(&["--update-instructions"]).unwrap_err().to_string();
        assert!(e.contains("--reason"), "{e}");
        assert!(a(&["--update-instructions", "--reason", " "]).is_err());
        assert!(a(&["--ci", "--reason", "x"]).is_err());
        let b = a(&["--update-instructions", "--reason", "genie: cheaper merges"]).unwrap();
        assert_eq!(b.reason.as_deref(), Some("genie: cheaper merges"));
    }

    #[test]
    fn discovers_every_bench_target_of_the_workspace() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let t = discover(&root).unwrap();
        assert!(t.contains(&BenchTarget {
            package: "insiders-engines".into(),
            name: "kmeans_gmm".into()
        }));
        assert!(t.iter().any(|b| b.package == "insiders-eval"));
        // The workspace-level whole-pipeline and scale benchmarks (benches/).
        for name in ["pipeline", "scale"] {
            assert!(t.contains(&BenchTarget {
                package: "insiders-benches".into(),
                name: name.into()
            }));
        }
        // Every declared target has its source file, in its package's benches/.
        for b in &t {
            let package_dir = if b.package == "insiders-benches" {
                root.join("benches")
            } else {
                root.join("crates").join(&b.package)
            };
            let file = package_dir.join("benches").join(format!("{}.rs", b.name));
            assert!(file.is_file(), "{b:?}: no {}", file.display());
        }
    }

    #[test]
    fn arguments_parse_and_reach_criterion() {
        let a = parse_args(&[
            "--ci".into(),
            "--baseline".into(),
            "main".into(),
            "ward".into(),
        ])
        .unwrap();
        let c = criterion_args(&a);
        assert!(c.contains(&"--quick".to_string()));
        assert_eq!(c[c.len() - 3..], ["--baseline-lenient", "main", "ward"]);
        assert!(parse_args(&["--save".into(), "a/b".into()]).is_err());
        assert!(parse_args(&["--bogus".into()]).is_err());
        assert!(parse_args(&["a".into(), "b".into()]).is_err());
    }

    #[test]
    fn bench_executables_are_read_from_cargo_messages() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/insiders-engines/Cargo.toml")
            .display()
            .to_string();
        let msg = serde_json::json!({
            "reason": "compiler-artifact",
            "manifest_path": manifest,
            "target": {"name": "kmeans_gmm", "kind": ["bench"]},
            "executable": "/t/release/deps/kmeans_gmm-abc"
        });
        let lib = serde_json::json!({
            "reason": "compiler-artifact",
            "manifest_path": manifest,
            "target": {"name": "insiders_engines", "kind": ["lib"]},
            "executable": null
        });
        let text = format!("{msg}\n{lib}\nnot json\n");
        let e = bench_executables(&text);
        assert_eq!(e.len(), 1);
        let (exe, dir) = &e[&("insiders-engines".to_string(), "kmeans_gmm".to_string())];
        assert_eq!(exe, Path::new("/t/release/deps/kmeans_gmm-abc"));
        assert!(dir.ends_with("insiders-engines"));
    }

    #[test]
    fn fresh_estimates_are_found_with_their_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("group/fit/new");
        std::fs::create_dir_all(&b).unwrap();
        let est = r#"{"median":{"point_estimate":2000000.0}}"#;
        std::fs::write(b.join("estimates.json"), est).unwrap();
        std::fs::write(b.join("benchmark.json"), r#"{"full_id":"group/fit"}"#).unwrap();
        let base = dir.path().join("group/fit/main");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(
            base.join("estimates.json"),
            r#"{"median":{"point_estimate":1000000.0}}"#,
        )
        .unwrap();
        let since = SystemTime::now() - std::time::Duration::from_secs(5);
        let m = measured_since(dir.path(), since, Some("main"));
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].id, "group/fit");
        assert_eq!(m[0].median_ns, 2e6);
        assert_eq!(m[0].baseline_ns, Some(1e6));
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(measured_since(dir.path(), later, None).is_empty());
    }
}
