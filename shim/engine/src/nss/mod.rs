//! NSS programs get the administrator's local CAs as a read-only PKCS #11
//! token held in memory (`token.rs`, its content `cafix::nss_token`).
//!
//! The NSS hooks (`hooks/nss.rs`) call [`after_init_or_load`] after the
//! program initialised NSS (`NSS_Init`, `NSS_InitReadWrite`,
//! `NSS_Initialize`, `NSS_InitContext`) or loaded a module
//! into it (`SECMOD_LoadUserModule`, `SECMOD_LoadUserModuleWithFunction`,
//! `SECMOD_AddNewModule`, `SECMOD_AddNewModuleEx`). Through the caller's own
//! libnss3 (the functions of the library that made the real call):
//!
//! 1. **Only where trust is built in.** Unless NSS now has a built-in roots
//!    token (`SECMOD_HasRootCerts`: Chromium's "Root Certs", Firefox's
//!    "Builtin Roots Module", `tstclnt -b`), nothing happens: a program
//!    whose NSS trusts only its own database (or nothing: `NSS_NoDB_Init`,
//!    which is not even hooked, never loads built-in roots) keeps exactly
//!    that trust.
//! 2. **Once per initialisation.** If the module is already there
//!    (`SECMOD_FindModule`: a second `NSS_Init`, another module loaded
//!    after ours), nothing happens. After `NSS_Shutdown` it is gone with the
//!    rest, and the next initialisation adds it again.
//! 3. **Only local CAs the browser does not already decide on.** The local
//!    CAs (`local.rs`, the same ones OpenSSL stores and Java get) that a
//!    built-in roots token already holds are left out
//!    (`PK11_FindCertFromDERCertItem` on each such token): those are public
//!    roots whose trust (or distrust) is the program's to decide.
//! 4. **In memory.** The rest are offered to the token and NSS loads the
//!    module from the engine's own file with `SECMOD_LoadUserModule`,
//!    which adds it to NSS's list in memory and writes no database; the
//!    reference it returns is dropped at once (`SECMOD_DestroyModule`), so
//!    `NSS_Shutdown` finds no module still in use.
//!
//! NSS's error code and errno are what they were; one `info` line per NSS
//! library says what was added, and one `debug` line what was not and why.

pub mod token;

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use cafix::config::Level;
use cafix::local_cas::LocalCa;
use cafix::nss_token;
use cafix::record::Record;

use crate::libcrypto::{companion, Sym};
use crate::sys;

/// NSS's `SECItem`.
#[repr(C)]
struct SecItem {
    kind: c_int,
    data: *mut u8,
    len: c_uint,
}

/// NSS's `PK11SlotList` and `PK11SlotListElement` (secmodt.h).
#[repr(C)]
struct SlotList {
    head: *mut SlotListElement,
    tail: *mut SlotListElement,
    lock: *mut c_void,
}

#[repr(C)]
struct SlotListElement {
    next: *mut SlotListElement,
    prev: *mut SlotListElement,
    slot: *mut c_void,
    ref_count: c_int,
}

/// `CKM_INVALID_MECHANISM`: every token, whatever it can do.
const CKM_INVALID_MECHANISM: libc::c_ulong = 0xffff_ffff;

type IntOfVoid = unsafe extern "C" fn() -> c_int;
type PointerOfName = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type VoidOfPointer = unsafe extern "C" fn(*mut c_void);
type LoadUserModule = unsafe extern "C" fn(*mut c_char, *mut c_void, c_int) -> *mut c_void;
type GetAllTokens = unsafe extern "C" fn(libc::c_ulong, c_int, c_int, *mut c_void) -> *mut SlotList;
type IntOfPointer = unsafe extern "C" fn(*mut c_void) -> c_int;
type FindCertFromDer = unsafe extern "C" fn(*mut c_void, *const SecItem, *mut c_void) -> *mut c_void;
type FreeSlotList = unsafe extern "C" fn(*mut SlotList);
type SetError = unsafe extern "C" fn(c_int);

/// The libnss3 functions an attachment uses, all of one library.
struct Nss {
    has_root_certs: IntOfVoid,
    find_module: PointerOfName,
    destroy_module: VoidOfPointer,
    load_user_module: LoadUserModule,
    get_all_tokens: GetAllTokens,
    slot_has_root_certs: IntOfPointer,
    find_cert_from_der: FindCertFromDer,
    free_slot_list: FreeSlotList,
    destroy_certificate: VoidOfPointer,
    get_error: IntOfVoid,
    set_error: SetError,
}

