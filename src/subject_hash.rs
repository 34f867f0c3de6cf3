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

use sha1::{Digest, Sha1};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

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
    let mut out = Vec::new();
    for rdn in name.iter() {
        let mut members: Vec<Vec<u8>> = Vec::new();
        for atv in rdn.iter() {
            let mut value_tlv = Vec::new();
            let value = atv.attr_value();
            let tag = value.header.tag().0;
            let universal = value.header.class() == x509_parser::der_parser::asn1_rs::Class::Universal;
            if universal && !value.header.is_constructed() && is_canonicalised_type(tag) {
                let utf8 = to_utf8(tag, value.data)?;
                let canon = canonicalise_text(&utf8);
                push_tlv(&mut value_tlv, TAG_UTF8_STRING as u8, &canon);
            } else {
                // Kept as it is: re-emit the original identifier and content.
                let identifier = identifier_octet(value)?;
                push_tlv(&mut value_tlv, identifier, value.data);
            }
            let mut atv_content = Vec::new();
            push_tlv(&mut atv_content, 0x06, atv.attr_type().as_bytes());
            atv_content.extend_from_slice(&value_tlv);
            let mut member = Vec::new();
            push_tlv(&mut member, 0x30, &atv_content);
            members.push(member);
        }
        // DER SET OF: members in ascending order of their encodings, the
        // shorter first where one is a prefix of the other (OpenSSL's der_cmp).
        members.sort_by(|a, b| {
            let common = a.len().min(b.len());
            a[..common].cmp(&b[..common]).then(a.len().cmp(&b.len()))
        });
        let set_content: Vec<u8> = members.concat();
        push_tlv(&mut out, 0x31, &set_content);
    }
    Some(out)
}

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
fn to_utf8(tag: u32, data: &[u8]) -> Option<Vec<u8>> {
    match tag {
        TAG_UTF8_STRING => std::str::from_utf8(data).ok().map(|s| s.as_bytes().to_vec()),
        TAG_BMP_STRING => {
            if data.len() % 2 != 0 {
                return None;
            }
            let mut s = String::new();
            for pair in data.chunks_exact(2) {
                s.push(char::from_u32(u32::from(u16::from_be_bytes([pair[0], pair[1]])))?);
            }
            Some(s.into_bytes())
        }
        TAG_UNIVERSAL_STRING => {
            if data.len() % 4 != 0 {
                return None;
            }
            let mut s = String::new();
            for quad in data.chunks_exact(4) {
                s.push(char::from_u32(u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]))?);
            }
            Some(s.into_bytes())
        }
        _ => Some(data.iter().map(|&b| char::from(b)).collect::<String>().into_bytes()),
    }
}

/// OpenSSL's `ossl_isspace`: ASCII white space only.
fn is_openssl_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Trim, collapse inner white space to one space, lower-case ASCII
/// (`asn1_string_canon`). Bytes with the high bit set pass unchanged.
pub fn canonicalise_text(utf8: &[u8]) -> Vec<u8> {
    let start = utf8.iter().position(|&b| !is_openssl_space(b)).unwrap_or(utf8.len());
    let end = utf8.iter().rposition(|&b| !is_openssl_space(b)).map_or(start, |i| i + 1);
    let trimmed = &utf8[start..end];
    let mut out = Vec::with_capacity(trimmed.len());
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
    out
}

/// Appends a DER TLV with a definite-form length.
fn push_tlv(out: &mut Vec<u8>, identifier: u8, content: &[u8]) {
    out.push(identifier);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
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
    fn long_lengths_use_long_form() {
        let mut out = Vec::new();
        push_tlv(&mut out, 0x04, &[0u8; 300]);
        assert_eq!(&out[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn bmp_and_universal_strings_decode() {
        assert_eq!(to_utf8(TAG_BMP_STRING, &[0x00, 0x41, 0x00, 0xe9]).unwrap(), "Aé".as_bytes());
        assert_eq!(to_utf8(TAG_UNIVERSAL_STRING, &[0, 0, 0, 0x41]).unwrap(), b"A");
        assert_eq!(to_utf8(TAG_BMP_STRING, &[0x00]), None);
        assert_eq!(to_utf8(TAG_T61_STRING, &[0xe9]).unwrap(), "é".as_bytes());
    }
}
