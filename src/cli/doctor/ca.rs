//! `cafix doctor --ca FILE`: where is this CA trusted on this machine? The
//! system bundle, each trust directory (by its hash entries), Qt's view, the
//! local CAs (installed, or waiting for the update tool), and each of
//! programs' own root stores.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::nss;
use super::qt::qt_dir_scans;
use super::text::dir_label;
use crate::audit::{self, DirScan};
use crate::bundle::{BundleIndex, CaCert};
use crate::cli::args::DoctorArgs;
use crate::cli::hash::{read_certificates, system_bundle, trust_dir_scans};
use crate::cli::root_stores::{self, Judged, Section, State};
use crate::cli::style;
use crate::explain::sha256_hex;
use crate::subject_hash::hash_hex;

/// One place and whether the CA is trusted there.
struct Place {
    /// `system-bundle`, `trust-dir`, `qt`, `local-ca`, `root-store`.
    what: &'static str,
    name: String,
    /// `Some(true)` trusted, `Some(false)` not (a gap), `None` not a place
    /// that should hold it (no hash entries, own trust, unused, not judged).
    trusted: Option<bool>,
    text: String,
    extra: Value,
}

fn entry_holding<'a>(scan: &'a DirScan, cert: &CaCert) -> Option<&'a str> {
    scan.entries
        .iter()
        .filter(|e| e.hash == cert.subject_hash && e.usable())
        .find(|e| e.certs.iter().any(|c| c.der == cert.der || c.subject == cert.subject))
        .map(|e| e.name.as_str())
}

fn store_place(j: &Judged, cert: &CaCert, local_index: Option<usize>) -> Place {
    let s = &j.store;
    let mut name = s.path.display().to_string();
    if let (root_stores::Kind::Node, Some(v)) = (s.kind, &s.detail) {
        name = format!("{name} {v}");
    }
    if s.kind == root_stores::Kind::Java {
        // Every JDK that reads it, by its home.
        let jvms = root_stores::jvms_using(s);
        if !jvms.is_empty() {
            name = format!("{name} (JDK {})", jvms.join(", "));
        }
    }
    let holds = j.holds(&cert.der);
    let (trusted, text) = match (&j.state, holds) {
        (State::Unused(why), _) => (None, format!("not used: {why}")),
        (State::NotJudged(why), _) => (None, format!("not judged: {why}")),
        (_, Some(true)) => (Some(true), "yes".to_string()),
        (State::OwnTrust, _) => (
            None,
            "no (own trust, not a copy of the public roots: left alone)".to_string(),
        ),
        (State::Covered, _) if local_index.is_some() => (
            Some(true),
            format!(
                "not in the file; the system-wide preload adds it {}",
                s.kind.how_the_preload_adds()
            ),
        ),
        (_, _) => {
            let hint = match (local_index, s.preload_adds()) {
                (Some(_), true) => " (`cafix run` adds it; `cafix doctor` lists the fixes)",
                (Some(_), false) => " (`cafix doctor` lists the fixes)",
                (None, _) => "",
            };
            (Some(false), format!("no{hint}"))
        }
    };
    Place {
        what: "root-store",
        name: format!("{} {name}", s.kind.label()),
        trusted,
        text,
        extra: json!({"kind": s.kind.code(), "path": s.path.display().to_string(), "state": j.state.code()}),
    }
}

/// Where `cert` is trusted.
fn places(
    cert: &CaCert,
    bundle: Option<&BundleIndex>,
    scans: &[DirScan],
    qt: &audit::QtPrediction,
    section: &Section,
) -> Vec<Place> {
    let mut out = Vec::new();
    out.push(match bundle {
        Some(b) => {
            let yes = b.contains_der(&cert.der);
            Place {
                what: "system-bundle",
                name: format!("system bundle {}", b.path.display()),
                trusted: Some(yes),
                text: if yes { "yes" } else { "no" }.to_string(),
                extra: json!({"path": b.path.display().to_string()}),
            }
        }
        None => Place {
            what: "system-bundle",
            name: "system bundle".to_string(),
            trusted: Some(false),
            text: "none found".to_string(),
            extra: Value::Null,
        },
    });

    // Local CA: installed (in the bundle) or waiting for the update tool.
    let local_index = section.local.cas.iter().position(|c| c.der == cert.der);
    let pending = section.local.pending.iter().find(|c| c.der == cert.der);
    let (text, source) = match (local_index, pending) {
        (Some(i), _) => {
            let src = &section.local.cas[i].source;
            (format!("yes ({}, in the system bundle)", src.display()), Some(src))
        }
        (None, Some(p)) => (
            format!(
                "pending: {} is not in the system bundle yet (run `update-ca-certificates` or `update-ca-trust`)",
                p.source.display()
            ),
            Some(&p.source),
        ),
        (None, None) => ("no (not under the anchor directories)".to_string(), None),
    };
    out.push(Place {
        what: "local-ca",
        name: "local CA".to_string(),
        trusted: if pending.is_some() { Some(false) } else { None },
        text,
        extra: json!({
            "state": if local_index.is_some() { "local" } else if pending.is_some() { "pending" } else { "no" },
            "source": source.map(|s| s.display().to_string()),
        }),
    });

    for scan in scans {
        let (trusted, text, entry) = if scan.entries.is_empty() {
            (None, "no hash entries".to_string(), None)
        } else {
            match entry_holding(scan, cert) {
                Some(e) => (Some(true), format!("found ({e})"), Some(e.to_string())),
                None => (
                    Some(false),
                    format!("missing (no {}.<n> entry holds it)", hash_hex(cert.subject_hash)),
                    None,
                ),
            }
        };
        out.push(Place {
            what: "trust-dir",
            name: dir_label(scan),
            trusted,
            text,
            extra: json!({"path": scan.path.display().to_string(), "entry": entry}),
        });
    }

    let qt_scans = qt_dir_scans(qt, scans);
    let (trusted, text, mode) = if qt.on_demand {
        match qt_scans.iter().find(|s| s.finds(cert)) {
            Some(s) => (
                Some(true),
                format!("found on demand in {}", s.path.display()),
                "on-demand",
            ),
            None => (
                Some(false),
                "not found: Qt looks CAs up on demand in its directories and none has it".to_string(),
                "on-demand",
            ),
        }
    } else {
        let from: Option<&PathBuf> = qt.bundle_files.iter().find(|f| {
            audit::read_bundle(f)
                .map(|b| b.contains_der(&cert.der))
                .unwrap_or(false)
        });
        match from {
            Some(f) => (Some(true), format!("loaded from {}", f.display()), "bundle"),
            None => (Some(false), "not in the files Qt loads".to_string(), "bundle"),
        }
    };
    out.push(Place {
        what: "qt",
        name: "Qt 5.15/6".to_string(),
        trusted,
        text,
        extra: json!({"mode": mode}),
    });

    for j in &section.stores {
        out.push(store_place(j, cert, local_index));
    }
    out
}

