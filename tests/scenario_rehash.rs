//! The reported failure, reproduced for real and repaired by libcafix.so.
//!
//! Each scenario bind-mounts a crafted directory over `/etc/ssl/certs` in a
//! private mount namespace (see `tests/common/mod.rs`): the system bundle
//! holds the test root, one unrelated CA has a c_rehash entry, and the test
//! root's `<hash>.0` is missing. A local `openssl s_server` sends leaf +
//! intermediate. Every client that looks the root up in the hash directory
//! must fail without the shim with its library's own error text, and succeed
//! with the shim, whose log must name the served entry and the root.
//!
//! Needs root (mount namespaces) and the clients' build dependencies; a
//! missing piece fails, nothing is skipped.

mod common;

use common::*;

/// Without the shim the client fails exactly as reported.
fn fails_without_shim(client: Client) {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = client.run(&scenario, &server, false);
    assert_failed_with(&out, client.local_issuer_error());
    assert!(out.cafix_lines().is_empty(), "shim lines without the shim:\n{out}");
}

/// With the shim the same run succeeds, and the shim says what it served.
fn succeeds_with_shim(client: Client) {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let out = client.run(&scenario, &server, true);
    assert_succeeded(&out);
    let root = &pki().root;
    assert_served(&out.cafix_lines(), &format!("{}.0", root.hash), &root.cn, &out);
}

#[test]
fn qt5_fails_without_shim() {
    fails_without_shim(Client::Qt5);
}

#[test]
fn qt5_succeeds_with_shim() {
    succeeds_with_shim(Client::Qt5);
}

#[test]
fn qt6_fails_without_shim() {
    fails_without_shim(Client::Qt6);
}

#[test]
fn qt6_succeeds_with_shim() {
    succeeds_with_shim(Client::Qt6);
}

#[test]
fn openssl_capath_fails_without_shim() {
    fails_without_shim(Client::OpensslCapath);
}

#[test]
fn openssl_capath_succeeds_with_shim() {
    succeeds_with_shim(Client::OpensslCapath);
}

#[test]
fn dlopen_capath_fails_without_shim() {
    fails_without_shim(Client::DlopenCapath);
}

#[test]
fn dlopen_capath_succeeds_with_shim() {
    succeeds_with_shim(Client::DlopenCapath);
}

#[test]
fn dlopen_qt_style_fails_without_shim() {
    fails_without_shim(Client::DlopenQtStyle);
}

/// Qt's own calls without Qt: `SSL_CTX_load_verify_dir` tail-calls
/// `X509_STORE_load_path`, so a hook sees the *application* as its caller,
/// and libcrypto is RTLD_LOCAL.
#[test]
fn dlopen_qt_style_succeeds_with_shim() {
    succeeds_with_shim(Client::DlopenQtStyle);
}

#[test]
fn python_capath_fails_without_shim() {
    fails_without_shim(Client::PythonCapath);
}

#[test]
fn python_capath_succeeds_with_shim() {
    succeeds_with_shim(Client::PythonCapath);
}

// --- Controls: the scenario breaks only what it should ----------------------

/// The server, PKI and bundle are sound: a client given the bundle as its
/// CA file, and one using OpenSSL's default paths (which include the
/// bundle), both succeed without the shim.
#[test]
fn control_bundle_and_default_paths_work_without_shim() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    for mode in [["cafile", SYSTEM_BUNDLE], ["default", "-"]] {
        for bin in [&clients().openssl, &clients().dlopen] {
            let out = scenario.run(bin, &[mode[0], mode[1], "localhost", &port], &[], false);
            assert_succeeded(&out);
        }
    }
}

/// Without any hash-named file Qt loads the whole bundle and succeeds: the
/// one unrelated hash entry is what switches it to on-demand lookup.
#[test]
fn control_qt_loads_the_bundle_without_hash_entries() {
    let scenario = Scenario::new().without_hash_entries();
    let server = scenario.start_server();
    for client in [Client::Qt5, Client::Qt6] {
        let out = client.run(&scenario, &server, false);
        assert_succeeded(&out);
    }
}

