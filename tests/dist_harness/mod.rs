//! The release tarballs (`make dist`) for tests/dist.rs and
//! tests/source_packages.rs, and how those tests build from them as a
//! distribution does: in a fresh directory, with no network at all
//! (`unshare -n`, as root or as root of `make check`'s user namespace) and
//! a cargo home of their own, so neither crates.io nor this machine's cargo
//! cache can stand in for a missing crate. Test files using it declare
//! `mod common;` first.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::common;

/// `make dist`'s output.
pub struct Dist {
    /// `<target>/dist`.
    pub dir: PathBuf,
    /// The version in Cargo.toml.
    pub version: String,
    /// `cafix-<version>`, the source tree's top directory.
    pub name: String,
    /// `cafix-<version>.tar.xz`.
    pub source: PathBuf,
    /// `cafix-<version>-vendor.tar.xz`.
    pub vendor: PathBuf,
    /// The commit it was made from (make dist archives HEAD).
    pub commit: String,
}

/// A fixed SOURCE_DATE_EPOCH for the builds (2026-12-07 00:00:00 UTC).
pub const SOURCE_DATE_EPOCH: &str = "1796601600";

/// The release tarballs ([`dist`]) in a git checkout, which make dist
/// needs; elsewhere (a tree unpacked from them) none, and the calling test
/// is skipped (`common::skip`).
pub fn release() -> Option<&'static Dist> {
    git_checkout().then(dist)
}

fn git_checkout() -> bool {
    let git = Command::new("git")
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .current_dir(common::repo_root())
        .output();
    matches!(git, Ok(out) if out.status.success())
        || common::skip("not a git checkout (a release tarball is made from git's HEAD)")
}

/// `make dist` into `<target>/dist`, once per test process; a second test
/// process reuses it when it was made from the same commit.
pub fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        let root = common::repo_root();
        let dir = common::target_dir().join("dist");
        let version = env!("CARGO_PKG_VERSION").to_string();
        let name = format!("cafix-{version}");
        let commit = stdout(Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&root));
        let stamp = dir.join(".commit");
        let checked = Command::new("sha256sum")
            .args(["--quiet", "-c", "SHA256SUMS"])
            .current_dir(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !(checked && fs::read_to_string(&stamp).is_ok_and(|c| c.trim() == commit.trim())) {
            run(Command::new("make")
                .arg("dist")
                .arg(format!("TARGET_DIR={}", common::target_dir().display()))
                .current_dir(&root));
            fs::write(&stamp, &commit).unwrap();
        }
        Dist {
            source: dir.join(format!("{name}.tar.xz")),
            vendor: dir.join(format!("{name}-vendor.tar.xz")),
            dir,
            version,
            name,
            commit: commit.trim().to_string(),
        }
    })
}

/// Unpacks both tarballs into a fresh directory under `<work root>/<parent>`
/// (`parent` may have several components): the source tree, the vendor
/// tarball unpacked into its top directory. The tree's path.
pub fn unpack(parent: &str) -> PathBuf {
    let dist = dist();
    let dir = common::unique_dir("dist").join(parent);
    fs::create_dir_all(&dir).unwrap();
    run(Command::new("tar").arg("-xf").arg(&dist.source).arg("-C").arg(&dir));
    let tree = dir.join(&dist.name);
    run(Command::new("tar").arg("-xf").arg(&dist.vendor).arg("-C").arg(&tree));
    tree
}

/// `program args` with no network (`unshare -n`: a network namespace with
/// nothing in it), in `dir`, with a cargo home of its own (empty: no cache,
/// no configuration) and the fixed SOURCE_DATE_EPOCH.
pub fn offline(dir: &Path, program: &str, args: &[&str]) -> Command {
    let home = common::unique_dir("cargo-home");
    let mut cmd = Command::new("unshare");
    // Cleared first: SOURCE_DATE_EPOCH is among the variables cleared.
    common::clear_env(&mut cmd);
    cmd.args(["-n", "--", program])
        .args(args)
        .current_dir(dir)
        .env("CARGO_HOME", &home)
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS");
    cmd
}

/// Runs `cmd`; its output, or a panic with it.
pub fn run(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    common::local_ca_machine::run_checked(cmd, &what)
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&run(cmd).stdout).into_owned()
}

/// Every file and symbolic link under `root`, relative to it: a file with
/// its bytes, a link with its target.
pub fn tree_contents(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(format!("{rel} ->"), target.display().to_string().into_bytes());
            } else if kind.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}
