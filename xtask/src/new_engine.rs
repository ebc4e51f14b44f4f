//! `cargo xtask new-engine NAME`: scaffolds a new clustering engine.
//!
//! Writes `crates/insiders-engines/src/NAME.rs` (a simple, working, seeded engine with a
//! typed parameter struct and unit tests) and its one registration line, `pub mod NAME;` in
//! the crate's `lib.rs`: the engines crate's build script lists the `SPECS` of every public
//! module that has them, so nothing else is edited. The conformance suite iterates the
//! registry, so the new engine is covered by it (and appears in `insiders list` and the grid)
//! at once.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Rust keywords (strict and reserved): not usable as a module name.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Checks that `name` is a snake_case identifier usable as a module and engine name.
pub fn validate_name(name: &str) -> Result<()> {
    let snake = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__");
    if !snake {
        bail!(
            "engine name `{name}` is not a snake_case identifier: use lowercase letters, digits \
             and single underscores, starting with a letter (e.g. `my_kmeans`)"
        );
    }
    if KEYWORDS.contains(&name) {
        bail!("engine name `{name}` is a Rust keyword and cannot name a module");
    }
    Ok(())
}

/// The engine names registered in the sources under `src` (`name: "..."` of every
/// `EngineSpec`), found by reading the files.
pub fn registered_names(src: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p)?;
                let mut rest = text.as_str();
                while let Some(i) = rest.find("EngineSpec {") {
                    rest = &rest[i + "EngineSpec {".len()..];
                    let Some(j) = rest.find("name:") else { break };
                    let after = rest[j + 5..].trim_start();
                    if let Some(q) = after.strip_prefix('"')
                        && let Some(end) = q.find('"')
                    {
                        names.push(q[..end].to_string());
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}

/// The source of a new engine module.
pub fn engine_source(name: &str) -> String {
    TEMPLATE
        .replace("{{name}}", name)
        .replace("{{Name}}", &camel(name))
}

/// Declares `pub mod NAME;` in `lib.rs`, in alphabetical order among the engine modules'
/// `pub mod` lines (every `pub mod` line but `registry`'s): the one line that registers the
/// engine.
pub fn add_module_line(lib: &str, name: &str) -> Result<String> {
    let line = format!("pub mod {name};");
    let lines: Vec<&str> = lib.lines().collect();
    let mods: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i].starts_with("pub mod ")
                && lines[i].ends_with(';')
                && lines[i] != "pub mod registry;"
        })
        .collect();
    let (Some(&first), Some(&last)) = (mods.first(), mods.last()) else {
        bail!("lib.rs: no engine `pub mod ...;` line to add the module beside");
    };
    let at = mods
        .iter()
        .copied()
        .find(|&i| lines[i] > line.as_str())
        .unwrap_or(last + 1)
        .max(first);
    let mut out: Vec<&str> = lines[..at].to_vec();
    out.push(&line);
    out.extend_from_slice(&lines[at..]);
    let mut text = out.join("\n");
    if lib.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// Scaffolds engine `name` in the workspace at `root`; returns the new file.
pub fn scaffold(root: &Path, name: &str) -> Result<PathBuf> {
    validate_name(name)?;
    let src = root.join("crates/insiders-engines/src");
    let file = src.join(format!("{name}.rs"));
    if file.exists() || src.join(name).exists() {
        bail!(
            "`{name}` exists already as a module of insiders-engines ({})",
            file.display()
        );
    }
    let registered = registered_names(&src)?;
    if registered.iter().any(|n| n == name) {
        bail!(
            "engine `{name}` is registered already (registered: {})",
            registered.join(", ")
        );
    }
    let lib_path = src.join("lib.rs");
    let lib = add_module_line(&std::fs::read_to_string(&lib_path)?, name)?;
    std::fs::write(&file, engine_source(name))?;
    std::fs::write(&lib_path, lib)?;
    Ok(file)
}

/// `cargo xtask new-engine NAME`.
pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let [name] = args else {
        bail!("usage: cargo xtask new-engine NAME   (NAME: snake_case, e.g. my_kmeans)");
    };
    let file = scaffold(root, name)?;
    println!(
        "created {}\nregistered `{name}`: `pub mod {name};` in crates/insiders-engines/src/lib.rs\n\n\
         next:\n  cargo test -p insiders-engines --lib {name}\n  \
         cargo test -p insiders-engines --test conformance\n  \
         cargo xtask grid --only space=features,engine={name} --no-stability\n\
         then replace the placeholder algorithm and document it (docs/adding-an-engine.md)",
        file.display()
    );
    Ok(())
}

