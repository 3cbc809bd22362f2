//! Class-wide integrity flags. They point the instructor at reports to look at; they do
//! not prove anything on their own (docs/grading.md, "What integrity flags mean").

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::chain;
use crate::i18n::{Lang, messages};
use crate::labfile::LabFile;
use crate::live::{LiveKind, live_values};
use crate::load::Loaded;
use crate::schema::Report;
use crate::spreadsheet::looks_like_formula;

/// Why a report deserves a look.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// Made from another lab file (another version, or another lab).
    OtherLabVersion {
        report_lab: String,
        report_version: String,
        report_sha256: String,
        expected_sha256: String,
    },
    /// The same file bytes were submitted more than once: `file` (this submission, the
    /// one that may claim another student's id) has the bytes of `others`.
    IdenticalFile {
        others: Vec<PathBuf>,
        #[serde(default)]
        file: PathBuf,
    },
    /// The same student submitted several different reports; only the latest is graded.
    DuplicateStudent { others: Vec<PathBuf>, graded: bool },
    /// Live values identical to another student's report.
    CopiedEvidence {
        other_student: String,
        other_path: PathBuf,
        shared: Vec<String>,
    },
    /// The hash chain does not verify (edited after the fact, or no chain at all).
    BrokenChain { reason: String },
    /// The instructor's nonce list says otherwise.
    NonceMismatch {
        expected: Option<String>,
        found: Option<String>,
    },
    /// No student id in the report: graded under the file name.
    MissingStudentId,
    /// With a roster: no roster student has this id (the row cannot be imported).
    NotInRoster,
    /// A field written to the CSV gradebooks starts like a spreadsheet formula (`=`, `+`,
    /// `-`, `@`, tab, CR): it is exported as text, and someone may have tried to run code
    /// in the instructor's spreadsheet.
    FormulaInField { field: String, value: String },
    /// A `tplab run --auto` session: tplab, not the student, ran every command.
    AutoSession,
    /// *Run the commands for me* was used in these steps (ids).
    RunForMe { steps: Vec<String> },
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

