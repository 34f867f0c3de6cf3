//! The little DER a keystore needs: strict reading on [`crate::der`]'s
//! TLV reader (definite, minimal lengths; what the JDK and OpenSSL write),
//! writing, and the object identifiers of PKCS #7, #9 and #12.

pub(super) use crate::der::Tlv;

pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const BMP_STRING: u8 = 0x1e;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
/// `[0]`, constructed (an EXPLICIT tag).
pub const CONTEXT_0: u8 = 0xa0;
/// `[0]`, primitive (an IMPLICIT OCTET STRING: `encryptedContent`).
pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;

/// One TLV with this identifier, and what follows it.
pub fn expect(input: &[u8], identifier: u8) -> Result<(Tlv<'_>, &[u8]), String> {
    match crate::der::read(input) {
        Some((tlv, rest)) if tlv.identifier == identifier => Ok((tlv, rest)),
        Some((tlv, _)) => Err(format!(
            "DER tag {:#04x} where {identifier:#04x} was expected",
            tlv.identifier
        )),
        None if input.is_empty() => Err("truncated DER".to_string()),
        None => Err("malformed or truncated DER".to_string()),
    }
}

/// Every TLV of `content`, in order.
pub fn elements(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = crate::der::read(content).ok_or("malformed or truncated DER")?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Nothing may be left.
pub fn end(rest: &[u8]) -> Result<(), String> {
    match rest.is_empty() {
        true => Ok(()),
        false => Err("unexpected DER after the end of a structure".to_string()),
    }
}

/// A non-negative INTEGER that fits in 32 bits.
pub fn small_uint(tlv: Tlv<'_>) -> Option<u32> {
    let bytes = tlv.content;
    if tlv.identifier != INTEGER || bytes.is_empty() || bytes[0] & 0x80 != 0 {
        return None;
    }
    let bytes = if bytes.len() > 1 && bytes[0] == 0 {
        &bytes[1..]
    } else {
        bytes
    };
    if bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

/// `identifier`, the definite length of `content` in its shortest form, `content`.
pub fn tlv(identifier: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    crate::subject_hash::push_tlv(&mut out, identifier, content);
    out
}

/// A non-negative INTEGER.
pub fn uint(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(3);
    let mut content = bytes[skip..].to_vec();
    if content[0] & 0x80 != 0 {
        content.insert(0, 0);
    }
    tlv(INTEGER, &content)
}

/// The content octets of the object identifiers a keystore uses.
pub mod oid {
    /// 1.2.840.113549.1.7.1, PKCS #7 data.
    pub const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    /// 1.2.840.113549.1.7.6, PKCS #7 encryptedData.
    pub const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
    /// 1.2.840.113549.1.12.10.1.x, the PKCS #12 bag types: prefix, then x.
    pub const BAG_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01];
    pub const KEY_BAG: u8 = 1;
    pub const SHROUDED_KEY_BAG: u8 = 2;
    pub const CERT_BAG: u8 = 3;
    pub const SECRET_BAG: u8 = 5;
    pub const SAFE_CONTENTS_BAG: u8 = 6;
    /// 1.2.840.113549.1.9.22.1, an X.509 certificate in a CertBag.
    pub const X509_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
    /// 1.2.840.113549.1.9.20, PKCS #9 friendlyName (the alias).
    pub const FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
    /// 2.16.840.1.113894.746875.1.1, Oracle's trustedKeyUsage: what makes a
    /// CertBag a trusted-certificate entry to the JDK.
    pub const TRUSTED_KEY_USAGE: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01];
    /// 2.5.29.37.0, anyExtendedKeyUsage: the usage keytool writes.
    pub const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
    /// 1.2.840.113549.1.12.1.x, PKCS #12 PBE: prefix, then x.
    pub const PKCS12_PBE_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
    /// 1.2.840.113549.1.5.13 and .12.
    pub const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
    pub const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
    /// 1.2.840.113549.1.5.14, RFC 9579's PBMAC1.
    pub const PBMAC1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0e];
    /// 1.2.840.113549.2.7 … .11, hmacWithSHA1 … hmacWithSHA512.
    pub const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
    pub const HMAC_SHA224: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x08];
    pub const HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
    pub const HMAC_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0a];
    pub const HMAC_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
    /// 2.16.840.1.101.3.4.1.2, .22, .42: AES-128/192/256-CBC.
    pub const AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
    pub const AES192_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16];
    pub const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
    /// 1.2.840.113549.3.7, DES-EDE3-CBC.
    pub const DES_EDE3_CBC: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07];
    /// 1.3.14.3.2.26 and 2.16.840.1.101.3.4.2.{4,1,2,3}: SHA-1, SHA-224 … SHA-512.
    pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
    pub const SHA224: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04];
    pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    pub const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_written_in_their_shortest_form_and_read_back() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20] {
            let content = vec![7u8; len];
            let encoded = tlv(OCTET_STRING, &content);
            let (read, rest) = expect(&encoded, OCTET_STRING).unwrap();
            assert_eq!((read.content.len(), rest.len()), (len, 0), "{len}");
        }
    }

    #[test]
    fn integers_round_trip() {
        for v in [0u32, 1, 127, 128, 255, 256, 10_000, 100_000, u32::MAX] {
            let encoded = uint(v);
            let (t, _) = expect(&encoded, INTEGER).unwrap();
            assert_eq!(small_uint(t), Some(v));
        }
        let (negative, _) = expect(&[0x02, 0x01, 0x80], INTEGER).unwrap();
        assert_eq!(small_uint(negative), None);
        assert!(expect(&[0x30, 0x05, 0x01], SEQUENCE).is_err());
        assert!(expect(&[], SEQUENCE).unwrap_err().contains("truncated"));
    }
}
