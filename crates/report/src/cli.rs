//! `tplab report` and `tplab grade` as clap argument structs the runner mounts.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use crate::bounded::{MAX_TABLE_BYTES, read_regular};
use crate::class_html::render_class_html;
use crate::grade::{ClassGrade, grade_files};
use crate::gradebook::{
    GradebookOptions, canvas_csv_with, canvas_header, flags_csv, moodle_csv_with,
};
use crate::gradescope::{AnswerVisibility, GradescopeOptions, gradescope_json_with};
use crate::i18n::{Lang, count, messages};
use crate::integrity::report_problems_in;
use crate::junit::{JunitOptions, junit_xml_with};
use crate::labfile::LabFile;
use crate::load::{expand_inputs, load_report};
use crate::render::{RenderOptions, render_html_with, render_markdown_with};
use crate::roster::read_roster;
use crate::sanitize::for_terminal;
use crate::summary::to_text_in;

/// Output formats of `tplab report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Html,
    Md,
    Junit,
    Gradescope,
}

/// Render one report.json for a student or an autograder.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The report.json written by `tplab run|check|test --report DIR` (or that DIR).
    pub report: PathBuf,
    /// Output format [default: from the output file's extension (.html, .md, .xml, .json),
    /// else html].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<Format>,
    /// Output file (standard output when absent).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// The lab file the report should come from (or its folder): its sha256 is checked and
    /// its folder may hold template overrides. Without it the report is shown as unverified.
    #[arg(long)]
    pub lab: Option<PathBuf>,
    /// Folder holding template overrides [default: the folder of --lab]. A report's own
    /// `lab.path` is never used: templates are code, and the report comes from a student.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// `JUnit`: also put `<properties>` (id, points, `max_points`, verdict) inside each
    /// `<testcase>`, for consumers that read them there (pytest xunit1 style). The file is
    /// then valid for neither published `JUnit` schema.
    #[arg(long)]
    pub junit_testcase_properties: bool,
    /// Gradescope: when students see the expected answers of questions (instructors always
    /// do): `hidden` (never) or `after_published` (once you publish the grades).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "hidden")]
    pub gradescope_answers: AnswerVisibility,
}

/// Grade a class from many report files.
#[derive(Debug, Clone, Args)]
pub struct GradeArgs {
    /// Report files, or folders searched recursively for `*.json`.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The lab file the class ran (its sha256 identifies the lab version).
    #[arg(long)]
    pub lab: PathBuf,
    /// Folder for canvas.csv, moodle.csv, flags.csv, summary.html, summary.txt, junit.xml,
    /// grades.json.
    #[arg(long, short = 'o', default_value = "grades")]
    pub out: PathBuf,
    /// Instructor-issued nonces: CSV `student,nonce` (a header line is allowed).
    #[arg(long)]
    pub nonces: Option<PathBuf>,
    /// Folder holding template overrides (default: the lab's folder).
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Canvas gradebook export (CSV) giving names, ids and sections for canvas.csv.
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// The Canvas assignment to import into: its numeric id (the number at the end of the
    /// assignment's URL). canvas.csv's column is then `<lab title> (<id>)`, which Canvas
    /// matches to that assignment; without it Canvas creates a new assignment.
    #[arg(long, value_name = "ID")]
    pub canvas_assignment: Option<u64>,
    /// Leave the `Points Possible` row out of canvas.csv (Canvas would otherwise set the
    /// assignment's points to the lab's, overwriting those of an existing assignment).
    #[arg(long)]
    pub no_points_possible: bool,
    /// Keep rows for reports of another lab or version in canvas.csv and moodle.csv
    /// (rescaled to this lab's points). By default they are left out (and flagged).
    #[arg(long)]
    pub include_other_labs: bool,
    /// junit.xml: also put `<properties>` inside each `<testcase>` (invalid for the
    /// published `JUnit` schemas; for consumers that read them there).
    #[arg(long)]
    pub junit_testcase_properties: bool,
}

impl GradeArgs {
    /// The gradebook choices these arguments make.
    pub fn gradebook_options(&self) -> GradebookOptions {
        GradebookOptions {
            canvas_assignment: self.canvas_assignment,
            points_possible: !self.no_points_possible,
            include_other_labs: self.include_other_labs,
        }
    }
}

