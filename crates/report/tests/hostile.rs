//! Reports a student crafted by hand: extreme values, empty or odd shapes, deep evidence.
//! Every export must come out (or fail with an error), never panic.

use std::path::Path;

use serde_json::{Value, json};
use tplab_report::fixture::{LAB_MD, student_report};
use tplab_report::grade::grade_loaded;
use tplab_report::labfile::LabFile;
use tplab_report::load::parse_report;
use tplab_report::summary::to_text;
use tplab_report::{
    canvas_csv, flags_csv, gradescope_json, junit_xml, moodle_csv, render_class_html, render_html,
    render_markdown,
};

/// The fixture report as JSON, edited by `edit`.
fn variant(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = serde_json::to_value(student_report(1)).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |acc, i| {
        if i % 2 == 0 {
            json!([acc])
        } else {
            json!({ "k": acc })
        }
    })
}

fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "extreme dates",
            variant(|v| {
                v["started_at"] = json!("-262000-01-01T00:00:00Z");
                v["finished_at"] = json!("+262000-12-31T23:59:59Z");
            }),
        ),
        (
            "finished before started",
            variant(|v| {
                v["started_at"] = json!("2030-01-01T00:00:00Z");
                v["finished_at"] = json!("1970-01-01T00:00:00Z");
            }),
        ),
        (
            "huge and negative points",
            variant(|v| {
                v["score"] = json!(1e308);
                v["max_score"] = json!(-1e308);
                v["error_points"] = json!(1e308);
                v["steps"][0]["checks"][0]["points"] = json!(-1e308);
                v["steps"][0]["checks"][0]["duration_ms"] = json!(u64::MAX);
            }),
        ),
        (
            "no steps, no events",
            variant(|v| {
                v["steps"] = json!([]);
                v["events"] = json!([]);
            }),
        ),
        (
            "odd events",
            variant(|v| {
                v["events"] = json!([{
                    "seq": u64::MAX, "at": "2026-01-01T00:00:00Z", "kind": "",
                    "data": null, "prev": "", "hash": ""
                }]);
            }),
        ),
        (
            "deep evidence",
            variant(|v| v["steps"][0]["checks"][0]["evidence"] = nested(100)),
        ),
        (
            "empty strings everywhere",
            variant(|v| {
                v["lab"]["sha256"] = json!("");
                v["lab"]["path"] = json!("");
                v["student"]["id"] = json!("");
                v["steps"][0]["id"] = json!("");
                v["steps"][0]["title"] = json!("");
                v["steps"][0]["questions"] = json!([{
                    "id": "", "prompt": "", "answers": [], "verdict": "fail",
                    "points": 0, "max_points": 0, "expected": ""
                }]);
            }),
        ),
    ]
}

#[test]
fn hand_made_reports_never_panic_any_export() {
    let lab = LabFile::from_bytes(Path::new("lab.md"), LAB_MD.as_bytes()).unwrap();
    let mut loaded = Vec::new();
    for (what, bytes) in hostile() {
        let l = parse_report(Path::new(&format!("{what}.json")), &bytes)
            .unwrap_or_else(|e| panic!("{what}: the fixture edit must still parse: {e}"));
        let r = &l.report;
        // Rendering may refuse; it must not panic.
        let _ = render_html(r, None);
        let _ = render_markdown(r, None);
        let _ = junit_xml(std::slice::from_ref(r));
        let _ = gradescope_json(r);
        loaded.push(l);
    }
    let class = grade_loaded(loaded, Vec::new(), &lab, None);
    let _ = (canvas_csv(&class), moodle_csv(&class), flags_csv(&class));
    let _ = to_text(&class.summary);
    let _ = render_class_html(&class, None);
    assert_eq!(class.rows.len(), hostile().len());
}

#[test]
fn too_deep_json_is_an_error_not_a_stack_overflow() {
    // Built as text: serialising such a value would itself overflow the stack.
    let marker = variant(|v| v["steps"][0]["checks"][0]["evidence"] = json!("DEEP"));
    let text = String::from_utf8(marker).unwrap();
    let deep = text.replace("\"DEEP\"", &("[".repeat(100_000) + &"]".repeat(100_000)));
    let deep = deep.into_bytes();
    let err = parse_report(Path::new("deep.json"), &deep).unwrap_err();
    assert!(err.to_string().contains("deep.json"), "{err}");
}
