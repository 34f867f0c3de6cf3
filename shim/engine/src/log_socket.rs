//! Datagrams to the system's log sockets (journald's native socket,
//! `/dev/log`), by raw system calls.
//!
//! A socket is opened for each record and closed after it: the shim never
//! holds a descriptor, so a program that closes every descriptor, or
//! `dup2`s onto whatever number the shim's socket had, is never written
//! into by a later record (a descriptor kept open would need its identity
//! checked before each send, and that check races with the program's other
//! threads). The socket is non-blocking and the send is `MSG_DONTWAIT`: a
//! log daemon that does not keep up makes the record dropped (counted by
//! the logger), never the program wait. Three system calls more than a
//! kept socket (`socket`, `connect`, `close`), on a path taken once per
//! record, which failures and the rate limit keep rare.

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What became of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// The daemon is there but did not take it (its queue is full).
    Dropped,
    /// No usable socket at the path; the record is for the next destination.
    Unavailable(Unusable),
}

/// Why a socket path is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// Nothing there: the usual case where that daemon does not run.
    Missing,
    /// Something else than a socket (a regular file, a directory).
    NotASocket,
    /// A socket of another user than root or this process's.
    Owner(u32),
    /// Nobody listens (a daemon that is gone), or it cannot be reached.
    Refused,
}

impl Unusable {
    pub fn describe(self) -> String {
        match self {
            Unusable::Missing => "it does not exist".to_string(),
            Unusable::NotASocket => "it is not a socket".to_string(),
            Unusable::Owner(uid) => format!("it belongs to user {uid}, neither root nor this process's user"),
            Unusable::Refused => "nothing listens on it".to_string(),
        }
    }
}

/// What to do with a datagram too large for the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    /// journald: pass it in a sealed memfd (`SCM_RIGHTS`), as `sd_journal_sendv` does.
    Memfd,
    /// syslog: drop it.
    Drop,
}

/// Sends `datagrams` (one record) to the datagram socket at `path`.
pub fn send(path: &CStr, datagrams: &[Vec<u8>], too_large: TooLarge) -> Delivery {
    if let Err(why) = usable(path) {
        return Delivery::Unavailable(why);
    }
    let Some(fd) = connect(path) else {
        return Delivery::Unavailable(Unusable::Refused);
    };
    let mut outcome = Delivery::Sent;
    for d in datagrams {
        outcome = match send_one(fd, d) {
            Ok(()) => Delivery::Sent,
            Err(libc::EMSGSIZE | libc::ENOBUFS) if too_large == TooLarge::Memfd => {
                if send_in_memfd(fd, d) {
                    Delivery::Sent
                } else {
                    Delivery::Dropped
                }
            }
            Err(libc::ECONNREFUSED | libc::ENOTCONN | libc::ENOENT) => Delivery::Unavailable(Unusable::Refused),
            Err(_) => Delivery::Dropped,
        };
        if outcome != Delivery::Sent {
            break;
        }
    }
    // SAFETY: `fd` is the socket opened above, closed exactly once.
    unsafe { libc::close(fd) };
    outcome
}

/// A socket owned by root or by this process's (effective) user: the log
/// daemons' sockets are root's, and nobody else's socket gets records.
fn usable(path: &CStr) -> Result<(), Unusable> {
    let Some(st) = crate::sys::stat(Path::new(OsStr::from_bytes(path.to_bytes()))) else {
        return Err(Unusable::Missing);
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Unusable::NotASocket);
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if st.st_uid != 0 && st.st_uid != euid {
        return Err(Unusable::Owner(st.st_uid));
    }
    Ok(())
}

/// A non-blocking datagram socket connected to `path`.
fn connect(path: &CStr) -> Option<libc::c_int> {
    // SAFETY: all-zero is a valid `sockaddr_un`.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.to_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return None;
    }
    for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    // SAFETY: socket(2) with constant arguments; the result is ours or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_socket,
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    } as libc::c_int;
    if fd < 0 {
        return None;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes; `fd` is ours.
    let rc = unsafe { libc::syscall(libc::SYS_connect, fd, &addr as *const libc::sockaddr_un, len) };
    if rc != 0 {
        // SAFETY: `fd` is ours, closed once.
        unsafe { libc::close(fd) };
        return None;
    }
    Some(fd)
}

/// One datagram; `Err(errno)`.
fn send_one(fd: libc::c_int, data: &[u8]) -> Result<(), libc::c_int> {
    loop {
        // SAFETY: sending from a valid slice on our own connected socket.
        let n = unsafe {
            libc::syscall(
                libc::SYS_sendto,
                fd,
                data.as_ptr(),
                data.len(),
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                std::ptr::null::<libc::sockaddr>(),
                0,
            )
        };
        if n >= 0 {
            return Ok(());
        }
        match crate::sys::errno() {
            libc::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// A datagram too large for the socket, written to a sealed memfd whose
/// descriptor is sent instead (journald reads it and closes it).
fn send_in_memfd(fd: libc::c_int, data: &[u8]) -> bool {
    let Some(mem) = crate::sys::sealed_memfd(c"cafix-journal", data, true) else {
        return false;
    };
    let sent = send_descriptor(fd, mem);
    // SAFETY: `mem` is ours, closed once (the receiver has its own copy).
    unsafe { libc::close(mem) };
    sent
}

/// Sends descriptor `passed` over `fd` with `SCM_RIGHTS` and no data.
fn send_descriptor(fd: libc::c_int, passed: libc::c_int) -> bool {
    const SPACE: usize = 64;
    #[repr(C, align(8))]
    struct Control([u8; SPACE]);
    let mut control = Control([0; SPACE]);
    // SAFETY: CMSG_SPACE/CMSG_LEN only compute sizes.
    let (space, len) = unsafe {
        (
            libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) as usize,
            libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as usize,
        )
    };
    if space > SPACE {
        return false;
    }
    // SAFETY: all-zero is a valid msghdr (no name, no iovec).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer is aligned and holds one header with room
    // for one int (checked above); CMSG_FIRSTHDR points into it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() {
            return false;
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = len as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), passed);
    }
    loop {
        // SAFETY: `msg` and its control buffer are valid for the call.
        let n = unsafe {
            libc::syscall(
                libc::SYS_sendmsg,
                fd,
                &msg as *const libc::msghdr,
                libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return true;
        }
        if crate::sys::errno() != libc::EINTR {
            return false;
        }
    }
}