impl Nss {
    /// The functions of the libnss3 that contains `real` (and of its own
    /// dependencies: `PORT_*` live in libnssutil3), if it has them all;
    /// looked up with one handle, only once NSS has built-in roots.
    fn of(real: *mut c_void) -> Option<Nss> {
        let library = crate::libcrypto::object_of(real)?;
        let [a, b, c, d, e, f, g, h, i, j, k] = crate::libcrypto::lookup_all_in(
            &library,
            [
                Sym::SecmodHasRootCerts,
                Sym::SecmodFindModule,
                Sym::SecmodDestroyModule,
                Sym::SecmodLoadUserModule,
                Sym::Pk11GetAllTokens,
                Sym::Pk11HasRootCerts,
                Sym::Pk11FindCertFromDerCertItem,
                Sym::Pk11FreeSlotList,
                Sym::CertDestroyCertificate,
                Sym::PortGetError,
                Sym::PortSetError,
            ]
            .map(Sym::name),
        );
        let all = [a, b, c, d, e, f, g, h, i, j, k];
        if all.iter().any(|p| p.is_null()) {
            return None;
        }
        // SAFETY: each pointer is that NSS function, with the C signature
        // its field declares (nss.h, secmod.h, pk11pub.h, cert.h, secerr.h;
        // unchanged since NSS 3.12).
        unsafe {
            Some(Nss {
                has_root_certs: std::mem::transmute::<*mut c_void, IntOfVoid>(a),
                find_module: std::mem::transmute::<*mut c_void, PointerOfName>(b),
                destroy_module: std::mem::transmute::<*mut c_void, VoidOfPointer>(c),
                load_user_module: std::mem::transmute::<*mut c_void, LoadUserModule>(d),
                get_all_tokens: std::mem::transmute::<*mut c_void, GetAllTokens>(e),
                slot_has_root_certs: std::mem::transmute::<*mut c_void, IntOfPointer>(f),
                find_cert_from_der: std::mem::transmute::<*mut c_void, FindCertFromDer>(g),
                free_slot_list: std::mem::transmute::<*mut c_void, FreeSlotList>(h),
                destroy_certificate: std::mem::transmute::<*mut c_void, VoidOfPointer>(i),
                get_error: std::mem::transmute::<*mut c_void, IntOfVoid>(j),
                set_error: std::mem::transmute::<*mut c_void, SetError>(k),
            })
        }
    }

    /// Whether the module named `nss_token::MODULE_NAME` is loaded.
    fn has_our_module(&self) -> bool {
        let Ok(name) = CString::new(nss_token::MODULE_NAME) else {
            return false;
        };
        // SAFETY: a NUL-terminated name; a found module is referenced, and
        // that reference is dropped at once.
        unsafe {
            let module = (self.find_module)(name.as_ptr());
            if module.is_null() {
                return false;
            }
            (self.destroy_module)(module);
        }
        true
    }

    /// Whether a built-in roots token of this NSS holds the certificate `der`.
    fn is_built_in_root(&self, der: &[u8]) -> bool {
        let item = SecItem {
            kind: 0, // siBuffer
            data: der.as_ptr() as *mut u8,
            len: der.len() as c_uint,
        };
        // SAFETY: NSS is initialised (the caller checked SECMOD_HasRootCerts);
        // the list is ours until freed, its elements and their slots are
        // referenced by it, and a certificate found is released at once.
        unsafe {
            let list = (self.get_all_tokens)(CKM_INVALID_MECHANISM, 0, 0, std::ptr::null_mut());
            if list.is_null() {
                return false;
            }
            let mut found = false;
            let mut element = (*list).head;
            while !element.is_null() && !found {
                let slot = (*element).slot;
                if (self.slot_has_root_certs)(slot) != 0 {
                    let cert = (self.find_cert_from_der)(slot, &item, std::ptr::null_mut());
                    if !cert.is_null() {
                        (self.destroy_certificate)(cert);
                        found = true;
                    }
                }
                element = (*element).next;
            }
            (self.free_slot_list)(list);
            found
        }
    }
}

