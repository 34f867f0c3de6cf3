//! Hooks for the stat family: glibc's current symbols (`stat`, `lstat`,
//! `fstatat`, their `64` forms, `statx`) and the `__xstat` family that
//! programs built against glibc < 2.33 call. Also `access`/`faccessat`.
//!
//! A served entry looks like a read-only regular file owned by root whose
//! size is the served PEM's, with the bundle file's device and times.

use libc::{c_char, c_int, c_uint};

use super::{missing, restore_errno};
use crate::real;
use crate::state::{shim, Served};
use crate::sys;

/// Fills any `struct stat`-shaped buffer (`stat`, `stat64`) for served content.
macro_rules! fill_stat {
    ($buf:expr, $served:expr, $path:expr) => {{
        let served: Served = $served;
        let buf = $buf;
        // SAFETY: all-zero is a valid value for every field of the struct.
        *buf = unsafe { std::mem::zeroed() };
        if let Some(Some(b)) = shim().bundle_stat.get() {
            buf.st_dev = b.st_dev as _;
            buf.st_atime = b.st_atime as _;
            buf.st_mtime = b.st_mtime as _;
            buf.st_ctime = b.st_ctime as _;
        }
        buf.st_ino = served.inode(path_hash($path)) as _;
        buf.st_mode = (libc::S_IFREG | 0o444) as _;
        buf.st_nlink = 1;
        buf.st_size = served.bytes().len() as _;
        buf.st_blksize = 4096;
        buf.st_blocks = served.bytes().len().div_ceil(512) as _;
    }};
}

fn path_hash(path: *const c_char) -> u64 {
    // SAFETY: only called with a path `missing` has already read.
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// Defines a hook for a `(path, buf)`-shaped stat function.
macro_rules! stat_hook {
    ($(#[$doc:meta])* $name:ident, $real:ident, $st:ty) => {
        $(#[$doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut $st) -> c_int {
            let saved = sys::errno();
            let real = real::$real.get();
            if real.is_null() {
                sys::set_errno(libc::ENOSYS);
                return -1;
            }
            // SAFETY: `real` is the next definition of this very symbol, with this signature.
            let real: unsafe extern "C" fn(*const c_char, *mut $st) -> c_int = unsafe { std::mem::transmute(real) };
            // SAFETY: arguments passed through unchanged from our caller.
            let rc = unsafe { real(path, buf) };
            if rc == 0 || buf.is_null() {
                return rc;
            }
            // SAFETY: path is NULL or NUL-terminated per stat's contract.
            if let Some(served) = unsafe { missing(path, sys::errno()) } {
                // SAFETY: buf is non-null and points to the caller's struct.
                let buf = unsafe { &mut *buf };
                fill_stat!(buf, served, path);
                restore_errno(saved);
                return 0;
            }
            rc
        }
    };
}

stat_hook!(
    /// `stat(2)`: what OpenSSL's hash-directory lookup calls for `<dir>/<hash>.<n>`.
    stat, STAT, libc::stat
);
stat_hook!(stat64, STAT64, libc::stat64);
stat_hook!(lstat, LSTAT, libc::stat);
stat_hook!(lstat64, LSTAT64, libc::stat64);

/// Defines a hook for an `(ver, path, buf)`-shaped `__xstat` function.
macro_rules! xstat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(ver: c_int, path: *const c_char, buf: *mut $st) -> c_int {
            let saved = sys::errno();
            let real = real::$real.get();
            if real.is_null() {
                sys::set_errno(libc::ENOSYS);
                return -1;
            }
            // SAFETY: `real` is the next definition of this very symbol, with this signature.
            let real: unsafe extern "C" fn(c_int, *const c_char, *mut $st) -> c_int =
                unsafe { std::mem::transmute(real) };
            // SAFETY: arguments passed through unchanged.
            let rc = unsafe { real(ver, path, buf) };
            if rc == 0 || buf.is_null() {
                return rc;
            }
            // SAFETY: path is NULL or NUL-terminated per the function's contract.
            if let Some(served) = unsafe { missing(path, sys::errno()) } {
                // SAFETY: buf is non-null; `ver` selects the kernel layout, which is `$st` here.
                let buf = unsafe { &mut *buf };
                fill_stat!(buf, served, path);
                restore_errno(saved);
                return 0;
            }
            rc
        }
    };
}

xstat_hook!(__xstat, XSTAT, libc::stat);
xstat_hook!(__xstat64, XSTAT64, libc::stat64);
xstat_hook!(__lxstat, LXSTAT, libc::stat);
xstat_hook!(__lxstat64, LXSTAT64, libc::stat64);

/// Is this `(dirfd, path)` pair one the shim may serve? Only absolute paths
/// (the directory fd is then ignored by the kernel too).
///
/// # Safety
/// `path` is NULL or NUL-terminated.
unsafe fn absolute(path: *const c_char) -> bool {
    // SAFETY: per the contract, a non-null path has at least one byte.
    !path.is_null() && unsafe { *path } == b'/' as c_char
}

macro_rules! fstatat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, buf: *mut $st, flags: c_int) -> c_int {
            let saved = sys::errno();
            let real = real::$real.get();
            if real.is_null() {
                sys::set_errno(libc::ENOSYS);
                return -1;
            }
            // SAFETY: `real` is the next definition of this very symbol, with this signature.
            let real: unsafe extern "C" fn(c_int, *const c_char, *mut $st, c_int) -> c_int =
                unsafe { std::mem::transmute(real) };
            // SAFETY: arguments passed through unchanged.
            let rc = unsafe { real(dirfd, path, buf, flags) };
            // SAFETY: path is NULL or NUL-terminated per fstatat's contract.
            if rc == 0 || buf.is_null() || !unsafe { absolute(path) } {
                return rc;
            }
            // SAFETY: as above.
            if let Some(served) = unsafe { missing(path, sys::errno()) } {
                // SAFETY: buf is non-null and points to the caller's struct.
                let buf = unsafe { &mut *buf };
                fill_stat!(buf, served, path);
                restore_errno(saved);
                return 0;
            }
            rc
        }
    };
}

