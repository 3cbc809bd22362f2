//! `tplab run --auto LAB | head -1`: the reader leaves early; tplab ends quietly (status
//! 141, as for SIGPIPE) and removes the sandbox it built, like on any other end.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use tplab_testkit::Suite;

use crate::harness::{Failed, bin, fail, root};

pub fn register(suite: Suite) -> Suite {
    suite.root_test(
        "pipe::reader_leaving_early_leaves_no_sandbox",
        reader_leaves,
    )
}

fn reader_leaves() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut child = std::process::Command::new(bin())
        .current_dir(root())
        .args(["run", "--auto", "tests/fixtures/labs/sandbox-two-steps.md"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let stdout = child.stdout.take().ok_or_else(|| fail("no stdout"))?;
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .map_err(|e| fail(e.to_string()))?;
    // The reader is gone (its end of the pipe dropped).
    let status = child.wait().map_err(|e| fail(e.to_string()))?;
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let id: String = stderr
        .split("sandbox ")
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    if id.is_empty() {
        return Err(fail(format!("no sandbox id on stderr:\n{stderr}")));
    }
    if std::path::Path::new(&format!("/run/tplab/sandboxes/{id}.json")).exists() {
        let _ = crate::harness::tplab(["sandbox", "down", id.as_str()]).run();
        return Err(fail(format!("sandbox {id} left behind ({status})")));
    }
    if stderr.contains("panicked") {
        return Err(fail(format!("a panic reached the user:\n{stderr}")));
    }
    Ok(())
}
