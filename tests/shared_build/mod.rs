//! Building libcafix.so for the tests, shared by the harnesses
//! (tests/common, tests/cli_common).
//!
//! The preload is two objects in one directory: libcafix.so (shim/front, its
//! own cargo workspace because it is built with panic = "abort") and
//! libcafix_engine.so (shim/, a member of this workspace), which libcafix.so
//! loads from its own directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds both objects (debug) into `target_dir`; the path of libcafix.so.
pub fn build_shim(repo_root: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env!("CARGO");
    let engine = Command::new(cargo)
        .args(["build", "-p", "cafix-shim", "--target-dir"])
        .arg(target_dir)
        .current_dir(repo_root)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(engine.success(), "cargo build -p cafix-shim failed ({engine})");
    let front = Command::new(cargo)
        .args(["build", "--manifest-path", "shim/front/Cargo.toml", "--target-dir"])
        .arg(target_dir)
        .current_dir(repo_root)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        front.success(),
        "cargo build --manifest-path shim/front/Cargo.toml failed ({front})"
    );
    for name in ["libcafix.so", "libcafix_engine.so"] {
        let so = target_dir.join("debug").join(name);
        assert!(so.is_file(), "{} is missing after building the shim", so.display());
    }
    target_dir.join("debug/libcafix.so").canonicalize().unwrap()
}
