//! Instruqt tracks: `track.yml`, one `NN-slug/` folder per challenge holding
//! `assignment.md` (YAML front matter, then the text) and `setup-HOST`, `check-HOST`,
//! `solve-HOST`, `cleanup-HOST` scripts; `track_scripts/` for the track's own setup and
//! cleanup. The legacy format lists the challenges in `track.yml`.

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::lab::{Check, ImportedLab, Note, Question, Step, demote_and_escape};
use super::script::Script;
use super::{ImportError, SourceDir, slug};

const PLATFORM: &str = "instruqt";
const TRACK: &str = "track.yml";

/// Instruqt's check helper, made a shell function: it prints the message as a `FAIL:`
/// line and ends the check unsuccessfully.
const FAIL_MESSAGE_SHIM: &str = "fail-message() { echo \"FAIL: $*\"; exit 1; }\n";

#[derive(Debug, Deserialize)]
struct Track {
    slug: Option<String>,
    title: Option<String>,
    teaser: Option<String>,
    description: Option<String>,
    challenges: Option<Vec<Challenge>>,
}

/// A challenge: `assignment.md`'s front matter, or an entry of a legacy `track.yml`.
#[derive(Debug, Default, Deserialize)]
struct Challenge {
    slug: Option<String>,
    title: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    notes: Vec<Slide>,
    /// Legacy: the text, inline.
    assignment: Option<String>,
    #[serde(default)]
    answers: Vec<String>,
    #[serde(default)]
    solution: Vec<usize>,
    #[serde(default)]
    tabs: Vec<serde_yaml::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct Slide {
    #[serde(rename = "type")]
    kind: Option<String>,
    contents: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    virtualmachines: Vec<Host>,
    #[serde(default)]
    containers: Vec<Host>,
}

#[derive(Debug, Deserialize)]
struct Host {
    name: String,
    #[serde(default)]
    image: Option<String>,
}

/// The track's hosts as roles: host name -> role its scripts target.
type HostRoles = std::collections::BTreeMap<String, String>;

/// Maps `config.yml`'s hosts: the first (the student's terminal) is this machine, role
/// `local`; each other container becomes a role bound to that container on `local`
/// (`docker:NAME`); another virtual machine cannot be had, its scripts run on `local`.
/// What the author must still do goes to `notes`.
fn host_roles(config: &Config, lab: &mut ImportedLab, notes: &mut Vec<Note>) -> HostRoles {
    let hosts: Vec<(&Host, bool)> = config
        .virtualmachines
        .iter()
        .map(|h| (h, false))
        .chain(config.containers.iter().map(|h| (h, true)))
        .collect();
    let mut roles = HostRoles::new();
    let Some(((first, _), others)) = hosts.split_first() else {
        return roles;
    };
    let note = |notes: &mut Vec<Note>, text: String| {
        notes.push(Note {
            file: "config.yml".into(),
            line: None,
            text,
        });
    };
    note(
        notes,
        format!(
            "sandbox host(s) {}: `{}` (the first) is this machine, role `local`",
            hosts
                .iter()
                .map(|(h, _)| format!("`{}`", h.name))
                .collect::<Vec<_>>()
                .join(", "),
            first.name
        ),
    );
    roles.insert(first.name.clone(), "local".into());
    for (host, container) in others {
        let role = slug(&host.name);
        let image = host.image.as_deref().unwrap_or("IMAGE");
        if *container && role != "local" && !roles.values().any(|r| *r == role) {
            lab.roles.push(super::lab::Role {
                name: role.clone(),
                netns: format!("docker:{}", host.name),
            });
            note(
                notes,
                format!(
                    "host `{}` is a container: role `{role}`, bound on `local` to container `{}` (`netns: {{ {role}: \"docker:{}\" }}`); start it in the lab's setup (`docker run -d --name {} {image}`); its scripts run in its network namespace with this machine's files and tools, not inside it",
                    host.name, host.name, host.name, host.name
                ),
            );
            roles.insert(host.name.clone(), role);
        } else {
            note(
                notes,
                format!(
                    "host `{}` is a virtual machine tplab cannot provide: its scripts run on `local`; bind it to a named namespace or a container (`netns:`) if it must stay apart",
                    host.name
                ),
            );
            roles.insert(host.name.clone(), "local".into());
        }
    }
    roles
}

fn yaml_error(
    src: &SourceDir,
    file: &str,
    e: &serde_yaml::Error,
    line_offset: usize,
) -> ImportError {
    let (line, col) = e
        .location()
        .map_or((1, 1), |l| (l.line() + line_offset, l.column()));
    let message = e.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    ImportError::Syntax {
        path: src.shown(file),
        line,
        col,
        message,
    }
}

pub fn import(src: &SourceDir) -> Result<ImportedLab, ImportError> {
    let text = src
        .read_optional(TRACK)?
        .ok_or_else(|| ImportError::Missing {
            path: src.shown(TRACK),
            platform: PLATFORM,
            what: "track",
        })?;
    let track: Track = serde_yaml::from_str(&text).map_err(|e| yaml_error(src, TRACK, &e, 0))?;
    let mut notes = Vec::new();
    let config: Config = match src.read_optional("config.yml")? {
        Some(text) => {
            serde_yaml::from_str(&text).map_err(|e| yaml_error(src, "config.yml", &e, 0))?
        }
        None => Config::default(),
    };
    let title = track
        .title
        .clone()
        .unwrap_or_else(|| "Imported track".into());
    let mut lab = ImportedLab {
        id: slug(track.slug.as_deref().unwrap_or(&title)),
        title,
        description: track.teaser.clone(),
        intro: track
            .description
            .as_deref()
            .map(demote_and_escape)
            .unwrap_or_default(),
        ..ImportedLab::default()
    };
    let hosts = host_roles(&config, &mut lab, &mut notes);
    for (kind, script) in scripts(src, "track_scripts", &hosts)? {
        match kind {
            Kind::Setup => lab.setup.push((script, false)),
            Kind::Cleanup => lab.cleanup.push(script),
            Kind::Check | Kind::Solve => notes.push(Note {
                file: script.file.clone(),
                line: None,
                text: "a track-level check or solve script has no tplab equivalent: not imported"
                    .into(),
            }),
        }
    }
    let mut ids = Vec::new();
    for (dir, challenge, file) in challenges(src, track, &text)? {
        let step = step(
            src,
            dir.as_deref(),
            &challenge,
            &file,
            &mut ids,
            &mut notes,
            &hosts,
        )?;
        lab.steps.push(step);
    }
    if lab.steps.is_empty() {
        return Err(ImportError::Invalid {
            path: src.shown(TRACK),
            message: "no challenge: expected folders `01-slug/` holding an assignment.md".into(),
        });
    }
    lab.notes = notes;
    Ok(lab)
}

/// The challenges in order: `(folder, front matter, assignment.md path)`. A legacy
/// `track.yml` lists them (each slug names its folder); otherwise the `NN-slug` folders.
fn challenges(
    src: &SourceDir,
    track: Track,
    track_text: &str,
) -> Result<Vec<(Option<String>, Challenge, String)>, ImportError> {
    static NUMBERED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{2}-(.+)$").unwrap());
    let dirs = src.subdirs()?;
    let mut out = Vec::new();
    if let Some(list) = track.challenges {
        for (n, c) in list.into_iter().enumerate() {
            let slug = c.slug.clone().unwrap_or_default();
            let line = track_text
                .find(&format!("slug: {slug}"))
                .map_or(1, |at| super::line_of(track_text, at));
            // The slug names a folder: it must be one name inside the track.
            if slug.is_empty() || slug.contains('/') || slug == ".." || slug == "." {
                return Err(ImportError::UnsafePath {
                    file: src.shown(TRACK),
                    line,
                    named: slug,
                    reason: "is not a challenge folder name (one name inside the track)",
                });
            }
            let numbered = format!("{:02}-{slug}", n + 1);
            let dir = [numbered, slug.clone()]
                .into_iter()
                .find(|d| dirs.contains(d));
            if let Some(d) = &dir {
                src.resolve(d, TRACK, line)?;
            }
            out.push((dir, c, TRACK.to_string()));
        }
        return Ok(out);
    }
    for dir in dirs.iter().filter(|d| NUMBERED.is_match(d)) {
        let file = format!("{dir}/assignment.md");
        let Some(text) = src.read_optional(&file)? else {
            continue;
        };
        let (front, body) = split_front_matter(&text);
        let mut c: Challenge = match front {
            Some(yaml) => serde_yaml::from_str(yaml).map_err(|e| yaml_error(src, &file, &e, 1))?,
            None => Challenge::default(),
        };
        if c.slug.is_none() {
            c.slug = NUMBERED.captures(dir).map(|m| m[1].to_string());
        }
        c.assignment = Some(body.to_string());
        out.push((Some(dir.clone()), c, file));
    }
    Ok(out)
}

fn split_front_matter(text: &str) -> (Option<&str>, &str) {
    let Some(rest) = text.strip_prefix("---\n") else {
        return (None, text);
    };
    match rest.find("\n---") {
        Some(end) => {
            let after = &rest[end + 4..];
            (
                Some(&rest[..=end]),
                after.strip_prefix('\n').unwrap_or(after),
            )
        }
        None => (None, text),
    }
}

fn step(
    src: &SourceDir,
    dir: Option<&str>,
    c: &Challenge,
    file: &str,
    ids: &mut Vec<String>,
    notes: &mut Vec<Note>,
    hosts: &HostRoles,
) -> Result<Step, ImportError> {
    let title = c
        .title
        .clone()
        .or_else(|| c.slug.clone())
        .unwrap_or_else(|| "Challenge".into());
    let mut id = slug(c.slug.as_deref().unwrap_or(&title));
    while ids.contains(&id) {
        id.push_str("-2");
    }
    ids.push(id.clone());
    let mut body = String::new();
    for slide in &c.notes {
        if slide.kind.as_deref().unwrap_or("text") == "text"
            && let Some(text) = &slide.contents
        {
            body.push_str(text.trim());
            body.push_str("\n\n");
        }
    }
    let assignment = c.assignment.clone().unwrap_or_default();
    let assignment = super::lab::drop_title(&assignment, &title);
    let (text, commands) = convert(file, &assignment, notes);
    body.push_str(&text);
    if !c.tabs.is_empty() {
        notes.push(Note {
            file: file.to_string(),
            line: None,
            text: format!("{} tab(s) (terminals, editors, websites) are not imported: tplab's student uses their own terminal", c.tabs.len()),
        });
    }
    let mut step = Step {
        id: id.clone(),
        title: title.clone(),
        commands,
        ..Step::default()
    };
    if c.kind.as_deref() == Some("quiz") {
        let answers: Vec<String> = c
            .solution
            .iter()
            .filter_map(|i| c.answers.get(*i).cloned())
            .collect();
        if c.answers.is_empty() || answers.is_empty() {
            return Err(ImportError::Invalid {
                path: src.shown(file),
                message: format!(
                    "quiz `{title}` needs `answers` and a `solution` (indices into them)"
                ),
            });
        }
        step.questions.push(Question {
            id: "quiz".into(),
            prompt: if body.trim().is_empty() {
                title.clone()
            } else {
                body.trim().to_string()
            },
            choices: c.answers.clone(),
            answers,
        });
    } else {
        step.body = body;
    }
    let Some(dir) = dir else {
        return Ok(step);
    };
    for (kind, script) in scripts(src, dir, hosts)? {
        let host = script
            .file
            .rsplit_once('-')
            .map_or("", |(_, h)| h)
            .to_string();
        match kind {
            Kind::Setup => step.setup.push((script, false)),
            Kind::Solve => step.solutions.push(script),
            Kind::Cleanup => step.cleanup.push(script),
            Kind::Check => {
                script_notes(notes, &script);
                let prelude = if script.calls_fail_message() {
                    if script.tool() == "bash" {
                        FAIL_MESSAGE_SHIM.to_string()
                    } else {
                        notes.push(Note {
                            file: script.file.clone(),
                            line: None,
                            text: "calls `fail-message` but is not a bash script: define it, or print `FAIL: …` and exit 1".into(),
                        });
                        String::new()
                    }
                } else {
                    String::new()
                };
                step.checks.push(Check {
                    id: format!("check-{host}"),
                    name: format!("{title} (check-{host})"),
                    script,
                    fail_on_fail_line: true,
                    prelude,
                });
            }
        }
    }
    if !step.checks.is_empty() && step.solutions.is_empty() {
        notes.push(Note {
            file: format!("{dir}/"),
            line: None,
            text: format!(
                "challenge `{title}` has a check but no solve script: `tplab test` cannot prove it"
            ),
        });
    }
    Ok(step)
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Setup,
    Check,
    Solve,
    Cleanup,
}

/// The lifecycle scripts of a folder (`setup-HOST`…), hosts in name order, each on its
/// host's role.
fn scripts(
    src: &SourceDir,
    dir: &str,
    hosts: &HostRoles,
) -> Result<Vec<(Kind, Script)>, ImportError> {
    let Some(real) = src.resolve(dir, dir, 1)? else {
        return Ok(Vec::new());
    };
    if !real.is_dir() {
        return Ok(Vec::new());
    }
    let read_err = |source| ImportError::Read {
        path: src.shown(dir),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(&real)
        .map_err(read_err)?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for order in ["setup-", "solve-", "check-", "cleanup-"] {
        for name in names
            .iter()
            .filter(|n| n.starts_with(order) && n.len() > order.len())
        {
            let kind = match order {
                "setup-" => Kind::Setup,
                "solve-" => Kind::Solve,
                "check-" => Kind::Check,
                _ => Kind::Cleanup,
            };
            let rel = format!("{dir}/{name}");
            let text = src.read_named(&rel, &rel, 1, PLATFORM, "script")?;
            let mut script = Script::new(rel, text);
            if let Some(role) = hosts.get(&name[order.len()..]) {
                script.target.clone_from(role);
            }
            out.push((kind, script));
        }
    }
    Ok(out)
}

/// Assignment Markdown to tplab Markdown: a code block marked `,run` (Instruqt's run
/// button) becomes a `sh {target=local}` block; other marks (`,nocopy`) are dropped.
fn convert(file: &str, md: &str, notes: &mut Vec<Note>) -> (String, usize) {
    static FENCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\s*)(`{3,}|~{3,})([A-Za-z0-9_+-]*)((?:,[a-z]+)+)\s*$").unwrap()
    });
    static MACRO: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\[\[\s*Instruqt-(\w+)[^\]]*\]\]").unwrap());
    let mut out = Vec::new();
    let mut commands = 0;
    for (i, line) in md.lines().enumerate() {
        if let Some(c) = FENCE.captures(line) {
            let run = c[4].split(',').any(|m| m == "run");
            commands += usize::from(run);
            out.push(if run {
                format!("{}{}sh {{target=local}}", &c[1], &c[2])
            } else {
                format!("{}{}{}", &c[1], &c[2], &c[3])
            });
            continue;
        }
        for m in MACRO.captures_iter(line) {
            notes.push(Note {
                file: file.to_string(),
                line: Some(i + 1),
                text: format!("`[[ Instruqt-{} ]]` has no tplab equivalent: kept as text (a variable could become a front-matter `vars:` entry)", &m[1]),
            });
        }
        out.push(line.to_string());
    }
    (demote_and_escape(&out.join("\n")), commands)
}

/// What a human should look at in a check script.
pub fn script_notes(notes: &mut Vec<Note>, script: &Script) {
    for found in script.typed_check_candidates() {
        notes.push(Note {
            file: script.file.clone(),
            line: Some(found.line),
            text: found.text,
        });
    }
    let messages = script.fail_messages();
    if messages.is_empty() {
        notes.push(Note {
            file: script.file.clone(),
            line: None,
            text: "prints no failure message: a failing check shows only the script's output"
                .into(),
        });
    } else if messages.len() > 1 {
        notes.push(Note {
            file: script.file.clone(),
            line: Some(messages[0].line),
            text: format!("{} failure messages in one check: tplab shows them together; split the script into one check per message", messages.len()),
        });
    }
}
