//! `libcafix.so`: preloaded into programs nobody rebuilds, it makes every
//! well-known trust location behave as if it were complete, serving from the
//! one real system CA bundle.
//!
//! This crate is only the FFI layer: the hooks ([`hooks`]), the real-symbol
//! table ([`real`]), raw system access ([`sys`]) and the lazily built state
//! ([`state`]). Everything that can be pure lives in the `cafix` library.
//! See docs/ARCHITECTURE.md for the path from a hooked call to a served
//! certificate or a log line.

// The hooks are C functions with the C library's own contracts (stat(2),
// fopen(3), OpenSSL's manual pages); each unsafe block says why it holds.
#![allow(clippy::missing_safety_doc)]

pub mod hooks;
mod libcrypto;
mod lock;
mod logger;
mod next_symbol;
mod real;
mod state;
mod sys;
mod verification;

/// Runs when the library is loaded: resolves the real functions (symbol
/// lookups only; no file is opened), so every later hook call is lock-free,
/// makes `fork` wait for the shim's lock (see `lock.rs`) and notes which
/// file stderr is (one `fstat`), so log lines never land in a file a
/// program later opened as fd 2.
extern "C" fn on_load() {
    real::resolve_all();
    lock::install_fork_handlers();
    logger::remember_stderr();
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;
