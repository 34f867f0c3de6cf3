//! cafix's PKCS #11 module: one slot, one read-only token, the objects of
//! `cafix::nss_token` (the local CAs as certificates and NSS trust
//! objects), in memory.
//!
//! The engine exports [`C_GetFunctionList`], so NSS loads the module from
//! the engine's own file (`SECMOD_LoadUserModule` with `library=` the
//! engine's path; the engine is already loaded, `RTLD_LOCAL`, so `dlopen`
//! only takes another reference). What is served is what [`offer`] was
//! given before NSS initialises the module; [`C_Initialize`] takes it. The
//! token has no mechanisms, no keys, no login and no way to write: every
//! function a read-only certificate store does not need answers
//! `CKR_FUNCTION_NOT_SUPPORTED`. Nothing here panics across the boundary:
//! each function runs with unwinding caught and answers
//! `CKR_GENERAL_ERROR` if it would.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use cafix::nss_token::{TokenObject, TOKEN_LABEL};
use cryptoki_sys::*;

/// The one slot's ID.
const SLOT: CK_SLOT_ID = 1;

/// The objects NSS gets when it next initialises the module.
static OFFERED: Mutex<Option<Arc<[TokenObject]>>> = Mutex::new(None);

/// The module between `C_Initialize` and `C_Finalize`.
struct Module {
    objects: Arc<[TokenObject]>,
    /// Open sessions: the handles a search found and not yet returned (None:
    /// no search under way).
    sessions: BTreeMap<CK_SESSION_HANDLE, Option<Vec<CK_OBJECT_HANDLE>>>,
    next_session: CK_SESSION_HANDLE,
}

static MODULE: Mutex<Option<Module>> = Mutex::new(None);

/// What the token serves from the next `C_Initialize` on.
pub fn offer(objects: Vec<TokenObject>) {
    *lock(&OFFERED) = Some(objects.into());
}

