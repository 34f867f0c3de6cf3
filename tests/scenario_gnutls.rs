//! GnuTLS programs explained as OpenSSL's are: git (through
//! libcurl-gnutls), wget, gnutls-cli and apt's https method, each against
//! a loopback `openssl s_server` with one failure class of its own, in a
//! private mount namespace whose `/etc/ssl/certs` is the scenario's.
//!
//! Each case asserts both sides: without cafix the program fails with its
//! own (terse) words; with libcafix.so preloaded it fails the same way
//! (cafix only observes GnuTLS) and cafix writes exactly one
//! `verify-failed` record naming GnuTLS's status bits, the library, the
//! certificate, the trust sources and the hint class. A program that
//! verifies successfully gets no line from cafix at the default level.

mod cli_common;
mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use common::*;
use serde_json::Value;

const JSON: (&str, &str) = ("CAFIX_LOG_FORMAT", "json");

fn cli_pki(name: &str) -> PathBuf {
    PathBuf::from(cli_common::pki().path(name))
}

/// The machine's bundle plus the harness root and the CLI tests' root.
fn scenario_trusting_both_roots() -> Scenario {
    let mut bundle = std::fs::read_to_string(&pki().bundle).unwrap();
    bundle.push_str(&std::fs::read_to_string(cli_pki("root.pem")).unwrap());
    Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", bundle)
}

/// The machine's bundle alone: neither test root is trusted.
fn scenario_trusting_neither_root() -> Scenario {
    Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", std::fs::read(SYSTEM_BUNDLE).unwrap())
}

fn server(scenario: &Scenario, cert: &Path, key: &Path, chain: Option<&Path>) -> Server {
    match chain {
        Some(chain) => scenario.start_server_with(cert, key, &["-cert_chain", path_str(chain)], false),
        None => scenario.start_server_with(cert, key, &[], false),
    }
}

/// A client program, which must be installed (test.sh installs them).
fn program(path: &str) -> &str {
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: install git, wget, gnutls-bin and apt (test.sh does)"
    );
    path
}

fn git(scenario: &Scenario, srv: &Server, preload: bool) -> RunOutput {
    git_with(scenario, srv, &[], &[], preload)
}

/// `git [OPTIONS] ls-remote` of the server's URL, with its own `HOME` and
/// no system configuration, plus `env`.
fn git_with(scenario: &Scenario, srv: &Server, options: &[&str], env: &[(&str, &str)], preload: bool) -> RunOutput {
    let home = scenario.dir().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let url = format!("https://localhost:{}/repo.git", srv.port);
    let mut args = options.to_vec();
    args.extend(["ls-remote", &url]);
    let mut all_env = vec![
        JSON,
        ("HOME", path_str(&home)),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_TERMINAL_PROMPT", "0"),
    ];
    all_env.extend_from_slice(env);
    scenario.run(program("/usr/bin/git"), &args, &all_env, preload)
}

fn wget(scenario: &Scenario, srv: &Server, preload: bool) -> RunOutput {
    wget_with(scenario, srv, &[], preload)
}

/// `wget` of the server's `/index.txt` to stdout, once, plus `env`.
fn wget_with(scenario: &Scenario, srv: &Server, env: &[(&str, &str)], preload: bool) -> RunOutput {
    let url = format!("https://localhost:{}/index.txt", srv.port);
    let mut all_env = vec![JSON];
    all_env.extend_from_slice(env);
    scenario.run(
        program("/usr/bin/wget"),
        &["--no-config", "--tries=1", "--timeout=10", "-O", "-", &url],
        &all_env,
        preload,
    )
}

fn gnutls_cli(scenario: &Scenario, srv: &Server, preload: bool) -> RunOutput {
    let port = srv.port.to_string();
    // stdin is /dev/null: after a verified handshake it ends the session.
    scenario.run(
        program("/usr/bin/gnutls-cli"),
        &["--port", &port, "localhost"],
        &[JSON],
        preload,
    )
}

