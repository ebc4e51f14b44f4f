//! The registry: every embedding method of `insiders`, in one greppable place.
//!
//! Names: `pca`, `umap`, `tsne` and `forest` (the random-forest leaf space, the study's
//! "tree space"; `tree` is accepted as an alias of `forest` by [`build`], [`find`] and
//! [`crate::space::fit_space`]). A spec says whether its method is supervised (needs a
//! target column): only `forest` is.

use insiders_core::{Embedder, Error};

/// How to build a registered embedder from its TOML parameters.
#[derive(Debug, Clone, Copy)]
pub struct EmbedderSpec {
    /// Registry name (`pca`, `umap`, `tsne`, `forest`).
    pub name: &'static str,
    /// Other names accepted for it (`tree` for `forest`).
    pub aliases: &'static [&'static str],
    /// One line about the method.
    pub about: &'static str,
    /// Whether the method needs a target column (`fit_transform`'s `target`): the forest.
    pub supervised: bool,
    /// Builds the embedder; unknown or invalid parameters are [`Error::Param`].
    pub build: fn(&toml::Table) -> Result<Box<dyn Embedder>, Error>,
}

/// Every registered embedder.
pub fn all() -> Vec<&'static EmbedderSpec> {
    [
        crate::pca::SPECS,
        crate::umap::SPECS,
        crate::tsne::SPECS,
        crate::forest::SPECS,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The names of every registered embedder (aliases not included).
pub fn names() -> Vec<&'static str> {
    all().into_iter().map(|s| s.name).collect()
}

/// The spec registered as `name` or with `name` as an alias.
///
/// # Errors
/// [`Error::Unknown`] listing the registered names.
pub fn find(name: &str) -> Result<&'static EmbedderSpec, Error> {
    all()
        .into_iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
        .ok_or_else(|| Error::Unknown {
            kind: "embedder",
            name: name.to_string(),
            known: names().join(", "),
        })
}

/// Builds the embedder `name` (or an alias, e.g. `tree` for `forest`) with `params`.
pub fn build(name: &str, params: &toml::Table) -> Result<Box<dyn Embedder>, Error> {
    (find(name)?.build)(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_is_an_alias_of_forest() {
        assert_eq!(find("tree").unwrap().name, "forest");
        let e = build("tree", &toml::Table::new()).unwrap();
        assert_eq!(e.name(), "forest");
        assert!(!names().contains(&"tree"));
        match build("tree_space", &toml::Table::new()) {
            Err(Error::Unknown { name, known, .. }) => {
                assert_eq!(name, "tree_space");
                assert_eq!(known, "pca, umap, tsne, forest");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn only_the_forest_is_supervised() {
        let supervised: Vec<&str> = all()
            .into_iter()
            .filter(|s| s.supervised)
            .map(|s| s.name)
            .collect();
        assert_eq!(supervised, ["forest"]);
    }
}
