//! `cafix check`: diagnose a TLS endpoint.
//!
//! The handshake runs with verification off, so the chain the server sends
//! can be shown whatever is wrong with it; it is then verified separately
//! (`X509_verify_cert`) against the trust OpenSSL programs here use and
//! against the trust a Qt program here would have. A failed handshake is
//! read from OpenSSL's error stack (the alert the server sent, or the
//! client's own complaint) and, where that is ambiguous, from what a second
//! connection offering every protocol version and cipher gets.

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::raw::{c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use foreign_types::ForeignTypeRef;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{
    ErrorCode, HandshakeError, Ssl, SslContext, SslFiletype, SslMethod, SslRef, SslVerifyMode, SslVersion,
};
use openssl::stack::{Stack, StackRef};
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509Name, X509PurposeId, X509Ref, X509StoreContext, X509};
use serde_json::{json, Value};

use super::args::{CheckArgs, TlsVersion};
use super::hash::system_bundle;
use super::style;
use crate::audit::{self, format_rfc3339, format_utc};
use crate::bundle::{display_name, BundleIndex};
use crate::explain::{code, sha256_hex, CertSummary};
use crate::subject_hash::hash_hex;

// Not bound by openssl-sys; part of libssl's stable API since 1.0.2 / 1.1.0.
extern "C" {
    fn SSL_CTX_set_cert_cb(
        ctx: *mut openssl_sys::SSL_CTX,
        cb: Option<unsafe extern "C" fn(*mut openssl_sys::SSL, *mut c_void) -> c_int>,
        arg: *mut c_void,
    );
    fn SSL_get_client_CA_list(ssl: *const openssl_sys::SSL) -> *mut openssl_sys::stack_st_X509_NAME;
}

/// Set when the server asked for a client certificate (`cafix check` makes
/// one connection at a time).
static CERT_REQUESTED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn note_cert_request(_ssl: *mut openssl_sys::SSL, _arg: *mut c_void) -> c_int {
    CERT_REQUESTED.store(true, Ordering::SeqCst);
    1
}

/// Every TLS 1.3 suite OpenSSL has, for the "what does the server accept" probe.
const ALL_TLS13_SUITES: &str =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub ip: Option<IpAddr>,
}

impl Target {
    pub fn display(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

fn default_port(scheme: &str) -> Result<u16, String> {
    Ok(match scheme {
        "https" | "wss" | "davs" | "h2" => 443,
        "ldaps" => 636,
        "imaps" => 993,
        "pop3s" => 995,
        "smtps" | "submissions" => 465,
        "ftps" => 990,
        "ircs" => 6697,
        "mqtts" => 8883,
        "amqps" => 5671,
        "http" | "ws" | "ftp" | "ldap" | "imap" | "pop3" | "smtp" | "irc" | "mqtt" | "amqp" => {
            return Err(format!(
                "{scheme}:// is not TLS (did you mean {scheme}s://?); STARTTLS is not supported"
            ))
        }
        _ => return Err(format!("unknown URL scheme {scheme:?}: give host:port instead")),
    })
}

/// Parses `https://host[:port]/path`, `host[:port]`, `[v6]:port`, `v6`.
pub fn parse_target(input: &str) -> Result<Target, String> {
    let input = input.trim();
    let (scheme, rest) = match input.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, input),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default = match &scheme {
        Some(s) => default_port(s)?,
        None => 443,
    };
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        let (h, after) = stripped
            .split_once(']')
            .ok_or_else(|| format!("{input:?}: unclosed [ in the address"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("{input:?}: unexpected {after:?} after the address")),
        };
        (h.to_string(), port)
    } else if authority.matches(':').count() > 1 {
        (authority.to_string(), None) // a bare IPv6 address
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{input:?}: no host name"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("{input:?}: bad port {p:?}"))?,
        None => default,
    };
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_none()
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(format!("{input:?}: {host:?} is not a host name"));
    }
    Ok(Target { host, port, ip })
}

/// The client certificate, its key and any chain certificates from its file.
struct ClientIdentity {
    cert: X509,
    key: PKey<Private>,
    chain: Vec<X509>,
}

fn load_client_identity(cert: &Path, key: Option<&Path>) -> Result<ClientIdentity, String> {
    let bytes = std::fs::read(cert).map_err(|e| format!("--cert {}: {e}", cert.display()))?;
    let mut certs = X509::stack_from_pem(&bytes).unwrap_or_default();
    if certs.is_empty() {
        return Err(format!("--cert {}: no PEM certificate in it", cert.display()));
    }
    let first = certs.remove(0);
    let key_path = key.unwrap_or(cert);
    let key_bytes = std::fs::read(key_path).map_err(|e| format!("--key {}: {e}", key_path.display()))?;
    let pkey = PKey::private_key_from_pem(&key_bytes).map_err(|_| {
        if key.is_some() {
            format!("--key {}: no (unencrypted) PEM private key in it", key_path.display())
        } else {
            format!(
                "--cert {}: holds no private key; give it with --key FILE",
                cert.display()
            )
        }
    })?;
    let same_key = first.public_key().map(|pk| pk.public_eq(&pkey)).unwrap_or(false);
    if !same_key {
        return Err(format!(
            "--key {} does not belong to the certificate in {}",
            key_path.display(),
            cert.display()
        ));
    }
    Ok(ClientIdentity {
        cert: first,
        key: pkey,
        chain: certs,
    })
}

fn ssl_version(v: TlsVersion) -> SslVersion {
    match v {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

fn version_name(v: SslVersion) -> &'static str {
    match v {
        SslVersion::TLS1 => "TLSv1",
        SslVersion::TLS1_1 => "TLSv1.1",
        SslVersion::TLS1_2 => "TLSv1.2",
        SslVersion::TLS1_3 => "TLSv1.3",
        SslVersion::SSL3 => "SSLv3",
        _ => "?",
    }
}

/// One connection's settings.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    servername: Option<&'a str>,
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
    /// Offer every cipher and version this OpenSSL has (security level 0).
    everything: bool,
    client: Option<&'a ClientIdentity>,
    timeout: Duration,
}

