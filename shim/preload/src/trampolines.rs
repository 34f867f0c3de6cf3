//! libcrypto's and libgnutls's trust-source and verification entry points,
//! and NSS's initialisation and module loading, as trampolines to the
//! engine's hooks (`shim/engine/src/hooks/openssl.rs`, `gnutls.rs`, `nss.rs`).
//!
//! libcafix.so must define these names itself, since only the preloaded
//! object comes first in the program's scope. Each is a naked jump through
//! [`crate::engine::LIBRARY_TARGETS`]: the engine's hook then starts with
//! the caller's registers, stack and return address exactly as the caller
//! left them, which it needs (it calls the real function of *the caller's*
//! library, found from the return address). Before the engine is loaded
//! the target is null and the jump goes to [`first_call`], which saves the
//! argument registers, loads the engine ([`library_target`]), restores them
//! and jumps on, so the first call looks no different from the others.
//! x86_64 and aarch64.

use crate::engine::{library_target, LIBRARY_TARGETS};
use cafix_common::engine_abi::{library_hook_failure, library_hook_name};

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Defines the exported trampoline `$name` for library hook `$index`.
macro_rules! trampoline {
    ($name:ident, $index:literal) => {
        const _: () = assert!(
            same_bytes(stringify!($name).as_bytes(), library_hook_name($index).to_bytes()),
            "trampoline name and index disagree with engine_abi::OPENSSL_HOOKS / GNUTLS_HOOKS / NSS_HOOKS"
        );
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name() {
            // r11 / x16, x17: scratch registers no argument travels in.
            #[cfg(target_arch = "x86_64")]
            core::arch::naked_asm!(
                "mov r11, qword ptr [rip + {targets} + {offset}]",
                "test r11, r11",
                "jz 2f",
                "jmp r11",
                "2:",
                "mov r11d, {index}",
                "jmp {first_call}",
                targets = sym LIBRARY_TARGETS,
                offset = const $index * 8,
                index = const $index,
                first_call = sym first_call,
            );
            #[cfg(target_arch = "aarch64")]
            core::arch::naked_asm!(
                "adrp x16, {targets}",
                "add x16, x16, :lo12:{targets}",
                "add x16, x16, #{offset}",
                "ldar x17, [x16]",
                "cbz x17, 2f",
                "br x17",
                "2:",
                "mov x16, #{index}",
                "b {first_call}",
                targets = sym LIBRARY_TARGETS,
                offset = const $index * 8,
                index = const $index,
                first_call = sym first_call,
            );
        }
    };
}

/// The slow way in: the trampoline's index in r11 / x16, the caller's
/// arguments in their registers (none of these functions takes floating
/// point or variadic arguments, and those passed on the stack, such as the
/// seventh of `X509_LOOKUP_ctrl_ex`, stay there, untouched).
#[unsafe(naked)]
unsafe extern "C" fn first_call() {
    #[cfg(target_arch = "x86_64")]
    core::arch::naked_asm!(
        "push rdi",
        "push rsi",
        "push rdx",
        "push rcx",
        "push r8",
        "push r9",
        "sub rsp, 8", // 16-byte alignment at the call (entry: 8 mod 16, + 6 pushes)
        "mov edi, r11d",
        "call {target}",
        "add rsp, 8",
        "pop r9",
        "pop r8",
        "pop rcx",
        "pop rdx",
        "pop rsi",
        "pop rdi",
        "jmp rax",
        target = sym target_for_first_call,
    );
    #[cfg(target_arch = "aarch64")]
    core::arch::naked_asm!(
        "stp x29, x30, [sp, #-80]!", // x30: the caller's return address
        "mov x29, sp",
        "stp x0, x1, [sp, #16]",
        "stp x2, x3, [sp, #32]",
        "stp x4, x5, [sp, #48]",
        "stp x6, x7, [sp, #64]",
        "mov x0, x16",
        "bl {target}",
        "mov x16, x0",
        "ldp x6, x7, [sp, #64]",
        "ldp x4, x5, [sp, #48]",
        "ldp x2, x3, [sp, #32]",
        "ldp x0, x1, [sp, #16]",
        "ldp x29, x30, [sp], #80",
        "br x16",
        target = sym target_for_first_call,
    );
}

