//! Arbitrary bytes as a DER certificate and as a DER `Name`: the subject hash
//! must never panic, and canonicalisation must be idempotent (the canonical
//! encoding, read back as a name, canonicalises to itself).
#![no_main]

use cafix::subject_hash::{canonical_encoding, certificate_subject_hash, hash_of_canonical, name_der_hash, push_tlv};
use libfuzzer_sys::fuzz_target;
use x509_parser::prelude::{FromDer, X509Name};

fuzz_target!(|data: &[u8]| {
    let _ = certificate_subject_hash(data);
    let hash = name_der_hash(data);
    let Ok((_, name)) = X509Name::from_der(data) else {
        assert_eq!(hash, None);
        return;
    };
    let canonical = canonical_encoding(&name);
    assert_eq!(hash, canonical.as_deref().map(hash_of_canonical));
    if let Some(canonical) = canonical {
        let mut again = Vec::new();
        push_tlv(&mut again, 0x30, &canonical);
        let (_, reread) = X509Name::from_der(&again).expect("a canonical encoding is a DER name");
        assert_eq!(
            canonical_encoding(&reread).as_deref(),
            Some(&canonical[..]),
            "not idempotent"
        );
    }
});
