//! Facts of a sandbox's Kubernetes API for lab templates (`{{ node_name }}`,
//! `{{ cilium_pod }}`): the names a student types in `kubectl` commands, the same on the
//! sandbox as on a real cluster.

use std::collections::BTreeMap;

use crate::identity::Identity;

/// The names [`facts`] defines: what a lab may use as variables.
pub const FACT_NAMES: &[&str] = &["node_name", "cilium_pod", "cilium_namespace", "kubeconfig"];

/// The API's facts of sandbox `id`, or none when it serves no API (started without one,
/// or its identity file is unreadable: the lab's `kubectl` steps then say so themselves).
pub fn facts(id: &str) -> BTreeMap<String, String> {
    let (Ok(dir), Ok(kubeconfig)) = (crate::kube_dir(id), crate::kubeconfig_path(id)) else {
        return BTreeMap::new();
    };
    let Ok(identity) = Identity::load(&dir.join("cluster.json")) else {
        return BTreeMap::new();
    };
    of(&identity, &kubeconfig.display().to_string())
}

fn of(identity: &Identity, kubeconfig: &str) -> BTreeMap<String, String> {
    [
        ("node_name", identity.node_name.clone()),
        ("cilium_pod", identity.cilium_pod()),
        ("cilium_namespace", crate::CILIUM_NAMESPACE.to_string()),
        ("kubeconfig", kubeconfig.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fact_names_are_what_facts_defines() {
        let id = Identity::draw("https://127.0.0.1:6443".into());
        let f = of(&id, "/run/tplab/sandboxes/ab12/kubeconfig");
        let names: Vec<&str> = f.keys().map(String::as_str).collect();
        let mut declared = FACT_NAMES.to_vec();
        declared.sort_unstable();
        assert_eq!(names, declared);
        assert!(f["cilium_pod"].starts_with("cilium-"));
        assert!(f["node_name"].starts_with("node-"));
    }

    #[test]
    fn no_api_no_facts() {
        assert!(facts("zz99").is_empty());
        assert!(facts("../x").is_empty());
    }
}
