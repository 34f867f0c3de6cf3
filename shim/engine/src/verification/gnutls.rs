//! Explaining a failed GnuTLS verification: the facts are read through the
//! libgnutls that verified (the peer's certificates, the credentials' trust
//! sources, the library's own sentence for the status bits, its version),
//! then `cafix::explain::gnutls` locates the failing certificate and
//! `cafix::explain` makes the same record as for OpenSSL.

use std::ffi::{c_void, CStr};
use std::sync::{Mutex, OnceLock};

use libc::{c_char, c_int, c_uint};

use cafix::explain::gnutls::{compiled_bundle_path, locate, status, status_sentence};
use cafix::explain::{self, CertSummary, Server, TrustSource, VerifyFailure};

use super::{cstr, fn_from, issuer_in_bundle, sources_of};
use crate::libcrypto;
use crate::logger;
use crate::state::shim;
use crate::who;

/// `gnutls_datum_t`.
#[repr(C)]
struct Datum {
    data: *mut u8,
    size: c_uint,
}

const GNUTLS_CRD_CERTIFICATE: c_int = 1;
const GNUTLS_CRT_X509: c_int = 1;
const GNUTLS_X509_FMT_DER: c_int = 0;
/// More certificates than any real chain; a longer list is cut here.
const CHAIN_LIMIT: usize = 256;
const CERT_LIMIT: usize = 1 << 20;

/// The libgnutls functions an explanation reads, all from one library.
struct Api {
    object: String,
    /// Where the library is loaded (its read-only segments hold the trust file).
    base: usize,
    /// The trust file compiled into the library, read off it on first need.
    trust_file: OnceLock<Option<&'static str>>,
    get_peers: Option<unsafe extern "C" fn(*mut c_void, *mut c_uint) -> *const Datum>,
    credentials_get: Option<unsafe extern "C" fn(*mut c_void, c_int, *mut *mut c_void) -> c_int>,
    status_print: Option<unsafe extern "C" fn(c_uint, c_int, *mut Datum, c_uint) -> c_int>,
    check_version: Option<unsafe extern "C" fn(*const c_char) -> *const c_char>,
    /// `gnutls_free` is a variable holding the deallocator (NULL until set).
    free: Option<*const Option<unsafe extern "C" fn(*mut c_void)>>,
    crt_export2: Option<unsafe extern "C" fn(*mut c_void, c_int, *mut Datum) -> c_int>,
    get_verify_cert_status: Option<unsafe extern "C" fn(*mut c_void) -> c_uint>,
    transport_get_int: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
}

// SAFETY: the fields are addresses of functions and a variable of a loaded
// library, valid from any thread while it stays loaded (see `Api::cached`).
unsafe impl Send for Api {}
// SAFETY: as above; nothing in an `Api` is ever written after it is made.
unsafe impl Sync for Api {}

