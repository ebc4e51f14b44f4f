//! The engine conformance suite: the contract of [`insiders_core::Engine`], checked for EVERY
//! engine in [`insiders_engines::all`] with its default parameters (an empty TOML table).
//! A new engine is covered as soon as it is registered; nothing here names an engine.
//!
//! Rules (from the trait's documentation):
//! - one label per point, clusters numbered `0..k_found` by first appearance, no noise unless
//!   the engine says it emits noise;
//! - the same seed gives the same partition (labels and diagnostics), whatever the number of
//!   rayon threads (1 and 2 threads compared bitwise); engines whose caps say
//!   `deterministic` give the same partition for different seeds;
//! - engines that need k return exactly k clusters when the data have at least k distinct
//!   points (separated blobs, and heavily duplicated points);
//! - empty input, NaN/infinite values, a missing k, k = 0 and k > n are the matching
//!   [`Error`] variants, never panics (checked with `catch_unwind`); tiny and degenerate
//!   inputs never panic;
//! - `fit_many(x, ks)[i] == fit(x, Some(ks[i]))`;
//! - an unknown parameter is an [`Error::Param`] naming the key.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use insiders_core::{Diagnostics, Engine, Error, Matrix, Partition, Rng};
use insiders_engines::{EngineSpec, all};
use std::panic::{AssertUnwindSafe, catch_unwind};

const SEED: u64 = 20_240_601;

/// Four well-separated 3-D Gaussian blobs, 60 points each, interleaved (point i belongs to
/// blob i % 4, so no engine can profit from the input order).
fn blobs() -> Matrix {
    let centres = [
        [0.0, 0.0, 0.0],
        [12.0, 0.0, 3.0],
        [0.0, 12.0, -3.0],
        [12.0, 12.0, 12.0],
    ];
    let mut rng = Rng::new(7);
    Matrix::from_shape_fn((240, 3), |(i, j)| centres[i % 4][j] + 0.8 * rng.normal())
}

/// Five distinct 2-D points, each repeated 12 times (60 rows).
fn duplicates() -> Matrix {
    let points = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [9.0, -2.0]];
    Matrix::from_shape_fn((60, 2), |(i, j)| points[i % 5][j])
}

fn engines() -> Vec<(&'static EngineSpec, Box<dyn Engine>)> {
    let specs = all();
    assert!(!specs.is_empty(), "no engine registered");
    specs
        .into_iter()
        .map(|spec| {
            let engine = (spec.build)(&toml::Table::new())
                .unwrap_or_else(|e| panic!("{}: default parameters rejected: {e}", spec.name));
            (spec, engine)
        })
        .collect()
}

/// Runs `f`, turning a panic into a test failure that names the engine and the case.
fn no_panic<T>(engine: &str, case: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => panic!("{engine}: panicked on {case}"),
    }
}

/// The ks to try for an engine: real ks when it needs k; `None` otherwise.
fn ks_for(engine: &dyn Engine) -> Vec<Option<usize>> {
    if engine.caps().needs_k {
        vec![Some(1), Some(2), Some(4), Some(7)]
    } else {
        vec![None]
    }
}

fn diag_bits(d: &Diagnostics) -> String {
    let b = |v: Option<f64>| v.map(f64::to_bits);
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        b(d.inertia),
        b(d.log_likelihood),
        d.n_iter,
        d.converged,
        d.extra
            .iter()
            .map(|(k, v)| (k.clone(), v.to_bits()))
            .collect::<Vec<_>>()
    )
}

/// Bitwise equality of two partitions (labels and diagnostics; NaN-safe).
fn assert_same(a: &Partition, b: &Partition, what: &str) {
    assert_eq!(a.labels, b.labels, "{what}: labels differ");
    assert_eq!(
        diag_bits(&a.diag),
        diag_bits(&b.diag),
        "{what}: diagnostics differ"
    );
}

#[test]
fn every_engine_builds_with_defaults_under_its_own_name() {
    let engines = engines();
    let mut names: Vec<&str> = engines.iter().map(|(s, _)| s.name).collect();
    for (spec, engine) in &engines {
        assert_eq!(engine.name(), spec.name);
        assert!(!spec.about.is_empty(), "{}: empty about", spec.name);
    }
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate engine names");
    for required in ["kmeans", "gmm", "smartcore_kmeans"] {
        assert!(names.contains(&required), "{required} is not registered");
    }
}

