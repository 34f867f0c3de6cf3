//! PKCS #12 (RFC 7292) as the JDK reads it for a trust store
//! (`sun.security.pkcs12.PKCS12KeyStore`):
//!
//! ```text
//! PFX ::= SEQUENCE { version 3, authSafe ContentInfo (data), macData MacData OPTIONAL }
//! AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data, or encryptedData
//! SafeContents ::= SEQUENCE OF SafeBag
//! SafeBag ::= SEQUENCE { bagId OID, [0] bagValue, SET OF Attribute OPTIONAL }
//! CertBag ::= SEQUENCE { x509Certificate OID, [0] OCTET STRING }
//! ```
//!
//! A CertBag is a *trusted-certificate entry* only with Oracle's
//! `trustedKeyUsage` attribute (what keytool writes); without it the JDK
//! keeps it only as part of a private key's chain, and so does this reader.
//! Certificates in an encryptedData are read with the default password, as
//! a JVM given `-Djavax.net.ssl.trustStorePassword=changeit` reads them (a
//! JVM given none skips them). JDK 18 and later ship a password-less store:
//! its certificates in a plain data ContentInfo and no MAC.
//!
//! Writing keeps every original ContentInfo byte for byte and appends one
//! more holding the added certificates, protected as the store's own were
//! (in the clear, or encrypted with the very same algorithm and
//! parameters), and the MAC, if there was one, recomputed with the same
//! digest, salt and iteration count.

use std::ops::Range;

use super::der::{self, oid, Tlv};
use super::pbe::{self, MacParams};
use super::{Format, Integrity, Keystore, Layout, TrustedCert, DEFAULT_PASSWORD};

/// Where `part` lies in `whole` (`part` is a sub-slice of it).
fn range_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

/// What was found in the SafeContents read so far.
#[derive(Default)]
struct Bags {
    trusted: Vec<TrustedCert>,
    aliases: Vec<String>,
    private_keys: usize,
    /// Trusted certificates seen in the clear, and inside encryptedData.
    plain_trusted: usize,
    encrypted_trusted: usize,
}

/// Reads a PKCS #12 file.
pub fn parse(bytes: &[u8]) -> Result<Keystore, String> {
    let (pfx, rest) = der::expect(bytes, der::SEQUENCE)?;
    der::end(rest)?;
    let (version, rest) = der::expect(pfx.content, der::INTEGER)?;
    if der::small_uint(version) != Some(3) {
        return Err("a PKCS #12 version other than 3".to_string());
    }
    let (auth_safe, rest) = der::expect(rest, der::SEQUENCE)?;
    let mac = match rest.is_empty() {
        true => None,
        false => {
            let (mac_data, after) = der::expect(rest, der::SEQUENCE)?;
            der::end(after)?;
            Some(MacParams::parse(mac_data.content)?)
        }
    };
    let auth_safe = data_content(auth_safe.content)?;
    let integrity = match &mac {
        None => Integrity::None,
        Some((params, stored)) if params.compute(DEFAULT_PASSWORD, auth_safe) == *stored => Integrity::DefaultPassword,
        Some(_) => Integrity::OtherPassword,
    };
    let (infos, after) = der::expect(auth_safe, der::SEQUENCE)?;
    der::end(after)?;
    let mut bags = Bags::default();
    let mut content_infos = Vec::new();
    let mut encryption = None;
    for info in der::elements(infos.content)? {
        content_infos.push(range_in(bytes, info.whole));
        let (kind, value) = content_info(info)?;
        if kind == oid::DATA {
            let before = bags.trusted.len();
            read_safe_contents(data_content_octets(value)?, &mut bags)?;
            bags.plain_trusted += bags.trusted.len() - before;
        } else if kind == oid::ENCRYPTED_DATA {
            let (algorithm, ciphertext) = encrypted_data(value)?;
            let plain = pbe::decrypt(algorithm, DEFAULT_PASSWORD, ciphertext)
                .map_err(|why| format!("its certificates cannot be decrypted with the default password ({why})"))?;
            let before = bags.trusted.len();
            read_safe_contents(&plain, &mut bags)?;
            if bags.trusted.len() > before && encryption.is_none() {
                encryption = Some(algorithm.to_vec());
            }
            bags.encrypted_trusted += bags.trusted.len() - before;
        } else {
            return Err("a ContentInfo neither data nor encryptedData (public-key protected?)".to_string());
        }
    }
    // Which protection an added certificate gets: that of the store's own.
    let encryption = match (bags.plain_trusted, bags.encrypted_trusted) {
        (0, _) => encryption,
        (_, 0) => None,
        _ => return Err("trusted certificates both in the clear and encrypted".to_string()),
    };
    Ok(Keystore {
        format: Format::Pkcs12,
        trusted: bags.trusted,
        private_keys: bags.private_keys,
        aliases: bags.aliases,
        integrity,
        encrypted_certs: bags.encrypted_trusted > 0,
        layout: Layout::Pkcs12 {
            content_infos,
            mac: mac.map(|(params, _)| params),
            encryption,
        },
    })
}

