//! Guided mode (`tplab run` on a terminal): show a step, let the student run its
//! commands (or have tplab run them), check on request or watch continuously, give
//! progressive hints, ask the questions, save progress after every step.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use console::{Term, style};
use dialoguer::{Input, Select, theme::ColorfulTheme};

use super::printer::Printer;
use crate::check::{Evaluated, Verdict};
use crate::interrupt;
use crate::lab::{ItemKind, QuestionItem, RunMode};
use crate::session::plan::{Action, Gradable, GradableKind};
use crate::session::{Session, progress};

enum Choice {
    RunForMe,
    Watch,
    CheckNow,
    Hint,
    Solution,
    Skip,
    Quit,
}

/// Runs the guided session from step `from`. Returns when the lab is done or the student quits.
pub async fn run(
    session: &mut Session<'_>,
    printer: &Printer,
    from: usize,
    report_dir: Option<&Path>,
) -> Result<(), dialoguer::Error> {
    let theme = ColorfulTheme::default();
    if from == 0 {
        show_intro(session, printer);
    }
    for step in from..session.lab.steps.len() {
        if !session.step_in_env(step) {
            printer.not_in_env(session, step);
            continue;
        }
        printer.step_header(session, step);
        // The step's own starting state (a break-and-fix step breaks it here).
        if let Err(e) = session.setup_step(step, printer).await {
            session.lifecycle_failure = Some(e);
            return Ok(());
        }
        show_step(session, printer, step);
        let mut hints_shown = 0usize;
        let mut check_hint_level = 0usize;
        loop {
            let gradables = checkables(session, step);
            if gradables.is_empty() {
                break;
            }
            let (choice, labels) = menu(session, printer, step);
            let picked = if interrupt::requested() {
                None
            } else {
                match Select::with_theme(&theme)
                    .with_prompt(printer.text.what_next)
                    .items(&labels)
                    .default(0)
                    .interact_opt()
                {
                    Ok(picked) => picked,
                    Err(e) if interrupt::is_interrupt(&e) => None,
                    Err(e) => return Err(e),
                }
            };
            let Some(picked) = picked else {
                quit(session, printer, step, report_dir);
                return Ok(());
            };
            let done = match &choice[picked] {
                Choice::RunForMe => {
                    session.recorder.ran_for_me(step);
                    unless_interrupted(async {
                        run_actions(session, printer, step).await;
                        check_all(session, printer, step, &mut check_hint_level).await
                    })
                    .await
                }
                Choice::Watch => unless_interrupted(watch(session, printer, step)).await,
                Choice::CheckNow => {
                    unless_interrupted(check_all(session, printer, step, &mut check_hint_level))
                        .await
                }
                _ => Some(false),
            };
            match (done, &choice[picked]) {
                (None, _) => {
                    printer.line("");
                    quit(session, printer, step, report_dir);
                    return Ok(());
                }
                (Some(true), _) => break,
                (_, Choice::Skip) => {
                    // What later steps need from this one, if the environment has it.
                    if unless_interrupted(session.capture_skipped(step))
                        .await
                        .is_none()
                    {
                        quit(session, printer, step, report_dir);
                        return Ok(());
                    }
                    session.recorder.skip_step(step);
                    break;
                }
                (Some(false), Choice::RunForMe | Choice::Watch | Choice::CheckNow) => {}
                (_, Choice::Hint) => {
                    let hints: Vec<String> = session.lab.steps[step]
                        .hints()
                        .map(|h| session.shown(h))
                        .collect();
                    match hints.get(hints_shown) {
                        Some(h) => {
                            printer.line(
                                &style(format!(
                                    "{} {}/{}:",
                                    printer.text.hint,
                                    hints_shown + 1,
                                    hints.len()
                                ))
                                .cyan()
                                .bold()
                                .to_string(),
                            );
                            printer.prose(h);
                            hints_shown += 1;
                            session.recorder.hint_shown(step, hints_shown, hints.len());
                        }
                        None => printer.line(&style("—").dim().to_string()),
                    }
                }
                (_, Choice::Solution) => {
                    session.recorder.solution_shown(step);
                    show_solution(session, printer, step);
                }
                (_, Choice::Quit) => {
                    quit(session, printer, step, report_dir);
                    return Ok(());
                }
            }
        }
        if ask_questions(session, printer, step)? == Flow::Quit {
            printer.line("");
            quit(session, printer, step, report_dir);
            return Ok(());
        }
        session.recorder.settle(step);
        session.cleanup_step(step, printer).await;
        progress::save(session, step + 1);
        if let Some(dir) = report_dir {
            let _ = session.recorder.write(dir);
        }
    }
    printer.line(&style(printer.text.done).green().bold().to_string());
    progress::clear(progress::Owner {
        lab_id: &session.lab.meta.id,
        env: session.env.name(),
        student: session.recorder.report.student.id.as_deref(),
    });
    Ok(())
}

