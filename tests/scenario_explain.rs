//! Every failed verification explained: each hint class of the shim's
//! `verify-failed` record, produced by a real failing handshake against
//! a local `openssl s_server`, with libcafix.so preloaded into the client.
//!
//! Each case asserts the client's own failure (the shim never turns a
//! failure into a pass here: nothing it could serve is missing) and the one
//! record that explains it: OpenSSL's error code and text, the depth, the
//! certificate, its issuer's hash, the trust sources, the hint class. A
//! successful verification logs nothing below debug.
//!
//! Certificates: the harness's PKI (tests/common: root in the scenario's
//! system bundle, intermediate, leaf) and the CLI tests' PKI
//! (tests/cli_common: expired, future-dated, wrongly named and self-signed
//! leaves, made with the openssl crate because `openssl x509` 3.0 cannot
//! backdate).

mod cli_common;
mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const JSON: (&str, &str) = ("CAFIX_LOG_FORMAT", "json");

/// The scenario's bundle: the machine's bundle, the harness root, and the
/// CLI tests' root (so that chains of expired, future-dated and wrongly
/// named leaves are otherwise trusted).
fn scenario_trusting_cli_root() -> Scenario {
    let mut bundle = std::fs::read_to_string(&pki().bundle).unwrap();
    bundle.push_str(&std::fs::read_to_string(cli_pki("root.pem")).unwrap());
    Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", bundle)
}

fn cli_pki(name: &str) -> PathBuf {
    PathBuf::from(cli_common::pki().path(name))
}

/// `openssl_client MODE LOCATION localhost PORT` with the shim, JSON records.
fn client(scenario: &Scenario, server: &Server, mode: &str, location: &str, env: &[(&str, &str)]) -> RunOutput {
    let port = server.port.to_string();
    scenario.run(&clients().openssl, &[mode, location, "localhost", &port], env, true)
}

/// A server sending `cert` (+ `chain`, if any) with `key`.
fn server(scenario: &Scenario, cert: &Path, key: &Path, chain: Option<&Path>) -> Server {
    match chain {
        Some(chain) => scenario.start_server_with(cert, key, &["-cert_chain", path_str(chain)], false),
        None => scenario.start_server_with(cert, key, &[], false),
    }
}

/// The client failed with `error_text`, and the shim wrote exactly one
/// `verify-failed` record, of `hint_class`, with `error` at `depth`.
fn the_record(out: &RunOutput, error_text: &str, error: u32, depth: u32, hint_class: &str) -> Value {
    assert_failed_with(out, error_text);
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 1, "expected one verify-failed record:\n{out}");
    let r = records.into_iter().next().unwrap();
    assert_eq!(r["level"], "warning", "{r}");
    assert_eq!(r["error"], error.to_string(), "{r}");
    assert_eq!(r["error_text"], error_text, "{r}");
    assert_eq!(r["depth"], depth.to_string(), "{r}");
    assert_eq!(r["hint_class"], hint_class, "{r}");
    assert!(r["library"].as_str().unwrap().contains("libcrypto.so.3"), "{r}");
    assert!(r["message"].as_str().unwrap().contains(error_text), "{r}");
    assert_eq!(
        r["accepted_by_callback"], "no",
        "openssl_client has no verify callback: {r}"
    );
    // Never a certificate body or a key.
    let text = r.to_string();
    assert!(!text.contains("BEGIN") && !text.contains("PRIVATE"), "{r}");
    r
}

fn field<'a>(r: &'a Value, key: &str) -> &'a str {
    r[key].as_str().unwrap_or_else(|| panic!("no {key:?} in {r}"))
}

#[test]
fn on_demand_dirs_without_bundle() {
    // The Qt case with serving switched off: only hash directories, the
    // root's entry missing, the root in the bundle.
    let scenario = Scenario::new();
    let srv = scenario.start_server();
    let out = client(&scenario, &srv, "capath", TRUST_DIR, &[JSON, ("CAFIX_SERVE", "0")]);
    let r = the_record(&out, OPENSSL_LOCAL_ISSUER_ERROR, 20, 1, "on-demand-dirs-without-bundle");
    let root = &pki().root;
    assert!(field(&r, "certificate").contains(&pki().intermediate.cn), "{r}");
    assert_eq!(field(&r, "issuer_hash"), root.hash, "{r}");
    assert!(field(&r, "trust sources").contains("dir /etc/ssl/certs"), "{r}");
    assert!(
        field(&r, "lookups that missed").contains(&format!("/etc/ssl/certs/{}.0", root.hash)),
        "{r}"
    );
    assert!(field(&r, "issuer in the system bundle").starts_with("yes"), "{r}");
    assert!(field(&r, "hint").contains("cafix run"), "{r}");
}

