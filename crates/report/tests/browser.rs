//! The HTML reports opened in a real headless Chromium: the DOM holds the title, a step
//! and a verdict; a screenshot and a PDF print are produced and are not blank.
//! Skipped (ignored, with the reason) when `/usr/bin/chromium` is not installed.

mod common;

use std::path::{Path, PathBuf};

use tplab_testkit::{CHROMIUM, Failed, MISSING_CHROMIUM as MISSING, Suite, check, chromium, fail};

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}

fn render_to(dir: &Path, name: &str, html: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, html).expect("write html");
    path
}

fn student_report_in_browser() -> Result<(), Failed> {
    let out = common::out_dir("browser");
    let report = common::mixed();
    let html = tplab_report::render_html(&report, None).map_err(fail)?;
    let page = render_to(&out, "report.html", &html);
    let profile = tempfile::tempdir().map_err(fail)?;

    let dom = chromium(profile.path(), &["--dump-dom".into(), url(&page)])?;
    check!(
        dom.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    check!(
        dom.contains("<title>eBPF Network Deep Dive — s0003 — tplab report</title>"),
        "title not in DOM"
    );
    check!(dom.contains("1. Vu du Pod"), "step heading not in DOM");
    check!(
        dom.contains("<span class=\"badge fail\">fail</span>"),
        "fail verdict not in DOM"
    );
    check!(
        dom.contains("<span class=\"badge pass\">pass</span>"),
        "pass verdict not in DOM"
    );
    check!(
        !dom.contains("<script>alert"),
        "student input became markup"
    );

    let png = out.join("report.png");
    let _ = std::fs::remove_file(&png);
    let shot = chromium(
        profile.path(),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,2000".into(),
            url(&page),
        ],
    )?;
    check!(
        shot.status.success(),
        "screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png)
        .map_err(|e| fail(format!("no screenshot at {}: {e}", png.display())))?;
    check!(
        png_size(&bytes) == Some((1200, 2000)),
        "unexpected PNG header/size: {:?}",
        png_size(&bytes)
    );
    // A blank 1200x2000 page compresses to a few KiB; the report is text, tables and badges.
    check!(
        bytes.len() > 40_000,
        "screenshot looks blank ({} bytes)",
        bytes.len()
    );

    let pdf = out.join("report.pdf");
    let _ = std::fs::remove_file(&pdf);
    let print = chromium(
        profile.path(),
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
            url(&page),
        ],
    )?;
    check!(
        print.status.success(),
        "print failed: {}",
        String::from_utf8_lossy(&print.stderr)
    );
    let bytes =
        std::fs::read(&pdf).map_err(|e| fail(format!("no PDF at {}: {e}", pdf.display())))?;
    check!(bytes.starts_with(b"%PDF"), "not a PDF");
    // Page objects, not the `/Type /Pages` tree node.
    let pages = bytes
        .windows(12)
        .filter(|w| w.starts_with(b"/Type /Page") && w[11] != b's')
        .count();
    check!(pages >= 2, "printed report has {pages} page object(s)");
    Ok(())
}

/// The report of a real sandbox run (captured fixture, see `tests/runner_report.rs`).
fn sandbox_report_in_browser() -> Result<(), Failed> {
    let out = common::out_dir("browser");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/seed-observations.sandbox.json"
    );
    let report = tplab_report::load::load_report(Path::new(path))
        .map_err(fail)?
        .report;
    let html = tplab_report::render_html(&report, None).map_err(fail)?;
    let page = render_to(&out, "sandbox.html", &html);
    let profile = tempfile::tempdir().map_err(fail)?;
    let dom = chromium(profile.path(), &["--dump-dom".into(), url(&page)])?;
    let dom = String::from_utf8_lossy(&dom.stdout);
    check!(dom.contains("<h1>Every observation of the seed's Pod, Node and routing sections, as fact checks</h1>"), "title not in DOM");
    check!(dom.contains("2. Vu du Node"), "step heading not in DOM");
    check!(
        dom.contains("<span class=\"badge pass\">pass</span>"),
        "verdict not in DOM"
    );
    check!(
        dom.contains(&report.env.facts["lxc_name"]),
        "lxc name not in DOM"
    );
    let png = out.join("sandbox.png");
    let _ = std::fs::remove_file(&png);
    let shot = chromium(
        profile.path(),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,2000".into(),
            url(&page),
        ],
    )?;
    check!(
        shot.status.success(),
        "screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).map_err(|e| fail(format!("no screenshot: {e}")))?;
    check!(
        png_size(&bytes) == Some((1200, 2000)),
        "unexpected PNG: {:?}",
        png_size(&bytes)
    );
    check!(
        bytes.len() > 40_000,
        "screenshot looks blank ({} bytes)",
        bytes.len()
    );
    Ok(())
}

fn class_summary_in_browser() -> Result<(), Failed> {
    let out = common::out_dir("browser");
    let dir = tempfile::tempdir().map_err(fail)?;
    let lab_path = dir.path().join("lab.md");
    std::fs::write(&lab_path, tplab_report::fixture::LAB_MD).map_err(fail)?;
    let mut paths = Vec::new();
    for f in tplab_report::fixture::class(100) {
        let p = dir.path().join(&f.name);
        std::fs::write(&p, &f.bytes).map_err(fail)?;
        paths.push(p);
    }
    let lab = tplab_report::labfile::LabFile::load(&lab_path).map_err(fail)?;
    let class = tplab_report::grade::grade_files(&paths, &lab, None);
    let html = tplab_report::render_class_html(&class, None).map_err(fail)?;
    let page = render_to(&out, "summary.html", &html);
    let profile = tempfile::tempdir().map_err(fail)?;
    let dom = chromium(profile.path(), &["--dump-dom".into(), url(&page)])?;
    let dom = String::from_utf8_lossy(&dom.stdout);
    check!(
        dom.contains("eBPF Network Deep Dive — bilan de la classe"),
        "summary title not in DOM"
    );
    check!(
        dom.contains("Vu depuis le Cilium-agent"),
        "step row not in DOM"
    );
    check!(
        dom.contains("preuves copiées"),
        "integrity flags not in DOM"
    );
    Ok(())
}

type Body = fn() -> Result<(), Failed>;

fn main() {
    let present = Path::new(CHROMIUM).exists();
    let mut suite = Suite::new();
    let trials: [(&str, Body); 3] = [
        (
            "html report renders in headless chromium",
            student_report_in_browser,
        ),
        (
            "a real sandbox run's report renders in headless chromium",
            sandbox_report_in_browser,
        ),
        (
            "class summary renders in headless chromium",
            class_summary_in_browser,
        ),
    ];
    for (name, f) in trials {
        let trial = libtest_mimic::Trial::test(name, f).with_ignored_flag(!present);
        if !present && !std::env::args().any(|a| a == "--list") {
            eprintln!("ignored `{name}`: {MISSING}");
        }
        suite = suite.trial(trial);
    }
    suite.run();
}
