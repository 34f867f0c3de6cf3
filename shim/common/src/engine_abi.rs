//! The contract between libcafix.so's two objects.
//!
//! `libcafix.so` (shim/preload) is what gets preloaded: small, `no_std`, the
//! hooks' fast paths only. On the first call that needs more (a lookup of a
//! missing trust location, or any hooked OpenSSL function) it loads
//! `libcafix_engine.so` (shim/engine) from its own directory and hands it
//! over. Both objects depend on this crate (shim/common), so the names,
//! layouts and constants cannot drift apart. Only `core` is used here.

use core::ffi::{c_char, c_int, c_void, CStr};

/// The engine's file name; it is looked for next to libcafix.so.
pub const ENGINE_FILE_NAME: &[u8] = b"libcafix_engine.so";

/// Bumped whenever anything in this file changes meaning; part of every
/// exported name, so a front and an engine of different builds refuse each
/// other (the front then serves nothing and says so) instead of misbehaving.
pub const VERSION: u32 = 2;

/// `cafix_engine_init_v2(const FrontInfo *) -> int` (0: ready).
pub const INIT: &CStr = c"cafix_engine_init_v2";
/// `cafix_engine_after_stat_v2(layout, rc, path, buf, saved_errno) -> int`.
pub const AFTER_STAT: &CStr = c"cafix_engine_after_stat_v2";
/// `cafix_engine_after_access_v2(rc, path, mode, saved_errno) -> int`.
pub const AFTER_ACCESS: &CStr = c"cafix_engine_after_access_v2";
/// `cafix_engine_after_fopen_v2(file, path, mode, saved_errno) -> FILE *`.
pub const AFTER_FOPEN: &CStr = c"cafix_engine_after_fopen_v2";
/// `cafix_engine_after_open_v2(fd, path, flags, saved_errno) -> int`.
pub const AFTER_OPEN: &CStr = c"cafix_engine_after_open_v2";

/// Which `struct` an `after_stat` buffer is.
pub const LAYOUT_STAT: c_int = 0;
pub const LAYOUT_STAT64: c_int = 1;
pub const LAYOUT_STATX: c_int = 2;

/// What the front tells the engine once, right after loading it.
#[repr(C)]
pub struct FrontInfo {
    /// `size_of::<FrontInfo>()`, a second guard against a mismatched pair.
    pub size: usize,
    /// The file behind fd 2 when the process started (device, inode), or
    /// (0, 0) if fd 2 was closed then: log lines go only there.
    pub stderr_dev: u64,
    pub stderr_ino: u64,
    /// An address inside libcafix.so: the engine must never take the
    /// front's exports for a real OpenSSL function.
    pub front_anchor: *const c_void,
    /// `dlsym(RTLD_NEXT, name)` as seen from libcafix.so, i.e. in the
    /// program's global scope after the preload. From the engine itself
    /// (loaded with `dlopen`), `RTLD_NEXT` would see only its own dependencies.
    pub dlsym_next: unsafe extern "C" fn(name: *const c_char) -> *mut c_void,
}

/// The OpenSSL functions libcafix.so exports and the engine hooks, in one
/// order: the front's trampoline `i` jumps to the engine's export `OPENSSL_HOOKS[i]`.
pub const OPENSSL_HOOKS: [&CStr; 13] = [
    c"X509_verify_cert",
    c"X509_STORE_load_locations",
    c"X509_STORE_load_locations_ex",
    c"X509_STORE_load_file",
    c"X509_STORE_load_file_ex",
    c"X509_STORE_load_path",
    c"X509_STORE_load_store",
    c"X509_STORE_load_store_ex",
    c"X509_STORE_set_default_paths",
    c"X509_STORE_set_default_paths_ex",
    c"X509_LOOKUP_ctrl",
    c"X509_LOOKUP_ctrl_ex",
    c"X509_STORE_free",
];

/// The GnuTLS functions libcafix.so exports and the engine hooks (observe
/// only); trampoline `OPENSSL_HOOKS.len() + i` jumps to `GNUTLS_HOOKS[i]`.
pub const GNUTLS_HOOKS: [&CStr; 17] = [
    c"gnutls_certificate_verify_peers2",
    c"gnutls_certificate_verify_peers3",
    c"gnutls_certificate_verify_peers",
    c"gnutls_handshake",
    c"gnutls_x509_trust_list_verify_crt",
    c"gnutls_x509_trust_list_verify_crt2",
    c"gnutls_x509_crt_check_hostname",
    c"gnutls_x509_crt_check_hostname2",
    c"gnutls_certificate_set_x509_system_trust",
    c"gnutls_certificate_set_x509_trust_file",
    c"gnutls_certificate_set_x509_trust_dir",
    c"gnutls_x509_trust_list_add_system_trust",
    c"gnutls_x509_trust_list_add_trust_file",
    c"gnutls_x509_trust_list_add_trust_dir",
    c"gnutls_certificate_set_trust_list",
    c"gnutls_certificate_free_credentials",
    c"gnutls_x509_trust_list_deinit",
];

