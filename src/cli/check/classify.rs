//! The causes `cafix check` tells apart, and how each is recognised: a
//! failed handshake from what the server said (and, for version and cipher
//! trouble, from what it speaks when offered everything), a failed
//! verification from OpenSSL's error at the failing certificate, and a Qt
//! program's failure where OpenSSL programs succeed from Qt's on-demand
//! lookup. Each comes with why and the fixes.

use std::net::SocketAddr;

use openssl::ssl::SslVersion;
use openssl::x509::X509;

use super::chain::{cert_info, in_bundle, subject_of, CertInfo};
use super::connect::{probe, ssl_version, version_name, Attempt, Failure, Outcome};
use super::target::Target;
use super::verify::{qt_message, NameCheck, Verification};
use crate::audit::{self, format_utc};
use crate::bundle::BundleIndex;
use crate::cli::args::TlsVersion;
use crate::explain::{code, CertSummary};
use crate::subject_hash::hash_hex;

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
pub(super) struct Diagnosis {
    pub(super) class: Class,
    pub(super) why: String,
    pub(super) fixes: Vec<String>,
    pub(super) pin: Option<String>,
}

/// Names a failed verification's cause.
pub(super) fn diagnose_verification(
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
        | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE => missing_issuer(&Unverified {
            chain,
            info: info.as_ref(),
            subject: &subject,
            issuer: &issuer,
            bundle,
            custom_trust,
            trust_add,
        }),
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

/// What a failed verification is about, for the causes that need more than the error code.
struct Unverified<'a> {
    chain: &'a [X509],
    /// The certificate verification stopped at.
    info: Option<&'a CertInfo>,
    subject: &'a str,
    issuer: &'a str,
    bundle: Option<&'a BundleIndex>,
    /// `--cacert`/`--capath` replaced the system's trust.
    custom_trust: bool,
    /// How to trust a CA.
    trust_add: &'a str,
}

