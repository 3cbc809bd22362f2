//! What a session reports as it goes. Drivers talk to an [`Observer`], never to the
//! terminal: the session does not depend on the UI (the UI's printer implements it).

use super::Session;
use super::prove::StepProof;
use crate::check::Evaluated;
use crate::env::ExecOutput;

pub trait Observer {
    /// Step `step` of the session's lab begins.
    fn step_start(&self, session: &Session<'_>, step: usize);
    /// tplab runs `command` on `role`.
    fn command_start(&self, command: &str, role: &str);
    /// What that command printed.
    fn command_output(&self, out: &ExecOutput);
    /// A check or transcript was judged.
    fn verdict(&self, evaluated: &Evaluated);
    /// A question answered without asking (auto mode): its prompt and the live answer.
    fn answered(&self, prompt: &str, answer: &str);
    /// `tplab test`'s conclusion on one step.
    fn proof(&self, proof: &StepProof);
    /// Something went wrong that does not stop the session.
    fn warn(&self, message: &str);
    /// Step `step` is passed by: it is not in this environment.
    fn not_in_env(&self, session: &Session<'_>, step: usize) {
        let _ = (session, step);
    }
    /// What the session is doing while the student may act (e.g. a packets window).
    fn note(&self, message: &str);
}
