//! What cafix's read-only PKCS #11 token holds: the administrator's local
//! CAs as NSS sees trust anchors, and nothing else.
//!
//! NSS programs (Chromium on the system `libnss3`, Firefox and Thunderbird
//! on their own, `tstclnt`, `vfychain`) take their trust from the PKCS #11
//! modules loaded into NSS: the built-in roots module and the user's
//! database. The engine adds one more, in memory, once the program's NSS
//! has its built-in roots (`shim/engine/src/nss.rs`); this module is its
//! content. Each local CA becomes two objects, as in NSS's own built-in
//! roots module (`certdata.txt`):
//!
//! - a `CKO_CERTIFICATE` (X.509; subject, issuer, serial number, the DER
//!   itself, a label and an ID that is the certificate's SHA-1, never the
//!   all-zero ID that NSS trusts by itself);
//! - a `CKO_NSS_TRUST` keyed by issuer and serial number with the
//!   certificate's SHA-1: `CKT_NSS_TRUSTED_DELEGATOR` for TLS server
//!   authentication (a trust anchor), `CKT_NSS_MUST_VERIFY_TRUST` (neither
//!   trusted nor distrusted) for client authentication, e-mail and code
//!   signing.
//!
//! No object carries `CKA_NSS_MOZILLA_CA_POLICY`, and there is no
//! `CKO_NSS_BUILTIN_ROOT_LIST` object, so NSS does not take the token for a
//! built-in roots module: Chromium honours its trust as it honours the
//! user's database (it ignores only built-in tokens' trust for certificates
//! that carry the Mozilla policy attribute), and Firefox as a third-party
//! token's. The module is loaded with a trust order after every other
//! token's ([`TRUST_ORDER`]), so a trust record the user's database or the
//! built-in roots hold for the same certificate wins.

use cryptoki_sys::{
    CKA_CERTIFICATE_TYPE, CKA_CLASS, CKA_ID, CKA_ISSUER, CKA_LABEL, CKA_MODIFIABLE, CKA_PRIVATE, CKA_SERIAL_NUMBER,
    CKA_SUBJECT, CKA_TOKEN, CKA_VALUE, CKA_VENDOR_DEFINED, CKC_X_509, CKO_CERTIFICATE, CKO_VENDOR_DEFINED,
    CK_ATTRIBUTE_TYPE, CK_BBOOL, CK_FALSE, CK_TRUE, CK_ULONG,
};
use sha1::{Digest, Sha1};

/// NSS's vendor tag, `NSSCK_VENDOR_NSS` ("NSCP").
const NSSCK_VENDOR_NSS: CK_ULONG = 0x4E53_4350;
/// `CKO_NSS_TRUST`: NSS's trust object class.
pub const CKO_NSS_TRUST: CK_ULONG = (CKO_VENDOR_DEFINED | NSSCK_VENDOR_NSS) + 3;
/// `CKO_NSS_BUILTIN_ROOT_LIST`: the object that makes a token a built-in
/// roots token for NSS. This token never has one.
pub const CKO_NSS_BUILTIN_ROOT_LIST: CK_ULONG = (CKO_VENDOR_DEFINED | NSSCK_VENDOR_NSS) + 4;
const CKA_NSS: CK_ATTRIBUTE_TYPE = CKA_VENDOR_DEFINED | NSSCK_VENDOR_NSS;
/// `CKA_NSS_MOZILLA_CA_POLICY`: never on this token's objects.
pub const CKA_NSS_MOZILLA_CA_POLICY: CK_ATTRIBUTE_TYPE = CKA_NSS + 34;
const CKA_NSS_TRUST_BASE: CK_ATTRIBUTE_TYPE = CKA_NSS + 0x2000;
pub const CKA_TRUST_SERVER_AUTH: CK_ATTRIBUTE_TYPE = CKA_NSS_TRUST_BASE + 8;
pub const CKA_TRUST_CLIENT_AUTH: CK_ATTRIBUTE_TYPE = CKA_NSS_TRUST_BASE + 9;
pub const CKA_TRUST_CODE_SIGNING: CK_ATTRIBUTE_TYPE = CKA_NSS_TRUST_BASE + 10;
pub const CKA_TRUST_EMAIL_PROTECTION: CK_ATTRIBUTE_TYPE = CKA_NSS_TRUST_BASE + 11;
pub const CKA_TRUST_STEP_UP_APPROVED: CK_ATTRIBUTE_TYPE = CKA_NSS_TRUST_BASE + 16;
pub const CKA_CERT_SHA1_HASH: CK_ATTRIBUTE_TYPE = CKA_NSS_TRUST_BASE + 100;
const CKT_NSS: CK_ULONG = 0x8000_0000 | NSSCK_VENDOR_NSS;
/// A trust anchor for the purpose.
pub const CKT_NSS_TRUSTED_DELEGATOR: CK_ULONG = CKT_NSS + 2;
/// Neither trusted nor distrusted for the purpose: verify it like any CA.
pub const CKT_NSS_MUST_VERIFY_TRUST: CK_ULONG = CKT_NSS + 3;

