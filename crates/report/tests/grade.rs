//! `tplab grade` on a generated class of 200: flags exactly the bad reports, reports bad
//! files one by one, and still writes the gradebooks for everyone else.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tplab_report::fixture::{LAB_MD, class, student_report};
use tplab_report::grade::grade_files;
use tplab_report::labfile::LabFile;
use tplab_report::load::{LoadError, expand_inputs};
use tplab_report::{GradeArgs, run_grade};

struct Class {
    _dir: tempfile::TempDir,
    root: PathBuf,
    expect: BTreeMap<String, Vec<&'static str>>,
    unreadable: BTreeSet<String>,
}

fn write_class(count: usize) -> Class {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    std::fs::create_dir_all(root.join("reports")).unwrap();
    std::fs::write(root.join("lab.md"), LAB_MD).unwrap();
    let mut expect = BTreeMap::new();
    let mut unreadable = BTreeSet::new();
    for f in class(count) {
        std::fs::write(root.join("reports").join(&f.name), &f.bytes).unwrap();
        if f.unreadable {
            unreadable.insert(f.name.clone());
        } else if !f.expect.is_empty() {
            expect.insert(f.name.clone(), f.expect.clone());
        }
    }
    Class {
        _dir: dir,
        root,
        expect,
        unreadable,
    }
}

fn flag_name(flag: &tplab_report::integrity::Flag) -> String {
    serde_json::to_value(flag).unwrap()["flag"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn grading_200_reports_flags_exactly_the_bad_ones() {
    let c = write_class(200);
    let lab = LabFile::load(&c.root.join("lab.md")).unwrap();
    let paths = expand_inputs(&[c.root.join("reports")]).unwrap();
    assert_eq!(paths.len(), 201);
    let graded = grade_files(&paths, &lab, None);

    let errors: BTreeSet<String> = graded.load_errors.iter().map(|e| name(e.path())).collect();
    assert_eq!(errors, c.unreadable);
    assert!(matches!(graded.load_errors[0], LoadError::Truncated { .. }));

    let got: BTreeMap<String, Vec<String>> = graded
        .flagged()
        .map(|r| (name(&r.path), r.flags.iter().map(flag_name).collect()))
        .collect();
    let want: BTreeMap<String, Vec<String>> = c
        .expect
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|s| (*s).to_owned()).collect()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(graded.rows.len(), 200);
    // One gradebook row per student: the 199 readable students, s0005 once (its retry).
    let book = graded.gradebook();
    assert_eq!(book.len(), 199);
    let s5: Vec<_> = book.iter().filter(|r| r.student == "s0005").collect();
    assert_eq!(s5.len(), 1);
    assert_eq!(name(&s5[0].path), "s0005-retry.json");
    assert!((graded.possible - 16.0).abs() < 1e-9);
}

#[test]
fn run_grade_writes_gradebooks_and_reports_problems() {
    let c = write_class(200);
    let out = c.root.join("grades");
    let args = GradeArgs {
        reports: vec![c.root.join("reports")],
        lab: c.root.join("lab.md"),
        out: out.clone(),
        nonces: None,
        templates: None,
        roster: None,
        canvas_assignment: None,
        no_points_possible: false,
        include_other_labs: false,
        junit_testcase_properties: false,
    };
    assert_eq!(run_grade(&args).unwrap(), 1, "flags and a bad file: exit 1");

    let canvas = std::fs::read_to_string(out.join("canvas.csv")).unwrap();
    let mut lines = canvas.lines();
    assert_eq!(
        lines.next(),
        Some(
            "Student,ID,SIS User ID,SIS Login ID,Section,eBPF Network Deep Dive [ebpf-network-deep-dive]"
        )
    );
    assert_eq!(lines.next(), Some("Points Possible,,,,,16"));
    let first = student_report(0);
    assert_eq!(
        lines.next(),
        Some(format!("s0000,,s0000,s0000,,{}", first.score).as_str())
    );
    // 199 students graded, s0077's report of another lab version gets no gradebook row.
    assert_eq!(canvas.lines().count(), 2 + 198);
    assert!(!canvas.contains("s0077"));

    let moodle = std::fs::read_to_string(out.join("moodle.csv")).unwrap();
    assert!(moodle.starts_with("identifier,grade,feedback\n"));
    // One record per student (feedback: one line per step, inside the quoted cell).
    let records = csv::Reader::from_reader(moodle.as_bytes())
        .records()
        .count();
    assert_eq!(records, 198);
    assert!(!moodle.contains("s0077"));
    assert!(
        !moodle.contains("copied"),
        "flags stay out of students' feedback"
    );

    let flags = std::fs::read_to_string(out.join("flags.csv")).unwrap();
    assert!(
        flags.contains("s0010.json,\"chaîne de hachage\u{202f}: the seal does not match"),
        "{flags}"
    );
    // The fixture lab is French: flags, summary and feedback are in French.
    assert!(
        flags.contains("preuves copiées\u{202f}: valeurs relevées identiques à celles de s0041")
    );
    assert!(flags.contains("autre version du TP"));
    assert!(flags.contains("s0199.json,\"unreadable: "), "{flags}");

    let html = std::fs::read_to_string(out.join("summary.html")).unwrap();
    assert!(html.contains("eBPF Network Deep Dive — bilan de la classe"));
    assert!(html.contains("Taux de réussite par étape"));
    assert!(html.contains("Vu du Node"));
    assert!(html.contains("truncated JSON"));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testsuite ").count(), 199);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("grades.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 200);
    assert_eq!(json["unreadable"].as_array().unwrap().len(), 1);
    let text = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    // 198: s0077's report of another lab is listed apart, not counted (French lab).
    assert!(text.starts_with("198 étudiants, moyenne "), "{text}");
    assert!(text.contains("Échecs les plus fréquents\u{202f}:"));
    assert!(text.contains("Rapports d’un autre TP ou d’une autre version"));
    assert!(text.contains("s0077 ("));
}

