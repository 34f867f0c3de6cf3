//! GnuTLS's status bits against any chain a peer could send: the located
//! certificate is one of the peer's, its depth is on the chain built from
//! them (or the trust anchor above it), and the record is made without a panic. Input: 4 bytes of status,
//! then certificates as (2-byte big-endian length, DER) pairs. The same
//! bytes are searched for a compiled-in bundle path.
#![no_main]

use cafix::explain::gnutls::{compiled_bundle_path, locate};
use cafix::explain::{to_record, CertSummary, VerifyFailure};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = compiled_bundle_path(data);
    let Some((status, mut rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let status = u32::from_be_bytes(*status);
    let mut chain = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        chain.push(CertSummary::from_der(&tail[..len]));
        rest = &tail[len..];
    }
    let located = locate(status, &chain, 1_800_000_000);
    if let Some(i) = located.index {
        assert!(i < chain.len(), "index {i} past a chain of {}", chain.len());
    }
    // At most one above what was sent: the trust anchor.
    assert!(located.depth >= 0 && (located.depth as usize) <= chain.len());
    let failure = VerifyFailure {
        error: located.error,
        depth: located.depth,
        cert: located.index.and_then(|i| chain[i].clone()),
        peer_chain_len: chain.len(),
        gnutls_status: Some(status),
        library: "GnuTLS fuzz".into(),
        ..Default::default()
    };
    let record = to_record(&failure);
    assert!(record.message.contains("status 0x"));
});
