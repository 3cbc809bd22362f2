use std::process::ExitCode;

fn main() -> ExitCode {
    // The sandbox's daemons (its Kubernetes API, the world's HTTP server) re-execute this
    // binary: serve and never return.
    tplab_kubeapi::dispatch_if_daemon();
    tplab_sandbox::dispatch_if_daemon();
    // Behave like other Unix tools when piped into `head`: end quietly, no panic.
    // SAFETY: setting a signal disposition to its default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tplab::cmd::main()
}
