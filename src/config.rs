//! Configuration of the shim, from the environment and `/etc/cafix.conf`.
//!
//! In a secure-exec process (setuid, setgid, file capabilities: `AT_SECURE`)
//! the environment belongs to whoever started the program, so nothing in it
//! may change trust or where and how much the process logs: `CAFIX_BUNDLE`,
//! `CAFIX_LOCAL_CAS`, `CAFIX_LOG_FILE`, `CAFIX_LOG_TARGET`,
//! `CAFIX_LOG_FORMAT`, `CAFIX_LOG_RATE`, `SSL_CERT_FILE` and `SSL_CERT_DIR`
//! are ignored (OpenSSL itself ignores the last two there), `CAFIX_LOG` may
//! only lower the level, and only the root-owned `/etc/cafix.conf` counts.

use std::path::PathBuf;

/// Log verbosity, `CAFIX_LOG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Error,
    Warn,
    Info,
    Debug,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" => Level::Off,
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" | "trace" => Level::Debug,
            _ => return None,
        })
    }

    pub fn to_log_filter(self) -> log::LevelFilter {
        match self {
            Level::Off => log::LevelFilter::Off,
            Level::Error => log::LevelFilter::Error,
            Level::Warn => log::LevelFilter::Warn,
            Level::Info => log::LevelFilter::Info,
            Level::Debug => log::LevelFilter::Debug,
        }
    }
}

/// Log line format, `CAFIX_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Where log records go when no `log_file` takes them, `CAFIX_LOG_TARGET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The program's standard error (while it is still what it was at load).
    Stderr,
    /// The system journal's native socket; `/dev/log` where there is no
    /// journald, stderr where there is neither.
    Journal,
    /// `/dev/log`; stderr where there is none.
    Syslog,
}

impl Target {
    pub fn parse(s: &str) -> Option<Target> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "stderr" | "" => Target::Stderr,
            "journal" | "journald" => Target::Journal,
            "syslog" => Target::Syslog,
            _ => return None,
        })
    }
}

/// Records a minute of one program, server and cause, by default.
pub const DEFAULT_LOG_RATE: u32 = 5;

/// Everything the shim reads from its environment, resolved once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub level: Level,
    pub format: Format,
    /// A file log lines are appended to, before `log_target`.
    pub log_file: Option<PathBuf>,
    /// Where log lines go otherwise.
    pub log_target: Target,
    /// At most this many warnings and errors a minute of the same kind
    /// (program, server, cause); 0: no limit.
    pub log_rate: u32,
    /// The system bundle to serve from, if set explicitly (`CAFIX_BUNDLE`).
    pub bundle: Option<PathBuf>,
    /// `SSL_CERT_FILE`, when honoured.
    pub ssl_cert_file: Option<Vec<u8>>,
    /// `SSL_CERT_DIR`, when honoured.
    pub ssl_cert_dir: Option<Vec<u8>>,
    /// Set when serving is switched off (`CAFIX_SERVE=0`): observe and log only.
    pub serve: bool,
    /// Whether local CAs are added to stores loaded from a copy of the public
    /// roots, to JDKs, Node.js and NSS's built-in trust (`CAFIX_LOCAL_CAS=off`,
    /// `local_cas_inject = no` turn it off).
    pub local_cas_inject: bool,
    /// More local-CA files, from `local_cas` in `/etc/cafix.conf` only.
    pub local_cas: Vec<PathBuf>,
    /// Problems met while reading the configuration, to be logged once.
    pub notes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            level: Level::Warn,
            format: Format::Text,
            log_file: None,
            log_target: Target::Stderr,
            log_rate: DEFAULT_LOG_RATE,
            bundle: None,
            ssl_cert_file: None,
            ssl_cert_dir: None,
            serve: true,
            local_cas_inject: true,
            local_cas: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// The system-wide configuration file, the only source in secure-exec.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/cafix.conf";
/// A larger configuration file is not read.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Keys, shared by the environment (`CAFIX_<KEY>`) and `/etc/cafix.conf` (`key = value`).
const KEYS: &[&str] = &[
    "log",
    "log_format",
    "log_file",
    "log_target",
    "log_rate",
    "bundle",
    "serve",
    "local_cas",
    "local_cas_inject",
];

