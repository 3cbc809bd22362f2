//! Field matchers: a plain value (equals) or a map of operators that must all hold:
//! `{equals, regex, in_subnet, one_of, exists}`. Comparison follows the field's type
//! (IPs normalised, MACs and keywords case-insensitive, numbers numerically).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::netaddr;

/// How values of a field compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Exact text (interface and program names).
    Text,
    /// Case-insensitive words (states, scopes, protocols...).
    Keyword,
    Ip,
    Mac,
    Number,
    Bool,
}

#[derive(Debug, Clone)]
pub enum Op {
    Equals(Value),
    Regex(regex::Regex),
    InSubnet(netaddr::Net, String),
    OneOf(Vec<Value>),
    Exists(bool),
    /// A numeric comparison (`">= 1"`), the vocabulary shared with counts and lines.
    Cmp(tplab_vocab::Cmp),
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub ops: Vec<Op>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

impl Matcher {
    /// A plain equality matcher.
    pub fn equals(v: impl Into<Value>) -> Self {
        Matcher {
            ops: vec![Op::Equals(v.into())],
        }
    }

    /// Builds a matcher from its YAML/JSON form, with author-facing error messages.
    pub fn from_value(v: Value) -> Result<Self, String> {
        match v {
            // `packets: ">= 1"`: a plain value starting with an operator compares.
            Value::String(t) if tplab_vocab::Cmp::parse_explicit(&t).is_some() => Ok(Matcher {
                ops: vec![Op::Cmp(tplab_vocab::Cmp::parse(&t)?)],
            }),
            v if is_scalar(&v) => Ok(Matcher::equals(v)),
            Value::Object(map) => {
                if map.is_empty() {
                    return Err("empty matcher: use a value or one of equals, regex, in_subnet, one_of, exists".into());
                }
                let mut ops = Vec::new();
                for (k, v) in map {
                    ops.push(op(&k, v)?);
                }
                Ok(Matcher { ops })
            }
            Value::Null => {
                Err("a matcher cannot be null (use `exists: false` to require absence)".into())
            }
            Value::Array(_) => {
                Err("a list is not a matcher (did you mean `one_of: [...]`?)".into())
            }
            _ => Err("unsupported matcher".into()),
        }
    }

    /// True when `field` (of type `ty`) satisfies every operator. Lists match when any
    /// element does (e.g. `flags: UP`).
    pub fn matches(&self, ty: FieldType, field: Option<&Value>) -> bool {
        let field = field.filter(|v| !v.is_null());
        self.ops.iter().all(|op| match (op, field) {
            (Op::Exists(want), f) => {
                *want == f.is_some_and(|v| !matches!(v, Value::Array(a) if a.is_empty()))
            }
            (_, None) => false,
            (op, Some(Value::Array(items))) => items.iter().any(|i| op_matches(op, ty, i)),
            (op, Some(v)) => op_matches(op, ty, v),
        })
    }

    /// Short human description ("10.244.0.201", "matching /^lxc/", "in 10.0.0.0/8").
    pub fn describe(&self) -> String {
        self.describe_in(tplab_vocab::Lang::En)
    }

    /// [`Matcher::describe`] in `lang` ("correspondant à /^lxc/", "dans 10.0.0.0/8").
    pub fn describe_in(&self, lang: tplab_vocab::Lang) -> String {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Equals(v) => text(v),
                Op::Regex(r) => format!(
                    "{} /{}/",
                    lang.pick("matching", "correspondant à"),
                    r.as_str()
                ),
                Op::InSubnet(_, s) => format!("{} {s}", lang.pick("in", "dans")),
                Op::OneOf(vs) => format!(
                    "{} {}",
                    lang.pick("one of", "parmi"),
                    vs.iter().map(text).collect::<Vec<_>>().join(", ")
                ),
                Op::Exists(true) => lang.pick("set", "présent").into(),
                Op::Exists(false) => lang.pick("unset", "absent").into(),
                Op::Cmp(c) => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(lang.pick(" and ", " et "))
    }