/// What has been logged, by NSS library (load address) and event.
static TOLD: Mutex<Vec<(usize, &'static str)>> = Mutex::new(Vec::new());

/// After the program's NSS call, through the library that contains `real`:
/// add the token if NSS now has built-in roots and not yet the token.
/// Unwinding caught; errno and NSS's error code kept.
pub fn after_init_or_load(real: *mut c_void) {
    let saved = sys::errno();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let library = crate::libcrypto::object_of(real)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "libnss3".to_string());
        // The common case first, with one function: NSS has no built-in
        // roots yet (Chromium's and Firefox's initialisation, before they
        // load them), so nothing more is looked up.
        let has_roots = companion(real, Sym::SecmodHasRootCerts);
        if has_roots.is_null() {
            return;
        }
        // SAFETY: SECMOD_HasRootCerts, `PRBool (void)`, of the initialised library.
        if unsafe { std::mem::transmute::<*mut c_void, IntOfVoid>(has_roots)() } == 0 {
            tell_once(real, no_built_in_roots(&library).with("_library", library));
            return;
        }
        let Some(nss) = Nss::of(real) else {
            return;
        };
        // One attachment at a time: Firefox loads its built-in roots on a
        // thread of its own while the main thread goes on.
        let outcome = crate::lock::with_nss_lock(|| {
            // SAFETY: NSS's thread-local error code, read and put back.
            let error = unsafe { (nss.get_error)() };
            let outcome = attach(&nss, &library);
            // SAFETY: as above.
            unsafe { (nss.set_error)(error) };
            outcome
        });
        if let Some(record) = outcome {
            tell_once(real, record.with("_library", library));
        }
    }));
    sys::set_errno(saved);
}

/// Adds the token to NSS (`library`) if it belongs there; what to say about it.
fn attach(nss: &Nss, library: &str) -> Option<Record> {
    // SAFETY: a function without arguments of the initialised library.
    if unsafe { (nss.has_root_certs)() } == 0 {
        return Some(no_built_in_roots(library));
    }
    if nss.has_our_module() {
        return None;
    }
    // Empty when adding local CAs (or serving) is switched off.
    let local = crate::lock::with_shim_lock(crate::local::cas)?;
    if local.is_empty() {
        return None;
    }
    let (public, cas): (Vec<&LocalCa>, Vec<&LocalCa>) = local.cas.iter().partition(|ca| nss.is_built_in_root(&ca.der));
    let names = |cas: &[&LocalCa]| cas.iter().map(|ca| ca.short_name()).collect::<Vec<_>>().join(", ");
    if cas.is_empty() {
        return Some(Record::new(
            Level::Debug,
            "nss-local-cas-built-in",
            format!(
                "NSS's ({library}) built-in roots already hold every local CA ({}): nothing added",
                names(&public)
            ),
        ));
    }
    let (objects, refused) = nss_token::objects_for(cas.iter().map(|ca| (ca.der.as_slice(), ca.short_name())));
    let engine = crate::libcrypto::object_of(after_init_or_load as *const c_void)?;
    let spec = CString::new(nss_token::module_spec(engine.as_bytes())).ok()?;
    if !token::initialized() {
        token::offer(objects);
    }
    // SAFETY: a NUL-terminated spec NSS only reads; the module it returns
    // (loaded or not) is referenced, and that reference is dropped here.
    unsafe {
        let module = (nss.load_user_module)(spec.as_ptr() as *mut c_char, std::ptr::null_mut(), 0);
        if !module.is_null() {
            (nss.destroy_module)(module);
        }
    }
    if !nss.has_our_module() {
        // SAFETY: NSS's thread-local error code, set by the failed load.
        let error = unsafe { (nss.get_error)() };
        return Some(Record::new(
            Level::Warn,
            "nss-token-refused",
            format!("NSS ({library}) did not load cafix's token of local CAs (NSS error {error}): nothing added"),
        ));
    }
    let added: Vec<&LocalCa> = cas
        .iter()
        .copied()
        .filter(|ca| !refused.iter().any(|r| r == ca.short_name()))
        .collect();
    let mut message = format!(
        "added {} local CA(s) ({}) to NSS ({library}) as trust anchors for TLS servers, held in \
         memory (the read-only token \"{}\"; nothing is written)",
        added.len(),
        names(&added),
        nss_token::TOKEN_LABEL
    );
    if !public.is_empty() {
        message.push_str(&format!("; left to NSS's built-in roots: {}", names(&public)));
    }
    if !refused.is_empty() {
        message.push_str(&format!("; not parseable, left out: {}", refused.join(", ")));
    }
    Some(Record::new(Level::Info, "nss-local-cas-added", message).with("_added", names(&added)))
}

fn no_built_in_roots(library: &str) -> Record {
    Record::new(
        Level::Debug,
        "nss-no-built-in-roots",
        format!(
            "NSS ({library}) has no built-in roots: it trusts only what the program gave it, \
             so no local CA is added"
        ),
    )
}

/// Logs `record` unless this NSS library has had a line of its kind.
fn tell_once(real: *mut c_void, record: Record) {
    let key = (crate::libcrypto::object_base(real), record.event);
    {
        let mut told = TOLD.lock().unwrap_or_else(|e| e.into_inner());
        if told.contains(&key) {
            return;
        }
        told.push(key);
    }
    crate::lock::with_shim_lock(|| {
        let _ = crate::state::shim();
        crate::logger::emit(&record);
    });
}
