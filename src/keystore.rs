//! Java keystores (a JDK's `cacerts`): their trusted certificates read, and
//! a copy written with more trusted certificates, in the store's own format
//! and protection, so that the JDK that reads the one reads the other.
//!
//! - JKS and JCEKS ([`jks`]): the JDK's own formats, tiny and hand-rolled.
//! - PKCS #12 (`pkcs12`): on a strict DER walk, its password-based
//!   protection (`pbe`) with RustCrypto's ciphers. No PKCS #12 crate fits:
//!   `p12-keystore` cannot read a password-less store (what JDK 18 and later
//!   ship) nor RC2 (what keytool wrote up to JDK 11), and OpenSSL may not be
//!   linked into the preloaded engine.
//!
//! A trust store is protected by a password only in name: the JVM loads
//! its default trust store with no password unless
//! `javax.net.ssl.trustStorePassword` is set, and then checks no integrity
//! digest or MAC, and skips encrypted certificates. So the reader checks the
//! integrity with the JDK's default password (`changeit`) and reports it
//! ([`Integrity`]); the writer writes only when it can write what a JVM
//! given that password checks ([`Keystore::with_added`]).
//!
//! Nothing here panics on bad input (fuzzed: `fuzz/fuzz_targets/keystore.rs`).

mod der;
pub mod jks;
mod pbe;
mod pkcs12;

use std::ops::Range;

use sha2::{Digest, Sha256};

/// The JDK's default keystore password (keytool's `-cacerts`, every JDK's
/// `cacerts`).
pub const DEFAULT_PASSWORD: &str = "changeit";

/// A larger keystore is not read (a JDK's `cacerts` is 100–250 KiB).
pub const MAX_KEYSTORE_BYTES: usize = 8 * 1024 * 1024;

/// A keystore format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jks,
    Jceks,
    Pkcs12,
}

impl Format {
    /// As keytool names it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jks => "JKS",
            Format::Jceks => "JCEKS",
            Format::Pkcs12 => "PKCS12",
        }
    }
}

/// What the bytes look like: a magic number, or a DER SEQUENCE starting with
/// PKCS #12's version 3.
pub fn format_of(bytes: &[u8]) -> Option<Format> {
    match bytes.get(..4).map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]])) {
        Some(jks::JKS_MAGIC) => return Some(Format::Jks),
        Some(jks::JCEKS_MAGIC) => return Some(Format::Jceks),
        _ => {}
    }
    if bytes.first() != Some(&0x30) {
        return None;
    }
    let header = match bytes.get(1)? {
        n @ 0..=0x7f if usize::from(*n) <= bytes.len() => 2,
        0x81..=0x84 => 2 + usize::from(bytes[1] & 0x7f),
        _ => return None,
    };
    (bytes.get(header..header + 3)? == [0x02, 0x01, 0x03]).then_some(Format::Pkcs12)
}

/// One trusted-certificate entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedCert {
    pub alias: String,
    pub der: Vec<u8>,
}

/// How the store's integrity checks out with the default password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrity {
    /// No integrity check at all (a password-less PKCS #12).
    None,
    /// The digest or MAC verifies with `changeit`.
    DefaultPassword,
    /// It does not: the store has another password.
    OtherPassword,
}

/// What writing a copy needs, by format.
#[derive(Clone, Debug)]
enum Layout {
    Jks {
        version: u32,
        count: u32,
        /// The entries, between the header and the digest.
        entries: Range<usize>,
    },
    Pkcs12 {
        /// Each ContentInfo of the AuthenticatedSafe, whole.
        content_infos: Vec<Range<usize>>,
        mac: Option<pbe::MacParams>,
        /// The algorithm (an AlgorithmIdentifier) the trusted certificates
        /// are encrypted with; `None` when they are in the clear.
        encryption: Option<Vec<u8>>,
    },
}

/// A keystore read.
#[derive(Clone, Debug)]
pub struct Keystore {
    pub format: Format,
    /// The trusted-certificate entries, in file order.
    pub trusted: Vec<TrustedCert>,
    /// Private-key (and secret-key) entries: a store that has any is
    /// somebody's keystore, not a copy of the public roots.
    pub private_keys: usize,
    pub integrity: Integrity,
    /// PKCS #12 whose trusted certificates are encrypted: a JVM reads them
    /// only when it is given the password.
    pub encrypted_certs: bool,
    /// Every entry's alias, lowercased (as the JDK compares them).
    aliases: Vec<String>,
    layout: Layout,
}

/// Reads a keystore. `Err` says why it cannot be, in a phrase.
pub fn parse(bytes: &[u8]) -> Result<Keystore, String> {
    if bytes.len() > MAX_KEYSTORE_BYTES {
        return Err(format!(
            "{} bytes, more than a keystore of trusted certificates takes ({MAX_KEYSTORE_BYTES})",
            bytes.len()
        ));
    }
    match format_of(bytes) {
        Some(Format::Jks | Format::Jceks) => jks::parse(bytes),
        Some(Format::Pkcs12) => pkcs12::parse(bytes),
        None if bytes.is_empty() => Err("empty".to_string()),
        None => Err("neither JKS, JCEKS nor PKCS #12".to_string()),
    }
}

impl Keystore {
    /// The trusted certificates' DER.
    pub fn trusted_ders(&self) -> impl Iterator<Item = &[u8]> {
        self.trusted.iter().map(|t| t.der.as_slice())
    }

    /// `original` (the bytes this was read from) with `added` as trusted
    /// certificates, dated `date_ms`: same format, same version, every
    /// original entry byte for byte, the same protection, the integrity
    /// digest or MAC recomputed with the default password. `Err` when that
    /// cannot be done faithfully (another password; a store whose
    /// certificates are partly encrypted).
    pub fn with_added(&self, original: &[u8], added: &[&[u8]], date_ms: i64) -> Result<Vec<u8>, String> {
        if self.integrity == Integrity::OtherPassword {
            return Err(format!(
                "its {} does not verify with the default password \"{DEFAULT_PASSWORD}\" \
                 (another password, or damaged)",
                match self.format {
                    Format::Pkcs12 => "integrity MAC",
                    _ => "integrity digest",
                }
            ));
        }
        let named = self.new_aliases(added);
        match &self.layout {
            Layout::Jks {
                version,
                count,
                entries,
            } => jks::with_added(original, *version, *count, entries.clone(), &named, date_ms),
            Layout::Pkcs12 {
                content_infos,
                mac,
                encryption,
            } => pkcs12::with_added(original, content_infos, mac.as_ref(), encryption.as_deref(), &named),
        }
    }

    /// `cafix-local-<first 8 bytes of the SHA-256, hex>` for each
    /// certificate, made unique among the store's aliases, case ignored.
    fn new_aliases<'a>(&self, added: &[&'a [u8]]) -> Vec<(String, &'a [u8])> {
        let mut taken: Vec<String> = self.aliases.clone();
        let mut out = Vec::with_capacity(added.len());
        for der in added {
            let hex: String = Sha256::digest(der)[..8].iter().map(|b| format!("{b:02x}")).collect();
            let base = format!("cafix-local-{hex}");
            let mut alias = base.clone();
            let mut n = 2;
            while taken.contains(&alias) {
                alias = format!("{base}-{n}");
                n += 1;
            }
            taken.push(alias.clone());
            out.push((alias, *der));
        }
        out
    }
}

#[cfg(test)]
mod tests;
