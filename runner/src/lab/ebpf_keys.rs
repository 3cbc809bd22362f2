//! The keys of the eBPF kinds' bodies (`packets` with its hops and `trigger`,
//! `bpf_map`), checked while the YAML is read, so an unknown one is reported at its own
//! line and column (`serde_json`, which types these bodies later, knows no positions).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_yaml::Value;
use tplab_vocab::diag::{self, fields_of};

use super::kinds::{EbpfKind, Trigger};

/// Which keys a map may have, and what its values are.
#[derive(Clone, Copy)]
enum Shape {
    Packets,
    Hop,
    Trigger,
    BpfMap,
}

impl Shape {
    fn keys(self) -> Vec<&'static str> {
        match self {
            Shape::Packets => {
                let mut keys = fields_of::<tplab_ebpf::check::PathQuery>().to_vec();
                keys.push("trigger");
                keys
            }
            Shape::Hop => fields_of::<tplab_ebpf::check::HopSpec>().to_vec(),
            Shape::Trigger => fields_of::<Trigger>().to_vec(),
            Shape::BpfMap => fields_of::<tplab_ebpf::check::CtQuery>().to_vec(),
        }
    }

    /// The shape of a key's value, when it is a map or list of maps with known keys.
    fn child(self, key: &str) -> Option<Shape> {
        match (self, key) {
            (Shape::Packets, "path") => Some(Shape::Hop),
            (Shape::Packets, "trigger") => Some(Shape::Trigger),
            _ => None,
        }
    }
}

/// Reads an eBPF kind's body with its keys checked.
pub fn read<'de, D: Deserializer<'de>>(kind: EbpfKind, d: D) -> Result<Value, D::Error> {
    let shape = match kind {
        EbpfKind::Packets => Shape::Packets,
        EbpfKind::BpfMap => Shape::BpfMap,
    };
    d.deserialize_any(Body(shape))
}

struct Body(Shape);

impl<'de> DeserializeSeed<'de> for Body {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Body {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a map with keys among: {}", self.0.keys().join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_yaml::Mapping::new();
        let keys = self.0.keys();
        let unknown = |key: &str| diag::unknown_key_message(key, &keys);
        let key = || diag::KnownKey {
            expecting: "a key",
            known: &keys,
            unknown: &unknown,
        };
        while let Some(key) = map.next_key_seed(key())? {
            let value = match self.0.child(&key) {
                Some(Shape::Hop) => map.next_value_seed(Hops)?,
                Some(child) => map.next_value_seed(Body(child))?,
                None => map.next_value::<Value>()?,
            };
            out.insert(Value::String(key), value);
        }
        Ok(Value::Mapping(out))
    }

    // Not a map: left for the typed parse to explain.
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            out.push(v);
        }
        Ok(Value::Sequence(out))
    }
}

/// `path`: a list of hops, each with its keys checked.
struct Hops;

impl<'de> DeserializeSeed<'de> for Hops {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Hops {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of hops (`{ at: \"node:eth0\", dir: egress }`)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Body(Shape::Hop))? {
            out.push(v);
        }
        Ok(Value::Sequence(out))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}
