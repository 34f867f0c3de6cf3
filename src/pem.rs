//! PEM in and out. Decoding is `rustls-pki-types`' lenient reader, with a
//! fast path in front of it for the common case (a bundle of certificates in
//! canonical base64, as every distribution writes it) that gives exactly the
//! same answer; encoding a certificate back to PEM is a few lines, kept here
//! so the shim can serve exactly one certificate in the format a hash
//! directory holds.

use base64::Engine as _;
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
///
/// Always the answer of [`sections_reference`]: [`certificates_fast`] gives
/// it when it can, and anything it does not take on goes to the reference
/// reader whole.
pub fn sections(data: &[u8]) -> Vec<PemItem> {
    certificates_fast(data).unwrap_or_else(|| sections_reference(data))
}

/// `rustls-pki-types`' reader: lenient (white space inside the base64,
/// missing padding, non-zero trailing bits), with a constant-time base64
/// decoder, so about 4 ns a byte. What [`sections`] answers.
pub fn sections_reference(data: &[u8]) -> Vec<PemItem> {
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

/// The largest base64 body `rustls-pki-types` reads (`MAX_PEM_SECTION_SIZE`).
const MAX_SECTION_BASE64: usize = 256 * 1024 * 1024;

/// The fast path of [`sections`]: `Some` only where the answer is exactly the
/// reference reader's, `None` to hand the whole input over to it.
///
/// It takes input whose every line starting with `-----BEGIN ` is exactly
/// `-----BEGIN CERTIFICATE-----`, whose sections are all closed by a line that
/// is exactly `-----END CERTIFICATE-----`, and whose section bodies, line
/// breaks (`\n`, `\r`) removed, are canonical padded base64 (no white space,
/// no `-`, zero trailing bits). On such input the reference reader sees the
/// same lines: outside a section it ignores every line but a `-----BEGIN `
/// one; inside, the first line starting `-----END CERTIFICATE-----` closes the
/// section (an earlier `-----` line would have put a `-` into the body, which
/// the strict decoder refuses); and its lenient decoder gives the strict
/// decoder's bytes. Anything else (another label, a truncated bundle, a
/// decoding error, white space, a non-canonical ending) is `None`.
pub fn certificates_fast(data: &[u8]) -> Option<Vec<PemItem>> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const BEGIN_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END_CERTIFICATE: &[u8] = b"-----END CERTIFICATE-----";
    let mut items = Vec::new();
    let mut body = Vec::new();
    let mut pos = 0;
    while let Some(begin) = find_line_starting(data, pos, BEGIN) {
        let after_begin = begin + BEGIN_CERTIFICATE.len();
        if !data[begin..].starts_with(BEGIN_CERTIFICATE) || !ends_line(data, after_begin) {
            return None;
        }
        // Past the line break (a `\r\n` leaves an empty line, removed below).
        let body_start = (after_begin + 1).min(data.len());
        let end = find_line_starting(data, body_start, END_CERTIFICATE)?;
        let after_end = end + END_CERTIFICATE.len();
        if !ends_line(data, after_end) {
            return None;
        }
        let lines = &data[body_start..end];
        let der = match canonical_lines(lines) {
            Some(der) => der,
            None => {
                body.clear();
                let mut rest = lines;
                while let Some(i) = memchr::memchr2(b'\n', b'\r', rest) {
                    body.extend_from_slice(&rest[..i]);
                    rest = &rest[i + 1..];
                }
                body.extend_from_slice(rest);
                if body.len() > MAX_SECTION_BASE64 {
                    return None;
                }
                base64::engine::general_purpose::STANDARD.decode(&body).ok()?
            }
        };
        items.push(PemItem::Certificate(der));
        pos = after_end;
    }
    Some(items)
}

