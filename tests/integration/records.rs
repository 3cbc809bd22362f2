//! Honest records (issue 14, items 8, 10 and 4 for reports): a guided session played
//! through a real terminal records true attempts, the hints and solution shown, the steps
//! tplab ran for the student and the skipped step; `report.html` is written beside
//! `report.json`; `tplab grade` flags `--auto` and *Run the commands for me*, keeps other
//! labs out of the statistics, gives per-step Moodle feedback and names the submitting
//! file of a byte-identical copy; a French lab's HTML report, opened in headless
//! Chromium, speaks French and shows the packet trace one row per hop.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, bin, fail, root, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "records::guided_session_records_attempts_help_and_skips",
            guided_session,
        )
        .test(
            "records::grade_flags_auto_and_keeps_other_labs_apart",
            grade_class,
        )
        .test("records::english_report_has_no_french", english_report)
        .root_test(
            "records::french_report_in_headless_chromium",
            french_report_in_chromium,
        )
}

const WAIT: Duration = Duration::from_secs(30);
const MENU: &str = "What do you want to do?";

fn read_json(path: &Path) -> Result<Value, Failed> {
    let text =
        std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| fail(format!("{}: {e}", path.display())))
}

fn expect(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(fail(what())) }
}

/// The kinds (and numbers) of a step's assists: `check_hint 1/2`, `run_for_me`...
fn assists(step: &Value) -> Vec<String> {
    step["assists"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let kind = x["kind"].as_str().unwrap_or("?");
                    match (x["index"].as_u64(), x["of"].as_u64()) {
                        (Some(i), Some(n)) => format!("{kind} {i}/{n}"),
                        _ => kind.to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn guided_session() -> Result<(), Failed> {
    let state = tempdir();
    let report = tempdir();
    let command = format!(
        "cd {} && TPLAB_STATE_DIR={} NO_COLOR=1 {} run labs/first-steps --env local --student rec --report {}; echo TPLAB\"\"-EXIT=$?",
        root().display(),
        state.path().display(),
        bin().display(),
        report.path().display()
    );
    let t = Tmux::start("bash --norc --noprofile")?;
    t.resize(200, 50)?;
    t.type_line(&command)?;
    // Step 1 (menu: Run for me, I run them, Check now, Hint, Skip, Quit): Check now
    // twice (fails: the directory is not there), then Run for me.
    t.wait_for_n(MENU, 1, WAIT)?;
    t.send(&["Down", "Down", "Enter"])?;
    t.wait_for_n(MENU, 2, WAIT)?;
    t.send(&["Down", "Down", "Enter"])?;
    t.wait_for_n(MENU, 3, WAIT)?;
    t.send(&["Enter"])?;
    // Step 2 (Run for me — its solution —, I run them, Check now, Hint, Solution, Skip,
    // Quit; the menu wraps around): hint, solution, skip.
    t.wait_for("Step 2/5", WAIT)?;
    t.wait_for_n(MENU, 4, WAIT)?;
    t.send(&["Down", "Down", "Down", "Enter"])?;
    t.wait_for_n(MENU, 5, WAIT)?;
    t.send(&["Down", "Down", "Down", "Down", "Enter"])?;
    t.wait_for_n(MENU, 6, WAIT)?;
    t.send(&["Up", "Up", "Enter"])?;
    // Step 3: Run for me (the transcript), then the question.
    t.wait_for("Step 3/5", WAIT)?;
    t.wait_for_n(MENU, 7, WAIT)?;
    t.send(&["Enter"])?;
    t.wait_for("Your answer", WAIT)?;
    t.type_line("65536")?;
    // Step 4: watch mode ("I run them"); the file appears after a few re-checks.
    t.wait_for("Step 4/5", WAIT)?;
    let screen = t.wait_for_n(MENU, 8, WAIT)?;
    t.send(&["Down", "Enter"])?;
    let dir = screen
        .split_whitespace()
        .find_map(|w| {
            w.find("/tmp/tplab-first-steps-").map(|i| {
                let name: String = w[i + 5..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                format!("/tmp/{name}")
            })
        })
        .ok_or_else(|| fail(format!("no scratch directory on the screen:\n{screen}")))?;
    // The first watch round has seen it missing (its row shows `…`): the file then
    // makes a further evaluation pass.
    t.wait_for("… the ready file appears", WAIT)?;
    std::fs::write(Path::new(&dir).join("ready"), b"")
        .map_err(|e| fail(format!("{dir}/ready: {e}")))?;
    // Step 5: quit.
    t.wait_for("Step 5/5", WAIT)?;
    t.wait_for_n(MENU, 9, WAIT)?;
    t.send(&["Up", "Enter"])?;
    let screen = t.wait_for("TPLAB-EXIT=", WAIT)?;
    let json = report.path().join("report.json");
    let html = report.path().join("report.html");
    // The end screen names both files.
    expect(
        screen.contains(&format!("{} · {}", json.display(), html.display())),
        || format!("the end screen does not name report.html:\n{screen}"),
    )?;
    let _ = std::fs::remove_dir_all(&dir);

    let r = read_json(&json)?;
    let steps = &r["steps"];
    let c = &steps[0]["checks"][0];
    expect(c["verdict"] == "pass" && c["attempts"] == 3, || {
        format!("step 1: failed twice then passed must be 3 attempts: {c}")
    })?;
    expect(
        assists(&steps[0]) == ["check_hint 1/2", "check_hint 2/2", "run_for_me"],
        || format!("step 1 assists: {:?}", assists(&steps[0])),
    )?;
    expect(
        steps[1]["status"] == "skipped" && steps[1]["skipped"] == true,
        || format!("step 2 was skipped: {}", steps[1]),
    )?;
    expect(assists(&steps[1]) == ["hint 1/1", "solution"], || {
        format!("step 2 assists: {:?}", assists(&steps[1]))
    })?;
    expect(assists(&steps[2]) == ["run_for_me"], || {
        format!("step 3 assists: {:?}", assists(&steps[2]))
    })?;
    let w = &steps[3]["checks"][0];
    expect(
        w["verdict"] == "pass" && w["attempts"] == 1 && w["evaluations"].as_u64().unwrap_or(0) >= 2,
        || format!("a watch session is one attempt of several evaluations: {w}"),
    )?;
    expect(steps[4]["status"] == "pending", || {
        format!("step 5 was not reached: {}", steps[4])
    })?;

    let page = std::fs::read_to_string(&html).map_err(|e| fail(e.to_string()))?;
    for needle in [
        "3 attempts",
        "1 attempt<",
        "hint of the check",
        "solution shown",
        "The student skipped this step.",
        "commands run by tplab",
    ] {
        expect(page.contains(needle), || {
            format!("report.html lacks {needle:?}")
        })?;
    }

    // The grader sees the steps tplab ran for the student.
    let out = tempdir();
    tplab([
        "grade".as_ref(),
        json.as_os_str(),
        "--lab".as_ref(),
        "labs/first-steps".as_ref(),
        "-o".as_ref(),
        out.path().as_os_str(),
    ])
    .run()
    .code(1)?
    .stdout_has("tplab ran the commands of scratch, loopback")?;
    Ok(())
}

fn run_auto(lab: &str, student: &str, dir: &Path) -> Result<(), Failed> {
    tplab([
        "run".as_ref(),
        lab.as_ref(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--student".as_ref(),
        student.as_ref(),
        "--report".as_ref(),
        dir.as_os_str(),
    ])
    .run();
    expect(dir.join("report.json").is_file(), || {
        format!("{lab}: no report.json in {}", dir.display())
    })?;
    expect(dir.join("report.html").is_file(), || {
        format!("{lab}: no report.html beside report.json")
    })
}

fn grade_class() -> Result<(), Failed> {
    let runs = tempdir();
    let class = tempdir();
    for student in ["alice", "bob"] {
        let dir = runs.path().join(student);
        run_auto("labs/first-steps", student, &dir)?;
        std::fs::copy(
            dir.join("report.json"),
            class.path().join(format!("{student}.json")),
        )
        .map_err(|e| fail(e.to_string()))?;
    }
    // mallory hands in alice's file byte for byte.
    std::fs::copy(
        class.path().join("alice.json"),
        class.path().join("mallory.json"),
    )
    .map_err(|e| fail(e.to_string()))?;
    // carol ran another lab.
    let other = runs.path().join("carol");
    run_auto("tests/fixtures/labs/already-true.md", "carol", &other)?;
    std::fs::copy(other.join("report.json"), class.path().join("carol.json"))
        .map_err(|e| fail(e.to_string()))?;

    let out = tempdir();
    let run = tplab([
        "grade".as_ref(),
        class.path().as_os_str(),
        "--lab".as_ref(),
        "labs/first-steps".as_ref(),
        "-o".as_ref(),
        out.path().as_os_str(),
    ])
    .run();
    run.code(1)?
        .stdout_has("session run with --auto: tplab ran every command and check itself")?
        .stdout_has("2 students, mean")?
        .stdout_has(
            "Reports of another lab or version (not in the gradebooks nor the statistics):",
        )?
        .stdout_has(&format!(
            "byte-identical copy: file {} has the same bytes as {}",
            class.path().join("mallory.json").display(),
            class.path().join("alice.json").display()
        ))?;
    let read = |name: &str| {
        std::fs::read_to_string(out.path().join(name)).map_err(|e| fail(format!("{name}: {e}")))
    };
    let summary = read("summary.txt")?;
    expect(summary.contains("carol ("), || {
        format!("carol's other lab is not listed apart:\n{summary}")
    })?;
    expect(
        !summary.contains("-0") && !read("summary.html")?.contains("-0<"),
        || format!("a summary prints -0:\n{summary}"),
    )?;
    // The statistics count this lab's steps only: no step of the other lab.
    let grades = read_json(&out.path().join("grades.json"))?;
    let steps: Vec<&str> = grades["summary"]["steps"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default();
    expect(
        steps == ["scratch", "config", "loopback", "polling", "cleanup"],
        || format!("summary steps: {steps:?}"),
    )?;
    expect(grades["summary"]["students"] == 2, || {
        format!("students: {}", grades["summary"]["students"])
    })?;
    // Moodle: one feedback line per step, no row for carol.
    let moodle = read("moodle.csv")?;
    let mut rows = csv::Reader::from_reader(moodle.as_bytes());
    let mut seen = Vec::new();
    for rec in rows.records() {
        let rec = rec.map_err(|e| fail(e.to_string()))?;
        seen.push(rec[0].to_owned());
        let lines: Vec<&str> = rec[2].lines().collect();
        expect(
            lines.len() == 6
                && lines[1].starts_with("1. Prepare a scratch directory: 1 / 1 — ")
                && lines[5].starts_with("5. Clean up: "),
            || format!("feedback of {}: {lines:?}", &rec[0]),
        )?;
    }
    expect(seen == ["alice", "bob"], || {
        format!("moodle rows: {seen:?}")
    })?;
    let html = read("summary.html")?;
    expect(
        html.contains("id=\"other-labs\"") && html.contains("already-true"),
        || "summary.html does not list the other lab apart".into(),
    )
}

/// tplab's own English words of the report table (the French ones when `fr`), those that
/// differ between the languages.
fn own_words(fr: bool) -> Vec<&'static str> {
    tplab_report::i18n::message_pairs()
        .into_iter()
        .filter(|(key, en, frw)| en != frw && !["lang", "colon"].contains(key))
        .map(|(_, en, frw)| if fr { frw } else { en })
        .collect()
}

/// Every object key and one-word value inside `v`: the checkers' evidence tables show them
/// as they are (`name`, `direction`, `pass`...), they are data, not tplab's words.
fn keys_of(v: &Value, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                out.insert(k.clone());
                keys_of(x, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| keys_of(x, out)),
        // A checker's own value (`"verdict": "pass"` inside evidence) is data too.
        Value::String(s) if !s.contains(' ') => {
            out.insert(s.clone());
        }
        _ => {}
    }
}

/// [`own_words`] minus the keys of `report`'s data.
fn words_not_keys(fr: bool, report: &Value) -> Vec<&'static str> {
    let mut keys = std::collections::BTreeSet::new();
    keys_of(report, &mut keys);
    own_words(fr)
        .into_iter()
        .filter(|w| !keys.contains(*w))
        .collect()
}

/// The text nodes of an HTML page (tags removed, trimmed, quote entities decoded).
fn nodes_of(html: &str) -> Vec<String> {
    html.split(['<', '>'])
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, t)| {
            t.replace("&#x27;", "'")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
                .trim()
                .to_owned()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// A word of the other language's table in `nodes`: a label is a whole text node, a
/// sentence (three words or more) may sit inside one. The checkers' own descriptions of
/// facts (`expected`, `found`) come from the runner, not from this table.
fn foreign_word(nodes: &[String], words: &[&str]) -> Option<String> {
    words.iter().find_map(|w| {
        let sentence = w.split_whitespace().count() >= 3;
        nodes
            .iter()
            .find(|n| n.as_str() == *w || (sentence && n.contains(w)))
            .map(|n| format!("{w:?} in {n:?}"))
    })
}

fn text_of(html: &str) -> String {
    nodes_of(html).join(" ")
}

fn english_report() -> Result<(), Failed> {
    let dir = tempdir();
    run_auto("labs/first-steps", "eve", dir.path())?;
    let html =
        std::fs::read_to_string(dir.path().join("report.html")).map_err(|e| fail(e.to_string()))?;
    let text = text_of(&html);
    expect(
        text.contains("Checks") && text.contains("1 attempt"),
        || format!("English labels missing:\n{text}"),
    )?;
    let report = read_json(&dir.path().join("report.json"))?;
    let french = words_not_keys(true, &report);
    if let Some(w) = foreign_word(&nodes_of(&html), &french) {
        return Err(fail(format!("French in an English report: {w}")));
    }
    let md = dir.path().join("report.md");
    tplab([
        "report".as_ref(),
        dir.path().join("report.json").as_os_str(),
        "--lab".as_ref(),
        "labs/first-steps".as_ref(),
        "-o".as_ref(),
        md.as_os_str(),
    ])
    .run()
    .success()?;
    let md = std::fs::read_to_string(md).map_err(|e| fail(e.to_string()))?;
    // Markdown: table cells and lines, split on `|` and line ends.
    let cells: Vec<String> = md
        .split(['|', '\n'])
        .map(|c| c.trim().trim_matches('*').to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(w) = foreign_word(&cells, &french) {
        return Err(fail(format!("French in an English Markdown report: {w}")));
    }
    Ok(())
}

fn french_report_in_chromium() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempdir();
    tplab([
        "run".as_ref(),
        "labs/ebpf-network-deep-dive".as_ref(),
        "--auto".as_ref(),
        "--student".as_ref(),
        "zoe".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run()
    .stdout_has("report.html")?;
    let report = read_json(&dir.path().join("report.json"))?;
    // The ping check's trace: as many hops as lines.
    let hops = report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["checks"].as_array().cloned().unwrap_or_default())
        .find(|c| c["id"] == "ping-path")
        .and_then(|c| c["evidence"]["trace"].as_array().map(Vec::len))
        .ok_or_else(|| fail("no ping-path trace in report.json"))?;
    // Written by default beside report.json, checked against the lab file.
    let page = dir.path().join("report.html");
    let profile = tempdir();
    let dom = tplab_testkit::chromium(
        profile.path(),
        &["--dump-dom".into(), format!("file://{}", page.display())],
    )?;
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    expect(dom.contains("<html lang=\"fr\">"), || "not lang=fr".into())?;
    let text = text_of(&dom);
    for label in [
        "Vérifications",
        "attendu",
        "trouvé",
        "Valeurs de cette session",
        "Valeurs capturées",
        "réussi",
        "1 essai",
        "Score",
        "automatique (--auto\u{202f}: tplab a lancé toutes les commandes)",
        "trace des paquets",
    ] {
        expect(text.contains(label), || format!("{label:?} not rendered"))?;
    }
    if let Some(w) = foreign_word(&nodes_of(&dom), &words_not_keys(false, &report)) {
        return Err(fail(format!("English in a French report: {w}")));
    }
    expect(!text.contains("within 1s"), || {
        "the watch window leaked".into()
    })?;
    // The trace table of the ping check: one row per hop.
    let check = dom
        .split("id=\"check-ping-path\"")
        .nth(1)
        .and_then(|rest| rest.split("</article>").next())
        .ok_or_else(|| fail("no ping-path check in the DOM"))?;
    let table = check
        .split("<caption>trace des paquets</caption>")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .ok_or_else(|| fail("no packet trace table for ping-path"))?;
    let rows = table.matches("<tr>").count() - 1; // minus the header row
    expect(rows == hops, || {
        format!("{rows} rows for {hops} hops:\n{table}")
    })?;
    expect(
        table.contains("<th>sens</th>") && table.contains(">sort<"),
        || format!("trace columns not French:\n{table}"),
    )?;
    Ok(())
}
