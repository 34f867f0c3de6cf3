//! Who failed, and with whom: the program's name and the address of the
//! server it was talking to, for a failure's record. System calls only, on
//! descriptors the program owns only to ask (`getsockopt`, `getpeername`):
//! nothing is ever written to them. Called after a failure, never on a
//! hook's fast path.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::Path;

use cafix::explain::Server;

use crate::sys;

extern "C" {
    /// glibc's basename of `argv[0]` (a pointer into the program's arguments).
    static program_invocation_short_name: *const libc::c_char;
}

/// The program's name: its `comm` (what `ps` and the journal's `_COMM`
/// show), or `argv[0]`'s base name when `comm` is the first 15 bytes of it
/// (the kernel cuts longer names).
pub fn program() -> Option<String> {
    let comm = sys::read_file(Path::new("/proc/self/comm"), 64)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim_end_matches('\n').to_string())
        .filter(|c| !c.is_empty());
    // SAFETY: glibc sets it before any constructor runs: NULL or a
    // NUL-terminated string in the process's argument area.
    let argv0 = unsafe {
        let p = program_invocation_short_name;
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned())
    }
    .filter(|a| !a.is_empty());
    match (comm, argv0) {
        (Some(comm), Some(argv0)) if comm.len() >= 15 && argv0.starts_with(&comm) => Some(argv0),
        (Some(comm), _) => Some(comm),
        (None, argv0) => argv0,
    }
}

/// The server of a connection: `name` (what verification was to match, or
/// the SNI), and the peer of the connection's descriptor `fd` when the
/// library has one, else the process's only TCP connection.
pub fn server(name: Option<String>, fd: Option<libc::c_int>) -> Server {
    let saved = sys::errno();
    let (peer, peer_guessed) = match fd.and_then(peer_of) {
        Some(peer) => (Some(peer), false),
        None => match only_tcp_peer() {
            Some(peer) => (Some(peer), true),
            None => (None, false),
        },
    };
    sys::set_errno(saved);
    Server {
        name: name.filter(|n| !n.is_empty()),
        peer,
        peer_guessed,
    }
}

/// Descriptors above this are not looked at (a truncated pointer handed
/// back as an "int" transport is not a descriptor).
const FD_LIMIT: libc::c_int = 1 << 16;

/// The IPv4 or IPv6 peer of a connected stream socket `fd`.
fn peer_of(fd: libc::c_int) -> Option<SocketAddr> {
    if !(0..FD_LIMIT).contains(&fd) {
        return None;
    }
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a local int of the given length; a descriptor
    // that is not a socket fails with ENOTSOCK.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_getsockopt,
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            &mut kind as *mut libc::c_int,
            &mut len as *mut libc::socklen_t,
        )
    };
    if rc != 0 || kind != libc::SOCK_STREAM {
        return None;
    }
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: getpeername into a local buffer of the given length.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_getpeername,
            fd,
            &mut addr as *mut libc::sockaddr_storage,
            &mut len as *mut libc::socklen_t,
        )
    };
    if rc != 0 {
        return None;
    }
    socket_addr(&addr)
}

fn socket_addr(addr: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a = unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a = unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            let port = u16::from_be(a.sin6_port);
            Some(match ip.to_ipv4_mapped() {
                Some(v4) => SocketAddr::new(IpAddr::V4(v4), port),
                None => SocketAddr::V6(SocketAddrV6::new(ip, port, 0, a.sin6_scope_id)),
            })
        }
        _ => None,
    }
}

/// How many descriptors the guess looks at, at most.
const SCAN_LIMIT: usize = 4096;

/// The peer of the process's only connected TCP socket, if it has exactly
/// one (read from `/proc/self/fd`): the server of a library whose transport
/// is not a descriptor (curl's and Qt's OpenSSL BIOs, libcurl's GnuTLS
/// transport) when the program talks to one server at a time.
fn only_tcp_peer() -> Option<SocketAddr> {
    let dir = sys::open_directory(c"/proc/self/fd")?;
    let mut found: Option<SocketAddr> = None;
    let mut seen = 0usize;
    let mut ambiguous = false;
    sys::each_directory_entry(dir, &mut |name| {
        seen += 1;
        let Some(fd) = std::str::from_utf8(name)
            .ok()
            .and_then(|n| n.parse::<libc::c_int>().ok())
        else {
            return seen < SCAN_LIMIT;
        };
        if fd == dir {
            return true;
        }
        if let Some(peer) = peer_of(fd) {
            if found.is_some_and(|f| f != peer) {
                ambiguous = true;
                return false;
            }
            found = Some(peer);
        }
        seen < SCAN_LIMIT
    });
    // SAFETY: `dir` was opened above and is closed once.
    unsafe { libc::close(dir) };
    found.filter(|_| !ambiguous && seen < SCAN_LIMIT)
}
