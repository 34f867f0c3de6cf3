//! `cafix run`: exec a command with libcafix.so preloaded.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::args::RunArgs;
use crate::config::Config;
use crate::local_cas::{self, AnchorSources};

/// The library's file name.
pub const LIBRARY_NAME: &str = "libcafix.so";

/// Install directories searched after the binary's neighbourhood. A build
/// can name its own with `CAFIX_PKGLIBDIR=/usr/lib/cafix cargo build`.
const INSTALL_DIRS: &[&str] = &["/usr/local/lib/cafix", "/usr/lib/cafix", "/usr/local/lib", "/usr/lib"];

/// Where libcafix.so is, or every place looked at.
pub fn find_library() -> Result<PathBuf, String> {
    if let Some(v) = std::env::var_os("CAFIX_LIB").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(&v);
        return if p.is_file() {
            Ok(absolute(&p))
        } else {
            Err(format!("CAFIX_LIB={} is not a file", p.display()))
        };
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join(LIBRARY_NAME));
            candidates.push(dir.join("../lib/cafix").join(LIBRARY_NAME));
            candidates.push(dir.join("../lib").join(LIBRARY_NAME));
        }
    }
    if let Some(dir) = option_env!("CAFIX_PKGLIBDIR") {
        candidates.push(Path::new(dir).join(LIBRARY_NAME));
    }
    candidates.extend(INSTALL_DIRS.iter().map(|d| Path::new(d).join(LIBRARY_NAME)));
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => Ok(std::fs::canonicalize(p).unwrap_or_else(|_| absolute(p))),
        None => Err(format!(
            "{LIBRARY_NAME} not found; looked in CAFIX_LIB (not set), {}. Build it with `make` or set CAFIX_LIB",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `LD_PRELOAD` with `lib` first and the existing entries kept (an existing
/// entry naming `lib` again is dropped). glibc separates entries with
/// spaces or colons; the result uses colons.
pub fn preload_value(lib: &Path, existing: Option<&OsStr>) -> OsString {
    let mut out = lib.as_os_str().as_bytes().to_vec();
    if let Some(existing) = existing {
        for entry in existing.as_bytes().split(|&b| b == b':' || b == b' ' || b == b'\t') {
            if entry.is_empty() || entry == lib.as_os_str().as_bytes() {
                continue;
            }
            out.push(b':');
            out.extend_from_slice(entry);
        }
    }
    OsString::from_vec(out)
}

pub fn run(args: &RunArgs) -> Result<i32, String> {
    let lib = find_library()?;
    if lib
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|&b| b == b':' || b == b' ' || b == b'\t')
    {
        return Err(format!(
            "{} cannot be preloaded: LD_PRELOAD cannot hold a path with spaces or colons",
            lib.display()
        ));
    }
    let (program, rest) = args.command.split_first().ok_or("no command given")?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    cmd.env(
        "LD_PRELOAD",
        preload_value(&lib, std::env::var_os("LD_PRELOAD").as_deref()),
    );
    if let Some(level) = &args.log {
        cmd.env("CAFIX_LOG", level);
    }
    if let Some(file) = &args.log_file {
        // The command may change directory: give it an absolute path.
        cmd.env("CAFIX_LOG_FILE", absolute(file));
    }
    if let Some(format) = &args.log_format {
        cmd.env("CAFIX_LOG_FORMAT", format);
    }
    if let Some(target) = &args.log_target {
        cmd.env("CAFIX_LOG_TARGET", target);
    }
    if let Some(bundle) = &args.bundle {
        if !bundle.is_file() {
            return Err(format!("--bundle {}: no such file", bundle.display()));
        }
        cmd.env("CAFIX_BUNDLE", absolute(bundle));
    }
    if args.no_serve {
        cmd.env("CAFIX_SERVE", "0");
    }
    if !args.no_serve && std::env::var_os("NODE_EXTRA_CA_CERTS").is_none() {
        if let Some(file) = node_extra_ca_certs(args.bundle.as_deref()) {
            cmd.env("NODE_EXTRA_CA_CERTS", file);
        }
    }
    let err = cmd.exec();
    let name = Path::new(program).display();
    match err.kind() {
        std::io::ErrorKind::NotFound => {
            eprintln!("cafix: cannot run {name}: command not found");
            Ok(127)
        }
        _ => {
            eprintln!("cafix: cannot run {name}: {err}");
            Ok(126)
        }
    }
}

/// Node.js has its roots compiled in and reads `NODE_EXTRA_CA_CERTS` once at
/// start, so the preload cannot reach its stores: hand it a file holding the
/// local CAs (those in the system bundle). `None` when there are none or
/// local CAs are switched off; a file that cannot be written is said once.
fn node_extra_ca_certs(bundle_override: Option<&Path>) -> Option<PathBuf> {
    let config = run_config();
    if !config.local_cas_inject || !config.serve {
        return None;
    }
    let sources = AnchorSources::system(config.local_cas.clone(), false);
    let mut index = None;
    let found = local_cas::discover(&sources, || {
        let path = bundle_override.map(Path::to_path_buf).or_else(|| {
            let is_file = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
            crate::bundle::find_system_bundle(&config, &is_file)
        })?;
        index = crate::audit::read_bundle(&path).ok();
        index.as_ref()
    });
    if found.is_empty() {
        return None;
    }
    let pem: Vec<u8> = found.cas.iter().flat_map(|ca| ca.pem()).collect();
    match write_runtime_file(&pem) {
        Ok(path) => Some(path),
        Err(why) => {
            eprintln!("cafix: NODE_EXTRA_CA_CERTS not set: {why}");
            None
        }
    }
}

/// The configuration the preloaded library will resolve: the environment and
/// a root-owned `/etc/cafix.conf` (the only source of `local_cas`).
fn run_config() -> Config {
    let env = |name: &str| std::env::var_os(name).map(|v| v.as_bytes().to_vec());
    Config::resolve(super::hash::system_config_text().as_deref(), &env, false)
}

/// Writes `content` to a private runtime directory under a name derived from
/// it (`local-cas-<sha256>.pem`), so runs share one file and a file that is
/// there is already right. The directory is `$XDG_RUNTIME_DIR/cafix`, else
/// `/tmp/cafix-<uid>`; it must be ours, mode 0700, not a symlink.
fn write_runtime_file(content: &[u8]) -> Result<PathBuf, String> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(base) if base.is_absolute() && base.is_dir() => base.join("cafix"),
        _ => PathBuf::from(format!("/tmp/cafix-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not a private directory of this user (mode 0700, not a symlink)",
            dir.display()
        ));
    }
    let digest: String = Sha256::digest(content)[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = dir.join(format!("local-cas-{digest}.pem"));
    if std::fs::read(&path).is_ok_and(|existing| existing == content) {
        return Ok(path);
    }
    let temp = dir.join(format!(".local-cas-{digest}.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)?;
        std::io::Write::write_all(&mut f, content)?;
        std::fs::rename(&temp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {}: {e}", path.display())
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preload_is_prepended_and_existing_entries_kept() {
        let lib = Path::new("/opt/cafix/libcafix.so");
        assert_eq!(preload_value(lib, None), OsString::from("/opt/cafix/libcafix.so"));
        assert_eq!(
            preload_value(lib, Some(OsStr::new(""))),
            OsString::from("/opt/cafix/libcafix.so")
        );
        assert_eq!(
            preload_value(lib, Some(OsStr::new("/a.so /b.so:/opt/cafix/libcafix.so"))),
            OsString::from("/opt/cafix/libcafix.so:/a.so:/b.so")
        );
    }
}
