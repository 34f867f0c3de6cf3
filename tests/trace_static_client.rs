//! The case only ptrace can fix: a statically linked TLS client (static
//! glibc + static OpenSSL 4.x built from the `openssl-src` crate's sources,
//! default OPENSSLDIR=/usr/local/ssl) against a local `openssl s_server`
//! whose CA is in the system bundle (of the scenario's mount namespace).
//!
//! It fails plain ("unable to get local issuer certificate": it looks only
//! in /usr/local/ssl, which does not exist on Debian), fails under
//! `LD_PRELOAD=libcafix.so` and `cafix run` (no dynamic linker, no
//! preload), and passes under `cafix trace --fix`. The same OpenSSL linked
//! statically into a dynamic binary, and OpenSSL 1.1.1 as shared
//! libraries, pass under `--fix` too.
//!
//! Needs root, unshare, openssl, gcc, make, perl, glibc's libc.a; the
//! OpenSSL builds are cached by c-tests/build-openssl.sh.

mod common;
mod trace_harness;

use std::path::Path;

use common::*;

fn client_args<'a>(client: &'a Path, port: &'a str) -> Vec<&'a str> {
    vec![client.to_str().unwrap(), "127.0.0.1", port, "localhost"]
}

#[test]
fn a_fully_static_client_is_fixed_only_by_trace() {
    assert!(
        !Path::new("/usr/local/ssl").exists(),
        "/usr/local/ssl exists on this machine: the static client would not need fixing"
    );
    let clients = openssl_builds();
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let cmd = client_args(&clients.fullstatic, &port);

    // Plain: fails.
    let out = scenario.run(cmd[0], &cmd[1..], &[], false);
    assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
    assert!(out.stdout.contains("OpenSSL 4."), "not the OpenSSL 4 build:\n{out}");

    // LD_PRELOAD cannot reach it: still fails, and the shim never ran.
    let out = scenario.run(cmd[0], &cmd[1..], &[], true);
    assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
    assert!(
        out.cafix_lines().is_empty(),
        "libcafix.so ran in a static binary?\n{out}"
    );

    // Nor can `cafix run` (the same preload).
    let lib = shim().to_str().unwrap().to_string();
    let mut run_args = vec!["run", "--"];
    run_args.extend_from_slice(&cmd);
    let out = scenario.run(trace_harness::cafix(), &run_args, &[("CAFIX_LIB", lib.as_str())], false);
    assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);

    // Traced without --fix: fails, and says why.
    let (out, json) = scenario.trace(false, &cmd);
    assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
    assert_eq!(json["programs"][0]["linkage"], "static", "{json:#}");
    let bundle = trace_harness::access(&json, "/usr/local/ssl/cert.pem", "open").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(bundle["outcome"], "missing");
    assert_eq!(json["system_bundle"]["read"], false);
    let verdict = json["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("looked only in /usr/local/ssl, which does not exist: an OpenSSL built for another layout"),
        "{verdict}"
    );
    assert!(
        verdict.contains("`cafix trace --fix`") && verdict.contains("statically linked"),
        "{verdict}"
    );

    // Traced with --fix: passes.
    let (out, json) = scenario.trace(true, &cmd);
    assert_succeeded(&out);
    let served = trace_harness::access(&json, "/usr/local/ssl/cert.pem", "open").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(served["outcome"], "served", "{served:#}");
    assert_eq!(
        served["served"],
        format!("the system bundle {SYSTEM_BUNDLE}"),
        "{served:#}"
    );
    assert_eq!(json["system_bundle"]["read"], true, "{json:#}");
    assert_eq!(json["exit"]["status"], 0);
}

#[test]
fn openssl_linked_statically_and_openssl_111_shared_pass_under_fix() {
    let clients = openssl_builds();
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    for (client, version) in [
        (&clients.openssl_static, "OpenSSL 4."),
        (&clients.shared_111, "OpenSSL 1.1.1"),
    ] {
        let cmd = client_args(client, &port);
        let (out, json) = scenario.trace(false, &cmd);
        assert_failed_with(&out, OPENSSL_LOCAL_ISSUER_ERROR);
        assert!(out.stdout.contains(version), "{out}");
        assert!(
            json["verdict"]
                .as_str()
                .unwrap()
                .starts_with("looked only in /usr/local/ssl"),
            "{json:#}"
        );
        let (out, _) = scenario.trace(true, &cmd);
        assert_succeeded(&out);
    }
}
