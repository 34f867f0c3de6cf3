//! The interposed libc functions: the stat family (`stat`, `lstat`,
//! `fstatat`, their `64` forms, the `__xstat` family of programs built
//! against glibc < 2.33, `statx`, and on 32-bit targets the
//! `__stat64_time64` family of programs built with `_TIME_BITS=64`),
//! `access`/`faccessat`, `fopen`/`fopen64` and `open`/`openat` with their
//! `64` and fortified (`__open_2` …) forms; and `getenv`, for Node.js's
//! `NODE_EXTRA_CA_CERTS` ([`getenv`]).
//!
//! Every hook calls the real function first and returns its answer untouched
//! unless the call failed with `ENOENT` on a path that could be a trust
//! location ([`candidate`]: bytes only). So for every other path a hook
//! makes exactly the real call's system calls, takes no lock, allocates
//! nothing and leaves errno as the real call left it. A candidate goes to
//! the engine (loaded then, if it is not yet), whose `after_*` functions
//! decide whether to serve it (only read-only opens and read checks ever
//! are; see `shim/engine/src/hooks/`).

use core::ffi::{c_char, c_int, c_uint, c_void, CStr};

use libc::FILE;

use crate::engine;
use crate::sys;
#[cfg(target_pointer_width = "32")]
use cafix_common::engine_abi::{Stat64Time64, LAYOUT_STAT64_TIME64};
use cafix_common::engine_abi::{LAYOUT_STAT, LAYOUT_STAT64, LAYOUT_STATX};

/// The real function behind hook `$real` (a [`crate::real`] entry) as the
/// function-pointer type `$ty`; if the C library has none, the hook fails
/// with `ENOSYS` and returns `$fail`.
macro_rules! real_fn {
    ($real:ident, $ty:ty, $fail:expr) => {{
        let p = crate::real::$real.get();
        if p.is_null() {
            sys::set_errno(libc::ENOSYS);
            return $fail;
        }
        // SAFETY: `p` is the next definition of this very symbol, whose C
        // signature is `$ty`.
        unsafe { core::mem::transmute::<*mut c_void, $ty>(p) }
    }};
}

/// Could the failed call be a lookup of a missing trust location? True only
/// for `ENOENT` on an absolute path shaped like a hash entry or a bundle.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline]
unsafe fn candidate(path: *const c_char) -> bool {
    if sys::errno() != libc::ENOENT || path.is_null() {
        return false;
    }
    // SAFETY: non-null and NUL-terminated per this function's contract.
    cafix_common::locations::quick_candidate(unsafe { CStr::from_ptr(path) }.to_bytes())
}

// The shared tails: the real call's answer stands unless it failed on a
// candidate; then the engine decides. Inlined into every hook.

/// # Safety
/// `path` is NULL or NUL-terminated; `buf` is NULL or the caller's struct of `layout`.
#[inline(always)]
unsafe fn stat_tail(layout: c_int, rc: c_int, path: *const c_char, buf: *mut c_void, saved: c_int) -> c_int {
    // SAFETY: per this function's contract.
    if rc == 0 || buf.is_null() || !unsafe { candidate(path) } {
        return rc;
    }
    // SAFETY: per this function's contract; path is non-null (a candidate).
    unsafe { engine::after_stat(layout, rc, path, buf, saved) }
}

/// # Safety
/// `path` is NULL or NUL-terminated.
#[inline(always)]
unsafe fn access_tail(rc: c_int, path: *const c_char, mode: c_int, saved: c_int) -> c_int {
    // SAFETY: per this function's contract.
    if rc == 0 || !unsafe { candidate(path) } {
        return rc;
    }
    // SAFETY: path is non-null and NUL-terminated (a candidate).
    unsafe { engine::after_access(rc, path, mode, saved) }
}

/// # Safety
/// `path` and `mode` are NULL or NUL-terminated.
#[inline(always)]
unsafe fn fopen_tail(file: *mut FILE, path: *const c_char, mode: *const c_char, saved: c_int) -> *mut FILE {
    // SAFETY: per this function's contract.
    if !file.is_null() || !unsafe { candidate(path) } {
        return file;
    }
    // SAFETY: path is non-null and NUL-terminated (a candidate); mode per the contract.
    unsafe { engine::after_fopen(file, path, mode, saved) }
}

/// # Safety
/// `path` is NULL or NUL-terminated.
#[inline(always)]
unsafe fn open_tail(fd: c_int, path: *const c_char, flags: c_int, saved: c_int) -> c_int {
    // SAFETY: per this function's contract.
    if fd >= 0 || !unsafe { candidate(path) } {
        return fd;
    }
    // SAFETY: path is non-null and NUL-terminated (a candidate).
    unsafe { engine::after_open(fd, path, flags, saved) }
}

// ---- the stat family ---------------------------------------------------------