fstatat_hook!(fstatat, FSTATAT, libc::stat);
fstatat_hook!(fstatat64, FSTATAT64, libc::stat64);

macro_rules! fxstatat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            dirfd: c_int,
            path: *const c_char,
            buf: *mut $st,
            flags: c_int,
        ) -> c_int {
            let saved = sys::errno();
            let real = real::$real.get();
            if real.is_null() {
                sys::set_errno(libc::ENOSYS);
                return -1;
            }
            // SAFETY: `real` is the next definition of this very symbol, with this signature.
            let real: unsafe extern "C" fn(c_int, c_int, *const c_char, *mut $st, c_int) -> c_int =
                unsafe { std::mem::transmute(real) };
            // SAFETY: arguments passed through unchanged.
            let rc = unsafe { real(ver, dirfd, path, buf, flags) };
            // SAFETY: path is NULL or NUL-terminated.
            if rc == 0 || buf.is_null() || !unsafe { absolute(path) } {
                return rc;
            }
            // SAFETY: as above.
            if let Some(served) = unsafe { missing(path, sys::errno()) } {
                // SAFETY: buf is non-null and points to the caller's struct.
                let buf = unsafe { &mut *buf };
                fill_stat!(buf, served, path);
                restore_errno(saved);
                return 0;
            }
            rc
        }
    };
}

fxstatat_hook!(__fxstatat, FXSTATAT, libc::stat);
fxstatat_hook!(__fxstatat64, FXSTATAT64, libc::stat64);

/// `statx(2)`, used by newer programs and by glibc's own `stat` on some targets.
#[no_mangle]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    buf: *mut libc::statx,
) -> c_int {
    let saved = sys::errno();
    let real = real::STATX.get();
    if real.is_null() {
        sys::set_errno(libc::ENOSYS);
        return -1;
    }
    // SAFETY: `real` is glibc's statx, with this signature.
    let real: unsafe extern "C" fn(c_int, *const c_char, c_int, c_uint, *mut libc::statx) -> c_int =
        unsafe { std::mem::transmute(real) };
    // SAFETY: arguments passed through unchanged.
    let rc = unsafe { real(dirfd, path, flags, mask, buf) };
    // SAFETY: path is NULL or NUL-terminated.
    if rc == 0 || buf.is_null() || !unsafe { absolute(path) } {
        return rc;
    }
    // SAFETY: as above.
    if let Some(served) = unsafe { missing(path, sys::errno()) } {
        // SAFETY: buf is non-null and points to the caller's struct statx.
        let buf = unsafe { &mut *buf };
        // SAFETY: all-zero is a valid struct statx.
        *buf = unsafe { std::mem::zeroed() };
        buf.stx_mask = libc::STATX_BASIC_STATS;
        buf.stx_blksize = 4096;
        buf.stx_nlink = 1;
        buf.stx_mode = (libc::S_IFREG | 0o444) as u16;
        buf.stx_ino = served.inode(path_hash(path));
        buf.stx_size = served.bytes().len() as u64;
        buf.stx_blocks = served.bytes().len().div_ceil(512) as u64;
        if let Some(Some(b)) = shim().bundle_stat.get() {
            buf.stx_mtime.tv_sec = b.st_mtime;
            buf.stx_ctime.tv_sec = b.st_ctime;
            buf.stx_atime.tv_sec = b.st_atime;
            buf.stx_dev_major = libc::major(b.st_dev);
            buf.stx_dev_minor = libc::minor(b.st_dev);
        }
        restore_errno(saved);
        return 0;
    }
    rc
}

/// `access(2)`: served paths are readable, and nothing else.
#[no_mangle]
pub unsafe extern "C" fn access(path: *const c_char, mode: c_int) -> c_int {
    let saved = sys::errno();
    let real = real::ACCESS.get();
    if real.is_null() {
        sys::set_errno(libc::ENOSYS);
        return -1;
    }
    // SAFETY: `real` is glibc's access.
    let real: unsafe extern "C" fn(*const c_char, c_int) -> c_int = unsafe { std::mem::transmute(real) };
    // SAFETY: arguments passed through unchanged.
    let rc = unsafe { real(path, mode) };
    if rc == 0 || mode & (libc::W_OK | libc::X_OK) != 0 {
        return rc;
    }
    // SAFETY: path is NULL or NUL-terminated.
    if unsafe { missing(path, sys::errno()) }.is_some() {
        restore_errno(saved);
        return 0;
    }
    rc
}

/// `faccessat(2)`, absolute paths only.
#[no_mangle]
pub unsafe extern "C" fn faccessat(dirfd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int {
    let saved = sys::errno();
    let real = real::FACCESSAT.get();
    if real.is_null() {
        sys::set_errno(libc::ENOSYS);
        return -1;
    }
    // SAFETY: `real` is glibc's faccessat.
    let real: unsafe extern "C" fn(c_int, *const c_char, c_int, c_int) -> c_int = unsafe { std::mem::transmute(real) };
    // SAFETY: arguments passed through unchanged.
    let rc = unsafe { real(dirfd, path, mode, flags) };
    // SAFETY: path is NULL or NUL-terminated.
    if rc == 0 || mode & (libc::W_OK | libc::X_OK) != 0 || !unsafe { absolute(path) } {
        return rc;
    }
    // SAFETY: as above.
    if unsafe { missing(path, sys::errno()) }.is_some() {
        restore_errno(saved);
        return 0;
    }
    rc
}
