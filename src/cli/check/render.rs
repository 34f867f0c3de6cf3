//! `cafix check`'s output: for people (the connection, the chain with its
//! fingerprints, the client certificate request, both verdicts and the
//! result with why and the fixes) or as one JSON object.

use openssl::x509::X509Ref;
use serde_json::{json, Value};

use super::chain::{cert_info, colon_hex, subject_of};
use super::classify::Diagnosis;
use super::connect::{ClientIdentity, Outcome};
use super::target::Target;
use super::verify::{qt_message, NameCheck, Verification};
use crate::audit::{self, format_rfc3339, format_utc};
use crate::cli::style;
use crate::subject_hash::hash_hex;

/// Everything one `cafix check` found.
pub(super) struct Report {
    pub(super) target: Target,
    /// The server name sent (SNI): `--servername`, else the host unless it is an address.
    pub(super) servername: Option<String>,
    /// The name the certificate was checked against.
    pub(super) name_check: NameCheck,
    /// The connection made with the user's settings.
    pub(super) outcome: Outcome,
    pub(super) client: Option<ClientIdentity>,
    /// The verdict for OpenSSL programs (`None`: the server sent no certificate).
    pub(super) openssl_v: Option<Verification>,
    /// The verdict for Qt programs.
    pub(super) qt_v: Option<Verification>,
    /// Why Qt's verdict was not made.
    pub(super) qt_trust_skipped: Option<&'static str>,
    /// Why a Qt program fails where OpenSSL programs succeed, and the fixes.
    pub(super) qt_diag: Option<(String, Vec<String>)>,
    /// The classified failure of the handshake, else of OpenSSL's verdict.
    pub(super) diagnosis: Option<Diagnosis>,
    pub(super) ok: bool,
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

/// One JSON object.
pub(super) fn print_json(r: &Report) {
    let Report {
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
    } = r;
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
}

/// Text for people.
pub(super) fn print_text(r: &Report) {
    let Report {
        target,
        servername,
        name_check: _,
        outcome,
        client,
        openssl_v,
        qt_v,
        qt_trust_skipped,
        qt_diag,
        diagnosis,
        ok,
    } = r;
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
        None if *ok => println!("Result: {}", style::good("OK")),
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
}
