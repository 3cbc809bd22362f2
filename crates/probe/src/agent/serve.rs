//! The agent's loop: read a request line, answer it with one line, until stdin ends.
//! Whatever a line holds, the answer is a line (errors included); only a broken pipe
//! ends the loop early.

use std::io::{BufRead, Write};

use serde_json::{Map, Value};

use super::locate::{Locator, ScanRoots};
use super::observe::Observations;
use super::{AgentError, Answer, Answers, Ask, ErrorCode, MAX_LINE, MAX_QUERIES, Target};
use crate::facts::FactKind;
use crate::query::Query;
use crate::wire::FACTS_FORMAT;

/// Serves requests from `input` until it ends, one answer line per request line.
pub fn serve(
    input: impl BufRead,
    output: impl Write + Send,
    roots: &ScanRoots,
) -> std::io::Result<()> {
    serve_with(input, output, roots, |_| {})
}

/// Like [`serve`]; `log` is told of each answered request in one line (`--log-batches`:
/// how a test or a bench counts round trips from the agent's side).
///
/// One writer thread owns `output`: answers and the lines of running observations
/// (`observe` queries) reach it through one channel, so lines never interleave and an
/// observation's last events precede the answer that ends it.
pub fn serve_with(
    mut input: impl BufRead,
    mut output: impl Write + Send,
    roots: &ScanRoots,
    mut log: impl FnMut(&str),
) -> std::io::Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for line in rx {
                output.write_all(line.as_bytes())?;
                output.flush()?;
            }
            Ok(())
        });
        let mut locator = Locator::new(roots);
        let mut session = Session {
            locator: &mut locator,
            observations: Some(Observations::new(tx.clone())),
        };
        let served = serve_lines(&mut input, &tx, &mut session, &mut log);
        // Detach every observer (their last lines go out first), then let the writer end.
        drop(session);
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the agent's writer panicked")));
        // A write error (the client left) is what ended the loop: report it first.
        written.and(served)
    })
}

fn serve_lines(
    input: &mut impl BufRead,
    out: &std::sync::mpsc::Sender<String>,
    session: &mut Session<'_, '_>,
    log: &mut impl FnMut(&str),
) -> std::io::Result<()> {
    while let Some(line) = read_line(input, MAX_LINE)? {
        let started = std::time::Instant::now();
        let answer = match line {
            Line::Text(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Line::Text(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => session.answer(text),
                Err(e) => line_error(None, ErrorCode::BadRequest, format!("not UTF-8: {e}")),
            },
            Line::TooLong(len) => line_error(
                None,
                ErrorCode::TooLarge,
                format!("request line of {len} bytes or more: at most {MAX_LINE}"),
            ),
        };
        let mut text = serde_json::to_string(&answer).map_err(std::io::Error::other)?;
        text.push('\n');
        out.send(text).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the agent's output closed")
        })?;
        log(&format!(
            "tplab agent: request {}: {} answers in {:.3} ms{}",
            answer.id.as_deref().unwrap_or("-"),
            answer.answers.len(),
            started.elapsed().as_secs_f64() * 1e3,
            answer
                .error
                .as_ref()
                .map_or(String::new(), |e| format!(" (error: {})", e.message))
        ));
    }
    Ok(())
}

/// What a serving session remembers between lines.
struct Session<'s, 'r> {
    locator: &'s mut Locator<'r>,
    /// `None`: answering lines one by one ([`answer_line`]), with nowhere to stream to.
    observations: Option<Observations>,
}

impl Session<'_, '_> {
    fn answer(&mut self, text: &str) -> Answers {
        answer_session(text, self)
    }
}

enum Line {
    Text(Vec<u8>),
    /// Longer than the limit (skipped to its newline); how much was read.
    TooLong(usize),
}

