//! `cafix check`: diagnose a TLS endpoint.
//!
//! The handshake runs with verification off, so the chain the server sends
//! can be shown whatever is wrong with it; it is then verified separately
//! (`X509_verify_cert`) against the trust OpenSSL programs here use and
//! against the trust a Qt program here would have. A failed handshake is
//! read from OpenSSL's error stack (the alert the server sent, or the
//! client's own complaint) and, where that is ambiguous, from what a second
//! connection offering every protocol version and cipher gets.
//!
//! # Modules
//!
//! - [`target`]: the `URL|HOST[:PORT]` argument.
//! - [`connect`]: the TCP connection, the handshake and what it got, the
//!   probe for the versions and ciphers the server speaks, the client
//!   identity.
//! - [`chain`]: a certificate described for display (summary, SAN, AIA,
//!   SHA-256) and looked up in the system bundle.
//! - [`verify`]: the two verdicts, for OpenSSL programs and for Qt programs,
//!   and their trust stores.
//! - [`classify`]: the causes told apart ([`Class`]) and the diagnosis of a
//!   failed handshake, a failed verification or a failure for Qt only.
//! - [`render`]: text or JSON.
//!
//! Each uses only the ones listed before it; `run` here puts them together.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use super::args::CheckArgs;
use super::hash::system_bundle;

mod chain;
mod classify;
mod connect;
mod render;
mod target;
mod verify;

pub use classify::Class;
pub use target::{parse_target, Target};

use classify::{diagnose_handshake, diagnose_qt, diagnose_verification};
use connect::{handshake, load_client_identity, Attempt};
use render::Report;
use verify::{openssl_store, qt_store, verify_chain, NameCheck};

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
                qt_diag = Some(diagnose_qt(&v, &qt, bundle.as_ref()));
            }
            qt_v = Some(v);
        }
    }
    let diagnosis = handshake_diag.or(verify_diag);
    let ok = diagnosis.is_none() && qt_diag.is_none() && outcome.failure.is_none();

    let report = Report {
        target,
        servername,
        name_check,
        outcome,
        client,
        openssl_v,
        qt_v,
        qt_trust_skipped,
        qt_diag,
        diagnosis,
        ok,
    };
    if args.json {
        render::print_json(&report);
    } else {
        render::print_text(&report);
    }
    Ok(if ok { 0 } else { 1 })
}