impl Config {
    /// Builds the configuration. `file` is the text of `/etc/cafix.conf`
    /// (already checked to be a root-owned regular file), `env` looks up an
    /// environment variable, `secure` is `AT_SECURE`.
    pub fn resolve(file: Option<&str>, env: &dyn Fn(&str) -> Option<Vec<u8>>, secure: bool) -> Config {
        let mut config = Config::default();
        if let Some(text) = file {
            config.apply_file(text);
        }
        let text_of = |name: &str| env(name).and_then(|v| String::from_utf8(v).ok());
        if let Some(v) = text_of("CAFIX_SERVE") {
            config.set("serve", &v, "CAFIX_SERVE");
        }
        if secure {
            // The environment may make a secure-exec process quieter, never louder.
            let from_file = config.level;
            if let Some(v) = text_of("CAFIX_LOG") {
                config.set("log", &v, "CAFIX_LOG");
                if config.level > from_file {
                    config.level = from_file;
                    config.notes.push(
                        "CAFIX_LOG ignored: this is a secure-exec (setuid/setgid/capability) process, \
                         where it may only lower the level"
                            .to_string(),
                    );
                }
            }
            for name in [
                "CAFIX_LOG_FILE",
                "CAFIX_LOG_TARGET",
                "CAFIX_LOG_FORMAT",
                "CAFIX_LOG_RATE",
                "CAFIX_BUNDLE",
                "CAFIX_LOCAL_CAS",
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
            ] {
                if env(name).is_some() {
                    config.notes.push(format!(
                        "{name} ignored: this is a secure-exec (setuid/setgid/capability) process"
                    ));
                }
            }
            // No file: log_file is root's choice, but a setuid program writing
            // a file its user can read is not; log_target still counts.
            config.log_file = None;
        } else {
            for (key, name) in [
                ("log", "CAFIX_LOG"),
                ("log_format", "CAFIX_LOG_FORMAT"),
                ("log_file", "CAFIX_LOG_FILE"),
                ("log_target", "CAFIX_LOG_TARGET"),
                ("log_rate", "CAFIX_LOG_RATE"),
            ] {
                if let Some(v) = text_of(name) {
                    config.set(key, &v, name);
                }
            }
            if let Some(v) = text_of("CAFIX_BUNDLE") {
                config.set("bundle", &v, "CAFIX_BUNDLE");
            }
            if let Some(v) = text_of("CAFIX_LOCAL_CAS") {
                config.set("local_cas_inject", &v, "CAFIX_LOCAL_CAS");
            }
            config.ssl_cert_file = env("SSL_CERT_FILE").filter(|v| !v.is_empty());
            config.ssl_cert_dir = env("SSL_CERT_DIR").filter(|v| !v.is_empty());
        }
        config
    }

    fn apply_file(&mut self, text: &str) {
        let mut unknown = 0usize;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((key, value)) if KEYS.contains(&key.trim()) => {
                    self.set(key.trim(), value.trim(), &format!("{SYSTEM_CONFIG_PATH}:{}", n + 1));
                }
                _ => unknown += 1,
            }
        }
        if unknown > 0 {
            self.notes.push(format!(
                "{SYSTEM_CONFIG_PATH}: {unknown} line(s) ignored (not `key = value` with a known key)"
            ));
        }
    }

    fn set(&mut self, key: &str, value: &str, origin: &str) {
        match key {
            "log" => match Level::parse(value) {
                Some(l) => self.level = l,
                None => self.notes.push(format!(
                    "{origin}: unknown log level {value:?}; use off, error, warn, info or debug"
                )),
            },
            "log_format" => match value.trim() {
                "json" => self.format = Format::Json,
                "text" | "" => self.format = Format::Text,
                other => self
                    .notes
                    .push(format!("{origin}: unknown log format {other:?}; use text or json")),
            },
            "log_file" if !value.is_empty() => self.log_file = Some(PathBuf::from(value)),
            "log_target" => match Target::parse(value) {
                Some(t) => self.log_target = t,
                None => self.notes.push(format!(
                    "{origin}: unknown log target {value:?}; use stderr, journal or syslog"
                )),
            },
            "log_rate" => match value.trim().parse::<u32>() {
                Ok(n) => self.log_rate = n,
                Err(_) => self.notes.push(format!(
                    "{origin}: log_rate {value:?} is not a number of records a minute (0: no limit)"
                )),
            },
            "bundle" if !value.is_empty() => self.bundle = Some(PathBuf::from(value)),
            "serve" => self.serve = !is_no(value),
            "local_cas_inject" => self.local_cas_inject = !is_no(value),
            // Paths separated by commas or white space; only /etc/cafix.conf sets it.
            "local_cas" => self.local_cas.extend(
                value
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| p.starts_with('/'))
                    .map(PathBuf::from),
            ),
            _ => {}
        }
    }
}

