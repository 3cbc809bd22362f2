//! Root tests of the sandbox datapath on a real kernel: CT entries from ping and HTTP,
//! the `cilium` commands over them, legacy-tc visibility, and leaving nothing behind.

mod common;

use std::time::Duration;

use common::{NODE_IP, POD_IP, Topo, WORLD_IP, sh};
use tplab_ebpf::{CiliumCtx, CtDirection, Datapath, Proto, ct_entries};
use tplab_testkit::{Failed, Suite, check, fail};

fn attach(t: &Topo) -> Result<Datapath, Failed> {
    Datapath::attach(&t.node_path(), &t.lxc, &t.pin_dir).map_err(fail)
}

fn ctx(t: &Topo) -> CiliumCtx {
    CiliumCtx::new(
        t.pin_dir.clone(),
        t.node_path(),
        t.lxc.clone(),
        POD_IP.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
    )
}

fn run_cilium(t: &Topo, args: &[&str], monitor_for: Option<Duration>) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = tplab_ebpf::cilium_run(&args, &ctx(t), &mut out, &mut err, monitor_for);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

fn ping_makes_icmp_out_entry() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let dp = attach(&t)?;
    t.ping(2, "0.2").map_err(fail)?;
    let entries = ct_entries(&t.pin_dir).map_err(fail)?;
    let e = entries
        .iter()
        .find(|e| e.proto == Proto::Icmp && e.dst.to_string() == WORLD_IP && !e.related)
        .ok_or_else(|| fail(format!("no ICMP entry to {WORLD_IP}: {entries:?}")))?;
    check!(
        e.direction == CtDirection::Out,
        "direction {:?}",
        e.direction
    );
    check!(e.src.to_string() == POD_IP, "src {}", e.src);
    check!(e.sport != 0 && e.dport == 0, "echo id as sport: {e:?}");
    check!(e.packets == 4, "2 requests + 2 replies: {e:?}");
    check!(e.bytes == 392, "98 bytes each as in the seed: {e:?}");
    check!(e.source_security_id == 42837, "identity {e:?}");
    // The agent command over the same state.
    let (code, out, _) = run_cilium(&t, &["bpf", "ct", "list", "global"], None);
    check!(code == 0, "ct list exit {code}");
    let line = out
        .lines()
        .find(|l| l.contains(WORLD_IP))
        .ok_or_else(|| fail(format!("ct list has no {WORLD_IP}:\n{out}")))?;
    let want = format!("ICMP OUT {POD_IP}:{} -> {WORLD_IP}:0 expires=", e.sport);
    check!(line.starts_with(&want), "line shape: {line}");
    check!(
        line.contains(" Packets=4 Bytes=392 RxFlagsSeen=0x00")
            && line.contains("TxFlagsSeen=0x00")
            && line.contains(
                "Flags=0x0000 [ ] RevNAT=0 SourceSecurityID=42837 IfIndex=0 BackendID=0 "
            ),
        "line fields: {line}"
    );
    // Cilium 1.16's layout, checked by bpftool: names, sizes, and the tuple's address
    // order (the opener's address first, in the field Cilium names `daddr`).
    check_layout_with_bpftool(&t, e.sport)?;
    // Visible where the seed looks.
    let tc = t
        .exec(&t.node, &["tc", "filter", "show", "dev", &t.lxc, "ingress"])
        .map_err(fail)?;
    check!(
        tc.contains(&format!(
            "filter protocol all pref 1 bpf chain 0 handle 0x1 cil_from_container-{} direct-action",
            t.lxc
        )),
        "tc filter show: {tc}"
    );
    let tc = t
        .exec(&t.node, &["tc", "filter", "show", "dev", &t.lxc, "egress"])
        .map_err(fail)?;
    check!(
        tc.contains(&format!("cil_to_container-{}", t.lxc)),
        "egress filter: {tc}"
    );
    dp.detach().map_err(fail)
}

/// `bpftool -j <args>` parsed.
fn bpftool(args: &[&str]) -> Result<serde_json::Value, Failed> {
    let mut argv = vec!["bpftool", "-j"];
    argv.extend_from_slice(args);
    let out = sh(&argv).map_err(fail)?;
    serde_json::from_str(&out).map_err(|e| fail(format!("bpftool {args:?}: {e}: {out}")))
}

fn ip_bytes(ip: &str) -> Vec<String> {
    ip.split('.')
        .map(|o| format!("0x{:02x}", o.parse::<u8>().unwrap_or(0)))
        .collect()
}

