//! The system CA bundle: finding it, parsing it, and indexing it by subject
//! hash so a missing `<hash>.<n>` can be answered from it.
//!
//! Parsing is forgiving: whatever parses is indexed and everything else is
//! counted as a problem to log once. Nothing here panics on bad input.
//!
//! The index is built for the shim's first miss, where only "which
//! certificates have subject hash H" matters: it is made without parsing
//! the certificates in full (see [`BundleIndex`]).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use x509_parser::certificate::X509CertificateParser;
use x509_parser::nom::Parser;

use crate::config::Config;
use crate::der_walk;
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
        short_name(&self.subject)
    }
}

/// A subject's common name (as [`display_name`] writes it), or the whole
/// subject if it has none.
pub fn short_name(subject: &str) -> &str {
    subject
        .split(", ")
        .find_map(|part| part.strip_prefix("CN="))
        .unwrap_or(subject)
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
                    let key = attribute_key(atv.attr_type());
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

/// An attribute's name as `x509_parser::objects::oid2abbrev` gives it (else
/// the OID in dotted form). `oid2abbrev` answers the common attributes from
/// its own small map before it looks at the OID registry it is handed; the
/// registry (every X.509 and crypto OID, built on first use: about 200,000
/// instructions, in every process that names a certificate) is asked only
/// for the others, which is the same answer without building it for a CN.
fn attribute_key(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    use x509_parser::oid_registry::*;
    let common = [
        (OID_X509_COMMON_NAME, "CN"),
        (OID_X509_COUNTRY_NAME, "C"),
        (OID_X509_LOCALITY_NAME, "L"),
        (OID_X509_STATE_OR_PROVINCE_NAME, "ST"),
        (OID_X509_ORGANIZATION_NAME, "O"),
        (OID_X509_ORGANIZATIONAL_UNIT, "OU"),
        (OID_DOMAIN_COMPONENT, "DC"),
        (OID_PKCS9_EMAIL_ADDRESS, "Email"),
    ];
    if let Some((_, abbrev)) = common.iter().find(|(known, _)| known == oid) {
        return (*abbrev).to_string();
    }
    x509_parser::objects::oid2abbrev(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

fn attr_value_text(value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> String {
    let data = value.data;
    match value.header.tag().0 {
        // BMPString
        30 if data.len().is_multiple_of(2) => {
            let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString
        28 if data.len().is_multiple_of(4) => data
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

/// The system bundle, indexed by subject hash.
///
/// Building it decides, for every certificate, what the full parse
/// ([`CaCert::from_der`]) would: whether it is indexed and under which
/// subject hash. It does so without that parse where it can ([`der_walk`]'s
/// strict walk and the canonical-name hash straight from the DER, about a
/// microsecond a certificate against fifteen); a certificate is parsed in
/// full only when it is used: [`BundleIndex::with_hash`] parses the
/// certificates of that hash, [`BundleIndex::certs`] all of them.
#[derive(Debug, Default)]
pub struct BundleIndex {
    pub path: PathBuf,
    /// The bundle file as read: served whole for a missing bundle path.
    pub bytes: Vec<u8>,
    /// Certificates sorted by subject hash (bundle order within one hash).
    /// Dereferencing it parses every certificate; a lookup needs only
    /// [`BundleIndex::with_hash`] and [`BundleIndex::len`].
    pub certs: Certs,
    /// What could not be parsed, for one log line.
    pub problems: Vec<String>,
}

/// The indexed certificates: subject hash and DER of each, and each
/// certificate's full parse, made on first use and kept.
///
/// Derefs to the slice of all of them, parsed (the command's view, which
/// needs names and validity of every one); the shim never does that.
#[derive(Debug, Default)]
pub struct Certs {
    /// Sorted by subject hash, bundle order within one hash.
    entries: Vec<Entry>,
    /// Runs of `entries` with one hash, in hash order.
    groups: Vec<Group>,
    all: OnceLock<Vec<CaCert>>,
}

#[derive(Debug)]
struct Entry {
    subject_hash: u32,
    der: Vec<u8>,
    /// The full parse, when building the index needed it already.
    parsed: Option<CaCert>,
}

impl Entry {
    /// What the full parse gives. It succeeds for every entry (the strict
    /// walk accepts a subset of what it accepts, and the differential fuzz
    /// target `cert_walk` checks that); one that failed would be left out.
    fn full(&self) -> Option<CaCert> {
        match &self.parsed {
            Some(cert) => Some(cert.clone()),
            None => CaCert::from_der(self.der.clone()).filter(|c| c.subject_hash == self.subject_hash),
        }
    }
}

#[derive(Debug)]
struct Group {
    hash: u32,
    entries: Range<usize>,
    parsed: OnceLock<Box<[CaCert]>>,
}

impl Certs {
    fn new(mut entries: Vec<Entry>) -> Certs {
        // Stable: certificates with one hash keep their bundle order.
        entries.sort_by_key(|e| e.subject_hash);
        let mut groups: Vec<Group> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            match groups.last_mut() {
                Some(g) if g.hash == e.subject_hash => g.entries.end = i + 1,
                _ => groups.push(Group {
                    hash: e.subject_hash,
                    entries: i..i + 1,
                    parsed: OnceLock::new(),
                }),
            }
        }
        Certs {
            entries,
            groups,
            all: OnceLock::new(),
        }
    }

    /// How many certificates are indexed (no parsing).
    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// Subject hash and DER of every certificate, in index order (no parsing).
    pub fn hashes_and_ders(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.entries.iter().map(|e| (e.subject_hash, e.der.as_slice()))
    }

    fn with_hash(&self, hash: u32) -> &[CaCert] {
        let Ok(i) = self.groups.binary_search_by_key(&hash, |g| g.hash) else {
            return &[];
        };
        let group = &self.groups[i];
        group.parsed.get_or_init(|| {
            self.entries[group.entries.clone()]
                .iter()
                .filter_map(Entry::full)
                .collect()
        })
    }
}

impl std::ops::Deref for Certs {
    type Target = [CaCert];

    fn deref(&self) -> &[CaCert] {
        self.all
            .get_or_init(|| self.entries.iter().filter_map(Entry::full).collect())
    }
}

impl<'a> IntoIterator for &'a Certs {
    type Item = &'a CaCert;
    type IntoIter = std::slice::Iter<'a, CaCert>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl BundleIndex {
    /// Indexes `bytes` (the content of `path`) by subject hash.
    pub fn parse(path: PathBuf, bytes: Vec<u8>) -> BundleIndex {
        Self::build(path, bytes, pem::sections, |der| match der_walk::subject_hash(&der) {
            Some(subject_hash) => Some(Entry {
                subject_hash,
                der,
                parsed: None,
            }),
            None => full_entry(der),
        })
    }

    /// The same index built the way `parse` did before it had a fast path:
    /// `rustls-pki-types`' PEM reader, and every certificate parsed in full
    /// up front. The reference the tests, fuzz targets and benches hold
    /// [`BundleIndex::parse`] to.
    pub fn parse_reference(path: PathBuf, bytes: Vec<u8>) -> BundleIndex {
        let index = Self::build(path, bytes, pem::sections_reference, full_entry);
        let _ = index
            .certs
            .all
            .set(index.certs.entries.iter().filter_map(|e| e.parsed.clone()).collect());
        index
    }

    fn build(
        path: PathBuf,
        bytes: Vec<u8>,
        sections: fn(&[u8]) -> Vec<PemItem>,
        entry: impl Fn(Vec<u8>) -> Option<Entry>,
    ) -> BundleIndex {
        let mut problems = Vec::new();
        let mut entries = Vec::new();
        let mut skipped = 0usize;
        let mut others = 0usize;
        for item in sections(&bytes) {
            match item {
                PemItem::Certificate(der) => match entry(der) {
                    Some(e) => entries.push(e),
                    None => skipped += 1,
                },
                PemItem::Other => others += 1,
                PemItem::Malformed(why) => {
                    problems.push(format!("bad PEM after {} certificate(s): {why}", entries.len()))
                }
            }
        }
        if skipped > 0 {
            problems.push(format!("{skipped} certificate(s) could not be parsed"));
        }
        if others > 0 {
            problems.push(format!("{others} PEM section(s) are not certificates"));
        }
        if entries.is_empty() {
            problems.push("no certificates".to_string());
        }
        BundleIndex {
            path,
            bytes,
            certs: Certs::new(entries),
            problems,
        }
    }

    /// How many certificates are indexed (nothing is parsed).
    pub fn len(&self) -> usize {
        self.certs.count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Certificates with this subject hash, in bundle order (parsed on the
    /// first lookup of the hash, then kept).
    pub fn with_hash(&self, hash: u32) -> &[CaCert] {
        self.certs.with_hash(hash)
    }

    /// Whether the bundle has this certificate (nothing is parsed).
    pub fn contains_der(&self, der: &[u8]) -> bool {
        self.certs.entries.iter().any(|e| e.der == der)
    }
}

/// An entry decided by the full parse.
fn full_entry(der: Vec<u8>) -> Option<Entry> {
    let cert = CaCert::from_der(der)?;
    Some(Entry {
        subject_hash: cert.subject_hash,
        der: cert.der.clone(),
        parsed: Some(cert),
    })
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
    fn attribute_keys_are_oid2abbrev_s() {
        use x509_parser::oid_registry::*;
        let registry = x509_parser::objects::oid_registry();
        for oid in [
            OID_X509_COMMON_NAME,
            OID_X509_COUNTRY_NAME,
            OID_X509_LOCALITY_NAME,
            OID_X509_STATE_OR_PROVINCE_NAME,
            OID_X509_ORGANIZATION_NAME,
            OID_X509_ORGANIZATIONAL_UNIT,
            OID_DOMAIN_COMPONENT,
            OID_PKCS9_EMAIL_ADDRESS,
            OID_X509_SERIALNUMBER,
            OID_X509_STREET_ADDRESS,
            OID_X509_TITLE,
            OID_X509_DN_QUALIFIER,
            OID_X509_OBJECT_CLASS,
        ] {
            let theirs = x509_parser::objects::oid2abbrev(&oid, registry).unwrap().to_string();
            assert_eq!(super::attribute_key(&oid), theirs, "{oid}");
        }
        let unknown = x509_parser::der_parser::oid!(1.3.6 .1 .4 .1 .99999 .1);
        assert_eq!(super::attribute_key(&unknown), "1.3.6.1.4.1.99999.1");
    }

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
