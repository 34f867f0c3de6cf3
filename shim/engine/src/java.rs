//! Every JDK's default trust with the local CAs.
//!
//! JSSE's default trust store is the first of `javax.net.ssl.trustStore`,
//! `<java.home>/lib/security/jssecacerts` and `…/cacerts` that is a readable
//! file (`sun.security.ssl.TrustStoreManager`; JDK 8's
//! `TrustManagerFactoryImpl` likewise): it `stat`s `jssecacerts`, finds
//! nothing, and reads `cacerts`. When `jssecacerts` is missing and `cacerts`
//! is a copy of the public roots (`local_cas::judge_copy_ders`, the rule
//! certifi gets) that lacks local CAs, this module answers for the missing
//! `jssecacerts`: that `cacerts`, every entry byte for byte, plus the local
//! CAs it lacks, in its own format and protection (`cafix::keystore`), from
//! memory and read-only. So:
//!
//! - the real `cacerts` is never shadowed or changed: `sha256sum`,
//!   `keytool -list -cacerts` and `keytool -importcert -cacerts` see and
//!   write its real bytes;
//! - a store the program chose gets nothing: a `javax.net.ssl.trustStore`
//!   (JSSE never looks at `jssecacerts` then), a `jssecacerts` that exists
//!   (real entries are never hidden), a `KeyStore` loaded from its own file;
//! - only a JVM is answered: a process in which `libjvm.so` is loaded
//!   (HotSpot's, or OpenJ9's redirector), the one kind of program that
//!   reads `jssecacerts` as its trust. `cat`, `cp`, `sha256sum`, a backup
//!   tool, read it as data and may write what they read elsewhere: they
//!   get `ENOENT`, as without cafix;
//! - `keytool` itself, a JVM, is never answered either, so `keytool
//!   -importcert -keystore …/jssecacerts` creates the file it would have
//!   created without cafix and no added CA ever reaches a file it writes.
//!
//! A `cacerts` that cannot be used (unreadable, too large, not a keystore,
//! truncated, with private keys, with another password, changing while it
//! is read) gets nothing and one line: the JVM reads its `cacerts` as
//! without cafix. Judged once per `cacerts` identity (device, inode, size,
//! modification time) and JDK directory; a `stat` costs one more `stat`.
//! If this process was already told `jssecacerts` exists and `cacerts`
//! then changes into something nothing can be added to, `jssecacerts`
//! reads as that real `cacerts`: what the JVM would have read.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use cafix::config::Level;
use cafix::keystore::{self, Integrity, MAX_KEYSTORE_BYTES};
use cafix::local_cas;
use cafix::record::Record;

use crate::logger;
use crate::state::{shim, ServedStore};
use crate::sys;

/// A file as `stat` identifies it.
type FileId = (u64, u64, i64, i64, i64);

// `time_t` and `long` are 32-bit on 32-bit targets: `into` widens them there.
#[allow(clippy::useless_conversion)]
fn file_id(st: &sys::Stat) -> FileId {
    (
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime.into(),
        st.st_mtime_nsec.into(),
    )
}

/// One JDK's `lib/security` directory, as last judged.
struct Jdk {
    cacerts: FileId,
    answer: Option<&'static ServedStore>,
    /// A `jssecacerts` was served to this process.
    claimed: bool,
}

static JDKS: Mutex<BTreeMap<Vec<u8>, Jdk>> = Mutex::new(BTreeMap::new());
/// JDK directories remembered, and stores built (each kept for the life of
/// the process, as served bytes must be): bounds against a process that
/// keeps rewriting its `cacerts`.
const MAX_JDKS: usize = 64;
const MAX_BUILT: usize = 32;
static BUILT: AtomicUsize = AtomicUsize::new(0);

/// What to answer for `<security_dir>/jssecacerts`, which is missing.
pub fn serve(security_dir: &[u8]) -> Option<&'static ServedStore> {
    let config = &shim().config;
    if !config.serve || !config.local_cas_inject || !is_jvm() || is_keystore_tool() {
        return None;
    }
    let cacerts = PathBuf::from(OsStr::from_bytes(&[security_dir, b"/cacerts"].concat()));
    let st = sys::stat(&cacerts)?; // no cacerts: nothing to add to
    let id = file_id(&st);
    let mut jdks = JDKS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(jdk) = jdks.get(security_dir).filter(|jdk| jdk.cacerts == id) {
        return jdk.answer;
    }
    if jdks.len() >= MAX_JDKS && !jdks.contains_key(security_dir) {
        return None;
    }
    let claimed = jdks.get(security_dir).is_some_and(|jdk| jdk.claimed);
    let built = build(security_dir, &cacerts, &st);
    let answer = match built {
        Some(store) => Some(store),
        // Told it exists already: from now on it reads as the real cacerts.
        None if claimed => keep(ServedStore {
            bytes: None,
            cacerts: cacerts.clone(),
            stat: st,
        }),
        None => None,
    };
    jdks.insert(
        security_dir.to_vec(),
        Jdk {
            cacerts: id,
            answer,
            claimed: claimed || answer.is_some(),
        },
    );
    answer
}

/// Keeps a store for the life of the process (bounded); `None` past the bound.
fn keep(store: ServedStore) -> Option<&'static ServedStore> {
    if BUILT.fetch_add(1, Ordering::Relaxed) >= MAX_BUILT {
        return None;
    }
    Some(Box::leak(Box::new(store)))
}

