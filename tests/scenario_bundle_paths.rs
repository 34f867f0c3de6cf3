//! Missing CA bundle paths of other distributions and OpenSSL builds.
//!
//! A program built elsewhere asks for the bundle where *its* distribution
//! keeps it (`/etc/pki/tls/certs/ca-bundle.crt` on Fedora, ...). On this
//! Debian store that path does not exist, and the program fails before it
//! ever connects. With libcafix.so the well-known bundle paths that are
//! missing here serve this system's bundle, read-only, from memory; a real
//! file is never replaced, and an application's own paths get nothing.
//!
//! Each client case is asserted both ways: it fails without the shim with
//! its own error text, and passes with it. Runs in private mount namespaces
//! (see tests/common); needs root, unshare, openssl, curl and python3.

mod common;

use std::path::Path;

use cafix::locations::BUNDLE_PATHS;
use common::*;

const FEDORA_BUNDLE: &str = "/etc/pki/tls/certs/ca-bundle.crt";
const FEDORA_EXTRACTED_BUNDLE: &str = "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem";

/// What curl says when its `--cacert` cannot be loaded.
const CURL_CAFILE_ERROR: &str = "error setting certificate";

/// `curl --cacert CAFILE` against `server`, nothing else changed: curl
/// keeps its compiled-in CA path, so the test root (whose hash entry is
/// missing) can only come from the file.
fn curl(scenario: &Scenario, server: &Server, cafile: &str, preload: bool) -> RunOutput {
    let curl = Path::new("/usr/bin/curl");
    assert!(curl.is_file(), "curl is needed (apt-get install curl)");
    scenario.run(
        curl,
        &["-sS", "--max-time", "10", "--cacert", cafile, &server.url()],
        &[],
        preload,
    )
}

fn python_cafile(scenario: &Scenario, server: &Server, cafile: &str, preload: bool) -> RunOutput {
    let port = server.port.to_string();
    let location = format!("cafile={cafile}");
    scenario.run(
        python3(),
        &["-I", "-c", PYTHON_CLIENT, &location, "127.0.0.1", &port],
        &[],
        preload,
    )
}

/// The shim's info line for a served bundle path.
fn assert_bundle_served(out: &RunOutput, path: &str) {
    let expected = format!("served {SYSTEM_BUNDLE} for missing {path}");
    assert!(
        out.cafix_lines().iter().any(|l| l.contains(&expected)),
        "no shim line says {expected:?}:\n{out}"
    );
}

#[test]
fn curl_with_fedora_cacert_fails_without_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = curl(&scenario, &server, FEDORA_BUNDLE, false);
    assert_eq!(
        out.status.code(),
        Some(77),
        "curl's 'problem with the CA cert' exit status:\n{out}"
    );
    assert!(
        out.stderr.contains(CURL_CAFILE_ERROR) && out.stderr.contains(FEDORA_BUNDLE),
        "{out}"
    );
}

#[test]
fn curl_with_fedora_cacert_passes_with_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = curl(&scenario, &server, FEDORA_BUNDLE, true);
    assert!(out.success() && out.stdout == "cafix ok\n", "expected the page:\n{out}");
    assert_bundle_served(&out, FEDORA_BUNDLE);
}

#[test]
fn python_with_fedora_cafile_fails_without_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = python_cafile(&scenario, &server, FEDORA_EXTRACTED_BUNDLE, false);
    assert_failed_with(&out, "No such file or directory");
}

#[test]
fn python_with_fedora_cafile_passes_with_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = python_cafile(&scenario, &server, FEDORA_EXTRACTED_BUNDLE, true);
    assert_succeeded(&out);
    assert_bundle_served(&out, FEDORA_EXTRACTED_BUNDLE);
}

#[test]
fn an_application_path_stays_missing_with_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    for path in [
        "/opt/cafix-app/ca-bundle.crt",
        "/etc/ssl/certs/cafix-app.pem",
        "/etc/pki/tls/certs/ca-bundle.crt.orig",
        "/etc/pki/tls/certs/../certs/ca-bundle.crt",
    ] {
        let out = curl(&scenario, &server, path, true);
        assert_eq!(out.status.code(), Some(77), "{path} must stay missing:\n{out}");
        assert!(out.stderr.contains(CURL_CAFILE_ERROR), "{out}");
        assert!(
            !out.stderr.contains("served"),
            "the shim served something for {path}:\n{out}"
        );
    }
}

/// For every path of the documented table: stats and reads it with and
/// without the shim. Missing paths become this system's bundle (same bytes,
/// read-only regular file); paths that exist here stay what they are.
/// (Nothing is opened for writing: outside the bind-mounted /etc/ssl/certs
/// that would create files on the host.)
const PROBE: &str = r#"
import hashlib, os, sys
for path in sys.argv[1:]:
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        print(path, "found", oct(st.st_mode & 0o7777), st.st_size, digest, os.access(path, os.W_OK))
    except OSError as e:
        print(path, "missing", e.errno)
"#;

#[test]
fn every_documented_bundle_path_serves_the_system_bundle() {
    let scenario = Scenario::new();
    let bundle = std::fs::read(scenario.certs_dir().join("ca-certificates.crt")).unwrap();
    let digest = {
        let out = std::process::Command::new("sha256sum")
            .arg(scenario.certs_dir().join("ca-certificates.crt"))
            .output()
            .expect("sha256sum (coreutils)");
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let paths: Vec<&str> = BUNDLE_PATHS.iter().map(|(p, _)| *p).collect();
    let mut args = vec!["-I", "-c", PROBE];
    args.extend(&paths);
    let without = scenario.run(python3(), &args, &[], false);
    let with = scenario.run(python3(), &args, &[], true);
    assert!(without.success() && with.success(), "{without}\n{with}");
    let (without_lines, with_lines): (Vec<&str>, Vec<&str>) =
        (without.stdout.lines().collect(), with.stdout.lines().collect());
    assert_eq!(without_lines.len(), paths.len(), "{without}");
    assert_eq!(with_lines.len(), paths.len(), "{with}");
    let mut served = 0;
    for ((path, before), after) in paths.iter().zip(&without_lines).zip(&with_lines) {
        if before.contains(" found ") {
            assert_eq!(before, after, "{path} exists here: the shim must leave it alone");
            continue;
        }
        assert_eq!(*before, format!("{path} missing 2"), "{without}");
        assert_eq!(
            *after,
            format!("{path} found 0o444 {} {digest} False", bundle.len()),
            "{path} must be the system bundle, read-only:\n{with}"
        );
        assert_bundle_served(&with, path);
        served += 1;
    }
    // On this Debian store only the Debian paths exist.
    assert!(
        served >= paths.len() - 2,
        "only {served} of {} paths were missing here:\n{without}",
        paths.len()
    );
}
