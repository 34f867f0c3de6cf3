//! Hooks on libgnutls's trust-source and verification entry points. They
//! only observe: arguments and return values pass through unchanged.
//!
//! As for OpenSSL (`openssl.rs`), each hook is exported as
//! `cafix_hook_<function>` and gets the caller's return address after the
//! function's arguments, so the real function is the one of *the caller's*
//! libgnutls (`libcrypto.rs` resolves both libraries alike). What
//! is observed:
//! - the trust sources a credentials structure or a trust list is given
//!   (`gnutls_certificate_set_x509_system_trust`, `_trust_file`,
//!   `_trust_dir`, `gnutls_x509_trust_list_add_*`, and a trust list handed
//!   to credentials), forgotten when they are freed;
//! - the verifications: `gnutls_certificate_verify_peers{,2,3}`,
//!   `gnutls_x509_trust_list_verify_crt{,2}`, the automatic verification of
//!   `gnutls_session_set_verify_cert{,2}` (seen when `gnutls_handshake` fails
//!   with `GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR`; the host name it was
//!   given is kept for that, per thread), and the separate host
//!   name check (`gnutls_x509_crt_check_hostname{,2}`) that libcurl and wget
//!   make after verifying. A failure becomes one record
//!   (`verification::gnutls`); a success is said at debug level.
//!
//! libgnutls calls many of its own exported functions through its PLT
//! (`verify_peers2` → `verify_peers`, `set_x509_trust_dir` →
//! `trust_list_add_trust_dir` → `_add_trust_file` per file, the verifier →
//! `check_hostname2`), so those calls arrive here too; a call from inside
//! the library itself (`hooks::from_inside`) passes straight through, so one
//! program call is one observation. A verify callback the program runs
//! during the handshake calls from the program, and is observed.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use libc::{c_char, c_int, c_uint};

use cafix::explain::TrustSource;
use cafix_common::engine_abi::GNUTLS_E_INTERNAL_ERROR;

use super::path_source;
use crate::libcrypto::Sym;
use crate::sys;
use crate::verification::{self, cstr, gnutls as explain};

/// `GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR`: the handshake's own verification failed.
const GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR: c_int = -348;
/// `GNUTLS_DT_DNS_HOSTNAME`, the typed-data kind holding the expected host name.
const GNUTLS_DT_DNS_HOSTNAME: c_int = 1;

/// `gnutls_typed_vdata_st`.
#[repr(C)]
pub struct TypedVdata {
    kind: c_int,
    data: *const u8,
    size: c_uint,
}

/// Runs `f` after the real call with unwinding caught and errno kept.
fn observe(f: impl FnOnce()) {
    let saved = sys::errno();
    let _ = catch_unwind(AssertUnwindSafe(f));
    sys::set_errno(saved);
}

fn record(owner: *mut c_void, source: Option<TrustSource>) {
    if owner.is_null() {
        return;
    }
    if let Some(source) = source {
        observe(|| {
            crate::lock::with_shim_lock(|| verification::add_source(owner, source));
        });
    }
}

/// The host name among typed verification data, if any.
///
/// # Safety
/// `data` is NULL or points to `elements` entries, as GnuTLS requires.
unsafe fn hostname_in(data: *const TypedVdata, elements: c_uint) -> Option<String> {
    if data.is_null() {
        return None;
    }
    (0..elements.min(64) as usize).find_map(|i| {
        // SAFETY: i < elements, within the caller's array.
        let entry = unsafe { &*data.add(i) };
        if entry.kind != GNUTLS_DT_DNS_HOSTNAME || entry.data.is_null() {
            return None;
        }
        // SAFETY: GnuTLS documents this kind as a NUL-terminated host name.
        unsafe { cstr(entry.data.cast()) }
    })
}

/// What a session verification answered: the status, if it verified.
///
/// # Safety
/// `status` is NULL or the caller's `unsigned int *`.
unsafe fn status_after(rc: c_int, status: *const c_uint) -> Option<u32> {
    // SAFETY: written by GnuTLS when it returned 0.
    (rc == 0 && !status.is_null()).then(|| unsafe { *status })
}

