//! A strict, allocation-free walk of a DER certificate: what the bundle index
//! needs to file a certificate under its subject hash without parsing it in
//! full (`x509-parser` takes ~15 µs a certificate, most of it building what
//! a lookup never reads).
//!
//! The walk accepts a subset of what `x509-parser` accepts, so that a
//! certificate it accepts is one [`crate::bundle::CaCert::from_der`] accepts
//! too, and the index can leave that parse for the certificate's first use.
//! Where `x509-parser` is lenient (content left over inside a `SEQUENCE`,
//! non-minimal lengths, BER booleans, a truncated name, time strings without
//! seconds, unique identifiers, any unused-bits count) the walk refuses, and
//! the caller falls back to the full parse, which decides as it always did.
//! What it checks:
//!
//! - every TLV: a one-octet identifier (tag below 31), a definite length in
//!   its shortest form (at most four length octets), content inside its
//!   parent; every `SEQUENCE`/`SET` is constructed and its content is exactly
//!   its elements;
//! - `Certificate ::= SEQUENCE { tbsCertificate, AlgorithmIdentifier, BIT
//!   STRING }` and nothing more;
//! - `TBSCertificate`: an optional `[0] { INTEGER 0..2 }` version, an INTEGER
//!   serial (not empty), AlgorithmIdentifier, issuer Name, Validity, subject
//!   Name, SubjectPublicKeyInfo, and optionally `[3] { SEQUENCE OF Extension }`
//!   as the last element (no unique identifiers);
//! - AlgorithmIdentifier `SEQUENCE { OID, [one TLV] }`; an OID is primitive,
//!   not empty and well formed ([`crate::der::is_valid_oid_encoding`]);
//! - a Name is `SEQUENCE OF SET OF SEQUENCE { OID, one TLV }`, no `SET` empty;
//! - Validity: two times, each `YYMMDDHHMMSSZ` (UTCTime) or `YYYYMMDDHHMMSSZ`
//!   (GeneralizedTime), a real calendar date and time (years 50–99 are 19xx);
//! - BIT STRING (key, signature): primitive, an unused-bits octet of at most 7,
//!   zero when there are no bits, and those bits clear (as DER says);
//! - `Extension ::= SEQUENCE { OID, [BOOLEAN 00 or ff], OCTET STRING }`.
//!
//! The differential fuzz target `cert_walk` checks that every certificate
//! the walk accepts, `x509-parser` accepts with the same subject hash and the
//! same subject and issuer.

use std::ops::Range;

use crate::der::{expect, name, oid, read, SEQUENCE};
use crate::subject_hash;

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;
const EXTENSIONS: u8 = 0xa3;

/// Where a certificate's parts are, as byte ranges of its DER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The issuer Name, header included.
    pub issuer: Range<usize>,
    /// The subject Name, header included.
    pub subject: Range<usize>,
    /// The certificate's own length (what follows it is not looked at).
    pub len: usize,
}

/// The certificate's layout, if the strict walk accepts it.
pub fn certificate_layout(der: &[u8]) -> Option<Layout> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, rest) = expect(cert.content, SEQUENCE)?;
    let rest = algorithm_identifier(rest)?;
    let (signature, rest) = expect(rest, BIT_STRING)?;
    bit_string(signature.content)?;
    if !rest.is_empty() {
        return None;
    }

    let mut t = tbs.content;
    if t.first() == Some(&VERSION) {
        let (version, rest) = read(t)?;
        if !matches!(version.content, [INTEGER, 1, 0..=2]) {
            return None;
        }
        t = rest;
    }
    let (serial, t) = expect(t, INTEGER)?;
    if serial.content.is_empty() {
        return None;
    }
    let t = algorithm_identifier(t)?;
    let (issuer, t) = expect(t, SEQUENCE)?;
    name(issuer.content)?;
    let (validity, t) = expect(t, SEQUENCE)?;
    let rest = time(validity.content)?;
    if !time(rest)?.is_empty() {
        return None;
    }
    let (subject, t) = expect(t, SEQUENCE)?;
    name(subject.content)?;
    let (spki, t) = expect(t, SEQUENCE)?;
    let rest = algorithm_identifier(spki.content)?;
    let (key, rest) = expect(rest, BIT_STRING)?;
    bit_string(key.content)?;
    if !rest.is_empty() {
        return None;
    }
    if !t.is_empty() {
        let (explicit, rest) = expect(t, EXTENSIONS)?;
        if !rest.is_empty() {
            return None;
        }
        extensions(explicit.content)?;
    }
    let at = |part: &[u8]| {
        let start = part.as_ptr() as usize - der.as_ptr() as usize;
        start..start + part.len()
    };
    Some(Layout {
        issuer: at(issuer.whole),
        subject: at(subject.whole),
        len: cert.whole.len(),
    })
}

