//! The CAs this machine's administrator added, and the files that carry a
//! program's own copy of the public roots.
//!
//! An administrator adds a CA the documented way: a file under one of the
//! distribution's anchor directories ([`LOCAL_ANCHOR_DIRS`]) and the update
//! tool (`update-ca-certificates`, `update-ca-trust`), which copies it into
//! the system bundle. A *local CA* is a certificate found there **that is
//! also in the system bundle**: a file dropped in the directory without
//! running the tool is not yet trusted by the machine, so not by cafix. An
//! administrator can name more files with `local_cas` in `/etc/cafix.conf`;
//! the same rule applies to them.
//!
//! Programs such as requests (certifi), conda's Python and botocore load a
//! private copy of Mozilla's roots instead of the system's trust, so they
//! never see local CAs. [`judge_copy`] decides by content whether a loaded
//! CA file is such a copy ([`COPY_MIN_CERTS`], [`COPY_MIN_SHARE_PERCENT`])
//! and which local CAs it lacks; only those are ever added to a store loaded
//! from it — never a public root the copy dropped, never anything that is
//! not in the system bundle.
//!
//! Nothing here panics on bad input: unreadable, oversized or garbage files
//! are skipped and counted as problems, for one log line.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::bundle::{BundleIndex, CaCert};
use crate::pem::{self, PemItem};

pub use cafix_common::locations::LOCAL_ANCHOR_DIRS;

/// A larger file in an anchor directory is not read (a CA is a few KiB).
pub const MAX_ANCHOR_FILE_BYTES: u64 = 1024 * 1024;
/// At most this many files are read from all anchor directories together.
pub const MAX_ANCHOR_FILES: usize = 1024;
/// Directory levels below an anchor directory that are walked.
pub const MAX_ANCHOR_DEPTH: usize = 8;

/// A CA file is a *copy of the public roots* when it holds at least this many
/// certificates …
pub const COPY_MIN_CERTS: usize = 50;
/// … and at least this share of them (per cent) is also in the system bundle.
/// certifi, pip's and botocore's vendored certifi and conda's `cacert.pem`
/// are Mozilla's list as the system bundle is, but releases apart: measured
/// on Debian 12 (ca-certificates 20230311), certifi 2026.10.19 shares 79 %
/// (92 of 117), pip 24.0's vendored certifi 64 %. Half still tells them
/// from a pinned CA, a company bundle or a server's client-CA file, which
/// hold few public roots if any.
pub const COPY_MIN_SHARE_PERCENT: usize = 50;

/// One local CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCa {
    pub der: Vec<u8>,
    /// As people read it: `CN=Corp Root CA, O=Corp`.
    pub subject: String,
    /// The anchor file it was found in.
    pub source: PathBuf,
}

impl LocalCa {
    /// The subject's common name, or the whole subject if it has none.
    pub fn short_name(&self) -> &str {
        crate::bundle::short_name(&self.subject)
    }

    pub fn pem(&self) -> Vec<u8> {
        pem::encode_certificate(&self.der)
    }
}

/// Where local CAs are looked for.
#[derive(Debug, Clone, Default)]
pub struct AnchorSources {
    /// Walked recursively.
    pub dirs: Vec<PathBuf>,
    /// Files named by the administrator (`local_cas` in `/etc/cafix.conf`).
    pub files: Vec<PathBuf>,
    /// Secure-exec: only files owned by root and not writable by group or
    /// others count.
    pub root_owned_only: bool,
}

impl AnchorSources {
    /// The distributions' anchor directories plus `files`.
    pub fn system(files: Vec<PathBuf>, root_owned_only: bool) -> AnchorSources {
        AnchorSources {
            dirs: LOCAL_ANCHOR_DIRS.iter().map(|(d, _)| PathBuf::from(d)).collect(),
            files,
            root_owned_only,
        }
    }
}

/// The local CAs, and what did not qualify.
#[derive(Debug, Clone, Default)]
pub struct LocalCas {
    /// In the system bundle: trusted by this machine.
    pub cas: Vec<LocalCa>,
    /// Certificates found in an anchor directory that the system bundle does
    /// not hold (the update tool has not run since): not local CAs.
    pub pending: Vec<LocalCa>,
    /// Files that could not be used, one phrase each, for one log line.
    pub problems: Vec<String>,
}

impl LocalCas {
    pub fn is_empty(&self) -> bool {
        self.cas.is_empty()
    }
}

