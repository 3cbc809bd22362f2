//! Before a session: are the tools the lab's commands use installed? Name the Debian
//! packages, and offer to install them when a person is at the terminal.

use std::collections::BTreeSet;

use crate::lab::checks::KindSpec;
use crate::lab::{ItemKind, Lab};
use crate::session::plan::Scope;

/// Tools whose Debian package is known (see `tplab_sandbox::debian_package`).
const KNOWN_TOOLS: &[&str] = &[
    "ping",
    "arping",
    "route",
    "arp",
    "ifconfig",
    "netstat",
    "iptables",
    "iptables-save",
    "iptables-restore",
    "nft",
    "conntrack",
    "wget",
    "curl",
    "tc",
    "ip",
    "ss",
    "bpftool",
    "tcpdump",
    "nc",
    "dig",
    "traceroute",
    "ethtool",
    "iperf3",
];

/// Programs the lab's commands start (first word of each pipeline segment), limited
/// to tools whose Debian package tplab knows.
pub fn tools_used(lab: &Lab, env: &str) -> Vec<String> {
    let scope = Scope::new(&lab.meta, env);
    let mut scripts: Vec<&str> = Vec::new();
    for step in &lab.steps {
        for item in &step.items {
            match &item.kind {
                ItemKind::Command(c) if scope.command(c) => scripts.push(&c.script),
                ItemKind::Transcript(t) if scope.transcript(t) => {
                    scripts.extend(t.commands.iter().map(|c| c.command.as_str()));
                }
                ItemKind::Checks(checks) => {
                    for c in checks.iter().filter(|c| scope.check(c)) {
                        if let Some(KindSpec::Command { run, .. }) = c.spec.kind() {
                            scripts.push(run);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut tools = BTreeSet::new();
    for script in scripts {
        for segment in script.split(['\n', '|', ';', '&', '(', ')']) {
            let mut words = segment
                .split_whitespace()
                .skip_while(|w| w.contains('=') || *w == "sudo" || *w == "exec");
            let mut first = words.next();
            if first == Some("timeout") {
                first = words.find(|w| {
                    !w.starts_with('-') && w.parse::<f64>().is_err() && !w.ends_with('s')
                });
            }
            if let Some(tool) = first
                && KNOWN_TOOLS.contains(&tool)
            {
                tools.insert(tool.to_string());
            }
        }
    }
    tools.into_iter().collect()
}

/// Warns about missing tools; offers to install them when `interactive`.
pub fn check_tools(lab: &Lab, env: &str, interactive: bool) {
    let missing = tplab_sandbox::missing_tools(&tools_used(lab, env));
    let Some(install) = tplab_sandbox::install_command(&missing) else {
        return;
    };
    let list: Vec<String> = missing
        .iter()
        .map(|(t, p)| format!("{t} (package {p})"))
        .collect();
    eprintln!(
        "{} this lab uses tools that are not installed: {}",
        console::style("warning:").yellow().bold(),
        list.join(", ")
    );
    let offer = interactive
        && dialoguer::Confirm::new()
            .with_prompt(format!("Install them now with `{install}`?"))
            .default(true)
            .interact()
            .unwrap_or(false);
    if offer {
        let ok = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("apt-get update -qq && {install}"))
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "{} installation failed; run `sudo {install}` yourself",
                console::style("error:").red().bold()
            );
        }
    } else {
        eprintln!("  install them with: sudo {install}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tools_in_pipelines() {
        let text = "---\nid: t\ntitle: T\nenvironments: [local]\nroles: [local]\n---\n\n## S\n\n```sh {target=local}\nping -c1 x && route -n | grep 0.0.0.0\nLC_ALL=C arp -an; timeout 5 conntrack -L\n```\n\n```check\n- run: iptables-save | grep -c KUBE\n```\n";
        let lab = crate::lab::parse("t.md", text.to_string()).lab.unwrap();
        assert_eq!(
            tools_used(&lab, "local"),
            ["arp", "conntrack", "iptables-save", "ping", "route"]
        );
    }
}
