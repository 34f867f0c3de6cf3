//! What the shim knows, built lazily on the first lookup that misses: the
//! configuration, the logger and the system bundle index. Also the slow path
//! itself: deciding what, if anything, to serve for a missing trust path.
//!
//! Nothing here runs on a hook's fast path. The shim's own file access uses
//! raw system calls ([`sys`]) so it never re-enters its own hooks.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use cafix_core::bundle::{self, BundleIndex, CaCert};
use cafix_core::config::{Config, Level};
use cafix_core::locations::{self, TrustPath};
use cafix_core::record::Record;
use cafix_core::subject_hash::hash_hex;

use crate::logger;
use crate::sys;

/// What a missing trust path is answered with.
#[derive(Clone, Copy)]
pub enum Served {
    /// One certificate, as PEM (a hash-directory entry).
    Cert(&'static CaCert),
    /// The whole system bundle (a missing bundle path).
    Bundle(&'static BundleIndex),
}

impl Served {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Served::Cert(c) => &c.pem,
            Served::Bundle(b) => &b.bytes,
        }
    }

    /// A stable inode number for the served content, so `stat` looks sane.
    pub fn inode(self, path_hash: u64) -> u64 {
        (1 << 62) | (path_hash & ((1 << 62) - 1))
    }
}

pub struct Shim {
    pub config: Config,
    bundle: OnceLock<Option<BundleIndex>>,
    /// Metadata of the bundle file, used for served entries' times and device.
    pub bundle_stat: OnceLock<Option<libc::stat>>,
    /// Per (trust dir, hash): the bundle certificates to serve after the real
    /// entries, and whether this miss has been logged.
    dir_hashes: Mutex<HashMap<(Vec<u8>, u32), Vec<&'static CaCert>>>,
    /// Bundle paths whose serving has been logged.
    bundle_paths_logged: Mutex<Vec<Vec<u8>>>,
}

static SHIM: OnceLock<Shim> = OnceLock::new();

/// The shim's state, created on first use (never at load time).
pub fn shim() -> &'static Shim {
    SHIM.get_or_init(|| {
        let secure = sys::is_secure_exec();
        let (file, file_note) = match sys::read_system_config() {
            Ok(text) => (text, None),
            Err(note) => (None, Some(note)),
        };
        let env = |name: &str| sys::getenv(name);
        let mut config = Config::resolve(file.as_deref(), &env, secure);
        config.notes.extend(file_note);
        logger::install(&config);
        // This is the shim's own copy of std: the hook is for the shim's panics
        // only, which `with_shim_lock` catches. Say it once per panic, quietly.
        std::panic::set_hook(Box::new(|info| {
            logger::emit(&Record::new(
                Level::Error,
                "internal-error",
                format!("internal error ({}); this call was answered as if cafix were not there", info.to_string().replace('\n', " ")),
            ));
        }));
        for note in &config.notes {
            logger::emit(&Record::new(Level::Warn, "config", note.clone()));
        }
        Shim {
            config,
            bundle: OnceLock::new(),
            bundle_stat: OnceLock::new(),
            dir_hashes: Mutex::new(HashMap::new()),
            bundle_paths_logged: Mutex::new(Vec::new()),
        }
    })
}