#[test]
fn malformed_files_give_one_clear_error_each() {
    let c = write_class(100);
    let reports = c.root.join("reports");
    let good = serde_json::to_string_pretty(&student_report(0)).unwrap();
    std::fs::write(reports.join("empty.json"), "  \n").unwrap();
    std::fs::write(
        reports.join("garbage.json"),
        "{\"schema\": \"tplab.report/1\",\n  oops }",
    )
    .unwrap();
    std::fs::write(
        reports.join("future.json"),
        r#"{"schema": "tplab.report/9"}"#,
    )
    .unwrap();
    std::fs::write(
        reports.join("extra.json"),
        good.replacen(
            "\"mode\": \"run\"",
            "\"mode\": \"run\",\n  \"grade\": 20",
            1,
        ),
    )
    .unwrap();
    let lab = LabFile::load(&c.root.join("lab.md")).unwrap();
    let graded = grade_files(&expand_inputs(&[reports]).unwrap(), &lab, None);
    let msgs: BTreeMap<String, String> = graded
        .load_errors
        .iter()
        .map(|e| (name(e.path()), e.to_string()))
        .collect();
    assert_eq!(msgs.len(), 5, "{msgs:#?}");
    assert!(msgs["empty.json"].ends_with("empty.json: empty file"));
    assert!(
        msgs["garbage.json"].contains("garbage.json:2:3: not a tplab.report/1 report"),
        "{}",
        msgs["garbage.json"]
    );
    assert!(msgs["future.json"].contains("schema is \"tplab.report/9\""));
    assert!(
        msgs["extra.json"].contains("unknown field `grade`"),
        "{}",
        msgs["extra.json"]
    );
    assert!(msgs["s0099.json"].contains("truncated JSON (ends at line"));
    // Everyone else was graded.
    assert_eq!(graded.gradebook().len(), 99);
}

