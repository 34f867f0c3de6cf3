//! Log records: what the shim says, as one human line or one JSON object.
//!
//! Every text line starts `cafix[<pid>]: <level>: ` so it can be told apart
//! from the host program's own output (in a log file, after the time it was
//! written). Records carry subjects, issuers, hashes, paths and error texts
//! only: never keys or certificate bodies.

use crate::config::{Format, Level};

/// One thing worth telling a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub level: Level,
    /// Machine-readable kind: `served`, `unresolved`, `bundle-served`, `verify-failed` …
    pub event: &'static str,
    /// The sentence a person reads.
    pub message: String,
    /// Extra detail lines for text output (indented), and fields for JSON.
    pub details: Vec<(&'static str, String)>,
}

impl Record {
    pub fn new(level: Level, event: &'static str, message: impl Into<String>) -> Record {
        Record {
            level,
            event,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Record {
        self.details.push((key, value.into()));
        self
    }

    /// A detail's value, if the record has it (`key` as given to [`Record::with`]).
    pub fn detail(&self, key: &str) -> Option<&str> {
        self.details.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    /// Renders the record, newline-terminated.
    pub fn render(&self, pid: u32, format: Format) -> String {
        self.render_at(pid, format, None)
    }

    /// Renders the record written at `time`: each text line starts with it
    /// (as in a log file), a JSON object has it as `time`.
    pub fn render_at(&self, pid: u32, format: Format, time: Option<Timestamp>) -> String {
        match format {
            Format::Text => self.text(pid, time),
            Format::Json => self.json(pid, time),
        }
    }

    fn text(&self, pid: u32, time: Option<Timestamp>) -> String {
        let stamp = time.map(|t| format!("{} ", t.rfc3339())).unwrap_or_default();
        let mut out = String::new();
        for line in self.text_lines() {
            out.push_str(&format!("{stamp}cafix[{pid}]: {line}\n"));
        }
        out
    }

    /// The text lines without a prefix: `<level>: <message>`, then one
    /// `  <key>: <value>` line per detail that is not JSON-only.
    pub fn text_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("{}: {}", level_word(self.level), self.message)];
        lines.extend(self.text_details());
        lines
    }

    /// The message and the detail lines, for a log that has the level on
    /// its own (the journal's `MESSAGE`).
    pub fn text_body(&self) -> String {
        let mut out = self.message.clone();
        for line in self.text_details() {
            out.push('\n');
            out.push_str(&line);
        }
        out
    }

    fn text_details(&self) -> impl Iterator<Item = String> + '_ {
        self.details
            .iter()
            .filter(|(key, _)| !key.starts_with('_')) // JSON-only fields
            .map(|(key, value)| format!("  {key}: {value}"))
    }

    fn json(&self, pid: u32, time: Option<Timestamp>) -> String {
        let time = time
            .map(|t| format!(",\"time\":{}", json_string(&t.rfc3339())))
            .unwrap_or_default();
        let mut out = format!(
            "{{\"cafix\":1,\"pid\":{pid}{time},\"level\":{},\"event\":{},\"message\":{}",
            json_string(level_word(self.level)),
            json_string(self.event),
            json_string(&self.message)
        );
        for (key, value) in &self.details {
            out.push_str(&format!(
                ",{}:{}",
                json_string(key.trim_start_matches('_')),
                json_string(value)
            ));
        }
        out.push_str("}\n");
        out
    }
}

/// A moment as Unix seconds and microseconds, written as RFC 3339 in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub micros: u32,
}

impl Timestamp {
    /// `2026-02-03T09:12:01.123456Z`.
    pub fn rfc3339(self) -> String {
        let days = self.secs.div_euclid(86_400);
        let in_day = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            in_day / 3600,
            in_day / 60 % 60,
            in_day % 60,
            self.micros.min(999_999)
        )
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The day counted from 1970-01-01 of a proleptic Gregorian date (the
/// inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn level_word(level: Level) -> &'static str {
    match level {
        Level::Off => "off",
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
    }
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_start_with_pid_prefix() {
        let r = Record::new(Level::Info, "served", "x is missing; served \"CN=A\"")
            .with("bundle", "/b")
            .with("_hash", "00");
        assert_eq!(
            r.render(42, Format::Text),
            "cafix[42]: info: x is missing; served \"CN=A\"\ncafix[42]:   bundle: /b\n"
        );
    }

    #[test]
    fn a_log_file_line_starts_with_its_time() {
        let r = Record::new(Level::Warn, "x", "m").with("k", "v");
        let t = Some(Timestamp {
            secs: 1_770_109_921,
            micros: 42,
        });
        assert_eq!(
            r.render_at(9, Format::Text, t),
            "2026-02-03T09:12:01.000042Z cafix[9]: warning: m\n2026-02-03T09:12:01.000042Z cafix[9]:   k: v\n"
        );
        assert!(r
            .render_at(9, Format::Json, t)
            .starts_with("{\"cafix\":1,\"pid\":9,\"time\":\"2026-02-03T09:12:01.000042Z\",\"level\""));
        assert_eq!(r.text_body(), "m\n  k: v");
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        let t = Timestamp { secs: -1, micros: 0 };
        assert_eq!(t.rfc3339(), "1969-12-31T23:59:59.000000Z");
    }

    #[test]
    fn json_is_one_escaped_line() {
        let r = Record::new(Level::Warn, "unresolved", "a \"b\"\n\u{1}").with("_hash", "4042bcee");
        assert_eq!(
            r.render(7, Format::Json),
            "{\"cafix\":1,\"pid\":7,\"level\":\"warning\",\"event\":\"unresolved\",\"message\":\"a \\\"b\\\"\\n\\u0001\",\"hash\":\"4042bcee\"}\n"
        );
    }
}
