//! libcrypto's and libgnutls's trust-source and verification entry points,
//! and NSS's initialisation and module loading, as trampolines to the
//! engine's hooks (`shim/engine/src/hooks/openssl.rs`, `gnutls.rs`,
//! `nss.rs`).
//!
//! libcafix.so must define these names itself, since only the preloaded
//! object comes first in the program's scope. Each is a C function that
//! build.rs generates from `engine_abi::LIBRARIES`, with the library
//! function's own parameters: it calls its target
//! (`library_hooks::TARGETS`) with those arguments and, as one more, its return address, which the
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

use core::ffi::{c_int, c_void};

use cafix_common::engine_abi::{library_hook, CType, GNUTLS_E_INTERNAL_ERROR, LIBRARY_HOOK_COUNT, SEC_FAILURE};

use crate::engine::library_target;
use crate::library_hooks::hook_failure;

/// What a trampoline calls while its target is null, in a section of its
/// own: the C code finds it as `__start_cafix_trampoline_first_call`, a
/// symbol the linker defines and keeps local (a Rust function named in C
/// would have to be exported).
#[used]
#[link_section = "cafix_trampoline_first_call"]
static FIRST_CALL: unsafe extern "C" fn(index: u32) -> *mut c_void = first_call;

/// Where trampoline `index` goes: never null (a function that fails the
/// call the way the library does if no library in the process defines it,
/// which is what calling a function that is not there deserves).
unsafe extern "C" fn first_call(index: u32) -> *mut c_void {
    let index = index as usize;
    let target = library_target(index);
    if !target.is_null() {
        return target;
    }
    match hook_failure(index) {
        Some(GNUTLS_E_INTERNAL_ERROR) => fails_with_internal_error as *mut c_void,
        Some(SEC_FAILURE) => fails_with_sec_failure as *mut c_void,
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

// The exported names (see the module documentation).
include!(concat!(env!("OUT_DIR"), "/exports.rs"));
