//! What the OpenSSL hooks remember: the trust sources each `X509_STORE` was
//! given, and the hash-directory lookups made while a thread is inside
//! `X509_verify_cert`. On a failed verification, the facts are read through
//! the same libcrypto that verified (never another) and explained. The
//! GnuTLS hooks keep their credentials' and trust lists' sources in the same
//! map and explain through [`gnutls`].

pub mod gnutls;

use std::collections::BTreeMap;
use std::ffi::{c_void, CStr};
use std::sync::Mutex;

use cafix::config::Level;
use cafix::explain::{self, CertSummary, Server, TrustSource, VerifyFailure};
use cafix::record::Record;

use crate::libcrypto::{self, Sym};
use crate::logger;
use crate::state::shim;
use crate::who;

/// What the hooks know of trust sources. (B-trees: const-initialised, so no
/// `Option` around them and no hasher seed.)
struct Known {
    /// Trust sources by store address (an `X509_STORE`, GnuTLS credentials
    /// or trust list). Entries go when the store is freed; the map is
    /// bounded so a program that leaks stores cannot grow it forever.
    stores: BTreeMap<usize, Vec<TrustSource>>,
    /// GnuTLS credentials that verify against a trust list they were given
    /// (`gnutls_certificate_set_trust_list`): credentials → list. The list's
    /// sources (added before or after) are the credentials'; the credentials
    /// own the list and free it with themselves.
    links: BTreeMap<usize, usize>,
}

static KNOWN: Mutex<Known> = Mutex::new(Known {
    stores: BTreeMap::new(),
    links: BTreeMap::new(),
});
const STORES_LIMIT: usize = 4096;

impl Known {
    /// The key `owner`'s sources are kept under: its trust list's, if linked.
    fn key(&self, owner: *mut c_void) -> usize {
        self.links.get(&(owner as usize)).copied().unwrap_or(owner as usize)
    }
}

/// Runs `f` on what is known. Call under the shim lock (as everything here:
/// a fork never finds the mutex held by a thread that is gone).
fn known<R>(f: impl FnOnce(&mut Known) -> R) -> R {
    f(&mut KNOWN.lock().unwrap_or_else(|e| e.into_inner()))
}

pub fn add_source(store: *mut c_void, source: TrustSource) {
    if store.is_null() {
        return;
    }
    known(|k| {
        // Credentials linked to a trust list add to that list.
        let key = k.key(store);
        if k.stores.len() >= STORES_LIMIT && !k.stores.contains_key(&key) {
            k.stores.clear();
        }
        let sources = k.stores.entry(key).or_default();
        if !sources.contains(&source) {
            sources.push(source);
        }
    });
}

/// `owner` now verifies against `list` only: what it had before no longer
/// counts, and a list it was linked to before is gone (GnuTLS frees it
/// from inside, unobserved), so its address may come back as another's.
pub fn link_trust_list(owner: *mut c_void, list: *mut c_void) {
    if owner.is_null() || list.is_null() {
        return;
    }
    known(|k| {
        if k.links.len() >= STORES_LIMIT && !k.links.contains_key(&(owner as usize)) {
            k.links.clear();
        }
        let previous = k.links.insert(owner as usize, list as usize);
        k.stores.remove(&(owner as usize));
        if let Some(previous) = previous.filter(|&p| p != list as usize) {
            k.stores.remove(&previous);
        }
    });
}

/// Forgets a freed store (or credentials, with the trust list they own).
pub fn forget_store(store: *mut c_void) {
    known(|k| {
        k.stores.remove(&(store as usize));
        if let Some(list) = k.links.remove(&(store as usize)) {
            k.stores.remove(&list);
        }
    });
}

pub(crate) fn sources_of(store: *mut c_void) -> Option<Vec<TrustSource>> {
    known(|k| k.stores.get(&k.key(store)).cloned())
}

