//! Java keystores (`cacerts`, `jssecacerts`) for the doctor: read by the
//! library (`cafix::keystore`, what libcafix.so reads and writes too) and,
//! for what it cannot read, listed by `keytool -list -rfc` with a timeout.
//! Also whether libcafix.so can give the JVM that uses the store the local
//! CAs (the rules of `shim/engine/src/java.rs`).

use std::path::Path;
use std::time::Duration;

use super::proc::{run_with_timeout, Outcome};
use crate::keystore::{self as library, Integrity, DEFAULT_PASSWORD};
use crate::pem::{self, PemItem};

/// How long `keytool` may take (a JVM start).
pub const KEYTOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// The trusted certificates of a keystore, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// `JKS`, `PKCS12, no password` … as shown.
    pub detail: String,
    /// DER, in file order: the trusted-certificate entries, as the JDK
    /// counts them.
    pub certs: Vec<Vec<u8>>,
    /// Why libcafix.so adds no local CA to what a JVM reads from it; `None`
    /// when it does (where it is preloaded).
    pub not_served: Option<String>,
}

/// Why libcafix.so serves no `jssecacerts` built from this store (`None`:
/// it does), as the engine decides.
fn not_served(store: &library::Keystore) -> Option<String> {
    if store.private_keys > 0 {
        return Some(format!(
            "it holds {} private-key entr{}: a keystore of its own",
            store.private_keys,
            if store.private_keys == 1 { "y" } else { "ies" }
        ));
    }
    (store.integrity == Integrity::OtherPassword)
        .then(|| format!("its password is not the default \"{DEFAULT_PASSWORD}\""))
}

fn describe(store: &library::Keystore) -> String {
    let format = store.format.name();
    match (store.integrity, store.encrypted_certs) {
        (Integrity::None, _) => format!("{format}, no password"),
        (_, true) => format!("{format}, certificates encrypted"),
        _ => format.to_string(),
    }
}

/// `keytool -list -rfc` of `path`: every certificate it prints.
pub fn list_with_keytool(keytool: &Path, path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let mut cmd = std::process::Command::new(keytool);
    cmd.args(["-list", "-rfc", "-storepass", DEFAULT_PASSWORD, "-keystore"])
        .arg(path)
        .env_remove("JAVA_TOOL_OPTIONS")
        .env_remove("JDK_JAVA_OPTIONS");
    match run_with_timeout(cmd, KEYTOOL_TIMEOUT) {
        Outcome::Exited { code: 0, stdout, .. } => {
            let certs: Vec<Vec<u8>> = pem::sections(&stdout)
                .into_iter()
                .filter_map(|s| match s {
                    PemItem::Certificate(der) => Some(der),
                    _ => None,
                })
                .collect();
            Ok(certs)
        }
        Outcome::Exited { code, stdout, stderr } => {
            let said = String::from_utf8_lossy(if stderr.is_empty() { &stdout } else { &stderr }).into_owned();
            let said = said
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            Err(format!("{} exited with {code}: {said}", keytool.display()))
        }
        Outcome::TimedOut => Err(format!(
            "{} did not finish in {} s",
            keytool.display(),
            KEYTOOL_TIMEOUT.as_secs()
        )),
        Outcome::NotRun(e) => Err(format!("cannot run {}: {e}", keytool.display())),
    }
}

/// Reads a keystore: with the library, else with the first `keytools`
/// that exists. `Err` says why neither worked.
pub fn read(bytes: &[u8], path: &Path, keytools: &[std::path::PathBuf]) -> Result<Keystore, String> {
    let why = match library::parse(bytes) {
        Ok(store) => {
            return Ok(Keystore {
                detail: describe(&store),
                certs: store.trusted_ders().map(<[u8]>::to_vec).collect(),
                not_served: not_served(&store),
            })
        }
        Err(why) => why,
    };
    let Some(keytool) = keytools.iter().find(|k| k.is_file()) else {
        return Err(format!("{why}; no keytool to ask"));
    };
    match list_with_keytool(keytool, path) {
        Ok(certs) => Ok(Keystore {
            detail: format!(
                "{}, read with keytool",
                library::format_of(bytes).map_or("keystore", library::Format::name)
            ),
            certs,
            not_served: Some(format!("cafix cannot read it ({why})")),
        }),
        Err(e) => Err(format!("{why}; {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/keystore/testdata")
            .join(name);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn keystores_are_read_by_the_library_and_judged_as_the_engine_does() {
        for (name, detail, served) in [
            ("jks.jks", "JKS", true),
            ("p12-none.p12", "PKCS12, no password", true),
            ("p12-aes.p12", "PKCS12, certificates encrypted", true),
            ("jks-with-key.jks", "JKS", false),
            ("jks-other-password.jks", "JKS", false),
        ] {
            let k = read(&fixture(name), Path::new("/nonexistent"), &[]).unwrap();
            assert_eq!(k.detail, detail, "{name}");
            assert_eq!(k.certs.len(), 2, "{name}: the trusted entries only");
            assert_eq!(k.not_served.is_none(), served, "{name}: {:?}", k.not_served);
        }
    }

    #[test]
    fn what_the_library_cannot_read_needs_keytool() {
        let err = read(b"garbage", Path::new("/nonexistent"), &[]).unwrap_err();
        assert!(err.contains("neither JKS") && err.contains("no keytool"), "{err}");
        let err = read(&fixture("p12-other-password.p12"), Path::new("/nonexistent"), &[]).unwrap_err();
        assert!(err.contains("default password"), "{err}");
    }
}
