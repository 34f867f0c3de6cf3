//! OpenSSL's subject-name hash (`X509_NAME_hash`, `openssl x509 -subject_hash`),
//! the name `openssl rehash` / `c_rehash` give to `<hash>.<n>` entries.
//!
//! OpenSSL does not hash the name's DER as it appears in the certificate but a
//! *canonical* encoding (`x509_name_canon` in `crypto/x509/x_name.c`):
//! - every string value of a type in `ASN1_MASK_CANON` (UTF8String,
//!   PrintableString, T61String, IA5String, VisibleString, UniversalString,
//!   BMPString) is converted to UTF-8, stripped of leading and trailing
//!   ASCII white space, inner runs of white space collapse to one space,
//!   ASCII letters are lower-cased, and it is re-encoded as a UTF8String;
//!   values of any other type are kept as they are;
//! - each RDN is encoded as a DER `SET OF` (members sorted by encoding), and
//!   the RDNs are concatenated *without* the outer `SEQUENCE` header;
//! - an empty name has an empty encoding.
//!
//! The hash is the first four bytes of the SHA-1 of that encoding, read
//! little-endian. No crate implements this canonical form, so it is here.
//!
//! What OpenSSL refuses, we refuse (`None`): OpenSSL decodes a value as an
//! `ASN1_PRINTABLE`, so a value that is not of the universal class or whose
//! type is not in `B_ASN1_PRINTABLE` (VisibleString, OCTET STRING, INTEGER,
//! the time types, NULL, OID, BOOLEAN, ...) makes the whole name, and so the
//! certificate, unreadable; so does a string that does not convert to UTF-8
//! (invalid UTF-8 in a UTF8String, a surrogate in a BMPString, a code point
//! above U+10FFFF, an odd-length BMPString), an attribute type that is not a
//! valid OID encoding, a BIT STRING without its unused-bits octet or with more
//! than 7 unused bits, and a primitive SEQUENCE. A BIT STRING is re-encoded as
//! OpenSSL does (unused bits cleared, no unused bits when it is empty).
//!
//! Where OpenSSL would still produce a hash, `None` also stands for input this
//! module does not handle: encodings DER forbids and `x509-parser` rejects
//! (indefinite lengths, an empty RDN `SET`, which OpenSSL drops; a
//! PrintableString that is not UTF-8) and constructed (BER) encodings of
//! string types. A `Some` hash is always OpenSSL's; the differential fuzz
//! target `subject_hash_openssl` checks exactly that against libcrypto.

use sha1::{Digest, Sha1};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

use crate::der::is_valid_oid_encoding;

// Universal tag numbers OpenSSL treats specially in names.
const TAG_BIT_STRING: u32 = 3;
const TAG_SEQUENCE: u32 = 16;

// Universal tag numbers of the string types OpenSSL canonicalises.
const TAG_UTF8_STRING: u32 = 12;
const TAG_PRINTABLE_STRING: u32 = 19;
const TAG_T61_STRING: u32 = 20;
const TAG_IA5_STRING: u32 = 22;
const TAG_VISIBLE_STRING: u32 = 26;
const TAG_UNIVERSAL_STRING: u32 = 28;
const TAG_BMP_STRING: u32 = 30;

/// Formats a subject hash the way OpenSSL names hash-directory entries.
pub fn hash_hex(hash: u32) -> String {
    format!("{hash:08x}")
}

/// The subject hash of a DER certificate, or `None` if it does not parse or
/// OpenSSL could not canonicalise its subject either.
pub fn certificate_subject_hash(cert_der: &[u8]) -> Option<u32> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    name_hash(cert.subject())
}

/// The subject hash of a DER-encoded `Name`.
pub fn name_der_hash(name_der: &[u8]) -> Option<u32> {
    let (_, name) = X509Name::from_der(name_der).ok()?;
    name_hash(&name)
}