/// The libcrypto functions an explanation reads, all from one library.
struct Api {
    get_error: unsafe extern "C" fn(*mut c_void) -> libc::c_int,
    get_error_depth: unsafe extern "C" fn(*mut c_void) -> libc::c_int,
    get_current_cert: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
    get0_cert: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    get0_store: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    get0_untrusted: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    get0_param: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    param_get0_host: Option<unsafe extern "C" fn(*mut c_void, libc::c_int) -> *const libc::c_char>,
    sk_num: Option<unsafe extern "C" fn(*const c_void) -> libc::c_int>,
    sk_value: Option<unsafe extern "C" fn(*const c_void, libc::c_int) -> *mut c_void>,
    get0_chain: Option<unsafe extern "C" fn(*mut c_void) -> *mut c_void>,
    i2d_x509: unsafe extern "C" fn(*mut c_void, *mut *mut u8) -> libc::c_int,
    error_string: unsafe extern "C" fn(libc::c_long) -> *const libc::c_char,
    version: Option<unsafe extern "C" fn(libc::c_int) -> *const libc::c_char>,
}

impl Api {
    /// Resolves the API in the object that defines `real_verify`.
    fn of(real_verify: *mut c_void) -> Option<(Api, String)> {
        let object = libcrypto::object_of(real_verify)?;
        let find = |name: &CStr| {
            let p = libcrypto::lookup_in(&object, name);
            (!p.is_null()).then_some(p)
        };
        // SAFETY (all transmutes below): each pointer is the named OpenSSL
        // function from the same library, whose C signature is the one given.
        unsafe {
            let api = Api {
                get_error: fn_from(find(c"X509_STORE_CTX_get_error")?),
                get_error_depth: fn_from(find(c"X509_STORE_CTX_get_error_depth")?),
                get_current_cert: fn_from(find(c"X509_STORE_CTX_get_current_cert")?),
                get0_cert: find(c"X509_STORE_CTX_get0_cert").map(|p| fn_from(p)),
                get0_store: find(c"X509_STORE_CTX_get0_store").map(|p| fn_from(p)),
                get0_untrusted: find(c"X509_STORE_CTX_get0_untrusted").map(|p| fn_from(p)),
                get0_param: find(c"X509_STORE_CTX_get0_param").map(|p| fn_from(p)),
                param_get0_host: find(c"X509_VERIFY_PARAM_get0_host").map(|p| fn_from(p)),
                sk_num: find(c"OPENSSL_sk_num").map(|p| fn_from(p)),
                sk_value: find(c"OPENSSL_sk_value").map(|p| fn_from(p)),
                get0_chain: find(c"X509_STORE_CTX_get0_chain").map(|p| fn_from(p)),
                i2d_x509: fn_from(find(c"i2d_X509")?),
                error_string: fn_from(find(c"X509_verify_cert_error_string")?),
                version: find(c"OpenSSL_version").map(|p| fn_from(p)),
            };
            Some((api, object.to_string_lossy().into_owned()))
        }
    }
}

/// A function pointer of type `F` from a symbol address.
///
/// # Safety
/// `F` is the `unsafe extern "C" fn` type of the C function at `p`.
pub(crate) unsafe fn fn_from<F: Copy>(p: *mut c_void) -> F {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: same size (checked); the caller vouches for the signature.
    unsafe { std::mem::transmute_copy(&p) }
}

/// DER of an `X509 *` through the library's own `i2d_X509`.
///
/// # Safety
/// `cert` is a live `X509 *` of the library `api` came from.
unsafe fn der_of(api: &Api, cert: *mut c_void) -> Option<Vec<u8>> {
    if cert.is_null() {
        return None;
    }
    // SAFETY: i2d with a NULL output pointer only measures.
    let len = unsafe { (api.i2d_x509)(cert, std::ptr::null_mut()) };
    if len <= 0 || len > 1 << 20 {
        return None;
    }
    let mut buf = vec![0u8; len as usize];
    let mut p = buf.as_mut_ptr();
    // SAFETY: `buf` has exactly the length i2d reported; i2d advances `p`.
    let written = unsafe { (api.i2d_x509)(cert, &mut p) };
    (written == len).then_some(buf)
}

