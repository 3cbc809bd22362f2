use std::process::ExitCode;

fn main() -> ExitCode {
    tplab::cmd::main()
}
