//! The shim's own system access, by raw system calls so that it never goes
//! through libc's `open`/`stat` symbols — which are the shim's own hooks.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use cafix::config::{MAX_CONFIG_BYTES, SYSTEM_CONFIG_PATH};

/// `AT_SECURE`: setuid, setgid or file capabilities. Read from the auxiliary
/// vector (no system call).
pub fn is_secure_exec() -> bool {
    // SAFETY: getauxval has no preconditions; it returns 0 for unknown types.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// An environment variable's bytes. `getenv` is not hooked and does no I/O.
pub fn getenv(name: &str) -> Option<Vec<u8>> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a pointer to a
    // NUL-terminated string that we copy at once.
    unsafe {
        let value = libc::getenv(name.as_ptr());
        if value.is_null() {
            None
        } else {
            Some(std::ffi::CStr::from_ptr(value).to_bytes().to_vec())
        }
    }
}

/// Runs `f` with `path` as a NUL-terminated C string. Paths shorter than
/// `SMALL_PATH` use a stack buffer, so the steady state of a lookup (which
/// may run in a signal handler) allocates nothing. `None` for inner NULs.
fn with_c_path<R>(path: &[u8], f: impl FnOnce(*const libc::c_char) -> R) -> Option<R> {
    if path.contains(&0) {
        return None;
    }
    if path.len() < SMALL_PATH {
        let mut buf = [0u8; SMALL_PATH];
        buf[..path.len()].copy_from_slice(path);
        Some(f(buf.as_ptr().cast()))
    } else {
        let owned = CString::new(path).ok()?;
        Some(f(owned.as_ptr()))
    }
}

pub const SMALL_PATH: usize = 512;

/// The `struct stat` of the kernel's `fstatat`: `newfstatat` on 64-bit
/// targets fills glibc's `struct stat`; 32-bit targets have `fstatat64`
/// and `struct stat64` instead (64-bit sizes and inode numbers).
#[cfg(target_pointer_width = "64")]
pub type Stat = libc::stat;
#[cfg(target_pointer_width = "32")]
pub type Stat = libc::stat64;
#[cfg(target_pointer_width = "64")]
const SYS_FSTATAT: libc::c_long = libc::SYS_newfstatat;
#[cfg(target_pointer_width = "32")]
const SYS_FSTATAT: libc::c_long = libc::SYS_fstatat64;

fn raw_fstatat(path: &[u8], flags: libc::c_int) -> Option<Stat> {
    // SAFETY: all-zero is a valid `struct stat`.
    let mut st: Stat = unsafe { std::mem::zeroed() };
    let rc = with_c_path(path, |p| {
        // SAFETY: the kernel's fstatat with a NUL-terminated path and a
        // buffer of its layout ([`Stat`]).
        unsafe { libc::syscall(SYS_FSTATAT, libc::AT_FDCWD, p, &mut st as *mut Stat, flags) }
    })?;
    (rc == 0).then_some(st)
}

/// `fstat` (libc's, which libcafix.so does not hook), with 64-bit sizes
/// and inode numbers on every target.
pub fn fstat(fd: libc::c_int) -> Option<Stat> {
    #[cfg(target_pointer_width = "64")]
    use libc::fstat;
    #[cfg(target_pointer_width = "32")]
    use libc::fstat64 as fstat;
    // SAFETY: all-zero is a valid `struct stat`; fstat only fills it.
    let mut st: Stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on a descriptor number has no memory effects beyond `st`.
    (unsafe { fstat(fd, &mut st) } == 0).then_some(st)
}

/// `stat` (following symbolic links).
pub fn stat(path: &Path) -> Option<Stat> {
    raw_fstatat(path.as_os_str().as_bytes(), 0)
}

/// Does the path resolve to something (a broken symlink does not)?
pub fn exists(path: &[u8]) -> bool {
    raw_fstatat(path, 0).is_some()
}

/// Is there a directory entry, even a broken symlink?
pub fn lexists(path: &[u8]) -> bool {
    raw_fstatat(path, libc::AT_SYMLINK_NOFOLLOW).is_some()
}

pub fn is_nonempty_file(path: &Path) -> bool {
    stat(path).is_some_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_size > 0)
}

fn raw_open(path: &[u8], flags: libc::c_int, mode: libc::c_uint) -> Result<libc::c_int, String> {
    let fd = with_c_path(path, |p| {
        // SAFETY: openat with a NUL-terminated path; the result is an fd we own or -1.
        unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, p, flags | libc::O_CLOEXEC, mode) }
    })
    .ok_or("path has a NUL byte")?;
    if fd < 0 {
        Err(std::io::Error::last_os_error().to_string())
    } else {
        Ok(fd as libc::c_int)
    }
}

/// Reads a whole regular file of at most `max` bytes.
pub fn read_file(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    let fd = raw_open(
        path.as_os_str().as_bytes(),
        libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK,
        0,
    )?;
    let result = read_fd(fd, max);
    // SAFETY: fd was opened above and is closed exactly once.
    unsafe { libc::close(fd) };
    result
}

