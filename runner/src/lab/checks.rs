//! The YAML body of a `check` block: a list of typed assertions.
//!
//! Each item has common keys (name, target, points, hint, `fail_message`, timeout,
//! interval, capture, before, env) and exactly one *kind* key saying what to assert: `run` (a command and
//! its exit status / output) or a kernel-fact kind (`route`, `neighbour`, `link`,
//! `address`, `bpf_attached`, `conntrack`, `packets`, `bpf_map`). Unknown keys are
//! errors, reported by `serde_yaml` at their line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::matchers::{OneOrMany, StatusMatch, TextMatch, TextSpec, deserialize_duration};

/// Keys shared by every check kind.
pub const COMMON_KEYS: &[&str] = &[
    "name",
    "id",
    "target",
    "points",
    "hint",
    "timeout",
    "interval",
    "capture",
    "before",
    "env",
    "partial",
    "fail_message",
    "netns",
];
/// The shortest polling `interval`: checking more often only burns CPU, and `0` would
/// spin. Documented in `docs/checks.md`.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Keys only meaningful with `run`.
pub const COMMAND_KEYS: &[&str] = &["run", "status", "stdout", "stderr"];

/// Kinds whose body is evaluated over facts gathered by a probe.
pub fn fact_kinds() -> &'static [&'static str] {
    super::kinds::fact_kinds()
}

/// What the test mode expects of a check *before* its step's solution runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Before {
    /// The check must fail before the solution (default): proves the step is needed.
    #[default]
    Fail,
    /// The check must already pass (observing pre-existing state).
    Pass,
    /// Not testable that way: either outcome is fine.
    Any,
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful per lab: boxing buys nothing
pub enum KindSpec {
    /// Run a command on the target; assert status / stdout / stderr.
    Command {
        run: String,
        status: Option<StatusMatch>,
        stdout: Option<TextMatch>,
        stderr: Option<TextMatch>,
    },
    /// A fact kind with its (unrendered) query.
    Fact {
        kind: String,
        query: serde_yaml::Value,
    },
    /// `any_of` / `all_of`: nested checks whose verdicts combine (see `lab/groups.rs`).
    Group(super::groups::Group),
}