/// Runs `work` unless Ctrl-C comes first: `None` then, and `work` is dropped, which
/// kills the lab commands it was running (their process groups die with their guards).
async fn unless_interrupted<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        () = interrupt::requested_now() => None,
        v = work => Some(v),
    }
}

/// When checks fail and other sandboxes are up, the student's shell may be in the wrong
/// one: say which one this lab uses and how its shells' prompt reads.
fn other_sandboxes(session: &Session<'_>, printer: &Printer) {
    let (Some(me), others) = (session.env.handle(), session.env.others()) else {
        return;
    };
    if others.is_empty() {
        return;
    }
    let t = &printer.text;
    printer.line(
        &style(format!(
            "  {} {me} {} `[tplab {me} …]`); {}",
            t.other_sandboxes,
            t.other_sandboxes_prompt,
            others.join(", ")
        ))
        .yellow()
        .to_string(),
    );
}

/// The prompt theme for answers: once entered, an answer is marked neutrally (the
/// default ✔ would read as "correct" just before a "Not quite").
fn answer_theme() -> ColorfulTheme {
    ColorfulTheme {
        success_prefix: style("›".to_string()).for_stderr().dim(),
        ..ColorfulTheme::default()
    }
}

/// This process's command line as the student can type it again (shell-quoted).
fn this_command() -> String {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let line = shlex::try_join(args.iter().map(String::as_str)).unwrap_or_else(|_| args.join(" "));
    format!("`{}`", super::safe::text(&line))
}

/// Whether the session goes on after a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

fn quit(session: &mut Session<'_>, printer: &Printer, step: usize, report_dir: Option<&Path>) {
    // The student will come back: keep their environment (and its live values) up.
    session.env.keep_alive();
    progress::save(session, step);
    if let Some(dir) = report_dir {
        let _ = session.recorder.write(dir);
    }
    printer.line(&format!("{}", style(printer.text.quit).dim()));
    printer.line(&format!("{} {}", printer.text.to_resume, this_command()));
    if let Some(remove) = session.env.removal_hint() {
        printer.line(&format!("{} `{remove}`", printer.text.kept_env));
    }
}

fn show_intro(session: &Session<'_>, printer: &Printer) {
    show_items(session, printer, &session.lab.intro);
}

/// The step's text, code and commands in document order (solutions and checks hidden).
fn show_step(session: &Session<'_>, printer: &Printer, step: usize) {
    show_items(session, printer, &session.lab.steps[step].items);
}

/// Text, code blocks (diagrams included) and commands, as the student reads them.
pub fn show_items(session: &Session<'_>, printer: &Printer, items: &[crate::lab::Item]) {
    for item in items {
        match &item.kind {
            ItemKind::Prose(p) => printer.prose(&session.shown(p)),
            ItemKind::Code { text, .. } => {
                for l in session.shown(text).lines() {
                    printer.line(&format!("    {}", style(super::safe::text(l)).cyan()));
                }
                printer.line("");
            }
            ItemKind::Command(c) if !c.solution && session.scope().command(c) => {
                let role = session.role(&c.target);
                printer.command_start(&session.shown(&c.script), role);
                shell_hint(session, printer, role);
            }
            ItemKind::Transcript(t) if !t.solution && session.scope().transcript(t) => {
                let role = session.role(&t.target);
                for c in &t.commands {
                    printer.command_start(&session.shown(&c.command), role);
                }
                shell_hint(session, printer, role);
            }
            _ => {}
        }
    }
}

/// "Open a shell in another terminal with `sudo tplab sandbox shell pod`" (when relevant).
fn shell_hint(session: &Session<'_>, printer: &Printer, role: &str) {
    let hint = session.env.shell_hint(role);
    if !hint.is_empty() {
        printer.line(
            &style(format!("    ({} {hint})", printer.text.open_shell))
                .dim()
                .to_string(),
        );
    }
}

