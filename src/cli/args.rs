//! The command line of `cafix`, as clap definitions. The man page and the
//! shell completions are generated from these too (`cafix man`, `cafix completions`).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::style::ColorWhen;

pub const EXIT_STATUS: &str = "\
Exit status:
  0  healthy / verified / found
  1  a problem was found (doctor), the check failed (check), nothing found (lookup),
     a verification failed (log)
  2  cafix could not do its job: bad arguments, unreadable input, unreachable host
  run and trace exit with the command's status (126: not executable, 127: not found)

Run `cafix <command> --help` for each command's exit status.";

const LONG_ABOUT: &str = "\
Make broken TLS trust stores stop breaking programs.

cafix diagnoses why a program here cannot verify a TLS server (`doctor` for \
this machine's trust store, `check` for an endpoint) and runs programs with \
libcafix.so preloaded, which answers their lookups of missing CA certificates \
(`<hash>.<n>` entries of trust directories, well-known CA bundle paths) from \
the system CA bundle (`run`).";

#[derive(Debug, Parser)]
#[command(
    name = "cafix",
    version,
    about = "Make broken TLS trust stores stop breaking programs",
    long_about = LONG_ABOUT,
    after_help = EXIT_STATUS,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Colour the output: auto (on a terminal, unless NO_COLOR is set), always, never
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command with libcafix.so preloaded (like faketime or proxychains)
    #[command(
        long_about = "Run COMMAND with libcafix.so preloaded, replacing cafix (exec).\n\n\
            The library is prepended to LD_PRELOAD (entries already there are kept). It is \
            looked for in $CAFIX_LIB, next to the cafix binary (same directory, ../lib/cafix/, \
            ../lib/), then in the install directories. --log, --log-file, --log-format, \
            --log-target, --bundle and --no-serve set CAFIX_LOG, CAFIX_LOG_FILE, \
            CAFIX_LOG_FORMAT, CAFIX_LOG_TARGET, CAFIX_BUNDLE and CAFIX_SERVE=0 for the \
            command; see libcafix(8).",
        after_help = "Exit status: the command's own; 126 if it cannot be executed, 127 if it is not found, \
            2 if cafix cannot run it (bad arguments, libcafix.so not found).\n\n\
            Example: cafix run --log info -- zeal"
    )]
    Run(RunArgs),

    /// Audit this machine's trust store (read-only)
    #[command(
        long_about = "Audit this machine's trust store, changing nothing.\n\n\
            Reports the system CA bundle and every well-known bundle path (present, symbolic link, \
            missing) with certificate counts; expired and not yet valid CAs; every well-known trust \
            directory's hash entries (broken symbolic links, stale or unreachable entries, \
            duplicates, certificates not in the bundle, bundle CAs missing from it); OpenSSL's \
            compiled-in default CA file and directory and SSL_CERT_FILE/SSL_CERT_DIR in force; and \
            how Qt will find CAs here: on-demand lookup in its directories (then the bundle CAs Qt \
            programs cannot find, by name) or loading bundle files. Then programs' own root stores: \
            certifi copies (system, user, pyenv, pipx and poetry site-packages, venvs and conda \
            environments under the current and the home directory), pip's and botocore's vendored \
            copies, conda's ssl/cacert.pem, every JDK's cacerts (or the jssecacerts it reads instead; \
            /usr/lib/jvm, JAVA_HOME, PATH, ~/.gradle/jdks, ~/.sdkman, ~/.jdks) and the roots compiled \
            into node; \
            each copy of the public roots that lacks a local CA (a certificate under the \
            distribution's anchor directories that is also in the system bundle) is named with the \
            programs it breaks and the fix (covered where libcafix.so is preloaded system-wide, which \
            adds them), and stores that are not such a copy are left alone. Then \
            NSS's stores: Chromium's NSS databases (~/.pki/nssdb, ~/.local/share/pki/nssdb, the \
            snap's), Firefox and Thunderbird profiles (~/.mozilla, ~/.config/mozilla, \
            ~/.thunderbird, snap and flatpak homes), /etc/pki/nssdb, read with certutil, and their \
            enterprise policies (Certificates.Install, SecurityDevices): which local CAs each lacks, \
            whether cafix adds them in memory, the certutil line and the policies.json snippet. Ends \
            with a verdict and the commands that fix each problem.\n\n\
            With --ca FILE: where the CA in FILE is trusted here instead (the system bundle, the \
            local CAs, each trust directory by its hash entries, Qt, each root store, each NSS database and profile).",
        after_help = "Exit status: 0 healthy, 1 problems found (warnings alone do not count), 2 cafix could not run. \
            With --ca: 0 trusted everywhere it should be, 1 missing somewhere, 2 FILE unreadable."
    )]
    Doctor(DoctorArgs),

    /// Diagnose a TLS endpoint: chain, verification (OpenSSL and Qt), cause, fix
    #[command(
        long_about = "Connect to a TLS server, show the certificate chain it sends, verify it the way \
            OpenSSL programs here do (default paths, or --cacert/--capath) and the way a Qt program \
            here would (its hash directories on demand, or the bundle files it loads), and name the \
            cause of a failure with its fix: no common protocol version; no common cipher; root not \
            trusted or self-signed; incomplete chain; hostname mismatch; expired or not yet valid; \
            client certificate required; client certificate not accepted (with the server's \
            acceptable client CA names). A self-signed server gets the fingerprint to pin.\n\n\
            TARGET is a URL (https://host[:port]/..., also ldaps, imaps, smtps, pop3s, ftps, \
            ircs, mqtts, amqps, wss) or HOST[:PORT] (default port 443; IPv6 as [addr]:port).",
        after_help = "Exit status: 0 the handshake and the verifications succeed, 1 they fail (the cause is \
            classified), 2 cafix could not check (bad arguments or files, name resolution, connection \
            refused, timeout, not a TLS port)."
    )]
    Check(CheckArgs),

    /// Print the subject hashes (c_rehash names) of certificates
    #[command(
        long_about = "Print the subject hash of each certificate (what `openssl x509 -subject_hash` prints \
            and the name `openssl rehash`/c_rehash gives its link: <hash>.<n>), with the subject. \
            A PEM file gives one line per certificate (bundles included); DER files are read too. \
            FILE - reads standard input.",
        after_help = "Exit status: 0 all files read, 2 a file could not be read or holds no certificate."
    )]
    Hash(HashArgs),

    /// Find the certificates with a subject hash (4042bcee -> ISRG Root X1)
    #[command(
        long_about = "Find the certificates whose subject hash is HASH in the system CA bundle and in the \
            well-known trust directories. HASH is 8 hex digits, a hash entry name (4042bcee.0) or its path.",
        after_help = "Exit status: 0 found, 1 not found, 2 HASH is not a subject hash."
    )]
    Lookup(LookupArgs),

    /// Run a command under ptrace and report how it looks for system trust
    #[command(
        long_about = "Run COMMAND under ptrace and report how it looked for system trust: the trust \
            directories, hash entries and bundle paths it tried, and whether each was found, missing \
            or a broken link. Works at the system call boundary, so it reaches programs the preload \
            cannot (static OpenSSL, Go, AppImages). With --fix, its lookups of missing trust \
            locations succeed, served from the system bundle. x86_64 programs on x86_64 only: a \
            32-bit program runs untraced (the summary says so), and on other architectures cafix \
            trace exits 2 before running anything.",
        after_help = "Exit status: the command's own (128 + the signal that killed it); 126 if it cannot be \
            executed, 127 if it is not found; 2 if cafix cannot trace it."
    )]
    Trace(TraceArgs),

    /// Summarise what failed on this machine, from libcafix.so's records
    #[command(
        long_about = "Read libcafix.so's records back and summarise what failed on this machine: \
            which programs failed to verify which servers, the cause, the fix, how often and since \
            when, one line each (`zeal → api.example.org:443  root not in the system bundle  14× \
            since 09:12  fix: …`), then other warnings and errors.\n\n\
            Reads the system journal (`journalctl -o json SYSLOG_IDENTIFIER=cafix`: records sent \
            with log_target = journal or syslog) where journald runs or has left journal files, \
            else /var/log/syslog or /var/log/messages; and the log_file /etc/cafix.conf names. With FILE arguments it reads \
            those instead: syslog files, a log_file (text or JSON lines), a program's captured \
            standard error, saved `journalctl -o json` output. The records' time, program and \
            server are as the programs' processes wrote them (any user can write such lines), \
            and control characters in them are shown as `?`.",
        after_help = "Exit status: 0 no verification failed (in the records read, after the filters), \
            1 one did, 2 nothing could be read (no journal and no syslog file, an unreadable FILE) \
            or bad arguments.\n\n\
            Examples: cafix log --since today; cafix log --program zeal --json; \
            cafix log --host api.example.org /var/log/cafix.log"
    )]
    Log(LogArgs),

    /// Write the man pages cafix.1 and libcafix.8 (dated SOURCE_DATE_EPOCH's day when it is set)
    #[command(hide = true)]
    Man(ManArgs),

    /// Print a shell completion script
    #[command(hide = true)]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// libcafix.so's log level (CAFIX_LOG)
    #[arg(long, value_name = "LEVEL", value_parser = ["off", "error", "warn", "info", "debug"])]
    pub log: Option<String>,

    /// Append libcafix.so's log lines to FILE instead of standard error (CAFIX_LOG_FILE)
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Log line format (CAFIX_LOG_FORMAT)
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,

    /// Send libcafix.so's records to standard error, the system journal or syslog (CAFIX_LOG_TARGET)
    #[arg(long, value_name = "TARGET", value_parser = ["stderr", "journal", "syslog"])]
    pub log_target: Option<String>,

    /// Serve from this CA bundle instead of the system's (CAFIX_BUNDLE)
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,

    /// Only observe and explain; serve nothing (CAFIX_SERVE=0)
    #[arg(long)]
    pub no_serve: bool,

    /// The command to run, and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machine-readable output (one JSON object)
    #[arg(long)]
    pub json: bool,

    /// List every name (missing CAs, entries), not only the first few
    #[arg(short, long)]
    pub verbose: bool,

    /// Where is the CA in FILE trusted here: the system bundle, each trust directory, Qt, local CAs, programs' own root stores, NSS databases and profiles
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// https://host[:port]/..., host[:port], [ipv6]:port
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// Server name to send (SNI) and to verify; default: the host of TARGET (none for an IP address)
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,

    /// Verify against the CA certificates in FILE (PEM) instead of the default paths
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Verify against the hash directory DIR instead of the default paths
    #[arg(long, value_name = "DIR")]
    pub capath: Option<PathBuf>,

    /// Client certificate (PEM; may also hold the key)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Client certificate's private key (PEM); default: --cert's file
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Lowest protocol version to offer: 1.0, 1.1, 1.2, 1.3
    #[arg(long, value_name = "VERSION", value_parser = parse_tls_version)]
    pub tls_min: Option<TlsVersion>,

    /// Highest protocol version to offer: 1.0, 1.1, 1.2, 1.3
    #[arg(long, value_name = "VERSION", value_parser = parse_tls_version)]
    pub tls_max: Option<TlsVersion>,

    /// Seconds to wait for the connection and for each read
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,

    /// Machine-readable output (one JSON object)
    #[arg(long)]
    pub json: bool,
}

