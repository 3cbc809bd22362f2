//! Diagnostic codes (`tplab lint`'s `[unknown-key]`), and how the deserializers of lab
//! YAML raise them: an error carries its code through a thread-local side channel, set
//! by [`raise`] and read by [`capture`] after a failing deserialize, so no code is ever
//! guessed from an error's message text.
//!
//! Also the strict-keys adapter ([`StrictKeys`]) for derived structs: keys are checked
//! against the struct's own field list (as serde knows it, [`fields_of`]) while they
//! are read, so an unknown or repeated key is reported at itself, with its code and a
//! "did you mean".

use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{Error as ValueError, MapAccessDeserializer};
use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer,
    MapAccess, Visitor,
};

/// Every diagnostic code, documented in `docs/lab-format.md` ("Diagnostic codes").
/// Its kebab-case name (`FrontMatterUnknownKey` -> `front-matter-unknown-key`) is what
/// users, docs, tests and `tplab lint --json` see.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[strum(serialize_all = "kebab-case")]
pub enum DiagCode {
    // Front matter.
    FrontMatterMissing,
    FrontMatterInvalid,
    FrontMatterMissingKey,
    FrontMatterUnknownKey,
    UnknownLang,
    BadLabId,
    UnknownEnvironment,
    UnknownRole,
    // Structure.
    NoSteps,
    DuplicateStepId,
    StepWithoutChecks,
    DanglingLeadIn,
    OutsideStep,
    UnclosedFence,
    UnclosedDetails,
    // Block info strings.
    UnknownBlockKind,
    BadAttributes,
    UnknownAttribute,
    BadAttributeValue,
    // Commands and transcripts.
    EmptyCommand,
    EmptyTranscript,
    BadTranscript,
    // Checks.
    EmptyCheck,
    CheckNotAList,
    YamlSyntax,
    UnknownKey,
    BadCheck,
    CheckWithoutKind,
    CheckMultipleKinds,
    KeyWithoutRun,
    BadRegex,
    BadComparison,
    BadDuration,
    BadCaptureName,
    UnknownCaptureField,
    DuplicateId,
    // Questions.
    BadQuestion,
    // Templates and variables.
    TemplateSyntax,
    UndefinedVariable,
    CaptureBeforeDefinition,
    UnusedCapture,
}

impl DiagCode {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A problem with the front matter itself (the lab may then have no usable one).
    pub fn is_front_matter(self) -> bool {
        matches!(
            self,
            Self::FrontMatterMissing
                | Self::FrontMatterInvalid
                | Self::FrontMatterMissingKey
                | Self::FrontMatterUnknownKey
        )
    }
}

impl serde::Serialize for DiagCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

thread_local! {
    static RAISED: Cell<Option<DiagCode>> = const { Cell::new(None) };
}

/// A deserialization error carrying `code` (read back by [`capture`]).
pub fn raise<E: de::Error>(code: DiagCode, msg: impl fmt::Display) -> E {
    mark(code);
    E::custom(msg)
}

/// Records `code` for an error about to be returned other than through [`raise`]
/// (e.g. as a `String`, converted by a caller into its own error).
pub fn mark(code: DiagCode) {
    RAISED.set(Some(code));
}

/// Runs `f` (a deserialization) and returns what it returned with the code of the last
/// error raised inside it, if any. Meaningful when `f` failed: the deserializers of lab
/// YAML return the first error they raise (no untagged enums that would try again).
/// Nests: an enclosing capture gets its own code back afterwards.
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Option<DiagCode>) {
    let outer = RAISED.take();
    let out = f();
    (out, RAISED.replace(outer))
}

/// The field names of a derived struct, in declaration order (as renamed for serde):
/// asks its `Deserialize` impl, which hands them to `deserialize_struct`.
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = ValueError;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, ValueError> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// The closest of `known` to a mistyped `key`, if close enough to be a likely typo: at
/// most one edit (a swap of two letters counts one) per three characters, never all.
pub fn did_you_mean<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let len = key.chars().count();
    let limit = (len / 3).max(1);
    known
        .iter()
        .map(|k| (strsim::osa_distance(key, k), *k))
        .filter(|(d, _)| *d <= limit && *d < len)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// "unknown key `stdot`: did you mean `stdout`? (expected one of: ...)".
