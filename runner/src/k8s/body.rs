//! Reading a `k8s` body for lint: its keys, and the field paths under `fields`, are
//! judged as they are read, so `serde_yaml` reports a bad one at its own line and
//! column (as the probe kinds' `BodyKey` does).

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use tplab_vocab::DiagCode;
use tplab_vocab::diag;

use super::path::FieldPath;
use super::query::{KEYS, unknown_key};

/// A `k8s` body, keys checked one by one.
pub struct Body;

impl<'de> DeserializeSeed<'de> for Body {
    type Value = serde_yaml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Body {
    type Value = serde_yaml::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map: `{kind: ConfigMap, name: ..., fields: {...}}`")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(serde_yaml::Value::Null)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = serde_yaml::Mapping::new();
        let key = || diag::KnownKey {
            expecting: "a `k8s` key",
            known: KEYS,
            unknown: &unknown_key,
        };
        while let Some(key) = map.next_key_seed(key())? {
            let value = if key == "fields" {
                map.next_value_seed(Fields)?
            } else {
                map.next_value()?
            };
            body.insert(serde_yaml::Value::String(key), value);
        }
        Ok(serde_yaml::Value::Mapping(body))
    }
}

/// The `fields` map: each key a field path.
struct Fields;

impl<'de> DeserializeSeed<'de> for Fields {
    type Value = serde_yaml::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Fields {
    type Value = serde_yaml::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map of field paths to matchers: `{status.podIP: 10.244.0.213}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = serde_yaml::Mapping::new();
        while let Some(path) = map.next_key_seed(PathKey)? {
            let value: serde_yaml::Value = map.next_value()?;
            fields.insert(serde_yaml::Value::String(path), value);
        }
        Ok(serde_yaml::Value::Mapping(fields))
    }
}

/// A field path, refused at its position when it does not parse.
struct PathKey;

impl<'de> DeserializeSeed<'de> for PathKey {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for PathKey {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field path such as `status.podIP`")
    }

    fn visit_str<E: serde::de::Error>(self, path: &str) -> Result<String, E> {
        FieldPath::parse(path)
            .map(|_| path.to_string())
            .map_err(|e| diag::raise(DiagCode::BadCheck, e))
    }
}
