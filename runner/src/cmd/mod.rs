//! One file per subcommand; this module dispatches and owns exit codes.

mod check;
mod cilium;
mod common;
mod lint;
mod preflight;
mod probe;
mod run;
mod sandbox;
mod test;
mod trace;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Exit status conventions.
pub mod status {
    /// Everything passed.
    pub const OK: u8 = 0;
    /// Checks failed, lint errors, a lab not proven solvable.
    pub const FAILED: u8 = 1;
    /// Bad usage or a lab that does not parse.
    pub const USAGE: u8 = 2;
    /// The environment could not be used (privileges, missing tools, checker errors).
    pub const ENV: u8 = 3;
}

fn usage_error(e: &anyhow::Error) -> u8 {
    // Errors quote labs, students' files and command output: no escapes.
    eprintln!(
        "{} {}",
        console::style("error:").red().bold(),
        crate::ui::safe::text(&format!("{e:#}"))
    );
    status::USAGE
}

fn exit_code(code: i32) -> u8 {
    u8::try_from(code).unwrap_or(status::ENV)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    common::setup_colors(&cli.global);
    let result = match cli.command {
        Command::Lint(args) => lint::run(&cli.global, &args),
        Command::Run(args) => common::block_on(run::run(cli.global.clone(), args)),
        Command::Check(args) => common::block_on(check::run(cli.global.clone(), args)),
        Command::Test(args) => common::block_on(test::run(cli.global.clone(), args)),
        Command::Sandbox(cmd) => common::block_on(sandbox::run(cli.global.clone(), cmd)),
        Command::Probe(args) => common::block_on(probe::run(cli.global.clone(), args)),
        Command::Cilium(args) => cilium::run(&cli.global, &args),
        // Nothing could be rendered/graded at all: a usage-level failure (docs/grading.md).
        Command::Report(args) => {
            Ok(tplab_report::run_report(&args).map_or_else(|e| usage_error(&e), exit_code))
        }
        Command::Grade(args) => {
            Ok(tplab_report::run_grade(&args).map_or_else(|e| usage_error(&e), exit_code))
        }
        Command::Trace(args) => common::block_on(trace::run(cli.global.clone(), args)),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!(
                "{} {}",
                console::style("error:").red().bold(),
                crate::ui::safe::text(&format!("{e:#}"))
            );
            ExitCode::from(status::ENV)
        }
    }
}
