//! A record as the system's log daemons take it: journald's native protocol
//! (the datagrams `sd_journal_send` writes to `/run/systemd/journal/socket`)
//! and the syslog protocol of `/dev/log` (RFC 3164 lines, as glibc's
//! `syslog()` writes them). Pure: the shim's logger sends the bytes.

use std::ffi::CStr;

use crate::config::{Format, Level};
use crate::record::Record;

/// journald's socket for native-protocol datagrams.
pub const JOURNAL_SOCKET: &CStr = c"/run/systemd/journal/socket";
/// The system's syslog socket (journald's or a syslog daemon's).
pub const SYSLOG_SOCKET: &CStr = c"/dev/log";
/// `SYSLOG_IDENTIFIER` and the syslog tag of every record.
pub const IDENTIFIER: &str = "cafix";
/// The prefix of the journal fields a record's details become.
pub const FIELD_PREFIX: &str = "CAFIX_";
/// A syslog message longer than this is cut (rsyslog's default maximum is 8 KiB).
pub const SYSLOG_MESSAGE_MAX: usize = 8000;
/// `LOG_USER`, glibc's default facility.
const FACILITY_USER: u8 = 1;

/// The syslog severity (the journal's `PRIORITY`) of a level.
pub fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Off => 7,
    }
}

/// A record's detail key as a journal field name: `CAFIX_` and the key in
/// upper case, every other character `_` (journald accepts `A-Z`, `0-9`,
/// `_`, at most 64 bytes, not starting with `_`).
pub fn journal_field_name(key: &str) -> String {
    let mut name = String::from(FIELD_PREFIX);
    for c in key.trim_start_matches('_').chars() {
        let c = c.to_ascii_uppercase();
        name.push(if c.is_ascii_uppercase() || c.is_ascii_digit() {
            c
        } else {
            '_'
        });
    }
    name.truncate(64);
    name
}

/// One journal entry in the native protocol: `MESSAGE` (the message and its
/// detail lines), `PRIORITY`, `SYSLOG_IDENTIFIER=cafix`, `SYSLOG_PID`,
/// `CAFIX_EVENT`, and every detail (JSON-only ones too) as a `CAFIX_` field.
/// A value with a newline takes the binary-safe form: the name, a newline,
/// its length as a little-endian 64-bit number, the value, a newline.
pub fn journal_entry(record: &Record, pid: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + record.message.len());
    field(&mut out, "MESSAGE", record.text_body().as_bytes());
    field(&mut out, "PRIORITY", priority(record.level).to_string().as_bytes());
    field(&mut out, "SYSLOG_IDENTIFIER", IDENTIFIER.as_bytes());
    field(&mut out, "SYSLOG_PID", pid.to_string().as_bytes());
    field(&mut out, "CAFIX_EVENT", record.event.as_bytes());
    for (key, value) in &record.details {
        field(&mut out, &journal_field_name(key), value.as_bytes());
    }
    out
}

fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A local time as a syslog header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// 1–12.
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// The months as syslog headers (and `cafix log`) abbreviate them.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The datagrams of one record on the syslog socket, each
/// `<PRI>Mmm dd hh:mm:ss cafix[pid]: MSG` as glibc's `syslog()` writes it
/// (facility `user`): in text, one per line of the record (the detail lines
/// keep their indentation, as on stderr); in JSON, the one object.
pub fn syslog_datagrams(record: &Record, pid: u32, format: Format, time: LocalTime) -> Vec<Vec<u8>> {
    let header = format!(
        "<{}>{} {:>2} {:02}:{:02}:{:02} {IDENTIFIER}[{pid}]: ",
        FACILITY_USER * 8 + priority(record.level),
        MONTHS[(time.month.clamp(1, 12) - 1) as usize],
        time.day,
        time.hour,
        time.minute,
        time.second
    );
    let messages = match format {
        Format::Text => record.text_lines(),
        Format::Json => vec![record.render(pid, Format::Json).trim_end().to_string()],
    };
    messages
        .into_iter()
        .map(|m| {
            let mut d = header.clone().into_bytes();
            d.extend_from_slice(cut(&m, SYSLOG_MESSAGE_MAX).as_bytes());
            d
        })
        .collect()
}

