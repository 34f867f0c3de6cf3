//! `cafix doctor`: a read-only audit of this machine's trust store.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

mod ca;

use super::args::DoctorArgs;
use super::hash::{describe_problem, env_config, trust_dir_scans};
use super::root_stores;
use super::style;
use crate::audit::{
    self, format_rfc3339, format_utc, BundlePathStatus, BundleState, DirScan, EntryProblem, QtPrediction,
};
use crate::bundle::{self, BundleIndex, CaCert};
use crate::subject_hash::hash_hex;

/// How many names the text output lists before "… and N more".
const SHORT_LIST: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Severity {
    Problem,
    Warning,
}

/// One thing wrong, with the commands that fix it.
#[derive(Debug, Clone)]
pub(super) struct Finding {
    severity: Severity,
    code: &'static str,
    message: String,
    items: Vec<String>,
    fixes: Vec<String>,
}

impl Finding {
    pub(super) fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            code,
            message: message.into(),
            items: Vec::new(),
            fixes: Vec::new(),
        }
    }
    pub(super) fn items(mut self, items: Vec<String>) -> Finding {
        self.items = items;
        self
    }
    pub(super) fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fixes.push(fix.into());
        self
    }
}

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

fn env_text(name: &str) -> Option<String> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().into_owned())
}

fn short_list(items: &[String], verbose: bool) -> String {
    if verbose || items.len() <= SHORT_LIST {
        items.join(", ")
    } else {
        format!(
            "{}, … and {} more (all with --verbose or --json)",
            items[..SHORT_LIST].join(", "),
            items.len() - SHORT_LIST
        )
    }
}

fn cert_name(c: &CaCert) -> String {
    format!("{} ({})", c.short_name(), hash_hex(c.subject_hash))
}

