//! `libcafix.so`: the object that is preloaded into programs nobody rebuilds.
//!
//! It is deliberately small (`no_std`, no allocation, no unwinding) because
//! with `/etc/ld.so.preload` every process on the machine loads it, and
//! almost none of them ever looks up a missing certificate. It holds:
//! - the libc hooks ([`hooks`]: `stat`, `open`, `fopen` … in `hooks.rs`),
//!   which call the real function and return its answer untouched unless it
//!   failed with `ENOENT` on a path that could be a trust location;
//! - the OpenSSL, GnuTLS and NSS entry points ([`trampolines`]), calls of
//!   the engine's hooks;
//! - the real-function table ([`real`], [`next_symbol`]) resolved at load;
//! - the loader of `libcafix_engine.so` ([`engine`]), which does everything
//!   else (configuration, the bundle index, serving, logging, OpenSSL and
//!   GnuTLS observation, NSS's token of local CAs) and is loaded only on the
//!   first call that needs it.
//!
//! See docs/ARCHITECTURE.md for the path from a hooked call to a served
//! certificate or a log line.

#![cfg_attr(not(test), no_std)]
// The hooks are C functions with the C library's own contracts (stat(2),
// fopen(3), OpenSSL's manual pages); each unsafe block says why it holds.
#![allow(clippy::missing_safety_doc)]
// Unit tests build only the symbol-table walk, not the hooks that use the rest.
#![cfg_attr(test, allow(dead_code))]

#[cfg(not(test))]
mod engine;
#[cfg(not(test))]
pub mod hooks;
#[cfg(not(test))]
mod library_hooks;
mod next_symbol;
#[cfg(not(test))]
mod node;
mod real;
mod sys;
#[cfg(not(test))]
pub mod trampolines;

/// Runs when the library is loaded: resolves the real functions (symbol
/// lookups only; no file is opened), so every later hook call is lock-free,
/// and notes which file stderr is (one `fstat`), so a log line never lands in
/// a file a program later opened as fd 2. glibc passes `.init_array`
/// functions `argc`, `argv` and the initial environment; the environment is
/// kept for the front's own rare message (`CAFIX_LOG=off` silences it).
extern "C" fn on_load(_argc: core::ffi::c_int, _argv: *const *const u8, envp: *const *const u8) {
    real::resolve_all();
    sys::remember_stderr();
    sys::remember_environment(envp);
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn(core::ffi::c_int, *const *const u8, *const *const u8) = on_load;

/// Optimised builds must contain no panicking branch: this calls a symbol
/// nobody defines, and build.rs links release builds with `-z defs`, so one
/// that survives optimisation fails the build. Debug builds (tests) abort.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[cfg(not(debug_assertions))]
    {
        extern "C" {
            fn cafix_front_has_a_panicking_branch() -> !;
        }
        // SAFETY: never linked (see above); a build that calls it does not link.
        unsafe { cafix_front_has_a_panicking_branch() }
    }
    #[cfg(debug_assertions)]
    // SAFETY: abort has no preconditions.
    unsafe {
        libc::abort()
    }
}
