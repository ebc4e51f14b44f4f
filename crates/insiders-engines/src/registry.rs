//! The registry: every engine of `insiders`, listed once.
//!
//! An engine module is a `pub mod NAME;` line of `lib.rs` whose module exports
//! `pub const SPECS: &[EngineSpec]`; the build script (`build.rs`) lists those modules'
//! `SPECS`, in the order of their lines, as `ENGINE_MODULES`. So an engine is its file (or
//! folder) plus that one line; `cargo xtask new-engine NAME` writes both.

use insiders_core::{Engine, Error};

/// How to build a registered engine from its TOML parameters.
#[derive(Debug, Clone, Copy)]
pub struct EngineSpec {
    /// Registry name, used in configs and on the command line (snake_case).
    pub name: &'static str,
    /// One line about the engine.
    pub about: &'static str,
    /// Builds the engine; unknown or invalid parameters are [`Error::Param`].
    pub build: fn(&toml::Table) -> Result<Box<dyn Engine>, Error>,
}

include!(concat!(env!("OUT_DIR"), "/engine_modules.rs"));

/// Former engine names still accepted by [`build`] (old name, current name). [`names`]
/// lists only the current ones.
pub const ALIASES: &[(&str, &str)] = &[("smartcore-kmeans", "smartcore_kmeans")];

/// Every registered engine.
pub fn all() -> Vec<&'static EngineSpec> {
    ENGINE_MODULES.iter().copied().flatten().collect()
}

/// The names of every registered engine.
pub fn names() -> Vec<&'static str> {
    all().into_iter().map(|s| s.name).collect()
}

/// Builds the engine `name` (or a former name of it, [`ALIASES`]) with `params`.
pub fn build(name: &str, params: &toml::Table) -> Result<Box<dyn Engine>, Error> {
    let name = ALIASES
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new);
    let spec = all()
        .into_iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Unknown {
            kind: "engine",
            name: name.to_string(),
            known: names().join(", "),
        })?;
    (spec.build)(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_names_are_aliases() {
        for (old, new) in ALIASES {
            assert!(names().contains(new), "{new}");
            assert!(!names().contains(old), "{old}");
            let e = build(old, &toml::Table::new()).unwrap();
            assert_eq!(e.name(), *new);
        }
    }

    #[test]
    fn names_are_snake_case_and_unique() {
        let mut seen = names();
        for n in &seen {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n}"
            );
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), names().len());
    }
}