#[test]
fn on_demand_dirs_without_bundle_in_qt_text_format() {
    // The same through Qt 6, in the default text format: what a user sees.
    let scenario = Scenario::new();
    let srv = scenario.start_server();
    let out = scenario.run(&clients().qt6, &[srv.url()], &[("CAFIX_SERVE", "0")], true);
    assert_failed_with(&out, QT_LOCAL_ISSUER_ERROR);
    let lines = out.cafix_lines();
    let failed: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("certificate verification failed"))
        .collect();
    assert_eq!(failed.len(), 1, "one failure record expected:\n{out}");
    // Qt's verify callback accepts every error (it collects them and fails
    // the handshake itself), so X509_verify_cert returns success and the
    // context holds OpenSSL's last error: the record still names the end of
    // the chain that could be built.
    assert!(
        failed[0].ends_with("the program's verify callback let the handshake go on, the program decides"),
        "{out}"
    );
    assert!(
        failed[0].contains(
            ": warning: certificate verification failed: unable to get local issuer certificate (error 20 at depth 1)"
        ),
        "{out}"
    );
    for detail in [
        "certificate:",
        "issuer:",
        "trust sources:",
        "lookups that missed:",
        "issuer in the system bundle: yes",
        "hint: this store only looks up CAs in hash directories",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(&format!("   {detail}"))),
            "no {detail:?} line:\n{out}"
        );
    }
    assert!(
        out.stderr.contains(&format!(
            "{} (subject hash {})",
            pki().root.subject.replace(',', ", "),
            pki().root.hash
        )),
        "{out}"
    );
}

#[test]
fn not_in_program_trust() {
    let scenario = Scenario::new();
    let srv = scenario.start_server();
    let cafile = path_str(&pki().client_ca.cert);
    let out = client(&scenario, &srv, "cafile", cafile, &[JSON]);
    let r = the_record(&out, OPENSSL_LOCAL_ISSUER_ERROR, 20, 1, "not-in-program-trust");
    assert_eq!(field(&r, "trust sources"), format!("file {cafile}"), "{r}");
    assert!(
        field(&r, "hint").contains("does not add to a program's own trust"),
        "{r}"
    );
}

#[test]
fn root_not_in_bundle() {
    // The machine's bundle alone: the harness root is trusted nowhere.
    let real = std::fs::read(SYSTEM_BUNDLE).unwrap();
    let scenario = Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", real);
    let srv = scenario.start_server();
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(&out, OPENSSL_LOCAL_ISSUER_ERROR, 20, 1, "root-not-in-bundle");
    assert!(field(&r, "certificate").contains(&pki().intermediate.cn), "{r}");
    assert_eq!(field(&r, "issuer_hash"), pki().root.hash, "{r}");
    assert!(
        field(&r, "issuer in the system bundle").starts_with("no (looked in /etc/ssl/certs/ca-certificates.crt)"),
        "{r}"
    );
    assert!(field(&r, "trust sources").contains("defaults"), "{r}");
}

#[test]
fn the_misses_of_a_failed_verification_are_told_in_its_record_only() {
    // curl against a root trusted nowhere: OpenSSL looks the root up in the
    // hash directory, the lookup misses and the bundle has no such hash
    // either. That is said once, in the failure's record, not also on a
    // warning of its own.
    let real = std::fs::read(SYSTEM_BUNDLE).unwrap();
    let scenario = Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", real);
    let srv = scenario.start_server();
    let curl = |env: &[(&str, &str)], preload| {
        let out = scenario.run("/usr/bin/curl", &["-sS", "--max-time", "10", &srv.url()], env, preload);
        assert!(
            !out.success() && out.stderr.contains(OPENSSL_LOCAL_ISSUER_ERROR),
            "{out}"
        );
        out
    };
    let out = curl(&[JSON], true);
    assert!(out.json_records("unresolved").is_empty(), "{out}");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("{\"cafix\":") && l.contains("\"level\":\"warning\""))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning, the failure's record:\n{out}");
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 1, "{out}");
    let lookups = field(&records[0], "lookups that missed");
    assert!(
        lookups.contains(&format!(
            "/etc/ssl/certs/{}.0 (its hash is not in the system bundle either)",
            pki().root.hash
        )),
        "{}",
        records[0]
    );
    // Without cafix: the same failure, and nothing else to read.
    let plain = curl(&[], false);
    assert!(!plain.stderr.contains("cafix"), "{plain}");
}

