//! Numeric comparisons: `>= 3`, `< 10`, `== 2`, `!= 0`, or a bare number (equality).

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::diag::{self, DiagCode};

/// A numeric comparison such as `>= 3` or a bare number (equality).
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// Operators by their spelling, longest first so `>=` wins over `>`.
const OPS: [(&str, CmpOp); 7] = [
    (">=", CmpOp::Ge),
    ("<=", CmpOp::Le),
    ("==", CmpOp::Eq),
    ("!=", CmpOp::Ne),
    (">", CmpOp::Gt),
    ("<", CmpOp::Lt),
    ("=", CmpOp::Eq),
];

impl Cmp {
    /// `>= 1`: the default expectation of a count ("at least one").
    pub const AT_LEAST_ONE: Cmp = Cmp {
        op: CmpOp::Ge,
        value: 1.0,
    };

    /// Parses a comparison; a failure is marked [`DiagCode::BadComparison`] for a
    /// surrounding [`diag::capture`] (callers outside serde return it as text).
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::parse_quiet(s).inspect_err(|_| diag::mark(DiagCode::BadComparison))
    }

    /// [`Cmp::parse`], for callers that recover from a failure.
    fn parse_quiet(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (op, rest) = OPS
            .iter()
            .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
            .unwrap_or((CmpOp::Eq, s));
        let value = rest
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                format!(
                    "invalid comparison `{s}`: expected an operator (>=, >, <=, <, ==, !=) and a number, e.g. `>= 3`"
                )
            })?;
        Ok(Self { op, value })
    }

    /// Parses `s` only when it starts with an operator (`">= 1"`, not `"1"`): how a
    /// matcher tells a comparison from a plain value.
    pub fn parse_explicit(s: &str) -> Option<Self> {
        let t = s.trim_start();
        OPS.iter()
            .any(|(p, _)| t.starts_with(p))
            .then(|| Self::parse_quiet(t).ok())
            .flatten()
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

    /// For counts (packets, lines, records).
    #[allow(clippy::cast_precision_loss, reason = "counts are far below 2^52")]
    pub fn holds_count(&self, n: u64) -> bool {
        self.holds(n as f64)
    }

    /// True when a count of zero satisfies it (`== 0`, `< 1`: "never seen here").
    pub fn allows_zero(&self) -> bool {
        self.holds(0.0)
    }
}

impl Default for Cmp {
    fn default() -> Self {
        Self::AT_LEAST_ONE
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

impl Serialize for Cmp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

// A visitor (not "deserialize, then validate") so `serde_yaml` locates errors at the value.
impl<'de> Deserialize<'de> for Cmp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Cmp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a comparison such as `>= 3`")
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Cmp, E> {
                if value.is_finite() {
                    Ok(Cmp {
                        op: CmpOp::Eq,
                        value,
                    })
                } else {
                    Err(diag::raise(
                        DiagCode::BadComparison,
                        format!("invalid comparison `{value}`"),
                    ))
                }
            }
            #[allow(clippy::cast_precision_loss, reason = "lab numbers are small")]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cmp, E> {
                self.visit_f64(v as f64)
            }
            #[allow(clippy::cast_precision_loss, reason = "lab numbers are small")]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cmp, E> {
                self.visit_f64(v as f64)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Cmp, E> {
                Cmp::parse_quiet(s).map_err(|e| diag::raise(DiagCode::BadComparison, e))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(Cmp::parse(">= 3").unwrap().holds(3.0));
        assert!(!Cmp::parse("<3").unwrap().holds(3.0));
        assert!(Cmp::parse("2").unwrap().holds(2.0));
        assert!(Cmp::parse("!= 0").unwrap().holds_count(5));
        assert!(Cmp::parse("about 3").is_err());
        assert!(Cmp::parse("> NaN").is_err());
        assert!(Cmp::parse("== 0").unwrap().allows_zero());
        assert!(!Cmp::default().allows_zero());
    }

    #[test]
    fn explicit_comparisons_need_an_operator() {
        assert_eq!(Cmp::parse_explicit(">= 1"), Some(Cmp::AT_LEAST_ONE));
        assert_eq!(Cmp::parse_explicit("1"), None);
        assert_eq!(Cmp::parse_explicit("eth0"), None);
        assert_eq!(Cmp::parse_explicit("> x"), None);
    }

    #[test]
    fn serde_round_trip() {
        let c: Cmp = serde_yaml::from_str("\">= 2\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\">= 2\"");
        let n: Cmp = serde_yaml::from_str("200").unwrap();
        assert!(n.holds_count(200));
        assert!(serde_yaml::from_str::<Cmp>("lots").is_err());
    }
}
