//! Issue 17: the grading exports, as their real consumers take them. Every file here is
//! written by the `tplab` binary (`tplab report -f junit|gradescope`, `tplab grade`) from
//! reports with failures, errors, skips, ANSI sequences, `<`/`&` in titles, runner-style ids
//! and a report of another lab, then read by what reads it in the world:
//! - `JUnit`: `xmllint --schema` against the two published schemas
//!   (`tests/fixtures/junit/`), junitparser (`PyPI`) and junit2json (npm), installed by
//!   `tests/tools/install.sh` (`.ci/run` runs it);
//! - Gradescope: every field and type against the autograder specification;
//! - Canvas and Moodle: the import rules (assignment header, Points Possible, identifier
//!   columns, no row for another lab unless asked).
//!
//! A missing tool fails the test with the command that installs it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tplab_report::Report;
use tplab_report::fixture::{EDGE_LAB_MD, edge_report, other_lab_report, student_report};
use tplab_testkit::Suite;

use crate::harness::{Failed, fail, root, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "exports::junit_of_report_validates_and_parses",
            junit_of_report_validates_and_parses,
        )
        .test(
            "exports::junit_of_grade_validates_and_parses",
            junit_of_grade_validates_and_parses,
        )
        .test(
            "exports::junit_testcase_properties_on_request",
            junit_testcase_properties_on_request,
        )
        .test(
            "exports::gradescope_results_as_specified",
            gradescope_results_as_specified,
        )
        .test(
            "exports::gradescope_answers_after_published",
            gradescope_answers_after_published,
        )
        .test(
            "exports::canvas_targets_an_assignment",
            canvas_targets_an_assignment,
        )
        .test(
            "exports::gradebooks_leave_out_other_labs",
            gradebooks_leave_out_other_labs,
        )
}

// ---------------------------------------------------------------- the class and its files

fn io<T>(r: std::io::Result<T>) -> Result<T, Failed> {
    r.map_err(|e| fail(e.to_string()))
}

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn write_report(path: &Path, r: &Report) -> Result<(), Failed> {
    if let Some(dir) = path.parent() {
        io(std::fs::create_dir_all(dir))?;
    }
    io(std::fs::write(
        path,
        serde_json::to_vec_pretty(r).map_err(|e| fail(e.to_string()))?,
    ))
}

/// The reports every test uses: two students of the edge lab (every verdict, escapes,
/// `<`/`&`), one of another lab, one of the seed lab (`<step>/<n>` ids).
fn reports() -> Vec<(String, Report)> {
    vec![
        ("edge-01.json".into(), edge_report(1)),
        ("edge-02.json".into(), edge_report(2)),
        ("other.json".into(), other_lab_report(3)),
        ("seed.json".into(), student_report(4)),
    ]
}

struct Class {
    _dir: tempfile::TempDir,
    root: PathBuf,
    lab: PathBuf,
    reports: Vec<(PathBuf, Report)>,
}

fn class() -> Result<Class, Failed> {
    let dir = tempdir();
    let root = dir.path().to_path_buf();
    let lab = root.join("edge-lab/lab.md");
    io(std::fs::create_dir_all(lab.parent().unwrap_or(&root)))?;
    io(std::fs::write(&lab, EDGE_LAB_MD))?;
    let mut out = Vec::new();
    for (name, r) in reports() {
        let path = root.join("submissions").join(name);
        write_report(&path, &r)?;
        out.push((path, r));
    }
    Ok(Class {
        _dir: dir,
        root,
        lab,
        reports: out,
    })
}

fn report_file(report: &Path, format: &str, out: &Path, extra: &[&str]) -> Result<String, Failed> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "report".as_ref(),
        report.as_os_str(),
        "--format".as_ref(),
        format.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    tplab(args).run().success()?;
    read(out)
}

fn grade(c: &Class, out: &Path, extra: &[&str]) -> Result<crate::harness::Output, Failed> {
    let submissions = c.root.join("submissions");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "grade".as_ref(),
        submissions.as_os_str(),
        "--lab".as_ref(),
        c.lab.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    let out = tplab(args).run();
    // The other-lab and seed reports are flagged other_lab_version: exit 1, files written.
    out.code(1)?;
    Ok(out)
}

// ---------------------------------------------------------------- the consumers

const SCHEMAS: [&str; 2] = ["junit-10.xsd", "JUnit.xsd"];
const INSTALL_TOOLS: &str = "run `tests/tools/install.sh` (what .ci/run does)";

