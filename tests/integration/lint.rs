//! `tplab lint`: clean labs pass; each broken fixture fails with its code at its place.

use crate::harness::{Failed, fail, fixture, root, tplab};
use tplab_testkit::Suite;

/// (fixture, diagnostic code, line, column): one per kind of mistake.
const BROKEN: &[(&str, &str, usize, usize)] = &[
    ("front-matter-missing", "front-matter-missing", 1, 1),
    ("front-matter-invalid", "front-matter-invalid", 3, 1),
    ("front-matter-missing-key", "front-matter-missing-key", 2, 1),
    ("front-matter-unknown-key", "front-matter-unknown-key", 4, 1),
    ("unknown-block-kind-typo", "unknown-block-kind", 10, 4),
    ("unknown-block-kind-attrs", "unknown-block-kind", 10, 4),
    ("unknown-attribute", "unknown-attribute", 10, 21),
    ("bad-attributes", "bad-attributes", 10, 7),
    ("bad-attribute-value", "bad-attribute-value", 10, 21),
    ("unknown-role", "unknown-role", 10, 8),
    // At the key itself, not at the item's first line.
    ("unknown-key", "unknown-key", 12, 3),
    ("unknown-key-nested", "unknown-key", 13, 5),
    ("yaml-syntax", "yaml-syntax", 13, 1),
    ("check-not-a-list", "check-not-a-list", 11, 1),
    ("check-without-kind", "check-without-kind", 11, 1),
    ("check-multiple-kinds", "check-multiple-kinds", 12, 3),
    ("key-without-run", "key-without-run", 13, 3),
    ("bad-regex", "bad-regex", 13, 5),
    ("bad-comparison", "bad-comparison", 13, 5),
    ("bad-duration", "bad-duration", 12, 3),
    ("undefined-variable", "undefined-variable", 11, 13),
    (
        "capture-before-definition",
        "capture-before-definition",
        11,
        9,
    ),
    ("duplicate-step-id", "duplicate-step-id", 15, 1),
    ("duplicate-id", "duplicate-id", 13, 7),
    ("unknown-environment", "unknown-environment", 4, 23),
    ("bad-question", "bad-question", 15, 1),
    ("template-syntax", "template-syntax", 11, 6),
    ("bad-transcript", "bad-transcript", 11, 1),
    ("outside-step", "outside-step", 8, 1),
    ("no-steps", "no-steps", 2, 1),
    ("unknown-capture-field", "unknown-capture-field", 13, 11),
    ("bad-capture-name", "bad-capture-name", 13, 5),
    ("bad-lab-id", "bad-lab-id", 2, 1),
    // Issue 10 (hardening): each was a panic, a miss or a wrong position.
    ("non-ascii-attribute", "bad-attributes", 10, 8),
    ("unknown-role-in-check", "unknown-role", 12, 3),
    ("interval-too-short", "bad-duration", 12, 3),
    ("question-bad-regex", "bad-regex", 12, 1),
    ("unclosed-fence", "unclosed-fence", 10, 1),
    ("nested-in-list", "unknown-key", 14, 5),
    ("nested-in-quote", "bad-duration", 12, 5),
    ("unknown-lang", "unknown-lang", 4, 1),
    ("front-matter-wrong-type", "front-matter-invalid", 5, 1),
    ("front-matter-duplicate-key", "front-matter-invalid", 5, 1),
    // Issue 11: codes from the error's kind, at the key, for every schema.
    ("question-unknown-key", "unknown-key", 13, 1),
    ("fact-unknown-key", "unknown-key", 14, 5),
    ("fact-bad-regex", "bad-regex", 11, 3),
    // Issue 13: the `k8s` kind's keys and field paths, at themselves.
    ("k8s-unknown-key", "unknown-key", 14, 5),
    ("k8s-bad-path", "bad-check", 17, 7),
    // Issue 15: groups, packets, choices, front-matter vars.
    ("group-member-points", "bad-check", 13, 7),
    (
        "packets-capture-absent-hop",
        "unknown-capture-field",
        18,
        25,
    ),
    ("packets-absent-and-count", "bad-check", 11, 3),
    ("bpf-map-bad-port", "bad-check", 11, 3),
    ("question-not-a-choice", "bad-question", 13, 1),
    ("vars-unknown-environment", "unknown-environment", 7, 3),
    ("vars-type-error", "template-syntax", 8, 3),
];

pub fn register(mut suite: Suite) -> Suite {
    suite = suite
        .test("cli::help_lists_subcommands", help_lists_subcommands)
        .test("lint::shipped_labs_are_clean", shipped_labs_are_clean)
        .test("lint::reports_all_files_at_once", reports_all_files_at_once);
    for (file, code, line, col) in BROKEN {
        let name = format!("lint::broken::{file}");
        suite = suite.test(&name, move || broken(file, code, *line, *col));
    }
    suite
}

fn help_lists_subcommands() -> Result<(), Failed> {
    let out = tplab(["--help"]).run();
    out.success()?;
    for sub in ["run", "check", "test", "lint"] {
        if !out.stdout.lines().any(|l| l.trim_start().starts_with(sub)) {
            return Err(fail(format!(
                "--help does not list `{sub}`:\n{}",
                out.stdout
            )));
        }
    }
    Ok(())
}

fn shipped_labs_are_clean() -> Result<(), Failed> {
    let labs = root().join("labs");
    tplab(["lint".as_ref(), labs.as_os_str()])
        .run()
        .success()?
        .stderr_has("0 error(s)")?;
    Ok(())
}

fn broken(file: &str, code: &str, line: usize, col: usize) -> Result<(), Failed> {
    let path = fixture(&format!("lint/{file}.md"));
    let rel = path.strip_prefix(root()).expect("under root").to_path_buf();
    // Human form: compiler-style, with path:line:col, the source line and a caret.
    let human = tplab(["lint".as_ref(), rel.as_os_str()]).run();
    human.code(1)?;
    let location = format!("{}:{line}:{col}", rel.display());
    human
        .stderr_has(&location)?
        .stderr_has(&format!("[{code}]"))?
        .stderr_has("^")?;
    // Machine form: the same diagnostic, as JSON.
    let json = tplab(["lint".as_ref(), "--json".as_ref(), rel.as_os_str()])
        .run()
        .json()?;
    let found = json.as_array().into_iter().flatten().any(|d| {
        d["code"] == code && d["line"] == line && d["col"] == col && d["severity"] == "error"
    });
    if !found {
        return Err(fail(format!(
            "no `{code}` error at {line}:{col} in {json:#}"
        )));
    }
    Ok(())
}

fn reports_all_files_at_once() -> Result<(), Failed> {
    let dir = fixture("lint");
    let out = tplab(["lint".as_ref(), dir.as_os_str()]).run();
    out.code(1)?;
    let errors = out.stderr.matches("error: ").count();
    if errors < BROKEN.len() {
        return Err(fail(format!(
            "expected at least {} errors, saw {errors}:\n{}",
            BROKEN.len(),
            out.stderr
        )));
    }
    Ok(())
}
