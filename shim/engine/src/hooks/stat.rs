//! The slow paths of the stat family (`stat`, `lstat`, `fstatat`, their
//! `64` forms, the `__xstat` family, `statx`) and of `access`/`faccessat`.
//!
//! libcafix.so's hooks (shim/preload/src/hooks.rs) call the real function and
//! come here only when it failed on a path that could be a trust location;
//! [`after_stat`] and [`after_access`] serve it if it is one. A served entry looks like a
//! read-only regular file owned by root whose size is the served PEM's, with
//! the bundle file's device and times.

use libc::{c_char, c_int};

use super::{missing, restore_errno};
use crate::state::Served;
use crate::sys;

/// A stat-like buffer the shim can fill for served content.
pub trait StatBuf {
    fn fill(&mut self, served: Served, path: *const c_char);
}

/// `struct stat`, `struct stat64` and `Stat64Time64` have the same field names.
macro_rules! impl_stat_buf {
    ($($st:ty),*) => {$(
        impl StatBuf for $st {
            fn fill(&mut self, served: Served, path: *const c_char) {
                // SAFETY: all-zero is a valid value for every field of the struct.
                *self = unsafe { std::mem::zeroed() };
                if let Some(b) = served.times() {
                    self.st_dev = b.st_dev as _;
                    self.st_atime = b.st_atime as _;
                    self.st_atime_nsec = b.st_atime_nsec as _;
                    self.st_mtime = b.st_mtime as _;
                    self.st_mtime_nsec = b.st_mtime_nsec as _;
                    self.st_ctime = b.st_ctime as _;
                    self.st_ctime_nsec = b.st_ctime_nsec as _;
                }
                let size = served.size();
                self.st_ino = served.inode(path_hash(path)) as _;
                self.st_mode = (libc::S_IFREG | 0o444) as _;
                self.st_nlink = 1;
                self.st_size = size as _;
                self.st_blksize = 4096;
                self.st_blocks = size.div_ceil(512) as _;
            }
        }
    )*};
}

impl_stat_buf!(libc::stat, libc::stat64, cafix_common::engine_abi::Stat64Time64);

impl StatBuf for libc::statx {
    // `time_t` is 32-bit on 32-bit targets: `into` widens it there.
    #[allow(clippy::useless_conversion)]
    fn fill(&mut self, served: Served, path: *const c_char) {
        // SAFETY: all-zero is a valid struct statx.
        *self = unsafe { std::mem::zeroed() };
        let size = served.size();
        self.stx_mask = libc::STATX_BASIC_STATS;
        self.stx_blksize = 4096;
        self.stx_nlink = 1;
        self.stx_mode = (libc::S_IFREG | 0o444) as u16;
        self.stx_ino = served.inode(path_hash(path));
        self.stx_size = size;
        self.stx_blocks = size.div_ceil(512);
        if let Some(b) = served.times() {
            self.stx_mtime.tv_sec = b.st_mtime.into();
            self.stx_mtime.tv_nsec = b.st_mtime_nsec as u32;
            self.stx_ctime.tv_sec = b.st_ctime.into();
            self.stx_ctime.tv_nsec = b.st_ctime_nsec as u32;
            self.stx_atime.tv_sec = b.st_atime.into();
            self.stx_atime.tv_nsec = b.st_atime_nsec as u32;
            self.stx_dev_major = libc::major(b.st_dev);
            self.stx_dev_minor = libc::minor(b.st_dev);
        }
    }
}

fn path_hash(path: *const c_char) -> u64 {
    // SAFETY: only called with a path `missing` has already read.
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// The shared tail of every stat hook: `rc` is the real call's result,
/// `saved` the errno before it.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `buf` is NULL or the caller's buffer.
#[inline]
pub unsafe fn after_stat<T: StatBuf>(rc: c_int, path: *const c_char, buf: *mut T, saved: c_int) -> c_int {
    if rc == 0 || buf.is_null() {
        return rc;
    }
    // SAFETY: per this function's contract.
    if let Some(served) = unsafe { missing(path, sys::errno()) } {
        // SAFETY: buf is non-null and points to the caller's struct.
        unsafe { &mut *buf }.fill(served, path);
        restore_errno(saved);
        return 0;
    }
    rc
}

/// The shared tail of the access hooks: served paths are readable, and
/// nothing else (a write or execute check is never served).
///
/// # Safety
/// `path` is NULL or NUL-terminated.
pub unsafe fn after_access(rc: c_int, path: *const c_char, mode: c_int, saved: c_int) -> c_int {
    if rc == 0 || mode & (libc::W_OK | libc::X_OK) != 0 {
        return rc;
    }
    // SAFETY: per this function's contract.
    if unsafe { missing(path, sys::errno()) }.is_some() {
        restore_errno(saved);
        return 0;
    }
    rc
}