/// Runs `tplab report`; returns the process exit status.
pub fn run_report(args: &ReportArgs) -> anyhow::Result<i32> {
    let path = if args.report.is_dir() {
        args.report.join("report.json")
    } else {
        args.report.clone()
    };
    let loaded = load_report(&path)?;
    let report = &loaded.report;
    let lab = args
        .lab
        .as_deref()
        .map(|p| LabFile::load(&lab_file(p)))
        .transpose()?;
    let templates = args
        .templates
        .clone()
        .or_else(|| lab.as_ref().and_then(|l| lab_dir(&l.path)));
    let opts = RenderOptions {
        templates: templates.as_deref(),
        lab: lab.as_ref(),
    };
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(format_of))
        .unwrap_or(Format::Html);
    let text = match format {
        Format::Html => render_html_with(report, opts)?,
        Format::Md => render_markdown_with(report, opts)?,
        Format::Junit => junit_xml_with(
            std::slice::from_ref(report),
            JunitOptions {
                testcase_properties: args.junit_testcase_properties,
            },
        ),
        Format::Gradescope => {
            let opts = GradescopeOptions {
                answers: args.gradescope_answers,
            };
            let mut s = serde_json::to_string_pretty(&gradescope_json_with(report, opts))?;
            s.push('\n');
            s
        }
    };
    // Whatever the format or template, the grader is told (HTML and Markdown say it too).
    let lang = Lang::from_code(report.lab.lang.as_deref());
    let problems = report_problems_in(report, lab.as_ref(), lang);
    if !problems.is_empty() {
        let t = messages(lang);
        eprintln!(
            "{}",
            for_terminal(&format!(
                "{}{colon} {}{colon} {}{colon} {}",
                t.warning,
                path.display(),
                t.integrity_not_verified,
                problems.join(if lang == Lang::Fr { "\u{202f}; " } else { "; " }),
                colon = t.colon,
            ))
        );
    }
    if let Some(path) = &args.output {
        fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        // A terminal's next line (a prompt, a warning on stderr) must not be glued to
        // the report's last line: HTML and Markdown templates end without a newline.
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(0)
}

/// A lab is a file, or a folder holding lab.md (as everywhere else in tplab).
fn lab_file(lab: &Path) -> PathBuf {
    if lab.is_dir() {
        lab.join("lab.md")
    } else {
        lab.to_owned()
    }
}

/// Runs `tplab grade`: 0 when every report loaded and none is flagged, 1 when the gradebook
/// was written but some file was unreadable or some report is flagged; `Err` when nothing
/// could be graded (unreadable lab, no input, output folder not writable).
pub fn run_grade(args: &GradeArgs) -> anyhow::Result<i32> {
    let lab_path = lab_file(&args.lab);
    let lab = LabFile::load(&lab_path)?;
    let nonces = args.nonces.as_deref().map(read_nonces).transpose()?;
    let paths = expand_inputs(&args.reports)?;
    if paths.is_empty() {
        bail!("no report file found in {}", list(&args.reports));
    }
    let mut class = grade_files(&paths, &lab, nonces.as_ref());
    if let Some(path) = &args.roster {
        class.set_roster(read_roster(path)?);
    }
    let templates = args.templates.clone().or_else(|| lab_dir(&lab_path));
    let opts = ExportOptions {
        gradebook: args.gradebook_options(),
        junit: JunitOptions {
            testcase_properties: args.junit_testcase_properties,
        },
    };
    write_outputs_with(&class, &args.out, templates.as_deref(), &opts)?;
    // Ids, paths, titles and messages come from students' files.
    // Flushed now: whatever is written to stderr later starts on a line of its own.
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(for_terminal(&terminal(&class, &args.out, &opts)).as_bytes())?;
    stdout.flush()?;
    let clean = class.load_errors.is_empty() && class.flagged().next().is_none();
    Ok(i32::from(!clean))
}

/// What `tplab grade` writes, and how.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    pub gradebook: GradebookOptions,
    pub junit: JunitOptions,
}

/// Writes every gradebook file into `out`, with the default options.
pub fn write_outputs(
    class: &ClassGrade,
    out: &Path,
    templates: Option<&Path>,
) -> anyhow::Result<()> {
    write_outputs_with(class, out, templates, &ExportOptions::default())
}

