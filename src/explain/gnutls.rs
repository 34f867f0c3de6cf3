//! GnuTLS's verification verdicts, read as OpenSSL's.
//!
//! GnuTLS reports a failed verification as a set of status bits
//! (`gnutls_certificate_status_t`), without saying at which certificate of
//! the chain it failed. This module names the bits and, from the chain the
//! peer sent, finds the certificate they are about, giving the
//! OpenSSL-equivalent error code and depth, so that one classifier
//! ([`super::classify`]) and one record ([`super::to_record`]) explain both
//! libraries' failures. Pure.

use super::{code, CertSummary};

/// `gnutls_certificate_status_t` (gnutls/gnutls.h, stable across 3.x).
pub mod status {
    pub const INVALID: u32 = 1 << 1;
    pub const REVOKED: u32 = 1 << 5;
    pub const SIGNER_NOT_FOUND: u32 = 1 << 6;
    pub const SIGNER_NOT_CA: u32 = 1 << 7;
    pub const INSECURE_ALGORITHM: u32 = 1 << 8;
    pub const NOT_ACTIVATED: u32 = 1 << 9;
    pub const EXPIRED: u32 = 1 << 10;
    pub const SIGNATURE_FAILURE: u32 = 1 << 11;
    pub const REVOCATION_DATA_SUPERSEDED: u32 = 1 << 12;
    pub const UNEXPECTED_OWNER: u32 = 1 << 14;
    pub const REVOCATION_DATA_ISSUED_IN_FUTURE: u32 = 1 << 15;
    pub const SIGNER_CONSTRAINTS_FAILURE: u32 = 1 << 16;
    pub const MISMATCH: u32 = 1 << 17;
    pub const PURPOSE_MISMATCH: u32 = 1 << 18;
    pub const MISSING_OCSP_STATUS: u32 = 1 << 19;
    pub const INVALID_OCSP_STATUS: u32 = 1 << 20;
    pub const UNKNOWN_CRIT_EXTENSIONS: u32 = 1 << 21;
}

const WORDS: [(u32, &str); 17] = [
    (status::INVALID, "invalid"),
    (status::REVOKED, "revoked"),
    (status::SIGNER_NOT_FOUND, "signer-not-found"),
    (status::SIGNER_NOT_CA, "signer-not-ca"),
    (status::INSECURE_ALGORITHM, "insecure-algorithm"),
    (status::NOT_ACTIVATED, "not-activated"),
    (status::EXPIRED, "expired"),
    (status::SIGNATURE_FAILURE, "signature-failure"),
    (status::REVOCATION_DATA_SUPERSEDED, "revocation-data-superseded"),
    (status::UNEXPECTED_OWNER, "unexpected-owner"),
    (
        status::REVOCATION_DATA_ISSUED_IN_FUTURE,
        "revocation-data-issued-in-future",
    ),
    (status::SIGNER_CONSTRAINTS_FAILURE, "signer-constraints-failure"),
    (status::MISMATCH, "mismatch"),
    (status::PURPOSE_MISMATCH, "purpose-mismatch"),
    (status::MISSING_OCSP_STATUS, "missing-ocsp-status"),
    (status::INVALID_OCSP_STATUS, "invalid-ocsp-status"),
    (status::UNKNOWN_CRIT_EXTENSIONS, "unknown-critical-extensions"),
];

/// The status bits by name, in bit order; an unknown bit as `bit-N`.
pub fn status_words(status: u32) -> Vec<String> {
    (0..32)
        .map(|bit| 1u32 << bit)
        .filter(|b| status & b != 0)
        .map(|b| match WORDS.iter().find(|(w, _)| *w == b) {
            Some((_, word)) => (*word).to_string(),
            None => format!("bit-{}", b.trailing_zeros()),
        })
        .collect()
}

/// A sentence for the bits, for when the library's own
/// `gnutls_certificate_verification_status_print` cannot be had.
pub fn status_sentence(status: u32) -> String {
    let words = status_words(status);
    if words.is_empty() {
        "the certificate is trusted".to_string()
    } else {
        format!("the certificate is not trusted ({})", words.join(", "))
    }
}