fn checkables<'a>(session: &Session<'a>, step: usize) -> Vec<Gradable<'a>> {
    session
        .gradables(step)
        .into_iter()
        .filter(|g| !matches!(g.kind, GradableKind::Question(_)))
        .collect()
}

fn menu(session: &Session<'_>, printer: &Printer, step: usize) -> (Vec<Choice>, Vec<&'static str>) {
    let t = &printer.text;
    let mut choices = Vec::new();
    let mut labels = Vec::new();
    let runnable = session.actions(step).iter().any(|a| match a {
        Action::Command(c) => c.run == RunMode::Auto,
        Action::Transcript(t) => t.run == RunMode::Auto,
    });
    if runnable {
        choices.push(Choice::RunForMe);
        labels.push(t.run_for_me);
    }
    choices.extend([Choice::Watch, Choice::CheckNow, Choice::Hint]);
    labels.extend([t.i_run_them, t.check_now, t.show_hint]);
    if session.lab.steps[step]
        .items
        .iter()
        .any(|i| matches!(&i.kind, ItemKind::Command(c) if c.solution))
    {
        choices.push(Choice::Solution);
        labels.push(t.show_solution);
    }
    choices.extend([Choice::Skip, Choice::Quit]);
    labels.extend([t.skip_step, t.quit]);
    (choices, labels)
}

async fn run_actions(session: &mut Session<'_>, printer: &Printer, step: usize) {
    for action in session.actions(step) {
        match action {
            Action::Command(block) if block.run == RunMode::Auto => {
                if let Some(problem) = session.play(step, block, printer).await {
                    printer.warn(&problem);
                }
            }
            Action::Transcript(block) if block.run == RunMode::Auto => {
                let role = session.role(&block.target).to_string();
                for (command, result) in session.run_transcript_commands(step, block).await {
                    printer.command_start(&command, &role);
                    match result {
                        Ok(out) => printer.command_output(&out),
                        Err(e) => printer.warn(&e.to_string()),
                    }
                }
            }
            _ => {}
        }
    }
}

/// Evaluates every check of the step; on failure shows the next hint level.
async fn check_all(
    session: &mut Session<'_>,
    printer: &Printer,
    step: usize,
    level: &mut usize,
) -> bool {
    let mut all = true;
    let mut errors = false;
    for g in checkables(session, step) {
        let e = session.verify(step, &g).await;
        let hints = if e.outcome.verdict == Verdict::Fail {
            next_hint(&e, *level)
        } else {
            Vec::new()
        };
        if let Some((n, of)) = hint_number(&e, *level).filter(|_| !hints.is_empty()) {
            session.recorder.check_hint_shown(step, &g.id, n, of);
        }
        printer.verdict(&e, &hints);
        all &= e.outcome.verdict != Verdict::Fail;
        errors |= e.outcome.verdict == Verdict::Error;
    }
    if !all {
        other_sandboxes(session, printer);
    }
    if all && !errors {
        printer.line(&style(printer.text.all_good).green().to_string());
    } else if all {
        // Nothing failed, but some checks could not look: not a success to announce.
        printer.line(&style(printer.text.checker_errors).yellow().to_string());
    } else {
        *level += 1;
    }
    all
}

/// Which of the check's hints `next_hint` shows (1-based), and how many there are.
fn hint_number(e: &Evaluated, level: usize) -> Option<(usize, usize)> {
    let n = e.spec.as_ref().map_or(0, |s| s.hints.len());
    (n > 0).then(|| (level.min(n - 1) + 1, n))
}

fn next_hint(e: &Evaluated, level: usize) -> Vec<String> {
    let hints = e.spec.as_ref().map(|s| s.hints.clone()).unwrap_or_default();
    if hints.is_empty() {
        return Vec::new();
    }
    vec![hints[level.min(hints.len() - 1)].clone()]
}

