//! `cafix hash` (names as c_rehash gives them, checked against the openssl
//! command) and `cafix lookup` (a hash back to its CA), and bad input.

mod cli_common;

use cli_common::*;

#[test]
fn hashes_match_openssl_and_number_like_c_rehash() {
    let p = pki();
    let dir = TempDir::new("hash");
    // A bundle of two, the same root again (c_rehash skips duplicates), and DER.
    let bundle = [
        std::fs::read(p.path("root.pem")).unwrap(),
        std::fs::read(p.path("int.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(dir.join("bundle.pem"), &bundle).unwrap();
    std::fs::write(dir.join("root.der"), p.root.to_der().unwrap()).unwrap();
    let root_hash = openssl_subject_hash(&p.path("root.pem"));
    let int_hash = openssl_subject_hash(&p.path("int.pem"));
    let r = run(cafix(&[
        "hash",
        &dir.s("bundle.pem"),
        &p.path("root.pem"),
        &dir.s("root.der"),
        &p.path("other-ca.pem"),
    ]));
    assert_eq!(r.code, 0, "{r}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{r}");
    assert!(
        lines[0].starts_with(&format!("{root_hash}.0  CN=cafix CLI Test Root, O=cafix tests")),
        "{r}"
    );
    assert!(lines[0].contains("bundle.pem, certificate 1"), "{r}");
    assert!(
        lines[1].starts_with(&format!("{int_hash}.0  CN=cafix CLI Test Intermediate")),
        "{r}"
    );
    assert!(
        lines[2].starts_with(&format!("{root_hash}.0")) && lines[2].contains("duplicate"),
        "{r}"
    );
    assert!(
        lines[3].starts_with(&format!("{root_hash}.0")) && lines[3].contains("root.der"),
        "{r}"
    );
    assert!(
        lines[4].starts_with(&format!(
            "{}.0  CN=cafix Other CA",
            openssl_subject_hash(&p.path("other-ca.pem"))
        )),
        "{r}"
    );

    let r = run(cafix(&["hash", "--json", &dir.s("bundle.pem")]));
    assert_eq!(r.code, 0, "{r}");
    let v = r.json();
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0]["subject_hash"], root_hash);
    assert_eq!(certs[0]["name"], format!("{root_hash}.0"));
    assert_eq!(certs[1]["issuer_hash"], root_hash);
    assert!(certs[0]["pin"].as_str().unwrap().starts_with("sha256$"));
}

#[test]
fn the_machine_bundle_hashes_like_its_hash_directory() {
    // Every certificate of the system bundle, named as update-ca-certificates named it.
    let r = run(cafix(&["hash", "--json", MACHINE_BUNDLE]));
    assert_eq!(r.code, 0, "{r}");
    let v = r.json();
    let certs = v["certificates"].as_array().unwrap();
    assert!(certs.len() > 100, "{}", certs.len());
    let isrg = certs
        .iter()
        .find(|c| c["subject"] == "CN=ISRG Root X1, O=Internet Security Research Group, C=US")
        .expect("ISRG Root X1");
    assert_eq!(isrg["subject_hash"], "4042bcee");
}

#[test]
fn standard_input() {
    let p = pki();
    let mut cmd = cafix(&["hash", "-"]);
    cmd.stdin(std::fs::File::open(p.path("root.pem")).unwrap());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.starts_with(&openssl_subject_hash(&p.path("root.pem"))), "{r}");
    assert!(r.stdout.contains("(-)"), "{r}");
}

