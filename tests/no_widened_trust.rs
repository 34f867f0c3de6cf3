//! cafix never widens a program's own trust.
//!
//! The shim serves the system bundle only where a program looked for
//! *system* certificates. A program that verifies against its own CA file or
//! its own hash directory gets nothing added, with libcafix.so preloaded:
//!
//! - a TLS server (`openssl s_server -Verify 1 -verify_return_error`)
//!   checking client certificates against its own CA directory, or its own
//!   CA file, keeps rejecting a client certificate issued by a CA that is
//!   only in the system bundle (the harness's test root), and keeps
//!   accepting the genuine client;
//! - a client pinning its own CA file for a server whose CA is in the
//!   system bundle keeps failing.
//!
//! Runs in private mount namespaces (tests/common); needs root, unshare,
//! openssl, a C compiler and libssl-dev.

mod common;

use common::*;

/// The client side of the mTLS runs: trusts the test root by file, so only
/// the server's verdict on the client certificate matters.
fn mtls_client(scenario: &Scenario, server: &Server, cert: &Cert) -> RunOutput {
    let port = server.port.to_string();
    let root = path_str(&pki().root.cert);
    let (c, k) = (path_str(&cert.cert), path_str(&cert.key));
    scenario.run(
        &clients().openssl,
        &["cafile", root, "localhost", &port, c, k],
        &[],
        false,
    )
}

/// The server rejected `out`'s client certificate as unverifiable, and the
/// shim (if in the server) served nothing.
fn assert_rejected(out: &RunOutput, server: &Server, preload: bool) {
    let log = server.log();
    assert!(
        !out.success(),
        "the rogue client was accepted (shim in server: {preload}):\n{out}\n{log}"
    );
    assert!(
        log.contains(OPENSSL_LOCAL_ISSUER_ERROR),
        "the server did not reject the client certificate as unverifiable (shim in server: {preload}):\n{log}"
    );
    assert!(
        !server.cafix_lines().iter().any(|l| l.contains("served")),
        "the shim served into the application's own trust:\n{log}"
    );
}

#[test]
fn server_with_own_ca_dir_rejects_system_client_cert_with_and_without_shim() {
    let scenario = Scenario::new().with_app_ca_dir();
    for preload in [false, true] {
        let server = scenario.start_client_auth_server(scenario.app_ca_dir(), preload);
        let out = mtls_client(&scenario, &server, &pki().rogue_client);
        assert_rejected(&out, &server, preload);
    }
}

#[test]
fn server_with_own_ca_dir_accepts_genuine_client_with_and_without_shim() {
    let scenario = Scenario::new().with_app_ca_dir();
    for preload in [false, true] {
        let server = scenario.start_client_auth_server(scenario.app_ca_dir(), preload);
        let out = mtls_client(&scenario, &server, &pki().client);
        assert_succeeded(&out);
    }
}

#[test]
fn server_with_own_ca_file_rejects_system_client_cert_with_and_without_shim() {
    let scenario = Scenario::new();
    for preload in [false, true] {
        let server = scenario.start_client_auth_server_with_file(&pki().client_ca.cert, preload);
        let out = mtls_client(&scenario, &server, &pki().rogue_client);
        assert_rejected(&out, &server, preload);
        if preload {
            // The shim explains the server's failure, and says it added nothing.
            let log = server.log();
            assert!(
                log.contains("this program verifies against its own trust")
                    && log.contains("cafix does not add to a program's own trust"),
                "no explanation of the rejected client certificate:\n{log}"
            );
        }
    }
}

#[test]
fn server_with_own_ca_file_accepts_genuine_client_with_and_without_shim() {
    let scenario = Scenario::new();
    for preload in [false, true] {
        let server = scenario.start_client_auth_server_with_file(&pki().client_ca.cert, preload);
        let out = mtls_client(&scenario, &server, &pki().client);
        assert_succeeded(&out);
    }
}

#[test]
fn client_pinning_its_own_ca_file_still_fails_with_shim() {
    // The server's root is in the system bundle; the client trusts only its
    // own CA file, which does not hold it.
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let cafile = path_str(&pki().client_ca.cert);
    for preload in [false, true] {
        let out = scenario.run(
            &clients().openssl,
            &["cafile", cafile, "localhost", &port],
            &[],
            preload,
        );
        assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
        assert!(!out.cafix_lines().iter().any(|l| l.contains("served")), "{out}");
        let location = format!("cafile={cafile}");
        let py = scenario.run(
            python3(),
            &["-I", "-c", PYTHON_CLIENT, &location, "127.0.0.1", &port],
            &[],
            preload,
        );
        assert_failed_with(&py, "certificate verify failed: unable to get local issuer certificate");
        assert!(!py.cafix_lines().iter().any(|l| l.contains("served")), "{py}");
    }
}
