//! A Kubernetes API for each sandbox, served on loopback over HTTPS with the sandbox's
//! own CA and an admin client certificate, answering with the sandbox's real state
//! (node, pods, Cilium) in the real schemas, and running `kubectl exec` in the pod's
//! sandbox role over WebSocket. Pods can be created and deleted (`pods/`): `hostNetwork`
//! pods (the node-shell pod) run in the node's namespaces, others become sandbox pods of
//! their own; they are kept in `store.rs` (one resourceVersion, watch events), and
//! [`Faults`] make the API fail like real clusters do. Real clients (kubectl ≥ 1.30,
//! kube-rs) are its tests.
//!
//! [`start`] is called once the sandbox is up: it draws the PKI and the cluster's
//! identity, binds 127.0.0.1:0, writes the kubeconfig (`tplab-<id>` cluster, user and
//! context) and starts the daemon (this binary re-executed, see `daemon.rs`), whose pid
//! the sandbox's state records so teardown stops it. Every `main()` that may start it
//! calls [`dispatch_if_daemon`] before [`tplab_sandbox::dispatch_if_daemon`].

mod api;
mod audit;
mod ctx;
mod daemon;
mod discovery;
mod error;
mod exec;
mod facts;
mod faults;
mod identity;
mod kubeconfig;
mod logs;
mod objects;
mod openapi;
mod paths;
mod pods;
mod resources;
mod respond;
mod route;
mod select;
mod server;
mod sessions;
mod shutdown;
mod status;
mod store;
mod table;
mod tls;
mod watch;

use std::net::TcpListener;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

pub use daemon::{KIND as DAEMON_KIND, dispatch_if_daemon};
pub use error::{KubeApiError, Result};
pub use exec::MIN_KUBECTL;
pub use facts::{FACT_NAMES, facts};
pub use faults::{FAULTS_ENV, Faults, MODES as FAULT_MODES};
pub use identity::Identity;
pub use objects::node::KUBELET_VERSION;
pub use objects::{AGENT_CONTAINER, CILIUM_NAMESPACE};
pub use paths::{audit_path, kube_dir, kubeconfig_path};
pub use tls::{ADMIN_GROUP, ADMIN_USER};

/// What [`start`] brought up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub pid: u32,
    pub port: u16,
    pub server: String,
    pub kubeconfig: PathBuf,
}

fn write(path: &std::path::Path, text: &str) -> Result<()> {
    kubeconfig::write_private(path, text.as_bytes())
}

/// Serves sandbox `sandbox`'s API: PKI, identity, kubeconfig, daemon, answering with
/// the failures of `faults` (see [`Faults::parse`]: the CLI's modes plus
/// [`FAULTS_ENV`]).
pub fn start(sandbox: &mut tplab_sandbox::Sandbox, faults: &Faults) -> Result<Started> {
    let id = sandbox.id().to_string();
    let dir = kube_dir(&id)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| KubeApiError::io(format!("creating {}", dir.display()), e))?;
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| KubeApiError::io("binding 127.0.0.1:0", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| KubeApiError::io("reading the bound address", e))?
        .port();
    let server = format!("https://127.0.0.1:{port}");
    let bundle = tls::generate(&id)?;
    write(&dir.join("ca.crt"), &bundle.ca_cert)?;
    write(&dir.join("ca.key"), &bundle.ca_key)?;
    write(&dir.join("server.crt"), &bundle.server_cert)?;
    write(&dir.join("server.key"), &bundle.server_key)?;
    Identity::draw(server.clone())
        .with_faults(faults)
        .save(&dir.join("cluster.json"))?;
    write(&dir.join(paths::FAULTS_FILE), &faults.to_json())?;
    let kubeconfig = kubeconfig_path(&id)?;
    write(&kubeconfig, &kubeconfig::render(&id, &server, &bundle)?)?;
    let args = vec!["--dir".into(), dir.into_os_string()];
    let pid = sandbox.spawn_daemon(DAEMON_KIND, &args, &listener)?;
    Ok(Started {
        pid,
        port,
        server,
        kubeconfig,
    })
}

/// Issues a client certificate of sandbox `id`'s CA for `user` in `groups`: (cert, key)
/// PEM. Users outside `system:masters` may only read discovery (tests of Forbidden).
pub fn issue_client_cert(id: &str, user: &str, groups: &[&str]) -> Result<(String, String)> {
    let dir = kube_dir(id)?;
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p)
            .map_err(|e| KubeApiError::io(format!("reading {}", p.display()), e))
    };
    let issuer = tls::load_issuer(&read("ca.crt")?, &read("ca.key")?)?;
    tls::client_cert(&issuer, user, groups)
}

/// The data of the `cilium-config` `ConfigMap` (the one source of truth shared with the
/// agent role's `cilium config view`).
pub fn cilium_config(id: &str) -> std::collections::BTreeMap<String, String> {
    objects::config_data(id)
}
