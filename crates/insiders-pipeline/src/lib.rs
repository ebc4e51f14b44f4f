//! The one pipeline: a data source and the `insiders.toml` settings ([`Config`]) to the
//! invoice lines, the cleaning with its row accounting, the customer table and the model
//! matrix (the selected features, scaled). `insiders run`, `insiders features`, the grid
//! and the later stages all start here, so a setting changed in the configuration changes
//! the same table everywhere.
//!
//! ```text
//! Source --load--> Loaded --clean--> Cleaned --customer_table--> CustomerTable
//!        \_______________ prepare() _______________/      --model_matrix()--> ModelMatrix
//! ```

pub mod config;

pub use config::{Config, FeatureOptions, HistoryOptions, PRESETS, SynthOptions};

use insiders_core::Matrix;
use insiders_features::{
    Cleaned, CustomerTable, FeaturesError, Scaler, clean, customer_table, unavailable_features,
};
use insiders_ingest::{IngestError, Loaded, read_bytes, read_path};
use std::path::{Path, PathBuf};

/// What can go wrong between a data source and the model matrix.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A configuration file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A configuration is not valid TOML for its schema (the message names the key).
    #[error("in {path}: {source}")]
    Config {
        path: String,
        source: Box<toml::de::Error>,
    },
    /// The invoice lines could not be read.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Cleaning, features or scaling failed.
    #[error(transparent)]
    Features(#[from] FeaturesError),
    /// No preset of that name.
    #[error("unknown preset `{name}`; known: {known}")]
    UnknownPreset { name: String, known: String },
    /// A configuration could not be built (the message says why).
    #[error("configuration: {0}")]
    Invalid(String),
    /// A setting asks for something the data cannot give (`features.selected` naming a
    /// feature whose column the data lacks).
    #[error("{key}: {source}")]
    Setting {
        key: &'static str,
        source: FeaturesError,
    },
    /// The synthetic shop could not be generated.
    #[error(transparent)]
    Synth(#[from] insiders_synth::SynthError),
    /// A stage would need more memory than the process may use (checked before it starts).
    #[error(
        "{stage} needs about {} more memory for {work}, but this process holds {} of the {} it \
         may use (`[limits] memory` or `--memory-limit`; by default what the machine has \
         free). Raise the limit, or give a smaller input",
        insiders_core::memory::format_size(*needed),
        insiders_core::memory::format_size(*held),
        insiders_core::memory::format_size(*limit)
    )]
    Memory {
        /// The stage that was not started.
        stage: &'static str,
        /// What it would work on (e.g. "2,080,446 customers").
        work: String,
        /// Its estimated need, in bytes.
        needed: u64,
        /// What the process held when it checked.
        held: u64,
        /// The limit.
        limit: u64,
    },
}

/// Stops before `stage` when the process's resident memory plus `needed` (the stage's
/// estimate, in bytes) would pass the memory limit ([`config::LimitsOptions::memory_bytes`]); nothing is
/// checked where the limit is unknown.
///
/// # Errors
/// [`PipelineError::Memory`] naming the stage, its need and the setting; a limit setting
/// that is not a size.
pub fn check_memory(
    stage: &'static str,
    work: String,
    needed: u64,
    cfg: &Config,
) -> Result<(), PipelineError> {
    let Some(limit) = cfg.limits.memory_bytes()? else {
        return Ok(());
    };
    let held = insiders_core::memory::rss().unwrap_or(0);
    if held.saturating_add(needed) > limit {
        return Err(PipelineError::Memory {
            stage,
            work,
            needed,
            held,
            limit,
        });
    }
    Ok(())
}

/// Where the invoice lines come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file (CSV, gzip CSV, Parquet or xlsx), read with the configuration's `[input]`
    /// options.
    File(PathBuf),
    /// Several files (monthly exports, say), read in this order as one table: rows are
    /// counted, and anonymous invoices numbered, across them in this order.
    Files(Vec<PathBuf>),
    /// The built-in seeded synthetic shop of the configuration's `[synth]` size and seed.
    Synthetic,
}

