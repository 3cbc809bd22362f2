//! Reports from real runs, through the CLI: rendered (HTML, Markdown, `JUnit`, Gradescope),
//! graded as a class (tampered and copied reports flagged), and — for a real sandbox run
//! — opened in headless Chromium.

use std::path::Path;

use tplab_testkit::Suite;

use crate::harness::{Failed, fail, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test("reports::exports_of_a_real_run", exports_of_a_real_run)
        .test("reports::grade_flags_tampered_and_copied", grade_flags)
        .root_test(
            "reports::sandbox_run_in_headless_chromium",
            sandbox_run_in_chromium,
        )
}

fn run_lab(dir: &Path, student: &str) -> Result<(), Failed> {
    tplab([
        "run".as_ref(),
        "labs/first-steps".as_ref(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--student".as_ref(),
        student.as_ref(),
        "--nonce".as_ref(),
        format!("nonce-{student}").as_ref(),
        "--report".as_ref(),
        dir.as_os_str(),
    ])
    .run()
    .success()?;
    Ok(())
}

fn render(report: &Path, format: &str, out: &Path) -> Result<String, Failed> {
    tplab([
        "report".as_ref(),
        report.as_os_str(),
        "--format".as_ref(),
        format.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ])
    .run()
    .success()?;
    std::fs::read_to_string(out).map_err(|e| fail(format!("{}: {e}", out.display())))
}

fn has(text: &str, what: &str, needles: &[&str]) -> Result<(), Failed> {
    for n in needles {
        if !text.contains(n) {
            return Err(fail(format!(
                "{what} lacks {n:?}:\n{}",
                &text[..text.len().min(3000)]
            )));
        }
    }
    Ok(())
}

fn exports_of_a_real_run() -> Result<(), Failed> {
    let dir = tempdir();
    run_lab(dir.path(), "alice")?;
    let report = dir.path().join("report.json");
    let html = render(&report, "html", &dir.path().join("r.html"))?;
    has(
        &html,
        "HTML",
        &[
            "<html",
            "First steps with tplab",
            "Look at the loopback interface",
            "alice",
            "65536",
            "net.conf sets the MTU",
        ],
    )?;
    if html.contains("http://") && html.contains("<link") {
        return Err(fail("the HTML report must be self-contained"));
    }
    let md = render(&report, "md", &dir.path().join("r.md"))?;
    has(
        &md,
        "Markdown",
        &["# ", "Look at the loopback interface", "65536"],
    )?;
    let junit = render(&report, "junit", &dir.path().join("r.xml"))?;
    has(
        &junit,
        "JUnit",
        &[
            "<testsuites",
            "<testsuite",
            "<testcase",
            "timestamp=",
            "time=",
        ],
    )?;
    let gs = render(&report, "gradescope", &dir.path().join("r.json"))?;
    let gs: serde_json::Value = serde_json::from_str(&gs).map_err(|e| fail(e.to_string()))?;
    if gs["score"].as_f64() != Some(8.0) || !gs["tests"].is_array() {
        return Err(fail(format!("unexpected Gradescope results: {gs:#}")));
    }
    Ok(())
}

fn grade_flags() -> Result<(), Failed> {
    let class = tempdir();
    for s in ["alice", "bob", "carol"] {
        run_lab(&class.path().join(s), s)?;
    }
    // Tampered: bob raised a score by hand after the session.
    let bob = class.path().join("bob/report.json");
    let text = std::fs::read_to_string(&bob).map_err(|e| fail(e.to_string()))?;
    let mut v: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    v["steps"][0]["checks"][0]["found"] = serde_json::json!("edited");
    std::fs::write(
        &bob,
        serde_json::to_vec_pretty(&v).map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    // Truncated: a broken file does not stop the others.
    std::fs::create_dir_all(class.path().join("dave")).map_err(|e| fail(e.to_string()))?;
    std::fs::write(
        class.path().join("dave/report.json"),
        &text[..text.len() / 2],
    )
    .map_err(|e| fail(e.to_string()))?;
    let out_dir = class.path().join("grades");
    let out = tplab([
        "grade".as_ref(),
        class.path().as_os_str(),
        "--lab".as_ref(),
        "labs/first-steps".as_ref(),
        "-o".as_ref(),
        out_dir.as_os_str(),
    ])
    .run();
    out.code(1)?;
    let canvas =
        std::fs::read_to_string(out_dir.join("canvas.csv")).map_err(|e| fail(e.to_string()))?;
    has(
        &canvas,
        "canvas.csv",
        &[
            "Student,ID,SIS User ID,SIS Login ID,Section,",
            "Points Possible,,,,,8",
            "alice",
            "carol",
        ],
    )?;
    let flags =
        std::fs::read_to_string(out_dir.join("flags.csv")).map_err(|e| fail(e.to_string()))?;
    has(&flags, "flags.csv", &["bob"])?;
    // Every session here ran with --auto (flagged as such); beyond that, honest students
    // have no flag.
    let integrity: Vec<&str> = flags
        .lines()
        .filter(|l| !l.contains("session run with --auto"))
        .collect();
    if integrity
        .iter()
        .any(|l| l.starts_with("alice,") || l.starts_with("carol,"))
    {
        return Err(fail(format!("honest students flagged:\n{flags}")));
    }
    has(
        &format!("{}{}", out.stdout, out.stderr),
        "grade output",
        &["dave"],
    )?;
    Ok(())
}

fn sandbox_run_in_chromium() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempdir();
    tplab([
        "run".as_ref(),
        "tests/fixtures/labs/seed-observations.md".as_ref(),
        "--auto".as_ref(),
        "--student".as_ref(),
        "erin".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run()
    .success()?
    .stdout_has("Score: 15/15")?;
    let report: tplab_report::Report = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    let lxc_mac = report.env.facts.get("lxc_mac").cloned().unwrap_or_default();
    let page = dir.path().join("report.html");
    let html = render(&dir.path().join("report.json"), "html", &page)?;
    // Live evidence of this very sandbox is in the report: the gateway MAC (= lxc MAC).
    has(
        &html,
        "HTML",
        &[
            "Vu du Pod",
            "default route via the gateway on eth0",
            "10.244.0.201",
            &lxc_mac,
        ],
    )?;
    let profile = tempdir();
    let png = dir.path().join("shot.png");
    let chromium = |extra: &[String]| tplab_testkit::chromium(profile.path(), extra);
    let dom = chromium(&["--dump-dom".into(), format!("file://{}", page.display())])?;
    let dom = String::from_utf8_lossy(&dom.stdout);
    has(
        &dom,
        "rendered DOM",
        &["seed-observations", "Vu du Node", "pass"],
    )?;
    chromium(&[
        format!("--screenshot={}", png.display()),
        "--window-size=1200,1600".into(),
        format!("file://{}", page.display()),
    ])?;
    let size = std::fs::metadata(&png).map_or(0, |m| m.len());
    if size < 20_000 {
        return Err(fail(format!(
            "screenshot is {size} bytes: the page did not render"
        )));
    }
    Ok(())
}
