//! The slow paths of opening files: `fopen`/`fopen64` (what OpenSSL's
//! `BIO_new_file` uses for hash entries and bundles) and `open`/`openat` with
//! their `64` and fortified (`__open_2` …) forms, for programs that read trust
//! files with plain file descriptors. libcafix.so's hooks come here only when
//! the real call failed on a path that could be a trust location.
//!
//! Served content is only ever opened read-only: a `FILE` over the in-memory
//! PEM (`fmemopen`), a sealed memfd for a certificate, or the system bundle
//! itself for a missing bundle path. Nothing is written anywhere.

use libc::{c_char, c_int, FILE};

use super::{missing, restore_errno};
use crate::state::Served;
use crate::sys;

/// Is an `fopen` mode read-only (`r`, `rb`, `re`, `rt` …, no `+`)?
///
/// # Safety
/// `mode` is NULL or NUL-terminated.
unsafe fn read_only_mode(mode: *const c_char) -> bool {
    if mode.is_null() {
        return false;
    }
    // SAFETY: non-null and NUL-terminated per the contract.
    let mode = unsafe { std::ffi::CStr::from_ptr(mode) }.to_bytes();
    mode.first() == Some(&b'r') && !mode.contains(&b'+')
}

/// A read-only stream over the served content: its bytes, which live as
/// long as the process, or the real file opened in its place.
fn served_stream(served: Served) -> *mut FILE {
    let Some(bytes) = served.memory() else {
        let fd = real_file_fd(served, true);
        if fd < 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: fd is a read-only descriptor we own; fdopen takes it over.
        let stream = unsafe { libc::fdopen(fd, c"r".as_ptr()) };
        if stream.is_null() {
            // SAFETY: fdopen failed, so fd is still ours to close.
            unsafe { libc::close(fd) };
        }
        return stream;
    };
    // An empty buffer is a valid empty stream with glibc 2.22 and later.
    // SAFETY: `bytes` is 'static; fmemopen in "r" mode never writes to the
    // buffer, so handing it a pointer to immutable data is sound.
    unsafe { libc::fmemopen(bytes.as_ptr() as *mut libc::c_void, bytes.len(), c"r".as_ptr()) }
}

/// The shared tail of the fopen hooks.
///
/// # Safety
/// `path` and `mode` are NULL or NUL-terminated.
pub unsafe fn after_fopen(file: *mut FILE, path: *const c_char, mode: *const c_char, saved: c_int) -> *mut FILE {
    // SAFETY: per this function's contract.
    if !file.is_null() || !unsafe { read_only_mode(mode) } {
        return file;
    }
    let failed = sys::errno();
    // SAFETY: per this function's contract.
    if let Some(served) = unsafe { missing(path, failed) } {
        let stream = served_stream(served);
        if !stream.is_null() {
            restore_errno(saved);
            return stream;
        }
        sys::set_errno(failed);
    }
    file
}

/// A file descriptor for served content, opened with the caller's `O_CLOEXEC`:
/// the real file when one stands in (the system bundle for a bundle path,
/// the real `cacerts`), else a sealed memfd of the bytes.
fn served_fd(served: Served, flags: c_int) -> c_int {
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let bytes = match served {
        Served::Bundle(_) => return real_file_fd(served, cloexec),
        other => match other.memory() {
            Some(bytes) => bytes,
            None => return real_file_fd(served, cloexec),
        },
    };
    let name = match served {
        Served::Cert(_) => c"cafix-served-certificate",
        _ => c"cafix-served",
    };
    sys::sealed_memfd(name, bytes, cloexec).unwrap_or(-1)
}

/// The real file that stands in for served content, opened read-only.
fn real_file_fd(served: Served, cloexec: bool) -> c_int {
    use std::os::unix::ffi::OsStrExt;
    let path = match served {
        Served::Bundle(bundle) => &bundle.path,
        Served::Keystore(store) => &store.cacerts,
        Served::Cert(_) | Served::LocalCas(_) => return -1,
    };
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return -1;
    };
    let flags = libc::O_RDONLY | if cloexec { libc::O_CLOEXEC } else { 0 };
    // SAFETY: openat of a NUL-terminated path, read-only.
    unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, path.as_ptr(), flags, 0) as c_int }
}

/// Only plain read-only opens of files are served.
fn servable_open(flags: c_int) -> bool {
    flags & libc::O_ACCMODE == libc::O_RDONLY
        && flags & (libc::O_CREAT | libc::O_DIRECTORY | libc::O_TMPFILE | libc::O_PATH) == 0
}

/// The shared tail of every open hook.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
pub unsafe fn after_open(fd: c_int, path: *const c_char, flags: c_int, saved: c_int) -> c_int {
    if fd >= 0 || !servable_open(flags) {
        return fd;
    }
    let failed = sys::errno();
    // SAFETY: per this function's contract.
    if let Some(served) = unsafe { missing(path, failed) } {
        let new_fd = served_fd(served, flags);
        if new_fd >= 0 {
            restore_errno(saved);
            return new_fd;
        }
        sys::set_errno(failed);
    }
    fd
}
