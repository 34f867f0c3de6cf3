//! Where log records go: stderr or `CAFIX_LOG_FILE`, as text or JSON lines,
//! written with raw `write(2)` so logging never re-enters a hook.
//!
//! The shim registers itself with the `log` facade (its own copy, linked
//! into libcafix.so, separate from any the host program has), so code in the
//! library can log with `log::warn!` and the shim decides where it goes.

use std::path::PathBuf;
use std::sync::OnceLock;

use cafix_core::config::{Config, Format, Level};
use cafix_core::record::Record;

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
    sys::write_all(libc::STDERR_FILENO, line.as_bytes());
}
