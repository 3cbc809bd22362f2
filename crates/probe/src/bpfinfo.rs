//! Kernel name of a BPF program by id (`BPF_PROG_GET_FD_BY_ID` + `BPF_OBJ_GET_INFO_BY_FD`),
//! so a tc filter's program is named without walking every program on the host (a Cilium
//! node has hundreds).

use std::os::fd::{FromRawFd, OwnedFd};

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
/// `bpf_prog_info` up to and including `name[16]` (offset 64).
const INFO_LEN: usize = 80;
const NAME_OFFSET: usize = 64;

/// `union bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `None` when the program is gone or we may not look (best effort: the filter's own
/// name from the tc dump is always reported).
pub fn prog_name(id: u32) -> Option<String> {
    // union bpf_attr for GET_FD_BY_ID: { prog_id, next_id, open_flags }.
    let mut attr = [0u32; 3];
    attr[0] = id;
    // SAFETY: `attr` is a valid, initialised buffer of the size we pass.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_GET_FD_BY_ID,
            attr.as_mut_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us; OwnedFd closes it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut info = [0u8; INFO_LEN];
    let mut req = InfoAttr {
        bpf_fd: u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&fd)).ok()?,
        info_len: u32::try_from(INFO_LEN).ok()?,
        info: info.as_mut_ptr() as u64,
    };
    // SAFETY: `req` points at `info`, which outlives the call and has `info_len` bytes.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            &raw mut req,
            std::mem::size_of::<InfoAttr>(),
        )
    };
    if rc != 0 {
        return None;
    }
    let name = &info[NAME_OFFSET..INFO_LEN];
    let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
    Some(String::from_utf8_lossy(&name[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_ids_are_none() {
        // Id 0 is never a program; must not panic or leak whatever our privileges are.
        assert_eq!(super::prog_name(0), None);
    }
}