    /// The value to show in an "expected" clause when the matcher is a plain equality.
    pub fn plain(&self) -> Option<String> {
        match self.ops.as_slice() {
            [Op::Equals(v)] => Some(text(v)),
            _ => None,
        }
    }
}

fn op(k: &str, v: Value) -> Result<Op, String> {
    Ok(match k {
        "equals" if is_scalar(&v) => Op::Equals(v),
        "regex" => {
            let Value::String(s) = v else {
                return Err("`regex` takes a string".into());
            };
            Op::Regex(regex::Regex::new(&s).map_err(|e| format!("invalid regex `{s}`: {e}"))?)
        }
        "in_subnet" => {
            let Value::String(s) = v else {
                return Err("`in_subnet` takes a CIDR string like 10.244.0.0/16".into());
            };
            let net = netaddr::parse(&s)
                .ok_or_else(|| format!("`in_subnet`: `{s}` is not an IP prefix"))?;
            Op::InSubnet(net, s)
        }
        "one_of" => match v {
            Value::Array(items) if !items.is_empty() && items.iter().all(is_scalar) => {
                Op::OneOf(items)
            }
            _ => return Err("`one_of` takes a non-empty list of values".into()),
        },
        "cmp" => match &v {
            Value::String(t) => Op::Cmp(tplab_vocab::Cmp::parse(t)?),
            _ => return Err("`cmp` takes a comparison such as \">= 1\"".into()),
        },
        "exists" => match v {
            Value::Bool(b) => Op::Exists(b),
            _ => return Err("`exists` takes true or false".into()),
        },
        "equals" => return Err("`equals` takes a single value".into()),
        other => {
            return Err(format!(
                "unknown matcher `{other}` (expected equals, regex, in_subnet, one_of, exists or cmp)"
            ));
        }
    })
}

/// Display form of a scalar (no JSON quotes).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn op_matches(op: &Op, ty: FieldType, v: &Value) -> bool {
    match op {
        Op::Equals(want) => equal(ty, v, want),
        Op::OneOf(wants) => wants.iter().any(|w| equal(ty, v, w)),
        Op::Regex(r) => r.is_match(&text(v)),
        Op::InSubnet(net, _) => netaddr::parse(&text(v)).is_some_and(|n| netaddr::within(n, *net)),
        Op::Exists(_) => true,
        #[allow(
            clippy::cast_precision_loss,
            reason = "kernel counters compared in f64"
        )]
        Op::Cmp(c) => as_num(v).is_some_and(|n| c.holds(n as f64)),
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn as_num(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(h) => i128::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}

/// Field-type-aware equality between a record value and a query value.
pub fn equal(ty: FieldType, have: &Value, want: &Value) -> bool {
    match ty {
        FieldType::Bool => as_bool(have).is_some() && as_bool(have) == as_bool(want),
        FieldType::Number => match (as_num(have), as_num(want)) {
            (Some(a), Some(b)) => a == b,
            _ => text(have) == text(want),
        },
        FieldType::Ip => match (netaddr::parse(&text(have)), netaddr::parse(&text(want))) {
            (Some(a), Some(b)) => netaddr::same(a, b),
            _ => text(have).eq_ignore_ascii_case(&text(want)),
        },
        FieldType::Mac => norm_mac(&text(have)) == norm_mac(&text(want)),
        FieldType::Keyword => text(have).eq_ignore_ascii_case(&text(want)),
        FieldType::Text => text(have) == text(want),
    }
}

