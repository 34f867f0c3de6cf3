//! A bundle is whatever file sits at the bundle path, and the certificate a
//! failed verification is explained by comes from the peer: both are
//! untrusted input. Parsing must never panic and the index must be sound.
#![no_main]

use cafix::bundle::BundleIndex;
use cafix::explain::CertSummary;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = CertSummary::from_der(data);
    let index = BundleIndex::parse("/fuzz".into(), data.to_vec());
    assert!(index.certs.windows(2).all(|w| w[0].subject_hash <= w[1].subject_hash));
    for cert in &index.certs {
        assert!(index.with_hash(cert.subject_hash).iter().any(|c| c.der == cert.der));
        assert_eq!(cafix::subject_hash::certificate_subject_hash(&cert.der), Some(cert.subject_hash));
    }
    if index.certs.is_empty() {
        assert!(!index.problems.is_empty());
    }
});
