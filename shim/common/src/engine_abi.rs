//! The contract between libcafix.so's two objects.
//!
//! `libcafix.so` (shim/preload) is what gets preloaded: small, `no_std`, the
//! hooks' fast paths only. On the first call that needs more (a lookup of a
//! missing trust location, or any hooked library function) it loads
//! `libcafix_engine.so` (shim/engine) from its own directory and hands it
//! over. Both objects depend on this crate (shim/common), so the names,
//! layouts and constants cannot drift apart. Only `core` is used here.

use core::ffi::{c_char, c_int, c_void, CStr};

/// The engine's file name; it is looked for next to libcafix.so.
pub const ENGINE_FILE_NAME: &[u8] = b"libcafix_engine.so";

/// Bumped whenever anything in this file changes meaning; part of every
/// exported name, so a front and an engine of different builds refuse each
/// other (the front then serves nothing and says so) instead of misbehaving.
pub const VERSION: u32 = 3;

/// `cafix_engine_init_v3(const FrontInfo *) -> int` (0: ready).
pub const INIT: &CStr = c"cafix_engine_init_v3";
/// `cafix_engine_after_stat_v3(layout, rc, path, buf, saved_errno) -> int`.
pub const AFTER_STAT: &CStr = c"cafix_engine_after_stat_v3";
/// `cafix_engine_after_access_v3(rc, path, mode, saved_errno) -> int`.
pub const AFTER_ACCESS: &CStr = c"cafix_engine_after_access_v3";
/// `cafix_engine_after_fopen_v3(file, path, mode, saved_errno) -> FILE *`.
pub const AFTER_FOPEN: &CStr = c"cafix_engine_after_fopen_v3";
/// `cafix_engine_after_open_v3(fd, path, flags, saved_errno) -> int`.
pub const AFTER_OPEN: &CStr = c"cafix_engine_after_open_v3";

/// Which `struct` an `after_stat` buffer is.
pub const LAYOUT_STAT: c_int = 0;
pub const LAYOUT_STAT64: c_int = 1;
pub const LAYOUT_STATX: c_int = 2;
/// [`Stat64Time64`] (32-bit targets only).
pub const LAYOUT_STAT64_TIME64: c_int = 3;

/// glibc's `struct __stat64_t64` (2.34+), the buffer of `__stat64_time64`,
/// `__lstat64_time64` and `__fstatat64_time64`, which programs built with
/// `_TIME_BITS=64` call on 32-bit targets (Debian 13's armhf): the fields
/// of `struct stat64` with 64-bit times. Its `struct __timespec64` is a
/// 64-bit second, a 32-bit nanosecond and 32 bits of padding, in that
/// order on the little-endian 32-bit targets built here; `repr(C)` lays the
/// rest out as the target's C compiler does (a `long long` is 4-aligned on
/// i386, 8-aligned on ARM).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Stat64Time64 {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    /// `long`: 32 bits here.
    pub st_blksize: i32,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i32,
    pub st_atime_pad: i32,
    pub st_mtime: i64,
    pub st_mtime_nsec: i32,
    pub st_mtime_pad: i32,
    pub st_ctime: i64,
    pub st_ctime_nsec: i32,
    pub st_ctime_pad: i32,
}

// What the cross compilers say (`sizeof`, `offsetof` with
// `-D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64`): i386 108 bytes, `st_blocks` at
// 52 and `st_mtim` at 76; 32-bit ARM 112, 56 and 80.
#[cfg(target_arch = "x86")]
const _: () = assert!(
    core::mem::size_of::<Stat64Time64>() == 108
        && core::mem::offset_of!(Stat64Time64, st_blocks) == 52
        && core::mem::offset_of!(Stat64Time64, st_mtime) == 76
);
#[cfg(target_arch = "arm")]
const _: () = assert!(
    core::mem::size_of::<Stat64Time64>() == 112
        && core::mem::offset_of!(Stat64Time64, st_blocks) == 56
        && core::mem::offset_of!(Stat64Time64, st_mtime) == 80
);

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

