//! The interposed libc functions. Every hook calls the real function first;
//! only when that fails with `ENOENT` on a path that *could* be a trust
//! location does it take the slow path ([`missing`]). So for every other path
//! a hook makes exactly the real call's system calls, takes no lock,
//! allocates nothing and leaves errno as the real call left it.
//!
//! - `stat.rs`: the stat family (`stat`, `lstat`, `fstatat`, `__xstat`, `statx` …) and `access`.
//! - `open.rs`: `fopen`, `fopen64`, `open`, `openat` and their fortified forms.
//! - `openssl.rs`: libcrypto's `X509_STORE_load_*`, `X509_LOOKUP_ctrl`, `X509_verify_cert` (observe only).

/// The real function behind hook `$real` (a [`crate::real`] entry) as the
/// function-pointer type `$ty`; if the C library has none, the hook fails
/// with `ENOSYS` and returns `$fail`.
macro_rules! real_fn {
    ($real:ident, $ty:ty, $fail:expr) => {{
        let p = crate::real::$real.get();
        if p.is_null() {
            crate::sys::set_errno(libc::ENOSYS);
            return $fail;
        }
        // SAFETY: `p` is the next definition of this very symbol, whose C
        // signature is `$ty`.
        unsafe { std::mem::transmute::<*mut libc::c_void, $ty>(p) }
    }};
}

pub mod open;
pub mod openssl;
pub mod stat;

use libc::{c_char, c_int};

use crate::state::{path_bytes, shim, Served};
use crate::sys;

/// The real call failed with `failed_errno`. Should `path` be served?
/// Cheap checks first; the rest runs with unwinding caught, so a bug in the
/// shim degrades to "serve nothing", never to a crash of the host.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline]
pub unsafe fn missing(path: *const c_char, failed_errno: c_int) -> Option<Served> {
    if failed_errno != libc::ENOENT {
        return None;
    }
    // SAFETY: forwarded from this function's contract.
    let bytes = unsafe { path_bytes(path) }?;
    if !cafix_core::locations::quick_candidate(bytes) {
        return None;
    }
    slow_path(bytes)
}

#[cold]
fn slow_path(path: &[u8]) -> Option<Served> {
    // Under the shim lock, with unwinding caught; a hook re-entered from
    // inside the shim (or a signal handler interrupting it) gets `None`.
    crate::lock::with_shim_lock(|| {
        let served = shim().serve(path);
        if served.is_none() && path.ends_with(b".0") {
            // A directory without any entry for this hash: worth naming if
            // the verification in progress on this thread fails.
            crate::verification::note_missed_lookup(path);
        }
        served
    })
    .flatten()
}

/// Is the path absolute? A relative one depends on a directory fd or the
/// working directory, which are never trust locations to the shim.
///
/// # Safety
/// `path` is NULL or NUL-terminated.
#[inline]
pub unsafe fn absolute(path: *const c_char) -> bool {
    // SAFETY: a non-null C string has at least its terminator.
    !path.is_null() && unsafe { *path } == b'/' as c_char
}

/// Restores errno after a served call succeeded, so the caller sees what it
/// would have seen had the file been there.
#[inline]
pub fn restore_errno(saved: c_int) {
    sys::set_errno(saved);
}
