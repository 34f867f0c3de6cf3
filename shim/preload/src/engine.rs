//! Loading `libcafix_engine.so`, once, on the first call that needs it.
//!
//! The engine is looked for next to libcafix.so (the directory of the path
//! the loader recorded for it; never an environment variable, so a
//! secure-exec process loads only what root installed next to the preload),
//! opened `RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE` (its symbols stay out of
//! the program's scope; it is never unloaded) and handed a [`FrontInfo`].
//!
//! Concurrency: one thread loads; a thread that finds the load in progress
//! waits for it (a millisecond or two), at most [`WAIT_LIMIT_MICROS`], in
//! case the loader is stuck behind a lock the waiter holds (a library
//! constructor running under the dynamic loader's lock). A call re-entered
//! on the loading thread itself (a signal handler) gets no engine: the real
//! answer. If the engine cannot be loaded that is said once on stderr and
//! nothing is ever served; every hook still returns the real answer.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use libc::FILE;

use crate::sys;
use cafix_common::elf_ident::{ElfIdent, HEADER_BYTES};
use cafix_common::engine_abi::{self, FrontInfo, HOOK_PREFIX, LIBRARY_HOOK_COUNT};

type AfterStat = unsafe extern "C" fn(c_int, c_int, *const c_char, *mut c_void, c_int) -> c_int;
type AfterAccess = unsafe extern "C" fn(c_int, *const c_char, c_int, c_int) -> c_int;
type AfterFopen = unsafe extern "C" fn(*mut FILE, *const c_char, *const c_char, c_int) -> *mut FILE;
type AfterOpen = unsafe extern "C" fn(c_int, *const c_char, c_int, c_int) -> c_int;
type Init = unsafe extern "C" fn(*const FrontInfo) -> c_int;

/// The engine's entry points, filled in once by the loading thread.
struct Api {
    after_stat: AfterStat,
    after_access: AfterAccess,
    after_fopen: AfterFopen,
    after_open: AfterOpen,
}

struct ApiCell(UnsafeCell<Option<Api>>);

// SAFETY: written only by the thread that won the UNLOADED → LOADING
// transition, before it publishes READY with Release; read only after an
// Acquire load has seen READY.
unsafe impl Sync for ApiCell {}

static API: ApiCell = ApiCell(UnsafeCell::new(None));

/// The engine's OpenSSL, GnuTLS and NSS hooks, in `engine_abi::library_hook`
/// order (null until loaded): the library trampolines' targets.
fn library_targets() -> &'static [AtomicPtr<c_void>; LIBRARY_HOOK_COUNT] {
    &crate::library_hooks::TARGETS
}

/// Low byte: the state; above it, the loading thread's id (while LOADING).
static STATE: AtomicU64 = AtomicU64::new(UNLOADED);
const UNLOADED: u64 = 0;
const LOADING: u64 = 1;
const READY: u64 = 2;
const FAILED: u64 = 3;

const WAIT_STEP_MICROS: u32 = 200;
const WAIT_LIMIT_MICROS: u32 = 2_000_000;

/// Whether the engine is (now) loaded; loads it if nobody has tried yet.
/// `None`: it failed to load, or cannot be waited for from here.
#[inline]
fn api() -> Option<&'static Api> {
    if STATE.load(Ordering::Acquire) == READY {
        // SAFETY: READY was published after API was written (see ApiCell).
        return unsafe { (*API.0.get()).as_ref() };
    }
    load_or_wait()
}

#[cold]
fn load_or_wait() -> Option<&'static Api> {
    let me = u64::from(sys::gettid()) << 8 | LOADING;
    register_fork_wait();
    let mut waited = 0;
    loop {
        match STATE.compare_exchange(UNLOADED, me, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => {
                let loaded = load();
                STATE.store(if loaded { READY } else { FAILED }, Ordering::Release);
                return if loaded {
                    // SAFETY: written by `load` on this thread just above.
                    unsafe { (*API.0.get()).as_ref() }
                } else {
                    None
                };
            }
            // SAFETY: as in `api`.
            Err(READY) => return unsafe { (*API.0.get()).as_ref() },
            Err(FAILED) => return None,
            // Re-entered on the loading thread (a signal handler): no engine.
            Err(state) if state == me => return None,
            Err(_) if waited >= WAIT_LIMIT_MICROS => {
                sys::say(&[b"warning: gave up waiting for another thread to load libcafix_engine.so; this lookup is answered as if cafix were not there"]);
                return None;
            }
            Err(_) => {
                sys::sleep_micros(WAIT_STEP_MICROS);
                waited += WAIT_STEP_MICROS;
            }
        }
    }
}

