//! A lab's `roles`: where its commands run. A list (`[local, red]`: every role in every
//! environment of the lab) or a map that binds roles per environment
//! (`{ pod: {}, world: { envs: [sandbox] } }`: `world` exists only in the sandbox). The
//! first role is the default target either way.

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::Deserialize;

/// The declared roles in order, with the environments each is restricted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    names: Vec<String>,
    /// Role -> the environments it exists in; absent: every environment of the lab.
    envs: BTreeMap<String, Vec<String>>,
}

/// One entry of the map form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    /// The environments this role exists in (default: every environment of the lab).
    #[serde(default)]
    pub envs: Vec<String>,
}

impl Roles {
    /// Roles bound in every environment.
    pub fn everywhere(names: Vec<String>) -> Self {
        Self {
            names,
            envs: BTreeMap::new(),
        }
    }

    /// True when `role` is declared and exists in environment `env`.
    pub fn in_env(&self, role: &str, env: &str) -> bool {
        self.names.iter().any(|r| r == role)
            && self
                .envs
                .get(role)
                .is_none_or(|envs| envs.iter().any(|e| e == env))
    }

    /// The environments `role` is restricted to (`None`: every environment of the lab).
    pub fn envs_of(&self, role: &str) -> Option<&[String]> {
        self.envs.get(role).map(Vec::as_slice)
    }
}

impl Deref for Roles {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.names
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Roles;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of roles, or a map of role to `{ envs: [...] }`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Roles, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(Roles::everywhere(names))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Roles, A::Error> {
                let mut roles = Roles::default();
                while let Some(name) = map.next_key::<String>()? {
                    // `world:` with no value is `world: {}`.
                    let spec = map.next_value::<Option<RoleSpec>>()?.unwrap_or_default();
                    if roles.names.contains(&name) {
                        return Err(serde::de::Error::custom(format!(
                            "role `{name}` is declared twice"
                        )));
                    }
                    if !spec.envs.is_empty() {
                        roles.envs.insert(name.clone(), spec.envs);
                    }
                    roles.names.push(name);
                }
                Ok(roles)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_map_forms() {
        let list: Roles = serde_yaml::from_str("[pod, world]").unwrap();
        assert_eq!(list.as_slice(), ["pod", "world"]);
        assert!(list.in_env("world", "kube"));
        let map: Roles =
            serde_yaml::from_str("{ pod: {}, world: { envs: [sandbox] }, node: }").unwrap();
        assert_eq!(map.as_slice(), ["pod", "world", "node"], "order kept");
        assert!(map.in_env("world", "sandbox"));
        assert!(!map.in_env("world", "kube"));
        assert!(map.in_env("pod", "kube"));
        assert!(!map.in_env("nope", "kube"));
        assert_eq!(map.envs_of("world"), Some(&["sandbox".to_string()][..]));
        assert!(serde_yaml::from_str::<Roles>("{ pod: { env: [x] } }").is_err());
        assert!(serde_yaml::from_str::<Roles>("pod").is_err());
    }
}