/// Re-checks as the kernel announces changes (see `wake.rs`), ticking items as they
/// become right, until all pass (true) or the student presses Enter (false). A change
/// re-evaluates only the checks it can affect; a failing packets check is observed
/// continuously (its ring buffer wakes it); everything is re-checked every
/// [`SAFETY_NET`] for what sends no notification. Without notifications (or with
/// `TPLAB_WATCH_POLL=1`) everything is re-checked every second, as before. Each check
/// takes one screen row (cut to the terminal's width, so a redraw erases exactly what it
/// drew); a failing one shows why on a second row; the header counts the seconds watched.
async fn watch(session: &mut Session<'_>, printer: &Printer, step: usize) -> bool {
    /// The periodic re-check kept as a safety net when notifications drive the rest.
    const SAFETY_NET: Duration = Duration::from_secs(3);
    let term = Term::stdout();
    session.recorder.watch_started();
    printer.line(&style(printer.text.watching).dim().to_string());
    let started = std::time::Instant::now();
    let mut wakers = super::wake::Wakers::start(session.env);
    let items = checkables(session, step);
    let default_role = session.lab.meta.default_role().to_string();
    let scopes: Vec<_> = items
        .iter()
        .map(|g| super::affects::scope(&g.kind, &default_role))
        .collect();
    let mut last: Vec<Option<Evaluated>> = vec![None; items.len()];
    let mut wake = super::wake::Wake::Period;
    let mut full = std::time::Instant::now();
    let mut drawn = 0usize;
    loop {
        for (i, g) in items.iter().enumerate() {
            let failing_packets = scopes[i] == super::affects::Scope::Packets
                && last[i].as_ref().is_none_or(|e| !e.outcome.passed());
            let due = match &wake {
                super::wake::Wake::Changes(c) => scopes[i].touched_by(c),
                _ => true,
            };
            if last[i].is_none() || due || failing_packets {
                last[i] = Some(session.verify_once(step, g).await);
            }
        }
        let (rows, all, errors) = rows_of(printer, last.iter().flatten());
        if !printer.quiet {
            let width = usize::from(term.size().1).max(20);
            let header = style(format!(
                "{} {} s",
                spinner(started.elapsed()),
                started.elapsed().as_secs()
            ))
            .dim()
            .to_string();
            let _ = term.clear_last_lines(drawn);
            for row in std::iter::once(&header).chain(&rows) {
                // One row each: a wrapped line would survive `clear_last_lines`.
                let _ = term.write_line(&console::truncate_str(row, width - 1, "…"));
            }
            drawn = rows.len() + 1;
        }
        if all && !errors {
            printer.line(&style(printer.text.all_good).green().to_string());
            return true;
        }
        // A failing packets check's own observation window was the wait: look again at
        // once (after any change that came meanwhile), else sleep until a change.
        let observing = items.iter().enumerate().any(|(i, _)| {
            scopes[i] == super::affects::Scope::Packets
                && last[i].as_ref().is_some_and(|e| !e.outcome.passed())
        });
        wake = if observing && wakers.event_driven() {
            if wakers.enter_pressed() {
                super::wake::Wake::Enter
            } else {
                wakers.next(Duration::ZERO).await
            }
        } else {
            // Each second at least, to count the seconds on screen.
            wakers.next(Duration::from_secs(1)).await
        };
        match wake {
            super::wake::Wake::Enter => return false,
            // Notifications drive the re-checks: a quiet second only redraws (and
            // re-observes a failing packets check); all is re-checked per SAFETY_NET.
            super::wake::Wake::Period if wakers.event_driven() && full.elapsed() < SAFETY_NET => {
                wake = super::wake::Wake::Changes(std::collections::BTreeSet::new());
            }
            super::wake::Wake::Period => full = std::time::Instant::now(),
            super::wake::Wake::Changes(_) => {}
        }
    }
}

/// The screen rows of the verdicts; whether all pass; whether any could not run.
fn rows_of<'e>(
    printer: &Printer,
    verdicts: impl Iterator<Item = &'e Evaluated>,
) -> (Vec<String>, bool, bool) {
    let mut rows = Vec::new();
    let mut all = true;
    let mut errors = false;
    for e in verdicts {
        let (mark, why) = match e.outcome.verdict {
            Verdict::Pass => (style("✔").green().bold(), None),
            Verdict::Fail => {
                all = false;
                (
                    style("…").yellow().bold(),
                    Some(failing_because(printer, e)),
                )
            }
            Verdict::Error => {
                errors = true;
                (style("⚠").yellow().bold(), Some(e.outcome.message.clone()))
            }
        };
        rows.push(format!("  {mark} {}", super::safe::text(&e.name)));
        if let Some(why) = why.filter(|w| !w.is_empty()) {
            rows.push(
                style(format!("      {}", super::safe::text(&why)))
                    .dim()
                    .to_string(),
            );
        }
    }
    (rows, all, errors)
}

/// Why a check still fails, in one line: what it found against what it expects.
fn failing_because(printer: &Printer, e: &Evaluated) -> String {
    let o = &e.outcome;
    if o.found.is_empty() {
        return o.message.clone();
    }
    format!(
        "{}: {} — {}: {}",
        printer.text.found, o.found, printer.text.expected, o.expected
    )
}

