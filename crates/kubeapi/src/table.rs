//! Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): the
//! columns `kubectl get [-o wide]` shows, computed here as the real printers do.

use serde_json::{Value, json};

use crate::objects::Obj;

/// What each row carries besides its cells (`?includeObject=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(s: Option<&str>) -> Result<Include, String> {
        match s {
            None | Some("" | "Metadata") => Ok(Include::Metadata),
            Some("None") => Ok(Include::None),
            Some("Object") => Ok(Include::Object),
            Some(other) => Err(format!(
                "includeObject: Unsupported value: \"{other}\": supported values: \"Metadata\", \"None\", \"Object\""
            )),
        }
    }
}

/// Whether the Accept header asks for a Table (in any position).
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let params: Vec<String> = part.split(';').map(|p| p.trim().replace(' ', "")).collect();
        params.iter().any(|p| p == "as=Table") && params.iter().any(|p| p == "g=meta.k8s.io")
    })
}

/// kubectl's `HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(ts: &Value) -> String {
    ts.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || "<unknown>".into(),
            |t| human_duration((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()),
        )
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "<none>".into(),
    }
}

fn col(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({ "name": name, "type": kind, "format": format, "description": description, "priority": priority })
}

fn map_text(v: &Value) -> String {
    v.as_object().filter(|m| !m.is_empty()).map_or_else(
        || "<none>".into(),
        |m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        },
    )
}

fn node_address(o: &Value, kind: &str) -> String {
    o["status"]["addresses"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["type"] == kind))
        .map_or_else(|| "<none>".into(), |x| s(&x["address"]))
}

/// kubectl's STATUS: Terminating, a container's waiting or terminated reason
/// (`ContainerCreating`, `ErrImagePull`, `Completed`), else the pod's reason or phase.
fn pod_status(o: &Value, statuses: &[Value]) -> String {
    if !o["metadata"]["deletionTimestamp"].is_null() {
        return "Terminating".into();
    }
    if let Some(r) = o["status"]["reason"].as_str() {
        return r.to_string();
    }
    let reason = statuses.iter().rev().find_map(|c| {
        c["state"]["waiting"]["reason"]
            .as_str()
            .or(c["state"]["terminated"]["reason"].as_str())
    });
    reason
        .or(o["status"]["phase"].as_str())
        .unwrap_or("Unknown")
        .to_string()
}

