//! Hooks on libcrypto's trust-source and verification entry points. They
//! only observe: arguments and return values pass through unchanged.
//!
//! Each hook is exported as `cafix_hook_<function>`, the target of
//! libcafix.so's trampoline of that function, and takes the function's
//! arguments and then the caller's return address, which the trampoline
//! adds: the hook uses it to call the real function of *the caller's*
//! libcrypto (see `libcrypto.rs`).

use std::cell::Cell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use libc::{c_char, c_int, c_long};

use cafix::explain::TrustSource;

use super::path_source;
use crate::held_back;
use crate::injection;
use crate::libcrypto::Sym;
use crate::sys;
use crate::verification;

/// The sources of a `load_locations(file, dir)` call.
fn file_and_dir(file: *const c_char, dir: *const c_char) -> Vec<TrustSource> {
    path_source(file, TrustSource::File)
        .into_iter()
        .chain(path_source(dir, TrustSource::Dir))
        .collect()
}

/// Records sources with unwinding caught and errno kept.
fn record(store: *mut c_void, sources: impl FnOnce() -> Vec<TrustSource>) {
    let saved = sys::errno();
    crate::lock::with_shim_lock(|| {
        for s in sources() {
            verification::add_source(store, s);
        }
    });
    sys::set_errno(saved);
}

thread_local! {
    /// Loads in progress on this thread: `X509_STORE_load_file_ex` calls
    /// `X509_LOOKUP_ctrl_ex`, and only the outermost load adds local CAs.
    static LOADING: Cell<u32> = const { Cell::new(0) };
}

/// Runs the real load `call`; after the outermost successful load of a PEM
/// file (`file_of`), adds the local CAs a copy of the public roots lacks to
/// the store (`store_of`; both asked only then). Unwinding caught, errno kept.
fn load_file(
    file_of: impl FnOnce() -> Option<std::path::PathBuf>,
    real: *mut c_void,
    store_of: impl FnOnce() -> *mut c_void,
    call: impl FnOnce() -> c_int,
) -> c_int {
    let outermost = LOADING
        .try_with(|depth| {
            depth.set(depth.get() + 1);
            depth.get() == 1
        })
        .unwrap_or(false);
    let rc = call();
    let _ = LOADING.try_with(|depth| depth.set(depth.get().saturating_sub(1)));
    if outermost && rc > 0 {
        let saved = sys::errno();
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if let Some(path) = file_of() {
                injection::after_file_load(store_of(), &path, real);
            }
        }));
        sys::set_errno(saved);
    }
    rc
}

// ---- X509_verify_cert -------------------------------------------------------

#[export_name = "cafix_hook_X509_verify_cert"]
pub unsafe extern "C" fn verify_cert_hook(ctx: *mut c_void, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void) -> c_int;
    let real = real_or_fail!(caller, Sym::VerifyCert, F, -1);
    held_back::begin();
    // SAFETY: the caller's arguments, passed through unchanged.
    let rc = unsafe { real(ctx) };
    let frame = held_back::end();
    let saved = sys::errno();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `ctx` was just verified by `real`, the same library.
        let accepted = rc > 0 && unsafe { verification::error_accepted_by_callback(ctx, real as *mut c_void) };
        let errored = rc <= 0 || accepted;
        // SAFETY: as above; `caller` is where the call came from.
        let unverified = errored && unsafe { verification::peer_left_unverified(ctx, caller, real as *mut c_void) };
        let failed = errored && !unverified;
        if failed {
            // The held-back misses are told in the failure's record.
            let not_in_bundle = held_back::fold_into_failure(frame.deferred);
            // SAFETY: as above.
            unsafe {
                verification::explain_failure(ctx, caller, real as *mut c_void, frame.missed, not_in_bundle, accepted)
            };
            return;
        }
        crate::lock::with_shim_lock(|| held_back::release_deferred(frame.deferred));
        if unverified {
            verification::note_debug(
                "verify-unchecked",
                "certificate verification failed on a connection that does not verify its peer (SSL_VERIFY_NONE)",
            );
        } else {
            verification::note_debug("verify-ok", "certificate verification succeeded");
        }
    }));
    sys::set_errno(saved);
    rc
}

