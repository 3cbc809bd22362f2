//! BPF programs on interfaces: legacy tc filters must equal `tc -j filter show` and
//! `bpftool -j net`; TCX programs (attached here with aya) must be reported with the
//! ids, names and tags `bpftool -j prog show` gives.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use aya::programs::tc::{SchedClassifier, TcAttachType};
use serde_json::Value;
use tplab_probe::{FactKind, Outcome, Query, Verdict, evaluate};
use tplab_testkit::{Failed, check, fail};

use crate::support::{Rng, Topo, json, probe, s, same_set, sh};

/// Compiles the fixture program; `None` (test skipped) when clang is missing.
fn compile(dir: &Path) -> Result<Option<PathBuf>, Failed> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tpt_pass.bpf.c");
    let obj = dir.join("tpt_pass.o");
    let out = std::process::Command::new("clang")
        .args(["-O2", "-g", "-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output();
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "skipped: clang not found (apt-get install clang llvm) to build the test BPF program"
            );
            Ok(None)
        }
        Err(e) => Err(fail(format!("running clang: {e}"))),
        Ok(o) if !o.status.success() => Err(fail(format!(
            "clang failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ))),
        Ok(_) => Ok(Some(obj)),
    }
}

/// Keeps TCX links alive: a thread inside the netns holds the aya objects until dropped.
struct TcxHolder {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// (dev, direction, prog id)
    attached: Vec<(String, String, u32)>,
}

impl TcxHolder {
    fn start(ns: PathBuf, obj: PathBuf, hooks: Vec<(String, String)>) -> Result<Self, Failed> {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let res = tplab_netns::run_in(Some(&ns), move || {
                let mut keep = Vec::new();
                let mut attached = Vec::new();
                for (dev, dir) in hooks {
                    let r = (|| -> Result<u32, String> {
                        let mut ebpf = aya::Ebpf::load_file(&obj).map_err(|e| e.to_string())?;
                        let prog: &mut SchedClassifier = ebpf
                            .program_mut("tpt_pass")
                            .ok_or("no tpt_pass program")?
                            .try_into()
                            .map_err(|e: aya::programs::ProgramError| e.to_string())?;
                        prog.load().map_err(|e| e.to_string())?;
                        let ty = if dir == "ingress" {
                            TcAttachType::Ingress
                        } else {
                            TcAttachType::Egress
                        };
                        prog.attach(&dev, ty)
                            .map_err(|e| format!("attach {dev} {dir}: {e}"))?;
                        let id = prog.info().map_err(|e| e.to_string())?.id();
                        keep.push(ebpf);
                        Ok(id)
                    })();
                    match r {
                        Ok(id) => attached.push((dev, dir, id)),
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    }
                }
                let _ = ready_tx.send(Ok(attached));
                let _ = stop_rx.recv();
                drop(keep);
            });
            if let Err(e) = res {
                eprintln!("tcx holder: {e}");
            }
        });
        let attached = ready_rx
            .recv()
            .map_err(|_| fail("tcx holder thread died"))?
            .map_err(|e| fail(format!("attaching TCX programs: {e}")))?;
        Ok(TcxHolder {
            stop: Some(stop_tx),
            thread: Some(thread),
            attached,
        })
    }
}

impl Drop for TcxHolder {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Row = (
    String,
    String,
    String,
    u32,
    String,
    Option<String>,
    String,
    Option<bool>,
    Option<u64>,
);

fn ours(records: &[Value]) -> Vec<Row> {
    records
        .iter()
        .map(|p| {
            (
                s(p, "dev").unwrap_or_default(),
                s(p, "direction").unwrap_or_default(),
                s(p, "attach").unwrap_or_default(),
                u32::try_from(p["id"].as_u64().unwrap_or(0)).unwrap_or(0),
                s(p, "name").unwrap_or_default(),
                s(p, "prog_name"),
                s(p, "tag").unwrap_or_default(),
                p["direct_action"].as_bool(),
                p["pref"].as_u64(),
            )
        })
        .collect()
}

fn tc_reference(ns: &str, devs: &[String]) -> Result<Vec<Row>, Failed> {
    let mut rows = Vec::new();
    for dev in devs {
        for dir in ["ingress", "egress"] {
            let v = json(ns, &format!("tc -j filter show dev {dev} {dir}"))?;
            for f in v.as_array().into_iter().flatten() {
                let Some(o) = f.get("options") else { continue };
                rows.push((
                    dev.clone(),
                    dir.to_string(),
                    "tc".to_string(),
                    u32::try_from(o["prog"]["id"].as_u64().unwrap_or(0)).unwrap_or(0),
                    s(o, "bpf_name").unwrap_or_default(),
                    s(&o["prog"], "name"),
                    s(&o["prog"], "tag").unwrap_or_default(),
                    Some(o.get("direct-action").is_some()),
                    f["pref"].as_u64(),
                ));
            }
        }
    }
    Ok(rows)
}

fn tcx_reference(attached: &[(String, String, u32)]) -> Result<Vec<Row>, Failed> {
    let mut rows = Vec::new();
    for (dev, dir, id) in attached {
        let out = std::process::Command::new("bpftool")
            .args(["-j", "prog", "show", "id", &id.to_string()])
            .output()
            .map_err(|e| fail(format!("bpftool: {e}")))?;
        let p: Value =
            serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("bpftool json: {e}")))?;
        rows.push((
            dev.clone(),
            dir.clone(),
            "tcx".into(),
            *id,
            s(&p, "name").unwrap_or_default(),
            s(&p, "name"),
            s(&p, "tag").unwrap_or_default(),
            None,
            None,
        ));
    }
    Ok(rows)
}

