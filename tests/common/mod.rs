//! Helpers shared by the binary's end-to-end tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod pg;
pub mod webdriver;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `args`.
pub fn insiders(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_insiders"))
        .args(args)
        .output()
        .expect("run insiders")
}

/// Standard output and error together, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The Insiders' ids of a run folder (`insiders.csv`).
pub fn insider_ids(dir: &Path) -> std::collections::BTreeSet<i64> {
    std::fs::read_to_string(dir.join("insiders.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

/// `since_previous.entered` or `.left` of a run's answers.
pub fn id_list(since: &serde_json::Value, key: &str) -> Vec<i64> {
    since[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}