/// Whether this process runs a JVM: `libjvm.so` is loaded. Asked only on
/// this path (a missing `jssecacerts`), one walk of the loaded objects; a
/// yes is kept (a JVM is never unloaded), a no is asked again, since a
/// program may start a JVM later (`JNI_CreateJavaVM` after `dlopen`).
fn is_jvm() -> bool {
    static JVM: AtomicBool = AtomicBool::new(false);
    if JVM.load(Ordering::Relaxed) {
        return true;
    }
    let loaded = crate::libcrypto::is_loaded(b"libjvm.so");
    if loaded {
        JVM.store(true, Ordering::Relaxed);
    }
    loaded
}

/// Whether this process is `keytool`, which reads and writes keystores by
/// their paths: it is never told that a missing `jssecacerts` exists.
fn is_keystore_tool() -> bool {
    static KEYTOOL: OnceLock<bool> = OnceLock::new();
    *KEYTOOL.get_or_init(|| {
        // SAFETY: getauxval has no preconditions; AT_EXECFN is the address
        // of the NUL-terminated file name the kernel executed, or 0.
        let name = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const libc::c_char;
        if name.is_null() {
            return false;
        }
        // SAFETY: non-null, NUL-terminated, on the initial stack for the
        // life of the process.
        let name = unsafe { std::ffi::CStr::from_ptr(name) }.to_bytes();
        name.rsplit(|&b| b == b'/').next() == Some(b"keytool")
    })
}

/// Judges `cacerts` and builds the store to serve, logging one line
/// whatever the outcome; `None` when nothing is to be added.
fn build(security_dir: &[u8], cacerts: &Path, st: &sys::Stat) -> Option<&'static ServedStore> {
    let local = crate::local::cas();
    if local.is_empty() {
        return None;
    }
    let jssecacerts = format!("{}/jssecacerts", String::from_utf8_lossy(security_dir));
    let why_not = |level: Level, why: String| {
        logger::emit(
            &Record::new(
                level,
                "java-nothing-added",
                format!(
                    "{}: {why}; nothing added to this JDK's trust (its {jssecacerts} stays missing)",
                    cacerts.display()
                ),
            )
            .with("_path", cacerts.display().to_string()),
        );
        None
    };
    let bundle = shim().bundle()?;
    let bytes = match sys::read_file(cacerts, MAX_KEYSTORE_BYTES) {
        Ok(bytes) => bytes,
        Err(why) => return why_not(Level::Warn, format!("cannot be read as a keystore ({why})")),
    };
    if sys::stat(cacerts).map(|now| file_id(&now)) != Some(file_id(st)) {
        return why_not(Level::Warn, "changed while it was read".to_string());
    }
    let store = match keystore::parse(&bytes) {
        Ok(store) => store,
        Err(why) => return why_not(Level::Warn, format!("not a keystore the JDK can read ({why})")),
    };
    if store.private_keys > 0 {
        return why_not(
            Level::Info,
            format!(
                "a {} keystore with {} private-key entr{}, not a copy of the public roots",
                store.format.name(),
                store.private_keys,
                if store.private_keys == 1 { "y" } else { "ies" }
            ),
        );
    }
    let ders: Vec<&[u8]> = store.trusted_ders().collect();
    let judgement = local_cas::judge_copy_ders(&ders, bundle, local);
    if !judgement.is_copy || judgement.lacking.is_empty() {
        let why = match judgement.is_copy {
            false => format!(
                "{} trusted certificates, {} of them in the system bundle {}: not a copy of the public roots",
                judgement.certs,
                judgement.in_bundle,
                bundle.path.display()
            ),
            true => "it has every local CA already".to_string(),
        };
        return why_not(Level::Debug, why);
    }
    let added: Vec<&local_cas::LocalCa> = judgement.lacking.iter().map(|&i| &local.cas[i]).collect();
    let added_ders: Vec<&[u8]> = added.iter().map(|ca| ca.der.as_slice()).collect();
    // Widened first: a 32-bit `time_t` in milliseconds would saturate.
    #[allow(clippy::useless_conversion)]
    let date_ms = i64::from(st.st_mtime).saturating_mul(1000);
    let served = match store.with_added(&bytes, &added_ders, date_ms) {
        Ok(served) => served,
        Err(why) => return why_not(Level::Info, why),
    };
    let names: Vec<&str> = added.iter().map(|ca| ca.short_name()).collect();
    logger::emit(
        &Record::new(
            Level::Info,
            "java-local-cas-added",
            format!(
                "served {jssecacerts}: {} ({}, {} trusted certificates, {} of them in the system bundle {}) \
                 plus {} local CA(s) it lacks ({}); {} itself is unchanged",
                cacerts.display(),
                match (store.format, store.integrity, store.encrypted_certs) {
                    (f, Integrity::None, _) => format!("{}, no password", f.name()),
                    (f, _, true) => format!("{}, certificates encrypted with the default password", f.name()),
                    (f, _, false) => f.name().to_string(),
                },
                judgement.certs,
                judgement.in_bundle,
                bundle.path.display(),
                added.len(),
                names.join(", "),
                cacerts.display()
            ),
        )
        .with("_path", jssecacerts.clone())
        .with("_added", names.join("; ")),
    );
    keep(ServedStore {
        bytes: Some(served),
        cacerts: cacerts.to_path_buf(),
        stat: *st,
    })
}