/// The `SSL *` whose peer `ctx` verifies, when libssl made the call
/// (`caller` is the return address into it): libssl keeps it in the
/// context's ex_data slot `SSL_get_ex_data_X509_STORE_CTX_idx`.
///
/// # Safety
/// `ctx` is the live `X509_STORE_CTX *` just verified by `real_verify`.
unsafe fn ssl_of(ctx: *mut c_void, caller: *const c_void, real_verify: *mut c_void) -> Option<*mut c_void> {
    if ctx.is_null() {
        return None;
    }
    let index_fn = libcrypto::companion(caller as *mut c_void, Sym::SslGetExDataStoreCtxIdx);
    let ex_data_fn = libcrypto::companion(real_verify, Sym::StoreCtxGetExData);
    if index_fn.is_null() || ex_data_fn.is_null() {
        return None; // not called from libssl
    }
    // SAFETY: each pointer is the named function of the caller's libssl or
    // of the libcrypto that verified `ctx`, with these C signatures. The
    // index is libssl's own slot for the `SSL *` of a verification; a
    // context that is not libssl's has nothing (NULL) there.
    unsafe {
        let index_fn: unsafe extern "C" fn() -> libc::c_int = fn_from(index_fn);
        let ex_data_fn: unsafe extern "C" fn(*mut c_void, libc::c_int) -> *mut c_void = fn_from(ex_data_fn);
        let index = index_fn();
        if index < 0 {
            return None;
        }
        Some(ex_data_fn(ctx, index)).filter(|ssl| !ssl.is_null())
    }
}

/// Whether `ctx` is libssl's check of a peer on a connection that does not
/// verify it (`SSL_VERIFY_NONE`: `curl -k`, Python's `CERT_NONE`). libssl
/// runs the verification anyway and ignores the result; so does cafix,
/// below debug. `caller` is the return address into libssl.
///
/// # Safety
/// `ctx` is the live `X509_STORE_CTX *` just verified by `real_verify`.
pub unsafe fn peer_left_unverified(ctx: *mut c_void, caller: *const c_void, real_verify: *mut c_void) -> bool {
    let mode_fn = libcrypto::companion(caller as *mut c_void, Sym::SslGetVerifyMode);
    // SAFETY: per this function's contract.
    let Some(ssl) = (unsafe { ssl_of(ctx, caller, real_verify) }) else {
        return false;
    };
    if mode_fn.is_null() {
        return false;
    }
    // SAFETY: the caller's libssl's SSL_get_verify_mode, on its own SSL.
    unsafe {
        let mode_fn: unsafe extern "C" fn(*const c_void) -> libc::c_int = fn_from(mode_fn);
        mode_fn(ssl) == 0
    }
}

/// The server of the connection `ctx` verifies: the host the verification
/// was to match, else the name libssl sent (SNI); the peer of the SSL's
/// descriptor, else the process's only TCP connection.
///
/// # Safety
/// `ctx` is the live `X509_STORE_CTX *` just verified by `real_verify`.
unsafe fn server_of(
    ctx: *mut c_void,
    caller: *const c_void,
    real_verify: *mut c_void,
    expected_host: Option<String>,
) -> Server {
    // SAFETY: per this function's contract.
    let ssl = unsafe { ssl_of(ctx, caller, real_verify) };
    let (mut sni, mut fd) = (None, None);
    if let Some(ssl) = ssl {
        let servername = libcrypto::companion(caller as *mut c_void, Sym::SslGetServername);
        let get_fd = libcrypto::companion(caller as *mut c_void, Sym::SslGetFd);
        // SAFETY: the caller's libssl's own functions on its own SSL:
        // SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), SSL_get_fd(ssl).
        unsafe {
            if !servername.is_null() {
                let f: unsafe extern "C" fn(*const c_void, libc::c_int) -> *const libc::c_char = fn_from(servername);
                sni = cstr(f(ssl, 0));
            }
            if !get_fd.is_null() {
                let f: unsafe extern "C" fn(*const c_void) -> libc::c_int = fn_from(get_fd);
                fd = Some(f(ssl)).filter(|&fd| fd >= 0);
            }
        }
    }
    who::server(expected_host.or(sni), fd)
}

