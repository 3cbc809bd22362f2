//! Issue 10 hardening, report side: a submitted report is data. It cannot choose the
//! templates that run on the grader's machine, it cannot put live formulas in the
//! gradebooks nor escape sequences on the grader's terminal, and no file (FIFO, device,
//! huge, symlink loop) can hang or exhaust `tplab report` / `tplab grade`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tplab_report::Report;
use tplab_report::fixture::{LAB_MD, reseal, student_report};
use tplab_testkit::Suite;

use crate::harness::{Failed, Output, bin, fail, root, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "hardening_reports::forged_report_cannot_choose_templates",
            forged_report_cannot_choose_templates,
        )
        .test(
            "hardening_reports::report_lab_gives_templates_and_verifies",
            report_lab_gives_templates_and_verifies,
        )
        .test(
            "hardening_reports::template_include_outside_folder_is_refused",
            template_include_outside_folder_is_refused,
        )
        .test(
            "hardening_reports::nested_loops_in_a_template_stop_with_an_error",
            nested_loops_stop_with_an_error,
        )
        .test(
            "hardening_reports::formula_student_ids_are_text_in_every_csv",
            formula_ids_are_text,
        )
        .test(
            "hardening_reports::escape_sequences_never_reach_the_terminal",
            escapes_never_reach_the_terminal,
        )
        .test(
            "hardening_reports::fifo_device_huge_and_loops_do_not_stop_grading",
            hostile_files_do_not_stop_grading,
        )
}

fn io<T>(r: std::io::Result<T>) -> Result<T, Failed> {
    r.map_err(|e| fail(e.to_string()))
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    if let Some(dir) = path.parent() {
        io(std::fs::create_dir_all(dir))?;
    }
    io(std::fs::write(path, text))
}

fn write_report(path: &Path, report: &Report) -> Result<(), Failed> {
    let json = serde_json::to_string_pretty(report).map_err(|e| fail(e.to_string()))?;
    write(path, &json)
}

/// The instructor's copy of the lab the fixture reports come from.
fn instructor_lab(dir: &Path) -> Result<PathBuf, Failed> {
    let lab = dir.join("instructor/lab.md");
    write(&lab, LAB_MD)?;
    Ok(lab)
}

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn lacks(text: &str, what: &str, needle: &str) -> Result<(), Failed> {
    if text.contains(needle) {
        return Err(fail(format!("{what} must not contain {needle:?}:\n{text}")));
    }
    Ok(())
}

fn has(text: &str, what: &str, needle: &str) -> Result<(), Failed> {
    if !text.contains(needle) {
        return Err(fail(format!("{what} lacks {needle:?}:\n{text}")));
    }
    Ok(())
}

