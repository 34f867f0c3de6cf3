//! What libcafix.so is as a file: no OpenSSL in NEEDED, only its hooks
//! exported, and a size a preload can afford.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn shim_path() -> PathBuf {
    common::shim().to_path_buf()
}

fn readelf(args: &[&str], so: &PathBuf) -> String {
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

#[test]
fn links_no_openssl() {
    let so = shim_path();
    let dynamic = readelf(&["-d", "--wide"], &so);
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "no NEEDED entries parsed from:\n{dynamic}");
    for line in &needed {
        assert!(
            !line.contains("libssl") && !line.contains("libcrypto"),
            "the shim links OpenSSL: {line}"
        );
    }
    assert!(needed.iter().any(|l| l.contains("libc.so.6")), "{needed:?}");
}

/// The exported (defined, global) dynamic symbols are exactly the hooks.
#[test]
fn exports_only_its_hooks() {
    let so = shim_path();
    let out = Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(&so)
        .output()
        .expect("nm");
    assert!(out.status.success());
    let mut exported: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    exported.sort();
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
        // libcrypto: trust sources and verification (observe only)
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
    expected.sort();
    assert_eq!(exported, expected);
}

#[test]
fn debug_build_stays_small() {
    // The release build is what ships (see docs/BENCHMARKS.md for its size);
    // this only catches a dependency that balloons the shim.
    let so = shim_path();
    let size = std::fs::metadata(&so).unwrap().len();
    assert!(size < 40 * 1024 * 1024, "libcafix.so (debug) is {size} bytes");
}
