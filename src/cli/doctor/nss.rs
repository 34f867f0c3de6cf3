//! NSS's stores: where Chromium, Firefox and Thunderbird keep the CAs a
//! user added, and whether each local CA is trusted there.
//!
//! NSS programs never read the system bundle. Chromium trusts its Chrome
//! Root Store plus the user's NSS databases (`~/.pki/nssdb`,
//! `~/.local/share/pki/nssdb`, the snap's); Firefox and Thunderbird their
//! built-in roots plus each profile's `cert9.db` (`~/.mozilla`,
//! `~/.config/mozilla`, `~/.thunderbird`, snap and flatpak homes) and what
//! an enterprise policy installs (`Certificates.Install`,
//! `SecurityDevices`); `/etc/pki/nssdb` is the system-wide database some
//! distributions' NSS tools use. For each store this section says which
//! local CAs it trusts (read with `certutil -L`, read-only), whether cafix
//! adds the others when preloaded (in memory, to a program whose NSS has
//! built-in roots), and the manual fix: the exact `certutil` line, or the
//! `policies.json` snippet.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Map, Value};

use super::section::{Machine, Section};
use super::text::plural;
use super::verdict::{Finding, Severity};
use crate::cli::root_stores::{local_cas_here, SystemPreload};
use crate::cli::style;
use crate::local_cas::{LocalCa, LocalCas};
use crate::pem::{self, PemItem};

/// Which program family a store belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::cli) enum App {
    Chromium,
    Firefox,
    Thunderbird,
    /// `/etc/pki/nssdb`.
    System,
}

impl App {
    pub(in crate::cli) fn label(self) -> &'static str {
        match self {
            App::Chromium => "Chromium",
            App::Firefox => "Firefox",
            App::Thunderbird => "Thunderbird",
            App::System => "system NSS database",
        }
    }

    pub(in crate::cli) fn code(self) -> &'static str {
        match self {
            App::Chromium => "chromium",
            App::Firefox => "firefox",
            App::Thunderbird => "thunderbird",
            App::System => "system",
        }
    }
}

/// One NSS database, and the certificates it trusts as TLS CAs (DER), or
/// why it could not be read.
pub(in crate::cli) struct Store {
    pub app: App,
    pub path: PathBuf,
    pub trusted: Result<Vec<Vec<u8>>, String>,
}

impl Store {
    /// Whether it trusts `der` for TLS servers (`None`: could not be read).
    pub(in crate::cli) fn trusts(&self, der: &[u8]) -> Option<bool> {
        self.trusted.as_ref().ok().map(|t| t.iter().any(|d| d == der))
    }
}

/// An enterprise policy file of Firefox or Thunderbird.
struct Policy {
    app: App,
    path: PathBuf,
    /// `Certificates.Install`: CA files the browser imports.
    installs: Vec<String>,
    /// `SecurityDevices`: PKCS #11 modules it loads.
    devices: Vec<String>,
    error: Option<String>,
}

/// The NSS databases a user's programs use: `(app, database directory)` for
/// each candidate under `home`, and `/etc/pki/nssdb`. A profile directory is
/// any directory directly below a profile root (`~/.mozilla/firefox/…`).
pub(in crate::cli) fn candidates(home: &Path) -> Vec<(App, PathBuf)> {
    let mut out = Vec::new();
    for dir in [
        ".pki/nssdb",
        ".local/share/pki/nssdb",
        "snap/chromium/current/.pki/nssdb",
        "snap/chromium/current/.local/share/pki/nssdb",
    ] {
        out.push((App::Chromium, home.join(dir)));
    }
    let profile_roots = [
        (App::Firefox, ".mozilla/firefox"),
        (App::Firefox, ".config/mozilla/firefox"),
        (App::Firefox, "snap/firefox/common/.mozilla/firefox"),
        (App::Firefox, ".var/app/org.mozilla.firefox/.mozilla/firefox"),
        (App::Firefox, ".var/app/org.mozilla.firefox/config/mozilla/firefox"),
        (App::Thunderbird, ".thunderbird"),
        (App::Thunderbird, "snap/thunderbird/common/.thunderbird"),
        (App::Thunderbird, ".var/app/org.mozilla.Thunderbird/.thunderbird"),
    ];
    for (app, root) in profile_roots {
        let Ok(entries) = std::fs::read_dir(home.join(root)) else {
            continue;
        };
        let mut profiles: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
        profiles.sort();
        out.extend(profiles.into_iter().map(|p| (app, p)));
    }
    out.push((App::System, PathBuf::from("/etc/pki/nssdb")));
    out
}

