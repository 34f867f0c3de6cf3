//! `cafix log`: what failed on this machine, read back from libcafix.so's
//! records (the journal, syslog files, a `log_file`) and summarised: which
//! programs against which servers, the cause and the fix, how often and
//! since when.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::args::LogArgs;
use super::style;
use crate::config::{Config, MAX_CONFIG_BYTES, SYSTEM_CONFIG_PATH};
use crate::explain::Hint;
use crate::log_read::{self, Entry, Reader};
use crate::record::{civil_from_days, days_from_civil, Timestamp};

/// Syslog files, where there is no journal.
const SYSLOG_FILES: [&str; 2] = ["/var/log/syslog", "/var/log/messages"];
/// A larger log file is read up to here.
const FILE_LIMIT: u64 = 1 << 30;

pub fn run(args: &LogArgs) -> Result<i32, String> {
    let clock = Clock::local();
    let since = match &args.since {
        Some(s) => Some(parse_since(s, &clock).ok_or_else(|| {
            format!("--since {s:?}: not a time; use 09:12, 2026-02-03, \"2026-02-03 09:12\", 2h, 30m, 2d, today or yesterday")
        })?),
        None => None,
    };
    let mut reader = Reader::new();
    let sources = read_sources(args, since, &clock, &mut reader)?;
    let (entries, unreadable) = reader.finish();
    let filter = Filter {
        since,
        program: args.program.clone(),
        host: args.host.clone(),
    };
    let summary = summarise(&entries, &filter);
    if args.json {
        style::print_json(&summary_json(&summary, &sources, entries.len(), unreadable));
    } else {
        print!(
            "{}",
            summary_text(&summary, &sources, entries.len(), unreadable, &clock)
        );
    }
    Ok(if summary.failures.is_empty() { 0 } else { 1 })
}

// ---- sources ------------------------------------------------------------------

/// Reads the FILEs and/or the journal; by default the journal (where
/// journald runs or has left files; else the syslog files) and the
/// `log_file` of /etc/cafix.conf. The names of what was read, or why
/// nothing could be.
fn read_sources(args: &LogArgs, since: Option<i64>, clock: &Clock, reader: &mut Reader) -> Result<Vec<String>, String> {
    let mut read = Vec::new();
    for file in &args.files {
        read_file(file, clock, reader)?;
        read.push(if file.as_os_str() == "-" {
            "standard input".to_string()
        } else {
            file.display().to_string()
        });
    }
    if args.journal {
        read_journal(since, reader)?;
        read.push("the journal".to_string());
    }
    if !read.is_empty() {
        return Ok(read);
    }
    let mut problems = Vec::new();
    if journal_present() {
        match read_journal(since, reader) {
            Ok(()) => read.push("the journal".to_string()),
            Err(why) => problems.push(why),
        }
    } else {
        problems.push("no journal (no journald socket, no journal files)".to_string());
        for f in SYSLOG_FILES {
            if Path::new(f).exists() {
                match read_file(Path::new(f), clock, reader) {
                    Ok(()) => read.push(f.to_string()),
                    Err(why) => problems.push(why),
                }
            }
        }
    }
    if let Some(file) = configured_log_file() {
        if file.exists() {
            match read_file(&file, clock, reader) {
                Ok(()) => read.push(file.display().to_string()),
                Err(why) => problems.push(why),
            }
        }
    }
    if read.is_empty() {
        problems.push(format!("no {} either", SYSLOG_FILES.join(" or ")));
        return Err(format!("no log to read: {}", problems.join("; ")));
    }
    Ok(read)
}

/// Whether this machine keeps a journal: journald's socket, or journal files.
fn journal_present() -> bool {
    let has_entries = |dir: &str| std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
    Path::new("/run/systemd/journal/socket").exists()
        || has_entries("/run/log/journal")
        || has_entries("/var/log/journal")
}

/// `log_file` in /etc/cafix.conf.
fn configured_log_file() -> Option<PathBuf> {
    let text = crate::audit::read_limited(Path::new(SYSTEM_CONFIG_PATH), MAX_CONFIG_BYTES as u64).ok()?;
    Config::resolve(Some(&String::from_utf8_lossy(&text)), &|_| None, false).log_file
}