fn dir_label(scan: &DirScan) -> String {
    if scan.aliases.is_empty() {
        scan.path.display().to_string()
    } else {
        format!(
            "{} (also {})",
            scan.path.display(),
            scan.aliases
                .iter()
                .map(|a| a.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// What one trust directory lacks or holds beyond the bundle.
struct DirVsBundle<'a> {
    missing: Vec<&'a CaCert>,
    not_in_bundle: Vec<(String, &'a CaCert)>,
}

fn compare<'a>(scan: &'a DirScan, bundle: Option<&'a BundleIndex>) -> DirVsBundle<'a> {
    let mut missing = Vec::new();
    let mut not_in_bundle = Vec::new();
    if let Some(b) = bundle {
        if !scan.entries.is_empty() {
            let mut seen: Vec<&[u8]> = Vec::new();
            for c in &b.certs {
                if !seen.contains(&c.der.as_slice()) && !scan.finds(c) {
                    missing.push(c);
                }
                seen.push(&c.der);
            }
        }
        for (entry, c) in scan.usable_certs() {
            if !b.contains_der(&c.der) {
                not_in_bundle.push((entry.name.clone(), c));
            }
        }
    }
    missing.sort_by(|a, b| a.short_name().cmp(b.short_name()));
    DirVsBundle { missing, not_in_bundle }
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

pub fn run(args: &DoctorArgs) -> Result<i32, String> {
    if let Some(file) = &args.ca {
        return ca::run(args, file);
    }
    let now = audit::now();
    let verbose = args.verbose || args.json;
    let mut findings: Vec<Finding> = Vec::new();

    // --- The system bundle ------------------------------------------------
    let config = env_config();
    let ssl_cert_file = env_text("SSL_CERT_FILE");
    let ssl_cert_dir = env_text("SSL_CERT_DIR");
    let is_file = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
    let bundle_path = bundle::find_system_bundle(&config, &is_file);
    let bundle_source = match (&bundle_path, &config.bundle, &ssl_cert_file) {
        (None, _, _) => "none".to_string(),
        (Some(_), Some(_), _) => "CAFIX_BUNDLE".to_string(),
        (Some(p), None, Some(f)) if p == Path::new(f) => "SSL_CERT_FILE".to_string(),
        (Some(p), _, _) => crate::locations::BUNDLE_PATHS
            .iter()
            .find(|(b, _)| Path::new(b) == p)
            .map_or("distribution path".to_string(), |(_, origin)| {
                format!("distribution path: {origin}")
            }),
    };
    let bundle: Option<BundleIndex> = match bundle_path.as_deref().map(audit::read_bundle) {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            findings.push(Finding::new(
                Severity::Problem,
                "bundle-unreadable",
                format!("the system CA bundle cannot be used: {e}"),
            ));
            None
        }
        None => {
            findings.push(
                Finding::new(
                    Severity::Problem,
                    "no-system-bundle",
                    "no system CA bundle found: no well-known bundle path exists (and CAFIX_BUNDLE/SSL_CERT_FILE name none)",
                )
                .fix("Debian/Ubuntu: `apt-get install --reinstall ca-certificates && update-ca-certificates --fresh`")
                .fix("Fedora/RHEL: `update-ca-trust extract`; Alpine: `apk add ca-certificates && update-ca-certificates`"),
            );
            None
        }
    };
    let mut expired: Vec<&CaCert> = Vec::new();
    let mut not_yet_valid: Vec<&CaCert> = Vec::new();
    if let Some(b) = &bundle {
        if b.certs.is_empty() {
            findings.push(Finding::new(
                Severity::Problem,
                "bundle-empty",
                format!(
                    "the system CA bundle {} holds no certificate ({})",
                    b.path.display(),
                    b.problems.join("; ")
                ),
            ));
        } else if !b.problems.is_empty() {
            findings.push(Finding::new(
                Severity::Warning,
                "bundle-damaged",
                format!("the system CA bundle {}: {}", b.path.display(), b.problems.join("; ")),
            ));
        }
        expired = b.certs.iter().filter(|c| c.not_after < now).collect();
        not_yet_valid = b.certs.iter().filter(|c| c.not_before > now).collect();
        expired.sort_by(|a, b| a.short_name().cmp(b.short_name()));
        if !expired.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "expired-cas",
                    format!("{} CA certificate(s) of the system bundle have expired (they verify nothing)", expired.len()),
                )
                .items(expired.iter().map(|c| format!("{} (expired {})", cert_name(c), format_utc(c.not_after))).collect())
                .fix("update the CA list: `apt-get install --only-upgrade ca-certificates` (or your distribution's equivalent)"),
            );
        }
        if !not_yet_valid.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "not-yet-valid-cas",
                    format!(
                        "{} CA certificate(s) of the system bundle are not valid yet: is the clock right?",
                        not_yet_valid.len()
                    ),
                )
                .items(
                    not_yet_valid
                        .iter()
                        .map(|c| format!("{} (valid from {})", cert_name(c), format_utc(c.not_before)))
                        .collect(),
                ),
            );
        }
    }
    if let Some(f) = &ssl_cert_file {
        if !is_file(Path::new(f)) {
            findings.push(
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
    if let Some(d) = &ssl_cert_dir {
        let missing: Vec<String> = d
            .split(':')
            .filter(|p| !p.is_empty() && !Path::new(p).is_dir())
            .map(str::to_string)
            .collect();
        if !missing.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "ssl-cert-dir-missing",
                    "SSL_CERT_DIR names directories that do not exist",
                )
                .items(missing),
            );
        }
    }

    // --- Well-known bundle paths -------------------------------------------
    let paths: Vec<BundlePathStatus> = audit::bundle_paths_status();
    for p in &paths {
        match &p.state {
            BundleState::BrokenSymlink => findings.push(
                Finding::new(
                    Severity::Problem,
                    "broken-bundle-link",
                    format!(
                        "{} is a broken symbolic link (to {}): programs that read it ({}) load no CA",
                        p.path,
                        p.link_target.as_deref().unwrap_or(Path::new("?")).display(),
                        p.origin
                    ),
                )
                .fix("run those programs with `cafix run -- PROGRAM` (it serves the system bundle there)")
                .fix(match &bundle_path {
                    Some(b) => format!("or point the link at the bundle: `ln -sf {} {}`", b.display(), p.path),
                    None => "or reinstall the CA bundle (`update-ca-certificates --fresh`)".to_string(),
                }),
            ),
            BundleState::Present {
                certificates: 0,
                problems,
            } => findings.push(Finding::new(
                Severity::Problem,
                "bundle-path-empty",
                format!(
                    "{} holds no certificate ({}): programs that read it ({}) trust nothing",
                    p.path,
                    problems.join("; "),
                    p.origin
                ),
            )),
            BundleState::Unreadable(e) => findings.push(Finding::new(
                Severity::Warning,
                "bundle-path-unreadable",
                format!("{} cannot be read: {e}", p.path),
            )),
            _ => {}
        }
    }

    // --- Trust directories --------------------------------------------------
    let scans = trust_dir_scans();
    let mut dir_reports = Vec::new();
    for scan in &scans {
        let label = dir_label(scan);
        let rehash = rehash_fix(&scan.path);
        if let Some(e) = &scan.error {
            findings.push(Finding::new(Severity::Problem, "dir-unreadable", e.clone()));
        }
        let by = |want: fn(&EntryProblem) -> bool| -> Vec<String> {
            scan.problems()
                .filter(|(_, p)| want(p))
                .map(|(e, p)| match p {
                    EntryProblem::BrokenSymlink { target } => format!("{} -> {}", e.name, target.display()),
                    _ => format!("{}: {}", e.name, describe_problem(p)),
                })
                .collect()
        };
        let broken = by(|p| matches!(p, EntryProblem::BrokenSymlink { .. }));
        let stale = by(|p| matches!(p, EntryProblem::Stale { .. }));
        let unreachable = by(|p| matches!(p, EntryProblem::Unreachable));
        let garbage = by(|p| matches!(p, EntryProblem::NotCertificate | EntryProblem::Unreadable(_)));
        if !broken.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Problem,
                    "broken-symlinks",
                    format!(
                        "{label}: {} broken symbolic link(s): lookups of those CAs find nothing",
                        broken.len()
                    ),
                )
                .items(broken.clone())
                .fix(rehash.clone()),
            );
        }
        if !stale.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Problem,
                    "stale-entries",
                    format!(
                        "{label}: {} stale entr(ies): the certificate in it has another subject hash than its name",
                        stale.len()
                    ),
                )
                .items(stale.clone())
                .fix(rehash.clone()),
            );
        }
        if !unreachable.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Problem,
                    "unreachable-entries",
                    format!(
                        "{label}: {} entr(ies) OpenSSL never reads (a lower number of the same hash is missing)",
                        unreachable.len()
                    ),
                )
                .items(unreachable.clone())
                .fix(rehash.clone()),
            );
        }
        if !garbage.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Problem,
                    "unusable-entries",
                    format!(
                        "{label}: {} hash-named entr(ies) hold no readable PEM certificate",
                        garbage.len()
                    ),
                )
                .items(garbage.clone())
                .fix(format!(
                    "remove them if nothing needs them, or {}",
                    rehash.trim_start_matches("complete the directory: ")
                )),
            );
        }
        let dups: Vec<String> = scan
            .duplicates()
            .iter()
            .map(|g| {
                format!(
                    "{} ({})",
                    g.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(" = "),
                    g[0].certs[0].short_name()
                )
            })
            .collect();
        if !dups.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "duplicates",
                    format!("{label}: {} certificate(s) under more than one name", dups.len()),
                )
                .items(dups.clone())
                .fix(rehash.clone()),
            );
        }
        let cmp = compare(scan, bundle.as_ref());
        let missing_names: Vec<String> = cmp.missing.iter().map(|c| cert_name(c)).collect();
        if !cmp.missing.is_empty() {
            let total = bundle.as_ref().map_or(0, |b| b.certs.len());
            let usable = scan.entries.iter().filter(|e| e.usable()).count();
            let mut f = Finding::new(
                Severity::Problem,
                "dir-incomplete",
                format!(
                    "{label} has {usable} usable hash entr(ies) but lacks {} of the {total} system bundle CAs: programs that look CAs up in it \
                     alone (capath: Python's capath=, Perl's SSL_ca_path, Ruby's add_path, curl --capath, Qt on demand) cannot verify servers under them",
                    cmp.missing.len()
                ),
            )
            .items(missing_names.clone())
            .fix("run such programs with `cafix run -- PROGRAM` (it serves the missing entries from the bundle)")
            .fix(rehash.clone());
            if usable <= 3 && scan.entries.len() <= 3 {
                f = f.fix(format!(
                    "or, if nothing needs them, remove the stray entr(ies) {}",
                    scan.entries
                        .iter()
                        .map(|e| e.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            findings.push(f);
        }
        let extra: Vec<String> = cmp
            .not_in_bundle
            .iter()
            .map(|(n, c)| format!("{n}: {}", c.subject))
            .collect();
        if !extra.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "not-in-bundle",
                    format!("{label}: {} CA(s) trusted here but not in the system bundle (programs that load the bundle do not trust them)", extra.len()),
                )
                .items(extra.clone())
                .fix("to trust them everywhere: copy each to /usr/local/share/ca-certificates/NAME.crt and run `update-ca-certificates`"),
            );
        }
        dir_reports.push(json!({
            "path": scan.path.display().to_string(),
            "aliases": scan.aliases.iter().map(|a| a.display().to_string()).collect::<Vec<_>>(),
            "canonical": scan.canonical.display().to_string(),
            "origin": scan.origin,
            "error": scan.error,
            "hash_entries": scan.entries.len(),
            "usable_entries": scan.entries.iter().filter(|e| e.usable()).count(),
            "broken_symlinks": broken,
            "stale": stale,
            "unreachable": unreachable,
            "unusable": garbage,
            "duplicates": dups,
            "not_in_bundle": extra,
            "missing_bundle_cas": missing_names,
        }));
    }

    // --- OpenSSL's defaults ----------------------------------------------------
    let defaults = openssl_defaults();
    let file_in_force = ssl_cert_file.clone().unwrap_or_else(|| defaults.cert_file.clone());
    let dirs_in_force: Vec<String> = ssl_cert_dir
        .clone()
        .unwrap_or_else(|| defaults.cert_dir.clone())
        .split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    let file_certs = if is_file(Path::new(&file_in_force)) {
        audit::read_bundle(Path::new(&file_in_force))
            .map(|b| b.certs.len())
            .unwrap_or(0)
    } else {
        0
    };
    let dir_scans_in_force = audit::scan_dirs(dirs_in_force.iter().map(|d| (d.as_str(), "OpenSSL")));
    let dir_usable: usize = dir_scans_in_force
        .iter()
        .map(|s| s.entries.iter().filter(|e| e.usable()).count())
        .sum();
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
            .fix(match &bundle_path {
                Some(b) => format!("or link the bundle there: `ln -sf {} {file_in_force}`", b.display()),
                None => "or install the CA bundle (`update-ca-certificates --fresh`)".to_string(),
            }),
        );
    }

    // --- Qt ---------------------------------------------------------------------
    let qt: QtPrediction = audit::predict_qt();
    let qt_scans = qt_dir_scans(&qt, &scans);
    let mut qt_missing: Vec<&CaCert> = Vec::new();
    let mut qt_loaded = 0usize;
    if qt.on_demand {
        if let Some(b) = &bundle {
            let mut seen: Vec<&[u8]> = Vec::new();
            for c in &b.certs {
                if !seen.contains(&c.der.as_slice()) && !qt_scans.iter().any(|s| s.finds(c)) {
                    qt_missing.push(c);
                }
                seen.push(&c.der);
            }
            qt_missing.sort_by(|a, b| a.short_name().cmp(b.short_name()));
        }
        if !qt_missing.is_empty() {
            let triggers: Vec<String> = qt.triggers.iter().map(|t| t.display().to_string()).collect();
            let mut f = Finding::new(
                Severity::Problem,
                "qt-missing-roots",
                format!(
                    "Qt programs will fail (\"The issuer certificate of a locally looked up certificate could not be found\") for servers under {} \
                     of the {} system bundle CAs: Qt found {} and so only looks CAs up on demand in its directories, never loading the bundle",
                    qt_missing.len(),
                    bundle.as_ref().map_or(0, |b| b.certs.len()),
                    trigger_text(&qt.triggers)
                ),
            )
            .items(qt_missing.iter().map(|c| cert_name(c)).collect())
            .fix("run Qt programs with `cafix run -- PROGRAM` (it serves the missing entries from the bundle)")
            .fix(rehash_fix(Path::new("/etc/ssl/certs")));
            if qt.triggers.len() <= 3 {
                f = f.fix(format!(
                    "or, if nothing needs them, remove the stray file(s) {}: Qt then loads the bundle instead",
                    triggers.join(", ")
                ));
            }
            findings.push(f);
        }
    } else {
        for file in &qt.bundle_files {
            if let Ok(b) = audit::read_bundle(file) {
                qt_loaded += b.certs.len();
            }
        }
        if qt_loaded == 0 {
            findings.push(
                Finding::new(
                    Severity::Problem,
                    "qt-no-certificates",
                    "Qt programs trust no CA: none of Qt's directories has a hash entry or a *.pem/*.crt file with certificates",
                )
                .fix("run Qt programs with `cafix run -- PROGRAM`, or install the CA bundle (`update-ca-certificates --fresh`)"),
            );
        }
    }

    // --- GnuTLS (git, wget, apt) -------------------------------------------------
    let gnutls = gnutls_system_trust();
    if let Some(g) = &gnutls {
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

    // --- Programs' own root stores ------------------------------------------------
    let own_stores = root_stores::Section::run(bundle.as_ref(), false);
    findings.extend(own_stores.findings());

    // --- Output -------------------------------------------------------------------
    // Problems first, Qt's (the usual reason to run doctor) leading them.
    findings.sort_by_key(|f| (f.severity, f.code != "qt-missing-roots"));
    let problems = findings.iter().filter(|f| f.severity == Severity::Problem).count();
    let warnings = findings.len() - problems;
    if args.json {
        let bundle_json = bundle.as_ref().map(|b| {
            json!({
                "path": b.path.display().to_string(),
                "source": bundle_source,
                "certificates": b.certs.len(),
                "problems": b.problems,
                "expired": expired.iter().map(|c| json!({"subject": c.subject, "not_after": format_rfc3339(c.not_after)})).collect::<Vec<_>>(),
                "not_yet_valid": not_yet_valid.iter().map(|c| json!({"subject": c.subject, "not_before": format_rfc3339(c.not_before)})).collect::<Vec<_>>(),
            })
        });
        let value = json!({
            "verdict": if problems == 0 { "healthy" } else { "problems" },
            "problems": problems,
            "warnings": warnings,
            "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
            "environment": {
                "SSL_CERT_FILE": ssl_cert_file,
                "SSL_CERT_DIR": ssl_cert_dir,
                "CAFIX_BUNDLE": env_text("CAFIX_BUNDLE"),
            },
            "system_bundle": bundle_json,
            "bundle_paths": paths.iter().map(bundle_path_json).collect::<Vec<_>>(),
            "trust_dirs": dir_reports,
            "openssl": {
                "version": defaults.version,
                "openssldir": defaults.openssldir,
                "default_cert_file": defaults.cert_file,
                "default_cert_dir": defaults.cert_dir,
                "cert_file_env": defaults.cert_file_env,
                "cert_dir_env": defaults.cert_dir_env,
                "cert_file_in_force": file_in_force,
                "cert_dirs_in_force": dirs_in_force,
                "cert_file_certificates": file_certs,
                "cert_dirs_usable_entries": dir_usable,
            },
            "qt": {
                "mode": if qt.on_demand { "on-demand" } else { "bundle" },
                "dirs": qt.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
                "triggers": qt.triggers.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
                "bundle_files": qt.bundle_files.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
                "certificates_loaded": if qt.on_demand { Value::Null } else { json!(qt_loaded) },
                "missing_roots": qt_missing.iter().map(|c| json!({
                    "name": c.short_name(),
                    "subject": c.subject,
                    "subject_hash": hash_hex(c.subject_hash),
                })).collect::<Vec<_>>(),
            },
            "gnutls": gnutls.as_ref().map(|g| json!({
                "library": g.library.display().to_string(),
                "system_trust_file": g.trust_file,
                "certificates": g.certificates,
            })),
            "root_stores": own_stores.json(),
        });
        style::print_json(&value);
    } else {
        println!(
            "{}",
            style::bold("cafix doctor: this machine's trust store (read-only)")
        );
        println!();
        println!("{}", style::bold("System CA bundle"));
        match &bundle {
            Some(b) => println!(
                "  {}: {} certificates ({bundle_source})",
                b.path.display(),
                b.certs.len()
            ),
            None => println!("  {}", style::bad("none found")),
        }
        println!(
            "  SSL_CERT_FILE: {}; SSL_CERT_DIR: {}",
            ssl_cert_file.as_deref().unwrap_or("not set"),
            ssl_cert_dir.as_deref().unwrap_or("not set")
        );
        println!(
            "  expired CAs: {}; not yet valid: {}",
            expired.len(),
            not_yet_valid.len()
        );
        println!();
        println!("{}", style::bold("Well-known bundle paths"));
        let mut missing_paths = Vec::new();
        for p in &paths {
            let link = p
                .link_target
                .as_ref()
                .map(|t| format!(" -> {}", t.display()))
                .unwrap_or_default();
            match &p.state {
                BundleState::Missing => missing_paths.push(p.path.to_string()),
                BundleState::Present { certificates, .. } => {
                    println!(
                        "  {}  {}{link}: {certificates} certificates",
                        style::good("present"),
                        p.path
                    )
                }
                BundleState::BrokenSymlink => println!("  {}   {}{link}", style::bad("broken"), p.path),
                BundleState::Unreadable(e) => println!("  {}  {}{link}: {e}", style::warn("unreadable"), p.path),
                BundleState::NotAFile => println!("  {}  {}{link}: not a file", style::warn("odd"), p.path),
            }
        }
        if !missing_paths.is_empty() {
            println!(
                "  {}  {} other path(s) (`cafix run` serves the bundle there): {}",
                style::dim("missing"),
                missing_paths.len(),
                short_list(&missing_paths, verbose)
            );
        }
        println!();
        println!("{}", style::bold("Trust directories (<hash>.<n> entries)"));
        for scan in &scans {
            let cmp = compare(scan, bundle.as_ref());
            let n_bad = scan.problems().count();
            let state = if scan.entries.is_empty() {
                style::dim("no hash entries")
            } else if cmp.missing.is_empty() && n_bad == 0 {
                style::good(&format!(
                    "{}, every bundle CA present",
                    plural(scan.entries.len(), "entry", "entries")
                ))
            } else {
                style::bad(&format!(
                    "{}, {} bad, {} of the bundle missing",
                    plural(scan.entries.len(), "entry", "entries"),
                    n_bad,
                    plural(cmp.missing.len(), "CA", "CAs")
                ))
            };
            println!("  {}: {state}", dir_label(scan));
        }
        println!();
        println!(
            "{}",
            style::bold(&format!(
                "OpenSSL ({}, OPENSSLDIR {})",
                defaults.version, defaults.openssldir
            ))
        );
        println!(
            "  default CA file {}, default CA dir {}",
            defaults.cert_file, defaults.cert_dir
        );
        println!(
            "  in force: file {file_in_force} ({file_certs} certificates), dir {} ({dir_usable} usable entries){}",
            dirs_in_force.join(":"),
            if ssl_cert_file.is_some() || ssl_cert_dir.is_some() {
                " [from SSL_CERT_FILE/SSL_CERT_DIR]"
            } else {
                ""
            }
        );
        println!();
        println!("{}", style::bold("GnuTLS (git, wget, apt)"));
        match &gnutls {
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
        println!();
        println!("{}", style::bold("Qt 5.15/6"));
        if qt.on_demand {
            println!(
                "  on-demand lookup in its directories, because of {}",
                trigger_text(&qt.triggers)
            );
            if bundle.is_none() {
                println!(
                    "  {}",
                    style::warn("cannot tell which CAs Qt lacks: no system bundle to compare with")
                );
            } else if qt_missing.is_empty() {
                println!("  {}", style::good("every system bundle CA is reachable there"));
            } else {
                let names: Vec<String> = qt_missing.iter().map(|c| cert_name(c)).collect();
                println!(
                    "  {}",
                    style::bad(&format!(
                        "{} bundle CA(s) unreachable: Qt programs fail for servers under them:",
                        names.len()
                    ))
                );
                println!("    {}", short_list(&names, verbose));
            }
        } else {
            println!(
                "  loads {} certificate(s) from {} file(s) (no hash-named file in its directories)",
                qt_loaded,
                qt.bundle_files.len()
            );
        }
        println!();
        own_stores.print();
        println!();
        for (i, f) in findings.iter().enumerate() {
            let tag = match f.severity {
                Severity::Problem => style::bad("problem:"),
                Severity::Warning => style::warn("warning:"),
            };
            println!("{tag} {}", f.message);
            if findings[..i].iter().any(|g| !f.items.is_empty() && g.items == f.items) {
                println!("    (the same {} as above)", plural(f.items.len(), "CA", "CAs"));
            } else if !f.items.is_empty() {
                println!("    {}", short_list(&f.items, verbose));
            }
            for fix in &f.fixes {
                println!("    {} {fix}", style::bold("fix:"));
            }
        }
        if !findings.is_empty() {
            println!();
        }
        if problems == 0 {
            let extra = if warnings > 0 {
                format!(" ({warnings} warning(s))")
            } else {
                String::new()
            };
            println!("Verdict: {}{extra}", style::good("healthy"));
        } else {
            println!(
                "Verdict: {}",
                style::bad(&format!("{problems} problem(s), {warnings} warning(s)"))
            );
        }
    }
    Ok(if problems == 0 { 0 } else { 1 })
}

/// `1 entry`, `2 entries`.
/// What GnuTLS trusts as "the system": the bundle path compiled into the
/// first `libgnutls.so.30` of the library directories, and how many
/// certificates that file holds (`None`: unreadable or missing).
struct GnutlsTrust {
    library: PathBuf,
    trust_file: Option<String>,
    certificates: Option<usize>,
}

fn gnutls_system_trust() -> Option<GnutlsTrust> {
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

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `/etc/ssl/certs/8d33f237.0` or `/etc/ssl/certs/002c0b4f.0 and 289 more hash-named files`.
fn trigger_text(triggers: &[PathBuf]) -> String {
    match triggers {
        [] => "no hash-named file".to_string(),
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} and {} more hash-named file(s)", first.display(), rest.len()),
    }
}

/// The command that rebuilds a hash directory.
fn rehash_fix(dir: &Path) -> String {
    let d = dir.display();
    if dir == Path::new("/etc/ssl/certs") || dir == Path::new("/usr/lib/ssl/certs") {
        format!("complete the directory: `update-ca-certificates --fresh` (Debian/Ubuntu), or `openssl rehash {d}` (c_rehash) if each CA is there as its own PEM file")
    } else {
        format!("complete the directory: `openssl rehash {d}` (c_rehash), with each CA there as its own PEM file")
    }
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "severity": match f.severity { Severity::Problem => "problem", Severity::Warning => "warning" },
        "code": f.code,
        "message": f.message,
        "items": f.items,
        "fixes": f.fixes,
    })
}

fn bundle_path_json(p: &BundlePathStatus) -> Value {
    let (state, certificates, problems, error) = match &p.state {
        BundleState::Missing => ("missing", None, Vec::new(), None),
        BundleState::BrokenSymlink => ("broken-symlink", None, Vec::new(), None),
        BundleState::Present { certificates, problems } => ("present", Some(*certificates), problems.clone(), None),
        BundleState::Unreadable(e) => ("unreadable", None, Vec::new(), Some(e.clone())),
        BundleState::NotAFile => ("not-a-file", None, Vec::new(), None),
    };
    json!({
        "path": p.path,
        "origin": p.origin,
        "state": state,
        "symlink_target": p.link_target.as_ref().map(|t| t.display().to_string()),
        "certificates": certificates,
        "problems": problems,
        "error": error,
    })
}
