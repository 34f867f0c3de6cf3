//! Calling the right OpenSSL (or GnuTLS, or NSS): the real libcrypto
//! (libgnutls, libnss3) function behind a hook is the one *the caller*
//! would have reached without the shim. What is said here of libcrypto
//! holds for libgnutls and libnss3.
//!
//! libcafix.so's trampolines are exported unversioned, so the dynamic linker
//! binds every caller to them (and they call the hooks here), whichever
//! OpenSSL symbol version it asked for (an unversioned definition satisfies
//! a versioned reference). Each hook gets its caller's return address from
//! the trampoline (see `hooks/openssl.rs`), and here:
//! 1. the loaded object whose segments hold the return address is the
//!    object the call came from (libssl.so.1.1, Python's `_ssl` module,
//!    libcrypto itself, the program …), named as `dladdr` names it but found
//!    with one `dl_iterate_phdr` walk ([`object_of`]);
//! 2. `dlopen(that object, RTLD_NOLOAD)` + `dlsym(handle, name)` searches that
//!    object and *its own* dependencies — the libcrypto it was linked with,
//!    even when it was `dlopen`ed `RTLD_LOCAL` (where `RTLD_NEXT` cannot see);
//! 3. if that finds nothing, or finds cafix itself (the program and
//!    global-scope objects see libcafix.so's trampolines first),
//!    `dlsym(RTLD_NEXT, name)` as libcafix.so sees it (the engine, loaded
//!    with `dlopen`, would see only its own dependencies).
//!
//! So with libssl.so.1.1 and libssl.so.3 in one process, each one's calls go
//! to its own libcrypto. Results are cached by return address; the cache is
//! dropped whenever an object has been unloaded (glibc's `dlpi_subs`
//! counter), so a `dlclose`d and re-`dlopen`ed libssl is looked up afresh.

use std::ffi::{c_void, CStr};
use std::sync::Mutex;

use cafix_common::engine_abi::{LibraryHook, GNUTLS_HOOKS, NSS_HOOKS, OPENSSL_HOOKS};

use crate::lock::with_shim_lock;

/// Hooked or called library functions: libcrypto's hooked ones first, in
/// the order of `engine_abi::OPENSSL_HOOKS`, then [`CALLED_ONLY`], then
/// libgnutls's hooked ones (`engine_abi::GNUTLS_HOOKS`; what an explanation
/// reads of libgnutls is resolved in `verification/gnutls.rs`), then NSS's
/// hooked ones (`engine_abi::NSS_HOOKS`) and [`NSS_CALLED_ONLY`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Sym {
    VerifyCert,
    StoreLoadLocations,
    StoreLoadLocationsEx,
    StoreLoadFile,
    StoreLoadFileEx,
    StoreLoadPath,
    StoreLoadStore,
    StoreLoadStoreEx,
    StoreSetDefaultPaths,
    StoreSetDefaultPathsEx,
    LookupCtrl,
    LookupCtrlEx,
    StoreFree,
    LookupGetStore,
    StoreCtxGetError,
    StoreCtxGetExData,
    SslGetExDataStoreCtxIdx,
    SslGetVerifyMode,
    D2iX509,
    StoreAddCert,
    X509Free,
    ErrSetMark,
    ErrPopToMark,
    GetDefaultCertFile,
    SslGetServername,
    SslGetFd,
    GnutlsVerifyPeers2,
    GnutlsVerifyPeers3,
    GnutlsVerifyPeers,
    GnutlsHandshake,
    GnutlsTrustListVerifyCrt,
    GnutlsTrustListVerifyCrt2,
    GnutlsCrtCheckHostname,
    GnutlsCrtCheckHostname2,
    GnutlsSetSystemTrust,
    GnutlsSetTrustFile,
    GnutlsSetTrustDir,
    GnutlsTrustListAddSystemTrust,
    GnutlsTrustListAddTrustFile,
    GnutlsTrustListAddTrustDir,
    GnutlsSetTrustList,
    GnutlsFreeCredentials,
    GnutlsTrustListDeinit,
    GnutlsSessionSetVerifyCert,
    GnutlsSessionSetVerifyCert2,
    NssInit,
    NssInitReadWrite,
    NssInitialize,
    NssInitContext,
    SecmodLoadUserModule,
    SecmodLoadUserModuleWithFunction,
    SecmodAddNewModule,
    SecmodAddNewModuleEx,
    SecmodHasRootCerts,
    SecmodFindModule,
    SecmodDestroyModule,
    Pk11GetAllTokens,
    Pk11HasRootCerts,
    Pk11FindCertFromDerCertItem,
    Pk11FreeSlotList,
    CertDestroyCertificate,
    PortGetError,
    PortSetError,
}