fn is_no(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "0" | "no" | "off" | "false")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
        let map: HashMap<String, Vec<u8>> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_warn_text_stderr() {
        let c = Config::resolve(None, &env_of(&[]), false);
        assert_eq!(c.level, Level::Warn);
        assert_eq!(c.format, Format::Text);
        assert_eq!(c.log_file, None);
        assert!(c.serve);
    }

    #[test]
    fn environment_is_read_outside_secure_exec() {
        let env = env_of(&[
            ("CAFIX_LOG", "info"),
            ("CAFIX_LOG_FORMAT", "json"),
            ("CAFIX_LOG_FILE", "/tmp/x.log"),
            ("CAFIX_BUNDLE", "/tmp/b.pem"),
            ("SSL_CERT_FILE", "/tmp/c.pem"),
            ("SSL_CERT_DIR", "/tmp/d"),
        ]);
        let c = Config::resolve(None, &env, false);
        assert_eq!(c.level, Level::Info);
        assert_eq!(c.format, Format::Json);
        assert_eq!(c.log_file, Some(PathBuf::from("/tmp/x.log")));
        assert_eq!(c.bundle, Some(PathBuf::from("/tmp/b.pem")));
        assert_eq!(c.ssl_cert_file.as_deref(), Some(&b"/tmp/c.pem"[..]));
        assert_eq!(c.ssl_cert_dir.as_deref(), Some(&b"/tmp/d"[..]));
    }

    #[test]
    fn secure_exec_ignores_trust_and_log_variables() {
        let env = env_of(&[
            ("CAFIX_LOG", "debug"),
            ("CAFIX_LOG_FILE", "/root/owned.log"),
            ("CAFIX_LOG_TARGET", "stderr"),
            ("CAFIX_LOG_FORMAT", "json"),
            ("CAFIX_LOG_RATE", "0"),
            ("CAFIX_BUNDLE", "/tmp/evil.pem"),
            ("SSL_CERT_FILE", "/tmp/evil.pem"),
            ("SSL_CERT_DIR", "/tmp/evil"),
        ]);
        let c = Config::resolve(
            Some(
                "bundle = /etc/ssl/certs/ca-certificates.crt\nlog_file = /var/log/cafix.log\n\
                 log_target = journal\nlog_rate = 2\n",
            ),
            &env,
            true,
        );
        assert_eq!(c.level, Level::Warn);
        assert_eq!(c.format, Format::Text);
        assert_eq!(c.log_file, None);
        assert_eq!(c.log_target, Target::Journal);
        assert_eq!(c.log_rate, 2);
        assert_eq!(c.bundle, Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")));
        assert_eq!(c.ssl_cert_file, None);
        assert_eq!(c.ssl_cert_dir, None);
        assert_eq!(c.notes.len(), 8, "{:?}", c.notes);
        // Quieter is allowed.
        let c = Config::resolve(Some("log = info\n"), &env_of(&[("CAFIX_LOG", "error")]), true);
        assert_eq!(c.level, Level::Error);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
    }

    #[test]
    fn the_packaged_example_sends_records_to_the_journal() {
        let c = Config::resolve(Some(include_str!("../packaging/cafix.conf")), &env_of(&[]), false);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        assert_eq!(c.log_target, Target::Journal);
        assert_eq!(
            c,
            Config {
                log_target: Target::Journal,
                ..Config::default()
            }
        );
    }

    #[test]
    fn log_target_and_rate_from_the_file_or_the_environment() {
        let c = Config::resolve(Some("log_target = journal\nlog_rate = 10\n"), &env_of(&[]), false);
        assert_eq!((c.log_target, c.log_rate), (Target::Journal, 10));
        let env = env_of(&[("CAFIX_LOG_TARGET", "syslog"), ("CAFIX_LOG_RATE", "0")]);
        let c = Config::resolve(Some("log_target = journal\n"), &env, false);
        assert_eq!((c.log_target, c.log_rate), (Target::Syslog, 0));
        let c = Config::resolve(None, &env_of(&[]), false);
        assert_eq!((c.log_target, c.log_rate), (Target::Stderr, DEFAULT_LOG_RATE));
        let c = Config::resolve(Some("log_target = kafka\nlog_rate = lots\n"), &env_of(&[]), false);
        assert_eq!((c.log_target, c.log_rate), (Target::Stderr, DEFAULT_LOG_RATE));
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
    }

    #[test]
    fn local_cas_come_from_the_file_and_injection_can_be_turned_off() {
        let file = "local_cas = /etc/corp/root.pem, /etc/corp/registry.pem\nlocal_cas_inject = yes\n";
        let c = Config::resolve(Some(file), &env_of(&[]), false);
        assert!(c.local_cas_inject);
        assert_eq!(
            c.local_cas,
            vec![
                PathBuf::from("/etc/corp/root.pem"),
                PathBuf::from("/etc/corp/registry.pem")
            ]
        );
        let c = Config::resolve(Some(file), &env_of(&[("CAFIX_LOCAL_CAS", "off")]), false);
        assert!(!c.local_cas_inject);
        let c = Config::resolve(Some("local_cas_inject = no\n"), &env_of(&[]), false);
        assert!(!c.local_cas_inject);
    }

    #[test]
    fn secure_exec_ignores_cafix_local_cas() {
        let c = Config::resolve(None, &env_of(&[("CAFIX_LOCAL_CAS", "off")]), true);
        assert!(c.local_cas_inject);
        assert!(
            c.notes.iter().any(|n| n.starts_with("CAFIX_LOCAL_CAS ignored")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn config_file_garbage_is_counted_not_fatal() {
        let c = Config::resolve(
            Some("log = info\n\u{0}\u{1}garbage\nnot a key = 3\n# comment\nlog_format = xml\n"),
            &env_of(&[]),
            false,
        );
        assert_eq!(c.level, Level::Info);
        assert_eq!(c.format, Format::Text);
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
    }
}