/// Where trampoline `index` goes: never null (a function that fails the
/// call the way the library does if no library in the process defines it,
/// which is what calling a function that is not there deserves).
extern "C" fn target_for_first_call(index: u32) -> *const () {
    let target = library_target(index as usize);
    if !target.is_null() {
        return target as *const ();
    }
    match library_hook_failure(index as usize) {
        0 => fails_with_zero as *const (),
        cafix_common::engine_abi::SEC_FAILURE => fails_with_sec_failure as *const (),
        _ => fails_with_internal_error as *const (),
    }
}

/// OpenSSL's failure (GnuTLS's "does not match", NSS's null pointer); void
/// functions ignore it.
extern "C" fn fails_with_zero() -> core::ffi::c_int {
    0
}

/// NSS's `SECFailure`.
extern "C" fn fails_with_sec_failure() -> core::ffi::c_int {
    cafix_common::engine_abi::SEC_FAILURE
}

/// GnuTLS's `GNUTLS_E_INTERNAL_ERROR`.
extern "C" fn fails_with_internal_error() -> core::ffi::c_int {
    cafix_common::engine_abi::GNUTLS_E_INTERNAL_ERROR
}

trampoline!(X509_verify_cert, 0);
trampoline!(X509_STORE_load_locations, 1);
trampoline!(X509_STORE_load_locations_ex, 2);
trampoline!(X509_STORE_load_file, 3);
trampoline!(X509_STORE_load_file_ex, 4);
trampoline!(X509_STORE_load_path, 5);
trampoline!(X509_STORE_load_store, 6);
trampoline!(X509_STORE_load_store_ex, 7);
trampoline!(X509_STORE_set_default_paths, 8);
trampoline!(X509_STORE_set_default_paths_ex, 9);
trampoline!(X509_LOOKUP_ctrl, 10);
trampoline!(X509_LOOKUP_ctrl_ex, 11);
trampoline!(X509_STORE_free, 12);

trampoline!(gnutls_certificate_verify_peers2, 13);
trampoline!(gnutls_certificate_verify_peers3, 14);
trampoline!(gnutls_certificate_verify_peers, 15);
trampoline!(gnutls_handshake, 16);
trampoline!(gnutls_x509_trust_list_verify_crt, 17);
trampoline!(gnutls_x509_trust_list_verify_crt2, 18);
trampoline!(gnutls_x509_crt_check_hostname, 19);
trampoline!(gnutls_x509_crt_check_hostname2, 20);
trampoline!(gnutls_certificate_set_x509_system_trust, 21);
trampoline!(gnutls_certificate_set_x509_trust_file, 22);
trampoline!(gnutls_certificate_set_x509_trust_dir, 23);
trampoline!(gnutls_x509_trust_list_add_system_trust, 24);
trampoline!(gnutls_x509_trust_list_add_trust_file, 25);
trampoline!(gnutls_x509_trust_list_add_trust_dir, 26);
trampoline!(gnutls_certificate_set_trust_list, 27);
trampoline!(gnutls_certificate_free_credentials, 28);
trampoline!(gnutls_x509_trust_list_deinit, 29);

trampoline!(NSS_Init, 30);
trampoline!(NSS_InitReadWrite, 31);
trampoline!(NSS_Initialize, 32);
trampoline!(NSS_InitContext, 33);
trampoline!(SECMOD_LoadUserModule, 34);
trampoline!(SECMOD_LoadUserModuleWithFunction, 35);
trampoline!(SECMOD_AddNewModule, 36);
trampoline!(SECMOD_AddNewModuleEx, 37);
