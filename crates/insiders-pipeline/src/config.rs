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
}

impl Default for Config {
    fn default() -> Self {
        Config {
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
        }
    }
}

impl Config {
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
    fn unknown_key_is_an_error_naming_it() {
        let e = Config::parse("[cleaning]\nmin_unit_prize = 0.1\n").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("min_unit_prize"), "{msg}");
    }
}