/// `apt-get update` of one https source, with the scenario's own
/// sources.list, state and cache directories.
fn apt_update(scenario: &Scenario, srv: &Server, preload: bool) -> RunOutput {
    let apt = scenario.dir().join("apt");
    for sub in [
        "etc/apt.conf.d",
        "etc/preferences.d",
        "etc/sources.list.d",
        "lists/partial",
        "cache/archives/partial",
    ] {
        std::fs::create_dir_all(apt.join(sub)).unwrap();
    }
    std::fs::write(
        apt.join("etc/sources.list"),
        format!("deb https://localhost:{}/debian bookworm main\n", srv.port),
    )
    .unwrap();
    let opt = |k: &str, v: &Path| format!("{k}={}", v.display());
    let args = [
        "update".to_string(),
        "-o".into(),
        opt("Dir::Etc", &apt.join("etc")),
        "-o".into(),
        opt("Dir::State::Lists", &apt.join("lists")),
        "-o".into(),
        opt("Dir::Cache", &apt.join("cache")),
        "-o".into(),
        "Acquire::Retries=0".into(),
        "-o".into(),
        "APT::Sandbox::User=root".into(),
    ];
    scenario.run(program("/usr/bin/apt-get"), &args, &[JSON], preload)
}

/// `apt-get update` exits 0 with a warning for a source it could not
/// fetch: that warning, as a failed run.
fn apt_update_failing(scenario: &Scenario, srv: &Server, preload: bool) -> RunOutput {
    let out = apt_update(scenario, srv, preload);
    assert!(out.all().contains("Failed to fetch"), "{out}");
    RunOutput {
        status: ExitStatus::from_raw(1 << 8),
        ..out
    }
}

fn field<'a>(r: &'a Value, key: &str) -> &'a str {
    r[key].as_str().unwrap_or_else(|| panic!("no {key:?} in {r}"))
}

/// The program's output says `expected` (its own words for the failure).
fn says(out: &RunOutput, expected: &str) {
    assert!(
        out.all().contains(expected),
        "expected {expected:?} from `{}`:\n{out}",
        out.command
    );
}

/// Both sides of one failure: `run(false)` fails with `expected`, `run(true)`
/// fails the same way with exactly one `verify-failed` record of `hint_class`
/// from GnuTLS, which is returned.
fn fails_and_is_explained(run: impl Fn(bool) -> RunOutput, expected: &str, hint_class: &str) -> Value {
    let plain = run(false);
    assert!(!plain.success(), "must fail without cafix:\n{plain}");
    says(&plain, expected);
    assert!(!plain.stderr.contains("cafix"), "{plain}");
    let out = run(true);
    assert!(!out.success(), "cafix only observes GnuTLS, the failure stays:\n{out}");
    says(&out, expected);
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 1, "one verify-failed record expected:\n{out}");
    let r = records.into_iter().next().unwrap();
    assert_eq!(r["level"], "warning", "{r}");
    assert_eq!(r["hint_class"], hint_class, "{r}");
    let library = field(&r, "library");
    assert!(
        library.starts_with("GnuTLS 3.") && library.contains("libgnutls.so.30"),
        "{r}"
    );
    assert!(field(&r, "status").starts_with("0x"), "{r}");
    assert!(field(&r, "status_bits").contains("invalid"), "{r}");
    assert!(field(&r, "message").contains("[GnuTLS 3."), "{r}");
    let text = r.to_string();
    assert!(!text.contains("BEGIN") && !text.contains("PRIVATE"), "{r}");
    // Nothing else at warning level: the record is the whole story.
    let warnings = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("{\"cafix\":") && l.contains("\"level\":\"warning\""))
        .count();
    assert_eq!(warnings, 1, "{out}");
    r
}

#[test]
fn git_root_not_in_bundle() {
    let scenario = scenario_trusting_neither_root();
    let srv = scenario.start_server();
    let r = fails_and_is_explained(
        |preload| git(&scenario, &srv, preload),
        "server certificate verification failed",
        "root-not-in-bundle",
    );
    assert_eq!(field(&r, "status_bits"), "invalid signer-not-found", "{r}");
    assert_eq!(field(&r, "depth"), "1", "{r}");
    assert!(field(&r, "certificate").contains(&pki().intermediate.cn), "{r}");
    assert_eq!(field(&r, "issuer_hash"), pki().root.hash, "{r}");
    assert!(field(&r, "issuer in the system bundle").starts_with("no"), "{r}");
    // libcurl-gnutls on Debian verifies against GnuTLS's system trust.
    assert!(field(&r, "trust sources").contains("/etc/ssl/certs"), "{r}");
    assert!(field(&r, "hint").contains("install it as a local CA"), "{r}");
}