/// `ContentInfo ::= SEQUENCE { contentType OID, [0] EXPLICIT content }`.
fn content_info(info: Tlv<'_>) -> Result<(&[u8], &[u8]), String> {
    if info.identifier != der::SEQUENCE {
        return Err("a ContentInfo that is not a SEQUENCE".to_string());
    }
    let (kind, rest) = der::expect(info.content, der::OID)?;
    let (value, after) = der::expect(rest, der::CONTEXT_0)?;
    der::end(after)?;
    Ok((kind.content, value.content))
}

/// The octets of a data ContentInfo's `[0] { OCTET STRING }`.
fn data_content_octets(value: &[u8]) -> Result<&[u8], String> {
    let (octets, rest) = der::expect(value, der::OCTET_STRING)?;
    der::end(rest)?;
    Ok(octets.content)
}

/// The outer `authSafe`: a data ContentInfo's octets.
fn data_content(auth_safe: &[u8]) -> Result<&[u8], String> {
    let (kind, rest) = der::expect(auth_safe, der::OID)?;
    if kind.content != oid::DATA {
        return Err("an authSafe that is not data (signed PKCS #12 is not supported)".to_string());
    }
    let (value, after) = der::expect(rest, der::CONTEXT_0)?;
    der::end(after)?;
    data_content_octets(value.content)
}

/// `EncryptedData ::= SEQUENCE { version, EncryptedContentInfo ::= SEQUENCE {
/// contentType, AlgorithmIdentifier, [0] IMPLICIT OCTET STRING } }`:
/// the algorithm (whole TLV) and the ciphertext.
fn encrypted_data(value: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (data, rest) = der::expect(value, der::SEQUENCE)?;
    der::end(rest)?;
    let (_version, rest) = der::expect(data.content, der::INTEGER)?;
    let (info, after) = der::expect(rest, der::SEQUENCE)?;
    der::end(after)?;
    let (_kind, rest) = der::expect(info.content, der::OID)?;
    let (algorithm, rest) = der::expect(rest, der::SEQUENCE)?;
    let (ciphertext, after) = der::expect(rest, der::CONTEXT_0_PRIMITIVE)?;
    der::end(after)?;
    Ok((algorithm.whole, ciphertext.content))
}

/// Adds the bags of one SafeContents to `bags`.
fn read_safe_contents(safe_contents: &[u8], bags: &mut Bags) -> Result<(), String> {
    let (seq, rest) = der::expect(safe_contents, der::SEQUENCE)?;
    der::end(rest)?;
    for bag in der::elements(seq.content)? {
        if bag.identifier != der::SEQUENCE {
            return Err("a SafeBag that is not a SEQUENCE".to_string());
        }
        let (bag_id, rest) = der::expect(bag.content, der::OID)?;
        let (value, rest) = der::expect(rest, der::CONTEXT_0)?;
        let attributes = match rest.is_empty() {
            true => Attributes::default(),
            false => {
                let (set, after) = der::expect(rest, der::SET)?;
                der::end(after)?;
                attributes(set.content)?
            }
        };
        let kind = bag_id.content.strip_prefix(oid::BAG_PREFIX).unwrap_or(&[]);
        match kind {
            [oid::CERT_BAG] => {
                let der = cert_bag(value.content)?;
                if let (Some(der), true) = (der, attributes.trusted) {
                    let alias = attributes
                        .alias
                        .clone()
                        .unwrap_or_else(|| (bags.aliases.len() + 1).to_string());
                    bags.trusted.push(TrustedCert { alias, der });
                }
            }
            [oid::KEY_BAG] | [oid::SHROUDED_KEY_BAG] | [oid::SECRET_BAG] => bags.private_keys += 1,
            [oid::SAFE_CONTENTS_BAG] => return Err("a nested SafeContents bag".to_string()),
            _ => {} // CRLs and unknown bags: the JDK skips them too
        }
        if let Some(alias) = attributes.alias {
            bags.aliases.push(alias.to_lowercase());
        }
    }
    Ok(())
}

/// `CertBag ::= SEQUENCE { certId OID, [0] EXPLICIT OCTET STRING }`: the
/// DER of an X.509 certificate (`None` for another kind).
fn cert_bag(value: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let (bag, rest) = der::expect(value, der::SEQUENCE)?;
    der::end(rest)?;
    let (cert_id, rest) = der::expect(bag.content, der::OID)?;
    let (wrapped, after) = der::expect(rest, der::CONTEXT_0)?;
    der::end(after)?;
    let (octets, after) = der::expect(wrapped.content, der::OCTET_STRING)?;
    der::end(after)?;
    Ok((cert_id.content == oid::X509_CERTIFICATE).then(|| octets.content.to_vec()))
}

