//! A source's script, read as text (never run): its interpreter, the failure messages
//! it prints, the commands a typed check could replace, and the shell text that runs
//! it unchanged from a tplab block.

use std::sync::LazyLock;

use regex::Regex;

/// One script of the source.
#[derive(Debug, Clone)]
pub struct Script {
    /// Path inside the source, for messages (`step1/verify.sh`).
    pub file: String,
    pub text: String,
    /// The role it runs on (`local` unless the source's host is bound to a role).
    pub target: String,
}

/// A sentence found on a line of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub line: usize,
    pub text: String,
}

impl Script {
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            text: text.into(),
            target: "local".into(),
        }
    }

    /// The command the shebang names (`bash`, `python3`, `bash -e`); `sh` without one.
    /// The program is named by its base name so it is looked up on `PATH`, as `env` does.
    pub fn interpreter(&self) -> String {
        let Some(line) = self.text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
            return "sh".into();
        };
        let mut words = line.split_whitespace();
        let Some(program) = words.next() else {
            return "sh".into();
        };
        let mut base = program.rsplit('/').next().unwrap_or(program).to_string();
        let mut rest: Vec<&str> = words.collect();
        if base == "env" {
            rest.retain(|w| *w != "-S");
            if rest.is_empty() {
                return "sh".into();
            }
            base = rest.remove(0).to_string();
        }
        std::iter::once(base.as_str())
            .chain(rest)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The program that must be installed to run it (`requires.tools`).
    pub fn tool(&self) -> String {
        self.interpreter()
            .split_whitespace()
            .next()
            .unwrap_or("sh")
            .to_string()
    }

    /// Shell text that runs the script as its platform did: with its own interpreter,
    /// as one program (not line by line under `set -e`, as a tplab block would), and
    /// without reading its text from standard input (a command in it may read stdin).
    /// `prelude` goes before the script's first command (after the shebang).
    pub fn invocation(&self, prelude: &str) -> String {
        let body = match self.text.split_once('\n') {
            Some((first, rest)) if first.starts_with("#!") => format!("{first}\n{prelude}{rest}"),
            _ => format!("{prelude}{}", self.text),
        };
        let body = body.trim_end_matches('\n');
        let mut delim = "TPLAB_SCRIPT".to_string();
        while body.lines().any(|l| l.trim() == delim) {
            delim.push('_');
        }
        format!(
            "{} -c \"$(cat <<'{delim}'\n{body}\n{delim}\n)\"",
            self.interpreter()
        )
    }

    /// Failure messages the script prints: Instruqt's `fail-message "…"` and `FAIL: …`
    /// lines, Katacoda's `$VERIFICATION_FAILURE_REASON`, and an `echo "…"` right before
    /// an `exit` with a non-zero status.
    pub fn fail_messages(&self) -> Vec<Found> {
        static FAIL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"(?:^|[;&|({]\s*|\bthen\s+|\belse\s+)fail-message\s+(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S.*))"#).unwrap()
        });
        static FAIL_LINE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"\becho\s+(?:-[en]+\s+)?["']FAIL:\s*((?:[^"'\\]|\\.)*)["']"#).unwrap()
        });
        static REASON: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"\becho\s+(?:-[en]+\s+)?["']((?:[^"'\\]|\\.)*)["']\s*>>?\s*"?\$\{?VERIFICATION_FAILURE_REASON"#).unwrap()
        });
        static ECHO: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r#"\becho\s+(?:-[en]+\s+)?["']((?:[^"'\\]|\\.)+)["'](?:\s*>&2|\s*1>&2)?\s*(;|&&)?\s*(exit\s+([1-9]\d*))?"#).unwrap()
        });
        static EXIT: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^\s*exit\s+[1-9]\d*\s*(?:#.*)?$").unwrap());

        let lines: Vec<&str> = self.text.lines().collect();
        let mut found: Vec<Found> = Vec::new();
        let mut push = |line: usize, text: &str| {
            let text = unescape(text.trim());
            if !text.is_empty() && !found.iter().any(|f| f.text == text) {
                found.push(Found { line, text });
            }
        };
        for (i, raw) in lines.iter().enumerate() {
            let line = raw.trim_start();
            if line.starts_with('#') {
                continue;
            }
            if let Some(c) = FAIL_MESSAGE.captures(line) {
                let m = c
                    .get(1)
                    .or(c.get(2))
                    .or(c.get(3))
                    .map_or("", |m| m.as_str());
                push(i + 1, m);
            } else if let Some(c) = FAIL_LINE.captures(line) {
                push(i + 1, &c[1]);
            } else if let Some(c) = REASON.captures(line) {
                push(i + 1, &c[1]);
            } else if let Some(c) = ECHO.captures(line) {
                let exits_here = c.get(3).is_some();
                let exits_next = lines
                    .iter()
                    .skip(i + 1)
                    .find(|l| !l.trim().is_empty())
                    .is_some_and(|l| EXIT.is_match(l));
                if exits_here || exits_next {
                    push(i + 1, &c[1]);
                }
            }
        }
        found
    }

    /// Whether the script calls Instruqt's `fail-message` helper.
    pub fn calls_fail_message(&self) -> bool {
        self.text
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("fail-message"))
    }

    /// Commands a typed check (read from the kernel, not parsed) could replace.
    pub fn typed_check_candidates(&self) -> Vec<Found> {
        static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
            [
                (r"\bip\s+(?:-\S+\s+)*r(?:o|ou|out|oute)?\b", "reads `ip route`: a typed `route` check reads the routing table from the kernel"),
                (r"\bip\s+(?:-\S+\s+)*a(?:d|dd|ddr|ddress)?\b", "reads `ip addr`: a typed `address` check"),
                (r"\bip\s+(?:-\S+\s+)*l(?:i|in|ink)?\b", "reads `ip link`: a typed `link` check"),
                (r"\bip\s+(?:-\S+\s+)*n(?:e|ei|eigh|eighbour|eighbor)?\b", "reads `ip neigh`: a typed `neighbour` check"),
                (r"\b(?:sysctl\b|/proc/sys/net/)", "reads a sysctl: a typed `sysctl` check"),
                (r"\b(?:iptables|ip6tables|nft)\b", "reads firewall rules: a typed `firewall` check"),
                (r"\bconntrack\b", "reads conntrack: a typed `conntrack` check"),
                (r"\bbpftool\b", "reads BPF state: a typed `bpf_attached` or `bpf_map` check"),
                (r"\bkubectl\b", "reads Kubernetes objects: a typed `k8s` check (environment `kube`)"),
                (r"\b(?:ss|netstat)\s+-", "reads listening sockets: kept as a `run` check (tplab has no socket check yet)"),
                (r"\b(?:curl|wget)\b", "makes an HTTP request: kept as a `run` check with its output matched"),
            ]
            .into_iter()
            .map(|(re, why)| (Regex::new(re).unwrap(), why))
            .collect()
        });
        let mut found = Vec::new();
        for (i, line) in self.text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for (re, why) in RULES.iter() {
                if re.is_match(line) && !found.iter().any(|f: &Found| f.text == *why) {
                    found.push(Found {
                        line: i + 1,
                        text: (*why).to_string(),
                    });
                }
            }
        }
        found
    }
}