/// The next line without its newline (`None` at the end of input), never buffering
/// more than `max` bytes of it.
fn read_line(input: &mut impl BufRead, max: usize) -> std::io::Result<Option<Line>> {
    let mut line = Vec::new();
    let mut len = 0usize;
    let mut too_long = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            // End of input: a last line without its newline still counts.
            return Ok(match (len, too_long) {
                (0, _) => None,
                (_, true) => Some(Line::TooLong(len)),
                (_, false) => Some(Line::Text(line)),
            });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        len += chunk.len();
        if !too_long && len > max {
            too_long = true;
            line = Vec::new();
        }
        if !too_long {
            line.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(chunk.len());
        input.consume(used);
        if done.is_some() {
            return Ok(Some(if too_long {
                Line::TooLong(len)
            } else {
                Line::Text(line)
            }));
        }
    }
}

fn line_error(id: Option<String>, code: ErrorCode, message: String) -> Answers {
    Answers {
        format: FACTS_FORMAT.to_string(),
        id,
        answers: Vec::new(),
        error: Some(AgentError::new(code, message)),
    }
}

/// The answer to one request line, outside a streaming session (an `observe` query
/// is an error: its events would have nowhere to go).
pub fn answer_line(text: &str, locator: &mut Locator<'_>) -> Answers {
    let mut session = Session {
        locator,
        observations: None,
    };
    answer_session(text, &mut session)
}

fn answer_session(text: &str, session: &mut Session<'_, '_>) -> Answers {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return line_error(None, ErrorCode::BadRequest, format!("not JSON: {e}")),
    };
    let Value::Object(mut batch) = value else {
        return line_error(
            None,
            ErrorCode::BadRequest,
            "a request is a JSON object".into(),
        );
    };
    let id = batch.get("id").and_then(Value::as_str).map(str::to_string);
    match batch.get("format").and_then(Value::as_str) {
        Some(FACTS_FORMAT) => {}
        Some(other) => {
            return line_error(
                id,
                ErrorCode::Format,
                format!("request in format `{other}`: this agent speaks `{FACTS_FORMAT}`"),
            );
        }
        None => {
            return line_error(
                id,
                ErrorCode::BadRequest,
                format!("a request needs `\"format\": \"{FACTS_FORMAT}\"`"),
            );
        }
    }
    let Some(Value::Array(queries)) = batch.remove("queries") else {
        return line_error(
            id,
            ErrorCode::BadRequest,
            "a request needs a `queries` list".into(),
        );
    };
    if let Some(key) = batch
        .keys()
        .find(|k| !["format", "id", "queries"].contains(&k.as_str()))
    {
        return line_error(
            id,
            ErrorCode::BadRequest,
            format!("unknown request key `{key}`"),
        );
    }
    if queries.len() > MAX_QUERIES {
        return line_error(
            id,
            ErrorCode::TooLarge,
            format!(
                "{} queries in one request: at most {MAX_QUERIES}",
                queries.len()
            ),
        );
    }
    let answers = queries
        .into_iter()
        .enumerate()
        .map(|(i, q)| answer_query(i, q, session))
        .collect();
    Answers {
        format: FACTS_FORMAT.to_string(),
        id,
        answers,
        error: None,
    }
}

fn answer_query(index: usize, query: Value, session: &mut Session<'_, '_>) -> Answer {
    let fallback_id = format!("#{index}");
    let Value::Object(map) = query else {
        return error(
            fallback_id,
            None,
            ErrorCode::BadRequest,
            "a query is a JSON object".into(),
        );
    };
    let id = map
        .get("id")
        .and_then(Value::as_str)
        .map_or(fallback_id, str::to_string);
    let (target, ask) = match parse_query(map) {
        Ok(parsed) => parsed,
        Err(message) => return error(id, None, ErrorCode::BadRequest, message),
    };
    let ask = match ask {
        Ask::CtMaps(maps) => return super::ct::answer(id, &maps),
        Ask::Observe(obs) => {
            return match session.observations.as_mut() {
                Some(o) => o.start(id, obs, session.locator),
                None => error(
                    id,
                    None,
                    ErrorCode::Observe,
                    "observing needs a streaming session (`tplab agent`)".into(),
                ),
            };
        }
        Ask::Unobserve(which) => {
            return match session.observations.as_mut() {
                Some(o) => o.stop(id, &which),
                None => error(
                    id,
                    None,
                    ErrorCode::Observe,
                    format!("no observation `{which}` is running"),
                ),
            };
        }
        other => other,
    };
    let ns = match session.locator.resolve(&target) {
        Ok(ns) => ns,
        Err(e) => return error(id, None, e.code, e.message),
    };
    let shown = ns.as_ref().map_or_else(
        || "/proc/self/ns/net".to_string(),
        |p| p.display().to_string(),
    );
    let facts = match &ask {
        Ask::Query(q) => crate::collect::collect_for_sync(ns.as_deref(), q).map(|f| vec![f]),
        Ask::Kinds(kinds) => crate::collect::collect_many_sync(ns.as_deref(), kinds),
        Ask::CtMaps(_) | Ask::Observe(_) | Ask::Unobserve(_) => unreachable!("answered above"),
    };
    match facts {
        Ok(facts) => Answer {
            id,
            netns: Some(shown),
            facts: Some(facts),
            ct_entries: None,
            observing: None,
            error: None,
        },
        Err(e) => error(id, Some(shown), ErrorCode::Probe, chain(&e)),
    }
}