/// The module's name in NSS (`modutil -list`, Firefox's security devices,
/// `SECMOD_FindModule`).
pub const MODULE_NAME: &str = "cafix local CAs";
/// The token's label, as NSS shows it in a certificate's nickname.
pub const TOKEN_LABEL: &str = "cafix local CAs";
/// The module's trust order: NSS takes a certificate's trust from the token
/// with the lowest order (the user's database has 75, built-in roots 100,
/// a module loaded without one 50), so anything else that has a trust
/// record for the same certificate decides.
pub const TRUST_ORDER: u32 = 200;

/// One object of the token: its attributes, each as the bytes
/// `C_GetAttributeValue` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenObject {
    attributes: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>,
}

impl TokenObject {
    /// The value of attribute `kind`, if the object has it.
    pub fn attribute(&self, kind: CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, value)| value.as_slice())
    }

    /// Whether the object has every attribute of `template` with exactly
    /// that value (`C_FindObjectsInit`'s rule; an empty template matches all).
    pub fn matches(&self, template: &[(CK_ATTRIBUTE_TYPE, &[u8])]) -> bool {
        template
            .iter()
            .all(|(kind, value)| self.attribute(*kind) == Some(*value))
    }

    fn new() -> TokenObject {
        TokenObject { attributes: Vec::new() }
    }

    fn with(mut self, kind: CK_ATTRIBUTE_TYPE, value: impl Into<Vec<u8>>) -> TokenObject {
        self.attributes.push((kind, value.into()));
        self
    }

    fn with_ulong(self, kind: CK_ATTRIBUTE_TYPE, value: CK_ULONG) -> TokenObject {
        self.with(kind, ulong(value))
    }

    fn with_bool(self, kind: CK_ATTRIBUTE_TYPE, value: CK_BBOOL) -> TokenObject {
        self.with(kind, vec![value])
    }
}

/// A `CK_ULONG` as PKCS #11 stores it: native width and byte order.
pub fn ulong(value: CK_ULONG) -> Vec<u8> {
    value.to_ne_bytes().to_vec()
}

/// What identifies a certificate to NSS, from its DER.
struct Identity {
    subject: Vec<u8>,
    issuer: Vec<u8>,
    /// The serial number as a DER INTEGER, header included (NSS's form).
    serial: Vec<u8>,
}

fn identity(der: &[u8]) -> Option<Identity> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    Some(Identity {
        subject: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
        serial: der_integer(cert.tbs_certificate.raw_serial()),
    })
}

/// `content` as a DER INTEGER: tag, definite length, content.
fn der_integer(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    crate::subject_hash::push_tlv(&mut out, 0x02, content);
    out
}

