use std::process::ExitCode;

fn main() -> ExitCode {
    // The sandbox's world HTTP server re-executes this binary: serve and never return.
    tplab_sandbox::dispatch_if_daemon();
    tplab::cmd::main()
}
