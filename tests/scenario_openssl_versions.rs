//! Other OpenSSL builds and several OpenSSL versions in one process.
//!
//! - OpenSSL 1.1.1 (shared) and 4.x (linked statically into a dynamic
//!   binary), both built from the `openssl-src` crate's sources with the
//!   default `OPENSSLDIR=/usr/local/ssl`: a client trusting only its
//!   compiled-in default paths fails on this healthy Debian store (it looks
//!   for `/usr/local/ssl/cert.pem`, which Debian does not have) and passes
//!   with libcafix.so, which serves the system bundle there.
//! - `dlopen_client` (libssl.so.3 dlopen()ed `RTLD_LOCAL`) and
//!   `side_by_side_client` (OpenSSL 1.1.1 and the system's 3.x, both
//!   dlopen()ed `RTLD_LOCAL` into one process): each verifies correctly with
//!   the shim, and each failure record comes from, and names, the OpenSSL
//!   the failing call went to.
//!
//! Needs root, unshare, openssl, gcc, make, perl, glibc's libc.a (the
//! OpenSSL builds are cached by c-tests/build-openssl.sh).

mod common;

use std::path::Path;

use common::*;

/// Runs a default-paths client of an `OPENSSLDIR=/usr/local/ssl` build
/// (whose `OpenSSL_version()` starts with `version`) against the scenario's
/// server: without the shim it fails as OpenSSL does when its default
/// bundle is missing; with it, it passes on the bundle served there.
fn check_default_paths_client(client: &Path, version: &str, preload: bool) {
    let scenario = Scenario::new().without_hash_entries();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let out = scenario.run(client, &["127.0.0.1", &port, "localhost"], &[], preload);
    assert!(out.stdout.contains(version), "not the {version} build:\n{out}");
    if !preload {
        assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
        return;
    }
    assert_succeeded(&out);
    let served = "served /etc/ssl/certs/ca-certificates.crt for missing /usr/local/ssl/cert.pem";
    assert!(
        out.cafix_lines().iter().any(|l| l.contains(served)),
        "no line says {served:?}:\n{out}"
    );
}

#[test]
fn openssl_111_shared_with_default_openssldir_fails_without_shim() {
    check_default_paths_client(&openssl_builds().shared_111, "OpenSSL 1.1.1", false);
}

#[test]
fn openssl_111_shared_with_default_openssldir_passes_with_shim() {
    check_default_paths_client(&openssl_builds().shared_111, "OpenSSL 1.1.1", true);
}

#[test]
fn openssl_4_static_with_default_openssldir_fails_without_shim() {
    check_default_paths_client(&openssl_builds().openssl_static, "OpenSSL 4.", false);
}

#[test]
fn openssl_4_static_with_default_openssldir_passes_with_shim() {
    check_default_paths_client(&openssl_builds().openssl_static, "OpenSSL 4.", true);
}

/// `side_by_side_client` with OpenSSL 1.1.1 as pair A and the system's
/// libssl.so.3 as pair B.
fn side_by_side(
    scenario: &Scenario,
    server: &Server,
    mode: &str,
    location: &str,
    env: &[(&str, &str)],
    preload: bool,
) -> RunOutput {
    let lib = openssl_builds().prefix_111.join("lib");
    let crypto_111 = lib.join("libcrypto.so.1.1");
    let ssl_111 = lib.join("libssl.so.1.1");
    let port = server.port.to_string();
    let args = [
        path_str(&crypto_111),
        path_str(&ssl_111),
        "libcrypto.so.3",
        "libssl.so.3",
        mode,
        location,
        "localhost",
        &port,
    ];
    scenario.run(&clients().side_by_side, &args, env, preload)
}

/// The two runs' results: (version line, result line) for A then B.
fn runs(out: &RunOutput) -> Vec<(String, String)> {
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut runs = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(version) = line.strip_prefix("== ") {
            let result = lines.get(i + 1).copied().unwrap_or_default();
            runs.push((version.to_string(), result.to_string()));
        }
    }
    assert_eq!(runs.len(), 2, "expected two runs:\n{out}");
    assert!(
        runs[0].0.starts_with("OpenSSL 1.1.1"),
        "run A is not OpenSSL 1.1.1:\n{out}"
    );
    assert!(runs[1].0.starts_with("OpenSSL 3."), "run B is not OpenSSL 3.x:\n{out}");
    runs
}

#[test]
fn two_openssl_versions_in_one_process_fail_without_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = side_by_side(&scenario, &server, "capath", TRUST_DIR, &[], false);
    assert!(!out.success(), "expected failures:\n{out}");
    for (version, result) in runs(&out) {
        assert_eq!(
            result,
            format!("ERROR: {OPENSSL_LOCAL_ISSUER_ERROR}"),
            "{version}:\n{out}"
        );
    }
}

#[test]
fn two_openssl_versions_in_one_process_both_pass_with_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = side_by_side(&scenario, &server, "capath", TRUST_DIR, &[], true);
    assert!(out.success(), "expected both to pass:\n{out}");
    for (version, result) in runs(&out) {
        assert!(result.starts_with("OK HTTP/1.0 200"), "{version} did not pass:\n{out}");
    }
    assert_served(
        &out.cafix_lines(),
        &format!("{}.0", pki().root.hash),
        &pki().root.cn,
        &out,
    );
}

/// The library a failure record names: `<OpenSSL_version()>, <path of libcrypto>`.
fn record_library(record: &serde_json::Value) -> &str {
    record["library"]
        .as_str()
        .unwrap_or_else(|| panic!("record without library: {record}"))
}

#[test]
fn two_openssl_versions_in_one_process_each_failure_names_its_version() {
    // Each library verifies against the application's own client CA file,
    // which does not hold the server's root: both fail, with or without the
    // shim, and the shim explains each failure with the library it came from.
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let cafile = path_str(&pki().client_ca.cert);
    let json = [("CAFIX_LOG_FORMAT", "json")];
    let out = side_by_side(&scenario, &server, "cafile", cafile, &json, true);
    assert!(!out.success(), "expected failures:\n{out}");
    for (version, result) in runs(&out) {
        assert_eq!(
            result,
            format!("ERROR: {OPENSSL_LOCAL_ISSUER_ERROR}"),
            "{version}:\n{out}"
        );
    }
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 2, "expected one failure record per library:\n{out}");
    let (first, second) = (record_library(&records[0]), record_library(&records[1]));
    assert!(
        first.starts_with("OpenSSL 1.1.1") && first.ends_with("/libcrypto.so.1.1"),
        "the first failure (OpenSSL 1.1.1's) names {first:?}:\n{out}"
    );
    assert!(
        second.starts_with("OpenSSL 3.") && second.ends_with("/libcrypto.so.3"),
        "the second failure (OpenSSL 3's) names {second:?}:\n{out}"
    );
    for r in &records {
        assert_eq!(r["error"], "20", "{r}");
        assert_eq!(r["hint_class"], "not-in-program-trust", "{r}");
        assert!(r["trust sources"].as_str().unwrap().contains(cafile), "{r}");
    }
}

#[test]
fn dlopen_rtld_local_failure_names_the_dlopened_library() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let cafile = path_str(&pki().client_ca.cert);
    let json = [("CAFIX_LOG_FORMAT", "json")];
    let out = scenario.run(&clients().dlopen, &["cafile", cafile, "localhost", &port], &json, true);
    assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 1, "expected one failure record:\n{out}");
    let library = record_library(&records[0]);
    assert!(
        library.starts_with("OpenSSL 3.") && library.ends_with("/libcrypto.so.3"),
        "{library:?}:\n{out}"
    );
}
