//! Loading `sock_lb.bpf.o`, filling its maps and attaching its programs to a cgroup.

use std::path::{Path, PathBuf};

use aya::maps::HashMap;
use aya::programs::links::FdLink;
use aya::programs::{CgroupAttachMode, CgroupSockAddr};

use super::layout::{Lb4Backend, Lb4Key, Lb4Service, SVC_FLAG_NONE};
use super::{LbService, MAP_BACKENDS, MAP_REVERSE_SK, MAP_SERVICES};
use crate::bpffs::ensure_bpffs_for;
use crate::ct::GLOBALS_DIR;
use crate::error::{EbpfError, error_chain};
use crate::loader::loader;
use crate::objects::{SOCK_LB, SOCK_LB_OBJECT, SOCK_LB_PROGRAMS};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// What [`attach`] left in the kernel.
#[derive(Debug, Clone)]
pub struct SockLbAttached {
    pub cgroup: PathBuf,
    pub pin_dir: PathBuf,
    /// Program names attached, in attach order.
    pub programs: Vec<&'static str>,
}

/// Where the cgroup links are pinned under a bpf root.
pub fn link_pin_dir(bpf_root: &Path) -> PathBuf {
    bpf_root.join("socklb").join("links")
}

/// The hooks need Linux 5.8 (`getpeername4`; cgroup BPF links came with 5.7).
pub fn check_kernel() -> Result<(), EbpfError> {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (5, 8) {
        return Err(EbpfError::OldKernel {
            need: "5.8",
            why: "the cgroup getpeername4 hook and cgroup BPF links",
            have: release,
        });
    }
    Ok(())
}

fn check_cgroup2(cgroup: &Path) -> Result<(), EbpfError> {
    let on_cgroup2 = nix::sys::statfs::statfs(cgroup)
        .is_ok_and(|s| s.filesystem_type().0 & 0xffff_ffff == CGROUP2_SUPER_MAGIC);
    if on_cgroup2 {
        Ok(())
    } else {
        Err(EbpfError::NotCgroup2 {
            path: cgroup.to_path_buf(),
        })
    }
}

fn map_err(map: &str, e: &dyn std::error::Error) -> EbpfError {
    EbpfError::Map {
        action: format!("filling {map}"),
        detail: error_chain(e),
    }
}

fn be(ip: std::net::Ipv4Addr, port: u16) -> ([u8; 4], [u8; 2]) {
    (ip.octets(), port.to_be_bytes())
}

/// Writes every Service (slot 0 with its backend count, one slot per backend) and its
/// backends; what an earlier attach left is removed first.
fn fill(bpf: &mut aya::Ebpf, services: &[LbService]) -> Result<(), EbpfError> {
    let missing = |map: &str| EbpfError::MissingMap {
        map: map.into(),
        object: SOCK_LB_OBJECT.into(),
    };
    let mut backends: HashMap<_, u32, Lb4Backend> = bpf
        .map_mut(MAP_BACKENDS)
        .and_then(|m| HashMap::try_from(m).ok())
        .ok_or_else(|| missing(MAP_BACKENDS))?;
    let stale: Vec<u32> = backends.keys().filter_map(Result::ok).collect();
    for k in stale {
        let _ = backends.remove(&k);
    }
    let mut next_backend = 1u32;
    let mut slots: Vec<(Lb4Key, Lb4Service)> = Vec::new();
    for svc in services {
        let (address, dport) = be(svc.frontend.0, svc.frontend.1);
        let key = |slot: u16| Lb4Key {
            address,
            dport,
            backend_slot: slot,
            ..Lb4Key::default()
        };
        let count = u16::try_from(svc.backends.len()).unwrap_or(u16::MAX);
        slots.push((
            key(0),
            Lb4Service {
                count,
                rev_nat_index: svc.id,
                flags: SVC_FLAG_NONE,
                ..Lb4Service::default()
            },
        ));
        for (slot, (ip, port)) in (1..=count).zip(&svc.backends) {
            let (address, port) = be(*ip, *port);
            let value = Lb4Backend {
                address,
                port,
                ..Lb4Backend::default()
            };
            backends
                .insert(next_backend, value, 0)
                .map_err(|e| map_err(MAP_BACKENDS, &e))?;
            slots.push((
                key(slot),
                Lb4Service {
                    backend_id: next_backend,
                    rev_nat_index: svc.id,
                    ..Lb4Service::default()
                },
            ));
            next_backend += 1;
        }
    }
    let mut frontends: HashMap<_, Lb4Key, Lb4Service> = bpf
        .map_mut(MAP_SERVICES)
        .and_then(|m| HashMap::try_from(m).ok())
        .ok_or_else(|| missing(MAP_SERVICES))?;
    let stale: Vec<Lb4Key> = frontends.keys().filter_map(Result::ok).collect();
    for k in stale {
        let _ = frontends.remove(&k);
    }
    for (k, v) in slots {
        frontends
            .insert(k, v, 0)
            .map_err(|e| map_err(MAP_SERVICES, &e))?;
    }
    Ok(())
}

