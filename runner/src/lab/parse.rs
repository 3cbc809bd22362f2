//! Markdown -> [`Lab`]. Resilient: collects every problem as a [`Diagnostic`] and keeps
//! going, so `tplab lint` reports them all at once.

use std::ops::Range;
use std::sync::Arc;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, MetadataBlockKind, Options, Parser, Tag};
use sha2::{Digest, Sha256};

use super::body::Body;
use super::checks::CheckSpec;
use super::diag::{DiagCode, Diagnostic};
use super::info::{self, Info};
use super::lifecycle::{LifecycleBlock, Phase};
use super::matchers::parse_duration;
use super::model::{
    CheckItem, CommandBlock, ExpectStatus, FrontMatter, Item, ItemKind, Lab, QuestionItem, RunMode,
    Step, TranscriptBlock,
};
use super::question::{AnswerMatch, QuestionSpec};
use super::source::{self, ReadError, Source, char_offset};
use super::transcript;
use super::yaml;
use tplab_vocab::diag::{self, StrictKeys};

/// Languages that make a fenced block a command when it has attributes.
pub const COMMAND_LANGS: &[&str] = &["sh", "bash", "shell"];
/// Block kinds with meaning for tplab.
pub const BLOCK_KINDS: &[&str] = &[
    "sh", "bash", "shell", "console", "check", "question", "hint",
];
const COMMAND_ATTRS: &[&str] = &[
    "target", "solution", "env", "run", "timeout", "status", // lifecycle blocks:
    "setup", "cleanup", "shown",
];
const TRANSCRIPT_ATTRS: &[&str] = &["target", "solution", "env", "run", "timeout", "id"];
const CHECK_ATTRS: &[&str] = &["env"];
const QUESTION_ATTRS: &[&str] = &["env", "id"];
const HINT_ATTRS: &[&str] = &[];

/// Result of parsing: the lab (absent only when the front matter is unusable) and problems.
pub struct Parsed {
    pub lab: Option<Lab>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and parses a lab file (see [`source::read`] for what is refused).
pub fn parse_file(path: &std::path::Path) -> Result<Parsed, ReadError> {
    Ok(parse(path, source::read(path)?))
}

pub fn parse(path: impl Into<std::path::PathBuf>, text: String) -> Parsed {
    // A byte order mark (some Windows editors write one) is not part of the text.
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    let source = Arc::new(Source::new(path, text));
    let mut parser = LabParser {
        source: Arc::clone(&source),
        diagnostics: Vec::new(),
        meta: None,
        meta_span: 0..0,
        intro: Vec::new(),
        steps: Vec::new(),
    };
    parser.run();
    let LabParser {
        diagnostics,
        meta,
        meta_span,
        intro,
        steps,
        ..
    } = parser;
    let lab = meta.map(|meta| Lab {
        source,
        meta,
        meta_span,
        intro,
        steps,
        sha256,
    });
    Parsed { lab, diagnostics }
}

struct LabParser {
    source: Arc<Source>,
    diagnostics: Vec<Diagnostic>,
    meta: Option<FrontMatter>,
    meta_span: Range<usize>,
    intro: Vec<Item>,
    steps: Vec<Step>,
}

impl LabParser {
    fn text(&self) -> &str {
        &self.source.text
    }

