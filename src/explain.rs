//! Explaining a failed certificate verification in words a person can act on.
//!
//! The shim gathers the facts inside the program (the library's error, the
//! certificate at the failing depth, the trust sources the store was given,
//! the hash-directory lookups that missed during this verification, whether
//! the system bundle has the missing issuer); this module turns them into one
//! [`Record`] with a hint for the likely cause. OpenSSL's failures arrive
//! with an `X509_V_ERR_*` code and depth; GnuTLS's as status bits, which
//! [`gnutls`] turns into the same facts, so both get one classifier and one
//! record. Pure: no I/O, no TLS library.

pub mod gnutls;

use std::net::SocketAddr;

use sha2::{Digest, Sha256};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::bundle::display_name;
use crate::config::Level;
use crate::locations::is_trust_dir;
use crate::record::Record;
use crate::subject_hash::{hash_hex, name_hash};

/// OpenSSL's `X509_V_ERR_*` codes the hints use (stable since 1.1.0).
pub mod code {
    pub const UNABLE_TO_GET_ISSUER_CERT: i32 = 2;
    pub const CERT_NOT_YET_VALID: i32 = 9;
    pub const CERT_HAS_EXPIRED: i32 = 10;
    pub const DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
    pub const SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
    pub const UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
    pub const UNABLE_TO_VERIFY_LEAF_SIGNATURE: i32 = 21;
    pub const CERT_SIGNATURE_FAILURE: i32 = 7;
    pub const CERT_REVOKED: i32 = 23;
    pub const INVALID_CA: i32 = 24;
    pub const INVALID_PURPOSE: i32 = 26;
    pub const PERMITTED_VIOLATION: i32 = 47;
    pub const HOSTNAME_MISMATCH: i32 = 62;
    pub const EMAIL_MISMATCH: i32 = 63;
    pub const IP_ADDRESS_MISMATCH: i32 = 64;
    pub const EE_KEY_TOO_SMALL: i32 = 66;
    pub const CA_KEY_TOO_SMALL: i32 = 67;
    pub const CA_MD_TOO_WEAK: i32 = 68;
}

/// The facts about one certificate that an explanation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub subject_hash: Option<u32>,
    pub issuer_hash: Option<u32>,
    pub self_issued: bool,
    pub is_ca: bool,
    pub not_before: i64,
    pub not_after: i64,
    /// Signed with MD2, MD5 or SHA-1, which current libraries refuse.
    pub weak_signature: bool,
    /// SHA-256 of the DER, lower-case hex.
    pub sha256: String,
    /// The subject alternative names: `DNS:host`, `IP:addr`, `email:…`, `URI:…`.
    pub names: Vec<String>,
}

impl CertSummary {
    pub fn from_der(der: &[u8]) -> Option<CertSummary> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|bc| bc.value.ca);
        Some(CertSummary {
            subject: display_name(cert.subject()),
            issuer: display_name(cert.issuer()),
            subject_hash: name_hash(cert.subject()),
            issuer_hash: name_hash(cert.issuer()),
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            is_ca,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            weak_signature: WEAK_SIGNATURE_OIDS.contains(&cert.signature_algorithm.algorithm.to_id_string().as_str()),
            sha256: sha256_hex(der),
            names: subject_alt_names(&cert),
        })
    }

    /// `sha256$<hex>`, the pin format of IO::Socket::SSL and others.
    pub fn pin(&self) -> String {
        format!("sha256${}", self.sha256)
    }

    /// `AB:CD:…`, the SHA-256 fingerprint as `openssl x509 -fingerprint`,
    /// `gnutls-cli` and browsers print it.
    pub fn colon_fingerprint(&self) -> String {
        let upper = self.sha256.to_ascii_uppercase();
        let pairs: Vec<&str> = (0..upper.len() / 2).map(|i| &upper[2 * i..2 * i + 2]).collect();
        pairs.join(":")
    }
}

/// The names of a certificate's subjectAltName extension, as OpenSSL prints
/// them (`DNS:`, `IP:`, `email:`, `URI:`); other kinds are left out.
fn subject_alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
            GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
            GeneralName::URI(u) => Some(format!("URI:{u}")),
            GeneralName::IPAddress(ip) => match ip.len() {
                4 => <[u8; 4]>::try_from(*ip)
                    .ok()
                    .map(|a| format!("IP:{}", std::net::Ipv4Addr::from(a))),
                16 => <[u8; 16]>::try_from(*ip)
                    .ok()
                    .map(|a| format!("IP:{}", std::net::Ipv6Addr::from(a))),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Signature algorithms no current TLS library accepts by default:
/// md2/md5/sha1 with RSA, DSA with SHA-1, ECDSA with SHA-1.
const WEAK_SIGNATURE_OIDS: [&str; 5] = [
    "1.2.840.113549.1.1.2",
    "1.2.840.113549.1.1.4",
    "1.2.840.113549.1.1.5",
    "1.2.840.10040.4.3",
    "1.2.840.10045.4.1",
];

pub fn sha256_hex(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
}

/// How a store got its trust, as seen by the shim's OpenSSL hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    File(String),
    Dir(String),
    Store(String),
    /// `X509_STORE_set_default_paths`: OpenSSL's compiled-in file and dir.
    Defaults,
    /// GnuTLS's `*_system_trust`: the trust file compiled into the library
    /// (when the shim could read it off the library) or PKCS #11 (p11-kit).
    SystemTrust(Option<String>),
}