// ---- how stores get their trust ---------------------------------------------

#[export_name = "cafix_hook_X509_STORE_load_locations"]
pub unsafe extern "C" fn load_locations_hook(
    store: *mut c_void,
    file: *const c_char,
    dir: *const c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadLocations, F, 0);
    record(store, || file_and_dir(file, dir));
    // SAFETY: passed through unchanged.
    load_file(
        named(file),
        real as *mut c_void,
        || store,
        || unsafe { real(store, file, dir) },
    )
}

#[export_name = "cafix_hook_X509_STORE_load_locations_ex"]
pub unsafe extern "C" fn load_locations_ex_hook(
    store: *mut c_void,
    file: *const c_char,
    dir: *const c_char,
    libctx: *mut c_void,
    propq: *const c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadLocationsEx, F, 0);
    record(store, || file_and_dir(file, dir));
    // SAFETY: passed through unchanged.
    load_file(
        named(file),
        real as *mut c_void,
        || store,
        || unsafe { real(store, file, dir, libctx, propq) },
    )
}

#[export_name = "cafix_hook_X509_STORE_load_file"]
pub unsafe extern "C" fn load_file_hook(store: *mut c_void, file: *const c_char, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadFile, F, 0);
    record(store, || path_source(file, TrustSource::File).into_iter().collect());
    // SAFETY: passed through unchanged.
    load_file(
        named(file),
        real as *mut c_void,
        || store,
        || unsafe { real(store, file) },
    )
}

#[export_name = "cafix_hook_X509_STORE_load_file_ex"]
pub unsafe extern "C" fn load_file_ex_hook(
    store: *mut c_void,
    file: *const c_char,
    libctx: *mut c_void,
    propq: *const c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadFileEx, F, 0);
    record(store, || path_source(file, TrustSource::File).into_iter().collect());
    // SAFETY: passed through unchanged.
    load_file(
        named(file),
        real as *mut c_void,
        || store,
        || unsafe { real(store, file, libctx, propq) },
    )
}

#[export_name = "cafix_hook_X509_STORE_load_path"]
pub unsafe extern "C" fn load_path_hook(store: *mut c_void, dir: *const c_char, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadPath, F, 0);
    record(store, || path_source(dir, TrustSource::Dir).into_iter().collect());
    // SAFETY: passed through unchanged.
    unsafe { real(store, dir) }
}

#[export_name = "cafix_hook_X509_STORE_load_store"]
pub unsafe extern "C" fn load_store_hook(store: *mut c_void, uri: *const c_char, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadStore, F, 0);
    record(store, || path_source(uri, TrustSource::Store).into_iter().collect());
    // SAFETY: passed through unchanged.
    unsafe { real(store, uri) }
}

#[export_name = "cafix_hook_X509_STORE_load_store_ex"]
pub unsafe extern "C" fn load_store_ex_hook(
    store: *mut c_void,
    uri: *const c_char,
    libctx: *mut c_void,
    propq: *const c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreLoadStoreEx, F, 0);
    record(store, || path_source(uri, TrustSource::Store).into_iter().collect());
    // SAFETY: passed through unchanged.
    unsafe { real(store, uri, libctx, propq) }
}

#[export_name = "cafix_hook_X509_STORE_set_default_paths"]
pub unsafe extern "C" fn set_default_paths_hook(store: *mut c_void, caller: *const c_void) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreSetDefaultPaths, F, 0);
    record(store, || vec![TrustSource::Defaults]);
    let real_ptr = real as *mut c_void;
    // SAFETY: passed through unchanged.
    load_file(
        || default_cert_file(real_ptr),
        real_ptr,
        || store,
        || unsafe { real(store) },
    )
}

