//! The customer data sets of a grid over registry data sets: the real data (`online-retail`)
//! and the synthetic shops (`synthetic`, `synthetic-10k`, ...) run through the customer
//! pipeline, as the grid over the customer table does (`run.rs`): the study preset's pipeline
//! (with `--pipeline`'s keys laid over it) gives the model matrix, each space of the grid
//! configuration (the identity `features` space when it names none) is built on it, and every
//! engine is fitted and scored there.
//!
//! - **Cells:** the id is `<data set id>/<space>/engine[params]/kK`, `space` is
//!   `<data set id>/<space>`, `dataset` the data set id, `origin` = `ours`. The seed of a cell
//!   is the customer grid's (derived from the id without the data set), so the real data's
//!   cells are the same as those of `insiders grid --data <the file>` with the same engines.
//! - **Reference labels:** a synthetic shop's customers carry the archetype that generated them
//!   (`insiders_synth::Truth`); the cells get ARI, NMI and NCA against them, and the number of
//!   archetypes among the customers kept by the cleaning is the shop's true k. The real data has
//!   no reference: its cells have the internal scores only, and it runs over the grid's k range
//!   even with `--true-k-only`.

use crate::GridError;
use crate::config::{GridConfig, SpaceSpec};
use crate::datasets::OURS;
use crate::results::Cell;
use crate::run::{GridArgs, Lap, SpaceCtx, StageClock, model_matrix, plan, run_space};
use insiders_datasets::{Data, Dataset, Kind};
use insiders_pipeline::{Config, Source};
use std::collections::BTreeMap;
use std::path::Path;

/// Whether a registry entry runs through the customer pipeline (invoice lines of a shop).
pub fn is_customer(kind: &Kind) -> bool {
    matches!(kind, Kind::OnlineRetail | Kind::Synthetic(_))
}

/// The study preset's pipeline (the Python grid's: the canonical five features, min-max), with
/// a `--pipeline` file's keys laid over it: the customer grid's rule.
pub(crate) fn pipeline(args: &GridArgs) -> Result<Config, GridError> {
    let study = Config::preset("study")?;
    Ok(match &args.pipeline {
        Some(p) => Config::load_over(&study, p)?,
        None => study,
    })
}

/// What a customer data set gave: its cells, its manifest entry and its stage times; or the
/// number of customers when it was skipped (more than `max_points`).
pub(crate) enum Outcome {
    Ran {
        cells: Vec<Cell>,
        info: serde_json::Value,
        clock: StageClock,
    },
    Skipped(usize),
}

/// The settings every customer data set of a run shares.
pub(crate) struct Shared<'a> {
    pub args: &'a GridArgs,
    pub cfg: &'a GridConfig,
    pub pipeline: &'a Config,
    /// The grid's k range (or `quick_ks`), used with or without `--true-k-only` when the data
    /// set has no true k.
    pub range: &'a [usize],
    pub max_points: usize,
    pub out: &'a Path,
}

/// The archetype index of every row (customer ids as the model matrix gives them), in the
/// order of `insiders_synth::Archetype`; `None` for a customer without a truth row.
fn archetypes(shop: &insiders_datasets::synthetic::Shop, ids: &[String]) -> Vec<Option<u32>> {
    let by_id: BTreeMap<String, _> = shop
        .truth
        .iter()
        .map(|t| (t.customer_id.to_string(), t.archetype))
        .collect();
    let present: Vec<_> = {
        let mut v: Vec<_> = ids.iter().filter_map(|i| by_id.get(i).copied()).collect();
        v.sort();
        v.dedup();
        v
    };
    ids.iter()
        .map(|i| {
            let a = by_id.get(i)?;
            present.iter().position(|p| p == a).map(|p| p as u32)
        })
        .collect()
}

