//! PEM in and out. Decoding is `rustls-pki-types`' lenient reader; encoding
//! a certificate back to PEM is a few lines, kept here so the shim can serve
//! exactly one certificate in the format a hash directory holds.

use rustls_pki_types::pem::{PemObject, SectionKind};

/// What one PEM section of a bundle turned out to be.
#[derive(Debug)]
pub enum PemItem {
    Certificate(Vec<u8>),
    /// A well-formed section that is not a certificate (a key, a CRL ...).
    Other,
    /// A section that could not be decoded; parsing stops there.
    Malformed(String),
}

/// All PEM sections of `data`, in order. Garbage between sections is skipped
/// the way OpenSSL skips it; a broken section ends the walk.
pub fn sections(data: &[u8]) -> Vec<PemItem> {
    let mut items = Vec::new();
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(data) {
        match item {
            Ok((SectionKind::Certificate, der)) => items.push(PemItem::Certificate(der)),
            Ok(_) => items.push(PemItem::Other),
            Err(e) => {
                items.push(PemItem::Malformed(format!("{e:?}")));
                break;
            }
        }
    }
    items
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `-----BEGIN CERTIFICATE-----` PEM of a DER certificate, 64 columns.
pub fn encode_certificate(der: &[u8]) -> Vec<u8> {
    let mut b64 = Vec::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        b64.push(BASE64[(n >> 18) as usize & 63]);
        b64.push(BASE64[(n >> 12) as usize & 63]);
        b64.push(if chunk.len() > 1 {
            BASE64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        b64.push(if chunk.len() > 2 { BASE64[n as usize & 63] } else { b'=' });
    }
    let mut out = Vec::with_capacity(b64.len() + b64.len() / 64 + 64);
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in b64.chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_round_trips() {
        for len in [0usize, 1, 2, 3, 47, 48, 49, 100, 1000] {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let pem = encode_certificate(&der);
            let items = sections(&pem);
            match items.as_slice() {
                [PemItem::Certificate(back)] => assert_eq!(back, &der, "len {len}"),
                [] if len == 0 => {}
                other => panic!("len {len}: {other:?}"),
            }
        }
    }

    #[test]
    fn garbage_yields_nothing_or_malformed() {
        assert!(sections(b"hello world").is_empty());
        let broken = b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n";
        assert!(matches!(sections(broken).as_slice(), [PemItem::Malformed(_)]));
    }
}
