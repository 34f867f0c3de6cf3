//! What `cafix doctor` found: findings (one thing wrong, with the commands
//! that fix it), their severity, the order they are shown in, and the
//! verdict they add up to. Every section imports this module; it imports
//! nothing from them.

use serde_json::{json, Map, Value};

use super::text::{plural, short_list};
use crate::cli::style;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::cli) enum Severity {
    /// Programs fail: counts against the verdict and the exit status.
    Problem,
    /// Worth knowing; the verdict stays "healthy".
    Warning,
}

/// One thing wrong, with the commands that fix it.
#[derive(Debug, Clone)]
pub(in crate::cli) struct Finding {
    severity: Severity,
    code: &'static str,
    message: String,
    items: Vec<String>,
    fixes: Vec<String>,
    /// Shown ahead of the others of its severity.
    leads: bool,
}

impl Finding {
    pub(in crate::cli) fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            severity,
            code,
            message: message.into(),
            items: Vec::new(),
            fixes: Vec::new(),
            leads: false,
        }
    }

    pub(in crate::cli) fn items(mut self, items: Vec<String>) -> Finding {
        self.items = items;
        self
    }

    pub(in crate::cli) fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fixes.push(fix.into());
        self
    }

    /// Shown first among the findings of its severity (Qt's missing roots:
    /// the usual reason to run the doctor).
    pub(in crate::cli) fn leading(mut self) -> Finding {
        self.leads = true;
        self
    }

    fn json(&self) -> Value {
        json!({
            "severity": match self.severity { Severity::Problem => "problem", Severity::Warning => "warning" },
            "code": self.code,
            "message": self.message,
            "items": self.items,
            "fixes": self.fixes,
        })
    }
}

/// Every finding of a report, in the order shown, and what they add up to.
pub(super) struct Verdict {
    findings: Vec<Finding>,
    problems: usize,
    warnings: usize,
}

impl Verdict {
    /// `findings` in the order the sections found them: problems go first,
    /// leading findings ahead of the others of their severity, the rest
    /// keeping their order.
    pub(super) fn new(mut findings: Vec<Finding>) -> Verdict {
        findings.sort_by_key(|f| (f.severity, !f.leads));
        let problems = findings.iter().filter(|f| f.severity == Severity::Problem).count();
        let warnings = findings.len() - problems;
        Verdict {
            findings,
            problems,
            warnings,
        }
    }

    /// `cafix doctor`'s exit status: 1 when there is a problem (warnings
    /// alone do not count).
    pub(super) fn exit_code(&self) -> i32 {
        if self.problems == 0 {
            0
        } else {
            1
        }
    }

    /// `verdict`, `problems`, `warnings` and `findings` of the JSON object.
    pub(super) fn json(&self, members: &mut Map<String, Value>) {
        let verdict = if self.problems == 0 { "healthy" } else { "problems" };
        members.insert("verdict".into(), json!(verdict));
        members.insert("problems".into(), json!(self.problems));
        members.insert("warnings".into(), json!(self.warnings));
        members.insert(
            "findings".into(),
            Value::Array(self.findings.iter().map(Finding::json).collect()),
        );
    }

    /// The findings, each with its items and fixes, then the verdict line.
    pub(super) fn print(&self, verbose: bool) {
        let findings = &self.findings;
        for (i, f) in findings.iter().enumerate() {
            let tag = match f.severity {
                Severity::Problem => style::bad("problem:"),
                Severity::Warning => style::warn("warning:"),
            };
            println!("{tag} {}", f.message);
            if findings[..i].iter().any(|g| !f.items.is_empty() && g.items == f.items) {
                println!("    (the same {} as above)", plural(f.items.len(), "CA", "CAs"));
            } else if !f.items.is_empty() {
                println!("    {}", short_list(&f.items, verbose));
            }
            for fix in &f.fixes {
                println!("    {} {fix}", style::bold("fix:"));
            }
        }
        if !findings.is_empty() {
            println!();
        }
        if self.problems == 0 {
            let extra = if self.warnings > 0 {
                format!(" ({} warning(s))", self.warnings)
            } else {
                String::new()
            };
            println!("Verdict: {}{extra}", style::good("healthy"));
        } else {
            println!(
                "Verdict: {}",
                style::bad(&format!("{} problem(s), {} warning(s)", self.problems, self.warnings))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(v: &Verdict) -> Vec<&str> {
        v.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn problems_first_leading_ones_ahead_the_rest_in_order() {
        let v = Verdict::new(vec![
            Finding::new(Severity::Warning, "w1", ""),
            Finding::new(Severity::Problem, "p1", ""),
            Finding::new(Severity::Warning, "w2", "").leading(),
            Finding::new(Severity::Problem, "p2", ""),
            Finding::new(Severity::Problem, "lead", "").leading(),
        ]);
        assert_eq!(codes(&v), ["lead", "p1", "p2", "w2", "w1"]);
        assert_eq!((v.problems, v.warnings, v.exit_code()), (3, 2, 1));
    }

    #[test]
    fn warnings_alone_are_healthy() {
        let v = Verdict::new(vec![Finding::new(Severity::Warning, "w", "")]);
        assert_eq!(v.exit_code(), 0);
        let mut members = Map::new();
        v.json(&mut members);
        assert_eq!(members["verdict"], "healthy");
        assert_eq!(members["warnings"], 1);
        assert_eq!(members["findings"][0]["severity"], "warning");
        let empty = Verdict::new(Vec::new());
        assert_eq!((empty.problems, empty.warnings, empty.exit_code()), (0, 0, 0));
    }
}