#[export_name = "cafix_hook_X509_STORE_set_default_paths_ex"]
pub unsafe extern "C" fn set_default_paths_ex_hook(
    store: *mut c_void,
    libctx: *mut c_void,
    propq: *const c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, *mut c_void, *const c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::StoreSetDefaultPathsEx, F, 0);
    record(store, || vec![TrustSource::Defaults]);
    let real_ptr = real as *mut c_void;
    // SAFETY: passed through unchanged.
    load_file(
        || default_cert_file(real_ptr),
        real_ptr,
        || store,
        || unsafe { real(store, libctx, propq) },
    )
}

// `X509_LOOKUP_ctrl` commands (x509_vfy.h), the same in 1.1 and 3.x.
const X509_L_FILE_LOAD: c_int = 1;
const X509_L_ADD_DIR: c_int = 2;
const X509_L_ADD_STORE: c_int = 3;
const X509_L_LOAD_STORE: c_int = 4;

#[export_name = "cafix_hook_X509_LOOKUP_ctrl"]
pub unsafe extern "C" fn lookup_ctrl_hook(
    lookup: *mut c_void,
    cmd: c_int,
    argc: *const c_char,
    argl: c_long,
    ret: *mut *mut c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(*mut c_void, c_int, *const c_char, c_long, *mut *mut c_char) -> c_int;
    let real = real_or_fail!(caller, Sym::LookupCtrl, F, 0);
    note_lookup_ctrl(real as *mut c_void, lookup, cmd, argc);
    let real_ptr = real as *mut c_void;
    // SAFETY: passed through unchanged.
    let call = || unsafe { real(lookup, cmd, argc, argl, ret) };
    match file_load(lookup, cmd, argl) {
        Some(FileLoad::Named) => load_file(named(argc), real_ptr, || store_of_lookup(real_ptr, lookup), call),
        Some(FileLoad::Default) => load_file(
            || default_cert_file(real_ptr),
            real_ptr,
            || store_of_lookup(real_ptr, lookup),
            call,
        ),
        None => call(),
    }
}

enum FileLoad {
    /// `X509_LOOKUP_load_file(lookup, file, X509_FILETYPE_PEM)` (Ruby's
    /// `add_file`, OpenSSL's own `X509_STORE_load_file`).
    Named,
    /// `X509_FILETYPE_DEFAULT`: the default CA file (`set_default_paths`),
    /// which for an OpenSSL with its own OPENSSLDIR (conda's) is its own
    /// copy of the public roots.
    Default,
}

fn file_load(lookup: *mut c_void, cmd: c_int, argl: c_long) -> Option<FileLoad> {
    const X509_FILETYPE_PEM: c_long = 1;
    const X509_FILETYPE_DEFAULT: c_long = 3;
    if lookup.is_null() || cmd != X509_L_FILE_LOAD {
        return None;
    }
    match argl {
        X509_FILETYPE_PEM => Some(FileLoad::Named),
        X509_FILETYPE_DEFAULT => Some(FileLoad::Default),
        _ => None,
    }
}

/// The path argument of a load, asked for after the load.
fn named(file: *const c_char) -> impl FnOnce() -> Option<std::path::PathBuf> {
    // SAFETY: OpenSSL's API takes NULL or a NUL-terminated path, which the
    // caller keeps alive for the call this runs after.
    move || unsafe { injection::path_of(file) }
}

/// The file a default load reads, as OpenSSL decides it: `SSL_CERT_FILE`
/// (not in secure-exec, where OpenSSL ignores it too), else the library's
/// compiled-in `X509_get_default_cert_file()`.
fn default_cert_file(real: *mut c_void) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    if !sys::is_secure_exec() {
        if let Some(v) = sys::getenv("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
            return Some(std::path::PathBuf::from(std::ffi::OsString::from_vec(v)));
        }
    }
    let f = crate::libcrypto::companion(real, Sym::GetDefaultCertFile);
    if f.is_null() {
        return None;
    }
    // SAFETY: X509_get_default_cert_file(void) -> const char *, same library.
    let f: unsafe extern "C" fn() -> *const c_char = unsafe { std::mem::transmute(f) };
    // SAFETY: it returns a static NUL-terminated string (or NULL).
    unsafe { injection::path_of(f()) }
}

