//! Lifecycle blocks: commands tplab runs itself to prepare a step or the lab
//! (` ```sh {setup} `) and to undo it (` ```sh {cleanup} `), before the first step for
//! the lab, inside a step for that step. Hidden from the student unless `shown`.

use super::model::{CommandBlock, ItemKind, Lab, Step};

/// When tplab runs a lifecycle block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Lab level: before the first step. Step level: when the step starts.
    Setup,
    /// Lab level: when the session ends (finish, Quit, Ctrl-C, SIGTERM). Step level:
    /// when the step is done or skipped.
    Cleanup,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Cleanup => "cleanup",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LifecycleBlock {
    pub phase: Phase,
    /// `shown`: the student sees the command (and its output) when tplab runs it.
    pub shown: bool,
    /// `target`, `env`, `timeout`, `status` as on any command block.
    pub block: CommandBlock,
}

/// The lifecycle blocks of `phase` among `items`.
pub fn blocks_of(items: &[super::Item], phase: Phase) -> impl Iterator<Item = &LifecycleBlock> {
    items.iter().filter_map(move |i| match &i.kind {
        ItemKind::Lifecycle(l) if l.phase == phase => Some(l),
        _ => None,
    })
}

impl Lab {
    /// The lab-level blocks of `phase` (those before the first step).
    pub fn lifecycle(&self, phase: Phase) -> impl Iterator<Item = &LifecycleBlock> {
        blocks_of(&self.intro, phase)
    }

    /// Whether the session leaves state tplab must remove at the end.
    pub fn tears_down(&self) -> bool {
        !self.meta.creates.is_empty()
            || self.lifecycle(Phase::Cleanup).next().is_some()
            || self
                .steps
                .iter()
                .any(|s| s.lifecycle(Phase::Cleanup).next().is_some())
    }
}

impl Step {
    /// The step's blocks of `phase`.
    pub fn lifecycle(&self, phase: Phase) -> impl Iterator<Item = &LifecycleBlock> {
        blocks_of(&self.items, phase)
    }
}

/// The variable naming role `role`'s namespace: `netns_red` (`-` becomes `_`).
pub fn netns_var(role: &str) -> String {
    format!("netns_{}", role.replace('-', "_"))
}

/// Every namespace variable (`netns_red`) with its template (`red-{{ session_id }}`).
pub fn netns_vars(meta: &super::FrontMatter) -> std::collections::BTreeMap<String, String> {
    meta.netns
        .iter()
        .map(|(role, name)| (netns_var(role), name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_and_cleanup_blocks_are_the_lab_s_or_the_step_s() {
        let text = "---\nid: t\ntitle: T\nroles: [local, red]\nnetns: { red: \"r-{{ session_id }}\" }\ncreates: { netns: [red] }\n---\n\n```sh {setup}\nip netns add {{ netns_red }}\n```\n\n```sh {cleanup target=red timeout=5s}\nip link\n```\n\n## S\n\n```sh {setup shown target=red}\nip link set lo down\n```\n\n```sh {target=local}\nip -n {{ netns_red }} link set lo up\n```\n\n```check\n- link: { name: lo, admin_up: true }\n  target: red\n```\n";
        let parsed = crate::lab::parse("t.md", text.to_string());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let lab = parsed.lab.expect("a lab");
        let setup: Vec<&LifecycleBlock> = lab.lifecycle(Phase::Setup).collect();
        assert_eq!(setup.len(), 1);
        assert!(!setup[0].shown);
        let cleanup: Vec<&LifecycleBlock> = lab.lifecycle(Phase::Cleanup).collect();
        assert_eq!(cleanup[0].block.target, "red");
        assert_eq!(
            cleanup[0].block.timeout,
            Some(std::time::Duration::from_secs(5))
        );
        let step: Vec<&LifecycleBlock> = lab.steps[0].lifecycle(Phase::Setup).collect();
        assert!(step[0].shown);
        assert!(lab.tears_down());
        // Not a student's command: neither an action nor shown as one.
        assert_eq!(
            crate::session::plan::actions(
                &lab.steps[0],
                crate::session::plan::Scope::new(&lab.meta, "local")
            )
            .len(),
            1
        );
        assert_eq!(netns_vars(&lab.meta)["netns_red"], "r-{{ session_id }}");
        assert!(crate::lint::lint(&lab).iter().all(|d| !d.is_error()));
    }
}
