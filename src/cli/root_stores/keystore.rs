//! Java keystores (`cacerts`), read far enough to list their trusted
//! certificates: JKS and JCEKS by their own small format, PKCS #12 with the
//! openssl crate (password `changeit`, or none), and, for what neither can
//! open, `keytool -list -rfc` with a timeout.
//!
//! The integrity digest of a JKS file is not checked: a trust store is
//! loaded that way by the JVM too when no password is configured.

use std::path::Path;
use std::time::Duration;

use super::proc::{run_with_timeout, Outcome};
use crate::pem::{self, PemItem};

/// Java's default keystore password.
pub const DEFAULT_PASSWORD: &str = "changeit";

/// How long `keytool` may take (a JVM start).
pub const KEYTOOL_TIMEOUT: Duration = Duration::from_secs(10);

const JKS_MAGIC: u32 = 0xfeed_feed;
const JCEKS_MAGIC: u32 = 0xcece_cece;

/// The trusted certificates of a keystore, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keystore {
    /// `JKS`, `JCEKS`, `PKCS12`.
    pub format: &'static str,
    /// DER, in file order.
    pub certs: Vec<Vec<u8>>,
    /// `keytool` read it (the file could not be parsed here).
    pub via_keytool: bool,
}

/// What the bytes look like.
pub fn format_of(bytes: &[u8]) -> Option<&'static str> {
    match bytes.get(..4).map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]])) {
        Some(JKS_MAGIC) => Some("JKS"),
        Some(JCEKS_MAGIC) => Some("JCEKS"),
        _ if bytes.first() == Some(&0x30) => Some("PKCS12"),
        _ => None,
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Java's `writeUTF`: a 16-bit length, then (modified) UTF-8.
    fn utf(&mut self) -> Result<&'a [u8], String> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    fn blob(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()?;
        self.take(n as usize)
    }
}

/// The trusted-certificate entries of a JKS or JCEKS file. Private-key
/// entries are skipped (their chains are not trust anchors); a JCEKS
/// secret-key entry (a serialised Java object) stops the parse.
pub fn parse_jks(bytes: &[u8]) -> Result<Keystore, String> {
    let mut r = Reader { data: bytes, pos: 0 };
    let format = match r.u32()? {
        JKS_MAGIC => "JKS",
        JCEKS_MAGIC => "JCEKS",
        _ => return Err("not a JKS or JCEKS keystore".to_string()),
    };
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(format!("{format} version {version} is unknown"));
    }
    let count = r.u32()?;
    // An entry takes at least 14 bytes: a count beyond that is a lie.
    if count as usize > bytes.len() / 14 {
        return Err(format!("{count} entries announced in {} bytes", bytes.len()));
    }
    let mut certs = Vec::new();
    for i in 0..count {
        let tag = r.u32()?;
        r.utf()?; // alias
        r.take(8)?; // creation date
        let cert = |r: &mut Reader<'_>| -> Result<Vec<u8>, String> {
            if version == 2 {
                let kind = r.utf()?;
                if kind != b"X.509" {
                    return Err(format!("entry {i}: a {} certificate", String::from_utf8_lossy(kind)));
                }
            }
            Ok(r.blob()?.to_vec())
        };
        match tag {
            1 => {
                r.blob()?; // the protected key
                let chain = r.u32()?;
                if chain as usize > bytes.len() / 4 {
                    return Err(format!("entry {i}: a chain of {chain} certificates"));
                }
                for _ in 0..chain {
                    cert(&mut r)?;
                }
            }
            2 => certs.push(cert(&mut r)?),
            3 => return Err(format!("entry {i} is a secret key, which only Java can read")),
            other => return Err(format!("entry {i} has the unknown tag {other}")),
        }
    }
    r.take(20).map_err(|_| "the integrity digest is missing".to_string())?;
    Ok(Keystore {
        format,
        certs,
        via_keytool: false,
    })
}

