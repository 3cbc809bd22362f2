//! Fully French when the lab is French, English when it is English (issue 14, item 4):
//! the seed lab (French) played with `run --auto`, `check` on a fresh sandbox (every
//! checker's failure sentences), `test`, its report.md and report.html (headless
//! Chromium) and the `grade` class summary; then the same for labs/first-steps
//! (English). A sentence of tplab's own in the other language fails the test.

use std::path::Path;

use tplab_testkit::Suite;

use crate::harness::{Failed, fail, root, tempdir, tplab};
use crate::lang_detect::{Detector, html_segments, markdown_segments, segments, tplab_lines};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "language::french_lab_speaks_french_everywhere",
            french_everywhere,
        )
        .test(
            "language::english_lab_speaks_english_everywhere",
            english_everywhere,
        )
}

const SEED: &str = "labs/ebpf-network-deep-dive";
const FIRST: &str = "labs/first-steps";

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// Collects what the detector finds, per source, to fail once with all of it.
struct Findings {
    detector: Detector,
    found: Vec<String>,
    scanned: usize,
}

impl Findings {
    fn new(english: bool, lab: &str) -> Result<Findings, Failed> {
        let text = read(&root().join(lab).join("lab.md"))?;
        let detector = Detector::new(english, &text);
        // The lab's own words leave most of the list, and the detector can fail.
        if detector.size() * 5 < detector.total * 4 {
            return Err(fail(format!(
                "the lab takes away too many words: {} of {} left",
                detector.size(),
                detector.total
            )));
        }
        let sample = if english {
            "      expected: a neighbour entry for 10.0.0.1, lladdr set"
        } else {
            "      attendu\u{202f}: une entrée de voisinage pour 10.0.0.1"
        };
        if detector.foreign(sample).is_none() {
            return Err(fail(format!("the detector misses {sample:?}")));
        }
        Ok(Findings {
            detector,
            found: Vec::new(),
            scanned: 0,
        })
    }

    fn scan(&mut self, what: &str, segs: &[String]) {
        self.scanned += segs.len();
        for hit in self.detector.scan(segs.iter().map(String::as_str)) {
            self.found.push(format!("{what}: {hit}"));
        }
    }

    fn terminal(&mut self, what: &str, out: &crate::harness::Output) {
        let text = format!("{}\n{}", out.stdout, out.stderr);
        let lines = tplab_lines(&text);
        self.scan(what, &segments(&lines));
    }

    fn verdict(self) -> Result<(), Failed> {
        if self.scanned < 40 {
            return Err(fail(format!("only {} segments scanned", self.scanned)));
        }
        if self.found.is_empty() {
            Ok(())
        } else {
            Err(fail(format!(
                "{} sentences of tplab's own in {}:\n{}",
                self.found.len(),
                self.detector.language,
                self.found.join("\n")
            )))
        }
    }
}

fn french_everywhere() -> Result<(), Failed> {
    let mut f = Findings::new(true, SEED)?;
    // 1. Every check on a fresh sandbox, before any step: the checkers' failures.
    {
        let up = crate::agent::Up::new()?;
        let out = tplab(["check", SEED, "--sandbox", &up.id]).run();
        if out.stdout.matches('✘').count() < 3 {
            return Err(fail(format!("too few failures to read:\n{}", out.stdout)));
        }
        f.terminal("check", &out);
    }
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempdir();
    let report_dir = dir.path().join("run");
    // 2. The lab played by tplab, and its proof.
    let out = tplab([
        "run".as_ref(),
        SEED.as_ref(),
        "--auto".as_ref(),
        "--student".as_ref(),
        "zoe".as_ref(),
        "--report".as_ref(),
        report_dir.as_os_str(),
    ])
    .run();
    f.terminal("run --auto", &out);
    let out = tplab(["test", SEED]).run();
    if !out.stdout.contains("── ") {
        return Err(fail(format!("no test output:\n{}", out.stdout)));
    }
    f.terminal("test", &out);
    reports(&mut f, &report_dir, SEED, dir.path())?;
    f.verdict()
}

/// report.md, report.html (rendered by headless Chromium, screenshot kept beside it)
/// and the `grade` summary of one report.
fn reports(f: &mut Findings, report_dir: &Path, lab: &str, tmp: &Path) -> Result<(), Failed> {
    let json = report_dir.join("report.json");
    let md = tmp.join("report.md");
    tplab([
        "report".as_ref(),
        json.as_os_str(),
        "--lab".as_ref(),
        lab.as_ref(),
        "-o".as_ref(),
        md.as_os_str(),
    ])
    .run()
    .success()?;
    f.scan("report.md", &markdown_segments(&read(&md)?));
    let page = report_dir.join("report.html");
    let profile = tempdir();
    let dom = tplab_testkit::chromium(
        profile.path(),
        &["--dump-dom".into(), format!("file://{}", page.display())],
    )?;
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    if !dom.contains("</html>") {
        return Err(fail("chromium rendered no page"));
    }
    let nodes = html_segments(&dom);
    // Its own labels are there, in its language (the detector looks for the others').
    let labels: &[&str] = if f.detector.language == "English" {
        &[
            "Vérifications",
            "attendu",
            "trouvé",
            "comme attendu",
            "1 essai",
        ]
    } else {
        &["Checks", "expected", "found", "as expected", "1 attempt"]
    };
    for label in labels {
        if !nodes.iter().any(|n| n.contains(label)) {
            return Err(fail(format!("report.html: no {label:?} rendered")));
        }
    }
    f.scan("report.html (chromium)", &nodes);
    // A screenshot to look at (TPLAB_KEEP_SCREENSHOT=DIR keeps it).
    if let Some(keep) = std::env::var_os("TPLAB_KEEP_SCREENSHOT") {
        let shot = Path::new(&keep).join(format!(
            "report-{}.png",
            lab.rsplit('/').next().unwrap_or("lab")
        ));
        tplab_testkit::chromium(
            profile.path(),
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1200,2400".into(),
                format!("file://{}", page.display()),
            ],
        )?;
    }
    let grades = tmp.join("grades");
    let out = tplab([
        "grade".as_ref(),
        json.as_os_str(),
        "--lab".as_ref(),
        lab.as_ref(),
        "-o".as_ref(),
        grades.as_os_str(),
    ])
    .run();
    f.terminal("grade", &out);
    let summary = read(&grades.join("summary.txt"))?;
    f.scan(
        "grade summary.txt",
        &summary.lines().map(str::to_string).collect::<Vec<_>>(),
    );
    let html = read(&grades.join("summary.html"))?;
    f.scan("grade summary.html", &html_segments(&html));
    Ok(())
}

fn english_everywhere() -> Result<(), Failed> {
    let mut f = Findings::new(false, FIRST)?;
    let out = tplab(["check", FIRST, "--env", "local"]).run();
    f.terminal("check", &out);
    let dir = tempdir();
    let report_dir = dir.path().join("run");
    let out = tplab([
        "run".as_ref(),
        FIRST.as_ref(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--student".as_ref(),
        "eve".as_ref(),
        "--report".as_ref(),
        report_dir.as_os_str(),
    ])
    .run();
    f.terminal("run --auto", &out);
    let out = tplab(["test", FIRST, "--env", "local"]).run();
    f.terminal("test", &out);
    reports(&mut f, &report_dir, FIRST, dir.path())?;
    f.verdict()
}
