//! Value matchers used by check specs: text matchers for command output, numeric
//! comparisons and durations. Deserialization validates eagerly (bad regex, bad
//! comparison) so `tplab lint` reports problems at the right line.

use std::fmt;

use regex::Regex;
use serde::Deserialize;
use serde::de::{self, Deserializer};

use tplab_vocab::DiagCode;
use tplab_vocab::diag::{self, StrictKeys};
pub use tplab_vocab::{Cmp, CmpOp, deserialize_duration, parse_duration};

// Visitors (not "deserialize, then validate") so `serde_yaml` locates errors at the value.

/// A regex, validated at parse time (template expressions are substituted before
/// evaluation, so they are neutralised for validation) and compiled when evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(pub String);

impl Pattern {
    pub fn compile(&self) -> Result<Regex, String> {
        Regex::new(&self.0).map_err(|e| format!("invalid regex `{}`: {e}", self.0))
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Pattern;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a regular expression")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Pattern, E> {
                Regex::new(&crate::template::neutralize(s))
                    .map_err(|e| diag::raise(DiagCode::BadRegex, format!("invalid regex: {e}")))?;
                Ok(Pattern(s.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// One string or a list of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text or a list of texts")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![s.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<serde_yaml::Value>()? {
                    match item {
                        serde_yaml::Value::String(s) => out.push(s),
                        serde_yaml::Value::Number(n) => out.push(n.to_string()),
                        serde_yaml::Value::Mapping(_) => {
                            return Err(de::Error::custom(
                                "a list item here must be text, but YAML read a `key: value` map: put text containing `: ` in quotes",
                            ));
                        }
                        other => {
                            return Err(de::Error::custom(format!(
                                "expected text in this list, found {other:?}"
                            )));
                        }
                    }
                }
                Ok(OneOrMany(out))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, _map: A) -> Result<OneOrMany, A::Error> {
                Err(de::Error::custom(
                    "expected text, but YAML read a `key: value` map: put text containing `: ` in quotes",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

/// Matchers over a command's stdout or stderr. A plain string means `contains`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextMatch {
    #[serde(default)]
    pub contains: OneOrMany,
    #[serde(default)]
    pub not_contains: OneOrMany,
    pub regex: Option<Pattern>,
    pub not_regex: Option<Pattern>,
    pub equals: Option<String>,
    /// Number of non-empty lines.
    pub lines: Option<Cmp>,
    /// The first number found in the text.
    pub number: Option<Cmp>,
    pub empty: Option<bool>,
}

/// `stdout:`/`stderr:` value: a plain string (shorthand for `contains`) or a matcher map.
/// A visitor (not an untagged enum) keeps `serde_yaml`'s error locations for bad keys.
#[derive(Debug, Clone, Default)]
pub struct TextSpec(pub TextMatch);

impl<'de> Deserialize<'de> for TextSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = TextSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string (contains) or a map of matchers (contains, not_contains, regex, not_regex, equals, lines, number, empty)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TextSpec, E> {
                Ok(TextSpec(TextMatch {
                    contains: OneOrMany(vec![s.to_string()]),
                    ..TextMatch::default()
                }))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<TextSpec, A::Error> {
                // Keys checked as read: an unknown one is reported at itself.
                StrictKeys::of::<TextMatch>(DiagCode::UnknownKey, DiagCode::BadCheck)
                    .from_map(map)
                    .map(TextSpec)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5x").is_err());
        // Out of range for a `Duration`: an error, never a panic.
        assert!(parse_duration("1e300").is_err());
        assert!(parse_duration("NaN").is_err());
    }
}