pub fn unknown_key_message(key: &str, known: &[&str]) -> String {
    let hint = did_you_mean(key, known)
        .map(|k| format!(": did you mean `{k}`?"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}`{hint} (expected one of: {})",
        known.join(", ")
    )
}

/// A map key read as a string and refused, when `known` lacks it, inside the visitor, so
/// that `serde_yaml` places the error at the key's own line and column; `unknown` words it.
pub struct KnownKey<'a> {
    /// What serde says it expected ("an `http` field").
    pub expecting: &'a str,
    pub known: &'a [&'a str],
    pub unknown: &'a dyn Fn(&str) -> String,
}

impl<'de> DeserializeSeed<'de> for KnownKey<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KnownKey<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if self.known.contains(&key) {
            Ok(key.to_string())
        } else {
            Err(raise(DiagCode::UnknownKey, (self.unknown)(key)))
        }
    }
}

/// Reads a map into a derived struct, checking each key against the struct's fields as
/// it is read: an unknown key raises `unknown`, a repeated one `duplicate`, at the key.
/// Afterwards, [`StrictKeys::missing`] tells which required keys were absent.
pub struct StrictKeys {
    fields: &'static [&'static str],
    unknown: DiagCode,
    duplicate: DiagCode,
    seen: RefCell<Vec<String>>,
    ended: Cell<bool>,
}

impl StrictKeys {
    /// For the fields of `T`.
    pub fn of<T: DeserializeOwned>(unknown: DiagCode, duplicate: DiagCode) -> Self {
        Self {
            fields: fields_of::<T>(),
            unknown,
            duplicate,
            seen: RefCell::new(Vec::new()),
            ended: Cell::new(false),
        }
    }

    pub fn fields(&self) -> &'static [&'static str] {
        self.fields
    }

    /// Deserializes `T` (a derived struct) from the map `d` holds.
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        &self,
        d: D,
    ) -> Result<T, D::Error> {
        struct V<'k, T>(&'k StrictKeys, PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<'_, T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a map of: {}", self.0.fields.join(", "))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                self.0.from_map(map)
            }
        }
        d.deserialize_map(V(self, PhantomData))
    }

    /// Deserializes `T` (a derived struct) from a map being read.
    pub fn from_map<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
        &self,
        map: A,
    ) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(Checked { map, keys: self }))
    }

    /// The `required` keys absent from a map read to its end (none while it was not:
    /// then the failure was elsewhere).
    pub fn missing<'a>(&self, required: &[&'a str]) -> Vec<&'a str> {
        if !self.ended.get() {
            return Vec::new();
        }
        let seen = self.seen.borrow();
        required
            .iter()
            .filter(|k| !seen.iter().any(|s| s == *k))
            .copied()
            .collect()
    }
}

/// The map, with its keys checked.
struct Checked<'k, A> {
    map: A,
    keys: &'k StrictKeys,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Checked<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key_seed(KeyName(self.keys))? else {
            self.keys.ended.set(true);
            return Ok(None);
        };
        self.keys.seen.borrow_mut().push(key.clone());
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// A key, refused at its own position (the error is raised while the key is read).
struct KeyName<'k>(&'k StrictKeys);

impl<'de> DeserializeSeed<'de> for KeyName<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyName<'_> {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of: {}", self.0.fields.join(", "))
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        let keys = self.0;
        if !keys.fields.contains(&key) {
            return Err(raise(keys.unknown, unknown_key_message(key, keys.fields)));
        }
        if keys.seen.borrow().iter().any(|k| k == key) {
            return Err(raise(
                keys.duplicate,
                format!("duplicate key `{key}`: it is given twice"),
            ));
        }
        Ok(key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        id: String,
        #[serde(rename = "match")]
        mode: Option<String>,
        #[serde(default)]
        stdout: Vec<String>,
    }

    fn read(
        json: &str,
    ) -> (
        Result<Sample, serde_json::Error>,
        Option<DiagCode>,
        Vec<&'static str>,
    ) {
        let keys = StrictKeys::of::<Sample>(DiagCode::UnknownKey, DiagCode::BadCheck);
        let (out, code) = capture(|| {
            keys.deserialize::<Sample, _>(&mut serde_json::Deserializer::from_str(json))
        });
        (out, code, keys.missing(&["id"]))
    }

    #[test]
    fn fields_as_serde_names_them() {
        assert_eq!(fields_of::<Sample>(), ["id", "match", "stdout"]);
    }

    #[test]
    fn keys_are_checked_as_read() {
        let (out, code, missing) = read(r#"{"id": "a", "stdot": []}"#);
        let e = out.unwrap_err().to_string();
        assert_eq!(code, Some(DiagCode::UnknownKey));
        assert!(e.contains("did you mean `stdout`?"), "{e}");
        assert!(missing.is_empty(), "the map was not read to its end");

        let (out, code, _) = read(r#"{"id": "a", "id": "b"}"#);
        assert!(out.is_err());
        assert_eq!(code, Some(DiagCode::BadCheck));

        let (out, code, missing) = read(r#"{"match": "x"}"#);
        assert!(out.is_err());
        assert_eq!((code, missing), (None, vec!["id"]));

        let (out, code, _) = read(r#"{"id": "a", "match": "x"}"#);
        assert!(out.is_ok() && code.is_none());
    }

    #[test]
    fn captures_nest() {
        let ((), outer) = capture(|| {
            let _: ValueError = raise(DiagCode::BadRegex, "x");
            let ((), inner) = capture(|| {
                let _: ValueError = raise(DiagCode::BadDuration, "y");
            });
            assert_eq!(inner, Some(DiagCode::BadDuration));
        });
        assert_eq!(outer, Some(DiagCode::BadRegex));
    }

    #[test]
    fn codes_are_kebab_case() {
        assert_eq!(DiagCode::CheckNotAList.as_str(), "check-not-a-list");
        assert_eq!(
            DiagCode::FrontMatterUnknownKey.to_string(),
            "front-matter-unknown-key"
        );
        assert_eq!("bad-regex".parse::<DiagCode>(), Ok(DiagCode::BadRegex));
    }

    #[test]
    fn suggestions_are_typos_only() {
        let known = ["environments", "roles", "title"];
        assert_eq!(did_you_mean("enviroments", &known), Some("environments"));
        assert_eq!(did_you_mean("zzz", &known), None);
        assert_eq!(did_you_mean("titel", &known), Some("title"));
        assert_eq!(did_you_mean("1", &["id"]), None);
        assert_eq!(did_you_mean("stdot", &["stdout", "stderr"]), Some("stdout"));
    }
}
