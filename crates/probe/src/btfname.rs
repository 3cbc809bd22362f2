//! A BPF program's whole name from its BTF, as bpftool prints it: the kernel keeps 15
//! bytes of a name (`cil_from_contai`), the program's BTF `FUNC` record keeps all of it
//! (`cil_from_container`). Best effort: `None` whenever any step is refused.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_BTF_GET_FD_BY_ID: libc::c_long = 19;
/// `bpf_prog_info` through `nr_line_info` (offset 148).
const PROG_INFO_LEN: usize = 152;
const BTF_ID: usize = 128;
const FUNC_INFO_REC_SIZE: usize = 132;
const FUNC_INFO: usize = 136;
const NR_FUNC_INFO: usize = 144;
const BTF_MAGIC: u16 = 0xeb9f;

#[repr(C)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

fn fd_by_id(cmd: libc::c_long, id: u32) -> Option<OwnedFd> {
    let mut attr = [0u32; 3];
    attr[0] = id;
    // SAFETY: `attr` is a valid, initialised buffer of the size we pass.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the kernel just returned this fd to us; OwnedFd closes it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn get_info(fd: &OwnedFd, buf: &mut [u8]) -> Option<()> {
    let mut req = InfoAttr {
        bpf_fd: u32::try_from(fd.as_raw_fd()).ok()?,
        info_len: u32::try_from(buf.len()).ok()?,
        info: buf.as_mut_ptr() as u64,
    };
    // SAFETY: `req` points at `buf`, which outlives the call and has `info_len` bytes;
    // any pointer inside `buf` was set by us to a live buffer of the announced size.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            &raw mut req,
            std::mem::size_of::<InfoAttr>(),
        )
    };
    (rc == 0).then_some(())
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

/// The BTF type id of program `id`'s entry function.
fn entry_func_type(id: u32) -> Option<(u32, u32)> {
    let fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, id)?;
    let mut info = [0u8; PROG_INFO_LEN];
    get_info(&fd, &mut info)?;
    let (btf_id, rec, n) = (
        u32_at(&info, BTF_ID)?,
        u32_at(&info, FUNC_INFO_REC_SIZE)?,
        u32_at(&info, NR_FUNC_INFO)?,
    );
    if btf_id == 0 || n == 0 || rec < 8 {
        return None;
    }
    let mut funcs = vec![0u8; (rec as usize) * (n as usize)];
    // Only the func_info fields: any other count left non-zero would ask the kernel to
    // copy into a null pointer.
    let mut req = [0u8; PROG_INFO_LEN];
    put_u32(&mut req, FUNC_INFO_REC_SIZE, rec);
    req[FUNC_INFO..FUNC_INFO + 8].copy_from_slice(&(funcs.as_mut_ptr() as u64).to_ne_bytes());
    put_u32(&mut req, NR_FUNC_INFO, n);
    get_info(&fd, &mut req)?;
    // The record at instruction 0 is the entry point.
    (0..n as usize)
        .map(|i| i * rec as usize)
        .find(|off| u32_at(&funcs, *off) == Some(0))
        .and_then(|off| u32_at(&funcs, off + 4))
        .map(|t| (btf_id, t))
}

/// The raw BTF blob of BTF object `id`.
fn btf_data(id: u32) -> Option<Vec<u8>> {
    let fd = fd_by_id(BPF_BTF_GET_FD_BY_ID, id)?;
    // bpf_btf_info: btf (u64), btf_size (u32), id, name (u64), name_len, kernel_btf.
    let mut info = [0u8; 32];
    get_info(&fd, &mut info)?;
    let size = u32_at(&info, 8)? as usize;
    if size == 0 || size > 64 << 20 {
        return None;
    }
    let mut data = vec![0u8; size];
    let mut req = [0u8; 32];
    req[0..8].copy_from_slice(&(data.as_mut_ptr() as u64).to_ne_bytes());
    put_u32(&mut req, 8, u32::try_from(size).ok()?);
    get_info(&fd, &mut req)?;
    Some(data)
}

/// Name of type `want` in a BTF blob (type ids start at 1).
pub(crate) fn btf_type_name(data: &[u8], want: u32) -> Option<String> {
    let magic = u16::from_ne_bytes(data.get(0..2)?.try_into().ok()?);
    if magic != BTF_MAGIC {
        return None;
    }
    let hdr_len = u32_at(data, 4)? as usize;
    let (type_off, type_len) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize);
    let (str_off, str_len) = (u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
    let types = data.get(hdr_len + type_off..hdr_len + type_off + type_len)?;
    let strings = data.get(hdr_len + str_off..hdr_len + str_off + str_len)?;
    let (mut off, mut id) = (0usize, 1u32);
    while off + 12 <= types.len() {
        let (name_off, info) = (u32_at(types, off)?, u32_at(types, off + 4)?);
        if id == want {
            let s = strings.get(name_off as usize..)?;
            let end = s.iter().position(|b| *b == 0)?;
            return Some(String::from_utf8_lossy(&s[..end]).into_owned());
        }
        let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
        let extra = match kind {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 | 19 => vlen * 12,
            6 | 13 => vlen * 8,
            2 | 7..=12 | 16 | 18 => 0,
            _ => return None,
        };
        off += 12 + extra;
        id += 1;
    }
    None
}

/// The whole name of program `id`, when its BTF has it and it extends `short` (the
/// kernel's 15-byte name).
pub fn full_name(id: u32, short: &str) -> Option<String> {
    let (btf, func) = entry_func_type(id)?;
    let name = btf_type_name(&btf_data(btf)?, func)?;
    (name.starts_with(short) && name.len() > short.len()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_func_name_from_btf() {
        // Header (24 bytes), then: [1] INT "int" (+4), [2] FUNC "cil_from_container".
        let strings = b"\0int\0cil_from_container\0";
        let mut types = Vec::new();
        for v in [1u32, 1 << 24, 4, 32, 5, 12 << 24, 0] {
            types.extend_from_slice(&v.to_ne_bytes());
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&BTF_MAGIC.to_ne_bytes());
        blob.extend_from_slice(&[1, 0]);
        for v in [
            24u32,
            0,
            u32::try_from(types.len()).unwrap(),
            u32::try_from(types.len()).unwrap(),
            u32::try_from(strings.len()).unwrap(),
        ] {
            blob.extend_from_slice(&v.to_ne_bytes());
        }
        blob.extend_from_slice(&types);
        blob.extend_from_slice(strings);
        assert_eq!(btf_type_name(&blob, 1).as_deref(), Some("int"));
        assert_eq!(
            btf_type_name(&blob, 2).as_deref(),
            Some("cil_from_container")
        );
        assert_eq!(btf_type_name(&blob, 3), None);
        assert_eq!(btf_type_name(&blob[..10], 1), None);
        assert_eq!(full_name(0, "x"), None);
    }
}