/// The error `ctx` holds after `real_verify` returned success: non-zero when
/// the program's verify callback accepted an error (Qt's does, for all of
/// them, and then fails the handshake itself).
///
/// # Safety
/// `ctx` is the live `X509_STORE_CTX *` just verified by `real_verify`.
pub unsafe fn error_accepted_by_callback(ctx: *mut c_void, real_verify: *mut c_void) -> bool {
    if ctx.is_null() {
        return false;
    }
    let get_error = libcrypto::companion(real_verify, Sym::StoreCtxGetError);
    if get_error.is_null() {
        return false;
    }
    // SAFETY: the library's own X509_STORE_CTX_get_error, on the context it
    // just verified.
    unsafe {
        let get_error: unsafe extern "C" fn(*mut c_void) -> libc::c_int = fn_from(get_error);
        get_error(ctx) != 0
    }
}

/// Explains a failed verification of `ctx` (called after the real
/// `X509_verify_cert` returned ≤ 0, or returned 1 with an error its verify
/// callback accepted: `accepted_by_callback`); `caller` is where the call
/// came from (libssl, for a connection).
///
/// # Safety
/// `ctx` is the live `X509_STORE_CTX *` just verified by `real_verify`.
pub unsafe fn explain_failure(
    ctx: *mut c_void,
    caller: *const c_void,
    real_verify: *mut c_void,
    missed: Vec<String>,
    missed_not_in_bundle: Vec<String>,
    accepted_by_callback: bool,
) {
    if ctx.is_null() || !failures_logged() {
        return;
    }
    let Some((api, object)) = Api::of(real_verify) else {
        return;
    };
    // SAFETY: every call below passes `ctx` or pointers obtained from it to
    // the library that owns them, as the OpenSSL API documents.
    unsafe {
        let error = (api.get_error)(ctx);
        let mut depth = (api.get_error_depth)(ctx);
        let error_text = cstr((api.error_string)(libc::c_long::from(error))).unwrap_or_default();
        let mut current = (api.get_current_cert)(ctx);
        // A missing issuer is missing for the top of the chain that could be
        // built. When a verify callback accepted that error, OpenSSL went on
        // and the context holds its last error's depth and certificate, not
        // that of the chain's end.
        if explain::is_missing_issuer(error) {
            if let (Some(chain), Some(num), Some(value)) = (api.get0_chain, api.sk_num, api.sk_value) {
                let sk = chain(ctx);
                let len = if sk.is_null() { 0 } else { num(sk) };
                if len > 0 && len - 1 != depth {
                    depth = len - 1;
                    current = value(sk, depth);
                }
            }
        }
        let cert = der_of(&api, current).and_then(|d| CertSummary::from_der(&d));
        let store = api.get0_store.map_or(std::ptr::null_mut(), |f| f(ctx));
        let peer_chain_len = match (api.get0_untrusted, api.sk_num) {
            (Some(untrusted), Some(num)) => {
                let sk = untrusted(ctx);
                if sk.is_null() {
                    0
                } else {
                    num(sk).max(0) as usize
                }
            }
            _ => 0,
        };
        let expected_host = match (api.get0_param, api.param_get0_host) {
            (Some(param), Some(host)) => {
                let p = param(ctx);
                if p.is_null() {
                    None
                } else {
                    cstr(host(p, 0))
                }
            }
            _ => None,
        };
        // The peer's own certificate; at depth 0 the one already read.
        let leaf = match api.get0_cert.map(|f| f(ctx)) {
            Some(target) if target == current => cert.clone(),
            Some(target) => der_of(&api, target).and_then(|d| CertSummary::from_der(&d)),
            None => None,
        };
        let server = server_of(ctx, caller, real_verify, expected_host.clone());
        let version = api
            .version
            .and_then(|v| cstr(v(0)))
            .unwrap_or_else(|| "OpenSSL (version unknown)".into());
        let program = who::program();
        crate::lock::with_shim_lock(|| {
            let bundle = shim().bundle();
            let issuer_in_bundle = issuer_in_bundle(cert.as_ref());
            let failure = VerifyFailure {
                error,
                error_text,
                depth,
                cert,
                peer_chain_len,
                sources: if store.is_null() { None } else { sources_of(store) },
                missed_lookups: missed,
                missed_not_in_bundle,
                issuer_in_bundle,
                bundle_path: bundle.map(|b| b.path.display().to_string()),
                library: format!("{version}, {object}"),
                expected_host,
                accepted_by_callback,
                gnutls_status: None,
                program,
                server,
                leaf,
            };
            logger::emit(&explain::to_record(&failure));
        });
    }
}