/// The token's objects for `cas` (each a certificate's DER and its label),
/// and the labels of those that could not be parsed (left out).
pub fn objects_for<'a>(cas: impl IntoIterator<Item = (&'a [u8], &'a str)>) -> (Vec<TokenObject>, Vec<String>) {
    let mut objects = Vec::new();
    let mut refused = Vec::new();
    for (der, label) in cas {
        let Some(id) = identity(der) else {
            refused.push(label.to_string());
            continue;
        };
        let sha1 = Sha1::digest(der).to_vec();
        let common = |class| {
            TokenObject::new()
                .with_ulong(CKA_CLASS, class)
                .with_bool(CKA_TOKEN, CK_TRUE)
                .with_bool(CKA_PRIVATE, CK_FALSE)
                .with_bool(CKA_MODIFIABLE, CK_FALSE)
                .with(CKA_LABEL, label.as_bytes())
                .with(CKA_ISSUER, id.issuer.clone())
                .with(CKA_SERIAL_NUMBER, id.serial.clone())
        };
        objects.push(
            common(CKO_CERTIFICATE)
                .with_ulong(CKA_CERTIFICATE_TYPE, CKC_X_509)
                .with(CKA_SUBJECT, id.subject.clone())
                .with(CKA_ID, sha1.clone())
                .with(CKA_VALUE, der),
        );
        objects.push(
            common(CKO_NSS_TRUST)
                .with(CKA_CERT_SHA1_HASH, sha1)
                .with_ulong(CKA_TRUST_SERVER_AUTH, CKT_NSS_TRUSTED_DELEGATOR)
                .with_ulong(CKA_TRUST_CLIENT_AUTH, CKT_NSS_MUST_VERIFY_TRUST)
                .with_ulong(CKA_TRUST_EMAIL_PROTECTION, CKT_NSS_MUST_VERIFY_TRUST)
                .with_ulong(CKA_TRUST_CODE_SIGNING, CKT_NSS_MUST_VERIFY_TRUST)
                .with_bool(CKA_TRUST_STEP_UP_APPROVED, CK_FALSE),
        );
    }
    (objects, refused)
}