#[test]
fn incomplete_chain() {
    // The server omits its intermediate; the root is in the bundle.
    let scenario = Scenario::new().without_hash_entries();
    let p = pki();
    let srv = server(&scenario, &p.leaf.cert, &p.leaf.key, None);
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(&out, OPENSSL_LOCAL_ISSUER_ERROR, 20, 0, "incomplete-chain");
    assert!(field(&r, "certificate").contains("CN=localhost"), "{r}");
    assert_eq!(field(&r, "issuer_hash"), p.intermediate.hash, "{r}");
    assert!(field(&r, "hint").contains("omitted an intermediate"), "{r}");
}

#[test]
fn expired() {
    let scenario = scenario_trusting_cli_root();
    let srv = server(
        &scenario,
        &cli_pki("expired.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(&out, "certificate has expired", 10, 0, "expired");
    assert!(field(&r, "hint").contains("expired"), "{r}");
}

#[test]
fn not_yet_valid() {
    let scenario = scenario_trusting_cli_root();
    let srv = server(
        &scenario,
        &cli_pki("future.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(&out, "certificate is not yet valid", 9, 0, "not-yet-valid");
    assert!(field(&r, "hint").contains("clock"), "{r}");
}

#[test]
fn hostname_mismatch() {
    let scenario = scenario_trusting_cli_root();
    let srv = server(
        &scenario,
        &cli_pki("wrongname.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(&out, "hostname mismatch", 62, 0, "hostname-mismatch");
    assert!(field(&r, "certificate").contains("other.example"), "{r}");
    assert!(field(&r, "hint").contains("\"localhost\""), "{r}");
}

#[test]
fn self_signed_leaf() {
    let scenario = Scenario::new().without_hash_entries();
    let srv = server(&scenario, &cli_pki("self.pem"), &cli_pki("self.key"), None);
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(&out, "self-signed certificate", 18, 0, "self-signed-leaf");
    let pin = format!("sha256${}", field(&r, "sha256"));
    assert!(field(&r, "hint").contains(&pin), "the hint gives the pin {pin}: {r}");
}

#[test]
fn untrusted_root_in_chain() {
    // The server sends its whole chain, root included; that root is not in
    // this scenario's bundle.
    let scenario = Scenario::new().without_hash_entries();
    let srv = server(
        &scenario,
        &cli_pki("leaf.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int+root.pem")),
    );
    let out = client(&scenario, &srv, "default", "-", &[JSON]);
    let r = the_record(
        &out,
        "self-signed certificate in certificate chain",
        19,
        2,
        "untrusted-root-in-chain",
    );
    assert!(field(&r, "certificate").contains("cafix CLI Test Root"), "{r}");
}

#[test]
fn success_is_silent_below_debug() {
    let scenario = scenario_trusting_cli_root();
    let srv = server(
        &scenario,
        &cli_pki("leaf.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let quiet = client(&scenario, &srv, "default", "-", &[("CAFIX_LOG", "info")]);
    assert_succeeded(&quiet);
    assert!(
        !quiet.stderr.contains("verif"),
        "a successful verification must not be logged below debug:\n{quiet}"
    );
    // At debug the hook says it saw the verification: it was there all along.
    let debug = client(&scenario, &srv, "default", "-", &[("CAFIX_LOG", "debug"), JSON]);
    assert_succeeded(&debug);
    assert!(debug.json_records("verify-failed").is_empty(), "{debug}");
    assert!(
        debug
            .stderr
            .lines()
            .any(|l| l.starts_with("{\"cafix\":") && l.contains("\"level\":\"debug\"") && l.contains("verif")),
        "no debug record of the successful verification:\n{debug}"
    );
}

#[test]
fn a_connection_that_does_not_verify_is_not_reported() {
    // curl -k: libssl still runs X509_verify_cert (SSL_VERIFY_NONE) and
    // ignores the result; cafix says nothing either, below debug.
    let scenario = Scenario::new().without_hash_entries();
    let srv = server(&scenario, &cli_pki("self.pem"), &cli_pki("self.key"), None);
    let curl = |level: &str| {
        scenario.run(
            "/usr/bin/curl",
            &["-sS", "-k", "--max-time", "10", &srv.url()],
            &[("CAFIX_LOG", level), JSON],
            true,
        )
    };
    let quiet = curl("warn");
    assert!(quiet.success() && quiet.stdout == "cafix ok\n", "{quiet}");
    assert!(
        !quiet.stderr.contains("cafix"),
        "nothing may be logged for an unverified connection:\n{quiet}"
    );
    let debug = curl("debug");
    assert!(debug.success(), "{debug}");
    assert_eq!(
        debug.json_records("verify-unchecked").len(),
        1,
        "the hook saw the verification:\n{debug}"
    );
    assert!(debug.json_records("verify-failed").is_empty(), "{debug}");
}
