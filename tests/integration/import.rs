//! Issue 18, `tplab import`: a Killercoda scenario and an Instruqt track written for
//! these tests (tests/fixtures/import/) become labs that lint and that `tplab test`
//! proves on `local`; unsafe paths and malformed sources are refused with `file:line`;
//! the source's scripts are never run.

use std::path::{Path, PathBuf};

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, fixture, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "import::killercoda_scenario_lints_and_proves",
            killercoda_scenario,
        )
        .test("import::instruqt_track_lints_and_proves", instruqt_track)
        .test("import::refuses_to_overwrite", refuses_to_overwrite)
        .test("import::unsafe_paths_are_refused", unsafe_paths)
        .test("import::malformed_sources_name_line_and_col", malformed)
        .test("import::scripts_are_never_run", scripts_never_run)
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// Imports, lints, proves on `local` in a scratch folder, and checks that the lab's
/// cleanup removed that folder. Returns the lab's text.
fn import_and_prove(
    platform: &str,
    source: &str,
    summary: &str,
    message: &str,
) -> Result<String, Failed> {
    let dir = tempdir();
    let out = dir.path().join("lab");
    tplab(["import", platform])
        .cmd_arg(fixture(source))
        .cmd_arg("-o")
        .cmd_arg(&out)
        .run()
        .success()?
        .stdout_has(summary)?
        .stdout_has("the imported lab lints with 0 error(s)")?;
    tplab(["lint"]).cmd_arg(&out).run().success()?;
    let scratch = dir.path().join("scratch");
    tplab(["test", "--env", "local"])
        .cmd_arg(&out)
        .env("TPLAB_IMPORT_DIR", &scratch)
        .run()
        .success()?
        .stdout_has("is solvable on `local`")?;
    ensure(
        !scratch.exists(),
        "the source's cleanup did not run: the scratch folder is still there",
    )?;
    // A student who did nothing sees the author's failure message.
    let scratch2 = dir.path().join("scratch2");
    std::fs::create_dir_all(&scratch2).map_err(|e| fail(e.to_string()))?;
    // What the setups would have left (`tplab check` runs none).
    for file in ["greeting", "notes"] {
        std::fs::write(scratch2.join(file), "draft\n").map_err(|e| fail(e.to_string()))?;
    }
    let check = tplab(["check", "--env", "local"])
        .cmd_arg(&out)
        .env("TPLAB_IMPORT_DIR", &scratch2)
        .run();
    check.code(1)?.stdout_has(message)?;
    read(&out.join("lab.md"))
}

fn killercoda_scenario() -> Result<(), Failed> {
    let lab = import_and_prove(
        "killercoda",
        "import/killercoda/greeting",
        "imported killercoda `greeting` into",
        "greeting does not say hello yet: write hello into it",
    )?;
    for needle in [
        // background.sh → the lab's setup, finish's background → its cleanup.
        "```sh {setup}\nbash -c \"$(cat <<'TPLAB_SCRIPT'\n#!/bin/bash\nmkdir -p",
        "```sh {cleanup}\nbash -c",
        // A `{{exec}}` block is a command; inside a `<details>` a hidden solution.
        "```sh {target=local}\necho hello >",
        "```sh {target=local solution}\nip -o link show lo >",
        // verify.sh → a run check keeping the script and its message.
        "- id: verify\n  name: Write a greeting (step1/verify.sh)\n  run: |-\n    bash -c",
        "greeting does not say hello yet: write hello into it",
        // Killercoda's own placeholders are not tplab templates.
        "{% raw %}",
        "### Finish",
    ] {
        ensure(
            lab.contains(needle),
            format!("lab lacks {needle:?}:\n{lab}"),
        )?;
    }
    ensure(
        !lab.contains("{{exec}}") && !lab.contains("{{copy}}"),
        format!("Killercoda marks left in the lab:\n{lab}"),
    )
}