/// `xmllint --noout --schema` against one published schema.
fn xmllint(xsd: &str, file: &Path) -> Result<(), Failed> {
    let schema = root().join("tests/fixtures/junit").join(xsd);
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(file)
        .output()
        .map_err(|e| {
            fail(format!(
                "cannot run xmllint ({e}): install Debian's libxml2-utils: `sudo apt-get install libxml2-utils` (or `sudo scripts/setup.sh`)"
            ))
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "{} does not validate against {xsd}:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn run_json(mut cmd: Command, what: &str, missing: &str) -> Result<Value, Failed> {
    let out = cmd
        .output()
        .map_err(|e| fail(format!("cannot run {what} ({e}): {missing}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("ModuleNotFoundError") || stderr.contains("ERR_MODULE_NOT_FOUND") {
            return Err(fail(format!(
                "{what} is not installed: {missing}\n{stderr}"
            )));
        }
        return Err(fail(format!("{what} rejected the file:\n{stderr}")));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("{what}: {e}")))
}

/// What junitparser (`PyPI`, pinned in tests/tools/requirements.txt) reads in `file`.
fn junitparser(file: &Path) -> Result<Value, Failed> {
    let tools = root().join("tests/tools");
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", tools.join("python"))
        .arg(tools.join("junitparser_summary.py"))
        .arg(file);
    run_json(cmd, "junitparser", INSTALL_TOOLS)
}

/// What junit2json (npm, pinned in tests/tools/package-lock.json) reads in `file`.
fn junit2json(file: &Path) -> Result<Value, Failed> {
    let tools = root().join("tests/tools");
    if !tools.join("node_modules/junit2json/package.json").exists() {
        return Err(fail(format!(
            "junit2json is not installed: {INSTALL_TOOLS}"
        )));
    }
    let mut cmd = Command::new("node");
    cmd.current_dir(&tools)
        .arg("junit2json_summary.mjs")
        .arg(file);
    run_json(cmd, "junit2json", INSTALL_TOOLS)
}

/// Both schemas accept `file`, and both parsers read in it exactly what `reports` hold.
fn check_junit(file: &Path, reports: &[&Report]) -> Result<(), Failed> {
    for xsd in SCHEMAS {
        xmllint(xsd, file)?;
    }
    let text = read(file)?;
    for bad in ['\u{1b}', '\u{7}', '\u{0}', '\u{202e}'] {
        if text.contains(bad) {
            return Err(fail(format!("{bad:?} in {}", file.display())));
        }
    }
    for (tool, seen) in [
        ("junitparser", junitparser(file)?),
        ("junit2json", junit2json(file)?),
    ] {
        expect_suites(tool, &seen, reports)?;
    }
    Ok(())
}

/// A count as a consumer gives it (a number, or a numeric string).
fn count_of(v: &Value) -> Option<usize> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .and_then(|n| usize::try_from(n).ok())
}

fn num(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn expect_suites(tool: &str, seen: &Value, reports: &[&Report]) -> Result<(), Failed> {
    let suites = seen
        .as_array()
        .ok_or_else(|| fail(format!("{tool}: no suites: {seen}")))?;
    if suites.len() != reports.len() {
        return Err(fail(format!(
            "{tool}: {} suites for {} reports",
            suites.len(),
            reports.len()
        )));
    }
    for (suite, r) in suites.iter().zip(reports) {
        let ctx = |what: &str| {
            fail(format!(
                "{tool}, suite {}: {what}\n{suite:#}",
                suite["name"]
            ))
        };
        let items: Vec<(String, &str)> = r
            .steps
            .iter()
            .flat_map(|s| {
                let checks = s.checks.iter().map(|c| (c.verdict, c.duration_ms));
                let questions = s.questions.iter().map(|q| (q.verdict, 0));
                checks
                    .chain(questions)
                    .map(move |(v, ms)| (s.id.clone(), v, ms))
            })
            .map(|(step, v, _)| (step, word(v)))
            .collect();
        let count = |w: &str| items.iter().filter(|(_, v)| *v == w).count();
        let cases = suite["cases"].as_array().ok_or_else(|| ctx("no cases"))?;
        if cases.len() != items.len() || count_of(&suite["tests"]) != Some(items.len()) {
            return Err(ctx(&format!("{} items", items.len())));
        }
        for (field, word) in [
            ("failures", "failure"),
            ("errors", "error"),
            ("skipped", "skipped"),
        ] {
            let want = count(word);
            let got_cases = cases.iter().filter(|c| c["result"] == word).count();
            if count_of(&suite[field]) != Some(want) || got_cases != want {
                return Err(ctx(&format!("{field}: want {want}, cases say {got_cases}")));
            }
        }
        // Cases in lab order, each with the item's verdict and a unique name.
        for (case, (step, v)) in cases.iter().zip(&items) {
            if case["result"] != *v {
                return Err(ctx(&format!("case {} should be {v}", case["name"])));
            }
            if case["classname"] != format!("{}.{step}", r.lab.id) {
                return Err(ctx(&format!("classname of {}", case["name"])));
            }
        }
        let names: BTreeSet<&str> = cases.iter().filter_map(|c| c["name"].as_str()).collect();
        if names.len() != cases.len() {
            return Err(ctx("testcase names are not unique"));
        }
        // Suite time: the sum of its testcases' times, not the session's length.
        let sum: f64 = cases.iter().map(|c| num(&c["time"])).sum();
        if (num(&suite["time"]) - sum).abs() > 0.0015 {
            return Err(ctx(&format!("time {} is not the sum {sum}", suite["time"])));
        }
        // Timestamp: UTC, no zone (the Ant schema's pattern); zoned instant in a property.
        let start = r.started_at.format("%Y-%m-%dT%H:%M:%S").to_string();
        if suite["timestamp"] != start.as_str()
            || suite["properties"]["started_at"] != format!("{start}Z")
            || suite["properties"]["timestamp.zone"] != "UTC"
        {
            return Err(ctx("timestamp / started_at"));
        }
        if suite["properties"]["lab.title"] != r.lab.title.as_str() {
            return Err(ctx("lab.title property (with its < & \") read back"));
        }
        for p in ["error_points", "score", "max_score", "grade"] {
            if suite["properties"][p]
                .as_str()
                .is_some_and(|s| s.starts_with('-'))
            {
                return Err(ctx(&format!("{p} is negative")));
            }
        }
    }
    Ok(())
}

fn word(v: tplab_report::Verdict) -> &'static str {
    match v {
        tplab_report::Verdict::Pass => "pass",
        tplab_report::Verdict::Fail => "failure",
        tplab_report::Verdict::Error => "error",
        tplab_report::Verdict::Skipped => "skipped",
    }
}

// ---------------------------------------------------------------- JUnit

fn junit_of_report_validates_and_parses() -> Result<(), Failed> {
    let c = class()?;
    for (path, r) in &c.reports {
        let out = c.root.join(format!(
            "{}.xml",
            path.file_stem().unwrap_or_default().to_string_lossy()
        ));
        let xml = report_file(path, "junit", &out, &[])?;
        check_junit(&out, &[r])?;
        if xml.contains("<testsuites ") || xml.contains("-0\"") {
            return Err(fail(format!("attributes on <testsuites>, or a -0:\n{xml}")));
        }
    }
    // Runner-style ids are qualified by their step: check-1 of two steps stays distinct.
    let edge = read(&c.root.join("edge-01.xml"))?;
    for id in [
        "vu-du-pod/transcript-1: ",
        "vu-du-pod/check-1: ",
        "vu-du-node/check-1: ",
    ] {
        if !edge.contains(&format!("name=\"{id}")) {
            return Err(fail(format!("no testcase {id:?}:\n{edge}")));
        }
    }
    Ok(())
}

fn junit_of_grade_validates_and_parses() -> Result<(), Failed> {
    let c = class()?;
    let out = c.root.join("grades");
    grade(&c, &out, &[])?;
    let graded: Vec<&Report> = c.reports.iter().map(|(_, r)| r).collect();
    check_junit(&out.join("junit.xml"), &graded)
}

fn junit_testcase_properties_on_request() -> Result<(), Failed> {
    let c = class()?;
    let (path, r) = &c.reports[0];
    let out = c.root.join("props.xml");
    let xml = report_file(path, "junit", &out, &["--junit-testcase-properties"])?;
    let items = r
        .steps
        .iter()
        .map(|s| s.checks.len() + s.questions.len())
        .sum::<usize>();
    if xml.matches("<property name=\"verdict\"").count() != items {
        return Err(fail(format!("one verdict property per testcase:\n{xml}")));
    }
    // As documented: readers take it, the published schemas do not.
    expect_suites("junitparser", &junitparser(&out)?, &[r])?;
    if xmllint("junit-10.xsd", &out).is_ok() {
        return Err(fail(
            "junit-10.xsd now accepts testcase properties: update the docs",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- Gradescope

const VISIBILITY: [&str; 4] = ["hidden", "after_due_date", "after_published", "visible"];
const FORMATS: [&str; 5] = ["text", "html", "simple_format", "md", "ansi"];

/// Checks `v` field by field against the autograder specification
/// (`gradescope/autograder_samples`, `docs/specs.md`): no field it does not define, each of
/// its type.
fn check_gradescope_spec(v: &Value) -> Result<(), Failed> {
    let bad = |what: String| Err(fail(format!("results.json: {what}\n{v:#}")));
    let top = v
        .as_object()
        .ok_or_else(|| fail("results.json is not an object"))?;
    for (k, x) in top {
        let ok = match k.as_str() {
            "score" | "execution_time" => x.is_number(),
            "output" => x.is_string(),
            "output_format" | "test_output_format" | "test_name_format" => {
                x.as_str().is_some_and(|s| FORMATS.contains(&s))
            }
            "visibility" | "stdout_visibility" => {
                x.as_str().is_some_and(|s| VISIBILITY.contains(&s))
            }
            "extra_data" => x.is_object(),
            "tests" | "leaderboard" => x.is_array(),
            _ => return bad(format!("top-level field {k:?} is not in the specification")),
        };
        if !ok {
            return bad(format!("top-level {k}: wrong type or value {x}"));
        }
    }
    for t in v["tests"].as_array().into_iter().flatten() {
        let t = t
            .as_object()
            .ok_or_else(|| fail("a test is not an object"))?;
        for (k, x) in t {
            let ok = match k.as_str() {
                "score" | "max_score" => x.is_number(),
                "status" => x == "passed" || x == "failed",
                "name" | "number" | "output" => x.is_string(),
                "name_format" | "output_format" => x.as_str().is_some_and(|s| FORMATS.contains(&s)),
                "tags" => x.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                "visibility" => x.as_str().is_some_and(|s| VISIBILITY.contains(&s)),
                "extra_data" => x.is_object(),
                _ => return bad(format!("test field {k:?} is not in the specification")),
            };
            if !ok {
                return bad(format!("test {k}: wrong type or value {x}"));
            }
        }
    }
    Ok(())
}

fn gradescope_checks(v: &Value, r: &Report, answers: &str) -> Result<(), Failed> {
    check_gradescope_spec(v)?;
    let ctx = |what: &str| fail(format!("results.json: {what}\n{v:#}"));
    // Plain text everywhere: nothing rendered, so `<edge>` and `&` show as written.
    if v["output_format"] != "text"
        || v["test_output_format"] != "text"
        || v["test_name_format"] != "text"
    {
        return Err(ctx("output formats must be text"));
    }
    if !v["output"]
        .as_str()
        .is_some_and(|o| o.contains(&r.lab.title))
    {
        return Err(ctx("the top-level output names the lab title as written"));
    }
    if (num(&v["score"]) - tplab_report::points::scaled(r)).abs() > 1e-9 {
        return Err(ctx("score is the grade on the lab's scale"));
    }
    let text = v.to_string();
    for bad in ["\\u001b", "\\u0007", "\\u0000", "\\r", "\u{202e}"] {
        if text.contains(bad) {
            return Err(ctx(&format!("control character {bad} in the output")));
        }
    }
    let tests = v["tests"].as_array().ok_or_else(|| ctx("no tests"))?;
    let visible: Vec<&Value> = tests
        .iter()
        .filter(|t| t["visibility"] == "visible")
        .collect();
    for step in &r.steps {
        for q in &step.questions {
            // Expected answers never in a visible test, except in the student's own answers
            // (a check's found value may hold one: it is hidden there).
            let leaks = |t: &Value| {
                let output = t["output"].as_str().unwrap_or_default();
                let kept: Vec<&str> = output
                    .lines()
                    .filter(|l| !l.starts_with("Your answer"))
                    .collect();
                t["name"].as_str().unwrap_or_default().contains(&q.expected)
                    || kept.join("\n").contains(&q.expected)
            };
            if let Some(t) = visible.iter().copied().find(|t| leaks(t)) {
                return Err(ctx(&format!(
                    "expected answer {:?} visible in {t}",
                    q.expected
                )));
            }
        }
        if !step.questions.is_empty() {
            let key = tests
                .iter()
                .find(|t| {
                    t["visibility"] != "visible"
                        && t["extra_data"]["answers_for"] == step.id.as_str()
                })
                .ok_or_else(|| ctx(&format!("no answer key for {}", step.id)))?;
            if key["visibility"] != answers || key.get("score").is_some() {
                return Err(ctx("answer key: instructor's visibility, no points"));
            }
            for q in &step.questions {
                if !key["output"]
                    .as_str()
                    .is_some_and(|o| o.contains(&q.expected))
                {
                    return Err(ctx("answer key lacks an expected answer"));
                }
            }
        }
        for c in &step.checks {
            let t = tests
                .iter()
                .find(|t| {
                    t["extra_data"]["id"]
                        .as_str()
                        .is_some_and(|id| id == tplab_report::items::qualified(&step.id, &c.id, ""))
                })
                .ok_or_else(|| ctx(&format!("no test for {}/{}", step.id, c.id)))?;
            let verdict = tplab_report::points::verdict_word(c.verdict);
            let ok = t["extra_data"]["verdict"] == verdict
                && match c.verdict {
                    tplab_report::Verdict::Pass => t["status"] == "passed",
                    tplab_report::Verdict::Fail => t["status"] == "failed",
                    tplab_report::Verdict::Skipped => {
                        t["status"] == "failed"
                            && t["name"].as_str().is_some_and(|n| n.ends_with("(skipped)"))
                            && t["output"]
                                .as_str()
                                .is_some_and(|o| o.starts_with("SKIPPED"))
                            && t["tags"]
                                .as_array()
                                .is_some_and(|a| a.contains(&"skipped".into()))
                    }
                    tplab_report::Verdict::Error => {
                        t.get("score").is_none()
                            && t["output"]
                                .as_str()
                                .is_some_and(|o| o.starts_with("ERROR (not charged)"))
                    }
                };
            if !ok {
                return Err(ctx(&format!(
                    "test of {}/{} ({verdict}): {t}",
                    step.id, c.id
                )));
            }
        }
    }
    Ok(())
}

fn gradescope_results_as_specified() -> Result<(), Failed> {
    let c = class()?;
    for (path, r) in &c.reports {
        let out = c.root.join("results.json");
        let text = report_file(path, "gradescope", &out, &[])?;
        let v: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        gradescope_checks(&v, r, "hidden")?;
    }
    Ok(())
}

fn gradescope_answers_after_published() -> Result<(), Failed> {
    let c = class()?;
    let (path, r) = &c.reports[1];
    let out = c.root.join("results.json");
    let text = report_file(
        path,
        "gradescope",
        &out,
        &["--gradescope-answers", "after_published"],
    )?;
    let v: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    gradescope_checks(&v, r, "after_published")
}

// ---------------------------------------------------------------- Canvas and Moodle

/// RFC 4180 records (quoted fields, doubled quotes, CRLF or LF).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            _ => cell.push(ch),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// Canvas's reading of an assignment column header: a trailing ` (<digits>)` is the id.
fn canvas_assignment_id(header: &str) -> Option<&str> {
    let inner = header.strip_suffix(')')?;
    let open = inner.rfind(" (")?;
    let id = &inner[open + 2..];
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

const TITLE: &str = "Routes <edge> & NAT \"live\"";

fn canvas_targets_an_assignment() -> Result<(), Failed> {
    let c = class()?;
    // With the assignment id: the header Canvas matches, Points Possible by default.
    let out = c.root.join("with-id");
    grade(&c, &out, &["--canvas-assignment", "12345"])?
        .stdout_has("imports into Canvas assignment 12345")?
        .stdout_has("--no-points-possible")?;
    let text = read(&out.join("canvas.csv"))?;
    let rows = csv_rows(&text);
    let header = &rows[0];
    let want = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"];
    if header[..5] != want || header.len() != 6 {
        return Err(fail(format!("identifier columns:\n{text}")));
    }
    if header[5] != format!("{TITLE} (12345)") || canvas_assignment_id(&header[5]) != Some("12345")
    {
        return Err(fail(format!("assignment header:\n{text}")));
    }
    if rows[1][0] != "Points Possible" || rows[1][5] != "17" {
        return Err(fail(format!("Points Possible row:\n{text}")));
    }
    for row in &rows[2..] {
        if row[0] != row[2] || row[0] != row[3] || !row[1].is_empty() {
            return Err(fail(format!(
                "without a roster the id fills Student and SIS ids: {row:?}"
            )));
        }
    }

    // Without Points Possible: the assignment keeps its own points.
    let out = c.root.join("no-points");
    grade(
        &c,
        &out,
        &["--canvas-assignment", "12345", "--no-points-possible"],
    )?
    .stdout_has("no Points Possible row")?;
    let rows = csv_rows(&read(&out.join("canvas.csv"))?);
    if rows.iter().any(|r| r[0] == "Points Possible") || rows[1][0] != "edge-01" {
        return Err(fail(format!("a Points Possible row is left: {rows:?}")));
    }

    // Without an id: no part of the header reads as an assignment id (new assignment).
    let out = c.root.join("no-id");
    grade(&c, &out, &[])?.stdout_has("Canvas creates a new assignment")?;
    let rows = csv_rows(&read(&out.join("canvas.csv"))?);
    if rows[0][5] != format!("{TITLE} [edge-lab]") || canvas_assignment_id(&rows[0][5]).is_some() {
        return Err(fail(format!("default header: {:?}", rows[0])));
    }
    // A non-numeric id is refused at once.
    let bad = tplab([
        "grade".as_ref(),
        c.root.join("submissions").as_os_str(),
        "--lab".as_ref(),
        c.lab.as_os_str(),
        "-o".as_ref(),
        c.root.join("bad").as_os_str(),
        "--canvas-assignment".as_ref(),
        "edge-lab".as_ref(),
    ])
    .run();
    bad.code(2)?.stderr_has("--canvas-assignment")?;
    Ok(())
}

fn gradebooks_leave_out_other_labs() -> Result<(), Failed> {
    let c = class()?;
    let out = c.root.join("default");
    grade(&c, &out, &[])?
        .stdout_has("canvas.csv, moodle.csv: no row for 2 reports of another lab or version")?;
    let canvas = csv_rows(&read(&out.join("canvas.csv"))?);
    let moodle = csv_rows(&read(&out.join("moodle.csv"))?);
    let students = |rows: &[Vec<String>], skip: usize| -> Vec<String> {
        rows.iter().skip(skip).map(|r| r[0].clone()).collect()
    };
    if students(&canvas, 2) != ["edge-01", "edge-02"]
        || students(&moodle, 1) != ["edge-01", "edge-02"]
    {
        return Err(fail(format!(
            "only this lab's students: canvas {canvas:?}, moodle {moodle:?}"
        )));
    }
    if moodle[0] != ["identifier", "grade", "feedback"] {
        return Err(fail(format!("moodle header: {:?}", moodle[0])));
    }
    // Still visible to the instructor: flagged.
    let flags = read(&out.join("flags.csv"))?;
    if !flags.contains("s0003") || !flags.contains("other lab version") {
        return Err(fail(format!("other-lab report not flagged:\n{flags}")));
    }

    // On request: rows kept, rescaled so no grade exceeds Points Possible.
    let out = c.root.join("included");
    grade(&c, &out, &["--include-other-labs"])?.stdout_has("rescaled to 17 points")?;
    let canvas = csv_rows(&read(&out.join("canvas.csv"))?);
    let possible: f64 = canvas[1][5].parse().map_err(|_| fail("Points Possible"))?;
    let other = canvas
        .iter()
        .find(|r| r[0] == "s0003")
        .ok_or_else(|| fail(format!("s0003 kept on request: {canvas:?}")))?;
    let grade: f64 = other[5].parse().map_err(|_| fail("grade"))?;
    let r = &c.reports[2].1;
    let want = tplab_report::points::round2(
        tplab_report::points::scaled(r) / tplab_report::points::possible(r) * possible,
    );
    if grade > possible
        || (grade - want).abs() > 1e-9
        || tplab_report::points::scaled(r) <= possible
    {
        return Err(fail(format!(
            "other-lab grade {grade} of {possible} (want {want})"
        )));
    }
    let moodle = csv_rows(&read(&out.join("moodle.csv"))?);
    if !moodle.iter().any(|r| r[0] == "s0003" && r[1] == other[5]) {
        return Err(fail(format!("moodle keeps the same row: {moodle:?}")));
    }
    Ok(())
}
