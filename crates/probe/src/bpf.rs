//! BPF programs attached to interfaces, from both attachment APIs: legacy tc filters
//! (netlink, what `tc filter show` lists) and TCX links (bpf syscall, invisible to `tc`).

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::session::Session;
use crate::{bpfinfo, btfname, tc, tcx};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BpfProgram {
    pub dev: String,
    pub ifindex: u32,
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tc` (legacy `cls_bpf` filter) or `tcx` (bpf link / multi-prog API).
    pub attach: String,
    /// For tc: the filter's name as `tc` shows it (e.g. `cil_from_container-lxc…`);
    /// for tcx: the kernel program name.
    pub name: String,
    /// Program name: `bpf_prog_info.name` (15 bytes at most), or the whole name from the
    /// program's BTF when the kernel's is cut (`cil_from_container`), as bpftool prints it.
    pub prog_name: Option<String>,
    pub id: u32,
    /// Program tag, 16 hex digits as `tc` and `bpftool` print it.
    pub tag: String,
    /// tc only: `direct-action` flag.
    pub direct_action: Option<bool>,
    /// tc only: filter priority.
    pub pref: Option<u16>,
    /// tc only: filter handle, hex (`0x1`).
    pub handle: Option<String>,
    /// tc only: chain index.
    pub chain: Option<u32>,
    /// Position in the interface's list for this direction (0 = runs first).
    pub order: u32,
}

/// Which programs to collect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BpfScope {
    /// Only this interface (a fast path for checks naming one); `None` = every link.
    pub dev: Option<String>,
    /// Fail with [`ProbeError::TcxUnsupported`] on kernels without TCX. Otherwise such
    /// kernels simply have no TCX programs and the tc filter list is complete.
    pub require_tcx: bool,
}

pub async fn collect(s: &mut Session, scope: &BpfScope) -> Result<Vec<BpfProgram>, ProbeError> {
    let links: Vec<(u32, String)> = s
        .links()
        .await?
        .iter()
        .filter(|l| scope.dev.as_ref().is_none_or(|d| *d == l.name))
        .map(|l| (l.ifindex, l.name.clone()))
        .collect();
    let mut out = Vec::new();
    for (ifindex, name) in &links {
        out.extend(tc::collect(s, *ifindex, name).await?);
    }
    // TCX query is synchronous and per ifindex in this thread's netns.
    for (ifindex, name) in &links {
        match tcx::collect(&s.netns, *ifindex, name) {
            Ok(progs) => out.extend(progs),
            Err(ProbeError::TcxUnsupported { .. }) if !scope.require_tcx => break,
            Err(e) => return Err(e),
        }
    }
    for p in &mut out {
        if p.prog_name.is_none() {
            p.prog_name = bpfinfo::prog_name(p.id);
        }
        // The kernel keeps 15 bytes of a name; BTF has it whole (`cil_from_container`),
        // as bpftool prints it. A TCX record is named by its program.
        if let Some(short) = p.prog_name.clone().filter(|n| n.len() == 15)
            && let Some(full) = btfname::full_name(p.id, &short)
        {
            if p.name == short {
                p.name.clone_from(&full);
            }
            p.prog_name = Some(full);
        }
    }
    Ok(out)
}

pub fn tag_hex(tag: &[u8]) -> String {
    use std::fmt::Write as _;
    tag.iter().fold(String::with_capacity(16), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl BpfScope {
    /// What a check's query lets the dump narrow to.
    fn for_query(query: Option<&crate::query::BpfQuery>) -> BpfScope {
        use crate::query::Matcher;
        let plain = |m: &Option<Matcher>| m.as_ref().and_then(Matcher::plain);
        query.map_or_else(BpfScope::default, |q| BpfScope {
            dev: plain(&q.dev),
            require_tcx: !q.absent
                && plain(&q.attach).is_some_and(|a| a.eq_ignore_ascii_case("tcx")),
        })
    }
}

/// The `bpf` collector of the kind table (`kinds.rs`): a check naming one `dev` queries
/// that interface alone (the whole namespace is listed again if nothing is found, so a
/// failure still shows what exists), and one requiring `attach: tcx` errors on kernels
/// without TCX instead of reporting "nothing attached".
pub(crate) async fn collect_for(
    s: &mut Session,
    query: Option<&crate::query::BpfQuery>,
) -> Result<Vec<BpfProgram>, ProbeError> {
    let scope = BpfScope::for_query(query);
    let progs = collect(s, &scope).await?;
    if progs.is_empty() && scope.dev.is_some() {
        let all = BpfScope { dev: None, ..scope };
        return collect(s, &all).await;
    }
    Ok(progs)
}

#[cfg(test)]
mod scope_tests {
    use super::*;
    use crate::query::Query;

    fn scope(yaml: &str) -> BpfScope {
        let q: Query = serde_yaml::from_str(yaml).unwrap();
        let Query::Bpf(q) = q else {
            panic!("not a bpf query: {yaml}");
        };
        BpfScope::for_query(Some(&q))
    }

    #[test]
    fn bpf_checks_are_scoped() {
        assert_eq!(
            scope("bpf_attached: {dev: lxc1, attach: TCX}"),
            BpfScope {
                dev: Some("lxc1".into()),
                require_tcx: true
            }
        );
        // A regex on dev cannot narrow the dump; an absent TCX program needs no TCX support.
        assert_eq!(
            scope("bpf_attached: {dev: {regex: '^lxc'}}"),
            BpfScope::default()
        );
        assert_eq!(
            scope("bpf_attached: {attach: tcx, absent: true}"),
            BpfScope::default()
        );
    }
}