impl Shim {
    /// The system bundle, read and indexed on first use, once per process.
    pub fn bundle(&'static self) -> Option<&'static BundleIndex> {
        self.bundle
            .get_or_init(|| {
                let Some(path) = bundle::find_system_bundle(&self.config, &|p| sys::is_nonempty_file(p)) else {
                    logger::emit(&Record::new(
                        Level::Warn,
                        "no-bundle",
                        format!(
                            "no system CA bundle found (SSL_CERT_FILE, then {} distribution paths); nothing can be served",
                            locations::BUNDLE_PATHS.len()
                        ),
                    ));
                    return None;
                };
                let bytes = match sys::read_file(&path, bundle::MAX_BUNDLE_BYTES) {
                    Ok(bytes) => bytes,
                    Err(why) => {
                        logger::emit(&Record::new(
                            Level::Warn,
                            "bad-bundle",
                            format!("cannot read the system bundle {}: {why}; nothing can be served", path.display()),
                        ));
                        return None;
                    }
                };
                let _ = self.bundle_stat.set(sys::stat(&path));
                let index = BundleIndex::parse(path, bytes);
                if !index.problems.is_empty() {
                    logger::emit(&Record::new(
                        Level::Warn,
                        "bad-bundle",
                        format!(
                            "system bundle {}: {}; serving the {} certificate(s) that parsed",
                            index.path.display(),
                            index.problems.join("; "),
                            index.certs.len()
                        ),
                    ));
                }
                Some(index)
            })
            .as_ref()
    }

    /// The slow path of every hook: `path` was looked up and is missing.
    pub fn serve(&'static self, path: &[u8]) -> Option<Served> {
        // Debug builds only: lets the tests prove a panic never reaches the host.
        #[cfg(debug_assertions)]
        if sys::getenv("CAFIX_DEBUG_PANIC").is_some() {
            panic!("CAFIX_DEBUG_PANIC is set");
        }
        let class = locations::classify(path, self.config.ssl_cert_dir.as_deref(), None)?;
        if !self.config.serve {
            return None;
        }
        match class {
            TrustPath::HashEntry { dir, hash, index } => self.serve_hash_entry(dir, hash, index).map(Served::Cert),
            TrustPath::Bundle { known: Some(_) } => {
                let bundle = self.bundle()?;
                self.log_bundle_path_once(path, bundle);
                Some(Served::Bundle(bundle))
            }
            TrustPath::Bundle { known: None } => None,
        }
    }

    fn serve_hash_entry(&'static self, dir: &[u8], hash: u32, index: u32) -> Option<&'static CaCert> {
        let bundle = self.bundle();
        // Real entries below `index` keep their numbers; served ones follow.
        let real_below = (0..index).filter(|i| sys::exists(&entry_path(dir, hash, *i))).count() as u32;
        let mut map = self.dir_hashes.lock().unwrap_or_else(|e| e.into_inner());
        let key = (dir.to_vec(), hash);
        let first_time = !map.contains_key(&key);
        let to_serve = map.entry(key).or_insert_with(|| {
            let Some(bundle) = bundle else {
                return Vec::new();
            };
            let real_ders = real_entry_ders(dir, hash);
            bundle
                .with_hash(hash)
                .iter()
                .filter(|c| !real_ders.contains(&c.der))
                .collect()
        });
        let served = index
            .checked_sub(real_below)
            .and_then(|i| to_serve.get(i as usize))
            .copied();
        drop(map);
        if first_time {
            self.log_hash_miss(dir, hash, index, served, real_below, bundle);
        }
        served
    }

    fn log_hash_miss(
        &self,
        dir: &[u8],
        hash: u32,
        index: u32,
        served: Option<&CaCert>,
        real_below: u32,
        bundle: Option<&BundleIndex>,
    ) {
        let path = String::from_utf8_lossy(&entry_path(dir, hash, index)).into_owned();
        let bundle_path = bundle.map_or_else(|| "(none found)".to_string(), |b| b.path.display().to_string());
        let record = match served {
            Some(cert) => Record::new(
                Level::Info,
                "served",
                format!(
                    "{path} is missing; served \"{}\" from the system bundle {bundle_path}",
                    cert.subject
                ),
            )
            .with("_subject", cert.subject.clone()),
            // The directory had this hash already; OpenSSL is only probing for more.
            None if real_below > 0 => Record::new(
                Level::Debug,
                "no-more",
                format!(
                    "{path} is missing; the directory's own entries for {} are all the system bundle has",
                    hash_hex(hash)
                ),
            ),
            None => Record::new(
                Level::Warn,
                "unresolved",
                format!(
                    "{path} is missing and no certificate with subject hash {} is in the system bundle {bundle_path}; \
                     a program looking for this issuer here fails with \"unable to get local issuer certificate\"",
                    hash_hex(hash)
                ),
            ),
        };
        let record = record.with("_path", path).with("_hash", hash_hex(hash)).with("_bundle", bundle_path);
        let record = if record.level == Level::Warn { crate::verification::defer(record) } else { Some(record) };
        if let Some(record) = record {
            logger::emit(&record);
        }
    }

    fn log_bundle_path_once(&self, path: &[u8], bundle: &BundleIndex) {
        let mut logged = self.bundle_paths_logged.lock().unwrap_or_else(|e| e.into_inner());
        if logged.iter().any(|p| p == path) {
            return;
        }
        logged.push(path.to_vec());
        let shown = String::from_utf8_lossy(path);
        logger::emit(
            &Record::new(
                Level::Info,
                "bundle-served",
                format!(
                    "served {} for missing {shown} ({} certificates)",
                    bundle.path.display(),
                    bundle.certs.len()
                ),
            )
            .with("_path", shown.into_owned())
            .with("_bundle", bundle.path.display().to_string()),
        );
    }
}

/// `<dir>/<hash>.<index>`
fn entry_path(dir: &[u8], hash: u32, index: u32) -> Vec<u8> {
    let mut p = dir.to_vec();
    if p.last() != Some(&b'/') {
        p.push(b'/');
    }
    p.extend_from_slice(format!("{:08x}.{index}", hash).as_bytes());
    p
}

/// The certificates in the directory's real `<hash>.<n>` entries, so a bundle
/// certificate that is already there is not served a second time.
fn real_entry_ders(dir: &[u8], hash: u32) -> Vec<Vec<u8>> {
    let mut ders = Vec::new();
    for i in 0..64 {
        let path = entry_path(dir, hash, i);
        if !sys::lexists(&path) {
            break;
        }
        if let Ok(bytes) = sys::read_file(Path::new(OsStr::from_bytes(&path)), 1 << 20) {
            for item in cafix_core::pem::sections(&bytes) {
                if let cafix_core::pem::PemItem::Certificate(der) = item {
                    ders.push(der);
                }
            }
        }
    }
    ders
}

/// Turns a C path into bytes; `None` for NULL.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string, as the C API of every hooked
/// function requires of its caller.
pub unsafe fn path_bytes<'a>(path: *const libc::c_char) -> Option<&'a [u8]> {
    if path.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated per this function's contract.
    Some(unsafe { CStr::from_ptr(path) }.to_bytes())
}
