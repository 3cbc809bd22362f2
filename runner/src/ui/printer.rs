//! Line-oriented output shared by every mode: step headers, command output, verdicts,
//! summaries. Colour follows the terminal, `NO_COLOR` and `--no-color`.

use console::{Term, style};

use super::i18n::{self, Lang, Text};
use super::prose;
use super::safe;
use crate::check::{Evaluated, Verdict};
use crate::env::ExecOutput;
use crate::session::prove::StepProof;
use crate::session::{Observer, Session};

pub struct Printer {
    /// `--json`: machine output goes to stdout, so human output is silenced.
    pub quiet: bool,
    pub text: Text,
    pub lang: Lang,
    pub width: usize,
}

impl Printer {
    pub fn new(quiet: bool, lang: Lang) -> Self {
        let width = Term::stdout()
            .size_checked()
            .map_or(80, |(_, w)| usize::from(w));
        Self {
            quiet,
            text: i18n::text(lang),
            lang,
            width,
        }
    }

    pub fn line(&self, s: &str) {
        if !self.quiet {
            println!("{}", safe::styled(s));
        }
    }

    pub fn prose(&self, markdown: &str) {
        if !self.quiet {
            println!("{}", prose::render(&safe::text(markdown), self.width));
        }
    }

    pub fn step_header(&self, session: &Session<'_>, step: usize) {
        let s = &session.lab.steps[step];
        let r = &session.recorder.report;
        let total = session.lab.steps.len();
        let header = format!(
            "── {} {}/{total} · {} ── [{} {}/{}]",
            self.text.step,
            step + 1,
            safe::text(&s.title),
            self.text.score,
            fmt_points(r.score),
            fmt_points(r.max_score)
        );
        self.line("");
        self.line(&style(header).bold().to_string());
    }

    /// A step passed by because it is not in this environment: its header, dimmed, and why.
    pub fn not_in_env(&self, session: &Session<'_>, step: usize) {
        let s = &session.lab.steps[step];
        let scope = session.scope();
        let why = scope.not_in_env_message(session.lang, &scope.missing_roles(s));
        let total = session.lab.steps.len();
        self.line("");
        self.line(&format!(
            "{} {}",
            style(format!(
                "» {} {}/{total} · {} —",
                self.text.step,
                step + 1,
                safe::text(&s.title)
            ))
            .dim(),
            style(why).dim()
        ));
    }

    pub fn command_start(&self, command: &str, role: &str) {
        let command = safe::text(command);
        let mut lines = command.trim_end().lines();
        let first = lines.next().unwrap_or_default();
        self.line(&format!(
            "{} {}",
            style(format!("[{role}]$")).dim(),
            style(first).bold()
        ));
        for l in lines {
            self.line(&format!("   {}", style(l).bold()));
        }
    }

    pub fn command_output(&self, out: &ExecOutput) {
        for l in out.stdout.lines().take(40) {
            self.line(&format!("  {}", safe::text(l)));
        }
        for l in out.stderr.lines().take(20) {
            self.line(&format!("  {}", style(safe::text(l)).yellow()));
        }
        if out.stdout.lines().count() > 40 {
            self.line(&style("  [...]").dim().to_string());
        }
    }

    /// `label:` / `label :` as the language writes it.
    fn label(&self, word: &str) -> String {
        format!("{word}{}", self.lang.colon())
    }

    pub fn warn(&self, msg: &str) {
        let label = self.label(self.text.warning);
        self.line(&format!("{} {msg}", style(label).yellow().bold()));
    }

    pub fn error(&self, msg: &str) {
        let label = self.label(self.text.error);
        eprintln!("{} {}", style(label).red().bold(), safe::text(msg));
    }

    /// One verdict line, with expected/found on failure and the next hint if any.
    pub fn verdict(&self, e: &Evaluated, hints: &[String]) {
        let name = safe::text(&e.name);
        let (mark, name) = match e.outcome.verdict {
            Verdict::Pass => (style("✔").green().bold(), style(&name).green()),
            Verdict::Fail => (style("✘").red().bold(), style(&name).red()),
            Verdict::Error => (style("⚠").yellow().bold(), style(&name).yellow()),
        };
        self.line(&format!("  {mark} {name}"));
        match e.outcome.verdict {
            Verdict::Fail => {
                if !e.outcome.message.is_empty() {
                    self.line(&format!("      {}", safe::text(&e.outcome.message)));
                }
                self.line(&format!(
                    "      {} {}",
                    self.label(self.text.expected),
                    safe::text(&e.outcome.expected)
                ));
                self.line(&format!(
                    "      {} {}",
                    self.label(self.text.found),
                    safe::text(&e.outcome.found)
                ));
                for h in hints {
                    self.line(&format!(
                        "      {} {}",
                        style(self.label(self.text.hint)).cyan().bold(),
                        safe::text(h)
                    ));
                }
            }
            Verdict::Error => {
                self.line(&format!(
                    "      {} {}",
                    self.label(self.text.checker_error),
                    safe::text(&e.outcome.message)
                ));
            }
            Verdict::Pass => {}
        }
    }

