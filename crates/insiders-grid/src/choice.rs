//! "Best by stated criteria" from a grid run: the model of `insiders run` taken from the
//! grid's best cell among those that meet the criteria (`[model.from_grid]`), instead of the
//! study's fixed choice.

use crate::GridError;
use crate::config::SpaceSpec;
use crate::results::Cell;
use insiders_analysis::ModelOptions;
use insiders_analysis::choice::{Choice, GridCriteria};
use std::path::Path;

fn bad(m: String) -> GridError {
    GridError::Invalid(format!("model.from_grid: {m}"))
}

/// Reads the run folder `c.run` (`results.json`, `manifest.json`) and chooses (see
/// [`choose`]).
pub fn choose_from_run(c: &GridCriteria, selected: &[String]) -> Result<Choice, GridError> {
    let dir = Path::new(&c.run);
    let cells = crate::results::read_json(&dir.join("results.json"))?;
    let manifest: serde_json::Value = crate::read_json(&dir.join("manifest.json"))?;
    let config: RunSpaces = manifest
        .get("config")
        .cloned()
        .ok_or_else(|| bad("the run's manifest.json has no `config`".into()))
        .and_then(|v| {
            serde_json::from_value(v).map_err(|e| bad(format!("the run's manifest config: {e}")))
        })?;
    choose(&cells, &config.features, &config.spaces, c, selected)
}

/// What the choice reads of a run's configuration (its manifest's `config`).
#[derive(Debug, serde::Deserialize)]
struct RunSpaces {
    /// The features the grid scored.
    #[serde(default)]
    features: Option<Vec<String>>,
    /// The spaces, for their methods, targets and parameters.
    #[serde(rename = "space")]
    spaces: Vec<SpaceSpec>,
}