/// Whether NSS holds the module initialised (in any NSS of the process).
pub fn initialized() -> bool {
    lock(&MODULE).is_some()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with unwinding caught: a panic is `CKR_GENERAL_ERROR`.
fn guarded(f: impl FnOnce() -> CK_RV) -> CK_RV {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(CKR_GENERAL_ERROR)
}

/// Runs `f` on the initialised module.
fn with_module(f: impl FnOnce(&mut Module) -> CK_RV) -> CK_RV {
    guarded(|| match lock(&MODULE).as_mut() {
        Some(module) => f(module),
        None => CKR_CRYPTOKI_NOT_INITIALIZED,
    })
}

/// Runs `f` on session `session` of the initialised module.
fn with_session(
    session: CK_SESSION_HANDLE,
    f: impl FnOnce(&[TokenObject], &mut Option<Vec<CK_OBJECT_HANDLE>>) -> CK_RV,
) -> CK_RV {
    with_module(|module| match module.sessions.get_mut(&session) {
        Some(search) => f(&module.objects, search),
        None => CKR_SESSION_HANDLE_INVALID,
    })
}

/// `text` in a blank-padded PKCS #11 string field.
fn padded<const N: usize>(text: &str) -> [CK_UTF8CHAR; N] {
    let mut field = [b' '; N];
    for (slot, byte) in field.iter_mut().zip(text.bytes()) {
        *slot = byte;
    }
    field
}

/// The module's version (the engine's), and PKCS #11 2.40.
const VERSION: CK_VERSION = CK_VERSION { major: 0, minor: 1 };
const CRYPTOKI: CK_VERSION = CK_VERSION { major: 2, minor: 40 };

/// A PKCS #11 function this token does not provide, for any signature.
trait NotSupported {
    const NOT_SUPPORTED: Self;
}

macro_rules! not_supported {
    ($($arg:ident),*) => {
        impl<$($arg),*> NotSupported for Option<unsafe extern "C" fn($($arg),*) -> CK_RV> {
            const NOT_SUPPORTED: Self = {
                #[allow(clippy::too_many_arguments)]
                unsafe extern "C" fn not_supported<$($arg),*>($(_: $arg),*) -> CK_RV {
                    CKR_FUNCTION_NOT_SUPPORTED
                }
                Some(not_supported::<$($arg),*>)
            };
        }
    };
}

not_supported!();
not_supported!(A);
not_supported!(A, B);
not_supported!(A, B, C);
not_supported!(A, B, C, D);
not_supported!(A, B, C, D, E);
not_supported!(A, B, C, D, E, F);
not_supported!(A, B, C, D, E, F, G);
not_supported!(A, B, C, D, E, F, G, H);
not_supported!(A, B, C, D, E, F, G, H, I);

static FUNCTIONS: CK_FUNCTION_LIST = CK_FUNCTION_LIST {
    version: CRYPTOKI,
    C_Initialize: Some(c_initialize),
    C_Finalize: Some(c_finalize),
    C_GetInfo: Some(c_get_info),
    C_GetFunctionList: Some(C_GetFunctionList),
    C_GetSlotList: Some(c_get_slot_list),
    C_GetSlotInfo: Some(c_get_slot_info),
    C_GetTokenInfo: Some(c_get_token_info),
    C_GetMechanismList: Some(c_get_mechanism_list),
    C_GetMechanismInfo: NotSupported::NOT_SUPPORTED,
    C_InitToken: NotSupported::NOT_SUPPORTED,
    C_InitPIN: NotSupported::NOT_SUPPORTED,
    C_SetPIN: NotSupported::NOT_SUPPORTED,
    C_OpenSession: Some(c_open_session),
    C_CloseSession: Some(c_close_session),
    C_CloseAllSessions: Some(c_close_all_sessions),
    C_GetSessionInfo: Some(c_get_session_info),
    C_GetOperationState: NotSupported::NOT_SUPPORTED,
    C_SetOperationState: NotSupported::NOT_SUPPORTED,
    C_Login: NotSupported::NOT_SUPPORTED,
    C_Logout: NotSupported::NOT_SUPPORTED,
    C_CreateObject: NotSupported::NOT_SUPPORTED,
    C_CopyObject: NotSupported::NOT_SUPPORTED,
    C_DestroyObject: NotSupported::NOT_SUPPORTED,
    C_GetObjectSize: NotSupported::NOT_SUPPORTED,
    C_GetAttributeValue: Some(c_get_attribute_value),
    C_SetAttributeValue: NotSupported::NOT_SUPPORTED,
    C_FindObjectsInit: Some(c_find_objects_init),
    C_FindObjects: Some(c_find_objects),
    C_FindObjectsFinal: Some(c_find_objects_final),
    C_EncryptInit: NotSupported::NOT_SUPPORTED,
    C_Encrypt: NotSupported::NOT_SUPPORTED,
    C_EncryptUpdate: NotSupported::NOT_SUPPORTED,
    C_EncryptFinal: NotSupported::NOT_SUPPORTED,
    C_DecryptInit: NotSupported::NOT_SUPPORTED,
    C_Decrypt: NotSupported::NOT_SUPPORTED,
    C_DecryptUpdate: NotSupported::NOT_SUPPORTED,
    C_DecryptFinal: NotSupported::NOT_SUPPORTED,
    C_DigestInit: NotSupported::NOT_SUPPORTED,
    C_Digest: NotSupported::NOT_SUPPORTED,
    C_DigestUpdate: NotSupported::NOT_SUPPORTED,
    C_DigestKey: NotSupported::NOT_SUPPORTED,
    C_DigestFinal: NotSupported::NOT_SUPPORTED,
    C_SignInit: NotSupported::NOT_SUPPORTED,
    C_Sign: NotSupported::NOT_SUPPORTED,
    C_SignUpdate: NotSupported::NOT_SUPPORTED,
    C_SignFinal: NotSupported::NOT_SUPPORTED,
    C_SignRecoverInit: NotSupported::NOT_SUPPORTED,
    C_SignRecover: NotSupported::NOT_SUPPORTED,
    C_VerifyInit: NotSupported::NOT_SUPPORTED,
    C_Verify: NotSupported::NOT_SUPPORTED,
    C_VerifyUpdate: NotSupported::NOT_SUPPORTED,
    C_VerifyFinal: NotSupported::NOT_SUPPORTED,
    C_VerifyRecoverInit: NotSupported::NOT_SUPPORTED,
    C_VerifyRecover: NotSupported::NOT_SUPPORTED,
    C_DigestEncryptUpdate: NotSupported::NOT_SUPPORTED,
    C_DecryptDigestUpdate: NotSupported::NOT_SUPPORTED,
    C_SignEncryptUpdate: NotSupported::NOT_SUPPORTED,
    C_DecryptVerifyUpdate: NotSupported::NOT_SUPPORTED,
    C_GenerateKey: NotSupported::NOT_SUPPORTED,
    C_GenerateKeyPair: NotSupported::NOT_SUPPORTED,
    C_WrapKey: NotSupported::NOT_SUPPORTED,
    C_UnwrapKey: NotSupported::NOT_SUPPORTED,
    C_DeriveKey: NotSupported::NOT_SUPPORTED,
    C_SeedRandom: NotSupported::NOT_SUPPORTED,
    C_GenerateRandom: NotSupported::NOT_SUPPORTED,
    C_GetFunctionStatus: NotSupported::NOT_SUPPORTED,
    C_CancelFunction: NotSupported::NOT_SUPPORTED,
    C_WaitForSlotEvent: NotSupported::NOT_SUPPORTED,
};

/// The module's entry point, which NSS looks up in the library it loads.
///
/// # Safety
/// `list` is NULL or points to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn C_GetFunctionList(list: CK_FUNCTION_LIST_PTR_PTR) -> CK_RV {
    if list.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    // SAFETY: non-null, and the caller provides the storage; FUNCTIONS is
    // immutable for the life of the process (NSS never writes through it).
    unsafe { *list = &FUNCTIONS as *const CK_FUNCTION_LIST as CK_FUNCTION_LIST_PTR };
    CKR_OK
}

