//! Issue 10, lab side: no input panics or hangs a command, no tplab block is dropped
//! silently, and lint's misses and positions. (Positions of single mistakes are in the
//! `BROKEN` table of `lint.rs`.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Failed, Output, bin, fail, fixture, root, tempdir, tplab};
use tplab_testkit::Suite;

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "hardening_lab::non_ascii_info_string_panics_no_command",
            non_ascii_info_string,
        )
        .test(
            "hardening_lab::blocks_in_lists_and_quotes_are_checked",
            nested_blocks_are_checked,
        )
        .test(
            "hardening_lab::symlink_loops_in_a_lab_folder_end",
            symlink_loops_end,
        )
        .test("hardening_lab::fifo_lab_is_an_error", fifo_is_an_error)
        .test("hardening_lab::device_lab_is_an_error", device_is_an_error)
        .test(
            "hardening_lab::lab_over_size_limit_is_an_error",
            over_size_limit,
        )
        .test(
            "hardening_lab::many_diagnostics_print_in_linear_time",
            many_diagnostics_are_fast,
        )
        .test("hardening_lab::byte_order_mark_is_accepted", bom_accepted)
        .test(
            "hardening_lab::template_builtins_are_not_variables",
            template_builtins,
        )
        .test("hardening_lab::lang_option_is_checked", lang_option)
        .test(
            "hardening_lab::lint_folder_without_lab_is_an_error",
            folder_without_lab,
        )
        .test(
            "hardening_lab::fuzz_findings_stay_fixed",
            fuzz_findings_stay_fixed,
        )
}

