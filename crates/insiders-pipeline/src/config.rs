//! The configuration file (`insiders.toml`): TOML options, validated; unknown keys are errors
//! naming the key.

use crate::PipelineError;
use insiders_analysis::{
    AnalysisOptions, ForecastOptions, InsidersOptions, ModelOptions, RulesOptions, StabilityOptions,
};
use insiders_features::{CleaningOptions, SELECTED_FEATURES, ScalerKind};
use insiders_ingest::InputOptions;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which features feed the model, and how they are scaled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureOptions {
    /// The selected features (the canonical five by default).
    pub selected: Vec<String>,
    /// `minmax` (canonical), `standard` or `robust`.
    pub scaler: ScalerKind,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            selected: SELECTED_FEATURES.iter().map(|s| s.to_string()).collect(),
            scaler: ScalerKind::MinMax,
        }
    }
}

/// The synthetic shop used when no `--data` is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthOptions {
    /// Customers of the synthetic shop.
    pub customers: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions { customers: 2_000 }
    }
}

/// Where `insiders run`, `history` and `serve` keep the membership history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryOptions {
    /// An SQLite file or `postgresql://USER@HOST:PORT/DB`; unset: `history.sqlite` in the
    /// output folder (`--db` overrides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
}

impl HistoryOptions {
    /// Whether nothing is set (then the table is left out of the serialised configuration,
    /// so that configuration hashes do not change).
    pub fn is_default(&self) -> bool {
        self.db.is_none()
    }
}

/// What this run may use of the machine (not part of the configuration hash).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsOptions {
    /// The memory this run may use, e.g. `"6GiB"`; unset: what the machine can give when
    /// the run starts (MemAvailable, or a cgroup's limit). The invoice lines may take half;
    /// a read that would take more stops with an error naming this setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl LimitsOptions {
    /// Whether nothing is set (the table is then left out of the serialised configuration).
    pub fn is_default(&self) -> bool {
        self.memory.is_none()
    }

    /// The memory limit in bytes (`None` where neither the setting nor the system says).
    ///
    /// # Errors
    /// A setting that is not a size.
    pub fn memory_bytes(&self) -> Result<Option<u64>, PipelineError> {
        let configured = match &self.memory {
            None => None,
            Some(s) => Some(insiders_core::memory::parse_size(s).ok_or_else(|| {
                PipelineError::Invalid(format!(
                    "limits.memory: `{s}` is not a size (say \"6GiB\" or \"512MiB\")"
                ))
            })?),
        };
        Ok(insiders_core::memory::limit(configured))
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The master seed: every random choice derives from it.
    pub seed: u64,
    pub input: InputOptions,
    pub cleaning: CleaningOptions,
    pub features: FeatureOptions,
    pub synth: SynthOptions,
    /// The space and model of `insiders run`.
    pub model: ModelOptions,
    /// Which cluster is the Insiders.
    pub insiders: InsidersOptions,
    /// The revenue forecast and its backtest (Q5).
    pub forecast: ForecastOptions,
    /// The membership rules (Q6, Q7).
    pub rules: RulesOptions,
    /// The statistical guarantee and membership stability (Q8).
    pub stability: StabilityOptions,
    /// Where the membership history is kept (not part of the configuration hash).
    #[serde(skip_serializing_if = "HistoryOptions::is_default")]
    pub history: HistoryOptions,
    /// What the run may use of the machine (not part of the configuration hash).
    #[serde(skip_serializing_if = "LimitsOptions::is_default")]
    pub limits: LimitsOptions,
}

/// The default: the Insiders as the top value tier of a consensus over resampled k-means
/// fits of the identified customers (docs/insiders-run.md, "The default"). The building
/// blocks' own defaults ([`FeatureOptions`], [`ModelOptions`], [`InsidersOptions`]) are the
/// study's; the `study` preset takes them whole.
impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            seed: 42,
            input: InputOptions::default(),
            cleaning: CleaningOptions::default(),
            features: FeatureOptions::default(),
            synth: SynthOptions::default(),
            model: ModelOptions::default(),
            insiders: InsidersOptions::default(),
            forecast: ForecastOptions::default(),
            rules: RulesOptions::default(),
            stability: StabilityOptions::default(),
            history: HistoryOptions::default(),
            limits: LimitsOptions::default(),
        };
        c.features.selected = DEFAULT_FEATURES.map(String::from).to_vec();
        c.features.scaler = ScalerKind::LogStandard;
        c.model.space = "identity".into();
        c.model.engine = "kmeans".into();
        c.model.consensus.enabled = true;
        c.insiders.eligible = insiders_analysis::Eligible::Identified;
        c
    }
}

