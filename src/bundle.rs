//! The system CA bundle: finding it, parsing it, and indexing it by subject
//! hash so a missing `<hash>.<n>` can be answered from it.
//!
//! Parsing is forgiving: whatever parses is indexed and everything else is
//! counted as a problem to log once. Nothing here panics on bad input.

use std::path::{Path, PathBuf};

use x509_parser::certificate::X509CertificateParser;
use x509_parser::nom::Parser;

use crate::config::Config;
use crate::locations::BUNDLE_PATHS;
use crate::pem::{self, PemItem};
use crate::subject_hash;

/// A larger bundle is not read (Mozilla's has ~150 certificates, ~220 KiB).
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;

/// One CA certificate of the bundle.
#[derive(Debug, Clone)]
pub struct CaCert {
    pub der: Vec<u8>,
    /// The certificate alone, as PEM: what a hash-directory entry holds.
    pub pem: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub subject_hash: u32,
    pub issuer_hash: Option<u32>,
    /// Validity, seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
}

impl CaCert {
    /// Parses one DER certificate; `None` if it is not one.
    pub fn from_der(der: Vec<u8>) -> Option<CaCert> {
        let mut parser = X509CertificateParser::new().with_deep_parse_extensions(false);
        let (_, cert) = parser.parse(&der).ok()?;
        let subject_hash = subject_hash::name_hash(cert.subject())?;
        let issuer_hash = subject_hash::name_hash(cert.issuer());
        let subject = display_name(cert.subject());
        let issuer = display_name(cert.issuer());
        let not_before = cert.validity().not_before.timestamp();
        let not_after = cert.validity().not_after.timestamp();
        drop(cert);
        Some(CaCert {
            pem: pem::encode_certificate(&der),
            der,
            subject,
            issuer,
            subject_hash,
            issuer_hash,
            not_before,
            not_after,
        })
    }

    /// The subject's common name, or the whole subject if it has none.
    pub fn short_name(&self) -> &str {
        self.subject
            .split(", ")
            .find_map(|part| part.strip_prefix("CN="))
            .unwrap_or(&self.subject)
    }
}

/// A name as people read it: `CN=ISRG Root X1, O=Internet Security Research Group, C=US`
/// (most specific first, like RFC 4514). Values that are not text print as `#hex`.
pub fn display_name(name: &x509_parser::x509::X509Name<'_>) -> String {
    if name.iter().next().is_none() {
        return "(empty subject)".to_string();
    }
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let key = x509_parser::objects::oid2abbrev(atv.attr_type(), x509_parser::objects::oid_registry())
                        .map(str::to_string)
                        .unwrap_or_else(|_| atv.attr_type().to_id_string());
                    let value = match atv.as_str() {
                        Ok(s) => s.to_string(),
                        Err(_) => attr_value_text(atv.attr_value()),
                    };
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(", ")
}

fn attr_value_text(value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> String {
    let data = value.data;
    match value.header.tag().0 {
        // BMPString
        30 if data.len() % 2 == 0 => {
            let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString
        28 if data.len() % 4 == 0 => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).unwrap_or('\u{fffd}'))
            .collect(),
        // T61String: Latin-1 is what OpenSSL assumes too.
        20 => data.iter().map(|&b| char::from(b)).collect(),
        _ => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            format!("#{hex}")
        }
    }
}

/// The parsed system bundle, indexed by subject hash.
#[derive(Debug, Default)]
pub struct BundleIndex {
    pub path: PathBuf,
    /// The bundle file as read: served whole for a missing bundle path.
    pub bytes: Vec<u8>,
    /// Certificates sorted by subject hash (bundle order within one hash).
    pub certs: Vec<CaCert>,
    /// What could not be parsed, for one log line.
    pub problems: Vec<String>,
}