    pub fn question_auto(&self, prompt: &str, answer: &str) {
        self.line(&format!(
            "  {} {} → {}",
            style("?").cyan().bold(),
            safe::text(prompt),
            safe::text(answer)
        ));
    }

    pub fn proof(&self, p: &StepProof) {
        if p.problems.is_empty() {
            self.line(&format!(
                "  {} {}",
                style("ok").green().bold(),
                i18n::proven(self.lang, &p.id, p.failed_before, p.passed_after)
            ));
        } else {
            for problem in &p.problems {
                let label = self.label(self.text.problem);
                self.line(&format!("  {} {problem}", style(label).red().bold()));
            }
        }
    }

    /// One row of `tplab test`'s table.
    pub fn proof_row(&self, p: &StepProof) {
        let mark = if p.problems.is_empty() {
            style("ok  ").green().bold()
        } else {
            style(self.text.fail_mark).red().bold()
        };
        self.line(&format!(
            "  {mark} {:<28} {}",
            p.id,
            i18n::proof_row(self.lang, p.line, p.checks, p.problems.len())
        ));
    }

    pub fn summary(&self, session: &Session<'_>, report_path: Option<&std::path::Path>) {
        let r = &session.recorder.report;
        self.line("");
        self.line(
            &style(format!("── {} ──", self.text.summary))
                .bold()
                .to_string(),
        );
        // Align the points on the longest title (measured in characters, not bytes).
        let width = r
            .steps
            .iter()
            .map(|s| console::measure_text_width(&s.title))
            .max()
            .unwrap_or(0)
            .min(70);
        for s in &r.steps {
            let mark = match s.status {
                tplab_report::StepStatus::Passed => style("✔").green(),
                tplab_report::StepStatus::Failed => style("✘").red(),
                tplab_report::StepStatus::Error => style("⚠").yellow(),
                tplab_report::StepStatus::Pending => style("·").dim(),
                tplab_report::StepStatus::Skipped | tplab_report::StepStatus::NotInEnv => {
                    style("»").dim()
                }
            };
            let title = safe::text(&s.title);
            let title = console::pad_str(&title, width, console::Alignment::Left, Some("…"));
            self.line(&format!(
                "  {mark} {title} {}/{}",
                fmt_points(s.score),
                fmt_points(s.max_score)
            ));
        }
        self.line(&format!(
            "  {} {}/{} {}",
            self.label(self.text.score),
            fmt_points(r.score),
            fmt_points(r.max_score),
            self.text.points
        ));
        if r.error_points > 0.0 {
            self.line(&format!(
                "  ({} {}{} {})",
                fmt_points(r.error_points),
                self.text.not_counted,
                self.lang.colon(),
                self.text.checker_errors_short
            ));
        }
        if let Some(p) = report_path {
            self.line(&format!(
                "  {} {} · {}",
                self.text.report_written,
                p.display(),
                crate::session::record::html_beside(p).display()
            ));
        }
    }
}

pub fn fmt_points(p: f64) -> String {
    // `+ 0.0`: never `-0` (an empty sum, a negative zero from a subtraction).
    let p = p + 0.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

/// The terminal as the session's observer.
impl Observer for Printer {
    fn step_start(&self, session: &Session<'_>, step: usize) {
        self.step_header(session, step);
    }

    fn command_start(&self, command: &str, role: &str) {
        Printer::command_start(self, command, role);
    }

    fn command_output(&self, out: &ExecOutput) {
        Printer::command_output(self, out);
    }

    fn verdict(&self, evaluated: &Evaluated) {
        Printer::verdict(self, evaluated, &[]);
    }

    fn answered(&self, prompt: &str, answer: &str) {
        self.question_auto(prompt, answer);
    }

    fn proof(&self, proof: &StepProof) {
        Printer::proof(self, proof);
    }

    fn not_in_env(&self, session: &Session<'_>, step: usize) {
        Printer::not_in_env(self, session, step);
    }

    fn warn(&self, message: &str) {
        Printer::warn(self, message);
    }

    fn note(&self, message: &str) {
        self.line(&style(safe::text(message)).dim().to_string());
    }
}
