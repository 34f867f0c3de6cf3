//! The real libc functions behind the hooks (`hooks.rs`).
//!
//! Each hooked symbol has one [`Real`]: the next definition after
//! libcafix.so, what `dlsym(RTLD_NEXT, …)` returns. All of them are resolved
//! in the load-time constructor, by reading the symbol tables of the objects
//! loaded after the shim ([`crate::next_symbol`]; no I/O, no lock, no
//! allocation), with `dlsym` only for names that reading leaves open. So a
//! hook's fast path is one relaxed atomic load, and a signal handler never
//! meets an unresolved real (which would mean `dlsym`, not async-signal-safe,
//! inside it). Any still unresolved (a hook called before the constructor
//! ran) is resolved with `dlsym` on first use.

use core::ffi::{c_void, CStr};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};

pub struct Real {
    name: &'static CStr,
    /// The name's GNU hash, for the constructor's symbol-table walk.
    hash: u32,
    ptr: AtomicPtr<c_void>,
}

impl Real {
    pub const fn new(name: &'static CStr) -> Real {
        Real {
            name,
            hash: cafix_common::elf_lookup::gnu_hash(name.to_bytes()),
            ptr: AtomicPtr::new(null_mut()),
        }
    }

    #[cfg(test)]
    pub fn name(&self) -> &'static CStr {
        self.name
    }

    /// The name without its NUL, and its GNU hash.
    pub fn key(&self) -> (&'static [u8], u32) {
        (self.name.to_bytes(), self.hash)
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

/// Declares the `Real` of each hooked function and a list of them (`$list`)
/// the constructor walks.
macro_rules! reals {
    ($list:ident { $($ident:ident = $name:literal;)* }) => {
        $(pub static $ident: Real = Real::new($name);)*
        pub static $list: [&Real; [$(stringify!($ident)),*].len()] = [$(&$ident),*];
    };
}

reals! { ALL {
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
    GETENV = c"getenv";
}}

/// Resolved on first use only: `getauxval`, for the rare slow path of the
/// `getenv` hook (an import of the front would be looked up by the loader
/// in every process, ~250 instructions each).
pub static GETAUXVAL: Real = Real::new(c"getauxval");

// 32-bit targets: the stat family of programs built with `_TIME_BITS=64`
// (glibc 2.34+; Debian 13's armhf), whose buffer is `struct __stat64_t64`.
#[cfg(target_pointer_width = "32")]
reals! { TIME64 {
    STAT64_TIME64 = c"__stat64_time64";
    LSTAT64_TIME64 = c"__lstat64_time64";
    FSTATAT64_TIME64 = c"__fstatat64_time64";
}}
#[cfg(target_pointer_width = "64")]
pub static TIME64: [&Real; 0] = [];

/// Every real function: [`ALL`], then [`TIME64`].
fn every() -> impl Iterator<Item = &'static Real> {
    ALL.iter().chain(TIME64.iter()).copied()
}

/// At most this many names (what `next_symbol::resolve` walks for at once).
const MAX_REALS: usize = 32;
const _: () = assert!(ALL.len() + TIME64.len() <= MAX_REALS);

/// Resolves every real function; called once from the constructor.
pub fn resolve_all() {
    let mut keys: [(&[u8], u32); MAX_REALS] = [(&[], 0); MAX_REALS];
    let mut n = 0;
    for (key, real) in keys.iter_mut().zip(every()) {
        *key = real.key();
        n += 1;
    }
    let mut found = [None; MAX_REALS];
    crate::next_symbol::resolve(keys.get(..n).unwrap_or(&[]), found.get_mut(..n).unwrap_or(&mut []));
    for (real, found) in every().zip(found) {
        match found {
            Some(p) => real.ptr.store(p, Ordering::Relaxed),
            None => {
                real.get();
            }
        }
    }
}
