//! The few system calls the front makes itself, without libc's `open`/`stat`
//! symbols (which are its own hooks).

use core::ffi::c_int;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// The errno of the calling thread.
#[inline]
pub fn errno() -> c_int {
    // SAFETY: __errno_location always returns the thread's errno slot.
    unsafe { *libc::__errno_location() }
}

#[inline]
pub fn set_errno(value: c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = value };
}

pub fn gettid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as u32 }
}

/// Reads the first `buf.len()` bytes of the file at `path` (raw system
/// calls: libc's `open` is this object's own hook). False if it cannot.
pub fn read_start(path: &core::ffi::CStr, buf: &mut [u8]) -> bool {
    // SAFETY: openat with a NUL-terminated path; the result is ours or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if fd < 0 {
        return false;
    }
    let mut filled = 0;
    while filled < buf.len() {
        let rest = buf.get_mut(filled..).unwrap_or(&mut []);
        // SAFETY: reading into a valid slice from our descriptor.
        let n = unsafe { libc::syscall(libc::SYS_read, fd, rest.as_mut_ptr(), rest.len()) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    // SAFETY: closing the descriptor opened above, once.
    unsafe { libc::syscall(libc::SYS_close, fd) };
    filled == buf.len()
}

/// Sleeps about `micros` microseconds (raw nanosleep: no cancellation point).
pub fn sleep_micros(micros: u32) {
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: micros as libc::c_long * 1000,
    };
    // SAFETY: a valid timespec; the remainder pointer may be null.
    unsafe {
        libc::syscall(
            libc::SYS_nanosleep,
            &ts as *const libc::timespec,
            core::ptr::null_mut::<libc::timespec>(),
        )
    };
}

/// The file behind fd 2 when the library was loaded (device, inode), or 0s
/// if fd 2 was closed then. Handed to the engine, whose log lines go there.
static STDERR_AT_LOAD: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn identity_of_fd2() -> Option<(u64, u64)> {
    // 32-bit targets: `fstat64`, whose inode number does not overflow.
    #[cfg(target_pointer_width = "64")]
    use libc::{fstat, stat};
    #[cfg(target_pointer_width = "32")]
    use libc::{fstat64 as fstat, stat64 as stat};
    // SAFETY: all-zero is a valid `struct stat`; fstat only fills it.
    let mut st: stat = unsafe { core::mem::zeroed() };
    // SAFETY: fstat on a descriptor number has no memory effects beyond `st`.
    (unsafe { fstat(2, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

pub fn remember_stderr() {
    if let Some((dev, ino)) = identity_of_fd2() {
        STDERR_AT_LOAD[0].store(dev, Ordering::Relaxed);
        STDERR_AT_LOAD[1].store(ino, Ordering::Relaxed);
    }
}

pub fn stderr_at_load() -> (u64, u64) {
    (
        STDERR_AT_LOAD[0].load(Ordering::Relaxed),
        STDERR_AT_LOAD[1].load(Ordering::Relaxed),
    )
}

/// The environment the process started with (never freed by libc).
static INITIAL_ENVIRONMENT: AtomicPtr<*const u8> = AtomicPtr::new(core::ptr::null_mut());

pub fn remember_environment(envp: *const *const u8) {
    INITIAL_ENVIRONMENT.store(envp as *mut *const u8, Ordering::Relaxed);
}

/// The value of `name=` (with the `=`) in the environment the process
/// started with, without reading or changing the live one.
#[cfg(not(test))]
pub fn initial_env(name_eq: &[u8]) -> Option<&'static [u8]> {
    let mut entry = INITIAL_ENVIRONMENT.load(Ordering::Relaxed) as *const *const u8;
    if entry.is_null() {
        return None;
    }
    loop {
        // SAFETY: the initial environment is a NULL-terminated array of
        // NUL-terminated strings that lives as long as the process.
        let var = unsafe { *entry };
        if var.is_null() {
            return None;
        }
        // SAFETY: as above.
        let var = unsafe { core::ffi::CStr::from_ptr(var.cast()) }.to_bytes();
        if let Some(value) = var.strip_prefix(name_eq) {
            return Some(value.trim_ascii());
        }
        // SAFETY: not past the terminating NULL, which was checked above.
        entry = unsafe { entry.add(1) };
    }
}

/// Is `value` one of `words`, case ignored?
#[cfg(not(test))]
pub fn is_one_of(value: &[u8], words: &[&[u8]]) -> bool {
    words.iter().any(|w| value.eq_ignore_ascii_case(w))
}

/// Did the process start with `CAFIX_LOG` set to `off` (or `none`, `0`), as
/// the engine's configuration reads it?
#[cfg(not(test))]
fn logging_off() -> bool {
    initial_env(b"CAFIX_LOG=").is_some_and(|v| is_one_of(v, &[b"off", b"none", b"0"]))
}

/// `value` in decimal, in the end of `buf`.
#[cfg(not(test))]
fn decimal(mut value: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 || start == 0 {
            return &buf[start..];
        }
    }
}

/// Writes `cafix[<pid>]: ` and `parts` to stderr as one line (the format of
/// the engine's text records), if fd 2 is still the stderr of load
/// time (never into a file the program opened as fd 2 later). For the front's
/// own rare messages (the engine cannot be loaded); the engine does the rest.
#[cfg(not(test))]
pub fn say(parts: &[&[u8]]) {
    let at_load = stderr_at_load();
    if at_load == (0, 0) || identity_of_fd2() != Some(at_load) || logging_off() {
        return;
    }
    let mut line = [0u8; 1024];
    let mut len = 0;
    let mut pid_digits = [0u8; 20];
    // SAFETY: getpid has no arguments and cannot fail.
    let pid = decimal(unsafe { libc::syscall(libc::SYS_getpid) } as u64, &mut pid_digits);
    for part in [b"cafix[".as_slice(), pid, b"]: "].iter().chain(parts) {
        for &b in *part {
            if let Some(slot) = line.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
    }
    let end = len.min(line.len() - 1);
    if let Some(last) = line.get_mut(end) {
        *last = b'\n';
    }
    let mut written = 0;
    while written <= end {
        let rest = line.get(written..=end).unwrap_or(&[]);
        // SAFETY: writing from a valid slice.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return;
        }
        written += n as usize;
    }
}