/// A TLS protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 4] = [
        TlsVersion::Tls10,
        TlsVersion::Tls11,
        TlsVersion::Tls12,
        TlsVersion::Tls13,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls10 => "TLSv1",
            TlsVersion::Tls11 => "TLSv1.1",
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }
}

fn parse_tls_version(s: &str) -> Result<TlsVersion, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t
        .trim_start_matches("tlsv")
        .trim_start_matches("tls")
        .trim_start_matches('v');
    match t {
        "1" | "1.0" | "10" | "1_0" => Ok(TlsVersion::Tls10),
        "1.1" | "11" | "1_1" => Ok(TlsVersion::Tls11),
        "1.2" | "12" | "1_2" => Ok(TlsVersion::Tls12),
        "1.3" | "13" | "1_3" => Ok(TlsVersion::Tls13),
        _ => Err(format!("{s:?} is not a TLS version; use 1.0, 1.1, 1.2 or 1.3")),
    }
}

#[derive(Debug, Args)]
pub struct HashArgs {
    /// Certificate files (PEM, PEM bundles, DER); - for standard input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Machine-readable output (one JSON object)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// 8 hex digits (4042bcee), an entry name (4042bcee.0) or its path
    #[arg(value_name = "HASH")]
    pub hash: String,

    /// Machine-readable output (one JSON object)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Machine-readable summary (one JSON object)
    #[arg(long)]
    pub json: bool,

    /// Write the summary to FILE instead of standard error
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Make the command's lookups of missing trust locations succeed
    #[arg(long)]
    pub fix: bool,

    /// The command to trace, and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log files to read instead of the journal: syslog files, libcafix.so's log_file, captured standard error; - for standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Read the system journal (journalctl), also when FILEs are given
    #[arg(long)]
    pub journal: bool,

    /// Only records since TIME: 09:12 (today), 2026-02-03, "2026-02-03 09:12", today, yesterday, 2h, 30m, 2d (ago)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only the records of this program (its name, as the summary shows it: curl, zeal, git-remote-https)
    #[arg(long, value_name = "NAME")]
    pub program: Option<String>,

    /// Only the records about this server: its name or address, with or without :PORT
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Machine-readable output (one JSON object)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory to write cafix.1 and libcafix.8 into
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
