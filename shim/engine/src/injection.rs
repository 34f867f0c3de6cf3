//! Adding the administrator's local CAs to OpenSSL stores loaded from a copy
//! of the public roots (certifi, conda's `cacert.pem`, botocore's copy …).
//!
//! The OpenSSL load hooks (`hooks/openssl.rs`) call [`after_file_load`] when
//! a store has just loaded a PEM CA file. The file is judged by content
//! (`cafix::local_cas::judge_copy`), once per file identity (device, inode,
//! size, modification time): a second load of the same file costs one
//! `stat`. If it is a copy, the local CAs it lacks are added to that store
//! through the caller's own libcrypto (`d2i_X509`, `X509_STORE_add_cert`),
//! with OpenSSL's error queue restored, so the program sees exactly the
//! result it had. Only local CAs, which are in the system bundle, are ever
//! added; the file itself is never touched. The system bundle itself is
//! recognised by identity before anything else (it has every local CA), so
//! loading it, as curl and every `set_default_paths` do, reads nothing and
//! looks for no local CAs.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cafix::bundle::MAX_BUNDLE_BYTES;
use cafix::config::Level;
use cafix::local_cas::{self, LocalCas};
use cafix::record::Record;

use crate::libcrypto::{companion, Sym};
use crate::logger;
use crate::state::shim;
use crate::sys;

/// A file as `stat` identifies it: replaced or rewritten means judged anew.
type FileId = (u64, u64, i64, i64, i64);

/// What a loaded file turned out to be: the DER of the local CAs to add to
/// each store loaded from it (empty for every file that is not a copy).
struct Judged {
    add: Vec<&'static [u8]>,
}

static JUDGED: Mutex<BTreeMap<FileId, Arc<Judged>>> = Mutex::new(BTreeMap::new());
const JUDGED_LIMIT: usize = 256;

/// `store` has just loaded `path` (PEM) successfully, through the libcrypto
/// that contains `real` (the load function that was called).
pub fn after_file_load(store: *mut c_void, path: &Path, real: *mut c_void) {
    if store.is_null() {
        return;
    }
    let Some(judged) = crate::lock::with_shim_lock(|| judge(path)).flatten() else {
        return;
    };
    if !judged.add.is_empty() {
        add_to_store(store, &judged.add, real);
    }
}

/// The judgement for `path`, from the cache or made now (and logged once).
fn judge(path: &Path) -> Option<Arc<Judged>> {
    let state = shim();
    if !state.config.local_cas_inject || !state.config.serve {
        return None;
    }
    let st = sys::stat(path)?;
    // `time_t` and `long` are 32-bit on 32-bit targets: `into` widens them there.
    #[allow(clippy::useless_conversion)]
    let id: FileId = (
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime.into(),
        st.st_mtime_nsec.into(),
    );
    if let Some(judged) = JUDGED.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return Some(judged.clone());
    }
    // The system bundle itself (OpenSSL's default file on most systems, and
    // what curl and every `set_default_paths` load) has every local CA by
    // definition: nothing to read, and no local CAs to look for.
    let judged = Arc::new(if is_system_bundle(&st) {
        Judged { add: Vec::new() }
    } else {
        let local = crate::local::cas();
        if local.is_empty() {
            Judged { add: Vec::new() }
        } else {
            judge_file(path, local)
        }
    });
    let mut map = JUDGED.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= JUDGED_LIMIT {
        map.clear();
    }
    map.insert(id, judged.clone());
    Some(judged)
}

/// The system bundle's device and inode: those of the file the index was
/// read from once it has been, else of the file it will be read from
/// (`find_system_bundle`, as `Shim::bundle` finds it), without reading it.
static SYSTEM_BUNDLE_ID: OnceLock<Option<(u64, u64)>> = OnceLock::new();

/// Whether `st` is the system bundle itself, by identity (device and inode,
/// so through any symbolic link: `/usr/lib/ssl/cert.pem`).
fn is_system_bundle(st: &sys::Stat) -> bool {
    let state = shim();
    let id = match state.bundle_stat.get() {
        Some(read) => read.as_ref().map(|b| (b.st_dev, b.st_ino)),
        None => *SYSTEM_BUNDLE_ID.get_or_init(|| {
            cafix::bundle::find_system_bundle(&state.config, &|p| sys::is_nonempty_file(p))
                .and_then(|path| sys::stat(&path))
                .map(|b| (b.st_dev, b.st_ino))
        }),
    };
    id == Some((st.st_dev, st.st_ino))
}

