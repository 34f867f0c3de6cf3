//! The engine's side of the hooks. The libc hooks themselves live in
//! libcafix.so (shim/preload/src/hooks.rs): they call the real function and
//! come here only when it failed with `ENOENT` on a path that *could* be a
//! trust location; these slow paths decide ([`missing`]) and serve.
//!
//! - `stat.rs`: the stat family (`stat`, `lstat`, `fstatat`, `__xstat`, `statx` …) and `access`.
//! - `open.rs`: `fopen`, `fopen64`, `open`, `openat` and their fortified forms.
//! - `openssl.rs`: libcrypto's `X509_STORE_load_*`, `X509_LOOKUP_ctrl`, `X509_verify_cert` (observe only).
//! - `gnutls.rs`: libgnutls's trust sources and verifications (observe only).

/// Finds the real function for a call returning to `$caller`, or reports
/// that none exists and returns `$fail`, what the library returns on
/// failure.
macro_rules! real_or_fail {
    ($caller:expr, $sym:expr, $ty:ty, $fail:expr) => {{
        let saved = crate::sys::errno();
        let real = crate::libcrypto::real_for($caller, $sym);
        crate::sys::set_errno(saved);
        if real.is_null() {
            crate::verification::report_unresolved($sym.name());
            return $fail;
        }
        // SAFETY: `real` is the caller's library's definition of this very
        // function, whose C signature is `$ty`.
        unsafe { std::mem::transmute::<*mut std::ffi::c_void, $ty>(real) }
    }};
}

pub mod gnutls;
pub mod open;
pub mod openssl;
pub mod stat;

use std::ffi::CStr;

use cafix::explain::TrustSource;
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
    if !cafix_common::locations::quick_candidate(bytes) {
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
            crate::held_back::note_missed_lookup(path);
        }
        served
    })
    .flatten()
}

/// Restores errno after a served call succeeded, so the caller sees what it
/// would have seen had the file been there.
#[inline]
pub fn restore_errno(saved: c_int) {
    sys::set_errno(saved);
}

/// A trust source named by a path argument (NULL: none).
pub(crate) fn path_source(path: *const c_char, make: fn(String) -> TrustSource) -> Option<TrustSource> {
    if path.is_null() {
        return None;
    }
    // SAFETY: both libraries' APIs take NUL-terminated paths; non-null checked above.
    Some(make(unsafe { CStr::from_ptr(path) }.to_string_lossy().into_owned()))
}