const TEMPLATE: &str = r#"//! `{{name}}`: a seeded clustering engine (scaffolded by `cargo xtask new-engine {{name}}`).
//!
//! As generated this is a simple, complete engine to replace with the real algorithm: each
//! of `n_init` runs picks k centres among the points by D² sampling (the k-means++ seeding:
//! the first uniformly, each next with probability proportional to the squared distance to
//! the nearest centre chosen, so the centres are distinct points), labels every point with
//! its nearest centre (ties: the lower centre), and the run with the lowest inertia wins
//! (ties: the lower run). Every centre labels at least itself, so there are exactly k
//! clusters whenever the data have k distinct points (fewer otherwise).
//!
//! Determinism: run `r` draws from `Rng::new(derive_seed(seed, r))`; nothing runs in
//! parallel, so the result is a pure function of (input, k, seed).

use crate::params::from_table;
use crate::registry::EngineSpec;
use insiders_core::engine::check_k;
use insiders_core::{
    Caps, Diagnostics, Engine, Error, MatrixView, Partition, Rng, check_matrix, derive_seed,
};
use serde::{Deserialize, Serialize};

/// The engines this module registers.
pub const SPECS: &[EngineSpec] = &[EngineSpec {
    name: "{{name}}",
    about: "k-means++ seeding and nearest-centre labels (scaffolded engine: replace me)",
    build,
}];

/// Parameters of the `{{name}}` engine (TOML keys; unknown keys are an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct {{Name}}Params {
    /// Independent seedings; the one with the lowest inertia wins. At least 1; default 4.
    pub n_init: usize,
}

impl Default for {{Name}}Params {
    fn default() -> Self {
        {{Name}}Params { n_init: 4 }
    }
}

fn build(table: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let params: {{Name}}Params = from_table(table)?;
    Ok(Box::new({{Name}}::new(params)?))
}

/// The `{{name}}` engine.
#[derive(Debug, Clone, PartialEq)]
pub struct {{Name}} {
    params: {{Name}}Params,
}

impl {{Name}} {
    /// Validates the parameters.
    pub fn new(params: {{Name}}Params) -> Result<Self, Error> {
        if params.n_init == 0 {
            return Err(Error::param("n_init", "must be at least 1"));
        }
        Ok({{Name}} { params })
    }
}

fn sq_dist(a: MatrixView<'_>, i: usize, j: usize) -> f64 {
    a.row(i)
        .iter()
        .zip(a.row(j).iter())
        .map(|(p, q)| (p - q) * (p - q))
        .sum()
}

/// One run: (inertia, label of each point).
fn run(x: MatrixView<'_>, k: usize, rng: &mut Rng) -> (f64, Vec<usize>) {
    let n = x.nrows();
    let mut centres = vec![rng.below(n)];
    // Squared distance of every point to its nearest centre so far.
    let mut d2: Vec<f64> = (0..n).map(|i| sq_dist(x, i, centres[0])).collect();
    while centres.len() < k {
        // Weights relative to the largest one, so huge coordinates cannot overflow the sum.
        let max = d2.iter().copied().fold(0.0, f64::max);
        if max <= 0.0 {
            break; // fewer than k distinct points
        }
        let total: f64 = d2.iter().map(|d| d / max).sum();
        let mut u = rng.uniform() * total;
        let mut pick = None;
        for (i, d) in d2.iter().enumerate() {
            if *d > 0.0 {
                pick = Some(i);
                u -= d / max;
                if u < 0.0 {
                    break;
                }
            }
        }
        let Some(c) = pick else { break };
        centres.push(c);
        for (i, d) in d2.iter_mut().enumerate() {
            *d = d.min(sq_dist(x, i, c));
        }
    }
    let mut inertia = 0.0;
    let labels = (0..n)
        .map(|i| {
            let mut best = (f64::INFINITY, 0);
            for (j, &c) in centres.iter().enumerate() {
                let d = sq_dist(x, i, c);
                if d < best.0 {
                    best = (d, j);
                }
            }
            inertia += best.0;
            best.1
        })
        .collect();
    (inertia, labels)
}