fn judge_file(path: &Path, local: &'static LocalCas) -> Judged {
    let nothing = Judged { add: Vec::new() };
    let Some(bundle) = shim().bundle() else {
        return nothing;
    };
    let Ok(bytes) = sys::read_file(path, MAX_BUNDLE_BYTES) else {
        return nothing;
    };
    let judgement = local_cas::judge_copy(&bytes, bundle, local);
    if !judgement.is_copy || judgement.lacking.is_empty() {
        return nothing;
    }
    let added: Vec<&'static local_cas::LocalCa> = judgement.lacking.iter().map(|&i| &local.cas[i]).collect();
    let names: Vec<&str> = added.iter().map(|ca| ca.short_name()).collect();
    logger::emit(
        &Record::new(
            Level::Info,
            "local-cas-added",
            format!(
                "added {} local CA(s) ({}) to the store loaded from {}: a copy of the public roots \
                 ({} certificates, {} of them in the system bundle {}) that lacks what this machine's \
                 administrator installed",
                added.len(),
                names.join(", "),
                path.display(),
                judgement.certs,
                judgement.in_bundle,
                bundle.path.display()
            ),
        )
        .with("_path", path.display().to_string())
        .with("_added", names.join("; ")),
    );
    Judged {
        add: added.iter().map(|ca| ca.der.as_slice()).collect(),
    }
}

/// `d2i_X509` + `X509_STORE_add_cert` + `X509_free` for each certificate,
/// all from `real`'s library, between `ERR_set_mark` and `ERR_pop_to_mark`.
fn add_to_store(store: *mut c_void, ders: &[&[u8]], real: *mut c_void) {
    let d2i = companion(real, Sym::D2iX509);
    let add = companion(real, Sym::StoreAddCert);
    let free = companion(real, Sym::X509Free);
    let set_mark = companion(real, Sym::ErrSetMark);
    let pop_to_mark = companion(real, Sym::ErrPopToMark);
    if [d2i, add, free, set_mark, pop_to_mark].iter().any(|p| p.is_null()) {
        return; // older than 1.1.0, or not libcrypto: nothing is added
    }
    type D2i = unsafe extern "C" fn(*mut *mut c_void, *mut *const u8, libc::c_long) -> *mut c_void;
    type Add = unsafe extern "C" fn(*mut c_void, *mut c_void) -> libc::c_int;
    type Free = unsafe extern "C" fn(*mut c_void);
    type Mark = unsafe extern "C" fn() -> libc::c_int;
    // SAFETY: each pointer is that function of the caller's libcrypto, with
    // these C signatures (OpenSSL 1.1.0 and later).
    let (d2i, add, free, set_mark, pop_to_mark) = unsafe {
        (
            std::mem::transmute::<*mut c_void, D2i>(d2i),
            std::mem::transmute::<*mut c_void, Add>(add),
            std::mem::transmute::<*mut c_void, Free>(free),
            std::mem::transmute::<*mut c_void, Mark>(set_mark),
            std::mem::transmute::<*mut c_void, Mark>(pop_to_mark),
        )
    };
    let saved = sys::errno();
    // SAFETY: the error-queue mark is thread-local in OpenSSL.
    unsafe { set_mark() };
    for der in ders {
        let mut p = der.as_ptr();
        // SAFETY: `p` points at `der.len()` bytes of DER that live for the process.
        let x509 = unsafe { d2i(std::ptr::null_mut(), &mut p, der.len() as libc::c_long) };
        if x509.is_null() {
            continue;
        }
        // SAFETY: `store` is the live store the program just loaded into;
        // add_cert takes its own reference, so ours is freed after.
        unsafe {
            add(store, x509);
            free(x509);
        }
    }
    // SAFETY: pops only what was pushed since the mark above.
    unsafe { pop_to_mark() };
    sys::set_errno(saved);
}

/// The file a load hook was given, as a path (`None` for NULL).
///
/// # Safety
/// `file` is NULL or a NUL-terminated string.
pub unsafe fn path_of(file: *const libc::c_char) -> Option<PathBuf> {
    if file.is_null() {
        return None;
    }
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: forwarded from this function's contract.
    let bytes = unsafe { std::ffi::CStr::from_ptr(file) }.to_bytes();
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}
