//! libcafix.so built for other architectures, run against real clients of
//! those architectures: i386 natively (multiarch `libssl3:i386` and
//! `libgnutls30:i386`, clients built with Debian's `i686-linux-gnu-gcc`),
//! arm64 under qemu-user (`qemu-aarch64-static`, arm64 multiarch libraries,
//! clients built with `aarch64-linux-gnu-gcc`). The libraries are the
//! release builds `make build-lib ARCH=<arch>` cross-builds.
//!
//! The four situations cafix is for, each in a private mount namespace
//! (tests/common) and each asserted both ways, failing without the library
//! and passing with it: OpenSSL's on-demand lookup of a missing
//! `<hash>.0`, a bundle path of another distribution, a local CA added to a
//! program's copy of the public roots, and a failed GnuTLS verification
//! explained.
//!
//! Needs root, unshare, openssl and make; and the Rust targets, cross
//! compilers, qemu-user and multiarch packages test.sh installs: without
//! those (a distribution's native build) each test says so in one line and
//! passes, except in CI, where it fails (`common::needs_other_arch`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use cafix_common::elf_ident::ElfIdent;
use common::*;
use serde_json::Value;

/// Another architecture, and how its programs run here.
struct Arch {
    /// Debian's name (`make ARCH=`).
    deb: &'static str,
    /// `uname -m`'s name, as `ElfIdent::arch_name` gives it.
    elf: &'static str,
    triple: &'static str,
    multiarch: &'static str,
    cc: &'static str,
    /// What runs its programs here, if the kernel cannot.
    runner: Option<&'static str>,
}

const I386: Arch = Arch {
    deb: "i386",
    elf: "i386",
    triple: "i686-unknown-linux-gnu",
    multiarch: "i386-linux-gnu",
    cc: "i686-linux-gnu-gcc",
    runner: None,
};

const ARM64: Arch = Arch {
    deb: "arm64",
    elf: "aarch64",
    triple: "aarch64-unknown-linux-gnu",
    multiarch: "aarch64-linux-gnu",
    cc: "aarch64-linux-gnu-gcc",
    runner: Some("/usr/bin/qemu-aarch64-static"),
};

/// One `make` at a time (they share target/).
static MAKE: Mutex<()> = Mutex::new(());

/// libcafix.so of `arch` (its engine beside it), built once per process.
fn library(arch: &Arch) -> &'static Path {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = if arch.deb == I386.deb { &BUILT[0] } else { &BUILT[1] };
    slot.get_or_init(|| made(arch, "build-lib", "libcafix.so"))
}

/// `make <target> ARCH=<arch>` (one at a time: they share target/), then
/// `file` of the release build, which must be of that architecture.
fn made(arch: &Arch, target: &str, file: &str) -> PathBuf {
    let _one = MAKE.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new("make")
        .args([target, &format!("ARCH={}", arch.deb)])
        .current_dir(repo_root())
        .env("TARGET_DIR", target_dir())
        .output()
        .expect("make must be installed");
    assert!(
        out.status.success(),
        "make {target} ARCH={} failed (rustup target add {}; the cross compiler {}; libssl-dev:{}):\n{}{}",
        arch.deb,
        arch.triple,
        arch.cc,
        arch.deb,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let path = target_dir().join(arch.triple).join("release").join(file);
    assert_eq!(elf_arch(&path), arch.elf, "{}", path.display());
    path
}

/// The architecture an ELF file is built for.
fn elf_arch(path: &Path) -> &'static str {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ElfIdent::parse(&bytes)
        .and_then(|id| id.arch_name())
        .unwrap_or_else(|| panic!("{} is no ELF file of a known architecture", path.display()))
}