fn pod_row(o: &Value) -> Vec<Value> {
    let statuses = o["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = statuses
        .iter()
        .filter_map(|c| c["restartCount"].as_i64())
        .sum();
    let status = pod_status(o, &statuses);
    vec![
        json!(o["metadata"]["name"]),
        json!(format!("{ready}/{total}")),
        json!(status),
        json!(restarts.to_string()),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(s(&o["status"]["podIP"])),
        json!(s(&o["spec"]["nodeName"])),
        json!(s(&o["status"]["nominatedNodeName"])),
        json!("<none>"),
    ]
}

fn node_row(o: &Value) -> Vec<Value> {
    let ready = o["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True");
    let roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter_map(|k| {
                    k.strip_prefix("node-role.kubernetes.io/")
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let info = &o["status"]["nodeInfo"];
    vec![
        json!(o["metadata"]["name"]),
        json!(if ready { "Ready" } else { "NotReady" }),
        json!(if roles.is_empty() {
            "<none>".into()
        } else {
            roles.join(",")
        }),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(s(&info["kubeletVersion"])),
        json!(node_address(o, "InternalIP")),
        json!(node_address(o, "ExternalIP")),
        json!(s(&info["osImage"])),
        json!(s(&info["kernelVersion"])),
        json!(s(&info["containerRuntimeVersion"])),
    ]
}

fn daemonset_row(o: &Value) -> Vec<Value> {
    let st = &o["status"];
    let containers = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<String> = containers.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<String> = containers.iter().map(|c| s(&c["image"])).collect();
    vec![
        json!(o["metadata"]["name"]),
        json!(st["desiredNumberScheduled"].as_i64().unwrap_or(0)),
        json!(st["currentNumberScheduled"].as_i64().unwrap_or(0)),
        json!(st["numberReady"].as_i64().unwrap_or(0)),
        json!(st["updatedNumberScheduled"].as_i64().unwrap_or(0)),
        json!(st["numberAvailable"].as_i64().unwrap_or(0)),
        json!(map_text(&o["spec"]["template"]["spec"]["nodeSelector"])),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(names.join(",")),
        json!(images.join(",")),
        json!(map_text(&o["spec"]["selector"]["matchLabels"])),
    ]
}

fn service_row(o: &Value) -> Vec<Value> {
    let ports: Vec<String> = o["spec"]["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    // As kubectl's printer: `80:30080/TCP` for a NodePort.
                    let node_port = p["nodePort"]
                        .as_i64()
                        .map(|n| format!(":{n}"))
                        .unwrap_or_default();
                    format!(
                        "{}{node_port}/{}",
                        s(&p["port"]),
                        p["protocol"].as_str().unwrap_or("TCP")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    vec![
        json!(o["metadata"]["name"]),
        json!(s(&o["spec"]["type"])),
        json!(s(&o["spec"]["clusterIP"])),
        json!("<none>"),
        json!(ports.join(",")),
        json!(age(&o["metadata"]["creationTimestamp"])),
        json!(map_text(&o["spec"]["selector"])),
    ]
}

fn event_row(o: &Value) -> Vec<Value> {
    let inv = &o["involvedObject"];
    let source = match (
        o["source"]["component"].as_str(),
        o["source"]["host"].as_str(),
    ) {
        (Some(c), Some(h)) => format!("{c}, {h}"),
        (Some(c), None) => c.to_string(),
        _ => String::new(),
    };
    vec![
        json!(age(&o["lastTimestamp"])),
        json!(s(&o["type"])),
        json!(s(&o["reason"])),
        json!(format!(
            "{}/{}",
            inv["kind"].as_str().unwrap_or("").to_lowercase(),
            s(&inv["name"])
        )),
        json!(inv["fieldPath"].as_str().unwrap_or("")),
        json!(source),
        json!(o["message"].as_str().unwrap_or("").trim()),
        json!(age(&o["firstTimestamp"])),
        json!(o["count"].as_i64().unwrap_or(1)),
        json!(o["metadata"]["name"]),
    ]
}

fn columns(plural: &str) -> Vec<Value> {
    let name = col(
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    );
    let age = col(
        "Age",
        "string",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    match plural {
        "pods" => vec![
            name,
            col(
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            col(
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            col(
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age,
            col(
                "IP",
                "string",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            col(
                "Node",
                "string",
                1,
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            col(
                "Nominated Node",
                "string",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            col(
                "Readiness Gates",
                "string",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        "nodes" => vec![
            name,
            col("Status", "string", 0, "The status of the node"),
            col("Roles", "string", 0, "The roles of the node"),
            age,
            col(
                "Version",
                "string",
                0,
                "Kubelet Version reported by the node.",
            ),
            col(
                "Internal-IP",
                "string",
                1,
                "List of addresses reachable to the node.",
            ),
            col(
                "External-IP",
                "string",
                1,
                "List of addresses reachable to the node.",
            ),
            col(
                "OS-Image",
                "string",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            col(
                "Kernel-Version",
                "string",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            col(
                "Container-Runtime",
                "string",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        "namespaces" => vec![
            name,
            col("Status", "string", 0, "The status of the namespace"),
            age,
        ],
        "daemonsets" => vec![
            name,
            col(
                "Desired",
                "integer",
                0,
                "The total number of nodes that should be running the daemon pod.",
            ),
            col(
                "Current",
                "integer",
                0,
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
            ),
            col(
                "Ready",
                "integer",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            ),
            col(
                "Up-to-date",
                "integer",
                0,
                "The total number of nodes that are running updated daemon pod",
            ),
            col(
                "Available",
                "integer",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
            ),
            col(
                "Node Selector",
                "string",
                0,
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            age,
            col(
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            col(
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            col(
                "Selector",
                "string",
                1,
                "A label query over pods that are managed by the daemon set.",
            ),
        ],
        "configmaps" => vec![
            name,
            col(
                "Data",
                "integer",
                0,
                "Data contains the configuration data.",
            ),
            age,
        ],
        "services" => vec![
            name,
            col(
                "Type",
                "string",
                0,
                "type determines how the Service is exposed.",
            ),
            col(
                "Cluster-IP",
                "string",
                0,
                "clusterIP is the IP address of the service.",
            ),
            col(
                "External-IP",
                "string",
                0,
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            col(
                "Port(s)",
                "string",
                0,
                "The list of ports that are exposed by this service.",
            ),
            age,
            col(
                "Selector",
                "string",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        "events" => vec![
            col(
                "Last Seen",
                "string",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            col(
                "Type",
                "string",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            col(
                "Reason",
                "string",
                0,
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            col(
                "Object",
                "string",
                0,
                "The object that this event is about.",
            ),
            col(
                "Subobject",
                "string",
                1,
                "The subobject that this event is about.",
            ),
            col("Source", "string", 1, "The component reporting this event."),
            col(
                "Message",
                "string",
                0,
                "A human-readable description of the status of this operation.",
            ),
            col(
                "First Seen",
                "string",
                1,
                "The time at which the event was first recorded.",
            ),
            col(
                "Count",
                "integer",
                1,
                "The number of times this event has occurred.",
            ),
            col(
                "Name",
                "string",
                1,
                "Name must be unique within a namespace.",
            ),
        ],
        _ => vec![name, age],
    }
}

fn cells(plural: &str, o: &Value) -> Vec<Value> {
    match plural {
        "pods" => pod_row(o),
        "nodes" => node_row(o),
        "namespaces" => vec![
            json!(o["metadata"]["name"]),
            json!(s(&o["status"]["phase"])),
            json!(age(&o["metadata"]["creationTimestamp"])),
        ],
        "daemonsets" => daemonset_row(o),
        "configmaps" => vec![
            json!(o["metadata"]["name"]),
            json!(o["data"].as_object().map_or(0, serde_json::Map::len)),
            json!(age(&o["metadata"]["creationTimestamp"])),
        ],
        "services" => service_row(o),
        "events" => event_row(o),
        _ => vec![
            json!(o["metadata"]["name"]),
            json!(age(&o["metadata"]["creationTimestamp"])),
        ],
    }
}

fn row_object(o: &Value, include: Include) -> Option<Value> {
    match include {
        Include::None => None,
        Include::Object => Some(o.clone()),
        Include::Metadata => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": o["metadata"],
        })),
    }
}

/// A `meta.k8s.io/v1` Table of `objects` (all of one resource type `plural`).
pub fn table(plural: &str, objects: &[Obj], include: Include, resource_version: &str) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({ "cells": cells(plural, &o.value) });
            if let Some(obj) = row_object(&o.value, include) {
                row["object"] = obj;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": { "resourceVersion": resource_version },
        "columnDefinitions": columns(plural),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_kubectl() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (30 * 3600, "30h"),
            (3 * 86400 + 3600, "3d1h"),
            (40 * 86400, "40d"),
            (-5, "<invalid>"),
        ] {
            assert_eq!(human_duration(secs), want);
        }
    }

    #[test]
    fn tables_have_wide_columns_and_rows() {
        let (st, id) = (
            crate::objects::fixture::state(),
            crate::objects::fixture::identity(),
        );
        let src = crate::objects::Source {
            state: &st,
            identity: &id,
            port: 1,
            created: &[],
        };
        let pods = crate::objects::of(&src, &crate::resources::PODS, None);
        let t = table("pods", &pods, Include::Metadata, "1");
        assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 9);
        let row = &t["rows"][0]["cells"];
        assert_eq!(row[1], "1/1");
        assert_eq!(row[2], "Running");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        let nodes = crate::objects::of(&src, &crate::resources::NODES, None);
        let t = table("nodes", &nodes, Include::None, "1");
        assert_eq!(t["rows"][0]["cells"][1], "Ready");
        assert_eq!(t["rows"][0]["cells"][5], "198.51.100.2");
        assert!(t["rows"][0].get("object").is_none());
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
