//! Killercoda scenarios: `index.json` (intro, steps, finish; each with `text`,
//! `background`, `foreground`, a step's `verify`) and step Markdown whose code blocks
//! marked `{{exec}}` are commands the student clicks to run.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::lab::{Check, ImportedLab, Note, Step, demote_and_escape};
use super::script::Script;
use super::{ImportError, SourceDir, slug};

const PLATFORM: &str = "killercoda";
const INDEX: &str = "index.json";

#[derive(Debug, Deserialize)]
struct Index {
    title: Option<String>,
    description: Option<String>,
    #[serde(default)]
    details: Details,
    backend: Option<Backend>,
}

#[derive(Debug, Default, Deserialize)]
struct Details {
    intro: Option<Page>,
    #[serde(default)]
    steps: Vec<Page>,
    finish: Option<Page>,
    assets: Option<serde_json::Value>,
}

/// The intro, a step or the finish page. `courseData`/`code` are Katacoda's older
/// names of `background`/`foreground`.
#[derive(Debug, Default, Deserialize)]
struct Page {
    title: Option<String>,
    text: Option<String>,
    verify: Option<String>,
    #[serde(alias = "courseData")]
    background: Option<String>,
    #[serde(alias = "code")]
    foreground: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Backend {
    imageid: Option<String>,
}

struct Ctx<'a> {
    src: &'a SourceDir,
    index_text: String,
    notes: Vec<Note>,
}

impl Ctx<'_> {
    /// The line of index.json that names `value` (for messages).
    fn line(&self, value: &str) -> usize {
        let quoted = serde_json::to_string(value).unwrap_or_default();
        self.index_text
            .find(&quoted)
            .map_or(1, |at| super::line_of(&self.index_text, at))
    }

    fn read(&self, named: &str, what: &'static str) -> Result<String, ImportError> {
        self.src
            .read_named(named, INDEX, self.line(named), PLATFORM, what)
    }

    fn script(&self, named: &str, what: &'static str) -> Result<Script, ImportError> {
        Ok(Script::new(named, self.read(named, what)?))
    }

    fn note(&mut self, file: &str, line: Option<usize>, text: impl Into<String>) {
        self.notes.push(Note {
            file: file.to_string(),
            line,
            text: text.into(),
        });
    }
}

pub fn import(src: &SourceDir) -> Result<ImportedLab, ImportError> {
    let index_text = src
        .read_optional(INDEX)?
        .ok_or_else(|| ImportError::Missing {
            path: src.shown(INDEX),
            platform: PLATFORM,
            what: "scenario",
        })?;
    let index: Index = serde_json::from_str(&index_text).map_err(|e| ImportError::Syntax {
        path: src.shown(INDEX),
        line: e.line(),
        col: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    })?;
    let mut cx = Ctx {
        src,
        index_text,
        notes: Vec::new(),
    };
    if index.details.steps.is_empty() {
        return Err(ImportError::Invalid {
            path: src.shown(INDEX),
            message: "`details.steps` is empty: a scenario needs at least one step".into(),
        });
    }
    let title = index
        .title
        .clone()
        .unwrap_or_else(|| "Imported scenario".into());
    let mut lab = ImportedLab {
        id: slug(&dir_name(src).unwrap_or_else(|| title.clone())),
        title,
        description: index.description.clone(),
        ..ImportedLab::default()
    };
    if let Some(intro) = &index.details.intro {
        if let Some(text) = &intro.text {
            let md = cx.read(text, "intro")?;
            lab.intro = convert(&mut cx, text, &md).0;
        }
        if let Some(bg) = &intro.background {
            lab.setup
                .push((cx.script(bg, "intro background script")?, false));
        }
        if let Some(fg) = &intro.foreground {
            lab.setup
                .push((cx.script(fg, "intro foreground script")?, true));
            foreground_note(&mut cx, fg);
        }
    }
    let mut ids: Vec<String> = Vec::new();
    for (n, page) in index.details.steps.iter().enumerate() {
        let step = step(&mut cx, n + 1, page, &mut ids)?;
        lab.steps.push(step);
    }
    if let Some(finish) = &index.details.finish {
        if let Some(text) = &finish.text {
            let md = cx.read(text, "finish page")?;
            let (body, _) = convert(&mut cx, text, &md);
            if let Some(last) = lab.steps.last_mut() {
                let _ = write!(
                    last.body,
                    "\n\n### {}\n\n{body}",
                    finish.title.as_deref().unwrap_or("Finish")
                );
            }
        }
        if let Some(bg) = &finish.background {
            // It runs when the scenario ends: tplab's cleanup runs then.
            lab.cleanup.push(cx.script(bg, "finish background script")?);
        }
        if let Some(fg) = &finish.foreground {
            lab.cleanup.push(cx.script(fg, "finish foreground script")?);
        }
    }
    if environment_notes(&mut cx, &index) {
        lab.environments.push("kube".into());
    }
    lab.notes = cx.notes;
    Ok(lab)
}

