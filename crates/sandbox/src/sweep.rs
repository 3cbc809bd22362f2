//! `tplab sandbox down [ID | --all]` on a shared machine: which sandboxes may go.
//! A sandbox is left alone while a live process holds its lock (building or using it;
//! `force` overrides) or when it belongs to another user (`all_users` overrides). A
//! tplab killed by SIGKILL holds no lock any more, so its sandbox is swept. Leftovers that have
//! no state file (nobody can attach to them) belong to nobody and are always swept.

use std::collections::BTreeSet;

use crate::cleanup::{DownReport, SkipReason, Skipped, delete_netns, teardown};
use crate::error::SandboxError;
use crate::ids::{NETNS_PREFIX, id_of_netns, valid_id};
use crate::state::{self, BPF_PIN_DIR};
use crate::{daemon, lock};

/// What `down` may remove beyond the caller's own unused sandboxes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DownOptions {
    /// Also sandboxes a live process is building or using.
    pub force: bool,
    /// Also other users' sandboxes.
    pub all_users: bool,
}

/// The user sandboxes are recorded for: the one behind `sudo` (everyone is root to
/// build a sandbox, so the real uid alone would make every sandbox everyone's).
pub fn caller_uid() -> u32 {
    let uid = nix::unistd::getuid().as_raw();
    if uid == 0
        && let Some(sudo) = std::env::var("SUDO_UID").ok().and_then(|v| v.parse().ok())
    {
        return sudo;
    }
    uid
}

/// Whose a sandbox is, according to its state file.
enum Owner {
    /// No state file: an orphan nobody can attach to, nobody's.
    Nobody,
    /// The recorded uid; `None` when the file names none or cannot be read (it may be
    /// being written right now).
    Recorded(Option<u32>),
}

fn owner_of(id: &str) -> Owner {
    match state::load(id) {
        Ok(st) => Owner::Recorded(st.owner_uid),
        Err(SandboxError::NotFound { .. }) => Owner::Nobody,
        Err(_) => Owner::Recorded(None),
    }
}

/// Removes sandbox `id` unless `options` say to leave it (then it is in `skipped`).
pub fn down(id: &str, options: DownOptions) -> DownReport {
    let mut report = DownReport::default();
    if let Err(e) = state::checked(id) {
        report.errors.push(e.to_string());
        return report;
    }
    let skip = |reason| DownReport {
        skipped: vec![Skipped {
            id: id.to_string(),
            reason,
        }],
        ..DownReport::default()
    };
    if !options.all_users
        && let Owner::Recorded(owner) = owner_of(id)
        && owner != Some(caller_uid())
    {
        return skip(SkipReason::Owner { uid: owner });
    }
    // Held across the teardown: nobody attaches to a sandbox being removed.
    let _lock = match lock::removal_lock(id) {
        Ok(Some(l)) => Some(l),
        Ok(None) if options.force => None,
        Ok(None) => {
            return skip(SkipReason::InUse {
                pids: lock::lock_holders(id),
            });
        }
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    report.merge(teardown(id));
    report
}

/// Every sandbox id with a leftover of any kind, restricted to ids starting with `prefix`.
fn leftover_ids(prefix: &str) -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = state::ids_on_disk().into_iter().collect();
    ids.extend(
        tplab_netns::list()
            .iter()
            .filter_map(|n| id_of_netns(n).map(str::to_string)),
    );
    ids.extend(daemon::scan().into_iter().map(|(_, id)| id));
    let names = |dir: &str| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    ids.extend(names(BPF_PIN_DIR).into_iter().filter(|n| valid_id(n)));
    ids.extend(crate::socklb_cgroup::leftover_ids());
    // Per-sandbox dirs and lock files beside the state files.
    ids.extend(
        names(state::STATE_DIR)
            .into_iter()
            .map(|n| match n.strip_suffix(".lock") {
                Some(id) => id.to_string(),
                None => n,
            })
            .filter(|n| valid_id(n)),
    );
    ids.retain(|id| id.starts_with(prefix));
    ids
}

/// Removes every sandbox whose id starts with `prefix`, in use or not, whoever's (tests
/// use it to stay clear of sandboxes other tests run at the same time).
pub fn down_matching(prefix: &str) -> DownReport {
    let forced = DownOptions {
        force: true,
        all_users: true,
    };
    let mut report = DownReport::default();
    for id in leftover_ids(prefix) {
        report.merge(down(&id, forced));
    }
    report
}

/// Removes every leftover of every sandbox `options` allow, including `tplab-*` netns
/// that follow no sandbox naming (an older version), after a SIGKILL too.
pub fn down_all(options: DownOptions) -> DownReport {
    let mut report = DownReport::default();
    for id in leftover_ids("") {
        report.merge(down(&id, options));
    }
    let strays: Vec<String> = tplab_netns::list()
        .into_iter()
        .filter(|n| n.starts_with(NETNS_PREFIX) && id_of_netns(n).is_none())
        .collect();
    delete_netns(&strays, &mut report);
    report
}