#[test]
fn nonce_list_flags_mismatches_and_strangers() {
    let c = write_class(100);
    let list = c.root.join("nonces.csv");
    let mut text = String::from("student,nonce\n");
    for i in 0..100 {
        let nonce = tplab_report::fixture::Live::for_index(i).nonce;
        match i {
            7 => text.push_str("s0007,not-the-issued-one\n"),
            8 => {} // not in the list
            _ => {
                let _ = writeln!(text, "s{i:04},{nonce}");
            }
        }
    }
    std::fs::write(&list, text).unwrap();
    let nonces = tplab_report::cli::read_nonces(&list).unwrap();
    let lab = LabFile::load(&c.root.join("lab.md")).unwrap();
    let graded = grade_files(
        &expand_inputs(&[c.root.join("reports")]).unwrap(),
        &lab,
        Some(&nonces),
    );
    let nonce_flagged: BTreeSet<String> = graded
        .flagged()
        .filter(|r| r.flags.iter().any(|f| flag_name(f) == "nonce_mismatch"))
        .map(|r| r.student.clone())
        .collect();
    // s0041 and s0061 copied their neighbour's report but kept their own nonce: not here.
    assert_eq!(
        nonce_flagged,
        BTreeSet::from(["s0007".to_owned(), "s0008".to_owned()])
    );
}

#[test]
fn byte_identical_submissions_are_flagged() {
    let c = write_class(100);
    let reports = c.root.join("reports");
    std::fs::copy(reports.join("s0003.json"), reports.join("s0003-copy.json")).unwrap();
    let lab = LabFile::load(&c.root.join("lab.md")).unwrap();
    let graded = grade_files(&expand_inputs(&[reports]).unwrap(), &lab, None);
    let s3: Vec<Vec<String>> = graded
        .rows
        .iter()
        .filter(|r| r.student == "s0003")
        .map(|r| r.flags.iter().map(flag_name).collect())
        .collect();
    assert_eq!(s3, vec![vec!["identical_file".to_owned()]; 2]);
    assert_eq!(
        graded
            .gradebook()
            .iter()
            .filter(|r| r.student == "s0003")
            .count(),
        1
    );
}

#[test]
fn a_canvas_roster_fills_identity_columns() {
    let c = write_class(100);
    let roster = c.root.join("roster.csv");
    std::fs::write(
        &roster,
        "\u{feff}Student,ID,SIS User ID,SIS Login ID,Section,Other (1)\n    Points Possible,,,,,10\n\
         \"Durand, Alice\",1001,s0000,alice,TP-A,7\nBob Martin,1002,s0001,bob,TP-B,\nNo Report,1003,s9999,nobody,TP-B,\n",
    )
    .unwrap();
    let out = c.root.join("grades");
    let args = GradeArgs {
        reports: vec![c.root.join("reports")],
        lab: c.root.join("lab.md"),
        out: out.clone(),
        nonces: None,
        templates: None,
        roster: Some(roster),
        canvas_assignment: None,
        no_points_possible: false,
        include_other_labs: false,
        junit_testcase_properties: false,
    };
    run_grade(&args).unwrap();
    let canvas = std::fs::read_to_string(out.join("canvas.csv")).unwrap();
    let lines: Vec<&str> = canvas.lines().collect();
    assert_eq!(lines.len(), 5, "{canvas}");
    assert_eq!(lines[1], "Points Possible,,,,,16");
    let s0 = student_report(0).score;
    let s1 = student_report(1).score;
    assert_eq!(
        lines[2],
        format!("\"Durand, Alice\",1001,s0000,alice,TP-A,{s0}")
    );
    assert_eq!(lines[3], format!("Bob Martin,1002,s0001,bob,TP-B,{s1}"));
    assert_eq!(lines[4], "No Report,1003,s9999,nobody,TP-B,");
    let flags = std::fs::read_to_string(out.join("flags.csv")).unwrap();
    assert!(
        flags.contains("s0002,"),
        "students missing from the roster are flagged"
    );
    // The fixture lab is French: so is flags.csv.
    assert!(flags.contains("identifiant absent de la liste Canvas"));
}
