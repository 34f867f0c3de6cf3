//! The seccomp-bpf filter that makes tracing cheap: only the file system
//! calls that can name a trust location stop the tracee
//! (`SECCOMP_RET_TRACE`); every other system call runs untouched
//! (`SECCOMP_RET_ALLOW`) without waking the tracer.
//!
//! The filter is built by hand from the classic-BPF opcodes (a few dozen
//! instructions; no dependency needed):
//!
//! ```text
//!   ld  arch            ; not x86_64 (ia32 compat): allow, see below
//!   jeq AUDIT_ARCH_X86_64 ? next : allow
//!   ld  nr
//!   jge X32_SYSCALL_BIT ? allow : next     ; x32 calls: allow
//!   jeq open ? trace : next
//!   jeq openat ? openat_block : next
//!   ...
//!   allow: ret ALLOW
//!   trace: ret TRACE
//!   openat_block:     ld args[0]; jeq AT_FDCWD ? next : allow'
//!   (newfstatat too:) ld args[3]; jset AT_EMPTY_PATH ? allow' : trace'
//!   trace': ret TRACE
//!   allow': ret ALLOW
//! ```
//!
//! (Classic BPF only jumps forward, so each block has its own returns.)
//!
//! Two argument tests keep the tracer asleep for lookups that cannot name
//! a trust location the way TLS libraries name them:
//!
//! - The `*at` calls stop only with `dirfd == AT_FDCWD`, i.e. for absolute
//!   paths and paths relative to the working directory, which is how
//!   OpenSSL (`<dir>/<hash>.<n>` built as one string), GnuTLS, NSS, Go,
//!   rustls-native-certs, Python and Qt look up trust files. Lookups
//!   relative to a directory descriptor (`openat(dirfd, "name")`: `find`,
//!   `du`, `rm -r`, `tar`, fts-based walkers) are not seen. This is what
//!   makes a directory walk cost almost nothing under the tracer.
//! - `fstat(fd)` is `newfstatat(fd, "", AT_EMPTY_PATH)` in today's glibc
//!   and Rust's `File::metadata` is `statx(fd, "", AT_EMPTY_PATH)`: calls
//!   with `AT_EMPTY_PATH` carry no path and do not stop either.
//!
//! 32-bit (ia32) and x32 processes are not traced: their calls are allowed,
//! and the tracer notes such programs in the summary.

use super::sys::{AT_EMPTY_PATH, AUDIT_ARCH_X86_64, TRACED, X32_SYSCALL_BIT};

/// `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct sock_fprog`.
#[repr(C)]
pub struct SockFprog {
    pub len: u16,
    pub filter: *const SockFilter,
}

/// `BPF_LD | BPF_W | BPF_ABS` (0x00 | 0x00 | 0x20).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_JMP_JSET_K: u16 = 0x05 | 0x40;
const BPF_RET_K: u16 = 0x06;

pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_low(index: usize) -> u32 {
    // args[] start at 16; the low 32 bits come first on little endian.
    16 + 8 * index as u32
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Next,
    Label(usize),
}

enum Insn {
    Load(u32),
    Jump {
        code: u16,
        k: u32,
        jt: Target,
        jf: Target,
    },
    Ret(u32),
    /// A jump target (no instruction).
    Label(usize),
}

const ALLOW: usize = 0;
const TRACE: usize = 1;

/// Builds the filter for [`TRACED`].
pub fn filter() -> Vec<SockFilter> {
    use Target::{Label, Next};
    let mut prog = vec![
        Insn::Load(OFF_ARCH),
        Insn::Jump {
            code: BPF_JMP_JEQ_K,
            k: AUDIT_ARCH_X86_64,
            jt: Next,
            jf: Label(ALLOW),
        },
        Insn::Load(OFF_NR),
        Insn::Jump {
            code: BPF_JMP_JGE_K,
            k: X32_SYSCALL_BIT as u32,
            jt: Label(ALLOW),
            jf: Next,
        },
    ];
    // The dispatch on the number, then one block per call with arguments to test.
    let mut blocks = Vec::new();
    for (i, t) in TRACED.iter().enumerate() {
        let target = if t.dirfd.is_none() && t.empty_path_flags.is_none() {
            TRACE
        } else {
            2 + i
        };
        if target != TRACE {
            blocks.push((target, t));
        }
        prog.push(Insn::Jump {
            code: BPF_JMP_JEQ_K,
            k: t.nr as u32,
            jt: Label(target),
            jf: Next,
        });
    }
    prog.push(Insn::Label(ALLOW));
    prog.push(Insn::Ret(SECCOMP_RET_ALLOW));
    prog.push(Insn::Label(TRACE));
    prog.push(Insn::Ret(SECCOMP_RET_TRACE));
    // Classic BPF jumps only forward: every block has its own returns.
    let mut next_label = 2 + TRACED.len();
    for (label, t) in blocks {
        let (allow, trace) = (next_label, next_label + 1);
        next_label += 2;
        prog.push(Insn::Label(label));
        if let Some(arg) = t.dirfd {
            // Only lookups relative to the working directory (or absolute
            // ones, which pass AT_FDCWD too).
            prog.push(Insn::Load(off_arg_low(arg)));
            prog.push(Insn::Jump {
                code: BPF_JMP_JEQ_K,
                k: libc::AT_FDCWD as u32,
                jt: Next,
                jf: Label(allow),
            });
        }
        if let Some(arg) = t.empty_path_flags {
            prog.push(Insn::Load(off_arg_low(arg)));
            prog.push(Insn::Jump {
                code: BPF_JMP_JSET_K,
                k: AT_EMPTY_PATH,
                jt: Label(allow),
                jf: Label(trace),
            });
        }
        prog.push(Insn::Label(trace));
        prog.push(Insn::Ret(SECCOMP_RET_TRACE));
        prog.push(Insn::Label(allow));
        prog.push(Insn::Ret(SECCOMP_RET_ALLOW));
    }
    assemble(&prog)
}