/// `tplab ARGS` with a deadline: a hang fails the test instead of stalling the suite
/// (`timeout` exits 124).
fn tplab_within(secs: u32, args: &[&std::ffi::OsStr]) -> Result<Output, Failed> {
    let out = io(Command::new("timeout")
        .arg(secs.to_string())
        .arg(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output())?;
    let code = out.status.code().unwrap_or(-1);
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if code == 124 {
        return Err(fail(format!(
            "`tplab {}` still running after {secs} s",
            shown.join(" ")
        )));
    }
    Ok(Output {
        command: format!("tplab {}", shown.join(" ")),
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// A student forges a perfect score, points `lab.path` at a folder of their own holding a
/// template that shows "100/100" and no integrity warning: the grader must see neither the
/// override nor a clean bill.
fn forged_report_cannot_choose_templates() -> Result<(), Failed> {
    let dir = tempdir();
    let attacker = dir.path().join("attacker");
    write(&attacker.join("lab.md"), LAB_MD)?;
    write(
        &attacker.join("report.html.j2"),
        "<h1>ATTACKER TEMPLATE 100/100</h1>",
    )?;
    write(
        &attacker.join("report.md.j2"),
        "ATTACKER TEMPLATE 100/100\n",
    )?;
    let mut report = student_report(1);
    report.lab.path = attacker.join("lab.md").display().to_string();
    report.score = report.max_score;
    let forged = dir.path().join("forged.json");
    write_report(&forged, &report)?;

    let html = dir.path().join("out.html");
    let out = tplab([
        "report".as_ref(),
        forged.as_os_str(),
        "-o".as_ref(),
        html.as_os_str(),
    ])
    .run();
    out.success()?;
    out.stderr_has("integrity NOT verified")?;
    let html = read(&html)?;
    lacks(&html, "HTML", "ATTACKER TEMPLATE")?;
    has(&html, "HTML", "Integrity NOT verified")?;
    // The claimed path is shown as data, not used.
    has(&html, "HTML", "path as recorded in the report")?;

    // Markdown to stdout, with the real lab given: still the built-in template, still
    // flagged (the score was edited after the session).
    let lab = instructor_lab(dir.path())?;
    let out = tplab([
        "report".as_ref(),
        forged.as_os_str(),
        "-f".as_ref(),
        "md".as_ref(),
        "--lab".as_ref(),
        lab.as_os_str(),
    ])
    .run();
    out.success()?;
    lacks(&out.stdout, "Markdown", "ATTACKER TEMPLATE")?;
    out.stdout_has("Integrity NOT verified")?;
    out.stdout_has("hash chain")?;
    out.stderr_has("the seal does not match the report")?;
    Ok(())
}

/// With `--lab`, an honest report verifies (no warning) and the lab's folder is where
/// overrides come from; a report from another lab version is flagged.
fn report_lab_gives_templates_and_verifies() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = instructor_lab(dir.path())?;
    write(
        &dir.path().join("instructor/report.md.j2"),
        "INSTRUCTOR TEMPLATE ok={{ d.integrity_ok }}\n",
    )?;
    let honest = dir.path().join("honest.json");
    write_report(&honest, &student_report(2))?;
    let args = |report: &Path| {
        vec![
            "report".into(),
            report.as_os_str().to_owned(),
            "-f".into(),
            "md".into(),
            "--lab".into(),
            lab.as_os_str().to_owned(),
        ]
    };
    let out = tplab(args(&honest)).run();
    out.success()?;
    out.stdout_has("INSTRUCTOR TEMPLATE ok=True")?;
    lacks(&out.stderr, "stderr", "NOT verified")?;

    let mut other = student_report(3);
    other.lab.sha256 = "0".repeat(64);
    reseal(&mut other);
    let other_path = dir.path().join("other.json");
    write_report(&other_path, &other)?;
    let out = tplab(args(&other_path)).run();
    out.success()?;
    out.stdout_has("INSTRUCTOR TEMPLATE ok=False")?;
    out.stderr_has("other lab version")?;
    Ok(())
}

/// An instructor's template may not read grader-side files: `include` of an absolute path
/// is refused, and so is an override that is a symlink out of the folder.
fn template_include_outside_folder_is_refused() -> Result<(), Failed> {
    let dir = tempdir();
    let templates = dir.path().join("templates");
    write(
        &templates.join("report.html.j2"),
        "before {% include '/etc/hostname' %} after",
    )?;
    io(std::os::unix::fs::symlink(
        "/etc/hostname",
        templates.join("report.md.j2"),
    ))?;
    let report = dir.path().join("r.json");
    write_report(&report, &student_report(1))?;
    let hostname = read(Path::new("/etc/hostname"))?;
    let hostname = hostname.trim();
    for (format, why) in [
        ("html", "is not one of tplab's templates"),
        ("md", "outside the template folder"),
    ] {
        let out = tplab([
            "report".as_ref(),
            report.as_os_str(),
            "-f".as_ref(),
            format.as_ref(),
            "--templates".as_ref(),
            templates.as_os_str(),
        ])
        .run();
        out.code(2)?;
        out.stderr_has(why)?;
        if !hostname.is_empty() {
            lacks(&out.stdout, "stdout", hostname)?;
            lacks(&out.stderr, "stderr", hostname)?;
        }
    }
    Ok(())
}

/// Nested loops in a template end in a clear error, not a hung renderer.
fn nested_loops_stop_with_an_error() -> Result<(), Failed> {
    let dir = tempdir();
    let templates = dir.path().join("templates");
    write(
        &templates.join("report.html.j2"),
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
    )?;
    let report = dir.path().join("r.json");
    write_report(&report, &student_report(1))?;
    let out = tplab_within(
        120,
        &[
            "report".as_ref(),
            report.as_os_str(),
            "--templates".as_ref(),
            templates.as_os_str(),
        ],
    )?;
    out.code(2)?;
    out.stderr_has("template report.html.j2: stopped after")?;
    if !out.stdout.is_empty() {
        return Err(fail("no partial output on stdout"));
    }
    Ok(())
}

/// Grades a folder of reports against the fixture lab; returns the output folder.
fn grade(dir: &Path, class: &Path) -> Result<(Output, PathBuf), Failed> {
    let lab = instructor_lab(dir)?;
    let out_dir = dir.join("grades");
    let out = tplab_within(
        120,
        &[
            "grade".as_ref(),
            class.as_os_str(),
            "--lab".as_ref(),
            lab.as_os_str(),
            "-o".as_ref(),
            out_dir.as_os_str(),
        ],
    )?;
    Ok((out, out_dir))
}

/// A cell a spreadsheet would run: starts with `=`, `+`, `-`, `@` (quoted or not).
fn live_formula_cell(csv: &str) -> Option<String> {
    for line in csv.lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                return Some(line.to_owned());
            }
        }
    }
    None
}

