//! Process groups of the lab commands running now. Each command runs in a group of its
//! own (so a timeout kills it and its children, and Ctrl-C on the terminal does not
//! reach it); when tplab exits through the signal handler, `kill_on_drop` never runs,
//! so the handler kills the registered groups itself before tearing sandboxes down.

use std::collections::BTreeSet;
use std::sync::Mutex;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

static GROUPS: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn groups() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    GROUPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running command's process group, registered while the guard lives. Dropped before
/// [`CommandGroup::finished`] (the future running it was cancelled), it kills the group.
#[derive(Debug)]
pub struct CommandGroup {
    pgid: i32,
    finished: bool,
}

impl CommandGroup {
    /// Registers group `pgid` (the pid of a child spawned with `process_group(0)`).
    pub fn track(pgid: u32) -> Option<CommandGroup> {
        let pgid = i32::try_from(pgid).ok().filter(|p| *p > 1)?;
        groups().insert(pgid);
        Some(CommandGroup {
            pgid,
            finished: false,
        })
    }

    /// The leader was reaped: unregister without killing what it left running
    /// (a lab may start a background process on purpose; `down` ends it).
    pub fn finished(mut self) {
        self.finished = true;
    }
}

impl Drop for CommandGroup {
    fn drop(&mut self) {
        groups().remove(&self.pgid);
        if !self.finished {
            let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGKILL);
        }
    }
}

/// SIGKILLs every registered group (the signal path: tplab is about to exit).
pub(crate) fn kill_all() -> Vec<i32> {
    let all: Vec<i32> = std::mem::take(&mut *groups()).into_iter().collect();
    for pgid in &all {
        let _ = killpg(Pid::from_raw(*pgid), Signal::SIGKILL);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_group_is_killed_finished_one_is_not() {
        use std::os::unix::process::CommandExt;
        let spawn = || {
            std::process::Command::new("sleep")
                .arg("30")
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut a = spawn();
        drop(CommandGroup::track(a.id()));
        let st = a.wait().unwrap();
        assert!(!st.success(), "cancelled group survived: {st:?}");
        let mut b = spawn();
        CommandGroup::track(b.id()).unwrap().finished();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(b.try_wait().unwrap().is_none(), "finished group was killed");
        let _ = b.kill();
        let _ = b.wait();
    }
}
