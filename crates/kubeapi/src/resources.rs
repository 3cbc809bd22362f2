//! The resource types this API serves, as discovery describes them.

/// One served resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// (name, kind, verbs)
    pub subresources: &'static [(&'static str, &'static str, &'static [&'static str])],
    /// Fields a fieldSelector may name, beyond `metadata.name` and `metadata.namespace`.
    pub fields: &'static [&'static str],
}

const READ: &[&str] = &["get", "list", "watch"];

impl ResourceDef {
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
}

pub const NAMESPACES: ResourceDef = ResourceDef {
    group: "",
    version: "v1",
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    short_names: &["ns"],
    categories: &[],
    verbs: READ,
    subresources: &[],
    fields: &["status.phase"],
};

pub const NODES: ResourceDef = ResourceDef {
    group: "",
    version: "v1",
    plural: "nodes",
    singular: "node",
    kind: "Node",
    namespaced: false,
    short_names: &["no"],
    categories: &[],
    verbs: READ,
    subresources: &[],
    fields: &["spec.unschedulable"],
};

pub const PODS: ResourceDef = ResourceDef {
    group: "",
    version: "v1",
    plural: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    short_names: &["po"],
    categories: &["all"],
    verbs: &["create", "delete", "get", "list", "watch"],
    subresources: &[
        ("exec", "PodExecOptions", &["create", "get"]),
        ("attach", "PodAttachOptions", &["create", "get"]),
        ("log", "Pod", &["get"]),
    ],
    fields: &[
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ],
};

pub const SERVICES: ResourceDef = ResourceDef {
    group: "",
    version: "v1",
    plural: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    short_names: &["svc"],
    categories: &["all"],
    verbs: READ,
    subresources: &[],
    fields: &["spec.clusterIP", "spec.type"],
};

pub const CONFIGMAPS: ResourceDef = ResourceDef {
    group: "",
    version: "v1",
    plural: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    short_names: &["cm"],
    categories: &[],
    verbs: READ,
    subresources: &[],
    fields: &[],
};

pub const EVENTS: ResourceDef = ResourceDef {
    group: "",
    version: "v1",
    plural: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    short_names: &["ev"],
    categories: &[],
    verbs: READ,
    subresources: &[],
    fields: &[
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ],
};

pub const DAEMONSETS: ResourceDef = ResourceDef {
    group: "apps",
    version: "v1",
    plural: "daemonsets",
    singular: "daemonset",
    kind: "DaemonSet",
    namespaced: true,
    short_names: &["ds"],
    categories: &["all"],
    verbs: READ,
    subresources: &[],
    fields: &[],
};

/// Every served resource, core group first.
pub const ALL: [ResourceDef; 7] = [
    NAMESPACES, NODES, PODS, SERVICES, CONFIGMAPS, EVENTS, DAEMONSETS,
];

/// The resource `plural` of `group` (`""` is the core group).
pub fn find(group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
    ALL.iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
        .copied()
}

/// API groups beyond the core one, in discovery order.
pub fn groups() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in &ALL {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}