/// The shim leaves a working setup alone: nothing missing, nothing served.
#[test]
fn control_cafile_with_shim_serves_nothing() {
    let scenario = Scenario::new();
    let server = scenario.start_server();
    let port = server.port.to_string();
    let out = scenario.run(
        &clients().openssl,
        &["cafile", SYSTEM_BUNDLE, "localhost", &port],
        &[],
        true,
    );
    assert_succeeded(&out);
    assert!(
        !out.cafix_lines().iter().any(|l| l.contains("served")),
        "served something:\n{out}"
    );
}

/// The dlopen clients must get OpenSSL only through dlopen, like Qt.
#[test]
fn dlopen_clients_link_no_openssl() {
    for bin in [&clients().dlopen, &clients().dlopen_unversioned] {
        let out = std::process::Command::new("readelf")
            .args(["-d", "--wide"])
            .arg(bin)
            .output()
            .expect("readelf (binutils) must be installed");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let needed: Vec<&str> = text.lines().filter(|l| l.contains("(NEEDED)")).collect();
        assert!(!needed.is_empty(), "no NEEDED entries in:\n{text}");
        assert!(
            !needed.iter().any(|l| l.contains("libssl") || l.contains("libcrypto")),
            "{}: {needed:#?}",
            bin.display()
        );
    }
}

// --- Variants of the broken directory ----------------------------------------

/// `<root hash>.0 -> /nonexistent`: stat() fails as if it were missing.
#[test]
fn broken_symlink_fails_without_shim() {
    let scenario = Scenario::new().with_broken_root_symlink();
    let server = scenario.start_server();
    for client in [Client::OpensslCapath, Client::Qt5] {
        let out = client.run(&scenario, &server, false);
        assert_failed_with(&out, client.local_issuer_error());
    }
}

#[test]
fn broken_symlink_succeeds_with_shim() {
    let scenario = Scenario::new().with_broken_root_symlink();
    let server = scenario.start_server();
    let root = &pki().root;
    for client in [Client::OpensslCapath, Client::Qt5] {
        let out = client.run(&scenario, &server, true);
        assert_succeeded(&out);
        assert_served(&out.cafix_lines(), &format!("{}.0", root.hash), &root.cn, &out);
    }
}

/// A different CA under `<root hash>.0`: OpenSSL reads it, finds the wrong
/// subject, and asks for `<root hash>.1`, which is missing.
#[test]
fn hash_collision_fails_without_shim() {
    let scenario = Scenario::new().with_root_hash_collision();
    let server = scenario.start_server();
    for client in [Client::OpensslCapath, Client::Qt5] {
        let out = client.run(&scenario, &server, false);
        assert_failed_with(&out, client.local_issuer_error());
    }
}

/// The real `.0` stays; the root is served as `.1`.
#[test]
fn hash_collision_served_as_dot_one_with_shim() {
    let scenario = Scenario::new().with_root_hash_collision();
    let server = scenario.start_server();
    let root = &pki().root;
    for client in [Client::OpensslCapath, Client::Qt5] {
        let out = client.run(&scenario, &server, true);
        assert_succeeded(&out);
        assert_served(&out.cafix_lines(), &format!("{}.1", root.hash), &root.cn, &out);
        assert!(
            !out.cafix_lines()
                .iter()
                .any(|l| l.contains(&format!("{}.0", root.hash)) && l.contains("served")),
            "the existing {}.0 must not be replaced:\n{out}",
            root.hash
        );
    }
}

/// The Python used is the system's, linking the system OpenSSL.
#[test]
fn python_is_the_system_python() {
    assert_eq!(python3(), std::path::Path::new("/usr/bin/python3"));
}
