//! Which checks a kernel change can affect, so watch mode re-evaluates those only.

use std::collections::BTreeSet;

use tplab_probe::FactKind;

use super::wake::Change;
use crate::lab::checks::{CheckSpec, KindSpec};
use crate::session::plan::GradableKind;

/// What a watched item depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Packets seen by the observer: its own events (the ring buffer) decide it, so a
    /// failing one is observed continuously.
    Packets,
    /// Kernel facts of these kinds in these roles.
    Facts(BTreeSet<Change>),
    /// Anything (commands, transcripts, the CT map, Kubernetes objects): every change.
    Anything,
}

impl Scope {
    /// True when one of `changes` may change this item's verdict.
    pub fn touched_by(&self, changes: &BTreeSet<Change>) -> bool {
        match self {
            Scope::Packets => false,
            Scope::Facts(mine) => !mine.is_disjoint(changes),
            Scope::Anything => !changes.is_empty(),
        }
    }
}

/// The scope of a watched item; `default_role` is the lab's.
pub fn scope(kind: &GradableKind<'_>, default_role: &str) -> Scope {
    match kind {
        GradableKind::Check(item) => of_spec(&item.spec, default_role),
        _ => Scope::Anything,
    }
}

fn of_spec(spec: &CheckSpec, default_role: &str) -> Scope {
    let role = spec.target.as_deref().unwrap_or(default_role);
    if role.contains("{{") {
        return Scope::Anything;
    }
    match spec.kind() {
        Some(KindSpec::Fact { kind, .. }) if kind == "packets" => Scope::Packets,
        Some(KindSpec::Fact { kind, .. }) => match FactKind::from_check(kind) {
            Some(k) => Scope::Facts(BTreeSet::from([(role.to_string(), k)])),
            None => Scope::Anything,
        },
        Some(KindSpec::Group(group)) => {
            let mut all = BTreeSet::new();
            for member in &group.members {
                match of_spec(member, role) {
                    Scope::Facts(f) => all.extend(f),
                    // A group with packets or commands inside: every change, and packets
                    // are observed on each safety-net round.
                    Scope::Packets | Scope::Anything => return Scope::Anything,
                }
            }
            Scope::Facts(all)
        }
        _ => Scope::Anything,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> CheckSpec {
        serde_yaml::from_str(yaml).expect("a check")
    }

    #[test]
    fn scopes_follow_kind_and_role() {
        let route = of_spec(&spec("{route: {dst: default}}"), "pod");
        assert_eq!(
            route,
            Scope::Facts(BTreeSet::from([("pod".into(), FactKind::Routes)]))
        );
        let neigh = BTreeSet::from([("node".to_string(), FactKind::Neighbours)]);
        let routes_on_pod = BTreeSet::from([("pod".to_string(), FactKind::Routes)]);
        assert!(route.touched_by(&routes_on_pod));
        assert!(!route.touched_by(&neigh), "another kind, another role");
        let on_node = of_spec(&spec("{target: node, route: {dst: default}}"), "pod");
        assert!(
            !on_node.touched_by(&routes_on_pod),
            "the node's routes, not the pod's"
        );
        assert_eq!(of_spec(&spec("{run: 'true'}"), "pod"), Scope::Anything);
        assert!(Scope::Anything.touched_by(&neigh));
        let packets = of_spec(
            &spec(
                "{packets: {proto: icmp, src: 10.0.0.1, dst: 10.0.0.2, path: [{at: 'pod:eth0', dir: egress}]}}",
            ),
            "pod",
        );
        assert_eq!(packets, Scope::Packets);
    }
}