fn spinner(elapsed: Duration) -> char {
    const FRAMES: [char; 4] = ['◐', '◓', '◑', '◒'];
    FRAMES[usize::try_from(elapsed.as_secs() % 4).unwrap_or(0)]
}

/// The solution as the student would type it: the solution blocks, or, when they are
/// tplab's own helpers (`solution=hidden`), the commands the step asks the student to type.
fn show_solution(session: &Session<'_>, printer: &Printer, step: usize) {
    let scope = session.scope();
    let commands: Vec<&crate::lab::CommandBlock> = session.lab.steps[step]
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Command(c) if scope.command(c) => Some(c),
            _ => None,
        })
        .collect();
    let typed: Vec<&&crate::lab::CommandBlock> = commands
        .iter()
        .filter(|c| c.solution && !c.solution_hidden)
        .collect();
    let shown: Vec<&&crate::lab::CommandBlock> = if typed.is_empty() {
        commands.iter().filter(|c| !c.solution).collect()
    } else {
        typed
    };
    for c in shown {
        printer.command_start(&session.shown(&c.script), session.role(&c.target));
    }
}

fn ask_questions(
    session: &mut Session<'_>,
    printer: &Printer,
    step: usize,
) -> Result<Flow, dialoguer::Error> {
    for g in session.gradables(step) {
        let GradableKind::Question(q) = g.kind else {
            continue;
        };
        if ask(session, printer, step, &g.id, q)? == Flow::Quit {
            return Ok(Flow::Quit);
        }
    }
    Ok(Flow::Continue)
}

fn ask(
    session: &mut Session<'_>,
    printer: &Printer,
    step: usize,
    id: &str,
    q: &QuestionItem,
) -> Result<Flow, dialoguer::Error> {
    let t = printer.text;
    if let Some(why) = session.question_lacking(q) {
        printer.warn(&format!("{} · {}", t.question, super::safe::text(&why)));
        return Ok(Flow::Continue);
    }
    let expected = match session.expected_answer(q) {
        Ok(e) => e,
        Err(e) => {
            printer.warn(&format!("{}: {e}", t.question));
            return Ok(Flow::Continue);
        }
    };
    let prompt = session.question_prompt(q);
    let attempts = session.attempts(q);
    let mut answers = Vec::new();
    let mut correct = false;
    printer.line(
        &style(format!("{} · {}", t.question, super::safe::text(&prompt)))
            .bold()
            .to_string(),
    );
    for attempt in 1..=attempts {
        let answer: String = match Input::with_theme(&answer_theme())
            .with_prompt(t.your_answer)
            .allow_empty(true)
            .interact_text()
        {
            Ok(a) => a,
            // Answers given so far are not recorded: the question is asked again on resume.
            Err(e) if interrupt::is_interrupt(&e) => return Ok(Flow::Quit),
            Err(e) => return Err(e),
        };
        answers.push(answer.clone());
        if session.judge(q, &expected, &answer) {
            printer.line(&style(format!("✔ {}", t.correct)).green().bold().to_string());
            correct = true;
            break;
        }
        let left = attempts - attempt;
        printer.line(&format!(
            "{} ({})",
            style(format!("✘ {}", t.wrong)).red().bold(),
            t.left(u64::from(left))
        ));
        if let Some(says) = session.feedback(q, &answer) {
            printer.line(&format!("  {}", super::safe::text(&says)));
        } else if let Some(h) = q.spec.hint.0.get((attempt - 1) as usize) {
            session
                .recorder
                .question_hint_shown(step, id, attempt as usize, q.spec.hint.0.len());
            printer.line(&format!(
                "  {} {}",
                style(format!("{}{}", t.hint, t.lang.colon())).cyan().bold(),
                super::safe::text(&session.shown(h))
            ));
        }
    }
    if !correct {
        printer.line(&format!(
            "{} {}",
            t.the_answer_was,
            style(super::safe::text(&expected)).bold()
        ));
    }
    if let Some(explain) = &q.spec.explain {
        printer.prose(&session.shown(explain));
    }
    let _ = std::io::stdout().flush();
    let credit = if correct {
        1.0
    } else {
        answers
            .last()
            .map_or(0.0, |last| session.partial_credit(q, &expected, last))
    };
    session
        .recorder
        .record_question_credit(step, id, answers, credit, &expected);
    Ok(Flow::Continue)
}