/// `s` cut to at most `max` bytes at a character boundary, marked with `…`.
fn cut(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record::new(Level::Warn, "verify-failed", "certificate verification failed: x")
            .with("program", "curl")
            .with("server certificate", "CN=a\nb")
            .with("_hint_class", "root-not-in-bundle")
    }

    /// The entry parsed back as journald does (`server_process_native_message`).
    fn parse(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut fields = Vec::new();
        while !data.is_empty() {
            let nl = data.iter().position(|&b| b == b'\n').unwrap();
            let line = &data[..nl];
            if let Some(eq) = line.iter().position(|&b| b == b'=') {
                fields.push((String::from_utf8(line[..eq].to_vec()).unwrap(), line[eq + 1..].to_vec()));
                data = &data[nl + 1..];
            } else {
                let name = String::from_utf8(line.to_vec()).unwrap();
                let len = u64::from_le_bytes(data[nl + 1..nl + 9].try_into().unwrap()) as usize;
                let value = data[nl + 9..nl + 9 + len].to_vec();
                assert_eq!(data[nl + 9 + len], b'\n');
                fields.push((name, value));
                data = &data[nl + 10 + len..];
            }
        }
        fields
    }

    #[test]
    fn a_journal_entry_has_the_standard_fields_and_the_details() {
        let fields = parse(&journal_entry(&record(), 4711));
        let get = |n: &str| {
            fields
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
        };
        assert_eq!(get("SYSLOG_IDENTIFIER").as_deref(), Some("cafix"));
        assert_eq!(get("PRIORITY").as_deref(), Some("4"));
        assert_eq!(get("SYSLOG_PID").as_deref(), Some("4711"));
        assert_eq!(get("CAFIX_EVENT").as_deref(), Some("verify-failed"));
        assert_eq!(get("CAFIX_PROGRAM").as_deref(), Some("curl"));
        assert_eq!(get("CAFIX_SERVER_CERTIFICATE").as_deref(), Some("CN=a\nb"));
        assert_eq!(get("CAFIX_HINT_CLASS").as_deref(), Some("root-not-in-bundle"));
        assert_eq!(
            get("MESSAGE").as_deref(),
            Some("certificate verification failed: x\n  program: curl\n  server certificate: CN=a\nb")
        );
    }

    #[test]
    fn field_names_are_what_journald_accepts() {
        assert_eq!(
            journal_field_name("issuer in the system bundle"),
            "CAFIX_ISSUER_IN_THE_SYSTEM_BUNDLE"
        );
        assert_eq!(journal_field_name("_hint_class"), "CAFIX_HINT_CLASS");
        assert_eq!(journal_field_name("é-1"), "CAFIX___1");
        assert_eq!(journal_field_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn syslog_lines_are_as_glibc_writes_them() {
        let t = LocalTime {
            month: 2,
            day: 3,
            hour: 9,
            minute: 12,
            second: 1,
        };
        let lines: Vec<String> = syslog_datagrams(&record(), 42, Format::Text, t)
            .into_iter()
            .map(|d| String::from_utf8(d).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "<12>Feb  3 09:12:01 cafix[42]: warning: certificate verification failed: x",
                "<12>Feb  3 09:12:01 cafix[42]:   program: curl",
                "<12>Feb  3 09:12:01 cafix[42]:   server certificate: CN=a\nb",
            ]
        );
        let json = syslog_datagrams(&record(), 42, Format::Json, t);
        assert_eq!(json.len(), 1);
        assert!(json[0].starts_with(b"<12>Feb  3 09:12:01 cafix[42]: {\"cafix\":1,\"pid\":42,"));
        assert!(!json[0].ends_with(b"\n"));
    }

    #[test]
    fn a_long_syslog_message_is_cut_at_a_character() {
        let r = Record::new(Level::Error, "x", "é".repeat(SYSLOG_MESSAGE_MAX));
        let t = LocalTime {
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 59,
        };
        let d = syslog_datagrams(&r, 1, Format::Text, t).remove(0);
        let text = String::from_utf8(d).unwrap();
        let message = text.split_once("cafix[1]: ").unwrap().1;
        assert!(
            message.len() <= SYSLOG_MESSAGE_MAX && message.ends_with('…'),
            "{}",
            message.len()
        );
        assert!(text.starts_with("<11>Dec 31 23:59:59 "));
    }
}