fn instruqt_track() -> Result<(), Failed> {
    let dir = tempdir();
    let out = dir.path().join("lab");
    let run = tplab(["import", "instruqt"])
        .cmd_arg(fixture("import/instruqt/scratch-notes"))
        .cmd_arg("-o")
        .cmd_arg(&out)
        .run();
    run.success()?
        .stdout_has("3 step(s), 2 check(s), 3 solution(s)")?
        .stdout_has("needs a human (")?
        .stdout_has("02-save-local-routes/check-server:7: reads `ip route`: a typed `route` check")?
        .stdout_has("config.yml: sandbox host(s) `server`")?
        .stdout_has("01-finalise-notes/assignment.md:7: `[[ Instruqt-Var ]]`")?;
    let lab = import_and_prove(
        "instruqt",
        "import/instruqt/scratch-notes",
        "imported instruqt `scratch-notes` into",
        "FAIL: notes still is not 'final': write final into it",
    )?;
    for needle in [
        "## Finalise the notes {#finalise-notes}",
        // fail-message works as on Instruqt, FAIL: lines fail the check.
        "fail-message() { echo \"FAIL: $*\"; exit 1; }",
        "not_regex: '(?m)^FAIL:'",
        "notes still is not ''final'': write final into it",
        "```sh {target=local solution}\nbash -c",
        "```sh {target=local}\nip -4 route show table local dev lo\n```",
        "```question {id=quiz}\nprompt: Which routing table",
        "answer: local",
    ] {
        ensure(
            lab.contains(needle),
            format!("lab lacks {needle:?}:\n{lab}"),
        )?;
    }
    // --json: the same facts for scripts.
    let json = tplab(["import", "instruqt", "--json", "--force"])
        .cmd_arg(fixture("import/instruqt/scratch-notes"))
        .cmd_arg("-o")
        .cmd_arg(&out)
        .run();
    let v = json.success()?.json()?;
    ensure(
        v["steps"] == 3 && v["checks"] == 2 && v["lint"].as_array().is_some_and(Vec::is_empty),
        format!("--json: {v}"),
    )?;
    ensure(
        v["needs_human"].as_array().is_some_and(|n| {
            n.iter()
                .any(|n| n["file"] == "02-save-local-routes/check-server" && n["line"] == 7)
        }),
        format!("--json needs_human: {v}"),
    )
}

fn refuses_to_overwrite() -> Result<(), Failed> {
    let dir = tempdir();
    let out = dir.path().join("lab");
    let args = |force: bool| {
        let mut t = tplab(["import", "killercoda"])
            .cmd_arg(fixture("import/killercoda/greeting"))
            .cmd_arg("-o")
            .cmd_arg(&out);
        if force {
            t = t.cmd_arg("--force");
        }
        t
    };
    args(false).run().success()?;
    std::fs::write(out.join("lab.md"), "mine").map_err(|e| fail(e.to_string()))?;
    args(false)
        .run()
        .code(2)?
        .stderr_has("lab.md already exists; pass --force to overwrite it")?;
    ensure(
        read(&out.join("lab.md"))? == "mine",
        "the lab was overwritten",
    )?;
    args(true).run().success()?;
    ensure(
        read(&out.join("lab.md"))?.starts_with("---\nid: greeting"),
        "--force did not write",
    )
}

fn killercoda_with(step_text: &str) -> tempfile::TempDir {
    let dir = tempdir();
    write(
        dir.path(),
        "index.json",
        &format!(
            "{{\n  \"title\": \"T\",\n  \"details\": {{\n    \"steps\": [\n      {{ \"title\": \"S\", \"text\": {step_text} }}\n    ]\n  }}\n}}\n"
        ),
    );
    dir
}

fn import_err(platform: &str, src: &Path) -> crate::harness::Output {
    let out = tempdir();
    tplab(["import", platform])
        .cmd_arg(src)
        .cmd_arg("-o")
        .cmd_arg(out.path().join("lab"))
        .run()
}