#[derive(Default)]
struct Attributes {
    alias: Option<String>,
    trusted: bool,
}

/// The bag attributes the JDK reads: friendlyName, trustedKeyUsage.
fn attributes(set: &[u8]) -> Result<Attributes, String> {
    let mut out = Attributes::default();
    for attribute in der::elements(set)? {
        if attribute.identifier != der::SEQUENCE {
            return Err("an attribute that is not a SEQUENCE".to_string());
        }
        let (id, rest) = der::expect(attribute.content, der::OID)?;
        let (values, after) = der::expect(rest, der::SET)?;
        der::end(after)?;
        if id.content == oid::FRIENDLY_NAME {
            let (name, _) = der::expect(values.content, der::BMP_STRING)?;
            let units: Vec<u16> = name
                .content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            out.alias = Some(String::from_utf16_lossy(&units));
        } else if id.content == oid::TRUSTED_KEY_USAGE {
            out.trusted = true;
        }
    }
    Ok(out)
}

/// One trusted-certificate SafeBag as keytool writes it.
fn trusted_cert_bag(alias: &str, cert: &[u8]) -> Vec<u8> {
    let cert_bag = der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(der::OID, oid::X509_CERTIFICATE),
            der::tlv(der::CONTEXT_0, &der::tlv(der::OCTET_STRING, cert)),
        ]
        .concat(),
    );
    let bmp: Vec<u8> = alias.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let friendly_name = der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(der::OID, oid::FRIENDLY_NAME),
            der::tlv(der::SET, &der::tlv(der::BMP_STRING, &bmp)),
        ]
        .concat(),
    );
    let trusted_usage = der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(der::OID, oid::TRUSTED_KEY_USAGE),
            der::tlv(der::SET, &der::tlv(der::OID, oid::ANY_EXTENDED_KEY_USAGE)),
        ]
        .concat(),
    );
    let mut bag_id = oid::BAG_PREFIX.to_vec();
    bag_id.push(oid::CERT_BAG);
    der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(der::OID, &bag_id),
            der::tlv(der::CONTEXT_0, &cert_bag),
            der::tlv(der::SET, &[friendly_name, trusted_usage].concat()),
        ]
        .concat(),
    )
}

/// The store's bytes with `added` (alias, DER) as trusted-certificate bags.
pub fn with_added(
    original: &[u8],
    content_infos: &[Range<usize>],
    mac: Option<&MacParams>,
    encryption: Option<&[u8]>,
    added: &[(String, &[u8])],
) -> Result<Vec<u8>, String> {
    let bags: Vec<u8> = added
        .iter()
        .flat_map(|(alias, der)| trusted_cert_bag(alias, der))
        .collect();
    let safe_contents = der::tlv(der::SEQUENCE, &bags);
    let new_info = match encryption {
        None => der::tlv(
            der::SEQUENCE,
            &[
                der::tlv(der::OID, oid::DATA),
                der::tlv(der::CONTEXT_0, &der::tlv(der::OCTET_STRING, &safe_contents)),
            ]
            .concat(),
        ),
        Some(algorithm) => {
            let ciphertext = pbe::encrypt(algorithm, DEFAULT_PASSWORD, &safe_contents)?;
            let info = der::tlv(
                der::SEQUENCE,
                &[
                    der::tlv(der::OID, oid::DATA),
                    algorithm.to_vec(),
                    der::tlv(der::CONTEXT_0_PRIMITIVE, &ciphertext),
                ]
                .concat(),
            );
            let encrypted = der::tlv(der::SEQUENCE, &[der::uint(0), info].concat());
            der::tlv(
                der::SEQUENCE,
                &[
                    der::tlv(der::OID, oid::ENCRYPTED_DATA),
                    der::tlv(der::CONTEXT_0, &encrypted),
                ]
                .concat(),
            )
        }
    };
    let mut infos: Vec<u8> = content_infos
        .iter()
        .flat_map(|r| original[r.clone()].to_vec())
        .collect();
    infos.extend_from_slice(&new_info);
    let auth_safe = der::tlv(der::SEQUENCE, &infos);
    let outer = der::tlv(
        der::SEQUENCE,
        &[
            der::tlv(der::OID, oid::DATA),
            der::tlv(der::CONTEXT_0, &der::tlv(der::OCTET_STRING, &auth_safe)),
        ]
        .concat(),
    );
    let mut pfx = [der::uint(3), outer].concat();
    if let Some(mac) = mac {
        pfx.extend(mac.encode(&mac.compute(DEFAULT_PASSWORD, &auth_safe)));
    }
    Ok(der::tlv(der::SEQUENCE, &pfx))
}