impl std::fmt::Display for TrustSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrustSource::File(p) => write!(f, "file {p}"),
            TrustSource::Dir(p) => write!(f, "dir {p}"),
            TrustSource::Store(p) => write!(f, "store {p}"),
            TrustSource::Defaults => write!(f, "defaults"),
            TrustSource::SystemTrust(Some(p)) => write!(f, "system trust (file {p}, compiled into the library)"),
            TrustSource::SystemTrust(None) => write!(f, "system trust"),
        }
    }
}

/// The server a verification was about, as far as the program's library
/// can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Server {
    /// The name the verification was asked to match, or else the name the
    /// client sent (SNI).
    pub name: Option<String>,
    /// The peer's address and port.
    pub peer: Option<SocketAddr>,
    /// The peer is not the connection's own (the library's transport is not
    /// a descriptor, as with curl's and Qt's), but the process's only TCP
    /// connection.
    pub peer_guessed: bool,
}

impl Server {
    /// `name:port`, `name`, `address:port`; what a summary groups by.
    pub fn key(&self) -> Option<String> {
        match (&self.name, self.peer) {
            (Some(name), Some(peer)) => Some(format!("{}:{}", host_for_port(name), peer.port())),
            (Some(name), None) => Some(name.clone()),
            (None, Some(peer)) => Some(peer.to_string()),
            (None, None) => None,
        }
    }

    /// The `server` line of a record: the key, with the address when a
    /// name came first.
    pub fn describe(&self) -> Option<String> {
        let key = self.key()?;
        let guessed = if self.peer_guessed {
            ", the process's only TCP connection"
        } else {
            ""
        };
        Some(match (&self.name, self.peer) {
            (Some(_), Some(peer)) => format!("{key} (address {}{guessed})", peer.ip()),
            (None, Some(_)) if self.peer_guessed => format!("{key} (the process's only TCP connection)"),
            _ => key,
        })
    }
}

/// A host name or IPv6 address ready for `:port`.
fn host_for_port(name: &str) -> String {
    if name.contains(':') && !name.starts_with('[') {
        format!("[{name}]")
    } else {
        name.to_string()
    }
}

/// Everything known about one failed `X509_verify_cert`.
#[derive(Debug, Clone, Default)]
pub struct VerifyFailure {
    pub error: i32,
    pub error_text: String,
    pub depth: i32,
    /// The certificate at the failing depth.
    pub cert: Option<CertSummary>,
    /// How many untrusted certificates (usually: what the peer sent) came with it.
    pub peer_chain_len: usize,
    /// `None` when the store got its trust through calls the shim cannot see
    /// (Qt resolves OpenSSL with `dlsym` and calls it directly).
    pub sources: Option<Vec<TrustSource>>,
    /// Hash-directory lookups that missed during this verification.
    pub missed_lookups: Vec<String>,
    /// Those of [`VerifyFailure::missed_lookups`] whose hash the system
    /// bundle has no certificate for either (the shim's held-back
    /// "unresolved" warnings, told here instead of on lines of their own).
    pub missed_not_in_bundle: Vec<String>,
    /// Subject of the system-bundle certificate that would have been the issuer.
    pub issuer_in_bundle: Option<String>,
    pub bundle_path: Option<String>,
    /// e.g. `OpenSSL 3.0.19 27 Jan 2026, /lib/x86_64-linux-gnu/libcrypto.so.3`
    /// or `GnuTLS 3.7.9, /lib/x86_64-linux-gnu/libgnutls.so.30`.
    pub library: String,
    /// GnuTLS's verification status bits, when GnuTLS verified: `error` and
    /// `depth` are then the OpenSSL-equivalent reading of them
    /// ([`gnutls::locate`]), and `error_text` is GnuTLS's own sentence.
    pub gnutls_status: Option<u32>,
    /// The host name the verification expected, if OpenSSL says.
    pub expected_host: Option<String>,
    /// `X509_verify_cert` returned success although it met this error: the
    /// program's verify callback accepted it (Qt does this for every error,
    /// collects them, and fails the handshake itself).
    pub accepted_by_callback: bool,
    /// The program that verified (its `comm`, or `argv[0]` when that is longer).
    pub program: Option<String>,
    pub server: Server,
    /// The peer's own certificate (the chain's first), whatever the depth of the failure.
    pub leaf: Option<CertSummary>,
}

