//! `cafix trace [--fix] [--json] [-o FILE] -- CMD [ARGS...]`: runs a command
//! under ptrace and reports how it looked for system trust; with `--fix`,
//! makes its lookups of missing trust locations succeed. Unlike libcafix.so
//! this reaches statically linked programs (static OpenSSL, Go, AppImages),
//! because it works at the system call boundary.
//!
//! # Design
//!
//! - **Start** ([`spawn`]): fork; the parent attaches with `PTRACE_SEIZE`
//!   (`TRACESYSGOOD|TRACEFORK|TRACEVFORK|TRACECLONE|TRACEEXEC|TRACESECCOMP|
//!   EXITKILL`) before the child runs anything of its own; the child
//!   installs a seccomp-bpf filter ([`seccomp`]) and `execve`s the command
//!   (`execvp`'s `PATH` search, done async-signal-safely).
//! - **Filter**: `SECCOMP_RET_TRACE` only for `open`, `openat`, `openat2`,
//!   `creat`, `stat`, `lstat`, `newfstatat`, `statx`, `access`, `faccessat`,
//!   `faccessat2`, `readlink`, `readlinkat`; the `*at` calls only with
//!   `AT_FDCWD` (absolute or working-directory paths, the way TLS libraries
//!   look up trust files; lookups relative to a directory descriptor, as
//!   `find` makes them, are not seen) and not with `AT_EMPTY_PATH`
//!   (`fstat`). Everything else runs without waking the tracer. `execve` is not filtered: `PTRACE_EVENT_EXEC` reports every
//!   program. `getdents64` is not filtered either: it names no path, and a
//!   directory listing is seen as the `open` of the trust directory before it.
//! - **Loop** ([`tracer`]): `waitpid(-1, __WALL)`; forks, vforks, clones
//!   (threads) and execs are followed; signals are delivered on; group-stops
//!   are honoured with `PTRACE_LISTEN`. At a seccomp stop the call is read
//!   with `PTRACE_GET_SYSCALL_INFO`, the path with `process_vm_readv`
//!   (page-safe chunks, [`mem`]), and classified with
//!   [`crate::locations`] using the tracee's own `SSL_CERT_DIR` and
//!   `SSL_CERT_FILE` (read from `/proc/<pid>/environ` at each exec). Only a
//!   trust location (hash entry, known bundle path, `SSL_CERT_FILE`, or a
//!   trust directory itself) is followed to its syscall-exit-stop to record
//!   the result: found, missing (`ENOENT`), broken symlink (`lstat` by the
//!   tracer), or another error.
//! - **Fix** ([`fix`]): at the seccomp stop, if the path does not resolve,
//!   the path argument is pointed at a replacement written below the
//!   thread's red zone; the register is restored at the exit stop.
//! - **Summary** ([`report`]): to stderr, or `-o FILE`; `--json` for one
//!   JSON object.
//!
//! # Exit status
//!
//! The command's: its exit code, or 128 + the signal that killed it, as a
//! shell reports it (the tracer does not re-raise the signal on itself, so
//! its caller sees an ordinary exit; the summary and the JSON name the
//! signal and whether it dumped core). A command that cannot be found
//! gives one error line and 127, one that cannot be executed 126, like a
//! shell. Errors of the tracer itself (ptrace refused, bad output file)
//! are `Err` (exit 2).
//!
//! `SIGINT`, `SIGTERM`, `SIGHUP` and `SIGQUIT` sent to the tracer are
//! forwarded to the command ([`signals`]). The tracer waits, like
//! `strace -f`, until every traced process has exited, including ones the
//! command left running. If the tracer dies, `PTRACE_O_EXITKILL` kills
//! every tracee: nothing is left stopped or running unsupervised (a tracee
//! whose tracer vanished would otherwise get `ENOSYS` from every filtered
//! call).
//!
//! # Fallbacks and switches
//!
//! - No seccomp filter support (`SECCOMP_GET_ACTION_AVAIL` says no), or
//!   `CAFIX_TRACE_NO_SECCOMP=1`: every system call stops the tracee
//!   (`PTRACE_SYSCALL`), which is much slower but sees the same accesses.
//! - No `PTRACE_GET_SYSCALL_INFO` (Linux < 5.3, `EIO`), or
//!   `CAFIX_TRACE_NO_SYSCALL_INFO=1`: the call and its result are read
//!   from the registers (`PTRACE_GETREGS`).
//! - `CAFIX_TRACE_SPIN_US=N`: poll N µs for the next stop before sleeping
//!   (default 100 with two or more CPUs, 0 with one; see `sys::wait_any`).
//! - `CAFIX_TRACE_ONE_CPU=1`: run the tracer and the command on one CPU
//!   (the one the tracer is on). Each stop is then a plain context switch
//!   instead of a cross-CPU wake-up, several times cheaper on virtual
//!   machines (docs/benchmarks-history.md), but the command sees a single CPU
//!   (`nproc`, `GOMAXPROCS`) and its threads share it. Off by default:
//!   tracing should not change how a program runs.
//! - x86_64 only: the filter, the system call numbers and the registers are
//!   x86_64's. Elsewhere `cafix trace` builds and exits 2 with one line
//!   ([`unknown_system_call_table`]) before running anything. On x86_64,
//!   32-bit (ia32) and x32 programs run untraced: the summary says so for
//!   each one ("... is a 32-bit program: its file accesses are not traced").
//! - As under any tracer, a set-user-ID program runs without its privileges
//!   unless `cafix trace` runs as root (the kernel ignores set-user-ID bits
//!   for a traced exec; a non-root tracer also has to set
//!   `PR_SET_NO_NEW_PRIVS` to install the filter). A program that is
//!   already traced, or that traces its own children (a debugger, `strace`),
//!   cannot run under `cafix trace`.

