//! What libcafix.so is as files: the preloaded front (libcafix.so) and the
//! engine it loads (libcafix_engine.so). Neither links OpenSSL; the front
//! needs nothing but the C library and exports only its hooks; the engine
//! exports only what the front calls. And the engine is loaded only when a
//! trust location is looked up, never by a program that does not.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn front() -> PathBuf {
    common::shim().to_path_buf()
}

fn engine() -> PathBuf {
    common::shim().with_file_name("libcafix_engine.so")
}

fn readelf(args: &[&str], so: &Path) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(so)
        .output()
        .expect("readelf (binutils) must be installed");
    assert!(
        out.status.success(),
        "readelf failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn needed(so: &Path) -> Vec<String> {
    let dynamic = readelf(&["-d", "--wide"], so);
    let needed: Vec<String> = dynamic
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1).map(|n| n.trim_end_matches(']').to_string()))
        .collect();
    assert!(!needed.is_empty(), "no NEEDED entries parsed from:\n{dynamic}");
    needed
}

/// The defined dynamic symbols, sorted.
fn exports(so: &Path) -> Vec<String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(so)
        .output()
        .expect("nm");
    assert!(out.status.success());
    let mut exported: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    exported.sort();
    exported
}

const OPENSSL_HOOKS: &[&str] = &[
    "X509_LOOKUP_ctrl",
    "X509_LOOKUP_ctrl_ex",
    "X509_STORE_free",
    "X509_STORE_load_file",
    "X509_STORE_load_file_ex",
    "X509_STORE_load_locations",
    "X509_STORE_load_locations_ex",
    "X509_STORE_load_path",
    "X509_STORE_load_store",
    "X509_STORE_load_store_ex",
    "X509_STORE_set_default_paths",
    "X509_STORE_set_default_paths_ex",
    "X509_verify_cert",
];

const GNUTLS_HOOKS: &[&str] = &[
    "gnutls_certificate_free_credentials",
    "gnutls_certificate_set_trust_list",
    "gnutls_certificate_set_x509_system_trust",
    "gnutls_certificate_set_x509_trust_dir",
    "gnutls_certificate_set_x509_trust_file",
    "gnutls_certificate_verify_peers",
    "gnutls_certificate_verify_peers2",
    "gnutls_certificate_verify_peers3",
    "gnutls_handshake",
    "gnutls_session_set_verify_cert",
    "gnutls_session_set_verify_cert2",
    "gnutls_x509_crt_check_hostname",
    "gnutls_x509_crt_check_hostname2",
    "gnutls_x509_trust_list_add_system_trust",
    "gnutls_x509_trust_list_add_trust_dir",
    "gnutls_x509_trust_list_add_trust_file",
    "gnutls_x509_trust_list_deinit",
    "gnutls_x509_trust_list_verify_crt",
    "gnutls_x509_trust_list_verify_crt2",
];

const NSS_HOOKS: &[&str] = &[
    "NSS_Init",
    "NSS_InitContext",
    "NSS_InitReadWrite",
    "NSS_Initialize",
    "SECMOD_AddNewModule",
    "SECMOD_AddNewModuleEx",
    "SECMOD_LoadUserModule",
    "SECMOD_LoadUserModuleWithFunction",
];

#[test]
fn front_needs_only_the_c_library() {
    // No OpenSSL, and not even libgcc_s: nothing beyond libc to load in
    // every process of a system-wide preload.
    assert_eq!(needed(&front()), ["libc.so.6"]);
}

#[test]
fn engine_links_no_openssl() {
    let needed = needed(&engine());
    for lib in &needed {
        assert!(
            !lib.contains("libssl") && !lib.contains("libcrypto"),
            "the engine links OpenSSL: {lib}"
        );
    }
    assert!(needed.iter().any(|l| l == "libc.so.6"), "{needed:?}");
}

/// The front's exports are exactly the hooks.
#[test]
fn front_exports_only_its_hooks() {
    let mut expected: Vec<&str> = vec![
        // libc: the stat family, access, opens
        "__fxstatat",
        "__fxstatat64",
        "__lxstat",
        "__lxstat64",
        "__xstat",
        "__xstat64",
        "access",
        "faccessat",
        "fstatat",
        "fstatat64",
        "lstat",
        "lstat64",
        "stat",
        "stat64",
        "statx",
        "__open64_2",
        "__open_2",
        "__openat64_2",
        "__openat_2",
        "fopen",
        "fopen64",
        "open",
        "open64",
        "openat",
        "openat64",
        // Node.js's NODE_EXTRA_CA_CERTS
        "getenv",
    ];
    // libcrypto and libgnutls: trust sources and verification; libnss3:
    // initialisation and module loading (trampolines to the engine)
    expected.extend(OPENSSL_HOOKS);
    expected.extend(GNUTLS_HOOKS);
    expected.extend(NSS_HOOKS);
    expected.sort();
    assert_eq!(exports(&front()), expected);
}