/// `certutil -L`'s table: (nickname, trust attributes) per certificate.
pub(in crate::cli) fn parse_certutil_list(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|line| {
            let line = line.trim_end();
            let (nickname, trust) = line.rsplit_once(char::is_whitespace)?;
            let nickname = nickname.trim_end();
            let is_trust = trust.split(',').count() == 3 && trust.chars().all(|c| c == ',' || c.is_ascii_alphabetic());
            (is_trust && !nickname.is_empty()).then(|| (nickname.to_string(), trust.to_string()))
        })
        .collect()
}

/// Whether `certutil` trust attributes make a certificate a CA trusted for
/// TLS servers (`C` in the SSL field).
pub(in crate::cli) fn trusted_for_tls(trust: &str) -> bool {
    trust.split(',').next().is_some_and(|ssl| ssl.contains('C'))
}

/// The certificates the database in `dir` trusts for TLS servers, read with
/// `certutil -L` (which opens it read-only).
fn read_store(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let db = format!("sql:{}", dir.display());
    let list = certutil(&["-L", "-d", &db])?;
    let mut out = Vec::new();
    for (nickname, trust) in parse_certutil_list(&list) {
        if !trusted_for_tls(&trust) {
            continue;
        }
        let pem_text = certutil(&["-L", "-d", &db, "-n", &nickname, "-a"])?;
        for item in pem::sections(pem_text.as_bytes()) {
            if let PemItem::Certificate(der) = item {
                out.push(der);
            }
        }
    }
    Ok(out)
}

