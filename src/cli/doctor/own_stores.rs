//! Programs' own root stores (certifi copies, conda, Java keystores,
//! Node.js' compiled-in roots) judged against this machine's local CAs: the
//! section's gathering and judging is [`crate::cli::root_stores`], which
//! `cafix doctor --ca` shares.

use serde_json::{Map, Value};

use super::section::{Machine, Section};
use super::verdict::Finding;
use crate::cli::root_stores;

pub(super) struct OwnStores {
    stores: root_stores::Section,
    findings: Vec<Finding>,
}

pub(super) fn gather(m: &Machine) -> Box<dyn Section + '_> {
    let stores = root_stores::Section::run(m.bundle.as_ref(), false);
    let findings = stores.findings();
    Box::new(OwnStores { stores, findings })
}

impl Section for OwnStores {
    fn findings(&self) -> &[Finding] {
        &self.findings
    }

    fn print(&self, _verbose: bool) {
        self.stores.print();
    }

    fn json(&self, members: &mut Map<String, Value>) {
        members.insert("root_stores".into(), self.stores.json());
    }
}
