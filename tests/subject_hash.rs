//! `cafix::subject_hash` against the real `openssl` command: every certificate
//! of the machine's CA bundle, certificates `openssl req` makes with awkward
//! subjects, and certificates whose subject or issuer is replaced by a name
//! crafted byte by byte (string types and encodings `openssl req` cannot
//! produce). The expected value always comes from `openssl x509
//! -subject_hash` / `-issuer_hash`; where OpenSSL cannot read the certificate,
//! cafix must say `None`.
//!
//! Needs the `openssl` command (Debian's `openssl` package) and the system CA
//! bundle (`ca-certificates`).

use cafix::pem::{sections, PemItem};
use cafix::subject_hash::{certificate_subject_hash, hash_hex, name_der_hash};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use x509_parser::prelude::{FromDer, X509Certificate};

/// Read directly: this machine exports SSL_CERT_FILE, which must not matter.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

// ---------------------------------------------------------------------------
// The openssl command

fn openssl(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl command must be installed");
    // A closed pipe is fine: openssl may stop reading early on bad input.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// `openssl x509 -subject_hash -issuer_hash` of a DER certificate, or `None`
/// if OpenSSL cannot read it.
fn openssl_hashes(cert_der: &[u8]) -> Option<(String, String)> {
    let out = openssl(
        &["x509", "-inform", "DER", "-noout", "-subject_hash", "-issuer_hash"],
        cert_der,
    );
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "unexpected openssl output {text:?}");
    Some((lines[0].to_string(), lines[1].to_string()))
}

fn openssl_subject_hash(cert_der: &[u8]) -> Option<String> {
    openssl_hashes(cert_der).map(|(subject, _)| subject)
}

/// `certificate_subject_hash`, after checking that the bundle index's
/// strict walk, where it decides, agrees with it (and so with OpenSSL,
/// against which the callers check this answer).
fn ours(cert_der: &[u8]) -> Option<String> {
    let full = certificate_subject_hash(cert_der);
    if let Some(fast) = cafix::der_walk::subject_hash(cert_der) {
        assert_eq!(Some(fast), full, "der_walk::subject_hash against the full parse");
    }
    full.map(hash_hex)
}

fn issuer_hash(cert_der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let full = name_der_hash(cert.issuer().as_raw());
    if let Some(strict) = cafix::subject_hash::name_der_hash_strict(cert.issuer().as_raw()) {
        assert_eq!(
            Some(strict),
            full,
            "name_der_hash_strict of the issuer against name_der_hash"
        );
    }
    full.map(hash_hex)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cafix-subject-hash-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate made by `openssl req -x509`, as DER.
fn req_cert(subject: &str, extra: &[&str], config: Option<&str>) -> Vec<u8> {
    let dir = TempDir::new("req");
    let out_path = dir.0.join("cert.der");
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "/dev/null",
        "-days",
        "1",
        "-outform",
        "DER",
        "-subj",
        subject,
    ];
    args.extend_from_slice(extra);
    let config_path = dir.0.join("req.cnf");
    if let Some(config) = config {
        std::fs::write(&config_path, config).unwrap();
        args.extend_from_slice(&["-config", config_path.to_str().unwrap()]);
    }
    args.extend_from_slice(&["-out", out_path.to_str().unwrap()]);
    let out = openssl(&args, b"");
    assert!(
        out.status.success(),
        "openssl req -subj {subject:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(out_path).unwrap()
}

fn subject_as_openssl_shows_it(cert_der: &[u8]) -> String {
    let out = openssl(
        &[
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253,show_type",
        ],
        cert_der,
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ---------------------------------------------------------------------------
// DER surgery: put any name into a real certificate. `openssl x509
// -subject_hash` does not check the signature, so the result still loads.

fn tlv(identifier: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    cafix::subject_hash::push_tlv(&mut out, identifier, content);
    out
}

/// Splits DER content into its TLVs (single-octet tags, definite lengths).
fn elements(mut content: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (header, len) = match content[1] {
            l if l < 0x80 => (2, usize::from(l)),
            l => {
                let n = usize::from(l & 0x7f);
                (
                    2 + n,
                    content[2..2 + n]
                        .iter()
                        .fold(0usize, |acc, &b| acc << 8 | usize::from(b)),
                )
            }
        };
        out.push(&content[..header + len]);
        content = &content[header + len..];
    }
    out
}

fn content_of(element: &[u8]) -> &[u8] {
    let parts = elements(element);
    assert_eq!(parts.len(), 1);
    let header = if element[1] < 0x80 {
        2
    } else {
        2 + usize::from(element[1] & 0x7f)
    };
    &element[header..]
}

/// A self-signed certificate to operate on, made once.
fn template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| req_cert("/CN=cafix template", &[], None))
}

