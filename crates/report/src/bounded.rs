//! Reading files a student (or a student's upload) chose, without trusting their kind or
//! size: a FIFO must not block `tplab grade` forever, a symlink to `/dev/zero` must not
//! read until memory runs out. Only regular files are read, and at most `limit` bytes.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

/// Largest report file `tplab report` / `tplab grade` read (docs/report-format.md).
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// Largest roster, nonce list or lab file read.
pub const MAX_TABLE_BYTES: u64 = 16 * 1024 * 1024;

/// Largest template override read.
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// The bytes of the regular file at `path` (symlinks followed), refusing anything else
/// (FIFO, device, socket, directory) and anything larger than `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // Checked on the opened file, so the path cannot be swapped after the check.
    check_kind(&file)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

fn check_kind(file: &File) -> io::Result<()> {
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file: refused"),
    ))
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the {} limit: refused", human(limit)),
    )
}

/// `16 MiB`, `1 MiB`, `512 KiB`.
pub fn human(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_oversized_files_are_refused() {
        let err = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        std::fs::write(&big, [b'x'; 11]).unwrap();
        let err = read_regular(&big, 10).unwrap_err();
        assert!(
            err.to_string().contains("larger than the 1 KiB limit"),
            "{err}"
        );
        assert_eq!(read_regular(&big, 11).unwrap().len(), 11);
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_regular(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }
}
