//! Cost of the shim's first miss, library part: `BundleIndex::parse` of the
//! system bundle (what `Shim::bundle` runs once per process), against the
//! way it was built before (`BundleIndex::parse_reference`: the lenient PEM
//! reader and every certificate parsed in full), both in the same run, and
//! their stages. No harness; prints one line per measure.
//!
//!     cargo bench --bench bundle_index [-- BUNDLE [ROUNDS]]
//!
//! Defaults: /etc/ssl/certs/ca-certificates.crt, 31 rounds. Each round builds
//! both indexes from a fresh copy of the bytes (the copy is made outside the
//! timed region), in alternating order. Prints the median and the minimum,
//! in milliseconds (microseconds for a single lookup).

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
    println!("{name:<44} median {med:8.3} ms   min {min:8.3} ms");
}

fn report_us(name: &str, times_ms: Vec<f64>) {
    let (med, min) = median_min(times_ms);
    println!("{name:<44} median {:8.1} µs   min {:8.1} µs", med * 1e3, min * 1e3);
}

fn timed<T>(f: impl FnOnce() -> T) -> f64 {
    let t = Instant::now();
    black_box(f());
    t.elapsed().as_secs_f64() * 1e3
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

    // One untimed run of each: check they agree, warm the caches and allocator.
    let new = BundleIndex::parse(path.clone(), bytes.clone());
    let old = BundleIndex::parse_reference(path.clone(), bytes.clone());
    assert!(new.problems.is_empty(), "{:?}", new.problems);
    assert_eq!(new.problems, old.problems);
    assert!(new.certs.hashes_and_ders().eq(old.certs.hashes_and_ders()));
    println!(
        "bundle {} ({} bytes, {} certificates), {rounds} rounds",
        path.display(),
        bytes.len(),
        new.len()
    );
    let ders: Vec<Vec<u8>> = pem::sections(&bytes)
        .into_iter()
        .filter_map(|i| match i {
            PemItem::Certificate(d) => Some(d),
            _ => None,
        })
        .collect();
    // A hash the bundle has, as a served lookup asks for it (ISRG Root X1 if present).
    let (hash, _) = new
        .certs
        .hashes_and_ders()
        .find(|(h, _)| *h == 0x4042bcee)
        .unwrap_or_else(|| new.certs.hashes_and_ders().next().expect("a certificate"));

    let mut whole_new = Vec::new();
    let mut whole_old = Vec::new();
    let mut pem_new = Vec::new();
    let mut pem_old = Vec::new();
    let mut walk = Vec::new();
    let mut full = Vec::new();
    let mut lookup = Vec::new();
    for round in 0..rounds {
        for variant in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let copy = bytes.clone();
            if variant == 0 {
                whole_new.push(timed(|| BundleIndex::parse(path.clone(), copy)));
            } else {
                whole_old.push(timed(|| BundleIndex::parse_reference(path.clone(), copy)));
            }
        }
        pem_new.push(timed(|| pem::sections(black_box(&bytes))));
        pem_old.push(timed(|| pem::sections_reference(black_box(&bytes))));
        walk.push(timed(|| {
            ders.iter()
                .map(|d| cafix::der_walk::subject_hash(black_box(d)))
                .fold(0u32, |a, h| a ^ h.unwrap_or(0))
        }));
        let copies = ders.clone();
        full.push(timed(|| {
            for der in copies {
                black_box(CaCert::from_der(der));
            }
        }));
        let index = BundleIndex::parse(path.clone(), bytes.clone());
        lookup.push(timed(|| index.with_hash(hash).len()));
    }
    report("BundleIndex::parse (hash-only index)", whole_new);
    report("  pem::sections (fast path)", pem_new);
    report("  der_walk::subject_hash x all", walk);
    report("BundleIndex::parse_reference (as before)", whole_old);
    report("  pem::sections_reference (rustls-pki-types)", pem_old);
    report("  CaCert::from_der x all (full parse)", full);
    report_us(
        &format!("first with_hash({hash:08x}) (full parse of its certificates)"),
        lookup,
    );
}