/// A file found under the anchor sources, read.
#[derive(Debug)]
pub struct AnchorFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Reads every regular file under `sources` (symlinks followed, loops and
/// depth bounded, sizes capped). Problems are phrases for one log line.
pub fn read_anchor_files(sources: &AnchorSources) -> (Vec<AnchorFile>, Vec<String>) {
    let mut walk = Walk {
        root_owned_only: sources.root_owned_only,
        seen_dirs: BTreeSet::new(),
        seen_files: BTreeSet::new(),
        files: Vec::new(),
        problems: Vec::new(),
    };
    for dir in &sources.dirs {
        walk.dir(dir, 0);
    }
    for file in &sources.files {
        match std::fs::metadata(file) {
            Ok(meta) if meta.is_file() => walk.file(file, &meta),
            Ok(_) => walk.problems.push(format!("{}: not a regular file", file.display())),
            Err(e) => walk.problems.push(format!("{}: {e}", file.display())),
        }
    }
    (walk.files, walk.problems)
}

struct Walk {
    root_owned_only: bool,
    seen_dirs: BTreeSet<(u64, u64)>,
    seen_files: BTreeSet<(u64, u64)>,
    files: Vec<AnchorFile>,
    problems: Vec<String>,
}

impl Walk {
    fn dir(&mut self, dir: &Path, depth: usize) {
        let Ok(meta) = std::fs::metadata(dir) else {
            return; // an anchor directory of another distribution
        };
        if !meta.is_dir() || !self.seen_dirs.insert((meta.dev(), meta.ino())) {
            return; // a symlink loop, or a directory seen through another path
        }
        if depth > MAX_ANCHOR_DEPTH {
            self.problems.push(format!(
                "{}: more than {MAX_ANCHOR_DEPTH} levels deep, not read",
                dir.display()
            ));
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            self.problems.push(format!("{}: cannot be listed", dir.display()));
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort(); // the order the update tools use
        for path in paths {
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path, depth + 1),
                Ok(meta) if meta.is_file() => self.file(&path, &meta),
                Ok(_) => {}
                Err(_) => self
                    .problems
                    .push(format!("{}: dangling link or unreadable", path.display())),
            }
        }
    }

    fn file(&mut self, path: &Path, meta: &std::fs::Metadata) {
        if !self.seen_files.insert((meta.dev(), meta.ino())) {
            return;
        }
        if self.files.len() >= MAX_ANCHOR_FILES {
            if self.files.len() == MAX_ANCHOR_FILES {
                self.problems.push(format!(
                    "more than {MAX_ANCHOR_FILES} anchor files; the rest are not read"
                ));
            }
            return;
        }
        if self.root_owned_only && (meta.uid() != 0 || meta.mode() & 0o022 != 0) {
            self.problems.push(format!(
                "{}: not owned by root or writable by others; ignored in a secure-exec process",
                path.display()
            ));
            return;
        }
        if meta.len() > MAX_ANCHOR_FILE_BYTES {
            self.problems.push(format!(
                "{}: {} bytes, larger than {MAX_ANCHOR_FILE_BYTES}; not read",
                path.display(),
                meta.len()
            ));
            return;
        }
        match crate::audit::read_limited(path, MAX_ANCHOR_FILE_BYTES) {
            Ok(bytes) => self.files.push(AnchorFile {
                path: path.to_path_buf(),
                bytes,
            }),
            Err(e) => self.problems.push(format!("{}: {e}", path.display())),
        }
    }
}

/// The certificates in one anchor file: PEM (any number) or one DER
/// certificate, as the update tools accept. `Err` says why there are none.
pub fn certificates_in_file(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut ders = Vec::new();
        let mut malformed = None;
        for item in pem::sections(bytes) {
            match item {
                PemItem::Certificate(der) => ders.push(der),
                PemItem::Other => {}
                PemItem::Malformed(why) => malformed = Some(why),
            }
        }
        return match (ders.is_empty(), malformed) {
            (false, _) => Ok(ders),
            (true, Some(why)) => Err(format!("bad PEM: {why}")),
            (true, None) => Err("no certificate in it".to_string()),
        };
    }
    if bytes.first() == Some(&0x30) && CaCert::from_der(bytes.to_vec()).is_some() {
        return Ok(vec![bytes.to_vec()]);
    }
    Err("neither a PEM nor a DER certificate".to_string())
}

/// Local CAs from files already read: those in `bundle` are local CAs, the
/// rest pending. Each certificate is listed once.
pub fn select(files: &[AnchorFile], bundle: &BundleIndex) -> LocalCas {
    select_by(files, |der| bundle.contains_der(der))
}