extern "C" {
    /// glibc's registration behind `pthread_atfork` (which lives in
    /// libc_nonshared.a and needs the `__dso_handle` of the start files this
    /// object is linked without).
    fn __register_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
        dso_handle: *mut c_void,
    ) -> c_int;
}

/// Registers [`finish_load_before_fork`] once, before the first load is
/// attempted: only processes that load the engine pay for it.
fn register_fork_wait() {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if !REGISTERED.swap(true, Ordering::AcqRel) {
        // SAFETY: a handler that only reads an atomic and sleeps; the dso
        // handle is an address inside this object, which is never unloaded.
        unsafe {
            __register_atfork(
                Some(finish_load_before_fork),
                None,
                None,
                core::ptr::addr_of!(STATE) as *mut c_void,
            )
        };
    }
}

/// The `fork` prepare handler: a child forked while another thread is inside
/// the engine's `dlopen` would have no such thread to wait for (and the
/// loader's state half-updated), so the fork waits for the load to finish,
/// at most [`WAIT_LIMIT_MICROS`] like any waiter.
extern "C" fn finish_load_before_fork() {
    let me = u64::from(sys::gettid()) << 8 | LOADING;
    let mut waited = 0;
    loop {
        let state = STATE.load(Ordering::Acquire);
        if state & 0xff != LOADING || state == me || waited >= WAIT_LIMIT_MICROS {
            return;
        }
        sys::sleep_micros(WAIT_STEP_MICROS);
        waited += WAIT_STEP_MICROS;
    }
}

/// `dlsym(RTLD_NEXT, name)` from libcafix.so: handed to the engine.
unsafe extern "C" fn dlsym_next(name: *const c_char) -> *mut c_void {
    // SAFETY: the engine passes a NUL-terminated name; RTLD_NEXT is relative
    // to this object, which is the point.
    let next = unsafe { libc::dlsym(libc::RTLD_NEXT, name) };
    // Not a tail call: dlsym takes "next" relative to the object its return
    // address is in, which must be this one, not the engine that called here
    // (from the engine RTLD_NEXT finds no libcrypto, and the engine falls
    // back to asking every loaded object).
    core::hint::black_box(next)
}

