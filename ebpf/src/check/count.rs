//! Count expectations: `">= 1"`, `"== 200"`, `"200"`, `"< 5"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountExpr {
    pub op: CountOp,
    pub value: u64,
}

impl Default for CountExpr {
    fn default() -> Self {
        CountExpr {
            op: CountOp::Ge,
            value: 1,
        }
    }
}

impl CountExpr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (op, rest) = [
            (">=", CountOp::Ge),
            ("<=", CountOp::Le),
            ("==", CountOp::Eq),
            (">", CountOp::Gt),
            ("<", CountOp::Lt),
            ("=", CountOp::Eq),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((CountOp::Eq, t));
        let value = rest.trim().parse::<u64>().map_err(|_| {
            format!("invalid count `{text}`: expected e.g. `>= 1`, `== 200` or `3`")
        })?;
        Ok(CountExpr { op, value })
    }

    pub fn matches(self, n: u64) -> bool {
        match self.op {
            CountOp::Eq => n == self.value,
            CountOp::Ge => n >= self.value,
            CountOp::Gt => n > self.value,
            CountOp::Le => n <= self.value,
            CountOp::Lt => n < self.value,
        }
    }
}

impl std::fmt::Display for CountExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            CountOp::Eq => "==",
            CountOp::Ge => ">=",
            CountOp::Gt => ">",
            CountOp::Le => "<=",
            CountOp::Lt => "<",
        };
        write!(f, "{op} {}", self.value)
    }
}

impl<'de> Deserialize<'de> for CountExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(value) => Ok(CountExpr {
                op: CountOp::Eq,
                value,
            }),
            Raw::S(s) => CountExpr::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for CountExpr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Durations as labs write them: `10s`, `500ms`, `2m`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let err = || format!("invalid duration `{text}`: expected e.g. `10s`, `500ms`, `2m`");
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((t, "s"), |i| t.split_at(i));
    let n: f64 = num.parse().map_err(|_| err())?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        _ => return Err(err()),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(err());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}