pub fn tc_and_tcx_programs_equal_tc_and_bpftool() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let Some(obj) = compile(dir.path())? else {
        return Ok(());
    };
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 1, "tpt-probe-")?;
    let ns = topo.ns(0);
    let mut devs = Vec::new();
    for i in 0..rng.range(2, 3) {
        sh(
            ns,
            &format!(
                "ip link add p{i} type veth peer name q{i} && ip link set p{i} up && ip link set q{i} up"
            ),
        )?;
        devs.extend([format!("p{i}"), format!("q{i}")]);
    }
    let obj_s = obj.display().to_string();
    let mut tcx_hooks = Vec::new();
    for dev in &devs {
        for dir in ["ingress", "egress"] {
            match rng.range(0, 3) {
                0 => {}
                1 => tcx_hooks.push((dev.clone(), dir.to_string())),
                _ => {
                    let _ = sh(ns, &format!("tc qdisc add dev {dev} clsact"));
                    let mut prefs: Vec<u64> =
                        (0..rng.range(1, 2)).map(|_| rng.range(1, 60)).collect();
                    prefs.dedup();
                    for pref in prefs {
                        let da = if rng.coin() { "da" } else { "" };
                        sh(
                            ns,
                            &format!(
                                "tc filter add dev {dev} {dir} pref {pref} bpf {da} obj {obj_s} sec classifier"
                            ),
                        )?;
                    }
                }
            }
        }
    }
    // At least one of each attachment kind.
    sh(
        ns,
        &format!(
            "tc qdisc add dev p0 clsact 2>/dev/null; tc filter add dev p0 ingress pref 77 bpf da obj {obj_s} sec classifier"
        ),
    )?;
    tcx_hooks.push(("q0".into(), "ingress".into()));
    if rng.coin() {
        tcx_hooks.push(("q0".into(), "ingress".into()));
    }
    let holder = TcxHolder::start(topo.path(0), obj.clone(), tcx_hooks)?;

    let facts = probe(&topo.path(0), &[FactKind::Bpf])?.remove(0);
    let mut reference = tc_reference(ns, &devs)?;
    reference.extend(tcx_reference(&holder.attached)?);
    same_set("attached BPF programs", ours(&facts.records()), reference)?;

    // bpftool's own netlink view of the legacy filters agrees too.
    let net = json(ns, "bpftool -j net show")?;
    let bpftool_tc: Vec<(String, String, u32)> = net[0]["tc"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| s(e, "kind").is_some_and(|k| k.starts_with("clsact/")))
        .map(|e| {
            let kind = s(e, "kind").unwrap_or_default();
            (
                s(e, "devname").unwrap_or_default(),
                kind.trim_start_matches("clsact/").to_string(),
                u32::try_from(e["id"].as_u64().unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect();
    let ours_tc: Vec<(String, String, u32)> = facts
        .records()
        .iter()
        .filter(|p| p["attach"] == "tc")
        .map(|p| {
            (
                s(p, "dev").unwrap_or_default(),
                s(p, "direction").unwrap_or_default(),
                u32::try_from(p["id"].as_u64().unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect();
    same_set("tc programs vs bpftool net", ours_tc, bpftool_tc)?;

    // The check kind matches either attachment form (with `attach` narrowing it).
    for (dev, attach) in [("p0", "tc"), ("q0", "tcx")] {
        let q = Query::parse(
            "bpf_attached",
            serde_json::json!({"dev": dev, "direction": "ingress", "attach": attach, "name": {"regex": "tpt_pass"}}),
        )
        .map_err(fail)?;
        match evaluate(&q, &facts) {
            o if o.passed() => check!(
                o.evidence["record"]["attach"] == attach,
                "{dev}: expected {attach}, got {}",
                o.evidence
            ),
            other => return Err(fail(format!("{dev}: {other:?}"))),
        }
    }

    // A check naming one interface collects that interface only...
    let q = Query::parse(
        "bpf_attached",
        serde_json::json!({"dev": "p0", "direction": "ingress"}),
    )
    .map_err(fail)?;
    let one = tplab_probe::collect_for_sync(Some(&topo.path(0)), &q).map_err(fail)?;
    check!(
        !one.is_empty() && one.records().iter().all(|p| p["dev"] == "p0"),
        "dev-scoped facts: {one:?}"
    );
    // ...and lists the whole namespace when nothing is there, so the failure says what exists.
    let q = Query::parse("bpf_attached", serde_json::json!({"dev": "nope0"})).map_err(fail)?;
    let all = tplab_probe::collect_for_sync(Some(&topo.path(0)), &q).map_err(fail)?;
    check!(
        all.len() == facts.len(),
        "fallback lists every program ({} vs {})",
        all.len(),
        facts.len()
    );
    match evaluate(&q, &all) {
        Outcome {
            verdict: Verdict::Fail,
            found,
            ..
        } => check!(found.contains("p0 ingress (tc)"), "found: {found}"),
        other => return Err(fail(format!("dev nope0: {other:?}"))),
    }

    // TCX links are fd-owned: once the holder is gone they are no longer reported.
    drop(holder);
    let after = probe(&topo.path(0), &[FactKind::Bpf])?.remove(0);
    check!(
        after.records().iter().all(|p| p["attach"] == "tc"),
        "TCX programs still reported after detach"
    );
    let q = Query::parse(
        "bpf_attached",
        serde_json::json!({"dev": "q0", "attach": "tcx", "absent": true}),
    )
    .map_err(fail)?;
    check!(evaluate(&q, &after).passed(), "absent query after detach");
    Ok(())
}