/// The subject hash of a DER-encoded `Name` (the whole input, nothing after
/// it), read with [`crate::der`]'s strict reader instead of
/// `x509-parser`: `Some` is always [`name_der_hash`]'s answer; `None` also
/// stands for encodings the strict reader refuses (non-minimal lengths, high
/// tag numbers, an empty RDN, anything after an attribute's value), where
/// [`name_der_hash`] decides.
pub fn name_der_hash_strict(name_der: &[u8]) -> Option<u32> {
    let canon = canonical_encoding_strict(name_der)?;
    Some(hash_of_canonical(&canon))
}

/// [`canonical_encoding`] of a DER `Name` read with the strict reader: the
/// same attribute values go through the same [`Buffers::push_member`], so where
/// both readers accept a name (the strict one accepts a subset: exactly the
/// RDNs and attributes that `x509-parser` reads and [`raw_values`] checks)
/// they give the same encoding.
pub fn canonical_encoding_strict(name_der: &[u8]) -> Option<Vec<u8>> {
    use crate::der::read;
    let (name, rest) = read(name_der)?;
    if name.identifier != 0x30 || !rest.is_empty() {
        return None;
    }
    crate::der::name(name.content)?;
    let mut out = Vec::with_capacity(name.content.len());
    let mut b = Buffers::with_capacity(name.content.len());
    let mut rdns = name.content;
    while !rdns.is_empty() {
        let (rdn, rest) = read(rdns)?;
        rdns = rest;
        b.start_rdn();
        let mut atvs = rdn.content;
        while !atvs.is_empty() {
            let (atv, rest) = read(atvs)?;
            atvs = rest;
            let (oid, value) = read(atv.content)?;
            let (value, _) = read(value)?;
            let identifier = value.identifier;
            let value = AttrValue {
                universal: identifier >> 6 == 0,
                tag: u32::from(identifier & 0x1f),
                constructed: identifier & 0x20 != 0,
                identifier: Some(identifier),
                content: value.content,
                whole: value.whole,
            };
            b.push_member(oid.content, &value)?;
        }
        b.push_rdn(&mut out);
    }
    Some(out)
}

/// The OpenSSL hash of a parsed name.
pub fn name_hash(name: &X509Name<'_>) -> Option<u32> {
    let canon = canonical_encoding(name)?;
    Some(hash_of_canonical(&canon))
}

/// First four bytes of SHA-1, little-endian, as `X509_NAME_hash_ex` does.
pub fn hash_of_canonical(canonical: &[u8]) -> u32 {
    let digest = Sha1::digest(canonical);
    u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// OpenSSL's canonical encoding of a name (see the module documentation).
pub fn canonical_encoding(name: &X509Name<'_>) -> Option<Vec<u8>> {
    let mut raw_values = raw_values(name)?.into_iter();
    let mut out = Vec::new();
    let mut b = Buffers::with_capacity(name.as_raw().len());
    for rdn in name.iter() {
        b.start_rdn();
        for atv in rdn.iter() {
            let value = atv.attr_value();
            let value = AttrValue {
                universal: value.header.class() == x509_parser::der_parser::asn1_rs::Class::Universal,
                tag: value.header.tag().0,
                constructed: value.header.is_constructed(),
                identifier: identifier_octet(value),
                content: value.data,
                whole: raw_values.next()?,
            };
            b.push_member(atv.attr_type().as_bytes(), &value)?;
        }
        b.push_rdn(&mut out);
    }
    Some(out)
}

/// One attribute value, as either reader of names sees it.
struct AttrValue<'a> {
    universal: bool,
    tag: u32,
    constructed: bool,
    /// The identifier octet, when the tag fits in one.
    identifier: Option<u8>,
    content: &'a [u8],
    /// The value's whole encoding, header included, as it is in the name.
    whole: &'a [u8],
}

/// Buffers kept across the attributes of one name, so that canonicalising
/// it allocates only while they grow: the RDN being built and where each of
/// its members is, and the current value's UTF-8, canonical text and TLV.
struct Buffers {
    rdn: Vec<u8>,
    members: Vec<std::ops::Range<usize>>,
    utf8: Vec<u8>,
    text: Vec<u8>,
    value: Vec<u8>,
}

