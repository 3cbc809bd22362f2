//! `count`: cardinality over kernel facts ("at least two veths on docker0"): the records
//! of one probe query in the role's namespace, counted and compared.

use serde_json::json;
use tplab_probe::Query;
use tplab_vocab::{Cmp, Lang};

use super::outcome::Outcome;
use crate::env::Environment;

/// How many records of `query` match on `role`, judged by `is`. A pass records the
/// count (`capture: { N: count }`); a failure lists the matching records, up to 20.
pub async fn evaluate(
    env: &dyn Environment,
    role: &str,
    query: &Query,
    is: Cmp,
    lang: Lang,
) -> Outcome {
    let kind = query.kind_name();
    let what = query.describe_in(lang);
    let expected = lang.pick(
        format!("a count {is} of: {what} (on {role})"),
        format!("un nombre {is} de\u{202f}: {what} (sur {role})"),
    );
    if let Some(why) = env.role_missing(role) {
        return Outcome::fail(expected, why.message_in(lang));
    }
    let facts = match env.probe(role, query).await {
        Ok(facts) => facts,
        Err(e) => return Outcome::error(e.message_in(lang)),
    };
    let records = tplab_probe::matching(query, &facts);
    let n = records.len() as u64;
    let found = match lang {
        Lang::En => format!("{n} found"),
        Lang::Fr => lang.count(n, "trouvé", "trouvés"),
    };
    let evidence = json!({
        "role": role, "kind": kind, "record": { "count": n },
        "matched": records.iter().take(20).collect::<Vec<_>>(),
    });
    if is.holds_count(n) {
        Outcome::pass(expected, found).with_evidence(evidence)
    } else {
        Outcome::fail(expected, found).with_evidence(evidence)
    }
}
