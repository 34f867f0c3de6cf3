//! Looking at files as a tracee sees them.
//!
//! A tracee normally shares the tracer's root and mount namespace, and then
//! a path means the same to both. A tracee that chroot()ed or entered
//! another mount namespace sees other files under the same names; for it,
//! paths are resolved below `/proc/<pid>/root` with `openat2` and
//! `RESOLVE_IN_ROOT` (Linux 5.6), so even absolute symbolic links resolve in
//! its view. `--fix` is not applied to such a tracee (the replacement files
//! live in the tracer's view), and the summary says so.

use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::sys::Pid;

/// Does `pid` see the file system as the tracer does (same root directory,
/// same mount namespace)?
pub fn same_view(pid: Pid) -> bool {
    let same_root = match (std::fs::metadata(format!("/proc/{pid}/root/")), std::fs::metadata("/")) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    let same_ns = match (
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")),
        std::fs::read_link("/proc/self/ns/mnt"),
    ) {
        (Ok(a), Ok(b)) => a == b,
        // No namespace support: one namespace.
        (Err(_), Err(_)) => true,
        _ => false,
    };
    same_root && same_ns
}

/// A file system as one tracee sees it.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub pid: Pid,
    pub same: bool,
}

impl View {
    fn open(&self, path: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
        let root = File::open(format!("/proc/{}/root", self.pid))?;
        let cpath = std::ffi::CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        let how: [u64; 3] = [(flags | libc::O_CLOEXEC) as u64, 0, libc::RESOLVE_IN_ROOT];
        // SAFETY: valid descriptor, NUL-terminated path and open_how.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                cpath.as_ptr(),
                how.as_ptr(),
                std::mem::size_of_val(&how),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
    }

    /// `stat` (following symbolic links) or `lstat`.
    pub fn metadata(&self, path: &[u8], follow: bool) -> io::Result<Metadata> {
        if self.same {
            let p = Path::new(OsStr::from_bytes(path));
            return if follow {
                std::fs::metadata(p)
            } else {
                std::fs::symlink_metadata(p)
            };
        }
        let flags = libc::O_PATH | if follow { 0 } else { libc::O_NOFOLLOW };
        File::from(self.open(path, flags)?).metadata()
    }

    pub fn exists(&self, path: &[u8]) -> bool {
        self.metadata(path, true).is_ok()
    }

    /// Is there a directory entry, even a dangling symbolic link?
    pub fn lexists(&self, path: &[u8]) -> bool {
        self.metadata(path, false).is_ok()
    }

    pub fn is_broken_symlink(&self, path: &[u8]) -> bool {
        self.metadata(path, false).is_ok_and(|m| m.file_type().is_symlink()) && !self.exists(path)
    }

    /// Reads at most `max` bytes of a file.
    pub fn read(&self, path: &[u8], max: u64) -> io::Result<Vec<u8>> {
        let file = if self.same {
            File::open(Path::new(OsStr::from_bytes(path)))?
        } else {
            File::from(self.open(path, libc::O_RDONLY)?)
        };
        let mut out = Vec::new();
        file.take(max).read_to_end(&mut out)?;
        Ok(out)
    }
}

/// `(dev, ino)` of a path in the tracer's own view.
pub fn identity(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_view_is_the_same_and_openat2_agrees_with_it() {
        let pid = std::process::id() as Pid;
        assert!(same_view(pid));
        let same = View { pid, same: true };
        let other = View { pid, same: false };
        for path in [&b"/etc/passwd"[..], b"/proc/self", b"/nonexistent/x"] {
            assert_eq!(
                same.exists(path),
                other.exists(path),
                "{}",
                String::from_utf8_lossy(path)
            );
        }
        assert_eq!(
            other.read(b"/etc/hostname", 100).ok(),
            same.read(b"/etc/hostname", 100).ok()
        );
        let dir = std::env::temp_dir().join(format!("cafix-fsview-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("dangling");
        std::os::unix::fs::symlink("/nonexistent-target", &link).unwrap();
        for view in [same, other] {
            assert!(view.is_broken_symlink(link.as_os_str().as_bytes()));
            assert!(!view.is_broken_symlink(b"/etc/passwd"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
