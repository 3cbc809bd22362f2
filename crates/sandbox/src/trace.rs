//! Phase timings on stderr when `TPLAB_SANDBOX_TRACE` is set (for bench/sandbox).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("TPLAB_SANDBOX_TRACE").is_some())
}

/// Prints `phase` with the time elapsed since `start`.
pub(crate) fn mark(start: Instant, phase: &str) {
    if enabled() {
        eprintln!(
            "tplab-sandbox: {:>8.3} ms  {phase}",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
