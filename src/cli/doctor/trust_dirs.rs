//! The trust directories (`<hash>.<n>` entries, as `openssl rehash` makes
//! them): what is wrong with their entries, which system bundle CAs they
//! lack, and which CAs they trust that the bundle does not.

use serde_json::{json, Map, Value};

use super::section::{Machine, Section};
use super::text::{cert_name, dir_label, plural, rehash_fix};
use super::verdict::{Finding, Severity};
use crate::audit::{DirScan, EntryProblem};
use crate::bundle::{BundleIndex, CaCert};
use crate::cli::hash::describe_problem;
use crate::cli::style;

pub(super) struct TrustDirs<'m> {
    dirs: Vec<Dir<'m>>,
    findings: Vec<Finding>,
}

/// One directory, judged.
struct Dir<'m> {
    scan: &'m DirScan,
    /// Its path and the other paths it is reached by.
    label: String,
    /// `<entry> -> <target>` and `<entry>: <problem>`, by kind of problem.
    broken: Vec<String>,
    stale: Vec<String>,
    unreachable: Vec<String>,
    unusable: Vec<String>,
    /// `a.0 = a.1 (name)`.
    duplicates: Vec<String>,
    /// `<entry>: <subject>` of CAs the bundle lacks.
    not_in_bundle: Vec<String>,
    /// The bundle CAs no entry finds.
    missing: Vec<String>,
    /// How many entries have a problem.
    bad: usize,
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let mut findings = Vec::new();
    let dirs = m
        .scans
        .iter()
        .map(|scan| {
            let dir = Dir::read(scan, m.bundle.as_ref());
            dir.judge(m.bundle.as_ref(), &mut findings);
            dir
        })
        .collect();
    Box::new(TrustDirs { dirs, findings })
}

/// What one trust directory lacks or holds beyond the bundle.
struct DirVsBundle<'a> {
    missing: Vec<&'a CaCert>,
    not_in_bundle: Vec<(String, &'a CaCert)>,
}

fn compare<'a>(scan: &'a DirScan, bundle: Option<&'a BundleIndex>) -> DirVsBundle<'a> {
    let mut missing = Vec::new();
    let mut not_in_bundle = Vec::new();
    if let Some(b) = bundle {
        if !scan.entries.is_empty() {
            let mut seen: Vec<&[u8]> = Vec::new();
            for c in &b.certs {
                if !seen.contains(&c.der.as_slice()) && !scan.finds(c) {
                    missing.push(c);
                }
                seen.push(&c.der);
            }
        }
        for (entry, c) in scan.usable_certs() {
            if !b.contains_der(&c.der) {
                not_in_bundle.push((entry.name.clone(), c));
            }
        }
    }
    missing.sort_by(|a, b| a.short_name().cmp(b.short_name()));
    DirVsBundle { missing, not_in_bundle }
}