impl Buffers {
    /// Room for a name of `len` bytes, whose values are shorter.
    fn with_capacity(len: usize) -> Buffers {
        let value = len.min(128) + 8;
        Buffers {
            rdn: Vec::with_capacity(value + 16),
            members: Vec::with_capacity(2),
            utf8: Vec::with_capacity(value),
            text: Vec::with_capacity(value),
            value: Vec::with_capacity(value),
        }
    }

    fn start_rdn(&mut self) {
        self.rdn.clear();
        self.members.clear();
    }

    /// Adds one attribute to the RDN in canonical form: `SEQUENCE { OID,
    /// canonical value }`.
    fn push_member(&mut self, oid: &[u8], value: &AttrValue<'_>) -> Option<()> {
        let tag = value.tag;
        if !value.universal || !is_printable_type(tag) {
            return None; // d2i of ASN1_PRINTABLE fails: MSTRING_NOT_UNIVERSAL / MSTRING_WRONG_TAG
        }
        self.value.clear();
        if tag == TAG_SEQUENCE {
            // Kept in its encoded form, header included, however long its
            // length octets; it must be constructed.
            if !value.constructed {
                return None;
            }
            self.value.extend_from_slice(value.whole);
        } else if value.constructed {
            // A constructed (BER) string, which DER forbids: OpenSSL joins
            // the segments; not handled here.
            return None;
        } else if is_canonicalised_type(tag) {
            to_utf8_into(tag, value.content, &mut self.utf8)?;
            canonicalise_text_into(&self.utf8, &mut self.text);
            push_tlv(&mut self.value, TAG_UTF8_STRING as u8, &self.text);
        } else if tag == TAG_BIT_STRING {
            push_tlv(
                &mut self.value,
                TAG_BIT_STRING as u8,
                &bit_string_content(value.content)?,
            );
        } else {
            // Kept as it is: re-emit the original identifier and content.
            push_tlv(&mut self.value, value.identifier?, value.content);
        }
        if !is_valid_oid_encoding(oid) {
            return None;
        }
        let start = self.rdn.len();
        push_header(&mut self.rdn, 0x30, tlv_len(oid.len()) + self.value.len());
        push_tlv(&mut self.rdn, 0x06, oid);
        self.rdn.extend_from_slice(&self.value);
        self.members.push(start..self.rdn.len());
        Some(())
    }

    /// Appends the RDN, a DER `SET OF` of its members, to `out`.
    fn push_rdn(&mut self, out: &mut Vec<u8>) {
        if self.members.len() > 1 {
            // DER SET OF: members in ascending order of their encodings, the
            // shorter first where one is a prefix of the other (OpenSSL's der_cmp).
            let rdn = &self.rdn;
            self.members.sort_by(|a, b| {
                let (a, b) = (&rdn[a.clone()], &rdn[b.clone()]);
                let common = a.len().min(b.len());
                a[..common].cmp(&b[..common]).then(a.len().cmp(&b.len()))
            });
        }
        push_header(out, 0x31, self.rdn.len());
        for m in &self.members {
            out.extend_from_slice(&self.rdn[m.clone()]);
        }
    }
}

/// The universal types an `ASN1_PRINTABLE` accepts: `ASN1_tag2bit(tag)`
/// within `B_ASN1_PRINTABLE` (BIT STRING, UTF8String, SEQUENCE, NumericString,
/// PrintableString, T61String, IA5String, UniversalString, BMPString, and the
/// tags OpenSSL maps to `B_ASN1_UNKNOWN`). VisibleString is not among them.
fn is_printable_type(tag: u32) -> bool {
    matches!(
        tag,
        3 | 7 | 8 | 9 | 11 | 12 | 13 | 14 | 15 | 16 | 18 | 19 | 20 | 22 | 28 | 29 | 30
    )
}

