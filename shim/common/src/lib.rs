//! The code that all three of cafix's objects compile: `libcafix.so`
//! (shim/preload, `no_std`, `panic = "abort"`), `libcafix_engine.so`
//! (shim/engine) and the `cafix` library and command (`src/`).
//!
//! Only `core` is used, so the preloaded object can depend on it; every
//! module is pure and unit-tested here.

#![cfg_attr(not(test), no_std)]

pub mod dirent;
pub mod elf_ident;
pub mod elf_lookup;
pub mod engine_abi;
pub mod locations;
