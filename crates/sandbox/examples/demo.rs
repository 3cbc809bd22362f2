//! Brings a sandbox up, prints its facts and a few seed commands, tears it down (root).
//! `demo --shell ROLE` opens an interactive shell in ROLE instead of the commands.

use tplab_sandbox::{Role, Sandbox, SandboxConfig, SandboxGuard};

fn main() {
    tplab_sandbox::dispatch_if_daemon();
    let args: Vec<String> = std::env::args().collect();
    let t = std::time::Instant::now();
    let sb = match Sandbox::up_blocking(&SandboxConfig::default()) {
        Ok(sb) => SandboxGuard::new(sb),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("up in {:?}: {}", t.elapsed(), sb.id());
    if args.get(1).map(String::as_str) == Some("--shell") {
        let role: Role = args
            .get(2)
            .map_or("pod", String::as_str)
            .parse()
            .expect("role");
        let status = sb.shell(&role).expect("shell");
        println!("shell exited: {status}");
        return;
    }
    for (k, v) in sb.facts() {
        println!("{k}={v}");
    }
    for (role, script) in [
        (
            Role::Pod,
            "route -n; ping -c1 -W1 203.0.113.10 | tail -2; arp -an; wget -qO- http://203.0.113.10/",
        ),
        (
            Role::Node,
            "ip -br link; ip route; conntrack -L 2>/dev/null; iptables-save | grep -c KUBE",
        ),
    ] {
        let out = sb
            .std_command(&role, script)
            .expect("command")
            .output()
            .expect("run");
        println!(
            "--- {role}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let t = std::time::Instant::now();
    let report = sb.keep().down();
    println!("down in {:?}\n{report}", t.elapsed());
}
