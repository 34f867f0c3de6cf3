//! Reading cafix's records back, for `cafix log`: from the journal
//! (`journalctl -o json` lines, whether the record came through the native
//! socket with its `CAFIX_*` fields or through `/dev/log` as text), from a
//! syslog file, and from a `log_file` or a captured stderr (text lines or
//! JSON objects); a file may hold saved `journalctl -o json` output too. Every input is someone else's text (any user can log with
//! the tag `cafix`): lines that do not parse are counted, never trusted to
//! be well formed. Pure.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::explain::Hint;
use crate::record::days_from_civil;

/// One record, whatever it was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// Unix time in microseconds, when the source says.
    pub time: Option<i64>,
    pub pid: Option<u32>,
    /// `error`, `warning`, `info`, `debug`.
    pub level: String,
    /// `verify-failed`, `suppressed` …; for a text record, what its message says.
    pub event: String,
    pub message: String,
    /// The record's details, keys in lower case with `_` for spaces and
    /// without the JSON-only `_` (`server_certificate`, `hint_class`).
    pub fields: BTreeMap<String, String>,
    /// The journal's `_COMM` (trusted: journald's, not the sender's).
    pub comm: Option<String>,
}

impl Entry {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The hint class: the field, or the one whose words the `cause` line has.
    pub fn hint(&self) -> Option<Hint> {
        self.field("hint_class")
            .and_then(Hint::from_class)
            .or_else(|| self.field("cause").and_then(Hint::from_cause))
    }
}

/// A detail key as [`Entry::fields`] has it.
pub fn field_key(key: &str) -> String {
    key.trim_start_matches('_')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Records being read, line by line. Text records span lines (a header and
/// its indented details), so lines are gathered per process until its next
/// header or the end.
#[derive(Default)]
pub struct Reader {
    done: Vec<Entry>,
    /// Text records still open, by pid.
    open: Vec<Entry>,
    /// Lines that said `cafix[…]` or looked like a record but did not parse.
    pub unreadable: usize,
}

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    /// One line of a syslog file, a log file or a captured stderr. `now`
    /// (Unix seconds) and `local_offset` (seconds east of UTC at a given
    /// time) place a syslog time stamp, which has no year and no zone.
    pub fn line(&mut self, line: &str, now: i64, local_offset: &dyn Fn(i64) -> i64) {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return;
        }
        if line.starts_with("{\"cafix\":") {
            self.json_record(line, None, None, None);
            return;
        }
        if line.starts_with('{') {
            // Saved `journalctl -o json` output.
            self.journal_line(line);
            return;
        }
        let Some((prefix, pid, message)) = split_tag(line) else {
            return; // not ours
        };
        let time = time_stamp(prefix, now, local_offset);
        self.message(message, pid, time, None);
    }

    /// One line of `journalctl -o json`.
    pub fn journal_line(&mut self, line: &str) {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(line) else {
            if !line.trim().is_empty() {
                self.unreadable += 1;
            }
            return;
        };
        let text = |k: &str| o.get(k).and_then(journal_text);
        let time = text("__REALTIME_TIMESTAMP").and_then(|t| t.parse::<i64>().ok());
        let pid = text("SYSLOG_PID")
            .or_else(|| text("_PID"))
            .and_then(|p| p.parse::<u32>().ok());
        let comm = text("_COMM");
        let Some(message) = text("MESSAGE") else {
            self.unreadable += 1;
            return;
        };
        let Some(event) = text("CAFIX_EVENT") else {
            // Through /dev/log: each line is what a syslog file has.
            self.message(&message, pid, time, comm);
            return;
        };
        let mut e = Entry {
            time,
            pid,
            level: text("PRIORITY")
                .and_then(|p| p.parse::<u8>().ok())
                .map_or("warning", level_of_priority)
                .to_string(),
            event,
            message: message.lines().next().unwrap_or_default().to_string(),
            fields: BTreeMap::new(),
            comm,
        };
        for (k, v) in &o {
            if let (Some(name), Some(v)) = (k.strip_prefix(crate::log_wire::FIELD_PREFIX), journal_text(v)) {
                if name != "EVENT" {
                    e.fields.insert(field_key(name), v);
                }
            }
        }
        self.done.push(e);
    }

    /// A syslog message (or a journal `MESSAGE` that came through /dev/log).
    fn message(&mut self, message: &str, pid: Option<u32>, time: Option<i64>, comm: Option<String>) {
        if message.starts_with("{\"cafix\":") {
            self.json_record(message, time, pid, comm);
        } else if let Some(detail) = message.strip_prefix("  ") {
            match (
                detail.split_once(": "),
                self.open.iter_mut().rev().find(|e| e.pid == pid),
            ) {
                (Some((key, value)), Some(open)) => {
                    open.fields.insert(field_key(key), value.to_string());
                }
                _ => self.unreadable += 1,
            }
        } else if let Some((level, text)) = message.split_once(": ").filter(|(l, _)| is_level(l)) {
            self.close(pid);
            self.open.push(Entry {
                time,
                pid,
                level: level.to_string(),
                event: event_of_text(text).to_string(),
                message: text.to_string(),
                fields: BTreeMap::new(),
                comm,
            });
        } else {
            self.unreadable += 1;
        }
    }

    fn json_record(&mut self, text: &str, time: Option<i64>, pid: Option<u32>, comm: Option<String>) {
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) else {
            self.unreadable += 1;
            return;
        };
        let string = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let mut e = Entry {
            time: string("time").and_then(|t| rfc3339(&t)).or(time),
            pid: o.get("pid").and_then(Value::as_u64).map(|p| p as u32).or(pid),
            level: string("level").unwrap_or_else(|| "warning".into()),
            event: string("event").unwrap_or_default(),
            message: string("message").unwrap_or_default(),
            fields: BTreeMap::new(),
            comm,
        };
        for (k, v) in &o {
            if !matches!(k.as_str(), "cafix" | "pid" | "time" | "level" | "event" | "message") {
                if let Some(v) = v.as_str() {
                    e.fields.insert(field_key(k), v.to_string());
                }
            }
        }
        self.done.push(e);
    }

    fn close(&mut self, pid: Option<u32>) {
        if let Some(i) = self.open.iter().position(|e| e.pid == pid) {
            let e = self.open.remove(i);
            self.done.push(e);
        }
    }

    /// Every record read, the text records still open closed.
    pub fn finish(mut self) -> (Vec<Entry>, usize) {
        self.done.append(&mut self.open);
        self.done.sort_by_key(|e| e.time.unwrap_or(i64::MIN));
        (self.done, self.unreadable)
    }
}