/// Records what an add-dir / load-file / store command gives the lookup's store.
fn note_lookup_ctrl(real_ctrl: *mut c_void, lookup: *mut c_void, cmd: c_int, argc: *const c_char) {
    if !matches!(
        cmd,
        X509_L_FILE_LOAD | X509_L_ADD_DIR | X509_L_ADD_STORE | X509_L_LOAD_STORE
    ) || lookup.is_null()
    {
        return;
    }
    let store = store_of_lookup(real_ctrl, lookup);
    let make: fn(String) -> TrustSource = match cmd {
        X509_L_FILE_LOAD => TrustSource::File,
        X509_L_ADD_DIR => TrustSource::Dir,
        _ => TrustSource::Store,
    };
    record(store, || path_source(argc, make).into_iter().collect());
}

/// `X509_LOOKUP_ctrl_ex(lookup, cmd, argc, argl, ret, libctx, propq)`.
#[allow(clippy::too_many_arguments)]
#[export_name = "cafix_hook_X509_LOOKUP_ctrl_ex"]
pub unsafe extern "C" fn lookup_ctrl_ex_hook(
    lookup: *mut c_void,
    cmd: c_int,
    argc: *const c_char,
    argl: c_long,
    ret: *mut *mut c_char,
    libctx: *mut c_void,
    propq: *const c_char,
    caller: *const c_void,
) -> c_int {
    type F = unsafe extern "C" fn(
        *mut c_void,
        c_int,
        *const c_char,
        c_long,
        *mut *mut c_char,
        *mut c_void,
        *const c_char,
    ) -> c_int;
    let real = real_or_fail!(caller, Sym::LookupCtrlEx, F, 0);
    note_lookup_ctrl(real as *mut c_void, lookup, cmd, argc);
    let real_ptr = real as *mut c_void;
    // SAFETY: passed through unchanged.
    let call = || unsafe { real(lookup, cmd, argc, argl, ret, libctx, propq) };
    match file_load(lookup, cmd, argl) {
        Some(FileLoad::Named) => load_file(named(argc), real_ptr, || store_of_lookup(real_ptr, lookup), call),
        Some(FileLoad::Default) => load_file(
            || default_cert_file(real_ptr),
            real_ptr,
            || store_of_lookup(real_ptr, lookup),
            call,
        ),
        None => call(),
    }
}

/// `X509_LOOKUP_get_store` of the same library as `real_ctrl` (1.1.0+).
fn store_of_lookup(real_ctrl: *mut c_void, lookup: *mut c_void) -> *mut c_void {
    let f = crate::libcrypto::companion(real_ctrl, Sym::LookupGetStore);
    if f.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: X509_LOOKUP_get_store(X509_LOOKUP *) -> X509_STORE *, same library as the lookup.
    let f: unsafe extern "C" fn(*mut c_void) -> *mut c_void = unsafe { std::mem::transmute(f) };
    // SAFETY: `lookup` is the live lookup the caller passed.
    unsafe { f(lookup) }
}

#[allow(clippy::unused_unit)] // `real_or_fail!` returns `()` for this void function
#[export_name = "cafix_hook_X509_STORE_free"]
pub unsafe extern "C" fn store_free_hook(store: *mut c_void, caller: *const c_void) {
    type F = unsafe extern "C" fn(*mut c_void);
    let real = real_or_fail!(caller, Sym::StoreFree, F, ());
    if !store.is_null() {
        let saved = sys::errno();
        crate::lock::with_shim_lock(|| verification::forget_store(store));
        sys::set_errno(saved);
    }
    // SAFETY: passed through unchanged.
    unsafe { real(store) }
}