/// The path of the engine (libcafix.so's directory + the engine's name, in
/// `buf`) and where libcafix.so is loaded.
fn engine_path(buf: &mut [u8; 4096]) -> Option<(&CStr, *const u8)> {
    // SAFETY: all-zero is a valid Dl_info; dladdr fills it or returns 0.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: dladdr accepts any address; this one is in libcafix.so.
    if unsafe { libc::dladdr(dlsym_next as *const c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader.
    let own = unsafe { CStr::from_ptr(info.dli_fname) }.to_bytes();
    let dir = match own.iter().rposition(|&b| b == b'/') {
        Some(slash) => own.get(..=slash)?,
        None => &[], // a bare name: let dlopen search as the loader did
    };
    let name = engine_abi::ENGINE_FILE_NAME;
    let len = dir.len() + name.len();
    buf.get_mut(..dir.len())?.copy_from_slice(dir);
    buf.get_mut(dir.len()..len)?.copy_from_slice(name);
    *buf.get_mut(len)? = 0;
    let path = CStr::from_bytes_with_nul(buf.get(..=len)?).ok()?;
    Some((path, info.dli_fbase as *const u8))
}

/// If the engine at `path` is built for another architecture than
/// libcafix.so (whose ELF header the loader mapped at `own_base`): its
/// architecture's name and ours. glibc's `dlopen` says "No such file or
/// directory" for another machine, which would send people looking for a
/// missing file.
fn foreign_engine(path: &CStr, own_base: *const u8) -> Option<(&'static [u8], &'static [u8])> {
    if own_base.is_null() {
        return None;
    }
    // SAFETY: the loader maps an object's ELF header at its base address.
    let own = unsafe { core::slice::from_raw_parts(own_base, HEADER_BYTES) };
    let own = ElfIdent::parse(own)?;
    let mut header = [0u8; HEADER_BYTES];
    if !sys::read_start(path, &mut header) {
        return None;
    }
    let engine = ElfIdent::parse(&header)?;
    if engine == own {
        return None;
    }
    let name = |id: ElfIdent| id.arch_name().map_or(b"another architecture".as_slice(), str::as_bytes);
    Some((name(engine), name(own)))
}

/// The engine's export for library hook `index`: `cafix_hook_<name>`, in `buf`.
fn hook_symbol(index: usize, buf: &mut [u8; 128]) -> Option<&CStr> {
    let name = crate::library_hooks::hook_name(index)?.to_bytes();
    let len = HOOK_PREFIX.len() + name.len();
    buf.get_mut(..HOOK_PREFIX.len())?.copy_from_slice(HOOK_PREFIX);
    buf.get_mut(HOOK_PREFIX.len()..len)?.copy_from_slice(name);
    *buf.get_mut(len)? = 0;
    CStr::from_bytes_with_nul(buf.get(..=len)?).ok()
}

/// Resolves `name` in the engine or says why not.
fn engine_symbol(handle: *mut c_void, path: &CStr, name: &CStr) -> Option<*mut c_void> {
    // SAFETY: a valid handle and a NUL-terminated name.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if p.is_null() {
        sys::say(&[
            b"error: ",
            path.to_bytes(),
            b" has no ",
            name.to_bytes(),
            b" (libcafix.so and libcafix_engine.so are from different builds); nothing will be served",
        ]);
        return None;
    }
    Some(p)
}

fn load() -> bool {
    let mut buf = [0u8; 4096];
    let Some((path, own_base)) = engine_path(&mut buf) else {
        sys::say(&[
            b"error: cannot tell where libcafix.so is, so not where libcafix_engine.so is; nothing will be served",
        ]);
        return false;
    };
    // SAFETY: dlopen of a NUL-terminated path.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_NODELETE) };
    if handle.is_null() {
        // SAFETY: dlerror returns NULL or a NUL-terminated message, valid
        // until the next dl call (the check below makes none).
        let why = unsafe { libc::dlerror() };
        if let Some((engine, own)) = foreign_engine(path, own_base) {
            sys::say(&[
                b"error: ",
                path.to_bytes(),
                b" is built for ",
                engine,
                b", not for this ",
                own,
                b" process; nothing will be served",
            ]);
            return false;
        }
        let why: &[u8] = if why.is_null() {
            b"unknown error"
        } else {
            // SAFETY: non-null, NUL-terminated, read at once.
            unsafe { CStr::from_ptr(why) }.to_bytes()
        };
        sys::say(&[b"error: cannot load the engine: ", why, b"; nothing will be served"]);
        return false;
    }
    let found = (|| {
        let init = engine_symbol(handle, path, engine_abi::INIT)?;
        let api = Api {
            // SAFETY (all four): the engine defines these names with exactly
            // these C signatures (shim/common/src/engine_abi.rs, shim/engine/src/front_calls.rs).
            after_stat: unsafe {
                core::mem::transmute::<*mut c_void, AfterStat>(engine_symbol(handle, path, engine_abi::AFTER_STAT)?)
            },
            after_access: unsafe {
                core::mem::transmute::<*mut c_void, AfterAccess>(engine_symbol(handle, path, engine_abi::AFTER_ACCESS)?)
            },
            after_fopen: unsafe {
                core::mem::transmute::<*mut c_void, AfterFopen>(engine_symbol(handle, path, engine_abi::AFTER_FOPEN)?)
            },
            after_open: unsafe {
                core::mem::transmute::<*mut c_void, AfterOpen>(engine_symbol(handle, path, engine_abi::AFTER_OPEN)?)
            },
        };
        let mut targets = [core::ptr::null_mut(); LIBRARY_HOOK_COUNT];
        for (index, target) in targets.iter_mut().enumerate() {
            let mut name = [0u8; 128];
            *target = engine_symbol(handle, path, hook_symbol(index, &mut name)?)?;
        }
        Some((init, api, targets))
    })();
    let Some((init, api, targets)) = found else {
        return false;
    };
    let (stderr_dev, stderr_ino) = sys::stderr_at_load();
    let info = FrontInfo {
        size: core::mem::size_of::<FrontInfo>(),
        stderr_dev,
        stderr_ino,
        front_anchor: dlsym_next as *const c_void,
        dlsym_next,
    };
    // SAFETY: the engine's init has this signature (shim/common/src/engine_abi.rs).
    let init = unsafe { core::mem::transmute::<*mut c_void, Init>(init) };
    // SAFETY: `info` outlives the call; the engine copies what it keeps.
    if unsafe { init(&info) } != 0 {
        sys::say(&[
            b"error: ",
            path.to_bytes(),
            b" refused to start; nothing will be served",
        ]);
        return false;
    }
    // SAFETY: only the loading thread writes, before READY is published.
    unsafe { *API.0.get() = Some(api) };
    for (slot, target) in library_targets().iter().zip(targets) {
        slot.store(target, Ordering::Release);
    }
    true
}

/// Loads the engine if need be, keeping errno as the failed call left it.
#[inline]
fn api_keeping_errno() -> Option<&'static Api> {
    let failed = sys::errno();
    let api = api();
    sys::set_errno(failed);
    api
}

