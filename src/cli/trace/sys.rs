//! Thin wrappers over the raw system calls the tracer makes: ptrace
//! requests, `waitpid`, `PTRACE_GET_SYSCALL_INFO`, registers, and the
//! x86_64 system call table the tracer cares about.
//!
//! Everything here is x86_64 only (the module is compiled only there): the
//! register layout, the system call numbers and the seccomp audit arch.

use std::io;

pub type Pid = libc::pid_t;

/// `AUDIT_ARCH_X86_64`: what seccomp and `PTRACE_GET_SYSCALL_INFO` report
/// for a native 64-bit system call.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// x32 system calls are native-arch calls with this bit set in the number.
pub const X32_SYSCALL_BIT: u64 = 0x4000_0000;

/// Stop status of a syscall-stop with `PTRACE_O_TRACESYSGOOD`.
pub const SYSCALL_STOP: i32 = libc::SIGTRAP | 0x80;

pub fn last_error() -> io::Error {
    io::Error::last_os_error()
}

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(last_error())
    } else {
        Ok(r)
    }
}

fn ptrace(request: libc::c_uint, pid: Pid, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: every request used here takes integers or a pointer to a
    // buffer of the right size that the caller passes in `data`.
    check(unsafe { libc::ptrace(request, pid, addr as *mut libc::c_void, data as *mut libc::c_void) })
}

/// The options every tracee gets (auto-attached children inherit them).
pub fn trace_options(seccomp: bool) -> libc::c_int {
    let mut options = libc::PTRACE_O_TRACESYSGOOD
        | libc::PTRACE_O_TRACEFORK
        | libc::PTRACE_O_TRACEVFORK
        | libc::PTRACE_O_TRACECLONE
        | libc::PTRACE_O_TRACEEXEC
        | libc::PTRACE_O_EXITKILL;
    if seccomp {
        options |= libc::PTRACE_O_TRACESECCOMP;
    }
    options
}

pub fn seize(pid: Pid, options: libc::c_int) -> io::Result<()> {
    ptrace(libc::PTRACE_SEIZE, pid, 0, options as usize).map(drop)
}

/// Resumes a stopped tracee, delivering `signal` (0 for none).
pub fn cont(pid: Pid, signal: i32) -> io::Result<()> {
    ptrace(libc::PTRACE_CONT, pid, 0, signal as usize).map(drop)
}

/// Resumes a stopped tracee until the next syscall-stop.
pub fn syscall(pid: Pid, signal: i32) -> io::Result<()> {
    ptrace(libc::PTRACE_SYSCALL, pid, 0, signal as usize).map(drop)
}

/// Lets a tracee in group-stop stay stopped while the tracer waits for
/// other events (job control under `PTRACE_SEIZE`).
pub fn listen(pid: Pid) -> io::Result<()> {
    ptrace(libc::PTRACE_LISTEN, pid, 0, 0).map(drop)
}

pub fn event_msg(pid: Pid) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    ptrace(
        libc::PTRACE_GETEVENTMSG,
        pid,
        0,
        &mut msg as *mut libc::c_ulong as usize,
    )?;
    Ok(msg as u64)
}

pub fn get_regs(pid: Pid) -> io::Result<libc::user_regs_struct> {
    // SAFETY: all-zero is a valid user_regs_struct (plain integers).
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    ptrace(
        libc::PTRACE_GETREGS,
        pid,
        0,
        &mut regs as *mut libc::user_regs_struct as usize,
    )?;
    Ok(regs)
}

pub fn set_regs(pid: Pid, regs: &libc::user_regs_struct) -> io::Result<()> {
    ptrace(
        libc::PTRACE_SETREGS,
        pid,
        0,
        regs as *const libc::user_regs_struct as usize,
    )
    .map(drop)
}

/// The kernel's `struct ptrace_syscall_info` (linux/ptrace.h), with the
/// union as raw words: `entry` and `seccomp` are `nr, args[6]`, `exit` is
/// `rval, is_error`.
#[repr(C)]
#[derive(Default)]
struct RawSyscallInfo {
    op: u8,
    reserved: u8,
    flags: u16,
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    data: [u64; 8],
}

const OP_ENTRY: u8 = 1;
const OP_EXIT: u8 = 2;
const OP_SECCOMP: u8 = 3;

/// What a tracee stopped at a system call is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallState {
    /// About to run a system call (syscall-entry-stop or seccomp stop).
    Entry { arch: u32, nr: u64, args: [u64; 6] },
    /// Returning from one: the raw return value (negative errno on failure).
    Exit { rval: i64 },
    /// Not at a system call (an event stop).
    None,
}

/// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3). `Err` with `EIO` (or `EINVAL`/`ENOSYS`) on
/// older kernels: the caller falls back to [`syscall_from_regs`].
pub fn syscall_info(pid: Pid) -> io::Result<SyscallState> {
    let mut raw = RawSyscallInfo::default();
    let size = std::mem::size_of::<RawSyscallInfo>();
    ptrace(
        libc::PTRACE_GET_SYSCALL_INFO,
        pid,
        size,
        &mut raw as *mut RawSyscallInfo as usize,
    )?;
    let args = [
        raw.data[1],
        raw.data[2],
        raw.data[3],
        raw.data[4],
        raw.data[5],
        raw.data[6],
    ];
    Ok(match raw.op {
        OP_ENTRY | OP_SECCOMP => SyscallState::Entry {
            arch: raw.arch,
            nr: raw.data[0],
            args,
        },
        OP_EXIT => SyscallState::Exit {
            rval: raw.data[0] as i64,
        },
        _ => SyscallState::None,
    })
}

/// The same facts from the registers (the fallback for kernels before 5.3).
/// `at_exit` says which side of the system call the tracee is on; the
/// caller knows it from its own bookkeeping.
pub fn syscall_from_regs(regs: &libc::user_regs_struct, at_exit: bool) -> SyscallState {
    if at_exit {
        return SyscallState::Exit { rval: regs.rax as i64 };
    }
    // A 32-bit (ia32) process runs with the compat code segment 0x23.
    let arch = if regs.cs == 0x23 {
        0x4000_0003
    } else {
        AUDIT_ARCH_X86_64
    };
    SyscallState::Entry {
        arch,
        nr: regs.orig_rax,
        args: [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
    }
}

/// At a syscall-entry-stop the kernel has set `rax` to `-ENOSYS`; at an exit
/// it holds the result. Used only by the no-`PTRACE_GET_SYSCALL_INFO`,
/// no-seccomp combination.
pub fn regs_look_like_entry(regs: &libc::user_regs_struct) -> bool {
    regs.rax as i64 == -(libc::ENOSYS as i64)
}

/// Reads argument `index` (0-5) of a native x86_64 system call.
pub fn arg(regs: &libc::user_regs_struct, index: usize) -> u64 {
    match index {
        0 => regs.rdi,
        1 => regs.rsi,
        2 => regs.rdx,
        3 => regs.r10,
        4 => regs.r8,
        _ => regs.r9,
    }
}

/// Sets argument `index` (0-5) of a native x86_64 system call.
pub fn set_arg(regs: &mut libc::user_regs_struct, index: usize, value: u64) {
    match index {
        0 => regs.rdi = value,
        1 => regs.rsi = value,
        2 => regs.rdx = value,
        3 => regs.r10 = value,
        4 => regs.r8 = value,
        _ => regs.r9 = value,
    }
}

/// `waitpid(-1, __WALL)`: the next event of any tracee.
pub enum Wait {
    Event(Pid, i32),
    /// A signal handler ran (`EINTR`).
    Interrupted,
    /// No tracee and no child is left.
    NoChildren,
}

/// `waitpid(-1, __WALL)`, polling (`WNOHANG`) for up to `spin` first.
///
/// A ptrace stop is a round trip between two processes; when each side
/// sleeps in between, each round trip pays two cross-CPU wake-ups, which
/// cost tens of microseconds on virtual machines (an idle virtual CPU
/// halts and must be woken by an inter-processor interrupt). Polling for a
/// short while keeps the tracer's CPU awake for the next stop, which
/// usually comes within microseconds. See docs/benchmarks-history.md.
pub fn wait_any(spin: std::time::Duration) -> io::Result<Wait> {
    let mut status = 0;
    if !spin.is_zero() {
        let start = std::time::Instant::now();
        loop {
            // SAFETY: plain system call with a valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
            if pid > 0 {
                return Ok(Wait::Event(pid, status));
            }
            if pid < 0 || start.elapsed() >= spin {
                // Errors (EINTR, ECHILD) are reported by the blocking call.
                break;
            }
            std::hint::spin_loop();
        }
    }
    // SAFETY: plain system call with a valid out pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
    if pid >= 0 {
        return Ok(Wait::Event(pid, status));
    }
    let err = last_error();
    match err.raw_os_error() {
        Some(libc::EINTR) => Ok(Wait::Interrupted),
        Some(libc::ECHILD) => Ok(Wait::NoChildren),
        _ => Err(err),
    }
}

/// What a traced system call does with its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// open/openat: `flags` is the argument holding the open flags.
    Open {
        flags: usize,
    },
    /// openat2: the flags are in the `struct open_how` argument 2 points to.
    Openat2,
    /// creat: always a write.
    Creat,
    Stat,
    /// access/faccessat/faccessat2: `mode` is the argument holding the mode.
    Access {
        mode: usize,
    },
    Readlink,
}

