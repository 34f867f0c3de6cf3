//! The hash-only bundle index against the full parse it replaces.
//!
//! `BundleIndex::parse` files each certificate under its subject hash with a
//! strict DER walk and a fast PEM reader, parsing a certificate in full only
//! when it is used; `BundleIndex::parse_reference` is the index as it was
//! built before (`rustls-pki-types`' reader, `x509-parser` on every
//! certificate). They must give the same index, the same problems and, once
//! parsed, the same certificates, for the machine's system bundle, for every
//! bundle and certificate file the tests' two PKIs make, and for broken
//! variants of them (truncated, CRLF, indented, garbage between sections,
//! a key section, a certificate with an unreadable subject).

mod cli_common;
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cafix::bundle::BundleIndex;
use cafix::der_walk;
use cafix::pem::{self, PemItem};
use cafix::subject_hash::certificate_subject_hash;
use x509_parser::prelude::{FromDer, X509Certificate};

const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Both indexes of `bytes` agree in everything observable. Returns how many
/// certificates there are and how many the strict walk decided.
fn assert_indexes_agree(label: &str, bytes: &[u8]) -> (usize, usize) {
    let path = PathBuf::from("/bundle.pem");
    // The PEM layer first: the fast reader answers exactly as the reference.
    assert_eq!(
        format!("{:?}", pem::sections(bytes)),
        format!("{:?}", pem::sections_reference(bytes)),
        "{label}: pem::sections"
    );
    let fast = BundleIndex::parse(path.clone(), bytes.to_vec());
    let full = BundleIndex::parse_reference(path, bytes.to_vec());
    assert_eq!(fast.problems, full.problems, "{label}: problems");
    assert_eq!(fast.len(), full.len(), "{label}: count");
    assert!(
        fast.certs.hashes_and_ders().eq(full.certs.hashes_and_ders()),
        "{label}: hashes and certificates, in index order"
    );
    // Lookups first (they parse only their hash's certificates), then all.
    let hashes: BTreeSet<u32> = full.certs.hashes_and_ders().map(|(h, _)| h).collect();
    for &h in &hashes {
        assert_eq!(
            format!("{:?}", fast.with_hash(h)),
            format!("{:?}", full.with_hash(h)),
            "{label}: with_hash({h:08x})"
        );
        assert!(!fast.with_hash(h).is_empty());
    }
    let absent = (0..).find(|h| !hashes.contains(h)).unwrap();
    assert!(fast.with_hash(absent).is_empty());
    assert_eq!(
        format!("{:?}", &*fast.certs),
        format!("{:?}", &*full.certs),
        "{label}: certs"
    );
    for (_, der) in full.certs.hashes_and_ders() {
        assert!(fast.contains_der(der));
    }

    // Certificate by certificate: the walk decides a subset, rightly.
    let mut decided = 0;
    let mut total = 0;
    for item in pem::sections(bytes) {
        let PemItem::Certificate(der) = item else { continue };
        total += 1;
        let Some(layout) = der_walk::certificate_layout(&der) else {
            continue;
        };
        let (_, cert) = X509Certificate::from_der(&der)
            .unwrap_or_else(|e| panic!("{label}: the walk accepts what x509-parser refuses: {e}"));
        assert_eq!(
            &der[layout.subject.clone()],
            cert.subject().as_raw(),
            "{label}: subject"
        );
        assert_eq!(&der[layout.issuer.clone()], cert.issuer().as_raw(), "{label}: issuer");
        assert_eq!(layout.len, cert.as_raw().len(), "{label}: length");
        if let Some(h) = der_walk::subject_hash(&der) {
            assert_eq!(Some(h), certificate_subject_hash(&der), "{label}: subject hash");
            decided += 1;
        }
    }
    (total, decided)
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Broken and re-formatted variants of a bundle, each checked like the bundle.
fn check_variants(label: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut variants: Vec<(String, Vec<u8>)> = vec![
        ("crlf".into(), text.replace('\n', "\r\n").into_bytes()),
        ("cr".into(), text.replace('\n', "\r").into_bytes()),
        ("no final newline".into(), text.trim_end().as_bytes().to_vec()),
        (
            "garbage between sections".into(),
            text.replace(
                "-----END CERTIFICATE-----\n",
                "-----END CERTIFICATE-----\n# comment ----- x\n\n",
            )
            .into_bytes(),
        ),
        (
            "indented base64".into(),
            text.replacen("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\n  ", 1)
                .into_bytes(),
        ),
        (
            "a key section".into(),
            format!("{text}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").into_bytes(),
        ),
        (
            "an unknown section".into(),
            format!("-----BEGIN TRUSTED CERTIFICATE-----\nAAAA\n-----END TRUSTED CERTIFICATE-----\n{text}")
                .into_bytes(),
        ),
        (
            "a broken section".into(),
            text.replacen("-----END CERTIFICATE-----", "@@@@\n-----END CERTIFICATE-----", 1)
                .into_bytes(),
        ),
    ];
    for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 30] {
        variants.push((format!("truncated at {cut}"), bytes[..cut].to_vec()));
    }
    // One certificate with its subject made unreadable: its first
    // attribute's value re-tagged VisibleString, which OpenSSL (and so
    // cafix) refuses in a name while x509-parser reads it.
    let first = pem::sections(bytes).into_iter().find_map(|i| match i {
        PemItem::Certificate(der) => Some(der),
        _ => None,
    });
    let der = first.expect("a certificate");
    let layout = der_walk::certificate_layout(&der).expect("a certificate the walk reads");
    let mut bad = der.clone();
    let subject = &mut bad[layout.subject.clone()];
    let i = subject
        .windows(4)
        .position(|w| w[..3] == [0x06, 0x03, 0x55] && w[3] == 0x04)
        .expect("an attribute of the X.520 arc in the subject");
    subject[i + 5] = 0x1a;
    assert_eq!(certificate_subject_hash(&bad), None);
    let mut with_bad = pem::encode_certificate(&bad);
    with_bad.extend_from_slice(bytes);
    let index = BundleIndex::parse("/bundle.pem".into(), with_bad.clone());
    assert!(
        index
            .problems
            .contains(&"1 certificate(s) could not be parsed".to_string()),
        "{label}: {:?}",
        index.problems
    );
    variants.push(("a subject that cannot be canonicalised".into(), with_bad));
    for (what, variant) in variants {
        assert_indexes_agree(&format!("{label}, {what}"), &variant);
    }
}

