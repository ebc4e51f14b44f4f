//! `cargo xtask new-engine NAME`: validation, the file and the one registration line
//! (`pub mod NAME;` in the engines crate's `lib.rs`), and (ignored by default; run
//! by `.ci/run`) a scaffolded engine compiling, passing the conformance suite and showing up
//! in the grid, in a temporary copy of the workspace.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst, skip);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A scratch root holding only the engines crate's sources.
fn engines_src_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &workspace().join("crates/insiders-engines/src"),
        &dir.path().join("crates/insiders-engines/src"),
        &[],
    );
    dir
}

#[test]
fn scaffold_rejects_bad_names_and_registers_good_ones() {
    let root = engines_src_copy();
    let src = root.path().join("crates/insiders-engines/src");
    let before_registry = std::fs::read_to_string(src.join("registry.rs")).unwrap();
    let before_lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let run = |name: &str| {
        xtask()
            .env("INSIDERS_ROOT", root.path())
            .args(["new-engine", name])
            .output()
            .unwrap()
    };
    for (bad, why) in [
        ("MyEngine", "not a snake_case identifier"),
        ("my-engine", "not a snake_case identifier"),
        ("2means", "not a snake_case identifier"),
        ("a__b", "not a snake_case identifier"),
        ("match", "Rust keyword"),
        ("kmeans", "exists already"),
        ("hierarchical", "exists already"),
        ("registry", "exists already"),
    ] {
        let o = run(bad);
        assert!(!o.status.success(), "{bad} accepted");
        assert!(text(&o).contains(why), "{bad}: {}", text(&o));
    }
    // `ward` is registered by hierarchical/: an engine name without a module of its own.
    let o = run("ward");
    assert!(!o.status.success());
    assert!(text(&o).contains("registered already"), "{}", text(&o));
    // Nothing was written by the failures.
    assert_eq!(
        std::fs::read_to_string(src.join("registry.rs")).unwrap(),
        before_registry
    );
    assert_eq!(
        std::fs::read_to_string(src.join("lib.rs")).unwrap(),
        before_lib
    );

    let o = run("toy_engine");
    assert!(o.status.success(), "{}", text(&o));
    let module = std::fs::read_to_string(src.join("toy_engine.rs")).unwrap();
    assert!(module.contains("pub struct ToyEngineParams"));
    assert!(module.contains("impl Engine for ToyEngine"));
    assert!(module.contains("#[cfg(test)]"));
    // One line registers it: `pub mod toy_engine;` in lib.rs (the build script lists the
    // SPECS of every public module); the registry itself is not edited.
    assert_eq!(
        std::fs::read_to_string(src.join("registry.rs")).unwrap(),
        before_registry
    );
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("pub mod toy_engine;"));
    let added: Vec<&str> = lib
        .lines()
        .filter(|l| !before_lib.lines().any(|b| b == *l))
        .collect();
    assert_eq!(
        added,
        ["pub mod toy_engine;"],
        "lib.rs changed by more than one line"
    );
    // A second time it exists.
    let o = run("toy_engine");
    assert!(!o.status.success());
    assert!(text(&o).contains("exists already"), "{}", text(&o));
}

/// The whole path: scaffold in a copy of the workspace, build, test, and run the grid.
/// Slow (it compiles the copied workspace crates): `cargo test -p xtask --test new_engine
/// -- --ignored`, run by `.ci/run`. Shares the target directory of the running build
/// (`CARGO_TARGET_DIR`, else the workspace's `target/`) so dependencies are not rebuilt.
#[test]
#[ignore = "compiles a copy of the workspace (about a minute); run by .ci/run"]
fn scaffolded_engine_shows_up_in_the_grid() {
    let data = std::env::var_os("INSIDERS_DATA").map_or_else(
        || {
            let shared = std::env::var_os("INSIDERS_SHARED")
                .map_or_else(|| workspace().join("../shared"), PathBuf::from);
            shared.join("datasets/online-retail/online-retail.csv.gz")
        },
        PathBuf::from,
    );
    assert!(data.is_file(), "no data set at {}", data.display());
    let copy = tempfile::tempdir().unwrap();
    let root = copy.path().join("ws");
    copy_dir(
        &workspace(),
        &root,
        &["target", "runs", ".git", "fuzz", "node_modules"],
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let profile = if cfg!(debug_assertions) {
        None
    } else {
        Some("--release")
    };
    let cargo_in = |args: &[&str]| {
        let mut c = Command::new(&cargo);
        c.current_dir(&root)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("INSIDERS_ROOT")
            .args(args);
        c
    };

    let o = xtask()
        .env("INSIDERS_ROOT", &root)
        .args(["new-engine", "toy_engine"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // Add it to the copy's grid: k-engine, so 21 cells on the features space.
    let grid = root.join("grid.toml");
    let mut g = std::fs::read_to_string(&grid).unwrap();
    g.push_str("\n[[engine]]\nname = \"toy_engine\"\nparams = { n_init = 4 }\n");
    std::fs::write(&grid, g).unwrap();

    // The generated code is lint-clean as the project's CI requires.
    let o = cargo_in(&[
        "clippy",
        "-p",
        "insiders-engines",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // The module's own tests and the conformance suite, with the new engine registered.
    let mut args = vec![
        "test",
        "-p",
        "insiders-engines",
        "--lib",
        "--test",
        "conformance",
    ];
    args.extend(profile);
    let o = cargo_in(&args).output().unwrap();
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("toy_engine::tests::finds_three_separated_blobs ... ok"),
        "{out}"
    );

    // The grid, on the features space only.
    let run = copy.path().join("run");
    let mut args = vec!["run", "-p", "xtask"];
    args.extend(profile);
    args.extend([
        "--",
        "grid",
        "--only",
        "space=features,engine=toy_engine",
        "--no-stability",
        "--data",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    let o = cargo_in(&args).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let results = std::fs::read_to_string(run.join("results.csv")).unwrap();
    let rows: Vec<&str> = results
        .lines()
        .filter(|l| l.starts_with("features/toy_engine"))
        .collect();
    assert_eq!(rows.len(), 21, "{results}");
    for k in 2..=22 {
        let id = format!("features/toy_engine[n_init=4]/k{k},");
        let row = rows.iter().find(|r| r.starts_with(&id)).unwrap();
        // k_found == k, a silhouette, no error (the last field).
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f[6], k.to_string(), "{row}");
        assert!(f[8].parse::<f64>().is_ok(), "{row}");
        assert_eq!(*f.last().unwrap(), "", "{row}");
    }
}