/// The certificates of a PKCS #12 keystore, with `changeit` or no password.
pub fn parse_pkcs12(bytes: &[u8]) -> Result<Keystore, String> {
    let p12 = openssl::pkcs12::Pkcs12::from_der(bytes).map_err(|e| format!("not PKCS #12: {e}"))?;
    let mut last = String::new();
    for pass in [DEFAULT_PASSWORD, ""] {
        match p12.parse2(pass) {
            Ok(parsed) => {
                let mut certs = Vec::new();
                for c in parsed.ca.iter().flatten().chain(parsed.cert.as_deref()) {
                    certs.push(c.to_der().map_err(|e| e.to_string())?);
                }
                return Ok(Keystore {
                    format: "PKCS12",
                    certs,
                    via_keytool: false,
                });
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "PKCS #12 that OpenSSL cannot open with the password {DEFAULT_PASSWORD:?} or none ({last})"
    ))
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

/// Reads a keystore: by its format here, else with the first `keytools`
/// that exists. `Err` says why neither worked.
pub fn read(bytes: &[u8], path: &Path, keytools: &[std::path::PathBuf]) -> Result<Keystore, String> {
    let parsed = match format_of(bytes) {
        Some("JKS" | "JCEKS") => parse_jks(bytes),
        Some(_) => parse_pkcs12(bytes),
        None => Err("neither JKS nor PKCS #12".to_string()),
    };
    let why = match parsed {
        Ok(k) => return Ok(k),
        Err(why) => why,
    };
    let Some(keytool) = keytools.iter().find(|k| k.is_file()) else {
        return Err(format!("{why}; no keytool to ask"));
    };
    match list_with_keytool(keytool, path) {
        Ok(certs) => Ok(Keystore {
            format: format_of(bytes).unwrap_or("keystore"),
            certs,
            via_keytool: true,
        }),
        Err(e) => Err(format!("{why}; {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s);
    }

    /// A JKS file as `keytool` writes it (version 2), with a key entry.
    fn jks(trusted: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&JKS_MAGIC.to_be_bytes());
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&(trusted.len() as u32 + 1).to_be_bytes());
        out.extend_from_slice(&1u32.to_be_bytes());
        utf(&mut out, b"mykey");
        out.extend_from_slice(&0u64.to_be_bytes());
        out.extend_from_slice(&3u32.to_be_bytes());
        out.extend_from_slice(b"key");
        out.extend_from_slice(&1u32.to_be_bytes());
        utf(&mut out, b"X.509");
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(b"\x30\x00");
        for (i, der) in trusted.iter().enumerate() {
            out.extend_from_slice(&2u32.to_be_bytes());
            utf(&mut out, format!("ca{i}").as_bytes());
            out.extend_from_slice(&0u64.to_be_bytes());
            utf(&mut out, b"X.509");
            out.extend_from_slice(&(der.len() as u32).to_be_bytes());
            out.extend_from_slice(der);
        }
        out.extend_from_slice(&[0u8; 20]);
        out
    }

    #[test]
    fn trusted_entries_are_listed_and_key_chains_skipped() {
        let file = jks(&[b"\x30\x03abc", b"\x30\x01z"]);
        let k = parse_jks(&file).unwrap();
        assert_eq!(k.format, "JKS");
        assert_eq!(k.certs, vec![b"\x30\x03abc".to_vec(), b"\x30\x01z".to_vec()]);
        assert_eq!(format_of(&file), Some("JKS"));
    }

    #[test]
    fn damaged_keystores_are_refused_without_panicking() {
        let file = jks(&[b"\x30\x03abc"]);
        for cut in 0..file.len() {
            assert!(parse_jks(&file[..cut]).is_err(), "cut at {cut}");
        }
        let mut lying = file.clone();
        lying[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_jks(&lying).unwrap_err().contains("entries announced"));
        let mut huge_blob = file.clone();
        let at = huge_blob.len() - 20 - 5 - 4;
        huge_blob[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_jks(&huge_blob).is_err());
        assert!(parse_jks(b"garbage").is_err());
        assert_eq!(format_of(b"garbage"), None);
        assert!(parse_pkcs12(b"\x30\x03abc").is_err());
    }

    #[test]
    fn pkcs12_trusted_certificates_are_read() {
        use openssl::{asn1::Asn1Time, bn::BigNum, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509};
        let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
        let mut name = x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "p12 test CA").unwrap();
        let name = name.build();
        let mut b = x509::X509Builder::new().unwrap();
        b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        let cert = b.build();
        let mut stack = openssl::stack::Stack::new().unwrap();
        stack.push(cert.clone()).unwrap();
        let mut builder = openssl::pkcs12::Pkcs12::builder();
        builder.ca(stack);
        let der = builder.build2(DEFAULT_PASSWORD).unwrap().to_der().unwrap();
        let k = read(&der, Path::new("/nonexistent"), &[]).unwrap();
        assert_eq!(k.format, "PKCS12");
        assert_eq!(k.certs, vec![cert.to_der().unwrap()]);
    }
}