/// The issuer of the certificate verification stopped at is not in the
/// trust store: the server omitted an intermediate, or the root is not trusted.
fn missing_issuer(u: &Unverified<'_>) -> Diagnosis {
    let Unverified {
        chain,
        info,
        subject,
        issuer,
        bundle,
        custom_trust,
        trust_add,
    } = *u;
    let summary = info.and_then(|i| i.summary.as_ref());
    let is_ca = summary.is_some_and(|s| s.is_ca);
    let sent_issuer = chain.iter().any(|c| subject_of(c) == issuer);
    let aia = info.map(|i| i.ca_issuers.clone()).unwrap_or_default();
    let aia_text = if aia.is_empty() {
        String::new()
    } else {
        format!(
            " (its AIA extension says it can be fetched from {}; browsers do that, OpenSSL programs do not)",
            aia.join(", ")
        )
    };
    let issuer_hash = summary.and_then(|s| s.issuer_hash);
    let bundle_has = in_bundle(bundle, issuer, issuer_hash);
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
pub(super) fn diagnose_handshake(
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
    if let Some(d) = client_certificate(o, f, &a) {
        return Ok(d);
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
    let (lo, hi) = o.offered;
    let in_range = |v: TlsVersion| {
        let sv = ssl_version(v);
        let rank = |x: SslVersion| TlsVersion::ALL.iter().position(|t| ssl_version(*t) == x).unwrap_or(0);
        lo.is_none_or(|l| rank(sv) >= rank(l)) && hi.is_none_or(|h| rank(sv) <= rank(h))
    };
    let any_in_range = spoken.iter().any(|(v, _)| in_range(*v));
    if version_like || (silent && !spoken.is_empty() && !any_in_range) {
        return Ok(no_common_version(o, f, &spoken));
    }
    if cipher_like || (silent && any_in_range) {
        let chosen = spoken.iter().find(|(v, _)| in_range(*v));
        return Ok(no_common_cipher(f, chosen));
    }
    Err(format!(
        "{} ({}) closed the connection during the TLS handshake without an alert ({}); not a TLS port, or it refused this client",
        target.display(),
        o.addr,
        f.text
    ))
}

/// The server asked for a client certificate and ended the handshake over
/// it: none was sent, or the one sent was not accepted.
fn client_certificate(o: &Outcome, f: &Failure, a: &Attempt<'_>) -> Option<Diagnosis> {
    if !(o.server_hello() && o.cert_requested) {
        return None;
    }
    let sent_cert = a.client.is_some();
    let cas = if o.client_cas.is_empty() {
        "none named".to_string()
    } else {
        o.client_cas.join("; ")
    };
    if !sent_cert
        && (f.has("certificate required")
            || f.has("handshake failure")
            || f.has("bad certificate")
            || f.has("access denied")
            || f.has("certificate unknown")
            || f.has("unexpected eof"))
    {
        return Some(Diagnosis {
            class: Class::ClientCertRequired,
            why: format!(
                "the server requires a client certificate and none was sent (server said: {}); acceptable CAs: {cas}",
                f.text
            ),
            fixes: vec![format!(
                "give a certificate issued by one of the acceptable CAs: --cert FILE --key FILE ({cas})"
            )],
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
        return Some(Diagnosis {
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
    None
}

/// The server speaks none of the versions offered; `spoken` is what it
/// speaks when offered each version alone (with the cipher it then chose).
fn no_common_version(o: &Outcome, f: &Failure, spoken: &[(TlsVersion, String)]) -> Diagnosis {
    let why = if spoken.is_empty() {
        format!(
            "the server accepts none of the versions offered ({}); server said: {}",
            range_text(o.offered),
            f.text
        )
    } else {
        let spoken_text = spoken
            .iter()
            .map(|(v, c)| format!("{} ({c})", v.name()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "this client offered {}; the server speaks {spoken_text} (server said: {})",
            range_text(o.offered),
            f.text
        )
    };
    Diagnosis {
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
    }
}

/// The server accepts none of the ciphers offered; `chosen` is the version
/// and cipher it chose when offered everything, within the versions offered.
fn no_common_cipher(f: &Failure, chosen: Option<&(TlsVersion, String)>) -> Diagnosis {
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
    Diagnosis {
        class: Class::Cipher,
        why,
        fixes: vec![
            "enable modern ciphers on the server (TLS 1.3 suites; for TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305)".to_string(),
            "or, only if you must talk to it as it is, allow that cipher in the client (openssl.cnf CipherString / Ciphersuites)".to_string(),
        ],
        pin: None,
    }
}

/// Why a Qt program here fails to verify the chain that OpenSSL programs
/// verify, and the fixes.
pub(super) fn diagnose_qt(
    v: &Verification,
    qt: &audit::QtPrediction,
    bundle: Option<&BundleIndex>,
) -> (String, Vec<String>) {
    let at = v.cert.as_deref().map(cert_info).and_then(|i| i.summary);
    let issuer = at.as_ref().map_or("?".to_string(), |s| s.issuer.clone());
    let issuer_hash = at.as_ref().and_then(|s| s.issuer_hash);
    let missing_lookup = matches!(
        v.code,
        code::UNABLE_TO_GET_ISSUER_CERT_LOCALLY
            | code::UNABLE_TO_GET_ISSUER_CERT
            | code::UNABLE_TO_VERIFY_LEAF_SIGNATURE
    );
    let why = if qt.on_demand && missing_lookup && in_bundle(bundle, &issuer, issuer_hash).is_some() {
        format!(
            "a Qt program here fails (\"{}\"): {} makes Qt look CAs up on demand in its directories only, \
             and \"{issuer}\" (subject hash {}) is in the system bundle but not there",
            qt_message(v.code),
            qt.triggers
                .first()
                .map_or("a hash-named file".to_string(), |t| t.display().to_string()),
            issuer_hash.map_or("?".to_string(), hash_hex)
        )
    } else {
        format!(
            "a Qt program here fails (\"{}\") although OpenSSL programs succeed",
            qt_message(v.code)
        )
    };
    let mut fixes =
        vec!["run Qt programs with `cafix run -- PROGRAM` (it serves the missing entries from the bundle)".to_string()];
    if qt.on_demand {
        fixes.push(
            "or complete the hash directory: `update-ca-certificates --fresh` (Debian/Ubuntu) or `openssl rehash DIR`"
                .to_string(),
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
    (why, fixes)
}