/// What a failed handshake said.
#[derive(Debug, Clone, Default)]
struct Failure {
    /// OpenSSL's reason strings, lower case.
    reasons: Vec<String>,
    /// One line for people.
    text: String,
    timed_out: bool,
}

impl Failure {
    fn has(&self, needle: &str) -> bool {
        self.reasons.iter().any(|r| r.contains(needle))
    }
}

/// What one connection got.
struct Outcome {
    addr: SocketAddr,
    completed: bool,
    version: Option<String>,
    cipher: Option<String>,
    chain: Vec<X509>,
    cert_requested: bool,
    client_cas: Vec<String>,
    /// The protocol range this client offered.
    offered: (Option<SslVersion>, Option<SslVersion>),
    failure: Option<Failure>,
}

impl Outcome {
    /// Did the server answer with a ServerHello (and so agree on a version and cipher)?
    fn server_hello(&self) -> bool {
        self.completed || !self.chain.is_empty()
    }
}

fn failure_from(err: &openssl::ssl::Error) -> Failure {
    let mut f = Failure::default();
    if let Some(io) = err.io_error() {
        f.timed_out = matches!(io.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
        f.reasons.push(io.to_string().to_ascii_lowercase());
        f.text = io.to_string();
    }
    if let Some(stack) = err.ssl_error() {
        let reasons: Vec<String> = stack
            .errors()
            .iter()
            .filter_map(|e| e.reason())
            .map(str::to_string)
            .collect();
        f.reasons.extend(reasons.iter().map(|r| r.to_ascii_lowercase()));
        if f.text.is_empty() {
            f.text = reasons.join("; ");
        }
    }
    if err.code() == ErrorCode::WANT_READ || err.code() == ErrorCode::WANT_WRITE {
        f.timed_out = true;
    }
    if err.code() == ErrorCode::SYSCALL && f.reasons.is_empty() {
        f.reasons.push("unexpected eof while reading".to_string());
    }
    if f.text.is_empty() {
        f.text = if f.timed_out {
            "timed out".to_string()
        } else {
            "the server closed the connection".to_string()
        };
    }
    f
}

/// Client CA names the server sent with its certificate request.
fn client_ca_names(ssl: &SslRef) -> Vec<String> {
    // SAFETY: `ssl` is a live SSL; the list belongs to it and is only read here.
    unsafe {
        let list = SSL_get_client_CA_list(ssl.as_ptr());
        if list.is_null() {
            return Vec::new();
        }
        StackRef::<X509Name>::from_ptr(list)
            .iter()
            .map(|name| match name.to_der().ok().and_then(|der| crate_name_text(&der)) {
                Some(text) => text,
                None => "(unreadable name)".to_string(),
            })
            .collect()
    }
}

fn crate_name_text(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::FromDer;
    let (_, name) = x509_parser::x509::X509Name::from_der(der).ok()?;
    Some(display_name(&name))
}

fn read_info(ssl: &SslRef, out: &mut Outcome) {
    out.chain = ssl
        .peer_cert_chain()
        .map(|s| s.iter().map(X509Ref::to_owned).collect())
        .unwrap_or_default();
    if out.chain.is_empty() {
        if let Some(leaf) = ssl.peer_certificate() {
            out.chain.push(leaf);
        }
    }
    if out.completed || !out.chain.is_empty() {
        out.version = Some(ssl.version_str().to_string());
        out.cipher = ssl.current_cipher().map(|c| c.name().to_string());
    }
    out.client_cas = client_ca_names(ssl);
}

fn connect_tcp(target: &Target, addrs: &[SocketAddr], timeout: Duration) -> Result<(TcpStream, SocketAddr), String> {
    let mut errors = Vec::new();
    for addr in addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
                s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
                return Ok((s, *addr));
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock => {
                errors.push(format!("{addr}: timed out after {} s", timeout.as_secs()))
            }
            Err(e) => {
                let text = e.to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                errors.push(format!("{addr}: {text}"))
            }
        }
    }
    if addrs.len() == 1 && addrs[0].to_string() == target.display() {
        let only = errors.pop().unwrap_or_default();
        return Err(format!("cannot connect to {only}"));
    }
    Err(format!("cannot connect to {}: {}", target.display(), errors.join("; ")))
}

/// One TLS handshake. `Err` only when cafix itself cannot proceed.
fn handshake(target: &Target, addrs: &[SocketAddr], a: Attempt<'_>) -> Result<Outcome, String> {
    let setup = |e: openssl::error::ErrorStack| format!("cannot set up TLS: {e}");
    let mut b = SslContext::builder(SslMethod::tls_client()).map_err(setup)?;
    b.set_verify(SslVerifyMode::NONE);
    if a.everything {
        b.set_security_level(0);
        b.set_cipher_list("ALL:COMPLEMENTOFALL:@SECLEVEL=0").map_err(setup)?;
        b.set_ciphersuites(ALL_TLS13_SUITES).map_err(setup)?;
        b.set_min_proto_version(Some(a.min.map_or(SslVersion::TLS1, ssl_version)))
            .map_err(setup)?;
        b.set_max_proto_version(Some(a.max.map_or(SslVersion::TLS1_3, ssl_version)))
            .map_err(setup)?;
    } else {
        if let Some(v) = a.min {
            b.set_min_proto_version(Some(ssl_version(v))).map_err(setup)?;
        }
        if let Some(v) = a.max {
            b.set_max_proto_version(Some(ssl_version(v))).map_err(setup)?;
        }
    }
    if let Some(id) = a.client {
        b.set_certificate(&id.cert).map_err(setup)?;
        b.set_private_key(&id.key).map_err(setup)?;
        for c in &id.chain {
            b.add_extra_chain_cert(c.clone()).map_err(setup)?;
        }
    }
    // SAFETY: the callback only stores to an atomic; the context is live.
    unsafe { SSL_CTX_set_cert_cb(b.as_ptr(), Some(note_cert_request), std::ptr::null_mut()) };
    let offered = (
        b.min_proto_version().or(Some(SslVersion::TLS1)),
        b.max_proto_version().or(Some(SslVersion::TLS1_3)),
    );
    let ctx = b.build();
    let mut ssl = Ssl::new(&ctx).map_err(setup)?;
    if let Some(name) = a.servername {
        ssl.set_hostname(name).map_err(setup)?;
    }
    let (stream, addr) = connect_tcp(target, addrs, a.timeout)?;
    CERT_REQUESTED.store(false, Ordering::SeqCst);
    let mut out = Outcome {
        addr,
        completed: false,
        version: None,
        cipher: None,
        chain: Vec::new(),
        cert_requested: false,
        client_cas: Vec::new(),
        offered,
        failure: None,
    };
    match ssl.connect(stream) {
        Ok(mut s) => {
            out.completed = true;
            out.cert_requested = CERT_REQUESTED.load(Ordering::SeqCst);
            read_info(s.ssl(), &mut out);
            // In TLS 1.3 the server judges our certificate (or its absence)
            // after the handshake has completed on our side: its alert comes
            // with the first read. Say goodbye and read the answer.
            if out.cert_requested && s.ssl().version2() == Some(SslVersion::TLS1_3) {
                let _ = s.shutdown();
                let deadline = Instant::now() + a.timeout;
                let mut buf = [0u8; 4096];
                for _ in 0..64 {
                    if Instant::now() > deadline {
                        break;
                    }
                    match s.ssl_read(&mut buf) {
                        Ok(0) => break,
                        Ok(_) => continue,
                        Err(e) if e.code() == ErrorCode::ZERO_RETURN => break,
                        Err(e) => {
                            let f = failure_from(&e);
                            if !f.timed_out
                                && !f.has("unexpected eof")
                                && !f.has("connection reset")
                                && !f.has("broken pipe")
                            {
                                out.failure = Some(f);
                            }
                            break;
                        }
                    }
                }
            }
        }
        Err(HandshakeError::SetupFailure(e)) => return Err(setup(e)),
        Err(HandshakeError::Failure(mid)) | Err(HandshakeError::WouldBlock(mid)) => {
            out.cert_requested = CERT_REQUESTED.load(Ordering::SeqCst);
            read_info(mid.ssl(), &mut out);
            out.failure = Some(failure_from(mid.error()));
        }
    }
    Ok(out)
}

