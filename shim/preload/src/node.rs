//! Whether a Node.js process is to be told that `NODE_EXTRA_CA_CERTS`
//! names the local CAs (the `getenv` hook, `hooks.rs`), decided once per
//! process, on its first question, without loading the engine.
//!
//! Node.js 20 builds its whole root store (~140 certificates parsed) at
//! start as soon as `NODE_EXTRA_CA_CERTS` is set, which doubles the start
//! of `node -e 0`: it is answered only on a machine that may have local CAs
//! at all. That is a look at the anchor directories (an `openat` each, a
//! `getdents64` for those that exist: a few microseconds) and whether
//! `/etc/cafix.conf` exists (it may name more); the engine, which serves
//! the file, decides which CAs really are local CAs (those also in the
//! system bundle).

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU8, Ordering};

use crate::sys;

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;
static ANSWER: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Should `getenv("NODE_EXTRA_CA_CERTS")`, unset, name the local CAs?
pub fn wants_local_cas() -> bool {
    match ANSWER.load(Ordering::Relaxed) {
        YES => return true,
        NO => return false,
        _ => {}
    }
    let saved = sys::errno();
    let yes = !secure_exec() && is_node() && !switched_off() && may_have_local_cas();
    sys::set_errno(saved);
    ANSWER.store(if yes { YES } else { NO }, Ordering::Relaxed);
    yes
}

/// `AT_SECURE`, through libc's `getauxval` resolved on first use (an
/// import would cost every process a symbol lookup at load).
fn secure_exec() -> bool {
    let getauxval = crate::real::GETAUXVAL.get();
    if getauxval.is_null() {
        return true; // cannot tell: as if it were
    }
    // SAFETY: libc's `unsigned long getauxval(unsigned long)`, no preconditions.
    let getauxval =
        unsafe { core::mem::transmute::<*mut c_void, unsafe extern "C" fn(libc::c_ulong) -> libc::c_ulong>(getauxval) };
    // SAFETY: as above.
    unsafe { getauxval(libc::AT_SECURE) != 0 }
}

/// Node.js, or a runtime that embeds it (Electron): its executable exports
/// the N-API for addons. A symbol lookup, in memory.
fn is_node() -> bool {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only looks it up.
    !unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"napi_module_register".as_ptr()) }.is_null()
}

/// `CAFIX_LOCAL_CAS` or `CAFIX_SERVE` switched off in the environment the
/// process started with (as the engine's configuration reads them).
fn switched_off() -> bool {
    const NO_WORDS: &[&[u8]] = &[b"0", b"no", b"off", b"false"];
    [b"CAFIX_LOCAL_CAS=".as_slice(), b"CAFIX_SERVE="]
        .iter()
        .any(|name| sys::initial_env(name).is_some_and(|v| sys::is_one_of(v, NO_WORDS)))
}

/// `cafix::config::SYSTEM_CONFIG_PATH` (its `local_cas` may name CA files).
const SYSTEM_CONFIG: &[u8] = b"/etc/cafix.conf";

/// Is there anything in an anchor directory, or an `/etc/cafix.conf`?
fn may_have_local_cas() -> bool {
    exists(SYSTEM_CONFIG)
        || cafix_common::locations::LOCAL_ANCHOR_DIRS
            .iter()
            .any(|(dir, _)| dir_has_entries(dir.as_bytes()))
}

/// `path` NUL-terminated in `buf`; `None` if it does not fit.
fn c_path<'a>(path: &[u8], buf: &'a mut [u8; 128]) -> Option<&'a [u8; 128]> {
    let slot = buf.get_mut(..path.len())?;
    slot.copy_from_slice(path);
    *buf.get_mut(path.len())? = 0;
    Some(buf)
}

fn exists(path: &[u8]) -> bool {
    let mut buf = [0u8; 128];
    let Some(buf) = c_path(path, &mut buf) else {
        return false;
    };
    // SAFETY: faccessat with a NUL-terminated path has no memory effects.
    unsafe { libc::syscall(libc::SYS_faccessat, libc::AT_FDCWD, buf.as_ptr(), libc::F_OK, 0) == 0 }
}

/// Does the directory hold any entry but `.` and `..`? (Raw system calls:
/// the front's own `open` is a hook.)
fn dir_has_entries(path: &[u8]) -> bool {
    let mut buf = [0u8; 128];
    let Some(buf) = c_path(path, &mut buf) else {
        return false;
    };
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: openat with a NUL-terminated path; the result is an fd we own or -1.
    let fd = unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, buf.as_ptr(), flags, 0) } as c_int;
    if fd < 0 {
        return false;
    }
    let mut dents = [0u8; 1024];
    let mut found = false;
    while !found {
        // SAFETY: getdents64 writes at most `dents.len()` bytes into `dents`.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, dents.as_mut_ptr(), dents.len()) };
        if n <= 0 {
            break;
        }
        found = cafix_common::dirent::has_entry_other_than_dots(dents.get(..n as usize).unwrap_or(&[]));
    }
    // SAFETY: fd was opened above and is closed once.
    unsafe { libc::syscall(libc::SYS_close, fd) };
    found
}