/// Where `cert` is trusted among NSS's stores (`system_wide`: libcafix.so
/// is preloaded system-wide, adding local CAs).
fn nss_places(cert: &CaCert, local: bool, stores: &[nss::Store], system_wide: bool) -> Vec<Place> {
    stores
        .iter()
        .map(|store| {
            let (trusted, text) = nss::place(store, &cert.der, cert.short_name(), local, system_wide);
            Place {
                what: "nss-store",
                name: format!("{} {}", store.app.label(), store.path.display()),
                trusted,
                text,
                extra: json!({"app": store.app.code(), "path": store.path.display().to_string()}),
            }
        })
        .collect()
}

pub fn run(args: &DoctorArgs, file: &Path) -> Result<i32, String> {
    let certs = read_certificates(file)?;
    let (_, bundle) = system_bundle();
    let bundle = match bundle {
        Some(Ok(b)) => Some(b),
        _ => None,
    };
    let scans = trust_dir_scans();
    let qt = audit::predict_qt();
    let section = Section::run(bundle.as_ref(), true);
    let nss_stores = nss::stores_here();
    let preload = root_stores::SystemPreload::read();
    let system_wide = preload.library.is_some() && preload.injects;
    let mut gaps_total = 0usize;
    let mut reports = Vec::new();
    if !args.json {
        println!(
            "{}",
            style::bold(&format!(
                "cafix doctor --ca {}: where this CA is trusted here (read-only)",
                file.display()
            ))
        );
    }
    for cert in &certs {
        let mut places = places(cert, bundle.as_ref(), &scans, &qt, &section);
        let local = section.local.cas.iter().any(|c| c.der == cert.der);
        places.extend(nss_places(cert, local, &nss_stores, system_wide));
        let gaps: Vec<String> = places
            .iter()
            .filter(|p| p.trusted == Some(false))
            .map(|p| p.name.clone())
            .collect();
        gaps_total += gaps.len();
        if args.json {
            reports.push(json!({
                "subject": cert.subject,
                "name": cert.short_name(),
                "subject_hash": hash_hex(cert.subject_hash),
                "sha256": sha256_hex(&cert.der),
                "places": places.iter().map(|p| json!({
                    "what": p.what,
                    "name": p.name,
                    "trusted": p.trusted,
                    "text": p.text,
                    "detail": p.extra,
                })).collect::<Vec<_>>(),
                "not_trusted_in": gaps,
            }));
            continue;
        }
        println!();
        println!("{}", style::bold(&cert.subject));
        println!(
            "  subject hash {}, sha256${}",
            hash_hex(cert.subject_hash),
            sha256_hex(&cert.der)
        );
        let mut heading = "";
        for p in &places {
            let line = match p.trusted {
                Some(true) => style::good(&p.text),
                Some(false) => style::bad(&p.text),
                None => style::dim(&p.text),
            };
            let group = match p.what {
                "trust-dir" => "trust directories:",
                "root-store" => "programs' own root stores:",
                "nss-store" => "NSS databases and profiles (Chromium, Firefox, Thunderbird):",
                _ => "",
            };
            if group.is_empty() {
                println!("  {}: {line}", p.name);
            } else {
                if heading != group {
                    println!("  {group}");
                    heading = group;
                }
                println!("    {}: {line}", p.name);
            }
        }
        if !section.searched || section.stores.is_empty() {
            println!("  programs' own root stores: none found");
        }
        if gaps.is_empty() {
            println!("Verdict: {}", style::good("trusted everywhere cafix looked"));
        } else {
            let listed = if gaps.len() <= 3 {
                gaps.join("; ")
            } else {
                format!("{}; … (each marked above)", gaps[..2].join("; "))
            };
            println!(
                "Verdict: {}",
                style::bad(&format!("not trusted in {} place(s): {listed}", gaps.len()))
            );
        }
    }
    if args.json {
        style::print_json(&json!({
            "file": file.display().to_string(),
            "verdict": if gaps_total == 0 { "trusted" } else { "gaps" },
            "certificates": reports,
            "root_stores": section.json(),
        }));
    }
    Ok(if gaps_total == 0 { 0 } else { 1 })
}