/// Writes every gradebook file into `out`.
pub fn write_outputs_with(
    class: &ClassGrade,
    out: &Path,
    templates: Option<&Path>,
    opts: &ExportOptions,
) -> anyhow::Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let files = [
        ("canvas.csv", canvas_csv_with(class, &opts.gradebook)),
        ("moodle.csv", moodle_csv_with(class, &opts.gradebook)),
        ("flags.csv", flags_csv(class)),
        ("summary.txt", summary_text(class)),
        ("summary.html", render_class_html(class, templates)?),
        (
            "junit.xml",
            junit_xml_with(&class.graded_reports(), opts.junit),
        ),
        ("grades.json", grades_json(class)?),
    ];
    for (name, text) in files {
        let path = out.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Machine-readable results: every row with its flags, and the unreadable files.
fn grades_json(class: &ClassGrade) -> anyhow::Result<String> {
    let errors: Vec<serde_json::Value> = class
        .load_errors
        .iter()
        .map(|e| serde_json::json!({"path": e.path(), "error": e.to_string()}))
        .collect();
    let value = serde_json::json!({
        "lab": {"id": class.lab.id, "title": class.lab.title, "sha256": class.lab.sha256},
        "possible": class.possible,
        "rows": class.rows,
        "unreadable": errors,
        "summary": class.summary,
    });
    Ok(serde_json::to_string_pretty(&value)? + "\n")
}

/// The class summary as summary.txt and the terminal show it: statistics of the reports
/// of this lab, then the reports of another lab apart, then every flag with the file it
/// came from beside the student it claims.
fn summary_text(class: &ClassGrade) -> String {
    use std::fmt::Write as _;
    let lang = class.lang();
    let t = messages(lang);
    let mut s = to_text_in(&class.summary, lang);
    // Ids and paths below come from students' files (to_text_in cleans its own).
    let clean = |x: &str| for_terminal(x).into_owned();
    let others: Vec<_> = class.other_lab_rows().collect();
    if !others.is_empty() {
        let _ = writeln!(s, "\n{}{}", t.other_labs, t.colon);
        for row in others {
            let lab = class
                .report_of(row)
                .map(|r| format!("{} v{}", r.lab.id, r.lab.version))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "  {} ({}){} {}, {} / {}",
                clean(&row.student),
                clean(&row.path.display().to_string()),
                t.colon,
                clean(&lab),
                crate::points::fmt_points(row.score),
                crate::points::fmt_points(row.max_score)
            );
        }
    }
    if class.flagged().next().is_some() {
        let _ = writeln!(s, "\n{}{}", t.integrity_flags, t.colon);
        for row in class.flagged() {
            for flag in &row.flags {
                let _ = writeln!(
                    s,
                    "  {} ({}){} {}",
                    clean(&row.student),
                    clean(&row.path.display().to_string()),
                    t.colon,
                    clean(&flag.text(lang))
                );
            }
        }
    }
    s
}

fn terminal(class: &ClassGrade, out: &Path, opts: &ExportOptions) -> String {
    use std::fmt::Write as _;
    let lang = class.lang();
    let fr = lang == Lang::Fr;
    #[allow(clippy::cast_precision_loss)]
    let n = count(class.rows.len() as f64, "report", lang);
    let colon = lang.colon();
    let mut s = if fr {
        format!(
            "Rapports notés{colon} {n} de {} ({}) d’après {}\n",
            class.lab.title,
            class.lab.id,
            class.lab.path.display()
        )
    } else {
        format!(
            "Graded {n} of {} ({}) against {}\n",
            class.lab.title,
            class.lab.id,
            class.lab.path.display()
        )
    };
    for err in &class.load_errors {
        let _ = writeln!(s, "{}{colon} {err}", if fr { "erreur" } else { "error" });
    }
    s.push('\n');
    s.push_str(&summary_text(class));
    s.push('\n');
    s.push_str(&gradebook_notes(class, &opts.gradebook));
    let _ = writeln!(
        s,
        "\n{} {}/canvas.csv, moodle.csv, flags.csv, summary.html, summary.txt, junit.xml, grades.json",
        if fr { "Écrits" } else { "Wrote" },
        out.display()
    );
    s
}

