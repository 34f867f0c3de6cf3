//! Where log records go: a `log_file` if one is set (text lines or JSON,
//! each with its time), else the target: the system journal (its native
//! socket, `/dev/log` where there is no journald), syslog (`/dev/log`), or
//! stderr, which is also where the other two fall back to when neither
//! socket exists. Written with raw system calls, so logging never re-enters
//! a hook; sockets are opened per record ([`log_socket`]), so nothing is
//! opened at load and no descriptor is held.
//!
//! Warnings and errors pass a per-process rate limiter (`log_rate` a minute
//! for one program, server and cause; `cafix::rate_limit`); what it holds
//! back is told in one record when the kind's minute is over, or when the
//! process exits. A record a busy daemon did not take is counted, and the
//! count is told in the next record that gets through.
//!
//! The shim registers itself with the `log` facade (its own copy, linked
//! into the engine, separate from any the host program has), so code in the
//! library can log with `log::warn!` and the shim decides where it goes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, TryLockError};

use cafix::config::{Config, Format, Level, Target};
use cafix::log_wire::{self, LocalTime};
use cafix::rate_limit::{RateLimiter, Suppressed, Verdict};
use cafix::record::{Record, Timestamp};

use crate::log_socket::{self, Delivery, TooLarge, Unusable};
use crate::sys;

struct Sink {
    level: Level,
    format: Format,
    file: Option<PathBuf>,
    target: Target,
    rate: u32,
}

static SINK: OnceLock<Sink> = OnceLock::new();

struct Facade;

impl log::Log for Facade {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        let level = match record.level() {
            log::Level::Error => Level::Error,
            log::Level::Warn => Level::Warn,
            log::Level::Info => Level::Info,
            _ => Level::Debug,
        };
        emit(&Record::new(level, "message", record.args().to_string()));
    }

    fn flush(&self) {}
}

static FACADE: Facade = Facade;

/// Sets the destination from the configuration; the first call wins.
pub fn install(config: &Config) {
    let _ = SINK.set(Sink {
        level: config.level,
        format: config.format,
        file: config.log_file.clone(),
        target: config.log_target,
        rate: config.log_rate,
    });
    if log::set_logger(&FACADE).is_ok() {
        log::set_max_level(config.level.to_log_filter());
    }
}

/// Whether records of `level` are written (the logger is installed by
/// `state::shim()`; before that, nothing is).
pub fn enabled(level: Level) -> bool {
    SINK.get()
        .is_some_and(|sink| sink.level != Level::Off && level <= sink.level)
}

/// Writes one record if its level is enabled and the rate limit lets it.
pub fn emit(record: &Record) {
    let Some(sink) = SINK.get() else { return };
    if !enabled(record.level) {
        return;
    }
    if record.level <= Level::Warn && sink.rate > 0 {
        match admit(record, sink.rate) {
            Verdict::Suppress => return,
            Verdict::Pass(Some(told)) => deliver(sink, &suppressed_record(&told)),
            Verdict::Pass(None) => {}
        }
    }
    deliver(sink, record);
}

// ---- the rate limit ---------------------------------------------------------

/// What a suppressed kind's first record said.
#[derive(Clone)]
struct Kind {
    event: &'static str,
    program: Option<String>,
    server: Option<String>,
    hint_class: Option<String>,
    cause: Option<String>,
    message: String,
}

/// The limiter, and the process it belongs to (a forked child starts afresh).
static LIMITER: Mutex<(u32, RateLimiter<Kind>)> = Mutex::new((0, RateLimiter::new(0)));
static EXIT_HANDLER: AtomicBool = AtomicBool::new(false);

fn admit(record: &Record, rate: u32) -> Verdict<Kind> {
    let kind = || Kind {
        event: record.event,
        program: record.detail("program").map(str::to_string),
        server: record.detail("server").map(str::to_string),
        hint_class: record.detail("_hint_class").map(str::to_string),
        cause: record.detail("cause").map(str::to_string),
        message: record.message.clone(),
    };
    // The program is the same for every record of a process; what it
    // failed at is the message when there is no cause.
    let what = record.detail("_hint_class").unwrap_or(&record.message);
    let key = format!(
        "{}\0{}\0{what}",
        record.event,
        record.detail("server").unwrap_or_default()
    );
    let now = now().secs.max(0) as u64;
    // Never wait: a limiter held by another thread (or by a thread that is
    // gone, in a forked child) lets the record through.
    let mut guard = match LIMITER.try_lock() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return Verdict::Pass(None),
    };
    let (owner, limiter) = &mut *guard;
    let pid = std::process::id();
    if *owner != pid {
        *owner = pid;
        limiter.clear();
    }
    limiter.set_limit(rate);
    let verdict = limiter.admit(&key, kind, now);
    if matches!(verdict, Verdict::Suppress) {
        tell_at_exit();
    }
    verdict
}

