//! The environment every test child starts from, shared by the harnesses
//! (tests/common, tests/cli_common, tests/trace_harness).
//!
//! This machine exports the trust variables below, and CI inherits them: a
//! test that passed only because of them would prove nothing. So every child
//! runs without them and without any `CAFIX_*`; a test about one of them
//! sets it again on purpose.

#![allow(dead_code)]

use std::process::Command;

/// Variables removed from every child's environment.
pub const CLEARED_ENV: &[&str] = &[
    // What TLS clients trust.
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "NIX_SSL_CERT_FILE",
    "AWS_CA_BUNDLE",
    "HTTPLIB2_CA_CERTS",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
    // Which libraries load, and how OpenSSL is configured.
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "OPENSSL_CONF",
    "OPENSSL_MODULES",
    "OPENSSL_ENGINES",
    // Where connections go.
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    // How the cafix command prints (SOURCE_DATE_EPOCH: the man pages' date).
    "NO_COLOR",
    "SOURCE_DATE_EPOCH",
];

/// Removes [`CLEARED_ENV`] and every `CAFIX_*` variable from `cmd`'s
/// environment.
pub fn clear_env(cmd: &mut Command) -> &mut Command {
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CAFIX_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}

// ---------------------------------------------------------------------------
// Tests that cannot run here
// ---------------------------------------------------------------------------

/// Whether this process is the machine's own root: uid 0 in the initial user
/// namespace. As another user, `make check` (tests/check.sh) runs the tests
/// in a user namespace where that user is root: mount namespaces, bind
/// mounts and overlays work, but a setuid program runs as its caller, no
/// other user's uid exists, and the real root's files (/etc) are not root's.
pub fn real_root() -> bool {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { geteuid() };
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    euid == 0 && map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]
}

/// For a test that needs the machine's own root ([`real_root`]): true if it
/// has it; otherwise see [`skip`].
pub fn needs_real_root(why: &str) -> bool {
    real_root() || skip(&format!("needs the real root: {why}"))
}

/// A test that cannot run here: one line, `skipped <test>: <reason>`, on
/// stderr past the test harness's capture, and false (the test returns and
/// passes). In CI (CI set, and not "false" or "0"; .ci/run sets it), where
/// nothing may be skipped, the test fails instead.
pub fn skip(reason: &str) -> bool {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("test").to_string();
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        panic!("{test} {reason}; nothing is skipped in CI");
    }
    // Straight to the file descriptor, in one write: eprintln! would be
    // captured and shown only for a failing test.
    let _ = std::io::stderr().write_all(format!("skipped {test}: {reason}\n").as_bytes());
    false
}

/// For a test that builds for, or runs programs of, another architecture
/// (`deb_arch`: i386, natively; arm64, under qemu-user): true if what
/// test.sh installs for it is here (the Rust standard library of its
/// target, Debian's cross compiler, its multiarch libssl-dev, qemu-user);
/// otherwise see [`skip`]. A distribution's native package build has none
/// of them.
pub fn needs_other_arch(deb_arch: &str) -> bool {
    let (target, cc, multiarch, runner) = match deb_arch {
        "i386" => ("i686-unknown-linux-gnu", "i686-linux-gnu-gcc", "i386-linux-gnu", None),
        "arm64" => (
            "aarch64-unknown-linux-gnu",
            "aarch64-linux-gnu-gcc",
            "aarch64-linux-gnu",
            Some("qemu-aarch64-static"),
        ),
        other => panic!("no other architecture {other} in the tests"),
    };
    let on_path = |tool: &str| {
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
    };
    let mut missing = Vec::new();
    // The rustc that `make` gets through cargo: the one on PATH.
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default();
    let std_dir = std::path::Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .join("lib");
    if !std_dir.is_dir() {
        missing.push(format!(
            "Rust's standard library for {target} (rustup target add {target})"
        ));
    }
    for tool in std::iter::once(cc).chain(runner) {
        if !on_path(tool) {
            missing.push(tool.to_string());
        }
    }
    if !std::path::Path::new("/usr/lib")
        .join(multiarch)
        .join("libssl.so")
        .exists()
    {
        missing.push(format!("libssl-dev:{deb_arch}"));
    }
    missing.is_empty()
        || skip(&format!(
            "needs {deb_arch}'s toolchain and libraries (test.sh installs them): no {}",
            missing.join(", no ")
        ))
}