fn unescape(text: &str) -> String {
    text.replace("\\\"", "\"")
        .replace("\\'", "'")
        .replace("\\\\", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreters_come_from_the_shebang() {
        assert_eq!(Script::new("a", "echo hi").interpreter(), "sh");
        assert_eq!(Script::new("a", "#!/bin/bash\nx").interpreter(), "bash");
        assert_eq!(
            Script::new("a", "#!/usr/bin/env python3\nx").interpreter(),
            "python3"
        );
        assert_eq!(
            Script::new("a", "#!/bin/bash -eu\n").interpreter(),
            "bash -eu"
        );
    }

    #[test]
    fn invocation_keeps_the_text_and_picks_a_free_delimiter() {
        let s = Script::new("a", "#!/bin/bash\ncat <<TPLAB_SCRIPT\nx\nTPLAB_SCRIPT\n");
        let inv = s.invocation("f() { :; }\n");
        assert!(
            inv.starts_with("bash -c \"$(cat <<'TPLAB_SCRIPT_'\n#!/bin/bash\nf() { :; }\ncat"),
            "{inv}"
        );
        assert!(inv.ends_with("\nTPLAB_SCRIPT_\n)\""), "{inv}");
    }

    #[test]
    fn failure_messages_are_found() {
        let s = Script::new(
            "check-host",
            "#!/bin/bash\n# echo \"FAIL: commented\"\n\
             if [ ! -f /tmp/x ]; then\n  fail-message \"Create /tmp/x with \\\"touch\\\"\"\nfi\n\
             grep -q a /tmp/x || { echo 'FAIL: no a in /tmp/x'; exit 1; }\n\
             echo \"too short\" > \"$VERIFICATION_FAILURE_REASON\"\n\
             echo \"wrong mode\" >&2\nexit 1\necho \"all good\"\n",
        );
        let texts: Vec<_> = s
            .fail_messages()
            .into_iter()
            .map(|f| (f.line, f.text))
            .collect();
        assert_eq!(
            texts,
            [
                (4, "Create /tmp/x with \"touch\"".to_string()),
                (6, "no a in /tmp/x".to_string()),
                (7, "too short".to_string()),
                (8, "wrong mode".to_string()),
            ]
        );
    }

    #[test]
    fn typed_candidates() {
        let s = Script::new(
            "v",
            "ip -4 route show | grep -q default\nip r\nss -ltn | grep 80\n",
        );
        let found = s.typed_check_candidates();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].text.contains("`route`") && found[0].line == 1);
        assert!(found[1].text.contains("socket") && found[1].line == 3);
    }
}
