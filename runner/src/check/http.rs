//! `http`: a request made from the role, its answer judged by status, body and headers.
//! A server that does not answer (refused, timed out, not HTTP) *fails* the check with
//! what happened; only the environment's own failures (no way to send from this role, a
//! namespace that cannot be entered) are errors.

use std::time::Duration;

use serde_json::json;
use tplab_vocab::Lang;

use super::outcome::Outcome;
use super::text;
use crate::env::Environment;
use crate::env::http::{HttpAnswer, HttpRequest, HttpResponse, NoAnswer};
use crate::lab::http::{HttpQuery, KIND};

/// At most this much of the body is kept in the evidence (and a `capture`).
const EVIDENCE_BODY: usize = 64 * 1024;

/// Sends `query`'s request from `role`, waiting at most `limit`, and judges the answer.
pub async fn evaluate(
    env: &dyn Environment,
    role: &str,
    query: &HttpQuery,
    limit: Duration,
    lang: Lang,
) -> Outcome {
    let status = query.status();
    let mut expected = vec![match lang {
        Lang::En => format!(
            "{} {} from {role} answers with status {}",
            query.method(),
            query.url,
            status.describe(lang)
        ),
        Lang::Fr => format!(
            "{} {} depuis {role} répond avec le statut {}",
            query.method(),
            query.url,
            status.describe(lang)
        ),
    }];
    let request = HttpRequest {
        method: query.method().to_string(),
        url: query.url.clone(),
        headers: query
            .request_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        body: query.data.clone(),
    };
    let evidence = |record: serde_json::Value| json!({ "role": role, "kind": KIND, "request": &request, "record": record });
    if let Some(why) = env.role_missing(role) {
        return Outcome::fail(expected.join(lang.semicolon()), why.message_in(lang))
            .with_evidence(evidence(serde_json::Value::Null));
    }
    let response = match env.http(role, &request, limit).await {
        Ok(HttpAnswer::Response(r)) => r,
        Ok(HttpAnswer::NoAnswer(why)) => {
            return Outcome::fail(
                expected.join(lang.semicolon()),
                no_answer(&why, &query.url, lang),
            )
            .with_evidence(evidence(json!({ "no_answer": why })));
        }
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    let mut problems = Vec::new();
    if !status.holds(i32::from(response.status)) {
        problems.push(lang.pick(
            format!("the status is {}", response.status),
            format!("le statut est {}", response.status),
        ));
    }
    let mut matchers = Vec::new();
    if let Some(m) = &query.body {
        matchers.push((
            lang.pick("the body", "le corps").to_string(),
            m,
            Some(response.body.clone()),
        ));
    }
    for (name, m) in &query.headers {
        let label = lang.pick(format!("header {name}"), format!("l’en-tête {name}"));
        matchers.push((label, m, header(&response, name)));
    }
    for (label, m, value) in matchers {
        let Some(value) = value else {
            expected.push(lang.pick(format!("{label} is set"), format!("{label} est présent")));
            problems.push(lang.pick(
                format!("the answer has no {label}"),
                format!("la réponse n’a pas {label}"),
            ));
            continue;
        };
        match text::check(&label, m, &value, lang) {
            Ok(r) => {
                expected.extend(r.expected);
                problems.extend(r.problems);
            }
            Err(msg) => return Outcome::error(msg),
        }
    }
    let record = record_of(&query.url, &response);
    let expected = expected.join(lang.semicolon());
    if problems.is_empty() {
        Outcome::pass(expected, summary(&response, lang)).with_evidence(evidence(record))
    } else {
        let found = format!(
            "{} ({})",
            problems.join(lang.semicolon()),
            summary(&response, lang)
        );
        Outcome::fail(expected, found).with_evidence(evidence(record))
    }
}

/// The values of header `name` (any case), joined as one field.
fn header(response: &HttpResponse, name: &str) -> Option<String> {
    let values: Vec<&str> = response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// What a capture can read: `status`, `body` (its first 64 KiB), `url`.
fn record_of(url: &str, response: &HttpResponse) -> serde_json::Value {
    let mut end = response.body.len().min(EVIDENCE_BODY);
    while !response.body.is_char_boundary(end) {
        end -= 1;
    }
    json!({
        "status": response.status,
        "url": url,
        "body": response.body.get(..end).unwrap_or_default(),
        "headers": response.headers,
    })
}

/// `status 200, 1234 bytes: "<first words>"`.
fn summary(response: &HttpResponse, lang: Lang) -> String {
    let size = response.body.len() as u64;
    let bytes = match lang {
        Lang::En if response.truncated => format!("more than {size} bytes"),
        Lang::Fr if response.truncated => format!("plus de {size} octets"),
        Lang::En => format!("{size} bytes"),
        Lang::Fr => lang.count(size, "octet", "octets"),
    };
    let start: String = response
        .body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(80)
        .collect();
    let head = lang.pick(
        format!("status {}, {bytes}", response.status),
        format!("statut {}, {bytes}", response.status),
    );
    if start.is_empty() {
        head
    } else {
        format!("{head}{} {}", lang.colon(), lang.quote(&start))
    }
}

/// The student's server did not answer: what happened, in words.
fn no_answer(why: &NoAnswer, url: &str, lang: Lang) -> String {
    let place = ::http::Uri::try_from(url)
        .ok()
        .and_then(|u| {
            let host = u.host()?.to_string();
            Some(format!("{host}:{}", u.port_u16().unwrap_or(80)))
        })
        .unwrap_or_else(|| url.to_string());
    match why {
        NoAnswer::Refused => lang.pick(
            format!("connection refused: nothing listens on {place}"),
            format!("connexion refusée\u{202f}: rien n’écoute sur {place}"),
        ),
        NoAnswer::TimedOut(d) => {
            let d = humantime::format_duration(Duration::from_millis(
                u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            ));
            lang.pick(
                format!("no answer from {place} within {d}"),
                format!("aucune réponse de {place} en {d}"),
            )
        }
        NoAnswer::Resolve(e) => lang.pick(
            format!("the name in {url} does not resolve here ({e})"),
            format!("le nom de {url} ne se résout pas ici ({e})"),
        ),
        NoAnswer::Failed(e) => lang.pick(
            format!("no HTTP answer from {place}: {e}"),
            format!("pas de réponse HTTP de {place}\u{202f}: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_environment_without_requests_is_an_error_not_a_failure() {
        // `--env kube` (like this test double) has no way to send from a pod yet.
        let env = crate::env::spy::SpyEnv::new("kube").role("pod");
        let query =
            HttpQuery::from_json(serde_json::json!({ "url": "http://192.0.2.10/" })).unwrap();
        let o = evaluate(&env, "pod", &query, Duration::from_secs(1), Lang::En).await;
        assert_eq!(o.verdict, super::super::Verdict::Error, "{o:?}");
        assert!(
            o.message.contains("HTTP requests from a role"),
            "{}",
            o.message
        );
    }

    #[test]
    fn refusals_name_the_place() {
        let en = no_answer(&NoAnswer::Refused, "http://192.0.2.10:8080/x", Lang::En);
        assert_eq!(en, "connection refused: nothing listens on 192.0.2.10:8080");
        let fr = no_answer(
            &NoAnswer::TimedOut(Duration::from_secs(2)),
            "http://192.0.2.10/",
            Lang::Fr,
        );
        assert_eq!(fr, "aucune réponse de 192.0.2.10:80 en 2s");
    }

    #[test]
    fn headers_match_in_any_case() {
        let r = HttpResponse {
            status: 200,
            headers: vec![
                ("set-cookie".into(), "a".into()),
                ("set-cookie".into(), "b".into()),
            ],
            body: String::new(),
            truncated: false,
        };
        assert_eq!(header(&r, "Set-Cookie").as_deref(), Some("a, b"));
        assert_eq!(header(&r, "server"), None);
        assert_eq!(summary(&r, Lang::En), "status 200, 0 bytes");
    }
}
