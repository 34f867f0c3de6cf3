//! `cafix check` against real `openssl s_server` endpoints on 127.0.0.1:
//! every failure class, in text and in JSON, and bad input.

mod cli_common;

use cli_common::*;
use openssl::hash::MessageDigest;

/// Runs `cafix check ARGS` twice, for people and with --json.
fn check(args: &[&str]) -> (Run, Run, serde_json::Value) {
    let text = run(cafix(&[&["check"], args].concat()));
    let json = run(cafix(&[&["check", "--json"], args].concat()));
    let value = json.json();
    (text, json, value)
}

/// Asserts a failure of `class` whose text says `title`, with `needles` in the text output.
fn assert_class(args: &[&str], class: &str, title: &str, needles: &[&str]) -> serde_json::Value {
    let (text, json, value) = check(args);
    assert_eq!(text.code, 1, "{text}");
    assert_eq!(json.code, 1, "{json}");
    assert!(text.stdout.contains(&format!("Result: FAILED: {title}")), "{text}");
    for n in needles {
        assert!(text.stdout.contains(n), "{n:?} missing:\n{text}");
    }
    assert_eq!(value["ok"], false);
    assert_eq!(value["class"], class, "{value:#}");
    assert_eq!(value["diagnosis"]["class"], class);
    assert!(
        !value["diagnosis"]["fixes"].as_array().unwrap().is_empty() || class == "other",
        "{value:#}"
    );
    value
}

fn server(args: &[&str]) -> Server {
    Server::start(pki().dir.path(), args)
}

#[test]
fn good_chain_verifies_with_the_test_root() {
    let p = pki();
    let s = server(&["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    let (text, json, v) = check(&[&s.addr(), "--cacert", &p.path("root.pem")]);
    assert_eq!(text.code, 0, "{text}");
    assert!(text.stdout.contains("Result: OK"), "{text}");
    assert!(
        text.stdout.contains("Chain sent by the server (2 certificate(s))"),
        "{text}"
    );
    assert!(text.stdout.contains("CN=localhost, O=cafix tests"), "{text}");
    assert!(text.stdout.contains("SAN:     DNS:localhost, IP:127.0.0.1"), "{text}");
    assert!(text.stdout.contains("sha256$"), "{text}");
    assert!(text.stdout.contains("Client certificate: not requested"), "{text}");
    assert_eq!(json.code, 0, "{json}");
    assert_eq!(v["ok"], true);
    assert!(v["class"].is_null());
    let chain = v["chain"].as_array().unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0]["subject_hash"], openssl_subject_hash(&p.path("leaf.pem")));
    assert_eq!(chain[1]["subject_hash"], openssl_subject_hash(&p.path("int.pem")));
    let sha = chain[0]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 32 * 3 - 1, "{sha}");
    assert_eq!(
        chain[0]["pin"].as_str().unwrap(),
        format!("sha256${}", sha.replace(':', "").to_lowercase())
    );
    assert_eq!(v["verification"]["openssl"]["ok"], true);
    assert_eq!(v["verification"]["openssl"]["chain"].as_array().unwrap().len(), 3);
    assert!(
        v["verification"]["qt"].is_null(),
        "--cacert replaces the system trust: no Qt verification"
    );
}

#[test]
fn no_common_protocol_version() {
    let p = pki();
    let s13 = server(&[
        "-cert",
        "leaf.pem",
        "-key",
        "leaf.key",
        "-cert_chain",
        "int.pem",
        "-tls1_3",
    ]);
    let v = assert_class(
        &[&s13.addr(), "--cacert", &p.path("root.pem"), "--tls-max", "1.2"],
        "protocol-version",
        "no common protocol version",
        &["protocol version", "the server speaks TLSv1.3"],
    );
    assert!(v["diagnosis"]["why"].as_str().unwrap().contains("TLSv1.3"));
    let s12 = server(&[
        "-cert",
        "leaf.pem",
        "-key",
        "leaf.key",
        "-cert_chain",
        "int.pem",
        "-tls1_2",
    ]);
    assert_class(
        &[&s12.addr(), "--cacert", &p.path("root.pem"), "--tls-min", "1.3"],
        "protocol-version",
        "no common protocol version",
        &["the server speaks TLSv1.2"],
    );
}

#[test]
fn no_common_cipher() {
    let p = pki();
    let s = server(&[
        "-cert",
        "leaf.pem",
        "-key",
        "leaf.key",
        "-tls1_3",
        "-ciphersuites",
        "TLS_AES_128_CCM_SHA256",
    ]);
    assert_class(
        &[&s.addr(), "--cacert", &p.path("root.pem")],
        "cipher",
        "no common cipher",
        &["it chose TLS_AES_128_CCM_SHA256"],
    );
    let s12 = server(&[
        "-cert",
        "leaf.pem",
        "-key",
        "leaf.key",
        "-tls1_2",
        "-cipher",
        "ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0",
    ]);
    assert_class(
        &[&s12.addr(), "--cacert", &p.path("root.pem")],
        "cipher",
        "no common cipher",
        &["ECDHE-ECDSA-NULL-SHA"],
    );
}

