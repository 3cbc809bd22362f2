//! Grading exports: `JUnit` XML shape, Gradescope results.json fields and types.

mod common;

use roxmltree::{Document, Node};
use tplab_report::fixture::{edge_report, other_lab_report};
use tplab_report::{JunitOptions, gradescope_json, junit_xml, junit_xml_with};

fn attr<'a>(node: Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name).unwrap_or_else(|| {
        panic!(
            "<{}> lacks required attribute {name}",
            node.tag_name().name()
        )
    })
}

fn elements<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Vec<Node<'a, 'i>> {
    node.children().filter(|n| n.has_tag_name(tag)).collect()
}

fn runner_report() -> tplab_report::Report {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/first-steps.runner.json"
    );
    tplab_report::load::load_report(std::path::Path::new(path))
        .unwrap()
        .report
}

/// Every kind of report: each verdict, escapes and `<`/`&` (edge), another lab, a report
/// the real runner wrote (`check-1` in several steps).
fn all_reports() -> Vec<tplab_report::Report> {
    vec![
        common::mixed(),
        edge_report(1),
        other_lab_report(2),
        runner_report(),
    ]
}

#[test]
fn junit_has_the_shape_both_published_schemas_require() {
    let reports = all_reports();
    let xml = junit_xml(&reports);
    std::fs::write(common::out_dir("exports").join("junit.xml"), &xml).unwrap();
    let doc = Document::parse(&xml).expect("well-formed XML (ANSI escapes were removed)");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(
        root.attributes().count(),
        0,
        "Ant: no attribute on <testsuites>"
    );
    let suites = elements(root, "testsuite");
    assert_eq!(suites.len(), reports.len());
    for (index, (suite, report)) in suites.iter().zip(&reports).enumerate() {
        for a in [
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "time",
            "timestamp",
            "hostname",
            "package",
        ] {
            attr(*suite, a);
        }
        assert_eq!(attr(*suite, "id"), index.to_string());
        // Ant's pattern: no zone; the zoned instant is a property.
        let ts = attr(*suite, "timestamp");
        assert!(
            chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S").is_ok(),
            "{ts}"
        );
        assert_eq!(
            ts,
            report.started_at.format("%Y-%m-%dT%H:%M:%S").to_string()
        );
        // Ant's sequence: properties, testcases, system-out, system-err.
        let children: Vec<&str> = suite
            .children()
            .filter(Node::is_element)
            .map(|n| n.tag_name().name())
            .collect();
        assert_eq!(children.first(), Some(&"properties"));
        assert_eq!(
            &children[children.len() - 2..],
            ["system-out", "system-err"]
        );
        assert!(
            children[1..children.len() - 2]
                .iter()
                .all(|c| *c == "testcase")
        );
        let cases = elements(*suite, "testcase");
        assert_eq!(attr(*suite, "tests").parse::<usize>().unwrap(), cases.len());
        let count = |tag| {
            cases
                .iter()
                .filter(|c| !elements(**c, tag).is_empty())
                .count()
        };
        for (a, tag) in [
            ("failures", "failure"),
            ("errors", "error"),
            ("skipped", "skipped"),
        ] {
            assert_eq!(attr(*suite, a).parse::<usize>().unwrap(), count(tag), "{a}");
        }
        let mut sum = 0.0;
        let mut names = std::collections::BTreeSet::new();
        for case in &cases {
            assert!(names.insert(attr(*case, "name")), "unique testcase names");
            assert!(attr(*case, "classname").starts_with(&format!("{}.", report.lab.id)));
            sum += attr(*case, "time")
                .parse::<f64>()
                .expect("time is a decimal");
            let kids: Vec<Node> = case.children().filter(Node::is_element).collect();
            assert!(kids.len() <= 1, "at most one result, no properties");
            if let Some(k) = kids.first() {
                match k.tag_name().name() {
                    "failure" | "error" => assert!(k.attribute("type").is_some()),
                    "skipped" => assert!(k.attribute("type").is_none(), "Ant: no type"),
                    other => panic!("<{other}> in a testcase"),
                }
            }
        }
        let time: f64 = attr(*suite, "time").parse().unwrap();
        assert!((time - sum).abs() < 0.0015, "suite time {time} = sum {sum}");
        let props: Vec<(&str, &str)> = elements(elements(*suite, "properties")[0], "property")
            .iter()
            .map(|p| (attr(*p, "name"), attr(*p, "value")))
            .collect();
        assert!(props.iter().any(|(n, _)| *n == "lab.sha256"));
        assert_eq!(
            props.iter().filter(|(n, _)| n.starts_with("case:")).count(),
            cases.len(),
            "one case property per testcase"
        );
        assert!(!props.iter().any(|(_, v)| v.starts_with("-0")), "{props:?}");
    }

    // The mixed report has one of each non-pass verdict, with message and body.
    let mixed = suites[0];
    let failure = mixed
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(attr(failure, "message").contains("expected 10.244.0.201 lladdr"));
    assert!(
        failure
            .text()
            .unwrap()
            .contains("found: no neighbour entry")
    );
    let error = mixed
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert!(attr(error, "message").contains("not charged"));
    assert!(mixed.descendants().any(|n| n.has_tag_name("skipped")));
    // The runner's `check-1` of several steps: distinct, qualified by the step.
    let runner = suites[3];
    let names: Vec<&str> = elements(runner, "testcase")
        .iter()
        .map(|c| attr(*c, "name"))
        .collect();
    assert!(names.iter().any(|n| n.starts_with("scratch/check-1: ")));
    assert!(names.iter().any(|n| n.starts_with("config/check-1: ")));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("loopback/transcript-1: "))
    );
}

