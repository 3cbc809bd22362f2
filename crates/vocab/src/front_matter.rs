//! A lab's YAML front matter: its one schema and where it sits in the file, shared by
//! the runner (which reports problems at their line) and `tplab grade` (which only needs
//! to identify the lab).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Languages tplab speaks (its own messages, `crate::ui::i18n::Lang`): the values of a
/// lab's `lang` and of `--lang`.
pub const LANGS: &[&str] = &["en", "fr"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    pub id: String,
    pub title: String,
    #[serde(default = "default_lang")]
    pub lang: String,
    #[serde(default, deserialize_with = "string_like")]
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    /// Roles the lab's blocks may target, each in every environment or bound to some
    /// ([`crate::roles::Roles`]); the first is the default target.
    #[serde(default = "default_roles")]
    pub roles: crate::roles::Roles,
    /// Environments the lab supports (`local`, `sandbox`, `kube`); the first is the default.
    #[serde(default = "default_envs")]
    pub environments: Vec<String>,
    /// Lab-level variables available to every template: templates themselves, one
    /// value or one per environment ([`VarValue`]).
    #[serde(default)]
    pub vars: BTreeMap<String, VarValue>,
    #[serde(default)]
    pub scoring: Scoring,
    // Lifecycle (docs/lab-format.md, "Namespaces, lifecycle and requirements").
    /// Roles bound to named network namespaces on `local`.
    #[serde(default)]
    pub netns: crate::lifecycle::NetnsRoles,
    /// What tplab removes when the session ends.
    #[serde(default)]
    pub creates: crate::lifecycle::Creates,
    /// What the machine must provide before the lab starts.
    #[serde(default)]
    pub requires: crate::lifecycle::Requires,
    /// The sandbox's topology (nodes, pods, Services); the seed's when absent.
    #[serde(default)]
    pub sandbox: Option<crate::lab_sandbox::LabSandbox>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scoring {
    /// Points of a check unless it says otherwise.
    pub check: f64,
    /// Points of a question unless it says otherwise.
    pub question: f64,
    /// Attempts allowed per question unless it says otherwise.
    pub attempts: u32,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            check: 1.0,
            question: 1.0,
            attempts: 3,
        }
    }
}

/// A front-matter variable: one value (text, number or boolean, kept as its text; a
/// number stays a number in template expressions), or one per environment
/// (`{ sandbox: 203.0.113.10, kube: 1.0.0.1 }`, with an optional `default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarValue {
    One(String),
    PerEnv(BTreeMap<String, String>),
}

/// The key of a per-environment variable used where the environment has no value.
pub const VAR_DEFAULT: &str = "default";

impl VarValue {
    /// The value in environment `env` (its own, else `default`), if it has one.
    pub fn for_env(&self, env: &str) -> Option<&str> {
        match self {
            VarValue::One(v) => Some(v),
            VarValue::PerEnv(map) => map
                .get(env)
                .or_else(|| map.get(VAR_DEFAULT))
                .map(String::as_str),
        }
    }

    /// Every value it may take (templates to check).
    pub fn values(&self) -> Vec<&str> {
        match self {
            VarValue::One(v) => vec![v.as_str()],
            VarValue::PerEnv(map) => map.values().map(String::as_str).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for VarValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = VarValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a text, a number, a boolean, or a map of environment to value")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<VarValue, E> {
                Ok(VarValue::One(s.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<VarValue, E> {
                Ok(VarValue::One(b.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<VarValue, E> {
                Ok(VarValue::One(n.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<VarValue, E> {
                Ok(VarValue::One(n.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<VarValue, E> {
                Ok(VarValue::One(n.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<VarValue, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(env) = map.next_key::<String>()? {
                    let VarValue::One(value) = map.next_value::<VarValue>()? else {
                        return Err(serde::de::Error::custom(format!(
                            "the value for `{env}` must be a text, a number or a boolean"
                        )));
                    };
                    out.insert(env, value);
                }
                Ok(VarValue::PerEnv(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn default_lang() -> String {
    "en".into()
}
fn default_roles() -> crate::roles::Roles {
    crate::roles::Roles::everywhere(vec!["local".into()])
}
fn default_envs() -> Vec<String> {
    vec!["local".into()]
}

/// A version written as text or a number (`version: 2`). A visitor, so a wrong type is
/// reported at the value.
fn string_like<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a version string or number")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }
    d.deserialize_any(V)
}

impl FrontMatter {
    /// The keys without a default (checked by presence, so a missing one has its code).
    pub const REQUIRED: &[&str] = &["id", "title"];

    /// The role blocks target when they name none: the first declared.
    pub fn default_role(&self) -> &str {
        self.roles.first().map_or("local", String::as_str)
    }
}

/// The YAML text of the front matter (between the opening `---` line and the closing
/// `---` or `...` line), or `None` when the file does not start with one. A UTF-8 byte
/// order mark is allowed before it.
pub fn yaml_of(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Some(&rest[..offset]);
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_reads_the_front_matter() {
        let text = "\u{feff}---\nid: x\ntitle: X\nversion: 1.2\n---\n# body\n";
        let yaml = yaml_of(text).unwrap();
        let meta: FrontMatter = serde_yaml::from_str(yaml).unwrap();
        assert_eq!((meta.id.as_str(), meta.version.as_str()), ("x", "1.2"));
        assert_eq!(meta.default_role(), "local");
        assert!(yaml_of("# no front matter").is_none());
        assert!(yaml_of("---\nid: x\n").is_none(), "unclosed");
        assert!(serde_yaml::from_str::<FrontMatter>("id: x\ntitle: X\nnope: 1").is_err());
        let meta: FrontMatter = serde_yaml::from_str(
            "id: x\ntitle: X\nvars: {n: 3, on: true, ip: {sandbox: 203.0.113.10, default: 1.0.0.1}}",
        )
        .unwrap();
        assert_eq!(meta.vars["n"].for_env("local"), Some("3"));
        assert_eq!(meta.vars["on"].for_env("local"), Some("true"));
        assert_eq!(meta.vars["ip"].for_env("sandbox"), Some("203.0.113.10"));
        assert_eq!(meta.vars["ip"].for_env("kube"), Some("1.0.0.1"));
        assert!(
            serde_yaml::from_str::<FrontMatter>("id: x\ntitle: X\nvars: {a: {b: {c: 1}}}").is_err()
        );
    }

    #[test]
    fn required_keys_are_those_without_a_default() {
        let fields = crate::diag::fields_of::<FrontMatter>();
        assert!(FrontMatter::REQUIRED.iter().all(|k| fields.contains(k)));
        let yaml = |keys: &[&str]| {
            keys.iter()
                .map(|k| [k, ": x\n"].concat())
                .collect::<String>()
        };
        assert!(serde_yaml::from_str::<FrontMatter>(&yaml(FrontMatter::REQUIRED)).is_ok());
        for (i, _) in FrontMatter::REQUIRED.iter().enumerate() {
            let mut keys = FrontMatter::REQUIRED.to_vec();
            keys.remove(i);
            assert!(serde_yaml::from_str::<FrontMatter>(&yaml(&keys)).is_err());
        }
    }
}
