//! The connections `cafix check` makes: TCP to the first address that
//! answers, a TLS handshake with verification off (so the chain is seen
//! whatever is wrong with it), what the server sent or said, and the probe
//! that offers every version and cipher to learn what the server speaks;
//! and the client identity (`--cert`, `--key`) it may present.

use std::net::{SocketAddr, TcpStream};
use std::os::raw::{c_int, c_void};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use foreign_types::ForeignTypeRef;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{ErrorCode, HandshakeError, Ssl, SslContext, SslMethod, SslRef, SslVerifyMode, SslVersion};
use openssl::stack::StackRef;
use openssl::x509::{X509Name, X509Ref, X509};

use super::target::Target;
use crate::bundle::display_name;
use crate::cli::args::TlsVersion;

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

/// The client certificate, its key and any chain certificates from its file.
pub(super) struct ClientIdentity {
    pub(super) cert: X509,
    key: PKey<Private>,
    chain: Vec<X509>,
}

pub(super) fn load_client_identity(cert: &Path, key: Option<&Path>) -> Result<ClientIdentity, String> {
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

pub(super) fn ssl_version(v: TlsVersion) -> SslVersion {
    match v {
        TlsVersion::Tls10 => SslVersion::TLS1,
        TlsVersion::Tls11 => SslVersion::TLS1_1,
        TlsVersion::Tls12 => SslVersion::TLS1_2,
        TlsVersion::Tls13 => SslVersion::TLS1_3,
    }
}

pub(super) fn version_name(v: SslVersion) -> &'static str {
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
pub(super) struct Attempt<'a> {
    pub(super) servername: Option<&'a str>,
    pub(super) min: Option<TlsVersion>,
    pub(super) max: Option<TlsVersion>,
    /// Offer every cipher and version this OpenSSL has (security level 0).
    pub(super) everything: bool,
    pub(super) client: Option<&'a ClientIdentity>,
    pub(super) timeout: Duration,
}

/// What a failed handshake said.
#[derive(Debug, Clone, Default)]
pub(super) struct Failure {
    /// OpenSSL's reason strings, lower case.
    reasons: Vec<String>,
    /// One line for people.
    pub(super) text: String,
    pub(super) timed_out: bool,
}

impl Failure {
    pub(super) fn has(&self, needle: &str) -> bool {
        self.reasons.iter().any(|r| r.contains(needle))
    }
}

/// What one connection got.
pub(super) struct Outcome {
    pub(super) addr: SocketAddr,
    pub(super) completed: bool,
    pub(super) version: Option<String>,
    pub(super) cipher: Option<String>,
    pub(super) chain: Vec<X509>,
    pub(super) cert_requested: bool,
    pub(super) client_cas: Vec<String>,
    /// The protocol range this client offered.
    pub(super) offered: (Option<SslVersion>, Option<SslVersion>),
    pub(super) failure: Option<Failure>,
}

impl Outcome {
    /// Did the server answer with a ServerHello (and so agree on a version and cipher)?
    pub(super) fn server_hello(&self) -> bool {
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
pub(super) fn handshake(target: &Target, addrs: &[SocketAddr], a: Attempt<'_>) -> Result<Outcome, String> {
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

/// What versions and ciphers the server accepts when offered everything.
pub(super) fn probe(target: &Target, addrs: &[SocketAddr], a: Attempt<'_>) -> Vec<(TlsVersion, String)> {
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
