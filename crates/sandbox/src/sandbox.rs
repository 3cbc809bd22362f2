//! The `Sandbox` handle: bring up, attach, run commands in roles, tear down.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::Arc;

use serde::Serialize;

use crate::cleanup::{self, DownReport};
use crate::config::{PodConfig, SandboxConfig};
use crate::error::{Result, SandboxError};
use crate::ids::{self, mac_text, netns_name, random_mac};
use crate::lock::{self, SandboxLock};
use crate::roles::{self, Role};
use crate::state::{self, NodeState, Phase, PodState, SandboxState};
use crate::topology::{self, NodeMacs};
use crate::{daemon, iptables, signals, tools, trace};

/// A sandbox that exists on this machine (built by this process or attached by id).
/// While any clone of it lives, this process holds the sandbox's lock, so `down --all`
/// elsewhere leaves it alone. Dropping it removes nothing; use [`Sandbox::down`] or a
/// [`crate::SandboxGuard`].
#[derive(Debug, Clone)]
pub struct Sandbox {
    state: SandboxState,
    _lock: Arc<SandboxLock>,
}

/// One line of `tplab sandbox status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxSummary {
    pub id: String,
    pub phase: Phase,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub pods: Vec<String>,
    /// Every netns of the sandbox still exists.
    pub netns_ok: bool,
    /// The world HTTP daemon is running.
    pub daemon_ok: bool,
    /// User it belongs to (`None`: made by an older tplab).
    pub owner_uid: Option<u32>,
    /// Pids of the processes using it now (holding its lock).
    pub users: Vec<u32>,
}

impl SandboxSummary {
    /// Up, complete and serving.
    pub fn healthy(&self) -> bool {
        self.phase == Phase::Up && self.netns_ok && self.daemon_ok
    }
}

fn plan_pod(id: &str, pod: &PodConfig) -> PodState {
    PodState {
        name: pod.name.clone(),
        netns: netns_name(id, &pod.name),
        ip: pod.ip,
        if_name: pod.if_name.clone(),
        mac: mac_text(&random_mac()),
        lxc_name: pod.lxc_name.clone().unwrap_or_else(ids::lxc_name),
        lxc_mac: mac_text(&random_mac()),
        node: pod.node,
    }
}

fn plan_nodes(id: &str, config: &SandboxConfig) -> Vec<NodeState> {
    config
        .node_plans()
        .iter()
        .skip(1)
        .map(|n| NodeState {
            name: n.name.clone(),
            netns: netns_name(id, &n.name),
            cilium_host_mac: mac_text(&random_mac()),
            node_mac: mac_text(&random_mac()),
        })
        .collect()
}

fn plan(id: &str, config: &SandboxConfig, macs: &NodeMacs) -> SandboxState {
    SandboxState {
        format: state::STATE_FORMAT.into(),
        id: id.to_string(),
        phase: Phase::Building,
        created_at: chrono::Utc::now(),
        owner_pid: std::process::id(),
        owner_uid: Some(crate::sweep::caller_uid()),
        config: config.clone(),
        node_netns: netns_name(id, "node"),
        world_netns: netns_name(id, "world"),
        pods: config.pods.iter().map(|p| plan_pod(id, p)).collect(),
        cilium_host_mac: mac_text(&macs.cilium_host),
        node_mac: mac_text(&macs.node),
        daemon_pid: None,
        daemons: Vec::new(),
        extra_nodes: plan_nodes(id, config),
        lan_netns: (config.nodes > 1).then(|| netns_name(id, "lan")),
    }
}

/// Reserves `id`: its lock first (so `down --all` sees a build in progress from the
/// moment the state file exists), then the state file, created exclusively.
fn reserve_id(
    id: &str,
    config: &SandboxConfig,
    macs: &NodeMacs,
) -> Result<(SandboxState, SandboxLock)> {
    let taken = || SandboxError::IdTaken { id: id.to_string() };
    if tplab_netns::list()
        .iter()
        .any(|n| ids::id_of_netns(n) == Some(id))
    {
        return Err(taken());
    }
    let lock = lock::use_lock(id).map_err(|e| match e {
        SandboxError::Busy { .. } => taken(),
        e => e,
    })?;
    let st = plan(id, config, macs);
    state::reserve(&st)?;
    Ok((st, lock))
}

