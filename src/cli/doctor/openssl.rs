//! OpenSSL: the CA file and directories compiled into the libcrypto cafix
//! runs with, which of them (or `SSL_CERT_FILE`/`SSL_CERT_DIR`) are in
//! force, and whether programs using the default verify paths trust anything.

use std::ffi::CStr;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::section::{non_empty_file, Machine, Section};
use super::verdict::{Finding, Severity};
use crate::audit;
use crate::cli::style;

/// OpenSSL's compiled-in defaults, from the libcrypto cafix runs with.
pub struct OpenSslDefaults {
    pub version: String,
    pub openssldir: String,
    pub cert_file: String,
    pub cert_dir: String,
    pub cert_file_env: String,
    pub cert_dir_env: String,
}

pub fn openssl_defaults() -> OpenSslDefaults {
    let text = |p: *const std::os::raw::c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: OpenSSL returns pointers to static NUL-terminated strings.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let dir = openssl::version::dir();
    let openssldir = dir
        .split_once('"')
        .and_then(|(_, r)| r.rsplit_once('"'))
        .map_or(dir, |(d, _)| d)
        .to_string();
    // SAFETY: these functions take no arguments and return static strings.
    unsafe {
        OpenSslDefaults {
            version: openssl::version::version().to_string(),
            openssldir,
            cert_file: text(openssl_sys::X509_get_default_cert_file()),
            cert_dir: text(openssl_sys::X509_get_default_cert_dir()),
            cert_file_env: text(openssl_sys::X509_get_default_cert_file_env()),
            cert_dir_env: text(openssl_sys::X509_get_default_cert_dir_env()),
        }
    }
}

pub(super) struct OpenSsl {
    defaults: OpenSslDefaults,
    /// The CA file and directories programs load with the default verify paths.
    file_in_force: String,
    dirs_in_force: Vec<String>,
    /// Set by `SSL_CERT_FILE` or `SSL_CERT_DIR`.
    from_env: bool,
    file_certs: usize,
    dir_usable: usize,
    findings: Vec<Finding>,
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let defaults = openssl_defaults();
    let file_in_force = m.ssl_cert_file.clone().unwrap_or_else(|| defaults.cert_file.clone());
    let dirs_in_force: Vec<String> = m
        .ssl_cert_dir
        .clone()
        .unwrap_or_else(|| defaults.cert_dir.clone())
        .split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    let file_certs = if non_empty_file(Path::new(&file_in_force)) {
        audit::read_bundle(Path::new(&file_in_force))
            .map(|b| b.certs.len())
            .unwrap_or(0)
    } else {
        0
    };
    let dir_scans = audit::scan_dirs(dirs_in_force.iter().map(|d| (d.as_str(), "OpenSSL")));
    let dir_usable: usize = dir_scans
        .iter()
        .map(|s| s.entries.iter().filter(|e| e.usable()).count())
        .sum();
    let mut findings = Vec::new();
    if file_certs == 0 && dir_usable == 0 {
        findings.push(
            Finding::new(
                Severity::Problem,
                "openssl-defaults-empty",
                format!(
                    "OpenSSL programs using the default verify paths trust no CA: {file_in_force} has no certificate and {} no usable hash entry",
                    dirs_in_force.join(":")
                ),
            )
            .fix("run them with `cafix run -- PROGRAM` (it serves the system bundle at the default file)")
            .fix(match &m.bundle_path {
                Some(b) => format!("or link the bundle there: `ln -sf {} {file_in_force}`", b.display()),
                None => "or install the CA bundle (`update-ca-certificates --fresh`)".to_string(),
            }),
        );
    }
    Box::new(OpenSsl {
        defaults,
        file_in_force,
        dirs_in_force,
        from_env: m.ssl_cert_file.is_some() || m.ssl_cert_dir.is_some(),
        file_certs,
        dir_usable,
        findings,
    })
}

impl Section for OpenSsl {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, _verbose: bool) {
        let d = &self.defaults;
        println!(
            "{}",
            style::bold(&format!("OpenSSL ({}, OPENSSLDIR {})", d.version, d.openssldir))
        );
        println!("  default CA file {}, default CA dir {}", d.cert_file, d.cert_dir);
        println!(
            "  in force: file {} ({} certificates), dir {} ({} usable entries){}",
            self.file_in_force,
            self.file_certs,
            self.dirs_in_force.join(":"),
            self.dir_usable,
            if self.from_env {
                " [from SSL_CERT_FILE/SSL_CERT_DIR]"
            } else {
                ""
            }
        );
    }

    fn json(&self, members: &mut Map<String, Value>) {
        let d = &self.defaults;
        members.insert(
            "openssl".into(),
            json!({
                "version": d.version,
                "openssldir": d.openssldir,
                "default_cert_file": d.cert_file,
                "default_cert_dir": d.cert_dir,
                "cert_file_env": d.cert_file_env,
                "cert_dir_env": d.cert_dir_env,
                "cert_file_in_force": self.file_in_force,
                "cert_dirs_in_force": self.dirs_in_force,
                "cert_file_certificates": self.file_certs,
                "cert_dirs_usable_entries": self.dir_usable,
            }),
        );
    }
}
