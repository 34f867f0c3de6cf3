//! The summary printed when the traced command is done: what was probed,
//! what was missing, which subject hashes were looked up and which CA each
//! names, whether the system bundle was ever read, and a verdict in one
//! sentence. As text (every line starts `cafix trace: `) or as one JSON
//! object.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::Path;
use std::rc::Rc;

use serde_json::{json, Value};

use crate::bundle::BundleIndex;
use crate::locations::BUNDLE_PATHS;
use crate::subject_hash::hash_hex;

use super::model::{Access, Linkage, Location, Outcome};
use super::tracer::{Exit, SystemBundle, Traced};

/// How the run was made, for the summary.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub fix: bool,
    pub seccomp: bool,
    pub syscall_info: bool,
}

/// Accesses with the same path, operation and outcome, merged.
#[derive(Debug, Clone)]
struct Probe {
    path: String,
    op: &'static str,
    outcome: Outcome,
    location: Location,
    write: bool,
    count: usize,
    syscalls: BTreeSet<&'static str>,
    pids: BTreeSet<i32>,
    programs: BTreeSet<String>,
    system_bundle: bool,
    served: Option<String>,
    not_fixed: Option<String>,
}

/// One subject hash the command looked up.
#[derive(Debug, Clone, Default)]
struct HashLookup {
    hash: u32,
    /// Directories in the order they were first looked in.
    dirs: Vec<String>,
    indexes: BTreeSet<u32>,
    found: bool,
    absent: bool,
    served: bool,
    /// Entries that were there.
    found_paths: BTreeSet<String>,
    /// Subjects of the system bundle's certificates with this hash.
    cas: Vec<String>,
    /// Those of them that are in none of the entries that were there.
    cas_missing: Vec<String>,
}

/// The facts the verdict is made of (pure data, unit-tested).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub any_access: bool,
    /// Some trust location (file or directory) was there.
    pub found_any: bool,
    /// Paths by which the system bundle was read.
    pub bundle_read_as: Vec<String>,
    pub system_bundle: Option<String>,
    /// Missing bundle paths.
    pub missing_bundles: Vec<String>,
    /// Hashes never found anywhere: (hash, directory, subjects in the bundle).
    pub hash_misses: Vec<(String, String, Vec<String>)>,
    /// The directories (OpenSSL-dir-like prefixes) of the missing locations,
    /// and whether each exists.
    pub missing_prefixes: Vec<(String, bool)>,
    /// With `--fix`: what was served.
    pub served: usize,
    pub fix: bool,
    /// A statically linked program was among the traced ones.
    pub static_program: bool,
}