/// Picks the cell with the highest silhouette among `cells` that have no error, k found in
/// `k_min..=k_max`, a noise share at most `max_noise_share`, and (where the run measured it)
/// stability at least `min_stability`; the space's and engine's parameters come from the
/// run's configuration. Ties: the smaller k, then the cell id. `selected` must equal the
/// features the grid scored, so that the space is the one the grid scored.
pub fn choose(
    cells: &[Cell],
    features: &Option<Vec<String>>,
    spaces: &[SpaceSpec],
    c: &GridCriteria,
    selected: &[String],
) -> Result<Choice, GridError> {
    let features = features
        .as_ref()
        .ok_or_else(|| bad("the run's manifest has no `config.features`".into()))?;
    if features != selected {
        return Err(bad(format!(
            "the grid run scored the features [{}] but this configuration selects [{}]",
            features.join(", "),
            selected.join(", ")
        )));
    }
    let mut best: Option<(&Cell, f64, usize)> = None;
    let mut candidates = 0;
    for cell in cells {
        if cell.error.is_some() {
            continue;
        }
        let Some(sil) = cell.silhouette else {
            continue;
        };
        let k_found = cell.k_found.unwrap_or(usize::MAX);
        if !(c.k_min..=c.k_max).contains(&k_found)
            || cell.noise_share.unwrap_or(0.0) > c.max_noise_share
            || (!c.spaces.is_empty() && !c.spaces.contains(&cell.space))
            || (!c.engines.is_empty() && !c.engines.contains(&cell.engine))
        {
            continue;
        }
        let stab = [cell.stability_seed_ari, cell.stability_boot_ari]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
        if stab.is_finite() && stab < c.min_stability {
            continue;
        }
        candidates += 1;
        let better = match best {
            None => true,
            Some((b, bs, bk)) => {
                sil > bs || (sil == bs && (k_found < bk || (k_found == bk && cell.cell < b.cell)))
            }
        };
        if better {
            best = Some((cell, sil, k_found));
        }
    }
    let criteria = format!(
        "the highest silhouette among cells with {}..={} clusters, at most {:.1}% noise{}{}{}",
        c.k_min,
        c.k_max,
        100.0 * c.max_noise_share,
        if c.min_stability > 0.0 {
            format!(", stability (ARI) at least {}", c.min_stability)
        } else {
            String::new()
        },
        if c.spaces.is_empty() {
            String::new()
        } else {
            format!(", spaces {}", c.spaces.join("/"))
        },
        if c.engines.is_empty() {
            String::new()
        } else {
            format!(", engines {}", c.engines.join("/"))
        },
    );
    let Some((cell, sil, _)) = best else {
        return Err(bad(format!(
            "no cell of the grid run meets the criteria ({criteria})"
        )));
    };
    let spec = spaces
        .iter()
        .find(|sp| sp.name == cell.space)
        .ok_or_else(|| {
            bad(format!(
                "space `{}` is not in the run's manifest",
                cell.space
            ))
        })?;
    let engine_params: toml::Table = toml::from_str(&cell.params.replace(';', "\n"))
        .map_err(|e| bad(format!("parameters `{}` of the cell: {e}", cell.params)))?;
    let model = ModelOptions {
        space: spec.method.clone(),
        space_target: spec
            .target
            .clone()
            .unwrap_or_else(|| "gross_revenue".to_string()),
        space_params: spec.params.clone(),
        engine: cell.engine.clone(),
        k: cell.k.unwrap_or(0),
        engine_params,
        from_grid: None,
        consensus: insiders_analysis::consensus::ConsensusOptions::default(),
        sample: insiders_analysis::options::SampleOptions::default(),
    };
    Ok(Choice {
        cell: cell.cell.clone(),
        silhouette: sil,
        candidates,
        criteria,
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GridConfig;

    fn config() -> GridConfig {
        GridConfig::parse(
            "seed = 1\nk_min = 2\nk_max = 22\nfeatures = [\"a\", \"b\"]\n\
             [[space]]\nname = \"features\"\nmethod = \"identity\"\n\
             [[space]]\nname = \"tree\"\nmethod = \"forest\"\ntarget = \"a\"\nparams = { mode = \"compat\" }\n\
             [[engine]]\nname = \"ward\"\n",
            "test grid",
        )
        .unwrap()
    }

    fn cell(
        id: &str,
        k: Option<usize>,
        k_found: Option<usize>,
        noise: f64,
        sil: Option<f64>,
    ) -> Cell {
        let mut parts = id.split('/');
        let space = parts.next().unwrap_or_default();
        let engine_part = parts.next().unwrap_or_default();
        let (engine, params) = match engine_part.split_once('[') {
            Some((e, p)) => (e, p.trim_end_matches(']')),
            None => (engine_part, ""),
        };
        let mut c = Cell::failed(id, space, engine, params, k, 1, String::new());
        c.error = None;
        c.k_found = k_found;
        c.noise_share = Some(noise);
        c.silhouette = sil;
        c
    }

    #[test]
    fn best_cell_that_meets_the_criteria() {
        let mut unstable = cell(
            "tree/kmeans[n_init=10]/k5",
            Some(5),
            Some(5),
            0.0,
            Some(0.6),
        );
        unstable.stability_seed_ari = Some(0.4);
        unstable.stability_boot_ari = Some(0.9);
        let mut failed = cell("tree/gmm/k7", Some(7), None, 0.0, None);
        failed.error = Some("failed".into());
        let results = vec![
            cell(
                "features/kmeans[n_init=10]/k2",
                Some(2),
                Some(2),
                0.0,
                Some(0.9),
            ),
            cell("tree/ward/k6", Some(6), Some(6), 0.0, Some(0.5)),
            cell("tree/dbscan[eps_factor=2]", None, Some(8), 0.2, Some(0.8)),
            unstable,
            failed,
        ];
        let c = GridCriteria {
            run: "r".into(),
            min_stability: 0.5,
            ..GridCriteria::default()
        };
        let names = ["a".to_string(), "b".to_string()];
        let got = choose(&results, &config().features, &config().spaces, &c, &names).unwrap();
        // k = 2 is below k_min, dbscan has too much noise, kmeans k5 is unstable.
        assert_eq!(got.cell, "tree/ward/k6");
        assert_eq!(got.candidates, 1);
        assert_eq!(got.model.space, "forest");
        assert_eq!(got.model.space_target, "a");
        assert_eq!(got.model.space_params["mode"].as_str(), Some("compat"));
        assert_eq!((got.model.engine.as_str(), got.model.k), ("ward", 6));
        let loose = GridCriteria {
            run: "r".into(),
            ..GridCriteria::default()
        };
        let got = choose(
            &results,
            &config().features,
            &config().spaces,
            &loose,
            &names,
        )
        .unwrap();
        assert_eq!(got.cell, "tree/kmeans[n_init=10]/k5");
        assert_eq!(got.model.engine_params["n_init"].as_integer(), Some(10));
        // Other features: an error naming both lists.
        let e = choose(
            &results,
            &config().features,
            &config().spaces,
            &loose,
            &["a".to_string()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("[a, b]"), "{e}");
        let strict = GridCriteria {
            run: "r".into(),
            k_min: 20,
            ..GridCriteria::default()
        };
        assert!(
            choose(
                &results,
                &config().features,
                &config().spaces,
                &strict,
                &names
            )
            .is_err()
        );
    }
}