fn formula_ids_are_text() -> Result<(), Failed> {
    let dir = tempdir();
    let class = dir.path().join("class");
    let ids = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "@SUM(A1:A9)",
        "-2+3",
        "alice",
    ];
    for (i, id) in ids.iter().enumerate() {
        let mut r = student_report(i + 1);
        r.student.id = Some((*id).to_owned());
        reseal(&mut r);
        write_report(&class.join(format!("s{i}.json")), &r)?;
    }
    let (out, grades) = grade(dir.path(), &class)?;
    out.code(1)?;
    // The instructor's lab is French: so is the grader's output.
    out.stdout_has("formule dans un champ\u{202f}: student id")?;
    for name in ["canvas.csv", "moodle.csv", "flags.csv"] {
        let csv = read(&grades.join(name))?;
        if let Some(line) = live_formula_cell(&csv) {
            return Err(fail(format!("{name} has a live formula: {line}\n{csv}")));
        }
        has(&csv, name, "'=HYPERLINK(")?;
        has(&csv, name, "'@SUM(A1:A9)")?;
    }
    // Neutralised ids, numbers left alone: each grade cell is still a number.
    let moodle = read(&grades.join("moodle.csv"))?;
    // Records, not lines: the feedback cell holds one line per step.
    for rec in csv::Reader::from_reader(moodle.as_bytes()).records() {
        let rec = rec.map_err(|e| fail(format!("moodle.csv: {e}")))?;
        let grade = rec
            .get(1)
            .ok_or_else(|| fail(format!("moodle.csv row: {rec:?}")))?;
        if grade.parse::<f64>().is_err() {
            return Err(fail(format!("grade {grade:?} is not a number: {rec:?}")));
        }
    }
    let json: serde_json::Value = serde_json::from_str(&read(&grades.join("grades.json"))?)
        .map_err(|e| fail(e.to_string()))?;
    let flagged = json["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["flags"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|f| f["flag"] == "formula_in_field")
        })
        .count();
    if flagged != 3 {
        return Err(fail(format!("expected 3 formula_in_field rows: {json:#}")));
    }
    Ok(())
}

const ESC: char = '\u{1b}';

