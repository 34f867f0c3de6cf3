//! The administrator's local CAs (`cafix::local_cas`: anchor files that are
//! also in the system bundle), found once per process on first need (under
//! the shim lock: finding them may log), for every place the engine adds
//! them: OpenSSL stores loaded from a copy of the public roots
//! (`injection`), a JDK's served `jssecacerts` (`java`), NSS's token of
//! local CAs (`nss`), and the PEM file a Node.js process is pointed at
//! (`pem`).

use std::cell::OnceCell;
use std::sync::OnceLock;

use cafix::bundle::MAX_BUNDLE_BYTES;
use cafix::config::Level;
use cafix::local_cas::{self, LocalCas};
use cafix::record::Record;

use crate::logger;
use crate::state::shim;
use crate::sys;

static LOCAL: OnceLock<LocalCas> = OnceLock::new();
static PEM: OnceLock<Vec<u8>> = OnceLock::new();

/// The local CAs of this machine (empty when adding them is switched off).
pub fn cas() -> &'static LocalCas {
    LOCAL.get_or_init(discover)
}

/// The local CAs, PEM, one after the other: what `NODE_EXTRA_CA_CERTS`
/// names for a Node.js process (empty when there are none, or when adding
/// them is switched off, so that Node.js adds nothing).
pub fn pem() -> &'static [u8] {
    PEM.get_or_init(|| cas().cas.iter().flat_map(|ca| ca.pem()).collect())
}

fn discover() -> LocalCas {
    let state = shim();
    if !state.config.local_cas_inject || !state.config.serve {
        return LocalCas::default();
    }
    let sources = local_cas::AnchorSources::system(state.config.local_cas.clone(), sys::is_secure_exec());
    // The bundle's text settles the usual case without indexing it (NSS and
    // Node.js programs may never need the index): the index's own bytes if
    // it is built, else the file, read once here, and only if an anchor
    // file exists.
    let read: OnceCell<Option<Vec<u8>>> = OnceCell::new();
    let text = || match state.bundle_if_indexed() {
        Some(index) => index.map(|index| index.bytes.as_slice()),
        None => read
            .get_or_init(|| {
                cafix::bundle::find_system_bundle(&state.config, &|p| sys::is_nonempty_file(p))
                    .and_then(|path| sys::read_file(&path, MAX_BUNDLE_BYTES).ok())
            })
            .as_deref(),
    };
    let found = local_cas::discover_with_text(&sources, text, || state.bundle());
    if !found.problems.is_empty() {
        logger::emit(&Record::new(
            Level::Warn,
            "local-ca-problems",
            format!("local CA files skipped: {}", found.problems.join("; ")),
        ));
    }
    for ca in &found.pending {
        logger::emit(&Record::new(
            Level::Info,
            "local-ca-pending",
            format!(
                "{} in {} is not in the system bundle, so this machine does not trust it yet and \
                 cafix adds it nowhere; run update-ca-certificates (or update-ca-trust) if it should be trusted",
                ca.subject,
                ca.source.display()
            ),
        ));
    }
    found
}