#[test]
fn root_not_trusted() {
    // The machine's trust (default paths) does not hold the test root.
    let s = server(&["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    let v = assert_class(
        &[&s.addr()],
        "untrusted-root",
        "root not trusted",
        &["cafix CLI Test Root", "update-ca-certificates"],
    );
    assert_eq!(v["verification"]["openssl"]["error"], 20);
    assert!(
        v["verification"]["qt"].is_object(),
        "without --cacert the Qt way is verified too: {v:#}"
    );
    // The server sends its root too: "self-signed certificate in certificate chain".
    let s = server(&["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int+root.pem"]);
    let v = assert_class(
        &[&s.addr()],
        "untrusted-root",
        "root not trusted",
        &["self-signed root"],
    );
    assert_eq!(v["verification"]["openssl"]["error"], 19);
}

#[test]
fn incomplete_chain() {
    let p = pki();
    let s = server(&["-cert", "leaf.pem", "-key", "leaf.key"]);
    let v = assert_class(
        &[&s.addr(), "--cacert", &p.path("root.pem")],
        "incomplete-chain",
        "incomplete chain",
        &[
            "cafix CLI Test Intermediate",
            "http://ca.invalid/intermediate.der",
            "full chain",
        ],
    );
    assert_eq!(v["chain"].as_array().unwrap().len(), 1);
    assert_eq!(v["chain"][0]["ca_issuers"][0], "http://ca.invalid/intermediate.der");
}

#[test]
fn hostname_mismatch() {
    let p = pki();
    let s = server(&["-cert", "wrongname.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    let v = assert_class(
        &[&s.addr(), "--cacert", &p.path("root.pem")],
        "hostname-mismatch",
        "hostname mismatch",
        &["\"127.0.0.1\"", "DNS:other.example, DNS:www.other.example"],
    );
    assert_eq!(v["target"]["name_checked"], "127.0.0.1");
    // --servername is what is checked (and sent).
    let good = server(&["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    let v = assert_class(
        &[
            &good.addr(),
            "--cacert",
            &p.path("root.pem"),
            "--servername",
            "wrong.example",
        ],
        "hostname-mismatch",
        "hostname mismatch",
        &["\"wrong.example\""],
    );
    assert_eq!(v["target"]["servername"], "wrong.example");
}

#[test]
fn expired_and_not_yet_valid() {
    let p = pki();
    let s = server(&["-cert", "expired.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    let v = assert_class(
        &[&s.addr(), "--cacert", &p.path("root.pem")],
        "validity",
        "certificate expired or not yet valid",
        &["expired at", "renew"],
    );
    assert_eq!(v["verification"]["openssl"]["error"], 10);
    let s = server(&["-cert", "future.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    let v = assert_class(
        &[&s.addr(), "--cacert", &p.path("root.pem")],
        "validity",
        "certificate expired or not yet valid",
        &["valid only from", "clock"],
    );
    assert_eq!(v["verification"]["openssl"]["error"], 9);
}

#[test]
fn self_signed_server_gets_its_pin() {
    let p = pki();
    let s = server(&["-cert", "self.pem", "-key", "self.key"]);
    let sha: String = p
        .self_signed
        .digest(MessageDigest::sha256())
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let pin = format!("sha256${sha}");
    let v = assert_class(
        &[&s.addr(), "--cacert", &p.path("root.pem")],
        "untrusted-root",
        "root not trusted",
        &["self-signed", &pin, "trust on first use"],
    );
    assert_eq!(v["diagnosis"]["pin"], pin);
    assert_eq!(v["verification"]["openssl"]["error"], 18);
}

#[test]
fn client_certificate_required() {
    let p = pki();
    for version in ["-tls1_3", "-tls1_2"] {
        let s = server(&[
            "-cert",
            "leaf.pem",
            "-key",
            "leaf.key",
            "-cert_chain",
            "int.pem",
            version,
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            "root.pem",
        ]);
        let v = assert_class(
            &[&s.addr(), "--cacert", &p.path("root.pem")],
            "client-cert-required",
            "client certificate required",
            &[
                "acceptable CAs: CN=cafix CLI Test Root, O=cafix tests",
                "--cert FILE --key FILE",
            ],
        );
        assert_eq!(v["client_certificate"]["requested"], true, "{version}");
        assert_eq!(
            v["client_certificate"]["acceptable_cas"][0],
            "CN=cafix CLI Test Root, O=cafix tests"
        );
        // The server's chain was still received and verified.
        assert_eq!(v["verification"]["openssl"]["ok"], true, "{version}: {v:#}");

        // The right client certificate passes ...
        let (text, _, v) = check(&[
            &s.addr(),
            "--cacert",
            &p.path("root.pem"),
            "--cert",
            &p.path("client.pem"),
            "--key",
            &p.path("client.key"),
        ]);
        assert_eq!(text.code, 0, "{version}: {text}");
        assert!(text.stdout.contains("sent CN=cafix test client"), "{text}");
        assert_eq!(v["client_certificate"]["sent"], true);

        // ... one from another CA is refused.
        let v = assert_class(
            &[
                &s.addr(),
                "--cacert",
                &p.path("root.pem"),
                "--cert",
                &p.path("rogue.pem"),
                "--key",
                &p.path("rogue.key"),
            ],
            "client-cert-rejected",
            "client certificate not accepted",
            &["cafix Other CA", "unknown ca", "CN=cafix CLI Test Root, O=cafix tests"],
        );
        assert_eq!(
            v["client_certificate"]["acceptable_cas"][0],
            "CN=cafix CLI Test Root, O=cafix tests"
        );
    }
}

#[test]
fn urls_and_capath() {
    let p = pki();
    let s = server(&["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int.pem"]);
    // A hash directory with only the root.
    let dir = TempDir::new("capath");
    std::fs::copy(p.path("root.pem"), dir.join("root.pem")).unwrap();
    assert!(std::process::Command::new("openssl")
        .arg("rehash")
        .arg(dir.path())
        .status()
        .unwrap()
        .success());
    let url = format!("https://localhost:{}/some/path?q=1", s.port);
    let (text, _, v) = check(&[&url, "--capath", &dir.s("")]);
    assert_eq!(text.code, 0, "{text}");
    assert!(text.stdout.contains("server name sent: localhost"), "{text}");
    assert_eq!(v["target"]["servername"], "localhost");
    assert_eq!(v["target"]["port"], s.port);
}

// --- Bad input: one line, exit 2, no panic ------------------------------------

#[test]
fn not_a_tls_port() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        for _ in 0..2 {
            if let Ok((mut conn, _)) = listener.accept() {
                use std::io::{Read, Write};
                let mut buf = [0u8; 512];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
        }
    });
    let addr = format!("127.0.0.1:{port}");
    run(cafix(&["check", &addr])).assert_one_error_line(2, "does not speak TLS");
    run(cafix(&["check", "--json", &addr])).assert_one_error_line(2, "does not speak TLS");
    t.join().unwrap();
}

#[test]
fn refused_and_silent_servers() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    run(cafix(&["check", &format!("127.0.0.1:{port}")])).assert_one_error_line(2, "cannot connect to 127.0.0.1");
    // Accepts and never answers: the timeout.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let started = std::time::Instant::now();
    run(cafix(&["check", "--timeout", "1", &addr])).assert_one_error_line(2, "timed out");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    drop(listener);
    // Reads the ClientHello and hangs up, to the first try and to the four
    // probes (one per version) alike.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let t = std::thread::spawn(move || {
        for _ in 0..5 {
            if let Ok((mut conn, _)) = listener.accept() {
                use std::io::Read;
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
            }
        }
    });
    run(cafix(&["check", &addr]))
        .assert_one_error_line(2, "closed the connection during the TLS handshake without an alert");
    t.join().unwrap();
}

