//! The `sandbox` environment: the seed's topology in local network namespaces
//! (crate `tplab-sandbox`) plus tplab's eBPF datapath on the pod's lxc (crate
//! `tplab-ebpf`), and a `cilium` shim in the agent role answering over that state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tplab_sandbox::{Role, Sandbox, SandboxConfig};

use tplab_ebpf::{CtEntry, ObservePoint};
use tplab_probe::{FactKind, Facts, Query};

use super::{EnvError, Environment, ExecOutput, Hop, PacketStream, exec, inproc};

pub struct SandboxEnv {
    sandbox: Sandbox,
    /// Created (or adopted) by this process: torn down when dropped.
    owned: AtomicBool,
    torn_down: bool,
    /// The client of the sandbox's Kubernetes API, made on the first `k8s` check.
    kube: tokio::sync::OnceCell<crate::k8s::KubeClient>,
}

impl SandboxEnv {
    /// Brings a fresh sandbox up (with its datapath and shims); torn down on drop. The
    /// datapath attach mode comes from `TPLAB_DATAPATH_ATTACH` (`tc`, the default, or `tcx`)
    /// so `run` and `test` can use either; its Kubernetes API simulates the faults of
    /// `TPLAB_KUBEAPI_FAULTS`, if any.
    pub async fn create() -> Result<Self, EnvError> {
        let faults =
            tplab_kubeapi::Faults::parse::<&str>(&[]).map_err(|source| EnvError::KubeApi {
                source: Box::new(source),
            })?;
        let mut config = config_from_env()?;
        if let Some(topology) = super::lab_topology::lab_topology() {
            config = super::lab_topology::apply(config, &topology)?;
        }
        Self::create_with(config, &faults).await
    }

    /// [`SandboxEnv::create`] with the configuration and the API's fault modes given.
    pub async fn create_with(
        config: SandboxConfig,
        faults: &tplab_kubeapi::Faults,
    ) -> Result<Self, EnvError> {
        // The datapath's loader parses the kernel's BTF: meanwhile, on another thread.
        tplab_ebpf::prewarm_loader();
        let sandbox = Sandbox::up(config)
            .await
            .map_err(|e| EnvError::sandbox("bringing a sandbox up", e))?;
        let mut env = SandboxEnv {
            sandbox,
            owned: AtomicBool::new(true),
            torn_down: false,
            kube: tokio::sync::OnceCell::new(),
        };
        let sandbox = env.sandbox.clone();
        // The datapath attach and the API's start touch different things (tc/bpffs and
        // the shims; the API's files and the daemon's pid in the state): side by side.
        // Whatever fails, dropping `env` tears down what was started.
        let equipping = tokio::task::spawn_blocking(move || equip(&sandbox));
        let api =
            tplab_kubeapi::start(&mut env.sandbox, faults).map_err(|source| EnvError::KubeApi {
                source: Box::new(source),
            });
        equipping.await.map_err(|source| EnvError::Task {
            action: "equipping the sandbox",
            source,
        })??;
        api?;
        Ok(env)
    }

    /// Uses an existing sandbox: `id`, or the only one up.
    pub fn existing(id: Option<&str>) -> Result<Self, EnvError> {
        let sandbox = find(id)?;
        Ok(SandboxEnv {
            sandbox,
            owned: AtomicBool::new(false),
            torn_down: false,
            kube: tokio::sync::OnceCell::new(),
        })
    }