/// [`select`], with `in_bundle` deciding whether the system bundle holds a
/// certificate (DER).
fn select_by(files: &[AnchorFile], mut in_bundle: impl FnMut(&[u8]) -> bool) -> LocalCas {
    let mut out = LocalCas::default();
    for file in files {
        let ders = match certificates_in_file(&file.bytes) {
            Ok(ders) => ders,
            Err(why) => {
                out.problems.push(format!("{}: {why}", file.path.display()));
                continue;
            }
        };
        for der in ders {
            if out.cas.iter().chain(&out.pending).any(|ca| ca.der == der) {
                continue;
            }
            let Some(cert) = CaCert::from_der(der.clone()) else {
                out.problems
                    .push(format!("{}: a certificate that cannot be parsed", file.path.display()));
                continue;
            };
            let ca = LocalCa {
                der,
                subject: cert.subject,
                source: file.path.clone(),
            };
            if in_bundle(&ca.der) {
                out.cas.push(ca);
            } else {
                out.pending.push(ca);
            }
        }
    }
    out
}

/// Finds the local CAs. `bundle` is asked for only if an anchor file exists,
/// so a machine without local CAs never indexes its bundle for this.
pub fn discover<'b>(sources: &AnchorSources, bundle: impl FnOnce() -> Option<&'b BundleIndex>) -> LocalCas {
    discover_with_text(sources, || None, bundle)
}

/// [`discover`] for a process that may never need the bundle's index: a
/// local CA whose PEM block the bundle's text (`bundle_text`, its bytes)
/// holds verbatim, as `update-ca-certificates` and `update-ca-trust` write
/// it, is in the bundle without indexing it (a search for one block, where
/// the index parses and hashes every certificate); `bundle` is asked for
/// only if one is not found that way (a CA still waiting for the update
/// tool, a bundle written with other line endings). Neither is asked for
/// when there is no anchor file: a machine without local CAs reads no
/// bundle for this.
pub fn discover_with_text<'t, 'b>(
    sources: &AnchorSources,
    bundle_text: impl FnOnce() -> Option<&'t [u8]>,
    bundle: impl FnOnce() -> Option<&'b BundleIndex>,
) -> LocalCas {
    let (files, mut problems) = read_anchor_files(sources);
    if files.is_empty() {
        return LocalCas {
            problems,
            ..LocalCas::default()
        };
    }
    let bundle_text = bundle_text();
    let mut ask = Some(bundle);
    let mut index: Option<&BundleIndex> = None;
    let mut no_bundle = false;
    let mut found = select_by(&files, |der| {
        if bundle_text.is_some_and(|text| text_holds_certificate(text, der)) {
            return true;
        }
        if let Some(get) = ask.take() {
            index = get();
            no_bundle = index.is_none();
        }
        index.is_some_and(|index| index.contains_der(der))
    });
    if no_bundle && bundle_text.is_none() {
        problems.push("no system bundle to check the anchor files against".to_string());
        return LocalCas {
            problems,
            ..LocalCas::default()
        };
    }
    problems.append(&mut found.problems);
    found.problems = problems;
    found
}

/// Whether a bundle's text holds the certificate `der` as a PEM block in the
/// usual form (64 columns, `\n` line ends). Searched from the end: the
/// update tools append the local CAs after the distribution's roots.
pub fn text_holds_certificate(text: &[u8], der: &[u8]) -> bool {
    let pem = pem::encode_certificate(der);
    let block = pem.strip_suffix(b"\n").unwrap_or(&pem);
    memchr::memmem::rfind(text, block).is_some()
}

/// What a loaded CA file is to cafix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyJudgement {
    /// Certificates in the file.
    pub certs: usize,
    /// How many of them are in the system bundle.
    pub in_bundle: usize,
    /// A copy of the public roots ([`COPY_MIN_CERTS`], [`COPY_MIN_SHARE_PERCENT`]).
    pub is_copy: bool,
    /// Indices into [`LocalCas::cas`] of the local CAs the file lacks; empty
    /// unless `is_copy`.
    pub lacking: Vec<usize>,
}

/// The rule, on counts alone.
pub fn is_public_roots_copy(certs: usize, in_bundle: usize) -> bool {
    certs >= COPY_MIN_CERTS && in_bundle.saturating_mul(100) >= certs.saturating_mul(COPY_MIN_SHARE_PERCENT)
}

/// Judges the content of a CA file a program loaded (`bytes`, PEM as
/// OpenSSL's file lookup reads it) against the system bundle.
pub fn judge_copy(bytes: &[u8], bundle: &BundleIndex, local: &LocalCas) -> CopyJudgement {
    let ders: Vec<Vec<u8>> = pem::sections(bytes)
        .into_iter()
        .filter_map(|item| match item {
            PemItem::Certificate(der) => Some(der),
            _ => None,
        })
        .collect();
    judge_copy_ders(&ders.iter().map(Vec::as_slice).collect::<Vec<_>>(), bundle, local)
}

