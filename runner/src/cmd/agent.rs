//! `tplab agent`: the node agent. Reads batches of fact queries on stdin, one JSON line
//! each, and answers each with one JSON line on stdout (protocol:
//! [`tplab_probe::agent`]); runs until stdin ends. Nothing else is written to stdout,
//! and nothing it reads needs a file of the tplab install, so the binary alone can be
//! shipped into a node pod over exec stdin.

use crate::cli::AgentArgs;
use crate::error::Error;

pub fn run(args: &AgentArgs) -> super::Result {
    let roots = tplab_probe::agent::ScanRoots::new(args.scan.clone());
    let stdin = std::io::stdin().lock();
    // Not locked: a writer thread owns it (observations' lines go out between answers).
    let stdout = std::io::stdout();
    let log = args.log_batches;
    let served = tplab_probe::agent::serve_with(stdin, stdout, &roots, |line| {
        if log {
            eprintln!("{line}");
        }
    });
    match served {
        Ok(()) => Ok(super::status::OK),
        // The client went away: nobody is left to answer.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(super::status::OK),
        Err(e) => Err(Error::Io(std::io::Error::new(
            e.kind(),
            format!("serving fact queries: {e}"),
        ))),
    }
}