/// Registers, once, what is told when the process exits.
fn tell_at_exit() {
    if !EXIT_HANDLER.swap(true, Ordering::Relaxed) {
        // SAFETY: registers a plain function of this object, which is
        // loaded RTLD_NODELETE and never unloaded.
        unsafe { libc::atexit(at_exit) };
    }
}

/// At exit: the counts of records held back whose minute is not over, and
/// of records dropped since the last one that got through.
extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let Some(sink) = SINK.get() else { return };
        let left = match LIMITER.try_lock() {
            Ok(mut g) if g.0 == std::process::id() => g.1.drain(),
            _ => Vec::new(),
        };
        for told in &left {
            deliver(sink, &suppressed_record(told));
        }
        if left.is_empty() && DROPPED.load(Ordering::Relaxed) > 0 {
            deliver(
                sink,
                &Record::new(Level::Warn, "dropped", "the process exits with records not written"),
            );
        }
    });
}

fn suppressed_record(told: &Suppressed<Kind>) -> Record {
    let k = &told.about;
    let since = Timestamp {
        secs: told.since as i64,
        micros: 0,
    };
    let what = match (&k.server, &k.cause) {
        (Some(server), Some(cause)) => format!("{} for {server}: {cause}", first_clause(&k.message)),
        (None, Some(cause)) => format!("{}: {cause}", first_clause(&k.message)),
        _ => k.message.clone(),
    };
    let mut r = Record::new(
        Level::Warn,
        "suppressed",
        format!(
            "{} more record(s) like this were not written since {} (at most {} a minute): {what}",
            told.count,
            since.rfc3339(),
            SINK.get().map_or(0, |s| s.rate)
        ),
    )
    .with("_suppressed", told.count.to_string())
    .with("_suppressed_event", k.event)
    .with("_since", since.rfc3339());
    for (key, value) in [
        ("program", &k.program),
        ("server", &k.server),
        ("cause", &k.cause),
        ("_hint_class", &k.hint_class),
    ] {
        if let Some(v) = value {
            r = r.with(key, v.clone());
        }
    }
    r
}

/// `certificate verification failed` of `certificate verification failed: …`.
fn first_clause(message: &str) -> &str {
    message.split(':').next().unwrap_or(message)
}

// ---- delivery ---------------------------------------------------------------

/// Records a busy log daemon did not take, not yet told.
static DROPPED: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Destination {
    Journal,
    Syslog,
    Stderr,
}

fn deliver(sink: &Sink, record: &Record) {
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    let told;
    let record = if dropped > 0 {
        told = record.clone().with(
            "records dropped before this one",
            format!("{dropped} (the log socket was full)"),
        );
        &told
    } else {
        record
    };
    let now = now();
    if let Some(file) = &sink.file {
        if sys::append_to_file(
            file,
            record.render_at(std::process::id(), sink.format, Some(now)).as_bytes(),
        ) {
            return;
        }
    }
    let first = match sink.target {
        Target::Journal => Destination::Journal,
        Target::Syslog => Destination::Syslog,
        Target::Stderr => Destination::Stderr,
    };
    if !deliver_to(first, sink, record, now) {
        DROPPED.fetch_add(dropped + 1, Ordering::Relaxed);
        tell_at_exit();
    }
}