/// The engine's exports are what the front calls (shim/common/src/engine_abi.rs),
/// and the entry point NSS loads cafix's token through.
#[test]
fn engine_exports_only_what_the_front_and_nss_call() {
    let mut expected: Vec<&str> = vec![
        "C_GetFunctionList",
        "cafix_engine_after_access_v3",
        "cafix_engine_after_fopen_v3",
        "cafix_engine_after_open_v3",
        "cafix_engine_after_stat_v3",
        "cafix_engine_init_v3",
    ];
    let hooks: Vec<String> = OPENSSL_HOOKS
        .iter()
        .chain(GNUTLS_HOOKS)
        .chain(NSS_HOOKS)
        .map(|name| format!("cafix_hook_{name}"))
        .collect();
    expected.extend(hooks.iter().map(String::as_str));
    expected.sort();
    assert_eq!(exports(&engine()), expected);
}

#[test]
fn debug_builds_stay_small() {
    // The release builds are what ships (see docs/BENCHMARKS.md for their
    // sizes); this only catches a dependency that balloons one of them.
    let front = std::fs::metadata(front()).unwrap().len();
    assert!(front < 4 * 1024 * 1024, "libcafix.so (debug) is {front} bytes");
    let engine = std::fs::metadata(engine()).unwrap().len();
    assert!(
        engine < 60 * 1024 * 1024,
        "libcafix_engine.so (debug) is {engine} bytes"
    );
}

/// Runs `script` under `sh` with libcafix.so `so` preloaded, `CAFIX_LOG=info`.
fn sh_with_preload(so: &Path, script: &str) -> std::process::Output {
    sh_with_preload_logging(so, script, "info")
}

fn sh_with_preload_logging(so: &Path, script: &str, level: &str) -> std::process::Output {
    let mut cmd = Command::new("sh");
    common::clear_env(&mut cmd)
        .args(["-c", script])
        .env("LD_PRELOAD", so)
        .env("CAFIX_LOG", level)
        .output()
        .expect("sh")
}

/// Zero cost when not needed: a program that looks up no trust location
/// never maps the engine; the first lookup of one does.
#[test]
fn engine_is_loaded_only_when_a_trust_path_is_looked_up() {
    let out = sh_with_preload(
        &front(),
        "m() { grep -q libcafix_engine /proc/$$/maps && echo mapped || echo absent; }; \
         cat /etc/hostname /nonexistent/file >/dev/null 2>&1; m; test -e /etc/ssl/certs/00000000.0; m",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["absent", "mapped"],
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A libcafix.so without its engine (a broken install) says so once, on
/// the first lookup that needed it, and the program gets the real answers.
#[test]
fn front_without_engine_says_so_and_changes_nothing() {
    let dir = common::unique_dir("front-alone");
    let alone = dir.join("libcafix.so");
    std::fs::copy(front(), &alone).unwrap();
    let out = sh_with_preload(
        &alone,
        "echo $$; test -e /etc/ssl/certs/00000000.0; echo $?; test -e /etc/ssl/certs/00000001.0; echo $?; \
         test -e /etc/hostname; echo $?",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout.lines().skip(1).collect::<Vec<_>>(),
        ["1", "1", "0"],
        "{stdout}{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line:\n{stderr}");
    assert!(
        lines[0].starts_with(&format!("cafix[{}]: error: cannot load the engine: ", out_pid(&stdout)))
            && lines[0].contains(&dir.join("libcafix_engine.so").display().to_string())
            && lines[0].ends_with("; nothing will be served"),
        "{stderr}"
    );
    // CAFIX_LOG=off silences it, as it silences the engine.
    let out = sh_with_preload_logging(&alone, "test -e /etc/ssl/certs/00000000.0; echo $?", " OFF ");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "CAFIX_LOG=off");
}

/// Without its engine, libcafix.so's OpenSSL entry points still reach
/// OpenSSL: `openssl verify` (store loading and verification through the
/// trampolines) verifies a system root against the system bundle.
#[test]
fn front_without_engine_passes_openssl_calls_through() {
    let dir = common::unique_dir("front-alone-openssl");
    let alone = dir.join("libcafix.so");
    std::fs::copy(front(), &alone).unwrap();
    let out = sh_with_preload(
        &alone,
        "root=$(ls /etc/ssl/certs/*.pem | head -1); \
         openssl verify -CAfile /etc/ssl/certs/ca-certificates.crt \"$root\" >/dev/null && echo verified",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.trim(), "verified", "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot load the engine"), "{stderr}");
}

/// The first line of a script's output that began with `echo $$`.
fn out_pid(stdout: &str) -> &str {
    stdout.lines().next().unwrap_or_default()
}
