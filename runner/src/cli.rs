//! Command-line interface definition (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[allow(clippy::doc_markdown)] // doc comments are clap help text, shown verbatim
#[command(
    name = "tplab",
    version,
    about = "Guided, self-verifying networking labs written in Markdown",
    long_about = "tplab turns a networking practical written in Markdown into a guided, \
                  self-verifying lab: it shows each step, runs or waits for the commands, \
                  checks the real state (netlink, eBPF, command output) and writes a report."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
#[allow(clippy::doc_markdown)] // doc comments are clap help text, shown verbatim
pub struct Global {
    /// Environment to run in: sandbox (default when the lab supports it), local, kube.
    #[arg(long, global = true, env = "TPLAB_ENV")]
    pub env: Option<String>,
    /// Write the session's report.json into this directory.
    #[arg(long, global = true, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Student identifier recorded in the report.
    #[arg(long, global = true, env = "TPLAB_STUDENT")]
    pub student: Option<String>,
    /// Instructor-issued nonce the report binds to.
    #[arg(long, global = true, env = "TPLAB_NONCE")]
    pub nonce: Option<String>,
    /// Machine-readable output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Disable colours (NO_COLOR is respected too).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Language of tplab's own messages (en, fr); default: the lab's `lang`.
    #[arg(long, global = true, value_parser = clap::builder::PossibleValuesParser::new(crate::lab::LANGS.iter().copied()))]
    pub lang: Option<String>,
    /// Use this running sandbox (see `tplab sandbox status`) instead of a fresh one.
    #[arg(long, global = true, env = "TPLAB_SANDBOX", value_name = "ID")]
    pub sandbox: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// Options of `--env kube` (docs/kubernetes.md).
#[derive(Debug, Args, Clone, Default)]
#[allow(clippy::doc_markdown)] // doc comments are clap help text, shown verbatim
pub struct KubeArgs {
    /// --env kube: the kubeconfig file (default: KUBECONFIG, else ~/.kube/config).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "Kubernetes (--env kube)"
    )]
    pub kubeconfig: Option<PathBuf>,
    /// --env kube: the kubeconfig context (default: its current context).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Kubernetes (--env kube)"
    )]
    pub context: Option<String>,
    /// --env kube: the namespace of the lab pod and node pod (default: the context's).
    #[arg(
        long,
        global = true,
        value_name = "NS",
        help_heading = "Kubernetes (--env kube)"
    )]
    pub namespace: Option<String>,
    /// --env kube: your own pod as the `pod` role (default: tplab creates a lab pod).
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Kubernetes (--env kube)"
    )]
    pub pod: Option<String>,
    /// --env kube: the lab pod's image (needs ping, wget, ip; default nicolaka/netshoot).
    #[arg(
        long,
        global = true,
        value_name = "IMAGE",
        help_heading = "Kubernetes (--env kube)"
    )]
    pub image: Option<String>,
    /// --env kube: the node pod's image (it only runs nsenter; default alpine).
    #[arg(
        long,
        global = true,
        value_name = "IMAGE",
        help_heading = "Kubernetes (--env kube)"
    )]
    pub node_image: Option<String>,
    /// --env kube: how long created pods may take to run (default 2m).
    #[arg(long, global = true, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Kubernetes (--env kube)")]
    pub pod_timeout: Option<std::time::Duration>,
    /// --env kube: a template value for this cluster, e.g. `--var world_ip=1.0.0.1` (repeatable).
    #[arg(long = "var", global = true, value_name = "KEY=VALUE", value_parser = crate::env::kube::options::parse_var, help_heading = "Kubernetes (--env kube)")]
    pub vars: Vec<(String, String)>,
}

impl KubeArgs {
    pub fn options(&self) -> crate::env::kube::KubeOptions {
        crate::env::kube::KubeOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            image: self.image.clone(),
            node_image: self.node_image.clone(),
            pod_timeout: self.pod_timeout,
            vars: self.vars.iter().cloned().collect(),
        }
    }
}

#[derive(Debug, Subcommand)]
#[allow(clippy::doc_markdown)] // doc comments are clap help text, shown verbatim
pub enum Command {
    /// Follow a lab step by step (guided; `--auto` or no TTY: tplab runs the solutions).
    Run(RunArgs),
    /// The lab in a browser page beside live terminals (loopback, with a token).
    Serve(ServeArgs),
    /// Evaluate a lab's checks against the current state only.
    Check(CheckArgs),
    /// Prove a lab solvable: each step's checks fail before its solution and pass after.
    Test(TestArgs),
    /// Validate labs statically, reporting problems as path:line:col.
    Lint(LintArgs),
    /// The built-in sandbox: the seed's topology in local network namespaces.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Print kernel facts of a role (links, addresses, routes, neighbours, bpf, conntrack).
    Probe(ProbeArgs),
    /// The sandbox's implementation of a few Cilium agent commands (not Cilium).
    Cilium(CiliumArgs),
    /// Render a report.json as HTML, Markdown, JUnit XML or Gradescope JSON.
    Report(tplab_report::ReportArgs),
    /// Grade a class from students' reports: gradebooks, integrity flags, summary.
    Grade(tplab_report::GradeArgs),
    /// Follow packets live through the sandbox: pod eth0 -> lxc -> routing -> node eth0.
    Trace(TraceArgs),
    /// Write a tplab lab from a Killercoda scenario or an Instruqt track (never runs its scripts).
    Import(ImportArgs),
    /// The node agent: answer fact queries (JSON lines, `tplab.facts/1`) from stdin on stdout.
    Agent(AgentArgs),
}

