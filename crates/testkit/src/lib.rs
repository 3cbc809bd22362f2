//! A tiny layer over `libtest-mimic` so every test binary of the workspace can mark
//! root-only tests as *ignored with a reason* at run time instead of silently passing.
//!
//! ```no_run
//! use tplab_testkit::{Suite, Failed};
//! fn main() {
//!     Suite::new()
//!         .test("parses", || Ok(()))
//!         .root_test("builds a netns", || Ok(()))
//!         .run();
//! }
//! ```

mod chromium;

pub use chromium::{CHROMIUM, MISSING_CHROMIUM, chromium, chromium_present};
pub use libtest_mimic::Failed;
use libtest_mimic::{Arguments, Trial};

/// Why root tests are skipped, printed by the harness next to each one.
pub const NEEDS_ROOT: &str =
    "needs root (network namespaces, netlink, BPF): run `sudo -E cargo test`";

/// True when running with effective uid 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A collection of trials run by `libtest-mimic`.
#[derive(Default)]
pub struct Suite {
    trials: Vec<Trial>,
}

impl Suite {
    pub fn new() -> Self {
        Self::default()
    }

    /// A test that needs no privilege.
    #[must_use]
    pub fn test<F>(mut self, name: &str, f: F) -> Self
    where
        F: FnOnce() -> Result<(), Failed> + Send + 'static,
    {
        self.trials.push(Trial::test(name, f));
        self
    }

    /// A test that needs root; reported as ignored (with [`NEEDS_ROOT`]) otherwise.
    #[must_use]
    pub fn root_test<F>(mut self, name: &str, f: F) -> Self
    where
        F: FnOnce() -> Result<(), Failed> + Send + 'static,
    {
        let root = is_root();
        let trial = Trial::test(name, f).with_kind("root");
        let trial = if root {
            trial
        } else {
            trial.with_ignored_flag(true)
        };
        if !root && !std::env::args().any(|a| a == "--list") {
            eprintln!("ignored `{name}`: {NEEDS_ROOT}");
        }
        self.trials.push(trial);
        self
    }

    /// A test that runs only when `var` is set (e.g. the kubeconfig of a real cluster);
    /// reported as ignored, with `why` it needs it, otherwise.
    #[must_use]
    pub fn opt_in_test<F>(mut self, name: &str, var: &str, why: &str, f: F) -> Self
    where
        F: FnOnce() -> Result<(), Failed> + Send + 'static,
    {
        let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
        let trial = Trial::test(name, f).with_kind("opt-in");
        let trial = if set {
            trial
        } else {
            trial.with_ignored_flag(true)
        };
        if !set && !std::env::args().any(|a| a == "--list") {
            eprintln!("ignored `{name}`: set {var} to run it ({why})");
        }
        self.trials.push(trial);
        self
    }

    /// Adds a prepared trial (e.g. a benchmark-free custom one).
    #[must_use]
    pub fn trial(mut self, trial: Trial) -> Self {
        self.trials.push(trial);
        self
    }

    /// Runs every trial and exits the process with libtest's conventions.
    pub fn run(self) -> ! {
        let mut args = Arguments::from_args();
        // Root tests share kernel state (iptables, BPF): keep them predictable on 2 cores.
        if args.test_threads.is_none() {
            args.test_threads = Some(2);
        }
        libtest_mimic::run(&args, self.trials).exit()
    }
}

/// Turns any displayable error into a test failure.
pub fn fail(msg: impl std::fmt::Display) -> Failed {
    Failed::from(msg.to_string())
}

/// `ensure!`-like helper for trial bodies.
#[macro_export]
macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::Failed::from(format!($($arg)+)));
        }
    };
}
