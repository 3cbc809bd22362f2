//! A report written by the real runner (`tplab run --auto --report DIR --student alice
//! labs/first-steps/lab.md`, local environment) keeps loading, validating and rendering:
//! the contract between the runner and this crate, and `tplab.report/1` stability.

use std::path::Path;

use tplab_report::load::load_report;
use tplab_report::{gradescope_json, junit_xml, render_html, render_markdown};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/first-steps.runner.json"
);

#[test]
fn a_runner_report_loads_validates_and_renders() {
    let loaded = load_report(Path::new(FIXTURE)).expect("runner report loads");
    let r = &loaded.report;
    assert_eq!(r.student.id.as_deref(), Some("alice"));

    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let html = render_html(r, None).unwrap();
    assert!(
        html.contains("<h1>First steps with tplab: files, output and the loopback interface</h1>")
    );
    for step in &r.steps {
        assert!(html.contains(&step.title), "{}", step.title);
    }
    assert!(html.contains("What is the MTU of the loopback interface on your machine?"));
    assert!(html.contains("Score 8 / 8"));
    // This runner version writes no hash chain yet; the report says so instead of hiding it.
    assert!(html.contains("hash chain NOT verified: no events"));

    let md = render_markdown(r, None).unwrap();
    assert!(md.contains(
        "| the scratch directory exists | ✅ pass | 1 / 1 | `test -d /tmp/tplab-first-steps-"
    ));

    let v = gradescope_json(r);
    assert_eq!(v["score"], 8.0);
    // 7 checks and questions, and the hidden answer key of the step with the question.
    assert_eq!(v["tests"].as_array().unwrap().len(), 8);
    assert!(roxmltree::Document::parse(&junit_xml(std::slice::from_ref(r))).is_ok());
}

const SANDBOX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/seed-observations.sandbox.json"
);

/// Captured from `tplab run --auto --env sandbox --student bob
/// tests/fixtures/labs/seed-observations.md`: real netlink, tc and conntrack evidence.
#[test]
fn a_real_sandbox_report_renders_its_evidence() {
    let r = load_report(Path::new(SANDBOX))
        .expect("sandbox report loads")
        .report;
    let facts = &r.env.facts;
    let html = render_html(&r, None).unwrap();
    for step in &r.steps {
        assert!(
            html.contains(&format!("{}</span>", step.title)),
            "{}",
            step.title
        );
    }
    // Live values from the sandbox: the lxc veth, its MAC (the pod's gateway MAC), the NAT.
    assert!(html.contains(&format!("<code>{}</code>", facts["lxc_name"])));
    assert!(html.contains(&format!("<code>{}</code>", facts["lxc_mac"])));
    assert!(
        html.contains("<code>from_container</code>"),
        "attached program shown"
    );
    assert!(html.contains("<code>conntrack</code>"));
    assert!(
        html.contains(&format!("<code>{}</code>", facts["node_ip"])),
        "SNAT reply address"
    );
    assert!(html.contains("<code>ping -c 1 -W 2 203.0.113.10</code> exits with status 0"));
    let md = render_markdown(&r, None).unwrap();
    assert!(md.contains("## 2. Vu du Node — ✅ pass"));
}

#[test]
fn copying_a_real_sandbox_report_is_flagged() {
    use tplab_report::integrity::{Flag, check_class};
    use tplab_report::labfile::LabFile;
    use tplab_report::load::parse_report;

    let bytes = std::fs::read(SANDBOX).unwrap();
    let bob = parse_report(Path::new("bob.json"), &bytes).unwrap();
    let mut carol = bob.clone();
    carol.path = "carol.json".into();
    carol.report.student.id = Some("carol".into());
    carol.file_sha256 = "different".into();
    let lab = LabFile {
        path: "seed-observations.md".into(),
        id: "seed-observations".into(),
        title: String::new(),
        version: None,
        sha256: bob.report.lab.sha256.clone(),
        lang: "en".into(),
    };
    let findings = check_class(&[bob, carol], &lab, None);
    for flags in &findings.flags {
        let shared = flags
            .iter()
            .find_map(|f| match f {
                Flag::CopiedEvidence { shared, .. } => Some(shared.join(" ")),
                _ => None,
            })
            .expect("copied evidence flagged");
        assert!(shared.contains("interface lxc"), "{shared}");
        assert!(shared.contains("netns tplab-"), "{shared}");
        assert!(shared.contains("MAC "), "{shared}");
    }
}
