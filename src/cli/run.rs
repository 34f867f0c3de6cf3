//! `cafix run`: exec a command with libcafix.so preloaded.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::args::RunArgs;

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
