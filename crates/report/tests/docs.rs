//! docs/report-format.md stays true: its full example parses, validates against the JSON
//! Schema, verifies its hash chain, and its totals follow the points policy.
#![allow(clippy::float_cmp)] // exact: the same sums in the same order

use serde_json::Value;
use tplab_report::{Report, points, verify_report};

const DOC: &str = include_str!("../../../docs/report-format.md");

fn example() -> &'static str {
    let start = DOC.find("## Full example").expect("section exists");
    let body = &DOC[start..];
    let open = body.find("```json\n").expect("json block") + "```json\n".len();
    let close = body[open..].find("\n```").expect("closed block");
    &body[open..open + close]
}

#[test]
fn the_full_example_is_a_valid_verified_report() {
    let text = example();
    let report: Report = serde_json::from_str(text).expect("the example parses as tplab.report/1");
    verify_report(&report).expect("the example's chain verifies");

    let schema: Value =
        serde_json::from_str(include_str!("../../../docs/report.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let instance: Value = serde_json::from_str(text).unwrap();
    assert!(validator.is_valid(&instance));

    let mut recomputed = report.clone();
    for s in &mut recomputed.steps {
        s.total();
    }
    recomputed.total();
    assert_eq!(recomputed.score, report.score);
    assert_eq!(recomputed.max_score, report.max_score);
    assert_eq!(recomputed.error_points, report.error_points);
    assert!(
        report.error_points > 0.0,
        "the example shows an error verdict"
    );
    assert!(
        (points::scaled(&report) - 5.0).abs() < 1e-9,
        "as the Points section says"
    );
}

#[test]
fn every_schema_field_is_documented() {
    let schema: Value =
        serde_json::from_str(include_str!("../../../docs/report.schema.json")).unwrap();
    let mut names = Vec::new();
    collect(&schema, &mut names);
    for name in names {
        assert!(
            DOC.contains(&format!("`{name}`")),
            "docs/report-format.md does not document `{name}`"
        );
    }
}

fn collect(v: &Value, out: &mut Vec<String>) {
    if let Some(props) = v.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    match v {
        Value::Object(m) => m.values().for_each(|x| collect(x, out)),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}