fn certutil(args: &[&str]) -> Result<String, String> {
    let out = Command::new("certutil")
        .args(args)
        .output()
        .map_err(|e| format!("certutil: {e} (apt-get install libnss3-tools)"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!("certutil: {}", why.lines().last().unwrap_or("failed").trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The enterprise policy files Firefox and Thunderbird read on Linux.
const POLICY_FILES: [(App, &str); 5] = [
    (App::Firefox, "/etc/firefox/policies/policies.json"),
    (App::Firefox, "/usr/lib/firefox-esr/distribution/policies.json"),
    (App::Firefox, "/usr/lib/firefox/distribution/policies.json"),
    (App::Thunderbird, "/etc/thunderbird/policies/policies.json"),
    (App::Thunderbird, "/usr/lib/thunderbird/distribution/policies.json"),
];

/// Where an administrator puts the policy of `app` (Debian's packages read it).
fn policy_file(app: App) -> Option<&'static str> {
    match app {
        App::Firefox => Some("/etc/firefox/policies/policies.json"),
        App::Thunderbird => Some("/etc/thunderbird/policies/policies.json"),
        App::Chromium | App::System => None,
    }
}

/// `Certificates.Install` and `SecurityDevices` of a `policies.json`.
pub(in crate::cli) fn parse_policies(text: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let policies = &v["policies"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let installs = strings(&policies["Certificates"]["Install"]);
    let devices = match &policies["SecurityDevices"] {
        Value::Object(o) => o
            .iter()
            .flat_map(|(k, v)| match (k.as_str(), v) {
                ("Add", Value::Object(add)) => add
                    .iter()
                    .map(|(n, p)| format!("{n}: {}", p.as_str().unwrap_or("?")))
                    .collect(),
                ("Delete", _) => Vec::new(),
                (name, Value::String(path)) => vec![format!("{name}: {path}")],
                _ => Vec::new(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok((installs, devices))
}

/// The `certutil` line that makes `ca` a trusted TLS CA in `dir`.
pub(in crate::cli) fn certutil_fix(dir: &Path, ca: &LocalCa) -> String {
    format!(
        "certutil -A -d sql:{} -n '{}' -t C,, -i {}",
        dir.display(),
        ca.short_name().replace('\'', ""),
        ca.source.display()
    )
}

/// The `policies.json` snippet that makes Firefox or Thunderbird import `cas`.
pub(in crate::cli) fn policy_snippet(cas: &[&LocalCa]) -> String {
    let files: Vec<String> = cas.iter().map(|ca| ca.source.display().to_string()).collect();
    json!({"policies": {"Certificates": {"Install": files}}}).to_string()
}

/// For `cafix doctor --ca`: whether `store` trusts `cert` (`local`: it is a
/// local CA; `system_wide`: libcafix.so is preloaded system-wide), as
/// (trusted, text); a local CA cafix adds system-wide is no gap.
pub(in crate::cli) fn place(
    store: &Store,
    der: &[u8],
    short_name: &str,
    local: bool,
    system_wide: bool,
) -> (Option<bool>, String) {
    match store.trusts(der) {
        None => (
            None,
            format!("not read: {}", store.trusted.as_ref().err().map_or("", |e| e)),
        ),
        Some(true) => (Some(true), "yes".to_string()),
        Some(false) if local && system_wide => (
            None,
            "not in the database; cafix adds it in memory (libcafix.so is preloaded system-wide)".to_string(),
        ),
        Some(false) if local => (
            Some(false),
            format!(
                "no; cafix adds it in memory under `cafix run`, or: certutil -A -d sql:{} -n '{}' -t C,, -i FILE",
                store.path.display(),
                short_name.replace('\'', "")
            ),
        ),
        Some(false) => (
            Some(false),
            format!(
                "no (not a local CA, so cafix adds it nowhere): certutil -A -d sql:{} -n '{}' -t C,, -i FILE",
                store.path.display(),
                short_name.replace('\'', "")
            ),
        ),
    }
}

pub(super) struct NssStores {
    local: LocalCas,
    /// libcafix.so in `/etc/ld.so.preload`, adding local CAs.
    system_wide: bool,
    stores: Vec<Store>,
    policies: Vec<Policy>,
    findings: Vec<Finding>,
}

/// The stores of this user (`HOME`) that exist, read.
pub(in crate::cli) fn stores_here() -> Vec<Store> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    candidates(&home)
        .into_iter()
        .filter(|(_, dir)| dir.join("cert9.db").is_file())
        .map(|(app, path)| {
            let trusted = read_store(&path);
            Store { app, path, trusted }
        })
        .collect()
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let local = local_cas_here(m.bundle.as_ref());
    let preload = SystemPreload::read();
    let system_wide = preload.library.is_some() && preload.injects;
    let stores = if local.is_empty() { Vec::new() } else { stores_here() };
    let policies = POLICY_FILES
        .iter()
        .filter(|(_, p)| Path::new(p).is_file())
        .map(|&(app, p)| {
            let parsed = std::fs::read_to_string(p)
                .map_err(|e| e.to_string())
                .and_then(|t| parse_policies(&t));
            let (installs, devices, error) = match parsed {
                Ok((i, d)) => (i, d, None),
                Err(e) => (Vec::new(), Vec::new(), Some(e)),
            };
            Policy {
                app,
                path: PathBuf::from(p),
                installs,
                devices,
                error,
            }
        })
        .collect();
    let mut s = NssStores {
        local,
        system_wide,
        stores,
        policies,
        findings: Vec::new(),
    };
    s.findings = s.judge();
    Box::new(s)
}

impl NssStores {
    /// The local CAs `store` lacks.
    fn lacking(&self, store: &Store) -> Vec<&LocalCa> {
        self.local
            .cas
            .iter()
            .filter(|ca| store.trusts(&ca.der) == Some(false))
            .collect()
    }

    fn judge(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for store in &self.stores {
            let lacking = self.lacking(store);
            if lacking.is_empty() || self.system_wide {
                continue;
            }
            let names: Vec<String> = lacking.iter().map(|ca| ca.short_name().to_string()).collect();
            let mut f = Finding::new(
                Severity::Warning,
                "nss-store-lacks-local-ca",
                format!(
                    "{} {} does not trust {} ({}); cafix adds {} in memory to the programs it is preloaded into",
                    store.app.label(),
                    store.path.display(),
                    plural(lacking.len(), "local CA", "local CAs"),
                    names.join(", "),
                    if lacking.len() == 1 { "it" } else { "them" }
                ),
            )
            .fix("run the program under `cafix run`, or preload libcafix.so system-wide (/etc/ld.so.preload)");
            for ca in &lacking {
                f = f.fix(certutil_fix(&store.path, ca));
            }
            if let Some(file) = policy_file(store.app) {
                f = f.fix(format!(
                    "or, for every profile at once, {file}: {}",
                    policy_snippet(&lacking)
                ));
            }
            out.push(f);
        }
        for p in &self.policies {
            if let Some(e) = &p.error {
                out.push(Finding::new(
                    Severity::Warning,
                    "nss-policy-unreadable",
                    format!("{} policy {}: {e}", p.app.label(), p.path.display()),
                ));
            }
        }
        out
    }

    fn store_line(&self, store: &Store) -> String {
        match &store.trusted {
            Err(e) => format!("{}: {}", store.path.display(), style::dim(e)),
            Ok(_) => {
                let lacking = self.lacking(store);
                let status = if lacking.is_empty() {
                    style::good("trusts every local CA")
                } else {
                    let names: Vec<&str> = lacking.iter().map(|ca| ca.short_name()).collect();
                    format!("{} {}", style::bad("lacks"), names.join(", "))
                };
                format!("{}: {status}", store.path.display())
            }
        }
    }
}

impl Section for NssStores {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, _verbose: bool) {
        println!("{}", style::bold("NSS programs (Chromium, Firefox, Thunderbird)"));
        if self.local.is_empty() {
            println!("  {}", style::dim("no local CAs: nothing for NSS's stores to lack"));
        } else {
            println!(
                "  cafix adds the local CAs, in memory, to programs whose NSS has built-in roots: {}",
                if self.system_wide {
                    "system-wide (libcafix.so in /etc/ld.so.preload)"
                } else {
                    "under `cafix run` (not preloaded system-wide)"
                }
            );
            if self.stores.is_empty() {
                println!("  {}", style::dim("no NSS database or profile in this HOME"));
            }
            for store in &self.stores {
                println!("  {} {}", store.app.label(), self.store_line(store));
            }
        }
        for p in &self.policies {
            let what = match &p.error {
                Some(e) => style::bad(e),
                None => format!(
                    "Certificates.Install: {}; SecurityDevices: {}",
                    if p.installs.is_empty() {
                        "none".to_string()
                    } else {
                        p.installs.join(", ")
                    },
                    if p.devices.is_empty() {
                        "none".to_string()
                    } else {
                        p.devices.join(", ")
                    }
                ),
            };
            println!("  {} policy {}: {what}", p.app.label(), p.path.display());
        }
    }

    fn json(&self, members: &mut Map<String, Value>) {
        let stores: Vec<Value> = self
            .stores
            .iter()
            .map(|s| {
                let names = |cas: Vec<&LocalCa>| cas.iter().map(|ca| ca.short_name().to_string()).collect::<Vec<_>>();
                json!({
                    "app": s.app.code(),
                    "path": s.path.display().to_string(),
                    "error": s.trusted.as_ref().err(),
                    "lacking": names(self.lacking(s)),
                    "fixes": self.lacking(s).iter().map(|ca| certutil_fix(&s.path, ca)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let policies: Vec<Value> = self
            .policies
            .iter()
            .map(|p| {
                json!({"app": p.app.code(), "path": p.path.display().to_string(), "certificates_install": p.installs,
                       "security_devices": p.devices, "error": p.error})
            })
            .collect();
        members.insert(
            "nss".into(),
            json!({
                "cafix_adds": if self.system_wide { "system-wide" } else { "cafix-run" },
                "stores": stores,
                "policies": policies,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certutil_lists_nicknames_and_trust() {
        let out = "\nCertificate Nickname                                         Trust Attributes\n\
                   \u{20}                                                            SSL,S/MIME,JAR/XPI\n\n\
                   Corp Root CA                                                 C,,  \n\
                   my cert                                                      u,u,u\n\
                   intermediate                                                 ,,   \n";
        let list = parse_certutil_list(out);
        assert_eq!(
            list,
            [
                ("Corp Root CA".to_string(), "C,,".to_string()),
                ("my cert".to_string(), "u,u,u".to_string()),
                ("intermediate".to_string(), ",,".to_string()),
            ]
        );
        assert!(trusted_for_tls("C,,"));
        assert!(trusted_for_tls("CT,C,C"));
        assert!(!trusted_for_tls("u,u,u"));
        assert!(!trusted_for_tls(",C,"));
    }

    #[test]
    fn policies_name_installed_certificates_and_devices() {
        let text = r#"{"policies": {"Certificates": {"Install": ["/etc/corp/root.crt"]},
            "SecurityDevices": {"Add": {"p11-kit": "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so"}, "Delete": ["old"]}}}"#;
        let (installs, devices) = parse_policies(text).unwrap();
        assert_eq!(installs, ["/etc/corp/root.crt"]);
        assert_eq!(devices, ["p11-kit: /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so"]);
        let (installs, devices) =
            parse_policies(r#"{"policies": {"SecurityDevices": {"Token": "/lib/t.so"}}}"#).unwrap();
        assert!(installs.is_empty());
        assert_eq!(devices, ["Token: /lib/t.so"]);
        assert!(parse_policies("{").is_err());
        assert_eq!(parse_policies("{}").unwrap(), (vec![], vec![]));
    }

    #[test]
    fn candidates_cover_chromium_firefox_thunderbird_and_the_system_database() {
        let home = std::env::temp_dir().join(format!("cafix-nss-home-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        for p in [
            ".mozilla/firefox/abc.default",
            ".config/mozilla/firefox/x.default-esr",
            ".thunderbird/t.default",
        ] {
            std::fs::create_dir_all(home.join(p)).unwrap();
        }
        let found = candidates(&home);
        let has = |app: App, rel: &str| found.iter().any(|(a, p)| *a == app && *p == home.join(rel));
        assert!(has(App::Chromium, ".pki/nssdb"));
        assert!(has(App::Chromium, ".local/share/pki/nssdb"));
        assert!(has(App::Chromium, "snap/chromium/current/.pki/nssdb"));
        assert!(has(App::Firefox, ".mozilla/firefox/abc.default"));
        assert!(has(App::Firefox, ".config/mozilla/firefox/x.default-esr"));
        assert!(has(App::Thunderbird, ".thunderbird/t.default"));
        assert!(found
            .iter()
            .any(|(a, p)| *a == App::System && p == Path::new("/etc/pki/nssdb")));
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn fixes_name_the_database_and_the_file() {
        let ca = LocalCa {
            der: vec![1],
            subject: "CN=Corp's Root CA, O=Corp".to_string(),
            source: PathBuf::from("/usr/local/share/ca-certificates/corp.crt"),
        };
        assert_eq!(
            certutil_fix(Path::new("/home/me/.pki/nssdb"), &ca),
            "certutil -A -d sql:/home/me/.pki/nssdb -n 'Corps Root CA' -t C,, -i /usr/local/share/ca-certificates/corp.crt"
        );
        assert_eq!(
            policy_snippet(&[&ca]),
            r#"{"policies":{"Certificates":{"Install":["/usr/local/share/ca-certificates/corp.crt"]}}}"#
        );
    }
}
