//! `tplab grade` without the rest of tplab (benchmarks, instructors' scripts).

use clap::Parser;
use tplab_report::{GradeArgs, run_grade};

#[derive(Parser)]
#[command(name = "tplab-grade", about = "Grade a class of tplab reports")]
struct Cli {
    #[command(flatten)]
    args: GradeArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let code = run_grade(&cli.args)?;
    std::process::exit(code);
}
