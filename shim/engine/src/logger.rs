//! Where log records go: stderr or `CAFIX_LOG_FILE`, as text or JSON lines,
//! written with raw `write(2)` so logging never re-enters a hook.
//!
//! The shim registers itself with the `log` facade (its own copy, linked
//! into libcafix.so, separate from any the host program has), so code in the
//! library can log with `log::warn!` and the shim decides where it goes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use cafix::config::{Config, Format, Level};
use cafix::record::Record;

use crate::sys;

struct Sink {
    level: Level,
    format: Format,
    file: Option<PathBuf>,
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
    });
    if log::set_logger(&FACADE).is_ok() {
        log::set_max_level(config.level.to_log_filter());
    }
}

/// Writes one record if its level is enabled.
pub fn emit(record: &Record) {
    let Some(sink) = SINK.get() else { return };
    if record.level > sink.level || sink.level == Level::Off {
        return;
    }
    let line = record.render(std::process::id(), sink.format);
    if let Some(file) = &sink.file {
        if sys::append_to_file(file, line.as_bytes()) {
            return;
        }
    }
    if stderr_is_still_stderr() {
        sys::write_all(libc::STDERR_FILENO, line.as_bytes());
    }
}

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
