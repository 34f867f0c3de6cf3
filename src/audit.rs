//! Auditing a machine's trust store as programs will see it: hash
//! directories entry by entry (as OpenSSL's `by_dir` lookup reads them), the
//! well-known bundle paths, and how Qt will pick its trust.
//!
//! Read-only and free of OpenSSL, so `cafix doctor`, `cafix check` and
//! `cafix lookup` share it and it can be unit-tested on temporary
//! directories. Nothing here panics on what it finds on disk.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::bundle::{BundleIndex, CaCert, MAX_BUNDLE_BYTES};
use crate::locations::{parse_hash_entry_name, BUNDLE_PATHS, TRUST_DIRS};
use crate::pem::{self, PemItem};

/// A hash-directory entry larger than this is not read (one certificate is a few KiB).
pub const MAX_ENTRY_BYTES: u64 = 1024 * 1024;

/// The directories Qt 5.15 and 6 scan (`QSslSocketPrivate::unixRootCertDirectories`),
/// in Qt's order and spelling.
pub const QT_CERT_DIRS: &[&str] = &[
    "/etc/ssl/certs/",
    "/usr/lib/ssl/certs/",
    "/usr/share/ssl/",
    "/usr/local/ssl/",
    "/var/ssl/certs/",
    "/usr/local/ssl/certs/",
    "/etc/openssl/certs/",
    "/opt/openssl/certs/",
    "/etc/ssl/",
];