fn read_file(path: &Path, clock: &Clock, reader: &mut Reader) -> Result<(), String> {
    let input: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        if path.is_dir() {
            return Err(format!("{}: is a directory", path.display()));
        }
        Box::new(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
    };
    let offset = |t: i64| clock.offset(t);
    // Lines are bytes: a syslog file may hold anything.
    for line in BufReader::new(input.take(FILE_LIMIT)).split(b'\n') {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        reader.line(&String::from_utf8_lossy(&line), clock.now, &offset);
    }
    Ok(())
}

/// `journalctl -o json --all SYSLOG_IDENTIFIER=cafix`: every record, those
/// that came through /dev/log too.
fn read_journal(since: Option<i64>, reader: &mut Reader) -> Result<(), String> {
    let mut cmd = Command::new("journalctl");
    cmd.args(["-o", "json", "--all", "--no-pager", "-q"]);
    if let Some(since) = since {
        cmd.arg(format!("--since=@{}", since.div_euclid(1_000_000)));
    }
    cmd.arg(format!("SYSLOG_IDENTIFIER={}", crate::log_wire::IDENTIFIER));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("journalctl: {e}"))?;
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).split(b'\n') {
            let line = line.map_err(|e| format!("journalctl: {e}"))?;
            reader.journal_line(&String::from_utf8_lossy(&line));
        }
    }
    let status = child.wait().map_err(|e| format!("journalctl: {e}"))?;
    let said = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        return Err(format!("journalctl: {status}: {}", said.trim()));
    }
    Ok(())
}

// ---- summary --------------------------------------------------------------------

pub struct Filter {
    /// Unix microseconds.
    pub since: Option<i64>,
    pub program: Option<String>,
    pub host: Option<String>,
}

/// One program's failures against one server, for one cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub program: String,
    pub server: String,
    pub hint: Hint,
    /// Records, plus those the rate limit held back.
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub pids: BTreeSet<u32>,
    /// The latest record's own hint, its certificate and the server's.
    pub hint_text: Option<String>,
    pub certificate: Option<String>,
    pub server_certificate: Option<String>,
}

/// Other warnings and errors, by program and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Other {
    pub level: String,
    pub event: String,
    pub program: String,
    pub message: String,
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
}

#[derive(Debug, Default)]
pub struct Summary {
    /// Most recent last.
    pub failures: Vec<Failure>,
    pub others: Vec<Other>,
}

fn program_of(e: &Entry) -> String {
    e.field("program")
        .map(str::to_string)
        .or_else(|| e.comm.clone())
        .or_else(|| e.pid.map(|p| format!("pid {p}")))
        .unwrap_or_else(|| "unknown program".to_string())
}

/// `host:port`, `host` or `address:port`, as the record's `server` line
/// starts; else the first name of the server's certificate.
fn server_of(e: &Entry) -> String {
    if let Some(server) = e.field("server") {
        return server.split(" (").next().unwrap_or(server).to_string();
    }
    let names = e.field("leaf_names").or_else(|| {
        e.field("server_certificate")
            .and_then(|c| c.rsplit_once(" (").map(|(_, n)| n.trim_end_matches(')')))
    });
    match names.and_then(|n| {
        n.split(", ")
            .find_map(|n| n.strip_prefix("DNS:").or(n.strip_prefix("IP:")))
    }) {
        Some(name) => format!("(a server with a certificate for {name})"),
        None => "(server unknown)".to_string(),
    }
}

/// Whether `e` is about `host`: its server's name or address, with or
/// without the port.
fn about_host(e: &Entry, host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let server = server_of(e).to_ascii_lowercase();
    // Without its port: `host`, `[::1]`, not the last group of a bare IPv6 address.
    let bare = |s: &str| -> String {
        let s = match s.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']')) => h,
            _ => s,
        };
        s.trim_start_matches('[').trim_end_matches(']').to_string()
    };
    // A HOST with a port matches that port only.
    let wanted = bare(&host);
    let with_port = wanted != host.trim_start_matches('[').trim_end_matches(']');
    let peer = e.field("peer").map(str::to_ascii_lowercase);
    let address = e
        .field("server")
        .and_then(|s| s.split("(address ").nth(1))
        .map(|a| a.split([',', ')']).next().unwrap_or(a).to_ascii_lowercase());
    [
        Some(server),
        e.field("server_name").map(str::to_ascii_lowercase),
        peer,
        address,
    ]
    .into_iter()
    .flatten()
    .any(|s| s == host || (!with_port && bare(&s) == wanted))
}