fn step(
    cx: &mut Ctx<'_>,
    n: usize,
    page: &Page,
    ids: &mut Vec<String>,
) -> Result<Step, ImportError> {
    let title = page.title.clone().unwrap_or_else(|| format!("Step {n}"));
    let mut id = slug(&title);
    while ids.contains(&id) {
        id = format!("{id}-{n}");
    }
    ids.push(id.clone());
    let mut step = Step {
        id,
        title: title.clone(),
        ..Step::default()
    };
    let mut commands = 0;
    if let Some(text) = &page.text {
        let md = cx.read(text, "step text")?;
        let md = super::lab::drop_title(&md, &title);
        let (body, n_commands) = convert(cx, text, &md);
        step.body = body;
        commands = n_commands;
    }
    step.commands = commands;
    if let Some(bg) = &page.background {
        step.setup
            .push((cx.script(bg, "step background script")?, false));
    }
    if let Some(fg) = &page.foreground {
        step.setup
            .push((cx.script(fg, "step foreground script")?, true));
        foreground_note(cx, fg);
    }
    if let Some(verify) = &page.verify {
        let script = cx.script(verify, "verify script")?;
        super::instruqt::script_notes(&mut cx.notes, &script);
        if commands == 0 {
            cx.note(
                INDEX,
                Some(cx.line(verify)),
                format!("step `{title}` is verified but has no `{{{{exec}}}}` command: add a `sh {{target=local solution}}` block so `tplab test` can prove it"),
            );
        }
        step.checks.push(Check {
            id: "verify".into(),
            name: format!("{title} ({verify})"),
            script,
            fail_on_fail_line: false,
            prelude: String::new(),
        });
    }
    Ok(step)
}

fn foreground_note(cx: &mut Ctx<'_>, named: &str) {
    let line = cx.line(named);
    cx.note(
        INDEX,
        Some(line),
        format!("`{named}` ran in the student's terminal; tplab runs it as a shown setup block (a long-running or interactive command there needs rewriting)"),
    );
}

/// Notes on where the scenario ran; true when its backend is a Kubernetes cluster (the
/// lab then also lists `kube`, where `local` commands reach the cluster's API).
fn environment_notes(cx: &mut Ctx<'_>, index: &Index) -> bool {
    let mut kube = false;
    if let Some(image) = index.backend.as_ref().and_then(|b| b.imageid.as_deref()) {
        let line = cx.line(image);
        kube = image.contains("kubernetes");
        let text = if kube {
            format!(
                "backend `{image}` is a Kubernetes cluster: the lab also lists environment `kube` (`--env kube --kubeconfig FILE`), where its scripts run on `local` with the cluster's KUBECONFIG; the scenario's other nodes (`node01`) have no role there: a script or command for one (`ssh node01`) needs a human"
            )
        } else {
            format!(
                "backend `{image}` was a root VM: the lab targets `local`, where scripts run on this machine as you; make them create only per-session names (`{{{{ session_id }}}}`), or bind roles to namespaces (`netns:`)"
            )
        };
        cx.note(INDEX, Some(line), text);
    }
    if index.details.assets.is_some() {
        let line = cx
            .index_text
            .find("\"assets\"")
            .map(|at| super::line_of(&cx.index_text, at));
        cx.note(INDEX, line, "`details.assets` are not copied: ship them beside the lab and copy them in a setup block");
    }
    kube
}

