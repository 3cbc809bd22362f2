//! What real labs ported from other platforms needed (issue 18): the author's failure
//! message, exit-status matchers, HTML comments kept from students, `--auto` answers.

use std::path::Path;

use tplab_testkit::Suite;

use std::time::Duration;

use crate::harness::{Failed, Guided, ensure, fail, tempdir, tplab};

const WAIT: Duration = Duration::from_secs(20);

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "lab_gaps::fail_message_is_shown_and_recorded",
            fail_message_is_shown_and_recorded,
        )
        .test(
            "lab_gaps::status_matchers_judge_the_exit_code",
            status_matchers,
        )
        .test(
            "lab_gaps::html_comments_never_reach_students",
            html_comments,
        )
        .test(
            "lab_gaps::auto_answers_a_regex_with_a_value_not_the_pattern",
            auto_regex_answers,
        )
        .test(
            "lab_gaps::lint_suggests_raw_and_reports_a_variable_once",
            lint_templates,
        )
        .test("lab_gaps::count_compares_the_matching_facts", count_facts)
}

const FAIL_LAB: &str = r#"---
id: fail-message
title: Message d'échec
lang: fr
environments: [local]
roles: [local]
---

## Le fichier {#file}

```check
- name: le fichier existe
  run: test -e /nonexistent/tplab-{{ session_id }}
  fail_message: "ÉCHEC : créez le fichier de la session {{ session_id }}"
- name: ceci passe
  run: "true"
  fail_message: jamais affiché
```
"#;

fn write(dir: &Path, name: &str, text: &str) -> Result<std::path::PathBuf, Failed> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| fail(e.to_string()))?;
    Ok(path)
}

fn fail_message_is_shown_and_recorded() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", FAIL_LAB)?;
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;
    let out = tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run();
    // Shown in the terminal, rendered (the session id is not left as a template).
    out.stdout_has("ÉCHEC : créez le fichier de la session")?;
    ensure(
        !out.stdout.contains("{{") && !out.stdout.contains("jamais affiché"),
        format!("unrendered or misplaced message:\n{}", out.stdout),
    )?;
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    let checks = &report["steps"][0]["checks"];
    let message = checks[0]["message"].as_str().unwrap_or_default();
    ensure(
        checks[0]["verdict"] == "fail"
            && message.starts_with("ÉCHEC : créez le fichier de la session ")
            && !message.contains("{{"),
        format!("report.json: {checks:#}"),
    )?;
    ensure(
        checks[1]["verdict"] == "pass" && checks[1]["message"] == "",
        format!("a passing check carries no failure message: {checks:#}"),
    )?;
    for format in ["md", "html"] {
        let path = dir.path().join(format!("r.{format}"));
        tplab([
            "report".as_ref(),
            dir.path().join("report.json").as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
            "-o".as_ref(),
            path.as_os_str(),
        ])
        .run()
        .success()?;
        let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
        ensure(
            text.contains("créez le fichier de la session"),
            format!("the {format} report lacks the failure message:\n{text}"),
        )?;
    }
    Ok(())
}

const STATUS_LAB: &str = r#"---
id: status-matchers
title: Exit status matchers
environments: [local]
roles: [local]
---

## Codes {#codes}

```check
- name: false fails
  run: "false"
  status: "!= 0"
  before: any
- name: grep finds nothing
  run: grep -q nothing-here /dev/null
  status: [1, 2]
  before: any
- name: true is not a failure
  run: "true"
  status: "!= 0"
  before: any
```
"#;

