//! Evaluating a check item: render templates, dispatch on kind, poll until it passes
//! or its `timeout` runs out.

use std::time::{Duration, Instant};

use super::command;
use super::facts;
use super::outcome::Outcome;
use crate::env::Environment;
use crate::lab::CheckItem;
use crate::lab::checks::{CheckSpec, KindSpec};
use crate::template::{self, Vars};

/// Default pause between two attempts of a polling check.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(500);

/// A check's final outcome with how it was reached.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub name: String,
    pub kind: String,
    pub outcome: Outcome,
    pub attempts: u32,
    pub duration: Duration,
    /// The rendered spec (for points, hints); `None` if it could not be rendered.
    pub spec: Option<CheckSpec>,
}

/// Renders a check item with the current variables.
pub fn render(item: &CheckItem, vars: &Vars) -> Result<CheckSpec, RenderError> {
    let value = template::render_yaml(&item.raw, vars)?;
    Ok(serde_yaml::from_value::<CheckSpec>(value)?)
}

/// Why a check cannot be rendered with the current variables.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    /// The rendered values do not fit the check (e.g. a variable that is not a prefix).
    #[error(transparent)]
    Spec(#[from] serde_yaml::Error),
}

/// Evaluates `item` against `env`, polling per its `timeout`/`interval`.
pub async fn evaluate(
    env: &dyn Environment,
    default_role: &str,
    item: &CheckItem,
    vars: &Vars,
) -> Evaluated {
    evaluate_with(env, default_role, item, vars, true).await
}

/// Like [`evaluate`]; `poll: false` makes a single attempt whatever the check's
/// `timeout` (watch mode re-checks every second anyway).
pub async fn evaluate_with(
    env: &dyn Environment,
    default_role: &str,
    item: &CheckItem,
    vars: &Vars,
    poll: bool,
) -> Evaluated {
    let start = Instant::now();
    let spec = match render(item, vars) {
        Ok(spec) => spec,
        Err(e) => {
            return Evaluated {
                name: item.spec.display_name(),
                kind: item.spec.kind().map_or("check", KindSpec::name).to_string(),
                outcome: Outcome::error(format!("cannot render this check: {e}")),
                attempts: 0,
                duration: start.elapsed(),
                spec: None,
            };
        }
    };
    let mut spec = spec;
    if !poll {
        shorten_packet_window(&mut spec);
    }
    let timeout = if poll {
        spec.timeout.unwrap_or_default()
    } else {
        Duration::ZERO
    };
    let interval = spec.interval.unwrap_or(DEFAULT_INTERVAL);
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let outcome = once(env, default_role, &spec, vars).await;
        if outcome.passed() || start.elapsed() + interval > timeout {
            break outcome;
        }
        tokio::time::sleep(interval).await;
    };
    Evaluated {
        name: spec.display_name(),
        kind: spec.kind().map_or("check", KindSpec::name).to_string(),
        outcome,
        attempts,
        duration: start.elapsed(),
        spec: Some(spec),
    }
}

/// Watch mode re-checks every second while the student keeps sending traffic: observe
/// packets for at most a second per round instead of the check's full window.
fn shorten_packet_window(spec: &mut CheckSpec) {
    const WATCH_WINDOW: &str = "1500ms";
    for kind in &mut spec.kinds {
        if let KindSpec::Fact { kind, query } = kind
            && kind == "packets"
            && let serde_yaml::Value::Mapping(map) = query
        {
            let longer = map
                .get("within")
                .and_then(serde_yaml::Value::as_str)
                .and_then(|w| crate::lab::matchers::parse_duration(w).ok())
                .is_none_or(|w| w > Duration::from_millis(1500));
            if longer {
                map.insert("within".into(), WATCH_WINDOW.into());
            }
        }
    }
}

/// One attempt.
pub async fn once(
    env: &dyn Environment,
    default_role: &str,
    spec: &CheckSpec,
    vars: &Vars,
) -> Outcome {
    let role = spec.target.as_deref().unwrap_or(default_role);
    match spec.kind() {
        Some(KindSpec::Command {
            run,
            status,
            stdout,
            stderr,
        }) => {
            command::run_check(
                env,
                role,
                run,
                *status,
                stdout.as_ref(),
                stderr.as_ref(),
                &spec.capture,
            )
            .await
        }
        Some(KindSpec::Fact { kind, query }) => {
            facts::evaluate(env, role, kind, query, &spec.capture, vars).await
        }
        None => Outcome::error("this check has no single kind (see `tplab lint`)"),
    }
}