/// A journal field as text: a string, or an array of bytes (journalctl's
/// form for a value that is not valid UTF-8 text).
fn journal_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(bytes) => {
            let bytes: Option<Vec<u8>> = bytes.iter().map(|b| b.as_u64().map(|b| b as u8)).collect();
            Some(String::from_utf8_lossy(&bytes?).into_owned())
        }
        _ => None,
    }
}

fn level_of_priority(p: u8) -> &'static str {
    match p {
        0..=3 => "error",
        4 => "warning",
        5 | 6 => "info",
        _ => "debug",
    }
}

fn is_level(s: &str) -> bool {
    matches!(s, "error" | "warning" | "info" | "debug")
}

/// The event of a text record, from its message.
fn event_of_text(message: &str) -> &'static str {
    if message.starts_with("certificate verification failed") {
        "verify-failed"
    } else if message.contains(" more record(s) like this were not written since ") {
        "suppressed"
    } else {
        "text"
    }
}

/// `(what precedes the tag, pid, message)` of a line holding `cafix[<pid>]: `
/// at its start or after a space.
fn split_tag(line: &str) -> Option<(&str, Option<u32>, &str)> {
    let mut from = 0;
    while let Some(i) = line[from..].find("cafix[").map(|i| i + from) {
        let at_word = i == 0 || line.as_bytes()[i - 1] == b' ';
        let rest = &line[i + "cafix[".len()..];
        if let Some((pid, message)) = rest.split_once("]: ") {
            if at_word && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return Some((line[..i].trim_end(), pid.parse().ok(), message));
            }
        }
        from = i + 1;
    }
    None
}

/// The time of a line's prefix: RFC 3339 (rsyslog's default on Debian 12,
/// and cafix's own log file), or the traditional `Mmm dd hh:mm:ss`, read
/// as local time in the latest year that does not put it in the future.
fn time_stamp(prefix: &str, now: i64, local_offset: &dyn Fn(i64) -> i64) -> Option<i64> {
    let first = prefix.split_whitespace().next()?;
    if let Some(t) = rfc3339(first) {
        return Some(t);
    }
    let mut words = prefix.split_whitespace();
    let word = words.next()?;
    let month = crate::log_wire::MONTHS.iter().position(|m| *m == word)? as u32 + 1;
    let day: u32 = words.next()?.parse().ok()?;
    let (h, m, s) = clock(words.next()?)?;
    let (year_now, _, _) = crate::record::civil_from_days(now.div_euclid(86_400));
    [year_now, year_now - 1].into_iter().find_map(|year| {
        let naive = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s;
        let utc = naive - local_offset(naive);
        (utc <= now + 86_400).then_some(utc * 1_000_000)
    })
}