/// The verdict sentence.
pub fn verdict(f: &Facts) -> String {
    if !f.any_access {
        return "never looked at a system trust location: it brings its own CA store, was given one \
                explicitly, or did not verify a certificate"
            .to_string();
    }
    let remedy = if f.fix {
        if f.served > 0 {
            format!("; --fix served {} missing lookup(s) from the system bundle", f.served)
        } else {
            "; --fix found nothing it could serve".to_string()
        }
    } else if f.static_program {
        " — run it with `cafix trace --fix` (it is statically linked: `cafix run`'s preload cannot reach it)"
            .to_string()
    } else {
        " — run it with `cafix trace --fix` or `cafix run`".to_string()
    };
    let read_bundle = !f.bundle_read_as.is_empty();
    let in_bundle = f.hash_misses.iter().find(|(_, _, cas)| !cas.is_empty());
    let not_in_bundle = f.hash_misses.iter().find(|(_, _, cas)| cas.is_empty());

    if !f.found_any && !f.missing_prefixes.is_empty() && !f.missing_bundles.is_empty() {
        let names: Vec<&str> = f.missing_prefixes.iter().map(|(p, _)| p.as_str()).collect();
        let all_absent = f.missing_prefixes.iter().all(|(_, exists)| !exists);
        let what = match (names.len(), all_absent) {
            (1, true) => "which does not exist",
            (_, true) => "which do not exist",
            (1, false) => "which holds no CA bundle",
            (_, false) => "which hold no CA bundle",
        };
        return format!(
            "looked only in {}, {what}: an OpenSSL built for another layout{remedy}",
            names.join(" and ")
        );
    }
    if let (false, Some((hash, dir, cas))) = (read_bundle, in_bundle) {
        return format!(
            "looked up {hash} in {dir}/ (on-demand hash directory) and never read the system bundle; \
             the CA \"{}\" is only in the bundle{remedy}",
            cas[0]
        );
    }
    if let Some((hash, dir, _)) = not_in_bundle {
        let read = if read_bundle {
            "read the system bundle too"
        } else {
            "never read the system bundle"
        };
        return format!(
            "looked up {hash} in {dir}/ and {read}, but no CA with that subject hash is in the system bundle \
             either: the issuer is not trusted on this system"
        );
    }
    if let Some((hash, dir, cas)) = in_bundle {
        return format!(
            "read the system bundle {}; {hash} was looked up in {dir}/ too and is missing there, but \
             the CA \"{}\" is in the bundle it read",
            f.bundle_read_as[0], cas[0]
        );
    }
    if read_bundle {
        let via = &f.bundle_read_as[0];
        let sys = f.system_bundle.as_deref().unwrap_or(via);
        let how = if same_name(via, sys) {
            sys.to_string()
        } else {
            format!("{sys} (as {via})")
        };
        return format!(
            "read the system bundle {how}: its trust store is intact (if a verification still fails, \
             the server's CA is not in the bundle){}",
            if f.fix && f.served > 0 { remedy.as_str() } else { "" }
        );
    }
    if !f.missing_bundles.is_empty() {
        let sys = f.system_bundle.as_deref().unwrap_or("(none found)");
        return format!(
            "looked for a CA bundle at {} (missing) and never read the system bundle {sys}{remedy}",
            f.missing_bundles.join(", ")
        );
    }
    "found every trust location it looked up".to_string()
}

fn same_name(a: &str, b: &str) -> bool {
    crate::locations::same_path(a.as_bytes(), b.as_bytes())
}

/// The directory a missing location says the program was built for:
/// `/usr/local/ssl` for `/usr/local/ssl/cert.pem` and `/usr/local/ssl/certs/x.0`.
fn prefix_of(access: &Access) -> Option<String> {
    let path = String::from_utf8_lossy(&access.path).into_owned();
    let dir = match &access.location {
        Location::HashEntry { dir, .. } => String::from_utf8_lossy(dir).into_owned(),
        Location::Bundle { .. } => Path::new(&path).parent()?.to_string_lossy().into_owned(),
        Location::Dir => String::from_utf8_lossy(crate::locations::trim_trailing_slashes(&access.path)).into_owned(),
    };
    let dir = dir
        .strip_suffix("/certs")
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .unwrap_or(dir);
    Some(dir)
}

pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

fn location_json(location: &Location) -> Value {
    match location {
        Location::HashEntry { dir, hash, index } => json!({
            "kind": "hash-entry",
            "dir": String::from_utf8_lossy(dir),
            "hash": hash_hex(*hash),
            "index": index,
        }),
        Location::Bundle { known } => json!({
            "kind": "bundle",
            "known_as": known.map(|i| BUNDLE_PATHS[i].1),
        }),
        Location::Dir => json!({ "kind": "directory" }),
    }
}

fn location_text(location: &Location) -> String {
    match location {
        Location::HashEntry { hash, index, .. } => format!("hash entry {}.{index}", hash_hex(*hash)),
        Location::Bundle { known: Some(_) } => "CA bundle path".to_string(),
        Location::Bundle { known: None } => "CA bundle (SSL_CERT_FILE)".to_string(),
        Location::Dir => "trust directory".to_string(),
    }
}

/// The summary, as text and as JSON.
pub struct Summary {
    pub text: String,
    pub json: Value,
}

pub fn summarize(command: &[OsString], traced: &Traced, bundle: Option<&mut SystemBundle>, mode: Mode) -> Summary {
    let report = Report::gather(command, traced, bundle, mode);
    Summary {
        text: report.text(),
        json: report.json(),
    }
}