/// `tplab ARGS` with a deadline: a hang is a failure, not a stuck test run.
fn tplab_within(args: &[&std::ffi::OsStr], limit: Duration) -> Result<Output, Failed> {
    let shown: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("TPLAB_ENV")
        .env_remove("TPLAB_SANDBOX")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("spawn tplab: {e}")))?;
    // Drain both pipes meanwhile: a child blocked on a full pipe would look hung.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    while child.try_wait().map_err(|e| fail(e.to_string()))?.is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!(
                "`tplab {}` did not end within {limit:?}",
                shown.join(" ")
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().map_err(|e| fail(format!("tplab: {e}")))?;
    Ok(Output {
        command: format!("tplab {}", shown.join(" ")),
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

fn no_panic(out: &Output) -> Result<(), Failed> {
    if out.code == 101 || out.stderr.contains("panicked") {
        return Err(fail(format!(
            "`{}` panicked (exit {}):\n{}",
            out.command, out.code, out.stderr
        )));
    }
    Ok(())
}

fn non_ascii_info_string() -> Result<(), Failed> {
    // The issue's reproduction: no front matter, a lone `é` attribute.
    let dir = tempdir();
    let bare = dir.path().join("x.md");
    std::fs::write(&bare, "```sh {\u{e9}}\n```\n").map_err(|e| fail(e.to_string()))?;
    let out = tplab(["lint".as_ref(), bare.as_os_str()]).run();
    no_panic(&out)?;
    out.code(1)?
        .stderr_has(":1:8")?
        .stderr_has("[bad-attributes]")?;
    // Every command that loads a lab refuses it cleanly.
    let lab = fixture("lint/non-ascii-attribute.md");
    for cmd in ["test", "run", "check"] {
        let out = tplab([
            cmd.as_ref(),
            lab.as_os_str(),
            "--env".as_ref(),
            "local".as_ref(),
        ])
        .run();
        no_panic(&out)?;
        out.code(2)?
            .stderr_has("non-ascii-attribute.md:10:8")?
            .stderr_has("unexpected `é` in attributes")?;
    }
    Ok(())
}

fn nested_blocks_are_checked() -> Result<(), Failed> {
    let lab = fixture("hardening/nested-blocks.md");
    tplab(["lint".as_ref(), lab.as_os_str()])
        .run()
        .success()?
        .stderr_has("0 error(s), 0 warning(s)")?;
    let out = tplab([
        "test".as_ref(),
        lab.as_os_str(),
        "--env".as_ref(),
        "local".as_ref(),
        "--json".as_ref(),
    ])
    .run();
    out.success()?;
    let json = out.json()?;
    let checks: Vec<_> = json["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (s["checks"].as_u64(), s["passed_after"].as_u64()))
        .collect();
    // One check in a list item, one in a block quote, each proven by its solution.
    if json["ok"] != true || checks != [(Some(1), Some(1)), (Some(1), Some(1))] {
        return Err(fail(format!("nested checks not run: {json:#}")));
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    std::fs::write(path, text).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn symlink(to: &str, at: &Path) -> Result<(), Failed> {
    std::os::unix::fs::symlink(to, at).map_err(|e| fail(format!("{}: {e}", at.display())))
}

fn symlink_loops_end() -> Result<(), Failed> {
    let dir = tempdir();
    let d = dir.path().join("d");
    std::fs::create_dir(&d).map_err(|e| fail(e.to_string()))?;
    symlink(".", &d.join("x"))?;
    symlink(".", &d.join("y"))?;
    let first = std::fs::read_to_string(root().join("labs/first-steps/lab.md"))
        .map_err(|e| fail(e.to_string()))?;
    write(&d.join("one.md"), &first)?;
    let out = tplab_within(&["lint".as_ref(), d.as_os_str()], Duration::from_secs(30))?;
    no_panic(&out)?;
    out.success()?.stderr_has("1 lab(s) checked: 0 error(s)")?;
    Ok(())
}

fn fifo_is_an_error() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = dir.path().join("lab.md");
    let made = Command::new("mkfifo")
        .arg(&lab)
        .status()
        .map_err(|e| fail(format!("mkfifo: {e}")))?;
    if !made.success() {
        return Err(fail("mkfifo failed"));
    }
    let limit = Duration::from_secs(30);
    let out = tplab_within(&["lint".as_ref(), lab.as_os_str()], limit)?;
    out.code(1)?
        .stderr_has("a FIFO (named pipe), not a regular file")?;
    // Named through its folder, by a command that runs labs.
    let out = tplab_within(
        &[
            "test".as_ref(),
            dir.path().as_os_str(),
            "--env".as_ref(),
            "local".as_ref(),
        ],
        limit,
    )?;
    out.code(2)?
        .stderr_has("a FIFO (named pipe), not a regular file")?;
    Ok(())
}

fn device_is_an_error() -> Result<(), Failed> {
    let dir = tempdir();
    symlink("/dev/zero", &dir.path().join("lab.md"))?;
    let out = tplab_within(
        &["lint".as_ref(), dir.path().as_os_str()],
        Duration::from_secs(30),
    )?;
    out.code(1)?.stderr_has("a device, not a regular file")?;
    Ok(())
}

fn over_size_limit() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = dir.path().join("big.md");
    let mut text = String::from("---\nid: big\ntitle: Big\n---\n\n## S\n\n");
    while text.len() <= 4 * 1024 * 1024 {
        text.push_str("Some prose that goes on and on.\n");
    }
    write(&lab, &text)?;
    let out = tplab_within(&["lint".as_ref(), lab.as_os_str()], Duration::from_secs(30))?;
    out.code(1)?.stderr_has("larger than the 4 MiB limit")?;
    Ok(())
}

/// 20,000 errors took 164 s to print before (a line index rebuilt per diagnostic).
fn many_diagnostics_are_fast() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = dir.path().join("many.md");
    let mut text = String::from("---\nid: many\ntitle: Many errors\n---\n\n## S\n\n");
    for _ in 0..20_000 {
        text.push_str("```chek\nx\n```\n\n");
    }
    write(&lab, &text)?;
    let out = tplab_within(&["lint".as_ref(), lab.as_os_str()], Duration::from_secs(60))?;
    out.code(1)?.stderr_has("20000 error(s)")?;
    Ok(())
}

fn bom_accepted() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = dir.path().join("bom.md");
    let first = std::fs::read_to_string(root().join("labs/first-steps/lab.md"))
        .map_err(|e| fail(e.to_string()))?;
    write(&lab, &format!("\u{feff}{first}"))?;
    tplab(["lint".as_ref(), lab.as_os_str()])
        .run()
        .success()?
        .stderr_has("0 error(s), 0 warning(s)")?;
    Ok(())
}

fn template_builtins() -> Result<(), Failed> {
    let lab = fixture("hardening/template-builtins.md");
    tplab(["lint".as_ref(), lab.as_os_str()])
        .run()
        .success()?
        .stderr_has("0 error(s)")?;
    Ok(())
}

fn lang_option() -> Result<(), Failed> {
    let out = tplab(["--lang", "xx", "lint", "labs/first-steps"]).run();
    out.code(2)?
        .stderr_has("invalid value 'xx' for '--lang <LANG>'")?
        .stderr_has("[possible values: en, fr]")?;
    tplab(["--lang", "fr", "lint", "labs/first-steps"])
        .run()
        .success()?;
    Ok(())
}

fn folder_without_lab() -> Result<(), Failed> {
    let dir = tempdir();
    write(&dir.path().join("README.md"), "# Not a lab\n")?;
    let out = tplab(["lint".as_ref(), dir.path().as_os_str()]).run();
    out.code(2)?.stderr_has(&format!(
        "no lab found in {}: expected {}/lab.md",
        dir.path().display(),
        dir.path().display()
    ))?;
    Ok(())
}

/// Inputs the fuzzer (`fuzz/`) found crashing, kept as fixtures: lint must judge
/// them (exit 0 or 1), in both output forms.
fn fuzz_findings_stay_fixed() -> Result<(), Failed> {
    let dir = fixture("fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| fail(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in &files {
        for json in [false, true] {
            let mut args = vec!["lint".as_ref(), file.as_os_str()];
            if json {
                args.insert(1, "--json".as_ref());
            }
            let out = tplab_within(&args, Duration::from_secs(30))?;
            no_panic(&out)?;
            if out.code > 1 {
                return Err(fail(format!(
                    "`{}` exited {}:\n{}",
                    out.command, out.code, out.stderr
                )));
            }
        }
    }
    Ok(())
}
