//! Hooks for the stat family: glibc's current symbols (`stat`, `lstat`,
//! `fstatat`, their `64` forms, `statx`) and the `__xstat` family that
//! programs built against glibc < 2.33 call. Also `access`/`faccessat`.
//!
//! Every hook calls the real function and hands its result to one shared
//! tail ([`after_stat`] or [`after_access`]), which serves only when the
//! real call failed on a missing trust location. A served entry looks like a
//! read-only regular file owned by root whose size is the served PEM's, with
//! the bundle file's device and times.

use libc::{c_char, c_int, c_uint};

use super::{absolute, missing, restore_errno};
use crate::state::{shim, Served};
use crate::sys;

/// A stat-like buffer the shim can fill for served content.
trait StatBuf {
    fn fill(&mut self, served: Served, path: *const c_char);
}

/// `struct stat` and `struct stat64` have the same field names.
macro_rules! impl_stat_buf {
    ($($st:ty),*) => {$(
        impl StatBuf for $st {
            fn fill(&mut self, served: Served, path: *const c_char) {
                // SAFETY: all-zero is a valid value for every field of the struct.
                *self = unsafe { std::mem::zeroed() };
                if let Some(Some(b)) = shim().bundle_stat.get() {
                    self.st_dev = b.st_dev as _;
                    self.st_atime = b.st_atime as _;
                    self.st_mtime = b.st_mtime as _;
                    self.st_ctime = b.st_ctime as _;
                }
                self.st_ino = served.inode(path_hash(path)) as _;
                self.st_mode = (libc::S_IFREG | 0o444) as _;
                self.st_nlink = 1;
                self.st_size = served.bytes().len() as _;
                self.st_blksize = 4096;
                self.st_blocks = served.bytes().len().div_ceil(512) as _;
            }
        }
    )*};
}

impl_stat_buf!(libc::stat, libc::stat64);

impl StatBuf for libc::statx {
    fn fill(&mut self, served: Served, path: *const c_char) {
        // SAFETY: all-zero is a valid struct statx.
        *self = unsafe { std::mem::zeroed() };
        self.stx_mask = libc::STATX_BASIC_STATS;
        self.stx_blksize = 4096;
        self.stx_nlink = 1;
        self.stx_mode = (libc::S_IFREG | 0o444) as u16;
        self.stx_ino = served.inode(path_hash(path));
        self.stx_size = served.bytes().len() as u64;
        self.stx_blocks = served.bytes().len().div_ceil(512) as u64;
        if let Some(Some(b)) = shim().bundle_stat.get() {
            self.stx_mtime.tv_sec = b.st_mtime;
            self.stx_ctime.tv_sec = b.st_ctime;
            self.stx_atime.tv_sec = b.st_atime;
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
unsafe fn after_stat<T: StatBuf>(rc: c_int, path: *const c_char, buf: *mut T, saved: c_int) -> c_int {
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

/// Defines a hook for a `(path, buf)`-shaped stat function.
macro_rules! stat_hook {
    ($(#[$doc:meta])* $name:ident, $real:ident, $st:ty) => {
        $(#[$doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut $st) -> c_int {
            let saved = sys::errno();
            let real = real_fn!($real, unsafe extern "C" fn(*const c_char, *mut $st) -> c_int, -1);
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { after_stat(real(path, buf), path, buf, saved) }
        }
    };
}

stat_hook!(
    /// `stat(2)`: what OpenSSL's hash-directory lookup calls for `<dir>/<hash>.<n>`.
    stat, STAT, libc::stat
);
stat_hook!(stat64, STAT64, libc::stat64);
stat_hook!(
    /// `lstat(2)`: OpenSSL 3 looks at an entry with `lstat` before `stat`.
    lstat, LSTAT, libc::stat
);
stat_hook!(lstat64, LSTAT64, libc::stat64);

/// Defines a hook for an `(ver, path, buf)`-shaped `__xstat` function; `ver`
/// selects the kernel layout, which is `$st` on the supported targets.
macro_rules! xstat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(ver: c_int, path: *const c_char, buf: *mut $st) -> c_int {
            let saved = sys::errno();
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, *const c_char, *mut $st) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { after_stat(real(ver, path, buf), path, buf, saved) }
        }
    };
}

xstat_hook!(__xstat, XSTAT, libc::stat);
xstat_hook!(__xstat64, XSTAT64, libc::stat64);
xstat_hook!(__lxstat, LXSTAT, libc::stat);
xstat_hook!(__lxstat64, LXSTAT64, libc::stat64);

/// Defines a hook for `fstatat`; only absolute paths are served (the
/// directory fd is then ignored by the kernel too).
macro_rules! fstatat_hook {
    ($name:ident, $real:ident, $st:ty) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, buf: *mut $st, flags: c_int) -> c_int {
            let saved = sys::errno();
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, *const c_char, *mut $st, c_int) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged.
            let rc = unsafe { real(dirfd, path, buf, flags) };
            // SAFETY: path is NULL or NUL-terminated per fstatat's contract.
            if !unsafe { absolute(path) } {
                return rc;
            }
            // SAFETY: the shared tail, with the caller's arguments.
            unsafe { after_stat(rc, path, buf, saved) }
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
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, c_int, *const c_char, *mut $st, c_int) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged.
            let rc = unsafe { real(ver, dirfd, path, buf, flags) };
            // SAFETY: path is NULL or NUL-terminated.
            if !unsafe { absolute(path) } {
                return rc;
            }
            // SAFETY: the shared tail, with the caller's arguments.
            unsafe { after_stat(rc, path, buf, saved) }
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
    let real = real_fn!(
        STATX,
        unsafe extern "C" fn(c_int, *const c_char, c_int, c_uint, *mut libc::statx) -> c_int,
        -1
    );
    // SAFETY: arguments passed through unchanged.
    let rc = unsafe { real(dirfd, path, flags, mask, buf) };
    // SAFETY: path is NULL or NUL-terminated.
    if !unsafe { absolute(path) } {
        return rc;
    }
    // SAFETY: the shared tail, with the caller's arguments.
    unsafe { after_stat(rc, path, buf, saved) }
}

/// The shared tail of the access hooks: served paths are readable, and
/// nothing else (a write or execute check is never served).
///
/// # Safety
/// `path` is NULL or NUL-terminated.
unsafe fn after_access(rc: c_int, path: *const c_char, mode: c_int, saved: c_int) -> c_int {
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

/// `access(2)`.
#[no_mangle]
pub unsafe extern "C" fn access(path: *const c_char, mode: c_int) -> c_int {
    let saved = sys::errno();
    let real = real_fn!(ACCESS, unsafe extern "C" fn(*const c_char, c_int) -> c_int, -1);
    // SAFETY: arguments passed through unchanged; then the shared tail.
    unsafe { after_access(real(path, mode), path, mode, saved) }
}

/// `faccessat(2)`, absolute paths only.
#[no_mangle]
pub unsafe extern "C" fn faccessat(dirfd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int {
    let saved = sys::errno();
    let real = real_fn!(
        FACCESSAT,
        unsafe extern "C" fn(c_int, *const c_char, c_int, c_int) -> c_int,
        -1
    );
    // SAFETY: arguments passed through unchanged.
    let rc = unsafe { real(dirfd, path, mode, flags) };
    // SAFETY: path is NULL or NUL-terminated.
    if !unsafe { absolute(path) } {
        return rc;
    }
    // SAFETY: the shared tail, with the caller's arguments.
    unsafe { after_access(rc, path, mode, saved) }
}
