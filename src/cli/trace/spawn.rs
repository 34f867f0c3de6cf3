//! Starting the command under the tracer.
//!
//! The parent forks; the child waits on a pipe until the parent has
//! attached with `PTRACE_SEIZE` (options, including `PTRACE_O_EXITKILL`, in
//! force from the first instruction the child runs after that), installs the
//! seccomp filter, and `execve`s the command. Everything the child does
//! between `fork` and `execve` is a raw system call on memory prepared by
//! the parent (no allocation, no lock), so forking from a multi-threaded
//! process (the test harness) is safe.
//!
//! The `PATH` search is `execvp`'s, done here so it stays async-signal-safe:
//! every candidate is tried in order, `EACCES` is remembered, and a file
//! the kernel cannot execute (`ENOEXEC`) is run with `/bin/sh` as POSIX
//! asks. The child reports a failure on a close-on-exec pipe: `F<errno>`
//! when the filter could not be installed, `E<errno>` when no candidate
//! could be executed; then it exits with 127 (not found) or 126.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use super::seccomp::{self, SockFilter, SockFprog};
use super::sys::{self, Pid};

/// The started command.
pub struct Spawned {
    pub pid: Pid,
    /// The child's report pipe (see the module documentation).
    pub report: OwnedFd,
}

/// Why the child never became the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildFailure {
    /// The seccomp filter could not be installed (errno).
    Filter(i32),
    /// `execve` failed for every candidate (errno).
    Exec(i32),
}

fn cstring(bytes: &[u8]) -> Result<CString, String> {
    CString::new(bytes).map_err(|_| format!("{:?} contains a NUL byte", String::from_utf8_lossy(bytes)))
}

/// The files `execvp` would try for `program`, in order.
pub fn candidates(program: &OsStr, path_var: Option<&OsStr>) -> Vec<Vec<u8>> {
    let name = program.as_bytes();
    if name.contains(&b'/') {
        return vec![name.to_vec()];
    }
    // glibc's default when PATH is unset.
    let path = path_var.map_or(&b"/bin:/usr/bin"[..], |p| p.as_bytes());
    path.split(|&b| b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { &b"."[..] } else { dir };
            let mut full = dir.to_vec();
            if !full.ends_with(b"/") {
                full.push(b'/');
            }
            full.extend_from_slice(name);
            full
        })
        .collect()
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: valid out array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Forks, attaches and lets the child run the command. `filter` is the
/// seccomp program, or `None` to trace every system call.
pub fn spawn(command: &[OsString], filter: Option<&[SockFilter]>) -> Result<Spawned, String> {
    let program = command.first().ok_or("no command given")?;
    if program.is_empty() {
        return Err("the command is empty".to_string());
    }
    // Everything the child needs, prepared before the fork.
    let cands: Vec<CString> = candidates(program, std::env::var_os("PATH").as_deref())
        .iter()
        .map(|c| cstring(c))
        .collect::<Result<_, _>>()?;
    let args: Vec<CString> = command
        .iter()
        .map(|a| cstring(a.as_bytes()))
        .collect::<Result<_, _>>()?;
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // `/bin/sh <candidate> args...` for ENOEXEC; slot 1 is filled in the child.
    let sh = CString::new("/bin/sh").unwrap();
    let mut sh_argv: Vec<*const libc::c_char> = vec![sh.as_ptr(), std::ptr::null()];
    sh_argv.extend(args.iter().skip(1).map(|a| a.as_ptr()));
    sh_argv.push(std::ptr::null());
    let fprog = filter.map(|f| SockFprog {
        len: f.len() as u16,
        filter: f.as_ptr(),
    });

    let (go_read, go_write) = pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;
    let (report_read, report_write) = pipe().map_err(|e| format!("cannot create a pipe: {e}"))?;

    // SAFETY: the child only makes raw system calls on memory prepared above
    // and ends in execve or _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("cannot fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: see above; never returns.
        unsafe {
            child(
                go_read.as_raw_fd(),
                report_write.as_raw_fd(),
                &cands,
                &argv,
                &mut sh_argv,
                fprog.as_ref(),
            )
        }
    }
    drop(go_read);
    drop(report_write);

    if let Err(e) = sys::seize(pid, sys::trace_options(filter.is_some())) {
        let tracer = tracer_of(pid);
        // SAFETY: our own child, still blocked on the pipe.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        return Err(seize_error(&e, tracer));
    }
    // Release the child.
    // SAFETY: writing one byte from a valid buffer.
    let n = unsafe { libc::write(go_write.as_raw_fd(), b"g".as_ptr().cast(), 1) };
    if n != 1 {
        // SAFETY: our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        return Err(format!("cannot start the command: {}", io::Error::last_os_error()));
    }
    drop(go_write);
    Ok(Spawned {
        pid,
        report: report_read,
    })
}

