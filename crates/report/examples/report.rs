//! `tplab report` without the rest of tplab (template work, demos).

use clap::Parser;
use tplab_report::{ReportArgs, run_report};

#[derive(Parser)]
#[command(name = "tplab-report", about = "Render a tplab report.json")]
struct Cli {
    #[command(flatten)]
    args: ReportArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    std::process::exit(run_report(&cli.args)?);
}