/// Any arguments are accepted: the module locks with the system's own
/// mutexes (`CKF_OS_LOCKING_OK` or not, it is safe to call from any thread).
unsafe extern "C" fn c_initialize(_args: CK_VOID_PTR) -> CK_RV {
    guarded(|| {
        let mut module = lock(&MODULE);
        if module.is_some() {
            return CKR_CRYPTOKI_ALREADY_INITIALIZED;
        }
        let objects = lock(&OFFERED).clone().unwrap_or_else(|| Arc::from(Vec::new()));
        *module = Some(Module {
            objects,
            sessions: BTreeMap::new(),
            next_session: 1,
        });
        CKR_OK
    })
}

unsafe extern "C" fn c_finalize(reserved: CK_VOID_PTR) -> CK_RV {
    if !reserved.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    guarded(|| match lock(&MODULE).take() {
        Some(_) => CKR_OK,
        None => CKR_CRYPTOKI_NOT_INITIALIZED,
    })
}

unsafe extern "C" fn c_get_info(info: CK_INFO_PTR) -> CK_RV {
    if info.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    with_module(|_| {
        let value = CK_INFO {
            cryptokiVersion: CRYPTOKI,
            manufacturerID: padded("cafix"),
            flags: 0,
            libraryDescription: padded(TOKEN_LABEL),
            libraryVersion: VERSION,
        };
        // SAFETY: non-null; the caller provides a CK_INFO.
        unsafe { info.write(value) };
        CKR_OK
    })
}

/// Writes `values` to a PKCS #11 list argument: the count alone when `list`
/// is NULL, else the values if `count` says they fit.
///
/// # Safety
/// `count` is valid; `list` is NULL or holds `*count` elements.
unsafe fn write_list<T: Copy>(values: &[T], list: *mut T, count: CK_ULONG_PTR) -> CK_RV {
    if count.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    let n = values.len() as CK_ULONG;
    // SAFETY: `count` is valid (the caller's contract), `list` holds *count
    // elements when it is not NULL, and only n ≤ *count are written.
    unsafe {
        if list.is_null() {
            *count = n;
            return CKR_OK;
        }
        if *count < n {
            *count = n;
            return CKR_BUFFER_TOO_SMALL;
        }
        std::ptr::copy_nonoverlapping(values.as_ptr(), list, values.len());
        *count = n;
    }
    CKR_OK
}

unsafe extern "C" fn c_get_slot_list(_present: CK_BBOOL, list: CK_SLOT_ID_PTR, count: CK_ULONG_PTR) -> CK_RV {
    // SAFETY: the caller's list and count, as PKCS #11 defines them.
    with_module(|_| unsafe { write_list(&[SLOT], list, count) })
}