impl Source {
    /// `Some(path)`: that file; `None`: the built-in synthetic shop.
    pub fn from_option(path: Option<&Path>) -> Source {
        path.map_or(Source::Synthetic, |p| Source::File(p.to_path_buf()))
    }

    /// The files given (each a path or a pattern with `*` and `?` in its file name, matched
    /// in name order): none is the synthetic shop, one file is that file.
    ///
    /// # Errors
    /// A pattern that matches nothing, or a folder that cannot be listed.
    pub fn from_paths(paths: &[PathBuf]) -> Result<Source, PipelineError> {
        let mut files = Vec::new();
        for p in paths {
            files.extend(insiders_ingest::expand_pattern(p)?);
        }
        Ok(match files.len() {
            0 => Source::Synthetic,
            1 => Source::File(files.remove(0)),
            _ => Source::Files(files),
        })
    }
}

/// Reads the invoice lines of `source`.
pub fn load(source: &Source, cfg: &Config) -> Result<Loaded, PipelineError> {
    let mut input = cfg.input.clone();
    if let Some(limit) = cfg.limits.memory_bytes()? {
        input.memory_budget = Some((limit / 2, limit));
    }
    let cfg = &Config {
        input,
        ..cfg.clone()
    };
    match source {
        Source::File(p) => Ok(read_path(p, &cfg.input)?),
        Source::Files(ps) => Ok(insiders_ingest::read_paths(ps, &cfg.input)?),
        Source::Synthetic => {
            let shop_cfg = insiders_synth::ShopConfig {
                customers: cfg.synth.customers,
                seed: cfg.seed,
                ..Default::default()
            };
            let shop = insiders_synth::generate(&shop_cfg)?;
            let name = format!(
                "synthetic shop ({} customers, seed {})",
                cfg.synth.customers, cfg.seed
            );
            Ok(read_bytes(Path::new(&name), shop.csv, &cfg.input)?)
        }
    }
}

/// The invoice lines, their cleaning (with the row accounting) and the customer table.
#[derive(Debug)]
pub struct Prepared {
    /// The lines as read, with the read report (rejects, format, encoding).
    pub loaded: Loaded,
    /// The kept rows and the row accounting.
    pub cleaned: Cleaned,
    /// One row per customer, ascending `customer_id`, the 11 features.
    pub table: CustomerTable,
}

/// Reads, cleans and aggregates `source` under `cfg`; `stage` is told each step's name
/// (progress on a terminal).
pub fn prepare(
    source: &Source,
    cfg: &Config,
    stage: &dyn Fn(&str),
) -> Result<Prepared, PipelineError> {
    stage("reading invoice lines");
    // The features never read descriptions: 4 bytes a line saved.
    let mut lean = cfg.clone();
    lean.input.descriptions = false;
    let loaded = load(source, &lean)?;
    check_selection(&loaded, cfg)?;
    stage("cleaning");
    let cleaned = clean(&loaded.lines, &loaded.report, &cfg.cleaning)?;
    stage("computing customer features");
    let table = customer_table(&loaded.lines, &cleaned)?;
    Ok(Prepared {
        loaded,
        cleaned,
        table,
    })
}

/// Stops before cleaning when `features.selected` names a feature the data cannot give
/// (the error names the feature and the column it needs).
fn check_selection(loaded: &Loaded, cfg: &Config) -> Result<(), PipelineError> {
    let unavailable = unavailable_features(&loaded.lines.present);
    for name in &cfg.features.selected {
        if let Some(u) = unavailable.iter().find(|u| &u.feature == name) {
            return Err(PipelineError::Setting {
                key: "features.selected",
                source: FeaturesError::UnavailableFeature {
                    feature: u.feature.clone(),
                    column: u.column.clone(),
                    setting: u.setting.clone(),
                },
            });
        }
    }
    Ok(())
}

impl Prepared {
    /// The same lines cleaned again under `cfg` (another `as_of`, say) and their customer
    /// table: what [`prepare`] would give on the same source, without reading it again.
    ///
    /// # Errors
    /// As [`prepare`]'s cleaning and features.
    pub fn reclean(&self, cfg: &Config) -> Result<(Cleaned, CustomerTable), PipelineError> {
        check_selection(&self.loaded, cfg)?;
        let cleaned = clean(&self.loaded.lines, &self.loaded.report, &cfg.cleaning)?;
        let table = customer_table(&self.loaded.lines, &cleaned)?;
        Ok((cleaned, table))
    }