fn passes(e: &Entry, f: &Filter) -> bool {
    f.since.is_none_or(|since| e.time.is_some_and(|t| t >= since))
        && f.program
            .as_deref()
            .is_none_or(|p| program_of(e) == p || e.comm.as_deref() == Some(p))
        && f.host.as_deref().is_none_or(|h| about_host(e, h))
}

/// The count a `suppressed` record tells.
fn suppressed_count(e: &Entry) -> u64 {
    e.field("suppressed")
        .and_then(|n| n.parse().ok())
        .or_else(|| e.message.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

pub fn summarise(entries: &[Entry], filter: &Filter) -> Summary {
    let mut failures: BTreeMap<(String, String, &'static str), Failure> = BTreeMap::new();
    let mut others: BTreeMap<(String, String), Other> = BTreeMap::new();
    for e in entries.iter().filter(|e| passes(e, filter)) {
        let (records, held_back) = match e.event.as_str() {
            "verify-failed" => (1, 0),
            "suppressed" if e.field("suppressed_event").is_none_or(|ev| ev == "verify-failed") => {
                (0, suppressed_count(e))
            }
            _ => {
                if matches!(e.level.as_str(), "error" | "warning") {
                    let o = others
                        .entry((program_of(e), e.message.clone()))
                        .or_insert_with(|| Other {
                            level: e.level.clone(),
                            event: e.event.clone(),
                            program: program_of(e),
                            message: e.message.clone(),
                            count: 0,
                            first: e.time,
                            last: e.time,
                        });
                    o.count += 1;
                    o.first = o.first.min(e.time).or(e.time);
                    o.last = o.last.max(e.time);
                }
                continue;
            }
        };
        let hint = e.hint().unwrap_or(Hint::Other);
        let f = failures
            .entry((program_of(e), server_of(e), hint.as_str()))
            .or_insert_with(|| Failure {
                program: program_of(e),
                server: server_of(e),
                hint,
                count: 0,
                first: e.time,
                last: e.time,
                pids: BTreeSet::new(),
                hint_text: None,
                certificate: None,
                server_certificate: None,
            });
        f.count += records + held_back;
        f.first = f.first.min(e.time).or(e.time);
        f.last = f.last.max(e.time);
        f.pids.extend(e.pid);
        if records > 0 {
            f.hint_text = e.field("hint").map(str::to_string).or(f.hint_text.take());
            f.certificate = e.field("certificate").map(str::to_string).or(f.certificate.take());
            f.server_certificate = e
                .field("server_certificate")
                .map(str::to_string)
                .or(f.server_certificate.take());
        }
    }
    let mut failures: Vec<Failure> = failures.into_values().collect();
    failures.sort_by_key(|f| f.last);
    let mut others: Vec<Other> = others.into_values().collect();
    others.sort_by_key(|o| o.last);
    Summary { failures, others }
}

// ---- output ---------------------------------------------------------------------

/// Text from the logs is someone else's: no control characters reach the terminal.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn summary_text(s: &Summary, sources: &[String], records: usize, unreadable: usize, clock: &Clock) -> String {
    let mut out = String::new();
    for f in &s.failures {
        out.push_str(&format!(
            "{} → {}  {}  {}  fix: {}\n",
            style::bold(&clean(&f.program)),
            style::bold(&clean(&f.server)),
            style::bad(f.hint.cause()),
            how_often(f.count, f.first, clock),
            f.hint.fix()
        ));
    }
    if !s.others.is_empty() {
        if !s.failures.is_empty() {
            out.push('\n');
        }
        out.push_str("Other warnings and errors:\n");
        for o in &s.others {
            out.push_str(&format!(
                "  {}: {}  {}\n",
                clean(&o.program),
                style::warn(&clean(&o.message)),
                how_often(o.count, o.first, clock)
            ));
        }
    }
    let read = format!(
        "{records} record(s) read from {}{}",
        sources.join(", "),
        match unreadable {
            0 => String::new(),
            n => format!("; {n} line(s) that were not cafix records as it writes them"),
        }
    );
    if s.failures.is_empty() {
        out.push_str(&format!(
            "{}\n",
            style::good(&format!("No failed verification ({read})."))
        ));
    } else {
        let programs: BTreeSet<&str> = s.failures.iter().map(|f| f.program.as_str()).collect();
        out.push_str(&format!(
            "{}\n",
            style::dim(&format!(
                "{} failed verification(s) of {} program(s) ({read}).",
                s.failures.iter().map(|f| f.count).sum::<u64>(),
                programs.len()
            ))
        ));
    }
    out
}

/// `14× since 09:12`, `once at 09:12`.
fn how_often(count: u64, first: Option<i64>, clock: &Clock) -> String {
    let when = first.map(|t| clock.describe(t));
    match (count, when) {
        (1, Some(w)) => format!("once at {w}"),
        (1, None) => "once".to_string(),
        (n, Some(w)) => format!("{n}× since {w}"),
        (n, None) => format!("{n}×"),
    }
}

fn time_json(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| {
        json!(Timestamp {
            secs: t.div_euclid(1_000_000),
            micros: t.rem_euclid(1_000_000) as u32
        }
        .rfc3339())
    })
}

fn summary_json(s: &Summary, sources: &[String], records: usize, unreadable: usize) -> Value {
    json!({
        "sources": sources,
        "records": records,
        "unreadable_lines": unreadable,
        "failed": !s.failures.is_empty(),
        "failures": s.failures.iter().map(|f| json!({
            "program": f.program,
            "server": f.server,
            "hint_class": f.hint.as_str(),
            "cause": f.hint.cause(),
            "fix": f.hint.fix(),
            "hint": f.hint_text,
            "count": f.count,
            "first": time_json(f.first),
            "last": time_json(f.last),
            "pids": f.pids,
            "certificate": f.certificate,
            "server_certificate": f.server_certificate,
        })).collect::<Vec<_>>(),
        "other": s.others.iter().map(|o| json!({
            "level": o.level,
            "event": o.event,
            "program": o.program,
            "message": o.message,
            "count": o.count,
            "first": time_json(o.first),
            "last": time_json(o.last),
        })).collect::<Vec<_>>(),
    })
}

// ---- time -------------------------------------------------------------------------

/// Now, and the local time zone's offset from UTC at a given time.
pub struct Clock {
    /// Unix seconds.
    pub now: i64,
    offset: Box<dyn Fn(i64) -> i64>,
}

impl Clock {
    fn local() -> Clock {
        Clock {
            now: crate::audit::now(),
            offset: Box::new(local_offset),
        }
    }

    pub fn fixed(now: i64, offset: i64) -> Clock {
        Clock {
            now,
            offset: Box::new(move |_| offset),
        }
    }

    fn offset(&self, t: i64) -> i64 {
        (self.offset)(t)
    }

    /// The local (year, month, day, seconds into the day) of Unix time `t`.
    fn local_parts(&self, t: i64) -> (i64, u32, u32, i64) {
        let local = t + self.offset(t);
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        (y, m, d, local.rem_euclid(86_400))
    }

    /// Unix time of a local date and time of day.
    fn unix_of_local(&self, y: i64, m: u32, d: u32, secs: i64) -> i64 {
        let naive = days_from_civil(y, m, d) * 86_400 + secs;
        naive - self.offset(naive - self.offset(naive))
    }

    /// `09:12` today, `Feb 03 09:12` this year, `2025-12-31 23:00` before.
    fn describe(&self, micros: i64) -> String {
        let (y, m, d, secs) = self.local_parts(micros.div_euclid(1_000_000));
        let (ny, nm, nd, _) = self.local_parts(self.now);
        let clock = format!("{:02}:{:02}", secs / 3600, secs / 60 % 60);
        if (y, m, d) == (ny, nm, nd) {
            clock
        } else if y == ny {
            format!("{} {d:02} {clock}", crate::log_wire::MONTHS[(m - 1) as usize])
        } else {
            format!("{y:04}-{m:02}-{d:02} {clock}")
        }
    }
}

/// Seconds east of UTC of the local time zone at `t` (glibc's `tm_gmtoff`).
fn local_offset(t: i64) -> i64 {
    // SAFETY: all-zero is a valid `struct tm`; localtime_r only fills it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // `time_t` and `long` are 32-bit on 32-bit targets (no time past 2038
    // there); elsewhere these conversions are the identity.
    #[allow(clippy::unnecessary_fallible_conversions)]
    let Some(t) = libc::time_t::try_from(t).ok() else {
        return 0;
    };
    // SAFETY: both pointers are to locals.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return 0;
    }
    #[allow(clippy::useless_conversion)]
    i64::from(tm.tm_gmtoff)
}

