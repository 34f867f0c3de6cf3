//! JKS and JCEKS, the JDK's own keystore formats (`sun.security.provider.
//! JavaKeyStore`, `com.sun.crypto.provider.JceKeyStore`): a magic number,
//! a version (1 or 2), the entries, then a SHA-1 over the password, the
//! words "Mighty Aphrodite" and everything before it.
//!
//! ```text
//! magic u32 | version u32 | count u32 | entry* | SHA-1 (20 bytes)
//! entry: tag u32 (1 private key, 2 trusted certificate, 3 secret key)
//!        alias UTF | date i64 (ms) | …
//!   1: key u32-length bytes | chain u32 | certificate*
//!   2: certificate
//! certificate: [version 2: type UTF ("X.509")] | u32-length DER
//! UTF: u16-length modified UTF-8 (Java's writeUTF)
//! ```
//!
//! A JCEKS secret-key entry is a serialised Java object whose length only
//! Java can tell: such a store is refused.

use sha1::{Digest, Sha1};

use super::{Format, Keystore, Layout, TrustedCert};

pub const JKS_MAGIC: u32 = 0xfeed_feed;
pub const JCEKS_MAGIC: u32 = 0xcece_cece;
const DIGEST_LEN: usize = 20;

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
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf(&mut self) -> Result<&'a [u8], String> {
        let b = self.take(2)?;
        self.take(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn blob(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()?;
        self.take(n as usize)
    }
}

/// The integrity digest keytool and the JDK write: SHA-1 over the password
/// (each UTF-16 unit as two bytes, big-endian), "Mighty Aphrodite", `data`.
pub fn digest(password: &str, data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut sha = Sha1::new();
    for unit in password.encode_utf16() {
        sha.update(unit.to_be_bytes());
    }
    sha.update(b"Mighty Aphrodite");
    sha.update(data);
    sha.finalize().into()
}

/// Reads a JKS or JCEKS file.
pub fn parse(bytes: &[u8]) -> Result<Keystore, String> {
    let mut r = Reader { data: bytes, pos: 0 };
    let format = match r.u32()? {
        JKS_MAGIC => Format::Jks,
        JCEKS_MAGIC => Format::Jceks,
        _ => return Err("not a JKS or JCEKS keystore".to_string()),
    };
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(format!("{} version {version} is unknown", format.name()));
    }
    let count = r.u32()?;
    // An entry takes at least 18 bytes: a count beyond that is a lie.
    if count as usize > bytes.len() / 18 {
        return Err(format!("{count} entries announced in {} bytes", bytes.len()));
    }
    let entries_start = r.pos;
    let mut trusted = Vec::new();
    let mut aliases = Vec::new();
    let mut private_keys = 0;
    for i in 0..count {
        let tag = r.u32()?;
        let alias = String::from_utf8_lossy(r.utf()?).into_owned();
        r.take(8)?; // creation date
        let cert = |r: &mut Reader<'_>| -> Result<Vec<u8>, String> {
            if version == 2 {
                let kind = r.utf()?;
                if kind != b"X.509" {
                    return Err(format!("entry {i}: a certificate of another type than X.509"));
                }
            }
            Ok(r.blob()?.to_vec())
        };
        match tag {
            1 => {
                private_keys += 1;
                r.blob()?; // the protected key
                let chain = r.u32()?;
                if chain as usize > bytes.len() / 4 {
                    return Err(format!("entry {i}: a chain of {chain} certificates"));
                }
                for _ in 0..chain {
                    cert(&mut r)?;
                }
            }
            2 => {
                let der = cert(&mut r)?;
                trusted.push(TrustedCert {
                    alias: alias.clone(),
                    der,
                });
            }
            3 => return Err(format!("entry {i} is a secret key, which only Java can read")),
            other => return Err(format!("entry {i} has the unknown tag {other}")),
        }
        aliases.push(alias.to_lowercase());
    }
    let entries_end = r.pos;
    let stored = r
        .take(DIGEST_LEN)
        .map_err(|_| "the integrity digest is missing".to_string())?;
    if r.pos != bytes.len() {
        return Err(format!("{} bytes after the integrity digest", bytes.len() - r.pos));
    }
    let default_password = digest(super::DEFAULT_PASSWORD, &bytes[..entries_end]) == stored;
    Ok(Keystore {
        format,
        trusted,
        private_keys,
        aliases,
        integrity: match default_password {
            true => super::Integrity::DefaultPassword,
            false => super::Integrity::OtherPassword,
        },
        encrypted_certs: false,
        layout: Layout::Jks {
            version,
            count,
            entries: entries_start..entries_end,
        },
    })
}

/// The store's bytes with `added` (alias, DER) appended as trusted-certificate
/// entries dated `date_ms`, in the store's own version, and the digest under
/// the default password (the caller checked that it was the store's).
pub fn with_added(
    original: &[u8],
    version: u32,
    count: u32,
    entries: std::ops::Range<usize>,
    added: &[(String, &[u8])],
    date_ms: i64,
) -> Result<Vec<u8>, String> {
    let magic = &original[..4];
    let new_count = count
        .checked_add(u32::try_from(added.len()).map_err(|_| "too many entries")?)
        .ok_or("too many entries")?;
    let mut out = Vec::with_capacity(original.len() + added.iter().map(|(_, d)| d.len() + 64).sum::<usize>());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&new_count.to_be_bytes());
    out.extend_from_slice(&original[entries]);
    for (alias, der) in added {
        let alias = alias.as_bytes();
        let alias_len = u16::try_from(alias.len()).map_err(|_| "an alias too long")?;
        let der_len = u32::try_from(der.len()).map_err(|_| "a certificate too long")?;
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&alias_len.to_be_bytes());
        out.extend_from_slice(alias);
        out.extend_from_slice(&date_ms.to_be_bytes());
        if version == 2 {
            out.extend_from_slice(&5u16.to_be_bytes());
            out.extend_from_slice(b"X.509");
        }
        out.extend_from_slice(&der_len.to_be_bytes());
        out.extend_from_slice(der);
    }
    let digest = digest(super::DEFAULT_PASSWORD, &out);
    out.extend_from_slice(&digest);
    Ok(out)
}
