//! What the shim knows, built lazily on the first lookup that misses: the
//! configuration, the logger and the system bundle index. Also the slow path
//! itself: deciding what, if anything, to serve for a missing trust path.
//!
//! Nothing here runs on a hook's fast path. The shim's own file access uses
//! raw system calls ([`sys`]) so it never re-enters its own hooks.

use std::collections::BTreeMap;
use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cafix::bundle::{self, BundleIndex, CaCert};
use cafix::config::{Config, Level};
use cafix::record::Record;
use cafix::subject_hash::hash_hex;
use cafix_common::locations::{self, TrustPath};

use crate::held_back;
use crate::logger;
use crate::sys;

/// What a missing trust path is answered with.
#[derive(Clone, Copy)]
pub enum Served {
    /// One certificate, as PEM (a hash-directory entry).
    Cert(&'static CaCert),
    /// The whole system bundle (a missing bundle path).
    Bundle(&'static BundleIndex),
    /// A JDK's missing `jssecacerts` (engine module `java`).
    Keystore(&'static ServedStore),
    /// The local CAs as PEM, possibly none (`locations::LOCAL_CAS_PEM`).
    LocalCas(&'static [u8]),
}

/// A JDK's `jssecacerts` as served: its `cacerts` with the local CAs it
/// lacks, or, once this process was told `jssecacerts` exists but that
/// `cacerts` changed into something nothing can be added to, the real
/// `cacerts` as it is now (`bytes: None`), so the JVM reads what it would
/// have read without cafix.
pub struct ServedStore {
    pub bytes: Option<Vec<u8>>,
    pub cacerts: PathBuf,
    /// `cacerts`'s metadata: the device and times the served file shows.
    pub stat: sys::Stat,
}

impl Served {
    /// What is served from memory; `None` when a real file is opened instead.
    pub fn memory(self) -> Option<&'static [u8]> {
        match self {
            Served::Cert(c) => Some(&c.pem),
            Served::Bundle(b) => Some(&b.bytes),
            Served::Keystore(store) => store.bytes.as_deref(),
            Served::LocalCas(pem) => Some(pem),
        }
    }

    /// The size a `stat` shows.
    pub fn size(self) -> u64 {
        match (self, self.memory()) {
            (_, Some(bytes)) => bytes.len() as u64,
            (Served::Keystore(store), None) => sys::stat(&store.cacerts).map_or(0, |st| st.st_size as u64),
            (_, None) => 0,
        }
    }

    /// The real file whose device and times a `stat` shows.
    pub fn times(self) -> Option<sys::Stat> {
        match self {
            Served::Keystore(store) => Some(store.stat),
            _ => shim().bundle_stat.get().copied().flatten(),
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
    pub bundle_stat: OnceLock<Option<sys::Stat>>,
    /// Per (trust dir, hash): the bundle certificates to serve after the real
    /// entries, and whether this miss has been logged.
    dir_hashes: Mutex<BTreeMap<Box<[u8]>, Vec<&'static CaCert>>>,
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
                format!(
                    "internal error ({}); this call was answered as if cafix were not there",
                    info.to_string().replace('\n', " ")
                ),
            ));
        }));
        for note in &config.notes {
            logger::emit(&Record::new(Level::Warn, "config", note.clone()));
        }
        Shim {
            config,
            bundle: OnceLock::new(),
            bundle_stat: OnceLock::new(),
            dir_hashes: Mutex::new(BTreeMap::new()),
            bundle_paths_logged: Mutex::new(Vec::new()),
        }
    })
}

