//! An [`Observer`] that keeps what tplab ran for the page (command, role, output).

use std::sync::Mutex;

use serde::Serialize;

use crate::check::Evaluated;
use crate::env::ExecOutput;
use crate::session::prove::StepProof;
use crate::session::{Observer, Session};

#[derive(Debug, Clone, Serialize, Default)]
pub struct Ran {
    pub role: String,
    pub command: String,
    pub output: String,
    pub status: Option<i32>,
}

/// The commands tplab ran for the student, and any warning, since the last take.
#[derive(Default)]
pub struct PageLog {
    ran: Mutex<Vec<Ran>>,
    warnings: Mutex<Vec<String>>,
}

impl PageLog {
    pub fn take(&self) -> (Vec<Ran>, Vec<String>) {
        let ran = std::mem::take(
            &mut *self
                .ran
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let warnings = std::mem::take(
            &mut *self
                .warnings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        (ran, warnings)
    }
}

impl Observer for PageLog {
    fn step_start(&self, _: &Session<'_>, _: usize) {}
    fn command_start(&self, command: &str, role: &str) {
        if let Ok(mut r) = self.ran.lock() {
            r.push(Ran {
                role: role.to_string(),
                command: command.to_string(),
                ..Ran::default()
            });
        }
    }
    fn command_output(&self, out: &ExecOutput) {
        if let Ok(mut r) = self.ran.lock()
            && let Some(last) = r.last_mut()
        {
            last.output = format!("{}{}", out.stdout, out.stderr);
            last.status = out.status;
        }
    }
    fn verdict(&self, _: &Evaluated) {}
    fn answered(&self, _: &str, _: &str) {}
    fn proof(&self, _: &StepProof) {}
    fn warn(&self, message: &str) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message.to_string());
        }
    }
    // The page shows the verdicts as they come; nothing to add.
    fn note(&self, _: &str) {}
}