thread_local! {
    /// The session whose failed verification this thread explained last: a
    /// handshake failing because of it (the program's verify function
    /// returned the error) is not explained again.
    static EXPLAINED_SESSION: Cell<usize> = const { Cell::new(0) };
    /// The leaf (DER) whose chain this thread saw verify last. A failed host
    /// name check of that certificate is the verifying program's verdict
    /// (libcurl, wget); one of any other certificate may be a program that
    /// does not verify at all (`curl -k`, `git -c http.sslVerify=false`
    /// still ask), so it is said at debug only.
    static VERIFIED_LEAF: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    /// The session this thread last asked to verify itself during its
    /// handshake (`gnutls_session_set_verify_cert{,2}`), and the host name it
    /// was to match: the server a failed handshake names (apt sets both on
    /// the thread that then shakes hands). One slot: a session set up on one
    /// thread and shaken on another, or an older session, names only its peer.
    static VERIFY_HOST: RefCell<Option<(usize, String)>> = const { RefCell::new(None) };
}

fn remember_verify_host(session: *mut c_void, host: Option<String>) {
    let _ = VERIFY_HOST.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = host.map(|host| (session as usize, host));
        }
    });
}

/// The host name `session`'s handshake was set to verify on this thread.
fn verify_host_of(session: *mut c_void) -> Option<String> {
    VERIFY_HOST
        .try_with(|slot| {
            let slot = slot.try_borrow().ok()?;
            let (owner, host) = slot.as_ref()?;
            (*owner == session as usize).then(|| host.clone())
        })
        .ok()
        .flatten()
}

fn remember_verified_leaf(leaf: Option<Vec<u8>>) {
    let _ = VERIFIED_LEAF.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            *l = leaf;
        }
    });
}

/// After a session's verification: explain a failure, note a success.
fn after_session_verify(real: *mut c_void, session: *mut c_void, status: Option<u32>, host: Option<String>) {
    if session.is_null() {
        return;
    }
    observe(|| match status {
        Some(status) if status != 0 => {
            remember_verified_leaf(None);
            let _ = EXPLAINED_SESSION.try_with(|s| s.set(session as usize));
            // SAFETY: `session` is the live session `real`'s library just verified.
            unsafe { explain::session_failure(real, session, status, host) }
        }
        Some(_) => {
            // SAFETY: as above.
            remember_verified_leaf(unsafe { explain::session_leaf(real, session) });
            verification::note_debug("verify-ok", "certificate verification succeeded (GnuTLS)")
        }
        None => verification::note_debug(
            "verify-error",
            "GnuTLS could not verify the peer (no certificate, or an error before verifying)",
        ),
    });
}

// ---- verifications -----------------------------------------------------------

#[export_name = "cafix_hook_gnutls_certificate_verify_peers2"]
pub unsafe extern "C" fn verify_peers2_hook(session: *mut c_void, status: *mut c_uint, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *mut c_uint) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsVerifyPeers2, F, GNUTLS_E_INTERNAL_ERROR);
    // SAFETY: the caller's arguments, passed through unchanged.
    let rc = unsafe { real(session, status) };
    // SAFETY: `status` is the caller's pointer GnuTLS just wrote (if rc is 0).
    let verdict = unsafe { status_after(rc, status) };
    if observed {
        after_session_verify(real as *mut c_void, session, verdict, None);
    }
    rc
}

#[export_name = "cafix_hook_gnutls_certificate_verify_peers3"]
pub unsafe extern "C" fn verify_peers3_hook(
    session: *mut c_void,
    hostname: *const c_char,
    status: *mut c_uint,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_uint) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsVerifyPeers3, F, GNUTLS_E_INTERNAL_ERROR);
    // SAFETY: passed through unchanged.
    let rc = unsafe { real(session, hostname, status) };
    // SAFETY: as in verify_peers2_hook; `hostname` is NULL or NUL-terminated.
    let (verdict, host) = unsafe { (status_after(rc, status), cstr(hostname)) };
    if observed {
        after_session_verify(real as *mut c_void, session, verdict, host);
    }
    rc
}