/// The clients of `arch`: (`c-tests/openssl_client.c`, `c-tests/gnutls_client.c`).
fn clients(arch: &Arch) -> &'static (PathBuf, PathBuf) {
    static BUILT: [OnceLock<(PathBuf, PathBuf)>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = if arch.deb == I386.deb { &BUILT[0] } else { &BUILT[1] };
    slot.get_or_init(|| {
        let dir = unique_dir(&format!("clients-{}", arch.deb));
        let build = |source: &str, name: &str, libs: &[&str]| {
            let bin = dir.join(name);
            let out = Command::new(arch.cc)
                .args(["-O1", "-Wall", "-o"])
                .arg(&bin)
                .arg(repo_root().join("c-tests").join(source))
                .args(libs)
                .output()
                .unwrap_or_else(|e| panic!("{} must be installed (gcc-{}): {e}", arch.cc, arch.triple));
            assert!(
                out.status.success(),
                "{} {source} failed (needs libssl-dev:{d} and libgnutls28-dev:{d}):\n{}",
                arch.cc,
                String::from_utf8_lossy(&out.stderr),
                d = arch.deb
            );
            assert_eq!(elf_arch(&bin), arch.elf);
            bin
        };
        (
            build("openssl_client.c", "openssl_client", &["-lssl", "-lcrypto"]),
            build("gnutls_client.c", "gnutls_client", &["-lgnutls"]),
        )
    })
}

/// Runs `client args` of `arch` in `scenario`, with that architecture's
/// libcafix.so preloaded if `preload`.
fn run(
    arch: &Arch,
    scenario: &Scenario,
    client: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    preload: bool,
) -> RunOutput {
    let library = preload.then(|| library(arch));
    match arch.runner {
        Some(runner) => {
            assert!(
                Path::new(runner).is_file(),
                "{runner} is missing (apt-get install qemu-user-static)"
            );
            let mut all = vec![path_str(client)];
            all.extend_from_slice(args);
            scenario.run_preloading(library, runner, &all, env)
        }
        None => scenario.run_preloading(library, client, args, env),
    }
}

/// The client's own library: where each architecture's libssl3 lives.
fn assert_uses_multiarch_openssl(out: &RunOutput, arch: &Arch) {
    assert!(
        out.stderr.contains("openssl_client: OpenSSL 3."),
        "the {} client did not start:\n{out}",
        arch.deb
    );
}

fn on_demand_lookup(arch: &Arch) {
    // The root's `<hash>.0` is missing from /etc/ssl/certs, which Qt and
    // every `capath` program hand to OpenSSL for on-demand lookup.
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let args = ["capath", TRUST_DIR, "localhost", &port];
    let (client, _) = clients(arch);
    let plain = run(arch, &scenario, client, &args, &[], false);
    assert_uses_multiarch_openssl(&plain, arch);
    assert!(!plain.success(), "{plain}");
    assert!(plain.stdout.contains(OPENSSL_LOCAL_ISSUER_ERROR), "{plain}");
    let out = run(arch, &scenario, client, &args, &[], true);
    assert!(out.success() && out.stdout.starts_with("OK HTTP/1.0 200"), "{out}");
    let entry = format!("{TRUST_DIR}/{}.0", pki().root.hash);
    assert!(
        out.cafix_lines()
            .iter()
            .any(|l| l.contains(&entry) && l.contains("served")),
        "no line says {entry} was served:\n{out}"
    );
}

fn foreign_bundle_path(arch: &Arch) {
    // Fedora's bundle path, which a Debian machine does not have.
    const FEDORA_BUNDLE: &str = "/etc/pki/tls/certs/ca-bundle.crt";
    let scenario = Scenario::new().without_hash_entries();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let args = ["cafile", FEDORA_BUNDLE, "localhost", &port];
    let (client, _) = clients(arch);
    let plain = run(arch, &scenario, client, &args, &[], false);
    assert!(!plain.success(), "{plain}");
    assert!(plain.stdout.contains("ERROR: loading the trust locations"), "{plain}");
    let out = run(arch, &scenario, client, &args, &[], true);
    assert!(out.success() && out.stdout.starts_with("OK HTTP/1.0 200"), "{out}");
    let served = format!("served {SYSTEM_BUNDLE} for missing {FEDORA_BUNDLE}");
    assert!(
        out.cafix_lines().iter().any(|l| l.contains(&served)),
        "no line says {served:?}:\n{out}"
    );
}

