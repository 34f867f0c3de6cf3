//! Cost of the shim's first miss, library part: `BundleIndex::parse` of the
//! system bundle (what `Shim::bundle` runs once per process), split into its
//! stages. No harness; prints one line per measure.
//!
//!     cargo bench --bench bundle_index [-- BUNDLE [ROUNDS]]
//!
//! Defaults: /etc/ssl/certs/ca-certificates.crt, 31 rounds. Each round parses
//! a fresh copy of the bytes (the copy is made outside the timed region).
//! Prints the median and the minimum, in milliseconds.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use cafix::bundle::{BundleIndex, CaCert};
use cafix::pem::{self, PemItem};

fn median_min(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (v[v.len() / 2], v[0])
}

fn report(name: &str, times_ms: Vec<f64>) {
    let (med, min) = median_min(times_ms);
    println!("{name:<38} median {med:8.3} ms   min {min:8.3} ms");
}

fn main() {
    // `cargo bench` passes `--bench`; ignore flags.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let path = PathBuf::from(
        args.first()
            .map_or("/etc/ssl/certs/ca-certificates.crt", String::as_str),
    );
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(31);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));

    // One untimed run: check it parses and warm the caches and allocator.
    let idx = BundleIndex::parse(path.clone(), bytes.clone());
    assert!(idx.problems.is_empty(), "{:?}", idx.problems);
    println!(
        "bundle {} ({} bytes, {} certificates), {rounds} rounds",
        path.display(),
        bytes.len(),
        idx.certs.len()
    );
    let ders: Vec<Vec<u8>> = pem::sections(&bytes)
        .into_iter()
        .filter_map(|i| match i {
            PemItem::Certificate(d) => Some(d),
            _ => None,
        })
        .collect();

    let mut whole = Vec::new();
    let mut pem_only = Vec::new();
    let mut certs_only = Vec::new();
    let mut encode_only = Vec::new();
    for _ in 0..rounds {
        let copy = bytes.clone();
        let t = Instant::now();
        black_box(BundleIndex::parse(path.clone(), copy));
        whole.push(t.elapsed().as_secs_f64() * 1e3);

        let t = Instant::now();
        black_box(pem::sections(black_box(&bytes)));
        pem_only.push(t.elapsed().as_secs_f64() * 1e3);

        let copies = ders.clone();
        let t = Instant::now();
        for der in copies {
            black_box(CaCert::from_der(der));
        }
        certs_only.push(t.elapsed().as_secs_f64() * 1e3);

        let t = Instant::now();
        for der in &ders {
            black_box(pem::encode_certificate(black_box(der)));
        }
        encode_only.push(t.elapsed().as_secs_f64() * 1e3);
    }
    report("BundleIndex::parse (total)", whole);
    report("  pem::sections (base64 decode)", pem_only);
    report("  CaCert::from_der x all", certs_only);
    report("    of which pem::encode_certificate", encode_only);
}