/// What the summary says, gathered once for the text and the JSON.
struct Report<'a> {
    command: Vec<String>,
    traced: &'a Traced,
    mode: Mode,
    probes: Vec<Probe>,
    hashes: BTreeMap<u32, HashLookup>,
    /// The system bundle's path, and its index when it was parsed.
    bundle: Option<(String, Option<Rc<BundleIndex>>)>,
    facts: Facts,
    verdict: String,
}

impl<'a> Report<'a> {
    fn gather(command: &[OsString], traced: &'a Traced, bundle: Option<&mut SystemBundle>, mode: Mode) -> Report<'a> {
        let probes = merge_probes(traced);
        // The bundle is parsed (a few milliseconds) only when a hash needs
        // naming or --fix parsed it already.
        let needs_index = traced
            .accesses
            .iter()
            .any(|a| matches!(a.location, Location::HashEntry { .. }));
        let bundle = bundle.map(|b| {
            let idx = (needs_index || b.is_parsed()).then(|| b.index());
            (b.path.display().to_string(), idx)
        });
        let mut hashes = hash_lookups(traced);
        if let Some((_, Some(idx))) = &bundle {
            name_cas(&mut hashes, idx);
        }
        let facts = facts(traced, &probes, &hashes, bundle.as_ref().map(|(p, _)| p.clone()), mode);
        let verdict = verdict(&facts);
        Report {
            command: command.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
            traced,
            mode,
            probes,
            hashes,
            bundle,
            facts,
            verdict,
        }
    }
}

/// Accesses with the same path, operation, outcome and direction, merged.
fn merge_probes(traced: &Traced) -> Vec<Probe> {
    let mut probes: Vec<Probe> = Vec::new();
    for a in &traced.accesses {
        let path = String::from_utf8_lossy(&a.path).into_owned();
        let op = a.op_word();
        let existing = probes
            .iter_mut()
            .find(|p| p.path == path && p.op == op && p.outcome == a.outcome && p.write == a.write);
        let probe = match existing {
            Some(p) => p,
            None => {
                probes.push(Probe {
                    path,
                    op,
                    outcome: a.outcome.clone(),
                    location: a.location.clone(),
                    write: a.write,
                    count: 0,
                    syscalls: BTreeSet::new(),
                    pids: BTreeSet::new(),
                    programs: BTreeSet::new(),
                    system_bundle: false,
                    served: None,
                    not_fixed: None,
                });
                probes.last_mut().unwrap()
            }
        };
        probe.count += 1;
        probe.syscalls.insert(a.syscall);
        probe.pids.insert(a.pid);
        probe.programs.insert(a.program.to_string());
        probe.system_bundle |= a.system_bundle;
        if a.served.is_some() {
            probe.served = a.served.clone();
        }
        if a.not_fixed.is_some() {
            probe.not_fixed = a.not_fixed.clone();
        }
    }
    probes
}

/// The subject hashes looked up, where and with what outcome.
fn hash_lookups(traced: &Traced) -> BTreeMap<u32, HashLookup> {
    let mut hashes: BTreeMap<u32, HashLookup> = BTreeMap::new();
    for a in &traced.accesses {
        if let Location::HashEntry { dir, hash, index } = &a.location {
            let h = hashes.entry(*hash).or_insert_with(|| HashLookup {
                hash: *hash,
                ..Default::default()
            });
            let dir = String::from_utf8_lossy(dir).into_owned();
            if !h.dirs.contains(&dir) {
                h.dirs.push(dir);
            }
            h.indexes.insert(*index);
            // An lstat that finds a (possibly dangling) link finds no certificate.
            let found = a.outcome == Outcome::Found && !a.nofollow;
            h.found |= found;
            if found {
                h.found_paths.insert(String::from_utf8_lossy(&a.path).into_owned());
            }
            h.absent |= a.outcome.absent();
            h.served |= a.outcome == Outcome::Served;
        }
    }
    hashes
}

/// The system bundle's CAs with each hash, and those of them the entries
/// that were there do not hold.
fn name_cas(hashes: &mut BTreeMap<u32, HashLookup>, idx: &BundleIndex) {
    for h in hashes.values_mut() {
        let certs = idx.with_hash(h.hash);
        h.cas = certs.iter().map(|c| c.subject.clone()).collect();
        // What the entries that were there hold (read now, in the
        // tracer's view: a bundle CA missing from them is still missing).
        let mut real_ders = Vec::new();
        for path in &h.found_paths {
            if let Ok(bytes) = std::fs::read(path) {
                for item in crate::pem::sections(&bytes) {
                    if let crate::pem::PemItem::Certificate(der) = item {
                        real_ders.push(der);
                    }
                }
            }
        }
        h.cas_missing = certs
            .iter()
            .filter(|c| !real_ders.contains(&c.der))
            .map(|c| c.subject.clone())
            .collect();
    }
}

/// The facts the verdict is made of.
fn facts(
    traced: &Traced,
    probes: &[Probe],
    hashes: &BTreeMap<u32, HashLookup>,
    system_bundle: Option<String>,
    mode: Mode,
) -> Facts {
    let mut bundle_read_as: Vec<String> = Vec::new();
    for p in probes {
        if p.system_bundle && p.op == "open" && !bundle_read_as.contains(&p.path) {
            bundle_read_as.push(p.path.clone());
        }
    }
    let mut missing_bundles = Vec::new();
    let mut missing_prefixes: Vec<(String, bool)> = Vec::new();
    for a in traced.accesses.iter().filter(|a| a.outcome.absent()) {
        let path = String::from_utf8_lossy(&a.path).into_owned();
        if matches!(a.location, Location::Bundle { .. }) && !missing_bundles.contains(&path) {
            missing_bundles.push(path);
        }
        if let Some(prefix) = prefix_of(a) {
            if !missing_prefixes.iter().any(|(p, _)| *p == prefix) {
                let exists = Path::new(&prefix).exists();
                missing_prefixes.push((prefix, exists));
            }
        }
    }
    let hash_misses: Vec<(String, String, Vec<String>)> = hashes
        .values()
        .filter(|h| h.absent && (!h.found || !h.cas_missing.is_empty()))
        .map(|h| {
            // The first directory looked in that exists: where the entry was expected.
            let dir = h
                .dirs
                .iter()
                .find(|d| Path::new(d).is_dir())
                .or(h.dirs.first())
                .cloned()
                .unwrap_or_default();
            (hash_hex(h.hash), dir, h.cas_missing.clone())
        })
        .collect();
    Facts {
        any_access: !probes.is_empty(),
        found_any: probes.iter().any(|p| p.outcome == Outcome::Found),
        bundle_read_as,
        system_bundle,
        missing_bundles,
        hash_misses,
        missing_prefixes,
        served: probes
            .iter()
            .filter(|p| p.outcome == Outcome::Served)
            .map(|p| p.count)
            .sum(),
        fix: mode.fix,
        static_program: traced.programs.iter().any(|p| p.linkage == Linkage::Static),
    }
}

impl Report<'_> {
    fn json(&self) -> Value {
        let traced = self.traced;
        let (code, signal, core) = match traced.exit {
            Exit::Code(c) => (Some(c), None, false),
            Exit::Signal { signal, core } => (None, Some(signal), core),
        };
        let probes = &self.probes;
        json!({
            "cafix_trace": 1,
            "command": self.command,
            "exit": {
                "status": traced.exit.status(),
                "code": code,
                "signal": signal.map(signal_name),
                "core_dumped": core,
            },
            "mode": {
                "fix": self.mode.fix,
                "seccomp": self.mode.seccomp,
                "syscall_info": self.mode.syscall_info && !traced.used_registers,
            },
            "programs": traced.programs.iter().map(|p| json!({
                "pid": p.pid, "exe": p.exe, "linkage": p.linkage.word(),
            })).collect::<Vec<_>>(),
            "accesses": probes.iter().map(probe_json).collect::<Vec<_>>(),
            "missing": probes.iter().filter(|p| p.outcome.absent()).map(|p| p.path.clone())
                .collect::<BTreeSet<_>>(),
            "hashes": self.hashes.values().map(|h| json!({
                "hash": hash_hex(h.hash),
                "dirs": h.dirs,
                "indexes": h.indexes,
                "found": h.found,
                "missing": h.absent,
                "served": h.served,
                "in_system_bundle": !h.cas.is_empty(),
                "cas": h.cas,
                "cas_not_in_entries": h.cas_missing,
            })).collect::<Vec<_>>(),
            "system_bundle": self.bundle.as_ref().map(|(path, idx)| json!({
                "path": path,
                "certificates": idx.as_ref().map(|i| i.certs.len()),
                "read": !self.facts.bundle_read_as.is_empty(),
                "read_as": self.facts.bundle_read_as,
            })),
            "fixed": probes.iter().filter(|p| p.outcome == Outcome::Served)
                .map(|p| json!({ "path": p.path, "served": p.served })).collect::<Vec<_>>(),
            "notes": traced.notes,
            "verdict": self.verdict,
        })
    }