#[test]
fn labels_cover_every_point_and_are_numbered_by_first_appearance() {
    let x = blobs();
    for (spec, engine) in engines() {
        for k in ks_for(engine.as_ref()) {
            let case = format!("blobs, k = {k:?}");
            let p = no_panic(spec.name, &case, || engine.fit(x.view(), k, SEED))
                .unwrap_or_else(|e| panic!("{}: {case}: {e}", spec.name));
            assert_eq!(p.labels.len(), x.nrows(), "{}: {case}", spec.name);
            let mut next = 0u32;
            for l in p.labels.iter().flatten() {
                assert!(*l <= next, "{}: {case}: label {l} before {next}", spec.name);
                if *l == next {
                    next += 1;
                }
            }
            assert_eq!(p.n_clusters(), next as usize);
            if !engine.caps().emits_noise {
                assert_eq!(p.n_noise(), 0, "{}: {case}: noise", spec.name);
            }
        }
    }
}

#[test]
fn same_seed_same_partition_and_deterministic_engines_ignore_the_seed() {
    let x = blobs();
    for (spec, engine) in engines() {
        for k in ks_for(engine.as_ref()) {
            let a = engine.fit(x.view(), k, SEED).unwrap();
            let b = engine.fit(x.view(), k, SEED).unwrap();
            assert_same(&a, &b, &format!("{} k = {k:?}: same seed", spec.name));
            if engine.caps().deterministic {
                let c = engine.fit(x.view(), k, SEED ^ 0xFFFF_0000_1234).unwrap();
                assert_same(&a, &c, &format!("{} k = {k:?}: other seed", spec.name));
            }
        }
    }
}

#[test]
fn engines_that_need_k_return_exactly_k_clusters() {
    let (x, dup) = (blobs(), duplicates());
    for (spec, engine) in engines() {
        if !engine.caps().needs_k {
            continue;
        }
        for k in 1..=8 {
            let p = engine.fit(x.view(), Some(k), SEED).unwrap();
            assert_eq!(p.n_clusters(), k, "{}: blobs, k = {k}", spec.name);
        }
        // At least k distinct points, even when most rows are duplicates.
        for k in 1..=5 {
            for seed in [SEED, 1, 2] {
                let p = no_panic(spec.name, "duplicates", || {
                    engine.fit(dup.view(), Some(k), seed)
                })
                .unwrap_or_else(|e| panic!("{}: duplicates, k = {k}: {e}", spec.name));
                assert_eq!(
                    p.n_clusters(),
                    k,
                    "{}: 5 distinct points, k = {k}, seed {seed}",
                    spec.name
                );
            }
        }
        // More clusters than distinct points: any result, but no panic.
        for k in [6, 12, 60] {
            let _ = no_panic(spec.name, "k > distinct points", || {
                engine.fit(dup.view(), Some(k), SEED)
            });
        }
    }
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let x = blobs();
    let n = x.nrows();
    for (spec, engine) in engines() {
        let name = spec.name;
        let needs_k = engine.caps().needs_k;
        let k = needs_k.then_some(3);
        for shape in [(0, 3), (10, 0), (0, 0)] {
            let e = Matrix::zeros(shape);
            let r = no_panic(name, "empty input", || engine.fit(e.view(), k, SEED));
            assert!(
                matches!(r, Err(Error::EmptyInput { .. })),
                "{name}: {shape:?} gave {r:?}"
            );
        }
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut y = x.clone();
            y[[17, 1]] = bad;
            let r = no_panic(name, "non-finite input", || engine.fit(y.view(), k, SEED));
            match r {
                Err(Error::NonFinite {
                    row: 17, col: 1, ..
                }) => {}
                other => panic!("{name}: {bad} at (17, 1) gave {other:?}"),
            }
            let r = no_panic(name, "non-finite input (fit_many)", || {
                engine.fit_many(y.view(), &[2, 3], SEED)
            });
            assert!(r.is_err(), "{name}: fit_many accepted {bad}");
        }
        if needs_k {
            for bad_k in [0, n + 1, usize::MAX] {
                let r = no_panic(name, "bad k", || engine.fit(x.view(), Some(bad_k), SEED));
                assert!(
                    matches!(r, Err(Error::InvalidK { .. })),
                    "{name}: k = {bad_k} gave {r:?}"
                );
                let r = no_panic(name, "bad k (fit_many)", || {
                    engine.fit_many(x.view(), &[2, bad_k], SEED)
                });
                assert!(r.is_err(), "{name}: fit_many accepted k = {bad_k}");
            }
            let r = no_panic(name, "missing k", || engine.fit(x.view(), None, SEED));
            assert!(
                matches!(r, Err(Error::MissingK { .. })),
                "{name}: missing k gave {r:?}"
            );
        } else {
            // Engines that find k themselves may use or ignore a given k, but never panic.
            for any_k in [Some(0), Some(n + 1)] {
                let _ = no_panic(name, "k given to a k-free engine", || {
                    engine.fit(x.view(), any_k, SEED)
                });
            }
        }
    }
}