/// Sends `record` to `dest`, or on to the next destination if `dest` has no
/// usable socket. False if it was dropped.
fn deliver_to(dest: Destination, sink: &Sink, record: &Record, now: Timestamp) -> bool {
    let pid = std::process::id();
    let (path, delivery, next) = match dest {
        Destination::Stderr => {
            if stderr_is_still_stderr() {
                // JSON has its time; a text line on stderr is as it always was.
                let time = (sink.format == Format::Json).then_some(now);
                let _ = sys::write_all(libc::STDERR_FILENO, record.render_at(pid, sink.format, time).as_bytes());
            }
            return true;
        }
        Destination::Journal => (
            log_wire::JOURNAL_SOCKET,
            log_socket::send(
                log_wire::JOURNAL_SOCKET,
                &[log_wire::journal_entry(record, pid)],
                TooLarge::Memfd,
            ),
            Destination::Syslog,
        ),
        Destination::Syslog => (
            log_wire::SYSLOG_SOCKET,
            log_socket::send(
                log_wire::SYSLOG_SOCKET,
                &log_wire::syslog_datagrams(record, pid, sink.format, local_time(now)),
                TooLarge::Drop,
            ),
            Destination::Stderr,
        ),
    };
    match delivery {
        Delivery::Sent => true,
        Delivery::Dropped => false,
        Delivery::Unavailable(why) => {
            if let Some(note) = note_once(dest, path, why, next) {
                deliver_to(next, sink, &note, now);
            }
            deliver_to(next, sink, record, now)
        }
    }
}

/// Said once per process and socket: a socket path that is there but not
/// usable (a missing one is the normal case of a daemon that does not run).
fn note_once(dest: Destination, path: &std::ffi::CStr, why: Unusable, next: Destination) -> Option<Record> {
    static NOTED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
    if why == Unusable::Missing || NOTED[(dest == Destination::Syslog) as usize].swap(true, Ordering::Relaxed) {
        return None;
    }
    let next = match next {
        Destination::Journal => "the journal",
        Destination::Syslog => "/dev/log",
        Destination::Stderr => "standard error",
    };
    Some(Record::new(
        Level::Warn,
        "log-destination",
        format!(
            "{} not used: {}; records go to {next}",
            path.to_string_lossy(),
            why.describe()
        ),
    ))
}

fn now() -> Timestamp {
    // SAFETY: all-zero is a valid timespec; clock_gettime only fills it.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: CLOCK_REALTIME always exists; `ts` is ours.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    // `time_t` is 32-bit on 32-bit targets: `into` widens it there.
    #[allow(clippy::useless_conversion)]
    let secs = ts.tv_sec.into();
    Timestamp {
        secs,
        micros: (ts.tv_nsec / 1000) as u32,
    }
}

/// The local time of `t`, as glibc's `syslog()` puts in its header.
fn local_time(t: Timestamp) -> LocalTime {
    // SAFETY: all-zero is a valid `struct tm`; localtime_r only fills it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // `time_t` is 32-bit on 32-bit targets, where a time past 2038 cannot
    // be asked for; elsewhere the conversion is the identity.
    #[allow(clippy::unnecessary_fallible_conversions)]
    let secs = libc::time_t::try_from(t.secs).unwrap_or(libc::time_t::MAX);
    // SAFETY: both pointers are to locals.
    unsafe { libc::localtime_r(&secs, &mut tm) };
    LocalTime {
        month: (tm.tm_mon + 1).clamp(1, 12) as u32,
        day: tm.tm_mday.max(1) as u32,
        hour: tm.tm_hour.max(0) as u32,
        minute: tm.tm_min.max(0) as u32,
        second: tm.tm_sec.max(0) as u32,
    }
}

// ---- stderr -----------------------------------------------------------------

/// The file behind fd 2 when the library was loaded (device, inode), or 0s
/// if fd 2 was closed then.
static STDERR_AT_LOAD: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn identity_of_fd2() -> Option<(u64, u64)> {
    crate::sys::fstat(libc::STDERR_FILENO).map(|st| (st.st_dev, st.st_ino))
}

/// What stderr was when libcafix.so was loaded (the front's constructor
/// noted it): a program that closes fd 2 and opens one of its own files
/// there never gets a log line written into that file.
pub fn set_stderr_at_load(dev: u64, ino: u64) {
    STDERR_AT_LOAD[0].store(dev, Ordering::Relaxed);
    STDERR_AT_LOAD[1].store(ino, Ordering::Relaxed);
}

fn stderr_is_still_stderr() -> bool {
    let (dev, ino) = (
        STDERR_AT_LOAD[0].load(Ordering::Relaxed),
        STDERR_AT_LOAD[1].load(Ordering::Relaxed),
    );
    (dev, ino) != (0, 0) && identity_of_fd2() == Some((dev, ino))
}