fn unsafe_paths() -> Result<(), Failed> {
    let outside = tempdir();
    write(outside.path(), "secret.md", "# secret\n");
    for (named, reason) in [
        (
            "\"../secret.md\"",
            "path `../secret.md` leaves the source folder (`..`)",
        ),
        ("\"/etc/hostname\"", "path `/etc/hostname` is absolute"),
        (
            "\"link.md\"",
            "path `link.md` is a link that leads out of the source folder",
        ),
    ] {
        let src = killercoda_with(named);
        std::os::unix::fs::symlink(outside.path().join("secret.md"), src.path().join("link.md"))
            .map_err(|e| fail(e.to_string()))?;
        import_err("killercoda", src.path())
            .code(2)?
            .stderr_has(&format!("index.json:5: {reason}"))?;
    }
    // A legacy track.yml's slug names a folder: one name inside the track.
    let track = tempdir();
    write(
        track.path(),
        "track.yml",
        "slug: t\ntitle: T\nchallenges:\n- slug: ../evil\n  title: E\n  assignment: text\n",
    );
    import_err("instruqt", track.path())
        .code(2)?
        .stderr_has("track.yml:4: path `../evil` is not a challenge folder name")?;
    // A challenge script that is a link out of the track is refused too.
    let track = tempdir();
    write(track.path(), "track.yml", "slug: t\ntitle: T\n");
    write(
        track.path(),
        "01-one/assignment.md",
        "---\nslug: one\ntitle: One\n---\nText\n",
    );
    std::os::unix::fs::symlink("/etc/passwd", track.path().join("01-one/check-host"))
        .map_err(|e| fail(e.to_string()))?;
    import_err("instruqt", track.path())
        .code(2)?
        .stderr_has("01-one/check-host:1: path `01-one/check-host` is a link that leads out")?;
    Ok(())
}

fn malformed() -> Result<(), Failed> {
    let src = tempdir();
    write(
        src.path(),
        "index.json",
        "{\n  \"title\": \"T\",\n  \"details\": { \"steps\": [ }\n}\n",
    );
    import_err("killercoda", src.path())
        .code(2)?
        .stderr_has("index.json:3:")?;
    let src = killercoda_with("\"missing.md\"");
    import_err("killercoda", src.path())
        .code(2)?
        .stderr_has("missing.md: missing (a killercoda step text needs it)")?;
    let track = tempdir();
    write(track.path(), "track.yml", "slug: t\ntitle: [unclosed\n");
    import_err("instruqt", track.path())
        .code(2)?
        .stderr_has("track.yml:2:")?;
    let track = tempdir();
    write(track.path(), "track.yml", "slug: t\ntitle: T\n");
    // The front matter's YAML error is reported at its line in assignment.md.
    write(
        track.path(),
        "01-one/assignment.md",
        "---\nslug: one\ntitle: [unclosed\n---\nText\n",
    );
    import_err("instruqt", track.path())
        .code(2)?
        .stderr_has("01-one/assignment.md:3:")?;
    import_err("instruqt", Path::new("/nonexistent-tplab-track"))
        .code(2)?
        .stderr_has("cannot read /nonexistent-tplab-track")?;
    Ok(())
}

fn scripts_never_run() -> Result<(), Failed> {
    let src = tempdir();
    let mark = src.path().join("ran");
    let touch = format!("#!/bin/sh\ntouch {}\n", mark.display());
    write(
        src.path(),
        "index.json",
        r#"{ "title": "T", "details": { "intro": { "background": "bg.sh", "foreground": "fg.sh" },
             "steps": [ { "title": "S", "text": "s.md", "verify": "v.sh", "background": "sbg.sh" } ] } }"#,
    );
    write(src.path(), "s.md", "Do it:\n\n`true`{{exec}}\n");
    for f in ["bg.sh", "fg.sh", "v.sh", "sbg.sh"] {
        write(src.path(), f, &touch);
    }
    import_err("killercoda", src.path()).success()?;
    ensure(!mark.exists(), "importing ran one of the source's scripts")
}
