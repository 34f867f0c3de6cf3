//! Against keytool's own output (testdata/, see its README): every format
//! and protection read, written back with an added certificate, re-read.

use super::*;
use crate::pem::{self, PemItem};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/keystore/testdata")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cert(name: &str) -> Vec<u8> {
    match pem::sections(&fixture(name)).into_iter().next() {
        Some(PemItem::Certificate(der)) => der,
        _ => panic!("{name} is not a PEM certificate"),
    }
}

fn aliases(store: &Keystore) -> Vec<&str> {
    store.trusted.iter().map(|t| t.alias.as_str()).collect()
}

/// A certificate that is none of the fixtures' (a third self-signed one).
fn other_cert() -> Vec<u8> {
    use openssl::{asn1::Asn1Time, bn::BigNum, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "cafix added CA").unwrap();
    let name = name.build();
    let mut b = x509::X509Builder::new().unwrap();
    b.set_serial_number(&BigNum::from_u32(9).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    b.build().to_der().unwrap()
}

const GOOD: [(&str, Format, Integrity, bool); 6] = [
    ("jks.jks", Format::Jks, Integrity::DefaultPassword, false),
    ("jceks.jceks", Format::Jceks, Integrity::DefaultPassword, false),
    ("p12-aes.p12", Format::Pkcs12, Integrity::DefaultPassword, true),
    ("p12-legacy.p12", Format::Pkcs12, Integrity::DefaultPassword, true),
    ("p12-none.p12", Format::Pkcs12, Integrity::None, false),
    ("jks-with-key.jks", Format::Jks, Integrity::DefaultPassword, false),
];

#[test]
fn keytools_stores_are_read_in_every_format_and_protection() {
    let (ca1, ca2) = (cert("ca1.pem"), cert("ca2.pem"));
    for (name, format, integrity, encrypted) in GOOD {
        let bytes = fixture(name);
        assert_eq!(format_of(&bytes), Some(format), "{name}");
        let store = parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(store.format, format, "{name}");
        assert_eq!(store.integrity, integrity, "{name}");
        assert_eq!(store.encrypted_certs, encrypted, "{name}");
        let ders: Vec<&[u8]> = store.trusted_ders().collect();
        assert_eq!(ders, [ca1.as_slice(), ca2.as_slice()], "{name}");
        assert_eq!(aliases(&store), ["test ca 1", "test ca 2"], "{name}");
        let keys = usize::from(name.contains("with-key"));
        assert_eq!(store.private_keys, keys, "{name}");
    }
    let with_key = parse(&fixture("p12-with-key.p12")).unwrap();
    assert_eq!((with_key.private_keys, with_key.trusted.len()), (1, 2));
}

#[test]
fn a_copy_with_an_added_certificate_reads_back_with_everything_in_it() {
    let added = other_cert();
    for (name, format, integrity, encrypted) in GOOD {
        let bytes = fixture(name);
        let store = parse(&bytes).unwrap();
        let written = store.with_added(&bytes, &[&added], 1_700_000_000_000).unwrap();
        let again = parse(&written).unwrap_or_else(|e| panic!("{name} written back: {e}"));
        assert_eq!(again.format, format, "{name}");
        assert_eq!(again.integrity, integrity, "{name}: the digest or MAC is right");
        assert_eq!(again.encrypted_certs, encrypted, "{name}: protected as the original");
        let mut expected: Vec<&[u8]> = store.trusted_ders().collect();
        expected.push(&added);
        assert_eq!(again.trusted_ders().collect::<Vec<_>>(), expected, "{name}");
        let new_alias = &again.trusted[2].alias;
        assert!(new_alias.starts_with("cafix-local-"), "{new_alias}");
        assert_eq!(again.private_keys, store.private_keys, "{name}");
        // Every original byte is still there (entries copied, not re-encoded).
        if format != Format::Pkcs12 {
            assert_eq!(written[12..bytes.len() - 20], bytes[12..bytes.len() - 20], "{name}");
        }
    }
}

#[test]
fn openssl_reads_a_written_password_protected_pkcs12() {
    let bytes = fixture("p12-aes.p12");
    let added = other_cert();
    let written = parse(&bytes).unwrap().with_added(&bytes, &[&added], 0).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::from_der(&written).unwrap();
    let parsed = p12
        .parse2(DEFAULT_PASSWORD)
        .expect("the MAC verifies and the bags decrypt");
    let ders: Vec<Vec<u8>> = parsed.ca.unwrap().iter().map(|c| c.to_der().unwrap()).collect();
    assert_eq!(ders.len(), 3);
    assert!(ders.contains(&added));
    assert!(p12.parse2("wrong").is_err(), "the MAC is a real one");
}

#[test]
fn another_password_is_read_as_far_as_it_can_be_and_never_written() {
    let jks = fixture("jks-other-password.jks");
    let store = parse(&jks).unwrap();
    assert_eq!(store.integrity, Integrity::OtherPassword);
    assert_eq!(
        store.trusted.len(),
        2,
        "a JVM without the password reads JKS entries too"
    );
    let err = store.with_added(&jks, &[b"\x30\x00"], 0).unwrap_err();
    assert!(err.contains("does not verify with the default password"), "{err}");
    let p12 = parse(&fixture("p12-other-password.p12")).unwrap_err();
    assert!(p12.contains("cannot be decrypted with the default password"), "{p12}");
}

#[test]
fn aliases_never_collide_case_insensitively() {
    let bytes = fixture("p12-none.p12");
    let store = parse(&bytes).unwrap();
    let added = other_cert();
    let once = store.with_added(&bytes, &[&added], 0).unwrap();
    let twice_store = parse(&once).unwrap();
    let twice = twice_store.with_added(&once, &[&added], 0).unwrap();
    let all = parse(&twice).unwrap();
    let names: Vec<String> = all.trusted.iter().map(|t| t.alias.to_lowercase()).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    assert!(names[3].ends_with("-2"), "{names:?}");
}

#[test]
fn damaged_stores_are_refused_without_panicking() {
    for (name, ..) in GOOD {
        let bytes = fixture(name);
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut]).is_err(), "{name} cut at {cut}");
        }
        // Each try of a password-protected one runs its key derivations
        // (10,000 to 100,000 rounds): fewer of those.
        let step = if name.contains("p12") && !name.contains("none") {
            61
        } else {
            7
        };
        for at in (0..bytes.len()).step_by(step) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x5a;
            let _ = parse(&flipped); // any answer but a panic
        }
    }
    let mut lying = fixture("jks.jks");
    lying[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(parse(&lying).unwrap_err().contains("entries announced"));
    assert_eq!(parse(b"").unwrap_err(), "empty");
    assert!(parse(b"garbage").unwrap_err().contains("neither"));
    assert_eq!(format_of(b"\x30\x03\x02\x01\x03"), Some(Format::Pkcs12));
    assert_eq!(format_of(b"\x30\x03\x02\x01\x02"), None);
    assert!(parse(&vec![0u8; MAX_KEYSTORE_BYTES + 1])
        .unwrap_err()
        .contains("more than"));
}

#[test]
fn a_secret_key_entry_stops_a_jceks_read() {
    let mut bytes = fixture("jceks.jceks");
    // The first entry's tag, right after the 12-byte header.
    bytes[12..16].copy_from_slice(&3u32.to_be_bytes());
    assert!(parse(&bytes).unwrap_err().contains("secret key"));
}