#[export_name = "cafix_hook_gnutls_certificate_verify_peers"]
pub unsafe extern "C" fn verify_peers_hook(
    session: *mut c_void,
    data: *const TypedVdata,
    elements: c_uint,
    status: *mut c_uint,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const TypedVdata, c_uint, *mut c_uint) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsVerifyPeers, F, GNUTLS_E_INTERNAL_ERROR);
    // SAFETY: passed through unchanged.
    let rc = unsafe { real(session, data, elements, status) };
    // SAFETY: as in verify_peers2_hook; `data` as GnuTLS requires it.
    let (verdict, host) = unsafe { (status_after(rc, status), hostname_in(data, elements)) };
    if observed {
        after_session_verify(real as *mut c_void, session, verdict, host);
    }
    rc
}

#[export_name = "cafix_hook_gnutls_handshake"]
pub unsafe extern "C" fn handshake_hook(session: *mut c_void, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsHandshake, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        let _ = EXPLAINED_SESSION.try_with(|s| s.set(0));
    }
    // SAFETY: passed through unchanged.
    let rc = unsafe { real(session) };
    let explained = EXPLAINED_SESSION
        .try_with(|s| s.get() == session as usize)
        .unwrap_or(false);
    if observed && rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR && !session.is_null() && !explained {
        observe(|| {
            // SAFETY: the session the same library just failed to verify.
            unsafe { explain::handshake_failure(real as *mut c_void, session, verify_host_of(session)) }
        });
    }
    rc
}

#[allow(clippy::unused_unit)]
#[export_name = "cafix_hook_gnutls_session_set_verify_cert"]
pub unsafe extern "C" fn set_verify_cert_hook(
    session: *mut c_void,
    hostname: *const c_char,
    flags: c_uint,
    caller: *const c_void,
) {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, c_uint);
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsSessionSetVerifyCert, F, ());
    if observed && !session.is_null() {
        // SAFETY: GnuTLS takes `hostname` as NULL or a NUL-terminated name.
        observe(|| remember_verify_host(session, unsafe { cstr(hostname) }));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(session, hostname, flags) }
}

#[allow(clippy::unused_unit)]
#[export_name = "cafix_hook_gnutls_session_set_verify_cert2"]
pub unsafe extern "C" fn set_verify_cert2_hook(
    session: *mut c_void,
    data: *const TypedVdata,
    elements: c_uint,
    flags: c_uint,
    caller: *const c_void,
) {
    type F = unsafe extern "C" fn(*mut c_void, *const TypedVdata, c_uint, c_uint);
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsSessionSetVerifyCert2, F, ());
    if observed && !session.is_null() {
        // SAFETY: `data` as GnuTLS requires it: NULL or `elements` entries.
        observe(|| remember_verify_host(session, unsafe { hostname_in(data, elements) }));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(session, data, elements, flags) }
}

#[export_name = "cafix_hook_gnutls_x509_trust_list_verify_crt"]
pub unsafe extern "C" fn trust_list_verify_crt_hook(
    list: *mut c_void,
    certs: *const *mut c_void,
    count: c_uint,
    flags: c_uint,
    verify: *mut c_uint,
    func: *mut c_void,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const *mut c_void, c_uint, c_uint, *mut c_uint, *mut c_void) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsTrustListVerifyCrt, F, GNUTLS_E_INTERNAL_ERROR);
    // SAFETY: passed through unchanged.
    let rc = unsafe { real(list, certs, count, flags, verify, func) };
    // SAFETY: `verify` is the caller's output GnuTLS wrote (if rc is 0).
    let verdict = unsafe { status_after(rc, verify) };
    if observed {
        after_list_verify(real as *mut c_void, list, certs, count, verdict, None);
    }
    rc
}

#[allow(clippy::too_many_arguments)]
#[export_name = "cafix_hook_gnutls_x509_trust_list_verify_crt2"]
pub unsafe extern "C" fn trust_list_verify_crt2_hook(
    list: *mut c_void,
    certs: *const *mut c_void,
    count: c_uint,
    data: *const TypedVdata,
    elements: c_uint,
    flags: c_uint,
    verify: *mut c_uint,
    func: *mut c_void,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(
        *mut c_void,
        *const *mut c_void,
        c_uint,
        *const TypedVdata,
        c_uint,
        c_uint,
        *mut c_uint,
        *mut c_void,
    ) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsTrustListVerifyCrt2, F, GNUTLS_E_INTERNAL_ERROR);
    // SAFETY: passed through unchanged.
    let rc = unsafe { real(list, certs, count, data, elements, flags, verify, func) };
    // SAFETY: as in trust_list_verify_crt_hook; `data` as GnuTLS requires it.
    let (verdict, host) = unsafe { (status_after(rc, verify), hostname_in(data, elements)) };
    if observed {
        after_list_verify(real as *mut c_void, list, certs, count, verdict, host);
    }
    rc
}

