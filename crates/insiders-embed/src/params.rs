//! Parameters from TOML tables, with errors that name the offending key.
//!
//! The choice parameters of the embedders are serde enums (`rename_all = "snake_case"`):
//! [`crate::forest::LeafMode`] (`mode`), [`crate::forest::RandomStream`] (`rng`),
//! [`crate::knn::Metric`] (`metric`), [`crate::knn::KnnMethod`] (`knn`),
//! [`crate::umap::UmapInit`] and [`crate::tsne::Init`] (`init`); two accept a number or a
//! name: [`crate::forest::MaxFeatures`] (`max_features`: a share, a count, `sqrt`, `log2`)
//! and [`crate::tsne::LearningRate`] (`learning_rate`: a number or `auto`). An unknown value
//! is an [`Error::Param`] whose key is the parameter and whose message lists the allowed
//! values (serde's "unknown variant `x`, expected one of ...").

use insiders_core::Error;
use serde::de::DeserializeOwned;

/// Deserialises a parameter struct (`#[serde(deny_unknown_fields, default)]`) from a table.
///
/// # Errors
/// [`Error::Param`] keyed by the parameter whose value is wrong (the `in `key`` that toml
/// appends to a value's error), or by the unknown key itself (serde's "unknown field `x`,
/// expected one of ..."); the message is the first line of the deserialiser's error.
pub(crate) fn from_table<T: DeserializeOwned>(table: &toml::Table) -> Result<T, Error> {
    T::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let text = e.to_string();
        let message = text.lines().next().unwrap_or_default().trim().to_string();
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("in `").and_then(|r| r.strip_suffix('`')))
            .or_else(|| message.split('`').nth(1))
            .unwrap_or("params")
            .to_string();
        Error::param(key, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::{ForestParams, ForestSpaceParams, LeafMode, MaxFeatures, RandomStream};
    use crate::knn::{KnnMethod, Metric};
    use crate::tsne::{Init, LearningRate, TsneParams};
    use crate::umap::{UmapInit, UmapParams};
    use std::fmt::Debug;

    fn table(key: &str, value: toml::Value) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert(key.to_string(), value);
        t
    }

    /// Every allowed value of the choice `key` of `P` parses to its variant; an unknown one
    /// is `Error::Param` for `key`, listing the allowed names.
    fn check<P: DeserializeOwned, V: PartialEq + Debug>(
        key: &str,
        cases: &[(toml::Value, V)],
        names: &[&str],
        get: impl Fn(&P) -> V,
    ) {
        for (value, want) in cases {
            let p: P = from_table(&table(key, value.clone()))
                .unwrap_or_else(|e| panic!("{key} = {value}: {e}"));
            assert_eq!(&get(&p), want, "{key} = {value}");
        }
        let bad = table(key, toml::Value::String("no_such_value".into()));
        match from_table::<P>(&bad) {
            Err(Error::Param { key: k, message }) => {
                assert_eq!(k, key, "{message}");
                assert!(message.contains("no_such_value"), "{message}");
                for name in names {
                    assert!(message.contains(name), "{name} not in: {message}");
                }
            }
            Err(other) => panic!("{key}: unexpected error {other:?}"),
            Ok(_) => panic!("{key}: accepted an unknown value"),
        }
    }

    fn s(v: &str) -> toml::Value {
        toml::Value::String(v.into())
    }

    #[test]
    fn leaf_mode() {
        check::<ForestSpaceParams, _>(
            "mode",
            &[
                (s("proximity"), LeafMode::Proximity),
                (s("compat"), LeafMode::Compat),
            ],
            &["`proximity`", "`compat`"],
            |p| p.mode,
        );
    }

    #[test]
    fn random_stream() {
        let cases = [
            (s("native"), RandomStream::Native),
            (s("sklearn"), RandomStream::Sklearn),
        ];
        let names = ["`native`", "`sklearn`"];
        check::<ForestParams, _>("rng", &cases, &names, |p| p.rng);
        let cases = cases.map(|(v, r)| (v, Some(r)));
        check::<ForestSpaceParams, _>("rng", &cases, &names, |p| p.rng);
    }

    #[test]
    fn metric() {
        let cases = [
            (s("euclidean"), Metric::Euclidean),
            (s("manhattan"), Metric::Manhattan),
            (s("cosine"), Metric::Cosine),
            (s("hamming"), Metric::Hamming),
        ];
        let names = ["`euclidean`", "`manhattan`", "`cosine`", "`hamming`"];
        check::<UmapParams, _>("metric", &cases, &names, |p| p.metric);
        check::<TsneParams, _>("metric", &cases, &names, |p| p.metric);
    }

    #[test]
    fn knn_method() {
        check::<UmapParams, _>(
            "knn",
            &[
                (s("auto"), KnnMethod::Auto),
                (s("exact"), KnnMethod::Exact),
                (s("nndescent"), KnnMethod::NnDescent),
                (s("nn_descent"), KnnMethod::NnDescent),
            ],
            &["`auto`", "`exact`", "`nndescent`"],
            |p| p.knn,
        );
    }

    #[test]
    fn umap_init() {
        check::<UmapParams, _>(
            "init",
            &[
                (s("spectral"), UmapInit::Spectral),
                (s("pca"), UmapInit::Pca),
                (s("random"), UmapInit::Random),
            ],
            &["`spectral`", "`pca`", "`random`"],
            |p| p.init,
        );
    }

    #[test]
    fn tsne_init() {
        check::<TsneParams, _>(
            "init",
            &[(s("pca"), Init::Pca), (s("random"), Init::Random)],
            &["`pca`", "`random`"],
            |p| p.init,
        );
    }

    #[test]
    fn max_features() {
        check::<ForestSpaceParams, _>(
            "max_features",
            &[
                (s("sqrt"), MaxFeatures::Sqrt),
                (s("log2"), MaxFeatures::Log2),
                (toml::Value::Float(0.5), MaxFeatures::Fraction(0.5)),
                (toml::Value::Integer(2), MaxFeatures::Count(2)),
            ],
            &["sqrt", "log2", "share", "count"],
            |p| p.max_features,
        );
    }

    #[test]
    fn learning_rate() {
        check::<TsneParams, _>(
            "learning_rate",
            &[
                (s("auto"), LearningRate::Auto),
                (toml::Value::Float(200.0), LearningRate::Fixed(200.0)),
            ],
            &["auto", "number"],
            |p| p.learning_rate,
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let t = table("n_trees", toml::Value::Integer(5));
        match from_table::<ForestParams>(&t) {
            Err(Error::Param { key, message }) => {
                assert_eq!(key, "n_trees");
                assert!(message.contains("n_estimators"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let t = table("n_estimators", s("many"));
        assert!(matches!(
            from_table::<ForestParams>(&t),
            Err(Error::Param { key, .. }) if key == "n_estimators"
        ));
    }
}