impl<'m> Dir<'m> {
    fn read(scan: &'m DirScan, bundle: Option<&'m BundleIndex>) -> Dir<'m> {
        let by = |want: fn(&EntryProblem) -> bool| -> Vec<String> {
            scan.problems()
                .filter(|(_, p)| want(p))
                .map(|(e, p)| match p {
                    EntryProblem::BrokenSymlink { target } => format!("{} -> {}", e.name, target.display()),
                    _ => format!("{}: {}", e.name, describe_problem(p)),
                })
                .collect()
        };
        let duplicates = scan
            .duplicates()
            .iter()
            .map(|g| {
                format!(
                    "{} ({})",
                    g.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(" = "),
                    g[0].certs[0].short_name()
                )
            })
            .collect();
        let cmp = compare(scan, bundle);
        Dir {
            scan,
            label: dir_label(scan),
            broken: by(|p| matches!(p, EntryProblem::BrokenSymlink { .. })),
            stale: by(|p| matches!(p, EntryProblem::Stale { .. })),
            unreachable: by(|p| matches!(p, EntryProblem::Unreachable)),
            unusable: by(|p| matches!(p, EntryProblem::NotCertificate | EntryProblem::Unreadable(_))),
            duplicates,
            not_in_bundle: cmp
                .not_in_bundle
                .iter()
                .map(|(n, c)| format!("{n}: {}", c.subject))
                .collect(),
            missing: cmp.missing.iter().map(|c| cert_name(c)).collect(),
            bad: scan.problems().count(),
        }
    }

    fn usable(&self) -> usize {
        self.scan.entries.iter().filter(|e| e.usable()).count()
    }

    fn judge(&self, bundle: Option<&BundleIndex>, findings: &mut Vec<Finding>) {
        let label = &self.label;
        let rehash = rehash_fix(&self.scan.path);
        if let Some(e) = &self.scan.error {
            findings.push(Finding::new(Severity::Problem, "dir-unreadable", e.clone()));
        }
        let entries = |code, list: &Vec<String>, message: String| {
            Finding::new(Severity::Problem, code, message).items(list.clone())
        };
        if !self.broken.is_empty() {
            let n = self.broken.len();
            let what = format!("{label}: {n} broken symbolic link(s): lookups of those CAs find nothing");
            findings.push(entries("broken-symlinks", &self.broken, what).fix(rehash.clone()));
        }
        if !self.stale.is_empty() {
            let n = self.stale.len();
            let what =
                format!("{label}: {n} stale entr(ies): the certificate in it has another subject hash than its name");
            findings.push(entries("stale-entries", &self.stale, what).fix(rehash.clone()));
        }
        if !self.unreachable.is_empty() {
            let n = self.unreachable.len();
            let what =
                format!("{label}: {n} entr(ies) OpenSSL never reads (a lower number of the same hash is missing)");
            findings.push(entries("unreachable-entries", &self.unreachable, what).fix(rehash.clone()));
        }
        if !self.unusable.is_empty() {
            let n = self.unusable.len();
            let what = format!("{label}: {n} hash-named entr(ies) hold no readable PEM certificate");
            findings.push(entries("unusable-entries", &self.unusable, what).fix(format!(
                "remove them if nothing needs them, or {}",
                rehash.trim_start_matches("complete the directory: ")
            )));
        }
        if !self.duplicates.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "duplicates",
                    format!(
                        "{label}: {} certificate(s) under more than one name",
                        self.duplicates.len()
                    ),
                )
                .items(self.duplicates.clone())
                .fix(rehash.clone()),
            );
        }
        if !self.missing.is_empty() {
            findings.push(self.incomplete(bundle, &rehash));
        }
        if !self.not_in_bundle.is_empty() {
            findings.push(
                Finding::new(
                    Severity::Warning,
                    "not-in-bundle",
                    format!("{label}: {} CA(s) trusted here but not in the system bundle (programs that load the bundle do not trust them)", self.not_in_bundle.len()),
                )
                .items(self.not_in_bundle.clone())
                .fix("to trust them everywhere: copy each to /usr/local/share/ca-certificates/NAME.crt and run `update-ca-certificates`"),
            );
        }
    }

    /// The directory lacks bundle CAs: programs that look CAs up in it fail.
    fn incomplete(&self, bundle: Option<&BundleIndex>, rehash: &str) -> Finding {
        let total = bundle.map_or(0, |b| b.certs.len());
        let usable = self.usable();
        let entries = &self.scan.entries;
        let mut f = Finding::new(
            Severity::Problem,
            "dir-incomplete",
            format!(
                "{} has {usable} usable hash entr(ies) but lacks {} of the {total} system bundle CAs: programs that look CAs up in it \
                 alone (capath: Python's capath=, Perl's SSL_ca_path, Ruby's add_path, curl --capath, Qt on demand) cannot verify servers under them",
                self.label,
                self.missing.len()
            ),
        )
        .items(self.missing.clone())
        .fix("run such programs with `cafix run -- PROGRAM` (it serves the missing entries from the bundle)")
        .fix(rehash);
        if usable <= 3 && entries.len() <= 3 {
            let stray: Vec<String> = entries.iter().map(|e| e.path.display().to_string()).collect();
            f = f.fix(format!(
                "or, if nothing needs them, remove the stray entr(ies) {}",
                stray.join(", ")
            ));
        }
        f
    }

    fn state(&self) -> String {
        let entries = plural(self.scan.entries.len(), "entry", "entries");
        if self.scan.entries.is_empty() {
            style::dim("no hash entries")
        } else if self.missing.is_empty() && self.bad == 0 {
            style::good(&format!("{entries}, every bundle CA present"))
        } else {
            style::bad(&format!(
                "{entries}, {} bad, {} of the bundle missing",
                self.bad,
                plural(self.missing.len(), "CA", "CAs")
            ))
        }
    }

    fn json(&self) -> Value {
        let scan = self.scan;
        json!({
            "path": scan.path.display().to_string(),
            "aliases": scan.aliases.iter().map(|a| a.display().to_string()).collect::<Vec<_>>(),
            "canonical": scan.canonical.display().to_string(),
            "origin": scan.origin,
            "error": scan.error,
            "hash_entries": scan.entries.len(),
            "usable_entries": self.usable(),
            "broken_symlinks": self.broken,
            "stale": self.stale,
            "unreachable": self.unreachable,
            "unusable": self.unusable,
            "duplicates": self.duplicates,
            "not_in_bundle": self.not_in_bundle,
            "missing_bundle_cas": self.missing,
        })
    }
}

impl Section for TrustDirs<'_> {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, _verbose: bool) {
        println!("{}", style::bold("Trust directories (<hash>.<n> entries)"));
        for d in &self.dirs {
            println!("  {}: {}", d.label, d.state());
        }
    }

    fn json(&self, members: &mut Map<String, Value>) {
        members.insert(
            "trust_dirs".into(),
            Value::Array(self.dirs.iter().map(Dir::json).collect()),
        );
    }
}