/// The APIs resolved so far, by library, with the unload counter they were
/// resolved under: an unload anywhere drops them all (they are leaked, a
/// few hundred bytes per library; at most [`API_LIMIT`] are kept).
static APIS: Mutex<(u64, Vec<(usize, &'static Api)>)> = Mutex::new((u64::MAX, Vec::new()));
const API_LIMIT: usize = 8;

impl Api {
    /// The API of the library that defines `real`, resolved once per library.
    fn cached(real: *mut c_void) -> Option<&'static Api> {
        let subs = libcrypto::unload_count();
        let base = object_base(real)?;
        let hit = crate::lock::with_shim_lock(|| {
            let mut apis = APIS.lock().unwrap_or_else(|e| e.into_inner());
            if apis.0 != subs {
                *apis = (subs, Vec::new());
            }
            apis.1.iter().find(|(b, _)| *b == base).map(|&(_, api)| api)
        })
        .flatten();
        if hit.is_some() {
            return hit;
        }
        let api: &'static Api = Box::leak(Box::new(Api::of(real, base)?));
        crate::lock::with_shim_lock(|| {
            let mut apis = APIS.lock().unwrap_or_else(|e| e.into_inner());
            if apis.0 == subs && apis.1.len() < API_LIMIT {
                apis.1.push((base, api));
            }
        });
        Some(api)
    }

    /// Resolves the API in the object that defines `real` (a hooked
    /// function), loaded at `base`.
    fn of(real: *mut c_void, base: usize) -> Option<Api> {
        let object = libcrypto::object_of(real)?;
        let find = |name: &CStr| {
            let p = libcrypto::lookup_in(&object, name);
            (!p.is_null()).then_some(p)
        };
        // SAFETY (all below): each pointer is the named GnuTLS symbol of the
        // same library, a function with the C signature given (or, for
        // `gnutls_free`, the variable holding one).
        unsafe {
            Some(Api {
                get_peers: find(c"gnutls_certificate_get_peers").map(|p| fn_from(p)),
                credentials_get: find(c"gnutls_credentials_get").map(|p| fn_from(p)),
                status_print: find(c"gnutls_certificate_verification_status_print").map(|p| fn_from(p)),
                check_version: find(c"gnutls_check_version").map(|p| fn_from(p)),
                free: find(c"gnutls_free").map(|p| p as *const Option<unsafe extern "C" fn(*mut c_void)>),
                crt_export2: find(c"gnutls_x509_crt_export2").map(|p| fn_from(p)),
                get_verify_cert_status: find(c"gnutls_session_get_verify_cert_status").map(|p| fn_from(p)),
                transport_get_int: find(c"gnutls_transport_get_int").map(|p| fn_from(p)),
                object: object.to_string_lossy().into_owned(),
                base,
                trust_file: OnceLock::new(),
            })
        }
    }

    /// The trust file compiled into the library, read once off its
    /// read-only segments. Takes the loader's lock: never call it under the
    /// shim lock.
    fn trust_file(&self) -> Option<String> {
        let found = self.trust_file.get_or_init(|| {
            read_only_segments(self.base)
                .into_iter()
                // SAFETY: each (address, length) is a loaded, readable,
                // non-writable segment of this library, which stays loaded
                // while its function is being observed.
                .find_map(|(addr, len)| {
                    compiled_bundle_path(unsafe { std::slice::from_raw_parts(addr as *const u8, len) })
                })
        });
        found.map(str::to_string)
    }

    /// Frees memory GnuTLS allocated for the caller.
    ///
    /// # Safety
    /// `p` was allocated by this library for its caller (or is NULL).
    unsafe fn release(&self, p: *mut u8) {
        if p.is_null() {
            return;
        }
        if let Some(free) = self.free {
            // SAFETY: the variable holds the library's deallocator or NULL
            // (an Option of a function pointer has the same layout).
            if let Some(free) = unsafe { *free } {
                // SAFETY: `p` was allocated by this library for its caller.
                unsafe { free(p.cast()) };
            }
        }
    }

    /// `GnuTLS 3.7.9, /lib/x86_64-linux-gnu/libgnutls.so.30`.
    fn library(&self) -> String {
        // SAFETY: gnutls_check_version(NULL) returns the static version string.
        let version = self.check_version.and_then(|f| unsafe { cstr(f(std::ptr::null())) });
        format!(
            "GnuTLS {}, {}",
            version.as_deref().unwrap_or("(version unknown)"),
            self.object
        )
    }

    /// GnuTLS's own sentence for `status`.
    fn status_text(&self, status: u32) -> String {
        let mut out = Datum {
            data: std::ptr::null_mut(),
            size: 0,
        };
        let printed = self.status_print.is_some_and(|f| {
            // SAFETY: `out` is ours; GnuTLS allocates its data.
            unsafe { f(status, GNUTLS_CRT_X509, &mut out, 0) == 0 }
        });
        let text = if printed && !out.data.is_null() {
            // SAFETY: GnuTLS wrote `size` bytes (plus a NUL) at `data`.
            let bytes = unsafe { std::slice::from_raw_parts(out.data, out.size as usize) };
            Some(String::from_utf8_lossy(bytes).trim().to_string())
        } else {
            None
        };
        // SAFETY: allocated by this library for us, or NULL.
        unsafe { self.release(out.data) };
        text.filter(|t| !t.is_empty())
            .unwrap_or_else(|| status_sentence(status))
    }

    /// The DER of the peer's certificates, leaf first.
    ///
    /// # Safety
    /// `session` is a live session of this library.
    unsafe fn peers(&self, session: *mut c_void) -> Vec<Vec<u8>> {
        let Some(get_peers) = self.get_peers else {
            return Vec::new();
        };
        let mut count: c_uint = 0;
        // SAFETY: the session is live; GnuTLS returns its own array or NULL.
        let list = unsafe { get_peers(session, &mut count) };
        if list.is_null() {
            return Vec::new();
        }
        (0..(count as usize).min(CHAIN_LIMIT))
            .filter_map(|i| {
                // SAFETY: i < count entries of GnuTLS's array.
                let d = unsafe { &*list.add(i) };
                // SAFETY: each datum holds `size` bytes of DER.
                (!d.data.is_null() && (d.size as usize) <= CERT_LIMIT)
                    .then(|| unsafe { std::slice::from_raw_parts(d.data, d.size as usize) }.to_vec())
            })
            .collect()
    }

    /// The DER of a `gnutls_x509_crt_t`.
    ///
    /// # Safety
    /// `cert` is a live certificate of this library.
    unsafe fn der_of(&self, cert: *mut c_void) -> Option<Vec<u8>> {
        let export = self.crt_export2?;
        if cert.is_null() {
            return None;
        }
        let mut out = Datum {
            data: std::ptr::null_mut(),
            size: 0,
        };
        // SAFETY: `out` is ours; GnuTLS allocates its data.
        let rc = unsafe { export(cert, GNUTLS_X509_FMT_DER, &mut out) };
        let der = (rc == 0 && !out.data.is_null() && (out.size as usize) <= CERT_LIMIT)
            // SAFETY: GnuTLS wrote `size` bytes at `data`.
            .then(|| unsafe { std::slice::from_raw_parts(out.data, out.size as usize) }.to_vec());
        // SAFETY: allocated by this library for us, or NULL.
        unsafe { self.release(out.data) };
        der
    }

    /// The descriptor a session's transport is, if it is one (programs
    /// that give GnuTLS their own push and pull functions may have set a
    /// pointer: `who::server` only asks a descriptor that is a socket).
    ///
    /// # Safety
    /// `session` is a live session of this library.
    unsafe fn transport_fd(&self, session: *mut c_void) -> Option<c_int> {
        // SAFETY: the session is live; the function only reads it.
        self.transport_get_int
            .map(|f| unsafe { f(session) })
            .filter(|&fd| fd >= 0)
    }

    /// The credentials a session verifies with (their address keys the sources).
    ///
    /// # Safety
    /// `session` is a live session of this library.
    unsafe fn credentials(&self, session: *mut c_void) -> *mut c_void {
        let mut cred = std::ptr::null_mut();
        match self.credentials_get {
            // SAFETY: the session is live; `cred` is ours.
            Some(f) if unsafe { f(session, GNUTLS_CRD_CERTIFICATE, &mut cred) } == 0 => cred,
            _ => std::ptr::null_mut(),
        }
    }
}

/// The leaf a session's peer sent (DER), to recognise it in a later host
/// name check.
///
/// # Safety
/// `session` is a live session of `real`'s library.
pub unsafe fn session_leaf(real: *mut c_void, session: *mut c_void) -> Option<Vec<u8>> {
    let api = Api::cached(real)?;
    // SAFETY: per this function's contract.
    unsafe { api.peers(session) }.into_iter().next()
}

/// The DER of a certificate of `real`'s library.
///
/// # Safety
/// `cert` is NULL or a live `gnutls_x509_crt_t` of `real`'s library.
pub unsafe fn cert_der(real: *mut c_void, cert: *mut c_void) -> Option<Vec<u8>> {
    let api = Api::cached(real)?;
    // SAFETY: per this function's contract.
    unsafe { api.der_of(cert) }
}

/// A session's verification (`gnutls_certificate_verify_peers*`) ended with `status`.
///
/// # Safety
/// `session` is the live session `real`'s library just verified.
pub unsafe fn session_failure(real: *mut c_void, session: *mut c_void, status: u32, host: Option<String>) {
    if !super::failures_logged() {
        return;
    }
    let Some(api) = Api::cached(real) else { return };
    // SAFETY: per this function's contract.
    let (ders, cred, fd) = unsafe { (api.peers(session), api.credentials(session), api.transport_fd(session)) };
    emit(api, status, &ders, cred, who::server(host, fd));
}

/// `gnutls_handshake` failed with `GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR`:
/// the verification `gnutls_session_set_verify_cert` asked for, of `host`.
///
/// # Safety
/// `session` is the live session `real_handshake`'s library just failed.
pub unsafe fn handshake_failure(real_handshake: *mut c_void, session: *mut c_void, host: Option<String>) {
    let Some(get_status) = Api::cached(real_handshake).and_then(|api| api.get_verify_cert_status) else {
        return;
    };
    // SAFETY: the library's own function, on the session it just failed.
    let status = unsafe { get_status(session) };
    // u32::MAX is GnuTLS's "not verified" (-1): the program's own verify
    // function failed the handshake, and its verification was observed.
    if status != 0 && status != u32::MAX {
        // SAFETY: per this function's contract.
        unsafe { session_failure(real_handshake, session, status, host) };
    }
}

/// `gnutls_x509_trust_list_verify_crt{,2}` of `count` certificates ended with `status`.
///
/// # Safety
/// `certs` holds `count` live certificates of `real`'s library.
pub unsafe fn list_failure(
    real: *mut c_void,
    list: *mut c_void,
    certs: *const *mut c_void,
    count: c_uint,
    status: u32,
    host: Option<String>,
) {
    if !super::failures_logged() {
        return;
    }
    let Some(api) = Api::cached(real) else { return };
    let ders: Vec<Vec<u8>> = if certs.is_null() {
        Vec::new()
    } else {
        (0..(count as usize).min(CHAIN_LIMIT))
            // SAFETY: i < count entries of the caller's array, each a live certificate.
            .filter_map(|i| unsafe { api.der_of(*certs.add(i)) })
            .collect()
    };
    emit(api, status, &ders, list, who::server(host, None));
}

/// `gnutls_x509_crt_check_hostname{,2}(cert, host)` said the name does not match.
///
/// # Safety
/// `cert` is a live certificate of `real`'s library.
pub unsafe fn hostname_failure(real: *mut c_void, der: Vec<u8>, host: Option<String>) {
    if !super::failures_logged() {
        return;
    }
    let Some(api) = Api::cached(real) else { return };
    let ders = vec![der];
    emit(
        api,
        status::INVALID | status::UNEXPECTED_OWNER,
        &ders,
        std::ptr::null_mut(),
        who::server(host, None),
    );
}

/// One record for a failure of `status` on the chain `ders` (the peer's,
/// leaf first); `owner` (the credentials or trust list verified against, or
/// NULL) names the sources.
fn emit(api: &Api, status: u32, ders: &[Vec<u8>], owner: *mut c_void, server: Server) {
    let summaries: Vec<Option<CertSummary>> = ders.iter().map(|d| CertSummary::from_der(d)).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let located = locate(status, &summaries, now);
    let cert = located.index.and_then(|i| summaries.get(i).cloned().flatten());
    let error_text = api.status_text(status);
    let library = api.library();
    let leaf = summaries.first().cloned().flatten();
    let program = who::program();
    // Read off the library (the loader's lock) before the shim lock is taken.
    let trust_file = api.trust_file();
    crate::lock::with_shim_lock(|| {
        let sources = (!owner.is_null()).then(|| sources_of(owner)).flatten().map(|list| {
            list.into_iter()
                .map(|s| match s {
                    TrustSource::SystemTrust(None) => TrustSource::SystemTrust(trust_file.clone()),
                    other => other,
                })
                .collect()
        });
        let failure = VerifyFailure {
            error: located.error,
            error_text,
            depth: located.depth,
            issuer_in_bundle: issuer_in_bundle(cert.as_ref()),
            cert,
            peer_chain_len: ders.len(),
            sources,
            missed_lookups: Vec::new(),
            missed_not_in_bundle: Vec::new(),
            bundle_path: shim().bundle().map(|b| b.path.display().to_string()),
            library,
            expected_host: server.name.clone(),
            accepted_by_callback: false,
            gnutls_status: Some(status),
            program,
            server,
            leaf,
        };
        logger::emit(&explain::to_record(&failure));
    });
}

fn object_base(p: *mut c_void) -> Option<usize> {
    Some(libcrypto::object_base(p)).filter(|&b| b != 0)
}

/// The readable, non-writable `PT_LOAD` segments (address, file size) of the
/// object loaded at `base` (`.rodata`, or the text segment that holds it
/// when the library was linked without `-z separate-code`).
fn read_only_segments(base: usize) -> Vec<(usize, usize)> {
    struct Search {
        base: usize,
        found: Vec<(usize, usize)>,
    }
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, out: *mut c_void) -> c_int {
        // SAFETY: glibc passes a valid dl_phdr_info; `out` is our Search.
        let (info, search) = unsafe { (&*info, &mut *(out as *mut Search)) };
        if info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
        let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let is_it = headers.iter().any(|h| {
            h.p_type == libc::PT_LOAD && h.p_offset == 0 && info.dlpi_addr as usize + h.p_vaddr as usize == search.base
        });
        if !is_it {
            return 0;
        }
        for h in headers {
            if h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_R != 0 && h.p_flags & libc::PF_W == 0 {
                search
                    .found
                    .push((info.dlpi_addr as usize + h.p_vaddr as usize, h.p_filesz as usize));
            }
        }
        1
    }
    let mut search = Search {
        base,
        found: Vec::new(),
    };
    // SAFETY: the callback only reads what glibc hands it and writes our local.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut search as *mut Search as *mut c_void) };
    search.found
}