#[test]
fn bad_arguments_and_files() {
    let p = pki();
    let garbage = TempDir::new("garbage");
    std::fs::write(garbage.join("garbage.pem"), b"\x00\x01 this is not a certificate").unwrap();
    let g = garbage.s("garbage.pem");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["http://localhost".into()], "not TLS"),
        (vec!["localhost:99999".into()], "bad port"),
        (vec!["exa mple.org".into()], "not a host name"),
        (
            vec!["localhost:1".into(), "--cacert".into(), g.clone()],
            "no PEM certificate",
        ),
        (
            vec!["localhost:1".into(), "--cacert".into(), "/nonexistent/ca.pem".into()],
            "/nonexistent/ca.pem",
        ),
        (
            vec!["localhost:1".into(), "--capath".into(), g.clone()],
            "not a directory",
        ),
        (
            vec!["localhost:1".into(), "--cert".into(), g.clone()],
            "no PEM certificate",
        ),
        (
            vec!["localhost:1".into(), "--cert".into(), p.path("client.pem")],
            "holds no private key",
        ),
        (
            vec![
                "localhost:1".into(),
                "--cert".into(),
                p.path("client.pem"),
                "--key".into(),
                p.path("leaf.key"),
            ],
            "does not belong",
        ),
        (
            vec![
                "localhost:1".into(),
                "--tls-min".into(),
                "1.3".into(),
                "--tls-max".into(),
                "1.2".into(),
            ],
            "above --tls-max",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["check".to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(cafix(&refs)).assert_one_error_line(2, needle);
    }
    // clap's own usage errors: exit 2 too.
    let r = run(cafix(&["check", "localhost", "--tls-min", "9"]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("not a TLS version"), "{r}");
}