    /// Takes over a sandbox kept by an earlier session (resume): torn down at the end.
    pub fn adopt(id: &str) -> Result<Self, EnvError> {
        let sandbox = Sandbox::attach(id).map_err(|e| EnvError::sandbox("resuming", e))?;
        if !sandbox.status().healthy() {
            return Err(EnvError::Unhealthy { id: id.to_string() });
        }
        install_signal_cleanup()?;
        ADOPTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(id.to_string());
        Ok(SandboxEnv {
            sandbox,
            owned: AtomicBool::new(true),
            torn_down: false,
            kube: tokio::sync::OnceCell::new(),
        })
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// What the agent role's `cilium` command reads: the datapath's pins, the node, the
    /// pods, the attach mode, for the node of the agent role it runs in (`agent2`…).
    pub fn cilium_ctx(&self) -> Result<tplab_ebpf::CiliumCtx, EnvError> {
        let node = super::sandbox_agents::cilium_node();
        let mut ctx = super::sandbox_agents::cilium_ctx_for(&self.sandbox, node)?;
        ctx.attach = attach_mode(self.sandbox.config().datapath_attach);
        ctx.kube_version = Some(tplab_kubeapi::KUBELET_VERSION.to_string());
        if let Ok(name) = std::env::var(CILIUM_NAME_ENV)
            && matches!(name.as_str(), "cilium" | "cilium-dbg")
        {
            ctx.prog_name = name;
        }
        Ok(ctx)
    }

    /// The network namespace of `role_name` (`None`: the local role, this process's own).
    fn netns(&self, role_name: &str) -> Result<Option<PathBuf>, EnvError> {
        let r = role(role_name)?;
        if r == Role::Local {
            return Ok(None);
        }
        self.sandbox
            .netns_path(&r)
            .map(Some)
            .ok_or_else(|| EnvError::Role {
                role: role_name.to_string(),
                message: format!("sandbox `{}` has no such role", self.sandbox.id()),
            })
    }

    pub fn id(&self) -> &str {
        self.sandbox.id()
    }

    /// Keeps the sandbox up after this process ends (`tplab sandbox up`).
    pub fn keep(self) -> Sandbox {
        self.owned.store(false, Ordering::SeqCst);
        // Unregister it from this process's signal teardown: it must outlive us.
        self.sandbox.persist();
        self.sandbox.clone()
    }

    /// Tears the sandbox down now (if this process owns it).
    pub fn teardown(&mut self) {
        if self.owned.load(Ordering::SeqCst) && !self.torn_down {
            self.torn_down = true;
            for e in teardown(self.sandbox.id()) {
                eprintln!("tplab: sandbox teardown: {e}");
            }
        }
    }
}

impl Drop for SandboxEnv {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Finds a sandbox by id, or the only one that is up.
pub fn find(id: Option<&str>) -> Result<Sandbox, EnvError> {
    if let Some(id) = id {
        return Sandbox::attach(id).map_err(|e| EnvError::sandbox("opening the sandbox", e));
    }
    let up: Vec<_> = Sandbox::list()
        .into_iter()
        .filter(tplab_sandbox::SandboxSummary::healthy)
        .collect();
    match up.as_slice() {
        [one] => Sandbox::attach(&one.id).map_err(|e| EnvError::sandbox("opening the sandbox", e)),
        [] => Err(EnvError::NoSandbox),
        many => Err(EnvError::ManySandboxes {
            ids: many.iter().map(|s| s.id.clone()).collect(),
        }),
    }
}

/// Environment variable choosing the datapath attach mode of `run`/`test`'s sandboxes.
pub const DATAPATH_ATTACH_ENV: &str = "TPLAB_DATAPATH_ATTACH";

/// The default sandbox configuration, with the attach mode of [`DATAPATH_ATTACH_ENV`].
pub fn config_from_env() -> Result<SandboxConfig, EnvError> {
    let mut config = SandboxConfig::default();
    if let Ok(mode) = std::env::var(DATAPATH_ATTACH_ENV) {
        config.datapath_attach = mode.parse().map_err(|message: String| {
            EnvError::BadConfig(format!("{DATAPATH_ATTACH_ENV}={mode}: {message}"))
        })?;
    }
    Ok(config)
}
/// Set by the agent role's shims: the name the `cilium` command was invoked as.
pub(super) const CILIUM_NAME_ENV: &str = "TPLAB_CILIUM_NAME";

fn attach_mode(mode: tplab_sandbox::DatapathAttach) -> tplab_ebpf::AttachMode {
    match mode {
        tplab_sandbox::DatapathAttach::Tc => tplab_ebpf::AttachMode::Tc,
        tplab_sandbox::DatapathAttach::Tcx => tplab_ebpf::AttachMode::Tcx,
    }
}

/// Attaches the eBPF datapath to every pod's lxc and installs the agents' `cilium` and
/// `cilium-dbg` shims, on every node.
fn equip(sandbox: &Sandbox) -> Result<(), EnvError> {
    super::sandbox_agents::equip(sandbox, attach_mode(sandbox.config().datapath_attach))?;
    super::sock_lb::equip(sandbox)
}

/// Removes one sandbox and its eBPF pins; returns the problems met.
pub fn teardown(id: &str) -> Vec<String> {
    let mut errors = tplab_sandbox::teardown(id).errors;
    // Only a valid id may become a pin path (the sandbox crate refused the rest already).
    if tplab_sandbox::valid_id(id)
        && let Err(e) = tplab_ebpf::cleanup_pins(id)
    {
        errors.push(e.to_string());
    }
    errors
}

/// Removes sandbox `id` (unless `options` say to leave it) and its eBPF pins.
pub fn down(id: &str, options: tplab_sandbox::DownOptions) -> tplab_sandbox::DownReport {
    let mut report = tplab_sandbox::down(id, options);
    if report.skipped.is_empty()
        && report.errors.is_empty()
        && let Err(e) = tplab_ebpf::cleanup_pins(id)
    {
        report.errors.push(e.to_string());
    }
    report
}

/// Removes every leftover of every sandbox `options` allow (after a SIGKILL too), eBPF
/// pins included; skipped sandboxes keep theirs.
pub fn teardown_all(options: tplab_sandbox::DownOptions) -> tplab_sandbox::DownReport {
    let mut report = tplab_sandbox::down_all(options);
    let skipped: Vec<String> = report.skipped.iter().map(|s| s.id.clone()).collect();
    // Ids of the sandboxes just swept: their pin dirs go even if a SIGKILL struck before
    // the CT map was pinned (an empty dir).
    let swept: Vec<String> = report
        .sandboxes
        .iter()
        .cloned()
        .chain(report.netns.iter().filter_map(|n| {
            n.strip_prefix(tplab_sandbox::NETNS_PREFIX)
                .and_then(|rest| rest.split_once('-'))
                .map(|(id, _)| id.to_string())
        }))
        .collect();
    if let Ok(dir) = std::fs::read_dir(tplab_ebpf::PIN_ROOT) {
        for entry in dir.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only our per-sandbox pin dirs; bpffs also holds entries of its own and of
            // iproute2 (`ip`, `tc`, `xdp`, `*.debug`).
            let ours = tplab_sandbox::valid_id(&name)
                && !skipped.contains(&name)
                && (path.join(tplab_ebpf::ct::GLOBALS_DIR).exists()
                    || path.join("ct").exists()
                    || swept.contains(&name));
            if !ours {
                continue;
            }
            match tplab_ebpf::cleanup_pin_dir(&path) {
                Ok(()) => report.files.push(path),
                Err(e) => report.errors.push(e.to_string()),
            }
        }
    }
    report
}

/// Sandboxes this process adopted from an earlier session (torn down on a signal too).
static ADOPTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Ctrl-C / SIGTERM / SIGHUP: tear down what this process built or adopted, then exit
/// 128+signal (Ctrl-C excepted while a guided session [claims](crate::interrupt::claim) it). Installing it twice is harmless (the first handler to run exits).
pub fn install_signal_cleanup() -> Result<(), EnvError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mk = |kind| signal(kind).map_err(|e| EnvError::io("installing a signal handler", e));
    let (mut int, mut term, mut hup, mut pipe) = (
        mk(SignalKind::interrupt())?,
        mk(SignalKind::terminate())?,
        mk(SignalKind::hangup())?,
        // `tplab run | head`: the reader left; tear down like any other end.
        mk(SignalKind::pipe())?,
    );
    teardown_on_main_panic();
    tokio::spawn(async move {
        let code = loop {
            tokio::select! {
                // A guided session's Ctrl-C is its *Quit* (`crate::interrupt`), not a teardown.
                _ = int.recv() => if !crate::interrupt::claimed() { break 130 },
                _ = term.recv() => break 143,
                _ = hup.recv() => break 129,
                _ = pipe.recv() => break 141,
            }
        };
        let _ = tokio::task::spawn_blocking(teardown_owned).await;
        std::process::exit(code);
    });
    Ok(())
}