fn check_layout_with_bpftool(t: &Topo, echo_id: u16) -> Result<(), Failed> {
    let [tcp, any] = tplab_ebpf::ct_map_paths(&t.pin_dir);
    for (path, name) in [(&tcp, "cilium_ct4_glob"), (&any, "cilium_ct_any4_")] {
        let info = bpftool(&["map", "show", "pinned", &path.display().to_string()])?;
        check!(
            info["name"] == name
                && info["type"] == "lru_hash"
                && info["bytes_key"] == 14
                && info["bytes_value"] == 56,
            "map at {}: {info}",
            path.display()
        );
    }
    let dump = bpftool(&["map", "dump", "pinned", &any.display().to_string()])?;
    let entry = dump
        .as_array()
        .and_then(|a| a.first())
        .ok_or_else(|| fail(format!("empty any map: {dump}")))?;
    let key: Vec<String> = entry["key"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b.as_str().map(str::to_string))
        .collect();
    check!(key.len() == 14, "key bytes: {key:?}");
    check!(
        key[0..4] == ip_bytes(POD_IP)[..],
        "daddr first holds the pod: {key:?}"
    );
    check!(key[4..8] == ip_bytes(WORLD_IP)[..], "then saddr: {key:?}");
    let id = echo_id.to_be_bytes();
    check!(
        key[8..10] == ["0x00", "0x00"]
            && key[10..12] == [format!("0x{:02x}", id[0]), format!("0x{:02x}", id[1])],
        "dport 0 then sport = echo id {echo_id}: {key:?}"
    );
    check!(
        key[12] == "0x01" && key[13] == "0x00",
        "ICMP, TUPLE_F_OUT: {key:?}"
    );
    let tcp_dump = bpftool(&["map", "dump", "pinned", &tcp.display().to_string()])?;
    check!(
        tcp_dump.as_array().is_some_and(Vec::is_empty),
        "no TCP entry from a ping: {tcp_dump}"
    );
    Ok(())
}

fn tcx_attach_is_invisible_to_tc() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let opts = tplab_ebpf::DatapathOptions {
        attach: tplab_ebpf::AttachMode::Tcx,
        ..tplab_ebpf::DatapathOptions::default()
    };
    let dp = Datapath::attach_with(&t.node_path(), &t.lxc, &t.pin_dir, &opts).map_err(fail)?;
    t.ping(2, "0.2").map_err(fail)?;
    let entries = ct_entries(&t.pin_dir).map_err(fail)?;
    check!(
        entries
            .iter()
            .any(|e| e.proto == Proto::Icmp && e.packets == 4),
        "TCX programs fill the CT map: {entries:?}"
    );
    for dir in ["ingress", "egress"] {
        let tc = t
            .exec(&t.node, &["tc", "-j", "filter", "show", "dev", &t.lxc, dir])
            .map_err(fail)?;
        check!(
            tc.trim().is_empty() || tc.trim() == "[]",
            "tc filter show {dir} must be empty with TCX: {tc}"
        );
    }
    let progs = tplab_ebpf::tcx_programs(&t.node_path(), &t.lxc).map_err(fail)?;
    check!(
        progs.len() == 2 && progs.iter().all(|p| dp.prog_ids.contains(&p.id)),
        "TCX programs: {progs:?}"
    );
    // bpftool sees the TCX links (type 11) and names the programs wholly from BTF.
    let links = bpftool(&["link", "show"])?;
    let ours: Vec<&serde_json::Value> = links
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| {
            l["prog_id"]
                .as_u64()
                .is_some_and(|id| dp.prog_ids.iter().any(|p| u64::from(*p) == id))
        })
        .collect();
    check!(
        ours.len() == 2 && ours.iter().all(|l| l["type"] == 11 || l["type"] == "tcx"),
        "links: {links}"
    );
    let prog = bpftool(&["prog", "show", "id", &dp.prog_ids[0].to_string()])?;
    check!(prog["name"] == "cil_from_container", "prog: {prog}");
    // Pinned where Cilium pins an endpoint's links; the pin keeps them after we exit.
    let pins = tplab_ebpf::endpoint_links_dir(&t.pin_dir, 762);
    check!(
        pins.join("cil_from_container").exists() && pins.join("cil_to_container").exists(),
        "link pins under {}",
        pins.display()
    );
    let ids = dp.prog_ids.clone();
    drop(dp);
    check!(
        still_loaded(&ids)?.len() == 2,
        "pinned links keep the programs"
    );
    // Teardown after a kill: the pins go, the links and programs with them.
    tplab_ebpf::cleanup_pins(&t.id).map_err(fail)?;
    std::thread::sleep(Duration::from_millis(200));
    check!(
        tplab_ebpf::tcx_programs(&t.node_path(), &t.lxc)
            .map_err(fail)?
            .is_empty(),
        "TCX programs left after cleanup"
    );
    check!(
        still_loaded(&ids)?.is_empty(),
        "programs left: {:?}",
        still_loaded(&ids)?
    );
    Ok(())
}

