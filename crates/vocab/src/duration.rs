//! Durations as labs write them, one grammar everywhere: `500ms`, `5s`, `2m`, `1h`
//! (humantime's units) or a bare number of seconds.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer};

use crate::diag::{self, DiagCode};

/// `5s`, `500ms`, `2m`, `1h` or a number of seconds.
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

/// The text form of a duration (`1m 30s`, `500ms`).
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
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
                return Err(diag::raise(
                    DiagCode::BadDuration,
                    format!(
                        "invalid duration `{shown}`: must be at least {}",
                        format_duration(self.0)
                    ),
                ));
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
                Err(_) => Err(diag::raise(
                    DiagCode::BadDuration,
                    format!("invalid duration `{n}`: expected a non-negative number of seconds"),
                )),
            }
        }
        #[allow(clippy::cast_precision_loss, reason = "lab numbers are small")]
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            self.visit_f64(n as f64)
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
            self.check(Duration::from_secs(n), &n.to_string())
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            let d = parse_duration(s).map_err(|e| diag::raise(DiagCode::BadDuration, e))?;
            self.check(d, s.trim())
        }
    }
    d.deserialize_any(V(min))
}

/// `#[serde(with = "tplab_vocab::serde_text")]` for a required `Duration` written as text.
pub mod serde_text {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        super::deserialize_duration(d, Duration::ZERO)?.ok_or_else(|| {
            crate::diag::raise(crate::DiagCode::BadDuration, "a duration is required")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_grammar() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1").is_err());
        // Out of range for a `Duration`: an error, never a panic.
        assert!(parse_duration("1e300").is_err());
        assert!(parse_duration("NaN").is_err());
    }

    #[test]
    fn minimum_is_enforced() {
        let mut de = serde_json::Deserializer::from_str("\"5ms\"");
        let e = deserialize_duration(&mut de, Duration::from_millis(10)).unwrap_err();
        assert!(e.to_string().contains("at least 10ms"), "{e}");
    }
}
