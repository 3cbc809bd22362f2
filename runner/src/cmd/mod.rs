//! One file per subcommand; this module dispatches and owns exit codes.

mod agent;
mod check;
mod cilium;
mod common;
mod import;
mod kernel_features;
mod lint;
mod preflight;
mod probe;
mod requires;
mod run;
mod sandbox;
mod serve;
mod test;
mod trace;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{self, Error};

pub use crate::status;

/// What every subcommand returns: the status of a run that completed, or why it could
/// not ([`Error::code`] picks the status then).
pub type Result = std::result::Result<u8, Error>;

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(status::ENV)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    common::setup_colors(&cli.global);
    let result = match cli.command {
        Command::Lint(args) => lint::run(&cli.global, &args),
        Command::Run(args) => common::block_on(run::run(cli.global.clone(), args)),
        Command::Serve(args) => common::block_on(serve::run(cli.global.clone(), args)),
        Command::Check(args) => common::block_on(check::run(cli.global.clone(), args)),
        Command::Test(args) => common::block_on(test::run(cli.global.clone(), args)),
        Command::Sandbox(cmd) => common::block_on(sandbox::run(cli.global.clone(), cmd)),
        Command::Probe(args) => common::block_on(probe::run(cli.global.clone(), args)),
        Command::Cilium(args) => cilium::run(&cli.global, &args),
        Command::Report(args) => tplab_report::run_report(&args)
            .map(exit_code)
            .map_err(Error::report),
        Command::Grade(args) => tplab_report::run_grade(&args)
            .map(exit_code)
            .map_err(Error::report),
        Command::Trace(args) => common::block_on(trace::run(cli.global.clone(), args)),
        Command::Import(args) => import::run(&cli.global, &args),
        Command::Agent(args) => agent::run(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Errors quote labs, students' files and command output: no escapes.
            eprintln!(
                "{} {}",
                console::style("error:").red().bold(),
                crate::ui::safe::text(&error::chain(&e))
            );
            ExitCode::from(e.code())
        }
    }
}