    fn error(
        &mut self,
        code: DiagCode,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::error(code, &self.source, span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn items(&mut self) -> &mut Vec<Item> {
        match self.steps.last_mut() {
            Some(step) => &mut step.items,
            None => &mut self.intro,
        }
    }

    fn push_prose(&mut self, range: Range<usize>) {
        let text = self.text()[range.clone()].to_string();
        self.push_prose_text(range, text);
    }

    /// A piece of a list or block quote around a tplab block inside it.
    fn push_prose_fragment(&mut self, range: Range<usize>) {
        let text = &self.text()[range.clone()];
        if text.trim().is_empty() {
            return;
        }
        let text = dedent(text);
        self.push_prose_text(range, text);
    }

    fn push_prose_text(&mut self, range: Range<usize>, text: String) {
        // Authors' comments never reach a student (see `lab/comments.rs`).
        let text = match super::comments::strip(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(stripped) => stripped,
        };
        if text.trim().is_empty() {
            return;
        }
        let items = self.items();
        if let Some(Item {
            span,
            kind: ItemKind::Prose(prose),
        }) = items.last_mut()
        {
            prose.push_str("\n\n");
            prose.push_str(&text);
            span.end = range.end;
            return;
        }
        items.push(Item {
            span: range,
            kind: ItemKind::Prose(text),
        });
    }

    fn run(&mut self) {
        let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH;
        let source = Arc::clone(&self.source);
        let text = source.text.as_str();
        if !text.starts_with("---") {
            self.error(DiagCode::FrontMatterMissing, 0..text.find('\n').unwrap_or(text.len()), "missing front matter").set_label("expected `---` on the first line")
                .add_note("a lab starts with YAML front matter between `---` lines, with at least `id` and `title`");
        }
        let events: Vec<(Event<'_>, Range<usize>)> =
            Parser::new_ext(text, options).into_offset_iter().collect();
        let mut i = 0;
        let mut details: Option<usize> = None;
        while i < events.len() {
            let (event, range) = &events[i];
            let range = range.clone();
            match event {
                Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)) => {
                    let body = match events.get(i + 1) {
                        Some((Event::Text(_), r)) => r.clone(),
                        _ => range.start..range.start,
                    };
                    let end = skip_to_end(&events, i);
                    let body = body.start..self.body_end(body.start, range.end);
                    self.front_matter(body);
                    i = end;
                }
                Event::Start(Tag::HtmlBlock) => {
                    let end = skip_to_end(&events, i);
                    let html: String = events[i..end]
                        .iter()
                        .filter_map(|(e, _)| match e {
                            Event::Html(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    self.html(&mut details, range, &html);
                    i = end;
                }
                Event::Html(html) | Event::InlineHtml(html) => {
                    let html = html.to_string();
                    self.html(&mut details, range, &html);
                    i += 1;
                }
                // Everything between <details> and </details> belongs to the hint.
                Event::Start(_) if details.is_some() => i = skip_to_end(&events, i),
                Event::Start(Tag::Heading { level, id, .. }) if *level <= HeadingLevel::H2 => {
                    let end = skip_to_end(&events, i);
                    let title: String = events[i..end]
                        .iter()
                        .filter_map(|(e, _)| match e {
                            Event::Text(t) | Event::Code(t) => Some(t.as_ref()),
                            _ => None,
                        })
                        .collect();
                    if *level == HeadingLevel::H2 {
                        let id = id
                            .as_ref()
                            .map_or_else(|| slug(&title), ToString::to_string);
                        self.steps.push(Step {
                            id,
                            title: title.trim().to_string(),
                            span: source.line_range(range.start),
                            items: Vec::new(),
                        });
                    } else {
                        self.push_prose(range);
                    }
                    i = end;
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let end = skip_to_end(&events, i);
                    self.fenced(&events[i..end], kind, range);
                    i = end;
                }
                Event::Start(Tag::List(_) | Tag::BlockQuote(_)) => {
                    let end = skip_to_end(&events, i);
                    self.container(&events[i..end], range);
                    i = end;
                }
                Event::Start(_) => {
                    let end = skip_to_end(&events, i);
                    self.push_prose(range);
                    i = end;
                }
                _ => i += 1,
            }
        }
        if let Some(start) = details {
            self.error(
                DiagCode::UnclosedDetails,
                source.line_range(start),
                "`<details>` hint is never closed",
            )
            .set_label("opened here")
            .add_note("expected a matching `</details>`");
        }
        if self.meta.is_none()
            && text.starts_with("---")
            && !self.diagnostics.iter().any(|d| d.code.is_front_matter())
        {
            self.error(
                DiagCode::FrontMatterMissing,
                0..3,
                "front matter is not closed",
            )
            .set_label("opened here")
            .add_note("expected a closing `---` line after the YAML");
        }
    }

    /// A code block (its events, start to end) at `range`.
    fn fenced(
        &mut self,
        events: &[(Event<'_>, Range<usize>)],
        kind: &CodeBlockKind<'_>,
        range: Range<usize>,
    ) {
        let source = Arc::clone(&self.source);
        let text = source.text.as_str();
        let mut body = Body::new(next_line(text, range.start));
        for (event, r) in events {
            if let Event::Text(t) = event {
                body.push(t, r.clone());
            }
        }
        let info_str = match kind {
            CodeBlockKind::Fenced(info) => info.to_string(),
            CodeBlockKind::Indented => String::new(),
        };
        let info_start = text[range.start..]
            .find(|c: char| c != '`' && c != '~' && c != ' ')
            .map_or(range.start, |o| range.start + o);
        if matches!(kind, CodeBlockKind::Fenced(_)) && !fence_closed(text, &range) {
            let fence = source.line_range(range.start);
            self.error(
                DiagCode::UnclosedFence,
                fence,
                "this code block is never closed",
            )
            .set_label("opened here")
            .add_note("everything after it would be part of the block: add a closing fence line (the same ``` or ~~~ as the opening one)");
            return;
        }
        self.code_block(range, &info_str, info_start, &body);
    }

    /// A list or block quote. It stays prose, except for the tplab blocks inside it:
    /// they count where they are (GitHub renders them there), never silently dropped.
    fn container(&mut self, events: &[(Event<'_>, Range<usize>)], range: Range<usize>) {
        let mut cursor = range.start;
        let mut j = 0;
        while j < events.len() {
            let (event, r) = &events[j];
            let Event::Start(Tag::CodeBlock(kind)) = event else {
                j += 1;
                continue;
            };
            let end = j + skip_to_end(&events[j..], 0);
            let info = match kind {
                CodeBlockKind::Fenced(info) => info.as_ref(),
                CodeBlockKind::Indented => "",
            };
            if is_tplab_block(info) {
                self.push_prose_fragment(cursor..r.start);
                self.fenced(&events[j..end], kind, r.clone());
                cursor = r.end;
            }
            j = end;
        }
        self.push_prose_fragment(cursor..range.end);
    }

    fn html(&mut self, details: &mut Option<usize>, range: Range<usize>, html: &str) {
        if details.is_none() && html.contains("<details") {
            *details = Some(range.start);
        }
        match *details {
            Some(start) if html.contains("</details>") => {
                let hint = strip_details(&super::comments::strip(&self.text()[start..range.end]));
                self.items().push(Item {
                    span: start..range.end,
                    kind: ItemKind::Hint(hint),
                });
                *details = None;
            }
            Some(_) => {}
            None => self.push_prose(range),
        }
    }

    /// End of a metadata body: the start of the closing `---` line.
    fn body_end(&self, start: usize, block_end: usize) -> usize {
        let region = &self.text()[start..block_end];
        region.rfind("\n---").map_or(block_end, |i| start + i + 1)
    }

    fn front_matter(&mut self, body: Range<usize>) {
        self.meta_span = body.clone();
        let yaml = self.text()[body.clone()].to_string();
        // Keys are checked against the schema's own fields as they are read: an unknown
        // or repeated key is reported at itself, with its code.
        let keys = StrictKeys::of::<FrontMatter>(
            DiagCode::FrontMatterUnknownKey,
            DiagCode::FrontMatterInvalid,
        );
        let (result, raised) = diag::capture(|| {
            keys.deserialize::<FrontMatter, _>(serde_yaml::Deserializer::from_str(&yaml))
        });
        let e = match result {
            Ok(meta) => {
                self.meta = Some(meta);
                return;
            }
            Err(e) => e,
        };
        let missing = keys.missing(FrontMatter::REQUIRED);
        let (code, msg) = match raised {
            Some(code) => (code, yaml::clean_error(&e)),
            None if !missing.is_empty() => {
                (DiagCode::FrontMatterMissingKey, missing_keys(&missing))
            }
            None => (DiagCode::FrontMatterInvalid, yaml::clean_error(&e)),
        };
        let span = yaml::error_span_of(&e, &yaml);
        let span = body.start + span.start..body.start + span.end;
        let diag = self.error(code, span, format!("invalid front matter: {msg}"));
        // An unknown key's message already lists the keys.
        if code != DiagCode::FrontMatterUnknownKey {
            diag.notes.push(format!(
                "front matter keys: {} (required: {})",
                keys.fields().join(", "),
                FrontMatter::REQUIRED.join(", ")
            ));
        }
    }

    fn code_block(&mut self, span: Range<usize>, info_str: &str, info_start: usize, body: &Body) {
        // Attribute offsets are into `info_str`; they are file offsets only when the
        // file's info string is that text verbatim (no Markdown escapes or entities).
        let raw_info = self.text()[info_start..]
            .split('\n')
            .next()
            .unwrap_or("")
            .trim_end();
        let exact = raw_info == info_str;
        let raw_len = raw_info.len();
        let at = move |r: Range<usize>| {
            if exact {
                info_start + r.start..info_start + r.end
            } else {
                info_start..info_start + raw_len
            }
        };
        let info = match info::parse(info_str) {
            Ok(info) => info,
            Err(e) => {
                let s = at(e.span.start..e.span.end.max(e.span.start + 1));
                self.error(DiagCode::BadAttributes, s, e.message);
                return;
            }
        };
        let lang = info.lang.as_str();
        if !is_active(&info) {
            if info.has_attrs {
                let s = at(0..lang.len().max(1));
                let diag = self.error(
                    DiagCode::UnknownBlockKind,
                    s,
                    format!("unknown block kind `{lang}`"),
                );
                diag.label = "attributes are only meaningful on tplab blocks".into();
                diag.notes
                    .push(format!("expected one of: {}", BLOCK_KINDS.join(", ")));
                return;
            }
            if let Some(suggestion) = near_miss(lang) {
                let s = at(0..lang.len());
                let diag = self.error(
                    DiagCode::UnknownBlockKind,
                    s,
                    format!("unknown block kind `{lang}`"),
                );
                diag.label = format!("did you mean `{suggestion}`?");
                diag.notes
                    .push(format!("expected one of: {}", BLOCK_KINDS.join(", ")));
                return;
            }
            self.items().push(Item {
                span,
                kind: ItemKind::Code {
                    lang: lang.to_string(),
                    text: body.text.clone(),
                },
            });
            return;
        }
        let allowed = match lang {
            "check" => CHECK_ATTRS,
            "question" => QUESTION_ATTRS,
            "hint" => HINT_ATTRS,
            "console" => TRANSCRIPT_ATTRS,
            _ => COMMAND_ATTRS,
        };
        for attr in &info.attrs {
            if !allowed.contains(&attr.key.as_str()) {
                let s = at(attr.span.clone());
                let diag = self.error(
                    DiagCode::UnknownAttribute,
                    s,
                    format!("unknown attribute `{}` on a `{lang}` block", attr.key),
                );
                diag.notes.push(if allowed.is_empty() {
                    format!("`{lang}` blocks take no attributes")
                } else {
                    format!("expected one of: {}", allowed.join(", "))
                });
            }
        }
        // Lifecycle blocks before the first step are the lab's own.
        let lifecycle =
            COMMAND_LANGS.contains(&lang) && (info.flag("setup") || info.flag("cleanup"));
        if self.steps.is_empty() && lang != "hint" && !lifecycle {
            let s = self.source.line_range(span.start);
            self.error(
                DiagCode::OutsideStep,
                s,
                format!("`{lang}` block outside any step"),
            )
            .add_note("put it under a `## Step title` heading");
            return;
        }
        let attr_span = |key: &str| info.get(key).map(|a| at(a.span.clone()));
        let env: Vec<String> = info
            .value("env")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let timeout = match info.value("timeout").map(parse_duration) {
            Some(Err(msg)) => {
                self.error(
                    DiagCode::BadDuration,
                    attr_span("timeout").unwrap_or(span.clone()),
                    msg,
                );
                None
            }
            Some(Ok(d)) => Some(d),
            None => None,
        };
        let run = match info.value("run") {
            None | Some("auto") => RunMode::Auto,
            Some("never") => RunMode::Never,
            Some(other) => {
                self.error(
                    DiagCode::BadAttributeValue,
                    attr_span("run").unwrap_or(span.clone()),
                    format!("invalid `run={other}`"),
                )
                .add_note("expected `run=auto` (default) or `run=never`");
                RunMode::Auto
            }
        };
        let target = info.value("target").unwrap_or_default().to_string();
        let body_start = body.start();
        let kind = match lang {
            "check" => ItemKind::Checks(self.check_items(body, &env)),
            "question" => match self.question(body) {
                Some(mut q) => {
                    // Attributes complete the YAML body (`{id=gw-mac env=sandbox}`).
                    if q.spec.id.is_none() {
                        q.spec.id = info.value("id").map(str::to_string);
                    }
                    q.spec.env.0.extend(env.iter().cloned());
                    ItemKind::Question(Box::new(q))
                }
                None => return,
            },
            "hint" => ItemKind::Hint(super::comments::strip(body.text.trim_end()).into_owned()),
            "console" => match transcript::parse(&body.text) {
                Ok(commands) => {
                    if commands.is_empty() {
                        let s = self.source.line_range(span.start);
                        self.error(DiagCode::EmptyTranscript, s, "`console` block has no `$ command` line")
                            .add_note("a transcript starts each command with `$ `, followed by its expected output");
                        return;
                    }
                    ItemKind::Transcript(TranscriptBlock {
                        id: info.value("id").map(str::to_string),
                        target,
                        commands,
                        solution: info.flag("solution"),
                        run,
                        env,
                        timeout,
                        body_start,
                    })
                }
                Err(e) => {
                    let line_start: usize = body
                        .text
                        .split_inclusive('\n')
                        .take(e.line_in_body)
                        .map(str::len)
                        .sum();
                    let line = body.text[line_start..].split('\n').next().unwrap_or("");
                    let offset = body.offset(line_start + char_offset(line, e.col));
                    let end = self.source.line_range(offset).end;
                    self.error(DiagCode::BadTranscript, offset..end, e.message);
                    return;
                }
            },
            _ => {
                let status = match info.value("status") {
                    None => ExpectStatus::Code(0),
                    Some("any") => ExpectStatus::Any,
                    Some(v) => {
                        if let Ok(code) = v.parse() {
                            ExpectStatus::Code(code)
                        } else {
                            self.error(
                                DiagCode::BadAttributeValue,
                                attr_span("status").unwrap_or(span.clone()),
                                format!("invalid `status={v}`"),
                            )
                            .add_note("expected an exit status number or `any`");
                            ExpectStatus::Code(0)
                        }
                    }
                };
                if body.text.trim().is_empty() {
                    let s = self.source.line_range(span.start);
                    self.error(DiagCode::EmptyCommand, s, "command block is empty");
                    return;
                }
                let solution_hidden = match info.value("solution") {
                    None => false,
                    Some("hidden") => true,
                    Some(v) => {
                        self.error(
                            DiagCode::BadAttributeValue,
                            attr_span("solution").unwrap_or(span.clone()),
                            format!("invalid `solution={v}`"),
                        )
                        .add_note("write `solution` alone, or `solution=hidden` for a helper the student does not type");
                        false
                    }
                };
                let block = CommandBlock {
                    target,
                    script: body.text.clone(),
                    solution: info.flag("solution"),
                    solution_hidden,
                    run,
                    env,
                    timeout,
                    status,
                    body_start,
                };
                match self.lifecycle_block(&info, block, &attr_span, &span) {
                    Some(kind) => kind,
                    None => return,
                }
            }
        };
        let _: &Info = &info;
        self.items().push(Item { span, kind });
    }

    /// A command block, or a lifecycle block when it says `setup` or `cleanup` (`None`:
    /// its attributes contradict each other, reported).
    fn lifecycle_block(
        &mut self,
        info: &Info,
        block: CommandBlock,
        attr_span: &dyn Fn(&str) -> Option<Range<usize>>,
        span: &Range<usize>,
    ) -> Option<ItemKind> {
        let phase = match (info.flag("setup"), info.flag("cleanup")) {
            (false, false) => {
                if info.flag("shown") {
                    self.error(
                        DiagCode::BadAttributeValue,
                        attr_span("shown").unwrap_or(span.clone()),
                        "`shown` is only meaningful on a `setup` or `cleanup` block",
                    )
                    .add_note("commands of a step are always shown");
                    return None;
                }
                return Some(ItemKind::Command(block));
            }
            (true, true) => {
                self.error(
                    DiagCode::BadAttributeValue,
                    attr_span("cleanup").unwrap_or(span.clone()),
                    "a block is either `setup` or `cleanup`, not both",
                );
                return None;
            }
            (true, false) => Phase::Setup,
            (false, true) => Phase::Cleanup,
        };
        if let Some(key) = ["solution", "run"].into_iter().find(|k| info.flag(k)) {
            self.error(
                DiagCode::BadAttributeValue,
                attr_span(key).unwrap_or(span.clone()),
                format!("`{key}` cannot be used on a `{}` block", phase.name()),
            )
            .add_note("tplab always runs setup and cleanup blocks itself; they are not the student's solution");
            return None;
        }
        Some(ItemKind::Lifecycle(LifecycleBlock {
            phase,
            shown: info.flag("shown"),
            block,
        }))
    }

    fn question(&mut self, body: &Body) -> Option<QuestionItem> {
        let text = body.text.as_str();
        let keys = StrictKeys::of::<QuestionSpec>(DiagCode::UnknownKey, DiagCode::BadQuestion);
        let (result, raised) = diag::capture(|| {
            keys.deserialize::<QuestionSpec, _>(serde_yaml::Deserializer::from_str(text))
        });
        match result {
            Ok(spec) => {
                if let Some(problem) = spec.choice_problem() {
                    let key = if problem.contains("`accept`") {
                        "accept"
                    } else {
                        "answer"
                    };
                    let s = yaml::find_key(text, key).unwrap_or(0..0);
                    self.error(
                        DiagCode::BadQuestion,
                        body.span(&s),
                        format!("invalid question: {problem}"),
                    );
                    return None;
                }
                if spec.mode == AnswerMatch::Regex
                    && let Err(e) = regex::Regex::new(&crate::template::neutralize(spec.answer()))
                {
                    let s = yaml::find_key(text, "answer").unwrap_or(0..0);
                    self.error(
                        DiagCode::BadRegex,
                        body.span(&s),
                        format!("invalid question: `answer` is not a valid regex (`match: regex`): {e}"),
                    )
                    .add_note("with `match: regex` the answer is a regular expression the student's answer must match fully");
                    return None;
                }
                Some(QuestionItem {
                    spec,
                    body_start: body.start(),
                })
            }
            Err(e) => {
                let span = body.span(&yaml::error_span_of(&e, text));
                let missing = keys.missing(QuestionSpec::REQUIRED);
                let msg = if raised.is_none() && !missing.is_empty() {
                    missing_keys(&missing)
                } else {
                    yaml::clean_error(&e)
                };
                let code = raised.unwrap_or(DiagCode::BadQuestion);
                let diag = self.error(code, span, format!("invalid question: {msg}"));
                if code != DiagCode::UnknownKey {
                    diag.add_note(format!(
                        "question keys: {} (required: {})",
                        keys.fields().join(", "),
                        QuestionSpec::REQUIRED.join(", ")
                    ));
                }
                None
            }
        }
    }

    fn check_items(&mut self, body: &Body, block_env: &[String]) -> Vec<CheckItem> {
        let text = body.text.as_str();
        let values: Vec<serde_yaml::Value> = match serde_yaml::from_str::<serde_yaml::Value>(text) {
            Ok(serde_yaml::Value::Sequence(seq)) => seq,
            Ok(serde_yaml::Value::Null) => {
                let s = self.source.line_range(body.start().saturating_sub(1));
                self.error(DiagCode::EmptyCheck, s, "`check` block is empty")
                    .add_note(
                        "expected a YAML list of checks, e.g. `- run: ping -c1 {{ world_ip }}`",
                    );
                return Vec::new();
            }
            Ok(_) => {
                let s = body.start()..self.source.line_range(body.start()).end;
                self.error(
                    DiagCode::CheckNotAList,
                    s,
                    "a `check` block must be a YAML list",
                )
                .add_note(
                    "expected items starting with `- `, e.g. `- run: ping -c1 {{ world_ip }}`",
                );
                return Vec::new();
            }
            Err(e) => {
                let span = body.span(&yaml::error_span_of(&e, text));
                let diag = self.error(
                    DiagCode::YamlSyntax,
                    span,
                    format!("invalid YAML in check block: {}", yaml::clean_error(&e)),
                );
                if text.contains("{{") {
                    diag.notes.push(
                        "a value starting with `{{` must be quoted: `gateway: \"{{ gw }}\"`".into(),
                    );
                }
                return Vec::new();
            }
        };
        let starts = item_starts(text);
        if starts.len() != values.len() {
            // Flow-style or unusual layout: validate the whole list at once.
            let (result, raised) = diag::capture(|| serde_yaml::from_str::<Vec<CheckSpec>>(text));
            return match result {
                Ok(specs) => specs
                    .into_iter()
                    .zip(values)
                    .map(|(spec, raw)| CheckItem {
                        span: self.source.clamp(body.span(&(0..text.len()))),
                        raw,
                        spec,
                        block_env: block_env.to_vec(),
                    })
                    .collect(),
                Err(e) => {
                    let span = body.span(&yaml::error_span_of(&e, text));
                    self.check_error(&e, raised, span);
                    Vec::new()
                }
            };
        }
        let mut items = Vec::new();
        for (n, raw) in values.into_iter().enumerate() {
            let start = starts[n];
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            // Replace the leading "- " by spaces so columns stay true.
            let mut item_text = text[start..end].to_string();
            if let Some(dash) = item_text.find('-') {
                item_text.replace_range(dash..=dash, " ");
            }
            let (result, raised) = diag::capture(|| serde_yaml::from_str::<CheckSpec>(&item_text));
            match result {
                Ok(spec) => items.push(CheckItem {
                    span: self.source.clamp(body.span(&(start..end))),
                    raw,
                    spec,
                    block_env: block_env.to_vec(),
                }),
                Err(e) => {
                    let s = yaml::error_span_of(&e, &item_text);
                    self.check_error(&e, raised, body.span(&(start + s.start..start + s.end)));
                }
            }
        }
        items
    }

    /// A check that failed to deserialize, with the code its deserializer raised.
    fn check_error(&mut self, e: &serde_yaml::Error, raised: Option<DiagCode>, span: Range<usize>) {
        let msg = yaml::clean_error(e);
        let code = raised.unwrap_or(DiagCode::BadCheck);
        self.error(code, span, format!("invalid check: {msg}"));
    }
}

/// "missing required key `a`", "missing required keys `a` and `b`".
fn missing_keys(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => format!("missing required key {last}"),
        Some((last, rest)) => format!("missing required keys {} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Whether a block means something to tplab (or is a mistake about it), as opposed
/// to plain code shown to the student.
fn is_tplab_block(info: &str) -> bool {
    match info::parse(info) {
        Err(_) => true,
        Ok(info) => is_active(&info) || info.has_attrs || near_miss(&info.lang).is_some(),
    }
}

fn is_active(info: &Info) -> bool {
    let lang = info.lang.as_str();
    matches!(lang, "check" | "question" | "hint")
        || (info.has_attrs && (COMMAND_LANGS.contains(&lang) || lang == "console"))
}

/// Whether a fenced block has its closing fence: pulldown-cmark silently ends an
/// unclosed one at the end of the file (or of its list item).
fn fence_closed(text: &str, range: &Range<usize>) -> bool {
    let block = text[range.clone()].trim_start();
    let Some(fence_char) = block.chars().next() else {
        return false;
    };
    let fence_len = block.chars().take_while(|c| *c == fence_char).count();
    let block = block.trim_end_matches(['\n', '\r']);
    let Some(newline) = block.rfind('\n') else {
        return false;
    };
    let last = block[newline + 1..].trim_start_matches([' ', '\t', '>']);
    let run = last.chars().take_while(|c| *c == fence_char).count();
    // The fence character is ASCII: `run` characters are `run` bytes.
    run >= fence_len && last[run..].trim().is_empty()
}

/// Drops blank lines at both ends and the indentation common to the others (the text
/// of a list item around a block).
fn dedent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let blank = |l: &&str| l.trim().is_empty();
    let first = lines.iter().position(|l| !blank(l)).unwrap_or(lines.len());
    let last = lines
        .iter()
        .rposition(|l| !blank(l))
        .map_or(first, |i| i + 1);
    let lines = &lines[first..last];
    let indent = lines
        .iter()
        .filter(|l| !blank(l))
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start_matches(' ')))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Byte offsets (within `body`) of each top-level `- ` sequence item.
fn item_starts(body: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    let indent = body
        .lines()
        .find(|l| l.trim_start().starts_with('-'))
        .map_or(0, |l| l.len() - l.trim_start().len());
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let this_indent = line.len() - trimmed.len();
        if this_indent == indent && (trimmed.starts_with("- ") || trimmed.trim_end() == "-") {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts
}

fn skip_to_end(events: &[(Event<'_>, Range<usize>)], start: usize) -> usize {
    let mut depth = 0usize;
    for (i, (event, _)) in events.iter().enumerate().skip(start) {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    events.len()
}

fn next_line(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

fn strip_details(html: &str) -> String {
    let mut text = html.to_string();
    for tag in ["<details>", "</details>"] {
        text = text.replace(tag, "");
    }
    if let (Some(a), Some(b)) = (text.find("<summary"), text.find("</summary>"))
        && a < b
    {
        text.replace_range(a..b + "</summary>".len(), "");
    }
    text.trim().to_string()
}

/// A step id from a title: lowercase ASCII, words joined by `-`.
pub fn slug(title: &str) -> String {
    let ascii = deunicode::deunicode(title).to_lowercase();
    let mut out = String::new();
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(word);
    }
    if out.is_empty() { "step".into() } else { out }
}

fn near_miss(lang: &str) -> Option<&'static str> {
    if lang.len() < 3 {
        return None;
    }
    ["check", "question", "hint", "console"]
        .into_iter()
        .find(|k| {
            *k != lang
                && strsim::levenshtein(k, lang) <= 2
                && !["bash", "shell", "text", "json", "yaml", "html"].contains(&lang)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Vu du Pod : la table de routage"),
            "vu-du-pod-la-table-de-routage"
        );
        assert_eq!(slug("Étape 1"), "etape-1");
    }

    const HEAD: &str = "---\nid: t\ntitle: T\n---\n\n## S\n\n";

    fn kinds(text: &str) -> Vec<&'static str> {
        let parsed = parse("t.md", format!("{HEAD}{text}"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let lab = parsed.lab.expect("a lab");
        lab.steps[0]
            .items
            .iter()
            .map(|i| match &i.kind {
                ItemKind::Prose(_) => "prose",
                ItemKind::Code { .. } => "code",
                ItemKind::Command(_) => "command",
                ItemKind::Transcript(_) => "transcript",
                ItemKind::Checks(_) => "checks",
                ItemKind::Question(_) => "question",
                ItemKind::Hint(_) => "hint",
                ItemKind::Lifecycle(_) => "lifecycle",
            })
            .collect()
    }

    #[test]
    fn blocks_in_lists_and_quotes_are_items_not_prose() {
        let text = "1. Run:\n\n   ```sh {solution}\n   ip route\n   ```\n\n   then:\n\n   ```check\n   - run: ip route\n   ```\n2. Done.\n\n> ```hint\n> Look at `ip route`.\n> ```\n";
        assert_eq!(
            kinds(text),
            ["prose", "command", "prose", "checks", "prose", "hint"]
        );
        let lab = parse("t.md", format!("{HEAD}{text}")).lab.unwrap();
        let items = &lab.steps[0].items;
        // The solution is not left in the prose around it.
        let ItemKind::Prose(p) = &items[2].kind else {
            panic!()
        };
        assert_eq!(p, "then:");
        let ItemKind::Command(c) = &items[1].kind else {
            panic!()
        };
        assert_eq!(c.script, "ip route\n");
        assert_eq!(lab.line_of(c.body_start), 11);
    }

    #[test]
    fn plain_code_in_a_list_stays_prose() {
        assert_eq!(kinds("- see:\n\n  ```text\n  x\n  ```\n"), ["prose"]);
    }

    #[test]
    fn fences_closed_or_not() {
        let closed = |t: &str| fence_closed(t, &(0..t.len()));
        assert!(closed("```sh\nx\n```\n"));
        assert!(closed("````\n```\n````"));
        assert!(closed("```check\n> - run: x\n> ```"));
        assert!(!closed("```sh\nx\n"));
        assert!(!closed("````\nx\n```\n"));
        assert!(!closed("```"));
        assert!(!closed("```\n```sh\n"));
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let parsed = parse("t.md", format!("\u{feff}{HEAD}"));
        assert!(parsed.lab.is_some());
        assert!(parsed.diagnostics.is_empty());
    }

    #[test]
    fn missing_keys_are_found_by_presence() {
        let parsed = parse("t.md", "---\nlang: en\n---\n\n## S\n".into());
        let d = &parsed.diagnostics[0];
        assert_eq!(d.code, DiagCode::FrontMatterMissingKey);
        assert!(
            d.message
                .ends_with("missing required keys `id` and `title`"),
            "{}",
            d.message
        );
        // A wrong value before the end of the map is that error, not a missing key.
        let parsed = parse("t.md", "---\nroles: x\n---\n\n## S\n".into());
        assert_eq!(parsed.diagnostics[0].code, DiagCode::FrontMatterInvalid);
    }

    #[test]
    fn item_starts_split_top_level_items() {
        let body = "- run: a\n  status: 0\n- route:\n    dst: default\n";
        assert_eq!(item_starts(body), vec![0, 21]);
    }
}
