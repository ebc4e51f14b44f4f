//! "Best by stated criteria" from a grid run (`cargo xtask grid`): the model of `insiders run`
//! taken from the grid's best cell among those that meet the criteria, instead of the study's
//! fixed choice.

use crate::AnalysisError;
use crate::options::ModelOptions;
use serde::{Deserialize, Serialize};

/// The criteria (`[model.from_grid]` in `insiders.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridCriteria {
    /// The run folder of `cargo xtask grid` (with `results.json` and `manifest.json`).
    pub run: String,
    /// Smallest number of clusters a marketing team can use.
    pub k_min: usize,
    /// Largest.
    pub k_max: usize,
    /// Largest share of customers left as noise.
    pub max_noise_share: f64,
    /// Smallest stability (the lower of the seed and bootstrap ARI), when the run has it.
    pub min_stability: f64,
    /// Spaces considered (empty: all).
    pub spaces: Vec<String>,
    /// Engines considered (empty: all).
    pub engines: Vec<String>,
}

impl Default for GridCriteria {
    fn default() -> Self {
        GridCriteria {
            run: String::new(),
            k_min: 4,
            k_max: 12,
            max_noise_share: 0.05,
            min_stability: 0.0,
            spaces: Vec::new(),
            engines: Vec::new(),
        }
    }
}

/// The chosen cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// The cell id in the grid run.
    pub cell: String,
    /// Its silhouette (in its own space).
    pub silhouette: f64,
    /// Cells that met the criteria.
    pub candidates: usize,
    /// The criteria, in words.
    pub criteria: String,
    /// The model taken from it.
    #[serde(skip)]
    pub model: ModelOptions,
}

fn f(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key).and_then(serde_json::Value::as_f64)
}

fn s<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(serde_json::Value::as_str)
}

fn table(v: Option<&serde_json::Value>, what: &str) -> Result<toml::Table, AnalysisError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(toml::Table::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| AnalysisError::option("model.from_grid", format!("{what}: {e}"))),
    }
}