fn unknown_layout_is_refused() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    // Pins of a different layout (ct_entry of Cilium <= 1.15: 64 bytes).
    let [tcp, any] = tplab_ebpf::ct_map_paths(&t.pin_dir);
    let dp = attach(&t)?; // creates the bpffs dirs
    dp.detach().map_err(fail)?;
    std::fs::create_dir_all(tcp.parent().unwrap_or(&t.pin_dir)).map_err(fail)?;
    for (path, name) in [(&tcp, "cilium_ct4_glob"), (&any, "cilium_ct_any4_")] {
        sh(&[
            "bpftool",
            "map",
            "create",
            &path.display().to_string(),
            "type",
            "hash",
            "key",
            "14",
            "value",
            "64",
            "entries",
            "16",
            "name",
            name,
        ])
        .map_err(fail)?;
    }
    let err = ct_entries(&t.pin_dir)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    check!(
        err.contains("64-byte values") && err.contains("Cilium 1.16"),
        "layout error: {err}"
    );
    let (code, _, stderr) = run_cilium(&t, &["bpf", "ct", "list", "global"], None);
    check!(
        code == 1 && stderr.contains("Cilium 1.16"),
        "ct list: {stderr}"
    );
    tplab_ebpf::cleanup_pins(&t.id).map_err(fail)?;
    Ok(())
}

fn http_makes_tcp_out_entry_with_flags() -> Result<(), Failed> {
    let mut t = Topo::new().map_err(fail)?;
    let dp = attach(&t)?;
    t.http_server().map_err(fail)?;
    t.exec(
        &t.pod,
        &[
            "wget",
            "-q",
            "-T",
            "5",
            "-O",
            "/dev/null",
            &format!("http://{WORLD_IP}/"),
        ],
    )
    .map_err(fail)?;
    std::thread::sleep(Duration::from_millis(300)); // let the FIN/ACK exchange finish
    let entries = ct_entries(&t.pin_dir).map_err(fail)?;
    let e = entries
        .iter()
        .find(|e| e.proto == Proto::Tcp && e.dport == 80)
        .ok_or_else(|| fail(format!("no TCP :80 entry: {entries:?}")))?;
    check!(
        e.direction == CtDirection::Out && e.src.to_string() == POD_IP,
        "{e:?}"
    );
    check!(e.tx_flags_seen & 0x13 == 0x13, "SYN|ACK|FIN sent: {e:?}");
    check!(
        e.rx_flags_seen & 0x13 == 0x13,
        "SYN|ACK|FIN received: {e:?}"
    );
    check!(e.flags == 0x13, "RxClosing TxClosing SeenNonSyn: {e:?}");
    check!(e.packets >= 7, "both directions counted: {e:?}");
    let (_, out, _) = run_cilium(&t, &["bpf", "ct", "list", "global"], None);
    let line = out
        .lines()
        .find(|l| l.starts_with("TCP OUT"))
        .unwrap_or_default();
    check!(
        line.contains(&format!("-> {WORLD_IP}:80 expires="))
            && line.contains("[ RxClosing TxClosing SeenNonSyn ]"),
        "ct list: {out}"
    );
    dp.detach().map_err(fail)
}

fn monitor_prints_the_flow() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let dp = attach(&t)?;
    let pinger = std::thread::spawn({
        let pod = t.pod.clone();
        move || {
            std::thread::sleep(Duration::from_millis(700));
            let _ = sh(&[
                "ip", "netns", "exec", &pod, "ping", "-c", "3", "-i", "0.2", WORLD_IP,
            ]);
        }
    });
    let (code, out, err) = run_cilium(&t, &["monitor"], Some(Duration::from_secs(3)));
    let _ = pinger.join();
    check!(code == 0, "monitor exit {code}: {err}");
    let req: Vec<&str> = out.lines().filter(|l| l.contains("EchoRequest")).collect();
    let rep: Vec<&str> = out.lines().filter(|l| l.contains("EchoReply")).collect();
    check!(
        req.len() == 3 && rep.len() == 3,
        "3 requests, 3 replies:\n{out}"
    );
    check!(
        req[0].starts_with("-> stack flow 0x")
            && req[0].contains("identity 42837->world state new ifindex 0 orig-ip 0.0.0.0: ")
            && req[0].ends_with(&format!("{POD_IP} -> {WORLD_IP} EchoRequest")),
        "request line: {}",
        req[0]
    );
    check!(req[1].contains("state established"), "{}", req[1]);
    check!(
        rep[0].starts_with("-> endpoint 762 flow 0x0 identity world->42837 state reply ifindex ")
            && rep[0].contains(&t.lxc),
        "reply line: {}",
        rep[0]
    );
    check!(
        err.contains("Initializing dissection cache"),
        "stderr: {err}"
    );
    dp.detach().map_err(fail)
}