/// The functions the engine calls but does not hook; they follow the hooked
/// ones (`engine_abi::OPENSSL_HOOKS`, the order of the first 13 [`Sym`]s).
const CALLED_ONLY: [&CStr; 13] = [
    c"X509_LOOKUP_get_store",
    c"X509_STORE_CTX_get_error",
    c"X509_STORE_CTX_get_ex_data",
    c"SSL_get_ex_data_X509_STORE_CTX_idx",
    c"SSL_get_verify_mode",
    c"d2i_X509",
    c"X509_STORE_add_cert",
    c"X509_free",
    c"ERR_set_mark",
    c"ERR_pop_to_mark",
    c"X509_get_default_cert_file",
    c"SSL_get_servername",
    c"SSL_get_fd",
];

/// The NSS functions the engine calls but does not hook (`nss.rs`); they
/// follow NSS's hooked ones.
const NSS_CALLED_ONLY: [&CStr; 10] = [
    c"SECMOD_HasRootCerts",
    c"SECMOD_FindModule",
    c"SECMOD_DestroyModule",
    c"PK11_GetAllTokens",
    c"PK11_HasRootCerts",
    c"PK11_FindCertFromDERCertItem",
    c"PK11_FreeSlotList",
    c"CERT_DestroyCertificate",
    c"PORT_GetError",
    c"PORT_SetError",
];

impl Sym {
    pub fn name(self) -> &'static CStr {
        let mut i = self as usize;
        // Each library's hooked functions, then those the engine only calls.
        let tables: [(&[LibraryHook], &[&CStr]); 3] = [
            (&OPENSSL_HOOKS, &CALLED_ONLY),
            (&GNUTLS_HOOKS, &[]),
            (&NSS_HOOKS, &NSS_CALLED_ONLY),
        ];
        for (hooked, called_only) in tables {
            if let Some(hook) = hooked.get(i) {
                return hook.name;
            }
            i -= hooked.len();
            if let Some(name) = called_only.get(i) {
                return name;
            }
            i -= called_only.len();
        }
        c""
    }
}

struct Cache {
    subs: u64,
    /// (caller's return address, symbol, real function)
    entries: Vec<(usize, Sym, usize)>,
    /// (a real function, symbol, the symbol in that function's library)
    companions: Vec<(usize, Sym, usize)>,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    subs: u64::MAX,
    entries: Vec::new(),
    companions: Vec::new(),
});
const CACHE_LIMIT: usize = 512;

/// How many objects have been unloaded so far (glibc's `dlpi_subs`).
pub(crate) fn unload_count() -> u64 {
    unsafe extern "C" fn first(info: *mut libc::dl_phdr_info, size: usize, out: *mut c_void) -> libc::c_int {
        // dlpi_subs exists when the structure is large enough to hold it.
        let needed = std::mem::offset_of!(libc::dl_phdr_info, dlpi_subs) + std::mem::size_of::<u64>();
        if size >= needed {
            // SAFETY: glibc passes a valid dl_phdr_info of `size` bytes; `out` is our u64.
            unsafe { *(out as *mut u64) = (*info).dlpi_subs };
        }
        1 // stop after the first object: the counters are global
    }
    let mut subs = 0u64;
    // SAFETY: the callback only reads the info glibc hands it and writes our local.
    unsafe { libc::dl_iterate_phdr(Some(first), &mut subs as *mut u64 as *mut c_void) };
    subs
}

/// The real function `sym` for a call that will return to `caller`.
/// Null if no OpenSSL reachable from the caller has it.
pub fn real_for(caller: *const c_void, sym: Sym) -> *mut c_void {
    cached(caller as usize, sym, false, || resolve(caller, sym.name()))
}

