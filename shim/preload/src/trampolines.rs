//! libcrypto's and libgnutls's trust-source and verification entry points,
//! and NSS's initialisation and module loading, as trampolines to the
//! engine's hooks (`shim/engine/src/hooks/openssl.rs`, `gnutls.rs`,
//! `nss.rs`).
//!
//! libcafix.so must define these names itself, since only the preloaded
//! object comes first in the program's scope. Each is a C function that
//! build.rs generates from `engine_abi::LIBRARIES`, with the library
//! function's own parameters: it calls [`TABLE`]'s target for its index
//! with those arguments and, as one more, its return address, which the
//! engine's hook needs (it calls the real function of *the caller's*
//! library, found from that address). A tail call where the C calling
//! convention allows one, so the engine's hook returns straight to the
//! caller. Before the engine is loaded the target is null and the
//! trampoline asks [`first_call`], which loads the engine; if the engine
//! cannot be had, the target becomes the next definition of the function
//! (called with the extra argument, which every C calling convention of
//! Linux leaves to the caller to clean up), or one that fails as the
//! library does.
//!
//! Exporting them: rustc writes the version script of a cdylib, listing
//! only Rust items, so each name is also a Rust function here
//! (`exports.rs`, generated: empty placeholders) that the link redirects
//! to the C trampoline (`--defsym`, build.rs). The placeholders never run.

use core::ffi::c_void;
use core::sync::atomic::AtomicPtr;

use core::ffi::{c_int, CStr};

use cafix_common::engine_abi::{library_hook, CType, GNUTLS_E_INTERNAL_ERROR, LIBRARY_HOOK_COUNT, SEC_FAILURE};

use crate::engine::library_target;

/// What the C trampolines read (their `struct cafix_trampoline_table`).
#[repr(C)]
pub struct Table {
    first_call: unsafe extern "C" fn(index: u32) -> *mut c_void,
    /// Per library hook, in `engine_abi::library_hook` order: the engine's
    /// hook, or, once the engine is known to be unavailable, the next
    /// definition; null until one is known.
    pub targets: [AtomicPtr<c_void>; LIBRARY_HOOK_COUNT],
}

/// The trampolines' state, in a section of its own: the C code finds it as
/// `__start_cafix_trampolines`, a symbol the linker defines and keeps local.
#[used]
#[link_section = "cafix_trampolines"]
pub static TABLE: Table = Table {
    first_call,
    targets: [const { AtomicPtr::new(core::ptr::null_mut()) }; LIBRARY_HOOK_COUNT],
};

/// Where trampoline `index` goes: never null (a function that fails the
/// call the way the library does if no library in the process defines it,
/// which is what calling a function that is not there deserves).
unsafe extern "C" fn first_call(index: u32) -> *mut c_void {
    let index = index as usize;
    let target = library_target(index);
    if !target.is_null() {
        return target;
    }
    match HOOK_FAILURE.get(index) {
        Some(&GNUTLS_E_INTERNAL_ERROR) => fails_with_internal_error as *mut c_void,
        Some(&SEC_FAILURE) => fails_with_sec_failure as *mut c_void,
        _ => fails_with_zero as *mut c_void,
    }
}

// Every failure value a hook may have has its function above.
const _: () = {
    let mut i = 0;
    while i < LIBRARY_HOOK_COUNT {
        if let Some(hook) = library_hook(i) {
            assert!(
                matches!(hook.failure, 0 | SEC_FAILURE | GNUTLS_E_INTERNAL_ERROR),
                "a library hook's failure value has no function in trampolines.rs"
            );
            // The functions below return an `int` or a pointer; a 64-bit
            // result on a 32-bit target would need one of its own.
            assert!(
                !matches!(hook.returns, CType::I64),
                "a library hook returns a 64-bit integer: trampolines.rs has no failure for it"
            );
        }
        i += 1;
    }
};

/// OpenSSL's failure, GnuTLS's "does not match", NSS's null
/// `NSSInitContext *` or `SECMODModule *`; void functions ignore it. A null
/// pointer fills the whole return register, so it is also the `int` 0
/// however the caller reads it.
extern "C" fn fails_with_zero() -> *mut c_void {
    core::ptr::null_mut()
}

/// NSS's `SECFailure`.
extern "C" fn fails_with_sec_failure() -> c_int {
    SEC_FAILURE
}

/// GnuTLS's `GNUTLS_E_INTERNAL_ERROR`.
extern "C" fn fails_with_internal_error() -> c_int {
    GNUTLS_E_INTERNAL_ERROR
}

/// The name of library hook `index` (`engine_abi::library_hook(index).name`).
pub fn hook_name(index: usize) -> Option<&'static CStr> {
    let start = usize::from(*HOOK_NAME_AT.get(index)?);
    CStr::from_bytes_until_nul(HOOK_NAMES.get(start..)?).ok()
}

// HOOK_NAMES, HOOK_NAME_AT, HOOK_FAILURE: what the front needs of
// engine_abi::LIBRARIES at run time, without pointers to relocate.
include!(concat!(env!("OUT_DIR"), "/hook_table.rs"));

// The exported names (see the module documentation).
include!(concat!(env!("OUT_DIR"), "/exports.rs"));