/// Tears down every sandbox this process built or adopted, with their eBPF pins.
fn teardown_owned() {
    let ids = tplab_sandbox::live_ids();
    // First: marks the process as closing, so a lab command killed from here on is not
    // taken for its result and the session does not carry on.
    tplab_sandbox::teardown_registered();
    // What labs declared they create on this machine (namespaces, links).
    super::teardown::teardown_registered();
    for id in ids {
        let _ = tplab_ebpf::cleanup_pins(&id);
    }
    let adopted = std::mem::take(
        &mut *ADOPTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for id in adopted {
        let _ = teardown(&id);
    }
}

/// A panic of the main thread ends the process without running destructors of other
/// threads (nor the signal task): tear down first (e.g. a write to a closed stdout).
fn teardown_on_main_panic() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("main") {
                teardown_owned();
                // The reader of stdout left (`| head`): end quietly, as for SIGPIPE.
                let text = info
                    .payload()
                    .downcast_ref::<String>()
                    .map_or("", String::as_str);
                if text.contains("Broken pipe") {
                    std::process::exit(141);
                }
            }
            previous(info);
        }));
    });
}

fn role(name: &str) -> Result<Role, EnvError> {
    name.parse::<Role>().map_err(|e| EnvError::RoleSandbox {
        role: name.to_string(),
        source: Box::new(e),
    })
}

#[async_trait]
impl Environment for SandboxEnv {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn roles(&self) -> Vec<String> {
        self.sandbox.roles().iter().map(Role::name).collect()
    }

    fn watchable_netns(&self) -> Vec<(String, Option<std::path::PathBuf>)> {
        self.roles()
            .into_iter()
            .filter_map(|r| Some((r.clone(), self.netns(&r).ok()?)))
            .collect()
    }