const ISSUER: usize = 3; // [0] version, serial, signature algorithm, issuer
const SUBJECT: usize = 5; // ..., validity, subject

/// The template with TBSCertificate field `index` replaced by `name` (the
/// raw bytes, valid DER or not).
fn cert_with(index: usize, name: &[u8]) -> Vec<u8> {
    let cert = elements(content_of(template()));
    let mut tbs: Vec<&[u8]> = elements(content_of(cert[0]));
    assert_eq!(tbs[0][0], 0xa0, "template is not a v3 certificate");
    tbs[index] = name;
    let mut out = tlv(0x30, &tbs.concat());
    out.extend_from_slice(cert[1]);
    out.extend_from_slice(cert[2]);
    tlv(0x30, &out)
}

fn cert_with_subject(name: &[u8]) -> Vec<u8> {
    cert_with(SUBJECT, name)
}

// Attribute type OIDs, DER content.
const CN: &[u8] = &[0x55, 0x04, 0x03];
const C: &[u8] = &[0x55, 0x04, 0x06];
const O: &[u8] = &[0x55, 0x04, 0x0a];
const OU: &[u8] = &[0x55, 0x04, 0x0b];
const EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];

// Universal tags.
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const UTF8: u8 = 0x0c;
const NUMERIC: u8 = 0x12;
const PRINTABLE: u8 = 0x13;
const T61: u8 = 0x14;
const IA5: u8 = 0x16;
const UTC_TIME: u8 = 0x17;
const VISIBLE: u8 = 0x1a;
const UNIVERSAL: u8 = 0x1c;
const BMP: u8 = 0x1e;

/// One AttributeTypeAndValue.
fn atv(oid: &[u8], tag: u8, value: &[u8]) -> Vec<u8> {
    let mut content = tlv(0x06, oid);
    content.extend_from_slice(&tlv(tag, value));
    tlv(0x30, &content)
}

/// An RDN from its members, in the order given (not necessarily DER order).
fn rdn(members: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &members.concat())
}

/// A Name from its RDNs.
fn name(rdns: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &rdns.concat())
}

/// A Name of single-valued RDNs.
fn simple_name(attributes: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    name(
        &attributes
            .iter()
            .map(|&(oid, tag, value)| rdn(&[atv(oid, tag, value)]))
            .collect::<Vec<_>>(),
    )
}

