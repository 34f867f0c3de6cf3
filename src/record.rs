//! Log records: what the shim says, as one human line or one JSON object.
//!
//! Every text line starts `cafix[<pid>]: <level>: ` so it can be told apart
//! from the host program's own output. Records carry subjects, issuers,
//! hashes, paths and error texts only: never keys or certificate bodies.

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

    /// Renders the record, newline-terminated.
    pub fn render(&self, pid: u32, format: Format) -> String {
        match format {
            Format::Text => self.text(pid),
            Format::Json => self.json(pid),
        }
    }

    fn text(&self, pid: u32) -> String {
        let mut out = format!("cafix[{pid}]: {}: {}\n", level_word(self.level), self.message);
        for (key, value) in &self.details {
            if key.starts_with('_') {
                continue; // JSON-only fields
            }
            out.push_str(&format!("cafix[{pid}]:   {key}: {value}\n"));
        }
        out
    }

    fn json(&self, pid: u32) -> String {
        let mut out = format!(
            "{{\"cafix\":1,\"pid\":{pid},\"level\":{},\"event\":{},\"message\":{}",
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
    fn json_is_one_escaped_line() {
        let r = Record::new(Level::Warn, "unresolved", "a \"b\"\n\u{1}").with("_hash", "4042bcee");
        assert_eq!(
            r.render(7, Format::Json),
            "{\"cafix\":1,\"pid\":7,\"level\":\"warning\",\"event\":\"unresolved\",\"message\":\"a \\\"b\\\"\\n\\u0001\",\"hash\":\"4042bcee\"}\n"
        );
    }
}