/// The subject hash of a certificate the strict walk accepts: always what
/// [`crate::subject_hash::certificate_subject_hash`] answers for it. `None`
/// says only that the walk did not decide (ask the full parse).
pub fn subject_hash(der: &[u8]) -> Option<u32> {
    let layout = certificate_layout(der)?;
    subject_hash::name_der_hash_strict(&der[layout.subject])
}

/// `SEQUENCE { OID, [one TLV] }` at the front of `input`; what follows it.
fn algorithm_identifier(input: &[u8]) -> Option<&[u8]> {
    let (alg, rest) = expect(input, SEQUENCE)?;
    let params = oid(alg.content)?;
    if !params.is_empty() && !read(params)?.1.is_empty() {
        return None;
    }
    Some(rest)
}

/// BIT STRING content as DER has it.
fn bit_string(content: &[u8]) -> Option<()> {
    let (&unused, bits) = content.split_first()?;
    let ok = match bits.last() {
        None => unused == 0,
        Some(&last) => unused <= 7 && last & !(0xffu8 << unused) == 0,
    };
    ok.then_some(())
}

/// One UTCTime or GeneralizedTime at the front of `input`, in the strict
/// form (seconds, `Z`, nothing else); what follows it.
fn time(input: &[u8]) -> Option<&[u8]> {
    let (time, rest) = read(input)?;
    let digits = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let (year, tail) = match (time.identifier, time.content) {
        (UTC_TIME, [y @ .., b'Z']) if y.len() == 12 => {
            let yy = digits(&y[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &y[2..])
        }
        (GENERALIZED_TIME, [y @ .., b'Z']) if y.len() == 14 => (digits(&y[..4])?, &y[4..]),
        _ => return None,
    };
    let (month, day) = (digits(&tail[0..2])?, digits(&tail[2..4])?);
    let (hour, minute, second) = (digits(&tail[4..6])?, digits(&tail[6..8])?, digits(&tail[8..10])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (day >= 1 && day <= days && hour < 24 && minute < 60 && second < 60).then_some(rest)
}

/// The content of `[3]`: exactly one `SEQUENCE OF Extension`.
fn extensions(explicit: &[u8]) -> Option<()> {
    let (list, rest) = expect(explicit, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let mut list = list.content;
    while !list.is_empty() {
        let (extension, rest) = expect(list, SEQUENCE)?;
        list = rest;
        let mut e = oid(extension.content)?;
        if e.first() == Some(&BOOLEAN) {
            let (critical, rest) = read(e)?;
            if !matches!(critical.content, [0x00] | [0xff]) {
                return None;
            }
            e = rest;
        }
        let (_, rest) = expect(e, OCTET_STRING)?;
        if !rest.is_empty() {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_checked_as_dates() {
        let t = |id: u8, s: &str| {
            let mut v = vec![id, s.len() as u8];
            v.extend_from_slice(s.as_bytes());
            time(&v).is_some()
        };
        assert!(t(UTC_TIME, "491231235959Z"));
        assert!(t(UTC_TIME, "000229000000Z")); // 2000 is a leap year
        assert!(!t(UTC_TIME, "990229000000Z")); // 1999 is not
        assert!(!t(UTC_TIME, "491231235960Z"));
        assert!(!t(UTC_TIME, "4912312359Z")); // no seconds: x509-parser takes it, we do not
        assert!(!t(UTC_TIME, "491231235959+0000"));
        assert!(!t(UTC_TIME, "491300000000Z"));
        assert!(!t(UTC_TIME, "491200000000Z")); // day 0
        assert!(t(GENERALIZED_TIME, "20991231235959Z"));
        assert!(!t(GENERALIZED_TIME, "21000229000000Z"));
        assert!(t(GENERALIZED_TIME, "24000229000000Z"));
        assert!(!t(GENERALIZED_TIME, "20991231235959.5Z"));
        assert!(!t(UTC_TIME, "20991231235959Z"));
    }

    #[test]
    fn bit_strings_as_der_has_them() {
        assert!(bit_string(&[0]).is_some());
        assert!(bit_string(&[1]).is_none());
        assert!(bit_string(&[0, 0xff]).is_some());
        assert!(bit_string(&[3, 0xf8]).is_some());
        assert!(bit_string(&[3, 0xfc]).is_none());
        assert!(bit_string(&[8, 0x00]).is_none());
        assert!(bit_string(&[]).is_none());
    }
}
