//! The sandbox looks like Cilium 1.16 (root): rule shapes through the `firewall` facts
//! (and `iptables-save`, `nft -j`), program names and attach mode through the bpf facts
//! (and `tc -j`, `bpftool -j`), the CT maps' names and layout after a real ping (and
//! `bpftool -j map dump`), and each agent command by its output, in both attach modes.

use tplab_testkit::{Suite, check};

use crate::harness::{Failed, fail, tplab};
use crate::sandbox::SANDBOX_LOCK;

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "cilium_fidelity::legacy_tc_chains_names_ct_and_commands",
            || fidelity("tc"),
        )
        .root_test("cilium_fidelity::tcx_attach_is_invisible_to_tc", || {
            fidelity("tcx")
        })
        .root_test(
            "cilium_fidelity::bad_attach_mode_is_a_usage_error",
            bad_attach_mode,
        )
        .root_test(
            "cilium_fidelity::foreign_ct_layout_is_an_error_verdict",
            foreign_layout,
        )
}

const LAB: &str = "tests/fixtures/labs/cilium-fidelity.md";

/// A sandbox brought up with `--datapath-attach MODE`, removed on drop.
struct Up {
    id: String,
    facts: serde_json::Value,
}

impl Up {
    fn new(mode: &str) -> Result<Up, Failed> {
        let out = tplab(["sandbox", "up", "--json", "--datapath-attach", mode]).run();
        out.success()?;
        let json = out.json()?;
        let id = json["id"]
            .as_str()
            .ok_or_else(|| fail("no id"))?
            .to_string();
        Ok(Up {
            id,
            facts: json["facts"].clone(),
        })
    }

    fn fact(&self, key: &str) -> String {
        self.facts[key].as_str().unwrap_or_default().to_string()
    }

    fn exec(&self, role: &str, script: &str) -> crate::harness::Output {
        tplab([
            "sandbox",
            "exec",
            role,
            "--sandbox",
            &self.id,
            "--",
            "sh",
            "-c",
            script,
        ])
        .run()
    }

    fn json(&self, role: &str, script: &str) -> Result<serde_json::Value, Failed> {
        let out = self.exec(role, script);
        out.success()?;
        out.json()
    }