unsafe extern "C" fn c_get_slot_info(slot: CK_SLOT_ID, info: CK_SLOT_INFO_PTR) -> CK_RV {
    if info.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    with_module(|_| {
        if slot != SLOT {
            return CKR_SLOT_ID_INVALID;
        }
        let value = CK_SLOT_INFO {
            slotDescription: padded("cafix: the administrator's local CAs, in memory"),
            manufacturerID: padded("cafix"),
            // Always present, neither removable nor hardware.
            flags: CKF_TOKEN_PRESENT,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
        };
        // SAFETY: non-null; the caller provides a CK_SLOT_INFO.
        unsafe { info.write(value) };
        CKR_OK
    })
}

unsafe extern "C" fn c_get_token_info(slot: CK_SLOT_ID, info: CK_TOKEN_INFO_PTR) -> CK_RV {
    if info.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    with_module(|module| {
        if slot != SLOT {
            return CKR_SLOT_ID_INVALID;
        }
        let value = CK_TOKEN_INFO {
            label: padded(TOKEN_LABEL),
            manufacturerID: padded("cafix"),
            model: padded("in memory"),
            serialNumber: padded("1"),
            // Read-only; no login, no PIN, no random numbers, no clock.
            flags: CKF_WRITE_PROTECTED | CKF_TOKEN_INITIALIZED,
            ulMaxSessionCount: CK_EFFECTIVELY_INFINITE,
            ulSessionCount: module.sessions.len() as CK_ULONG,
            ulMaxRwSessionCount: 0,
            ulRwSessionCount: 0,
            ulMaxPinLen: 0,
            ulMinPinLen: 0,
            ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
            ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
            ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
            hardwareVersion: VERSION,
            firmwareVersion: VERSION,
            utcTime: padded(""),
        };
        // SAFETY: non-null; the caller provides a CK_TOKEN_INFO.
        unsafe { info.write(value) };
        CKR_OK
    })
}

unsafe extern "C" fn c_get_mechanism_list(slot: CK_SLOT_ID, list: CK_MECHANISM_TYPE_PTR, count: CK_ULONG_PTR) -> CK_RV {
    with_module(|_| {
        if slot != SLOT {
            return CKR_SLOT_ID_INVALID;
        }
        // SAFETY: the caller's list and count, as PKCS #11 defines them.
        unsafe { write_list(&[], list, count) }
    })
}

unsafe extern "C" fn c_open_session(
    slot: CK_SLOT_ID,
    flags: CK_FLAGS,
    _application: CK_VOID_PTR,
    _notify: CK_NOTIFY,
    session: CK_SESSION_HANDLE_PTR,
) -> CK_RV {
    if session.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    with_module(|module| {
        if slot != SLOT {
            return CKR_SLOT_ID_INVALID;
        }
        if flags & CKF_SERIAL_SESSION == 0 {
            return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
        }
        if flags & CKF_RW_SESSION != 0 {
            return CKR_TOKEN_WRITE_PROTECTED;
        }
        let handle = module.next_session;
        module.next_session += 1;
        module.sessions.insert(handle, None);
        // SAFETY: non-null; the caller provides a CK_SESSION_HANDLE.
        unsafe { session.write(handle) };
        CKR_OK
    })
}

unsafe extern "C" fn c_close_session(session: CK_SESSION_HANDLE) -> CK_RV {
    with_module(|module| match module.sessions.remove(&session) {
        Some(_) => CKR_OK,
        None => CKR_SESSION_HANDLE_INVALID,
    })
}

unsafe extern "C" fn c_close_all_sessions(slot: CK_SLOT_ID) -> CK_RV {
    with_module(|module| {
        if slot != SLOT {
            return CKR_SLOT_ID_INVALID;
        }
        module.sessions.clear();
        CKR_OK
    })
}

unsafe extern "C" fn c_get_session_info(session: CK_SESSION_HANDLE, info: CK_SESSION_INFO_PTR) -> CK_RV {
    if info.is_null() {
        return CKR_ARGUMENTS_BAD;
    }
    with_session(session, |_, _| {
        let value = CK_SESSION_INFO {
            slotID: SLOT,
            state: CKS_RO_PUBLIC_SESSION,
            flags: CKF_SERIAL_SESSION,
            ulDeviceError: 0,
        };
        // SAFETY: non-null; the caller provides a CK_SESSION_INFO.
        unsafe { info.write(value) };
        CKR_OK
    })
}