/// The stat family's slow path: the engine's verdict on a failed call.
///
/// # Safety
/// `path` is NUL-terminated; `buf` points to the caller's struct of `layout`.
pub unsafe fn after_stat(layout: c_int, rc: c_int, path: *const c_char, buf: *mut c_void, saved: c_int) -> c_int {
    match api_keeping_errno() {
        // SAFETY: forwarded from this function's contract.
        Some(api) => unsafe { (api.after_stat)(layout, rc, path, buf, saved) },
        None => rc,
    }
}

/// # Safety
/// `path` is NUL-terminated.
pub unsafe fn after_access(rc: c_int, path: *const c_char, mode: c_int, saved: c_int) -> c_int {
    match api_keeping_errno() {
        // SAFETY: forwarded from this function's contract.
        Some(api) => unsafe { (api.after_access)(rc, path, mode, saved) },
        None => rc,
    }
}

/// # Safety
/// `path` and `mode` are NUL-terminated.
pub unsafe fn after_fopen(file: *mut FILE, path: *const c_char, mode: *const c_char, saved: c_int) -> *mut FILE {
    match api_keeping_errno() {
        // SAFETY: forwarded from this function's contract.
        Some(api) => unsafe { (api.after_fopen)(file, path, mode, saved) },
        None => file,
    }
}

/// # Safety
/// `path` is NUL-terminated.
pub unsafe fn after_open(fd: c_int, path: *const c_char, flags: c_int, saved: c_int) -> c_int {
    match api_keeping_errno() {
        // SAFETY: forwarded from this function's contract.
        Some(api) => unsafe { (api.after_open)(fd, path, flags, saved) },
        None => fd,
    }
}

/// For the library trampolines' first call: the engine's hook `index`, or,
/// if the engine cannot be had, the next definition of that function (the
/// call then goes straight to the library, unobserved), or null.
pub fn library_target(index: usize) -> *mut c_void {
    let (Some(name), Some(slot)) = (crate::library_hooks::hook_name(index), library_targets().get(index)) else {
        return core::ptr::null_mut();
    };
    if api_keeping_errno().is_some() {
        return slot.load(Ordering::Acquire);
    }
    // SAFETY: a NUL-terminated name; RTLD_NEXT from this object.
    let next = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    if STATE.load(Ordering::Acquire) == FAILED {
        // For good: later calls go straight there.
        slot.store(next, Ordering::Release);
    }
    next
}