/// How a parameter or the result of a hooked library function is passed:
/// the types libcafix.so's generated C trampolines declare
/// (`shim/preload/build.rs`). Only the C calling convention matters here,
/// so every pointer is [`CType::Ptr`] and every enum an [`CType::Int`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CType {
    Void,
    Ptr,
    Int,
    UInt,
    Long,
    ULong,
    /// A 64-bit integer (NSS's `PRTime`, `SECCertificateUsage`): two
    /// argument slots on 32-bit targets.
    I64,
}

impl CType {
    /// The C spelling.
    pub const fn c_name(self) -> &'static str {
        match self {
            CType::Void => "void",
            CType::Ptr => "void *",
            CType::Int => "int",
            CType::UInt => "unsigned int",
            CType::Long => "long",
            CType::ULong => "unsigned long",
            CType::I64 => "long long",
        }
    }
}

/// One library function that libcafix.so exports and the engine hooks.
///
/// Adding one: a line in its library's table below (and, for a library
/// not yet hooked, the table in [`LIBRARIES`]), and in the engine a hook
/// exported as `cafix_hook_<name>` whose parameters are these, then the
/// caller's return address (`shim/engine/src/hooks/`). libcafix.so's
/// trampoline is generated from this entry.
#[derive(Clone, Copy, Debug)]
pub struct LibraryHook {
    pub name: &'static CStr,
    pub returns: CType,
    pub params: &'static [CType],
    /// What the call returns when no library in the process defines the
    /// function: the library's own failure (ignored for `void`).
    pub failure: c_int,
}

/// GnuTLS's `GNUTLS_E_INTERNAL_ERROR`.
pub const GNUTLS_E_INTERNAL_ERROR: c_int = -59;

/// NSS's `SECFailure` (a `SECStatus`, an `enum`: an `int`).
pub const SEC_FAILURE: c_int = -1;

const fn hook(name: &'static CStr, returns: CType, params: &'static [CType], failure: c_int) -> LibraryHook {
    LibraryHook {
        name,
        returns,
        params,
        failure,
    }
}

use CType::{Int, Long, Ptr, UInt, ULong, Void};

/// libcrypto's hooked functions; OpenSSL's failure is 0.
pub const OPENSSL_HOOKS: [LibraryHook; 13] = [
    hook(c"X509_verify_cert", Int, &[Ptr], 0),
    hook(c"X509_STORE_load_locations", Int, &[Ptr, Ptr, Ptr], 0),
    hook(c"X509_STORE_load_locations_ex", Int, &[Ptr, Ptr, Ptr, Ptr, Ptr], 0),
    hook(c"X509_STORE_load_file", Int, &[Ptr, Ptr], 0),
    hook(c"X509_STORE_load_file_ex", Int, &[Ptr, Ptr, Ptr, Ptr], 0),
    hook(c"X509_STORE_load_path", Int, &[Ptr, Ptr], 0),
    hook(c"X509_STORE_load_store", Int, &[Ptr, Ptr], 0),
    hook(c"X509_STORE_load_store_ex", Int, &[Ptr, Ptr, Ptr, Ptr], 0),
    hook(c"X509_STORE_set_default_paths", Int, &[Ptr], 0),
    hook(c"X509_STORE_set_default_paths_ex", Int, &[Ptr, Ptr, Ptr], 0),
    hook(c"X509_LOOKUP_ctrl", Int, &[Ptr, Int, Ptr, Long, Ptr], 0),
    hook(c"X509_LOOKUP_ctrl_ex", Int, &[Ptr, Int, Ptr, Long, Ptr, Ptr, Ptr], 0),
    hook(c"X509_STORE_free", Void, &[Ptr], 0),
];