fn norm_mac(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace('-', ":")
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Matcher::from_value(v).map_err(D::Error::custom)
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.ops.as_slice() {
            [Op::Equals(v)] => return v.serialize(s),
            [Op::Cmp(c)] => return c.serialize(s),
            _ => {}
        }
        let mut map = serde_json::Map::new();
        for op in &self.ops {
            let (k, v) = match op {
                Op::Equals(v) => ("equals", v.clone()),
                Op::Regex(r) => ("regex", Value::from(r.as_str())),
                Op::InSubnet(_, t) => ("in_subnet", Value::from(t.as_str())),
                Op::OneOf(vs) => ("one_of", Value::Array(vs.clone())),
                Op::Exists(b) => ("exists", Value::Bool(*b)),
                Op::Cmp(c) => ("cmp", Value::from(c.to_string())),
            };
            map.insert(k.into(), v);
        }
        Value::Object(map).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> Matcher {
        Matcher::from_value(v).unwrap()
    }

    #[test]
    fn plain_values_by_type() {
        assert!(
            m(json!("F6:93:7D:11:4D:37"))
                .matches(FieldType::Mac, Some(&json!("f6:93:7d:11:4d:37")))
        );
        assert!(m(json!("10.244.0.201")).matches(FieldType::Ip, Some(&json!("10.244.0.201/32"))));
        assert!(m(json!("reachable")).matches(FieldType::Keyword, Some(&json!("REACHABLE"))));
        assert!(!m(json!("Eth0")).matches(FieldType::Text, Some(&json!("eth0"))));
        assert!(m(json!("1500")).matches(FieldType::Number, Some(&json!(1500))));
        assert!(m(json!("0x1")).matches(FieldType::Number, Some(&json!("0x1"))));
        assert!(m(json!(true)).matches(FieldType::Bool, Some(&json!(true))));
        assert!(!m(json!(true)).matches(FieldType::Bool, Some(&json!(false))));
        assert!(!m(json!("x")).matches(FieldType::Text, None));
    }

    #[test]
    fn operators() {
        let lxc = m(json!({"regex": "^lxc"}));
        assert!(lxc.matches(FieldType::Text, Some(&json!("lxcf4cd39e34601"))));
        assert!(!lxc.matches(FieldType::Text, Some(&json!("eth0"))));
        let sub = m(json!({"in_subnet": "10.244.0.0/16"}));
        assert!(sub.matches(FieldType::Ip, Some(&json!("10.244.0.213"))));
        assert!(!sub.matches(FieldType::Ip, Some(&json!("203.0.113.10"))));
        let one = m(json!({"one_of": ["REACHABLE", "stale"]}));
        assert!(one.matches(FieldType::Keyword, Some(&json!("STALE"))));
        assert!(m(json!({"exists": false})).matches(FieldType::Ip, None));
        assert!(m(json!({"exists": false})).matches(FieldType::Ip, Some(&Value::Null)));
        assert!(!m(json!({"exists": true})).matches(FieldType::Ip, None));
        let both = m(json!({"regex": "^10\\.", "in_subnet": "10.244.0.0/16"}));
        assert!(!both.matches(FieldType::Ip, Some(&json!("10.1.0.1"))));
    }

    #[test]
    fn comparisons_use_the_shared_vocabulary() {
        let grew = m(json!(">= 1"));
        assert!(grew.matches(FieldType::Number, Some(&json!(3))));
        assert!(!grew.matches(FieldType::Number, Some(&json!(0))));
        assert_eq!(serde_json::to_value(&grew).unwrap(), json!(">= 1"));
        assert!(
            m(json!({"cmp": "< 5", "exists": true})).matches(FieldType::Number, Some(&json!("4")))
        );
        assert!(Matcher::from_value(json!({"cmp": "lots"})).is_err());
    }

    #[test]
    fn lists_match_any_element() {
        assert!(m(json!("up")).matches(FieldType::Keyword, Some(&json!(["BROADCAST", "UP"]))));
        assert!(!m(json!({"exists": true})).matches(FieldType::Keyword, Some(&json!([]))));
    }

    #[test]
    fn bad_matchers_explain_themselves() {
        let e = Matcher::from_value(json!({"regexp": "x"})).unwrap_err();
        assert!(e.contains("unknown matcher `regexp`"), "{e}");
        assert!(
            Matcher::from_value(json!({"regex": "("}))
                .unwrap_err()
                .contains("invalid regex")
        );
        assert!(Matcher::from_value(json!({"in_subnet": "nope"})).is_err());
        assert!(
            Matcher::from_value(json!([1, 2]))
                .unwrap_err()
                .contains("one_of")
        );
        assert!(Matcher::from_value(json!({})).is_err());
    }

    #[test]
    fn serde_round_trip() {
        let v = json!({"regex": "^lxc"});
        assert_eq!(serde_json::to_value(m(v.clone())).unwrap(), v);
        assert_eq!(
            serde_json::to_value(m(json!("eth0"))).unwrap(),
            json!("eth0")
        );
        let parsed: Matcher = serde_yaml::from_str("{in_subnet: 10.0.0.0/8}").unwrap();
        assert!(parsed.matches(FieldType::Ip, Some(&json!("10.1.2.3"))));
    }
}
