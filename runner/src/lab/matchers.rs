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

/// A `run` check's expected exit status: a code (`1`), a comparison (`"!= 0"`: any
/// failure) or a list of codes (`[1, 2]`: `grep`'s "no match" or "error").
#[derive(Debug, Clone, PartialEq)]
pub enum StatusMatch {
    Cmp(Cmp),
    AnyOf(Vec<i32>),
}

impl Default for StatusMatch {
    fn default() -> Self {
        StatusMatch::Cmp(Cmp {
            op: CmpOp::Eq,
            value: 0.0,
        })
    }
}

impl StatusMatch {
    pub fn holds(&self, code: i32) -> bool {
        match self {
            StatusMatch::Cmp(cmp) => cmp.holds(f64::from(code)),
            StatusMatch::AnyOf(codes) => codes.contains(&code),
        }
    }

    /// The expectation in words: `0`, `!= 0`, `1 or 2` (`1 ou 2`).
    pub fn describe(&self, lang: tplab_vocab::Lang) -> String {
        match self {
            StatusMatch::Cmp(Cmp {
                op: CmpOp::Eq,
                value,
            }) => format!("{value}"),
            StatusMatch::Cmp(cmp) => cmp.to_string(),
            StatusMatch::AnyOf(codes) => {
                let codes: Vec<String> = codes.iter().map(i32::to_string).collect();
                codes.join(lang.pick(" or ", " ou "))
            }
        }
    }
}

impl<'de> Deserialize<'de> for StatusMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusVisitor(&EXIT_CODES))
    }
}

impl StatusMatch {
    /// An `http` check's `status`: the same syntax, over HTTP status codes (100 to 599).
    pub fn deserialize_http<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusVisitor(&HTTP_STATUSES))
    }
}

/// The codes a status matcher reads and how its errors name them.
struct Codes {
    range: std::ops::RangeInclusive<i32>,
    /// "an exit code (`1`), a comparison (`\"!= 0\"`) or a list of codes (`[1, 2]`)".
    expected: &'static str,
    /// "exit codes are 0 to 255".
    bounds: &'static str,
}

const EXIT_CODES: Codes = Codes {
    range: 0..=255,
    expected: "an exit code (`1`), a comparison (`\"!= 0\"`) or a list of codes (`[1, 2]`)",
    bounds: "exit codes are 0 to 255",
};

const HTTP_STATUSES: Codes = Codes {
    range: 100..=599,
    expected: "an HTTP status (`200`), a comparison (`\"!= 500\"`) or a list of statuses (`[200, 301]`)",
    bounds: "HTTP statuses are 100 to 599",
};

struct StatusVisitor(&'static Codes);

impl StatusVisitor {
    fn bad<E: de::Error>(&self, what: impl fmt::Display) -> E {
        diag::raise(
            DiagCode::BadCheck,
            format!("invalid `status` {what}: expected {}", self.0.expected),
        )
    }

    fn code<E: de::Error>(&self, v: i64) -> Result<i32, E> {
        i32::try_from(v)
            .ok()
            .filter(|c| self.0.range.contains(c))
            .ok_or_else(|| self.bad(format_args!("`{v}` ({})", self.0.bounds)))
    }
}

impl<'de> de::Visitor<'de> for StatusVisitor {
    type Value = StatusMatch;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.expected)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusMatch, E> {
        Ok(StatusMatch::Cmp(Cmp {
            op: CmpOp::Eq,
            value: f64::from(self.code::<E>(v)?),
        }))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusMatch, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<StatusMatch, E> {
        let cmp = Cmp::parse_explicit(s)
            .or_else(|| {
                s.trim().parse::<i64>().ok().and_then(|v| {
                    self.code::<E>(v).ok().map(|c| Cmp {
                        op: CmpOp::Eq,
                        value: f64::from(c),
                    })
                })
            })
            .ok_or_else(|| self.bad(format_args!("`{s}`")))?;
        Ok(StatusMatch::Cmp(cmp))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<StatusMatch, A::Error> {
        let mut codes = Vec::new();
        while let Some(v) = seq.next_element::<serde_yaml::Value>()? {
            match v.as_i64() {
                Some(v) => codes.push(self.code::<A::Error>(v)?),
                None => return Err(self.bad(format_args!("list item `{v:?}`"))),
            }
        }
        if codes.is_empty() {
            return Err(self.bad("`[]`"));
        }
        Ok(StatusMatch::AnyOf(codes))
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

    #[test]
    fn status_matchers() {
        let read = |y: &str| serde_yaml::from_str::<StatusMatch>(y);
        let ne = read("\"!= 0\"").unwrap();
        assert!(ne.holds(1) && ne.holds(2) && !ne.holds(0));
        let list = read("[1, 2]").unwrap();
        assert!(list.holds(1) && list.holds(2) && !list.holds(0) && !list.holds(3));
        assert_eq!(list.describe(tplab_vocab::Lang::Fr), "1 ou 2");
        assert!(read("3").unwrap().holds(3));
        assert!(read("\"3\"").unwrap().holds(3));
        assert_eq!(read("0").unwrap().describe(tplab_vocab::Lang::En), "0");
        assert!(read("nope").is_err());
        assert!(read("[]").is_err());
        assert!(read("300").is_err());
        assert!(read("[a]").is_err());
    }
}
