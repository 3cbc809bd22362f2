//! The exec and attach sessions running in pods created through the API, by process
//! group, so that deleting a pod ends them as stopping its containers would (a shell
//! left in a node-shell pod would otherwise run on, on the node, after the pod is gone).

use std::sync::Mutex;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

#[derive(Default)]
pub struct Sessions {
    groups: Mutex<Vec<(String, String, i32)>>,
}

fn alive(pgid: i32) -> bool {
    // Signal 0: does the group still have a member?
    nix::sys::signal::killpg(Pid::from_raw(pgid), None).is_ok()
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, String, i32)>> {
        self.groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add(&self, namespace: &str, pod: &str, pgid: i32) {
        if pgid > 0 {
            self.lock()
                .push((namespace.to_string(), pod.to_string(), pgid));
        }
    }

    /// Drops the groups that have no process left (their session ended).
    pub fn forget_ended(&self) {
        self.lock().retain(|(_, _, g)| alive(*g));
    }

    /// The live groups of pod `namespace/pod`, no longer tracked.
    pub fn take(&self, namespace: &str, pod: &str) -> Vec<i32> {
        let mut g = self.lock();
        let (mine, rest): (Vec<_>, Vec<_>) = g
            .drain(..)
            .partition(|(ns, p, _)| ns == namespace && p == pod);
        *g = rest;
        mine.into_iter()
            .map(|(_, _, pgid)| pgid)
            .filter(|pgid| alive(*pgid))
            .collect()
    }
}

pub fn signal(groups: &[i32], sig: Signal) {
    for g in groups {
        let _ = nix::sys::signal::killpg(Pid::from_raw(*g), sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_kept_per_pod() {
        let s = Sessions::default();
        // This test's own process group is alive; pgid 0 is never tracked.
        let own = nix::unistd::getpgrp().as_raw();
        s.add("default", "a", own);
        s.add("default", "b", own);
        s.add("default", "a", 0);
        assert_eq!(s.take("default", "a"), [own]);
        assert!(s.take("default", "a").is_empty());
        s.forget_ended();
        assert_eq!(s.take("default", "b"), [own]);
    }
}
