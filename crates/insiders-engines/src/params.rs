//! Reading an engine's parameter table: [`from_table`].

use insiders_core::Error;
use serde::de::DeserializeOwned;

/// Deserialises an engine's parameter struct from its TOML table, as
/// [`insiders_core::params::from_table`] does, but with the key always named: serde names the
/// offending *value* first in some messages (an unknown choice: "unknown variant `foo`"; a
/// wrong type: "invalid type: integer `3`"), so the key is taken from the deserialiser's
/// path (its "in `key`" line) when it gives one. An unknown choice reads
/// "unknown value `foo`, expected one of `a`, `b`".
pub(crate) fn from_table<T: DeserializeOwned>(table: &toml::Table) -> Result<T, Error> {
    T::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let text = e.to_string();
        let key = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("in `")?.strip_suffix('`'))
            .map(str::to_string);
        match key {
            Some(key) => {
                let message = e
                    .message()
                    .trim()
                    .replacen("unknown variant", "unknown value", 1);
                Error::param(key, message)
            }
            None => insiders_core::params::from_table::<T>(table)
                .err()
                .unwrap_or_else(|| Error::param("params", text.trim())),
        }
    })
}

/// Asserts (in tests) that `build` rejects `key = "bogus"` with an [`Error::Param`] on `key`
/// whose message lists every value of `allowed`.
#[cfg(test)]
pub(crate) fn assert_rejects_unknown_choice(
    build: fn(&toml::Table) -> Result<Box<dyn insiders_core::Engine>, Error>,
    key: &str,
    allowed: &[&str],
) {
    let mut t = toml::Table::new();
    t.insert(key.to_string(), toml::Value::String("bogus".into()));
    match build(&t) {
        Err(Error::Param { key: k, message }) => {
            assert_eq!(k, key, "{message}");
            assert!(message.contains("unknown value `bogus`"), "{message}");
            for a in allowed {
                assert!(
                    message.contains(&format!("`{a}`")),
                    "{a} missing: {message}"
                );
            }
        }
        other => panic!("{key} = \"bogus\" accepted or wrong error: {other:?}"),
    }
    for a in allowed {
        let mut t = toml::Table::new();
        t.insert(key.to_string(), toml::Value::String((*a).into()));
        assert!(build(&t).is_ok(), "{key} = {a:?} rejected");
    }
}
