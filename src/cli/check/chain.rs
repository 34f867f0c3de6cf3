//! The certificates the server sent, described for display and diagnosis:
//! the parsed summary (subject, issuer, validity, subject hashes), the
//! subjectAltNames, the AIA CA-issuer URLs and the SHA-256 fingerprint; and
//! whether the system bundle holds a certificate of a given subject.

use openssl::nid::Nid;
use openssl::x509::X509Ref;

use crate::bundle::BundleIndex;
use crate::explain::{sha256_hex, CertSummary};

/// A certificate, described.
pub(super) struct CertInfo {
    pub(super) summary: Option<CertSummary>,
    pub(super) san: Vec<String>,
    pub(super) ca_issuers: Vec<String>,
    pub(super) sha256: String,
}

pub(super) fn cert_info(c: &X509Ref) -> CertInfo {
    let der = c.to_der().unwrap_or_default();
    let ca_issuers = c
        .authority_info()
        .map(|aia| {
            aia.iter()
                .filter(|ad| ad.method().nid() == Nid::AD_CA_ISSUERS)
                .filter_map(|ad| ad.location().uri().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let summary = CertSummary::from_der(&der);
    CertInfo {
        san: summary.as_ref().map(|s| s.names.clone()).unwrap_or_default(),
        summary,
        ca_issuers,
        sha256: sha256_hex(&der),
    }
}

pub(super) fn subject_of(c: &X509Ref) -> String {
    cert_info(c)
        .summary
        .map_or_else(|| "(unparsable certificate)".to_string(), |s| s.subject)
}

pub(super) fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// The system bundle's certificate with this subject, if any.
pub(super) fn in_bundle(bundle: Option<&BundleIndex>, subject: &str, hash: Option<u32>) -> Option<String> {
    let b = bundle?;
    let hash = hash?;
    b.with_hash(hash)
        .iter()
        .find(|c| c.subject == subject)
        .map(|c| c.subject.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colon_hex_is_upper_case_pairs() {
        assert_eq!(colon_hex("0aff10"), "0A:FF:10");
    }
}
