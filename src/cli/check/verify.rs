//! The two verdicts on the chain the server sent: `X509_verify_cert` against
//! the trust OpenSSL programs here use (or `--cacert` / `--capath`), and
//! against the trust a Qt program here would have (its on-demand hash
//! directories, or the bundle files it loads), with Qt's message for the
//! error.

use std::net::IpAddr;

use openssl::ssl::SslFiletype;
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509PurposeId, X509Ref, X509StoreContext, X509};

use crate::audit;
use crate::cli::args::CheckArgs;
use crate::explain::code;

/// The result of verifying the sent chain against one trust store.
pub(super) struct Verification {
    pub(super) trust: String,
    pub(super) ok: bool,
    pub(super) code: i32,
    pub(super) text: String,
    pub(super) depth: u32,
    /// The certificate at the failing depth.
    pub(super) cert: Option<X509>,
    /// The chain OpenSSL built (partial on failure).
    pub(super) built: Vec<X509>,
}

/// How to check the name.
#[derive(Clone)]
pub(super) enum NameCheck {
    Host(String),
    Ip(IpAddr),
}

impl NameCheck {
    pub(super) fn describe(&self) -> String {
        match self {
            NameCheck::Host(h) => h.clone(),
            NameCheck::Ip(ip) => ip.to_string(),
        }
    }
}

pub(super) fn verify_chain(
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
pub(super) fn openssl_store(args: &CheckArgs) -> Result<(X509StoreBuilder, String), String> {
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
        let d = crate::cli::doctor::openssl_defaults();
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
pub(super) fn qt_store() -> Result<(X509StoreBuilder, String, audit::QtPrediction), String> {
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
pub(super) fn qt_message(code: i32) -> &'static str {
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
