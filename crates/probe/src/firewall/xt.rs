//! xt compat targets other than NAT, whose info blobs are small fixed structs
//! (`xt_mark_tginfo2`, `ipt_reject_info`, `xt_log_info`), printed as iptables-save does.

use super::expr::cstr;

/// Options of the xt target `name` revision `rev`; `None` when the blob is not decoded
/// (the caller then lists the target's options as unknown).
pub fn target_options(name: &str, rev: u32, v6: bool, info: &[u8]) -> Option<Vec<String>> {
    Some(match (name, rev) {
        ("MARK", 2) => {
            let (mark, mask) = (ne32(info.get(..4)?)?, ne32(info.get(4..8)?)?);
            vec![format!("--set-xmark {mark:#x}/{mask:#x}")]
        }
        ("REJECT", 0) => {
            let with = ne32(info.get(..4)?)?;
            vec![format!("--reject-with {}", reject_name(v6, with))]
        }
        ("LOG", 0) => log(info)?,
        ("ACCEPT" | "DROP" | "RETURN", _) => Vec::new(),
        _ => return None,
    })
}

/// `enum ipt_reject_with` / `enum ip6t_reject_with`.
fn reject_name(v6: bool, with: u32) -> String {
    let v4 = [
        "icmp-net-unreachable",
        "icmp-host-unreachable",
        "icmp-proto-unreachable",
        "icmp-port-unreachable",
        "icmp-echo-reply",
        "icmp-net-prohibited",
        "icmp-host-prohibited",
        "tcp-reset",
        "icmp-admin-prohibited",
    ];
    let v6names = [
        "icmp6-no-route",
        "icmp6-adm-prohibited",
        "icmp6-not-neighbour",
        "icmp6-addr-unreachable",
        "icmp6-port-unreachable",
        "icmp6-echo-reply",
        "tcp-reset",
        "icmp6-policy-fail",
        "icmp6-reject-route",
    ];
    let table: &[&str] = if v6 { &v6names } else { &v4 };
    usize::try_from(with)
        .ok()
        .and_then(|i| table.get(i))
        .map_or_else(|| with.to_string(), |s| (*s).to_string())
}

/// `xt_log_info { u8 level; u8 logflags; char prefix[30]; }`.
fn log(info: &[u8]) -> Option<Vec<String>> {
    let level = *info.first()?;
    let flags = *info.get(1)?;
    let prefix = cstr(info.get(2..)?);
    let mut out = Vec::new();
    if !prefix.is_empty() {
        out.push(format!("--log-prefix {}", save_string(&prefix)));
    }
    // 4 (warning) is the default iptables-save leaves out.
    if level != 4 {
        out.push(format!("--log-level {level}"));
    }
    for (bit, name) in [
        (1, "--log-tcp-sequence"),
        (2, "--log-tcp-options"),
        (4, "--log-ip-options"),
        (8, "--log-uid"),
        (0x20, "--log-macdecode"),
    ] {
        if flags & bit != 0 {
            out.push(name.to_string());
        }
    }
    Some(out)
}

/// iptables' `xtables_save_string`: bare when only `[A-Za-z0-9_-]`, else double-quoted
/// with `"`, `\` and `'` escaped.
pub fn save_string(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn ne32(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_prefix_quoted_like_iptables_save() {
        let mut info = vec![7u8, 0];
        info.extend(b"a b\0");
        info.resize(32, 0);
        assert_eq!(
            target_options("LOG", 0, false, &info).unwrap(),
            ["--log-prefix \"a b\"", "--log-level 7"]
        );
        assert_eq!(save_string("abc-1"), "abc-1");
        assert_eq!(save_string("x: "), "\"x: \"");
    }

    #[test]
    fn mark_and_reject() {
        let mut info = 0x4000u32.to_ne_bytes().to_vec();
        info.extend(0x4000u32.to_ne_bytes());
        assert_eq!(
            target_options("MARK", 2, false, &info).unwrap(),
            ["--set-xmark 0x4000/0x4000"]
        );
        let with = |n: u32, v6| target_options("REJECT", 0, v6, &n.to_ne_bytes()).unwrap();
        assert_eq!(with(3, false), ["--reject-with icmp-port-unreachable"]);
        assert_eq!(with(4, true), ["--reject-with icmp6-port-unreachable"]);
        assert_eq!(with(99, true), ["--reject-with 99"]);
        assert!(target_options("MARK", 2, false, &[1, 2]).is_none());
        assert!(target_options("TPROXY", 1, false, &info).is_none());
    }
}