/// The object behind `handle` (handles are indexes + 1; 0 is never one).
fn object(objects: &[TokenObject], handle: CK_OBJECT_HANDLE) -> Option<&TokenObject> {
    let index = usize::try_from(handle).ok()?.checked_sub(1)?;
    objects.get(index)
}

/// `C_GetAttributeValue`'s rules: each attribute gets its length (value
/// NULL), its value (room enough) or `CK_UNAVAILABLE_INFORMATION` (an
/// attribute the object lacks, or too little room), and the call answers
/// the last such error.
unsafe extern "C" fn c_get_attribute_value(
    session: CK_SESSION_HANDLE,
    handle: CK_OBJECT_HANDLE,
    template: CK_ATTRIBUTE_PTR,
    count: CK_ULONG,
) -> CK_RV {
    if template.is_null() && count > 0 {
        return CKR_ARGUMENTS_BAD;
    }
    with_session(session, |objects, _| {
        let Some(object) = object(objects, handle) else {
            return CKR_OBJECT_HANDLE_INVALID;
        };
        let mut rv = CKR_OK;
        for i in 0..count as usize {
            // SAFETY: the caller's template holds `count` attributes.
            let attribute = unsafe { &mut *template.add(i) };
            match object.attribute(attribute.type_) {
                None => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = CKR_ATTRIBUTE_TYPE_INVALID;
                }
                Some(value) if attribute.pValue.is_null() => attribute.ulValueLen = value.len() as CK_ULONG,
                Some(value) if (attribute.ulValueLen as usize) < value.len() => {
                    attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
                    rv = CKR_BUFFER_TOO_SMALL;
                }
                Some(value) => {
                    // SAFETY: the caller's buffer holds ulValueLen ≥ value.len() bytes.
                    unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), attribute.pValue.cast(), value.len()) };
                    attribute.ulValueLen = value.len() as CK_ULONG;
                }
            }
        }
        rv
    })
}

unsafe extern "C" fn c_find_objects_init(
    session: CK_SESSION_HANDLE,
    template: CK_ATTRIBUTE_PTR,
    count: CK_ULONG,
) -> CK_RV {
    if template.is_null() && count > 0 {
        return CKR_ARGUMENTS_BAD;
    }
    let mut wanted: Vec<(CK_ATTRIBUTE_TYPE, &[u8])> = Vec::new();
    for i in 0..count as usize {
        // SAFETY: the caller's template holds `count` attributes.
        let attribute = unsafe { &*template.add(i) };
        let value: &[u8] = if attribute.pValue.is_null() || attribute.ulValueLen == 0 {
            &[]
        } else {
            // SAFETY: the caller's value holds ulValueLen bytes for the call.
            unsafe { std::slice::from_raw_parts(attribute.pValue.cast(), attribute.ulValueLen as usize) }
        };
        wanted.push((attribute.type_, value));
    }
    with_session(session, |objects, search| {
        if search.is_some() {
            return CKR_OPERATION_ACTIVE;
        }
        let found = (1..=objects.len() as CK_OBJECT_HANDLE)
            .rev() // handed out from the end of the list
            .filter(|&h| object(objects, h).is_some_and(|o| o.matches(&wanted)))
            .collect();
        *search = Some(found);
        CKR_OK
    })
}

unsafe extern "C" fn c_find_objects(
    session: CK_SESSION_HANDLE,
    handles: CK_OBJECT_HANDLE_PTR,
    max: CK_ULONG,
    count: CK_ULONG_PTR,
) -> CK_RV {
    if count.is_null() || (handles.is_null() && max > 0) {
        return CKR_ARGUMENTS_BAD;
    }
    with_session(session, |_, search| {
        let Some(found) = search.as_mut() else {
            return CKR_OPERATION_NOT_INITIALIZED;
        };
        let mut n = 0;
        while (n as CK_ULONG) < max {
            let Some(handle) = found.pop() else { break };
            // SAFETY: the caller's array holds `max` handles; n < max.
            unsafe { handles.add(n).write(handle) };
            n += 1;
        }
        // SAFETY: non-null.
        unsafe { count.write(n as CK_ULONG) };
        CKR_OK
    })
}

