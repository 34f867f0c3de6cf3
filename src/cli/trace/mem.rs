//! Reading and writing a stopped tracee's memory.
//!
//! `process_vm_readv`/`writev` never split one iovec: a read that crosses
//! into an unmapped page fails as a whole. Strings are therefore read in
//! chunks that never cross a page boundary, so a path that ends just before
//! an unmapped page is still read. When the calls are unavailable (`ENOSYS`,
//! or refused), `/proc/<pid>/mem` is used instead.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::sys::Pid;

/// Longest path the kernel accepts (`PATH_MAX`, including the NUL).
pub const PATH_MAX: usize = 4096;
const PAGE: u64 = 4096;

fn vm_read(pid: Pid, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, which we own; the remote side is
    // checked by the kernel.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
            return File::open(format!("/proc/{pid}/mem"))?.read_at(buf, addr);
        }
        return Err(err);
    }
    Ok(n as usize)
}

/// Reads the NUL-terminated string at `addr` (without the NUL). Fails on
/// an unreadable address or a string of `PATH_MAX` bytes or more.
pub fn read_cstr(pid: Pid, addr: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    let mut at = addr;
    // The first chunk is small: almost every path is short.
    let mut want = 256u64;
    while out.len() < PATH_MAX {
        let to_page_end = PAGE - (at % PAGE);
        let len = want.min(to_page_end).min((PATH_MAX - out.len()) as u64) as usize;
        let mut buf = [0u8; PAGE as usize];
        let n = vm_read(pid, at, &mut buf[..len])?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        if let Some(nul) = buf[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&buf[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
        at += n as u64;
        want = PAGE;
    }
    Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
}

/// Reads `buf.len()` bytes at `addr`.
pub fn read_exact(pid: Pid, addr: u64, buf: &mut [u8]) -> io::Result<()> {
    let n = vm_read(pid, addr, buf)?;
    if n == buf.len() {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::EFAULT))
    }
}

/// Writes `bytes` at `addr` in the tracee.
pub fn write(pid: Pid, addr: u64, bytes: &[u8]) -> io::Result<()> {
    let local = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: `local` describes `bytes`, only read by the kernel.
    let n = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(format!("/proc/{pid}/mem"))?;
            return file.write_all_at(bytes, addr);
        }
        return Err(err);
    }
    if n as usize != bytes.len() {
        return Err(io::Error::from_raw_os_error(libc::EFAULT));
    }
    Ok(())
}

/// One line of `/proc/<pid>/maps`: the range and whether it is writable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub writable: bool,
}

/// The mapping of `pid` that contains `addr`.
pub fn mapping_of(pid: Pid, addr: u64) -> io::Result<Option<Mapping>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let found = parse_maps(&text).find(|m| m.start <= addr && addr < m.end);
    Ok(found)
}

fn parse_maps(text: &str) -> impl Iterator<Item = Mapping> + '_ {
    text.lines().filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?;
        Some(Mapping {
            start: u64::from_str_radix(start, 16).ok()?,
            end: u64::from_str_radix(end, 16).ok()?,
            writable: perms.as_bytes().get(1) == Some(&b'w'),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_parse() {
        let text =
            "7ffd1000-7ffd3000 rw-p 00000000 00:00 0   [stack]\n55aa0000-55aa1000 r--p 00000000 08:01 12 /bin/x\n";
        let maps: Vec<Mapping> = parse_maps(text).collect();
        assert_eq!(
            maps,
            vec![
                Mapping {
                    start: 0x7ffd1000,
                    end: 0x7ffd3000,
                    writable: true
                },
                Mapping {
                    start: 0x55aa0000,
                    end: 0x55aa1000,
                    writable: false
                },
            ]
        );
    }

    #[test]
    fn strings_are_read_across_pages_and_up_to_an_unmapped_page() {
        // Our own memory stands in for a tracee's: a string that ends exactly
        // at the end of a page followed by an unmapped page, and one that
        // crosses a page boundary.
        let pid = std::process::id() as Pid;
        // SAFETY: anonymous mapping of two pages, unmapped below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * PAGE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        } as *mut u8;
        assert!(!base.is_null() && base as isize != -1);
        let page2 = unsafe { base.add(PAGE as usize) };
        // A string ending with its NUL at the last byte of page 1 ...
        let s = b"/etc/ssl/certs/4042bcee.0";
        let start = PAGE as usize - s.len() - 1;
        unsafe {
            std::ptr::copy_nonoverlapping(s.as_ptr(), base.add(start), s.len());
            *base.add(PAGE as usize - 1) = 0;
            libc::munmap(page2.cast(), PAGE as usize);
        }
        assert_eq!(read_cstr(pid, base as u64 + start as u64).unwrap(), s);
        // ... and an unterminated one running into the unmapped page fails.
        unsafe { *base.add(PAGE as usize - 1) = b'x' };
        assert!(read_cstr(pid, base as u64 + start as u64).is_err());
        unsafe { libc::munmap(base.cast(), PAGE as usize) };

        let long: Vec<u8> = std::iter::repeat_n(b'a', 5000).chain([0]).collect();
        assert_eq!(
            read_cstr(pid, long.as_ptr() as u64).unwrap_err().raw_os_error(),
            Some(libc::ENAMETOOLONG)
        );
        let mid: Vec<u8> = std::iter::repeat_n(b'b', 3000).chain([0]).collect();
        assert_eq!(read_cstr(pid, mid.as_ptr() as u64).unwrap().len(), 3000);
    }
}