    async fn facts(&self) -> Result<BTreeMap<String, String>, EnvError> {
        let mut facts = self.sandbox.facts();
        facts.extend(tplab_kubeapi::facts(self.sandbox.id()));
        Ok(facts)
    }

    async fn exec(
        &self,
        role_name: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<ExecOutput, EnvError> {
        let r = role(role_name)?;
        let mut cmd = self
            .sandbox
            .command(&r, script)
            .map_err(|e| EnvError::RoleSandbox {
                role: role_name.to_string(),
                source: Box::new(e),
            })?;
        cmd.env("LC_ALL", "C");
        exec::run(cmd, timeout)
            .await
            .map_err(|source| EnvError::Spawn {
                role: role_name.to_string(),
                command: script.lines().next().unwrap_or_default().to_string(),
                source,
            })
    }

    async fn probe(&self, role: &str, query: &Query) -> Result<Facts, EnvError> {
        inproc::probe(role, self.netns(role)?, query).await
    }

    async fn http(
        &self,
        role: &str,
        request: &super::http::HttpRequest,
        timeout: Duration,
    ) -> Result<super::http::HttpAnswer, EnvError> {
        super::http::send_in(role, self.netns(role)?, request.clone(), timeout).await
    }

    async fn probe_kinds(&self, role: &str, kinds: &[FactKind]) -> Result<Vec<Facts>, EnvError> {
        inproc::probe_kinds(role, self.netns(role)?, kinds).await
    }

    async fn datapath_ct(&self) -> Result<Vec<CtEntry>, EnvError> {
        inproc::datapath_ct(&tplab_ebpf::pin_dir_for(self.sandbox.id())).await
    }

    async fn datapath_ct_on(&self, node: usize) -> Result<Vec<CtEntry>, EnvError> {
        inproc::datapath_ct(&tplab_ebpf::pin_dir_for_node(self.sandbox.id(), node)).await
    }

    async fn k8s_objects(
        &self,
        selector: &crate::k8s::ObjectSelector,
    ) -> Result<Vec<serde_json::Value>, EnvError> {
        let client = self
            .kube
            .get_or_try_init(|| async {
                // `TPLAB_KUBECONFIG`: check as another user (e.g. one with less rights).
                let path = match std::env::var_os("TPLAB_KUBECONFIG") {
                    Some(p) if !p.is_empty() => PathBuf::from(p),
                    _ => tplab_kubeapi::kubeconfig_path(self.id()).map_err(|source| {
                        EnvError::KubeApi {
                            source: Box::new(source),
                        }
                    })?,
                };
                if !path.exists() {
                    return Err(EnvError::NoKubeApi {
                        id: self.id().to_string(),
                        path,
                    });
                }
                Ok(crate::k8s::KubeClient::from_kubeconfig(&path, None).await?)
            })
            .await?;
        Ok(client.objects(selector).await?)
    }

    async fn observe(&self, hops: &[Hop]) -> Result<Box<dyn PacketStream>, EnvError> {
        let mut points: Vec<ObservePoint> = Vec::new();
        for hop in hops {
            // `lxc`: the lxc of the first pod on the hop's node (`node2`, `agent2`…).
            let node = super::sandbox_agents::node_of_role(&hop.role);
            let lxc = super::sandbox_agents::pods_on(&self.sandbox, node)
                .first()
                .map(|(_, p)| p.lxc_name.clone());
            let ifname = match (hop.ifname.as_str(), &lxc) {
                (super::packet_path::LXC, Some(lxc)) => lxc.clone(),
                (name, _) => name.to_string(),
            };
            let netns = self
                .netns(&hop.role)?
                .unwrap_or_else(|| PathBuf::from("/proc/self/ns/net"));
            points.push(ObservePoint {
                netns,
                ifname,
                label: hop.label.clone(),
            });
        }
        inproc::observe(points).await
    }

    fn shell_hint(&self, role: &str) -> String {
        // Works as printed: `sudo` only when needed, this sandbox named (others may be up).
        let sudo = if nix::unistd::geteuid().is_root() {
            ""
        } else {
            "sudo "
        };
        format!(
            "`{sudo}{} sandbox shell {role} --sandbox {}`",
            super::self_invocation(),
            self.sandbox.id()
        )
    }

    fn handle(&self) -> Option<String> {
        Some(self.sandbox.id().to_string())
    }

    fn removal_hint(&self) -> Option<String> {
        Some(format!("tplab sandbox down {}", self.sandbox.id()))
    }

    fn others(&self) -> Vec<String> {
        let me = self.sandbox.id();
        tplab_sandbox::Sandbox::list()
            .into_iter()
            .map(|s| s.id)
            .filter(|id| id != me)
            .collect()
    }

    fn keep_alive(&self) {
        self.owned.store(false, Ordering::SeqCst);
        self.sandbox.persist();
    }
}
