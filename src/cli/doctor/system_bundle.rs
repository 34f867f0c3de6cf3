//! The system CA bundle: which file, what it holds (expired or not yet
//! valid CAs), and the variables that point OpenSSL elsewhere.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::section::{env_text, non_empty_file, Machine, Section};
use super::text::cert_name;
use super::verdict::{Finding, Severity};
use crate::audit::{format_rfc3339, format_utc};
use crate::bundle::CaCert;
use crate::cli::style;

pub(super) struct SystemBundle<'m> {
    machine: &'m Machine,
    /// `SSL_CERT_FILE`, `CAFIX_BUNDLE`, `distribution path: …` or `none`.
    source: String,
    expired: Vec<&'m CaCert>,
    not_yet_valid: Vec<&'m CaCert>,
    findings: Vec<Finding>,
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let mut s = SystemBundle {
        machine: m,
        source: source(m),
        expired: Vec::new(),
        not_yet_valid: Vec::new(),
        findings: Vec::new(),
    };
    if let Some(e) = &m.bundle_error {
        s.findings.push(Finding::new(
            Severity::Problem,
            "bundle-unreadable",
            format!("the system CA bundle cannot be used: {e}"),
        ));
    } else if m.bundle_path.is_none() {
        s.findings.push(
            Finding::new(
                Severity::Problem,
                "no-system-bundle",
                "no system CA bundle found: no well-known bundle path exists (and CAFIX_BUNDLE/SSL_CERT_FILE name none)",
            )
            .fix("Debian/Ubuntu: `apt-get install --reinstall ca-certificates && update-ca-certificates --fresh`")
            .fix("Fedora/RHEL: `update-ca-trust extract`; Alpine: `apk add ca-certificates && update-ca-certificates`"),
        );
    }
    if let Some(b) = &m.bundle {
        if b.certs.is_empty() {
            s.findings.push(Finding::new(
                Severity::Problem,
                "bundle-empty",
                format!(
                    "the system CA bundle {} holds no certificate ({})",
                    b.path.display(),
                    b.problems.join("; ")
                ),
            ));
        } else if !b.problems.is_empty() {
            s.findings.push(Finding::new(
                Severity::Warning,
                "bundle-damaged",
                format!("the system CA bundle {}: {}", b.path.display(), b.problems.join("; ")),
            ));
        }
        s.expired = b.certs.iter().filter(|c| c.not_after < m.now).collect();
        s.not_yet_valid = b.certs.iter().filter(|c| c.not_before > m.now).collect();
        s.expired.sort_by(|a, b| a.short_name().cmp(b.short_name()));
        s.judge_validity();
    }
    s.judge_variables();
    Box::new(s)
}

/// Where the bundle was found: which variable, or which distribution's path.
fn source(m: &Machine) -> String {
    match (&m.bundle_path, &m.config.bundle, &m.ssl_cert_file) {
        (None, _, _) => "none".to_string(),
        (Some(_), Some(_), _) => "CAFIX_BUNDLE".to_string(),
        (Some(p), None, Some(f)) if p == Path::new(f) => "SSL_CERT_FILE".to_string(),
        (Some(p), _, _) => crate::locations::BUNDLE_PATHS
            .iter()
            .find(|(b, _)| Path::new(b) == p)
            .map_or("distribution path".to_string(), |(_, origin)| {
                format!("distribution path: {origin}")
            }),
    }
}

impl SystemBundle<'_> {
    fn judge_validity(&mut self) {
        if !self.expired.is_empty() {
            self.findings.push(
                Finding::new(
                    Severity::Warning,
                    "expired-cas",
                    format!("{} CA certificate(s) of the system bundle have expired (they verify nothing)", self.expired.len()),
                )
                .items(self.expired.iter().map(|c| format!("{} (expired {})", cert_name(c), format_utc(c.not_after))).collect())
                .fix("update the CA list: `apt-get install --only-upgrade ca-certificates` (or your distribution's equivalent)"),
            );
        }
        if !self.not_yet_valid.is_empty() {
            self.findings.push(
                Finding::new(
                    Severity::Warning,
                    "not-yet-valid-cas",
                    format!(
                        "{} CA certificate(s) of the system bundle are not valid yet: is the clock right?",
                        self.not_yet_valid.len()
                    ),
                )
                .items(
                    self.not_yet_valid
                        .iter()
                        .map(|c| format!("{} (valid from {})", cert_name(c), format_utc(c.not_before)))
                        .collect(),
                ),
            );
        }
    }

    /// `SSL_CERT_FILE` and `SSL_CERT_DIR` naming what is not there.
    fn judge_variables(&mut self) {
        if let Some(f) = &self.machine.ssl_cert_file {
            if !non_empty_file(Path::new(f)) {
                self.findings.push(
                    Finding::new(
                        Severity::Problem,
                        "ssl-cert-file-missing",
                        format!(
                            "SSL_CERT_FILE={f} is in force but is not a non-empty file: OpenSSL programs load no CA file"
                        ),
                    )
                    .fix("unset SSL_CERT_FILE, or point it at the system bundle"),
                );
            }
        }
        if let Some(d) = &self.machine.ssl_cert_dir {
            let missing: Vec<String> = d
                .split(':')
                .filter(|p| !p.is_empty() && !Path::new(p).is_dir())
                .map(str::to_string)
                .collect();
            if !missing.is_empty() {
                self.findings.push(
                    Finding::new(
                        Severity::Warning,
                        "ssl-cert-dir-missing",
                        "SSL_CERT_DIR names directories that do not exist",
                    )
                    .items(missing),
                );
            }
        }
    }
}

impl Section for SystemBundle<'_> {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, _verbose: bool) {
        let m = self.machine;
        println!("{}", style::bold("System CA bundle"));
        match &m.bundle {
            Some(b) => println!(
                "  {}: {} certificates ({})",
                b.path.display(),
                b.certs.len(),
                self.source
            ),
            None => println!("  {}", style::bad("none found")),
        }
        println!(
            "  SSL_CERT_FILE: {}; SSL_CERT_DIR: {}",
            m.ssl_cert_file.as_deref().unwrap_or("not set"),
            m.ssl_cert_dir.as_deref().unwrap_or("not set")
        );
        println!(
            "  expired CAs: {}; not yet valid: {}",
            self.expired.len(),
            self.not_yet_valid.len()
        );
    }

    fn json(&self, members: &mut Map<String, Value>) {
        let m = self.machine;
        let bundle = m.bundle.as_ref().map(|b| {
            json!({
                "path": b.path.display().to_string(),
                "source": self.source,
                "certificates": b.certs.len(),
                "problems": b.problems,
                "expired": self.expired.iter().map(|c| json!({"subject": c.subject, "not_after": format_rfc3339(c.not_after)})).collect::<Vec<_>>(),
                "not_yet_valid": self.not_yet_valid.iter().map(|c| json!({"subject": c.subject, "not_before": format_rfc3339(c.not_before)})).collect::<Vec<_>>(),
            })
        });
        members.insert(
            "environment".into(),
            json!({
                "SSL_CERT_FILE": m.ssl_cert_file,
                "SSL_CERT_DIR": m.ssl_cert_dir,
                "CAFIX_BUNDLE": env_text("CAFIX_BUNDLE"),
            }),
        );
        members.insert("system_bundle".into(), json!(bundle));
    }
}