fn read_fd(fd: libc::c_int, max: usize) -> Result<Vec<u8>, String> {
    let Some(st) = fstat(fd) else {
        return Err(std::io::Error::last_os_error().to_string());
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err("not a regular file".into());
    }
    if st.st_size as u64 > max as u64 {
        return Err(format!("larger than {max} bytes"));
    }
    // Straight into the buffer (no bounce buffer, no copy): room for the
    // size fstat said and one byte more, so the end is seen without growing.
    let mut out: Vec<u8> = Vec::with_capacity(st.st_size as usize + 1);
    loop {
        if out.len() == out.capacity() {
            out.reserve(16384); // the file grew since fstat
        }
        // Never more than one byte past `max`: enough to tell it was larger.
        let room = out.capacity().min(max.saturating_add(1)) - out.len();
        let spare = &mut out.spare_capacity_mut()[..room];
        // SAFETY: reading at most `room` bytes into the vector's spare capacity.
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), room) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err.to_string());
        }
        if n == 0 {
            return Ok(out);
        }
        // SAFETY: read initialised the first `n` (≤ `room`) bytes of the spare capacity.
        unsafe { out.set_len(out.len() + n as usize) };
        if out.len() > max {
            return Err(format!("larger than {max} bytes"));
        }
    }
}

/// `/etc/cafix.conf`: its text if it is a regular file owned by root, not
/// writable by group or others, at most `MAX_CONFIG_BYTES` and UTF-8.
/// `Err` says why an existing file was ignored (logged once by the caller);
/// `Ok(None)` is no file at all.
pub fn read_system_config() -> Result<Option<String>, String> {
    let path = Path::new(SYSTEM_CONFIG_PATH);
    if !lexists(SYSTEM_CONFIG_PATH.as_bytes()) {
        return Ok(None);
    }
    let ignored = |why: &str| Err(format!("{SYSTEM_CONFIG_PATH} ignored: {why}"));
    let Some(st) = stat(path) else {
        return ignored("it cannot be read");
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return ignored("not a regular file");
    }
    if st.st_uid != 0 || st.st_mode & 0o022 != 0 {
        return ignored("not owned by root, or writable by others");
    }
    match read_file(path, MAX_CONFIG_BYTES) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(_) => ignored("not UTF-8 text"),
        },
        Err(why) => ignored(&why),
    }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR and short writes;
/// whether all were written.
pub fn write_all(fd: libc::c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writing from a valid slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        if n == 0 {
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// A memfd holding `bytes`, sealed against every change and positioned at
/// its start (a served certificate; a journal record too large for a datagram).
pub fn sealed_memfd(name: &std::ffi::CStr, bytes: &[u8], cloexec: bool) -> Option<libc::c_int> {
    let flags = libc::MFD_ALLOW_SEALING | if cloexec { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: memfd_create with a NUL-terminated name; returns an fd we own or -1.
    let fd = unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) } as libc::c_int;
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is our memfd; rewinding and sealing it have no memory effects.
    let sealed = write_all(fd, bytes)
        && unsafe {
            libc::lseek(fd, 0, libc::SEEK_SET) == 0
                && libc::fcntl(
                    fd,
                    libc::F_ADD_SEALS,
                    libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL,
                ) == 0
        };
    if !sealed {
        // SAFETY: fd is ours, closed once.
        unsafe { libc::close(fd) };
        return None;
    }
    Some(fd)
}

/// Appends to a log file, opened and closed for each record: a program that
/// closes or reuses file descriptors can never have its files written.
pub fn append_to_file(path: &Path, bytes: &[u8]) -> bool {
    match raw_open(
        path.as_os_str().as_bytes(),
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NOFOLLOW,
        0o600,
    ) {
        Ok(fd) => {
            let _ = write_all(fd, bytes);
            // SAFETY: fd was opened above and is closed exactly once.
            unsafe { libc::close(fd) };
            true
        }
        Err(_) => false,
    }
}

/// A directory opened for [`each_directory_entry`]; close it with `close`.
pub fn open_directory(path: &std::ffi::CStr) -> Option<libc::c_int> {
    // SAFETY: openat of a NUL-terminated path; the result is ours or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )
    } as libc::c_int;
    (fd >= 0).then_some(fd)
}

/// Calls `f` with each entry name of the directory `fd` (`.` and `..` left
/// out) until it returns false.
pub fn each_directory_entry(fd: libc::c_int, f: &mut dyn FnMut(&[u8]) -> bool) {
    #[repr(C, align(8))]
    struct Buf([u8; 4096]);
    let mut buf = Buf([0; 4096]);
    loop {
        // SAFETY: getdents64 into our buffer of its length.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.0.as_mut_ptr(), buf.0.len()) };
        if n <= 0 {
            return;
        }
        let mut at = 0usize;
        while at + 19 < n as usize {
            // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
            let reclen = u16::from_ne_bytes([buf.0[at + 16], buf.0[at + 17]]) as usize;
            if reclen == 0 || at + reclen > n as usize {
                return;
            }
            let name = &buf.0[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." && !f(name) {
                return;
            }
            at += reclen;
        }
    }
}

/// The errno of the calling thread.
pub fn errno() -> libc::c_int {
    // SAFETY: __errno_location always returns the thread's errno slot.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(value: libc::c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = value };
}
