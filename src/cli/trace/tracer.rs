//! The ptrace event loop.
//!
//! One thread (the caller's) is the tracer of every task: the command and,
//! through `PTRACE_O_TRACEFORK|TRACEVFORK|TRACECLONE`, every process and
//! thread it starts, across `execve` (`PTRACE_O_TRACEEXEC`). Each event is
//! handled and the task resumed at once; a task is only ever held stopped
//! between two of our own system calls, except in group-stop (job control),
//! where it is left stopped with `PTRACE_LISTEN` as the program asked.
//!
//! Per traced system call (a seccomp stop, or a syscall-entry-stop in the
//! slow mode) the tracer reads the number and arguments
//! (`PTRACE_GET_SYSCALL_INFO`, or the registers), reads the path from the
//! tracee's memory, and classifies it. Only a trust location makes the task
//! run to its syscall-exit-stop (`PTRACE_SYSCALL` once) so the result can be
//! recorded; every other path is let go with `PTRACE_CONT` straight away.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::rc::Rc;

use crate::bundle::BundleIndex;

use super::fix::{self, Fixer};
use super::fsview::{self, View};
use super::mem;
use super::model::{Access, Linkage, Location, Outcome, ProcInfo, Program};
use super::signals::Forwarding;
use super::sys::{self, Op, Pid, SysDesc, SyscallState, Wait, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal { signal: i32, core: bool },
}

impl Exit {
    /// The status a shell would report: the code, or 128 + the signal.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal { signal, .. } => 128 + signal,
        }
    }
}

/// The system bundle the tracer serves from and compares against.
pub struct SystemBundle {
    pub path: std::path::PathBuf,
    pub identity: Option<(u64, u64)>,
    index: Option<Rc<BundleIndex>>,
}

impl SystemBundle {
    pub fn new(path: std::path::PathBuf) -> SystemBundle {
        let identity = std::fs::metadata(&path).ok().map(|m| fsview::identity(&m));
        SystemBundle {
            path,
            identity,
            index: None,
        }
    }

    pub fn is_parsed(&self) -> bool {
        self.index.is_some()
    }

    /// The parsed bundle (parsed on first use).
    pub fn index(&mut self) -> Rc<BundleIndex> {
        if self.index.is_none() {
            let bytes = std::fs::read(&self.path).unwrap_or_default();
            self.index = Some(Rc::new(BundleIndex::parse(self.path.clone(), bytes)));
        }
        self.index.clone().unwrap()
    }
}

/// Knobs of one run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub fix: bool,
    /// Stop only at the filtered calls (seccomp) rather than at every call.
    pub seccomp: bool,
    /// Use `PTRACE_GET_SYSCALL_INFO` (else registers).
    pub syscall_info: bool,
    /// How long to poll for the next stop before sleeping (see `sys::wait_any`).
    pub spin: std::time::Duration,
}

/// What a run produced.
pub struct Traced {
    pub exit: Exit,
    pub accesses: Vec<Access>,
    pub programs: Vec<Program>,
    pub notes: Vec<String>,
    /// `PTRACE_GET_SYSCALL_INFO` turned out to be missing: registers were used.
    pub used_registers: bool,
}

struct Pending {
    access: Access,
    /// (argument, original value) to put back at the exit stop.
    restore: Option<(usize, u64)>,
}

struct Task {
    proc: Rc<ProcInfo>,
    pending: Option<Pending>,
}

pub struct Tracer<'a> {
    main: Pid,
    settings: Settings,
    use_info: bool,
    tasks: HashMap<Pid, Task>,
    accesses: Vec<Access>,
    programs: Vec<Program>,
    notes: Vec<String>,
    fixer: Option<Fixer>,
    bundle: Option<&'a mut SystemBundle>,
    main_exit: Option<Exit>,
    /// Accesses beyond [`MAX_ACCESSES`], counted only.
    dropped: usize,
}

/// The most accesses kept for the summary.
const MAX_ACCESSES: usize = 200_000;