    fn probe(&self, role: &str, kind: &str) -> Result<Vec<serde_json::Value>, Failed> {
        let out = tplab(["probe", role, kind, "--json", "--sandbox", &self.id]).run();
        out.success()?;
        Ok(out.json()?["facts"][0]["records"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

fn fidelity(mode: &str) -> Result<(), Failed> {
    let _l = SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sb = Up::new(mode)?;
    check!(sb.fact("datapath_attach") == mode, "facts: {}", sb.facts);
    let lxc = sb.fact("lxc_name");
    // The masquerade still works: the world sees the node's address.
    sb.exec("pod", "ping -c 2 -W 2 203.0.113.10").success()?;
    sb.exec("pod", "wget -qO- -T 5 http://203.0.113.10/")
        .success()?
        .stdout_has("you came from 198.51.100.2")?;
    chains(&sb)?;
    programs(&sb, mode, &lxc)?;
    ct_maps(&sb)?;
    commands(&sb, mode, &lxc)?;
    // The same shapes as checks of a lab.
    tplab(["check", LAB, "--sandbox", &sb.id]).run().success()?;
    let pins = std::path::PathBuf::from(format!("/run/tplab/bpf/{}", sb.id));
    check!(pins.join("tc/globals/cilium_ct4_global").exists(), "pins");
    drop(sb);
    check!(!pins.exists(), "pins left after down: {}", pins.display());
    Ok(())
}

fn chains(sb: &Up) -> Result<(), Failed> {
    let rules = sb.probe("node", "firewall")?;
    let find = |chain: &str, target: &str| {
        rules
            .iter()
            .find(|r| r["chain"] == chain && r["target"] == target)
            .cloned()
    };
    let masq = find("CILIUM_POST_nat", "MASQUERADE")
        .ok_or_else(|| fail(format!("no MASQUERADE in CILIUM_POST_nat: {rules:?}")))?;
    check!(
        masq["table"] == "nat"
            && masq["src"] == "10.244.0.0/16"
            && masq["dst"] == "!10.244.0.0/16"
            && masq["out"] == "!cilium_+"
            && masq["comment"] == "cilium masquerade non-cluster",
        "masquerade rule: {masq}"
    );
    for (table, chain, base) in [
        ("nat", "CILIUM_POST_nat", "POSTROUTING"),
        ("nat", "CILIUM_PRE_nat", "PREROUTING"),
        ("nat", "CILIUM_OUTPUT_nat", "OUTPUT"),
        ("filter", "CILIUM_FORWARD", "FORWARD"),
        ("filter", "CILIUM_INPUT", "INPUT"),
        ("filter", "CILIUM_OUTPUT", "OUTPUT"),
        ("raw", "CILIUM_PRE_raw", "PREROUTING"),
        ("raw", "CILIUM_OUTPUT_raw", "OUTPUT"),
        ("mangle", "CILIUM_PRE_mangle", "PREROUTING"),
        ("mangle", "CILIUM_POST_mangle", "POSTROUTING"),
    ] {
        let feeder = rules
            .iter()
            .find(|r| r["table"] == table && r["chain"] == base && r["target"] == chain)
            .ok_or_else(|| fail(format!("no feeder {base} -> {chain}")))?;
        check!(
            feeder["position"] == 1
                && feeder["verdict"] == "jump"
                && feeder["comment"] == format!("cilium-feeder: {chain}"),
            "feeder: {feeder}"
        );
    }
    // Independent views: iptables-save and nft's JSON.
    let save = sb.exec("node", "iptables-save -t nat");
    save.success()?.stdout_has(
        "-A CILIUM_POST_nat -s 10.244.0.0/16 ! -d 10.244.0.0/16 ! -o cilium_+ -m comment --comment \"cilium masquerade non-cluster\" -j MASQUERADE",
    )?;
    save.stdout_has(
        "-A POSTROUTING -m comment --comment \"cilium-feeder: CILIUM_POST_nat\" -j CILIUM_POST_nat",
    )?;
    check!(
        !save.stdout.contains("-A POSTROUTING -s "),
        "a masquerade rule left in POSTROUTING:\n{}",
        save.stdout
    );
    let nft = sb.json("node", "nft -j list ruleset")?;
    let chain_names: Vec<String> = nft["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["chain"]["name"].as_str().map(str::to_string))
        .collect();
    for chain in [
        "CILIUM_POST_nat",
        "CILIUM_FORWARD",
        "CILIUM_PRE_raw",
        "CILIUM_POST_mangle",
    ] {
        check!(
            chain_names.iter().any(|c| c == chain),
            "nft has no chain {chain}: {chain_names:?}"
        );
    }
    Ok(())
}

fn programs(sb: &Up, mode: &str, lxc: &str) -> Result<(), Failed> {
    let progs = sb.probe("node", "bpf")?;
    let on_lxc: Vec<&serde_json::Value> = progs.iter().filter(|p| p["dev"] == lxc).collect();
    for (dir, name) in [
        ("ingress", "cil_from_container"),
        ("egress", "cil_to_container"),
    ] {
        let p = on_lxc
            .iter()
            .find(|p| p["direction"] == dir)
            .ok_or_else(|| fail(format!("nothing on {lxc} {dir}: {progs:?}")))?;
        check!(p["attach"] == mode && p["prog_name"] == name, "{dir}: {p}");
        if mode == "tc" {
            check!(p["name"] == format!("{name}-{lxc}"), "filter name: {p}");
        }
    }
    let tc = sb.exec("node", &format!("tc -j filter show dev {lxc} ingress"));
    tc.success()?;
    if mode == "tc" {
        tc.stdout_has(&format!("cil_from_container-{lxc}"))?;
    } else {
        check!(
            tc.stdout.trim().is_empty() || tc.stdout.trim() == "[]",
            "tc filter show with TCX: {}",
            tc.stdout
        );
        // bpftool sees the TCX links (bpftool >= 7.3 also lists them in `net show`).
        let ids: Vec<u64> = on_lxc.iter().filter_map(|p| p["id"].as_u64()).collect();
        let links = sb.json("node", "bpftool -j link show")?;
        let ours = links
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["prog_id"].as_u64().is_some_and(|id| ids.contains(&id)))
            .count();
        check!(ours == 2, "TCX links of {ids:?}: {links}");
    }
    Ok(())
}

fn ct_maps(sb: &Up) -> Result<(), Failed> {
    let list = sb.exec("agent", "cilium bpf ct list global");
    list.success()?;
    let icmp = list
        .stdout
        .lines()
        .find(|l| l.starts_with("ICMP OUT 10.244.0.213:") && l.contains("-> 203.0.113.10:0 "))
        .ok_or_else(|| fail(format!("no ICMP OUT line:\n{}", list.stdout)))?;
    check!(
        icmp.contains(" Packets=4 Bytes=392 ") && icmp.ends_with("BackendID=0 "),
        "1.16 shape: {icmp}"
    );
    let tcp = list
        .stdout
        .lines()
        .find(|l| l.starts_with("TCP OUT 10.244.0.213:") && l.contains("-> 203.0.113.10:80 "))
        .ok_or_else(|| fail(format!("no TCP OUT line:\n{}", list.stdout)))?;
    check!(tcp.contains("[ RxClosing TxClosing SeenNonSyn ]"), "{tcp}");
    // The same entries, read by bpftool from Cilium's pin paths.
    let root = format!("/run/tplab/bpf/{}/tc/globals", sb.id);
    for (map, count) in [("cilium_ct4_global", 1), ("cilium_ct_any4_global", 1)] {
        let dump = sb.json("node", &format!("bpftool -j map dump pinned {root}/{map}"))?;
        let entries = dump.as_array().cloned().unwrap_or_default();
        check!(entries.len() == count, "{map}: {dump}");
        let key: Vec<&str> = entries[0]["key"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b.as_str())
            .collect();
        // ipv4_ct_tuple: daddr (the pod, which opened the flow) first, then saddr.
        check!(
            key.len() == 14
                && key[0..4] == ["0x0a", "0xf4", "0x00", "0xd5"]
                && key[4..8] == ["0xcb", "0x00", "0x71", "0x0a"],
            "{map} key: {key:?}"
        );
    }
    Ok(())
}

fn commands(sb: &Up, mode: &str, lxc: &str) -> Result<(), Failed> {
    let attach = if mode == "tcx" { "TCX" } else { "Legacy TC" };
    for cmd in ["cilium", "cilium-dbg"] {
        sb.exec("agent", &format!("{cmd} status"))
            .success()?
            .stdout_has(&format!("Attach Mode:             {attach}\n"))?
            .stdout_has("Masquerading:            IPTables [IPv4: Enabled, IPv6: Disabled]")?
            .stdout_has("IPAM:                    IPv4: 2/65534 allocated from 10.244.0.0/16")?;
    }
    sb.exec("agent", "cilium endpoint list")
        .success()?
        .stdout_has("ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY")?
        .stdout_has("10.244.0.213   ready")?
        .stdout_has("reserved:host")?;
    // `bpf endpoint list` names the real lxc ifindex and MACs.
    let ifindex = sb.exec("node", &format!("cat /sys/class/net/{lxc}/ifindex"));
    let ifindex = ifindex.success()?.stdout.trim().to_string();
    sb.exec("agent", "cilium bpf endpoint list")
        .success()?
        .stdout_has(&format!(
            "10.244.0.213:0   id=762   sec_id=42837 flags=0x0000 ifindex={ifindex:<3} mac={} nodemac={}",
            sb.fact("pod_mac").to_uppercase(),
            sb.fact("lxc_mac").to_uppercase()
        ))?;
    sb.exec("agent", "cilium version")
        .success()?
        .stdout_has("Client: 1.16.5 ")?
        .stdout_has("Daemon: 1.16.5 ")?;
    sb.exec("agent", "cilium service list")
        .success()?
        .stdout_has("ID   Frontend   Service Type   Backend")?;
    sb.exec("agent", "cilium config view")
        .success()?
        .stdout_has(&format!(
            "enable-tcx                             {}\n",
            mode == "tcx"
        ))?;
    let unknown = sb.exec("agent", "cilium-dbg frobnicate");
    unknown.code(1)?.stderr_has(
        "Error: unknown command \"frobnicate\" for \"cilium-dbg\"\nRun 'cilium-dbg --help' for usage.",
    )?;
    Ok(())
}

fn bad_attach_mode() -> Result<(), Failed> {
    tplab(["sandbox", "up", "--datapath-attach", "xdp"])
        .run()
        .code(2)?
        .stderr_has("unknown datapath attach mode `xdp`")?;
    Ok(())
}

/// A CT map of another Cilium version's layout (64-byte `ct_entry`, Cilium <= 1.15) is
/// an error verdict naming the layout tplab reads, never a failure charged to the student.
fn foreign_layout() -> Result<(), Failed> {
    let _l = SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sb = Up::new("tc")?;
    sb.exec("pod", "ping -c 1 -W 2 203.0.113.10").success()?;
    tplab(["check", LAB, "--sandbox", &sb.id, "--step", "ct"])
        .run()
        .success()?;
    let pin = format!("/run/tplab/bpf/{}/tc/globals/cilium_ct_any4_global", sb.id);
    std::fs::remove_file(&pin).map_err(|e| fail(format!("{pin}: {e}")))?;
    let made = std::process::Command::new("bpftool")
        .args([
            "map",
            "create",
            &pin,
            "type",
            "hash",
            "key",
            "14",
            "value",
            "64",
            "entries",
            "16",
            "name",
            "cilium_ct_any4_",
        ])
        .status()
        .map_err(|e| fail(e.to_string()))?;
    check!(made.success(), "bpftool map create");
    let out = tplab(["check", LAB, "--sandbox", &sb.id, "--step", "ct"]).run();
    out.code(3)?;
    let text = format!("{}{}", out.stdout, out.stderr);
    check!(
        text.contains("64-byte values") && text.contains("Cilium 1.16"),
        "error names the layout:\n{text}"
    );
    check!(!text.contains("✘"), "charged as a failure:\n{text}");
    Ok(())
}
