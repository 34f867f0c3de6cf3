//! `cafix doctor`: a read-only audit of this machine's trust store.
//!
//! The report is the list of sections in [`SECTIONS`]. Each section is a
//! module whose `gather` reads what the section looks at into one model
//! (given the [`Machine`]: the environment, the system bundle and the trust
//! directories, read once for all), judges it into findings
//! ([`verdict::Finding`]) and renders that same model as its block of the
//! text report and as its members of the `--json` object. The findings of
//! every section add up to the verdict. `--ca FILE` ([`ca`]) asks the
//! opposite question for one CA: where is it trusted?
//!
//! docs/ARCHITECTURE.md says how to add a section.

mod bundle_paths;
mod ca;
mod gnutls;
mod nss;
mod openssl;
mod own_stores;
mod qt;
mod section;
mod system_bundle;
mod text;
mod trust_dirs;
pub(in crate::cli) mod verdict;

use serde_json::{Map, Value};

pub use self::openssl::{openssl_defaults, OpenSslDefaults};
use super::args::DoctorArgs;
use super::style;
use section::{Gather, Machine, Section};
use verdict::{Finding, Verdict};

/// The sections of the report, in the order the text shows them. Adding a
/// section: a module with a `gather` function, and its line here.
const SECTIONS: &[Gather] = &[
    system_bundle::gather,
    bundle_paths::gather,
    trust_dirs::gather,
    openssl::gather,
    gnutls::gather,
    qt::gather,
    own_stores::gather,
    nss::gather,
];

pub fn run(args: &DoctorArgs) -> Result<i32, String> {
    if let Some(file) = &args.ca {
        return ca::run(args, file);
    }
    let machine = Machine::read();
    let sections: Vec<Box<dyn Section + '_>> = SECTIONS.iter().map(|gather| gather(&machine)).collect();
    let verdict = Verdict::new(findings_in_order(&sections));
    if args.json {
        let mut members = Map::new();
        verdict.json(&mut members);
        for s in &sections {
            s.json(&mut members);
        }
        style::print_json(&Value::Object(members));
    } else {
        println!(
            "{}",
            style::bold("cafix doctor: this machine's trust store (read-only)")
        );
        println!();
        for s in &sections {
            s.print(args.verbose);
            println!();
        }
        verdict.print(args.verbose);
    }
    Ok(verdict.exit_code())
}

/// Every section's findings, section by section (one whose findings follow
/// the next section's after that section's).
fn findings_in_order(sections: &[Box<dyn Section + '_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut held: &[Finding] = &[];
    for s in sections {
        if s.findings_follow_next() {
            out.extend_from_slice(held);
            held = s.findings();
        } else {
            out.extend_from_slice(s.findings());
            out.extend_from_slice(held);
            held = &[];
        }
    }
    out.extend_from_slice(held);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use verdict::Severity;

    struct Fake(Vec<Finding>, bool);

    impl Section for Fake {
        fn findings(&self) -> &[Finding] {
            &self.0
        }
        fn print(&self, _: bool) {}
        fn json(&self, _: &mut Map<String, Value>) {}
        fn findings_follow_next(&self) -> bool {
            self.1
        }
    }

    fn fake(codes: &[&'static str], follows: bool) -> Box<dyn Section> {
        let findings = codes.iter().map(|c| Finding::new(Severity::Problem, c, *c)).collect();
        Box::new(Fake(findings, follows))
    }

    fn codes(findings: &[Finding]) -> String {
        let v = Verdict::new(findings.to_vec());
        let mut members = Map::new();
        v.json(&mut members);
        let list = members["findings"].as_array().unwrap();
        list.iter()
            .map(|f| f["code"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn findings_follow_the_sections_with_one_held_behind_the_next() {
        let sections = [
            fake(&["a1", "a2"], false),
            fake(&["gnutls"], true),
            fake(&["qt"], false),
            fake(&["z"], false),
        ];
        assert_eq!(codes(&findings_in_order(&sections)), "a1 a2 qt gnutls z");
        // Held by the last section: they come last.
        let sections = [fake(&["a"], false), fake(&["b"], true)];
        assert_eq!(codes(&findings_in_order(&sections)), "a b");
    }
}