/// `sym` from the dependency scope of the library that contains `real` (e.g.
/// `X509_LOOKUP_get_store` next to the real `X509_LOOKUP_ctrl`, or a libssl
/// function for a return address into libssl), cached like [`real_for`].
pub fn companion(real: *mut c_void, sym: Sym) -> *mut c_void {
    cached(real as usize, sym, true, || {
        object_of(real).map_or(std::ptr::null_mut(), |o| lookup_in(&o, sym.name()))
    })
}

/// Looks `(key, sym)` up in the cache, or resolves and remembers it.
///
/// The loader's locks are never taken while the shim lock is held (a library
/// constructor running under the loader lock may call a hooked `stat`), so
/// the unload counter and resolution happen outside it.
fn cached(key: usize, sym: Sym, companion: bool, resolve: impl FnOnce() -> *mut c_void) -> *mut c_void {
    let subs = unload_count();
    let hit = with_shim_lock(|| {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if cache.subs != subs {
            cache.subs = subs;
            cache.entries.clear();
            cache.companions.clear();
        }
        let list = if companion { &cache.companions } else { &cache.entries };
        list.iter()
            .find(|(k, s, _)| *k == key && *s == sym)
            .map(|&(_, _, real)| real)
    })
    .flatten();
    if let Some(real) = hit {
        return real as *mut c_void;
    }
    let real = resolve();
    with_shim_lock(|| {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        let list = if companion {
            &mut cache.companions
        } else {
            &mut cache.entries
        };
        if list.len() >= CACHE_LIMIT {
            list.clear();
        }
        list.push((key, sym, real as usize));
    });
    real
}

/// `dlsym` in the caller's own dependency scope, else the next definition.
fn resolve(caller: *const c_void, name: &CStr) -> *mut c_void {
    let from_caller = object_of(caller).map_or(std::ptr::null_mut(), |path| lookup_in(&path, name));
    if !from_caller.is_null() && !is_own(from_caller) {
        return from_caller;
    }
    let next = crate::front::front().map_or(std::ptr::null_mut(), |front| front.dlsym_next(name));
    if !next.is_null() && !is_own(next) {
        return next;
    }
    // A tail call hides the real caller: libssl's `SSL_CTX_load_verify_dir`
    // jumps to `X509_STORE_load_path`, so the return address is Qt's, whose
    // scope has no libcrypto when Qt `dlopen`ed it `RTLD_LOCAL`. Then the
    // loaded objects that define the function are the candidates; with one
    // it is unambiguous, with several (two OpenSSLs that both have it) the
    // first loaded is taken and that is said once.
    let candidates = defining_objects(name);
    if candidates.len() > 1 {
        log_ambiguity(name, candidates.len());
    }
    candidates.first().copied().unwrap_or(std::ptr::null_mut())
}

/// Every distinct definition of `name` among the loaded objects, in load order.
fn defining_objects(name: &CStr) -> Vec<*mut c_void> {
    unsafe extern "C" fn collect(info: *mut libc::dl_phdr_info, _size: usize, out: *mut c_void) -> libc::c_int {
        // SAFETY: glibc passes a valid dl_phdr_info; `out` is our Vec.
        let (info, names) = unsafe { (&*info, &mut *(out as *mut Vec<std::ffi::CString>)) };
        if !info.dlpi_name.is_null() {
            // SAFETY: dlpi_name is a NUL-terminated string owned by the loader; copied at once.
            let name = unsafe { CStr::from_ptr(info.dlpi_name) };
            if !name.to_bytes().is_empty() {
                names.push(name.to_owned());
            }
        }
        0
    }
    let mut objects: Vec<std::ffi::CString> = Vec::new();
    // SAFETY: the callback only copies names; dlopen is called after the walk,
    // never inside it (the walk holds the loader's lock).
    unsafe { libc::dl_iterate_phdr(Some(collect), &mut objects as *mut _ as *mut c_void) };
    let mut found: Vec<*mut c_void> = Vec::new();
    for object in &objects {
        let p = lookup_in(object, name);
        if !p.is_null() && !is_own(p) && !found.iter().any(|&q| object_base(q) == object_base(p)) {
            found.push(p);
        }
    }
    found
}

