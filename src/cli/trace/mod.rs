//! `cafix trace`: ptrace-based tracing of trust-store access (being written).

use std::ffi::OsString;
use std::path::PathBuf;

/// Options of `cafix trace`.
#[derive(Debug, Clone, Default)]
pub struct TraceOptions {
    pub json: bool,
    pub output: Option<PathBuf>,
    pub fix: bool,
    pub command: Vec<OsString>,
}

/// Runs the command under the tracer; returns the exit status to pass on
/// (the tracee's), or an error line for the user (exit 2).
pub fn run(options: &TraceOptions) -> Result<i32, String> {
    let _ = options;
    Err("cafix trace is not available yet".to_string())
}
