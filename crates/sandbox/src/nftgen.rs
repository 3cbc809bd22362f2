//! Knowing when `iptables-restore` has *committed*, without waiting for it to exit.
//!
//! On this kernel an nftables netlink socket's close waits for an RCU grace period, so
//! `iptables-restore` exits 15-25 ms after its rules are live. Every nftables commit
//! multicasts `NFT_MSG_NEWGEN` carrying the committing process' pid; counting those from our
//! child (one per `COMMIT` section) tells us the rules are in place.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::{Result, SandboxError};

const NFNLGRP_NFTABLES: u32 = 7;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWGEN: u16 = 15;
const NFTA_GEN_PROC_PID: u16 = 2;

/// A netfilter netlink socket subscribed to nftables events of one netns.
pub(crate) struct GenWatch {
    fd: OwnedFd,
}

impl GenWatch {
    /// Opens the socket inside `netns` (a netlink socket stays bound to its creator's netns).
    pub(crate) fn open(netns: &Path) -> Result<GenWatch> {
        let raw = tplab_netns::run_in(Some(netns), || -> std::io::Result<OwnedFd> {
            // SAFETY: plain socket syscalls; the fd is owned right away.
            unsafe {
                let fd = libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    libc::NETLINK_NETFILTER,
                );
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let owned = OwnedFd::from_raw_fd(fd);
                let mut addr: libc::sockaddr_nl = std::mem::zeroed();
                addr.nl_family = libc::sa_family_t::try_from(libc::AF_NETLINK).unwrap_or_default();
                addr.nl_groups = 1 << (NFNLGRP_NFTABLES - 1);
                let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_nl>())
                    .unwrap_or_default();
                if libc::bind(fd, (&raw const addr).cast(), len) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(owned)
            }
        })?
        .map_err(|e| SandboxError::io("subscribing to nftables events", e))?;
        Ok(GenWatch { fd: raw })
    }

    /// The socket, readable when events are queued.
    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// Reads every queued event (without waiting); returns how many NEWGEN came from `pid`.
    pub(crate) fn drain_commits(&self, pid: u32) -> usize {
        let mut buf = vec![0u8; 64 * 1024];
        let mut count = 0;
        loop {
            // SAFETY: buf is valid for its length; non-blocking socket.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let Ok(n) = usize::try_from(n) else { break };
            if n == 0 {
                break;
            }
            count += count_newgen(&buf[..n], pid);
        }
        count
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Counts `NFT_MSG_NEWGEN` messages from `pid` in a datagram of netlink messages.
fn count_newgen(buf: &[u8], pid: u32) -> usize {
    let mut count = 0;
    let mut off = 0;
    while let (Some(len), Some(kind)) = (u32_at(buf, off), u16_at(buf, off + 4)) {
        let len = len as usize;
        if len < 16 || off + len > buf.len() {
            break;
        }
        if kind == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN
            && gen_pid(&buf[off + 16 + 4..off + len]) == Some(pid)
        {
            count += 1;
        }
        off += (len + 3) & !3;
    }
    count
}

/// `NFTA_GEN_PROC_PID` (big endian) among the attributes.
fn gen_pid(attrs: &[u8]) -> Option<u32> {
    let mut off = 0;
    while let (Some(len), Some(kind)) = (u16_at(attrs, off), u16_at(attrs, off + 2)) {
        let len = usize::from(len);
        if len < 4 {
            return None;
        }
        if kind & 0x3fff == NFTA_GEN_PROC_PID {
            let v = attrs.get(off + 4..off + 8)?;
            return Some(u32::from_be_bytes(v.try_into().ok()?));
        }
        off += (len + 3) & !3;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newgen(pid: u32) -> Vec<u8> {
        let mut attrs = Vec::new();
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&1u16.to_ne_bytes());
        attrs.extend_from_slice(&7u32.to_be_bytes());
        attrs.extend_from_slice(&8u16.to_ne_bytes());
        attrs.extend_from_slice(&NFTA_GEN_PROC_PID.to_ne_bytes());
        attrs.extend_from_slice(&pid.to_be_bytes());
        let len = 16 + 4 + attrs.len();
        let mut m = Vec::new();
        m.extend_from_slice(&u32::try_from(len).unwrap().to_ne_bytes());
        m.extend_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN).to_ne_bytes());
        m.extend_from_slice(&[0u8; 10]);
        m.extend_from_slice(&[0u8; 4]);
        m.extend_from_slice(&attrs);
        m
    }

    #[test]
    fn counts_newgen_of_pid() {
        let mut buf = newgen(42);
        buf.extend(newgen(7));
        buf.extend(newgen(42));
        assert_eq!(count_newgen(&buf, 42), 2);
        assert_eq!(count_newgen(&buf, 1), 0);
        assert_eq!(count_newgen(&buf[..10], 42), 0);
    }
}