/// Bundle files Qt loads besides the `*.pem`/`*.crt` files of its directories
/// when it does not use on-demand lookup.
pub const QT_EXTRA_BUNDLE_FILES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/usr/local/share/certs/ca-root-nss.crt",
];

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2025-01-31 23:59:59 UTC` for seconds since the epoch.
pub fn format_utc(ts: i64) -> String {
    let secs = ts.rem_euclid(86_400);
    let (year, month, day) = crate::record::civil_from_days(ts.div_euclid(86_400));
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `2025-01-31T23:59:59Z`, for JSON.
pub fn format_rfc3339(ts: i64) -> String {
    let text = format_utc(ts);
    format!("{}T{}Z", &text[..10], &text[11..19])
}

/// What is wrong with one hash-directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryProblem {
    /// A symbolic link whose target does not exist.
    BrokenSymlink { target: PathBuf },
    /// Exists but could not be read.
    Unreadable(String),
    /// Holds no PEM certificate (OpenSSL's directory lookup reads PEM only).
    NotCertificate,
    /// Holds certificates, none with the subject hash the name says:
    /// a lookup for the name's hash finds nothing, the certificate's own
    /// hash has no entry. `actual` are the hashes the file does have.
    Stale { actual: Vec<u32> },
    /// `<hash>.<n>` with a lower index missing or broken: OpenSSL stops at the
    /// first index that does not exist, so it never reads this one.
    Unreachable,
}

/// One `<8 hex>.<n>` entry of a directory.
#[derive(Debug, Clone)]
pub struct HashEntry {
    pub name: String,
    pub path: PathBuf,
    pub hash: u32,
    pub index: u32,
    /// Where it points, if it is a symbolic link.
    pub link_target: Option<PathBuf>,
    /// Certificates in the file with the subject hash the name says.
    pub certs: Vec<CaCert>,
    pub problem: Option<EntryProblem>,
}

impl HashEntry {
    /// Does OpenSSL's lookup by this hash read this entry and find a certificate in it?
    pub fn usable(&self) -> bool {
        self.problem.is_none() && !self.certs.is_empty()
    }
}

/// One scanned trust directory.
#[derive(Debug, Clone)]
pub struct DirScan {
    /// The directory as named (in [`TRUST_DIRS`], by Qt, or by the user).
    pub path: PathBuf,
    /// Other names of the same directory (symbolic links to it).
    pub aliases: Vec<PathBuf>,
    /// Where the name resolves to.
    pub canonical: PathBuf,
    /// Who looks there.
    pub origin: String,
    /// Hash entries, sorted by (hash, index).
    pub entries: Vec<HashEntry>,
    /// The directory exists but could not be listed.
    pub error: Option<String>,
}

impl DirScan {
    /// Scans `path`; `None` if it does not exist or is not a directory.
    pub fn scan(path: &Path, origin: &str) -> Option<DirScan> {
        let meta = fs::metadata(path).ok()?;
        if !meta.is_dir() {
            return None;
        }
        let canonical = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let (entries, error) = match scan_hash_entries(path) {
            Ok(e) => (e, None),
            Err(e) => (Vec::new(), Some(format!("cannot list {}: {e}", path.display()))),
        };
        Some(DirScan {
            path: path.to_path_buf(),
            aliases: Vec::new(),
            canonical,
            origin: origin.to_string(),
            entries,
            error,
        })
    }

    /// The certificates a lookup can find, entry by entry.
    pub fn usable_certs(&self) -> impl Iterator<Item = (&HashEntry, &CaCert)> {
        self.entries
            .iter()
            .filter(|e| e.usable())
            .flat_map(|e| e.certs.iter().map(move |c| (e, c)))
    }

    /// Would OpenSSL's `by_dir` lookup of `cert`'s subject in this directory
    /// find it (or another certificate with the same subject)?
    pub fn finds(&self, cert: &CaCert) -> bool {
        let start = self.entries.partition_point(|e| e.hash < cert.subject_hash);
        self.entries[start..]
            .iter()
            .take_while(|e| e.hash == cert.subject_hash)
            .filter(|e| e.usable())
            .flat_map(|e| e.certs.iter())
            .any(|c| c.der == cert.der || c.subject == cert.subject)
    }

    /// Groups of entries that hold the same certificate (by DER).
    pub fn duplicates(&self) -> Vec<Vec<&HashEntry>> {
        let mut by_der: HashMap<&[u8], Vec<&HashEntry>> = HashMap::new();
        for (entry, cert) in self.usable_certs() {
            let group = by_der.entry(cert.der.as_slice()).or_default();
            if !group.iter().any(|e| e.path == entry.path) {
                group.push(entry);
            }
        }
        let mut groups: Vec<Vec<&HashEntry>> = by_der.into_values().filter(|g| g.len() > 1).collect();
        groups.sort_by(|a, b| a[0].name.cmp(&b[0].name));
        groups
    }

    pub fn problems(&self) -> impl Iterator<Item = (&HashEntry, &EntryProblem)> {
        self.entries.iter().filter_map(|e| e.problem.as_ref().map(|p| (e, p)))
    }
}

/// Reads every `<8 hex>.<n>` entry of `dir` the way OpenSSL's directory
/// lookup would. Other files (and `<hash>.r<n>` CRL entries) are ignored.
pub fn scan_hash_entries(dir: &Path) -> std::io::Result<Vec<HashEntry>> {
    let mut entries = Vec::new();
    for item in fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((hash, index)) = parse_hash_entry_name(name.as_bytes()) else {
            continue;
        };
        let path = dir.join(name);
        let link_target = fs::read_link(&path).ok();
        let mut entry = HashEntry {
            name: name.to_string(),
            path: path.clone(),
            hash,
            index,
            link_target,
            certs: Vec::new(),
            problem: None,
        };
        match read_limited(&path, MAX_ENTRY_BYTES) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && entry.link_target.is_some() => {
                entry.problem = Some(EntryProblem::BrokenSymlink {
                    target: entry.link_target.clone().unwrap_or_default(),
                });
            }
            Err(e) => entry.problem = Some(EntryProblem::Unreadable(e.to_string())),
            Ok(bytes) => {
                let all: Vec<CaCert> = certificates_in(&bytes);
                if all.is_empty() {
                    entry.problem = Some(EntryProblem::NotCertificate);
                } else {
                    let (matching, others): (Vec<CaCert>, Vec<CaCert>) =
                        all.into_iter().partition(|c| c.subject_hash == hash);
                    if matching.is_empty() {
                        let mut actual: Vec<u32> = others.iter().map(|c| c.subject_hash).collect();
                        actual.dedup();
                        entry.problem = Some(EntryProblem::Stale { actual });
                    }
                    entry.certs = matching;
                }
            }
        }
        entries.push(entry);
    }
    entries.sort_by_key(|e| (e.hash, e.index));
    // OpenSSL tries <hash>.0, .1, ... and stops at the first that does not
    // exist (stat fails: missing or a broken link).
    let mut i = 0;
    while i < entries.len() {
        let hash = entries[i].hash;
        let mut expected = 0u32;
        let mut gap = false;
        while i < entries.len() && entries[i].hash == hash {
            let e = &mut entries[i];
            if gap || e.index != expected {
                gap = true;
                if e.problem.is_none() {
                    e.problem = Some(EntryProblem::Unreachable);
                }
            } else if matches!(e.problem, Some(EntryProblem::BrokenSymlink { .. })) {
                gap = true;
            }
            expected = expected.saturating_add(1);
            i += 1;
        }
    }
    Ok(entries)
}

/// The certificates of a PEM (or, failing that, a single DER) file.
pub fn certificates_in(bytes: &[u8]) -> Vec<CaCert> {
    let mut certs = Vec::new();
    for item in pem::sections(bytes) {
        if let PemItem::Certificate(der) = item {
            if let Some(c) = CaCert::from_der(der) {
                certs.push(c);
            }
        }
    }
    certs
}

/// Reads at most `limit` bytes of a file (following links).
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Scans the existing directories of `dirs` (path, origin), merging
/// directories that are one (symbolic links, bind mounts of one another
/// resolve to one canonical path).
pub fn scan_dirs<'a>(dirs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<DirScan> {
    let mut scans: Vec<DirScan> = Vec::new();
    for (path, origin) in dirs {
        let path = Path::new(path.trim_end_matches('/')).to_path_buf();
        let path = if path.as_os_str().is_empty() {
            PathBuf::from("/")
        } else {
            path
        };
        let canonical = match fs::canonicalize(&path) {
            Ok(c) => c,
            Err(_) => continue,
        };
        if let Some(seen) = scans.iter_mut().find(|s| s.canonical == canonical) {
            if seen.path != path && !seen.aliases.contains(&path) {
                seen.aliases.push(path);
            }
            continue;
        }
        if let Some(scan) = DirScan::scan(&path, origin) {
            scans.push(scan);
        }
    }
    scans
}

/// Every well-known trust directory that exists, once.
pub fn scan_trust_dirs() -> Vec<DirScan> {
    scan_dirs(TRUST_DIRS.iter().copied())
}

/// Does a file name match Qt's filter `[0-9a-f]{8}.[0-9]` (a `QDir` wildcard,
/// case-insensitive)?
pub fn matches_qt_hash_pattern(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10 && b[..8].iter().all(u8::is_ascii_hexdigit) && b[8] == b'.' && b[9].is_ascii_digit()
}

/// How Qt will get its trust on this machine.
#[derive(Debug, Clone, Default)]
pub struct QtPrediction {
    /// Qt found a hash-named file and will only look CAs up on demand in its
    /// directories, never loading a bundle.
    pub on_demand: bool,
    /// The hash-named files that switch Qt to on-demand lookup, by directory
    /// in Qt's order (a `QDir::Files` match: regular files and links to them).
    pub triggers: Vec<PathBuf>,
    /// Qt's directories that exist, as Qt names them.
    pub dirs: Vec<PathBuf>,
    /// When not on demand: the files Qt loads (`*.pem`, `*.crt` of its
    /// directories, canonical paths, plus [`QT_EXTRA_BUNDLE_FILES`]).
    pub bundle_files: Vec<PathBuf>,
}

/// Predicts Qt's choice from the file system, as `QSslSocketPrivate`
/// (Qt 5.15) and the OpenSSL TLS backend (Qt 6) make it at first use.
pub fn predict_qt() -> QtPrediction {
    let mut p = QtPrediction::default();
    let mut seen_triggers: Vec<PathBuf> = Vec::new();
    for dir in QT_CERT_DIRS {
        let path = Path::new(dir);
        if !path.is_dir() {
            continue;
        }
        p.dirs.push(path.to_path_buf());
        let Ok(items) = fs::read_dir(path) else { continue };
        let mut names: Vec<String> = items.filter_map(|i| i.ok()?.file_name().into_string().ok()).collect();
        names.sort();
        for name in names {
            let full = path.join(&name);
            if matches_qt_hash_pattern(&name) && full.is_file() {
                // One file seen through two directory names (a symbolic link) counts once.
                let canonical = fs::canonicalize(&full).ok();
                if canonical.as_ref().is_none_or(|c| !seen_triggers.contains(c)) {
                    seen_triggers.extend(canonical);
                    p.triggers.push(PathBuf::from(format!("{dir}{name}")));
                }
            } else if (name.ends_with(".pem") || name.ends_with(".crt")) && full.is_file() {
                if let Ok(c) = fs::canonicalize(&full) {
                    if !p.bundle_files.contains(&c) {
                        p.bundle_files.push(c);
                    }
                }
            }
        }
    }
    p.on_demand = !p.triggers.is_empty();
    for extra in QT_EXTRA_BUNDLE_FILES {
        if let Ok(c) = fs::canonicalize(extra) {
            if c.is_file() && !p.bundle_files.contains(&c) {
                p.bundle_files.push(c);
            }
        }
    }
    if p.on_demand {
        p.bundle_files.clear();
    }
    p
}

/// What one well-known bundle path is.
#[derive(Debug, Clone)]
pub struct BundlePathStatus {
    pub path: &'static str,
    pub origin: &'static str,
    /// Where it points, if it is a symbolic link.
    pub link_target: Option<PathBuf>,
    pub state: BundleState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleState {
    Missing,
    /// A symbolic link whose target does not exist.
    BrokenSymlink,
    /// Exists: how many certificates parse, and what went wrong.
    Present {
        certificates: usize,
        problems: Vec<String>,
    },
    Unreadable(String),
    /// A directory or other non-file.
    NotAFile,
}

/// The state of every path of [`BUNDLE_PATHS`].
pub fn bundle_paths_status() -> Vec<BundlePathStatus> {
    let mut parsed: HashMap<PathBuf, (usize, Vec<String>)> = HashMap::new();
    BUNDLE_PATHS
        .iter()
        .map(|&(path, origin)| {
            let link_target = fs::read_link(path).ok();
            let state = match fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if link_target.is_some() {
                        BundleState::BrokenSymlink
                    } else {
                        BundleState::Missing
                    }
                }
                Err(e) => BundleState::Unreadable(e.to_string()),
                Ok(m) if !m.is_file() => BundleState::NotAFile,
                Ok(_) => {
                    let key = fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
                    if let Some((n, problems)) = parsed.get(&key) {
                        BundleState::Present {
                            certificates: *n,
                            problems: problems.clone(),
                        }
                    } else {
                        match read_bundle(Path::new(path)) {
                            Ok(index) => {
                                let n = index.certs.len();
                                parsed.insert(key, (n, index.problems.clone()));
                                BundleState::Present {
                                    certificates: n,
                                    problems: index.problems,
                                }
                            }
                            Err(e) => BundleState::Unreadable(e),
                        }
                    }
                }
            };
            BundlePathStatus {
                path,
                origin,
                link_target,
                state,
            }
        })
        .collect()
}

/// Reads and indexes a bundle file, refusing what the shim refuses.
pub fn read_bundle(path: &Path) -> Result<BundleIndex, String> {
    let bytes =
        read_limited(path, MAX_BUNDLE_BYTES as u64 + 1).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_BUNDLE_BYTES >> 20
        ));
    }
    Ok(BundleIndex::parse(path.to_path_buf(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cafix-audit-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn machine_bundle() -> BundleIndex {
        read_bundle(Path::new("/etc/ssl/certs/ca-certificates.crt")).expect("this test needs the machine's CA bundle")
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn qt_pattern_is_its_wildcard() {
        assert!(matches_qt_hash_pattern("4042bcee.0"));
        assert!(matches_qt_hash_pattern("4042BCEE.9"));
        assert!(!matches_qt_hash_pattern("4042bcee.10"));
        assert!(!matches_qt_hash_pattern("4042bcee.r0"));
        assert!(!matches_qt_hash_pattern("4042bceg.0"));
        assert!(!matches_qt_hash_pattern("ca-certificates.crt"));
    }

    #[test]
    fn entries_are_judged_as_openssl_reads_them() {
        let bundle = machine_bundle();
        let dir = temp_dir("entries");
        let a = &bundle.certs[0];
        let b = bundle.certs.iter().find(|c| c.subject_hash != a.subject_hash).unwrap();
        let ha = crate::subject_hash::hash_hex(a.subject_hash);
        let hb = crate::subject_hash::hash_hex(b.subject_hash);
        fs::write(dir.join("a.pem"), &a.pem).unwrap();
        symlink("a.pem", dir.join(format!("{ha}.0"))).unwrap();
        symlink("a.pem", dir.join(format!("{ha}.1"))).unwrap(); // duplicate
        symlink("gone.pem", dir.join(format!("{hb}.0"))).unwrap(); // broken
        fs::write(dir.join(format!("{hb}.1")), &b.pem).unwrap(); // unreachable after a broken .0
        fs::write(dir.join("0badc0de.0"), &a.pem).unwrap(); // stale
        fs::write(dir.join("0badc0de.1"), b"not a certificate").unwrap();
        fs::write(dir.join("0badc0de.r0"), b"a CRL entry: ignored").unwrap();
        let scan = DirScan::scan(&dir, "test").unwrap();
        let by_name = |n: &str| scan.entries.iter().find(|e| e.name == n).unwrap();
        assert!(by_name(&format!("{ha}.0")).usable());
        assert!(matches!(
            by_name(&format!("{hb}.0")).problem,
            Some(EntryProblem::BrokenSymlink { .. })
        ));
        assert_eq!(by_name(&format!("{hb}.1")).problem, Some(EntryProblem::Unreachable));
        assert_eq!(
            by_name("0badc0de.0").problem,
            Some(EntryProblem::Stale {
                actual: vec![a.subject_hash]
            })
        );
        assert_eq!(by_name("0badc0de.1").problem, Some(EntryProblem::NotCertificate));
        assert_eq!(scan.entries.len(), 6);
        assert!(scan.finds(a));
        assert!(!scan.finds(b));
        let dups = scan.duplicates();
        assert_eq!(dups.len(), 1);
        assert_eq!(dups[0].len(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn symlinked_dirs_are_scanned_once() {
        let dir = temp_dir("alias");
        let real = dir.join("real");
        fs::create_dir(&real).unwrap();
        symlink(&real, dir.join("alias")).unwrap();
        let a = real.to_str().unwrap().to_string();
        let b = dir.join("alias").to_str().unwrap().to_string();
        let scans = scan_dirs([
            (b.as_str(), "via link"),
            (a.as_str(), "real"),
            ("/nonexistent/cafix", "none"),
        ]);
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].aliases, vec![real.clone()]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
