//! The embedder conformance suite: the contract of [`insiders_core::Embedder`], checked for
//! EVERY embedder in [`insiders_embed::all`]. A new embedder is covered as soon as it is
//! registered; nothing here names an embedder.
//!
//! Every embedder is built with `n_components = 2` (a parameter every embedder must take)
//! plus whichever of a few speed settings it accepts ([`FAST`]: fewer epochs, iterations,
//! trees), so that the suite stays fast in the dev profile. Rules:
//! - the output has one row per input row and `n_components` columns, all finite;
//! - the same seed gives bit-identical output (coordinates and `info`), and so do 1 and 2
//!   rayon threads;
//! - an empty matrix, a NaN cell, an unknown parameter and (for a supervised method) a
//!   missing target are the matching [`Error`] variants, never panics;
//! - `fit` either is [`Error::Unsupported`] or gives the same embedding as `fit_transform`
//!   and a model whose `transform` of the training rows places them consistently: with the
//!   same shape, deterministically, and each row nearest to a fitted row of its own group;
//! - the registry finds every embedder under its name and its aliases, and
//!   [`insiders_embed::fit_space`] agrees with `fit_transform`.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use insiders_core::{Embedder, Embedding, Error, Matrix, Rng};
use insiders_embed::{EmbedderSpec, all};
use std::panic::{AssertUnwindSafe, catch_unwind};

const SEED: u64 = 20_240_601;
const N: usize = 200;
const GROUPS: usize = 4;
const DIMS: usize = 2;

/// Speed settings, used by the embedders that accept them (the rest reject them as unknown).
const FAST: &[(&str, i64)] = &[
    ("n_epochs", 60),
    ("n_estimators", 12),
    ("early_exaggeration_iter", 50),
    ("max_iter", 150),
];

/// Four separated 4-D Gaussian groups of 50 rows, interleaved (row i is in group i % 4).
fn groups() -> Matrix {
    let mut rng = Rng::new(7);
    Matrix::from_shape_fn((N, 4), |(i, j)| {
        let g = i % GROUPS;
        let centre = if j == g % 4 { 10.0 } else { 0.0 } + if j == 3 { g as f64 } else { 0.0 };
        centre + rng.normal()
    })
}

/// A target for supervised methods: the group plus noise.
fn target() -> Vec<f64> {
    let mut rng = Rng::new(8);
    (0..N)
        .map(|i| (i % GROUPS) as f64 + 0.1 * rng.normal())
        .collect()
}

/// The parameters of `spec` for this suite: `n_components` and the accepted [`FAST`] keys.
fn params(spec: &EmbedderSpec) -> toml::Table {
    let mut table = toml::Table::new();
    table.insert("n_components".into(), toml::Value::Integer(DIMS as i64));
    if let Err(e) = (spec.build)(&table) {
        panic!("{}: n_components = {DIMS} rejected: {e}", spec.name);
    }
    for &(key, value) in FAST {
        table.insert(key.into(), toml::Value::Integer(value));
        match (spec.build)(&table) {
            Ok(_) => {}
            Err(Error::Param { key: k, .. }) if k == key => {
                table.remove(key);
            }
            Err(e) => panic!("{}: {key} = {value}: {e}", spec.name),
        }
    }
    table
}

fn embedders() -> Vec<(&'static EmbedderSpec, Box<dyn Embedder>)> {
    let specs = all();
    assert!(!specs.is_empty(), "no embedder registered");
    specs
        .into_iter()
        .map(|spec| {
            let e = (spec.build)(&params(spec)).unwrap();
            (spec, e)
        })
        .collect()
}

/// The target argument for `spec`: `Some` for a supervised method.
fn target_for(spec: &EmbedderSpec, y: &[f64]) -> Option<Vec<f64>> {
    spec.supervised.then(|| y.to_vec())
}