    /// What the analysis reads: these lines, their cleaning and table, and the model matrix
    /// `m` fitted on that table.
    pub fn inputs<'a>(&'a self, m: &'a ModelMatrix) -> insiders_analysis::Inputs<'a> {
        insiders_analysis::Inputs {
            lines: &self.loaded.lines,
            cleaned: &self.cleaned,
            table: &self.table,
            scaled: &m.x,
            selected: &m.names,
        }
    }
}

/// The model matrix: the configuration's selected features, scaled by its scaler.
#[derive(Debug, Clone)]
pub struct ModelMatrix {
    /// The customer ids, one per row, as text (the first column of matrix files).
    pub ids: Vec<String>,
    /// The selected features, one per column.
    pub names: Vec<String>,
    /// The fitted scaler (reusable on other tables).
    pub scaler: Scaler,
    /// Customers x selected features, scaled.
    pub x: Matrix,
}

/// Fits the configured scaler on `table`'s selected features and scales them.
pub fn model_matrix(table: &CustomerTable, cfg: &Config) -> Result<ModelMatrix, PipelineError> {
    let selected = cfg.selected();
    let scaler = Scaler::fit(cfg.features.scaler, table, &selected)?;
    let x = scaler.transform(table)?;
    Ok(ModelMatrix {
        ids: table.customer_id.iter().map(u32::to_string).collect(),
        names: cfg.features.selected.clone(),
        scaler,
        x,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_stage_that_would_pass_the_memory_limit_is_not_started() {
        let mut cfg = Config::default();
        cfg.limits.memory = Some("1MiB".into());
        let e = check_memory("the analysis", "5 customers".into(), 4096, &cfg).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("the analysis needs about 4.00 KiB more memory for 5 customers")
                && m.contains("of the 1.00 MiB it may use (`[limits] memory` or `--memory-limit`"),
            "{m}"
        );
        cfg.limits.memory = Some("1TiB".into());
        assert!(check_memory("the analysis", "5 customers".into(), 4096, &cfg).is_ok());
        cfg.limits.memory = Some("lots".into());
        assert!(check_memory("the analysis", String::new(), 1, &cfg).is_err());
    }

    use super::*;

    #[test]
    fn the_default_source_is_the_synthetic_shop_and_scaling_follows_the_config() {
        let mut cfg = Config::default();
        cfg.synth.customers = 300;
        let p = prepare(&Source::Synthetic, &cfg, &|_| {}).unwrap();
        assert!(p.table.len() >= 300, "{} customers", p.table.len());
        let m = model_matrix(&p.table, &cfg).unwrap();
        assert_eq!(m.x.nrows(), p.table.len());
        assert_eq!(m.names, cfg.features.selected);
        // The default: ln(1 + x), then standardised: every column has mean 0.
        for c in m.x.columns() {
            let mean = c.sum() / c.len() as f64;
            assert!(
                mean.abs() < 1e-12,
                "log-standard scaling centres: mean {mean}"
            );
        }
        // Min-max (the study's): every column spans [0, 1] (scikit-learn's x * scale + min_
        // may land one rounding above 1).
        let cfg = Config::preset("study").unwrap();
        let m = model_matrix(&p.table, &cfg).unwrap();
        assert_eq!(m.names.len(), 5);
        for c in m.x.columns() {
            let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(lo, 0.0);
            assert!((hi - 1.0).abs() <= 4.0 * f64::EPSILON, "max {hi}");
        }
        let mut cfg = cfg;
        cfg.features.scaler = insiders_features::ScalerKind::Standard;
        let s = model_matrix(&p.table, &cfg).unwrap();
        let mean = s.x.column(0).sum() / s.x.nrows() as f64;
        assert!(mean.abs() < 1e-12, "standard scaling centres: mean {mean}");
    }

    #[test]
    fn a_missing_config_file_names_the_path() {
        let e = Config::load(Path::new("/nonexistent/insiders.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/insiders.toml"), "{e}");
    }
}