/// The causes `check` tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    ProtocolVersion,
    Cipher,
    UntrustedRoot,
    IncompleteChain,
    HostnameMismatch,
    Validity,
    ClientCertRequired,
    ClientCertRejected,
    Other,
}

impl Class {
    pub fn id(self) -> &'static str {
        match self {
            Class::ProtocolVersion => "protocol-version",
            Class::Cipher => "cipher",
            Class::UntrustedRoot => "untrusted-root",
            Class::IncompleteChain => "incomplete-chain",
            Class::HostnameMismatch => "hostname-mismatch",
            Class::Validity => "validity",
            Class::ClientCertRequired => "client-cert-required",
            Class::ClientCertRejected => "client-cert-rejected",
            Class::Other => "other",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Class::ProtocolVersion => "no common protocol version",
            Class::Cipher => "no common cipher",
            Class::UntrustedRoot => "root not trusted (or self-signed)",
            Class::IncompleteChain => "incomplete chain: the server omitted an intermediate certificate",
            Class::HostnameMismatch => "hostname mismatch",
            Class::Validity => "certificate expired or not yet valid",
            Class::ClientCertRequired => "client certificate required",
            Class::ClientCertRejected => "client certificate not accepted",
            Class::Other => "handshake or verification failed",
        }
    }
}

/// A classified failure.
struct Diagnosis {
    class: Class,
    why: String,
    fixes: Vec<String>,
    pin: Option<String>,
}

/// The result of verifying the sent chain against one trust store.
struct Verification {
    trust: String,
    ok: bool,
    code: i32,
    text: String,
    depth: u32,
    /// The certificate at the failing depth.
    cert: Option<X509>,
    /// The chain OpenSSL built (partial on failure).
    built: Vec<X509>,
}

/// How to check the name.
#[derive(Clone)]
enum NameCheck {
    Host(String),
    Ip(IpAddr),
}

impl NameCheck {
    fn describe(&self) -> String {
        match self {
            NameCheck::Host(h) => h.clone(),
            NameCheck::Ip(ip) => ip.to_string(),
        }
    }
}

fn verify_chain(
    mut store: X509StoreBuilder,
    trust: String,
    chain: &[X509],
    name: &NameCheck,
) -> Result<Verification, String> {
    let e = |e: openssl::error::ErrorStack| format!("cannot verify: {e}");
    let mut param = X509VerifyParam::new().map_err(e)?;
    match name {
        NameCheck::Host(h) => param.set_host(h).map_err(e)?,
        NameCheck::Ip(ip) => param.set_ip(*ip).map_err(e)?,
    }
    store.set_param(&param).map_err(e)?;
    store.set_purpose(X509PurposeId::SSL_SERVER).map_err(e)?;
    let store = store.build();
    let leaf = chain.first().ok_or("the server sent no certificate")?;
    let mut untrusted = Stack::new().map_err(e)?;
    for c in &chain[1..] {
        untrusted.push(c.clone()).map_err(e)?;
    }
    let mut ctx = X509StoreContext::new().map_err(e)?;
    ctx.init(&store, leaf, &untrusted, |c| {
        let ok = c.verify_cert()?;
        let err = c.error();
        Ok(Verification {
            trust,
            ok,
            code: err.as_raw(),
            text: err.error_string().to_string(),
            depth: c.error_depth(),
            cert: c.current_cert().map(X509Ref::to_owned),
            built: c
                .chain()
                .map(|s| s.iter().map(X509Ref::to_owned).collect())
                .unwrap_or_default(),
        })
    })
    .map_err(e)
}