/// Runs `f`, turning a panic into a test failure that names the embedder and the case.
fn no_panic<T>(name: &str, case: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => panic!("{name}: panicked on {case}"),
    }
}

fn bits(e: &Embedding) -> (Vec<u64>, Vec<(String, u64)>) {
    (
        e.coords.iter().map(|v| v.to_bits()).collect(),
        e.info
            .iter()
            .map(|(k, v)| (k.clone(), v.to_bits()))
            .collect(),
    )
}

fn embed(spec: &EmbedderSpec, e: &dyn Embedder, x: &Matrix, y: &[f64], seed: u64) -> Embedding {
    let t = target_for(spec, y);
    no_panic(spec.name, "fit_transform", || {
        e.fit_transform(x.view(), t.as_deref(), seed)
    })
    .unwrap_or_else(|err| panic!("{}: {err}", spec.name))
}

#[test]
fn every_embedder_builds_with_defaults_under_its_own_name_and_aliases() {
    for spec in all() {
        let e = (spec.build)(&toml::Table::new())
            .unwrap_or_else(|err| panic!("{}: default parameters rejected: {err}", spec.name));
        assert_eq!(e.name(), spec.name);
        assert!(!spec.about.is_empty(), "{}: no description", spec.name);
        for name in std::iter::once(&spec.name).chain(spec.aliases) {
            assert_eq!(insiders_embed::find(name).unwrap().name, spec.name);
            assert_eq!(
                insiders_embed::build(name, &toml::Table::new())
                    .unwrap()
                    .name(),
                spec.name
            );
        }
    }
    assert!(matches!(
        insiders_embed::build("no_such_embedder", &toml::Table::new()),
        Err(Error::Unknown { .. })
    ));
}

#[test]
fn output_has_one_row_per_input_row_and_the_asked_dimensions() {
    let (x, y) = (groups(), target());
    for (spec, e) in embedders() {
        let out = embed(spec, e.as_ref(), &x, &y, SEED);
        assert_eq!(out.coords.dim(), (N, DIMS), "{}", spec.name);
        assert!(
            out.coords.iter().all(|v| v.is_finite()),
            "{}: non-finite output",
            spec.name
        );
        assert!(
            out.info.values().all(|v| v.is_finite()),
            "{}: non-finite info {:?}",
            spec.name,
            out.info
        );
    }
}

#[test]
fn same_seed_same_bits_whatever_the_thread_count() {
    let (x, y) = (groups(), target());
    for (spec, e) in embedders() {
        let runs: Vec<_> = [1, 2, 1]
            .into_iter()
            .map(|threads| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| bits(&embed(spec, e.as_ref(), &x, &y, SEED)))
            })
            .collect();
        assert!(
            runs[0] == runs[2],
            "{}: two runs with the same seed differ",
            spec.name
        );
        assert!(runs[0] == runs[1], "{}: 1 and 2 threads differ", spec.name);
    }
}

#[test]
fn bad_input_is_a_typed_error_never_a_panic() {
    let y = target();
    for (spec, e) in embedders() {
        let name = spec.name;
        let empty = Matrix::zeros((0, 4));
        let t = spec.supervised.then(Vec::new);
        match no_panic(name, "an empty matrix", || {
            e.fit_transform(empty.view(), t.as_deref(), SEED)
        }) {
            Err(Error::EmptyInput { rows: 0, cols: 4 }) => {}
            other => panic!("{name}: empty matrix gave {other:?}"),
        }
        let mut x = groups();
        x[[17, 2]] = f64::NAN;
        let t = target_for(spec, &y);
        match no_panic(name, "a NaN cell", || {
            e.fit_transform(x.view(), t.as_deref(), SEED)
        }) {
            Err(Error::NonFinite {
                row: 17, col: 2, ..
            }) => {}
            other => panic!("{name}: NaN cell gave {other:?}"),
        }
        let mut bad = params(spec);
        bad.insert("no_such_parameter".into(), toml::Value::Integer(1));
        match (spec.build)(&bad) {
            Err(Error::Param { key, .. }) => assert_eq!(key, "no_such_parameter", "{name}"),
            other => panic!("{name}: unknown parameter gave {other:?}"),
        }
        if spec.supervised {
            let x = groups();
            match no_panic(name, "no target", || e.fit_transform(x.view(), None, SEED)) {
                Err(Error::Param { key, .. }) => assert_eq!(key, "target", "{name}"),
                other => panic!("{name}: no target gave {other:?}"),
            }
            let names: Vec<String> = (0..4).map(|j| format!("x{j}")).collect();
            match insiders_embed::fit_space(name, &params(spec), &names, &x, None, SEED) {
                Err(Error::Param { key, .. }) => assert_eq!(key, "target", "{name}"),
                other => panic!("{name}: fit_space without target gave {other:?}"),
            }
        }
    }
}

