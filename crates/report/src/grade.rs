//! Grading a class: load, check integrity, keep one report per student, total and summarise.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::integrity::{Flag, check_class, student_key};
use crate::labfile::LabFile;
use crate::load::{LoadError, Loaded, load_all};
use crate::points;
use crate::roster::RosterEntry;
use crate::schema::Report;
use crate::summary::{ClassSummary, summarize};

/// One submitted report, graded.
#[derive(Debug, Clone, Serialize)]
pub struct GradeRow {
    pub student: String,
    pub path: PathBuf,
    pub score: f64,
    pub max_score: f64,
    pub error_points: f64,
    /// On the lab's full scale (see `points::scaled`).
    pub grade: f64,
    /// This report's full points (`max_score + error_points`).
    pub possible: f64,
    /// Made from another lab file than the one graded against (another lab or version,
    /// flagged `other_lab_version`): left out of canvas.csv and moodle.csv unless asked.
    pub other_lab: bool,
    /// False for a superseded duplicate: not in the gradebook.
    pub graded: bool,
    pub flags: Vec<Flag>,
}

/// A graded class.
#[derive(Debug)]
pub struct ClassGrade {
    pub lab: LabFile,
    /// Every report that loaded, in input order.
    pub rows: Vec<GradeRow>,
    pub load_errors: Vec<LoadError>,
    /// The lab's full points (what Canvas calls Points Possible).
    pub possible: f64,
    pub summary: ClassSummary,
    /// The reports behind `rows`, same order.
    pub reports: Vec<Report>,
    /// Canvas roster, when given: identity columns and row order of canvas.csv.
    pub roster: Option<Vec<RosterEntry>>,
}

impl ClassGrade {
    /// The rows that go to the gradebook, sorted by student: every graded report, those of
    /// another lab or version included.
    pub fn gradebook(&self) -> Vec<&GradeRow> {
        self.gradebook_rows(true)
    }

    /// The rows that go to the gradebook, sorted by student; reports of another lab or
    /// version only with `include_other_labs`.
    pub fn gradebook_rows(&self, include_other_labs: bool) -> Vec<&GradeRow> {
        let mut rows: Vec<&GradeRow> = self
            .rows
            .iter()
            .filter(|r| r.graded && (include_other_labs || !r.other_lab))
            .collect();
        rows.sort_by(|a, b| a.student.cmp(&b.student));
        rows
    }

    /// Graded reports of another lab or version (what the gradebooks leave out by default).
    pub fn other_lab_rows(&self) -> impl Iterator<Item = &GradeRow> {
        self.rows.iter().filter(|r| r.graded && r.other_lab)
    }

    /// `row`'s grade on this lab's Points Possible: its own grade for a report of this lab
    /// file; for one of another lab or version, rescaled (`grade / its possible × possible`)
    /// so it can never exceed what the gradebook column is worth.
    pub fn gradebook_grade(&self, row: &GradeRow) -> f64 {
        if row.other_lab && row.possible > 0.0 {
            points::round2(row.grade / row.possible * self.possible)
        } else {
            row.grade
        }
    }

    /// Uses a Canvas roster for canvas.csv, flagging reports of students not in it.
    pub fn set_roster(&mut self, roster: Vec<RosterEntry>) {
        for row in &mut self.rows {
            if !roster.iter().any(|e| e.matches(&row.student)) {
                row.flags.push(Flag::NotInRoster);
            }
        }
        self.roster = Some(roster);
    }

    /// The reports that count, for class-wide exports (`JUnit`).
    pub fn graded_reports(&self) -> Vec<Report> {
        self.reports
            .iter()
            .zip(&self.rows)
            .filter(|(_, r)| r.graded)
            .map(|(rep, _)| rep.clone())
            .collect()
    }

    /// The report behind `row` (one of `self.rows`).
    pub fn report_of(&self, row: &GradeRow) -> Option<&Report> {
        self.rows
            .iter()
            .position(|r| std::ptr::eq(r, row))
            .and_then(|i| self.reports.get(i))
    }

    /// The class's language: the graded lab's front matter `lang`.
    pub fn lang(&self) -> crate::i18n::Lang {
        crate::i18n::Lang::from_code(Some(&self.lab.lang))
    }

    pub fn flagged(&self) -> impl Iterator<Item = &GradeRow> {
        self.rows.iter().filter(|r| !r.flags.is_empty())
    }
}

/// Grades report files against a lab file.
pub fn grade_files(
    paths: &[PathBuf],
    lab: &LabFile,
    nonces: Option<&BTreeMap<String, String>>,
) -> ClassGrade {
    let (loaded, errors) = load_all(paths);
    grade_loaded(loaded, errors, lab, nonces)
}

/// Grades already loaded reports (`errors`: the files that did not load).
pub fn grade_loaded(
    loaded: Vec<Loaded>,
    load_errors: Vec<LoadError>,
    lab: &LabFile,
    nonces: Option<&BTreeMap<String, String>>,
) -> ClassGrade {
    let findings = check_class(&loaded, lab, nonces);
    let rows: Vec<GradeRow> = loaded
        .iter()
        .zip(findings.flags)
        .zip(findings.graded)
        .map(|((l, flags), graded)| GradeRow {
            student: student_key(l),
            path: l.path.clone(),
            score: l.report.score,
            max_score: l.report.max_score,
            error_points: l.report.error_points,
            grade: points::scaled(&l.report),
            possible: points::round2(points::possible(&l.report)),
            other_lab: l.report.lab.sha256 != lab.sha256,
            graded,
            flags,
        })
        .collect();
    let possible = lab_possible(&loaded, lab);
    // Reports of another lab or version have other steps and points: they stay out of
    // the statistics (listed apart, see `other_lab_rows`).
    let counts = |r: &GradeRow| r.graded && !r.other_lab;
    let kept: Vec<&Report> = loaded
        .iter()
        .zip(&rows)
        .filter(|(_, r)| counts(r))
        .map(|(l, _)| &l.report)
        .collect();
    let grades: Vec<f64> = rows.iter().filter(|r| counts(r)).map(|r| r.grade).collect();
    let summary = summarize(&kept, &grades, possible);
    ClassGrade {
        lab: lab.clone(),
        rows,
        load_errors,
        possible,
        summary,
        reports: loaded.into_iter().map(|l| l.report).collect(),
        roster: None,
    }
}

/// The most common full points among reports of this very lab file (any report otherwise).
fn lab_possible(loaded: &[Loaded], lab: &LabFile) -> f64 {
    let mut counts: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let same: Vec<&Loaded> = loaded
        .iter()
        .filter(|l| l.report.lab.sha256 == lab.sha256)
        .collect();
    let pool = if same.is_empty() {
        loaded.iter().collect()
    } else {
        same
    };
    for l in pool {
        let p = points::round2(points::possible(&l.report));
        let e = counts.entry(format!("{p:.2}")).or_insert((0, p));
        e.0 += 1;
    }
    counts
        .into_values()
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map_or(0.0, |(_, p)| p)
}