impl Shim {
    /// The system bundle, read and indexed on first use, once per process.
    /// The bundle's index if it has been built (without building it).
    pub fn bundle_if_indexed(&'static self) -> Option<Option<&'static BundleIndex>> {
        self.bundle.get().map(Option::as_ref)
    }

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
                            index.len()
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
            // Served by `java` and `local`, which `hooks::slow_path` asks first.
            TrustPath::Bundle { known: None } | TrustPath::JavaTrustStore { .. } | TrustPath::LocalCas => None,
        }
    }

    fn serve_hash_entry(&'static self, dir: &[u8], hash: u32, index: u32) -> Option<&'static CaCert> {
        let bundle = self.bundle();
        // Real entries below `index` keep their numbers; served ones follow.
        let mut path = EntryPath::new();
        let real_below = (0..index).filter(|&i| sys::exists(path.set(dir, hash, i))).count() as u32;
        // Keyed by directory and hash; looked up without allocating, so a
        // repeated lookup (even from a signal handler) allocates nothing.
        let mut key = EntryPath::new();
        let key = key.key(dir, hash);
        let mut map = self.dir_hashes.lock().unwrap_or_else(|e| e.into_inner());
        let first_time = !map.contains_key(key);
        if first_time {
            let to_serve = match bundle {
                Some(bundle) => {
                    let real_ders = real_entry_ders(dir, hash);
                    bundle
                        .with_hash(hash)
                        .iter()
                        .filter(|c| !real_ders.contains(&c.der))
                        .collect()
                }
                None => Vec::new(),
            };
            map.insert(key.into(), to_serve);
        }
        let served = map
            .get(key)
            .and_then(|to_serve| index.checked_sub(real_below).and_then(|i| to_serve.get(i as usize)))
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
        let record = record
            .with("_path", path)
            .with("_hash", hash_hex(hash))
            .with("_bundle", bundle_path);
        let record = if record.level == Level::Warn {
            held_back::defer(record)
        } else {
            Some(record)
        };
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
                    bundle.len()
                ),
            )
            .with("_path", shown.into_owned())
            .with("_bundle", bundle.path.display().to_string()),
        );
    }
}

/// `<dir>/<hash>.<index>` (or a map key) built in a stack buffer.
struct EntryPath {
    buf: [u8; sys::SMALL_PATH],
    len: usize,
    /// Used when the directory name does not fit the buffer.
    long: Vec<u8>,
}

impl EntryPath {
    fn new() -> EntryPath {
        EntryPath {
            buf: [0; sys::SMALL_PATH],
            len: 0,
            long: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.long.is_empty() && self.len + bytes.len() <= self.buf.len() {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            if self.long.is_empty() {
                self.long.extend_from_slice(&self.buf[..self.len]);
            }
            self.long.extend_from_slice(bytes);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        if self.long.is_empty() {
            &self.buf[..self.len]
        } else {
            &self.long
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.long.clear();
    }

    /// `<dir>/<8 hex>.<index>`
    fn set(&mut self, dir: &[u8], hash: u32, index: u32) -> &[u8] {
        self.clear();
        self.push(dir);
        if dir.last() != Some(&b'/') {
            self.push(b"/");
        }
        let mut name = [0u8; 19];
        let len = hash_entry_name(&mut name, hash, index);
        self.push(&name[..len]);
        self.as_bytes()
    }

    /// The lookup table's key: the directory, then the hash's four bytes.
    fn key(&mut self, dir: &[u8], hash: u32) -> &[u8] {
        self.clear();
        self.push(dir);
        self.push(&hash.to_le_bytes());
        self.as_bytes()
    }
}

/// Writes `%08x.%u` into `out`, returning its length (at most 19 bytes).
fn hash_entry_name(out: &mut [u8; 19], hash: u32, index: u32) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, slot) in out[..8].iter_mut().enumerate() {
        *slot = HEX[((hash >> (28 - 4 * i)) & 0xf) as usize];
    }
    out[8] = b'.';
    let mut digits = [0u8; 10];
    let mut n = index;
    let mut count = 0;
    loop {
        digits[count] = b'0' + (n % 10) as u8;
        count += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..count {
        out[9 + i] = digits[count - 1 - i];
    }
    9 + count
}

/// `<dir>/<hash>.<index>`, allocated (for messages and the first lookup).
fn entry_path(dir: &[u8], hash: u32, index: u32) -> Vec<u8> {
    EntryPath::new().set(dir, hash, index).to_vec()
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
            for item in cafix::pem::sections(&bytes) {
                if let cafix::pem::PemItem::Certificate(der) = item {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_spelled_like_openssl() {
        assert_eq!(
            entry_path(b"/etc/ssl/certs", 0x4042bcee, 0),
            b"/etc/ssl/certs/4042bcee.0"
        );
        assert_eq!(entry_path(b"/", 0xa, 4294967295), b"/0000000a.4294967295");
        let long = vec![b'd'; 600];
        assert_eq!(entry_path(&long, 1, 12).len(), 600 + 1 + 11);
    }
}
