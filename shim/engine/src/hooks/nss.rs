//! Hooks on where a program initialises NSS or loads a module into it.
//! Arguments and return values pass through unchanged; afterwards, the
//! caller's own libnss3 may get cafix's token of local CAs (`nss.rs`).
//!
//! As for OpenSSL and GnuTLS, each hook is exported as
//! `cafix_hook_<function>` and gets the caller's return address after the
//! function's arguments (libcafix.so's trampoline adds it), so the real
//! function is the one of the caller's libnss3 (Chromium's system
//! `libnss3.so`, Firefox's own in `/usr/lib/firefox-esr`). libnss3's own
//! calls of these exports (its initialisation loads the modules its
//! database lists with `SECMOD_AddNewModule`) pass straight through
//! (`hooks::from_inside`): NSS is then still initialising, and the
//! program's call returns after.

use std::ffi::c_void;

use libc::{c_char, c_int, c_uint, c_ulong};

use cafix_common::engine_abi::SEC_FAILURE;

use crate::libcrypto::Sym;

/// Defines `$hook`, exported as `$export`, for the NSS function of `$sym`
/// (whose C parameters are `engine_abi::NSS_HOOKS`' line for it): the
/// real call, then `nss::after_init_or_load` unless NSS called itself.
macro_rules! nss_hook {
    ($export:literal, $hook:ident, $sym:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty, $fail:expr) => {
        #[export_name = $export]
        pub unsafe extern "C" fn $hook($($arg: $ty,)* caller: *const c_void) -> $ret {
            type F = unsafe extern "C" fn($($ty),*) -> $ret;
            let (real, observed) = real_and_observed!(caller, $sym, F, $fail);
            // SAFETY: the caller's arguments, passed through unchanged to
            // this very function of the caller's libnss3.
            let rc = unsafe { real($($arg),*) };
            if observed {
                crate::nss::after_init_or_load(real as *mut c_void);
            }
            rc
        }
    };
}

nss_hook!("cafix_hook_NSS_Init", nss_init_hook, Sym::NssInit,
    (configdir: *const c_char) -> c_int, SEC_FAILURE);
nss_hook!("cafix_hook_NSS_InitReadWrite", nss_init_read_write_hook, Sym::NssInitReadWrite,
    (configdir: *const c_char) -> c_int, SEC_FAILURE);
nss_hook!("cafix_hook_NSS_Initialize", nss_initialize_hook, Sym::NssInitialize,
    (configdir: *const c_char, cert_prefix: *const c_char, key_prefix: *const c_char,
     secmod_name: *const c_char, flags: c_uint) -> c_int, SEC_FAILURE);
nss_hook!("cafix_hook_NSS_InitContext", nss_init_context_hook, Sym::NssInitContext,
    (configdir: *const c_char, cert_prefix: *const c_char, key_prefix: *const c_char,
     secmod_name: *const c_char, init_params: *mut c_void, flags: c_uint) -> *mut c_void,
    std::ptr::null_mut());
nss_hook!("cafix_hook_SECMOD_LoadUserModule", load_user_module_hook, Sym::SecmodLoadUserModule,
    (spec: *mut c_char, parent: *mut c_void, recurse: c_int) -> *mut c_void, std::ptr::null_mut());
nss_hook!("cafix_hook_SECMOD_LoadUserModuleWithFunction", load_user_module_with_function_hook,
    Sym::SecmodLoadUserModuleWithFunction,
    (name: *const c_char, entry: *mut c_void) -> *mut c_void, std::ptr::null_mut());
nss_hook!("cafix_hook_SECMOD_AddNewModule", add_new_module_hook, Sym::SecmodAddNewModule,
    (name: *const c_char, library: *const c_char, mechanisms: c_ulong, ciphers: c_ulong) -> c_int,
    SEC_FAILURE);
nss_hook!("cafix_hook_SECMOD_AddNewModuleEx", add_new_module_ex_hook, Sym::SecmodAddNewModuleEx,
    (name: *const c_char, library: *const c_char, mechanisms: c_ulong, ciphers: c_ulong,
     module_params: *mut c_char, nss_params: *mut c_char) -> c_int, SEC_FAILURE);
