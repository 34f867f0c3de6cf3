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
pub const VERSION: u32 = 1;

/// `cafix_engine_init_v1(const FrontInfo *) -> int` (0: ready).
pub const INIT: &CStr = c"cafix_engine_init_v1";
/// `cafix_engine_after_stat_v1(layout, rc, path, buf, saved_errno) -> int`.
pub const AFTER_STAT: &CStr = c"cafix_engine_after_stat_v1";
/// `cafix_engine_after_access_v1(rc, path, mode, saved_errno) -> int`.
pub const AFTER_ACCESS: &CStr = c"cafix_engine_after_access_v1";
/// `cafix_engine_after_fopen_v1(file, path, mode, saved_errno) -> FILE *`.
pub const AFTER_FOPEN: &CStr = c"cafix_engine_after_fopen_v1";
/// `cafix_engine_after_open_v1(fd, path, flags, saved_errno) -> int`.
pub const AFTER_OPEN: &CStr = c"cafix_engine_after_open_v1";

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
    fn openssl_hooks_are_distinct() {
        for (i, a) in OPENSSL_HOOKS.iter().enumerate() {
            assert!(OPENSSL_HOOKS[i + 1..].iter().all(|b| a != b), "{a:?} twice");
        }
    }
}
