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
