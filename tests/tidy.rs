//! The repository's own rules, checked as a test (`cargo xtask tidy` runs it):
//! - every Rust source file opens with a module comment (`//!`);
//! - no source file has more than [`LINE_BUDGET`] lines of non-test code, except the files
//!   listed in [`OVER_BUDGET`], each with its reason in ARCHITECTURE.md;
//! - every registered engine and embedder is documented (docs/engines.md, docs/embeddings.md)
//!   and the README's lists of engines and embedders are the registries';
//! - `unsafe` appears only in kernel modules (files whose path names a kernel).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lines of non-test code a source file may have (lines before its `#[cfg(test)]` module).
const LINE_BUDGET: usize = 800;

/// Files allowed over the budget (see ARCHITECTURE.md, "Files over the line budget").
const OVER_BUDGET: &[&str] = &[];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every tracked-looking Rust file of the workspace (not target/, not fuzz corpora).
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | ".git" | "corpus" | "artifacts" | "runs"
                ) {
                    walk(&p, out);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for d in ["crates", "xtask", "tests", "benches", "datasets", "fuzz"] {
        walk(&root().join(d), &mut out);
    }
    out.sort();
    assert!(out.len() > 100, "found only {} Rust files", out.len());
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .display()
        .to_string()
        .trim_start_matches("./")
        .to_string()
}

#[test]
fn every_source_file_opens_with_a_module_comment() {
    let mut bad = Vec::new();
    for f in rust_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            bad.push(rel(&f));
        }
    }
    assert!(
        bad.is_empty(),
        "files without a `//!` module comment first:\n  {}",
        bad.join("\n  ")
    );
}

/// Lines before the first `#[cfg(test)]` (the whole file when there is none).
fn non_test_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| l.trim() != "#[cfg(test)]")
        .count()
}

#[test]
fn source_files_keep_the_line_budget() {
    let mut over = Vec::new();
    for f in rust_files() {
        let r = rel(&f);
        // Test files and benches are not library code.
        let is_src = r.contains("/src/") || r.starts_with("xtask/src");
        if !is_src || r.ends_with("/tests.rs") {
            continue;
        }
        let n = non_test_lines(&std::fs::read_to_string(&f).unwrap());
        if n > LINE_BUDGET && !OVER_BUDGET.contains(&r.as_str()) {
            over.push(format!("{r}: {n} lines"));
        }
    }
    assert!(
        over.is_empty(),
        "over {LINE_BUDGET} lines of non-test code (split by idea, or list in OVER_BUDGET with \
         the reason in ARCHITECTURE.md):\n  {}",
        over.join("\n  ")
    );
    let arch = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    for f in OVER_BUDGET {
        assert!(
            arch.contains(f),
            "{f} is over budget without a reason in ARCHITECTURE.md"
        );
    }
}

#[test]
fn unsafe_only_in_kernel_modules() {
    let mut bad = Vec::new();
    for f in rust_files() {
        let r = rel(&f);
        if r.starts_with("fuzz/") || r.starts_with("tests/tidy.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let uses = text.lines().any(|l| {
            let t = l.trim_start();
            !t.starts_with("//") && (t.contains("unsafe {") || t.contains("unsafe fn"))
        });
        if uses && !r.contains("kernel") {
            bad.push(r);
        }
    }
    assert!(
        bad.is_empty(),
        "`unsafe` outside kernel modules:\n  {}",
        bad.join("\n  ")
    );
}

/// The names in the README's parenthesised list after `marker` (up to the first `;`).
fn readme_list(marker: &str) -> BTreeSet<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = flat
        .find(marker)
        .unwrap_or_else(|| panic!("README has no `{marker}` list"))
        + marker.len();
    let rest = &flat[start..];
    let end = rest.find(';').expect("the list ends with `;`");
    rest[..end]
        .split(',')
        .map(|s| s.trim().trim_matches('`').to_string())
        .collect()
}

/// The names in the first column of a document's first table whose header starts `| name |`.
fn doc_table(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().skip_while(|l| !l.starts_with("| name |"));
    assert!(
        lines.next().is_some(),
        "{}: no `| name |` table",
        path.display()
    );
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(1))
        .map(|c| c.trim().trim_matches('`').to_string())
        .collect()
}

#[test]
fn registries_are_documented_and_listed_in_the_readme() {
    let engines: BTreeSet<String> = insiders_engines::names()
        .into_iter()
        .map(String::from)
        .collect();
    let embedders: BTreeSet<String> = insiders_embed::names()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        readme_list("the clustering engines ("),
        engines,
        "README's engine list vs the registry"
    );
    assert_eq!(
        readme_list("the embeddings ("),
        embedders,
        "README's embedder list vs the registry"
    );
    assert_eq!(
        doc_table(&root().join("docs/engines.md")),
        engines,
        "docs/engines.md's table of engines vs the registry"
    );
    assert_eq!(
        doc_table(&root().join("docs/embeddings.md")),
        embedders,
        "docs/embeddings.md's table of embedders vs the registry"
    );
}
