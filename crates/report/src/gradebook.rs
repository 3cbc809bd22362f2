//! Gradebook CSVs: Canvas import form and a Moodle-friendly identifier/grade/feedback file.
//! Every text cell goes through [`t`] (formula neutralising); computed numbers do not.

use crate::grade::{ClassGrade, GradeRow};
use crate::i18n::{count, messages};
use crate::points::fmt_points;
use crate::schema::StepStatus;
use crate::spreadsheet::text_cell;

/// A text cell from input (ids, names, titles, paths, messages): never a live formula.
fn t(s: &str) -> String {
    text_cell(s).into_owned()
}

/// Canvas's fixed identification columns, before the assignment column.
pub const CANVAS_COLUMNS: [&str; 5] = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"];

/// Choices of the gradebook writers (`tplab grade` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradebookOptions {
    /// The Canvas assignment to import into (its numeric id, from its URL
    /// `/courses/C/assignments/ID`): the column header becomes `<title> (<id>)`, which
    /// Canvas matches to that assignment. Without it Canvas creates a new assignment.
    pub canvas_assignment: Option<u64>,
    /// Write the `Points Possible` row (Canvas sets the assignment's points from it,
    /// overwriting an existing assignment's).
    pub points_possible: bool,
    /// Keep rows for reports of another lab or version (rescaled to this lab's points).
    pub include_other_labs: bool,
}

impl Default for GradebookOptions {
    fn default() -> Self {
        Self {
            canvas_assignment: None,
            points_possible: true,
            include_other_labs: false,
        }
    }
}

/// The Canvas assignment column header. With an assignment id: `<title> (<id>)`, the form
/// Canvas's importer reads as "assignment <id>" (only a trailing parenthesised number is
/// an id). Without: `<title> [<lab id>]`, brackets so that no part of it (a title ending
/// in `(2024)`, a numeric lab id) is taken for an assignment id: Canvas creates an
/// assignment of that name.
pub fn canvas_header(class: &ClassGrade, opts: &GradebookOptions) -> String {
    match opts.canvas_assignment {
        Some(id) => format!("{} ({id})", class.lab.title),
        None => format!("{} [{}]", class.lab.title, class.lab.id),
    }
}

/// Canvas gradebook import with the default options.
pub fn canvas_csv(class: &ClassGrade) -> String {
    canvas_csv_with(class, &GradebookOptions::default())
}

/// Canvas gradebook import: header, `Points Possible` row (unless turned off), one row per
/// student. The tplab student id goes to `Student`, `SIS User ID` and `SIS Login ID`; `ID`
/// (Canvas's internal id) and `Section` stay empty, which Canvas accepts when a SIS id
/// matches. Reports of another lab or version get no row unless asked.
pub fn canvas_csv_with(class: &ClassGrade, opts: &GradebookOptions) -> String {
    let assignment = t(&canvas_header(class, opts));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = CANVAS_COLUMNS.to_vec();
    header.push(&assignment);
    let possible = fmt_points(class.possible);
    let rows = class.gradebook_rows(opts.include_other_labs);
    // Writing into a Vec cannot fail; errors would only come from the io layer.
    let _ = w.write_record(&header);
    if opts.points_possible {
        let _ = w.write_record(["Points Possible", "", "", "", "", possible.as_str()]);
    }
    match &class.roster {
        None => {
            for row in rows {
                let grade = fmt_points(class.gradebook_grade(row));
                let s = t(&row.student);
                let _ = w.write_record([&s, "", &s, &s, "", &grade]);
            }
        }
        // Roster order and identity; no report leaves the cell empty (Canvas keeps the grade).
        Some(roster) => {
            for e in roster {
                let grade = rows
                    .iter()
                    .find(|r| e.matches(&r.student))
                    .map(|r| fmt_points(class.gradebook_grade(r)))
                    .unwrap_or_default();
                let _ = w.write_record([
                    t(&e.student),
                    t(&e.id),
                    t(&e.sis_user_id),
                    t(&e.sis_login_id),
                    t(&e.section),
                    grade,
                ]);
            }
        }
    }
    finish(w)
}

/// Moodle grade import with the default options.
pub fn moodle_csv(class: &ClassGrade) -> String {
    moodle_csv_with(class, &GradebookOptions::default())
}

/// Moodle grade import: `identifier,grade,feedback` (map `identifier` to the user field
/// holding the tplab student id, e.g. ID number, in Moodle's import dialog). Reports of
/// another lab or version get no row unless asked, as in canvas.csv.
pub fn moodle_csv_with(class: &ClassGrade, opts: &GradebookOptions) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["identifier", "grade", "feedback"]);
    for row in class.gradebook_rows(opts.include_other_labs) {
        let grade = fmt_points(class.gradebook_grade(row));
        let _ = w.write_record([t(&row.student), grade, t(&feedback(class, row))]);
    }
    finish(w)
}

/// Feedback for the student, one line per step after the total (`1. Title: 4 / 4 —
/// passed`), in the lab's language: the raw score and what was not charged. Integrity
/// flags are for the instructor and go to [`flags_csv`], never to students' feedback.
pub fn feedback(class: &ClassGrade, row: &GradeRow) -> String {
    let lang = class.lang();
    let t = messages(lang);
    let mut lines = vec![format!(
        "tplab{} {} / {} {}",
        t.colon,
        fmt_points(row.score),
        fmt_points(row.max_score),
        t.feedback_checked
    )];
    if row.error_points > 0.0 {
        lines.push(format!(
            "{}{} {} {} / {}",
            count(row.error_points, "error_points", lang),
            t.colon,
            t.on_lab_scale,
            fmt_points(row.grade),
            fmt_points(class.possible)
        ));
    }
    if let Some(report) = class.report_of(row) {
        for (i, step) in report.steps.iter().enumerate() {
            let status = match step.status {
                StepStatus::Passed => t.s_passed,
                StepStatus::Failed => t.s_failed,
                StepStatus::Error => t.s_error,
                StepStatus::Pending => t.s_pending,
                StepStatus::Skipped => t.s_skipped,
                StepStatus::NotInEnv => t.s_not_in_env,
            };
            lines.push(format!(
                "{}. {}{} {} / {} — {status}",
                i + 1,
                one_line(&step.title),
                t.colon,
                fmt_points(step.score),
                fmt_points(step.max_score)
            ));
        }
    }
    lines.join("\n")
}

/// A title on one line (a feedback line per step).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Instructor-only list of integrity flags and unreadable files: `student,file,flag`.
pub fn flags_csv(class: &ClassGrade) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["student", "file", "flag"]);
    for row in class.flagged() {
        let path = t(&row.path.display().to_string());
        for flag in &row.flags {
            let _ = w.write_record([t(&row.student), path.clone(), t(&flag.text(class.lang()))]);
        }
    }
    for err in &class.load_errors {
        let path = t(&err.path().display().to_string());
        let _ = w.write_record([String::new(), path, format!("unreadable: {err}")]);
    }
    finish(w)
}

fn finish(w: csv::Writer<Vec<u8>>) -> String {
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