/// The body of a section as every distribution writes it, decoded in place:
/// lines of 64 base64 characters and a last one of at most 64, a multiple of
/// 4, each ended by `\n`, padded canonically, zero trailing bits. That is a
/// subset of what the strict `STANDARD` decoder of the general path takes,
/// and the bytes are the same; `None` (anything else: `\r\n`, other line
/// lengths, white space …) leaves the section to the general path, which
/// decides as before. No copy of the body, no search for line breaks.
fn canonical_lines(lines: &[u8]) -> Option<Vec<u8>> {
    if lines.len() > MAX_SECTION_BASE64 {
        return None;
    }
    let mut out = Vec::with_capacity(lines.len() / 65 * 48 + 48);
    let mut rest = lines;
    while rest.len() > 65 && rest[64] == b'\n' {
        let (line, next) = rest.split_at(64);
        out.extend_from_slice(&decode_line(line.try_into().ok()?)?);
        rest = &next[1..];
    }
    let last = rest.strip_suffix(b"\n")?;
    if last.is_empty() || last.len() > 64 || last.len() % 4 != 0 {
        return None;
    }
    let (quads, final_quad) = last.split_at(last.len() - 4);
    decode_quads(quads, &mut out)?;
    match *final_quad {
        [a, b, b'=', b'='] => {
            let n = decode_quad([a, b, b'A', b'A'])?;
            // Canonical: the bits after the one byte are zero.
            (n & 0xffff == 0).then(|| out.push((n >> 16) as u8))?;
        }
        [a, b, c, b'='] => {
            let n = decode_quad([a, b, c, b'A'])?;
            (n & 0xff == 0).then(|| out.extend_from_slice(&n.to_be_bytes()[1..3]))?;
        }
        _ => decode_quads(final_quad, &mut out)?,
    }
    Some(out)
}

/// A full line: 64 characters, 48 bytes, one validity test at the end.
/// Two quads make six bytes, written as eight (the next pair overwrites the
/// two spare ones), so the line is 8 wide stores.
fn decode_line(line: &[u8; 64]) -> Option<[u8; 48]> {
    let mut bytes = [0u8; 56];
    let mut bad = 0;
    for (i, q) in line.chunks_exact(8).enumerate() {
        let quad = |k: usize| {
            DECODE[0][usize::from(q[k])]
                | DECODE[1][usize::from(q[k + 1])]
                | DECODE[2][usize::from(q[k + 2])]
                | DECODE[3][usize::from(q[k + 3])]
        };
        let (n1, n2) = (quad(0), quad(4));
        bad |= n1 | n2;
        let pair = ((u64::from(n1) << 24) | u64::from(n2)) << 16;
        bytes[6 * i..6 * i + 8].copy_from_slice(&pair.to_be_bytes());
    }
    let mut out = [0u8; 48];
    out.copy_from_slice(&bytes[..48]);
    (bad & INVALID == 0).then_some(out)
}

/// Whole quads of base64 characters (no padding) appended as bytes.
fn decode_quads(quads: &[u8], out: &mut Vec<u8>) -> Option<()> {
    for q in quads.chunks_exact(4) {
        let n = decode_quad([q[0], q[1], q[2], q[3]])?;
        out.extend_from_slice(&n.to_be_bytes()[1..]);
    }
    Some(())
}

/// Four base64 characters as 24 bits; `None` if one is not in the alphabet.
fn decode_quad(q: [u8; 4]) -> Option<u32> {
    let n = DECODE[0][usize::from(q[0])]
        | DECODE[1][usize::from(q[1])]
        | DECODE[2][usize::from(q[2])]
        | DECODE[3][usize::from(q[3])];
    (n & INVALID == 0).then_some(n)
}

/// Set in every table entry of a byte outside the alphabet.
const INVALID: u32 = 1 << 31;

/// `DECODE[i][c]`: the 6 bits of character `c` in position `i` of a quad,
/// already shifted into place, or [`INVALID`].
static DECODE: [[u32; 256]; 4] = {
    let mut tables = [[INVALID; 256]; 4];
    let mut v = 0;
    while v < 64 {
        let c = BASE64[v] as usize;
        let bits = v as u32;
        tables[0][c] = bits << 18;
        tables[1][c] = bits << 12;
        tables[2][c] = bits << 6;
        tables[3][c] = bits;
        v += 1;
    }
    tables
};

/// The first `i >= from` where a line (as the reference reader splits lines:
/// at `\n` and at `\r`) starts with `prefix`.
fn find_line_starting(data: &[u8], from: usize, prefix: &[u8]) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + memchr::memchr(prefix[0], data.get(at..)?)?;
        if data[i..].starts_with(prefix) && (i == 0 || matches!(data[i - 1], b'\n' | b'\r')) {
            return Some(i);
        }
        at = i + 1;
    }
}

