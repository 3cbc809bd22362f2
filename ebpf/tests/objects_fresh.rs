//! The committed `.bpf.o` objects must match their C sources: rebuild them with
//! `ebpf/build.sh` into a temp dir and compare what the kernel gets (program bytecode,
//! relocations, maps, rodata, license) — debug info is left out of the comparison.
//! Skipped, with the reason, when clang or llvm-objdump is missing.

use std::path::Path;
use std::process::Command;

use tplab_testkit::{Failed, Suite, fail};

const OBJECTS: [&str; 4] = [
    "bpf/bpf_lxc.o",
    "bpf/observer.bpf.o",
    "bpf/sock_lb.bpf.o",
    "tests/fixtures/bad.bpf.o",
];

fn tool(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        Command::new(n)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| (*n).to_string())
    })
}

/// The kernel-relevant text of an object: disassembly with relocations plus data sections.
fn fingerprint(objdump: &str, obj: &Path) -> Result<String, Failed> {
    let out = Command::new(objdump)
        .args([
            "-d",
            "-r",
            "-s",
            "-j",
            "classifier",
            "-j",
            "cgroup/connect4",
            "-j",
            "cgroup/sendmsg4",
            "-j",
            "cgroup/recvmsg4",
            "-j",
            "cgroup/getpeername4",
            "-j",
            ".rodata",
            "-j",
            ".maps",
            "-j",
            "license",
        ])
        .arg(obj)
        .output()
        .map_err(fail)?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr)));
    }
    // The first lines name the file; drop them.
    let mut text: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains(&*obj.to_string_lossy()))
        .collect::<Vec<_>>()
        .join("\n");
    // Map definitions (type, max_entries...) live in BTF types, not in `.maps` bytes.
    if let Ok(btf) = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(obj)
        .output()
        && btf.status.success()
    {
        text.push_str(&String::from_utf8_lossy(&btf.stdout));
    }
    Ok(text)
}

fn objects_match_sources(objdump: &str) -> Result<(), Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().map_err(fail)?;
    let out = Command::new(root.join("build.sh"))
        .arg(tmp.path())
        .output()
        .map_err(fail)?;
    if !out.status.success() {
        return Err(fail(format!(
            "ebpf/build.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let mut stale = Vec::new();
    for rel in OBJECTS {
        let committed = root.join(rel);
        let fresh = tmp
            .path()
            .join(Path::new(rel).file_name().unwrap_or_default());
        if fingerprint(objdump, &committed)? != fingerprint(objdump, &fresh)? {
            stale.push(rel);
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(fail(format!(
            "stale eBPF objects {stale:?}: run `ebpf/build.sh` and commit the .bpf.o files"
        )))
    }
}

fn main() {
    let clang = tool(&["clang", "clang-14"]);
    let objdump = tool(&["llvm-objdump", "llvm-objdump-14"]);
    let trial = match (clang, objdump) {
        (Some(_), Some(objdump)) => {
            libtest_mimic::Trial::test("committed objects match their C sources", move || {
                objects_match_sources(&objdump)
            })
        }
        (clang, _) => {
            let missing = if clang.is_none() {
                "clang"
            } else {
                "llvm-objdump"
            };
            eprintln!(
                "ignored `committed objects match their C sources`: {missing} not found (apt-get install clang llvm libbpf-dev)"
            );
            libtest_mimic::Trial::test("committed objects match their C sources", || Ok(()))
                .with_ignored_flag(true)
        }
    };
    Suite::new().trial(trial).run()
}
