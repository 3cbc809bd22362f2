//! Small driver for the benchmark, the cross-process tests and manual poking (run as root):
//!
//! ```text
//! ebpf_tool attach  NODE_NETNS LXC PIN_DIR
//! ebpf_tool detach  NODE_NETNS LXC PIN_DIR
//! ebpf_tool observe SECONDS NETNS:IFNAME:LABEL...   (prints events per label, lost, cpu)
//! ebpf_tool cilium  NODE_NETNS LXC PIN_DIR ARGS...  (the sandbox `cilium` commands)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tplab_ebpf::{CiliumCtx, Datapath, ObservePoint, Observer, cilium_main, detach_all};

fn usage() -> i32 {
    eprintln!(
        "usage: ebpf_tool attach|detach NODE_NETNS LXC PIN_DIR\n       \
         ebpf_tool observe SECONDS NETNS:IFNAME:LABEL...\n       \
         ebpf_tool cilium NODE_NETNS LXC PIN_DIR ARGS..."
    );
    2
}

fn run(args: &[String]) -> Result<i32, String> {
    match args {
        [cmd, ns, lxc, pin] if cmd == "attach" => {
            let dp = Datapath::attach(&PathBuf::from(ns), lxc, &PathBuf::from(pin))
                .map_err(|e| e.to_string())?;
            println!("attached, program ids {:?}", dp.prog_ids);
            Ok(0)
        }
        [cmd, ns, lxc, pin] if cmd == "detach" => {
            detach_all(&PathBuf::from(ns), lxc).map_err(|e| e.to_string())?;
            tplab_ebpf::cleanup_pin_dir(&PathBuf::from(pin)).map_err(|e| e.to_string())?;
            Ok(0)
        }
        [cmd, secs, points @ ..] if cmd == "observe" && !points.is_empty() => {
            let secs: f64 = secs.parse().map_err(|_| format!("bad SECONDS `{secs}`"))?;
            let points = points
                .iter()
                .map(|p| match p.splitn(3, ':').collect::<Vec<_>>().as_slice() {
                    [ns, ifname, label] => Ok(ObservePoint {
                        netns: PathBuf::from(ns),
                        ifname: (*ifname).to_string(),
                        label: (*label).to_string(),
                    }),
                    _ => Err(format!("bad point `{p}`: want NETNS:IFNAME:LABEL")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut obs = Observer::start(points).map_err(|e| e.to_string())?;
            println!("observing");
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            while Instant::now() < end {
                for ev in obs.drain() {
                    *counts.entry(ev.label).or_default() += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let lost = obs.lost();
            for ev in obs.stop() {
                *counts.entry(ev.label).or_default() += 1;
            }
            for (label, n) in &counts {
                println!("events {label} {n}");
            }
            println!("lost {lost}");
            // Our own CPU time: the userspace share of the observer's cost.
            // SAFETY: getrusage fills the zeroed struct we own.
            let ru = unsafe {
                let mut ru: libc::rusage = std::mem::zeroed();
                libc::getrusage(libc::RUSAGE_SELF, &raw mut ru);
                ru
            };
            #[allow(clippy::cast_precision_loss)] // seconds of CPU: tiny values
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            println!("cpu {:.2}", secs(ru.ru_utime) + secs(ru.ru_stime));
            Ok(0)
        }
        [cmd, ns, lxc, pin, rest @ ..] if cmd == "cilium" => {
            let ctx = CiliumCtx::new(
                PathBuf::from(pin),
                PathBuf::from(ns),
                lxc.clone(),
                std::net::Ipv4Addr::new(10, 244, 0, 213),
            );
            Ok(cilium_main(rest, &ctx))
        }
        _ => Ok(usage()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&args).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        1
    });
    std::process::exit(code);
}