unsafe extern "C" fn c_find_objects_final(session: CK_SESSION_HANDLE) -> CK_RV {
    with_session(session, |_, search| match search.take() {
        Some(_) => CKR_OK,
        None => CKR_OPERATION_NOT_INITIALIZED,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CA the library's tests use, as the token's objects.
    fn objects() -> Vec<TokenObject> {
        let pem = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/nss_token_test_ca.pem"));
        let Some(cafix::pem::PemItem::Certificate(der)) = cafix::pem::sections(pem.as_bytes()).pop() else {
            panic!("the test CA does not parse");
        };
        let (objects, refused) = cafix::nss_token::objects_for([(der.as_slice(), "Token Test")]);
        assert!(refused.is_empty());
        objects
    }

    fn functions() -> &'static CK_FUNCTION_LIST {
        let mut list: CK_FUNCTION_LIST_PTR = std::ptr::null_mut();
        // SAFETY: storage for one pointer.
        assert_eq!(unsafe { C_GetFunctionList(&mut list) }, CKR_OK);
        // SAFETY: the static list, never written.
        unsafe { &*list }
    }

    fn find(f: &CK_FUNCTION_LIST, session: CK_SESSION_HANDLE, template: &mut [CK_ATTRIBUTE]) -> Vec<CK_OBJECT_HANDLE> {
        // SAFETY (all calls): arguments as PKCS #11 defines them, all live for the call.
        unsafe {
            let init = f.C_FindObjectsInit.unwrap();
            assert_eq!(init(session, template.as_mut_ptr(), template.len() as CK_ULONG), CKR_OK);
            assert_eq!(init(session, template.as_mut_ptr(), 0), CKR_OPERATION_ACTIVE);
            let mut found = Vec::new();
            loop {
                let mut handles = [0 as CK_OBJECT_HANDLE; 1];
                let mut n: CK_ULONG = 0;
                assert_eq!(
                    f.C_FindObjects.unwrap()(session, handles.as_mut_ptr(), 1, &mut n),
                    CKR_OK
                );
                if n == 0 {
                    break;
                }
                found.push(handles[0]);
            }
            assert_eq!(f.C_FindObjectsFinal.unwrap()(session), CKR_OK);
            assert_eq!(f.C_FindObjectsFinal.unwrap()(session), CKR_OPERATION_NOT_INITIALIZED);
            found
        }
    }

    fn attribute(kind: CK_ATTRIBUTE_TYPE, value: &mut [u8]) -> CK_ATTRIBUTE {
        CK_ATTRIBUTE {
            type_: kind,
            pValue: value.as_mut_ptr().cast(),
            ulValueLen: value.len() as CK_ULONG,
        }
    }

    /// One test: the module is one per process.
    #[test]
    fn the_token_serves_what_it_was_offered_read_only() {
        let f = functions();
        // SAFETY (all calls): arguments as PKCS #11 defines them, all live for the call.
        unsafe {
            assert_eq!(
                f.C_Finalize.unwrap()(std::ptr::null_mut()),
                CKR_CRYPTOKI_NOT_INITIALIZED
            );
            offer(objects());
            assert_eq!(f.C_Initialize.unwrap()(std::ptr::null_mut()), CKR_OK);
            assert!(initialized());
            assert_eq!(
                f.C_Initialize.unwrap()(std::ptr::null_mut()),
                CKR_CRYPTOKI_ALREADY_INITIALIZED
            );

            let mut count: CK_ULONG = 0;
            assert_eq!(
                f.C_GetSlotList.unwrap()(CK_TRUE, std::ptr::null_mut(), &mut count),
                CKR_OK
            );
            assert_eq!(count, 1);
            let mut none: [CK_SLOT_ID; 0] = [];
            count = 0;
            assert_eq!(
                f.C_GetSlotList.unwrap()(CK_TRUE, none.as_mut_ptr(), &mut count),
                CKR_BUFFER_TOO_SMALL
            );
            let mut info: CK_TOKEN_INFO = std::mem::zeroed();
            assert_eq!(f.C_GetTokenInfo.unwrap()(SLOT, &mut info), CKR_OK);
            assert_eq!(info.flags & CKF_WRITE_PROTECTED, CKF_WRITE_PROTECTED);
            assert_eq!(&info.label[..15], b"cafix local CAs");
            assert_eq!(f.C_GetTokenInfo.unwrap()(SLOT + 1, &mut info), CKR_SLOT_ID_INVALID);

            let mut session: CK_SESSION_HANDLE = 0;
            let open = f.C_OpenSession.unwrap();
            let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
            assert_eq!(
                open(SLOT, flags, std::ptr::null_mut(), None, &mut session),
                CKR_TOKEN_WRITE_PROTECTED
            );
            assert_eq!(
                open(SLOT, CKF_SERIAL_SESSION, std::ptr::null_mut(), None, &mut session),
                CKR_OK
            );

            // Everything, then NSS's trust lookup: class, issuer, serial.
            assert_eq!(find(f, session, &mut []).len(), 2);
            let mut class = cafix::nss_token::ulong(cafix::nss_token::CKO_NSS_TRUST);
            let trust = find(f, session, &mut [attribute(CKA_CLASS, &mut class)]);
            assert_eq!(trust.len(), 1);

            // Length first, then the value; too small a buffer; an attribute it lacks.
            let get = f.C_GetAttributeValue.unwrap();
            let mut query = CK_ATTRIBUTE {
                type_: cafix::nss_token::CKA_TRUST_SERVER_AUTH,
                pValue: std::ptr::null_mut(),
                ulValueLen: 0,
            };
            assert_eq!(get(session, trust[0], &mut query, 1), CKR_OK);
            assert_eq!(query.ulValueLen as usize, std::mem::size_of::<CK_ULONG>());
            let mut value = vec![0u8; query.ulValueLen as usize];
            let mut query = attribute(cafix::nss_token::CKA_TRUST_SERVER_AUTH, &mut value);
            assert_eq!(get(session, trust[0], &mut query, 1), CKR_OK);
            assert_eq!(
                value,
                cafix::nss_token::ulong(cafix::nss_token::CKT_NSS_TRUSTED_DELEGATOR)
            );
            let mut small = [0u8; 1];
            let mut query = attribute(cafix::nss_token::CKA_TRUST_SERVER_AUTH, &mut small);
            assert_eq!(get(session, trust[0], &mut query, 1), CKR_BUFFER_TOO_SMALL);
            assert_eq!(query.ulValueLen, CK_UNAVAILABLE_INFORMATION);
            let mut policy = [0u8; 1];
            let mut query = attribute(cafix::nss_token::CKA_NSS_MOZILLA_CA_POLICY, &mut policy);
            assert_eq!(get(session, trust[0], &mut query, 1), CKR_ATTRIBUTE_TYPE_INVALID);
            assert_eq!(get(session, 0, &mut query, 1), CKR_OBJECT_HANDLE_INVALID);
            assert_eq!(get(session, 3, &mut query, 1), CKR_OBJECT_HANDLE_INVALID);
            assert_eq!(get(session + 100, trust[0], &mut query, 1), CKR_SESSION_HANDLE_INVALID);

            // Nothing to write, log into or compute with.
            assert_eq!(
                f.C_Login.unwrap()(session, 1, std::ptr::null_mut(), 0),
                CKR_FUNCTION_NOT_SUPPORTED
            );
            let mut created: CK_OBJECT_HANDLE = 0;
            assert_eq!(
                f.C_CreateObject.unwrap()(session, &mut query, 1, &mut created),
                CKR_FUNCTION_NOT_SUPPORTED
            );
            assert_eq!(
                f.C_DestroyObject.unwrap()(session, trust[0]),
                CKR_FUNCTION_NOT_SUPPORTED
            );

            assert_eq!(f.C_CloseSession.unwrap()(session), CKR_OK);
            assert_eq!(f.C_CloseSession.unwrap()(session), CKR_SESSION_HANDLE_INVALID);
            assert_eq!(f.C_Finalize.unwrap()(std::ptr::null_mut()), CKR_OK);
            assert!(!initialized());
            assert_eq!(
                f.C_OpenSession.unwrap()(SLOT, CKF_SERIAL_SESSION, std::ptr::null_mut(), None, &mut session),
                CKR_CRYPTOKI_NOT_INITIALIZED
            );
            // A new initialisation (NSS_Shutdown, then NSS_Init) serves again.
            assert_eq!(f.C_Initialize.unwrap()(std::ptr::null_mut()), CKR_OK);
            assert_eq!(
                open(SLOT, CKF_SERIAL_SESSION, std::ptr::null_mut(), None, &mut session),
                CKR_OK
            );
            assert_eq!(find(f, session, &mut []).len(), 2);
            assert_eq!(f.C_Finalize.unwrap()(std::ptr::null_mut()), CKR_OK);
        }
    }
}