/// The same judgement on certificates already decoded (a Java keystore's
/// trusted entries).
pub fn judge_copy_ders(ders: &[&[u8]], bundle: &BundleIndex, local: &LocalCas) -> CopyJudgement {
    let in_bundle = ders.iter().filter(|der| bundle.contains_der(der)).count();
    let is_copy = is_public_roots_copy(ders.len(), in_bundle);
    let lacking = if is_copy {
        (0..local.cas.len())
            .filter(|&i| !ders.iter().any(|der| *der == local.cas[i].der))
            .collect()
    } else {
        Vec::new()
    };
    CopyJudgement {
        certs: ders.len(),
        in_bundle,
        is_copy,
        lacking,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_rule_needs_both_count_and_share() {
        assert!(is_public_roots_copy(50, 40));
        assert!(is_public_roots_copy(145, 140));
        assert!(!is_public_roots_copy(49, 49), "too few to be a copy");
        assert!(is_public_roots_copy(117, 92), "certifi 2026.10 on Debian 12");
        assert!(!is_public_roots_copy(100, 49), "too few shared with the system bundle");
        assert!(!is_public_roots_copy(0, 0));
        assert!(!is_public_roots_copy(usize::MAX, 0));
    }

    #[test]
    fn garbage_is_neither_pem_nor_der() {
        assert!(certificates_in_file(b"hello").is_err());
        assert!(certificates_in_file(b"").is_err());
        assert!(certificates_in_file(&[0x30, 0x82, 0xff]).is_err());
        let err = certificates_in_file(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        assert!(err.is_err(), "{err:?}");
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert_eq!(certificates_in_file(key), Err("no certificate in it".to_string()));
    }

    #[test]
    fn a_missing_anchor_directory_is_no_problem() {
        let sources = AnchorSources {
            dirs: vec![PathBuf::from("/nonexistent/cafix/anchors")],
            files: Vec::new(),
            root_owned_only: false,
        };
        let mut asked = false;
        let found = discover(&sources, || {
            asked = true;
            None
        });
        assert!(found.is_empty() && found.problems.is_empty() && found.pending.is_empty());
        assert!(!asked, "no anchor file, so the bundle is not needed");
    }

    #[test]
    fn symlink_loops_and_depth_are_bounded() {
        let dir = std::env::temp_dir().join(format!("cafix-anchor-loop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("a/back")).unwrap();
        std::fs::write(dir.join("a/junk.crt"), b"not a certificate").unwrap();
        let mut deep = dir.clone();
        for i in 0..(MAX_ANCHOR_DEPTH + 3) {
            deep = deep.join(format!("d{i}"));
        }
        std::fs::create_dir_all(&deep).unwrap();
        let sources = AnchorSources {
            dirs: vec![dir.clone()],
            files: Vec::new(),
            root_owned_only: false,
        };
        let (files, problems) = read_anchor_files(&sources);
        assert_eq!(files.len(), 1, "the junk file once, despite the loop");
        assert!(problems.iter().any(|p| p.contains("levels deep")), "{problems:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn oversized_files_are_not_read() {
        let dir = std::env::temp_dir().join(format!("cafix-anchor-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let f = std::fs::File::create(dir.join("big.crt")).unwrap();
        f.set_len(MAX_ANCHOR_FILE_BYTES + 1).unwrap();
        let (files, problems) = read_anchor_files(&AnchorSources {
            dirs: vec![dir.clone()],
            ..AnchorSources::default()
        });
        assert!(files.is_empty());
        assert!(problems[0].contains("larger than"), "{problems:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A self-signed CA named `cn`, DER.
    fn ca(cn: &str) -> Vec<u8> {
        use openssl::{asn1::Asn1Time, bn::BigNum, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509};
        let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = x509::X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        b.build().to_der().unwrap()
    }

    fn pem_of(ders: &[&Vec<u8>]) -> Vec<u8> {
        ders.iter().flat_map(|d| pem::encode_certificate(d)).collect()
    }

    #[test]
    fn the_bundle_text_answers_without_the_index_when_it_holds_the_block() {
        let corp = ca("Corp Root CA");
        let waiting = ca("Waiting CA");
        let public = ca("Public Root");
        let text = pem_of(&[&public, &corp]);
        assert!(text_holds_certificate(&text, &corp));
        assert!(!text_holds_certificate(&text, &waiting));
        // Other line ends: not found in the text (the index decides then).
        let crlf: Vec<u8> = text
            .iter()
            .flat_map(|&b| if b == b'\n' { vec![b'\r', b'\n'] } else { vec![b] })
            .collect();
        assert!(!text_holds_certificate(&crlf, &corp));

        let dir = std::env::temp_dir().join(format!("cafix-anchor-text-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sources = AnchorSources {
            dirs: vec![dir.clone()],
            ..AnchorSources::default()
        };
        // No anchor file: neither the text nor the index is asked for.
        let found = discover_with_text(&sources, || panic!("text read"), || panic!("index built"));
        assert!(found.is_empty() && found.problems.is_empty(), "{found:?}");
        std::fs::write(dir.join("corp.crt"), pem_of(&[&corp])).unwrap();
        let mut asked = false;
        let found = discover_with_text(
            &sources,
            || Some(&text),
            || {
                asked = true;
                None
            },
        );
        assert!(!asked, "every local CA was in the text: no index");
        assert_eq!(found.cas.len(), 1);
        // A CA the text lacks: the index decides.
        std::fs::write(dir.join("waiting.crt"), pem_of(&[&waiting])).unwrap();
        let bundle = BundleIndex::parse(PathBuf::from("/bundle.pem"), crlf.clone());
        let found = discover_with_text(
            &sources,
            || Some(&crlf),
            || {
                asked = true;
                Some(&bundle)
            },
        );
        assert!(asked);
        assert_eq!((found.cas.len(), found.pending.len()), (1, 1), "{found:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn local_cas_are_those_in_the_bundle_and_only_they_are_added_to_a_copy() {
        let public: Vec<Vec<u8>> = (0..60).map(|i| ca(&format!("Public Root {i}"))).collect();
        let corp = ca("Corp Root CA");
        let dropped_without_update = ca("Not Yet Installed CA");
        let mut in_bundle: Vec<&Vec<u8>> = public.iter().collect();
        in_bundle.push(&corp);
        let bundle = BundleIndex::parse(PathBuf::from("/bundle.pem"), pem_of(&in_bundle));
        let files = vec![
            AnchorFile {
                path: PathBuf::from("/usr/local/share/ca-certificates/corp.crt"),
                bytes: pem_of(&[&corp]),
            },
            AnchorFile {
                path: PathBuf::from("/usr/local/share/ca-certificates/corp.der"),
                bytes: corp.clone(),
            },
            AnchorFile {
                path: PathBuf::from("/usr/local/share/ca-certificates/new.crt"),
                bytes: pem_of(&[&dropped_without_update]),
            },
            AnchorFile {
                path: PathBuf::from("/usr/local/share/ca-certificates/junk.crt"),
                bytes: b"junk".to_vec(),
            },
        ];
        let local = select(&files, &bundle);
        assert_eq!(local.cas.len(), 1, "the DER and PEM copies are one CA");
        assert_eq!(local.cas[0].short_name(), "Corp Root CA");
        assert_eq!(local.pending.len(), 1, "not in the bundle: not a local CA");
        assert_eq!(local.problems.len(), 1, "{:?}", local.problems);

        // certifi's copy: it dropped Public Root 0..5 that the bundle still has.
        let copy: Vec<&Vec<u8>> = public[5..].iter().collect();
        let j = judge_copy(&pem_of(&copy), &bundle, &local);
        assert_eq!((j.certs, j.in_bundle, j.is_copy), (55, 55, true));
        assert_eq!(j.lacking, vec![0], "only the local CA, never a dropped public root");

        // A copy that already has the local CA lacks nothing.
        let mut with_corp = copy.clone();
        with_corp.push(&corp);
        assert!(judge_copy(&pem_of(&with_corp), &bundle, &local).lacking.is_empty());

        // Below the count, or mostly foreign: not a copy, nothing added.
        let small: Vec<&Vec<u8>> = public[..49].iter().collect();
        let j = judge_copy(&pem_of(&small), &bundle, &local);
        assert!(!j.is_copy && j.lacking.is_empty());
        let foreign: Vec<Vec<u8>> = (0..50).map(|i| ca(&format!("Private {i}"))).collect();
        let mut mixed: Vec<&Vec<u8>> = public[..45].iter().collect();
        mixed.extend(foreign.iter());
        let j = judge_copy(&pem_of(&mixed), &bundle, &local);
        assert_eq!((j.certs, j.in_bundle, j.is_copy), (95, 45, false));

        // Truncated mid-certificate: the certificates before the cut count.
        let whole = pem_of(&copy);
        let j = judge_copy(&whole[..whole.len() - 100], &bundle, &local);
        assert_eq!(j.certs, 54);
    }
}