/// The trust OpenSSL programs here use (or --cacert / --capath).
fn openssl_store(args: &CheckArgs) -> Result<(X509StoreBuilder, String), String> {
    let e = |e: openssl::error::ErrorStack| format!("cannot build the trust store: {e}");
    let mut b = X509StoreBuilder::new().map_err(e)?;
    let mut parts = Vec::new();
    if let Some(file) = &args.cacert {
        let bytes = std::fs::read(file).map_err(|err| format!("--cacert {}: {err}", file.display()))?;
        let certs = X509::stack_from_pem(&bytes).unwrap_or_default();
        if certs.is_empty() {
            return Err(format!("--cacert {}: no PEM certificate in it", file.display()));
        }
        for c in certs {
            b.add_cert(c).map_err(e)?;
        }
        parts.push(format!("--cacert {}", file.display()));
    }
    if let Some(dir) = &args.capath {
        if !dir.is_dir() {
            return Err(format!("--capath {}: not a directory", dir.display()));
        }
        let dir_text = dir
            .to_str()
            .ok_or_else(|| format!("--capath {}: not UTF-8", dir.display()))?;
        let lookup = b.add_lookup(X509Lookup::hash_dir()).map_err(e)?;
        lookup.add_dir(dir_text, SslFiletype::PEM).map_err(e)?;
        parts.push(format!("--capath {}", dir.display()));
    }
    if parts.is_empty() {
        b.set_default_paths().map_err(e)?;
        let d = super::doctor::openssl_defaults();
        let file = std::env::var("SSL_CERT_FILE")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or(d.cert_file);
        let dir = std::env::var("SSL_CERT_DIR")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or(d.cert_dir);
        parts.push(format!("default paths: {file}, {dir}"));
    }
    Ok((b, parts.join(", ")))
}

/// The trust a Qt program here would have.
fn qt_store() -> Result<(X509StoreBuilder, String, audit::QtPrediction), String> {
    let e = |e: openssl::error::ErrorStack| format!("cannot build Qt's trust store: {e}");
    let qt = audit::predict_qt();
    let mut b = X509StoreBuilder::new().map_err(e)?;
    let trust = if qt.on_demand {
        let lookup = b.add_lookup(X509Lookup::hash_dir()).map_err(e)?;
        for d in &qt.dirs {
            if let Some(text) = d.to_str() {
                lookup
                    .add_dir(&format!("{}/", text.trim_end_matches('/')), SslFiletype::PEM)
                    .map_err(e)?;
            }
        }
        format!(
            "on-demand lookup in {} (because of {})",
            qt.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            qt.triggers.first().map_or(String::new(), |t| t.display().to_string())
        )
    } else {
        let mut n = 0;
        for f in &qt.bundle_files {
            let Ok(bytes) = audit::read_limited(f, crate::bundle::MAX_BUNDLE_BYTES as u64) else {
                continue;
            };
            for c in X509::stack_from_pem(&bytes).unwrap_or_default() {
                if b.add_cert(c).is_ok() {
                    n += 1;
                }
            }
        }
        format!(
            "{n} certificates loaded from {} *.pem/*.crt file(s)",
            qt.bundle_files.len()
        )
    };
    Ok((b, trust, qt))
}

/// Qt's message for an OpenSSL verification error (QSslError::errorString).
fn qt_message(code: i32) -> &'static str {
    match code {
        code::UNABLE_TO_GET_ISSUER_CERT => "The issuer certificate could not be found",
        code::CERT_NOT_YET_VALID => "The certificate is not yet valid",
        code::CERT_HAS_EXPIRED => "The certificate has expired",
        code::DEPTH_ZERO_SELF_SIGNED_CERT => "The certificate is self-signed, and untrusted",
        code::SELF_SIGNED_CERT_IN_CHAIN => {
            "The root certificate of the certificate chain is self-signed, and untrusted"
        }
        code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY => {
            "The issuer certificate of a locally looked up certificate could not be found"
        }
        code::UNABLE_TO_VERIFY_LEAF_SIGNATURE => "No certificates could be verified",
        code::HOSTNAME_MISMATCH | code::IP_ADDRESS_MISMATCH => {
            "The host name did not match any of the valid hosts for this certificate"
        }
        _ => "(another QSslError)",
    }
}

/// A certificate, described.
struct CertInfo {
    summary: Option<CertSummary>,
    san: Vec<String>,
    ca_issuers: Vec<String>,
    sha256: String,
}