/// `hh:mm:ss` (or `hh:mm`).
pub fn clock(s: &str) -> Option<(i64, i64, i64)> {
    let mut parts = s.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec: i64 = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    (parts.next().is_none() && (0..24).contains(&h) && (0..60).contains(&m) && (0..61).contains(&sec))
        .then_some((h, m, sec))
}

/// `2026-02-03` as (year, month, day).
pub fn date(s: &str) -> Option<(i64, u32, u32)> {
    let mut d = s.splitn(3, '-');
    let (y, m, day): (i64, u32, u32) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    ((1..=12).contains(&m) && (1..=31).contains(&day)).then_some((y, m, day))
}

/// `2026-02-03T09:12:01[.123456](Z|±hh:mm)` as Unix microseconds.
pub fn rfc3339(s: &str) -> Option<i64> {
    let (day, rest) = s.split_once(['T', 't'])?;
    let (y, mo, da) = date(day)?;
    let zone_at = rest.rfind(['Z', 'z', '+', '-'])?;
    let (clock_part, zone) = rest.split_at(zone_at);
    let (hms, fraction) = clock_part.split_once('.').unwrap_or((clock_part, ""));
    let (h, m, sec) = clock(hms)?;
    let micros: i64 = if fraction.is_empty() {
        0
    } else if fraction.bytes().all(|b| b.is_ascii_digit()) {
        format!("{:0<6}", &fraction[..fraction.len().min(6)]).parse().ok()?
    } else {
        return None;
    };
    let offset = match zone {
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (zh, zm) = z[1..].split_once(':')?;
            sign * (zh.parse::<i64>().ok()? * 3600 + zm.parse::<i64>().ok()? * 60)
        }
    };
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + m * 60 + sec - offset;
    Some(secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_770_120_000; // 2026-02-03T12:00:00Z
    fn utc(_: i64) -> i64 {
        0
    }

    fn read(lines: &str) -> (Vec<Entry>, usize) {
        let mut r = Reader::new();
        for l in lines.lines() {
            r.line(l, NOW, &utc);
        }
        r.finish()
    }

    #[test]
    fn text_records_are_gathered_per_process_from_a_syslog_file() {
        let (entries, bad) = read(
            "2026-02-03T09:12:01.000001+00:00 vm cafix[7]: warning: certificate verification failed: x (error 20 at depth 1) [OpenSSL]\n\
             2026-02-03T09:12:01.000002+00:00 vm cafix[8]: info: /etc/ssl/certs/4042bcee.0 is missing; served \"CN=A\"\n\
             2026-02-03T09:12:01.000003+00:00 vm cafix[7]:   program: zeal\n\
             2026-02-03T09:12:01.000004+00:00 vm cafix[7]:   server: api.example.org:443 (address 192.0.2.7)\n\
             2026-02-03T09:12:01.000005+00:00 vm cafix[7]:   cause: root not in the system bundle\n\
             2026-02-03T09:12:01.000006+00:00 vm sshd[9]: unrelated\n",
        );
        assert_eq!(bad, 0);
        assert_eq!(entries.len(), 2);
        let e = entries.iter().find(|e| e.pid == Some(7)).unwrap();
        assert_eq!(e.event, "verify-failed");
        assert_eq!(e.level, "warning");
        assert_eq!(e.time, Some(1_770_109_921_000_001));
        assert_eq!(e.field("program"), Some("zeal"));
        assert_eq!(e.field("server"), Some("api.example.org:443 (address 192.0.2.7)"));
        assert_eq!(e.hint(), Some(Hint::RootNotInBundle));
        assert_eq!(entries.iter().find(|e| e.pid == Some(8)).unwrap().event, "text");
    }

    #[test]
    fn traditional_time_stamps_and_log_file_lines() {
        let (entries, _) = read(
            "Feb  3 09:12:01 vm cafix[7]: warning: certificate verification failed: x\n\
             2026-02-03T10:00:00.000000Z cafix[9]: error: y\n\
             cafix[10]: warning: no time\n\
             Dec 31 23:00:00 vm cafix[11]: info: last year\n\
             {\"__REALTIME_TIMESTAMP\":\"1\",\"SYSLOG_PID\":\"12\",\"MESSAGE\":\"m\",\"CAFIX_EVENT\":\"e\"}\n",
        );
        let time = |pid| entries.iter().find(|e| e.pid == Some(pid)).unwrap().time;
        assert_eq!(time(7), Some(1_770_109_921_000_000));
        assert_eq!(time(9), Some(1_770_112_800_000_000));
        assert_eq!(time(10), None);
        assert_eq!(time(11), rfc3339("2025-12-31T23:00:00Z"));
        assert_eq!(time(12), Some(1));
        // Local time: an hour east of UTC.
        let mut r = Reader::new();
        r.line("Feb  3 09:12:01 vm cafix[7]: warning: z", NOW, &|_| 3600);
        assert_eq!(r.finish().0[0].time, Some(1_770_106_321_000_000));
    }

    #[test]
    fn json_records_in_a_file_or_a_syslog_line() {
        let (entries, bad) = read(
            "{\"cafix\":1,\"pid\":5,\"time\":\"2026-02-03T09:12:01.000000Z\",\"level\":\"warning\",\"event\":\"verify-failed\",\"message\":\"m\",\"hint_class\":\"expired\",\"server certificate\":\"CN=x\"}\n\
             Feb  3 09:12:02 vm cafix[6]: {\"cafix\":1,\"pid\":6,\"level\":\"warning\",\"event\":\"verify-failed\",\"message\":\"m\"}\n\
             {\"cafix\":1,\"pid\":\n",
        );
        assert_eq!(bad, 1);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].field("server_certificate"), Some("CN=x"));
        assert_eq!(entries[0].hint(), Some(Hint::Expired));
        assert_eq!(entries[1].time, Some(1_770_109_922_000_000));
    }

    #[test]
    fn journal_entries_native_and_through_dev_log() {
        let mut r = Reader::new();
        r.journal_line(
            r#"{"__REALTIME_TIMESTAMP":"1770109921000000","_PID":"70","SYSLOG_PID":"7","_COMM":"zeal","PRIORITY":"4","MESSAGE":"certificate verification failed: x\n  cause: y","CAFIX_EVENT":"verify-failed","CAFIX_HINT_CLASS":"root-not-in-bundle","CAFIX_SERVER_NAME":"api.example.org","CAFIX_LEAF_NAMES":[68,78,83,58,255]}"#,
        );
        r.journal_line(
            r#"{"__REALTIME_TIMESTAMP":"1770109922000000","_PID":"8","_COMM":"curl","MESSAGE":"warning: certificate verification failed: z"}"#,
        );
        r.journal_line(r#"{"__REALTIME_TIMESTAMP":"1770109923000000","_PID":"8","MESSAGE":"  server: h:1"}"#);
        r.journal_line("not json");
        let (entries, bad) = r.finish();
        assert_eq!(bad, 1);
        assert_eq!(entries.len(), 2);
        let native = &entries[0];
        assert_eq!((native.pid, native.comm.as_deref()), (Some(7), Some("zeal")));
        assert_eq!(native.message, "certificate verification failed: x");
        assert_eq!(native.field("server_name"), Some("api.example.org"));
        assert_eq!(native.field("leaf_names"), Some("DNS:\u{fffd}"));
        assert_eq!(native.hint(), Some(Hint::RootNotInBundle));
        assert_eq!(entries[1].field("server"), Some("h:1"));
        assert_eq!(entries[1].comm.as_deref(), Some("curl"));
    }

    #[test]
    fn odd_lines_are_counted_not_trusted() {
        let (entries, bad) = read(
            "xcafix[1]: warning: not at a word\n\
             cafix[]: warning: no pid\n\
             cafix[2]: shouting: not a level\n\
             cafix[3]:   detail: without a header\n\
             cafix[4]: warning: fine\n",
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(bad, 2);
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(rfc3339("2026-02-03T09:12:01Z"), Some(1_770_109_921_000_000));
        assert_eq!(rfc3339("2026-02-03T10:12:01.5+01:00"), Some(1_770_109_921_500_000));
        assert_eq!(
            rfc3339("2026-02-03T04:12:01.123456789-05:00"),
            Some(1_770_109_921_123_456)
        );
        for bad in [
            "",
            "2026-02-03",
            "2026-13-03T00:00:00Z",
            "2026-02-03T25:00:00Z",
            "2026-02-03T09:12:01.x1Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
    }
}
