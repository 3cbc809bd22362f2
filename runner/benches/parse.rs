//! Parse + lint a generated 500-step lab; prints timings (no assertion: figures go in
//! the README). Run with `bench/parse/run.sh` or `cargo bench -p tplab --bench parse`.

use std::fmt::Write;
use std::time::{Duration, Instant};

fn generate(steps: usize) -> String {
    let mut s = String::from(
        "---\nid: big\ntitle: Big lab\nenvironments: [local]\nroles: [local]\n---\n\n# Big lab\n",
    );
    for i in 0..steps {
        let _ = write!(
            s,
            "\n## Step number {i} {{#s{i}}}\n\nSome *prose* for step {i} with `code` and a [link](https://example.org).\n\n\
             ```sh {{target=local}}\necho step {i} > /tmp/x-{{{{ session_id }}}}\n```\n\n\
             ```console {{target=local}}\n$ cat /tmp/x-{{{{ session_id }}}}\nstep [..N{i}..]\n```\n\n\
             ```check\n- name: file {i} written\n  run: cat /tmp/x-{{{{ session_id }}}}\n  stdout:\n    contains: \"step {{{{ N{i} }}}}\"\n    lines: \"== 1\"\n  timeout: 2s\n  hint: [\"look\", \"harder\"]\n```\n\n\
             ```question\nprompt: Which step?\nanswer: \"{{{{ N{i} }}}}\"\nmatch: number\n```\n"
        );
    }
    s
}

fn main() {
    let text = generate(500);
    let rounds = 20;
    let mut parse = Vec::new();
    let mut total = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let parsed = tplab::lab::parse("big.md", text.clone());
        let parsed_at = start.elapsed();
        let lab = parsed.lab.expect("parses");
        let diags = tplab::lint::lint(&lab);
        let done = start.elapsed();
        assert!(
            parsed.diagnostics.is_empty() && diags.iter().all(|d| !d.is_error()),
            "generated lab must be clean"
        );
        parse.push(parsed_at);
        total.push(done);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "lab: 500 steps, {} KiB, {} lines",
        text.len() / 1024,
        text.lines().count()
    );
    println!(
        "parse          median {:>8.2} ms",
        median(&mut parse).as_secs_f64() * 1e3
    );
    println!(
        "parse + lint   median {:>8.2} ms   (target < 50 ms)",
        median(&mut total).as_secs_f64() * 1e3
    );
}