fn local_ca_in_a_copy_of_the_public_roots(arch: &Arch) {
    // The test root is a local CA: in the anchor directory and in the
    // system bundle. The program loads its own copy of the public roots
    // (this machine's bundle as it was, like certifi's), which lacks it.
    let scenario = Scenario::new().without_hash_entries();
    let anchors = scenario.dir().join("anchors");
    std::fs::create_dir_all(&anchors).unwrap();
    std::fs::write(anchors.join("cafix-test-root.crt"), pki().root.pem()).unwrap();
    let scenario = scenario.with_bind(&anchors, "/usr/local/share/ca-certificates");
    let copy = scenario.dir().join("cacert.pem");
    std::fs::copy(SYSTEM_BUNDLE, &copy).unwrap();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let args = ["cafile", path_str(&copy), "localhost", &port];
    let (client, _) = clients(arch);
    let plain = run(arch, &scenario, client, &args, &[], false);
    assert!(!plain.success(), "{plain}");
    assert!(plain.stdout.contains(OPENSSL_LOCAL_ISSUER_ERROR), "{plain}");
    let out = run(arch, &scenario, client, &args, &[], true);
    assert!(out.success() && out.stdout.starts_with("OK HTTP/1.0 200"), "{out}");
    let added = format!("added 1 local CA(s) ({})", pki().root.cn);
    assert!(
        out.cafix_lines()
            .iter()
            .any(|l| l.contains(&added) && l.contains(path_str(&copy))),
        "no line says {added:?}:\n{out}"
    );
}

fn gnutls_failure_explained(arch: &Arch) {
    // Neither test root is trusted: GnuTLS fails the handshake with its
    // terse words; cafix explains it in one record, from the same library.
    let scenario = Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", std::fs::read(SYSTEM_BUNDLE).unwrap());
    let server = scenario.start_server();
    let port = server.port.to_string();
    let (_, client) = clients(arch);
    let expected = "The certificate issuer is unknown";
    let json = [("CAFIX_LOG_FORMAT", "json")];
    let plain = run(arch, &scenario, client, &[&port], &json, false);
    assert!(!plain.success(), "{plain}");
    assert!(plain.stdout.contains(expected), "{plain}");
    assert!(!plain.stderr.contains("cafix"), "{plain}");
    let out = run(arch, &scenario, client, &[&port], &json, true);
    assert!(!out.success(), "cafix only observes GnuTLS:\n{out}");
    assert!(out.stdout.contains(expected), "{out}");
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 1, "one verify-failed record expected:\n{out}");
    let r: &Value = &records[0];
    assert_eq!(r["hint_class"], "root-not-in-bundle", "{r}");
    let library = r["library"].as_str().unwrap_or_default();
    assert!(
        library.starts_with("GnuTLS 3.") && library.contains(&format!("/{}/libgnutls.so.30", arch.multiarch)),
        "not explained through the {} libgnutls: {r}",
        arch.deb
    );
    assert_eq!(r["issuer_hash"], pki().root.hash, "{r}");
}

macro_rules! on_each_arch {
    ($($scenario:ident),*) => {
        mod i386 {
            $(#[test] fn $scenario() {
                if super::needs_other_arch("i386") { super::$scenario(&super::I386) }
            })*
        }
        mod arm64_under_qemu {
            $(#[test] fn $scenario() {
                if super::needs_other_arch("arm64") { super::$scenario(&super::ARM64) }
            })*
        }
    };
}

on_each_arch!(
    on_demand_lookup,
    foreign_bundle_path,
    local_ca_in_a_copy_of_the_public_roots,
    gnutls_failure_explained
);

/// `cafix` of `arch` (`make build ARCH=<arch>`), built once per process.
fn cafix_of(arch: &Arch) -> &'static Path {
    static BUILT: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = if arch.deb == I386.deb { &BUILT[0] } else { &BUILT[1] };
    slot.get_or_init(|| made(arch, "build", "cafix"))
}