macro_rules! stat_hook {
    ($(#[$doc:meta])* $name:ident, $real:ident, $st:ty, $layout:expr) => {
        $(#[$doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut $st) -> c_int {
            let saved = sys::errno();
            let real = real_fn!($real, unsafe extern "C" fn(*const c_char, *mut $st) -> c_int, -1);
            // SAFETY: arguments passed through unchanged; then the shared tail
            // with the caller's path and buffer, of layout `$layout`.
            unsafe { stat_tail($layout, real(path, buf), path, buf.cast(), saved) }
        }
    };
}

stat_hook!(
    /// `stat(2)`: what OpenSSL's hash-directory lookup calls for `<dir>/<hash>.<n>`.
    stat, STAT, libc::stat, LAYOUT_STAT
);
stat_hook!(stat64, STAT64, libc::stat64, LAYOUT_STAT64);
stat_hook!(
    /// `lstat(2)`: OpenSSL 3 looks at an entry with `lstat` before `stat`.
    lstat, LSTAT, libc::stat, LAYOUT_STAT
);
stat_hook!(lstat64, LSTAT64, libc::stat64, LAYOUT_STAT64);
// 32-bit programs built with `_TIME_BITS=64` call these instead.
#[cfg(target_pointer_width = "32")]
stat_hook!(__stat64_time64, STAT64_TIME64, Stat64Time64, LAYOUT_STAT64_TIME64);
#[cfg(target_pointer_width = "32")]
stat_hook!(__lstat64_time64, LSTAT64_TIME64, Stat64Time64, LAYOUT_STAT64_TIME64);

/// `__xstat(ver, path, buf)`: `ver` selects the kernel layout, which is `$st`
/// on the supported targets.
macro_rules! xstat_hook {
    ($name:ident, $real:ident, $st:ty, $layout:expr) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(ver: c_int, path: *const c_char, buf: *mut $st) -> c_int {
            let saved = sys::errno();
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, *const c_char, *mut $st) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged; then the shared tail
            // with the caller's path and buffer, of layout `$layout`.
            unsafe { stat_tail($layout, real(ver, path, buf), path, buf.cast(), saved) }
        }
    };
}

xstat_hook!(__xstat, XSTAT, libc::stat, LAYOUT_STAT);
xstat_hook!(__xstat64, XSTAT64, libc::stat64, LAYOUT_STAT64);
xstat_hook!(__lxstat, LXSTAT, libc::stat, LAYOUT_STAT);
xstat_hook!(__lxstat64, LXSTAT64, libc::stat64, LAYOUT_STAT64);

/// `fstatat`: only absolute paths are candidates (the directory fd is then
/// ignored by the kernel too).
macro_rules! fstatat_hook {
    ($name:ident, $real:ident, $st:ty, $layout:expr) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, buf: *mut $st, flags: c_int) -> c_int {
            let saved = sys::errno();
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, *const c_char, *mut $st, c_int) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged; then the shared tail
            // with the caller's path and buffer, of layout `$layout`.
            unsafe { stat_tail($layout, real(dirfd, path, buf, flags), path, buf.cast(), saved) }
        }
    };
}

fstatat_hook!(fstatat, FSTATAT, libc::stat, LAYOUT_STAT);
fstatat_hook!(fstatat64, FSTATAT64, libc::stat64, LAYOUT_STAT64);
#[cfg(target_pointer_width = "32")]
fstatat_hook!(__fstatat64_time64, FSTATAT64_TIME64, Stat64Time64, LAYOUT_STAT64_TIME64);

macro_rules! fxstatat_hook {
    ($name:ident, $real:ident, $st:ty, $layout:expr) => {
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
            // SAFETY: arguments passed through unchanged; then the shared tail
            // with the caller's path and buffer, of layout `$layout`.
            unsafe {
                stat_tail(
                    $layout,
                    real(ver, dirfd, path, buf, flags),
                    path,
                    buf.cast(),
                    saved,
                )
            }
        }
    };
}

fxstatat_hook!(__fxstatat, FXSTATAT, libc::stat, LAYOUT_STAT);
fxstatat_hook!(__fxstatat64, FXSTATAT64, libc::stat64, LAYOUT_STAT64);

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
    // SAFETY: arguments passed through unchanged; then the shared tail with
    // the caller's path and buffer, a struct statx.
    unsafe {
        stat_tail(
            LAYOUT_STATX,
            real(dirfd, path, flags, mask, buf),
            path,
            buf.cast(),
            saved,
        )
    }
}

// ---- access ------------------------------------------------------------------

/// `access(2)`.
#[no_mangle]
pub unsafe extern "C" fn access(path: *const c_char, mode: c_int) -> c_int {
    let saved = sys::errno();
    let real = real_fn!(ACCESS, unsafe extern "C" fn(*const c_char, c_int) -> c_int, -1);
    // SAFETY: arguments passed through unchanged; then the shared tail.
    unsafe { access_tail(real(path, mode), path, mode, saved) }
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
    // SAFETY: arguments passed through unchanged; then the shared tail.
    unsafe { access_tail(real(dirfd, path, mode, flags), path, mode, saved) }
}