fn dir_name(src: &SourceDir) -> Option<String> {
    src.shown(".")
        .canonicalize()
        .ok()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

/// Step Markdown to tplab Markdown; also returns the number of runnable commands.
/// A fenced block closed by ```` ```{{exec}} ```` becomes a `sh {target=local}` block
/// (inside a `<details>` hint it stays there, shown, and a `solution` copy follows the
/// hint); an inline `` `cmd`{{exec}} `` becomes a block after its line; `{{copy}}`
/// marks are dropped (the text stays shown).
fn convert(cx: &mut Ctx<'_>, file: &str, md: &str) -> (String, usize) {
    static EXEC_CLOSE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\s*)(`{3,}|~{3,})\s*\{\{\s*(exec|execute|copy)[^}]*\}\}\s*$").unwrap()
    });
    static INLINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"`([^`]+)`\{\{\s*(exec|execute|copy)[^}]*\}\}").unwrap());
    static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{[^}]*\}\}").unwrap());
    static LIST: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\s*(?:[-*+]|\d+[.)])\s+)").unwrap());

    let mut out: Vec<String> = Vec::new();
    let mut commands = 0;
    let mut fence_open: Option<usize> = None; // index in `out` of the open fence line
    let mut in_details = false;
    let mut deferred: Vec<String> = Vec::new(); // solution blocks to emit after `</details>`
    for (i, line) in md.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = fence_open {
            if let Some(c) = EXEC_CLOSE.captures(line) {
                let indent = c[1].to_string();
                let fence = c[2].to_string();
                if &c[3] == "copy" {
                    out.push(format!("{indent}{fence}"));
                } else {
                    commands += 1;
                    let body: Vec<String> = out[open + 1..].to_vec();
                    if in_details {
                        out[open] = format!("{indent}{fence}sh");
                        deferred.push(format!(
                            "```sh {{target=local solution}}\n{}\n```",
                            unindent(&body, &indent)
                        ));
                    } else {
                        out[open] = format!("{indent}{fence}sh {{target=local}}");
                    }
                    out.push(format!("{indent}{fence}"));
                }
                fence_open = None;
                continue;
            }
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                fence_open = None;
            }
            out.push(line.to_string());
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence_open = Some(out.len());
            out.push(line.to_string());
            continue;
        }
        if trimmed.starts_with("<details") {
            in_details = true;
        }
        let mut inline_cmds = Vec::new();
        let text = INLINE.replace_all(line, |c: &regex::Captures<'_>| {
            if &c[2] != "copy" {
                inline_cmds.push(c[1].to_string());
            }
            format!("`{}`", &c[1])
        });
        for p in PLACEHOLDER.find_iter(&text) {
            cx.note(
                file,
                Some(i + 1),
                format!(
                    "Killercoda placeholder `{}` has no tplab equivalent: kept as text",
                    p.as_str()
                ),
            );
        }
        out.push(text.into_owned());
        if !inline_cmds.is_empty() {
            let indent = LIST
                .captures(line)
                .map_or_else(|| line.len() - trimmed.len(), |c| c[1].len());
            let pad = " ".repeat(indent);
            let attrs = if in_details {
                "target=local solution"
            } else {
                "target=local"
            };
            let block = format!(
                "\n{pad}```sh {{{attrs}}}\n{}\n{pad}```\n",
                inline_cmds
                    .iter()
                    .map(|c| format!("{pad}{c}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            commands += inline_cmds.len();
            if in_details {
                deferred.push(block.trim().to_string());
            } else {
                out.push(block);
            }
        }
        if trimmed.contains("</details>") {
            in_details = false;
            for block in deferred.drain(..) {
                out.push(String::new());
                out.push(block);
            }
        }
    }
    (demote_and_escape(&out.join("\n")), commands)
}

fn unindent(lines: &[String], indent: &str) -> String {
    lines
        .iter()
        .map(|l| l.strip_prefix(indent).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}