/// `--since`: `09:12[:05]` (today), `2026-02-03`, `2026-02-03 09:12`,
/// RFC 3339, `@<unix seconds>`, `today`, `yesterday`, `2h`, `30m`, `2d`,
/// `90s` (ago, with or without ` ago`). Unix microseconds.
pub fn parse_since(s: &str, clock: &Clock) -> Option<i64> {
    let s = s.trim();
    let (y, m, d, _) = clock.local_parts(clock.now);
    let secs = match s {
        "today" => clock.unix_of_local(y, m, d, 0),
        "yesterday" => {
            let (y, m, d) = civil_from_days(days_from_civil(y, m, d) - 1);
            clock.unix_of_local(y, m, d, 0)
        }
        _ => {
            if let Some(t) = log_read::rfc3339(s) {
                return Some(t);
            }
            if let Some(unix) = s.strip_prefix('@') {
                unix.parse::<i64>().ok()?
            } else if let Some((h, mi, sec)) = log_read::clock(s) {
                clock.unix_of_local(y, m, d, h * 3600 + mi * 60 + sec)
            } else if let Some(ago) = duration(s.trim_end_matches(" ago").trim_start_matches('-')) {
                clock.now - ago
            } else {
                let (day, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00"));
                let (dy, dm, dd) = log_read::date(day)?;
                let (h, mi, sec) = log_read::clock(time)?;
                clock.unix_of_local(dy, dm, dd, h * 3600 + mi * 60 + sec)
            }
        }
    };
    Some(secs * 1_000_000)
}

/// `2h`, `30m`, `2d`, `90s`, `1w` in seconds.
fn duration(s: &str) -> Option<i64> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(scale).filter(|&d| d >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_770_120_000; // 2026-02-03T12:00:00Z

    fn entries(lines: &str) -> Vec<Entry> {
        let mut r = Reader::new();
        for l in lines.lines() {
            r.line(l, NOW, &|_| 0);
        }
        r.finish().0
    }

    fn no_filter() -> Filter {
        Filter {
            since: None,
            program: None,
            host: None,
        }
    }

    const LOG: &str = "\
2026-02-03T09:12:00Z cafix[7]: warning: certificate verification failed: unable to get local issuer certificate (error 20 at depth 1) [OpenSSL]
2026-02-03T09:12:00Z cafix[7]:   program: zeal
2026-02-03T09:12:00Z cafix[7]:   server: api.example.org:443 (address 192.0.2.7)
2026-02-03T09:12:00Z cafix[7]:   cause: root not in the system bundle
2026-02-03T09:12:00Z cafix[7]:   hint: install it
{\"cafix\":1,\"pid\":8,\"time\":\"2026-02-03T09:20:00.000000Z\",\"level\":\"warning\",\"event\":\"verify-failed\",\"message\":\"m\",\"program\":\"zeal\",\"server\":\"api.example.org:443 (address 192.0.2.7)\",\"hint_class\":\"root-not-in-bundle\"}
{\"cafix\":1,\"pid\":8,\"time\":\"2026-02-03T09:21:00.000000Z\",\"level\":\"warning\",\"event\":\"suppressed\",\"message\":\"12 more record(s) like this were not written since 2026-02-03T09:20:30.000000Z (at most 5 a minute): x\",\"suppressed\":\"12\",\"suppressed_event\":\"verify-failed\",\"program\":\"zeal\",\"server\":\"api.example.org:443 (address 192.0.2.7)\",\"hint_class\":\"root-not-in-bundle\"}
{\"cafix\":1,\"pid\":9,\"time\":\"2026-02-03T10:00:00.000000Z\",\"level\":\"warning\",\"event\":\"verify-failed\",\"message\":\"m\",\"program\":\"curl\",\"server\":\"localhost:8443\",\"hint_class\":\"expired\"}
{\"cafix\":1,\"pid\":9,\"time\":\"2026-02-03T10:00:01.000000Z\",\"level\":\"warning\",\"event\":\"config\",\"message\":\"/etc/cafix.conf ignored\"}
{\"cafix\":1,\"pid\":9,\"time\":\"2026-02-03T10:00:02.000000Z\",\"level\":\"info\",\"event\":\"served\",\"message\":\"served\"}
";

    #[test]
    fn failures_are_grouped_by_program_server_and_cause_with_the_held_back_counted() {
        let s = summarise(&entries(LOG), &no_filter());
        assert_eq!(s.failures.len(), 2);
        let zeal = &s.failures[0];
        assert_eq!(
            (zeal.program.as_str(), zeal.server.as_str()),
            ("zeal", "api.example.org:443")
        );
        assert_eq!(zeal.hint, Hint::RootNotInBundle);
        assert_eq!(zeal.count, 14);
        assert_eq!(zeal.first, log_read::rfc3339("2026-02-03T09:12:00Z"));
        assert_eq!(zeal.pids.iter().copied().collect::<Vec<_>>(), [7, 8]);
        assert_eq!(zeal.hint_text.as_deref(), Some("install it"));
        assert_eq!(s.failures[1].program, "curl");
        assert_eq!(s.others.len(), 1);
        assert_eq!(s.others[0].message, "/etc/cafix.conf ignored");
        let clock = Clock::fixed(NOW, 0);
        let text = summary_text(&s, &["f".into()], 6, 0, &clock);
        assert!(
            text.starts_with(
                "zeal → api.example.org:443  root not in the system bundle  14× since 09:12  fix: if it should be trusted"
            ),
            "{text}"
        );
        assert!(
            text.contains("curl → localhost:8443  certificate expired  once at 10:00"),
            "{text}"
        );
    }

    #[test]
    fn filters() {
        let all = entries(LOG);
        let by = |f: Filter| summarise(&all, &f).failures.len();
        let f = |since: Option<&str>, program: Option<&str>, host: Option<&str>| Filter {
            since: since.and_then(log_read::rfc3339),
            program: program.map(str::to_string),
            host: host.map(str::to_string),
        };
        assert_eq!(by(f(Some("2026-02-03T09:30:00Z"), None, None)), 1);
        assert_eq!(by(f(None, Some("zeal"), None)), 1);
        assert_eq!(by(f(None, Some("firefox"), None)), 0);
        for host in ["api.example.org", "API.example.org:443", "192.0.2.7"] {
            assert_eq!(by(f(None, None, Some(host))), 1, "{host}");
        }
        assert_eq!(by(f(None, None, Some("api.example.org:8443"))), 0);
        assert_eq!(by(f(None, None, Some("localhost"))), 1);
    }

    #[test]
    fn a_record_without_a_server_line_is_named_by_its_certificate() {
        let e = entries(
            "{\"cafix\":1,\"pid\":1,\"level\":\"warning\",\"event\":\"verify-failed\",\"message\":\"m\",\"leaf_names\":\"DNS:git.example.org, DNS:www\"}",
        );
        assert_eq!(server_of(&e[0]), "(a server with a certificate for git.example.org)");
        assert_eq!(program_of(&e[0]), "pid 1");
    }

    #[test]
    fn since_forms() {
        let clock = Clock::fixed(NOW, 3600); // 13:00 local
        let at = |s: &str| parse_since(s, &clock).map(|t| t / 1_000_000);
        assert_eq!(at("12:30"), Some(NOW - 1800));
        assert_eq!(at("today"), Some(NOW - 13 * 3600));
        assert_eq!(at("yesterday"), Some(NOW - 37 * 3600));
        assert_eq!(at("2h"), Some(NOW - 7200));
        assert_eq!(at("30m ago"), Some(NOW - 1800));
        assert_eq!(at("2026-02-03"), Some(NOW - 13 * 3600));
        assert_eq!(at("2026-02-03 12:30"), Some(NOW - 1800));
        assert_eq!(at("2026-02-03T11:30:00Z"), Some(NOW - 1800));
        assert_eq!(at("@1770000000"), Some(1_770_000_000));
        for bad in ["", "soon", "25:00", "2026-13-01", "h"] {
            assert_eq!(at(bad), None, "{bad}");
        }
        assert_eq!(clock.describe((NOW - 3600) * 1_000_000), "12:00");
        assert_eq!(clock.describe((NOW - 86_400) * 1_000_000), "Feb 02 13:00");
        assert_eq!(clock.describe((NOW - 400 * 86_400) * 1_000_000), "2024-12-30 13:00");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\u{1b}[2Jb\n"), "a?[2Jb?");
    }
}