#[test]
fn the_system_bundle_indexes_alike_and_every_certificate_takes_the_fast_path() {
    let bytes = read(SYSTEM_BUNDLE);
    let (total, decided) = assert_indexes_agree(SYSTEM_BUNDLE, &bytes);
    assert!(total > 100, "{total} certificates in {SYSTEM_BUNDLE}");
    assert!(
        pem::certificates_fast(&bytes).is_some(),
        "the fast PEM reader refused {SYSTEM_BUNDLE}"
    );
    // Not needed for correctness (the full parse decides the rest), but the
    // first miss is only cheap if real bundles take the fast path.
    assert_eq!(
        decided, total,
        "certificates of {SYSTEM_BUNDLE} the strict walk left to the full parse"
    );
    check_variants(SYSTEM_BUNDLE, &bytes);
}

#[test]
fn the_scenario_pki_indexes_alike() {
    let pki = common::pki();
    let mut all = Vec::new();
    for cert in [
        &pki.root,
        &pki.intermediate,
        &pki.leaf,
        &pki.unrelated,
        &pki.decoy,
        &pki.client_ca,
        &pki.client,
        &pki.rogue_client,
    ] {
        let bytes = read(&cert.cert);
        let (total, decided) = assert_indexes_agree(&cert.cn, &bytes);
        assert_eq!((total, decided), (1, 1), "{}", cert.cn);
        all.extend_from_slice(&bytes);
    }
    assert_indexes_agree("server chain", &read(&pki.server_chain));
    assert_indexes_agree("the scenario bundle", &read(&pki.bundle));
    assert_indexes_agree("the scenario PKI", &all);
    check_variants("the scenario PKI", &all);
}

#[test]
fn the_cli_pki_indexes_alike() {
    let pki = cli_common::pki();
    let mut all = Vec::new();
    for name in [
        "root.pem",
        "int.pem",
        "leaf.pem",
        "chain.pem",
        "fullchain.pem",
        "int+root.pem",
        "expired.pem",
        "future.pem",
        "wrongname.pem",
        "self.pem",
        "client.pem",
        "rogue.pem",
        "other-ca.pem",
    ] {
        let bytes = read(pki.path(name));
        let (total, decided) = assert_indexes_agree(name, &bytes);
        assert_eq!(decided, total, "{name}");
        all.extend_from_slice(&bytes);
    }
    assert_indexes_agree("the CLI PKI", &all);
    check_variants("the CLI PKI", &all);
}