impl BundleIndex {
    /// Parses `bytes` (the content of `path`).
    pub fn parse(path: PathBuf, bytes: Vec<u8>) -> BundleIndex {
        let mut problems = Vec::new();
        let mut certs = Vec::new();
        let mut skipped = 0usize;
        let mut others = 0usize;
        for item in pem::sections(&bytes) {
            match item {
                PemItem::Certificate(der) => match CaCert::from_der(der) {
                    Some(cert) => certs.push(cert),
                    None => skipped += 1,
                },
                PemItem::Other => others += 1,
                PemItem::Malformed(why) => {
                    problems.push(format!("bad PEM after {} certificate(s): {why}", certs.len()))
                }
            }
        }
        if skipped > 0 {
            problems.push(format!("{skipped} certificate(s) could not be parsed"));
        }
        if others > 0 {
            problems.push(format!("{others} PEM section(s) are not certificates"));
        }
        if certs.is_empty() {
            problems.push("no certificates".to_string());
        }
        // Stable: certificates with one hash keep their bundle order.
        certs.sort_by_key(|c| c.subject_hash);
        BundleIndex {
            path,
            bytes,
            certs,
            problems,
        }
    }

    /// Certificates with this subject hash, in bundle order.
    pub fn with_hash(&self, hash: u32) -> &[CaCert] {
        let start = self.certs.partition_point(|c| c.subject_hash < hash);
        let end = self.certs.partition_point(|c| c.subject_hash <= hash);
        &self.certs[start..end]
    }

    pub fn contains_der(&self, der: &[u8]) -> bool {
        self.certs.iter().any(|c| c.der == der)
    }
}

/// Where the system bundle is, in the order OpenSSL and openssl-probe look:
/// `CAFIX_BUNDLE`, then `SSL_CERT_FILE` (both only outside secure-exec, as
/// [`Config`] decides), then the distribution paths. `is_file` says whether a
/// path is a non-empty regular file (the shim answers it with raw system calls
/// so its own hooks are not involved).
pub fn find_system_bundle(config: &Config, is_file: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    if let Some(b) = &config.bundle {
        return Some(b.clone());
    }
    if let Some(f) = &config.ssl_cert_file {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(f));
        if is_file(p) {
            return Some(p.to_path_buf());
        }
    }
    BUNDLE_PATHS
        .iter()
        .map(|(p, _)| Path::new(*p))
        .find(|p| is_file(p))
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_bundles_give_empty_indexes_with_problems() {
        for bytes in [
            &b""[..],
            b"garbage",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let idx = BundleIndex::parse(PathBuf::from("/x"), bytes.to_vec());
            assert!(idx.certs.is_empty());
            assert!(!idx.problems.is_empty());
            assert!(idx.with_hash(0).is_empty());
        }
    }

    #[test]
    fn machine_bundle_indexes_and_looks_up() {
        let path = PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
        let bytes = std::fs::read(&path).expect("this test needs the machine's CA bundle");
        let idx = BundleIndex::parse(path, bytes);
        assert!(idx.certs.len() > 100, "{}", idx.certs.len());
        assert!(idx.problems.is_empty(), "{:?}", idx.problems);
        for c in &idx.certs {
            assert!(idx.with_hash(c.subject_hash).iter().any(|d| d.der == c.der));
            assert!(idx.contains_der(&c.der));
        }
        let isrg = idx
            .certs
            .iter()
            .find(|c| c.short_name() == "ISRG Root X1")
            .expect("ISRG Root X1");
        assert_eq!(subject_hash::hash_hex(isrg.subject_hash), "4042bcee");
        assert_eq!(
            isrg.subject,
            "CN=ISRG Root X1, O=Internet Security Research Group, C=US"
        );
    }

    #[test]
    fn find_prefers_explicit_then_env_then_distribution_paths() {
        let mut config = Config::default();
        let all = |_: &Path| true;
        let none = |_: &Path| false;
        assert_eq!(find_system_bundle(&config, &all).unwrap(), Path::new(BUNDLE_PATHS[0].0));
        assert_eq!(find_system_bundle(&config, &none), None);
        config.ssl_cert_file = Some(b"/env.pem".to_vec());
        assert_eq!(find_system_bundle(&config, &all).unwrap(), Path::new("/env.pem"));
        config.bundle = Some(PathBuf::from("/explicit.pem"));
        assert_eq!(find_system_bundle(&config, &all).unwrap(), Path::new("/explicit.pem"));
    }
}
