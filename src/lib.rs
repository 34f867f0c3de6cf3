//! The `cafix` library: everything the preload shim (`libcafix.so`) and the
//! `cafix` command share. Pure logic lives here so it can be unit-tested and
//! fuzzed; the shim only adds the FFI layer.

pub mod audit;
pub mod bundle;
pub mod config;
pub mod der;
pub mod der_walk;
pub mod explain;
pub mod keystore;
pub mod local_cas;
#[cfg(feature = "log-reader")]
pub mod log_read;
pub mod log_wire;
pub mod nss_token;
pub mod pem;
pub mod rate_limit;
pub mod record;
pub mod subject_hash;

// The core-only modules the preloaded object compiles too (shim/common).
pub use cafix_common::{elf_lookup, engine_abi, locations};

/// The `cafix` command's subcommands (not built into the shim).
#[cfg(feature = "cli")]
pub mod cli;