fn status_matchers() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", STATUS_LAB)?;
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;
    tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    let checks = &report["steps"][0]["checks"];
    let verdicts: Vec<&str> = (0..3)
        .map(|i| checks[i]["verdict"].as_str().unwrap_or_default())
        .collect();
    ensure(
        verdicts == ["pass", "pass", "fail"],
        format!("verdicts {verdicts:?}: {checks:#}"),
    )?;
    ensure(
        checks[2]["expected"]
            .as_str()
            .is_some_and(|e| e.contains("!= 0")),
        format!("the expectation names the comparison: {checks:#}"),
    )?;
    // A bad status is a lint error at its line, not a serde type error.
    let bad = write(
        dir.path(),
        "bad.md",
        &STATUS_LAB.replace("status: [1, 2]", "status: \"sometimes\""),
    )?;
    let out = tplab(["lint".as_ref(), bad.as_os_str()]).run();
    ensure(
        out.code != 0
            && (out.stdout.contains("invalid `status`") || out.stderr.contains("invalid `status`")),
        format!("lint of a bad status:\n{}\n{}", out.stdout, out.stderr),
    )?;
    Ok(())
}

const COMMENT_LAB: &str = r#"---
id: comments
title: Comments
environments: [local]
roles: [local]
---

Intro text. <!-- intro-secret -->

## A step {#step}

Visible prose.

<!--
block-secret: the answer is {{ undefined_var }}
-->

More prose <!-- inline-secret --> here, and `<!-- code-kept -->` stays.

<details>
<summary>Hint</summary>

Look closer. <!-- hint-secret -->
</details>

```check
- name: passes
  run: "true"
  before: any
```
"#;

fn html_comments() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", COMMENT_LAB)?;
    // A variable inside a comment is not a template for the student: lint is clean.
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;
    let out = tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run();
    out.success()?;
    let mut seen = vec![("--auto", out.stdout.clone() + &out.stderr)];
    // The guided terminal: the step's prose, then its hint on request.
    let path = lab.to_string_lossy();
    let g = Guided::start(&path, "--env local")?;
    let t = &g.tmux;
    let first = t.wait_for("What do you want to do?", WAIT)?;
    for shown in ["Intro text.", "Visible prose.", "More prose", "code-kept"] {
        ensure(
            first.contains(shown),
            format!("`{shown}` is not shown:\n{first}"),
        )?;
    }
    // Watch, check, hint (no "run it for me": the step has no command).
    t.send(&["Down", "Down", "Enter"])?;
    let hinted = t.wait_for("Look closer.", WAIT)?;
    t.send(&["Up", "Enter"])?;
    seen.push(("the guided terminal", first));
    seen.push(("the hint", hinted));
    for format in ["md", "html"] {
        let path = dir.path().join(format!("r.{format}"));
        tplab([
            "report".as_ref(),
            dir.path().join("report.json").as_os_str(),
            "--format".as_ref(),
            format.as_ref(),
            "-o".as_ref(),
            path.as_os_str(),
        ])
        .run()
        .success()?;
        seen.push((
            format,
            std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?,
        ));
    }
    for (what, text) in seen {
        for secret in [
            "intro-secret",
            "block-secret",
            "inline-secret",
            "hint-secret",
        ] {
            ensure(
                !text.contains(secret),
                format!("{what} shows the comment `{secret}`:\n{text}"),
            )?;
        }
    }
    Ok(())
}

const REGEX_LAB: &str = r#"---
id: regex-auto
title: Regex answers
environments: [local]
roles: [local]
---

## Values {#values}

```check
- run: echo lo
  capture: { IFACE: stdout }
```

```question {id=iface}
prompt: Name the loopback interface.
answer: "l[o0]"
match: regex
```

```question {id=never}
prompt: A value nothing produced.
answer: "zz[0-9]+"
match: regex
```
"#;