/// `c2i_ASN1_BIT_STRING` then `i2c_ASN1_BIT_STRING`: the unused-bits octet
/// must be present and at most 7, the unused bits are cleared, and an empty
/// bit string is written with no unused bits.
fn bit_string_content(data: &[u8]) -> Option<Vec<u8>> {
    let (&unused, bits) = data.split_first()?;
    if unused > 7 {
        return None;
    }
    if bits.is_empty() {
        return Some(vec![0]);
    }
    let mut out = data.to_vec();
    let last = out.len() - 1;
    out[last] &= 0xff << unused;
    Some(out)
}

/// The raw encoding of every attribute value, in order, after checking that
/// `x509-parser` read every RDN and every attribute of the name.
///
/// It stops quietly at the first RDN it cannot parse (an empty `SET`, a
/// malformed attribute), keeping only those before it, and ignores what
/// follows the value inside an attribute's `SEQUENCE`, or a wrong tag there;
/// OpenSSL refuses the latter and drops empty RDNs but reads the rest, so
/// hashing what `x509-parser` kept would give a hash OpenSSL never computes.
/// This walks the raw encoding again and checks that it holds exactly the
/// parsed RDNs, each with exactly its parsed attributes of two elements.
fn raw_values<'a>(name: &X509Name<'a>) -> Option<Vec<&'a [u8]>> {
    use x509_parser::der_parser::asn1_rs::{Any, Class, FromDer};
    // Universal tag and, where OpenSSL checks it, the constructed bit: like
    // x509-parser, OpenSSL does not check it on a SEQUENCE OF or SET OF.
    const SEQUENCE_OF: Option<(u32, Option<bool>)> = Some((16, None));
    const SET_OF: Option<(u32, Option<bool>)> = Some((17, None));
    const SEQUENCE: Option<(u32, Option<bool>)> = Some((16, Some(true)));
    const OID: Option<(u32, Option<bool>)> = Some((6, Some(false)));
    // One TLV of the expected type (None: any): its content and what follows.
    fn tlv(input: &[u8], expected: Option<(u32, Option<bool>)>) -> Option<(&[u8], &[u8])> {
        let (rest, any) = <Any<'_> as FromDer<'_>>::from_der(input).ok()?;
        if let Some((tag, constructed)) = expected {
            let header = &any.header;
            if header.class() != Class::Universal
                || header.tag().0 != tag
                || constructed.is_some_and(|c| c != header.is_constructed())
            {
                return None;
            }
        }
        Some((any.data, rest))
    }
    let (mut rdns, rest) = tlv(name.as_raw(), SEQUENCE_OF)?;
    if !rest.is_empty() {
        return None;
    }
    let mut values = Vec::new();
    let mut parsed = name.iter();
    while !rdns.is_empty() {
        let (mut members, rest) = tlv(rdns, SET_OF)?;
        rdns = rest;
        let mut count = 0;
        while !members.is_empty() {
            let (atv, rest) = tlv(members, SEQUENCE)?;
            members = rest;
            let (_, value) = tlv(atv, OID)?;
            let (_, after_value) = tlv(value, None)?;
            if !after_value.is_empty() {
                return None;
            }
            values.push(value);
            count += 1;
        }
        if parsed.next()?.iter().count() != count {
            return None;
        }
    }
    parsed.next().is_none().then_some(values)
}

/// Types in `ASN1_MASK_CANON`. VisibleString is listed there, but a name
/// holding one never decodes ([`is_printable_type`]).
fn is_canonicalised_type(tag: u32) -> bool {
    matches!(
        tag,
        TAG_UTF8_STRING
            | TAG_PRINTABLE_STRING
            | TAG_T61_STRING
            | TAG_IA5_STRING
            | TAG_VISIBLE_STRING
            | TAG_UNIVERSAL_STRING
            | TAG_BMP_STRING
    )
}

