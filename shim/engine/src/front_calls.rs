//! What libcafix.so calls: the engine's exported entry points, named and
//! typed in shim/common/src/engine_abi.rs (which both objects compile).
//!
//! Each is an `extern "C"` function that never unwinds: the slow paths
//! catch panics under the shim lock (`lock.rs`), and `init` catches its own.

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use cafix_common::engine_abi::{
    FrontInfo, Stat64Time64, LAYOUT_STAT, LAYOUT_STAT64, LAYOUT_STAT64_TIME64, LAYOUT_STATX,
};
use libc::FILE;

use crate::front;
use crate::hooks::{open, stat};

/// Called once by libcafix.so right after loading this object. 0: ready.
#[no_mangle]
pub unsafe extern "C" fn cafix_engine_init_v3(info: *const FrontInfo) -> c_int {
    // SAFETY: the front passes its own FrontInfo; checked for null and size.
    let Some(info) = (unsafe { info.as_ref() }) else {
        return -1;
    };
    if info.size != std::mem::size_of::<FrontInfo>() {
        return -1;
    }
    let started = catch_unwind(AssertUnwindSafe(|| {
        front::remember(info);
        crate::logger::set_stderr_at_load(info.stderr_dev, info.stderr_ino);
        crate::lock::install_fork_handlers();
    }));
    if started.is_ok() {
        0
    } else {
        -1
    }
}

/// The stat family's slow path: `buf` is a `struct stat`, `stat64` or
/// `statx` per `layout`.
#[no_mangle]
pub unsafe extern "C" fn cafix_engine_after_stat_v3(
    layout: c_int,
    rc: c_int,
    path: *const c_char,
    buf: *mut c_void,
    saved: c_int,
) -> c_int {
    // SAFETY: the front passes the caller's path and buffer of that layout.
    unsafe {
        match layout {
            LAYOUT_STAT => stat::after_stat(rc, path, buf.cast::<libc::stat>(), saved),
            LAYOUT_STAT64 => stat::after_stat(rc, path, buf.cast::<libc::stat64>(), saved),
            LAYOUT_STATX => stat::after_stat(rc, path, buf.cast::<libc::statx>(), saved),
            LAYOUT_STAT64_TIME64 => stat::after_stat(rc, path, buf.cast::<Stat64Time64>(), saved),
            _ => rc,
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn cafix_engine_after_access_v3(
    rc: c_int,
    path: *const c_char,
    mode: c_int,
    saved: c_int,
) -> c_int {
    // SAFETY: the front passes the caller's arguments.
    unsafe { stat::after_access(rc, path, mode, saved) }
}

#[no_mangle]
pub unsafe extern "C" fn cafix_engine_after_fopen_v3(
    file: *mut FILE,
    path: *const c_char,
    mode: *const c_char,
    saved: c_int,
) -> *mut FILE {
    // SAFETY: the front passes the caller's arguments.
    unsafe { open::after_fopen(file, path, mode, saved) }
}

#[no_mangle]
pub unsafe extern "C" fn cafix_engine_after_open_v3(
    fd: c_int,
    path: *const c_char,
    flags: c_int,
    saved: c_int,
) -> c_int {
    // SAFETY: the front passes the caller's arguments.
    unsafe { open::after_open(fd, path, flags, saved) }
}