/// The likely cause of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Only hash directories were searched and they lack a CA the bundle has (Qt's on-demand mode).
    OnDemandDirsWithoutBundle,
    /// GnuTLS loaded every file of a system certificate directory, none of
    /// them the issuer, which the system bundle has.
    DirWithoutIssuer,
    /// The issuer is in the system bundle, but the program trusts only its own CA file or directory.
    NotInProgramTrust,
    /// The chain ends at a CA whose issuer is not in the system bundle.
    RootNotInBundle,
    /// The server sent its leaf without the intermediate that issued it.
    IncompleteChain,
    Expired,
    NotYetValid,
    HostnameMismatch,
    /// The server's own certificate is self-signed: trust on first use by pinning it.
    SelfSignedLeaf,
    /// The chain the server sent ends in a self-signed root that is not trusted here.
    UntrustedRootInChain,
    /// A signature algorithm or key size the library refuses (SHA-1, MD5, RSA-1024).
    InsecureAlgorithm,
    Other,
}

impl Hint {
    pub const ALL: [Hint; 12] = [
        Hint::OnDemandDirsWithoutBundle,
        Hint::DirWithoutIssuer,
        Hint::NotInProgramTrust,
        Hint::RootNotInBundle,
        Hint::IncompleteChain,
        Hint::Expired,
        Hint::NotYetValid,
        Hint::HostnameMismatch,
        Hint::SelfSignedLeaf,
        Hint::UntrustedRootInChain,
        Hint::InsecureAlgorithm,
        Hint::Other,
    ];

    /// The hint of a `hint_class`.
    pub fn from_class(class: &str) -> Option<Hint> {
        Hint::ALL.into_iter().find(|h| h.as_str() == class)
    }

    /// The hint whose [`Hint::cause`] this is.
    pub fn from_cause(cause: &str) -> Option<Hint> {
        Hint::ALL.into_iter().find(|h| h.cause() == cause)
    }

    /// The cause in a few words (a record's `cause` line, `cafix log`).
    pub fn cause(self) -> &'static str {
        match self {
            Hint::OnDemandDirsWithoutBundle => "CA missing from the hash directory the program looks in",
            Hint::DirWithoutIssuer => "CA missing from the directory the program trusts",
            Hint::NotInProgramTrust => "CA not in the program's own trust",
            Hint::RootNotInBundle => "root not in the system bundle",
            Hint::IncompleteChain => "server omits an intermediate certificate",
            Hint::Expired => "certificate expired",
            Hint::NotYetValid => "certificate not valid yet",
            Hint::HostnameMismatch => "certificate not issued for this name",
            Hint::SelfSignedLeaf => "self-signed server certificate",
            Hint::UntrustedRootInChain => "server sends a root not trusted here",
            Hint::InsecureAlgorithm => "insecure signature algorithm or key",
            Hint::Other => "other verification error",
        }
    }

    /// The fix in a few words (`cafix log`; the record's `hint` says more).
    pub fn fix(self) -> &'static str {
        match self {
            Hint::OnDemandDirsWithoutBundle => {
                "run the program under cafix (cafix run, or libcafix.so system-wide), or `openssl rehash` the directory"
            }
            Hint::DirWithoutIssuer => "point the program at the system bundle, or add the CA's file to its directory",
            Hint::NotInProgramTrust => "add the CA to the program's own CA file, or make it use the system store",
            Hint::RootNotInBundle => {
                "if it should be trusted, install the root in /usr/local/share/ca-certificates/ and run update-ca-certificates"
            }
            Hint::IncompleteChain => "the server must send its intermediate certificate (fix its chain file)",
            Hint::Expired => "renew the certificate (or check this machine's clock)",
            Hint::NotYetValid => "check this machine's clock",
            Hint::HostnameMismatch => "connect with a name the certificate lists, or fix its subjectAltName",
            Hint::SelfSignedLeaf => "pin its fingerprint if you trust it (see the record's hint)",
            Hint::UntrustedRootInChain => "trust that root only if you know it",
            Hint::InsecureAlgorithm => "reissue the certificate with SHA-256 and RSA-2048 or an EC key",
            Hint::Other => "see the record's error",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Hint::OnDemandDirsWithoutBundle => "on-demand-dirs-without-bundle",
            Hint::DirWithoutIssuer => "dir-without-issuer",
            Hint::NotInProgramTrust => "not-in-program-trust",
            Hint::RootNotInBundle => "root-not-in-bundle",
            Hint::IncompleteChain => "incomplete-chain",
            Hint::Expired => "expired",
            Hint::NotYetValid => "not-yet-valid",
            Hint::HostnameMismatch => "hostname-mismatch",
            Hint::SelfSignedLeaf => "self-signed-leaf",
            Hint::UntrustedRootInChain => "untrusted-root-in-chain",
            Hint::InsecureAlgorithm => "insecure-algorithm",
            Hint::Other => "other",
        }
    }
}

