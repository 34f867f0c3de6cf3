//! Local CAs and the public-roots-copy judgement on arbitrary files: an
//! anchor file and a bundle made from the first part of the input, a loaded
//! CA file from the rest. Nothing may panic; only certificates of the bundle
//! are ever local CAs, and only local CAs are ever "lacking".
#![no_main]

use std::path::PathBuf;

use cafix::bundle::BundleIndex;
use cafix::local_cas::{certificates_in_file, judge_copy, select, AnchorFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let split = 1 + (data[0] as usize * (data.len() - 1)) / 255;
    let (anchor, loaded) = data[1..].split_at(split.min(data.len()) - 1);
    let _ = certificates_in_file(anchor);
    let bundle = BundleIndex::parse(PathBuf::from("/fuzz/bundle.pem"), anchor.to_vec());
    let files = [AnchorFile { path: PathBuf::from("/fuzz/anchor.crt"), bytes: anchor.to_vec() }];
    let local = select(&files, &bundle);
    assert!(local.cas.iter().all(|ca| bundle.contains_der(&ca.der)));
    assert!(local.pending.iter().all(|ca| !bundle.contains_der(&ca.der)));
    let judged = judge_copy(loaded, &bundle, &local);
    assert!(judged.in_bundle <= judged.certs);
    assert!(judged.lacking.iter().all(|&i| i < local.cas.len()));
    assert!(judged.is_copy || judged.lacking.is_empty());
});
