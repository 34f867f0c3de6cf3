//! Differential: arbitrary bytes as a DER `Name`, hashed by cafix and by the
//! real libcrypto (`d2i_X509_NAME` + `X509_NAME_hash_ex`).
//!
//! - Whenever cafix gives a hash for a name in DER (as the strict reader of
//!   `der_walk` reads it), OpenSSL decodes the name and gives the same. For
//!   BER input (`30 81 00`, a 6-octet length inside a value) x509-parser is
//!   more lenient than OpenSSL, whose own acceptance of BER is irregular;
//!   cafix hashes only names of certificates it parsed, which are DER.
//! - Whenever cafix says `None` but OpenSSL hashes the name, it is one of the
//!   documented cases cafix does not handle: x509-parser cannot read the name
//!   or stops before its end (it does at an empty RDN), or a value is a
//!   constructed (BER) string.
#![no_main]

use cafix::subject_hash::{name_der_hash, name_der_hash_strict};
use foreign_types::ForeignType;
use libfuzzer_sys::fuzz_target;
use std::os::raw::{c_char, c_int, c_ulong, c_void};
use x509_parser::prelude::{FromDer, X509Name};

extern "C" {
    fn X509_NAME_hash_ex(
        name: *const openssl_sys::X509_NAME,
        libctx: *mut c_void,
        propq: *const c_char,
        ok: *mut c_int,
    ) -> c_ulong;
}

/// OpenSSL's hash and the length of the encoding it read.
fn openssl_hash(der: &[u8]) -> Option<(u32, usize)> {
    let name = openssl::x509::X509Name::from_der(der).ok()?;
    let mut ok: c_int = 0;
    // SAFETY: a valid X509_NAME owned by `name` for the duration of the call.
    let hash = unsafe { X509_NAME_hash_ex(name.as_ptr(), std::ptr::null_mut(), std::ptr::null(), &mut ok) };
    let read = name.to_der().ok()?.len(); // the cached original encoding
    (ok == 1).then_some((hash as u32, read))
}

fn has_constructed_string(name: &X509Name<'_>) -> bool {
    name.iter()
        .flat_map(|rdn| rdn.iter())
        .any(|atv| atv.attr_value().header.is_constructed() && atv.attr_value().header.tag().0 != 16)
}

fuzz_target!(|data: &[u8]| {
    let ours = name_der_hash(data);
    let theirs = openssl_hash(data);
    match ours {
        Some(hash) if theirs.is_none() && name_der_hash_strict(data).is_none() => {
            let _ = hash; // BER that OpenSSL refuses (see above)
        }
        Some(hash) => assert_eq!(Some(hash), theirs.map(|t| t.0), "cafix {hash:08x}, OpenSSL {theirs:x?}"),
        None => {
            if let (Some((theirs, read)), Ok((_, name))) = (theirs, X509Name::from_der(data)) {
                assert!(
                    name.as_raw().len() != read || has_constructed_string(&name),
                    "x509-parser reads the whole name, OpenSSL hashes it ({theirs:08x}), cafix gives None"
                );
            }
        }
    }
});