fn after_list_verify(
    real: *mut c_void,
    list: *mut c_void,
    certs: *const *mut c_void,
    count: c_uint,
    status: Option<u32>,
    host: Option<String>,
) {
    if list.is_null() {
        return;
    }
    observe(|| match status {
        Some(status) if status != 0 => {
            remember_verified_leaf(None);
            // SAFETY: `certs` holds `count` certificates of `real`'s library,
            // which it just verified against `list`.
            unsafe { explain::list_failure(real, list, certs, count, status, host) }
        }
        Some(_) => {
            let leaf = if certs.is_null() || count == 0 {
                None
            } else {
                // SAFETY: as above; the first is the leaf.
                unsafe { explain::cert_der(real, *certs) }
            };
            remember_verified_leaf(leaf);
            verification::note_debug("verify-ok", "certificate verification succeeded (GnuTLS trust list)")
        }
        None => verification::note_debug(
            "verify-error",
            "GnuTLS could not verify the certificates (an error before verifying)",
        ),
    });
}

#[export_name = "cafix_hook_gnutls_x509_crt_check_hostname"]
pub unsafe extern "C" fn check_hostname_hook(
    cert: *mut c_void,
    hostname: *const c_char,
    caller: *const c_void,
) -> c_uint {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_uint;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsCrtCheckHostname, F, 0);
    // SAFETY: passed through unchanged.
    let matches = unsafe { real(cert, hostname) };
    if observed {
        after_hostname_check(real as *mut c_void, cert, hostname, matches);
    }
    matches
}

#[export_name = "cafix_hook_gnutls_x509_crt_check_hostname2"]
pub unsafe extern "C" fn check_hostname2_hook(
    cert: *mut c_void,
    hostname: *const c_char,
    flags: c_uint,
    caller: *const c_void,
) -> c_uint {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, c_uint) -> c_uint;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsCrtCheckHostname2, F, 0);
    // SAFETY: passed through unchanged.
    let matches = unsafe { real(cert, hostname, flags) };
    if observed {
        after_hostname_check(real as *mut c_void, cert, hostname, matches);
    }
    matches
}

fn after_hostname_check(real: *mut c_void, cert: *mut c_void, hostname: *const c_char, matches: c_uint) {
    if matches != 0 || cert.is_null() {
        return;
    }
    observe(|| {
        // SAFETY: `cert` is the live certificate `real`'s library just checked.
        let Some(der) = (unsafe { explain::cert_der(real, cert) }) else {
            return;
        };
        let verified = VERIFIED_LEAF
            .try_with(|l| l.try_borrow().is_ok_and(|l| l.as_deref() == Some(der.as_slice())))
            .unwrap_or(false);
        if verified {
            // SAFETY: `hostname` is NULL or NUL-terminated.
            unsafe { explain::hostname_failure(real, der, cstr(hostname)) }
        } else {
            verification::note_debug(
                "hostname-unchecked",
                "a certificate's names do not match the host (GnuTLS); no verification of its chain was seen, so the program decides",
            );
        }
    });
}

// ---- how credentials and trust lists get their trust -------------------------

#[export_name = "cafix_hook_gnutls_certificate_set_x509_system_trust"]
pub unsafe extern "C" fn set_system_trust_hook(cred: *mut c_void, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsSetSystemTrust, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        record(cred, Some(TrustSource::SystemTrust(None)));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(cred) }
}

#[export_name = "cafix_hook_gnutls_certificate_set_x509_trust_file"]
pub unsafe extern "C" fn set_trust_file_hook(
    cred: *mut c_void,
    file: *const c_char,
    kind: c_int,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsSetTrustFile, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        record(cred, path_source(file, TrustSource::File));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(cred, file, kind) }
}