fn cert_info(c: &X509Ref) -> CertInfo {
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

fn subject_of(c: &X509Ref) -> String {
    cert_info(c)
        .summary
        .map_or_else(|| "(unparsable certificate)".to_string(), |s| s.subject)
}

fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// The system bundle's certificate with this subject, if any.
fn in_bundle(bundle: Option<&BundleIndex>, subject: &str, hash: Option<u32>) -> Option<String> {
    let b = bundle?;
    let hash = hash?;
    b.with_hash(hash)
        .iter()
        .find(|c| c.subject == subject)
        .map(|c| c.subject.clone())
}

/// Names a failed verification's cause.
fn diagnose_verification(
    v: &Verification,
    chain: &[X509],
    name: &NameCheck,
    bundle: Option<&BundleIndex>,
    custom_trust: bool,
) -> Diagnosis {
    let now = audit::now();
    let at = v.cert.as_deref().or_else(|| chain.get(v.depth as usize).map(|c| &**c));
    let info = at.map(cert_info);
    let summary = info.as_ref().and_then(|i| i.summary.clone());
    let subject = summary.as_ref().map_or("(unknown)".to_string(), |s| s.subject.clone());
    let issuer = summary.as_ref().map_or("(unknown)".to_string(), |s| s.issuer.clone());
    let trust_add = "if you trust that CA: for this check, --cacert CA.pem; for the whole system, copy it to \
                     /usr/local/share/ca-certificates/NAME.crt and run `update-ca-certificates`";
    match v.code {
        code::DEPTH_ZERO_SELF_SIGNED_CERT => {
            let pin = summary.as_ref().map(CertSummary::pin);
            Diagnosis {
                class: Class::UntrustedRoot,
                why: format!("the server's certificate \"{subject}\" is self-signed: no CA vouches for it"),
                fixes: vec![
                    format!(
                        "if you trust this server (trust on first use), pin its certificate: {}",
                        pin.clone().unwrap_or_default()
                    ),
                    "or give the server a certificate from a CA the clients trust".to_string(),
                ],
                pin,
            }
        }
        code::SELF_SIGNED_CERT_IN_CHAIN => Diagnosis {
            class: Class::UntrustedRoot,
            why: format!("the chain ends at the self-signed root \"{subject}\", which the trust store does not hold"),
            fixes: vec![trust_add.to_string()],
            pin: None,
        },
        code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | code::UNABLE_TO_GET_ISSUER_CERT
        | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE => {
            let is_ca = summary.as_ref().is_some_and(|s| s.is_ca);
            let sent_issuer = chain.iter().any(|c| subject_of(c) == issuer);
            let aia = info.as_ref().map(|i| i.ca_issuers.clone()).unwrap_or_default();
            let aia_text = if aia.is_empty() {
                String::new()
            } else {
                format!(
                    " (its AIA extension says it can be fetched from {}; browsers do that, OpenSSL programs do not)",
                    aia.join(", ")
                )
            };
            let issuer_hash = summary.as_ref().and_then(|s| s.issuer_hash);
            let bundle_has = in_bundle(bundle, &issuer, issuer_hash);
            if !is_ca && !sent_issuer {
                Diagnosis {
                    class: Class::IncompleteChain,
                    why: format!(
                        "the server sent {} certificate(s) and the issuer \"{issuer}\" of \"{subject}\" is neither among them nor in the trust store{aia_text}",
                        chain.len()
                    ),
                    fixes: vec![
                        "configure the server to send its intermediate certificate(s) after its own (the full chain, e.g. fullchain.pem: \
                         nginx ssl_certificate, Apache SSLCertificateFile, HAProxy crt)"
                            .to_string(),
                        format!("or, if \"{issuer}\" is a CA to trust directly, {trust_add}"),
                    ],
                    pin: None,
                }
            } else {
                let mut why = format!(
                    "the chain ends at \"{subject}\", whose issuer \"{issuer}\" (subject hash {}) is not in the trust store",
                    issuer_hash.map_or("?".to_string(), hash_hex)
                );
                if custom_trust && bundle_has.is_some() {
                    why.push_str("; it is in the system CA bundle, though (drop --cacert/--capath to use it)");
                }
                if !aia.is_empty() {
                    why.push_str(&format!(
                        "; if \"{issuer}\" is not a root, the server omitted it (AIA: {})",
                        aia.join(", ")
                    ));
                }
                Diagnosis {
                    class: Class::UntrustedRoot,
                    why,
                    fixes: vec![trust_add.to_string()],
                    pin: None,
                }
            }
        }
        code::CERT_HAS_EXPIRED | code::CERT_NOT_YET_VALID => {
            let (nb, na) = summary.as_ref().map_or((0, 0), |s| (s.not_before, s.not_after));
            let expired = v.code == code::CERT_HAS_EXPIRED;
            Diagnosis {
                class: Class::Validity,
                why: if expired {
                    format!(
                        "\"{subject}\" (depth {}) expired at {} (now {})",
                        v.depth,
                        format_utc(na),
                        format_utc(now)
                    )
                } else {
                    format!(
                        "\"{subject}\" (depth {}) is valid only from {} (now {})",
                        v.depth,
                        format_utc(nb),
                        format_utc(now)
                    )
                },
                fixes: vec![if expired {
                    "renew the certificate on the server (or check this machine's clock)".to_string()
                } else {
                    "check this machine's clock; or the certificate was issued with a future start date".to_string()
                }],
                pin: None,
            }
        }
        code::HOSTNAME_MISMATCH | code::IP_ADDRESS_MISMATCH | code::EMAIL_MISMATCH => {
            let leaf = chain.first().map(|c| cert_info(c));
            let names = leaf.as_ref().map(|l| l.san.clone()).unwrap_or_default();
            let names_text = if names.is_empty() {
                "none (no subjectAltName)".to_string()
            } else {
                names.join(", ")
            };
            Diagnosis {
                class: Class::HostnameMismatch,
                why: format!(
                    "the certificate is not issued for \"{}\"; it names {names_text}",
                    name.describe()
                ),
                fixes: vec![
                    "connect with one of the names it lists (or check with --servername NAME)".to_string(),
                    format!(
                        "or reissue the server certificate with subjectAltName {}",
                        match name {
                            NameCheck::Host(h) => format!("DNS:{h}"),
                            NameCheck::Ip(ip) => format!("IP:{ip}"),
                        }
                    ),
                ],
                pin: None,
            }
        }
        _ => Diagnosis {
            class: Class::Other,
            why: format!(
                "OpenSSL: {} (error {} at depth {}, \"{subject}\")",
                v.text, v.code, v.depth
            ),
            fixes: Vec::new(),
            pin: None,
        },
    }
}

/// What versions and ciphers the server accepts when offered everything.
fn probe(target: &Target, addrs: &[SocketAddr], a: Attempt<'_>) -> Vec<(TlsVersion, String)> {
    let mut spoken = Vec::new();
    for v in TlsVersion::ALL.iter().rev() {
        let attempt = Attempt {
            min: Some(*v),
            max: Some(*v),
            everything: true,
            ..a
        };
        if let Ok(o) = handshake(target, addrs, attempt) {
            if o.server_hello() {
                spoken.push((*v, o.cipher.unwrap_or_default()));
            }
        }
    }
    spoken
}

fn range_text(offered: (Option<SslVersion>, Option<SslVersion>)) -> String {
    let lo = offered.0.map_or("?", version_name);
    let hi = offered.1.map_or("?", version_name);
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo} to {hi}")
    }
}

