//! The `cafix` command. `src/main.rs` parses arguments and dispatches here.

pub mod trace;