impl Engine for {{Name}} {
    fn name(&self) -> &str {
        "{{name}}"
    }

    fn caps(&self) -> Caps {
        Caps::SEEDED_K
    }

    fn fit(&self, x: MatrixView<'_>, k: Option<usize>, seed: u64) -> Result<Partition, Error> {
        check_matrix(x)?;
        let k = check_k("{{name}}", k, x.nrows())?;
        let mut best: Option<(f64, Vec<usize>)> = None;
        for r in 0..self.params.n_init {
            let mut rng = Rng::new(derive_seed(seed, r as u64));
            let (inertia, labels) = run(x, k, &mut rng);
            if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
                best = Some((inertia, labels));
            }
        }
        let Some((inertia, labels)) = best else {
            return Err(Error::param("n_init", "must be at least 1"));
        };
        let raw: Vec<Option<usize>> = labels.into_iter().map(Some).collect();
        let diag = Diagnostics {
            inertia: Some(inertia),
            ..Diagnostics::default()
        };
        Ok(Partition::from_raw(&raw, diag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use insiders_core::Matrix;

    /// Three separated 2-D blobs of 30 points, interleaved (point i is in blob i % 3).
    fn blobs() -> Matrix {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]];
        let mut rng = Rng::new(5);
        Matrix::from_shape_fn((90, 2), |(i, j)| centres[i % 3][j] + 0.3 * rng.normal())
    }

    #[test]
    fn finds_three_separated_blobs() {
        let x = blobs();
        let p = {{Name}}::new({{Name}}Params::default())
            .unwrap()
            .fit(x.view(), Some(3), 42)
            .unwrap();
        assert_eq!(p.n_clusters(), 3);
        for i in 0..90 {
            // Same blob <=> same label.
            assert_eq!(p.labels[i], p.labels[i % 3], "point {i}");
        }
        assert!(p.diag.inertia.unwrap() > 0.0);
    }

    #[test]
    fn parameters_are_validated() {
        let bad = insiders_core::params::parse_pairs(&["n_init=0"]).unwrap();
        assert!(matches!(build(&bad), Err(Error::Param { key, .. }) if key == "n_init"));
        let unknown = insiders_core::params::parse_pairs(&["bogus=1"]).unwrap();
        assert!(matches!(build(&unknown), Err(Error::Param { .. })));
        assert!(build(&toml::Table::new()).is_ok());
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for ok in ["toy", "my_kmeans", "k2means", "a_b_c"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "Toy",
            "2k",
            "my-engine",
            "_x",
            "x_",
            "a__b",
            "my kmeans",
            "type",
            "fn",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_registered_names_are_found_in_the_sources() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/insiders-engines/src");
        let found = registered_names(&src).unwrap();
        let mut compiled: Vec<String> = insiders_engines::names()
            .into_iter()
            .map(String::from)
            .collect();
        compiled.sort();
        assert_eq!(found, compiled);
    }

    #[test]
    fn the_module_line_is_inserted_among_the_engines() {
        let lib = "//! doc\n\nmod params;\npub mod registry;\n\npub mod dbscan;\npub mod kmeans;\n\npub use x;\n";
        let out = add_module_line(lib, "gamma").unwrap();
        assert_eq!(
            out,
            "//! doc\n\nmod params;\npub mod registry;\n\npub mod dbscan;\npub mod gamma;\npub mod kmeans;\n\npub use x;\n"
        );
        let out = add_module_line(lib, "zeta").unwrap();
        assert!(out.contains("pub mod kmeans;\npub mod zeta;\n\npub use"));
        // Before the first engine, not among the crate's own modules.
        let out = add_module_line(lib, "alpha").unwrap();
        assert!(out.contains("pub mod registry;\n\npub mod alpha;\npub mod dbscan;"));
        assert!(add_module_line("//! nothing\npub mod registry;\n", "x").is_err());
    }

    #[test]
    fn the_template_is_filled() {
        let s = engine_source("my_toy");
        assert!(s.contains("pub struct MyToyParams"));
        assert!(s.contains("name: \"my_toy\""));
        assert!(!s.contains("{{"));
    }
}