#[export_name = "cafix_hook_gnutls_certificate_set_x509_trust_dir"]
pub unsafe extern "C" fn set_trust_dir_hook(
    cred: *mut c_void,
    dir: *const c_char,
    kind: c_int,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsSetTrustDir, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        record(cred, path_source(dir, TrustSource::Dir));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(cred, dir, kind) }
}

#[export_name = "cafix_hook_gnutls_x509_trust_list_add_system_trust"]
pub unsafe extern "C" fn list_add_system_trust_hook(
    list: *mut c_void,
    tl_flags: c_uint,
    tl_vflags: c_uint,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, c_uint, c_uint) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsTrustListAddSystemTrust, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        record(list, Some(TrustSource::SystemTrust(None)));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(list, tl_flags, tl_vflags) }
}

#[export_name = "cafix_hook_gnutls_x509_trust_list_add_trust_file"]
pub unsafe extern "C" fn list_add_trust_file_hook(
    list: *mut c_void,
    ca_file: *const c_char,
    crl_file: *const c_char,
    kind: c_int,
    tl_flags: c_uint,
    tl_vflags: c_uint,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, c_int, c_uint, c_uint) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsTrustListAddTrustFile, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        record(list, path_source(ca_file, TrustSource::File));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(list, ca_file, crl_file, kind, tl_flags, tl_vflags) }
}

#[export_name = "cafix_hook_gnutls_x509_trust_list_add_trust_dir"]
pub unsafe extern "C" fn list_add_trust_dir_hook(
    list: *mut c_void,
    ca_dir: *const c_char,
    crl_dir: *const c_char,
    kind: c_int,
    tl_flags: c_uint,
    tl_vflags: c_uint,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, c_int, c_uint, c_uint) -> c_int;
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsTrustListAddTrustDir, F, GNUTLS_E_INTERNAL_ERROR);
    if observed {
        record(list, path_source(ca_dir, TrustSource::Dir));
    }
    // SAFETY: passed through unchanged.
    unsafe { real(list, ca_dir, crl_dir, kind, tl_flags, tl_vflags) }
}

#[allow(clippy::unused_unit)] // `real_or_fail!` returns `()` for this void function
#[export_name = "cafix_hook_gnutls_certificate_set_trust_list"]
pub unsafe extern "C" fn set_trust_list_hook(
    cred: *mut c_void,
    list: *mut c_void,
    flags: c_uint,
    caller: *const c_void,
) {
    type F = unsafe extern "C" fn(*mut c_void, *mut c_void, c_uint);
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsSetTrustList, F, ());
    if observed && !cred.is_null() && !list.is_null() {
        // The credentials now verify against the list (and own it): its
        // sources, added before or after, are theirs.
        observe(|| {
            crate::lock::with_shim_lock(|| verification::link_trust_list(cred, list));
        });
    }
    // SAFETY: passed through unchanged.
    unsafe { real(cred, list, flags) }
}

#[allow(clippy::unused_unit)]
#[export_name = "cafix_hook_gnutls_certificate_free_credentials"]
pub unsafe extern "C" fn free_credentials_hook(cred: *mut c_void, caller: *const c_void) {
    type F = unsafe extern "C" fn(*mut c_void);
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsFreeCredentials, F, ());
    if observed {
        forget(cred);
    }
    // SAFETY: passed through unchanged.
    unsafe { real(cred) }
}

#[allow(clippy::unused_unit)]
#[export_name = "cafix_hook_gnutls_x509_trust_list_deinit"]
pub unsafe extern "C" fn trust_list_deinit_hook(list: *mut c_void, all: c_uint, caller: *const c_void) {
    type F = unsafe extern "C" fn(*mut c_void, c_uint);
    let (real, observed) = real_and_observed!(caller, Sym::GnutlsTrustListDeinit, F, ());
    if observed {
        forget(list);
    }
    // SAFETY: passed through unchanged.
    unsafe { real(list, all) }
}

fn forget(owner: *mut c_void) {
    if !owner.is_null() {
        observe(|| {
            crate::lock::with_shim_lock(|| verification::forget_store(owner));
        });
    }
}
