//! Strict DER reading shared by the certificate walk ([`crate::der_walk`])
//! and the strict name hash ([`crate::subject_hash::name_der_hash_strict`]):
//! one TLV at a time, and the checks both need on an OBJECT IDENTIFIER and on
//! a Name. "Strict" is what [`crate::der_walk`]'s documentation lists: a
//! one-octet identifier (tag below 31), a definite length in its shortest
//! form (at most four length octets), content inside its parent.

pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const OID: u8 = 0x06;

/// One TLV, read strictly (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub identifier: u8,
    pub content: &'a [u8],
    /// The whole encoding, header included.
    pub whole: &'a [u8],
}

/// Reads one TLV from the front of `input`: it and what follows it.
pub(crate) fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&identifier, rest) = input.split_first()?;
    if identifier & 0x1f == 0x1f {
        return None; // high tag number form
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n || rest[0] == 0 {
            return None; // indefinite, too long, or not minimal
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len < 0x80 {
            return None; // should have been the short form
        }
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let tlv = Tlv {
        identifier,
        content: &rest[..len],
        whole: &input[..header + len],
    };
    Some((tlv, &rest[len..]))
}

/// Reads one TLV that must have this identifier octet.
pub(crate) fn expect(input: &[u8], identifier: u8) -> Option<(Tlv<'_>, &[u8])> {
    let (tlv, rest) = read(input)?;
    (tlv.identifier == identifier).then_some((tlv, rest))
}

/// A well-formed OBJECT IDENTIFIER at the front of `input`; what follows it.
pub(crate) fn oid(input: &[u8]) -> Option<&[u8]> {
    let (oid, rest) = expect(input, OID)?;
    is_valid_oid_encoding(oid.content).then_some(rest)
}

/// The content of a Name: `SET OF SEQUENCE { OID, one TLV }`s, no set empty.
pub(crate) fn name(mut rdns: &[u8]) -> Option<()> {
    while !rdns.is_empty() {
        let (rdn, rest) = expect(rdns, SET)?;
        rdns = rest;
        let mut members = rdn.content;
        if members.is_empty() {
            return None;
        }
        while !members.is_empty() {
            let (atv, rest) = expect(members, SEQUENCE)?;
            members = rest;
            let value = oid(atv.content)?;
            if !read(value)?.1.is_empty() {
                return None;
            }
        }
    }
    Some(())
}

/// `c2i_ASN1_OBJECT`'s checks: at least one octet, the last one ends a
/// sub-identifier, and no sub-identifier starts with a 0x80 padding octet.
pub(crate) fn is_valid_oid_encoding(oid: &[u8]) -> bool {
    let Some(&last) = oid.last() else { return false };
    if last & 0x80 != 0 {
        return false;
    }
    oid.iter()
        .enumerate()
        .all(|(i, &b)| b != 0x80 || (i > 0 && oid[i - 1] & 0x80 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_and_definite() {
        assert!(read(&[0x04, 0x01, 0xaa]).is_some());
        assert!(read(&[0x04, 0x81, 0x01, 0xaa]).is_none()); // long form for 1
        assert!(read(&[0x04, 0x80, 0x00, 0x00]).is_none()); // indefinite
        assert!(read(&[0x04, 0x82, 0x00, 0x81]).is_none()); // leading zero octet
        assert!(read(&[0x04, 0x02, 0xaa]).is_none()); // content runs out
        assert!(read(&[0x1f, 0x20, 0x00]).is_none()); // high tag number
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend_from_slice(&[0; 0x80]);
        let (tlv, rest) = read(&long).unwrap();
        assert_eq!((tlv.content.len(), tlv.whole.len(), rest.len()), (0x80, 0x83, 0));
    }

    #[test]
    fn oid_encodings() {
        assert!(is_valid_oid_encoding(&[0x55, 0x04, 0x03]));
        assert!(is_valid_oid_encoding(&[
            0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01
        ]));
        assert!(is_valid_oid_encoding(&[0x81, 0x80, 0x01]));
        assert!(!is_valid_oid_encoding(&[]));
        assert!(!is_valid_oid_encoding(&[0x55, 0x84]));
        assert!(!is_valid_oid_encoding(&[0x80, 0x01]));
        assert!(!is_valid_oid_encoding(&[0x55, 0x80, 0x01]));
    }
}
