//! Where the shared data lives, and the rule for a missing file.
//!
//! - `INSIDERS_SHARED` overrides the location of the shared folder (default: `../shared`
//!   beside the workspace root);
//! - `INSIDERS_DATA` overrides the path of the real data set
//!   (default: `<shared>/datasets/online-retail/online-retail.csv.gz`).
//!
//! A missing file makes a test or benchmark skip with a message on a developer machine, and
//! fail when `CI=true` (or `CI=1`): in CI a missing data set is a failure, never a silent pass.
#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

/// The shared folder (`INSIDERS_SHARED`, or `../shared` beside the workspace).
pub fn shared_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("INSIDERS_SHARED") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// The real data set (`INSIDERS_DATA`, or the copy in the shared folder).
pub fn data_path() -> PathBuf {
    if let Some(p) = std::env::var_os("INSIDERS_DATA") {
        return PathBuf::from(p);
    }
    shared_dir().join("datasets/online-retail/online-retail.csv.gz")
}

/// A fixture file by name (e.g. `features.csv.gz`).
pub fn fixture_path(name: &str) -> PathBuf {
    shared_dir().join("fixtures").join(name)
}

/// Whether this is a CI run (`CI=true` or `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Returns the path when the file exists. When it does not: panics under `CI=true`,
/// otherwise prints why the test is skipped and returns `None`.
///
/// # Panics
/// Under `CI=true` when `path` does not exist.
pub fn require(path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    skip_or_fail(&path.display().to_string());
    None
}

/// The rule for something missing: panics under `CI=true`, otherwise prints `SKIP`.
pub(crate) fn skip_or_fail(what: &str) {
    if in_ci() {
        panic!("required test data {what} is missing (CI=true: a missing data set is a failure)");
    }
    eprintln!("SKIP: {what} is missing (set INSIDERS_SHARED / INSIDERS_DATA)");
}

/// The real data set, or `None` (see [`require`]).
pub fn real_data() -> Option<PathBuf> {
    require(data_path())
}

/// A fixture, or `None` (see [`require`]).
pub fn fixture(name: &str) -> Option<PathBuf> {
    require(fixture_path(name))
}