/// Reserves an id (the requested one, or a fresh random one).
fn reserve(
    requested: Option<&str>,
    config: &SandboxConfig,
    macs: &NodeMacs,
) -> Result<(SandboxState, SandboxLock)> {
    if let Some(id) = requested {
        return reserve_id(state::checked(id)?, config, macs);
    }
    let mut last = None;
    for _ in 0..16 {
        match reserve_id(&ids::new_id(), config, macs) {
            Ok(reserved) => return Ok(reserved),
            Err(e @ SandboxError::IdTaken { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| SandboxError::Config("could not draw a free sandbox id".into())))
}

/// True when /run/netns is already a mount point (set up by an earlier `create`).
fn run_dir_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines()
            .any(|l| l.split(' ').nth(4) == Some(tplab_netns::NETNS_RUN_DIR))
    })
}

/// Creates the named netns concurrently (each creation pays a kernel netns setup).
fn create_netns(names: &[String]) -> Result<()> {
    // The first `create` on a machine turns /run/netns into a shared bind mount; doing
    // that from several threads at once could stack mounts, so it goes alone.
    let names = match names.split_first() {
        Some((first, rest)) if !run_dir_mounted() => {
            tplab_netns::create(first)?;
            rest
        }
        _ => names,
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|n| s.spawn(move || tplab_netns::create(n).map(|_| ())))
            .collect();
        let mut result = Ok(());
        for h in handles {
            let r = h
                .join()
                .unwrap_or(Err(tplab_netns::NetnsError::ThreadPanicked));
            if let Err(e) = r
                && result.is_ok()
            {
                result = Err(SandboxError::from(e));
            }
        }
        result
    })
}

fn bin_dir_of(id: &str, role: &Role) -> PathBuf {
    // A Sandbox's id was validated when it was built or attached: this never falls back.
    state::sandbox_dir(id)
        .map(|d| d.join("bin").join(role.dir_name()))
        .unwrap_or_default()
}

/// Starts the HTTP daemon of every pod that serves one (recorded as it starts, so a
/// failure later still tears it down).
fn serve_pods(state: &mut SandboxState) -> Result<()> {
    let serving: Vec<(PodState, u16)> = state
        .pods
        .iter()
        .filter_map(|p| {
            let cfg = state.config.pods.iter().find(|c| c.name == p.name)?;
            Some((p.clone(), cfg.serve?))
        })
        .collect();
    for (pod, port) in serving {
        let path = tplab_netns::path_of(&pod.netns);
        let listener = tplab_netns::run_in(Some(&path), move || {
            std::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port))
        })?
        .map_err(|e| {
            SandboxError::Daemon(format!("binding 0.0.0.0:{port} in pod `{}`: {e}", pod.name))
        })?;
        let pid = daemon::spawn_pod_http(&state.id, &pod.name, &listener, &path)?;
        state.daemons.push(pid);
        state::save(state)?;
    }
    Ok(())
}

/// The build proper; on error the caller tears the reserved id down.
fn build(state: &mut SandboxState, macs: &NodeMacs) -> Result<()> {
    let t0 = std::time::Instant::now();
    let mut all: Vec<String> = state.pods.iter().map(|p| p.netns.clone()).collect();
    all.push(state.node_netns.clone());
    all.push(state.world_netns.clone());
    all.extend(state.extra_nodes.iter().map(|n| n.netns.clone()));
    all.extend(state.lan_netns.clone());
    create_netns(&all)?;
    trace::mark(t0, "netns created");
    if state.config.uses_socket_lb() {
        crate::socklb_cgroup::create(&state.id)?;
    }
    let listener = topology::build(state, macs)?;
    trace::mark(t0, "links, addresses, routes");
    // iptables-restore only after the node's links exist: while it exits it holds the
    // netns' nftables commit mutex, which link registration in that netns also takes
    // (under the global RTNL), so overlapping them serialises everything.
    let mut restores = Vec::new();
    for ns in std::iter::once(&state.node_netns).chain(state.extra_nodes.iter().map(|n| &n.netns)) {
        match iptables::start(&state.config, ns) {
            Ok(r) => restores.push(r),
            Err(e) => {
                restores.into_iter().for_each(iptables::Restore::abort);
                return Err(e);
            }
        }
    }
    trace::mark(t0, "iptables-restore spawned");
    let result = (|| {
        let watch = tplab_netns::path_of(&state.world_netns);
        let pid = daemon::spawn_http(&state.id, &listener, &watch)?;
        state.daemon_pid = Some(pid);
        trace::mark(t0, "daemon spawned");
        serve_pods(state)?;
        state::save(state)
    })();
    match result {
        Ok(()) => {
            let mut first_err = None;
            for r in restores {
                if let Err(e) = r.finish() {
                    first_err.get_or_insert(e);
                }
            }
            if let Some(e) = first_err {
                return Err(e);
            }
        }
        Err(e) => {
            restores.into_iter().for_each(iptables::Restore::abort);
            return Err(e);
        }
    }
    trace::mark(t0, "iptables rules committed");
    state.phase = Phase::Up;
    state::save(state)
}