impl<'a> Tracer<'a> {
    pub fn new(
        main: Pid,
        settings: Settings,
        fixer: Option<Fixer>,
        bundle: Option<&'a mut SystemBundle>,
    ) -> Tracer<'a> {
        Tracer {
            main,
            settings,
            use_info: settings.syscall_info,
            tasks: HashMap::new(),
            accesses: Vec::new(),
            programs: Vec::new(),
            notes: Vec::new(),
            fixer,
            bundle,
            main_exit: None,
            dropped: 0,
        }
    }

    fn note(&mut self, text: String) {
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    /// Runs until no tracee is left.
    pub fn run(mut self, signals: &Forwarding) -> Result<Traced, String> {
        loop {
            let (pid, status) = match sys::wait_any(self.settings.spin) {
                Ok(Wait::Event(pid, status)) => (pid, status),
                Ok(Wait::Interrupted) => {
                    if let Some(sig) = signals.take_late() {
                        // The command is gone; pass the signal to what is left.
                        for pid in self
                            .tasks
                            .values()
                            .map(|t| t.proc.pid)
                            .collect::<std::collections::BTreeSet<_>>()
                        {
                            // SAFETY: a traced process (not yet reaped).
                            unsafe { libc::kill(pid, sig) };
                        }
                    }
                    continue;
                }
                Ok(Wait::NoChildren) => break,
                Err(e) => return Err(format!("waitpid failed: {e}")),
            };
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.on_task_exit(pid, status, signals);
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            // A new task whose first stop came before its parent's event.
            self.tasks.entry(pid).or_insert_with(|| Task {
                proc: Rc::new(ProcInfo::read(pid)),
                pending: None,
            });
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            let inject = match event {
                0 if sig == sys::SYSCALL_STOP => {
                    self.on_syscall_stop(pid);
                    0
                }
                0 => sig,
                libc::PTRACE_EVENT_SECCOMP => {
                    self.on_entry(pid, None);
                    0
                }
                libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK | libc::PTRACE_EVENT_CLONE => {
                    if let Ok(child) = sys::event_msg(pid) {
                        let child = child as Pid;
                        let parent = self.tasks[&pid].proc.clone();
                        // A thread shares its process's record; a new process
                        // starts with a copy of its parent's under its own pid.
                        let thread = event == libc::PTRACE_EVENT_CLONE && tgid_of(child) == Some(parent.pid);
                        let proc = if thread {
                            parent
                        } else {
                            Rc::new(ProcInfo {
                                pid: child,
                                ..(*parent).clone()
                            })
                        };
                        match self.tasks.get_mut(&child) {
                            Some(task) => task.proc = proc,
                            None => {
                                self.tasks.insert(child, Task { proc, pending: None });
                            }
                        }
                    }
                    0
                }
                libc::PTRACE_EVENT_EXEC => {
                    self.on_exec(pid);
                    0
                }
                libc::PTRACE_EVENT_STOP => {
                    if matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
                        // Group-stop: stay stopped until SIGCONT, as asked.
                        let _ = sys::listen(pid);
                        continue;
                    }
                    0
                }
                _ => 0,
            };
            self.resume(pid, inject);
        }
        let exit = self.main_exit.ok_or("the command vanished without an exit status")?;
        if self.dropped > 0 {
            let text = format!(
                "{} more accesses of trust locations were not kept for this summary",
                self.dropped
            );
            self.note(text);
        }
        Ok(Traced {
            exit,
            accesses: self.accesses,
            programs: self.programs,
            notes: self.notes,
            used_registers: self.settings.syscall_info && !self.use_info,
        })
    }

    fn resume(&self, pid: Pid, signal: i32) {
        let to_exit = self.tasks.get(&pid).is_some_and(|t| t.pending.is_some());
        // ESRCH: killed meanwhile; its exit is reported next.
        let _ = if to_exit || !self.settings.seccomp {
            sys::syscall(pid, signal)
        } else {
            sys::cont(pid, signal)
        };
    }

    fn on_task_exit(&mut self, pid: Pid, status: i32, signals: &Forwarding) {
        if let Some(task) = self.tasks.remove(&pid) {
            if let Some(mut pending) = task.pending {
                pending.access.outcome = Outcome::Unfinished;
                self.record(pending.access);
            }
        }
        if pid == self.main {
            signals.main_exited();
            self.main_exit = Some(if libc::WIFSIGNALED(status) {
                Exit::Signal {
                    signal: libc::WTERMSIG(status),
                    core: libc::WCOREDUMP(status),
                }
            } else {
                Exit::Code(libc::WEXITSTATUS(status))
            });
        }
    }

    fn on_exec(&mut self, pid: Pid) {
        // A thread other than the leader exec'd: it now has the leader's id.
        if let Ok(former) = sys::event_msg(pid) {
            let former = former as Pid;
            if former != pid {
                self.tasks.remove(&former);
            }
        }
        let info = ProcInfo::read(pid);
        let linkage = Linkage::of(&format!("/proc/{pid}/exe"));
        if linkage == Linkage::Bits32 {
            self.note(format!(
                "{} is a 32-bit program: its file accesses are not traced",
                info.exe
            ));
        }
        if !info.same_view {
            self.note(format!(
                "{} (pid {pid}) sees another file system (chroot or mount namespace): \
                 its paths are checked in its own view{}",
                info.exe,
                if self.settings.fix {
                    " and --fix does not apply to it"
                } else {
                    ""
                }
            ));
        }
        self.programs.push(Program {
            pid,
            exe: info.exe.to_string(),
            linkage,
        });
        self.tasks.insert(
            pid,
            Task {
                proc: Rc::new(info),
                pending: None,
            },
        );
    }

    /// The registers, or the reason they could not be read.
    fn regs(pid: Pid) -> Option<libc::user_regs_struct> {
        sys::get_regs(pid).ok()
    }

    /// What the task is doing at a syscall stop.
    fn syscall_state(&mut self, pid: Pid, at_exit: bool) -> Option<(SyscallState, Option<libc::user_regs_struct>)> {
        if self.use_info {
            match sys::syscall_info(pid) {
                Ok(state) => return Some((state, None)),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL | libc::ENOSYS)) => {
                    // Linux < 5.3: fall back to the registers for good.
                    self.use_info = false;
                }
                Err(_) => return None,
            }
        }
        let regs = Self::regs(pid)?;
        let at_exit = if self.settings.seccomp {
            at_exit
        } else {
            at_exit || !sys::regs_look_like_entry(&regs)
        };
        Some((sys::syscall_from_regs(&regs, at_exit), Some(regs)))
    }

    fn on_syscall_stop(&mut self, pid: Pid) {
        let pending = self.tasks.get(&pid).is_some_and(|t| t.pending.is_some());
        let Some((state, _)) = self.syscall_state(pid, pending) else {
            return;
        };
        match state {
            SyscallState::Exit { rval } => self.on_exit(pid, rval),
            // Only in the slow mode (no seccomp): every call stops here.
            SyscallState::Entry { .. } if !self.settings.seccomp && !pending => self.on_entry(pid, Some(state)),
            _ => {}
        }
    }

    /// A system call is about to run (seccomp stop, or syscall-entry-stop).
    fn on_entry(&mut self, tid: Pid, known: Option<SyscallState>) {
        let (state, mut regs) = match known {
            Some(state) => (state, None),
            None => match self.syscall_state(tid, false) {
                Some(s) => s,
                None => return,
            },
        };
        let SyscallState::Entry { arch, nr, args } = state else {
            return;
        };
        if arch != AUDIT_ARCH_X86_64 || nr & X32_SYSCALL_BIT != 0 {
            return;
        }
        let Some(desc) = sys::describe(nr) else { return };
        let addr = args[desc.path_arg];
        if addr == 0 {
            return;
        }
        let Ok(written) = mem::read_cstr(tid, addr) else { return };
        if written.is_empty() {
            return;
        }
        let proc = self.tasks[&tid].proc.clone();
        let path = if written[0] == b'/' {
            written
        } else {
            if !proc.same_view || !Location::relative_candidate(&written) {
                return;
            }
            let dirfd = desc.dirfd_arg.map_or(libc::AT_FDCWD, |i| args[i] as i32);
            let Some(abs) = absolute(tid, dirfd, &written) else {
                return;
            };
            abs
        };
        let Some(location) = Location::classify(&path, proc.cert_dir.as_deref(), proc.cert_file.as_deref()) else {
            return;
        };
        let write = is_write(tid, &desc, &args);
        let nofollow = match desc.name {
            "lstat" => true,
            "newfstatat" => args[3] & libc::AT_SYMLINK_NOFOLLOW as u64 != 0,
            "statx" => args[2] & libc::AT_SYMLINK_NOFOLLOW as u64 != 0,
            _ => false,
        };
        let mut access = Access {
            pid: proc.pid,
            program: proc.exe.clone(),
            syscall: desc.name,
            op: desc.op,
            write,
            nofollow,
            path,
            location,
            outcome: Outcome::Unfinished,
            system_bundle: false,
            served: None,
            not_fixed: None,
        };
        let mut restore = None;
        if self.fixer.is_some() && !write && desc.op != Op::Readlink && access.location != Location::Dir {
            match self.try_fix(tid, &proc, &desc, &access, &mut regs) {
                Ok(Some((arg, original, what))) => {
                    restore = Some((arg, original));
                    access.served = Some(what);
                }
                Ok(None) => {}
                Err(why) => access.not_fixed = Some(why),
            }
        }
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.pending = Some(Pending { access, restore });
        }
    }

    /// `--fix` at syscall entry: `Ok(None)` when nothing needs doing (the
    /// location exists) or nothing can be served.
    fn try_fix(
        &mut self,
        tid: Pid,
        proc: &ProcInfo,
        desc: &SysDesc,
        access: &Access,
        regs: &mut Option<libc::user_regs_struct>,
    ) -> Result<Option<(usize, u64, String)>, String> {
        let view = View {
            pid: tid,
            same: proc.same_view,
        };
        if view.exists(&access.path) {
            // Real entries are never hidden.
            return Ok(None);
        }
        if !proc.same_view {
            return Err("the program sees another file system (chroot or mount namespace)".to_string());
        }
        let Some(bundle) = self.bundle.as_deref_mut() else {
            return Err("no system bundle was found".to_string());
        };
        let (replacement, what) = match &access.location {
            Location::Dir => return Ok(None),
            Location::Bundle { .. } => {
                let p = bundle.path.as_os_str().as_bytes().to_vec();
                (p, format!("the system bundle {}", bundle.path.display()))
            }
            Location::HashEntry { dir, hash, index } => {
                let index_of = bundle.index();
                let fixer = self.fixer.as_mut().expect("fixer");
                match fixer.hash_entry(&view, dir, *hash, *index, &index_of)? {
                    Some(r) => r,
                    None => return Ok(None),
                }
            }
        };
        let mut r = match regs.take() {
            Some(r) => r,
            None => sys::get_regs(tid).map_err(|e| format!("cannot read the registers: {e}"))?,
        };
        let original = fix::redirect(tid, &mut r, desc.path_arg, &replacement)?;
        Ok(Some((desc.path_arg, original, what)))
    }

    /// The traced system call returned `rval`.
    fn on_exit(&mut self, tid: Pid, rval: i64) {
        let Some(task) = self.tasks.get_mut(&tid) else { return };
        let Some(Pending { mut access, restore }) = task.pending.take() else {
            return;
        };
        let same = task.proc.same_view;
        if let Some((arg, original)) = restore {
            // Put the path register back (see fix.rs): the program may reuse it.
            if let Ok(mut regs) = sys::get_regs(tid) {
                sys::set_arg(&mut regs, arg, original);
                let _ = sys::set_regs(tid, &regs);
            }
        }
        let view = View { pid: tid, same };
        access.outcome = if rval >= 0 {
            if access.served.is_some() {
                Outcome::Served
            } else {
                Outcome::Found
            }
        } else {
            let errno = (-rval) as i32;
            if errno == libc::ENOENT {
                if view.is_broken_symlink(&access.path) {
                    Outcome::BrokenSymlink
                } else {
                    Outcome::Missing
                }
            } else {
                Outcome::Failed(errno)
            }
        };
        if access.served.is_some() && rval < 0 {
            // The replacement did not help (e.g. EACCES): say so.
            access.not_fixed = Some(format!(
                "served, but the call still failed ({})",
                super::model::errno_name((-rval) as i32)
            ));
            access.served = None;
        }
        if let Some(bundle) = self.bundle.as_deref() {
            if access.outcome == Outcome::Found && access.location != Location::Dir {
                let id = view.metadata(&access.path, true).ok().map(|m| fsview::identity(&m));
                access.system_bundle = id.is_some() && id == bundle.identity;
            } else if access.outcome == Outcome::Served && matches!(access.location, Location::Bundle { .. }) {
                access.system_bundle = true;
            }
        }
        self.record(access);
    }

    /// Keeps an access for the summary (at most [`MAX_ACCESSES`]: a program
    /// polling a trust directory for days must not grow the tracer without
    /// bound).
    fn record(&mut self, access: Access) {
        if self.accesses.len() < MAX_ACCESSES {
            self.accesses.push(access);
        } else {
            self.dropped += 1;
        }
    }
}