// ---- fopen -------------------------------------------------------------------

macro_rules! fopen_hook {
    ($(#[$doc:meta])* $name:ident, $real:ident) => {
        $(#[$doc])*
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: *const c_char) -> *mut FILE {
            let saved = sys::errno();
            let real = real_fn!($real, unsafe extern "C" fn(*const c_char, *const c_char) -> *mut FILE, core::ptr::null_mut());
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { fopen_tail(real(path, mode), path, mode, saved) }
        }
    };
}

fopen_hook!(
    /// `fopen(3)`: how OpenSSL reads a hash entry after `stat` found it.
    fopen, FOPEN
);
fopen_hook!(fopen64, FOPEN64);

// ---- open --------------------------------------------------------------------

// `open` is variadic in C; the optional mode travels in the third argument
// register on the ABIs glibc supports, so declaring it as a fixed `c_uint`
// reads it where the caller put it (and ignores it when there is none).
macro_rules! open_hook {
    ($name:ident, $real:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
            let saved = sys::errno();
            // The real open, called with the same three registers.
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(*const c_char, c_int, c_uint) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { open_tail(real(path, flags, mode), path, flags, saved) }
        }
    };
}

open_hook!(open, OPEN);
open_hook!(open64, OPEN64);

macro_rules! openat_hook {
    ($name:ident, $real:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
            let saved = sys::errno();
            // The real openat, called with the same four registers.
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, *const c_char, c_int, c_uint) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { open_tail(real(dirfd, path, flags, mode), path, flags, saved) }
        }
    };
}

openat_hook!(openat, OPENAT);
openat_hook!(openat64, OPENAT64);

macro_rules! fortified_open_hook {
    ($name:ident, $real:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, flags: c_int) -> c_int {
            let saved = sys::errno();
            let real = real_fn!($real, unsafe extern "C" fn(*const c_char, c_int) -> c_int, -1);
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { open_tail(real(path, flags), path, flags, saved) }
        }
    };
}

fortified_open_hook!(__open_2, OPEN_2);
fortified_open_hook!(__open64_2, OPEN64_2);

macro_rules! fortified_openat_hook {
    ($name:ident, $real:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
            let saved = sys::errno();
            let real = real_fn!(
                $real,
                unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int,
                -1
            );
            // SAFETY: arguments passed through unchanged; then the shared tail.
            unsafe { open_tail(real(dirfd, path, flags), path, flags, saved) }
        }
    };
}

fortified_openat_hook!(__openat_2, OPENAT_2);
fortified_openat_hook!(__openat64_2, OPENAT64_2);

// ---- getenv ------------------------------------------------------------------

/// `getenv(3)`: the real answer, always, except for one name. A Node.js
/// process asking for `NODE_EXTRA_CA_CERTS` that nobody set (outside
/// secure-exec) is told [`locations::LOCAL_CAS_PEM`], a file the engine
/// serves from memory with the local CAs (none, if there are none): Node.js
/// adds its certificates to its compiled-in roots, as it does for a file the
/// user names. Nothing is written, no variable is set (children inherit
/// nothing), and a value the user set is returned untouched.
///
/// The cost for every other call is one byte compared when the variable is
/// unset; no lock, no allocation, errno kept.
///
/// [`locations::LOCAL_CAS_PEM`]: cafix_common::locations::LOCAL_CAS_PEM
#[no_mangle]
pub unsafe extern "C" fn getenv(name: *const c_char) -> *mut c_char {
    let real = real_fn!(
        GETENV,
        unsafe extern "C" fn(*const c_char) -> *mut c_char,
        core::ptr::null_mut()
    );
    // SAFETY: the argument passed through unchanged.
    let value = unsafe { real(name) };
    // SAFETY: getenv's contract: `name` is a NUL-terminated string (its
    // first byte is readable); NULL is checked first.
    if !value.is_null() || name.is_null() || unsafe { *name } != b'N' as c_char {
        return value;
    }
    // SAFETY: as above.
    unsafe { node_extra_ca_certs(name) }
}

/// [`getenv`]'s answer for an unset variable whose name starts with `N`.
///
/// # Safety
/// `name` is a NUL-terminated string.
#[cold]
unsafe fn node_extra_ca_certs(name: *const c_char) -> *mut c_char {
    // SAFETY: per this function's contract.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    if name != b"NODE_EXTRA_CA_CERTS" || !crate::node::wants_local_cas() {
        return core::ptr::null_mut();
    }
    cafix_common::locations::LOCAL_CAS_PEM.as_ptr().cast_mut()
}
