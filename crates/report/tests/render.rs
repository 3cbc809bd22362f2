//! HTML and Markdown renderings: content, escaping, self-containment, template overrides.

mod common;

use tplab_report::{Verdict, render_html, render_markdown};

#[test]
fn html_shows_identity_scores_and_every_step() {
    let r = common::mixed();
    let html = render_html(&r, None).expect("renders");
    std::fs::write(common::out_dir("render").join("mixed.html"), &html).unwrap();
    for needle in [
        "<title>eBPF Network Deep Dive — s0003 — tplab report</title>",
        "ebpf-network-deep-dive v1.2",
        &r.lab.sha256,
        "s0003",
        r.student.nonce.as_deref().unwrap(),
        "sandbox",
        "2026-11-20 08:04:51 UTC",
        "tplab 0.1.0",
        "hash chain verified",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    for step in &r.steps {
        assert!(
            html.contains(&format!("id=\"step-{}\"", step.id)),
            "step {}",
            step.id
        );
        assert!(html.contains(&step.title), "title {}", step.title);
    }
    assert!(html.contains(&format!("Score {} / {}", r.score, r.max_score)));
}

#[test]
fn html_has_a_badge_and_details_per_verdict() {
    let r = common::mixed();
    let html = render_html(&r, None).unwrap();
    for (v, word) in [
        ("pass", "pass"),
        ("fail", "fail"),
        ("error", "error"),
        ("skipped", "not evaluated"),
    ] {
        assert!(
            html.contains(&format!("<span class=\"badge {v}\">{word}</span>")),
            "badge {v}"
        );
    }
    // Expected / found of the failing check, and the error explained as not charged.
    assert!(html.contains("no neighbour entry for 10.244.0.201 | nothing"));
    assert!(html.contains(
        "Not charged: the checker could not look (checker could not run: BPF_PROG_QUERY"
    ));
    assert!(html.contains("left out of the total, flagged for the instructor"));
    // Commands and their output.
    assert!(html.contains("<pre class=\"cmd\">route -n</pre>"));
    assert!(html.contains("0.0.0.0         10.244.0.201    0.0.0.0         UG"));
    // Evidence tables: route fields, the packet path in order, the lxc name.
    assert!(html.contains("<caption>route</caption>"));
    assert!(html.contains("<caption>path</caption>"));
    let lxc = &r.steps[1].captures["LXC"];
    assert!(html.contains(&format!("<code>{lxc}</code>")));
    // Answers and captures.
    assert!(html.contains("1. &lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
    assert!(html.contains(&format!(
        "<td>GW_MAC</td><td><code>{}</code></td>",
        r.steps[0].captures["GW_MAC"]
    )));
}

#[test]
fn html_is_self_contained_escaped_and_printable() {
    let html = render_html(&common::mixed(), None).unwrap();
    assert!(!html.contains("<script"), "student input must be escaped");
    assert!(!html.contains("<link"), "no external stylesheet");
    assert!(!html.contains("src=\""), "no external asset");
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("@media print"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains('\u{1b}'), "terminal escapes are stripped");
}

#[test]
fn html_reports_a_broken_chain() {
    let mut r = common::mixed();
    r.steps[0].checks[1].verdict = Verdict::Pass;
    let html = render_html(&r, None).unwrap();
    assert!(html.contains("integrity bad"));
    assert!(html.contains("the seal does not match the report"));
}

#[test]
fn markdown_is_pasteable() {
    let r = common::mixed();
    let md = render_markdown(&r, None).expect("renders");
    std::fs::write(common::out_dir("render").join("mixed.md"), &md).unwrap();
    assert!(md.starts_with("# eBPF Network Deep Dive — lab report\n"));
    assert!(md.contains("| Student | s0003 |"));
    assert!(md.contains(&format!("**Score: {} / {}**", r.score, r.max_score)));
    assert!(md.contains("## 1. Vu du Pod — ❌ fail"));
    assert!(md.contains("## 4. Vu depuis le Cilium-agent"));
    assert!(md.contains("| default route via the gateway | ✅ pass | 2 / 2 |"));
    // Pipes inside a cell are escaped so the table keeps its columns.
    assert!(md.contains("no neighbour entry for 10.244.0.201 \\| nothing"));
    assert!(md.contains("⚠️ error"));
    assert!(md.contains("not checked: checker could not run"));
    // Student answers cannot inject HTML into a rendered write-up.
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!md.contains("<script>"));
    // Output containing ``` gets a longer fence.
    assert!(md.contains("````console\n$ route -n\n"));
    assert!(md.contains("```json\n{\n  \"route\""));
    assert!(md.contains("Captured values: `GW_MAC` = `"));
    assert!(!md.contains('\u{1b}'), "terminal escapes are stripped");
}

#[test]
fn templates_next_to_the_lab_override_embedded_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("report.md.j2"),
        "custom {{ report.lab.id }} {{ report.score | pts }}/{{ report.max_score | pts }}",
    )
    .unwrap();
    let r = common::mixed();
    let md = render_markdown(&r, Some(dir.path())).unwrap();
    assert_eq!(
        md,
        format!("custom ebpf-network-deep-dive {}/{}", r.score, r.max_score)
    );
    // No override for HTML in that folder: the embedded template is used.
    let html = render_html(&r, Some(dir.path())).unwrap();
    assert!(html.contains("<!DOCTYPE html>"));
}

#[test]
fn a_broken_override_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.html.j2"), "{% for x in %}").unwrap();
    let err = render_html(&common::mixed(), Some(dir.path())).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("report.html.j2"), "{msg}");
    assert!(msg.contains("syntax error"), "{msg}");
}
