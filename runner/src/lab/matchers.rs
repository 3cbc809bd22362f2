//! Value matchers used by check specs: text matchers for command output, numeric
//! comparisons and durations. Deserialization validates eagerly (bad regex, bad
//! comparison) so `tplab lint` reports problems at the right line.

use std::fmt;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde::de::{self, Deserializer};

/// A numeric comparison such as `>= 3`, `< 10`, `== 2` or a bare number (equality).
#[derive(Debug, Clone, PartialEq)]
pub struct Cmp {
    pub op: CmpOp,
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let ops = [
            (">=", CmpOp::Ge),
            ("<=", CmpOp::Le),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            (">", CmpOp::Gt),
            ("<", CmpOp::Lt),
            ("=", CmpOp::Eq),
        ];
        let (op, rest) = ops
            .iter()
            .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
            .unwrap_or((CmpOp::Eq, s));
        let value = rest.trim().parse::<f64>().map_err(|_| {
            format!("invalid comparison `{s}`: expected an operator (>=, >, <=, <, ==, !=) and a number, e.g. `>= 3`")
        })?;
        Ok(Self { op, value })
    }

    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            CmpOp::Eq => (x - self.value).abs() < f64::EPSILON,
            CmpOp::Ne => (x - self.value).abs() >= f64::EPSILON,
            CmpOp::Lt => x < self.value,
            CmpOp::Le => x <= self.value,
            CmpOp::Gt => x > self.value,
            CmpOp::Ge => x >= self.value,
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        };
        write!(f, "{op} {}", self.value)
    }
}

// Visitors (not "deserialize, then validate") so `serde_yaml` locates errors at the value.
impl<'de> Deserialize<'de> for Cmp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Cmp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a comparison such as `>= 3`")
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Cmp, E> {
                Ok(Cmp {
                    op: CmpOp::Eq,
                    value,
                })
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cmp, E> {
                self.visit_f64(v as f64)
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cmp, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Cmp, E> {
                Cmp::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

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
                    .map_err(|e| E::custom(format!("invalid regex: {e}")))?;
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
                TextMatch::deserialize(de::value::MapAccessDeserializer::new(map)).map(TextSpec)
            }
        }
        d.deserialize_any(V)
    }
}

/// `5s`, `500ms`, `2m` or a number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>()
        && let Ok(d) = Duration::try_from_secs_f64(secs)
    {
        return Ok(d);
    }
    humantime::parse_duration(s)
        .map_err(|_| format!("invalid duration `{s}`: expected e.g. `500ms`, `5s`, `2m`"))
}

/// An optional duration (`~` is none) of at least `min`.
pub fn deserialize_duration<'de, D: Deserializer<'de>>(
    d: D,
    min: Duration,
) -> Result<Option<Duration>, D::Error> {
    struct V(Duration);
    impl V {
        fn check<E: de::Error>(&self, d: Duration, shown: &str) -> Result<Option<Duration>, E> {
            if d < self.0 {
                return Err(E::custom(format!(
                    "invalid duration `{shown}`: must be at least {}",
                    humantime::format_duration(self.0)
                )));
            }
            Ok(Some(d))
        }
    }
    impl de::Visitor<'_> for V {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as `500ms`, `5s`, `2m`, or a number of seconds")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Self::Value, E> {
            match Duration::try_from_secs_f64(n) {
                Ok(d) => self.check(d, &n.to_string()),
                Err(_) => Err(E::custom(format!(
                    "invalid duration `{n}`: expected a non-negative number of seconds"
                ))),
            }
        }
        #[allow(clippy::cast_precision_loss)]
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            self.visit_f64(n as f64)
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            self.check(Duration::from_secs(n), &n.to_string())
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            let d = parse_duration(s).map_err(E::custom)?;
            self.check(d, s.trim())
        }
    }
    d.deserialize_any(V(min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(Cmp::parse(">= 3").unwrap().holds(3.0));
        assert!(!Cmp::parse("<3").unwrap().holds(3.0));
        assert!(Cmp::parse("2").unwrap().holds(2.0));
        assert!(Cmp::parse("about 3").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5x").is_err());
        // Out of range for a `Duration`: an error, never a panic.
        assert!(parse_duration("1e300").is_err());
        assert!(parse_duration("NaN").is_err());
    }
}