fn log_ambiguity(name: &CStr, count: usize) {
    crate::lock::with_shim_lock(|| {
        let _ = crate::state::shim();
        crate::logger::emit(&cafix::record::Record::new(
            cafix::config::Level::Debug,
            "ambiguous-caller",
            format!(
                "{}: called through a tail call and {count} loaded libraries define it; using the first loaded",
                name.to_string_lossy()
            ),
        ));
    });
}

/// Is `p` one of cafix's own functions: in the engine, or in libcafix.so,
/// whose trampolines lead back here?
fn is_own(p: *mut c_void) -> bool {
    if p.is_null() {
        return false;
    }
    // One walk of the loaded objects for all three addresses.
    let front = crate::front::front();
    let anchor = front.map_or(0, |front| front.anchor);
    let [base, engine, front_base] = object_bases([p as usize, is_own as *const () as usize, anchor]);
    base == engine || (front.is_some() && base == front_base)
}

/// Whether `a` and `b` lie in the same loaded object (a call from inside
/// the library that defines `b`).
pub fn same_object(a: *const c_void, b: *mut c_void) -> bool {
    let [base_a, base_b] = object_bases([a as usize, b as usize]);
    base_b != 0 && base_a == base_b
}

/// The load address of the object containing `p` (0: none).
pub(crate) fn object_base(p: *mut c_void) -> usize {
    let [base] = object_bases([p as usize]);
    base
}

/// The file name of the loaded object containing `addr`, as `dladdr` names
/// it: the loader's name of the object, `argv[0]` for the main program.
pub fn object_of(addr: *const c_void) -> Option<std::ffi::CString> {
    let mut query = NameQuery {
        addr: addr as usize,
        seen: 0,
        found: None,
    };
    // SAFETY: the callback only reads the info glibc hands it and writes our
    // local; it neither loads nor unloads anything.
    unsafe { libc::dl_iterate_phdr(Some(name_of_containing), &mut query as *mut NameQuery as *mut c_void) };
    match query.found? {
        Found::Named(name) => Some(name),
        // dladdr gives the main program's `argv[0]` (glibc's `_dl_argv[0]`).
        Found::MainProgram => {
            use std::os::unix::ffi::OsStringExt;
            let argv0 = std::env::args_os().next()?.into_vec();
            std::ffi::CString::new(argv0)
                .ok()
                .filter(|name| !name.as_bytes().is_empty())
        }
    }
}

/// Whether a loaded object's file is named `file_name` (its last path
/// component: `libjvm.so`), in one walk of the loaded objects that stops at
/// the first match.
pub fn is_loaded(file_name: &[u8]) -> bool {
    struct Query<'a> {
        file_name: &'a [u8],
        found: bool,
    }
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> libc::c_int {
        // SAFETY: glibc passes a valid dl_phdr_info; `data` is our Query.
        let (info, query) = unsafe { (&*info, &mut *(data as *mut Query)) };
        if info.dlpi_name.is_null() {
            return 0;
        }
        // SAFETY: a NUL-terminated string owned by the loader, valid during the walk.
        let path = unsafe { CStr::from_ptr(info.dlpi_name) }.to_bytes();
        // The main program's name is empty: it is no file name.
        query.found = !path.is_empty() && path.rsplit(|&b| b == b'/').next() == Some(query.file_name);
        libc::c_int::from(query.found)
    }
    let mut query = Query {
        file_name,
        found: false,
    };
    // SAFETY: the callback only reads the info glibc hands it and writes our
    // local; it neither loads nor unloads anything.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut query as *mut Query as *mut c_void) };
    query.found
}

// Which object an address lies in, without `dladdr`: glibc's `dladdr` finds
// the object by its `PT_LOAD` segments (`_dl_find_dso_for_object`) and then
// scans the object's whole symbol table for the nearest symbol, which is
// what made it expensive (~200,000 instructions in libcrypto.so.3, for every
// hooked function's first call). Only the object is needed here, so one
// `dl_iterate_phdr` walk over the segments answers, for a few instructions
// per loaded object, with the same object and the same name.