/// Runs every space and engine of the grid on one customer data set.
pub(crate) fn run_one(sh: &Shared<'_>, entry: &Dataset) -> Result<Outcome, GridError> {
    let Shared {
        args,
        cfg,
        pipeline,
        range,
        max_points,
        out,
    } = *sh;
    let id = entry.id.as_str();
    let mut pcfg = pipeline.clone();
    let source = match &entry.kind {
        Kind::OnlineRetail => {
            if let Some(p) = entry.missing() {
                return Err(insiders_datasets::DatasetError::Missing {
                    path: p.to_path_buf(),
                }
                .into());
            }
            Source::File(entry.files[0].path.clone())
        }
        Kind::Synthetic(p) => {
            // The pipeline's built-in shop with the preset's size and seed: the same shop as
            // the registry entry generates.
            pcfg.synth.customers = p.customers;
            pcfg.seed = p.seed;
            Source::Synthetic
        }
        _ => {
            return Err(GridError::Invalid(format!(
                "`{id}` holds {}, not invoice lines",
                entry.holds()
            )));
        }
    };
    let mut clock = StageClock::default();
    let lap = Lap::start();
    let (ids, names, x) = model_matrix(&source, &pcfg, cfg.features.as_deref())?;
    clock.add(format!("features/{id}"), &lap);
    if x.nrows() > max_points {
        return Ok(Outcome::Skipped(x.nrows()));
    }
    let reference = match &entry.kind {
        Kind::Synthetic(_) => match entry.load()? {
            Data::Shop(shop) => Some(archetypes(&shop, &ids)),
            _ => None,
        },
        _ => None,
    };
    let true_k = reference.as_deref().map(insiders_eval::reference_k);
    let mut ks: Vec<usize> = if args.true_k_only && true_k.is_some() {
        Vec::new()
    } else {
        range.to_vec()
    };
    ks.extend(true_k);
    ks.sort_unstable();
    ks.dedup();
    ks.retain(|&k| k >= 1 && k <= x.nrows());

    let default_space = [SpaceSpec {
        name: "features".into(),
        method: "identity".into(),
        target: None,
        params: toml::Table::new(),
    }];
    let listed: &[SpaceSpec] = if cfg.spaces.is_empty() {
        &default_space
    } else {
        &cfg.spaces
    };
    let spaces = crate::run::only(listed, &args.only_spaces, |s| &s.name);
    let engines = crate::run::only(&cfg.engines, &args.only_engines, |e| &e.name);
    let (jobs, _) = plan(&engines, &ks)?;
    let mut stability = cfg.stability.clone();
    if let Some(on) = args.stability {
        stability.enabled = on;
    }
    let bar = indicatif::ProgressBar::hidden();
    let ctx = SpaceCtx {
        cfg,
        names: &names,
        jobs: &jobs,
        engines: &engines,
        x: &x,
        ids: &ids,
        out,
        bar: &bar,
        stability: &stability,
        serial: args.serial,
        prefix: Some(id),
        reference: reference.as_deref(),
    };
    let results: Vec<Result<crate::run::SpaceOut, GridError>> = if args.serial {
        spaces.iter().map(|s| run_space(&ctx, s)).collect()
    } else {
        use rayon::prelude::*;
        spaces.par_iter().map(|s| run_space(&ctx, s)).collect()
    };
    let mut cells = Vec::new();
    let mut space_info = BTreeMap::new();
    for (s, r) in spaces.iter().zip(results) {
        let r = r?;
        for mut c in r.cells {
            c.dataset = id.to_string();
            c.origin = OURS.into();
            cells.push(c);
        }
        if let Some(info) = r.info {
            space_info.insert(s.name.clone(), info);
        }
        for (stage, v) in r.clock.wall {
            *clock.wall.entry(stage).or_insert(0.0) += v;
        }
        for (stage, v) in r.clock.cpu {
            *clock.cpu.entry(stage).or_insert(0.0) += v;
        }
    }
    let info = serde_json::json!({
        "customers": x.nrows(),
        "features": names,
        "pipeline": "the study preset (canonical five features, min-max), --pipeline laid over it",
        "reference": reference.as_ref().map(|_| "the archetype of every customer (insiders_synth::Truth)"),
        "true_ks": true_k.map_or_else(Vec::new, |k| vec![k]),
        "spaces": space_info,
    });
    Ok(Outcome::Ran { cells, info, clock })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archetypes_are_numbered_among_the_kept_customers() {
        let cfg = insiders_datasets::synthetic::ShopConfig {
            customers: 60,
            ..Default::default()
        };
        let shop = insiders_synth_shop(&cfg);
        let ids: Vec<String> = shop
            .truth
            .iter()
            .map(|t| t.customer_id.to_string())
            .chain(["999999999".to_string()])
            .collect();
        let a = archetypes(&shop, &ids);
        assert_eq!(a.last(), Some(&None));
        let k = insiders_eval::reference_k(&a);
        let distinct: std::collections::BTreeSet<_> =
            shop.truth.iter().map(|t| t.archetype).collect();
        assert_eq!(k, distinct.len());
        assert!(
            a[..a.len() - 1]
                .iter()
                .all(|v| v.is_some_and(|v| (v as usize) < k))
        );
    }

    #[test]
    fn a_synthetic_shop_runs_beside_the_customer_grid_with_the_same_seeds() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("g.toml");
        std::fs::write(
            &cfg_path,
            "seed = 42\nk_min = 2\nk_max = 3\ndatasets = [\"synthetic\"]\n\
             [[engine]]\nname = \"kmeans\"\nparams = { n_init = 2 }\n\
             [[space]]\nname = \"features\"\nmethod = \"identity\"\n",
        )
        .unwrap();
        let mut args = GridArgs {
            config: Some(cfg_path),
            out: Some(dir.path().join("mixed")),
            ..Default::default()
        };
        let mixed =
            crate::results::read_csv(&crate::run(&args).unwrap().join("results.csv")).unwrap();
        // The same grid over the customer table (the built-in shop is `synthetic`).
        args.datasets = Vec::new();
        let text = std::fs::read_to_string(args.config.as_ref().unwrap()).unwrap();
        std::fs::write(
            args.config.as_ref().unwrap(),
            text.replace("datasets = [\"synthetic\"]\n", ""),
        )
        .unwrap();
        args.out = Some(dir.path().join("plain"));
        let plain =
            crate::results::read_csv(&crate::run(&args).unwrap().join("results.csv")).unwrap();
        assert_eq!(plain.len(), 2);
        for p in &plain {
            assert!(p.dataset.is_empty() && p.ari.is_none());
            let m = mixed
                .iter()
                .find(|c| c.cell == format!("synthetic/{}", p.cell))
                .unwrap();
            assert_eq!((m.seed, m.silhouette), (p.seed, p.silhouette));
            assert_eq!(
                (m.dataset.as_str(), m.space.as_str()),
                ("synthetic", "synthetic/features")
            );
            assert_eq!(m.true_k, Some(false));
        }
        // The true k (7 archetypes) is added to the range, with its external scores.
        let t = mixed.iter().find(|c| c.true_k == Some(true)).unwrap();
        assert_eq!(t.k, Some(7));
        assert!(t.ari.is_some_and(|a| a > 0.1 && a < 1.0), "{t:?}");
        assert_eq!(mixed.len(), 3);
    }

    #[test]
    fn selectors_take_customer_data_sets_but_not_purchase_lines() {
        let reg = insiders_datasets::Registry::at(Path::new("/nonexistent"));
        let ids = crate::datasets::select(&reg, &["online-retail".into(), "synthetic-10k".into()])
            .unwrap();
        assert_eq!(ids, ["online-retail", "synthetic-10k"]);
        let e = crate::datasets::select(&reg, &["cdnow".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("purchase lines"), "{e}");
    }

    fn insiders_synth_shop(
        cfg: &insiders_datasets::synthetic::ShopConfig,
    ) -> insiders_datasets::synthetic::Shop {
        let p = insiders_datasets::synthetic::Preset {
            id: "t",
            customers: cfg.customers,
            seed: cfg.seed,
        };
        let e = insiders_datasets::Registry::at(Path::new("/nonexistent"))
            .get("synthetic")
            .map(|mut e| {
                e.kind = Kind::Synthetic(p);
                e
            })
            .unwrap();
        match e.load().unwrap() {
            Data::Shop(s) => s,
            _ => panic!("not a shop"),
        }
    }
}