/// The subject of the system-bundle certificate that would issue `cert`.
/// Call under the shim lock.
pub(crate) fn issuer_in_bundle(cert: Option<&CertSummary>) -> Option<String> {
    let c = cert?;
    let hash = c.issuer_hash?;
    shim()
        .bundle()?
        .with_hash(hash)
        .iter()
        .find(|ca| ca.subject == c.issuer)
        .map(|ca| ca.subject.clone())
}

/// Whether a failure's record would be written (its level is enabled): if
/// not, its facts are not gathered at all.
pub(crate) fn failures_logged() -> bool {
    crate::lock::with_shim_lock(|| {
        let _ = shim();
        logger::enabled(Level::Warn)
    })
    .unwrap_or(false)
}

/// Logs a verification that needs no explanation at debug level.
pub fn note_debug(event: &'static str, message: &'static str) {
    crate::lock::with_shim_lock(|| {
        let _ = shim();
        logger::emit(&Record::new(Level::Debug, event, message));
    });
}

/// Which library a hooked or called function belongs to, by its name.
fn library_of(name: &CStr) -> &'static str {
    let name = name.to_bytes();
    if name.starts_with(b"gnutls_") {
        "GnuTLS"
    } else if [&b"NSS_"[..], b"SECMOD_", b"PK11_", b"CERT_", b"PORT_"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        "NSS"
    } else {
        "OpenSSL"
    }
}

/// The hooked functions that return nothing.
const RETURN_NOTHING: [&[u8]; 6] = [
    b"X509_STORE_free",
    b"gnutls_certificate_set_trust_list",
    b"gnutls_certificate_free_credentials",
    b"gnutls_x509_trust_list_deinit",
    b"gnutls_session_set_verify_cert",
    b"gnutls_session_set_verify_cert2",
];

/// Logs, once per function, that no real library function could be found.
pub fn report_unresolved(name: &'static CStr) {
    static SEEN: Mutex<Vec<&'static CStr>> = Mutex::new(Vec::new());
    crate::lock::with_shim_lock(|| {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&name) {
            return;
        }
        seen.push(name);
        drop(seen);
        let _ = shim();
        logger::emit(&Record::new(
            Level::Error,
            "unresolved-symbol",
            format!(
                "{}: no {} reachable from the caller defines it; {}",
                name.to_string_lossy(),
                library_of(name),
                if RETURN_NOTHING.contains(&name.to_bytes()) {
                    "the call does nothing".to_string()
                } else {
                    format!("the call fails as {} reports failure", library_of(name))
                }
            ),
        ));
    });
}

/// A C string, copied.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
pub(crate) unsafe fn cstr(p: *const libc::c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: per the contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::library_of;

    #[test]
    fn a_function_is_named_with_its_library() {
        for (name, library) in [
            (c"X509_verify_cert", "OpenSSL"),
            (c"gnutls_handshake", "GnuTLS"),
            (c"NSS_InitContext", "NSS"),
            (c"SECMOD_LoadUserModule", "NSS"),
            (c"PK11_GetAllTokens", "NSS"),
        ] {
            assert_eq!(library_of(name), library, "{name:?}");
        }
    }
}