/// Loads the socket LB, pins its maps at `<pin_dir>/tc/globals/` (Cilium's place), fills
/// them with `services` and attaches the four programs to `cgroup`, each link pinned
/// under [`link_pin_dir`] so it outlives this process.
pub fn attach(
    cgroup: &Path,
    pin_dir: &Path,
    services: &[LbService],
) -> Result<SockLbAttached, EbpfError> {
    check_kernel()?;
    check_cgroup2(cgroup)?;
    ensure_bpffs_for(pin_dir)?;
    let globals = pin_dir.join(GLOBALS_DIR);
    let links = link_pin_dir(pin_dir);
    for dir in [&globals, &links] {
        std::fs::create_dir_all(dir)
            .map_err(|e| EbpfError::io(format!("creating pin dir {}", dir.display()), e))?;
    }
    let mut load = loader();
    for map in [MAP_SERVICES, MAP_BACKENDS, MAP_REVERSE_SK] {
        load.map_pin_path(map, globals.join(map));
    }
    let mut bpf = load
        .load(SOCK_LB)
        .map_err(|e| EbpfError::from_object(SOCK_LB_OBJECT, &e))?;
    fill(&mut bpf, services)?;
    let cg = std::fs::File::open(cgroup)
        .map_err(|e| EbpfError::io(format!("opening cgroup {}", cgroup.display()), e))?;
    let attach_err = |program: &str, detail: String| EbpfError::CgroupAttach {
        program: program.into(),
        cgroup: cgroup.to_path_buf(),
        detail,
    };
    let mut programs = Vec::new();
    for name in SOCK_LB_PROGRAMS {
        let prog: &mut CgroupSockAddr = bpf
            .program_mut(name)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| EbpfError::MissingProgram {
                program: name.into(),
                object: SOCK_LB_OBJECT.into(),
            })?;
        prog.load().map_err(|e| EbpfError::from_load(name, e))?;
        let id = prog
            .attach(&cg, CgroupAttachMode::Single)
            .map_err(|e| attach_err(name, error_chain(&e)))?;
        let link = prog
            .take_link(id)
            .map_err(|e| attach_err(name, error_chain(&e)))?;
        let fd_link: FdLink = link
            .try_into()
            .map_err(|e: aya::programs::links::LinkError| attach_err(name, error_chain(&e)))?;
        let pin = links.join(name);
        // A pin left by an earlier attach: its link goes when the pin does.
        let _ = std::fs::remove_file(&pin);
        fd_link
            .pin(&pin)
            .map_err(|e| attach_err(name, error_chain(&e)))?;
        programs.push(name);
    }
    Ok(SockLbAttached {
        cgroup: cgroup.to_path_buf(),
        pin_dir: pin_dir.to_path_buf(),
        programs,
    })
}
