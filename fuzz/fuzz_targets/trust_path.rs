//! The path classifier sees every path a hooked program touches: it must
//! never panic, and it must agree with its own cheap pre-filter.
#![no_main]

use cafix::locations::{classify, is_trust_dir, parse_hash_entry_name, quick_candidate, TrustPath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte picks what the environment holds; the rest is the path
    // (and, split at the first NUL, an SSL_CERT_DIR value).
    let Some((&mode, rest)) = data.split_first() else { return };
    let (path, env) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let cert_dir = if mode & 1 == 1 { env } else { None };
    let cert_file = if mode & 2 == 2 { env } else { None };
    let class = classify(path, cert_dir, cert_file);
    if cert_file.is_none() && !quick_candidate(path) {
        assert_eq!(class, None, "classified a path the pre-filter rejects");
    }
    match class {
        Some(TrustPath::HashEntry { dir, hash, index }) => {
            assert!(quick_candidate(path));
            assert!(is_trust_dir(dir, cert_dir));
            let name = &path[path.iter().rposition(|&b| b == b'/').unwrap() + 1..];
            assert_eq!(parse_hash_entry_name(name), Some((hash, index)));
            assert_eq!(format!("{hash:08x}.{index}").as_bytes(), name);
        }
        Some(TrustPath::Bundle { known: None }) => assert!(cert_file.is_some()),
        Some(TrustPath::Bundle { known: Some(i) }) => assert!(i < cafix::locations::BUNDLE_PATHS.len()),
        Some(TrustPath::JavaTrustStore { security_dir }) => {
            assert!(quick_candidate(path));
            assert_eq!([security_dir, &b"/jssecacerts"[..]].concat(), path);
        }
        Some(TrustPath::LocalCas) => assert_eq!(path, cafix::locations::LOCAL_CAS_PEM.to_bytes()),
        None => {}
    }
});
