//! The bundle index's fast path against the full parse it stands in for.
//! `der_walk` must accept only certificates `x509-parser` accepts, and find
//! the same subject and issuer there; the strict name hash must be the full
//! one wherever it answers; the fast PEM reader must answer as the reference
//! reader; and the index built from any bytes must be the reference index.
#![no_main]

use cafix::bundle::{BundleIndex, CaCert};
use cafix::{der_walk, pem, subject_hash};
use libfuzzer_sys::fuzz_target;
use x509_parser::certificate::X509CertificateParser;
use x509_parser::nom::Parser;

fuzz_target!(|data: &[u8]| {
    // As a DER certificate.
    if let Some(layout) = der_walk::certificate_layout(data) {
        let mut parser = X509CertificateParser::new().with_deep_parse_extensions(false);
        let (_, cert) = parser
            .parse(data)
            .unwrap_or_else(|e| panic!("der_walk accepts what x509-parser refuses: {e:?}"));
        assert_eq!(&data[layout.subject.clone()], cert.subject().as_raw());
        assert_eq!(&data[layout.issuer.clone()], cert.issuer().as_raw());
        assert_eq!(layout.len, cert.as_raw().len());
        // Where the walk accepts the certificate, the strict name hash
        // decides exactly where the full one does, and agrees.
        let full_hash = subject_hash::name_hash(cert.subject());
        assert_eq!(der_walk::subject_hash(data), full_hash);
        assert_eq!(
            subject_hash::name_der_hash_strict(&data[layout.issuer.clone()]),
            subject_hash::name_hash(cert.issuer())
        );
        if full_hash.is_some() {
            let full = CaCert::from_der(data.to_vec()).expect("the index entry's full parse");
            assert_eq!(full.subject_hash, full_hash.unwrap());
        }
    }
    // As a DER Name.
    if let Some(strict) = subject_hash::name_der_hash_strict(data) {
        assert_eq!(Some(strict), subject_hash::name_der_hash(data));
    }
    // As a PEM bundle.
    assert_eq!(
        format!("{:?}", pem::sections(data)),
        format!("{:?}", pem::sections_reference(data))
    );
    let fast = BundleIndex::parse("/fuzz".into(), data.to_vec());
    let full = BundleIndex::parse_reference("/fuzz".into(), data.to_vec());
    assert_eq!(fast.problems, full.problems);
    assert!(fast.certs.hashes_and_ders().eq(full.certs.hashes_and_ders()));
    assert_eq!(format!("{:?}", &*fast.certs), format!("{:?}", &*full.certs));
});