/// The lowest loaded address of the object that contains each address (0:
/// in no loaded object), in one walk; two addresses are in the same object
/// when their bases are equal.
fn object_bases<const N: usize>(addrs: [usize; N]) -> [usize; N] {
    let mut query = BaseQuery { addrs, bases: [0; N] };
    // SAFETY: the callback only reads the info glibc hands it and writes our
    // local; it neither loads nor unloads anything.
    unsafe {
        libc::dl_iterate_phdr(
            Some(bases_of_containing::<N>),
            &mut query as *mut BaseQuery<N> as *mut c_void,
        )
    };
    query.bases
}

struct BaseQuery<const N: usize> {
    addrs: [usize; N],
    bases: [usize; N],
}

enum Found {
    Named(std::ffi::CString),
    MainProgram,
}

struct NameQuery {
    addr: usize,
    /// Objects visited so far: the first one is the main program.
    seen: usize,
    found: Option<Found>,
}

/// The `PT_LOAD` segments of the object `info` describes, as address ranges.
///
/// # Safety
/// `info` is what glibc handed a `dl_iterate_phdr` callback.
unsafe fn load_segments(info: &libc::dl_phdr_info) -> impl Iterator<Item = (usize, usize)> + '_ {
    // Elf64_Phdr or Elf32_Phdr, as the target's `dl_phdr_info` says.
    let phdrs: &[_] = if info.dlpi_phdr.is_null() {
        &[]
    } else {
        // SAFETY: glibc's `dlpi_phdr` points at `dlpi_phnum` program headers
        // of a loaded object, which stays loaded during the walk.
        unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
    };
    let bias = info.dlpi_addr as usize;
    phdrs.iter().filter(|ph| ph.p_type == libc::PT_LOAD).map(move |ph| {
        let start = bias.wrapping_add(ph.p_vaddr as usize);
        (start, start.wrapping_add(ph.p_memsz as usize))
    })
}

unsafe extern "C" fn bases_of_containing<const N: usize>(
    info: *mut libc::dl_phdr_info,
    _size: usize,
    out: *mut c_void,
) -> libc::c_int {
    // SAFETY: glibc passes a valid dl_phdr_info; `out` is our BaseQuery<N>.
    let (info, query) = unsafe { (&*info, &mut *(out as *mut BaseQuery<N>)) };
    // SAFETY: `info` came from glibc's walk.
    let lowest = unsafe { load_segments(info) }
        .map(|(start, _)| start)
        .min()
        .unwrap_or(0);
    // SAFETY: as above.
    for (start, end) in unsafe { load_segments(info) } {
        for (addr, base) in query.addrs.iter().zip(query.bases.iter_mut()) {
            if *base == 0 && (start..end).contains(addr) {
                *base = lowest;
            }
        }
    }
    // Stop once every address has its object.
    libc::c_int::from(query.bases.iter().all(|&b| b != 0))
}

unsafe extern "C" fn name_of_containing(info: *mut libc::dl_phdr_info, _size: usize, out: *mut c_void) -> libc::c_int {
    // SAFETY: glibc passes a valid dl_phdr_info; `out` is our NameQuery.
    let (info, query) = unsafe { (&*info, &mut *(out as *mut NameQuery)) };
    let main_program = query.seen == 0;
    query.seen += 1;
    // SAFETY: `info` came from glibc's walk.
    if !unsafe { load_segments(info) }.any(|(start, end)| (start..end).contains(&query.addr)) {
        return 0;
    }
    let name = if info.dlpi_name.is_null() {
        c"".to_owned()
    } else {
        // SAFETY: dlpi_name is a NUL-terminated string owned by the loader; copied at once.
        unsafe { CStr::from_ptr(info.dlpi_name) }.to_owned()
    };
    query.found = if !name.as_bytes().is_empty() {
        Some(Found::Named(name))
    } else if main_program {
        Some(Found::MainProgram)
    } else {
        None
    };
    1
}

#[cfg(test)]
mod object_lookup_tests {
    use std::ffi::{c_void, CStr, CString};