#[derive(Debug, Args)]
#[allow(clippy::doc_markdown)] // doc comments are clap help text, shown verbatim
pub struct AgentArgs {
    /// Where to look for the namespace holding a `pod_ip`: `/proc` (every process's) or a
    /// path prefix (`/run/netns/` for every named one). Repeatable; default: both.
    #[arg(long, value_name = "PREFIX")]
    pub scan: Vec<PathBuf>,
    /// Write one line per answered request to stderr (its id, answers and time): how
    /// round trips are counted from the agent's side.
    #[arg(long)]
    pub log_batches: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Role whose traffic to follow (default: pod).
    #[arg(long, default_value = "pod")]
    pub from: String,
    /// Only packets to or from this address, and the same flows after NAT rewrote it
    /// (a Service address translated to its backend, the replies back; default: any).
    #[arg(long)]
    pub to: Option<String>,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Send this command's traffic from the `--from` role while tracing (e.g. "ping -c 3 203.0.113.10").
    #[arg(long)]
    pub run: Option<String>,
}

fn parse_attach(text: &str) -> Result<tplab_sandbox::DatapathAttach, String> {
    text.parse()
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Bring a sandbox up and leave it running.
    Up {
        /// How the eBPF datapath attaches to the pod's lxc: `tc` (legacy tc filters, as in
        /// the seed; the default) or `tcx` (TCX links, as Cilium >= 1.16 on Linux >= 6.6).
        #[arg(long, value_name = "tc|tcx", value_parser = parse_attach)]
        datapath_attach: Option<tplab_sandbox::DatapathAttach>,
        /// Make its Kubernetes API answer like a failing cluster, for tests of error paths
        /// (repeatable; also `TPLAB_KUBEAPI_FAULTS=a,b`): exec-forbidden (RBAC denies
        /// pods/exec and pods/attach), psa-privileged (Pod Security "baseline" rejects
        /// privileged and host-namespace pods), image-pull (created pods never pull their
        /// image), slow-start=DURATION (created pods take that long to start),
        /// cilium-version=X.Y.Z (the Cilium pods run that version), no-cilium (no Cilium
        /// agent pod on the node).
        #[arg(long = "kube-fault", value_name = "MODE")]
        kube_fault: Vec<String>,
        /// Build the topology a lab's `sandbox:` front-matter block declares (nodes, pods,
        /// Services) instead of the seed's single node and pod.
        #[arg(long, value_name = "LAB")]
        lab: Option<std::path::PathBuf>,
    },
    /// Tear a sandbox down (your only one, or ID); `--all` removes every leftover of yours.
    /// Sandboxes a live tplab is building or using, and other users', are left alone.
    Down {
        /// Sandbox id (default: your only one up).
        id: Option<String>,
        /// Remove every sandbox of yours and every leftover, even after a crash or SIGKILL.
        #[arg(long)]
        all: bool,
        /// Also remove sandboxes a live tplab process is building or using.
        #[arg(long)]
        force: bool,
        /// Also remove other users' sandboxes (the owner is the user behind sudo).
        #[arg(long)]
        all_users: bool,
    },
    /// List sandboxes and their health.
    Status,
    /// An interactive shell in a role (pod, node, agent, world, local); KUBECONFIG is set.
    Shell { role: String },
    /// Print the path of the sandbox's kubeconfig (`export KUBECONFIG=$(tplab sandbox kubeconfig)`).
    Kubeconfig,
    /// Run a command in a role: `tplab sandbox exec pod -- ip route`.
    Exec {
        role: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Role whose network namespace to read (sandbox roles; `local` for this machine).
    pub role: String,
    /// links, addresses, routes, neighbours, bpf, conntrack (or all).
    pub kind: String,
}

#[derive(Debug, Args)]
pub struct CiliumArgs {
    /// e.g. `bpf ct list global`, `monitor`, `bpf nat list`, `config view`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Lab file (or a directory holding lab.md).
    pub lab: PathBuf,
    /// Never prompt: run every step's commands and solutions, then verify.
    #[arg(long)]
    pub auto: bool,
    /// Start again from the first step instead of resuming saved progress.
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Lab file (or a directory holding lab.md).
    pub lab: PathBuf,
    /// Port to listen on (default: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Address to listen on; anything but loopback needs --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// Allow --bind on an address other machines can reach.
    #[arg(long)]
    pub allow_remote: bool,
    /// Start again from the first step instead of resuming saved progress.
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Lab file (or a directory holding lab.md).
    pub lab: PathBuf,
    /// Only this step (its id); earlier steps are evaluated quietly for their captures.
    #[arg(long)]
    pub step: Option<String>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Lab file (or a directory holding lab.md).
    pub lab: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The source's platform.
    #[arg(value_enum)]
    pub platform: crate::import::Platform,
    /// The scenario folder (holding index.json) or track folder (holding track.yml).
    pub source: PathBuf,
    /// Write the lab into this folder (as DIR/lab.md).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Overwrite DIR/lab.md if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lab files or directories (every lab.md / *.md inside).
    #[arg(required = true)]
    pub labs: Vec<PathBuf>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}