/// `xmllint --schema` of the published schema `xsd` (tests/fixtures/junit) on `file`.
fn xmllint(xsd: &str, file: &std::path::Path) -> Result<(), String> {
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/junit")
        .join(xsd);
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run xmllint ({e}): install Debian's libxml2-utils: `sudo apt-get install libxml2-utils` (or `sudo scripts/setup.sh`)"
            )
        });
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn junit_validates_against_both_published_schemas() {
    let dir = common::out_dir("exports-xsd");
    let reports = all_reports();
    let files = [
        ("class.xml", junit_xml(&reports)),
        ("one.xml", junit_xml(&reports[1..2])),
        ("none.xml", junit_xml(&[])),
    ];
    for (name, xml) in files {
        let file = dir.join(name);
        std::fs::write(&file, xml).unwrap();
        for xsd in ["junit-10.xsd", "JUnit.xsd"] {
            if let Err(e) = xmllint(xsd, &file) {
                panic!("{name} against {xsd}:\n{e}");
            }
        }
    }
    // The opt-in testcase properties are what junit-10.xsd rejects (documented).
    let file = dir.join("props.xml");
    std::fs::write(
        &file,
        junit_xml_with(
            &reports,
            JunitOptions {
                testcase_properties: true,
            },
        ),
    )
    .unwrap();
    assert!(xmllint("junit-10.xsd", &file).is_err());
}

#[test]
fn gradescope_matches_the_specification() {
    let r = common::mixed();
    let v = gradescope_json(&r);
    std::fs::write(
        common::out_dir("exports").join("results.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        top,
        [
            "execution_time",
            "output",
            "output_format",
            "score",
            "stdout_visibility",
            "test_name_format",
            "test_output_format",
            "tests",
            "visibility"
        ],
        "only fields of the specification (no top-level max_score)"
    );
    assert!(v["execution_time"].is_u64());
    assert_eq!(v["execution_time"], 1800);
    assert_eq!(v["output_format"], "text");
    assert_eq!(v["visibility"], "visible");
    // Error points are out of the denominator: score scaled to the lab's full points.
    assert!((v["score"].as_f64().unwrap() - tplab_report::points::scaled(&r)).abs() < 1e-9);
    assert!(
        v["output"]
            .as_str()
            .unwrap()
            .contains("could not be checked")
    );

    let tests = v["tests"].as_array().unwrap();
    let items: usize = r
        .steps
        .iter()
        .map(|s| s.checks.len() + s.questions.len())
        .sum();
    let keys = r.steps.iter().filter(|s| !s.questions.is_empty()).count();
    assert_eq!(
        tests.len(),
        items + keys,
        "one test per item, one answer key per step"
    );
    let mut numbers = std::collections::HashSet::new();
    for t in tests {
        let obj = t.as_object().unwrap();
        for key in obj.keys() {
            assert!(
                [
                    "name",
                    "number",
                    "score",
                    "max_score",
                    "status",
                    "output",
                    "tags",
                    "visibility",
                    "extra_data"
                ]
                .contains(&key.as_str()),
                "{key} is not a test field of the specification"
            );
        }
        for key in ["name", "number", "output", "visibility"] {
            assert!(obj[key].is_string(), "{key} must be a string: {t}");
        }
        assert!(
            numbers.insert(obj["number"].as_str().unwrap().to_owned()),
            "numbers are unique"
        );
        if obj["visibility"] != "visible" {
            assert_eq!(obj["visibility"], "hidden", "answers hidden by default");
            assert!(!obj.contains_key("score") && !obj.contains_key("status"));
            continue;
        }
        assert!(matches!(obj["status"].as_str(), Some("passed" | "failed")));
        if obj["extra_data"]["verdict"] == "error" {
            assert!(!obj.contains_key("score"), "not charged: informational");
            continue;
        }
        for key in ["score", "max_score"] {
            assert!(obj[key].is_number(), "{key} must be a number: {t}");
        }
        assert!(obj["score"].as_f64() <= obj["max_score"].as_f64());
    }
    let error = tests
        .iter()
        .find(|t| {
            t["output"]
                .as_str()
                .unwrap()
                .starts_with("ERROR (not charged)")
        })
        .expect("the error verdict is explained");
    assert_eq!(error["status"], "failed");
    assert!(error["name"].as_str().unwrap().ends_with("(not charged)"));
    let skipped = tests
        .iter()
        .find(|t| t["extra_data"]["verdict"] == "skipped")
        .expect("the skipped check");
    assert!(skipped["output"].as_str().unwrap().starts_with("SKIPPED"));
    assert_eq!(tests[0]["number"], "1.1");
    // The command output's ANSI colours are nowhere (tests carry no command output, and
    // every string is plain text).
    assert!(!v.to_string().contains("\\u001b"));
}
