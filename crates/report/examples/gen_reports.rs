//! Writes a generated class (see `tplab_report::fixture::class`) for benchmarks and demos:
//! `gen_reports DIR [COUNT]` -> DIR/lab.md and DIR/reports/*.json.

use std::path::PathBuf;

use tplab_report::fixture::{LAB_MD, class};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/grade-bench".into()));
    let count: usize = args.next().map_or(Ok(200), |s| s.parse())?;
    anyhow::ensure!(count >= 100, "COUNT must be at least 100");
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports)?;
    std::fs::write(dir.join("lab.md"), LAB_MD)?;
    for file in class(count) {
        std::fs::write(reports.join(&file.name), &file.bytes)?;
    }
    println!("{}", dir.display());
    Ok(())
}
