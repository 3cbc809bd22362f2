//! What the Kubernetes API adds to `sandbox up` (root): brings sandboxes up and times
//! `tplab_kubeapi::start` on each (PKI, identity, kubeconfig, daemon spawn), median of N.
//! `sudo cargo run --release -p tplab-kubeapi --example bench_start [N]`

use std::time::Instant;

fn main() {
    tplab_kubeapi::dispatch_if_daemon();
    tplab_sandbox::dispatch_if_daemon();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    let mut times = Vec::new();
    for _ in 0..n {
        let mut sb =
            match tplab_sandbox::Sandbox::up_blocking(&tplab_sandbox::SandboxConfig::default()) {
                Ok(sb) => sb,
                Err(e) => {
                    eprintln!("sandbox up: {e}");
                    std::process::exit(1);
                }
            };
        let t0 = Instant::now();
        let started = tplab_kubeapi::start(&mut sb, &tplab_kubeapi::Faults::default());
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let _ = sb.down();
        if let Err(e) = started {
            eprintln!("start: {e}");
            std::process::exit(1);
        }
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "kube API start (PKI + kubeconfig + daemon spawn): median {:.2} ms, min {:.2} ms, max {:.2} ms over {n}",
        times[n / 2],
        times[0],
        times[n - 1]
    );
}