    /// Every line starts `cafix trace: `.
    fn text(&self) -> String {
        let traced = self.traced;
        let mut lines: Vec<String> = Vec::new();
        let status = match traced.exit {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal { signal, core } => format!(
                "was killed by {}{} (status {})",
                signal_name(signal),
                if core { ", core dumped" } else { "" },
                traced.exit.status()
            ),
        };
        lines.push(format!("`{}` {status}", shell_words(&self.command)));
        if !traced.programs.is_empty() {
            lines.push(self.programs_line());
        }
        self.probe_lines(&mut lines);
        self.hash_lines(&mut lines);
        match &self.bundle {
            Some((path, idx)) => lines.push(format!(
                "system bundle: {path}{}: {}",
                idx.as_ref()
                    .map(|i| format!(" ({} certificates)", i.certs.len()))
                    .unwrap_or_default(),
                if self.facts.bundle_read_as.is_empty() {
                    "never read".to_string()
                } else {
                    format!("read (as {})", self.facts.bundle_read_as.join(", "))
                }
            )),
            None => lines.push("system bundle: none found on this system".to_string()),
        }
        for note in &traced.notes {
            lines.push(format!("note: {note}"));
        }
        lines.push(format!("verdict: {}", self.verdict));
        lines.iter().map(|l| format!("cafix trace: {l}\n")).collect()
    }