fn auto_regex_answers() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", REGEX_LAB)?;
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;
    let out = tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run();
    out.stdout_has("question `never`")?;
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    let questions = &report["steps"][0]["questions"];
    let by_id = |id: &str| {
        questions
            .as_array()
            .and_then(|qs| qs.iter().find(|q| q["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    let (iface, never) = (by_id("iface"), by_id("never"));
    // The captured value, never the pattern itself.
    ensure(
        iface["answers"] == serde_json::json!(["lo"]) && iface["verdict"] == "pass",
        format!("iface: {iface:#}"),
    )?;
    ensure(
        never["answers"] == serde_json::json!([]) && never["verdict"] != "pass",
        format!("never: {never:#}"),
    )?;
    // `tplab test` cannot prove a lab it cannot answer.
    let out = tplab([
        "test".as_ref(),
        lab.as_os_str(),
        "--env".as_ref(),
        "local".as_ref(),
    ])
    .run();
    ensure(
        out.code != 0 && (out.stdout + &out.stderr).contains("question `never`"),
        "tplab test proves a lab whose regex question nothing answers",
    )?;
    Ok(())
}

const TEMPLATE_LAB: &str = r#"---
id: templates
title: Templates
environments: [sandbox]
roles: [node, pod]
---

## S {#s}

```check
- name: "{{ nope }} answers"
  run: curl -s {{ world_url }} {{ nope }}
  stdout: "{{ nope }}"
```

```sh {target=node}
docker inspect -f '{{.State.Running}}' x
```

```sh {target=node}
{% raw %}kubectl get pod -o go-template='{{ .status.podIP }}'{% endraw %}
```
"#;

fn lint_templates() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", TEMPLATE_LAB)?;
    let out = tplab(["lint".as_ref(), lab.as_os_str()]).run();
    let text = out.stdout.clone() + &out.stderr;
    ensure(out.code != 0, format!("lint passes:\n{text}"))?;
    // One undefined variable used three times in one check: one error.
    ensure(
        text.matches("undefined variable `nope`").count() == 1,
        format!("`nope` is not reported exactly once:\n{text}"),
    )?;
    // `world_url` is a sandbox fact; the `{% raw %}` block is fine.
    ensure(
        !text.contains("world_url`"),
        format!("world_url undefined:\n{text}"),
    )?;
    ensure(
        text.matches("template error").count() == 1
            && text.contains("{% raw %}")
            && text.contains(&format!("{}:17:", lab.display())),
        format!("the Go template is not pointed at with a `raw` suggestion:\n{text}"),
    )?;
    Ok(())
}

const COUNT_LAB: &str = r#"---
id: count
title: Counting facts
environments: [local]
roles: [local]
---

## Count {#count}

```check
- name: one loopback
  count:
    link: { name: lo, mtu: ">= 1" }
    is: "== 1"
  capture: { LOOPS: count }
  before: any
- name: no interface named like this
  count: { link: { name: tplab-never-there }, is: 0 }
  before: any
- name: the count is a number
  run: test {{ LOOPS }} -eq 1
  before: any
- name: two loopbacks is wrong
  count: { link: { name: lo }, is: ">= 2" }
  before: any
```
"#;

fn count_facts() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", COUNT_LAB)?;
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;
    tplab([
        "run".as_ref(),
        lab.as_os_str(),
        "--auto".as_ref(),
        "--env".as_ref(),
        "local".as_ref(),
        "--report".as_ref(),
        dir.path().as_os_str(),
    ])
    .run();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    let checks = &report["steps"][0]["checks"];
    let verdicts: Vec<&str> = (0..4)
        .map(|i| checks[i]["verdict"].as_str().unwrap_or_default())
        .collect();
    ensure(
        verdicts == ["pass", "pass", "pass", "fail"] && checks[0]["kind"] == "count",
        format!("verdicts {verdicts:?}: {checks:#}"),
    )?;
    ensure(
        checks[3]["found"]
            .as_str()
            .is_some_and(|f| f.starts_with("1 ")),
        format!("the failure says how many matched: {checks:#}"),
    )?;
    // A count of something that is not a kernel fact, or of two kinds, is a lint error.
    for bad in [
        "count: { links: { name: lo }, is: 1 }",
        "count: { link: {}, route: {}, is: 1 }",
        "count: { link: { name: lo }, is: lots }",
    ] {
        let path = write(
            dir.path(),
            "bad.md",
            &COUNT_LAB.replace("count: { link: { name: tplab-never-there }, is: 0 }", bad),
        )?;
        let out = tplab(["lint".as_ref(), path.as_os_str()]).run();
        ensure(
            out.code != 0 && (out.stdout.clone() + &out.stderr).contains("bad.md:"),
            format!("lint accepts `{bad}`:\n{}{}", out.stdout, out.stderr),
        )?;
    }
    Ok(())
}