#[test]
fn fit_space_is_fit_transform_on_the_named_columns() {
    let x = groups();
    let names: Vec<String> = (0..4).map(|j| format!("x{j}")).collect();
    for spec in all() {
        let p = params(spec);
        let e = (spec.build)(&p).unwrap();
        let got = insiders_embed::fit_space(spec.name, &p, &names, &x, Some("x3"), SEED)
            .unwrap_or_else(|err| panic!("{}: {err}", spec.name));
        let want = if spec.supervised {
            let inputs = x.select(ndarray::Axis(1), &[0, 1, 2]);
            let y = x.column(3).to_vec();
            e.fit_transform(inputs.view(), Some(&y), SEED)
        } else {
            e.fit_transform(x.view(), None, SEED)
        }
        .unwrap();
        assert!(bits(&got) == bits(&want), "{}", spec.name);
    }
}

/// `fit` is unsupported, or its embedding is `fit_transform`'s and its model places the
/// training rows again: same shape, deterministic, each placed row nearest to a fitted row
/// of its own group.
#[test]
fn fit_and_transform_place_the_training_rows_consistently() {
    let (x, y) = (groups(), target());
    let mut placing = 0;
    for (spec, e) in embedders() {
        let name = spec.name;
        let t = target_for(spec, &y);
        let fitted = no_panic(name, "fit", || e.fit(x.view(), t.as_deref(), SEED));
        let (emb, model) = match fitted {
            Err(Error::Unsupported(_)) => continue,
            Err(err) => panic!("{name}: fit failed: {err}"),
            Ok(v) => v,
        };
        placing += 1;
        let direct = embed(spec, e.as_ref(), &x, &y, SEED);
        assert!(
            bits(&emb) == bits(&direct),
            "{name}: fit and fit_transform differ"
        );
        let placed = no_panic(name, "transform", || model.transform(x.view())).unwrap();
        let again = model.transform(x.view()).unwrap();
        assert_eq!(placed.dim(), (N, DIMS), "{name}");
        assert!(
            placed
                .iter()
                .map(|v| v.to_bits())
                .eq(again.iter().map(|v| v.to_bits())),
            "{name}: transform is not deterministic"
        );
        let mut same_group = 0;
        for i in 0..N {
            let nearest = (0..N)
                .min_by(|&a, &b| {
                    let d = |j: usize| {
                        (0..DIMS)
                            .map(|c| (placed[[i, c]] - emb.coords[[j, c]]).powi(2))
                            .sum::<f64>()
                    };
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            same_group += usize::from(nearest % GROUPS == i % GROUPS);
        }
        assert!(
            same_group >= N * 95 / 100,
            "{name}: only {same_group} of {N} placed rows are nearest to their own group"
        );
        let wrong = Matrix::zeros((3, 5));
        assert!(
            model.transform(wrong.view()).is_err(),
            "{name}: transform accepted a matrix of another width"
        );
    }
    assert!(placing > 0, "no registered embedder places new points");
}
