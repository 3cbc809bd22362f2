//! Times N rounds of sandbox up+down, in-process (netlink + one iptables-restore) versus
//! the equivalent iproute2/iptables script `bench/sandbox/topology.sh`, interleaved in the
//! same run, and prints the figures and the ratio. Needs root.
//! `cargo run --release -p tplab-sandbox --example bench -- [ROUNDS]`

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tplab_sandbox::{DAEMON_MARKER, Sandbox, SandboxConfig};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/sandbox/topology.sh")
}

fn run_script(action: &str, id: &str) -> Duration {
    let exe = std::env::current_exe().expect("current exe");
    let httpd = format!(
        "{} {DAEMON_MARKER} http --id {id} --bind 203.0.113.10:80",
        exe.display()
    );
    let t = Instant::now();
    let status = Command::new("sh")
        .arg(script())
        .args([action, id])
        .env("HTTPD", httpd)
        .status()
        .expect("running topology.sh");
    let elapsed = t.elapsed();
    assert!(status.success(), "topology.sh {action} {id} failed");
    elapsed
}

struct Stats {
    up: Vec<Duration>,
    down: Vec<Duration>,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Stats {
    fn new() -> Self {
        Stats {
            up: Vec::new(),
            down: Vec::new(),
        }
    }
    fn total(&self) -> Duration {
        median(&self.up) + median(&self.down)
    }
    fn print(&self, name: &str) {
        println!(
            "{name:<28} up {:7.2} ms   down {:6.2} ms   up+down {:7.2} ms   (median of {})",
            ms(median(&self.up)),
            ms(median(&self.down)),
            ms(self.total()),
            self.up.len()
        );
    }
}

fn main() {
    tplab_sandbox::dispatch_if_daemon();
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    if let Err(e) = tplab_sandbox::check_privileges("bench") {
        eprintln!("{e}");
        std::process::exit(1);
    }
    let cfg = SandboxConfig::default();
    let mut native = Stats::new();
    let mut shell = Stats::new();
    // Two warm-up rounds each (module loading, page cache), then interleaved rounds.
    for round in 0..rounds + 2 {
        let t = Instant::now();
        let sb = Sandbox::up_blocking(&cfg).expect("sandbox up");
        let up = t.elapsed();
        let t = Instant::now();
        let report = sb.down();
        let down = t.elapsed();
        assert!(report.errors.is_empty(), "{report}");

        let id = format!("bench{round}");
        let s_up = run_script("up", &id);
        let s_down = run_script("down", &id);
        if round >= 2 {
            native.up.push(up);
            native.down.push(down);
            shell.up.push(s_up);
            shell.down.push(s_down);
        }
    }
    native.print("in-process (netlink)");
    shell.print("topology.sh (iproute2)");
    println!(
        "ratio script/in-process: up {:.2}x, up+down {:.2}x",
        ms(median(&shell.up)) / ms(median(&native.up)),
        ms(shell.total()) / ms(native.total())
    );
}