fn assemble(prog: &[Insn]) -> Vec<SockFilter> {
    // Instruction index of every label.
    let mut labels: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut pc = 0;
    for insn in prog {
        match insn {
            Insn::Label(l) => {
                labels.insert(*l, pc);
            }
            _ => pc += 1,
        }
    }
    let mut out = Vec::new();
    for insn in prog {
        let pc = out.len();
        let rel = |t: Target| -> u8 {
            match t {
                Target::Next => 0,
                Target::Label(l) => {
                    let off = labels[&l].checked_sub(pc + 1).expect("BPF jumps only forward");
                    u8::try_from(off).expect("BPF jump too far")
                }
            }
        };
        match insn {
            Insn::Label(_) => {}
            Insn::Load(off) => out.push(SockFilter {
                code: BPF_LD_W_ABS,
                jt: 0,
                jf: 0,
                k: *off,
            }),
            Insn::Jump { code, k, jt, jf } => out.push(SockFilter {
                code: *code,
                jt: rel(*jt),
                jf: rel(*jf),
                k: *k,
            }),
            Insn::Ret(k) => out.push(SockFilter {
                code: BPF_RET_K,
                jt: 0,
                jf: 0,
                k: *k,
            }),
        }
    }
    out
}

/// Is `SECCOMP_RET_TRACE` available (`SECCOMP_GET_ACTION_AVAIL`, Linux
/// 4.14)? Older kernels and kernels without `CONFIG_SECCOMP_FILTER` say no.
pub fn available() -> bool {
    let action: u32 = SECCOMP_RET_TRACE;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL as libc::c_ulong,
            0,
            &action as *const u32,
        )
    };
    r == 0
}

/// Installs `filter` in the calling process. Async-signal-safe: called
/// between `fork` and `exec`. Tries without `PR_SET_NO_NEW_PRIVS` first, so
/// that a root tracer keeps set-user-ID programs working; sets it and
/// retries when the kernel asks for it (`EACCES`: no `CAP_SYS_ADMIN`).
/// Returns the errno on failure.
pub fn install(prog: &SockFprog) -> Result<(), i32> {
    let set = || {
        // SAFETY: `prog` points to a valid filter program.
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
                0,
                prog as *const SockFprog,
            )
        }
    };
    if set() == 0 {
        return Ok(());
    }
    let err = errno();
    if err != libc::EACCES {
        return Err(err);
    }
    // SAFETY: plain prctl.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(errno());
    }
    if set() == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

fn errno() -> i32 {
    // SAFETY: reading errno of this thread.
    unsafe { *libc::__errno_location() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic-BPF interpreter for the handful of opcodes the filter uses.
    fn run(prog: &[SockFilter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let mut acc = 0u32;
        let mut pc = 0;
        loop {
            let insn = prog[pc];
            pc += 1;
            match insn.code {
                BPF_LD_W_ABS => {
                    let k = insn.k as usize;
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                BPF_JMP_JEQ_K | BPF_JMP_JGE_K | BPF_JMP_JSET_K => {
                    let taken = match insn.code {
                        BPF_JMP_JEQ_K => acc == insn.k,
                        BPF_JMP_JGE_K => acc >= insn.k,
                        _ => acc & insn.k != 0,
                    };
                    pc += if taken { insn.jt } else { insn.jf } as usize;
                }
                BPF_RET_K => return insn.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_filter_traces_exactly_the_path_calls() {
        let prog = filter();
        assert!(prog.len() < 80, "{}", prog.len());
        let x = AUDIT_ARCH_X86_64;
        let cwd = libc::AT_FDCWD as i64 as u64;
        for t in TRACED {
            let nr = t.nr as u32;
            let mut args = [0u64; 6];
            if let Some(d) = t.dirfd {
                args[d] = cwd;
            }
            assert_eq!(run(&prog, x, nr, args), SECCOMP_RET_TRACE, "nr {nr}");
            if let Some(d) = t.dirfd {
                let mut other = args;
                other[d] = 3;
                assert_eq!(
                    run(&prog, x, nr, other),
                    SECCOMP_RET_ALLOW,
                    "nr {nr} relative to a descriptor"
                );
            }
            if let Some(f) = t.empty_path_flags {
                let mut a = args;
                a[f] = AT_EMPTY_PATH as u64;
                assert_eq!(run(&prog, x, nr, a), SECCOMP_RET_ALLOW, "nr {nr} with AT_EMPTY_PATH");
                a[f] = libc::AT_SYMLINK_NOFOLLOW as u64;
                assert_eq!(run(&prog, x, nr, a), SECCOMP_RET_TRACE, "nr {nr} with other flags");
            }
        }
        for nr in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_execve,
            libc::SYS_getdents64,
            libc::SYS_mmap,
            libc::SYS_close,
        ] {
            assert_eq!(run(&prog, x, nr as u32, [cwd; 6]), SECCOMP_RET_ALLOW, "nr {nr}");
        }
        // fstat(fd) as glibc makes it.
        assert_eq!(
            run(
                &prog,
                x,
                libc::SYS_newfstatat as u32,
                [3, 0, 0, AT_EMPTY_PATH as u64, 0, 0]
            ),
            SECCOMP_RET_ALLOW
        );
        // x32 open and every ia32 call run untraced.
        assert_eq!(run(&prog, x, (X32_SYSCALL_BIT as u32) | 2, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&prog, 0x4000_0003, 5, [0; 6]), SECCOMP_RET_ALLOW);
    }
}