#[test]
fn bad_input_is_one_line_each_and_exit_2() {
    let p = pki();
    let dir = TempDir::new("hashbad");
    std::fs::write(dir.join("garbage.bin"), b"\x30\x82\x01\x00 not DER at all").unwrap();
    std::fs::write(
        dir.join("broken.pem"),
        b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    for (file, needle) in [
        (dir.s("garbage.bin"), "not a certificate (neither PEM nor DER)"),
        (dir.s("broken.pem"), "bad PEM"),
        (p.path("leaf.key"), "no certificate in it (1 other PEM section(s))"),
        (dir.s("empty"), "not a certificate"),
        (dir.s("missing.pem"), "No such file"),
        (dir.s(""), "is a directory"),
        // Unreadable even for root.
        ("/proc/self/mem".to_string(), "/proc/self/mem: Input/output error"),
    ] {
        run(cafix(&["hash", &file])).assert_one_error_line(2, needle);
    }
    // Good files are still hashed; the exit status says one was bad.
    let r = run(cafix(&["hash", &p.path("root.pem"), &dir.s("garbage.bin")]));
    assert_eq!(r.code, 2, "{r}");
    assert_eq!(r.stdout.lines().count(), 1, "{r}");
    assert_eq!(r.stderr.lines().count(), 1, "{r}");
    let r = run(cafix(&["hash", "--json", &dir.s("garbage.bin")]));
    assert_eq!(r.code, 2, "{r}");
    assert!(r.json()["errors"][0].as_str().unwrap().contains("garbage.bin"), "{r}");
}

#[test]
fn lookup_turns_a_hash_into_its_ca() {
    for arg in ["4042bcee", "4042BCEE.0", "/etc/ssl/certs/4042bcee.0"] {
        let r = run(cafix(&["lookup", arg]));
        assert_eq!(r.code, 0, "{arg}: {r}");
        assert!(r.stdout.starts_with("4042bcee: 1 certificate(s)"), "{r}");
        assert!(
            r.stdout
                .contains("CN=ISRG Root X1, O=Internet Security Research Group, C=US"),
            "{r}"
        );
        assert!(r.stdout.contains(&format!("in system bundle {MACHINE_BUNDLE}")), "{r}");
    }
    let r = run(cafix(&["lookup", "--json", "4042bcee"]));
    assert_eq!(r.code, 0, "{r}");
    let v = r.json();
    assert_eq!(v["hash"], "4042bcee");
    assert_eq!(
        v["certificates"][0]["subject"],
        "CN=ISRG Root X1, O=Internet Security Research Group, C=US"
    );
    assert_eq!(v["bundle"], MACHINE_BUNDLE);
}

#[test]
fn lookup_in_a_namespace_finds_directory_entries_and_broken_ones() {
    let p = pki();
    let dir = TempDir::new("lookupns");
    std::fs::copy(MACHINE_BUNDLE, dir.join("ca-certificates.crt")).unwrap();
    let root_hash = openssl_subject_hash(&p.path("root.pem"));
    // Only in the directory (not the bundle), and a broken second entry.
    std::fs::copy(p.path("root.pem"), dir.join("root.pem")).unwrap();
    std::os::unix::fs::symlink("root.pem", dir.join(format!("{root_hash}.0"))).unwrap();
    std::os::unix::fs::symlink("gone.pem", dir.join(format!("{root_hash}.1"))).unwrap();
    let r = in_namespace(dir.path(), bin(), &["lookup", &root_hash]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("CN=cafix CLI Test Root"), "{r}");
    assert!(
        r.stdout.contains(&format!(
            "in /etc/ssl/certs/{root_hash}.0 -> root.pem (also /usr/lib/ssl/certs)"
        )),
        "{r}"
    );
    assert!(
        r.stdout.contains(&format!(
            "broken entry: /etc/ssl/certs/{root_hash}.1 -> gone.pem: broken symbolic link"
        )),
        "{r}"
    );
    assert!(!r.stdout.contains("in system bundle"), "{r}");
}

#[test]
fn lookup_of_nothing_and_of_garbage() {
    let r = run(cafix(&["lookup", "00000000"]));
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.stdout.contains("00000000: no certificate with this subject hash"),
        "{r}"
    );
    assert_eq!(
        run(cafix(&["lookup", "--json", "00000000"])).json()["certificates"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    run(cafix(&["lookup", "ISRG"])).assert_one_error_line(2, "is not a subject hash");
    run(cafix(&["lookup", "4042bcee.x"])).assert_one_error_line(2, "is not a subject hash");
}
