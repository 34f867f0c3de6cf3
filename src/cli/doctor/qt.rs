//! Qt 5.15 and 6: whether Qt loads CA files from its directories or, having
//! found one hash-named file there, only looks CAs up on demand (the Zeal
//! case), and which system bundle CAs it then cannot find.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::section::{Machine, Section};
use super::text::{cert_name, rehash_fix, short_list, trigger_text};
use super::verdict::{Finding, Severity};
use crate::audit::{self, DirScan, QtPrediction};
use crate::bundle::{BundleIndex, CaCert};
use crate::cli::style;
use crate::subject_hash::hash_hex;

pub(super) struct Qt<'m> {
    prediction: QtPrediction,
    bundle: Option<&'m BundleIndex>,
    /// On demand: the bundle CAs none of Qt's directories has.
    missing: Vec<&'m CaCert>,
    /// Loading files: how many certificates they hold.
    loaded: usize,
    findings: Vec<Finding>,
}

/// The scans of Qt's directories, each directory once.
pub(super) fn qt_dir_scans<'a>(qt: &QtPrediction, scans: &'a [DirScan]) -> Vec<&'a DirScan> {
    let mut v: Vec<&DirScan> = Vec::new();
    for d in &qt.dirs {
        if let Ok(c) = std::fs::canonicalize(d) {
            if let Some(s) = scans.iter().find(|s| s.canonical == c) {
                if !v.iter().any(|x| x.canonical == s.canonical) {
                    v.push(s);
                }
            }
        }
    }
    v
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let mut qt = Qt {
        prediction: audit::predict_qt(),
        bundle: m.bundle.as_ref(),
        missing: Vec::new(),
        loaded: 0,
        findings: Vec::new(),
    };
    if qt.prediction.on_demand {
        let scans = qt_dir_scans(&qt.prediction, &m.scans);
        if let Some(b) = qt.bundle {
            let mut seen: Vec<&[u8]> = Vec::new();
            for c in &b.certs {
                if !seen.contains(&c.der.as_slice()) && !scans.iter().any(|s| s.finds(c)) {
                    qt.missing.push(c);
                }
                seen.push(&c.der);
            }
            qt.missing.sort_by(|a, b| a.short_name().cmp(b.short_name()));
        }
        if !qt.missing.is_empty() {
            let f = qt.missing_roots();
            qt.findings.push(f);
        }
    } else {
        for file in &qt.prediction.bundle_files {
            if let Ok(b) = audit::read_bundle(file) {
                qt.loaded += b.certs.len();
            }
        }
        if qt.loaded == 0 {
            qt.findings.push(
                Finding::new(
                    Severity::Problem,
                    "qt-no-certificates",
                    "Qt programs trust no CA: none of Qt's directories has a hash entry or a *.pem/*.crt file with certificates",
                )
                .fix("run Qt programs with `cafix run -- PROGRAM`, or install the CA bundle (`update-ca-certificates --fresh`)"),
            );
        }
    }
    Box::new(qt)
}

impl Qt<'_> {
    /// The Zeal case, which leads the problems.
    fn missing_roots(&self) -> Finding {
        let triggers = &self.prediction.triggers;
        let mut f = Finding::new(
            Severity::Problem,
            "qt-missing-roots",
            format!(
                "Qt programs will fail (\"The issuer certificate of a locally looked up certificate could not be found\") for servers under {} \
                 of the {} system bundle CAs: Qt found {} and so only looks CAs up on demand in its directories, never loading the bundle",
                self.missing.len(),
                self.bundle.map_or(0, |b| b.certs.len()),
                trigger_text(triggers)
            ),
        )
        .items(self.missing.iter().map(|c| cert_name(c)).collect())
        .fix("run Qt programs with `cafix run -- PROGRAM` (it serves the missing entries from the bundle)")
        .fix(rehash_fix(Path::new("/etc/ssl/certs")))
        .leading();
        if triggers.len() <= 3 {
            let names: Vec<String> = triggers.iter().map(|t| t.display().to_string()).collect();
            f = f.fix(format!(
                "or, if nothing needs them, remove the stray file(s) {}: Qt then loads the bundle instead",
                names.join(", ")
            ));
        }
        f
    }
}

impl Section for Qt<'_> {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, verbose: bool) {
        let qt = &self.prediction;
        println!("{}", style::bold("Qt 5.15/6"));
        if !qt.on_demand {
            println!(
                "  loads {} certificate(s) from {} file(s) (no hash-named file in its directories)",
                self.loaded,
                qt.bundle_files.len()
            );
            return;
        }
        println!(
            "  on-demand lookup in its directories, because of {}",
            trigger_text(&qt.triggers)
        );
        if self.bundle.is_none() {
            println!(
                "  {}",
                style::warn("cannot tell which CAs Qt lacks: no system bundle to compare with")
            );
        } else if self.missing.is_empty() {
            println!("  {}", style::good("every system bundle CA is reachable there"));
        } else {
            let names: Vec<String> = self.missing.iter().map(|c| cert_name(c)).collect();
            println!(
                "  {}",
                style::bad(&format!(
                    "{} bundle CA(s) unreachable: Qt programs fail for servers under them:",
                    names.len()
                ))
            );
            println!("    {}", short_list(&names, verbose));
        }
    }

    fn json(&self, members: &mut Map<String, Value>) {
        let qt = &self.prediction;
        let paths = |v: &[std::path::PathBuf]| v.iter().map(|d| d.display().to_string()).collect::<Vec<_>>();
        members.insert(
            "qt".into(),
            json!({
                "mode": if qt.on_demand { "on-demand" } else { "bundle" },
                "dirs": paths(&qt.dirs),
                "triggers": paths(&qt.triggers),
                "bundle_files": paths(&qt.bundle_files),
                "certificates_loaded": if qt.on_demand { Value::Null } else { json!(self.loaded) },
                "missing_roots": self.missing.iter().map(|c| json!({
                    "name": c.short_name(),
                    "subject": c.subject,
                    "subject_hash": hash_hex(c.subject_hash),
                })).collect::<Vec<_>>(),
            }),
        );
    }
}
