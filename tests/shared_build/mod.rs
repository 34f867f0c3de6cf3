//! Building libcafix.so for the tests, shared by the harnesses
//! (tests/common, tests/cli_common).
//!
//! The preload is two objects in one directory: libcafix.so (shim/preload, its
//! own cargo workspace because it is built with panic = "abort") and
//! libcafix_engine.so (shim/engine, a member of this workspace), which libcafix.so
//! loads from its own directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds both objects (debug) into `target_dir`; the path of libcafix.so.
pub fn build_shim(repo_root: &Path, target_dir: &Path) -> PathBuf {
    cargo_build(repo_root, target_dir, &["-p", "cafix-engine"]);
    cargo_build(repo_root, target_dir, &["--manifest-path", "shim/preload/Cargo.toml"]);
    for name in ["libcafix.so", "libcafix_engine.so"] {
        let so = target_dir.join("debug").join(name);
        assert!(so.is_file(), "{} is missing after building the shim", so.display());
    }
    target_dir.join("debug/libcafix.so").canonicalize().unwrap()
}

/// `cargo build ARGS --target-dir TARGET_DIR` in the repository, or panics.
fn cargo_build(repo_root: &Path, target_dir: &Path, args: &[&str]) {
    let status = Command::new(env!("CARGO"))
        .arg("build")
        .args(args)
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(repo_root)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(status.success(), "cargo build {} failed ({status})", args.join(" "));
}