impl Op {
    /// The word the summary uses.
    pub fn word(self) -> &'static str {
        match self {
            Op::Open { .. } | Op::Openat2 => "open",
            Op::Creat => "creat",
            Op::Stat => "stat",
            Op::Access { .. } => "access",
            Op::Readlink => "readlink",
        }
    }
}

/// A traced system call: its name, what it does, and where its arguments are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysDesc {
    pub name: &'static str,
    pub op: Op,
    /// The argument holding the path.
    pub path_arg: usize,
    /// The argument holding the directory descriptor (`*at` calls).
    pub dirfd_arg: Option<usize>,
}

/// The `newfstatat`/`statx` flag that makes an empty path mean the
/// descriptor itself (`fstat`): such calls carry no path and are not traced.
pub const AT_EMPTY_PATH: u32 = libc::AT_EMPTY_PATH as u32;

/// A system call the seccomp filter sends to the tracer.
pub struct Traced {
    pub nr: u64,
    /// The directory-descriptor argument: only calls passing `AT_FDCWD`
    /// (absolute paths and paths relative to the working directory) stop.
    pub dirfd: Option<usize>,
    /// The flags argument: calls with `AT_EMPTY_PATH` (`fstat`) do not stop.
    pub empty_path_flags: Option<usize>,
}

const fn t(nr: libc::c_long, dirfd: Option<usize>, empty_path_flags: Option<usize>) -> Traced {
    Traced {
        nr: nr as u64,
        dirfd,
        empty_path_flags,
    }
}

/// Every system call the seccomp filter sends to the tracer.
pub const TRACED: &[Traced] = &[
    t(libc::SYS_open, None, None),
    t(libc::SYS_openat, Some(0), None),
    t(libc::SYS_openat2, Some(0), None),
    t(libc::SYS_creat, None, None),
    t(libc::SYS_stat, None, None),
    t(libc::SYS_lstat, None, None),
    t(libc::SYS_newfstatat, Some(0), Some(3)),
    t(libc::SYS_statx, Some(0), Some(2)),
    t(libc::SYS_access, None, None),
    t(libc::SYS_faccessat, Some(0), None),
    t(libc::SYS_faccessat2, Some(0), None),
    t(libc::SYS_readlink, None, None),
    t(libc::SYS_readlinkat, Some(0), None),
];

/// Describes a native x86_64 system call, if it is one the tracer handles.
pub fn describe(nr: u64) -> Option<SysDesc> {
    let d = |name, op, path_arg, dirfd_arg| {
        Some(SysDesc {
            name,
            op,
            path_arg,
            dirfd_arg,
        })
    };
    match nr as libc::c_long {
        libc::SYS_open => d("open", Op::Open { flags: 1 }, 0, None),
        libc::SYS_openat => d("openat", Op::Open { flags: 2 }, 1, Some(0)),
        libc::SYS_openat2 => d("openat2", Op::Openat2, 1, Some(0)),
        libc::SYS_creat => d("creat", Op::Creat, 0, None),
        libc::SYS_stat => d("stat", Op::Stat, 0, None),
        libc::SYS_lstat => d("lstat", Op::Stat, 0, None),
        libc::SYS_newfstatat => d("newfstatat", Op::Stat, 1, Some(0)),
        libc::SYS_statx => d("statx", Op::Stat, 1, Some(0)),
        libc::SYS_access => d("access", Op::Access { mode: 1 }, 0, None),
        libc::SYS_faccessat => d("faccessat", Op::Access { mode: 2 }, 1, Some(0)),
        libc::SYS_faccessat2 => d("faccessat2", Op::Access { mode: 2 }, 1, Some(0)),
        libc::SYS_readlink => d("readlink", Op::Readlink, 0, None),
        libc::SYS_readlinkat => d("readlinkat", Op::Readlink, 1, Some(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_traced_call_is_described_and_back() {
        for t in TRACED {
            let desc = describe(t.nr).expect("traced but not described");
            assert!(desc.path_arg < 6);
            assert_eq!(desc.dirfd_arg, t.dirfd);
        }
        assert_eq!(describe(libc::SYS_read as u64), None);
        assert_eq!(describe(libc::SYS_execve as u64), None);
    }

    #[test]
    fn syscall_info_layout_matches_the_kernel() {
        // struct ptrace_syscall_info is 88 bytes on x86_64 (op..stack_pointer
        // 24, the seccomp member 64).
        assert_eq!(std::mem::size_of::<RawSyscallInfo>(), 88);
    }
}
