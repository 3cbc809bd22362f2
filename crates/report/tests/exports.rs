//! Grading exports: `JUnit` XML shape, Gradescope results.json fields and types.

mod common;

use roxmltree::{Document, Node};
use serde_json::Value;
use tplab_report::fixture::student_report;
use tplab_report::{gradescope_json, junit_xml};

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

#[test]
fn junit_has_the_common_xsd_shape() {
    let reports = vec![common::mixed(), student_report(17)];
    let xml = junit_xml(&reports);
    std::fs::write(common::out_dir("exports").join("junit.xml"), &xml).unwrap();
    let doc = Document::parse(&xml).expect("well-formed XML (ANSI escapes were sanitised)");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites = elements(root, "testsuite");
    assert_eq!(suites.len(), 2);
    let mut total = 0;
    for suite in &suites {
        for a in [
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "time",
            "timestamp",
            "hostname",
            "id",
            "package",
        ] {
            attr(*suite, a);
        }
        // xs:dateTime without zone, as the XSD's pattern wants.
        let ts = attr(*suite, "timestamp");
        assert!(
            chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S").is_ok(),
            "{ts}"
        );
        attr(*suite, "time")
            .parse::<f64>()
            .expect("time is a decimal");
        let cases = elements(*suite, "testcase");
        assert_eq!(attr(*suite, "tests").parse::<usize>().unwrap(), cases.len());
        let count = |tag| {
            cases
                .iter()
                .filter(|c| !elements(**c, tag).is_empty())
                .count()
        };
        assert_eq!(
            attr(*suite, "failures").parse::<usize>().unwrap(),
            count("failure")
        );
        assert_eq!(
            attr(*suite, "errors").parse::<usize>().unwrap(),
            count("error")
        );
        assert_eq!(
            attr(*suite, "skipped").parse::<usize>().unwrap(),
            count("skipped")
        );
        for case in &cases {
            assert!(!attr(*case, "name").is_empty());
            assert!(attr(*case, "classname").starts_with("ebpf-network-deep-dive."));
            attr(*case, "time")
                .parse::<f64>()
                .expect("time is a decimal");
            let props = elements(*case, "properties");
            assert_eq!(props.len(), 1);
            let names: Vec<&str> = elements(props[0], "property")
                .iter()
                .map(|p| attr(*p, "name"))
                .collect();
            assert_eq!(names, ["points", "max_points", "verdict"]);
        }
        let suite_props: Vec<&str> = elements(elements(*suite, "properties")[0], "property")
            .iter()
            .map(|p| attr(*p, "name"))
            .collect();
        assert!(suite_props.contains(&"score") && suite_props.contains(&"lab.sha256"));
        total += cases.len();
    }
    assert_eq!(attr(root, "tests").parse::<usize>().unwrap(), total);

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
}

#[test]
fn gradescope_matches_the_documented_results_json() {
    let r = common::mixed();
    let v = gradescope_json(&r);
    std::fs::write(
        common::out_dir("exports").join("results.json"),
        serde_json::to_string_pretty(&v).unwrap(),
    )
    .unwrap();
    assert!(v["score"].is_number());
    assert!(v["max_score"].is_number());
    assert!(v["execution_time"].is_number());
    assert!(v["output"].is_string());
    assert_eq!(v["visibility"], "visible");
    // Error points are out of the denominator: score scaled to the lab's full points.
    assert!((v["max_score"].as_f64().unwrap() - (r.max_score + r.error_points)).abs() < 1e-9);
    assert!((v["score"].as_f64().unwrap() - tplab_report::points::scaled(&r)).abs() < 1e-9);
    assert!(
        v["output"]
            .as_str()
            .unwrap()
            .contains("could not be checked")
    );

    let tests = v["tests"].as_array().unwrap();
    let expected: usize = r
        .steps
        .iter()
        .map(|s| s.checks.len() + s.questions.len())
        .sum();
    assert_eq!(tests.len(), expected);
    let mut numbers = std::collections::HashSet::new();
    for t in tests {
        let obj = t.as_object().unwrap();
        for key in ["name", "number", "output", "status", "visibility"] {
            assert!(obj[key].is_string(), "{key} must be a string: {t}");
        }
        for key in ["score", "max_score"] {
            assert!(obj[key].is_number(), "{key} must be a number: {t}");
        }
        assert!(matches!(obj["status"].as_str(), Some("passed" | "failed")));
        assert!(
            numbers.insert(obj["number"].as_str().unwrap().to_owned()),
            "numbers are unique"
        );
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
    assert_eq!(error["score"], Value::from(0.0));
    assert_eq!(tests[0]["number"], "1.1");
}