    /// `programs: /usr/bin/curl (dynamic), …` (the first eight).
    fn programs_line(&self) -> String {
        let mut shown: Vec<String> = Vec::new();
        for p in &self.traced.programs {
            let s = format!("{} ({})", p.exe, p.linkage.word());
            if !shown.contains(&s) {
                shown.push(s);
            }
        }
        let more = shown.len().saturating_sub(8);
        shown.truncate(8);
        format!(
            "programs: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    }

    /// One line per trust location looked at (the first sixty).
    fn probe_lines(&self, lines: &mut Vec<String>) {
        let probes = &self.probes;
        if probes.is_empty() {
            lines.push("trust locations: none looked at".to_string());
            return;
        }
        lines.push(format!("trust locations ({}):", probes.len()));
        for p in probes.iter().take(60) {
            let mut s = format!(
                "  {:<14} {:<8} {}  [{}{}]",
                p.outcome.word(),
                p.op,
                p.path,
                location_text(&p.location),
                if p.count > 1 {
                    format!(", {}×", p.count)
                } else {
                    String::new()
                }
            );
            if p.write {
                s.push_str(" (for writing)");
            }
            if p.system_bundle {
                s.push_str(" = the system bundle");
            }
            if let Some(what) = &p.served {
                s.push_str(&format!(" <- {what}"));
            }
            if let Some(why) = &p.not_fixed {
                s.push_str(&format!(" (not fixed: {why})"));
            }
            lines.push(s);
        }
        if probes.len() > 60 {
            lines.push(format!("  ... and {} more (--json lists all)", probes.len() - 60));
        }
    }

    /// One line per subject hash looked up, with the CAs it names.
    fn hash_lines(&self, lines: &mut Vec<String>) {
        if self.hashes.is_empty() {
            return;
        }
        lines.push("subject hashes looked up:".to_string());
        for h in self.hashes.values() {
            let state = if h.found {
                "found"
            } else if h.served {
                "missing, served"
            } else {
                "missing"
            };
            let idx: Vec<String> = h.indexes.iter().map(|i| format!(".{i}")).collect();
            let names = if h.cas.is_empty() {
                "not in the system bundle".to_string()
            } else {
                let mut names =
                    h.cas.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ") + " (in the system bundle";
                if h.found && !h.cas_missing.is_empty() {
                    names.push_str(", not in the entries found");
                }
                names + ")"
            };
            lines.push(format!(
                "  {} in {} ({}): {state} — {names}",
                hash_hex(h.hash),
                h.dirs.iter().map(|d| format!("{d}/")).collect::<Vec<_>>().join(", "),
                idx.join(" ")
            ));
        }
    }
}

fn probe_json(p: &Probe) -> Value {
    json!({
        "path": p.path,
        "op": p.op,
        "syscalls": p.syscalls,
        "outcome": p.outcome.word(),
        "location": location_json(&p.location),
        "write": p.write,
        "count": p.count,
        "pids": p.pids,
        "programs": p.programs,
        "system_bundle": p.system_bundle,
        "served": p.served,
        "not_fixed": p.not_fixed,
    })
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Facts {
        Facts {
            any_access: true,
            system_bundle: Some("/etc/ssl/certs/ca-certificates.crt".into()),
            ..Facts::default()
        }
    }

    #[test]
    fn verdict_for_another_layout() {
        let f = Facts {
            missing_bundles: vec!["/usr/local/ssl/cert.pem".into()],
            missing_prefixes: vec![("/usr/local/ssl".into(), false)],
            hash_misses: vec![("54df74ae".into(), "/usr/local/ssl/certs".into(), vec!["CN=x".into()])],
            ..base()
        };
        assert_eq!(
            verdict(&f),
            "looked only in /usr/local/ssl, which does not exist: an OpenSSL built for another layout \
             — run it with `cafix trace --fix` or `cafix run`"
        );
        let f = Facts {
            static_program: true,
            ..f
        };
        assert!(verdict(&f).contains("statically linked"), "{}", verdict(&f));
        let f = Facts {
            fix: true,
            served: 2,
            ..f
        };
        assert!(
            verdict(&f).ends_with("another layout; --fix served 2 missing lookup(s) from the system bundle"),
            "{}",
            verdict(&f)
        );
    }

    #[test]
    fn verdict_for_on_demand_lookup() {
        let f = Facts {
            found_any: true,
            hash_misses: vec![(
                "54df74ae".into(),
                "/etc/ssl/certs".into(),
                vec!["CN=Test Root, O=t".into()],
            )],
            ..base()
        };
        assert_eq!(
            verdict(&f),
            "looked up 54df74ae in /etc/ssl/certs/ (on-demand hash directory) and never read the system bundle; \
             the CA \"CN=Test Root, O=t\" is only in the bundle — run it with `cafix trace --fix` or `cafix run`"
        );
        let f = Facts {
            hash_misses: vec![("54df74ae".into(), "/etc/ssl/certs".into(), vec![])],
            ..f
        };
        assert!(verdict(&f).contains("not trusted on this system"));
    }

    #[test]
    fn verdict_for_healthy_and_unrelated_programs() {
        assert!(verdict(&Facts::default()).starts_with("never looked"));
        let f = Facts {
            found_any: true,
            bundle_read_as: vec!["/usr/lib/ssl/cert.pem".into()],
            ..base()
        };
        assert_eq!(
            verdict(&f),
            "read the system bundle /etc/ssl/certs/ca-certificates.crt (as /usr/lib/ssl/cert.pem): its trust store \
             is intact (if a verification still fails, the server's CA is not in the bundle)"
        );
    }

    #[test]
    fn shell_words_quote() {
        assert_eq!(
            shell_words(&["ls".into(), "a b".into(), "it's".into()]),
            "ls 'a b' 'it'\\''s'"
        );
    }
}