impl KindSpec {
    pub fn name(&self) -> &str {
        match self {
            KindSpec::Command { .. } => "command",
            KindSpec::Fact { kind, .. } => kind,
            KindSpec::Group(g) => g.mode.key(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub name: Option<String>,
    pub id: Option<String>,
    pub target: Option<String>,
    pub points: Option<f64>,
    /// Progressive hints: first a nudge, then more.
    pub hints: Vec<String>,
    /// The author's words shown (and recorded) whenever the check fails, in the lab's
    /// language: Instruqt's `FAIL:` line. Templated like every text of the check.
    pub fail_message: Option<String>,
    pub timeout: Option<Duration>,
    pub interval: Option<Duration>,
    /// Variable name -> field of the matched fact (`stdout`, `stderr`, `status` for commands).
    pub capture: BTreeMap<String, String>,
    pub before: Before,
    pub env: Vec<String>,
    /// `partial: true` on an `all_of` group: the share of its members that pass earns
    /// that share of its points.
    pub partial: bool,
    /// `netns: NAME` (on `local`): the check reads, and runs its command, inside this
    /// named network namespace instead of a role's.
    pub netns: Option<String>,
    /// Every kind key found, in order (a valid check has exactly one).
    pub kinds: Vec<KindSpec>,
    /// Command-only keys given without `run` (reported by lint).
    pub stray_command_keys: Vec<&'static str>,
}

impl CheckSpec {
    pub fn kind(&self) -> Option<&KindSpec> {
        match self.kinds.as_slice() {
            [kind] => Some(kind),
            _ => None,
        }
    }

    /// A readable default name when the author gave none.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match self.kind() {
            Some(KindSpec::Command { run, .. }) => format!("`{}`", run.trim()),
            Some(KindSpec::Fact { kind, .. }) => format!("{kind} check"),
            Some(KindSpec::Group(g)) => g.display_name(),
            None => "check".into(),
        }
    }
}

impl<'de> Deserialize<'de> for CheckSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(SpecVisitor)
    }
}

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = CheckSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a check: a map with one kind key (run, route, neighbour, link, ...)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CheckSpec, A::Error> {
        let mut spec = CheckSpec {
            name: None,
            id: None,
            target: None,
            points: None,
            hints: Vec::new(),
            fail_message: None,
            timeout: None,
            interval: None,
            capture: BTreeMap::new(),
            before: Before::Fail,
            env: Vec::new(),
            partial: false,
            netns: None,
            kinds: Vec::new(),
            stray_command_keys: Vec::new(),
        };
        let mut run: Option<String> = None;
        let mut status = None;
        let mut stdout = None;
        let mut stderr = None;
        // Keys are checked as they are read, so an unknown one is reported at itself.
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_str() {
                "name" => spec.name = Some(map.next_value()?),
                "id" => spec.id = Some(map.next_value()?),
                "target" => spec.target = Some(map.next_value()?),
                "points" => spec.points = Some(map.next_value_seed(PointsSeed)?),
                "hint" => spec.hints = map.next_value::<OneOrMany>()?.0,
                "fail_message" => spec.fail_message = Some(map.next_value()?),
                "timeout" => spec.timeout = map.next_value_seed(DurationSeed(Duration::ZERO))?,
                "interval" => spec.interval = map.next_value_seed(DurationSeed(MIN_INTERVAL))?,
                "capture" => spec.capture = map.next_value()?,
                "before" => spec.before = map.next_value()?,
                "env" => spec.env = map.next_value::<OneOrMany>()?.0,
                "partial" => spec.partial = map.next_value()?,
                "netns" => spec.netns = Some(map.next_value()?),
                "run" => run = Some(map.next_value()?),
                "status" => status = Some(map.next_value::<StatusMatch>()?),
                "stdout" => stdout = Some(map.next_value::<TextSpec>()?.0),
                "stderr" => stderr = Some(map.next_value::<TextSpec>()?.0),
                key @ (super::groups::ANY_OF | super::groups::ALL_OF) => {
                    spec.kinds.push(KindSpec::Group(super::groups::Group {
                        mode: super::groups::Mode::of(key),
                        members: map.next_value()?,
                    }));
                }
                other => {
                    let kind = fact_kinds()
                        .iter()
                        .find(|k| **k == other)
                        .expect("KeySeed lets only known keys through");
                    let query = map.next_value_seed(super::kinds::QuerySeed(kind))?;
                    spec.kinds.push(KindSpec::Fact {
                        kind: (*kind).to_string(),
                        query,
                    });
                }
            }
        }
        if let Some(run) = run {
            spec.kinds.insert(
                0,
                KindSpec::Command {
                    run,
                    status,
                    stdout,
                    stderr,
                },
            );
        } else {
            for (present, key) in [
                (status.is_some(), "status"),
                (stdout.is_some(), "stdout"),
                (stderr.is_some(), "stderr"),
            ] {
                if present {
                    spec.stray_command_keys.push(key);
                }
            }
        }
        Ok(spec)
    }
}

/// A check key, refused at its own position when unknown.
struct KeySeed;

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a check key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        if all_keys().contains(&key) {
            Ok(key.to_string())
        } else {
            Err(tplab_vocab::diag::raise(
                tplab_vocab::DiagCode::UnknownKey,
                tplab_vocab::diag::unknown_key_message(key, all_keys()),
            ))
        }
    }
}

/// A duration of at least the given minimum.
struct DurationSeed(Duration);

impl<'de> de::DeserializeSeed<'de> for DurationSeed {
    type Value = Option<Duration>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        deserialize_duration(d, self.0)
    }
}

/// A non-negative number of points.
struct PointsSeed;

impl<'de> de::DeserializeSeed<'de> for PointsSeed {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for PointsSeed {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative number of points")
    }
    fn visit_f64<E: de::Error>(self, p: f64) -> Result<f64, E> {
        if p >= 0.0 && p.is_finite() {
            Ok(p)
        } else {
            Err(E::custom(format!(
                "invalid points `{p}`: must not be negative"
            )))
        }
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, p: i64) -> Result<f64, E> {
        self.visit_f64(p as f64)
    }
    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, p: u64) -> Result<f64, E> {
        self.visit_f64(p as f64)
    }
}

fn all_keys() -> &'static [&'static str] {
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        COMMON_KEYS
            .iter()
            .chain(COMMAND_KEYS)
            .chain(super::groups::KEYS)
            .chain(fact_kinds())
            .copied()
            .collect()
    })
}

/// Keys valid in a check item, for "did you mean" suggestions.
pub fn known_keys() -> &'static [&'static str] {
    all_keys()
}