/// Names the cause of a failed handshake. `Err` when it is not a TLS
/// failure at all (not a TLS port, timeout): cafix could not check.
fn diagnose_handshake(
    o: &Outcome,
    f: &Failure,
    target: &Target,
    addrs: &[SocketAddr],
    a: Attempt<'_>,
) -> Result<Diagnosis, String> {
    if f.timed_out {
        return Err(format!(
            "{} ({}): timed out after {} s during the TLS handshake",
            target.display(),
            o.addr,
            a.timeout.as_secs()
        ));
    }
    if !o.server_hello()
        && (f.has("wrong version number")
            || f.has("packet length too long")
            || f.has("http request")
            || f.has("unknown protocol"))
    {
        return Err(format!(
            "{} ({}) does not speak TLS (OpenSSL: {}); is it the right port?",
            target.display(),
            o.addr,
            f.text
        ));
    }
    let sent_cert = a.client.is_some() && o.cert_requested;
    let cas = if o.client_cas.is_empty() {
        "none named".to_string()
    } else {
        o.client_cas.join("; ")
    };
    if o.server_hello() && o.cert_requested {
        if !sent_cert
            && (f.has("certificate required")
                || f.has("handshake failure")
                || f.has("bad certificate")
                || f.has("access denied")
                || f.has("certificate unknown")
                || f.has("unexpected eof"))
        {
            return Ok(Diagnosis {
                class: Class::ClientCertRequired,
                why: format!("the server requires a client certificate and none was sent (server said: {}); acceptable CAs: {cas}", f.text),
                fixes: vec![format!("give a certificate issued by one of the acceptable CAs: --cert FILE --key FILE ({cas})")],
                pin: None,
            });
        }
        if sent_cert
            && (f.has("unknown ca")
                || f.has("bad certificate")
                || f.has("certificate unknown")
                || f.has("decrypt error")
                || f.has("access denied")
                || f.has("handshake failure")
                || f.has("certificate expired")
                || f.has("unsupported certificate")
                || f.has("certificate revoked"))
        {
            let issuer = a
                .client
                .and_then(|id| cert_info(&id.cert).summary)
                .map_or("?".to_string(), |s| s.issuer);
            return Ok(Diagnosis {
                class: Class::ClientCertRejected,
                why: format!(
                    "the server rejected the client certificate issued by \"{issuer}\" (server said: {}); it accepts certificates issued by: {cas}",
                    f.text
                ),
                fixes: vec![format!("use a client certificate issued by one of: {cas} (and not expired)"),
                    "or have the server trust your certificate's CA".to_string()],
                pin: None,
            });
        }
    }
    let version_words = [
        "protocol version",
        "unsupported protocol",
        "no protocols available",
        "version too low",
        "version too high",
        "wrong ssl version",
        "unsupported version",
    ];
    let version_like = version_words.iter().any(|w| f.has(w));
    let cipher_like = !o.server_hello()
        && [
            "handshake failure",
            "no shared cipher",
            "no cipher",
            "insufficient security",
            "no suitable",
            "no ciphers available",
        ]
        .iter()
        .any(|w| f.has(w));
    let silent = !o.server_hello() && (f.has("unexpected eof") || f.has("connection reset"));
    if !(version_like || cipher_like || silent) {
        return Ok(Diagnosis {
            class: Class::Other,
            why: format!("the handshake failed: {}", f.text),
            fixes: Vec::new(),
            pin: None,
        });
    }
    // Offer everything, one version at a time, to see what the server speaks.
    let spoken = probe(
        target,
        addrs,
        Attempt {
            min: None,
            max: None,
            ..a
        },
    );
    let spoken_text = spoken
        .iter()
        .map(|(v, c)| format!("{} ({c})", v.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let lo = o.offered.0;
    let hi = o.offered.1;
    let in_range = |v: TlsVersion| {
        let sv = ssl_version(v);
        let rank = |x: SslVersion| TlsVersion::ALL.iter().position(|t| ssl_version(*t) == x).unwrap_or(0);
        lo.map_or(true, |l| rank(sv) >= rank(l)) && hi.map_or(true, |h| rank(sv) <= rank(h))
    };
    let any_in_range = spoken.iter().any(|(v, _)| in_range(*v));
    if version_like || (silent && !spoken.is_empty() && !any_in_range) {
        let why = if spoken.is_empty() {
            format!(
                "the server accepts none of the versions offered ({}); server said: {}",
                range_text(o.offered),
                f.text
            )
        } else {
            format!(
                "this client offered {}; the server speaks {spoken_text} (server said: {})",
                range_text(o.offered),
                f.text
            )
        };
        return Ok(Diagnosis {
            class: Class::ProtocolVersion,
            why,
            fixes: vec![
                match spoken.first() {
                    Some((v, _)) => format!(
                        "allow {} in the client (here: --tls-min/--tls-max {}; for OpenSSL programs: MinProtocol/MaxProtocol in openssl.cnf)",
                        v.name(),
                        v.name().trim_start_matches("TLSv")
                    ),
                    None => "allow a version the server speaks in the client (--tls-min/--tls-max)".to_string(),
                },
                "or enable TLS 1.2 and 1.3 on the server (e.g. nginx: ssl_protocols TLSv1.2 TLSv1.3;)".to_string(),
            ],
            pin: None,
        });
    }
    if cipher_like || (silent && any_in_range) {
        let chosen = spoken.iter().find(|(v, _)| in_range(*v));
        let why = match chosen {
            Some((v, c)) => format!(
                "the server accepts none of the ciphers offered by default (server said: {}); offered everything, it chose {c} ({})",
                f.text,
                v.name()
            ),
            None => format!(
                "the server accepts none of the ciphers offered (server said: {}), not even with every cipher of this OpenSSL (or it also needs other parameters: groups, signature algorithms)",
                f.text
            ),
        };
        return Ok(Diagnosis {
            class: Class::Cipher,
            why,
            fixes: vec![
                "enable modern ciphers on the server (TLS 1.3 suites; for TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305)".to_string(),
                "or, only if you must talk to it as it is, allow that cipher in the client (openssl.cnf CipherString / Ciphersuites)".to_string(),
            ],
            pin: None,
        });
    }
    Err(format!(
        "{} ({}) closed the connection during the TLS handshake without an alert ({}); not a TLS port, or it refused this client",
        target.display(),
        o.addr,
        f.text
    ))
}

fn cert_json(c: &X509Ref) -> Value {
    let i = cert_info(c);
    let s = i.summary.as_ref();
    json!({
        "subject": s.map(|s| s.subject.clone()),
        "issuer": s.map(|s| s.issuer.clone()),
        "not_before": s.map(|s| format_rfc3339(s.not_before)),
        "not_after": s.map(|s| format_rfc3339(s.not_after)),
        "subject_hash": s.and_then(|s| s.subject_hash).map(hash_hex),
        "issuer_hash": s.and_then(|s| s.issuer_hash).map(hash_hex),
        "is_ca": s.map(|s| s.is_ca),
        "self_issued": s.map(|s| s.self_issued),
        "san": i.san,
        "ca_issuers": i.ca_issuers,
        "sha256": colon_hex(&i.sha256),
        "pin": format!("sha256${}", i.sha256),
    })
}

fn verification_json(v: &Verification) -> Value {
    json!({
        "trust": v.trust,
        "ok": v.ok,
        "error": if v.ok { Value::Null } else { json!(v.code) },
        "error_text": if v.ok { Value::Null } else { json!(v.text) },
        "depth": if v.ok { Value::Null } else { json!(v.depth) },
        "chain": v.built.iter().map(|c| subject_of(c)).collect::<Vec<_>>(),
    })
}

fn diagnosis_json(d: &Diagnosis) -> Value {
    json!({ "class": d.class.id(), "title": d.class.title(), "why": d.why, "fixes": d.fixes, "pin": d.pin })
}

pub fn run(args: &CheckArgs) -> Result<i32, String> {
    let target = parse_target(&args.target)?;
    if let (Some(lo), Some(hi)) = (args.tls_min, args.tls_max) {
        if lo > hi {
            return Err(format!("--tls-min {} is above --tls-max {}", lo.name(), hi.name()));
        }
    }
    let client = match &args.cert {
        Some(c) => Some(load_client_identity(c, args.key.as_deref())?),
        None => None,
    };
    let timeout = Duration::from_secs(args.timeout);
    // Validate trust arguments before connecting.
    let custom_trust = args.cacert.is_some() || args.capath.is_some();
    openssl_store(args)?;
    let servername: Option<String> = args
        .servername
        .clone()
        .or_else(|| target.ip.is_none().then(|| target.host.clone()));
    let name_check = match (&args.servername, target.ip) {
        (Some(n), _) => NameCheck::Host(n.clone()),
        (None, Some(ip)) => NameCheck::Ip(ip),
        (None, None) => NameCheck::Host(target.host.clone()),
    };
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("cannot resolve {}: no address", target.host));
    }
    let attempt = Attempt {
        servername: servername.as_deref(),
        min: args.tls_min,
        max: args.tls_max,
        everything: false,
        client: client.as_ref(),
        timeout,
    };
    let outcome = handshake(&target, &addrs, attempt)?;
    let handshake_diag = match &outcome.failure {
        Some(f) => Some(diagnose_handshake(&outcome, f, &target, &addrs, attempt)?),
        None => None,
    };

    let (_, bundle) = system_bundle();
    let bundle = bundle.and_then(Result::ok);
    let mut openssl_v = None;
    let mut qt_v = None;
    let mut qt_trust_skipped = None;
    let mut verify_diag = None;
    let mut qt_diag: Option<(String, Vec<String>)> = None;
    if !outcome.chain.is_empty() {
        let (store, trust) = openssl_store(args)?;
        let v = verify_chain(store, trust, &outcome.chain, &name_check)?;
        if !v.ok {
            verify_diag = Some(diagnose_verification(
                &v,
                &outcome.chain,
                &name_check,
                bundle.as_ref(),
                custom_trust,
            ));
        }
        openssl_v = Some(v);
        if custom_trust {
            qt_trust_skipped = Some("not checked: --cacert/--capath replace the system trust");
        } else {
            let (store, trust, qt) = qt_store()?;
            let v = verify_chain(store, trust, &outcome.chain, &name_check)?;
            if !v.ok && openssl_v.as_ref().is_some_and(|o| o.ok) {
                let at = v.cert.as_deref().map(cert_info).and_then(|i| i.summary);
                let issuer = at.as_ref().map_or("?".to_string(), |s| s.issuer.clone());
                let issuer_hash = at.as_ref().and_then(|s| s.issuer_hash);
                let missing_lookup = matches!(
                    v.code,
                    code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
                        | code::UNABLE_TO_GET_ISSUER_CERT
                        | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE
                );
                let why =
                    if qt.on_demand && missing_lookup && in_bundle(bundle.as_ref(), &issuer, issuer_hash).is_some() {
                        format!(
                        "a Qt program here fails (\"{}\"): {} makes Qt look CAs up on demand in its directories only, \
                         and \"{issuer}\" (subject hash {}) is in the system bundle but not there",
                        qt_message(v.code),
                        qt.triggers.first().map_or("a hash-named file".to_string(), |t| t.display().to_string()),
                        issuer_hash.map_or("?".to_string(), hash_hex)
                    )
                    } else {
                        format!(
                            "a Qt program here fails (\"{}\") although OpenSSL programs succeed",
                            qt_message(v.code)
                        )
                    };
                let mut fixes = vec![
                    "run Qt programs with `cafix run -- PROGRAM` (it serves the missing entries from the bundle)"
                        .to_string(),
                ];
                if qt.on_demand {
                    fixes.push(
                        "or complete the hash directory: `update-ca-certificates --fresh` (Debian/Ubuntu) or `openssl rehash DIR`".to_string(),
                    );
                    if qt.triggers.len() <= 3 {
                        fixes.push(format!(
                            "or, if nothing needs them, remove the stray file(s) {}: Qt then loads the bundle",
                            qt.triggers
                                .iter()
                                .map(|t| t.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
                fixes.push("`cafix doctor` audits the whole trust store".to_string());
                qt_diag = Some((why, fixes));
            }
            qt_v = Some(v);
        }
    }
    let diagnosis = handshake_diag.or(verify_diag);
    let ok = diagnosis.is_none() && qt_diag.is_none() && outcome.failure.is_none();

    if args.json {
        let value = json!({
            "target": {
                "host": target.host,
                "port": target.port,
                "address": outcome.addr.to_string(),
                "servername": servername,
                "name_checked": name_check.describe(),
            },
            "handshake": {
                "completed": outcome.completed && outcome.failure.is_none(),
                "protocol": outcome.version,
                "cipher": outcome.cipher,
                "error": outcome.failure.as_ref().map(|f| f.text.clone()),
            },
            "chain": outcome.chain.iter().map(|c| cert_json(c)).collect::<Vec<_>>(),
            "client_certificate": {
                "requested": outcome.cert_requested,
                "acceptable_cas": outcome.client_cas,
                "sent": client.is_some() && outcome.cert_requested,
            },
            "verification": {
                "openssl": openssl_v.as_ref().map(verification_json),
                "qt": qt_v.as_ref().map(|v| {
                    let mut j = verification_json(v);
                    if !v.ok {
                        j["qt_error"] = json!(qt_message(v.code));
                    }
                    j["diagnosis"] = match &qt_diag {
                        Some((why, fixes)) => json!({ "why": why, "fixes": fixes }),
                        None => Value::Null,
                    };
                    j
                }),
                "qt_skipped": qt_trust_skipped,
            },
            "ok": ok,
            "class": diagnosis.as_ref().map(|d| d.class.id()),
            "diagnosis": diagnosis.as_ref().map(diagnosis_json),
        });
        style::print_json(&value);
        return Ok(if ok { 0 } else { 1 });
    }

    // Text for people.
    let sni = servername
        .as_deref()
        .map_or("none (IP address)".to_string(), str::to_string);
    match (&outcome.version, &outcome.cipher) {
        (Some(v), Some(c)) => println!(
            "{} {} ({}): {v}, {c}; server name sent: {sni}",
            style::bold("Connected to"),
            target.display(),
            outcome.addr
        ),
        _ => {
            println!(
                "{} {} ({}); server name sent: {sni}",
                style::bold("Connected to"),
                target.display(),
                outcome.addr
            )
        }
    }
    if let Some(f) = &outcome.failure {
        println!("{} {}", style::bad("TLS handshake failed:"), f.text);
    }
    if !outcome.chain.is_empty() {
        println!();
        println!(
            "{}",
            style::bold(&format!(
                "Chain sent by the server ({} certificate(s))",
                outcome.chain.len()
            ))
        );
        let now = audit::now();
        for (i, c) in outcome.chain.iter().enumerate() {
            let info = cert_info(c);
            match &info.summary {
                Some(s) => {
                    println!("  [{i}] {}", style::bold(&s.subject));
                    println!("      issuer:  {}", s.issuer);
                    let validity = format!("{} to {}", format_utc(s.not_before), format_utc(s.not_after));
                    let validity = if s.not_after < now {
                        style::bad(&format!("{validity} (expired)"))
                    } else if s.not_before > now {
                        style::bad(&format!("{validity} (not yet valid)"))
                    } else {
                        validity
                    };
                    println!("      valid:   {validity}");
                    println!(
                        "      hash:    {} (issuer {}){}",
                        s.subject_hash.map_or("?".to_string(), hash_hex),
                        s.issuer_hash.map_or("?".to_string(), hash_hex),
                        if s.is_ca { ", CA" } else { "" }
                    );
                }
                None => println!("  [{i}] (a certificate cafix cannot parse)"),
            }
            if !info.san.is_empty() {
                println!("      SAN:     {}", info.san.join(", "));
            }
            if !info.ca_issuers.is_empty() {
                println!("      AIA:     {}", info.ca_issuers.join(", "));
            }
            println!("      SHA-256: {}", colon_hex(&info.sha256));
            println!("               sha256${}", info.sha256);
        }
    }
    if outcome.server_hello() {
        println!();
        let cas = if outcome.client_cas.is_empty() {
            "none named".to_string()
        } else {
            outcome.client_cas.join("; ")
        };
        if outcome.cert_requested {
            let sent = match &client {
                Some(id) => format!("sent {}", subject_of(&id.cert)),
                None => "none sent".to_string(),
            };
            println!(
                "{} requested ({sent}); acceptable CAs: {cas}",
                style::bold("Client certificate:")
            );
        } else {
            println!("{} not requested", style::bold("Client certificate:"));
        }
    }
    let show = |label: &str, v: &Verification| {
        let result = if v.ok {
            style::good("ok")
        } else {
            style::bad(&format!("FAILED: {} (error {} at depth {})", v.text, v.code, v.depth))
        };
        println!("{} [{}]: {result}", style::bold(label), v.trust);
        if v.ok && !v.built.is_empty() {
            println!(
                "    {}",
                v.built.iter().map(|c| subject_of(c)).collect::<Vec<_>>().join("  <-  ")
            );
        }
    };
    if openssl_v.is_some() || qt_v.is_some() {
        println!();
    }
    if let Some(v) = &openssl_v {
        show("Verification for OpenSSL programs", v);
    }
    if let Some(v) = &qt_v {
        show("Verification for Qt programs", v);
    } else if let Some(why) = qt_trust_skipped {
        println!("{} {why}", style::bold("Verification for Qt programs:"));
    }
    println!();
    match &diagnosis {
        None if ok => println!("Result: {}", style::good("OK")),
        None => {
            println!("Result: {}", style::bad("FAILED for Qt programs"));
            if let Some((why, fixes)) = &qt_diag {
                println!("  why: {why}");
                for fix in fixes {
                    println!("  {} {fix}", style::bold("fix:"));
                }
            }
        }
        Some(d) => {
            println!("Result: {} {}", style::bad("FAILED:"), style::bold(d.class.title()));
            println!("  why: {}", d.why);
            for fix in &d.fixes {
                println!("  {} {fix}", style::bold("fix:"));
            }
        }
    }
    Ok(if ok { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = |s: &str| parse_target(s).map(|t| (t.host, t.port));
        assert_eq!(t("example.org"), Ok(("example.org".into(), 443)));
        assert_eq!(t("example.org:8443"), Ok(("example.org".into(), 8443)));
        assert_eq!(t("https://user@example.org/path?q#f"), Ok(("example.org".into(), 443)));
        assert_eq!(t("ldaps://ldap.example.org"), Ok(("ldap.example.org".into(), 636)));
        assert_eq!(t("[::1]:4433"), Ok(("::1".into(), 4433)));
        assert_eq!(t("::1"), Ok(("::1".into(), 443)));
        assert_eq!(t("https://127.0.0.1:4433/"), Ok(("127.0.0.1".into(), 4433)));
        assert!(t("http://example.org").unwrap_err().contains("not TLS"));
        assert!(t("example.org:0").is_err());
        assert!(t("example.org:http").is_err());
        assert!(t("").is_err());
        assert!(t("exa mple.org").is_err());
        assert!(t("gopher://x").is_err());
    }

    #[test]
    fn colon_hex_is_upper_case_pairs() {
        assert_eq!(colon_hex("0aff10"), "0A:FF:10");
    }
}
