//! The well-known bundle paths: where each distribution's programs look for
//! the CA bundle, and what is at each of those paths here.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::section::{Machine, Section};
use super::text::short_list;
use super::verdict::{Finding, Severity};
use crate::audit::{self, BundlePathStatus, BundleState};
use crate::cli::style;

pub(super) struct BundlePaths {
    paths: Vec<BundlePathStatus>,
    findings: Vec<Finding>,
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let paths = audit::bundle_paths_status();
    let findings = paths.iter().filter_map(|p| judge(p, m)).collect();
    Box::new(BundlePaths { paths, findings })
}

fn judge(p: &BundlePathStatus, m: &Machine) -> Option<Finding> {
    match &p.state {
        BundleState::BrokenSymlink => Some(
            Finding::new(
                Severity::Problem,
                "broken-bundle-link",
                format!(
                    "{} is a broken symbolic link (to {}): programs that read it ({}) load no CA",
                    p.path,
                    p.link_target.as_deref().unwrap_or(Path::new("?")).display(),
                    p.origin
                ),
            )
            .fix("run those programs with `cafix run -- PROGRAM` (it serves the system bundle there)")
            .fix(match &m.bundle_path {
                Some(b) => format!("or point the link at the bundle: `ln -sf {} {}`", b.display(), p.path),
                None => "or reinstall the CA bundle (`update-ca-certificates --fresh`)".to_string(),
            }),
        ),
        BundleState::Present {
            certificates: 0,
            problems,
        } => Some(Finding::new(
            Severity::Problem,
            "bundle-path-empty",
            format!(
                "{} holds no certificate ({}): programs that read it ({}) trust nothing",
                p.path,
                problems.join("; "),
                p.origin
            ),
        )),
        BundleState::Unreadable(e) => Some(Finding::new(
            Severity::Warning,
            "bundle-path-unreadable",
            format!("{} cannot be read: {e}", p.path),
        )),
        _ => None,
    }
}

impl Section for BundlePaths {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, verbose: bool) {
        println!("{}", style::bold("Well-known bundle paths"));
        let mut missing = Vec::new();
        for p in &self.paths {
            let link = p
                .link_target
                .as_ref()
                .map(|t| format!(" -> {}", t.display()))
                .unwrap_or_default();
            match &p.state {
                BundleState::Missing => missing.push(p.path.to_string()),
                BundleState::Present { certificates, .. } => {
                    println!(
                        "  {}  {}{link}: {certificates} certificates",
                        style::good("present"),
                        p.path
                    )
                }
                BundleState::BrokenSymlink => println!("  {}   {}{link}", style::bad("broken"), p.path),
                BundleState::Unreadable(e) => println!("  {}  {}{link}: {e}", style::warn("unreadable"), p.path),
                BundleState::NotAFile => println!("  {}  {}{link}: not a file", style::warn("odd"), p.path),
            }
        }
        if !missing.is_empty() {
            println!(
                "  {}  {} other path(s) (`cafix run` serves the bundle there): {}",
                style::dim("missing"),
                missing.len(),
                short_list(&missing, verbose)
            );
        }
    }

    fn json(&self, members: &mut Map<String, Value>) {
        members.insert(
            "bundle_paths".into(),
            Value::Array(self.paths.iter().map(path_json).collect()),
        );
    }
}

fn path_json(p: &BundlePathStatus) -> Value {
    let (state, certificates, problems, error) = match &p.state {
        BundleState::Missing => ("missing", None, Vec::new(), None),
        BundleState::BrokenSymlink => ("broken-symlink", None, Vec::new(), None),
        BundleState::Present { certificates, problems } => ("present", Some(*certificates), problems.clone(), None),
        BundleState::Unreadable(e) => ("unreadable", None, Vec::new(), Some(e.clone())),
        BundleState::NotAFile => ("not-a-file", None, Vec::new(), None),
    };
    json!({
        "path": p.path,
        "origin": p.origin,
        "state": state,
        "symlink_target": p.link_target.as_ref().map(|t| t.display().to_string()),
        "certificates": certificates,
        "problems": problems,
        "error": error,
    })
}