/// The default's features: the three measures of value (revenue, orders, items), on which
/// the consensus clusters.
pub const DEFAULT_FEATURES: [&str; 3] = ["gross_revenue", "qtde_invoices", "qtde_items"];

/// The named presets (`--preset NAME`): a whole configuration, on which a `--config` file's
/// keys are laid.
pub const PRESETS: [&str; 2] = ["study", "consensus"];

impl Config {
    /// The preset `name`:
    /// - `study`: the study's method exactly (the canonical five features min-max scaled, the
    ///   tree space, Ward with k = 10, every customer eligible, anonymous invoices included);
    /// - `consensus`: the default (the name it had before it became the default).
    pub fn preset(name: &str) -> Result<Config, PipelineError> {
        let mut c = Config::default();
        match name {
            "study" => {
                c.features = FeatureOptions::default();
                c.model = ModelOptions::default();
                c.insiders = InsidersOptions::default();
                c.insiders.eligible = insiders_analysis::Eligible::Everyone;
            }
            "consensus" => {}
            other => {
                return Err(PipelineError::UnknownPreset {
                    name: other.to_string(),
                    known: PRESETS.join(", "),
                });
            }
        }
        Ok(c)
    }

    /// Reads a configuration file over `base` (the defaults, or a preset): the file's keys
    /// replace the base's, table by table; absent keys keep the base's values.
    pub fn load_over(base: &Config, path: &Path) -> Result<Config, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let what = path.display().to_string();
        let config_err = |source| PipelineError::Config {
            path: what.clone(),
            source: Box::new(source),
        };
        let over: toml::Table = toml::from_str(&text).map_err(config_err)?;
        let mut merged =
            toml::Table::try_from(base).map_err(|e| PipelineError::Invalid(e.to_string()))?;
        merge(&mut merged, over);
        toml::Value::Table(merged).try_into().map_err(config_err)
    }

    /// Reads a configuration file; absent keys take their defaults.
    pub fn load(path: &Path) -> Result<Config, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| PipelineError::Config {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// The options of the analysis (`insiders run`).
    pub fn analysis(&self) -> AnalysisOptions {
        AnalysisOptions {
            model: self.model.clone(),
            insiders: self.insiders.clone(),
            forecast: self.forecast.clone(),
            rules: self.rules.clone(),
            stability: self.stability.clone(),
        }
    }

    /// Parses configuration text (`what` names it in errors).
    pub fn parse(text: &str) -> Result<Config, PipelineError> {
        toml::from_str(text).map_err(|source| PipelineError::Config {
            path: "configuration text".into(),
            source: Box::new(source),
        })
    }

    /// The selected features, as `&str`.
    pub fn selected(&self) -> Vec<&str> {
        self.features.selected.iter().map(String::as_str).collect()
    }
}

/// Lays `over` on `base`: tables merge key by key, any other value replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_is_the_default() {
        let text = include_str!("../../../insiders.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn presets_and_files_over_them() {
        let study = Config::preset("study").unwrap();
        assert_eq!(
            (
                study.model.space.as_str(),
                study.model.engine.as_str(),
                study.model.k
            ),
            ("forest", "ward", 10)
        );
        assert_eq!(
            study.insiders.eligible,
            insiders_analysis::Eligible::Everyone
        );
        assert!(!study.model.consensus.enabled);
        assert_eq!(study.features.selected.len(), 5);
        let cons = Config::preset("consensus").unwrap();
        assert_eq!(cons, Config::default(), "consensus is the default's name");
        assert!(cons.model.consensus.enabled);
        assert_eq!(
            cons.insiders.eligible,
            insiders_analysis::Eligible::Identified
        );
        let e = Config::preset("nope").unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("study"), "{e}");
        let dir = std::env::temp_dir().join(format!("insiders-preset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("over.toml");
        std::fs::write(&p, "seed = 7\n[model]\nk = 6\n").unwrap();
        let c = Config::load_over(&study, &p).unwrap();
        assert_eq!((c.seed, c.model.k, c.model.engine.as_str()), (7, 6, "ward"));
        std::fs::write(&p, "[model]\nkk = 6\n").unwrap();
        let e = Config::load_over(&study, &p).unwrap_err().to_string();
        assert!(e.contains("kk"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let e = Config::parse("[cleaning]\nmin_unit_prize = 0.1\n").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("min_unit_prize"), "{msg}");
    }
}