impl Flag {
    /// The flag in words, in `lang` (French typography included).
    pub fn text(&self, lang: Lang) -> String {
        let fr = lang == Lang::Fr;
        let list = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pick = |en: String, french: String| if fr { french } else { en };
        match self {
            Self::OtherLabVersion {
                report_lab,
                report_version,
                report_sha256,
                expected_sha256,
            } => pick(
                format!(
                    "other lab version: report made from {report_lab} v{report_version} (sha256 {}), graded lab is sha256 {}",
                    short(report_sha256),
                    short(expected_sha256)
                ),
                format!(
                    "autre version du TP\u{202f}: rapport issu de {report_lab} v{report_version} (sha256 {}), le TP noté est sha256 {}",
                    short(report_sha256),
                    short(expected_sha256)
                ),
            ),
            Self::IdenticalFile { others, file } if file.as_os_str().is_empty() => pick(
                format!("byte-identical to {}", list(others)),
                format!("identique octet pour octet à {}", list(others)),
            ),
            Self::IdenticalFile { others, file } => pick(
                format!(
                    "byte-identical copy: file {} has the same bytes as {}",
                    file.display(),
                    list(others)
                ),
                format!(
                    "copie identique octet pour octet\u{202f}: le fichier {} a les mêmes octets que {}",
                    file.display(),
                    list(others)
                ),
            ),
            Self::DuplicateStudent { others, graded } => pick(
                format!(
                    "duplicate submission (also {}); {}",
                    list(others),
                    if *graded {
                        "this latest one is graded"
                    } else {
                        "superseded by a later one, not graded"
                    }
                ),
                format!(
                    "rendu en double (aussi {})\u{202f}; {}",
                    list(others),
                    if *graded {
                        "ce dernier est noté"
                    } else {
                        "remplacé par un rendu plus récent, non noté"
                    }
                ),
            ),
            Self::CopiedEvidence {
                other_student,
                other_path,
                shared,
            } => pick(
                format!(
                    "copied evidence: live values identical to {other_student} ({}): {}",
                    other_path.display(),
                    shared.join(", ")
                ),
                format!(
                    "preuves copiées\u{202f}: valeurs relevées identiques à celles de {other_student} ({})\u{202f}: {}",
                    other_path.display(),
                    shared.join(", ")
                ),
            ),
            Self::BrokenChain { reason } => pick(
                format!("hash chain: {reason}"),
                format!("chaîne de hachage\u{202f}: {reason}"),
            ),
            Self::NonceMismatch { expected, found } => match expected {
                Some(e) => pick(
                    format!(
                        "nonce mismatch: issued {e}, report has {}",
                        found.as_deref().unwrap_or("none")
                    ),
                    format!(
                        "nonce différent\u{202f}: {e} attribué, le rapport porte {}",
                        found.as_deref().unwrap_or("aucun")
                    ),
                ),
                None => pick(
                    "student not in the nonce list".into(),
                    "étudiant absent de la liste des nonces".into(),
                ),
            },
            Self::MissingStudentId => pick(
                "no student id in the report".into(),
                "pas d’identifiant d’étudiant dans le rapport".into(),
            ),
            Self::NotInRoster => pick(
                "student id not in the Canvas roster".into(),
                "identifiant absent de la liste Canvas".into(),
            ),
            Self::FormulaInField { field, value } => pick(
                format!(
                    "formula in field: {field} {value:?} starts like a spreadsheet formula (exported as text, prefixed with ')"
                ),
                format!(
                    "formule dans un champ\u{202f}: {field} «\u{202f}{value}\u{202f}» commence comme une formule de tableur (exporté comme texte, précédé de ')"
                ),
            ),
            Self::AutoSession => pick(
                "session run with --auto: tplab ran every command and check itself".into(),
                "session lancée avec --auto\u{202f}: tplab a lancé lui-même toutes les commandes et vérifications".into(),
            ),
            Self::RunForMe { steps } => pick(
                format!(
                    "“Run the commands for me” used: tplab ran the commands of {}",
                    steps.join(", ")
                ),
                format!(
                    "«\u{202f}Lancer les commandes pour moi\u{202f}» utilisé\u{202f}: tplab a lancé les commandes de {}",
                    steps.join(", ")
                ),
            ),
        }
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The student a report is graded under (its id, else its file stem).
pub fn student_key(loaded: &Loaded) -> String {
    loaded.report.student.id.clone().unwrap_or_else(|| {
        loaded.path.file_stem().map_or_else(
            || loaded.path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    })
}

/// Flags for every report (same order as `reports`) and which reports count in the gradebook.
pub struct Findings {
    pub flags: Vec<Vec<Flag>>,
    /// False for superseded duplicate submissions.
    pub graded: Vec<bool>,
}

/// Runs every integrity check over a class.
pub fn check_class(
    reports: &[Loaded],
    lab: &LabFile,
    nonces: Option<&BTreeMap<String, String>>,
) -> Findings {
    let mut flags: Vec<Vec<Flag>> = vec![Vec::new(); reports.len()];
    let mut graded = vec![true; reports.len()];
    let keys: Vec<String> = reports.iter().map(student_key).collect();

    for (i, loaded) in reports.iter().enumerate() {
        let report = &loaded.report;
        if report.student.id.is_none() {
            flags[i].push(Flag::MissingStudentId);
        }
        flags[i].extend(report_flags(report, lab));
        if looks_like_formula(&keys[i]) {
            flags[i].push(Flag::FormulaInField {
                field: "student id".into(),
                value: keys[i].clone(),
            });
        }
        if let Some(list) = nonces {
            let expected = list.get(&keys[i]).cloned();
            let found = report.student.nonce.clone();
            if expected.is_none() || expected != found {
                flags[i].push(Flag::NonceMismatch { expected, found });
            }
        }
    }

    duplicates(reports, &keys, &mut flags, &mut graded);
    copied(reports, &keys, &mut flags);
    Findings { flags, graded }
}

/// What one report says of its own integrity against `lab`: its lab version and its chain.
fn report_flags(report: &Report, lab: &LabFile) -> Vec<Flag> {
    let mut flags = Vec::new();
    if report.lab.sha256 != lab.sha256 {
        flags.push(Flag::OtherLabVersion {
            report_lab: report.lab.id.clone(),
            report_version: report.lab.version.clone(),
            report_sha256: report.lab.sha256.clone(),
            expected_sha256: lab.sha256.clone(),
        });
    }
    if let Err(e) = chain::verify_report(report) {
        flags.push(Flag::BrokenChain {
            reason: e.to_string(),
        });
    }
    flags.extend(assisted(report));
    flags
}

/// How much of the work tplab did: an `--auto` session, steps run for the student.
pub fn assisted(report: &Report) -> Vec<Flag> {
    if report.mode == "auto" {
        return vec![Flag::AutoSession];
    }
    let steps: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.ran_for_student())
        .map(|s| s.id.clone())
        .collect();
    if steps.is_empty() {
        Vec::new()
    } else {
        vec![Flag::RunForMe { steps }]
    }
}

/// Why `tplab report` cannot vouch for one report (empty: verified), the same checks as
/// `tplab grade` runs; without a lab file its version cannot be checked at all.
pub fn report_problems(report: &Report, lab: Option<&LabFile>) -> Vec<String> {
    report_problems_in(report, lab, Lang::En)
}

/// [`report_problems`] in `lang`. What tplab did for the student (`--auto`, *Run the
/// commands for me*) is not an integrity problem: the report shows it elsewhere.
pub fn report_problems_in(report: &Report, lab: Option<&LabFile>, lang: Lang) -> Vec<String> {
    let integrity_only = |f: &Flag| !matches!(f, Flag::AutoSession | Flag::RunForMe { .. });
    if let Some(lab) = lab {
        return report_flags(report, lab)
            .iter()
            .filter(|f| integrity_only(f))
            .map(|f| f.text(lang))
            .collect();
    }
    let mut out = vec![messages(lang).no_lab_given.to_owned()];
    if let Err(e) = chain::verify_report(report) {
        out.push(
            Flag::BrokenChain {
                reason: e.to_string(),
            }
            .text(lang),
        );
    }
    out
}

fn duplicates(reports: &[Loaded], keys: &[String], flags: &mut [Vec<Flag>], graded: &mut [bool]) {
    let mut by_file: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_student: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in reports.iter().enumerate() {
        by_file.entry(&l.file_sha256).or_default().push(i);
        by_student.entry(&keys[i]).or_default().push(i);
    }
    let others = |group: &[usize], me: usize| -> Vec<PathBuf> {
        group
            .iter()
            .filter(|&&j| j != me)
            .map(|&j| reports[j].path.clone())
            .collect()
    };
    for group in by_file.values().filter(|g| g.len() > 1) {
        for &i in group {
            flags[i].push(Flag::IdenticalFile {
                others: others(group, i),
                file: reports[i].path.clone(),
            });
        }
    }
    for group in by_student.values().filter(|g| g.len() > 1) {
        // Grade the latest session; ties go to the last file in argument order.
        let latest = group
            .iter()
            .copied()
            .max_by_key(|&i| (reports[i].report.finished_at, i))
            .unwrap_or(group[0]);
        for &i in group {
            graded[i] = i == latest;
            let distinct: Vec<usize> = group
                .iter()
                .copied()
                .filter(|&j| reports[j].file_sha256 != reports[i].file_sha256)
                .collect();
            // Byte-identical copies are already flagged as such.
            if !distinct.is_empty() {
                flags[i].push(Flag::DuplicateStudent {
                    others: distinct.iter().map(|&j| reports[j].path.clone()).collect(),
                    graded: graded[i],
                });
            }
        }
    }
}

/// Strong live values shared by two different students. Values held by more than half of a
/// class of 3+ are environment constants (a shared cluster's node MAC), not copying.
fn copied(reports: &[Loaded], keys: &[String], flags: &mut [Vec<Flag>]) {
    let mut holders: HashMap<(LiveKind, String), BTreeSet<usize>> = HashMap::new();
    for (i, l) in reports.iter().enumerate() {
        for value in live_values(&l.report) {
            if value.0.is_strong() {
                holders.entry(value).or_default().insert(i);
            }
        }
    }
    let students: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let n = students.len();
    let mut pairs: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for ((kind, value), idx) in &holders {
        let who: BTreeSet<&str> = idx.iter().map(|&i| keys[i].as_str()).collect();
        if who.len() < 2 || (n >= 3 && who.len() * 2 > n) {
            continue;
        }
        let idx: Vec<usize> = idx.iter().copied().collect();
        for (a, &i) in idx.iter().enumerate() {
            for &j in &idx[a + 1..] {
                if keys[i] != keys[j] {
                    pairs
                        .entry((i, j))
                        .or_default()
                        .push(format!("{} {value}", kind.word()));
                }
            }
        }
    }
    for ((i, j), mut shared) in pairs {
        shared.sort();
        flags[i].push(Flag::CopiedEvidence {
            other_student: keys[j].clone(),
            other_path: reports[j].path.clone(),
            shared: shared.clone(),
        });
        flags[j].push(Flag::CopiedEvidence {
            other_student: keys[i].clone(),
            other_path: reports[i].path.clone(),
            shared,
        });
    }
}
