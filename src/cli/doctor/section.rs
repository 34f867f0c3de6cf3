//! What a section of `cafix doctor` is, and what every section is given.
//!
//! A section gathers what it looks at into its own model (a struct in its
//! module), judges it into [`Finding`]s on the way, and renders that one
//! model twice: as its block of the text report and as its members of the
//! `--json` object. The sections are listed in `doctor/mod.rs`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::verdict::Finding;
use crate::audit::DirScan;
use crate::bundle::BundleIndex;
use crate::cli::hash::{env_config, system_bundle, trust_dir_scans};
use crate::config::Config;

/// One section of the report, gathered.
pub(super) trait Section {
    /// Its problems and warnings, in the order it found them.
    fn findings(&self) -> &[Finding];

    /// Its block of the text report: a bold heading and its lines.
    fn print(&self, verbose: bool);

    /// Its members of the `--json` object.
    fn json(&self, members: &mut Map<String, Value>);

    /// Its findings are listed after those of the section that follows it
    /// (GnuTLS's after Qt's: the order they had before the doctor had
    /// sections). Other sections keep the default.
    fn findings_follow_next(&self) -> bool {
        false
    }
}

/// Gathers one section from the machine (the section may borrow from it).
pub(super) type Gather = fn(&Machine) -> Box<dyn Section + '_>;

/// What every section shares, read once: the trust variables of this
/// environment, the system bundle as libcafix.so finds it, and the trust
/// directories.
pub(super) struct Machine {
    /// Now, in seconds since the epoch (what "expired" is measured against).
    pub now: i64,
    pub ssl_cert_file: Option<String>,
    pub ssl_cert_dir: Option<String>,
    pub config: Config,
    /// Where the system bundle is (`None`: no well-known path exists).
    pub bundle_path: Option<PathBuf>,
    /// The system bundle, indexed.
    pub bundle: Option<BundleIndex>,
    /// Why the bundle at `bundle_path` cannot be used.
    pub bundle_error: Option<String>,
    /// Every well-known trust directory (and `SSL_CERT_DIR`'s).
    pub scans: Vec<DirScan>,
}

impl Machine {
    pub(super) fn read() -> Machine {
        let (bundle_path, index) = system_bundle();
        let (bundle, bundle_error) = match index {
            Some(Ok(b)) => (Some(b), None),
            Some(Err(e)) => (None, Some(e)),
            None => (None, None),
        };
        Machine {
            now: crate::audit::now(),
            ssl_cert_file: env_text("SSL_CERT_FILE"),
            ssl_cert_dir: env_text("SSL_CERT_DIR"),
            config: env_config(),
            bundle_path,
            bundle,
            bundle_error,
            scans: trust_dir_scans(),
        }
    }
}

/// A variable of this environment, unless unset or empty.
pub(super) fn env_text(name: &str) -> Option<String> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().into_owned())
}

/// A regular file with something in it (what OpenSSL can load a CA file from).
pub(super) fn non_empty_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0)
}
