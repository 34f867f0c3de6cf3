//! GnuTLS (git, wget, apt): the bundle path compiled into the first
//! `libgnutls.so.30` of the library directories, and whether that file
//! holds certificates.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::section::{Machine, Section};
use super::verdict::{Finding, Severity};
use crate::audit;
use crate::cli::style;

/// What GnuTLS trusts as "the system".
struct GnutlsTrust {
    library: PathBuf,
    trust_file: Option<String>,
    /// How many certificates the trust file holds (`None`: unreadable or missing).
    certificates: Option<usize>,
}

pub(super) struct Gnutls {
    /// `None`: no `libgnutls.so.30` in the library directories.
    trust: Option<GnutlsTrust>,
    findings: Vec<Finding>,
}

pub(super) fn gather(_: &Machine) -> Box<dyn Section + '_> {
    let trust = system_trust();
    let mut findings = Vec::new();
    if let Some(g) = &trust {
        if let Some(file) = &g.trust_file {
            if g.certificates.unwrap_or(0) == 0 {
                findings.push(
                    Finding::new(
                        Severity::Problem,
                        "gnutls-trust-file-missing",
                        format!(
                            "GnuTLS ({}) trusts {file}, which {}: git, wget and apt trust no CA",
                            g.library.display(),
                            if g.certificates.is_none() { "does not exist" } else { "holds no certificate" }
                        ),
                    )
                    .fix("run them with `cafix run -- PROGRAM` (cafix serves the system bundle for a missing bundle path)")
                    .fix("or install the CA bundle there (`update-ca-certificates --fresh`)"),
                );
            }
        }
    }
    Box::new(Gnutls { trust, findings })
}

fn system_trust() -> Option<GnutlsTrust> {
    let arch = std::env::consts::ARCH;
    let dirs = [
        format!("/usr/lib/{arch}-linux-gnu"),
        format!("/lib/{arch}-linux-gnu"),
        "/usr/lib64".to_string(),
        "/lib64".to_string(),
        "/usr/lib".to_string(),
        "/lib".to_string(),
    ];
    let library = dirs
        .iter()
        .map(|d| Path::new(d).join("libgnutls.so.30"))
        .find(|p| p.is_file())?;
    // The library is a few megabytes; its compiled-in path is in .rodata.
    let image = std::fs::read(&library).ok().filter(|b| b.len() <= 64 << 20)?;
    let trust_file = crate::explain::gnutls::compiled_bundle_path(&image).map(str::to_string);
    let certificates = trust_file
        .as_deref()
        .and_then(|f| audit::read_bundle(Path::new(f)).ok())
        .map(|b| b.certs.len());
    Some(GnutlsTrust {
        library,
        trust_file,
        certificates,
    })
}

impl Section for Gnutls {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn findings_follow_next(&self) -> bool {
        true
    }

    fn print(&self, _verbose: bool) {
        println!("{}", style::bold("GnuTLS (git, wget, apt)"));
        match &self.trust {
            None => println!("  {}", style::dim("no libgnutls.so.30 in the library directories")),
            Some(g) => match (&g.trust_file, g.certificates) {
                (None, _) => println!(
                    "  {}: no well-known bundle path compiled in (PKCS #11 trust, or a path cafix does not know)",
                    g.library.display()
                ),
                (Some(f), Some(n)) if n > 0 => {
                    println!("  {}: system trust file {f} ({n} certificates)", g.library.display())
                }
                (Some(f), _) => println!(
                    "  {}: system trust file {f}: {}",
                    g.library.display(),
                    style::bad("missing or empty")
                ),
            },
        }
    }

    fn json(&self, members: &mut Map<String, Value>) {
        let trust = self.trust.as_ref().map(|g| {
            json!({
                "library": g.library.display().to_string(),
                "system_trust_file": g.trust_file,
                "certificates": g.certificates,
            })
        });
        members.insert("gnutls".into(), json!(trust));
    }
}