    /// What `dladdr` says: the name (`None` when empty) and the base.
    fn dladdr(addr: *const c_void) -> (Option<CString>, usize) {
        // SAFETY: all-zero is a valid Dl_info; dladdr fills it or returns 0.
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: dladdr accepts any address.
        if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
            return (None, 0);
        }
        // SAFETY: a NUL-terminated string owned by the loader.
        let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_owned();
        ((!name.as_bytes().is_empty()).then_some(name), info.dli_fbase as usize)
    }

    #[test]
    fn the_segment_walk_finds_what_dladdr_finds() {
        let on_stack = 0u8;
        let addrs: [*const c_void; 7] = [
            libc::strlen as *const c_void,           // libc
            libc::dl_iterate_phdr as *const c_void,  // libc too
            super::object_of as *const c_void,       // this test program (the main program)
            dladdr as *const c_void,                 // the same object
            std::ptr::null(),                        // nothing
            &on_stack as *const u8 as *const c_void, // the stack: in no object
            libc::dlopen as *const c_void,
        ];
        for &a in &addrs {
            assert_eq!(super::object_of(a), dladdr(a).0, "name of {a:?}");
        }
        assert!(super::object_of(libc::strlen as *const c_void).is_some());
        let libc_name = super::object_of(libc::strlen as *const c_void).unwrap();
        let libc_file = libc_name.as_bytes().rsplit(|&b| b == b'/').next().unwrap();
        assert!(super::is_loaded(libc_file), "{libc_name:?}");
        assert!(!super::is_loaded(b"libjvm.so"));
        assert!(!super::is_loaded(b""), "the main program's empty name is no file name");
        assert_eq!(super::object_base(std::ptr::null_mut()), 0);
        for &a in &addrs {
            for &b in &addrs {
                let same = super::object_base(a as *mut c_void) == super::object_base(b as *mut c_void);
                let (_, base_a) = dladdr(a);
                assert_eq!(same, base_a == dladdr(b).1, "{a:?} and {b:?}");
            }
        }
    }
}

/// `dlsym` in the scope of an already loaded object (never loads anything).
pub fn lookup_in(object: &CStr, name: &CStr) -> *mut c_void {
    let [p] = lookup_all_in(object, [name]);
    p
}

/// [`lookup_in`] for several names, with one handle.
pub fn lookup_all_in<const N: usize>(object: &CStr, names: [&CStr; N]) -> [*mut c_void; N] {
    let mut found = [std::ptr::null_mut(); N];
    // SAFETY: RTLD_NOLOAD only returns a handle to an object already loaded.
    let handle = unsafe { libc::dlopen(object.as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_LAZY) };
    if handle.is_null() {
        return found;
    }
    for (p, name) in found.iter_mut().zip(names) {
        // SAFETY: a valid handle and a NUL-terminated name.
        *p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    }
    // SAFETY: balances the reference dlopen took; the object stays loaded
    // because whoever loaded it still holds theirs.
    unsafe { libc::dlclose(handle) };
    found
}

#[cfg(test)]
mod tests {
    use super::Sym;

    #[test]
    fn symbols_are_named_in_order() {
        for (sym, name) in [
            (Sym::VerifyCert, "X509_verify_cert"),
            (Sym::StoreLoadPath, "X509_STORE_load_path"),
            (Sym::LookupCtrlEx, "X509_LOOKUP_ctrl_ex"),
            (Sym::StoreFree, "X509_STORE_free"),
            (Sym::LookupGetStore, "X509_LOOKUP_get_store"),
            (Sym::SslGetVerifyMode, "SSL_get_verify_mode"),
            (Sym::ErrPopToMark, "ERR_pop_to_mark"),
            (Sym::GetDefaultCertFile, "X509_get_default_cert_file"),
            (Sym::GnutlsVerifyPeers2, "gnutls_certificate_verify_peers2"),
            (Sym::GnutlsTrustListVerifyCrt2, "gnutls_x509_trust_list_verify_crt2"),
            (Sym::GnutlsTrustListDeinit, "gnutls_x509_trust_list_deinit"),
            (Sym::NssInit, "NSS_Init"),
            (Sym::SecmodAddNewModuleEx, "SECMOD_AddNewModuleEx"),
            (Sym::SecmodHasRootCerts, "SECMOD_HasRootCerts"),
            (Sym::PortSetError, "PORT_SetError"),
        ] {
            assert_eq!(sym.name().to_str().unwrap(), name);
        }
    }
}
