//! RAII: a sandbox that is torn down when its guard goes out of scope (success, error,
//! panic unwinding). Signals are covered by `install_signal_cleanup`.

use crate::sandbox::Sandbox;

pub struct SandboxGuard {
    sandbox: Option<Sandbox>,
}

impl SandboxGuard {
    pub fn new(sandbox: Sandbox) -> Self {
        SandboxGuard {
            sandbox: Some(sandbox),
        }
    }

    /// Disarms the guard: the sandbox outlives this process (e.g. `tplab sandbox up`),
    /// so a later signal's cleanup leaves it alone too.
    pub fn keep(mut self) -> Sandbox {
        let sb = self
            .sandbox
            .take()
            .expect("guard holds a sandbox until dropped");
        sb.persist();
        sb
    }
}

impl std::ops::Deref for SandboxGuard {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        self.sandbox
            .as_ref()
            .expect("guard holds a sandbox until dropped")
    }
}

impl std::ops::DerefMut for SandboxGuard {
    fn deref_mut(&mut self) -> &mut Sandbox {
        self.sandbox
            .as_mut()
            .expect("guard holds a sandbox until dropped")
    }
}

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            let report = sb.down();
            for e in &report.errors {
                eprintln!("tplab sandbox teardown: {e}");
            }
        }
    }
}
