//! The documentation's examples are complete labs: each must lint clean and be
//! proven solvable, so the docs cannot drift from the tool.

use tplab_testkit::Suite;

use crate::harness::{Failed, fail, root, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "docs::lab_format_examples_are_runnable",
            lab_format_examples,
        )
        .root_test(
            "docs::check_kind_examples_are_solvable_on_the_sandbox",
            check_kind_examples,
        )
}

/// docs/checks.md's complete labs (the `packets`, `sysctl`, `firewall` and `k8s` kinds,
/// on the sandbox).
fn check_kind_examples() -> Result<(), Failed> {
    let (_dir, labs) = written_examples("docs/checks.md", 4)?;
    for (n, (path, lab)) in labs.iter().enumerate() {
        tplab(["test".as_ref(), path.as_os_str()])
            .run()
            .success()
            .map_err(|e| fail(format!("example {n} is not solvable: {e:?}\n{lab}")))?;
    }
    Ok(())
}

/// A page's examples (at least `min`), each written as a lab file in a temporary folder
/// (kept alive by the returned guard).
fn written_examples(
    page: &str,
    min: usize,
) -> Result<(tempfile::TempDir, Vec<(std::path::PathBuf, String)>), Failed> {
    let text = std::fs::read_to_string(root().join(page)).map_err(|e| fail(e.to_string()))?;
    let labs = examples(&text);
    if labs.len() < min {
        return Err(fail(format!(
            "{page}: expected at least {min} examples, found {}",
            labs.len()
        )));
    }
    let dir = tempdir();
    let mut out = Vec::new();
    for (n, lab) in labs.into_iter().enumerate() {
        let path = dir.path().join(format!("example-{n}.md"));
        std::fs::write(&path, &lab).map_err(|e| fail(e.to_string()))?;
        out.push((path, lab));
    }
    Ok((dir, out))
}

/// The `markdown` example blocks (four-backtick fences) of a page.
fn examples(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        match &mut current {
            None if line.trim_end() == "````markdown" => current = Some(String::new()),
            Some(_) if line.trim_end() == "````" => out.push(current.take().unwrap_or_default()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

fn lab_format_examples() -> Result<(), Failed> {
    let (_dir, labs) = written_examples("docs/lab-format.md", 8)?;
    for (n, (path, lab)) in labs.iter().enumerate() {
        tplab(["lint".as_ref(), path.as_os_str()])
            .run()
            .success()
            .map_err(|e| fail(format!("example {n} does not lint: {e:?}")))?;
        // An example that `requires: { root: true }` says so and exits 3 without it.
        if lab.contains("root: true") && !tplab_testkit::is_root() {
            continue;
        }
        tplab([
            "test".as_ref(),
            path.as_os_str(),
            "--env".as_ref(),
            "local".as_ref(),
        ])
        .run()
        .success()
        .map_err(|e| fail(format!("example {n} is not solvable: {e:?}\n{lab}")))?;
    }
    Ok(())
}
