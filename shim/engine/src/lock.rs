//! The shim's one lock, around all of its shared mutable state (lazy
//! initialisation, the per-directory lookup table, store sources, the
//! resolution cache). Only slow paths and OpenSSL bookkeeping take it; the
//! file hooks' fast path never does.
//!
//! It is a plain pthread mutex so that `fork()` can be made safe: the
//! `pthread_atfork` handlers take it before the fork and release it in both
//! processes, so a child never inherits the state half-built by a thread
//! that does not exist there (a `fork` while another thread indexes the
//! bundle waits the millisecond or two that takes).
//!
//! A thread-local flag refuses re-entry (a hook called from inside the shim,
//! or from a signal handler that interrupted it): the caller then just gets
//! the real function's answer, never a deadlock.

use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

struct RawLock(UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a pthread mutex is made to be shared between threads; it is only
// used through pthread_mutex_lock/unlock.
unsafe impl Sync for RawLock {}

static SHIM_LOCK: RawLock = RawLock(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));

/// Serialises adding NSS's token (`nss.rs`): held across NSS calls, so
/// never inside the shim lock (it is taken first when both are), and taken
/// around `fork` like the shim lock, so a child never inherits it held by a
/// thread that does not exist there.
static NSS_LOCK: RawLock = RawLock(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER));

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

fn lock() {
    // SAFETY: the static mutex is initialised and lives forever.
    unsafe { libc::pthread_mutex_lock(SHIM_LOCK.0.get()) };
}

fn unlock() {
    // SAFETY: only called by the thread that holds the lock (or, after fork,
    // by the child's only thread, the one that took it in `prepare`).
    unsafe { libc::pthread_mutex_unlock(SHIM_LOCK.0.get()) };
}

/// Runs `f` holding the shim lock, with unwinding caught. `None` if this
/// thread is already inside the shim or `f` panicked.
pub fn with_shim_lock<R>(f: impl FnOnce() -> R) -> Option<R> {
    let entered = INSIDE.try_with(|inside| !inside.replace(true)).unwrap_or(false);
    if !entered {
        return None;
    }
    lock();
    let result = catch_unwind(AssertUnwindSafe(f)).ok();
    unlock();
    let _ = INSIDE.try_with(|inside| inside.set(false));
    result
}

/// Runs `f` holding the NSS lock (see [`NSS_LOCK`]); the caller catches
/// unwinding.
pub fn with_nss_lock<R>(f: impl FnOnce() -> R) -> R {
    struct Held;
    impl Drop for Held {
        fn drop(&mut self) {
            // SAFETY: the thread that locked it below unlocks it.
            unsafe { libc::pthread_mutex_unlock(NSS_LOCK.0.get()) };
        }
    }
    // SAFETY: the static mutex is initialised and lives forever.
    unsafe { libc::pthread_mutex_lock(NSS_LOCK.0.get()) };
    let _held = Held;
    f()
}

extern "C" {
    fn pthread_atfork(
        prepare: Option<extern "C" fn()>,
        parent: Option<extern "C" fn()>,
        child: Option<extern "C" fn()>,
    ) -> libc::c_int;
}

extern "C" fn before_fork() {
    // The NSS lock first: a thread adding NSS's token takes the shim lock
    // inside it.
    // SAFETY: the static mutex is initialised and lives forever.
    unsafe { libc::pthread_mutex_lock(NSS_LOCK.0.get()) };
    lock();
}

extern "C" fn after_fork() {
    unlock();
    // SAFETY: taken by this thread (in the child, its only thread) in `before_fork`.
    unsafe { libc::pthread_mutex_unlock(NSS_LOCK.0.get()) };
}

/// Registers the fork handlers; called once when the engine starts.
pub fn install_fork_handlers() {
    // SAFETY: registering plain functions that live as long as the process
    // (the engine is loaded RTLD_NODELETE and never unloaded).
    unsafe { pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork)) };
}