/// Errors that mean "the issuer of the certificate at this depth was not
/// found" (OpenSSL's codes 2, 20 and 21).
pub fn is_missing_issuer(error: i32) -> bool {
    matches!(
        error,
        code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
            | code::UNABLE_TO_GET_ISSUER_CERT
            | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE
    )
}

/// Picks the likely cause.
pub fn classify(f: &VerifyFailure) -> Hint {
    match f.error {
        code::CERT_HAS_EXPIRED => Hint::Expired,
        code::CERT_NOT_YET_VALID => Hint::NotYetValid,
        code::HOSTNAME_MISMATCH | code::IP_ADDRESS_MISMATCH | code::EMAIL_MISMATCH => Hint::HostnameMismatch,
        code::DEPTH_ZERO_SELF_SIGNED_CERT => Hint::SelfSignedLeaf,
        code::SELF_SIGNED_CERT_IN_CHAIN => Hint::UntrustedRootInChain,
        code::EE_KEY_TOO_SMALL | code::CA_KEY_TOO_SMALL | code::CA_MD_TOO_WEAK => Hint::InsecureAlgorithm,
        code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | code::UNABLE_TO_GET_ISSUER_CERT
        | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE => {
            if f.issuer_in_bundle.is_some() {
                // Only well-known system directories count: an application's
                // own directory is its private trust, which cafix leaves alone.
                let system_dir = |d: &str| is_trust_dir(d.as_bytes(), None);
                let only_system_dirs = match &f.sources {
                    Some(sources) => {
                        !sources.is_empty()
                            && sources
                                .iter()
                                .all(|s| matches!(s, TrustSource::Dir(d) if system_dir(d)))
                    }
                    None => {
                        !f.missed_lookups.is_empty()
                            && f.missed_lookups
                                .iter()
                                .all(|p| p.rsplit_once('/').is_some_and(|(d, _)| system_dir(d)))
                    }
                };
                if only_system_dirs && f.gnutls_status.is_some() {
                    // GnuTLS reads a directory whole, never entry by entry.
                    Hint::DirWithoutIssuer
                } else if only_system_dirs {
                    Hint::OnDemandDirsWithoutBundle
                } else {
                    Hint::NotInProgramTrust
                }
            } else {
                let cert_is_ca = f.cert.as_ref().is_some_and(|c| c.is_ca);
                if !cert_is_ca && f.depth == 0 {
                    Hint::IncompleteChain
                } else {
                    Hint::RootNotInBundle
                }
            }
        }
        _ => Hint::Other,
    }
}