/// The NSS functions libcafix.so exports and the engine hooks: where a
/// program initialises NSS or loads a module into it, after which the
/// engine may add its token of local CAs (`shim/engine/src/hooks/nss.rs`);
/// trampoline `NSS_HOOKS_START + i` jumps to `NSS_HOOKS[i]`. The
/// initialisations return a `SECStatus` (`NSS_InitContext` a context
/// pointer), the module loaders a module pointer or a `SECStatus`.
/// `NSS_NoDB_Init` is not among them: it never loads built-in roots, so
/// only a module loaded after it can matter (and Firefox's sandboxed content
/// processes call it, where the engine cannot be opened).
pub const NSS_HOOKS: [&CStr; 8] = [
    c"NSS_Init",
    c"NSS_InitReadWrite",
    c"NSS_Initialize",
    c"NSS_InitContext",
    c"SECMOD_LoadUserModule",
    c"SECMOD_LoadUserModuleWithFunction",
    c"SECMOD_AddNewModule",
    c"SECMOD_AddNewModuleEx",
];

/// Where NSS's hooks start among the library hooks.
pub const NSS_HOOKS_START: usize = OPENSSL_HOOKS.len() + GNUTLS_HOOKS.len();

/// How many functions libcafix.so hooks for the engine: OpenSSL's, then
/// GnuTLS's, then NSS's.
pub const LIBRARY_HOOK_COUNT: usize = NSS_HOOKS_START + NSS_HOOKS.len();

/// The name of library hook `index` (OpenSSL's first, then GnuTLS's, then
/// NSS's); "" past the end (no panicking branch: libcafix.so must have none).
pub const fn library_hook_name(index: usize) -> &'static CStr {
    if index < OPENSSL_HOOKS.len() {
        OPENSSL_HOOKS[index]
    } else if index < NSS_HOOKS_START {
        GNUTLS_HOOKS[index - OPENSSL_HOOKS.len()]
    } else if index < LIBRARY_HOOK_COUNT {
        NSS_HOOKS[index - NSS_HOOKS_START]
    } else {
        c""
    }
}

/// GnuTLS's `GNUTLS_E_INTERNAL_ERROR`.
pub const GNUTLS_E_INTERNAL_ERROR: c_int = -59;

/// NSS's `SECFailure`.
pub const SEC_FAILURE: c_int = -1;

/// What library hook `index` returns when no library in the process
/// defines the function: the library's own failure. OpenSSL's functions
/// fail with 0; GnuTLS's return a negative error code, except the host
/// name checks, whose 0 means "does not match" (the void ones ignore it);
/// NSS's fail with `SECFailure`, or a null pointer for those that return one.
pub const fn library_hook_failure(index: usize) -> c_int {
    const CHECK_HOSTNAME: usize = OPENSSL_HOOKS.len() + 6;
    const CHECK_HOSTNAME2: usize = OPENSSL_HOOKS.len() + 7;
    const NSS_INIT_CONTEXT: usize = NSS_HOOKS_START + 3;
    const LOAD_USER_MODULE: usize = NSS_HOOKS_START + 4;
    const LOAD_USER_MODULE_WITH_FUNCTION: usize = NSS_HOOKS_START + 5;
    match index {
        i if i < OPENSSL_HOOKS.len() => 0,
        CHECK_HOSTNAME | CHECK_HOSTNAME2 => 0,
        i if i < NSS_HOOKS_START => GNUTLS_E_INTERNAL_ERROR,
        NSS_INIT_CONTEXT | LOAD_USER_MODULE | LOAD_USER_MODULE_WITH_FUNCTION => 0,
        _ => SEC_FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_names_carry_the_version() {
        let suffix = format!("_v{VERSION}");
        for name in [INIT, AFTER_STAT, AFTER_ACCESS, AFTER_FOPEN, AFTER_OPEN] {
            assert!(name.to_str().unwrap().ends_with(&suffix), "{name:?}");
        }
    }

    #[test]
    fn library_hooks_are_distinct() {
        let all: Vec<&CStr> = (0..LIBRARY_HOOK_COUNT).map(library_hook_name).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b), "{a:?} twice");
        }
        assert_eq!(library_hook_name(OPENSSL_HOOKS.len()), GNUTLS_HOOKS[0]);
        assert_eq!(library_hook_name(NSS_HOOKS_START), NSS_HOOKS[0]);
        assert_eq!(library_hook_name(LIBRARY_HOOK_COUNT - 1), NSS_HOOKS[7]);
        assert_eq!(library_hook_name(LIBRARY_HOOK_COUNT), c"");
    }

    #[test]
    fn nss_hooks_returning_pointers_fail_with_null_and_the_others_with_sec_failure() {
        for (i, name) in NSS_HOOKS.iter().enumerate() {
            let failure = library_hook_failure(NSS_HOOKS_START + i);
            let pointer = matches!(
                name.to_bytes(),
                b"NSS_InitContext" | b"SECMOD_LoadUserModule" | b"SECMOD_LoadUserModuleWithFunction"
            );
            assert_eq!(failure, if pointer { 0 } else { SEC_FAILURE }, "{name:?}");
        }
    }

    #[test]
    fn only_the_host_name_checks_fail_with_zero_among_gnutls_hooks() {
        for (i, name) in GNUTLS_HOOKS.iter().enumerate() {
            let failure = library_hook_failure(OPENSSL_HOOKS.len() + i);
            assert_ne!(failure, SEC_FAILURE, "{name:?}");
            let boolean = name.to_bytes().starts_with(b"gnutls_x509_crt_check_hostname");
            assert_eq!(failure == 0, boolean, "{name:?}");
        }
        assert!((0..OPENSSL_HOOKS.len()).all(|i| library_hook_failure(i) == 0));
    }
}