fn nat_list_and_config_view() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let (code, out, err) = run_cilium(&t, &["bpf", "nat", "list"], None);
    check!(code != 0 && out.is_empty(), "nat list must fail: {code}");
    check!(
        err.contains(&format!(
            "Unable to open {}/tc/globals/cilium_snat_v4_external",
            t.pin_dir.display()
        )) && err.contains("cilium_snat_v6_external: no such file or directory. Skipping."),
        "nat list stderr: {err}"
    );
    let (code, out, _) = run_cilium(&t, &["config", "view"], None);
    check!(code == 0, "config view exit {code}");
    check!(
        out.lines()
            .any(|l| l == "enable-bpf-masquerade                  false")
            && out
                .lines()
                .any(|l| l == "masquerade                             true"),
        "config view: {out}"
    );
    let (code, out, _) = run_cilium(&t, &["--help"], None);
    check!(code == 0 && out.contains("NOT Cilium"), "help: {out}");
    let (code, _, err) = run_cilium(&t, &["bpf", "ct", "list", "global"], None);
    check!(
        code == 1 && err.contains("not pinned"),
        "ct list without datapath: {err}"
    );
    Ok(())
}

/// Program ids still loaded among `ids`, per `bpftool -j prog`.
fn still_loaded(ids: &[u32]) -> Result<Vec<u32>, Failed> {
    let out = sh(&["bpftool", "-j", "prog"]).map_err(fail)?;
    let progs: serde_json::Value = serde_json::from_str(&out).map_err(fail)?;
    Ok(progs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .filter_map(|id| u32::try_from(id).ok())
        .filter(|id| ids.contains(id))
        .collect())
}

fn detach_after_kill_leaves_nothing() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let dp = attach(&t)?;
    check!(dp.prog_ids.len() == 2, "prog ids {:?}", dp.prog_ids);
    t.ping(1, "0.2").map_err(fail)?;
    // As after a SIGKILL: no in-process state, only the netns, ifname and sandbox id.
    let ids = dp.prog_ids.clone();
    drop(dp);
    check!(
        still_loaded(&ids)?.len() == 2,
        "filters keep the programs alive"
    );
    tplab_ebpf::detach_all(&t.node_path(), &t.lxc).map_err(fail)?;
    tplab_ebpf::cleanup_pins(&t.id).map_err(fail)?;
    // Idempotent.
    tplab_ebpf::detach_all(&t.node_path(), &t.lxc).map_err(fail)?;
    tplab_ebpf::cleanup_pins(&t.id).map_err(fail)?;
    tplab_ebpf::detach_all(std::path::Path::new("/run/netns/tpt-ebpf-missing"), "lxc0")
        .map_err(fail)?;
    std::thread::sleep(Duration::from_millis(200)); // programs are freed after an RCU grace period
    check!(
        still_loaded(&ids)?.is_empty(),
        "programs left: {:?}",
        still_loaded(&ids)?
    );
    let net = t.exec(&t.node, &["bpftool", "-j", "net"]).map_err(fail)?;
    check!(
        !net.contains("from_container") && !net.contains("to_container"),
        "bpftool net: {net}"
    );
    let qd = t
        .exec(&t.node, &["tc", "qdisc", "show", "dev", &t.lxc])
        .map_err(fail)?;
    check!(!qd.contains("clsact"), "clsact left: {qd}");
    check!(!t.pin_dir.exists(), "pin dir left: {}", t.pin_dir.display());
    check!(ct_entries(&t.pin_dir).is_err(), "map still readable");
    let _ = NODE_IP;
    Ok(())
}

