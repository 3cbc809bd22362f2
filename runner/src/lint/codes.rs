//! Every diagnostic code is documented (`docs/lab-format.md`, "Diagnostic codes") and
//! produced by something tested: a fixture of the integration test's BROKEN table
//! (`tests/integration/lint.rs`) or a lab snippet here.

use std::collections::BTreeSet;

use strum::IntoEnumIterator as _;

use crate::lab::DiagCode;

const DOCS: &str = include_str!("../../../docs/lab-format.md");
const BROKEN_TABLE: &str = include_str!("../../../tests/integration/lint.rs");

const HEAD: &str = "---\nid: t\ntitle: T\nenvironments: [local]\nroles: [local]\n---\n\n## S\n\n";

/// Lab bodies (after [`HEAD`]) producing a code; for the codes with no fixture, and
/// for the paths that reach a code other than a fixture's.
const PRODUCED: &[(DiagCode, &str)] = &[
    (
        DiagCode::UnclosedDetails,
        "<details>\n<summary>Hint</summary>\n\nLook.\n",
    ),
    (DiagCode::EmptyCommand, "```sh {target=local}\n```\n"),
    (
        DiagCode::EmptyTranscript,
        "```console {target=local}\n```\n",
    ),
    (DiagCode::EmptyCheck, "```check\n```\n"),
    (
        DiagCode::BadCheck,
        "```check\n- run: x\n  status: nope\n```\n",
    ),
    (DiagCode::StepWithoutChecks, "Just prose.\n"),
    (
        DiagCode::UnusedCapture,
        "```check\n- run: hostname\n  capture: { HOST: stdout }\n```\n",
    ),
    (
        DiagCode::DanglingLeadIn,
        "On a cluster, the equivalent is:\n\n```sh {target=local env=kube}\nkubectl get pods\n```\n\n```check\n- run: \"true\"\n```\n",
    ),
    // In a fact kind's body: the probe's matchers, not the output matchers.
    (
        DiagCode::BadRegex,
        "```check\n- link:\n    name: {regex: \"(\"}\n```\n",
    ),
    (
        DiagCode::BadComparison,
        "```check\n- link:\n    mtu: {cmp: about}\n```\n",
    ),
    // Flow style: the whole list is read at once.
    (
        DiagCode::BadDuration,
        "```check\n[{run: x, timeout: soon}]\n```\n",
    ),
    (
        DiagCode::UnknownKey,
        "```question\nprompt: p\nanswer: a\nhnit: h\n```\n",
    ),
    (
        DiagCode::BadQuestion,
        "```question\nprompt: p\nanswer: a\nprompt: again\n```\n",
    ),
];

fn codes_of(body: &str) -> Vec<DiagCode> {
    let parsed = crate::lab::parse("t.md", format!("{HEAD}{body}"));
    let mut codes: Vec<DiagCode> = parsed.diagnostics.iter().map(|d| d.code).collect();
    if let Some(lab) = &parsed.lab {
        codes.extend(super::lint(lab).iter().map(|d| d.code));
    }
    codes
}

#[test]
fn snippets_produce_their_codes() {
    for (code, body) in PRODUCED {
        let codes = codes_of(body);
        assert!(codes.contains(code), "{code}: got {codes:?} for\n{body}");
    }
}

/// The codes of the BROKEN table: `("fixture", "code", line, col)`.
fn broken_codes() -> BTreeSet<String> {
    let re =
        regex::Regex::new(r#"\(\s*"[a-z-]+",\s*"([a-z-]+)",\s*\d+,\s*\d+,?\s*\)"#).expect("valid");
    re.captures_iter(BROKEN_TABLE)
        .map(|c| c[1].to_string())
        .collect()
}

#[test]
fn every_code_is_documented_and_tested() {
    let broken = broken_codes();
    assert!(broken.len() > 20, "BROKEN table not found: {broken:?}");
    for code in &broken {
        assert!(
            code.parse::<DiagCode>().is_ok(),
            "the BROKEN table expects `{code}`, which is no DiagCode"
        );
    }
    let undocumented: Vec<DiagCode> = DiagCode::iter()
        .filter(|c| !DOCS.contains(&format!("| `{c}` |")))
        .collect();
    let untested: Vec<DiagCode> = DiagCode::iter()
        .filter(|c| !broken.contains(c.as_str()) && !PRODUCED.iter().any(|(p, _)| p == c))
        .collect();
    assert!(
        undocumented.is_empty() && untested.is_empty(),
        "codes without a row in docs/lab-format.md's \"Diagnostic codes\": {undocumented:?}\n\
         codes without a fixture in tests/integration/lint.rs's BROKEN table nor a snippet \
         in runner/src/lint/codes.rs: {untested:?}"
    );
}

#[test]
fn json_keeps_the_kebab_case_names() {
    let parsed = crate::lab::parse(
        "t.md",
        format!("{HEAD}```check\n- run: x\n  stdot: y\n```\n"),
    );
    let json = parsed.diagnostics[0].to_json();
    assert_eq!(json["code"], "unknown-key");
}
