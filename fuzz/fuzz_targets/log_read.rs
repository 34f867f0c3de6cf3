//! `cafix log` reads lines anyone can write (any user can log with the tag
//! `cafix`): whatever they hold, reading never panics. And a record written
//! the way libcafix.so writes it, as a JSON line or (when nothing in it
//! breaks a line) as text lines in a log file, reads back with the same
//! message, level, pid, time and fields.
#![no_main]

use std::collections::BTreeMap;

use cafix::config::{Format, Level};
use cafix::log_read::{field_key, Reader};
use cafix::record::{Record, Timestamp};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_770_120_000;
const KEYS: [&str; 8] = [
    "program",
    "server",
    "server certificate",
    "_hint_class",
    "_peer",
    "cause",
    "lookups that missed",
    "_leaf-names",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut reader = Reader::new();
    for line in text.lines() {
        reader.line(line, NOW, &|t| if t % 2 == 0 { 3600 } else { -7200 });
        reader.journal_line(line);
    }
    let _ = reader.finish();

    // The input as a record: a message, then (key index, value) pairs
    // separated by \x01.
    let mut parts = text.split('\u{1}');
    let message = parts.next().unwrap_or_default();
    let mut record = Record::new(Level::Warn, "verify-failed", message);
    let mut expected = BTreeMap::new();
    for part in parts {
        let mut chars = part.chars();
        let key = KEYS[chars.next().map_or(0, |c| c as usize % KEYS.len())];
        let value = chars.as_str();
        record = record.with(key, value);
        expected.insert(field_key(key), value.to_string());
    }
    let time = Timestamp {
        secs: NOW - 5,
        micros: 123_456,
    };
    let read_back = |rendered: String| {
        let mut r = Reader::new();
        for line in rendered.lines() {
            r.line(line, NOW, &|_| 0);
        }
        let (entries, unreadable) = r.finish();
        assert_eq!(unreadable, 0, "{rendered}");
        assert_eq!(entries.len(), 1, "{rendered}");
        entries.into_iter().next().unwrap()
    };
    let json = read_back(record.render_at(4711, Format::Json, Some(time)));
    assert_eq!(json.message, message);
    assert_eq!((json.level.as_str(), json.event.as_str()), ("warning", "verify-failed"));
    assert_eq!((json.pid, json.time), (Some(4711), Some((NOW - 5) * 1_000_000 + 123_456)));
    assert_eq!(json.fields, expected);

    let one_line = |s: &str| !s.contains(['\n', '\r']);
    if one_line(message) && record.details.iter().all(|(_, v)| one_line(v)) {
        let text = read_back(record.render_at(4711, Format::Text, Some(time)));
        assert_eq!(text.message, message);
        assert_eq!((text.pid, text.time), (Some(4711), Some((NOW - 5) * 1_000_000 + 123_456)));
        let visible: BTreeMap<String, String> = record
            .details
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, v)| (field_key(k), v.clone()))
            .collect();
        assert_eq!(text.fields, visible);
    }
});