/// The module specification `SECMOD_LoadUserModule` is given: the module's
/// name, the library that exports `C_GetFunctionList`, and the trust order.
/// Quotes and backslashes in the path are escaped as NSS's parser reads them.
pub fn module_spec(library: &[u8]) -> Vec<u8> {
    let mut spec = format!("name=\"{MODULE_NAME}\" library=\"").into_bytes();
    for &b in library {
        if b == b'"' || b == b'\\' {
            spec.push(b'\\');
        }
        spec.push(b);
    }
    spec.extend_from_slice(format!("\" NSS=\"trustOrder={TRUST_ORDER}\"").as_bytes());
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small self-signed CA (P-256), made with `openssl req -x509`; the
    /// engine's token tests use it too.
    const CA_PEM: &str = include_str!("nss_token_test_ca.pem");

    fn ca_der() -> Vec<u8> {
        match crate::pem::sections(CA_PEM.as_bytes()).pop() {
            Some(crate::pem::PemItem::Certificate(der)) => der,
            _ => panic!("the test CA does not parse"),
        }
    }

    #[test]
    fn each_ca_is_a_certificate_and_a_trust_object() {
        let der = ca_der();
        let (objects, refused) = objects_for([(der.as_slice(), "Token Test")]);
        assert!(refused.is_empty());
        assert_eq!(objects.len(), 2);
        let (cert, trust) = (&objects[0], &objects[1]);
        assert_eq!(cert.attribute(CKA_CLASS), Some(&ulong(CKO_CERTIFICATE)[..]));
        assert_eq!(cert.attribute(CKA_VALUE), Some(der.as_slice()));
        assert_eq!(cert.attribute(CKA_LABEL), Some(&b"Token Test"[..]));
        assert_eq!(trust.attribute(CKA_CLASS), Some(&ulong(CKO_NSS_TRUST)[..]));
        let sha1 = Sha1::digest(&der).to_vec();
        assert_eq!(trust.attribute(CKA_CERT_SHA1_HASH), Some(sha1.as_slice()));
        assert_eq!(cert.attribute(CKA_ID), Some(sha1.as_slice()));
        // Keyed as NSS looks trust up: issuer and serial, the same as the certificate's.
        for kind in [CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_TOKEN] {
            assert_eq!(cert.attribute(kind), trust.attribute(kind), "{kind:#x}");
        }
        let serial = cert.attribute(CKA_SERIAL_NUMBER).unwrap();
        assert_eq!(serial[0], 0x02, "a DER INTEGER");
        assert_eq!(usize::from(serial[1]), serial.len() - 2);
        // The self-signed CA's subject is its issuer.
        assert_eq!(cert.attribute(CKA_SUBJECT), cert.attribute(CKA_ISSUER));
    }

    #[test]
    fn trust_is_for_tls_servers_only() {
        let der = ca_der();
        let (objects, _) = objects_for([(der.as_slice(), "x")]);
        let trust = &objects[1];
        let anchor = ulong(CKT_NSS_TRUSTED_DELEGATOR);
        let unspecified = ulong(CKT_NSS_MUST_VERIFY_TRUST);
        assert_eq!(trust.attribute(CKA_TRUST_SERVER_AUTH), Some(anchor.as_slice()));
        for kind in [
            CKA_TRUST_CLIENT_AUTH,
            CKA_TRUST_EMAIL_PROTECTION,
            CKA_TRUST_CODE_SIGNING,
        ] {
            assert_eq!(trust.attribute(kind), Some(unspecified.as_slice()), "{kind:#x}");
        }
        assert_eq!(trust.attribute(CKA_TRUST_STEP_UP_APPROVED), Some(&[CK_FALSE][..]));
    }

    #[test]
    fn nothing_marks_the_token_as_built_in_roots() {
        let der = ca_der();
        let (objects, _) = objects_for([(der.as_slice(), "x")]);
        for object in &objects {
            assert_eq!(object.attribute(CKA_NSS_MOZILLA_CA_POLICY), None);
            assert_ne!(object.attribute(CKA_CLASS), Some(&ulong(CKO_NSS_BUILTIN_ROOT_LIST)[..]));
            // Never the all-zero ID NSS trusts on its own.
            if let Some(id) = object.attribute(CKA_ID) {
                assert!(id.iter().any(|&b| b != 0));
            }
        }
    }

    #[test]
    fn templates_match_on_every_attribute_they_name() {
        let der = ca_der();
        let (objects, _) = objects_for([(der.as_slice(), "x")]);
        let cert_class = ulong(CKO_CERTIFICATE);
        let trust_class = ulong(CKO_NSS_TRUST);
        let issuer = objects[0].attribute(CKA_ISSUER).unwrap().to_vec();
        let matching = |template: &[(CK_ATTRIBUTE_TYPE, &[u8])]| objects.iter().filter(|o| o.matches(template)).count();
        assert_eq!(matching(&[]), 2);
        assert_eq!(matching(&[(CKA_CLASS, &cert_class)]), 1);
        assert_eq!(matching(&[(CKA_CLASS, &trust_class), (CKA_ISSUER, &issuer)]), 1);
        assert_eq!(matching(&[(CKA_ISSUER, &issuer)]), 2);
        assert_eq!(matching(&[(CKA_VALUE, &der)]), 1);
        assert_eq!(matching(&[(CKA_VALUE, &der[1..])]), 0);
        assert_eq!(matching(&[(CKA_CLASS, &ulong(CKO_NSS_BUILTIN_ROOT_LIST))]), 0);
        // An attribute the objects do not have matches nothing.
        assert_eq!(matching(&[(CKA_NSS_MOZILLA_CA_POLICY, &[CK_TRUE])]), 0);
        assert_eq!(matching(&[(CKA_TOKEN, &[CK_TRUE])]), 2);
        assert_eq!(matching(&[(CKA_TOKEN, &[CK_FALSE])]), 0);
    }

    #[test]
    fn what_does_not_parse_is_refused_and_left_out() {
        let der = ca_der();
        let mut trailing = der.clone();
        trailing.push(0);
        let (objects, refused) = objects_for([
            (&b"not a certificate"[..], "garbage"),
            (der.as_slice(), "good"),
            (&der[..der.len() - 1], "truncated"),
            (trailing.as_slice(), "trailing"),
            (&[][..], "empty"),
        ]);
        assert_eq!(objects.len(), 2);
        assert_eq!(refused, ["garbage", "truncated", "trailing", "empty"]);
    }

    #[test]
    fn der_integers_use_the_shortest_length() {
        assert_eq!(der_integer(&[1]), [2, 1, 1]);
        assert_eq!(der_integer(&[0x7f; 0x7f])[..2], [2, 0x7f]);
        assert_eq!(der_integer(&[1; 0x80])[..3], [2, 0x81, 0x80]);
        assert_eq!(der_integer(&[1; 0x100])[..4], [2, 0x82, 1, 0]);
    }

    #[test]
    fn the_module_spec_escapes_the_path() {
        assert_eq!(
            String::from_utf8(module_spec(b"/usr/lib/cafix/libcafix_engine.so")).unwrap(),
            "name=\"cafix local CAs\" library=\"/usr/lib/cafix/libcafix_engine.so\" NSS=\"trustOrder=200\""
        );
        assert_eq!(
            String::from_utf8(module_spec(b"/a \"b\"\\c.so")).unwrap(),
            "name=\"cafix local CAs\" library=\"/a \\\"b\\\"\\\\c.so\" NSS=\"trustOrder=200\""
        );
    }
}
