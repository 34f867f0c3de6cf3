//! `--fix`: making a lookup of a missing trust location succeed on a
//! replacement, by rewriting the path argument of the system call.
//!
//! What is served is what libcafix.so serves, decided the same way:
//!
//! - a missing bundle path: the system bundle's own file;
//! - a missing `<dir>/<hash>.<n>`: the certificates of the system bundle
//!   with that subject hash that are not already one of the directory's
//!   real `<hash>.*` entries, numbered after the real entries: with `k` real
//!   entries among `<hash>.0 .. <hash>.<n-1>`, `<hash>.<n>` is the
//!   `(n-k)`th of them. Each is written once as a PEM file into a private
//!   runtime directory (mode 0700, `$XDG_RUNTIME_DIR/cafix-trace-XXXXXX` or
//!   `/tmp/cafix-trace-XXXXXX`, removed when the trace ends).
//!
//! Real entries are never hidden: the tracer checks at syscall entry that
//! the path does not resolve. Writes (`O_WRONLY`, `O_RDWR`, `O_CREAT`,
//! `O_TRUNC`, `creat`, `access(W_OK)`) and `readlink` are never redirected.
//!
//! ## Where the new path goes, and why that is safe
//!
//! The replacement path is written into the stopped thread's own stack,
//! *below* its stack pointer and below the 128-byte red zone the x86_64 ABI
//! lets leaf functions use without moving `rsp`:
//!
//! ```text
//!   rsp                  -> caller's frame (live)
//!   rsp-128 .. rsp       -> red zone (may be live in the function that made the call)
//!   addr = (rsp - 128 - len) & ~15   -> replacement path, NUL-terminated
//! ```
//!
//! Nothing of the program lives below `rsp - 128`: the thread is stopped at
//! a system call boundary, so it is not in the middle of building a frame,
//! and every thread has its own stack, so other threads never use that
//! memory. The kernel copies the path when the system call starts (before
//! it can block or be interrupted), which is before anything can push onto
//! that stack again (a signal frame is only built on the way back to user
//! space). The write is refused unless `[addr, rsp)` lies in one writable
//! mapping (`/proc/<pid>/maps`), so a thread near the end of its stack is
//! left alone (the lookup then fails as it would have).
//!
//! Only the path register is changed. It is put back at the syscall-exit
//! stop: the x86_64 system call ABI preserves `rdi`, `rsi`, `rdx`, `r10`,
//! `r8` and `r9`, and compiled code may rely on that after the `syscall`
//! instruction, so the program never sees the rewritten pointer.
//!
//! Known limits: a program calling a trust lookup from a signal handler on a
//! tiny heap-allocated alternate stack (`sigaltstack`) near its low end
//! could have up to 128 + len bytes below it overwritten (not seen in
//! practice); a process that changes its user ID to another user cannot
//! open the root-only runtime directory, and its lookups stay unfixed.

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::bundle::BundleIndex;
use crate::pem::{self, PemItem};

use super::fsview::View;
use super::mem;
use super::sys::{self, Pid};

/// The x86_64 System V red zone.
pub const RED_ZONE: u64 = 128;

/// The private runtime directory and the replacement files in it.
pub struct Fixer {
    dir: PathBuf,
    /// (subject hash, position among the bundle certificates with that
    /// hash) -> the file holding that certificate.
    files: HashMap<(u32, usize), PathBuf>,
}

impl Fixer {
    /// Creates the runtime directory (mode 0700).
    pub fn new() -> Result<Fixer, String> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute() && d.is_dir())
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let template = base.join("cafix-trace-XXXXXX");
        let mut bytes = CString::new(template.as_os_str().as_bytes())
            .map_err(|e| e.to_string())?
            .into_bytes_with_nul();
        // SAFETY: a writable NUL-terminated template.
        let r = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
        if r.is_null() {
            return Err(format!(
                "cannot create a runtime directory in {}: {}",
                base.display(),
                std::io::Error::last_os_error()
            ));
        }
        bytes.pop();
        let dir = PathBuf::from(OsStr::from_bytes(&bytes));
        Ok(Fixer {
            dir,
            files: HashMap::new(),
        })
    }

    /// The replacement for a missing `<dir>/<hash>.<index>` and a
    /// description of it, or `None` if the bundle has nothing (more) to
    /// serve under that name.
    pub fn hash_entry(
        &mut self,
        view: &View,
        dir: &[u8],
        hash: u32,
        index: u32,
        bundle: &BundleIndex,
    ) -> Result<Option<(Vec<u8>, String)>, String> {
        let entry = |i: u32| -> Vec<u8> {
            let mut p = dir.to_vec();
            if p.last() != Some(&b'/') {
                p.push(b'/');
            }
            p.extend_from_slice(format!("{hash:08x}.{i}").as_bytes());
            p
        };
        // Real entries below `index` keep their numbers; served ones follow.
        let real_below = (0..index).filter(|&i| view.exists(&entry(i))).count() as u32;
        // Certificates already in the directory are not served again.
        let mut real_ders = Vec::new();
        for i in 0..64 {
            let path = entry(i);
            if !view.lexists(&path) {
                break;
            }
            if let Ok(bytes) = view.read(&path, 1 << 20) {
                for item in pem::sections(&bytes) {
                    if let PemItem::Certificate(der) = item {
                        real_ders.push(der);
                    }
                }
            }
        }
        let candidates: Vec<(usize, &crate::bundle::CaCert)> = bundle
            .with_hash(hash)
            .iter()
            .enumerate()
            .filter(|(_, c)| !real_ders.contains(&c.der))
            .collect();
        let Some(&(position, cert)) = index.checked_sub(real_below).and_then(|i| candidates.get(i as usize)) else {
            return Ok(None);
        };
        let file = match self.files.get(&(hash, position)) {
            Some(f) => f.clone(),
            None => {
                let file = self.dir.join(format!("{hash:08x}-{position}.pem"));
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&file)
                    .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                out.write_all(&cert.pem)
                    .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                self.files.insert((hash, position), file.clone());
                file
            }
        };
        Ok(Some((
            file.as_os_str().as_bytes().to_vec(),
            format!("\"{}\" from the system bundle", cert.subject),
        )))
    }
}

impl Drop for Fixer {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Writes `path` below the red zone of thread `tid` (see the module
/// documentation) and points argument `arg` of its system call at it.
/// `regs` are the thread's registers at the syscall entry. Returns the
/// argument's original value, to be put back at the syscall exit.
pub fn redirect(tid: Pid, regs: &mut libc::user_regs_struct, arg: usize, path: &[u8]) -> Result<u64, String> {
    let mut bytes = path.to_vec();
    bytes.push(0);
    let sp = regs.rsp;
    let addr = sp
        .checked_sub(RED_ZONE + bytes.len() as u64)
        .map(|a| a & !15)
        .ok_or("the stack pointer is implausibly low")?;
    let mapping = mem::mapping_of(tid, addr)
        .map_err(|e| format!("cannot read the memory map: {e}"))?
        .ok_or("no stack below the stack pointer")?;
    if !mapping.writable || mapping.end < sp {
        return Err("no writable stack below the stack pointer".to_string());
    }
    mem::write(tid, addr, &bytes).map_err(|e| format!("cannot write into the program's stack: {e}"))?;
    let original = sys::arg(regs, arg);
    sys::set_arg(regs, arg, addr);
    sys::set_regs(tid, regs).map_err(|e| format!("cannot set the registers: {e}"))?;
    Ok(original)
}
