//! `libcafix_engine.so`: everything libcafix.so does beyond its fast paths.
//!
//! libcafix.so (shim/preload) is the preloaded object: the hooks' fast paths
//! and the real-symbol table, small so that every process can afford it. On
//! the first call that needs more it loads this engine from its own
//! directory and calls it through [`front_calls`]: the slow paths of the
//! libc hooks ([`hooks`]), which serve missing trust locations from the
//! lazily built state ([`state`]), and the OpenSSL hooks (observe only).
//! Everything that can be pure lives in the `cafix` library. See
//! docs/ARCHITECTURE.md for the path from a hooked call to a served
//! certificate or a log line.

// The hooks are C functions with the C library's own contracts (stat(2),
// fopen(3), OpenSSL's manual pages); each unsafe block says why it holds.
#![allow(clippy::missing_safety_doc)]

mod front;
pub mod front_calls;
mod held_back;
pub mod hooks;
mod injection;
mod java;
mod libcrypto;
mod local;
mod lock;
mod log_socket;
mod logger;
mod nss;
mod state;
mod sys;
mod verification;
mod who;
