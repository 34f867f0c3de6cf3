//! The engine's side of the hooks. The libc hooks themselves live in
//! libcafix.so (shim/preload/src/hooks.rs): they call the real function and
//! come here only when it failed with `ENOENT` on a path that *could* be a
//! trust location; these slow paths decide ([`missing`]) and serve.
//!
//! - `stat.rs`: the stat family (`stat`, `lstat`, `fstatat`, `__xstat`, `statx` …) and `access`.
//! - `open.rs`: `fopen`, `fopen64`, `open`, `openat` and their fortified forms.
//! - `openssl.rs`: libcrypto's `X509_STORE_load_*`, `X509_LOOKUP_ctrl`, `X509_verify_cert` (observe only).
//! - `gnutls.rs`: libgnutls's trust sources and verifications (observe only).
//! - `nss.rs`: NSS's initialisations and module loading (then its token of local CAs).

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

/// `real_or_fail!`, and whether the call is to be observed (it is not from
/// inside the library, see [`from_inside`]).
macro_rules! real_and_observed {
    ($caller:expr, $sym:expr, $ty:ty, $fail:expr) => {{
        let real = real_or_fail!($caller, $sym, $ty, $fail);
        (real, !crate::hooks::from_inside($caller, real as *mut c_void))
    }};
}

pub mod gnutls;
pub mod nss;
pub mod open;
pub mod openssl;
pub mod stat;

use std::ffi::{c_void, CStr};
use std::sync::Mutex;

use cafix::explain::TrustSource;
use cafix_common::locations::TrustPath;
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
        // The two locations other modules serve, then the rest (`state`).
        let served = match cafix_common::locations::classify(path, None, None) {
            Some(TrustPath::JavaTrustStore { security_dir }) => crate::java::serve(security_dir).map(Served::Keystore),
            // Empty when serving is off: Node.js then adds nothing, and says nothing.
            Some(TrustPath::LocalCas) => Some(Served::LocalCas(match shim().config.serve {
                true => crate::local::pem(),
                false => &[],
            })),
            _ => shim().serve(path),
        };
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

/// Whether a call returning to `caller` comes from the library that defines
/// `real` (its own PLT call of an exported function), or returns into the
/// engine itself: the real function of a hook here made it as a tail call
/// (`gnutls_certificate_verify_peers2` jumps to `_verify_peers`), so it
/// returns where the hook's call of the real function does. Cached by caller.
pub(crate) fn from_inside(caller: *const c_void, real: *mut c_void) -> bool {
    // Dropped whenever an object has been unloaded: an address may then
    // belong to another.
    static SEEN: Mutex<(u64, Vec<(usize, bool)>)> = Mutex::new((u64::MAX, Vec::new()));
    let key = caller as usize;
    let subs = crate::libcrypto::unload_count();
    let cached = crate::lock::with_shim_lock(|| {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.0 != subs {
            *seen = (subs, Vec::new());
        }
        seen.1.iter().find(|(k, _)| *k == key).map(|&(_, inside)| inside)
    })
    .flatten();
    if let Some(inside) = cached {
        return inside;
    }
    let saved = sys::errno();
    let inside = crate::libcrypto::same_object(caller, real)
        || crate::libcrypto::same_object(caller, from_inside as *mut c_void);
    sys::set_errno(saved);
    crate::lock::with_shim_lock(|| {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.0 == subs {
            if seen.1.len() >= 256 {
                seen.1.clear();
            }
            seen.1.push((key, inside));
        }
    });
    inside
}
