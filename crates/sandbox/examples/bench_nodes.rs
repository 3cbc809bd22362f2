//! Times N rounds of up+down of a 3-node sandbox (issue 15's target: up under 300 ms):
//! 3 nodes on the private eth1 network, one more pod on each further node (node 3's
//! serving HTTP), a `ClusterIP` and a `NodePort` Service, so every node runs its own
//! `iptables-restore` with kube-proxy's chains. Prints medians, min and max. Needs root.
//! `cargo run --release -p tplab-sandbox --example bench_nodes -- [ROUNDS]`

use std::time::{Duration, Instant};

use tplab_sandbox::{PodConfig, Sandbox, SandboxConfig, ServiceConfig, ServiceType};

fn config() -> SandboxConfig {
    let mut cfg = SandboxConfig {
        nodes: 3,
        ..SandboxConfig::default()
    };
    for (name, node, serve) in [("client", 2, None), ("web", 3, Some(8080))] {
        let ip = cfg.free_pod_ip(node, &[]).expect("a free address");
        cfg.pods.push(PodConfig {
            name: name.into(),
            ip,
            node,
            serve,
            ..PodConfig::default()
        });
    }
    for (i, (name, kind, node_port)) in [
        ("web", ServiceType::ClusterIP, None),
        ("web-np", ServiceType::NodePort, Some(30080)),
    ]
    .into_iter()
    .enumerate()
    {
        cfg.services.push(ServiceConfig {
            name: name.into(),
            kind,
            cluster_ip: std::net::Ipv4Addr::new(10, 96, 0, 100 + u8::try_from(i).unwrap_or(0)),
            port: 80,
            target_port: 8080,
            node_port,
            backends: vec!["web".into()],
            lb: None,
            selector: std::collections::BTreeMap::new(),
        });
    }
    cfg
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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
    let cfg = config();
    let (mut ups, mut downs) = (Vec::new(), Vec::new());
    // Two warm-up rounds (module loading, page cache).
    for round in 0..rounds + 2 {
        let t = Instant::now();
        let sb = Sandbox::up_blocking(&cfg).expect("sandbox up");
        let up = t.elapsed();
        let t = Instant::now();
        let report = sb.down();
        let down = t.elapsed();
        assert!(report.errors.is_empty(), "{report}");
        if round >= 2 {
            ups.push(up);
            downs.push(down);
        }
    }
    ups.sort();
    downs.sort();
    let (median, min, max) = (ups[ups.len() / 2], ups[0], ups[ups.len() - 1]);
    println!(
        "3 nodes, 3 pods, 2 Services: up median {:.1} ms (min {:.1}, max {:.1}), down median {:.1} ms, {} rounds; target up < 300 ms: {}",
        ms(median),
        ms(min),
        ms(max),
        ms(downs[downs.len() / 2]),
        ups.len(),
        if median < Duration::from_millis(300) {
            "met"
        } else {
            "NOT met"
        }
    );
}