/// The child side. Only raw system calls: no allocation, no locks.
unsafe fn child(
    go: libc::c_int,
    report: libc::c_int,
    cands: &[CString],
    argv: &[*const libc::c_char],
    sh_argv: &mut [*const libc::c_char],
    fprog: Option<&SockFprog>,
) -> ! {
    unsafe {
        // Wait until the parent has attached (EOF: it gave up).
        let mut byte = 0u8;
        loop {
            let n = libc::read(go, (&mut byte as *mut u8).cast(), 1);
            if n == 1 {
                break;
            }
            if n < 0 && *libc::__errno_location() == libc::EINTR {
                continue;
            }
            libc::_exit(127);
        }
        // The Rust runtime ignores SIGPIPE; the command gets the default back,
        // and an empty signal mask, as std::process::Command gives it.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());

        if let Some(prog) = fprog {
            if let Err(errno) = seccomp::install(prog) {
                report_and_exit(report, b'F', errno, 126);
            }
        }
        let envp = libc::environ as *const *const libc::c_char;
        let mut saw_eacces = false;
        let mut last = libc::ENOENT;
        for cand in cands {
            libc::execve(cand.as_ptr(), argv.as_ptr(), envp);
            let err = *libc::__errno_location();
            match err {
                libc::ENOEXEC => {
                    sh_argv[1] = cand.as_ptr();
                    libc::execve(sh_argv[0], sh_argv.as_ptr(), envp);
                    last = *libc::__errno_location();
                    break;
                }
                libc::EACCES => saw_eacces = true,
                libc::ENOENT
                | libc::ENOTDIR
                | libc::ESTALE
                | libc::ENODEV
                | libc::ETIMEDOUT
                | libc::ELOOP
                | libc::ENAMETOOLONG => {}
                other => {
                    last = other;
                    break;
                }
            }
            last = err;
        }
        let err = if saw_eacces && matches!(last, libc::ENOENT | libc::ENOTDIR) {
            libc::EACCES
        } else {
            last
        };
        let code = if err == libc::ENOENT || err == libc::ENOTDIR {
            127
        } else {
            126
        };
        report_and_exit(report, b'E', err, code)
    }
}

unsafe fn report_and_exit(fd: libc::c_int, kind: u8, errno: i32, code: i32) -> ! {
    let mut msg = [0u8; 5];
    msg[0] = kind;
    msg[1..].copy_from_slice(&errno.to_le_bytes());
    unsafe {
        libc::write(fd, msg.as_ptr().cast(), msg.len());
        libc::_exit(code)
    }
}

/// Reads what the child reported, if anything (after it exited).
pub fn read_report(fd: &OwnedFd) -> Option<ChildFailure> {
    let mut msg = [0u8; 5];
    // SAFETY: reading into a valid buffer. The writer is gone (exited or
    // exec'd), so this never blocks.
    let n = unsafe { libc::read(fd.as_raw_fd(), msg.as_mut_ptr().cast(), msg.len()) };
    if n != 5 {
        return None;
    }
    let errno = i32::from_le_bytes(msg[1..].try_into().unwrap());
    match msg[0] {
        b'F' => Some(ChildFailure::Filter(errno)),
        b'E' => Some(ChildFailure::Exec(errno)),
        _ => None,
    }
}

/// `TracerPid` of a process, from `/proc/<pid>/status`.
fn tracer_of(pid: Pid) -> Option<(Pid, String)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let tracer: Pid = status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))?
        .trim()
        .parse()
        .ok()?;
    if tracer == 0 {
        return None;
    }
    let name = std::fs::read_to_string(format!("/proc/{tracer}/comm")).unwrap_or_default();
    Some((tracer, name.trim().to_string()))
}

fn seize_error(err: &io::Error, tracer: Option<(Pid, String)>) -> String {
    match (err.raw_os_error(), tracer) {
        (Some(libc::EPERM), Some((pid, name))) => format!(
            "cannot trace: the command is already traced by process {pid} ({name}); \
             cafix trace cannot run under strace -f or a debugger that follows children"
        ),
        (Some(libc::EPERM), None) => "cannot trace: ptrace is not permitted here (kernel.yama.ptrace_scope, \
             a container's seccomp profile or a missing CAP_SYS_PTRACE); `cafix run` works without ptrace"
            .to_string(),
        (Some(libc::ENOSYS), _) => "cannot trace: this kernel has no ptrace".to_string(),
        _ => format!("cannot trace: ptrace(PTRACE_SEIZE) failed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_is_execvps() {
        let c = |p: &str, path: Option<&str>| -> Vec<String> {
            candidates(OsStr::new(p), path.map(OsStr::new))
                .into_iter()
                .map(|c| String::from_utf8(c).unwrap())
                .collect()
        };
        assert_eq!(c("./x", Some("/bin")), ["./x"]);
        assert_eq!(c("/usr/bin/env", None), ["/usr/bin/env"]);
        assert_eq!(c("ls", Some("/a:/b/::/c")), ["/a/ls", "/b/ls", "./ls", "/c/ls"]);
        assert_eq!(c("ls", None), ["/bin/ls", "/usr/bin/ls"]);
    }
}