/// A `Command` running `program` of `arch` here: itself, or its runner
/// with it as the first argument.
fn command_of(arch: &Arch, program: &Path) -> Command {
    match arch.runner {
        Some(runner) => {
            let mut cmd = Command::new(runner);
            cmd.arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// `cafix trace` where it has no system call table: one line, exit 2, and
/// the command is never run (no wrong trace). Other commands work.
fn trace_without_a_system_call_table(arch: &Arch, rust_arch: &str) {
    let bin = cafix_of(arch);
    let marker = unique_dir(&format!("trace-{}", arch.deb)).join("ran");
    let touch = format!("touch {}", marker.display());
    let args = ["trace", "--", "sh", "-c", &touch];
    let out = clear_env(&mut command_of(arch, bin)).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "cafix: trace: no system call table for {rust_arch} in this build (cafix trace knows x86_64 Linux's); \
             `cafix run` and the preload work here\n"
        )
    );
    assert!(!marker.exists(), "the command ran");
    let out = clear_env(&mut command_of(arch, bin))
        .args(["hash", SYSTEM_BUNDLE])
        .output()
        .unwrap();
    assert!(out.status.success() && !out.stdout.is_empty(), "{out:?}");
}

#[test]
fn i386_cafix_trace_has_no_system_call_table() {
    if !needs_other_arch("i386") {
        return;
    }
    trace_without_a_system_call_table(&I386, "x86");
}

#[test]
fn arm64_cafix_trace_has_no_system_call_table() {
    if !needs_other_arch("arm64") {
        return;
    }
    trace_without_a_system_call_table(&ARM64, "aarch64");
}

/// The stat family's three buffer layouts of a 32-bit program: `struct
/// stat` (plain), `struct stat64` (`-D_FILE_OFFSET_BITS=64`: `stat64`, ...)
/// and `struct __stat64_t64` (with `-D_TIME_BITS=64`: `__stat64_time64`,
/// ...: Debian 13's armhf builds everything so), each read by the C
/// compiler's own `struct stat`: a missing `<hash>.0` of a trust directory
/// is served with the certificate's size, read-only, and the bundle's time.
#[test]
fn i386_stat_of_a_served_entry_in_every_buffer_layout() {
    if !needs_other_arch("i386") {
        return;
    }
    let scenario = Scenario::new();
    let entry = format!("{TRUST_DIR}/{}.0", pki().root.hash);
    let bundle_mtime = std::fs::metadata(scenario.certs_dir().join("ca-certificates.crt"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let pem_len = pki().root.pem().len();
    let dir = unique_dir("stat-probes");
    for (name, flags, time_bits, symbol) in [
        ("stat_plain", &[][..], 32, "stat"),
        ("stat_lfs", &["-D_FILE_OFFSET_BITS=64"][..], 32, "stat64"),
        (
            "stat_time64",
            &["-D_FILE_OFFSET_BITS=64", "-D_TIME_BITS=64"][..],
            64,
            "__stat64_time64",
        ),
    ] {
        let bin = dir.join(name);
        let out = Command::new(I386.cc)
            .args(flags)
            .arg("-o")
            .arg(&bin)
            .arg(repo_root().join("c-tests/stat_probe.c"))
            .output()
            .expect("i686-linux-gnu-gcc must be installed");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let nm = Command::new("nm").arg("-u").arg(&bin).output().expect("nm (binutils)");
        let imports = String::from_utf8_lossy(&nm.stdout);
        assert!(
            imports.lines().any(|l| l
                .trim()
                .strip_prefix("U ")
                .is_some_and(|s| s.split('@').next() == Some(symbol))),
            "{name} does not call {symbol}:\n{imports}"
        );
        let plain = run(&I386, &scenario, &bin, &[&entry], &[], false);
        let with = run(&I386, &scenario, &bin, &[&entry], &[], true);
        assert!(
            plain.stdout.contains(&format!("sizeof(time_t)={}", time_bits / 8)),
            "{plain}"
        );
        for call in ["stat", "lstat", "fstatat"] {
            assert!(
                plain.stdout.contains(&format!("{call} {entry}: -1\n")),
                "{name}: {plain}"
            );
            let served = format!(
                "{call} {entry}: 0 size={pem_len} mode=100444 mtime={bundle_mtime} blocks={}\n",
                pem_len.div_ceil(512)
            );
            assert!(with.stdout.contains(&served), "{name}: expected {served:?}:\n{with}");
        }
    }
}