/// Whether `data[at]` ends a line: a line break, or the end of the input.
fn ends_line(data: &[u8], at: usize) -> bool {
    at <= data.len() && matches!(data.get(at), None | Some(b'\n' | b'\r'))
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

    /// The fast reader answers as the reference one, or leaves it to it.
    #[test]
    fn fast_path_agrees_or_declines() {
        let one = String::from_utf8(encode_certificate(&[0x30, 0x03, 0x02, 0x01, 0x05])).unwrap();
        let two = format!("{one}{}", String::from_utf8(encode_certificate(&[7; 100])).unwrap());
        let cases: Vec<(String, bool)> = vec![
            (String::new(), true),
            ("no sections at all\n".into(), true),
            (one.clone(), true),
            (two.clone(), true),
            (format!("garbage\n -----BEGIN CERTIFICATE-----\n{two}trailing\n"), true),
            (two.replace('\n', "\r\n"), true),
            (two.replace('\n', "\r"), true),
            (two.trim_end().to_string(), true),
            (format!("x-----BEGIN CERTIFICATE-----\n{one}"), true),
            (format!("{one}-----END CERTIFICATE-----\n"), true),
            // Declined: the reference reader decides.
            (two.replace("-----\n", "----- \n"), false),
            (one.replacen("\n", "\n ", 1), false),
            (one.replace("-----END", "AA\n-----END"), false),
            (one.replace("-----END", "A===\n-----END"), false),
            (one.replace("=\n", "\n"), false),
            (one[..one.len() - 10].to_string(), false),
            (
                format!("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n{one}"),
                false,
            ),
            (format!("-----BEGIN X-----\n{one}"), false),
            (one.replacen("\n", "\n-----BEGIN CERTIFICATE-----\n", 1), false),
        ];
        for (text, fast) in cases {
            let reference = format!("{:?}", sections_reference(text.as_bytes()));
            assert_eq!(format!("{:?}", sections(text.as_bytes())), reference, "{text:?}");
            match certificates_fast(text.as_bytes()) {
                Some(items) => {
                    assert!(fast, "the fast path took {text:?}");
                    assert_eq!(format!("{items:?}"), reference, "{text:?}");
                }
                None => assert!(!fast, "the fast path declined {text:?}"),
            }
        }
    }

    /// The in-place decoder of canonical lines takes a subset of what the
    /// strict decoder takes, and gives the same bytes.
    #[test]
    fn canonical_lines_decode_as_the_strict_decoder_or_decline() {
        let strict = |lines: &[u8]| {
            let joined: Vec<u8> = lines.iter().copied().filter(|&b| b != b'\n' && b != b'\r').collect();
            base64::engine::general_purpose::STANDARD.decode(joined).ok()
        };
        let mut taken = 0;
        for len in 0..300usize {
            let der: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let pem = encode_certificate(&der);
            let body = &pem[28..pem.len() - 26]; // between the BEGIN and the END line
            let mut variants: Vec<Vec<u8>> = vec![body.to_vec()];
            variants.push(
                String::from_utf8(body.to_vec())
                    .unwrap()
                    .replace('\n', "\r\n")
                    .into_bytes(),
            );
            variants.push(body.iter().copied().filter(|&b| b != b'\n').chain([b'\n']).collect());
            for (i, c) in [
                (0usize, b'*'),
                (body.len() / 2, b' '),
                (body.len().saturating_sub(2), b'B'),
            ] {
                let mut v = body.to_vec();
                if i < v.len() {
                    v[i] = c;
                    variants.push(v);
                }
            }
            if body.len() > 3 {
                let mut v = body.to_vec();
                v.remove(body.len() - 2); // an odd last line
                variants.push(v);
            }
            for v in &variants {
                if let Some(bytes) = canonical_lines(v) {
                    assert_eq!(Some(bytes), strict(v), "len {len}: {:?}", String::from_utf8_lossy(v));
                    taken += 1;
                }
            }
            if len > 0 {
                assert_eq!(canonical_lines(body).as_deref(), Some(der.as_slice()), "len {len}");
            }
        }
        assert!(taken >= 299, "{taken}");
        // Non-zero trailing bits, padding inside: declined (the strict decoder refuses them too).
        for bad in [
            &b"QR==\n"[..],
            b"QUF=\n",
            b"QUJ=\n",
            b"QQ==QUFB\n",
            b"=AAA\n",
            b"QQ=A\n",
            b"\n",
            b"",
        ] {
            assert_eq!(canonical_lines(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(canonical_lines(b"QQ==\n").as_deref(), Some(&b"A"[..]));
        assert_eq!(canonical_lines(b"QUI=\n").as_deref(), Some(&b"AB"[..]));
        assert_eq!(canonical_lines(b"QUJD\n").as_deref(), Some(&b"ABC"[..]));
    }

    #[test]
    fn garbage_yields_nothing_or_malformed() {
        assert!(sections(b"hello world").is_empty());
        let broken = b"-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n";
        assert!(matches!(sections(broken).as_slice(), [PemItem::Malformed(_)]));
    }
}
