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
    let san = c
        .subject_alt_names()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| {
                    if let Some(d) = n.dnsname() {
                        Some(format!("DNS:{d}"))
                    } else if let Some(ip) = n.ipaddress() {
                        match ip.len() {
                            4 => Some(format!("IP:{}", std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]))),
                            16 => <[u8; 16]>::try_from(ip)
                                .ok()
                                .map(|a| format!("IP:{}", std::net::Ipv6Addr::from(a))),
                            _ => None,
                        }
                    } else if let Some(e) = n.email() {
                        Some(format!("email:{e}"))
                    } else {
                        n.uri().map(|u| format!("URI:{u}"))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let ca_issuers = c
        .authority_info()
        .map(|aia| {
            aia.iter()
                .filter(|ad| ad.method().nid() == Nid::AD_CA_ISSUERS)
                .filter_map(|ad| ad.location().uri().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    CertInfo {
        summary: CertSummary::from_der(&der),
        san,
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