/// Picks the cell with the highest silhouette among the cells of `results` (the grid's
/// `results.json`: an array of cells) that have no error, k found in `k_min..=k_max`, a
/// noise share at most `max_noise_share`, and (where the run measured it) stability at least
/// `min_stability`; the space's and engine's parameters come from `manifest` (the run's
/// `manifest.json`). Ties: the smaller k, then the cell id. `selected` must equal the grid's
/// features, so that the space is the one the grid scored.
pub fn choose(
    results: &serde_json::Value,
    manifest: &serde_json::Value,
    c: &GridCriteria,
    selected: &[String],
) -> Result<Choice, AnalysisError> {
    let bad = |m: String| AnalysisError::option("model.from_grid", m);
    let config = manifest
        .get("config")
        .ok_or_else(|| bad("the run's manifest.json has no `config`".into()))?;
    let features: Vec<String> = config
        .get("features")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(|| bad("the run's manifest has no `config.features`".into()))?;
    if features != selected {
        return Err(bad(format!(
            "the grid run scored the features [{}] but this configuration selects [{}]",
            features.join(", "),
            selected.join(", ")
        )));
    }
    let cells = results
        .as_array()
        .ok_or_else(|| bad("results.json is not an array of cells".into()))?;
    let mut best: Option<(&serde_json::Value, f64, usize)> = None;
    let mut candidates = 0;
    for cell in cells {
        if cell.get("error").is_some_and(|e| !e.is_null()) {
            continue;
        }
        let (Some(sil), Some(space), Some(engine)) =
            (f(cell, "silhouette"), s(cell, "space"), s(cell, "engine"))
        else {
            continue;
        };
        let k_found = f(cell, "k_found").unwrap_or(f64::NAN) as usize;
        if !(c.k_min..=c.k_max).contains(&k_found)
            || f(cell, "noise_share").unwrap_or(0.0) > c.max_noise_share
            || (!c.spaces.is_empty() && !c.spaces.iter().any(|x| x == space))
            || (!c.engines.is_empty() && !c.engines.iter().any(|x| x == engine))
        {
            continue;
        }
        let stab = [f(cell, "stability_seed_ari"), f(cell, "stability_boot_ari")]
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
                sil > bs
                    || (sil == bs
                        && (k_found < bk || (k_found == bk && s(cell, "cell") < s(b, "cell"))))
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
    let space_name = s(cell, "space").unwrap_or_default();
    let engine = s(cell, "engine").unwrap_or_default().to_string();
    let spaces = config
        .get("space")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| bad("the run's manifest has no `config.space`".into()))?;
    let spec = spaces
        .iter()
        .find(|sp| s(sp, "name") == Some(space_name))
        .ok_or_else(|| bad(format!("space `{space_name}` is not in the run's manifest")))?;
    let method = s(spec, "method").unwrap_or("identity").to_string();
    let params_text = s(cell, "params").unwrap_or("");
    let engine_params: toml::Table = toml::from_str(&params_text.replace(';', "\n"))
        .map_err(|e| bad(format!("parameters `{params_text}` of the cell: {e}")))?;
    let k = f(cell, "k").map_or(0, |k| k as usize);
    let model = ModelOptions {
        space: method,
        space_target: s(spec, "target").unwrap_or("gross_revenue").to_string(),
        space_params: table(spec.get("params"), "space params")?,
        engine,
        k,
        engine_params,
        from_grid: None,
    };
    Ok(Choice {
        cell: s(cell, "cell").unwrap_or_default().to_string(),
        silhouette: sil,
        candidates,
        criteria,
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> serde_json::Value {
        json!({"config": {
            "features": ["a", "b"],
            "space": [
                {"name": "features", "method": "identity", "params": {}, "target": null},
                {"name": "tree", "method": "forest", "params": {"mode": "compat"}, "target": "a"}
            ]
        }})
    }

    #[test]
    fn best_cell_that_meets_the_criteria() {
        let results = json!([
            {"cell": "features/kmeans[n_init=10]/k2", "space": "features", "engine": "kmeans",
             "params": "n_init=10", "k": 2, "k_found": 2, "noise_share": 0.0, "silhouette": 0.9, "error": null},
            {"cell": "tree/ward/k6", "space": "tree", "engine": "ward", "params": "",
             "k": 6, "k_found": 6, "noise_share": 0.0, "silhouette": 0.5, "error": null},
            {"cell": "tree/dbscan[eps_factor=2]", "space": "tree", "engine": "dbscan",
             "params": "eps_factor=2", "k": null, "k_found": 8, "noise_share": 0.2, "silhouette": 0.8, "error": null},
            {"cell": "tree/kmeans[n_init=10]/k5", "space": "tree", "engine": "kmeans",
             "params": "n_init=10", "k": 5, "k_found": 5, "noise_share": 0.0, "silhouette": 0.6,
             "error": null, "stability_seed_ari": 0.4, "stability_boot_ari": 0.9},
            {"cell": "tree/gmm/k7", "space": "tree", "engine": "gmm", "params": "",
             "k": 7, "k_found": null, "silhouette": null, "error": "failed"}
        ]);
        let c = GridCriteria {
            run: "r".into(),
            min_stability: 0.5,
            ..GridCriteria::default()
        };
        let names = ["a".to_string(), "b".to_string()];
        let got = choose(&results, &manifest(), &c, &names).unwrap();
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
        let got = choose(&results, &manifest(), &loose, &names).unwrap();
        assert_eq!(got.cell, "tree/kmeans[n_init=10]/k5");
        assert_eq!(got.model.engine_params["n_init"].as_integer(), Some(10));
        // Other features: an error naming both lists.
        let e = choose(&results, &manifest(), &loose, &["a".to_string()]).unwrap_err();
        assert!(e.to_string().contains("[a, b]"), "{e}");
        let strict = GridCriteria {
            run: "r".into(),
            k_min: 20,
            ..GridCriteria::default()
        };
        assert!(choose(&results, &manifest(), &strict, &names).is_err());
    }
}