/// `target/debug/examples/ebpf_tool`, built by `cargo test` beside this test binary.
fn tool() -> Result<std::path::PathBuf, Failed> {
    let exe = std::env::current_exe().map_err(fail)?;
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .ok_or_else(|| fail("exe dir"))?;
    let tool = dir.join("examples/ebpf_tool");
    check!(
        tool.exists(),
        "{} missing (built by `cargo test`)",
        tool.display()
    );
    Ok(tool)
}

fn other_processes_attach_read_and_detach() -> Result<(), Failed> {
    let t = Topo::new().map_err(fail)?;
    let tool = tool()?;
    let (ns, pin) = (
        t.node_path().display().to_string(),
        t.pin_dir.display().to_string(),
    );
    // The loader process exits; its filters and the pinned map stay.
    sh(&[&tool.display().to_string(), "attach", &ns, &t.lxc, &pin]).map_err(fail)?;
    t.ping(3, "0.1").map_err(fail)?;
    // Another process (the agent-role shim) reads the CT map from the pin.
    let out = sh(&[
        &tool.display().to_string(),
        "cilium",
        &ns,
        &t.lxc,
        &pin,
        "bpf",
        "ct",
        "list",
        "global",
    ])
    .map_err(fail)?;
    check!(
        out.lines()
            .any(|l| l.starts_with(&format!("ICMP OUT {POD_IP}:"))
                && l.contains(&format!("-> {WORLD_IP}:0 "))
                && l.contains(" Packets=6 ")),
        "ct list from another process:\n{out}"
    );
    // And, from inside the node netns like `ip netns exec` (which remounts /sys).
    let out = t
        .exec(
            &t.node,
            &[
                &tool.display().to_string(),
                "cilium",
                &ns,
                &t.lxc,
                &pin,
                "bpf",
                "ct",
                "list",
                "global",
            ],
        )
        .map_err(fail)?;
    check!(
        out.contains(WORLD_IP),
        "ct list inside ip netns exec:\n{out}"
    );
    sh(&[&tool.display().to_string(), "detach", &ns, &t.lxc, &pin]).map_err(fail)?;
    let tc = t
        .exec(&t.node, &["tc", "filter", "show", "dev", &t.lxc, "ingress"])
        .map_err(fail)?;
    check!(tc.trim().is_empty(), "filters left: {tc}");
    check!(!t.pin_dir.exists(), "pin dir left");
    Ok(())
}

fn bad_object_reports_verifier_log() -> Result<(), Failed> {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bad.bpf.o"
    ))
    .map_err(fail)?;
    match tplab_ebpf::verify_object(&bytes, "bad.bpf.o") {
        Err(tplab_ebpf::EbpfError::Verifier { program, log, .. }) => {
            check!(program == "tplab_bad", "program {program}");
            check!(log.contains("map_value_or_null"), "verifier log: {log}");
            Ok(())
        }
        other => Err(fail(format!("expected a verifier error, got {other:?}"))),
    }
}

fn good_objects_pass_the_verifier() -> Result<(), Failed> {
    let a = tplab_ebpf::verify_object(tplab_ebpf::objects::BPF_LXC, "bpf_lxc.o").map_err(fail)?;
    let b =
        tplab_ebpf::verify_object(tplab_ebpf::objects::OBSERVER, "observer.bpf.o").map_err(fail)?;
    check!(a.len() == 2 && b.len() == 2, "{a:?} {b:?}");
    Ok(())
}

fn main() {
    Suite::new()
        .root_test(
            "ping makes an ICMP OUT CT entry like the seed",
            ping_makes_icmp_out_entry,
        )
        .root_test(
            "HTTP makes a TCP OUT CT entry with flags",
            http_makes_tcp_out_entry_with_flags,
        )
        .root_test(
            "TCX attach: CT filled, tc filter show empty, bpftool sees links",
            tcx_attach_is_invisible_to_tc,
        )
        .root_test(
            "a CT map of another layout is an error naming the version",
            unknown_layout_is_refused,
        )
        .root_test("cilium monitor prints the flow", monitor_prints_the_flow)
        .root_test(
            "cilium bpf nat list fails, config view shows masquerade",
            nat_list_and_config_view,
        )
        .root_test(
            "detach after a kill leaves nothing",
            detach_after_kill_leaves_nothing,
        )
        .root_test(
            "other processes attach, read the pin and detach",
            other_processes_attach_read_and_detach,
        )
        .root_test(
            "bad object reports the verifier log",
            bad_object_reports_verifier_log,
        )
        .root_test(
            "committed objects pass the verifier",
            good_objects_pass_the_verifier,
        )
        .run()
}