/// What the instructor must know before importing canvas.csv and moodle.csv (in the
/// lab's language).
fn gradebook_notes(class: &ClassGrade, opts: &GradebookOptions) -> String {
    use std::fmt::Write as _;
    let fr = class.lang() == Lang::Fr;
    let c = class.lang().colon();
    let pts = crate::points::fmt_points(class.possible);
    let mut s = String::new();
    let header = canvas_header(class, opts);
    let line = match (opts.canvas_assignment, fr) {
        (Some(id), false) => {
            format!("canvas.csv: column \"{header}\" imports into Canvas assignment {id}.")
        }
        (Some(id), true) => format!(
            "canvas.csv{c} la colonne «\u{202f}{header}\u{202f}» s’importe dans le devoir Canvas {id}."
        ),
        (None, false) => format!(
            "canvas.csv: column \"{header}\": Canvas creates a new assignment on import; to fill an existing one, pass --canvas-assignment <its id>."
        ),
        (None, true) => format!(
            "canvas.csv{c} colonne «\u{202f}{header}\u{202f}»{c} Canvas crée un nouveau devoir à l’import\u{202f}; pour remplir un devoir existant, passez --canvas-assignment <son id>."
        ),
    };
    let _ = writeln!(s, "{line}");
    let line = match (opts.points_possible, fr) {
        (true, false) => format!(
            "canvas.csv: Points Possible {pts} sets the assignment's points{} (--no-points-possible leaves them alone).",
            if opts.canvas_assignment.is_some() {
                ", replacing its current value"
            } else {
                ""
            }
        ),
        (true, true) => format!(
            "canvas.csv{c} la ligne Points Possible {pts} fixe les points du devoir{} (--no-points-possible n’y touche pas).",
            if opts.canvas_assignment.is_some() {
                ", en remplaçant la valeur actuelle"
            } else {
                ""
            }
        ),
        (false, false) => format!(
            "canvas.csv: no Points Possible row; grades are on the lab's scale of {pts} points: give the assignment that many."
        ),
        (false, true) => format!(
            "canvas.csv{c} pas de ligne Points Possible\u{202f}; les notes sont sur le barème du TP, {pts} points{c} donnez-en autant au devoir."
        ),
    };
    let _ = writeln!(s, "{line}");
    let others: Vec<&str> = class.other_lab_rows().map(|r| r.student.as_str()).collect();
    if !others.is_empty() {
        #[allow(clippy::cast_precision_loss)]
        let n = count(others.len() as f64, "report", class.lang());
        let names = others.join(", ");
        let line = match (opts.include_other_labs, fr) {
            (true, false) => format!(
                "canvas.csv, moodle.csv: {n} of another lab or version included, rescaled to {pts} points (--include-other-labs): {names}"
            ),
            (true, true) => format!(
                "canvas.csv, moodle.csv{c} {n} d’un autre TP ou d’une autre version inclus, ramenés à {pts} points (--include-other-labs){c} {names}"
            ),
            (false, false) => format!(
                "canvas.csv, moodle.csv: no row for {n} of another lab or version (flagged, left out of the statistics; --include-other-labs keeps them): {names}"
            ),
            (false, true) => format!(
                "canvas.csv, moodle.csv{c} aucune ligne pour {n} d’un autre TP ou d’une autre version (signalés, hors statistiques\u{202f}; --include-other-labs les garde){c} {names}"
            ),
        };
        let _ = writeln!(s, "{line}");
    }
    s
}

/// Reads `student,nonce` lines.
pub fn read_nonces(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let bytes = read_regular(path, MAX_TABLE_BYTES)
        .with_context(|| format!("cannot read nonce list {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut out = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        let (Some(student), Some(nonce)) = (record.get(0), record.get(1)) else {
            bail!("{}:{}: expected `student,nonce`", path.display(), i + 1);
        };
        if i == 0 && student.eq_ignore_ascii_case("student") {
            continue;
        }
        out.insert(student.to_owned(), nonce.to_owned());
    }
    Ok(out)
}

/// The format an output file name implies.
fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "html" | "htm" => Some(Format::Html),
        "md" | "markdown" => Some(Format::Md),
        "xml" => Some(Format::Junit),
        "json" => Some(Format::Gradescope),
        _ => None,
    }
}

fn lab_dir(lab: &Path) -> Option<PathBuf> {
    lab.parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .filter(|p| p.is_dir())
        .map(Path::to_path_buf)
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