#[test]
fn git_not_yet_valid() {
    let scenario = scenario_trusting_both_roots();
    let srv = server(
        &scenario,
        &cli_pki("future.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let r = fails_and_is_explained(
        |preload| git(&scenario, &srv, preload),
        "server certificate verification failed",
        "not-yet-valid",
    );
    assert!(field(&r, "status_bits").contains("not-activated"), "{r}");
}

#[test]
fn wget_incomplete_chain() {
    // The server omits its intermediate; the root is in the bundle.
    let scenario = Scenario::new().without_hash_entries();
    let p = pki();
    let srv = server(&scenario, &p.leaf.cert, &p.leaf.key, None);
    let r = fails_and_is_explained(
        |preload| wget(&scenario, &srv, preload),
        "is not trusted",
        "incomplete-chain",
    );
    assert_eq!(field(&r, "depth"), "0", "{r}");
    assert!(field(&r, "certificate").contains("CN=localhost"), "{r}");
    assert_eq!(field(&r, "issuer_hash"), p.intermediate.hash, "{r}");
    assert!(field(&r, "trust sources").contains("system trust"), "{r}");
    assert!(field(&r, "hint").contains("omitted an intermediate"), "{r}");
}

#[test]
fn wget_self_signed_leaf() {
    let scenario = scenario_trusting_both_roots();
    let srv = server(&scenario, &cli_pki("self.pem"), &cli_pki("self.key"), None);
    let r = fails_and_is_explained(
        |preload| wget(&scenario, &srv, preload),
        "is not trusted",
        "self-signed-leaf",
    );
    let hint = field(&r, "hint");
    assert!(
        hint.contains("sha256$") && hint.contains("SHA-256 "),
        "both fingerprint formats: {r}"
    );
}

#[test]
fn wget_hostname_mismatch() {
    // wget verifies the chain, then checks the name separately.
    let scenario = scenario_trusting_both_roots();
    let srv = server(
        &scenario,
        &cli_pki("wrongname.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let r = fails_and_is_explained(
        |preload| wget(&scenario, &srv, preload),
        "does not match hostname",
        "hostname-mismatch",
    );
    assert!(field(&r, "status_bits").contains("unexpected-owner"), "{r}");
    assert!(field(&r, "hint").contains("\"localhost\""), "{r}");
}

#[test]
fn gnutls_cli_hostname_mismatch() {
    // gnutls-cli verifies with the host name as typed data.
    let scenario = scenario_trusting_both_roots();
    let srv = server(
        &scenario,
        &cli_pki("wrongname.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let r = fails_and_is_explained(
        |preload| gnutls_cli(&scenario, &srv, preload),
        "The name in the certificate does not match the expected",
        "hostname-mismatch",
    );
    assert_eq!(field(&r, "status_bits"), "invalid unexpected-owner", "{r}");
    assert!(field(&r, "trust sources").contains("system trust"), "{r}");
}

#[test]
fn gnutls_cli_untrusted_root_in_chain() {
    // The server sends its whole chain, root included; the root is trusted nowhere.
    let scenario = scenario_trusting_neither_root();
    let srv = server(
        &scenario,
        &cli_pki("leaf.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int+root.pem")),
    );
    let r = fails_and_is_explained(
        |preload| gnutls_cli(&scenario, &srv, preload),
        "The certificate issuer is unknown",
        "untrusted-root-in-chain",
    );
    assert_eq!(field(&r, "depth"), "2", "{r}");
    assert!(field(&r, "certificate").contains("cafix CLI Test Root"), "{r}");
}

#[test]
fn apt_update_expired() {
    // apt's https method lets the handshake verify (gnutls_session_set_verify_cert).
    let scenario = scenario_trusting_both_roots();
    let srv = server(
        &scenario,
        &cli_pki("expired.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let r = fails_and_is_explained(
        |preload| apt_update_failing(&scenario, &srv, preload),
        "The certificate chain uses expired certificate",
        "expired",
    );
    assert!(field(&r, "status_bits").contains("expired"), "{r}");
    assert!(field(&r, "hint").contains("expired"), "{r}");
}

#[test]
fn apt_update_root_not_in_bundle() {
    let scenario = scenario_trusting_neither_root();
    let srv = scenario.start_server();
    let r = fails_and_is_explained(
        |preload| apt_update_failing(&scenario, &srv, preload),
        "The certificate issuer is unknown",
        "root-not-in-bundle",
    );
    assert!(field(&r, "trust sources").contains("system trust"), "{r}");
    // The host apt gave gnutls_session_set_verify_cert, and the session's peer.
    assert_eq!(
        field(&r, "server"),
        format!("localhost:{} (address 127.0.0.1)", srv.port),
        "{r}"
    );
}

#[test]
fn a_successful_verification_is_silent_below_debug() {
    let scenario = Scenario::new().without_hash_entries();
    let srv = scenario.start_server();
    let out = wget(&scenario, &srv, true);
    assert!(out.success() && out.stdout == "cafix ok\n", "{out}");
    assert!(
        !out.stderr.contains("cafix"),
        "nothing below debug for a verified connection:\n{out}"
    );
    let debug = wget_with(&scenario, &srv, &[("CAFIX_LOG", "debug")], true);
    assert!(debug.success(), "{debug}");
    assert!(
        debug
            .stderr
            .lines()
            .any(|l| l.contains("\"event\":\"verify-ok\"") && l.contains("GnuTLS")),
        "at debug the hook says it saw the verification:\n{debug}"
    );
    // git too: TLS verifies, then the dumb server has no such repository.
    let git_out = git(&scenario, &srv, true);
    assert!(!git_out.all().contains("certificate"), "{git_out}");
    assert!(!git_out.stderr.contains("cafix"), "{git_out}");
}

#[test]
fn gnutls_cli_insecure_algorithm() {
    // A leaf signed with SHA-1 by the harness intermediate (root in the
    // bundle): GnuTLS refuses the signature algorithm.
    let scenario = Scenario::new().without_hash_entries();
    let p = pki();
    let dir = scenario.dir();
    let csr = dir.join("sha1.csr");
    let ext = dir.join("sha1.ext");
    let leaf = dir.join("sha1.pem");
    std::fs::write(&ext, "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    #[rustfmt::skip]
    openssl(&["req", "-new", "-key", path_str(&p.leaf.key), "-subj", "/CN=localhost", "-out", path_str(&csr)]);
    #[rustfmt::skip]
    openssl(&[
        "x509", "-req", "-sha1", "-in", path_str(&csr), "-CA", path_str(&p.intermediate.cert),
        "-CAkey", path_str(&p.intermediate.key), "-set_serial", "7", "-days", "30",
        "-extfile", path_str(&ext), "-out", path_str(&leaf),
    ]);
    // s_server's own security level refuses to send it otherwise.
    let srv = scenario.start_server_with(
        &leaf,
        &p.leaf.key,
        &[
            "-cert_chain",
            path_str(&p.intermediate.cert),
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
        false,
    );
    let r = fails_and_is_explained(
        |preload| gnutls_cli(&scenario, &srv, preload),
        "insecure algorithm",
        "insecure-algorithm",
    );
    assert!(field(&r, "status_bits").contains("insecure-algorithm"), "{r}");
    assert_eq!(field(&r, "depth"), "0", "{r}");
    assert!(field(&r, "hint").contains("SHA-256"), "{r}");
}

#[test]
fn gnutls_cli_with_another_distributions_bundle_path_is_served() {
    // gnutls-cli told to trust Fedora's bundle path, which this (Debian)
    // layout lacks: without cafix it cannot load it; with cafix the path
    // is the system bundle, which has the root, and the handshake verifies.
    let scenario = Scenario::new().without_hash_entries();
    let srv = scenario.start_server();
    let port = srv.port.to_string();
    let args = [
        "--x509cafile=/etc/pki/tls/certs/ca-bundle.crt",
        "--port",
        &port,
        "localhost",
    ];
    let plain = scenario.run(program("/usr/bin/gnutls-cli"), &args, &[], false);
    assert!(!plain.success(), "{plain}");
    says(&plain, "Error setting the x509 trust file: Error while reading file");
    let out = scenario.run(program("/usr/bin/gnutls-cli"), &args, &[JSON], true);
    assert!(out.success(), "{out}");
    says(&out, "Handshake was completed");
    let served = out.json_records("bundle-served");
    assert_eq!(served.len(), 1, "{out}");
    assert!(out.json_records("verify-failed").is_empty(), "{out}");
}

#[test]
fn git_dir_without_issuer() {
    // libcurl-gnutls trusts the directory /etc/ssl/certs, which GnuTLS reads
    // whole; here it holds one unrelated CA and no bundle, while the system
    // bundle (elsewhere, CAFIX_BUNDLE) has the root.
    let scenario = Scenario::new();
    std::fs::remove_file(scenario.certs_dir().join("ca-certificates.crt")).unwrap();
    let bundle = scenario.dir().join("bundle.crt");
    std::fs::copy(&pki().bundle, &bundle).unwrap();
    let srv = scenario.start_server();
    let run = |preload| git_with(&scenario, &srv, &[], &[("CAFIX_BUNDLE", path_str(&bundle))], preload);
    let r = fails_and_is_explained(run, "server certificate verification failed", "dir-without-issuer");
    assert_eq!(field(&r, "trust sources"), "dir /etc/ssl/certs", "{r}");
    assert!(field(&r, "issuer in the system bundle").starts_with("yes"), "{r}");
    assert!(field(&r, "hint").contains("reads a directory whole"), "{r}");
}

#[test]
fn git_that_does_not_verify_gets_no_warning() {
    // `http.sslVerify=false`: libcurl still compares the name (and says it
    // does not match, at its info level), but nothing was verified, so the
    // program decides; cafix says it at debug only.
    let scenario = scenario_trusting_both_roots();
    let srv = server(
        &scenario,
        &cli_pki("wrongname.pem"),
        &cli_pki("leaf.key"),
        Some(&cli_pki("int.pem")),
    );
    let run = |level: &str| {
        git_with(
            &scenario,
            &srv,
            &["-c", "http.sslVerify=false"],
            &[("CAFIX_LOG", level)],
            true,
        )
    };
    let quiet = run("info");
    assert!(!quiet.all().contains("certificate verification failed"), "{quiet}");
    assert!(
        !quiet.stderr.contains("{\"cafix\""),
        "nothing at info and above:\n{quiet}"
    );
    let debug = run("debug");
    assert!(debug.json_records("verify-failed").is_empty(), "{debug}");
    assert_eq!(debug.json_records("hostname-unchecked").len(), 1, "{debug}");
}

/// c-tests/gnutls_dlopen_main.c (not linked to GnuTLS) and the plugin it
/// loads RTLD_LOCAL, c-tests/gnutls_plugin.c, built once.
fn dlopen_programs() -> &'static (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = target_dir()
            .join("cafix-tests")
            .join(format!("{}-gnutls-dlopen", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = repo_root().join("c-tests");
        let (main, plugin) = (dir.join("gnutls_dlopen_main"), dir.join("gnutls_plugin.so"));
        let flags = std::process::Command::new("pkg-config")
            .args(["--cflags", "--libs", "gnutls"])
            .output()
            .expect("pkg-config must be installed");
        assert!(flags.status.success(), "pkg-config gnutls: install libgnutls28-dev");
        let flags = String::from_utf8(flags.stdout).unwrap();
        let cc = |args: &[&str]| {
            let out = std::process::Command::new("cc")
                .args(args)
                .output()
                .expect("cc must be installed");
            assert!(
                out.status.success(),
                "cc {args:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let mut plugin_args = vec!["-O2", "-shared", "-fPIC", "-o", path_str(&plugin)];
        let source = c.join("gnutls_plugin.c");
        plugin_args.push(path_str(&source));
        plugin_args.extend(flags.split_whitespace());
        cc(&plugin_args);
        cc(&[
            "-O2",
            "-o",
            path_str(&main),
            path_str(&c.join("gnutls_dlopen_main.c")),
            "-ldl",
        ]);
        (main, plugin)
    })
}

#[test]
fn a_gnutls_loaded_rtld_local_by_a_plugin_is_observed() {
    // The program is not linked to GnuTLS; its plugin is, and is loaded
    // RTLD_LOCAL, so the plugin's libgnutls is in no global scope: the
    // hooks must find it from the caller (the plugin) and explain.
    let scenario = scenario_trusting_neither_root();
    let (main, plugin) = dlopen_programs();
    let chain = scenario.dir().join("chain.pem");
    let p = pki();
    std::fs::write(&chain, format!("{}{}", p.leaf.pem(), p.intermediate.pem())).unwrap();
    let args = [path_str(plugin), path_str(&chain), "localhost"];
    let plain = scenario.run(main, &args, &[], false);
    let expected = "main: libgnutls in the global scope: no\nplugin: system trust loaded, verify_crt2 of 2 certificates = 0, status 0x42\n";
    assert_eq!(plain.stdout, expected, "{plain}");
    assert_eq!(plain.status.code(), Some(1), "{plain}");
    let out = scenario.run(main, &args, &[JSON], true);
    assert_eq!(out.stdout, expected, "cafix only observes:\n{out}");
    let records = out.json_records("verify-failed");
    assert_eq!(records.len(), 1, "{out}");
    let r = &records[0];
    assert_eq!(r["hint_class"], "root-not-in-bundle", "{r}");
    assert_eq!(r["depth"], "1", "{r}");
    assert!(field(r, "library").contains("libgnutls.so.30"), "{r}");
    assert!(field(r, "trust sources").starts_with("system trust (file "), "{r}");
}
