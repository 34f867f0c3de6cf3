//! Java keystores from arbitrary bytes: `keystore::parse` never panics, and
//! a store it can write a copy of reads back with exactly its trusted
//! certificates and the added one after them, in the same format, with an
//! integrity check that still verifies.
#![no_main]

use cafix::keystore::{self, Integrity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(store) = keystore::parse(data) else { return };
    assert!(store.trusted.len() <= data.len());
    let added: &[u8] = b"\x30\x03\x02\x01\x07";
    let Ok(copy) = store.with_added(data, &[added], 0) else {
        return;
    };
    let again = keystore::parse(&copy).expect("a written copy reads back");
    assert_eq!(again.format, store.format);
    assert_ne!(again.integrity, Integrity::OtherPassword);
    assert_eq!(again.encrypted_certs, store.encrypted_certs);
    let mut expected: Vec<&[u8]> = store.trusted_ders().collect();
    expected.push(added);
    assert_eq!(again.trusted_ders().collect::<Vec<_>>(), expected);
    assert_eq!(again.private_keys, store.private_keys);
});