fn identifier_octet(value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Option<u8> {
    use x509_parser::der_parser::asn1_rs::Class;
    let tag = value.header.tag().0;
    if tag >= 31 {
        return None; // high tag numbers never occur in names OpenSSL accepts
    }
    let class_bits = match value.header.class() {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let constructed = if value.header.is_constructed() { 0x20 } else { 0 };
    Some(class_bits | constructed | tag as u8)
}

/// `ASN1_STRING_to_UTF8`: one-byte types are Latin-1, BMPString is UCS-2 and
/// UniversalString UCS-4 (both big-endian); UTF8String must be valid.
#[cfg(test)]
fn to_utf8(tag: u32, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    to_utf8_into(tag, data, &mut out)?;
    Some(out)
}

/// [`to_utf8`] into `out` (cleared first).
fn to_utf8_into(tag: u32, data: &[u8], out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    let mut push = |c: char| out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    match tag {
        TAG_UTF8_STRING => {
            std::str::from_utf8(data).ok()?;
            out.extend_from_slice(data);
        }
        TAG_BMP_STRING => {
            if !data.len().is_multiple_of(2) {
                return None;
            }
            for pair in data.chunks_exact(2) {
                push(char::from_u32(u32::from(u16::from_be_bytes([pair[0], pair[1]])))?);
            }
        }
        TAG_UNIVERSAL_STRING => {
            if !data.len().is_multiple_of(4) {
                return None;
            }
            for quad in data.chunks_exact(4) {
                push(char::from_u32(u32::from_be_bytes([
                    quad[0], quad[1], quad[2], quad[3],
                ]))?);
            }
        }
        _ if data.is_ascii() => out.extend_from_slice(data),
        _ => data.iter().for_each(|&b| push(char::from(b))),
    }
    Some(())
}

/// OpenSSL's `ossl_isspace`: ASCII white space only.
fn is_openssl_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Trim, collapse inner white space to one space, lower-case ASCII
/// (`asn1_string_canon`). Bytes with the high bit set pass unchanged.
pub fn canonicalise_text(utf8: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    canonicalise_text_into(utf8, &mut out);
    out
}

/// [`canonicalise_text`] into `out` (cleared first).
fn canonicalise_text_into(utf8: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let start = utf8.iter().position(|&b| !is_openssl_space(b)).unwrap_or(utf8.len());
    let end = utf8
        .iter()
        .rposition(|&b| !is_openssl_space(b))
        .map_or(start, |i| i + 1);
    let trimmed = &utf8[start..end];
    out.reserve(trimmed.len());
    let mut i = 0;
    while i < trimmed.len() {
        let b = trimmed[i];
        if is_openssl_space(b) {
            out.push(b' ');
            while i < trimmed.len() && is_openssl_space(trimmed[i]) {
                i += 1;
            }
        } else {
            out.push(b.to_ascii_lowercase());
            i += 1;
        }
    }
}

/// Appends a DER TLV with a definite-form length (also used by the tests
/// and fuzz targets that build names).
pub fn push_tlv(out: &mut Vec<u8>, identifier: u8, content: &[u8]) {
    push_header(out, identifier, content.len());
    out.extend_from_slice(content);
}

/// Appends a DER header: identifier and definite-form length.
fn push_header(out: &mut Vec<u8>, identifier: u8, len: usize) {
    out.push(identifier);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The length of a TLV whose content is `len` bytes long (a one-octet identifier).
fn tlv_len(len: usize) -> usize {
    let length_octets = if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    };
    1 + length_octets + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_trims_collapses_and_lowercases() {
        assert_eq!(canonicalise_text(b"  Hello \t\n  World  "), b"hello world");
        assert_eq!(canonicalise_text(b""), b"");
        assert_eq!(canonicalise_text(b"   "), b"");
        assert_eq!(canonicalise_text("ÄBC  Ö".as_bytes()), "Äbc Ö".as_bytes());
    }

    #[test]
    fn empty_name_hashes_like_openssl() {
        // openssl x509 -subject_hash of a certificate with an empty subject.
        assert_eq!(hash_of_canonical(&[]), 0xeea339da);
        // An empty RDNSequence: 30 00.
        assert_eq!(name_der_hash(&[0x30, 0x00]), Some(0xeea339da));
    }

    #[test]
    fn tlv_len_is_what_push_tlv_writes() {
        for len in [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x123456] {
            let mut out = Vec::new();
            push_tlv(&mut out, 0x04, &vec![0; len]);
            assert_eq!(tlv_len(len), out.len(), "{len}");
        }
    }

    #[test]
    fn long_lengths_use_long_form() {
        let mut out = Vec::new();
        push_tlv(&mut out, 0x04, &[0u8; 300]);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    // Expected hashes below are `openssl x509 -subject_hash` of a certificate
    // with that subject (OpenSSL 3.0).
    const CN_A: &[u8] = &[
        0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'a',
    ];

    #[test]
    fn simple_name_hashes_like_openssl() {
        assert_eq!(name_der_hash(CN_A), Some(0x20b69a40));
    }

    #[test]
    fn truncated_parses_are_refused() {
        // CN=a followed by an RDN x509-parser cannot read: it would keep CN=a,
        // while OpenSSL refuses the name (here) or reads more of it.
        let mut garbage = vec![0x30, 0x13];
        garbage.extend_from_slice(&CN_A[2..]);
        garbage.extend_from_slice(&[0x31, 0x05, 0x0c, 0x03, b'b', b'a', b'd']);
        assert_eq!(name_der_hash(&garbage), None);
        // An empty RDN: OpenSSL drops it and hashes CN=a; x509-parser stops.
        let mut empty_rdn = vec![0x30, 0x0e, 0x31, 0x00];
        empty_rdn.extend_from_slice(&CN_A[2..]);
        assert_eq!(name_der_hash(&empty_rdn), None);
        // A third element in the attribute.
        let extra = [
            0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, b'a', 0x0c, 0x01, b'b',
        ];
        assert_eq!(name_der_hash(&extra), None);
    }

    #[test]
    fn value_types_openssl_refuses() {
        for (identifier, content) in [(0x1a, &b"a"[..]), (0x04, b"a"), (0x05, b""), (0x4c, b"a"), (0x10, b"")] {
            let mut name = CN_A.to_vec();
            name[11] = identifier;
            name[12] = content.len() as u8;
            name.truncate(13);
            name.extend_from_slice(content);
            let len = name.len();
            name[1] = (len - 2) as u8;
            name[3] = (len - 4) as u8;
            name[5] = (len - 6) as u8;
            assert_eq!(name_der_hash(&name), None, "{identifier:#x}");
        }
    }

    #[test]
    fn bit_strings_are_re_encoded_like_openssl() {
        assert_eq!(bit_string_content(&[0x03, 0xff]), Some(vec![0x03, 0xf8]));
        assert_eq!(bit_string_content(&[0x05]), Some(vec![0x00]));
        assert_eq!(bit_string_content(&[0x00, 0x01]), Some(vec![0x00, 0x01]));
        assert_eq!(bit_string_content(&[]), None);
        assert_eq!(bit_string_content(&[0x08, 0x00]), None);
        // CN as BIT STRING 03 ff and 03 f8 hash alike.
        let name = |last| {
            [
                0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x03, 0x02, 0x03, last,
            ]
        };
        assert_eq!(name_der_hash(&name(0xff)), Some(0x10387ddd));
        assert_eq!(name_der_hash(&name(0xf8)), Some(0x10387ddd));
    }

    #[test]
    fn sequence_values_keep_their_header() {
        // CN = SEQUENCE { UTF8String "A" } with a long-form length 81 03.
        let name = [
            0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x30, 0x81, 0x03, 0x0c, 0x01, b'A',
        ];
        assert_eq!(name_der_hash(&name), Some(0x867b64c8));
    }

    #[test]
    fn bmp_and_universal_strings_decode() {
        assert_eq!(
            to_utf8(TAG_BMP_STRING, &[0x00, 0x41, 0x00, 0xe9]).unwrap(),
            "Aé".as_bytes()
        );
        assert_eq!(to_utf8(TAG_UNIVERSAL_STRING, &[0, 0, 0, 0x41]).unwrap(), b"A");
        assert_eq!(to_utf8(TAG_BMP_STRING, &[0x00]), None);
        assert_eq!(to_utf8(TAG_T61_STRING, &[0xe9]).unwrap(), "é".as_bytes());
    }
}