#[test]
fn tiny_and_degenerate_inputs_never_panic() {
    let single = Matrix::from_shape_vec((1, 2), vec![1.0, 2.0]).unwrap();
    let three = Matrix::from_shape_vec((3, 1), vec![0.0, 1.0, 5.0]).unwrap();
    let same = Matrix::from_elem((30, 2), 4.5);
    let huge = Matrix::from_shape_fn((40, 2), |(i, j)| (i as f64 - 20.0) * 1e150 + j as f64);
    for (spec, engine) in engines() {
        let name = spec.name;
        let needs_k = engine.caps().needs_k;
        for (what, m) in [("1 point", &single), ("3 points", &three)] {
            let ks: Vec<Option<usize>> = if needs_k {
                (1..=m.nrows()).map(Some).collect()
            } else {
                vec![None]
            };
            for k in ks {
                let r = no_panic(name, what, || engine.fit(m.view(), k, SEED));
                if let (true, Some(k)) = (needs_k, k) {
                    // Distinct points: exactly k clusters.
                    let p = r.unwrap_or_else(|e| panic!("{name}: {what}, k = {k}: {e}"));
                    assert_eq!(p.n_clusters(), k, "{name}: {what}, k = {k}");
                }
            }
        }
        let k = needs_k.then_some(1);
        let r = no_panic(name, "identical points", || {
            engine.fit(same.view(), k, SEED)
        });
        if needs_k {
            assert_eq!(
                r.unwrap().n_clusters(),
                1,
                "{name}: identical points, k = 1"
            );
            let _ = no_panic(name, "identical points, k = 2", || {
                engine.fit(same.view(), Some(2), SEED)
            });
        }
        let _ = no_panic(name, "values near f64::MAX", || {
            engine.fit(huge.view(), needs_k.then_some(2), SEED)
        });
    }
}

#[test]
fn fit_many_equals_fit_for_each_k() {
    let x = blobs();
    let ks = [2, 3, 5];
    for (spec, engine) in engines() {
        let singles: Vec<Result<Partition, Error>> = ks
            .iter()
            .map(|&k| engine.fit(x.view(), Some(k), SEED))
            .collect();
        let many = engine.fit_many(x.view(), &ks, SEED);
        if singles.iter().all(Result::is_ok) {
            let many = many.unwrap_or_else(|e| panic!("{}: fit_many failed: {e}", spec.name));
            assert_eq!(many.len(), ks.len(), "{}", spec.name);
            for ((k, one), m) in ks.iter().zip(&singles).zip(&many) {
                let one = one.as_ref().unwrap();
                assert_same(one, m, &format!("{}: fit_many vs fit, k = {k}", spec.name));
            }
        } else {
            assert!(
                many.is_err(),
                "{}: fit failed for some k but fit_many succeeded",
                spec.name
            );
        }
    }
}

#[test]
fn thread_count_does_not_change_the_result() {
    let x = blobs();
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let (one, two) = (pool(1), pool(2));
    for (spec, engine) in engines() {
        for k in ks_for(engine.as_ref()) {
            let a = one.install(|| engine.fit(x.view(), k, SEED)).unwrap();
            let b = two.install(|| engine.fit(x.view(), k, SEED)).unwrap();
            assert_same(&a, &b, &format!("{} k = {k:?}: 1 vs 2 threads", spec.name));
        }
        let ks = [2, 6];
        let a = one.install(|| engine.fit_many(x.view(), &ks, SEED));
        let b = two.install(|| engine.fit_many(x.view(), &ks, SEED));
        match (a, b) {
            (Ok(a), Ok(b)) => {
                for (p, q) in a.iter().zip(&b) {
                    assert_same(p, q, &format!("{}: fit_many, 1 vs 2 threads", spec.name));
                }
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{}", spec.name),
            (a, b) => panic!("{}: 1 thread {a:?} vs 2 threads {b:?}", spec.name),
        }
    }
}

#[test]
fn unknown_parameter_is_a_param_error_naming_the_key() {
    for spec in all() {
        let mut t = toml::Table::new();
        t.insert("surely_not_a_parameter".into(), toml::Value::Integer(3));
        match (spec.build)(&t) {
            Err(Error::Param { key, .. }) => {
                assert_eq!(key, "surely_not_a_parameter", "{}", spec.name)
            }
            Err(other) => panic!("{}: wrong error {other}", spec.name),
            Ok(_) => panic!("{}: accepted an unknown parameter", spec.name),
        }
    }
}

#[test]
fn registry_build_finds_every_engine_and_rejects_unknown_names() {
    for spec in all() {
        let e = insiders_engines::build(spec.name, &toml::Table::new()).unwrap();
        assert_eq!(e.name(), spec.name);
    }
    assert!(matches!(
        insiders_engines::build("no-such-engine", &toml::Table::new()),
        Err(Error::Unknown { .. })
    ));
}