fn hint_text(hint: Hint, f: &VerifyFailure) -> String {
    let issuer = f.cert.as_ref().map_or("(unknown)", |c| c.issuer.as_str());
    let bundle = f.bundle_path.as_deref().unwrap_or("the system bundle");
    match hint {
        Hint::OnDemandDirsWithoutBundle => format!(
            "this store only looks up CAs in hash directories (on-demand, as Qt does when it finds a `<hash>.0` file) and never loaded the CA bundle; \
             \"{issuer}\" is in {bundle} but not in those directories. Run the program with `cafix run`, or run `openssl rehash` on the directory"
        ),
        Hint::DirWithoutIssuer => format!(
            "the program trusts the certificate files of {}, and none of them is \"{issuer}\", which is in {bundle}. \
             Point the program at {bundle} (GnuTLS reads a directory whole, so cafix cannot complete it), or add the CA's file to the directory",
            f.sources.as_ref().map_or_else(|| "a directory".to_string(), |s| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        ),
        Hint::NotInProgramTrust => format!(
            "\"{issuer}\" is in {bundle}, but this program verifies against its own trust ({}) only; cafix does not add to a program's own trust. \
             Add the CA to that file or directory, or configure the program to use the system store",
            f.sources.as_ref().map_or_else(|| "unknown".to_string(), |s| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        ),
        Hint::RootNotInBundle => format!(
            "the chain ends at \"{}\", whose issuer \"{issuer}\" is not in {bundle}: the root is not trusted on this machine. \
             If it should be, install it as a local CA (e.g. /usr/local/share/ca-certificates/ + update-ca-certificates)",
            f.cert.as_ref().map_or("(unknown)", |c| c.subject.as_str())
        ),
        Hint::IncompleteChain => format!(
            "{} and its issuer \"{issuer}\" is not in {bundle}: \
             the server most likely omitted an intermediate certificate (fix the server's chain file), or \"{issuer}\" is a private CA not trusted here",
            match f.peer_chain_len {
                0 | 1 => "no intermediate came with the certificate".to_string(),
                n => format!("the peer sent {n} certificates, none of them the issuer"),
            }
        ),
        Hint::Expired => format!("\"{}\" expired; renew it (or check this machine's clock)", subject_of(f)),
        Hint::NotYetValid => format!("\"{}\" is not valid yet; check this machine's clock", subject_of(f)),
        Hint::HostnameMismatch => match &f.expected_host {
            Some(host) => format!("the certificate is not issued for \"{host}\"; connect with a name it lists, or fix the server certificate's SAN"),
            None => "the certificate is not issued for the name connected to; connect with a name it lists, or fix the server certificate's SAN".to_string(),
        },
        Hint::SelfSignedLeaf => format!(
            "the server's certificate \"{}\" is self-signed: nothing can vouch for it. If you trust it (trust on first use), pin its fingerprint {} (SHA-256 {})",
            subject_of(f),
            f.cert.as_ref().map_or_else(String::new, CertSummary::pin),
            f.cert.as_ref().map_or_else(String::new, CertSummary::colon_fingerprint)
        ),
        Hint::UntrustedRootInChain => format!(
            "the server sent a self-signed root \"{}\" that is not in {bundle}; trust it explicitly only if you know it",
            subject_of(f)
        ),
        Hint::InsecureAlgorithm => format!(
            "\"{}\" (or a CA above it) is signed with an algorithm or key this library no longer accepts (SHA-1, MD5, a short RSA key); \
             reissue it with SHA-256 and RSA-2048 or an EC key",
            subject_of(f)
        ),
        Hint::Other => match f.gnutls_status {
            Some(_) => "see GnuTLS's status above".to_string(),
            None => "see OpenSSL's error above".to_string(),
        },
    }
}

fn subject_of(f: &VerifyFailure) -> &str {
    f.cert.as_ref().map_or("(unknown)", |c| c.subject.as_str())
}

/// How many of the peer's certificate's names a text line shows.
const NAMES_SHOWN: usize = 20;

/// The program, the server, the peer's own certificate and the cause, after
/// the message.
fn with_who(mut r: Record, f: &VerifyFailure, hint: Hint) -> Record {
    if let Some(program) = &f.program {
        r = r.with("program", program.clone());
    }
    if let Some(server) = f.server.describe() {
        r = r.with("server", server);
    }
    if let Some(name) = &f.server.name {
        r = r.with("_server_name", name.clone());
    }
    if let Some(peer) = f.server.peer {
        r = r.with("_peer", peer.to_string());
        if f.server.peer_guessed {
            r = r.with("_peer_source", "only-tcp-connection");
        }
    }
    if let Some(leaf) = &f.leaf {
        let names = match leaf.names.len() {
            0 => "no subject alternative names".to_string(),
            n if n <= NAMES_SHOWN => leaf.names.join(", "),
            n => format!("{} and {} more", leaf.names[..NAMES_SHOWN].join(", "), n - NAMES_SHOWN),
        };
        r = r
            .with("server certificate", format!("{} ({names})", leaf.subject))
            .with("_leaf_subject", leaf.subject.clone())
            .with("_leaf_names", leaf.names.join(", "));
    }
    r.with("cause", hint.cause())
}

/// One record for one failure.
pub fn to_record(f: &VerifyFailure) -> Record {
    let hint = classify(f);
    let callback = if f.accepted_by_callback {
        "; the program's verify callback let the handshake go on, the program decides"
    } else {
        ""
    };
    let mut r = match f.gnutls_status {
        Some(status) => {
            let words = gnutls::status_words(status);
            let message = format!(
                "certificate verification failed: {} (status 0x{status:x}: {}; at depth {}) [{}]",
                f.error_text,
                words.join(", "),
                f.depth,
                f.library
            );
            Record::new(Level::Warn, "verify-failed", message)
                .with("_status", format!("0x{status:x}"))
                .with("_status_bits", words.join(" "))
        }
        None => {
            let message = format!(
                "certificate verification failed: {} (error {} at depth {}) [{}]{callback}",
                f.error_text, f.error, f.depth, f.library
            );
            Record::new(Level::Warn, "verify-failed", message).with("_error", f.error.to_string())
        }
    };
    r = with_who(r, f, hint);
    r = r
        .with("_error_text", f.error_text.clone())
        .with("_depth", f.depth.to_string())
        .with("_library", f.library.clone())
        .with(
            "_accepted_by_callback",
            if f.accepted_by_callback { "yes" } else { "no" },
        );
    if let Some(c) = &f.cert {
        r = r.with("certificate", c.subject.clone());
        let issuer_hash = c.issuer_hash.map(hash_hex).unwrap_or_else(|| "?".to_string());
        r = r.with("issuer", format!("{} (subject hash {issuer_hash})", c.issuer));
        r = r.with("_issuer_hash", issuer_hash);
        r = r.with("_sha256", c.sha256.clone());
    }
    // A name that does not match needs no trust sources (GnuTLS's separate
    // host name check has none to tell).
    if !(f.sources.is_none() && hint == Hint::HostnameMismatch) {
        r = r.with(
            "trust sources",
            match &f.sources {
                Some(s) if s.is_empty() => "none".to_string(),
                Some(s) => s.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                None => "not seen (set up through direct calls into the library)".to_string(),
            },
        );
    }
    if !f.missed_lookups.is_empty() {
        let lookups: Vec<String> = f
            .missed_lookups
            .iter()
            .map(|p| {
                if f.missed_not_in_bundle.contains(p) {
                    format!("{p} (its hash is not in the system bundle either)")
                } else {
                    p.clone()
                }
            })
            .collect();
        r = r.with("lookups that missed", lookups.join(", "));
    }
    r = r.with(
        "issuer in the system bundle",
        match (&f.issuer_in_bundle, &f.bundle_path) {
            (Some(s), Some(p)) => format!("yes, \"{s}\" in {p}"),
            (Some(s), None) => format!("yes, \"{s}\""),
            (None, Some(p)) => format!("no (looked in {p})"),
            (None, None) => "no system bundle found".to_string(),
        },
    );
    r.with("hint", hint_text(hint, f)).with("_hint_class", hint.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(is_ca: bool, self_issued: bool) -> CertSummary {
        CertSummary {
            subject: "CN=S".into(),
            issuer: "CN=I".into(),
            subject_hash: Some(1),
            issuer_hash: Some(2),
            self_issued,
            is_ca,
            not_before: 0,
            not_after: 1,
            weak_signature: false,
            sha256: "abcd".into(),
            names: Vec::new(),
        }
    }

    fn failure(error: i32, depth: i32, c: CertSummary) -> VerifyFailure {
        VerifyFailure {
            error,
            depth,
            cert: Some(c),
            library: "OpenSSL test".into(),
            ..Default::default()
        }
    }

    #[test]
    fn simple_codes_map_to_their_hints() {
        assert_eq!(classify(&failure(10, 0, cert(false, false))), Hint::Expired);
        assert_eq!(classify(&failure(9, 0, cert(false, false))), Hint::NotYetValid);
        assert_eq!(classify(&failure(62, 0, cert(false, false))), Hint::HostnameMismatch);
        assert_eq!(classify(&failure(18, 0, cert(false, true))), Hint::SelfSignedLeaf);
        assert_eq!(classify(&failure(19, 1, cert(true, true))), Hint::UntrustedRootInChain);
        assert_eq!(classify(&failure(7, 0, cert(false, false))), Hint::Other);
    }

    #[test]
    fn missing_issuer_is_told_apart() {
        let mut f = failure(20, 1, cert(true, false));
        assert_eq!(classify(&f), Hint::RootNotInBundle);
        f = failure(20, 0, cert(false, false));
        assert_eq!(classify(&f), Hint::IncompleteChain);
        f.issuer_in_bundle = Some("CN=I".into());
        f.sources = Some(vec![TrustSource::Dir("/etc/ssl/certs/".into())]);
        assert_eq!(classify(&f), Hint::OnDemandDirsWithoutBundle);
        f.sources = None;
        f.missed_lookups = vec!["/etc/ssl/certs/00000002.0".into()];
        assert_eq!(classify(&f), Hint::OnDemandDirsWithoutBundle);
        f.sources = Some(vec![TrustSource::Dir("/etc/ssl/certs/".into())]);
        f.gnutls_status = Some(gnutls::status::INVALID | gnutls::status::SIGNER_NOT_FOUND);
        assert_eq!(classify(&f), Hint::DirWithoutIssuer);
        f.gnutls_status = None;
        f.sources = Some(vec![TrustSource::File("/app/ca.pem".into())]);
        assert_eq!(classify(&f), Hint::NotInProgramTrust);
        f.sources = Some(vec![TrustSource::Dir("/opt/app/cadir".into())]);
        assert_eq!(classify(&f), Hint::NotInProgramTrust);
    }

    #[test]
    fn self_signed_hint_gives_the_pin() {
        let r = to_record(&failure(18, 0, cert(false, true)));
        let hint = r.details.iter().find(|(k, _)| *k == "hint").unwrap();
        assert!(hint.1.contains("sha256$abcd"), "{}", hint.1);
        assert!(hint.1.contains("SHA-256 AB:CD"), "{}", hint.1);
        assert!(r.message.contains("error 18 at depth 0"));
    }

    #[test]
    fn an_error_a_verify_callback_accepted_says_so() {
        let mut f = failure(20, 1, cert(true, false));
        let plain = to_record(&f);
        assert!(!plain.message.contains("callback"), "{}", plain.message);
        assert!(plain.details.contains(&("_accepted_by_callback", "no".into())));
        f.accepted_by_callback = true;
        let accepted = to_record(&f);
        assert!(accepted
            .message
            .ends_with("the program's verify callback let the handshake go on, the program decides"));
        assert!(accepted.details.contains(&("_accepted_by_callback", "yes".into())));
    }

    #[test]
    fn missing_issuer_codes() {
        for e in [2, 20, 21] {
            assert!(is_missing_issuer(e), "{e}");
        }
        for e in [0, 10, 18, 19, 62] {
            assert!(!is_missing_issuer(e), "{e}");
        }
    }

    #[test]
    fn a_gnutls_failure_names_its_status_bits_and_library() {
        let mut f = failure(20, 1, cert(true, false));
        f.gnutls_status = Some(gnutls::status::INVALID | gnutls::status::SIGNER_NOT_FOUND);
        f.error_text = "The certificate is NOT trusted. The certificate issuer is unknown.".into();
        f.library = "GnuTLS 3.7.9, /lib/x86_64-linux-gnu/libgnutls.so.30".into();
        let r = to_record(&f);
        assert_eq!(
            r.message,
            "certificate verification failed: The certificate is NOT trusted. The certificate issuer is unknown. \
             (status 0x42: invalid, signer-not-found; at depth 1) [GnuTLS 3.7.9, /lib/x86_64-linux-gnu/libgnutls.so.30]"
        );
        assert!(r.details.contains(&("_status_bits", "invalid signer-not-found".into())));
        assert!(!r.details.iter().any(|(k, _)| *k == "_error"));
        assert!(r.details.contains(&("_hint_class", "root-not-in-bundle".into())));
        f.error = -1;
        let hint = to_record(&f).details.into_iter().find(|(k, _)| *k == "hint").unwrap().1;
        assert_eq!(hint, "see GnuTLS's status above");
    }

    #[test]
    fn missed_lookups_say_which_hashes_the_bundle_lacks_too() {
        let mut f = failure(20, 1, cert(true, false));
        f.missed_lookups = vec!["/etc/ssl/certs/00000002.0".into(), "/etc/ssl/certs/00000003.0".into()];
        f.missed_not_in_bundle = vec!["/etc/ssl/certs/00000003.0".into()];
        let r = to_record(&f);
        let line = &r.details.iter().find(|(k, _)| *k == "lookups that missed").unwrap().1;
        assert_eq!(
            line,
            "/etc/ssl/certs/00000002.0, /etc/ssl/certs/00000003.0 (its hash is not in the system bundle either)"
        );
    }

    #[test]
    fn weak_keys_and_digests_are_insecure_algorithms() {
        for e in [code::EE_KEY_TOO_SMALL, code::CA_KEY_TOO_SMALL, code::CA_MD_TOO_WEAK] {
            assert_eq!(classify(&failure(e, 0, cert(false, false))), Hint::InsecureAlgorithm);
        }
    }

    #[test]
    fn a_name_mismatch_without_sources_has_no_sources_line() {
        let mut f = failure(62, 0, cert(false, false));
        assert!(!to_record(&f).details.iter().any(|(k, _)| *k == "trust sources"));
        f.sources = Some(vec![TrustSource::Defaults]);
        assert!(to_record(&f).details.contains(&("trust sources", "defaults".into())));
        let f = failure(20, 0, cert(false, false));
        assert!(to_record(&f).details.iter().any(|(k, _)| *k == "trust sources"));
    }

    #[test]
    fn a_failure_names_the_program_the_server_and_its_certificate() {
        let mut f = failure(20, 1, cert(true, false));
        f.program = Some("zeal".into());
        f.server = Server {
            name: Some("api.example.org".into()),
            peer: Some("192.0.2.7:443".parse().unwrap()),
            peer_guessed: false,
        };
        let mut leaf = cert(false, false);
        leaf.subject = "CN=api.example.org".into();
        leaf.names = vec!["DNS:api.example.org".into(), "IP:192.0.2.7".into()];
        f.leaf = Some(leaf);
        let r = to_record(&f);
        assert_eq!(r.detail("program"), Some("zeal"));
        assert_eq!(r.detail("server"), Some("api.example.org:443 (address 192.0.2.7)"));
        assert_eq!(r.detail("_server_name"), Some("api.example.org"));
        assert_eq!(r.detail("_peer"), Some("192.0.2.7:443"));
        assert_eq!(
            r.detail("server certificate"),
            Some("CN=api.example.org (DNS:api.example.org, IP:192.0.2.7)")
        );
        assert_eq!(r.detail("_leaf_names"), Some("DNS:api.example.org, IP:192.0.2.7"));
        assert_eq!(r.detail("cause"), Some("root not in the system bundle"));
        // They come right after the message, before the failing certificate.
        let keys: Vec<&str> = r
            .details
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !k.starts_with('_'))
            .collect();
        assert_eq!(
            &keys[..5],
            ["program", "server", "server certificate", "cause", "certificate"]
        );
    }

    #[test]
    fn servers_are_described_with_what_is_known() {
        let peer = Some("[2001:db8::1]:8443".parse().unwrap());
        let s = |name: Option<&str>, peer, peer_guessed| Server {
            name: name.map(str::to_string),
            peer,
            peer_guessed,
        };
        assert_eq!(s(None, None, false).describe(), None);
        assert_eq!(s(Some("h"), None, false).describe().as_deref(), Some("h"));
        assert_eq!(s(None, peer, false).describe().as_deref(), Some("[2001:db8::1]:8443"));
        assert_eq!(
            s(None, peer, true).describe().as_deref(),
            Some("[2001:db8::1]:8443 (the process's only TCP connection)")
        );
        assert_eq!(
            s(Some("h"), peer, true).describe().as_deref(),
            Some("h:8443 (address 2001:db8::1, the process's only TCP connection)")
        );
        assert_eq!(s(Some("::1"), peer, false).key().as_deref(), Some("[::1]:8443"));
    }

    #[test]
    fn many_names_are_cut_in_text_but_not_in_fields() {
        let mut f = failure(18, 0, cert(false, true));
        let mut leaf = cert(false, true);
        leaf.names = (0..25).map(|i| format!("DNS:h{i}")).collect();
        f.leaf = Some(leaf);
        let r = to_record(&f);
        assert!(r.detail("server certificate").unwrap().ends_with("DNS:h19 and 5 more)"));
        assert!(r.detail("_leaf_names").unwrap().ends_with("DNS:h23, DNS:h24"));
    }

    #[test]
    fn causes_and_classes_map_back() {
        for h in Hint::ALL {
            assert_eq!(Hint::from_class(h.as_str()), Some(h));
            assert_eq!(Hint::from_cause(h.cause()), Some(h));
            assert!(!h.fix().is_empty());
        }
    }

    /// `openssl req -x509 … -addext "subjectAltName=DNS:example.org,DNS:*.example.org,IP:192.0.2.1,IP:2001:db8::1,email:a@example.org"`
    const SAN_CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIB0TCCAXegAwIBAgIUHPkOiRtjcN5KeH4Z6hmVgK3v2/owCgYIKoZIzj0EAwIw\n\
FjEUMBIGA1UEAwwLZXhhbXBsZS5vcmcwHhcNMjYxMjA3MTgwNjUwWhcNMzYxMjA0\n\
MTgwNjUwWjAWMRQwEgYDVQQDDAtleGFtcGxlLm9yZzBZMBMGByqGSM49AgEGCCqG\n\
SM49AwEHA0IABPztx153R4jSqrrsoxx0L64Hb13pwJU6ENHHesVhRsQ5FYNZHS9p\n\
rgI7kR1ckoIIBABogE7KBKnKtrshQuv/Nd+jgaIwgZ8wHQYDVR0OBBYEFDUafZtK\n\
KcM1R7GZlgcPxz7MHKTrMB8GA1UdIwQYMBaAFDUafZtKKcM1R7GZlgcPxz7MHKTr\n\
MA8GA1UdEwEB/wQFMAMBAf8wTAYDVR0RBEUwQ4ILZXhhbXBsZS5vcmeCDSouZXhh\n\
bXBsZS5vcmeHBMAAAgGHECABDbgAAAAAAAAAAAAAAAGBDWFAZXhhbXBsZS5vcmcw\n\
CgYIKoZIzj0EAwIDSAAwRQIhAIUy9GZY1DvV9uIWQx4oFOvbVH+8GD3KNgZO2Szq\n\
XE+nAiBEtyQidA9x8+qyEAg7IYStP7jyVhHsqOcIF0TvKyE9MQ==\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn subject_alt_names_are_read() {
        // A certificate with DNS, IP and email names, made once with openssl.
        let der = match crate::pem::sections(SAN_CERT.as_bytes()).pop() {
            Some(crate::pem::PemItem::Certificate(der)) => der,
            other => panic!("{other:?}"),
        };
        let c = CertSummary::from_der(&der).unwrap();
        assert_eq!(
            c.names,
            [
                "DNS:example.org",
                "DNS:*.example.org",
                "IP:192.0.2.1",
                "IP:2001:db8::1",
                "email:a@example.org"
            ]
        );
    }

    #[test]
    fn system_trust_names_its_file() {
        assert_eq!(
            TrustSource::SystemTrust(Some("/etc/ssl/certs/ca-certificates.crt".into())).to_string(),
            "system trust (file /etc/ssl/certs/ca-certificates.crt, compiled into the library)"
        );
        assert_eq!(TrustSource::SystemTrust(None).to_string(), "system trust");
    }
}