/// Where GnuTLS's verdict points: the OpenSSL-equivalent error code and the
/// depth of the certificate it is about, in the chain built from the peer's
/// list (leaf first, each next one the issuer of the one before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub error: i32,
    pub depth: i32,
    /// Index into the peer's list of the certificate at `depth`.
    pub index: Option<usize>,
}

/// Reads `status` against the `peer` chain as sent (leaf first; entries
/// that did not parse are `None`) at time `now` (Unix seconds).
///
/// The order follows OpenSSL's checks, so a chain with several faults is
/// explained by the one OpenSSL would report: the chain first (a signer not
/// found, a self-signed certificate), then algorithms, signatures, CA
/// flags, validity times, revocation, the host name, the purpose.
pub fn locate(status: u32, peer: &[Option<CertSummary>], now: i64) -> Located {
    let path = built_path(peer);
    let at = |depth: usize, error: i32| Located {
        error,
        depth: depth as i32,
        index: path.get(depth).copied(),
    };
    let top = path.len().saturating_sub(1);
    let cert_at = |depth: usize| path.get(depth).and_then(|&i| peer[i].as_ref());
    // GnuTLS checks the chain from the trust anchor down and stops at the
    // first fault, as OpenSSL reports the topmost: search top-down. A
    // self-signed root the peer sent at the end is not checked (GnuTLS
    // drops it; only a trusted copy counts).
    let checked = match cert_at(top) {
        Some(c) if c.self_issued && top > 0 => top,
        _ => path.len(),
    };
    let topmost = |pred: &dyn Fn(&CertSummary) -> bool| (0..checked).rev().find(|&d| cert_at(d).is_some_and(pred));
    // Nothing the peer sent has the fault: it is the trust anchor's, one above.
    let anchor = || Located {
        error: 0,
        depth: checked as i32,
        index: None,
    };
    if status & status::SIGNER_NOT_FOUND != 0 {
        let top_cert = cert_at(top);
        return match top_cert {
            Some(c) if c.self_issued && top == 0 => at(0, code::DEPTH_ZERO_SELF_SIGNED_CERT),
            Some(c) if c.self_issued => at(top, code::SELF_SIGNED_CERT_IN_CHAIN),
            _ => at(top, code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
        };
    }
    if status & status::INSECURE_ALGORITHM != 0 {
        let depth = topmost(&|c| c.weak_signature).unwrap_or(0);
        return at(depth, code::CA_MD_TOO_WEAK);
    }
    if status & status::SIGNATURE_FAILURE != 0 {
        return at(0, code::CERT_SIGNATURE_FAILURE);
    }
    if status & status::SIGNER_NOT_CA != 0 {
        // The topmost issuer (depth ≥ 1) that is not a CA.
        let depth = (1..checked).rev().find(|&d| cert_at(d).is_some_and(|c| !c.is_ca));
        return at(depth.unwrap_or(top.min(1)), code::INVALID_CA);
    }
    if status & status::EXPIRED != 0 {
        return match topmost(&|c| c.not_after < now) {
            Some(depth) => at(depth, code::CERT_HAS_EXPIRED),
            None => Located {
                error: code::CERT_HAS_EXPIRED,
                ..anchor()
            },
        };
    }
    if status & status::NOT_ACTIVATED != 0 {
        return match topmost(&|c| c.not_before > now) {
            Some(depth) => at(depth, code::CERT_NOT_YET_VALID),
            None => Located {
                error: code::CERT_NOT_YET_VALID,
                ..anchor()
            },
        };
    }
    if status & status::REVOKED != 0 {
        return at(0, code::CERT_REVOKED);
    }
    if status & status::UNEXPECTED_OWNER != 0 {
        return at(0, code::HOSTNAME_MISMATCH);
    }
    if status & status::PURPOSE_MISMATCH != 0 {
        return at(0, code::INVALID_PURPOSE);
    }
    if status & status::SIGNER_CONSTRAINTS_FAILURE != 0 {
        return at(top.min(1), code::PERMITTED_VIOLATION);
    }
    Located {
        error: -1,
        depth: 0,
        index: path.first().copied(),
    }
}

/// The chain as far as the peer's list allows: the leaf, then each time
/// the first not yet used certificate whose subject is the last one's
/// issuer, until a self-issued certificate or no issuer. Indexes into `peer`.
fn built_path(peer: &[Option<CertSummary>]) -> Vec<usize> {
    let mut path = Vec::new();
    if peer.is_empty() {
        return path;
    }
    path.push(0);
    while let Some(&last) = path.last() {
        let Some(cert) = peer[last].as_ref() else { break };
        if cert.self_issued {
            break;
        }
        let next =
            (0..peer.len()).find(|i| !path.contains(i) && peer[*i].as_ref().is_some_and(|c| c.subject == cert.issuer));
        match next {
            Some(i) => path.push(i),
            None => break,
        }
    }
    path
}

/// The well-known CA bundle path compiled into a library, found in its
/// read-only data as a NUL-terminated string: GnuTLS keeps its system trust
/// file (`--with-default-trust-store-file`) only there.
pub fn compiled_bundle_path(rodata: &[u8]) -> Option<&'static str> {
    crate::locations::BUNDLE_PATHS.iter().map(|(p, _)| *p).find(|p| {
        let mut needle = Vec::with_capacity(p.len() + 2);
        needle.push(0);
        needle.extend_from_slice(p.as_bytes());
        needle.push(0);
        memchr::memmem::find(rodata, &needle).is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_bundle_is_found_as_a_whole_string() {
        let image = b"\0/etc/gnutls/config\0/etc/pki/tls/certs/ca-bundle.crt\0pkcs11:\0";
        assert_eq!(compiled_bundle_path(image), Some("/etc/pki/tls/certs/ca-bundle.crt"));
        assert_eq!(
            compiled_bundle_path(b"\0/etc/ssl/certs/ca-certificates.crt.bak\0"),
            None
        );
        assert_eq!(compiled_bundle_path(b"x/etc/ssl/certs/ca-certificates.crt\0"), None);
        assert_eq!(compiled_bundle_path(b""), None);
    }

    fn cert(subject: &str, issuer: &str) -> Option<CertSummary> {
        Some(CertSummary {
            subject: subject.into(),
            issuer: issuer.into(),
            subject_hash: Some(1),
            issuer_hash: Some(2),
            self_issued: subject == issuer,
            is_ca: subject != "leaf",
            not_before: 100,
            not_after: 200,
            weak_signature: false,
            sha256: "00".into(),
            names: Vec::new(),
        })
    }

    const NOT_TRUSTED: u32 = status::INVALID | status::SIGNER_NOT_FOUND;

    #[test]
    fn bits_are_named_in_order() {
        assert_eq!(status_words(NOT_TRUSTED), ["invalid", "signer-not-found"]);
        assert_eq!(status_words(1 << 30), ["bit-30"]);
        assert!(status_words(0).is_empty());
        assert_eq!(status_sentence(0), "the certificate is trusted");
        assert!(status_sentence(status::INVALID | status::EXPIRED).contains("invalid, expired"));
    }

    #[test]
    fn a_missing_signer_is_at_the_top_of_the_chain_that_could_be_built() {
        let chain = [cert("leaf", "int"), cert("int", "root")];
        assert_eq!(
            locate(NOT_TRUSTED, &chain, 150),
            Located {
                error: code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                depth: 1,
                index: Some(1)
            }
        );
        // Sent out of order: the path still follows the issuers.
        let chain = [cert("leaf", "int"), cert("other", "x"), cert("int", "root")];
        assert_eq!(locate(NOT_TRUSTED, &chain, 150).index, Some(2));
        // No intermediate sent: at the leaf.
        let located = locate(NOT_TRUSTED, &[cert("leaf", "int")], 150);
        assert_eq!(
            (located.error, located.depth),
            (code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0)
        );
    }

    #[test]
    fn self_signed_certificates_are_told_apart() {
        let located = locate(NOT_TRUSTED, &[cert("self", "self")], 150);
        assert_eq!((located.error, located.depth), (code::DEPTH_ZERO_SELF_SIGNED_CERT, 0));
        let chain = [cert("leaf", "int"), cert("int", "root"), cert("root", "root")];
        let located = locate(NOT_TRUSTED, &chain, 150);
        assert_eq!((located.error, located.depth), (code::SELF_SIGNED_CERT_IN_CHAIN, 2));
    }

    #[test]
    fn times_point_at_the_certificate_they_concern() {
        let mut int = cert("int", "root");
        int.as_mut().unwrap().not_after = 120;
        let chain = [cert("leaf", "int"), int];
        let located = locate(status::INVALID | status::EXPIRED, &chain, 150);
        assert_eq!((located.error, located.depth), (code::CERT_HAS_EXPIRED, 1));
        let located = locate(status::INVALID | status::NOT_ACTIVATED, &chain, 50);
        assert_eq!(
            (located.error, located.depth),
            (code::CERT_NOT_YET_VALID, 1),
            "the topmost"
        );
        // Both expired: the topmost, as GnuTLS (anchor down) and OpenSSL say.
        let mut leaf = cert("leaf", "int");
        leaf.as_mut().unwrap().not_after = 120;
        let mut int = cert("int", "root");
        int.as_mut().unwrap().not_after = 120;
        let located = locate(status::INVALID | status::EXPIRED, &[leaf, int], 150);
        assert_eq!(located.depth, 1);
        // Nothing sent has expired: the trust anchor above it has.
        let chain = [cert("leaf", "int"), cert("int", "root")];
        let located = locate(status::INVALID | status::EXPIRED, &chain, 150);
        assert_eq!(
            located,
            Located {
                error: code::CERT_HAS_EXPIRED,
                depth: 2,
                index: None
            }
        );
        // A self-signed root sent along is not checked.
        let mut root = cert("root", "root");
        root.as_mut().unwrap().not_after = 120;
        let chain = [cert("leaf", "int"), cert("int", "root"), root];
        let located = locate(status::INVALID | status::EXPIRED, &chain, 150);
        assert_eq!((located.depth, located.index), (2, None));
    }

    #[test]
    fn the_other_bits_map_to_their_openssl_codes() {
        let chain = [cert("leaf", "int")];
        let error = |s| locate(status::INVALID | s, &chain, 150).error;
        assert_eq!(error(status::UNEXPECTED_OWNER), code::HOSTNAME_MISMATCH);
        assert_eq!(error(status::INSECURE_ALGORITHM), code::CA_MD_TOO_WEAK);
        assert_eq!(error(status::REVOKED), code::CERT_REVOKED);
        assert_eq!(error(status::SIGNATURE_FAILURE), code::CERT_SIGNATURE_FAILURE);
        assert_eq!(error(0), -1);
        // The chain comes first, as in OpenSSL.
        assert_eq!(
            error(status::SIGNER_NOT_FOUND | status::EXPIRED | status::UNEXPECTED_OWNER),
            code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        );
    }

    #[test]
    fn odd_chains_do_not_panic() {
        assert_eq!(
            locate(NOT_TRUSTED, &[], 0),
            Located {
                error: code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                depth: 0,
                index: None
            }
        );
        assert_eq!(locate(NOT_TRUSTED, &[None, cert("a", "b")], 0).depth, 0);
        // A loop of issuers ends.
        let chain = [cert("a", "b"), cert("b", "a")];
        assert_eq!(locate(NOT_TRUSTED, &chain, 0).depth, 1);
        let long: Vec<_> = (0..100)
            .map(|i| cert(&format!("c{i}"), &format!("c{}", i + 1)))
            .collect();
        assert_eq!(locate(NOT_TRUSTED, &long, 0).depth, 99);
    }
}
