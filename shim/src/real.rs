//! The real libc functions behind the hooks.
//!
//! Each hooked symbol has one [`Real`], resolved with `dlsym(RTLD_NEXT, …)`:
//! all of them in the load-time constructor (no I/O, just symbol lookups), so
//! a hook's fast path is one relaxed atomic load; any still unresolved (a hook
//! called before the constructor ran) is resolved on first use.

use std::ffi::{c_void, CStr};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

pub struct Real {
    name: &'static CStr,
    ptr: AtomicPtr<c_void>,
}

impl Real {
    pub const fn new(name: &'static CStr) -> Real {
        Real {
            name,
            ptr: AtomicPtr::new(null_mut()),
        }
    }

    /// The next definition of this symbol after libcafix.so, or null if the
    /// C library has none (e.g. `stat` before glibc 2.33).
    #[inline]
    pub fn get(&self) -> *mut c_void {
        let p = self.ptr.load(Ordering::Relaxed);
        if !p.is_null() {
            return p;
        }
        self.resolve()
    }

    #[cold]
    fn resolve(&self) -> *mut c_void {
        // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated name has no
        // preconditions; it returns null when the symbol does not exist.
        let p = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) };
        self.ptr.store(p, Ordering::Relaxed);
        p
    }
}

/// Declares the `Real` of each hooked function and the list the constructor walks.
macro_rules! reals {
    ($($ident:ident = $name:literal;)*) => {
        $(pub static $ident: Real = Real::new($name);)*
        pub static ALL: &[&Real] = &[$(&$ident),*];
    };
}

reals! {
    STAT = c"stat";
    STAT64 = c"stat64";
    LSTAT = c"lstat";
    LSTAT64 = c"lstat64";
    FSTATAT = c"fstatat";
    FSTATAT64 = c"fstatat64";
    XSTAT = c"__xstat";
    XSTAT64 = c"__xstat64";
    LXSTAT = c"__lxstat";
    LXSTAT64 = c"__lxstat64";
    FXSTATAT = c"__fxstatat";
    FXSTATAT64 = c"__fxstatat64";
    STATX = c"statx";
    ACCESS = c"access";
    FACCESSAT = c"faccessat";
    FOPEN = c"fopen";
    FOPEN64 = c"fopen64";
    OPEN = c"open";
    OPEN64 = c"open64";
    OPENAT = c"openat";
    OPENAT64 = c"openat64";
    OPEN_2 = c"__open_2";
    OPEN64_2 = c"__open64_2";
    OPENAT_2 = c"__openat_2";
    OPENAT64_2 = c"__openat64_2";
}

/// Resolves every real function; called once from the constructor.
pub fn resolve_all() {
    for real in ALL {
        real.get();
    }
}