/// The thread group of a task, from `/proc/<tid>/status`.
fn tgid_of(tid: Pid) -> Option<Pid> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// Does the call write (never redirected)?
fn is_write(tid: Pid, desc: &SysDesc, args: &[u64; 6]) -> bool {
    const WRITE_FLAGS: u64 = (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) as u64;
    match desc.op {
        Op::Open { flags } => args[flags] & WRITE_FLAGS != 0,
        Op::Openat2 => {
            // struct open_how { u64 flags; u64 mode; u64 resolve; }
            let mut flags = [0u8; 8];
            match mem::read_exact(tid, args[2], &mut flags) {
                Ok(()) => u64::from_le_bytes(flags) & WRITE_FLAGS != 0,
                Err(_) => true,
            }
        }
        Op::Creat => true,
        Op::Access { mode } => args[mode] & libc::W_OK as u64 != 0,
        Op::Stat | Op::Readlink => false,
    }
}

/// Makes a relative path absolute from the tracee's working directory or
/// the directory its descriptor names.
fn absolute(tid: Pid, dirfd: i32, rel: &[u8]) -> Option<Vec<u8>> {
    let base = if dirfd == libc::AT_FDCWD {
        std::fs::read_link(format!("/proc/{tid}/cwd")).ok()?
    } else if dirfd >= 0 {
        std::fs::read_link(format!("/proc/{tid}/fd/{dirfd}")).ok()?
    } else {
        return None;
    };
    let base = base.as_os_str().as_bytes();
    if base.first() != Some(&b'/') {
        return None;
    }
    let mut out = base.to_vec();
    for part in rel.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                // Lexical, as a first approximation of what the kernel resolves.
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(cut.max(1));
                if out.is_empty() {
                    out.push(b'/');
                }
            }
            _ => {
                if out.last() != Some(&b'/') {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
        }
    }
    if rel.ends_with(b"/") && out.last() != Some(&b'/') {
        out.push(b'/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_join_the_working_directory() {
        let me = std::process::id() as Pid;
        let cwd = std::env::current_dir().unwrap();
        let cwd = cwd.as_os_str().as_bytes();
        let joined = absolute(me, libc::AT_FDCWD, b"./a//4042bcee.0").unwrap();
        assert_eq!(joined, [cwd, b"/a/4042bcee.0"].concat());
        let dir = std::fs::File::open("/etc").unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(absolute(me, dir.as_raw_fd(), b"ssl/certs").unwrap(), b"/etc/ssl/certs");
        assert_eq!(
            absolute(me, dir.as_raw_fd(), b"ssl/../ssl/certs/").unwrap(),
            b"/etc/ssl/certs/"
        );
        assert_eq!(absolute(me, -5, b"x"), None);
    }

    #[test]
    fn exit_status_is_a_shells() {
        assert_eq!(Exit::Code(3).status(), 3);
        assert_eq!(
            Exit::Signal {
                signal: libc::SIGSEGV,
                core: true
            }
            .status(),
            139
        );
    }
}