pub(super) fn error(id: String, netns: Option<String>, code: ErrorCode, message: String) -> Answer {
    Answer {
        id,
        netns,
        facts: None,
        ct_entries: None,
        observing: None,
        error: Some(AgentError::new(code, message)),
    }
}

fn parse_query(mut map: Map<String, Value>) -> Result<(Target, Ask), String> {
    if let Some(key) = map.keys().find(|k| {
        ![
            "id",
            "netns",
            "query",
            "kinds",
            "ct_maps",
            "observe",
            "unobserve",
        ]
        .contains(&k.as_str())
    }) {
        return Err(format!(
            "unknown query key `{key}` (expected id, netns, query, kinds, ct_maps, observe or \
             unobserve)"
        ));
    }
    if let Some(ask) = parse_observation(&mut map)? {
        return Ok((Target::Own, ask));
    }
    if let Some(maps) = map.remove("ct_maps") {
        if map.contains_key("query") || map.contains_key("kinds") {
            return Err("a query has one of `query`, `kinds` or `ct_maps`".into());
        }
        if map.get("netns").is_some_and(|n| !n.is_null()) {
            return Err(
                "`ct_maps` reads the node's bpf filesystem: it takes no `netns` (give `bpf_root`)"
                    .into(),
            );
        }
        let maps = serde_json::from_value::<super::CtMaps>(maps).map_err(|e| {
            format!(
                "ct_maps: {e} (expected {{\"bpf_root\": PATH, \"cilium\": VERSION}}, both optional)"
            )
        })?;
        return Ok((Target::Own, Ask::CtMaps(maps)));
    }
    let target = match map.remove("netns") {
        None | Some(Value::Null) => Target::Own,
        Some(v) => serde_json::from_value::<Target>(v).map_err(|e| {
            format!("netns: {e} (expected \"own\", {{\"path\": ...}}, {{\"pid\": N}} or {{\"pod_ip\": ...}})")
        })?,
    };
    let ask = match (map.remove("query"), map.remove("kinds")) {
        (Some(q), None) => {
            Ask::Query(serde_json::from_value::<Query>(q).map_err(|e| format!("query: {e}"))?)
        }
        (None, Some(Value::Array(kinds))) => Ask::Kinds(
            kinds
                .iter()
                .map(|k| {
                    k.as_str().and_then(FactKind::parse).ok_or_else(|| {
                        format!(
                            "kinds: unknown fact kind {k} (known: {})",
                            FactKind::ALL
                                .iter()
                                .map(|k| k.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(_)) => return Err("kinds: expected a list of fact kinds".into()),
        (Some(_), Some(_)) => return Err("a query has `query` or `kinds`, not both".into()),
        (None, None) => return Err("a query needs `query` (a check's query) or `kinds`".into()),
    };
    Ok((target, ask))
}

/// An `observe` or `unobserve` query (each point names its own namespace).
fn parse_observation(map: &mut Map<String, Value>) -> Result<Option<Ask>, String> {
    let (observe, unobserve) = (map.remove("observe"), map.remove("unobserve"));
    if observe.is_none() && unobserve.is_none() {
        return Ok(None);
    }
    if ["query", "kinds", "ct_maps"]
        .iter()
        .any(|k| map.contains_key(*k))
        || (observe.is_some() && unobserve.is_some())
    {
        return Err(
            "a query has one of `query`, `kinds`, `ct_maps`, `observe` or `unobserve`".into(),
        );
    }
    if map.get("netns").is_some_and(|n| !n.is_null()) {
        return Err("`observe` names a namespace per point: it takes no `netns`".into());
    }
    if let Some(obs) = observe {
        let obs = serde_json::from_value::<super::Observe>(obs).map_err(|e| {
            format!(
                "observe: {e} (expected {{\"id\": ID, \"points\": [{{\"netns\": WHERE, \
                 \"ifname\": NAME, \"label\": LABEL}}]}})"
            )
        })?;
        if obs.points.is_empty() {
            return Err("observe: no points".into());
        }
        return Ok(Some(Ask::Observe(obs)));
    }
    match unobserve {
        Some(Value::String(id)) => Ok(Some(Ask::Unobserve(id))),
        _ => Err("unobserve: expected an observation id".into()),
    }
}

/// An error and its causes on one line.
pub(super) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_text(input: &str) -> Vec<Answers> {
        let mut out = Vec::new();
        serve(input.as_bytes(), &mut out, &ScanRoots::default()).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| Answers::from_json(l).unwrap())
            .collect()
    }

    #[test]
    fn malformed_lines_get_error_answers_and_the_session_goes_on() {
        let long = "x".repeat(MAX_LINE + 10);
        let input = format!(
            "not json\n[1]\n{{\"format\":\"tplab.facts/9\",\"id\":\"v\",\"queries\":[]}}\n\n{long}\n\
             {{\"format\":\"tplab.facts/1\",\"id\":\"ok\",\"queries\":[]}}\n"
        );
        let answers = serve_text(&input);
        let codes: Vec<Option<ErrorCode>> = answers
            .iter()
            .map(|a| a.error.as_ref().map(|e| e.code))
            .collect();
        assert_eq!(
            codes,
            [
                Some(ErrorCode::BadRequest),
                Some(ErrorCode::BadRequest),
                Some(ErrorCode::Format),
                Some(ErrorCode::TooLarge),
                None
            ]
        );
        assert_eq!(answers[2].id.as_deref(), Some("v"));
        assert_eq!(answers[4].id.as_deref(), Some("ok"));
    }

    #[test]
    fn bad_queries_are_answered_one_by_one() {
        let line = r#"{"format":"tplab.facts/1","id":"b","queries":[
            {"id":"k","kinds":["nope"]},
            {"id":"q","query":{"route":{"bogus":1}}},
            {"id":"n","netns":{"path":"/run/netns/tplab-none-such"},"kinds":["links"]},
            {"id":"x","kinds":["links"],"extra":1},
            7
        ]}"#
        .replace('\n', "");
        let roots = ScanRoots::default();
        let a = answer_line(&line, &mut Locator::new(&roots));
        assert!(a.error.is_none());
        let got: Vec<(String, ErrorCode)> = a
            .answers
            .iter()
            .map(|a| (a.id.clone(), a.error.as_ref().unwrap().code))
            .collect();
        assert_eq!(
            got,
            [
                ("k".into(), ErrorCode::BadRequest),
                ("q".into(), ErrorCode::BadRequest),
                ("n".into(), ErrorCode::Netns),
                ("x".into(), ErrorCode::BadRequest),
                ("#4".into(), ErrorCode::BadRequest),
            ]
        );
        assert!(
            a.answers[1]
                .error
                .as_ref()
                .unwrap()
                .message
                .contains("bogus")
        );
    }

    #[test]
    fn a_last_line_without_newline_is_read() {
        let mut input: &[u8] = b"abc";
        assert!(matches!(read_line(&mut input, 10).unwrap(), Some(Line::Text(t)) if t == b"abc"));
        assert!(read_line(&mut input, 10).unwrap().is_none());
    }
}