fn escapes_never_reach_the_terminal() -> Result<(), Failed> {
    let dir = tempdir();
    let class = dir.path().join("class");
    let mut r = student_report(1);
    r.student.id = Some(format!("mallory{ESC}]0;pwned\u{7}{ESC}[2J\u{202e}gpj"));
    r.lab.title = format!("lab{ESC}[31m");
    r.steps[0].title = format!("{ESC}[1A{ESC}[2KAll passed\r");
    for step in &mut r.steps {
        for c in &mut step.checks {
            c.verdict = tplab_report::Verdict::Fail;
            c.points = 0.0;
            c.found = format!("{ESC}[8mhidden{ESC}[0m\u{9b}31m");
        }
        tplab_report::fixture::finish_step(step);
    }
    r.steps[0].commands[0].stdout = format!("out{ESC}]52;c;Y2xpcA==\u{7}\n");
    // Not resealed: the broken chain is flagged, so the student id is printed.
    r.total();
    write_report(&class.join("mallory.json"), &r)?;
    // A file name is student-chosen too (unreadable: its path is printed).
    write(&class.join(format!("bad{ESC}[5mname.json")), "{")?;

    let (out, grades) = grade(dir.path(), &class)?;
    out.code(1)?;
    let clean = |text: &str, what: &str| -> Result<(), Failed> {
        if let Some(c) = text.chars().find(|&c| {
            tplab_report::sanitize::is_unsafe(c) && c != '\r'
                || (c == '\r' && !text.contains("\r\n"))
        }) {
            return Err(fail(format!("{what} carries {c:?}:\n{text:?}")));
        }
        Ok(())
    };
    clean(&out.stdout, "grade stdout")?;
    out.stdout_has("mallory\\x1b]0;pwned\\x07")?;
    out.stdout_has("\\u{202e}")?;
    out.stdout_has("bad\\x1b[5mname.json")?;
    let summary = read(&grades.join("summary.txt"))?;
    clean(&summary, "summary.txt")?;
    has(&summary, "summary.txt", "\\x1b[8mhidden")?;
    clean(&read(&grades.join("summary.html"))?, "summary.html")?;

    let report = class.join("mallory.json");
    let md = tplab([
        "report".as_ref(),
        report.as_os_str(),
        "-f".as_ref(),
        "md".as_ref(),
    ])
    .run();
    md.success()?;
    clean(&md.stdout, "report -f md")?;
    md.stdout_has("\\x1b")?;
    let html = tplab([
        "report".as_ref(),
        report.as_os_str(),
        "-f".as_ref(),
        "html".as_ref(),
    ])
    .run();
    html.success()?;
    clean(&html.stdout, "report -f html")?;
    // A broken report's error (an unknown field named with escapes) is made visible too.
    let broken = dir.path().join("broken.json");
    write(
        &broken,
        &format!("{{\"schema\": \"tplab.report/1\", \"x{ESC}[2J\": 1}}"),
    )?;
    let err = tplab(["report".as_ref(), broken.as_os_str()]).run();
    err.code(2)?;
    clean(&err.stderr, "report error")?;
    Ok(())
}

/// A FIFO, a symlink to /dev/zero, a file over the size limit and a symlink loop in the
/// submissions: each a clear per-file error (or skipped), the honest report still graded.
fn hostile_files_do_not_stop_grading() -> Result<(), Failed> {
    let dir = tempdir();
    let class = dir.path().join("class");
    write_report(&class.join("alice.json"), &student_report(1))?;
    let fifo = class.join("fifo.json");
    let status = io(Command::new("mkfifo").arg(&fifo).status())?;
    if !status.success() {
        return Err(fail("mkfifo failed"));
    }
    io(std::os::unix::fs::symlink(
        "/dev/zero",
        class.join("zero.json"),
    ))?;
    let big = io(std::fs::File::create(class.join("big.json")))?;
    io(big.set_len(16 * 1024 * 1024 + 1))?;
    io(std::fs::create_dir_all(class.join("sub")))?;
    io(std::os::unix::fs::symlink("..", class.join("sub/loop")))?;

    let (out, grades) = grade(dir.path(), &class)?;
    out.code(1)?;
    out.stdout_has("Rapports notés\u{202f}: 1 rapport de")?;
    out.stdout_has("fifo.json: cannot read: a FIFO (named pipe), not a regular file")?;
    out.stdout_has("zero.json: cannot read: a device, not a regular file")?;
    out.stdout_has("big.json: cannot read: larger than the 16 MiB limit")?;
    let canvas = read(&grades.join("canvas.csv"))?;
    has(&canvas, "canvas.csv", "s0001")?;

    // `tplab report` on the FIFO: an error, at once.
    let out = tplab_within(60, &["report".as_ref(), fifo.as_os_str()])?;
    out.code(2)?;
    out.stderr_has("FIFO")?;
    Ok(())
}
