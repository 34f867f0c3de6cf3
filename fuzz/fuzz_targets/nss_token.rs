//! The token NSS programs get is built from local CAs, which come from files
//! an administrator (or anyone who can write an anchor directory) put there:
//! untrusted input. Building the objects must never panic; a certificate
//! object's value is the input itself, each object matches a template of
//! its own attributes, and a certificate is found in a bundle's text that
//! holds its PEM block.
#![no_main]

use cafix::local_cas::text_holds_certificate;
use cafix::nss_token::{objects_for, ulong, CKO_NSS_TRUST};
use cryptoki_sys::{CKA_CLASS, CKA_VALUE, CKO_CERTIFICATE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (objects, refused) = objects_for([(data, "fuzz")]);
    assert!(objects.len() == 2 || (objects.is_empty() && refused == ["fuzz"]));
    if let [cert, trust] = &objects[..] {
        assert_eq!(cert.attribute(CKA_CLASS), Some(&ulong(CKO_CERTIFICATE)[..]));
        assert_eq!(cert.attribute(CKA_VALUE), Some(data));
        assert_eq!(trust.attribute(CKA_CLASS), Some(&ulong(CKO_NSS_TRUST)[..]));
    }
    for object in &objects {
        let template: Vec<_> = [CKA_CLASS, CKA_VALUE]
            .into_iter()
            .filter_map(|kind| object.attribute(kind).map(|value| (kind, value)))
            .collect();
        assert!(object.matches(&template));
    }
    let pem = cafix::pem::encode_certificate(data);
    let mut text = b"garbage\n".to_vec();
    text.extend_from_slice(&pem);
    text.extend_from_slice(data);
    assert!(text_holds_certificate(&text, data));
    let _ = text_holds_certificate(data, data);
});