impl Sandbox {
    /// Builds a sandbox with a fresh random id. Async wrapper of [`Sandbox::up_blocking`]
    /// (the work runs on dedicated threads, never `setns` on a tokio worker).
    pub async fn up(config: SandboxConfig) -> Result<Sandbox> {
        tokio::task::spawn_blocking(move || Sandbox::up_blocking(&config))
            .await
            .map_err(|_| SandboxError::Netns(tplab_netns::NetnsError::ThreadPanicked))?
    }

    /// Builds a sandbox with a fresh random id.
    pub fn up_blocking(config: &SandboxConfig) -> Result<Sandbox> {
        Sandbox::up_with_id(None, config)
    }

    /// Builds a sandbox with the given id (tests use it to know what to look for), or a
    /// random one with `None`. Fails with `IdTaken` if the id exists.
    pub fn up_with_id(id: Option<&str>, config: &SandboxConfig) -> Result<Sandbox> {
        tools::check_privileges("sandbox up")?;
        config.validate()?;
        let _permit = signals::build_permit()?;
        let macs = NodeMacs {
            cilium_host: random_mac(),
            cilium_net: random_mac(),
            node: random_mac(),
            world: random_mac(),
        };
        let (mut st, lock) = reserve(id, config, &macs)?;
        signals::register(&st.id);
        match build(&mut st, &macs) {
            Ok(()) => Ok(Sandbox {
                state: st,
                _lock: Arc::new(lock),
            }),
            Err(e) => {
                cleanup::teardown(&st.id);
                Err(e)
            }
        }
    }

    /// Finds a sandbox by id through its state file, and takes its lock (shared) for as
    /// long as the returned value (or a clone) lives. Fails with `Busy` while a `down`
    /// removes it.
    pub fn attach(id: &str) -> Result<Sandbox> {
        let id = state::checked(id)?;
        // Loaded before locking so that attaching to a missing id leaves no lock file.
        state::load(id)?;
        let lock = lock::use_lock(id)?;
        // Loaded again under the lock: a teardown may have finished in between.
        Ok(Sandbox {
            state: state::load(id)?,
            _lock: Arc::new(lock),
        })
    }

    /// Every sandbox with a readable state file, oldest first.
    pub fn list() -> Vec<SandboxSummary> {
        let mut out: Vec<SandboxSummary> = state::ids_on_disk()
            .iter()
            .filter_map(|id| state::load(id).ok())
            .map(|st| summary(&st))
            .collect();
        out.sort_by_key(|s| s.created_at);
        out
    }

    /// Health of this sandbox now.
    pub fn status(&self) -> SandboxSummary {
        summary(&self.state)
    }

    pub fn id(&self) -> &str {
        &self.state.id
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.state.config
    }

    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Netns file of a role (`None` for `local`, or an unknown pod).
    pub fn netns_path(&self, role: &Role) -> Option<PathBuf> {
        let name = match role {
            Role::Pod => &self.state.pods.first()?.netns,
            Role::NamedPod(n) => &self.state.pods.iter().find(|p| &p.name == n)?.netns,
            Role::Node | Role::Agent => &self.state.node_netns,
            Role::NamedNode(n) | Role::NamedAgent(n) => self.state.node_netns_of(*n)?,
            Role::World => &self.state.world_netns,
            Role::Local => return None,
        };
        Some(tplab_netns::path_of(name))
    }