/// libgnutls's hooked functions (observe only); GnuTLS fails with
/// [`GNUTLS_E_INTERNAL_ERROR`], except the host name checks, whose 0 means
/// "does not match".
pub const GNUTLS_HOOKS: [LibraryHook; 19] = [
    hook(
        c"gnutls_certificate_verify_peers2",
        Int,
        &[Ptr, Ptr],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_certificate_verify_peers3",
        Int,
        &[Ptr, Ptr, Ptr],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_certificate_verify_peers",
        Int,
        &[Ptr, Ptr, UInt, Ptr],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(c"gnutls_handshake", Int, &[Ptr], GNUTLS_E_INTERNAL_ERROR),
    hook(
        c"gnutls_x509_trust_list_verify_crt",
        Int,
        &[Ptr, Ptr, UInt, UInt, Ptr, Ptr],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_x509_trust_list_verify_crt2",
        Int,
        &[Ptr, Ptr, UInt, Ptr, UInt, UInt, Ptr, Ptr],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(c"gnutls_x509_crt_check_hostname", UInt, &[Ptr, Ptr], 0),
    hook(c"gnutls_x509_crt_check_hostname2", UInt, &[Ptr, Ptr, UInt], 0),
    hook(
        c"gnutls_certificate_set_x509_system_trust",
        Int,
        &[Ptr],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_certificate_set_x509_trust_file",
        Int,
        &[Ptr, Ptr, Int],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_certificate_set_x509_trust_dir",
        Int,
        &[Ptr, Ptr, Int],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_x509_trust_list_add_system_trust",
        Int,
        &[Ptr, UInt, UInt],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_x509_trust_list_add_trust_file",
        Int,
        &[Ptr, Ptr, Ptr, Int, UInt, UInt],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(
        c"gnutls_x509_trust_list_add_trust_dir",
        Int,
        &[Ptr, Ptr, Ptr, Int, UInt, UInt],
        GNUTLS_E_INTERNAL_ERROR,
    ),
    hook(c"gnutls_certificate_set_trust_list", Void, &[Ptr, Ptr, UInt], 0),
    hook(c"gnutls_certificate_free_credentials", Void, &[Ptr], 0),
    hook(c"gnutls_x509_trust_list_deinit", Void, &[Ptr, UInt], 0),
    hook(c"gnutls_session_set_verify_cert", Void, &[Ptr, Ptr, UInt], 0),
    hook(c"gnutls_session_set_verify_cert2", Void, &[Ptr, Ptr, UInt, UInt], 0),
];

/// libnss3's hooked functions: where a program initialises NSS or loads a
/// module into it, after which the engine may add its token of local CAs
/// (`shim/engine/src/hooks/nss.rs`). The initialisations return a
/// `SECStatus` and fail with [`SEC_FAILURE`], except `NSS_InitContext`,
/// which returns a context pointer (null on failure); the module loaders a
/// `SECMODModule *` (null on failure) or a `SECStatus`. `PRUint32` is an
/// `unsigned int`, `PRBool` an `int` (NSPR's prtypes.h).
/// `NSS_NoDB_Init` is not among them: it never loads built-in roots, so
/// only a module loaded after it can matter (and Firefox's sandboxed
/// content processes call it, where the engine cannot be opened).
pub const NSS_HOOKS: [LibraryHook; 8] = [
    hook(c"NSS_Init", Int, &[Ptr], SEC_FAILURE),
    hook(c"NSS_InitReadWrite", Int, &[Ptr], SEC_FAILURE),
    hook(c"NSS_Initialize", Int, &[Ptr, Ptr, Ptr, Ptr, UInt], SEC_FAILURE),
    hook(c"NSS_InitContext", Ptr, &[Ptr, Ptr, Ptr, Ptr, Ptr, UInt], 0),
    hook(c"SECMOD_LoadUserModule", Ptr, &[Ptr, Ptr, Int], 0),
    hook(c"SECMOD_LoadUserModuleWithFunction", Ptr, &[Ptr, Ptr], 0),
    hook(c"SECMOD_AddNewModule", Int, &[Ptr, Ptr, ULong, ULong], SEC_FAILURE),
    hook(
        c"SECMOD_AddNewModuleEx",
        Int,
        &[Ptr, Ptr, ULong, ULong, Ptr, Ptr],
        SEC_FAILURE,
    ),
];

/// Every hooked library's table, in the order of the front's trampoline
/// indices: hook `i` of the whole is the `i`-th entry of these in turn.
pub const LIBRARIES: [&[LibraryHook]; 3] = [&OPENSSL_HOOKS, &GNUTLS_HOOKS, &NSS_HOOKS];

/// How many functions libcafix.so hooks for the engine.
pub const LIBRARY_HOOK_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < LIBRARIES.len() {
        n += LIBRARIES[i].len();
        i += 1;
    }
    n
};

/// Library hook `index`, counting through [`LIBRARIES`] (no panicking
/// branch: libcafix.so must have none).
pub const fn library_hook(index: usize) -> Option<&'static LibraryHook> {
    let mut rest = index;
    let mut i = 0;
    while i < LIBRARIES.len() {
        let table = LIBRARIES[i];
        if rest < table.len() {
            return Some(&table[rest]);
        }
        rest -= table.len();
        i += 1;
    }
    None
}

/// The prefix of the engine's export for a library hook:
/// `cafix_hook_X509_verify_cert` is the hook of `X509_verify_cert`. Its
/// parameters are the function's, then the caller's return address.
pub const HOOK_PREFIX: &[u8] = b"cafix_hook_";

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
    fn library_hooks_are_distinct_and_counted_through_every_table() {
        let all: Vec<&CStr> = (0..LIBRARY_HOOK_COUNT).map(|i| library_hook(i).unwrap().name).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b), "{a:?} twice");
        }
        assert_eq!(
            LIBRARY_HOOK_COUNT,
            OPENSSL_HOOKS.len() + GNUTLS_HOOKS.len() + NSS_HOOKS.len()
        );
        assert_eq!(library_hook(OPENSSL_HOOKS.len()).unwrap().name, GNUTLS_HOOKS[0].name);
        let nss_start = OPENSSL_HOOKS.len() + GNUTLS_HOOKS.len();
        assert_eq!(library_hook(nss_start).unwrap().name, NSS_HOOKS[0].name);
        assert_eq!(
            library_hook(LIBRARY_HOOK_COUNT - 1).unwrap().name,
            c"SECMOD_AddNewModuleEx"
        );
        assert!(library_hook(LIBRARY_HOOK_COUNT).is_none());
    }

    #[test]
    fn nss_hooks_returning_pointers_fail_with_null_and_the_others_with_sec_failure() {
        for hook in &NSS_HOOKS {
            let pointer = matches!(
                hook.name.to_bytes(),
                b"NSS_InitContext" | b"SECMOD_LoadUserModule" | b"SECMOD_LoadUserModuleWithFunction"
            );
            assert_eq!(hook.returns == CType::Ptr, pointer, "{:?}", hook.name);
            assert_eq!(hook.failure, if pointer { 0 } else { SEC_FAILURE }, "{:?}", hook.name);
        }
    }

    #[test]
    fn only_integer_results_fail_with_a_nonzero_value() {
        // A pointer's failure is null; a nonzero failure is returned as an `int`.
        for i in 0..LIBRARY_HOOK_COUNT {
            let hook = library_hook(i).unwrap();
            if hook.failure != 0 {
                assert_eq!(hook.returns, CType::Int, "{:?}", hook.name);
            }
        }
    }

    #[test]
    fn only_the_host_name_checks_fail_with_zero_among_gnutls_hooks() {
        for hook in GNUTLS_HOOKS.iter().filter(|h| h.returns != CType::Void) {
            assert_ne!(hook.failure, SEC_FAILURE, "{:?}", hook.name);
            let boolean = hook.name.to_bytes().starts_with(b"gnutls_x509_crt_check_hostname");
            assert_eq!(hook.failure == 0, boolean, "{:?}", hook.name);
        }
        assert!(OPENSSL_HOOKS.iter().all(|h| h.failure == 0));
    }

    #[test]
    fn parameters_are_plain_c_values() {
        for i in 0..LIBRARY_HOOK_COUNT {
            let hook = library_hook(i).unwrap();
            assert!(!hook.params.contains(&CType::Void), "{:?}", hook.name);
        }
    }
}
