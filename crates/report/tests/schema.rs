//! Generated reports validate against docs/report.schema.json (hand-written, draft 2020-12).

mod common;

use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/report.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn generated_reports_match_the_schema() {
    let v = validator();
    let mut reports: Vec<Value> = (0..40)
        .map(|i| serde_json::to_value(tplab_report::fixture::student_report(i)).unwrap())
        .collect();
    reports.push(serde_json::to_value(common::mixed()).unwrap());
    for r in &reports {
        let errs = errors(&v, r);
        assert!(errs.is_empty(), "{errs:#?}");
    }
}

#[test]
fn the_schema_rejects_what_serde_rejects() {
    let v = validator();
    let good = serde_json::to_value(common::mixed()).unwrap();
    let mut unknown = good.clone();
    unknown["steps"][0]["checks"][0]["surprise"] = Value::from(1);
    assert!(!errors(&v, &unknown).is_empty());
    assert!(serde_json::from_value::<tplab_report::Report>(unknown).is_err());

    let mut bad_verdict = good.clone();
    bad_verdict["steps"][0]["checks"][0]["verdict"] = Value::from("maybe");
    assert!(!errors(&v, &bad_verdict).is_empty());
    assert!(serde_json::from_value::<tplab_report::Report>(bad_verdict).is_err());

    let mut missing = good;
    missing.as_object_mut().unwrap().remove("lab");
    assert!(!errors(&v, &missing).is_empty());
    assert!(serde_json::from_value::<tplab_report::Report>(missing).is_err());
}