    /// The roles this sandbox binds: the fixed ones, then `node2`… and `pod:<name>`.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = Role::ALL.to_vec();
        roles.extend((2..=self.state.extra_nodes.len() + 1).map(Role::NamedNode));
        roles.extend((2..=self.state.extra_nodes.len() + 1).map(Role::NamedAgent));
        roles.extend(
            self.state
                .pods
                .iter()
                .skip(1)
                .map(|p| Role::NamedPod(p.name.clone())),
        );
        roles
    }

    /// Directory prepended to the role's PATH (drop shims such as `cilium` there). It is
    /// not created until [`Sandbox::ensure_bin_dir`] is called; removed by teardown.
    pub fn bin_dir(&self, role: &Role) -> PathBuf {
        bin_dir_of(&self.state.id, role)
    }

    /// Creates (if needed) and returns the role's bin dir.
    pub fn ensure_bin_dir(&self, role: &Role) -> Result<PathBuf> {
        let dir = self.bin_dir(role);
        std::fs::create_dir_all(&dir)
            .map_err(|e| SandboxError::io(format!("creating {}", dir.display()), e))?;
        Ok(dir)
    }

    /// Facts for templates and checks (`pod_ip`, `gateway_ip`, `lxc_name`, `lxc_mac`, ...).
    pub fn facts(&self) -> BTreeMap<String, String> {
        crate::facts::facts(&self.state)
    }

    fn check_role(&self, role: &Role) -> Result<()> {
        if let Role::NamedPod(n) = role
            && !self.state.pods.iter().any(|p| &p.name == n)
        {
            return Err(SandboxError::NoSuchPod {
                id: self.state.id.clone(),
                pod: n.clone(),
            });
        }
        if let Role::NamedNode(n) | Role::NamedAgent(n) = role
            && self.state.node_netns_of(*n).is_none()
        {
            return Err(SandboxError::UnknownRole {
                role: format!(
                    "{role} (sandbox {} has {} node(s))",
                    self.state.id,
                    self.state.extra_nodes.len() + 1
                ),
            });
        }
        Ok(())
    }

    /// `program args...` in the role, with the role's environment (no shell).
    pub fn std_command_argv<S: AsRef<std::ffi::OsStr>>(
        &self,
        role: &Role,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[S],
    ) -> Result<Command> {
        self.check_role(role)?;
        let mut cmd = Command::new(program);
        cmd.args(args);
        roles::apply_env(&mut cmd, &self.state.id, role, &self.bin_dir(role));
        if self.in_lb_cgroup(role) {
            let dir = crate::socklb_cgroup::cgroup_dir(&self.state.id)?;
            crate::socklb_cgroup::join_in_child(&mut cmd, &dir)?;
        }
        if let Some(ns) = self.netns_path(role) {
            roles::enter_netns(&mut cmd, &ns)?;
        }
        Ok(cmd)
    }

    /// Pods and nodes run in the socket LB's cgroup (as every process of a Cilium node
    /// with its kube-proxy replacement is under the cgroup root its programs attach to);
    /// the world and the local machine are outside the cluster.
    fn in_lb_cgroup(&self, role: &Role) -> bool {
        self.state.config.uses_socket_lb() && !matches!(role, Role::World | Role::Local)
    }

    /// `sh -c <script>` in the role (std flavour).
    pub fn std_command(&self, role: &Role, script: &str) -> Result<Command> {
        self.std_command_argv(role, "sh", &["-c", script])
    }

    /// `sh -c <script>` in the role, for tokio.
    pub fn command(&self, role: &Role, script: &str) -> Result<tokio::process::Command> {
        self.std_command(role, script)
            .map(tokio::process::Command::from)
    }

    /// An interactive shell in the role (prompt `[tplab <id> <role>] <cwd># `); blocks until
    /// it exits. It gets the terminal's foreground, so Ctrl-C stays inside the shell.
    pub fn shell(&self, role: &Role) -> Result<ExitStatus> {
        let bash = tools::has_tool("bash");
        let mut cmd = if bash {
            self.std_command_argv(role, "bash", &["--norc", "--noprofile", "-i"])?
        } else {
            self.std_command_argv(role, "sh", &["-i"])?
        };
        // Role *and* sandbox: with several sandboxes up, a shell says which one it is in.
        let id = &self.state.id;
        let prompt = if bash {
            format!("[tplab {id} {role}] \\w# ")
        } else {
            format!("[tplab {id} {role}] # ")
        };
        cmd.env("PS1", prompt);
        roles::foreground_child(&mut cmd);
        let status = cmd
            .status()
            .map_err(|e| SandboxError::io(format!("starting a shell in role {role}"), e));
        roles::reclaim_terminal();
        status
    }

    /// Adds a pod to the running sandbox (e.g. a second pod 10.244.0.214 on the node);
    /// it becomes role `pod:<name>`.
    pub fn add_pod(&mut self, pod: &PodConfig) -> Result<()> {
        tools::check_privileges("sandbox up")?;
        pod.validate()?;
        let mut config = self.state.config.clone();
        config.pods.push(pod.clone());
        config.validate()?;
        let planned = plan_pod(&self.state.id, pod);
        create_netns(std::slice::from_ref(&planned.netns))?;
        let mut next = self.state.clone();
        next.config = config;
        next.pods.push(planned.clone());
        // Save first so a crash from here on leaves a teardown-able record.
        let result = state::save(&next).and_then(|()| topology::add_pod(&next, &planned));
        if let Err(e) = result {
            // Deleting the pod netns also deletes its veth pair and the node route.
            let _ = tplab_netns::delete(&planned.netns);
            let _ = state::save(&self.state);
            return Err(e);
        }
        self.state = next;
        Ok(())
    }

    /// Removes a pod added by [`Sandbox::add_pod`] (netns, veth, node route, state, bin
    /// dir); the first pod (role `pod`) only goes with the sandbox.
    pub fn remove_pod(&mut self, name: &str) -> Result<()> {
        tools::check_privileges("sandbox up")?;
        self.state = crate::pod_remove::remove(&self.state, name)?;
        Ok(())
    }

    /// Starts a further daemon of this sandbox: this binary re-executed as
    /// `<DAEMON_MARKER> <kind> --id <id> --fd 3 <args...>`, `listener` passed as fd 3, in
    /// its own session. Its pid is recorded in the state, so teardown stops it (and
    /// `down --all` finds it by its command line after a SIGKILL). The caller's `main`
    /// must dispatch `kind` before [`crate::dispatch_if_daemon`].
    pub fn spawn_daemon(
        &mut self,
        kind: &str,
        args: &[std::ffi::OsString],
        listener: &std::net::TcpListener,
    ) -> Result<u32> {
        let pid = daemon::spawn(kind, &self.state.id, args, listener)?;
        let mut next = self.state.clone();
        next.daemons.push(pid);
        if let Err(e) = state::save(&next) {
            daemon::stop(pid, &self.state.id);
            return Err(e);
        }
        self.state = next;
        Ok(pid)
    }

    /// Lets the sandbox outlive this process: the signal cleanup of
    /// [`crate::install_signal_cleanup`] no longer tears it down.
    pub fn persist(&self) {
        signals::forget(&self.state.id);
    }

    /// Tears the sandbox down (netns, daemon, state, pin dir).
    pub fn down(self) -> DownReport {
        cleanup::teardown(&self.state.id)
    }
}

fn summary(st: &SandboxState) -> SandboxSummary {
    let mut names = vec![st.node_netns.as_str(), st.world_netns.as_str()];
    names.extend(st.pods.iter().map(|p| p.netns.as_str()));
    names.extend(st.extra_nodes.iter().map(|n| n.netns.as_str()));
    names.extend(st.lan_netns.as_deref());
    SandboxSummary {
        id: st.id.clone(),
        phase: st.phase,
        created_at: st.created_at,
        pods: st.pods.iter().map(|p| p.name.clone()).collect(),
        netns_ok: names.iter().all(|n| topology::netns_exists(n)),
        daemon_ok: st
            .daemon_pid
            .is_some_and(|pid| daemon::daemon_id(pid).as_deref() == Some(st.id.as_str())),
        owner_uid: st.owner_uid,
        users: lock::lock_holders(&st.id),
    }
}