fn bmp(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn ucs4(s: &str) -> Vec<u8> {
    s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect()
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1 only"))
        .collect()
}

/// Subject hash of a crafted name: ours (through the certificate and through
/// the bare name) against `openssl x509 -subject_hash`. Returns OpenSSL's.
fn check_crafted(label: &str, name_der: &[u8]) -> Option<String> {
    let cert = cert_with_subject(name_der);
    let expected = openssl_subject_hash(&cert);
    assert_eq!(
        ours(&cert),
        expected,
        "{label}: certificate_subject_hash vs openssl x509 -subject_hash"
    );
    assert_eq!(
        name_der_hash(name_der).map(hash_hex),
        expected,
        "{label}: name_der_hash vs openssl"
    );
    if let Some(strict) = cafix::subject_hash::name_der_hash_strict(name_der) {
        assert_eq!(
            Some(hash_hex(strict)),
            expected,
            "{label}: name_der_hash_strict vs openssl"
        );
    }
    expected
}

// ---------------------------------------------------------------------------
// The CA bundle

fn bundle_certificates() -> Vec<Vec<u8>> {
    let data = std::fs::read(CA_BUNDLE).unwrap_or_else(|e| panic!("{CA_BUNDLE}: {e} (install ca-certificates)"));
    let items = sections(&data);
    assert!(
        !items.iter().any(|i| matches!(i, PemItem::Malformed(_))),
        "malformed section in {CA_BUNDLE}"
    );
    items
        .into_iter()
        .filter_map(|item| match item {
            PemItem::Certificate(der) => Some(der),
            _ => None,
        })
        .collect()
}

#[test]
fn every_certificate_of_the_system_bundle_hashes_like_openssl() {
    let certs = bundle_certificates();
    assert!(certs.len() > 100, "only {} certificates in {CA_BUNDLE}", certs.len());
    // One openssl process per certificate, spread over a few threads.
    let results: Vec<(usize, Option<(String, String)>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let certs = &certs;
                scope.spawn(move || {
                    (w..certs.len())
                        .step_by(4)
                        .map(|i| (i, openssl_hashes(&certs[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(results.len(), certs.len());
    let mut mismatches = Vec::new();
    for (i, expected) in results {
        let (subject, issuer) = expected.unwrap_or_else(|| panic!("openssl cannot read certificate #{i}"));
        let got_subject = ours(&certs[i]);
        let got_issuer = issuer_hash(&certs[i]);
        if got_subject.as_deref() != Some(&subject) || got_issuer.as_deref() != Some(&issuer) {
            mismatches.push(format!(
                "#{i} {}: subject {got_subject:?} vs {subject}, issuer {got_issuer:?} vs {issuer}",
                subject_as_openssl_shows_it(&certs[i])
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The names `openssl rehash` gives the bundle's certificates in a hash
/// directory, in one run over all of them, are `<our hash>.<n>`.
#[test]
fn openssl_rehash_names_the_bundle_with_our_hashes() {
    let certs = bundle_certificates();
    let dir = TempDir::new("rehash");
    for (i, der) in certs.iter().enumerate() {
        std::fs::write(dir.0.join(format!("cert-{i}.pem")), cafix::pem::encode_certificate(der)).unwrap();
    }
    let out = Command::new("openssl")
        .arg("rehash")
        .arg(&dir.0)
        .output()
        .expect("openssl rehash");
    assert!(
        out.status.success(),
        "openssl rehash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut links = 0;
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        if file.starts_with("cert-") {
            continue;
        }
        let (hash, n) = file
            .split_once('.')
            .unwrap_or_else(|| panic!("unexpected entry {file}"));
        assert!(n.parse::<u32>().is_ok(), "unexpected entry {file}");
        let target = std::fs::read_link(&path).unwrap();
        let index: usize = target
            .to_str()
            .unwrap()
            .trim_start_matches("cert-")
            .trim_end_matches(".pem")
            .parse()
            .unwrap();
        assert_eq!(
            ours(&certs[index]).as_deref(),
            Some(hash),
            "{file} -> {}",
            target.display()
        );
        links += 1;
    }
    // Duplicates (same fingerprint) get no link of their own.
    assert!(links > 100, "openssl rehash made only {links} links");
}

// ---------------------------------------------------------------------------
// Certificates made by `openssl req`

/// Subject hash and issuer hash of a certificate `openssl req` made.
fn check_req(subject: &str, extra: &[&str], config: Option<&str>) {
    let cert = req_cert(subject, extra, config);
    let shown = subject_as_openssl_shows_it(&cert);
    let (expected_subject, expected_issuer) = openssl_hashes(&cert).expect("openssl reads what it made");
    assert_eq!(ours(&cert).as_deref(), Some(&*expected_subject), "subject {shown}");
    assert_eq!(issuer_hash(&cert).as_deref(), Some(&*expected_issuer), "issuer {shown}");
}

const CONFIG_MASK_DEFAULT: &str = "[req]\ndistinguished_name = dn\nstring_mask = default\n[dn]\n";
const CONFIG_MASK_PKIX: &str = "[req]\ndistinguished_name = dn\nstring_mask = pkix\n[dn]\n";
const CONFIG_MASK_NOMBSTR: &str = "[req]\ndistinguished_name = dn\nstring_mask = nombstr\n[dn]\n";

#[test]
fn utf8_subjects_from_openssl_req() {
    for subject in [
        "/CN=Zürich Grüße ÄÖÜ",
        "/CN=東京大学/O=株式会社 テスト/C=JP",
        "/CN=Ελληνικά ΚΕΦΑΛΑΙΑ/O=Кириллица ПРОПИСНЫЕ",
        "/CN=emoji 😀 and Ω/OU=ß ẞ",
        "/CN=MiXeD CaSe ASCII/O=UPPER/OU=lower",
        "/C=DE/ST=Baden-Württemberg/L=Stuttgart/O=Ünïcödé GmbH/OU=IT/CN=www.example.de",
    ] {
        check_req(subject, &["-utf8"], None);
    }
}

#[test]
fn string_masks_pick_printable_t61_bmp_types() {
    // string_mask=default: PrintableString, T61String or BMPString;
    // pkix: PrintableString or BMPString; nombstr: PrintableString or T61.
    for config in [CONFIG_MASK_DEFAULT, CONFIG_MASK_PKIX] {
        for subject in [
            "/CN=Zürich Grüße ÄÖÜ/O=東京/OU=Plain ASCII",
            "/CN=  Ärger  im   Büro /O=TEST",
        ] {
            check_req(subject, &["-utf8"], Some(config));
        }
    }
    check_req(
        "/CN=Zürich Grüße ÄÖÜ/OU=Plain ASCII",
        &["-utf8"],
        Some(CONFIG_MASK_NOMBSTR),
    );
    // Which types came out, to be sure the test covers them.
    let shown = subject_as_openssl_shows_it(&req_cert(
        "/CN=Zürich/O=東京/OU=plain",
        &["-utf8"],
        Some(CONFIG_MASK_DEFAULT),
    ));
    for kind in ["T61STRING", "BMPSTRING", "PRINTABLESTRING"] {
        assert!(shown.contains(kind), "{kind} missing from {shown}");
    }
}

#[test]
fn ia5_and_numeric_attributes_from_openssl_req() {
    // emailAddress and DC are IA5String (canonicalised); INN is a
    // NumericString, which OpenSSL keeps as it is, spaces included.
    check_req("/CN=Mail/emailAddress=Admin@EXAMPLE.org", &[], None);
    check_req("/DC=Example/DC=COM/CN=  x  ", &[], None);
    check_req("/INN= 12  34 /CN=x", &[], None);
    let shown = subject_as_openssl_shows_it(&req_cert("/INN= 12  34 /emailAddress=A@B", &[], None));
    assert!(
        shown.contains("NUMERICSTRING") && shown.contains("IA5STRING"),
        "{shown}"
    );
    // The NumericString's spaces count: a differently spaced one differs.
    let a = ours(&req_cert("/INN=1234", &[], None));
    let b = ours(&req_cert("/INN= 1234", &[], None));
    assert_ne!(a, b);
}

#[test]
fn multi_valued_rdns_from_openssl_req() {
    for subject in [
        "/CN=a+O=b/C=DE",
        "/CN=zeta+O=alpha+OU=Mid/C=DE",
        // Upper case and spaces change the DER order once canonicalised.
        "/CN=B+OU=a/O=x",
        "/OU=B+CN=a/O=x",
        "/CN=    z+OU=yy/O=x",
        "/CN=Zürich+O=ZÜRICH+OU=zürich",
        "/CN=same+CN=SAME+CN=  same ",
    ] {
        check_req(subject, &["-multivalue-rdn", "-utf8"], None);
    }
}

#[test]
fn white_space_and_empty_subjects_from_openssl_req() {
    for subject in [
        "/CN=  leading and trailing  ",
        "/CN=inner    runs   of\t\ttabs \t and spaces/O=\tTab\t",
        "/CN=UPPER CASE/O=   ",
        "/",
    ] {
        check_req(subject, &["-utf8"], None);
    }
}

/// An issuer that is not the subject: a CA signs a leaf.
#[test]
fn issuer_hash_of_a_signed_certificate() {
    let dir = TempDir::new("issuer");
    let path = |f: &str| dir.0.join(f).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let out = openssl(args, b"");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let (ca_key, ca_cert, key, csr, cert) = (
        path("ca.key"),
        path("ca.pem"),
        path("l.key"),
        path("l.csr"),
        path("l.der"),
    );
    let mut args = vec![
        "req",
        "-x509",
        "-utf8",
        "-days",
        "1",
        "-subj",
        "/CN=  Test ROOT  Ä/O=Example\tOrg+OU=B",
    ];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&["-multivalue-rdn", "-keyout", &ca_key, "-out", &ca_cert]);
    run(&args);
    let mut args = vec!["req", "-new", "-subj", "/CN=leaf.example"];
    args.extend_from_slice(&ec);
    args.extend_from_slice(&["-keyout", &key, "-out", &csr]);
    run(&args);
    run(&[
        "x509", "-req", "-in", &csr, "-CA", &ca_cert, "-CAkey", &ca_key, "-days", "1", "-outform", "DER", "-out", &cert,
    ]);
    let leaf = std::fs::read(&cert).unwrap();
    let (subject, issuer) = openssl_hashes(&leaf).unwrap();
    assert_ne!(subject, issuer);
    assert_eq!(ours(&leaf), Some(subject));
    assert_eq!(issuer_hash(&leaf), Some(issuer.clone()));
    // The CA's own subject hash is the leaf's issuer hash.
    let ca_pem = std::fs::read(&ca_cert).unwrap();
    let ca = match sections(&ca_pem).as_slice() {
        [PemItem::Certificate(der)] => der.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(ours(&ca), Some(issuer));
}

// ---------------------------------------------------------------------------
// Crafted names

#[test]
fn bmp_t61_universal_and_other_string_types() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "BMPString Latin",
            simple_name(&[(CN, BMP, &bmp("  Zürich  GRÜSSE ÄÖÜ "))]),
        ),
        (
            "BMPString CJK",
            simple_name(&[(CN, BMP, &bmp("東京 大学")), (O, BMP, &bmp("ABC"))]),
        ),
        ("BMPString empty", simple_name(&[(CN, BMP, b"")])),
        (
            "T61String Latin-1",
            simple_name(&[(CN, T61, &latin1(" Z\u{fc}rich  GR\u{dc}\u{df}E "))]),
        ),
        (
            "T61String high bytes",
            simple_name(&[(CN, T61, &[0x80, 0x9f, 0xa0, 0xff, b'X'])]),
        ),
        (
            "UniversalString",
            simple_name(&[(CN, UNIVERSAL, &ucs4(" Emoji 😀  ÄB "))]),
        ),
        (
            "PrintableString",
            simple_name(&[(C, PRINTABLE, b"DE"), (CN, PRINTABLE, b" Some  Name ")]),
        ),
        (
            "PrintableString off-charset",
            simple_name(&[(CN, PRINTABLE, b"a*b@c_d")]),
        ),
        ("IA5String", simple_name(&[(EMAIL, IA5, b" Admin@EXAMPLE.Org ")])),
        ("IA5String high byte", simple_name(&[(EMAIL, IA5, &[b'A', 0xe9])])),
        (
            "UTF8String",
            simple_name(&[(CN, UTF8, "  Zürich\t\n\r\x0b\x0c ÄÖÜ  ".as_bytes())]),
        ),
        (
            "UTF8String U+10FFFF",
            simple_name(&[(CN, UTF8, "\u{10ffff}".as_bytes())]),
        ),
        ("UTF8String NUL", simple_name(&[(CN, UTF8, b"a\0B")])),
        (
            "UTF8String no-break space",
            simple_name(&[(CN, UTF8, "\u{a0}A\u{a0}".as_bytes())]),
        ),
        (
            "UTF8String empty and blank",
            simple_name(&[(CN, UTF8, b""), (O, UTF8, b" \t ")]),
        ),
        // Not canonicalised: kept as they are.
        ("NumericString", simple_name(&[(CN, NUMERIC, b" 12  34 ")])),
        ("BIT STRING", simple_name(&[(CN, BIT_STRING, &[0x03, 0xaf])])),
        (
            "BIT STRING unused bits set",
            simple_name(&[(CN, BIT_STRING, &[0x03, 0xaf, 0xff])]),
        ),
        (
            "BIT STRING empty with unused bits",
            simple_name(&[(CN, BIT_STRING, &[0x05])]),
        ),
        ("ObjectDescriptor (tag 7)", simple_name(&[(CN, 0x07, b" A ")])),
        ("CHARACTER STRING (tag 29)", simple_name(&[(CN, 0x1d, b" A ")])),
        ("SEQUENCE", simple_name(&[(CN, 0x30, &tlv(UTF8, b" A "))])),
        (
            "mixed",
            simple_name(&[
                (C, PRINTABLE, b"DE"),
                (O, T61, b"Org"),
                (OU, BMP, &bmp("Unit")),
                (CN, UTF8, b"x"),
            ]),
        ),
    ];
    for (label, name_der) in cases {
        let expected = check_crafted(label, &name_der);
        assert!(expected.is_some(), "{label}: OpenSSL was expected to read this name");
    }
}

#[test]
fn the_same_text_in_any_canonicalised_type_hashes_the_same() {
    let text = " Hello   WORLD ";
    let hashes: Vec<Option<String>> = [
        (UTF8, text.as_bytes().to_vec()),
        (PRINTABLE, text.as_bytes().to_vec()),
        (T61, latin1(text)),
        (IA5, text.as_bytes().to_vec()),
        (BMP, bmp(text)),
        (UNIVERSAL, ucs4(text)),
    ]
    .iter()
    .map(|(tag, value)| check_crafted("same text", &simple_name(&[(CN, *tag, value)])))
    .collect();
    assert!(hashes[0].is_some());
    assert!(hashes.iter().all(|h| h == &hashes[0]), "{hashes:?}");
    // ... and that is the hash of the canonical text.
    assert_eq!(
        hashes[0],
        check_crafted("canonical", &simple_name(&[(CN, UTF8, b"hello world")]))
    );
    // A NumericString is not canonicalised, so it differs.
    let numeric = check_crafted("numeric", &simple_name(&[(CN, NUMERIC, b" 1  2 ")]));
    let utf8 = check_crafted("utf8", &simple_name(&[(CN, UTF8, b" 1  2 ")]));
    assert_ne!(numeric, utf8);
}

#[test]
fn multi_valued_rdns_in_any_order() {
    let b_upper = atv(CN, PRINTABLE, b"B");
    let a_lower = atv(CN, UTF8, b"a");
    let long = atv(OU, UTF8, b"     z");
    let short = atv(OU, BMP, &bmp("yy"));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // DER order by the original encoding is B, a; canonically a, b.
        ("B+a", name(&[rdn(&[b_upper.clone(), a_lower.clone()])])),
        ("a+B", name(&[rdn(&[a_lower.clone(), b_upper.clone()])])),
        // Trimming makes the longer member the shorter one.
        (
            "long+short",
            name(&[rdn(&[long.clone(), short.clone()]), rdn(&[atv(C, PRINTABLE, b"DE")])]),
        ),
        (
            "short+long",
            name(&[rdn(&[short.clone(), long.clone()]), rdn(&[atv(C, PRINTABLE, b"DE")])]),
        ),
        // Members equal once canonicalised, and a prefix of one another.
        (
            "dup",
            name(&[rdn(&[
                atv(CN, UTF8, b"x"),
                atv(CN, PRINTABLE, b" X "),
                atv(CN, UTF8, b"xx"),
            ])]),
        ),
        (
            "three",
            name(&[rdn(&[atv(O, UTF8, b"b"), atv(CN, UTF8, b"c"), atv(C, PRINTABLE, b"A")])]),
        ),
    ];
    let mut hashes = Vec::new();
    for (label, name_der) in &cases {
        hashes.push(check_crafted(label, name_der).expect(label));
    }
    assert_eq!(hashes[0], hashes[1], "member order must not matter");
    assert_eq!(hashes[2], hashes[3], "member order must not matter");
    // RDN order does matter.
    let ab = check_crafted("CN=a,CN=b", &simple_name(&[(CN, UTF8, b"a"), (CN, UTF8, b"b")]));
    let ba = check_crafted("CN=b,CN=a", &simple_name(&[(CN, UTF8, b"b"), (CN, UTF8, b"a")]));
    assert_ne!(ab, ba);
}

#[test]
fn empty_subject() {
    assert_eq!(check_crafted("empty", &[0x30, 0x00]).as_deref(), Some("eea339da"));
}

/// Names OpenSSL cannot canonicalise or decode make the certificate
/// unreadable (`openssl x509` fails: "Could not read certificate"); cafix
/// says `None` for them.
#[test]
fn names_openssl_refuses_give_none() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("UTF8String invalid", simple_name(&[(CN, UTF8, b"Z\xfcrich")])),
        ("UTF8String lone continuation", simple_name(&[(CN, UTF8, b"\x80")])),
        ("UTF8String overlong", simple_name(&[(CN, UTF8, b"\xc0\x80")])),
        ("UTF8String surrogate", simple_name(&[(CN, UTF8, b"\xed\xa0\x80")])),
        (
            "UTF8String above U+10FFFF",
            simple_name(&[(CN, UTF8, b"\xf4\x90\x80\x80")]),
        ),
        (
            "UTF8String 5-byte form",
            simple_name(&[(CN, UTF8, b"\xf8\x88\x80\x80\x80")]),
        ),
        ("BMPString odd length", simple_name(&[(CN, BMP, b"\x00A\x00")])),
        ("BMPString surrogate", simple_name(&[(CN, BMP, b"\xd8\x00")])),
        (
            "UniversalString length",
            simple_name(&[(CN, UNIVERSAL, b"\x00\x00\x41")]),
        ),
        (
            "UniversalString above U+10FFFF",
            simple_name(&[(CN, UNIVERSAL, b"\x00\x11\x00\x00")]),
        ),
        ("VisibleString", simple_name(&[(CN, VISIBLE, b"a")])),
        ("OCTET STRING", simple_name(&[(CN, OCTET_STRING, b"a")])),
        ("UTCTime", simple_name(&[(CN, UTC_TIME, b"250101000000Z")])),
        ("NULL", simple_name(&[(CN, 0x05, b"")])),
        ("INTEGER", simple_name(&[(CN, 0x02, b"\x01")])),
        ("application class", simple_name(&[(CN, 0x4c, b"a")])),
        ("context class", simple_name(&[(CN, 0x8c, b"a")])),
        ("primitive SEQUENCE", simple_name(&[(CN, 0x10, b"")])),
        (
            "BIT STRING without unused-bits octet",
            simple_name(&[(CN, BIT_STRING, b"")]),
        ),
        (
            "BIT STRING 8 unused bits",
            simple_name(&[(CN, BIT_STRING, b"\x08\x00")]),
        ),
        (
            "OID empty",
            name(&[rdn(&[tlv(0x30, &[&[0x06, 0x00][..], &tlv(UTF8, b"a")].concat())])]),
        ),
        ("OID 0x80 padding", simple_name(&[(&[0x80, 0x01], UTF8, b"a")])),
        ("OID unterminated", simple_name(&[(&[0x55, 0x84], UTF8, b"a")])),
        (
            "three elements in an attribute",
            name(&[rdn(&[tlv(
                0x30,
                &[tlv(0x06, CN), tlv(UTF8, b"a"), tlv(UTF8, b"b")].concat(),
            )])]),
        ),
        (
            "attribute with a context tag",
            name(&[rdn(&[tlv(0xb0, &[tlv(0x06, CN), tlv(UTF8, b"a")].concat())])]),
        ),
        // x509-parser stops at the bad RDN and keeps CN=a: that hash would be wrong.
        (
            "garbage after a good RDN",
            name(&[rdn(&[atv(CN, UTF8, b"a")]), rdn(&[tlv(UTF8, b"junk")])]),
        ),
        (
            "bad value after a good RDN",
            name(&[rdn(&[atv(CN, UTF8, b"a")]), rdn(&[atv(CN, UTF8, b"\xff")])]),
        ),
    ];
    for (label, name_der) in cases {
        let cert = cert_with_subject(&name_der);
        assert_eq!(
            openssl_subject_hash(&cert),
            None,
            "{label}: OpenSSL was expected to refuse this name"
        );
        assert_eq!(certificate_subject_hash(&cert), None, "{label}");
        assert_eq!(name_der_hash(&name_der), None, "{label}");
    }
}

/// Encodings OpenSSL reads leniently that cafix does not handle: it says
/// `None` rather than risk a wrong hash (see the module documentation).
#[test]
fn documented_divergences_give_none() {
    let good = rdn(&[atv(CN, UTF8, b"a")]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // X.501 wants at least one member; OpenSSL drops the empty RDN.
        ("empty RDN", name(&[rdn(&[]), good.clone()])),
        ("empty RDN last", name(&[good.clone(), rdn(&[])])),
        // A constructed (BER) string; OpenSSL joins the segments.
        (
            "constructed UTF8String",
            name(&[tlv(
                0x31,
                &tlv(
                    0x30,
                    &[tlv(0x06, CN), tlv(0x2c, &[tlv(0x04, b"A "), tlv(0x04, b" B")].concat())].concat(),
                ),
            )]),
        ),
    ];
    for (label, name_der) in cases {
        let cert = cert_with_subject(&name_der);
        assert!(
            openssl_subject_hash(&cert).is_some(),
            "{label}: OpenSSL reads this now; revisit the divergence"
        );
        assert_eq!(certificate_subject_hash(&cert), None, "{label}");
        assert_eq!(name_der_hash(&name_der), None, "{label}");
    }
}

/// BER/DER details OpenSSL keeps or drops that cafix follows.
#[test]
fn encoding_details() {
    // A SEQUENCE value is kept with its original header, even a long-form
    // length where a short one would do.
    let mut long_form = vec![0x30, 0x81, 0x03];
    long_form.extend_from_slice(&tlv(UTF8, b"A"));
    let a = check_crafted(
        "SEQUENCE long-form length",
        &simple_name(&[(CN, 0x30, &long_form[3..])]),
    );
    let seq_long = name(&[rdn(&[tlv(0x30, &[tlv(0x06, CN), long_form.clone()].concat())])]);
    let b = check_crafted("SEQUENCE long-form length", &seq_long);
    assert_ne!(a, b, "the original SEQUENCE header is part of the hash");
    // A string's header is not: a long-form length hashes like a short one.
    let string_long = name(&[rdn(&[tlv(
        0x30,
        &[&tlv(0x06, CN)[..], &[UTF8, 0x81, 0x01, b'A']].concat(),
    )])]);
    assert_eq!(
        check_crafted("UTF8String long-form length", &string_long),
        check_crafted("short", &simple_name(&[(CN, UTF8, b"A")]))
    );
    // Primitive-form SEQUENCE OF / SET OF are read by OpenSSL (and x509-parser).
    assert!(check_crafted("primitive SEQUENCE OF", &[0x10, 0x00]).is_some());
    // Bytes after the name are not part of it.
    let mut trailing = simple_name(&[(CN, UTF8, b"a")]);
    let expected = name_der_hash(&trailing);
    trailing.extend_from_slice(b"\x05\x00");
    assert_eq!(name_der_hash(&trailing), expected);
}

/// Replacing the issuer: `-issuer_hash` against hashing the issuer name.
#[test]
fn crafted_issuers() {
    for (label, issuer) in [
        ("BMP issuer", simple_name(&[(CN, BMP, &bmp(" Root  CA Ä "))])),
        (
            "T61 issuer",
            simple_name(&[(O, T61, &latin1("Gr\u{fc}\u{df}e")), (CN, UNIVERSAL, &ucs4("X"))]),
        ),
        (
            "multi-valued issuer",
            name(&[rdn(&[atv(CN, PRINTABLE, b"B"), atv(CN, UTF8, b"a")])]),
        ),
    ] {
        let cert = cert_with(ISSUER, &issuer);
        let (_, expected) = openssl_hashes(&cert).unwrap_or_else(|| panic!("{label}"));
        assert_eq!(issuer_hash(&cert), Some(expected.clone()), "{label}");
        assert_eq!(name_der_hash(&issuer).map(hash_hex), Some(expected), "{label}");
    }
}

#[test]
fn garbage_is_none_not_a_panic() {
    for data in [
        &b""[..],
        b"\x30",
        b"\x30\x80",
        b"\x30\x05\x31\x03",
        b"not a certificate",
        &[0xff; 64],
    ] {
        assert_eq!(certificate_subject_hash(data), None);
        assert_eq!(name_der_hash(data), None);
    }
}
