//! Arbitrary bytes as a PEM bundle: `pem::sections` must never panic, and
//! every certificate it finds must survive `encode_certificate` and a second
//! read unchanged.
#![no_main]

use cafix::pem::{encode_certificate, sections, PemItem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for item in sections(data) {
        if let PemItem::Certificate(der) = item {
            let pem = encode_certificate(&der);
            match sections(&pem).as_slice() {
                [PemItem::Certificate(back)] => assert_eq!(back, &der),
                [] if der.is_empty() => {}
                other => panic!("{} DER bytes re-read as {other:?}", der.len()),
            }
        }
    }
});