use std::ffi::OsString;
use std::path::PathBuf;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod fix;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod fsview;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod mem;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod model;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod report;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod seccomp;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod signals;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod spawn;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod sys;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod tracer;

/// Options of `cafix trace`.
#[derive(Debug, Clone, Default)]
pub struct TraceOptions {
    pub json: bool,
    pub output: Option<PathBuf>,
    pub fix: bool,
    pub command: Vec<OsString>,
}

/// Runs the command under the tracer; returns the exit status to pass on
/// (the tracee's), or an error line for the user (exit 2).
pub fn run(options: &TraceOptions) -> Result<i32, String> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        imp::run(options)
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        let _ = options;
        Err(unknown_system_call_table(std::env::consts::ARCH))
    }
}

/// The one line of `cafix trace` on an architecture whose system call
/// table it does not know: it would rather not trace than trace wrongly.
pub fn unknown_system_call_table(arch: &str) -> String {
    format!(
        "trace: no system call table for {arch} in this build (cafix trace knows x86_64 Linux's); \
         `cafix run` and the preload work here"
    )
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod imp {
    use std::io::Write;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use crate::bundle::find_system_bundle;
    use crate::config::{Config, MAX_CONFIG_BYTES, SYSTEM_CONFIG_PATH};

    use super::fix::Fixer;
    use super::report::{self, Mode};
    use super::signals::Forwarding;
    use super::spawn::{self, ChildFailure};
    use super::tracer::{Exit, Settings, SystemBundle, Tracer};
    use super::{seccomp, TraceOptions};

    fn env_flag(name: &str) -> bool {
        std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
    }

    /// `/etc/cafix.conf`, if it is a root-owned regular file of sane size.
    fn system_config() -> Option<String> {
        let meta = std::fs::metadata(SYSTEM_CONFIG_PATH).ok()?;
        if !meta.is_file() || meta.uid() != 0 || meta.len() > MAX_CONFIG_BYTES as u64 {
            return None;
        }
        std::fs::read_to_string(SYSTEM_CONFIG_PATH).ok()
    }

    /// Restricts this process (and so the command it forks) to the CPU it
    /// is running on.
    fn pin_to_current_cpu() -> bool {
        // SAFETY: plain calls on a zeroed cpu_set_t.
        unsafe {
            let cpu = libc::sched_getcpu();
            if cpu < 0 {
                return false;
            }
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu as usize, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }

    fn program_name(options: &TraceOptions) -> String {
        options
            .command
            .first()
            .map(|c| c.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn run(options: &TraceOptions) -> Result<i32, String> {
        if options.command.is_empty() {
            return Err("no command given: cafix trace [--fix] [--json] [-o FILE] -- CMD [ARGS...]".to_string());
        }
        // The output file is opened first: a bad path fails before the command runs.
        let mut output: Box<dyn Write> = match &options.output {
            Some(path) => Box::new(
                std::fs::File::create(path)
                    .map_err(|e| format!("cannot write the summary to {}: {e}", path.display()))?,
            ),
            None => Box::new(std::io::stderr()),
        };

        let mut notes = Vec::new();
        let seccomp_ok = !env_flag("CAFIX_TRACE_NO_SECCOMP") && {
            let ok = seccomp::available();
            if !ok {
                notes.push(
                    "this kernel cannot filter system calls for a tracer (no SECCOMP_RET_TRACE): \
                     every system call stopped the command, which ran slower"
                        .to_string(),
                );
            }
            ok
        };
        // CAFIX_TRACE_ONE_CPU=1: tracer and command share one CPU (fastest
        // stops, but the command sees and uses a single CPU).
        let one_cpu = env_flag("CAFIX_TRACE_ONE_CPU") && pin_to_current_cpu();
        // Poll 100 µs for the next stop before sleeping, when there is a CPU
        // to spare for it (CAFIX_TRACE_SPIN_US overrides; for benchmarks).
        let spin_us = std::env::var("CAFIX_TRACE_SPIN_US")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| {
                if !one_cpu && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2) {
                    100
                } else {
                    0
                }
            });
        let settings = Settings {
            fix: options.fix,
            seccomp: seccomp_ok,
            syscall_info: !env_flag("CAFIX_TRACE_NO_SYSCALL_INFO"),
            spin: std::time::Duration::from_micros(spin_us),
        };

        let config = Config::resolve(
            system_config().as_deref(),
            &|name| std::env::var_os(name).map(OsStringExt::into_vec),
            false,
        );
        let is_file = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
        let mut bundle = find_system_bundle(&config, &is_file).map(SystemBundle::new);
        let fixer = if options.fix { Some(Fixer::new()?) } else { None };
        if options.fix && bundle.is_none() {
            notes.push("no system CA bundle was found: --fix has nothing to serve".to_string());
        }

        let filter = seccomp_ok.then(seccomp::filter);
        let spawned = spawn::spawn(&options.command, filter.as_deref())?;
        let signals = Forwarding::install(spawned.pid);
        let tracer = Tracer::new(spawned.pid, settings, fixer, bundle.as_mut());
        let traced = tracer.run(&signals);
        drop(signals);
        let mut traced = traced?;

        match spawn::read_report(&spawned.report) {
            Some(ChildFailure::Exec(errno)) if matches!(traced.exit, Exit::Code(126 | 127)) => {
                let what = match errno {
                    libc::ENOENT | libc::ENOTDIR => "command not found".to_string(),
                    _ => std::io::Error::from_raw_os_error(errno).to_string(),
                };
                eprintln!("cafix trace: {}: {what}", program_name(options));
                return Ok(if matches!(errno, libc::ENOENT | libc::ENOTDIR) {
                    127
                } else {
                    126
                });
            }
            Some(ChildFailure::Filter(errno)) => {
                return Err(format!(
                    "cannot install the seccomp filter: {}; CAFIX_TRACE_NO_SECCOMP=1 traces without it (slower)",
                    std::io::Error::from_raw_os_error(errno)
                ));
            }
            _ => {}
        }

        notes.append(&mut traced.notes);
        traced.notes = notes;
        let mode = Mode {
            fix: options.fix,
            seccomp: seccomp_ok,
            syscall_info: settings.syscall_info,
        };
        let summary = report::summarize(&options.command, &traced, bundle.as_mut(), mode);
        let written = if options.json {
            writeln!(output, "{}", summary.json)
        } else {
            output.write_all(summary.text.as_bytes())
        };
        if let Err(e) = written.and_then(|()| output.flush()) {
            let to = options
                .output
                .as_ref()
                .map_or("stderr".to_string(), |p| p.display().to_string());
            eprintln!("cafix trace: cannot write the summary to {to}: {e}");
        }
        Ok(traced.exit.status())
    }
}
