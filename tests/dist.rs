//! The release tarballs (`make dist`), and building from them as a
//! distribution does (tests/dist_harness): unpacked in a fresh directory,
//! built and tested with no network (`unshare -n`) by
//! `cargo --offline --locked`; built twice, in different directories, at
//! different times, in different time zones and umasks, into byte-identical
//! files; and the broken inputs a packager can meet (a vendor tarball of
//! another release, a missing crate, a corrupted one), each stopping the
//! build with cargo's own error naming the crate, never fetching anything,
//! never compiling the broken crate.
//!
//! Needs a git checkout, root or `make check`'s user namespace (for
//! `unshare -n`), tar, xz, python3, and the crates for `cargo vendor`
//! (crates.io or cargo's cache). Two release builds: several minutes.

mod common;
mod dist_harness;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use dist_harness::{offline, release, run, tree_contents, unpack};

/// What packagers pass: nothing fetched, nothing re-resolved.
const CARGO: &str = "CARGO=cargo --offline --locked";

/// The first build from the tarballs: its tree and its `make install
/// PREFIX=/usr` (DESTDIR), once per process.
fn build_a() -> &'static (PathBuf, PathBuf) {
    static A: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    A.get_or_init(|| {
        let tree = unpack("a");
        let stage = tree.parent().unwrap().join("stage");
        run(&mut offline(&tree, "make", &[CARGO]));
        let destdir = format!("DESTDIR={}", stage.display());
        run(&mut offline(
            &tree,
            "make",
            &["install", "PREFIX=/usr", &destdir, CARGO],
        ));
        (tree, stage)
    })
}

/// The paths a tar archive holds (`tar -tf`), directories without their
/// trailing slash.
fn tar_list(archive: &Path) -> BTreeSet<String> {
    let out = run(Command::new("tar").arg("-tf").arg(archive));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

#[test]
fn release_tarballs_hold_the_commit_and_every_crate_it_needs() {
    let Some(dist) = release() else { return };
    // The sums check.
    run(Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dist.dir));
    // The source tarball is the commit: every file git has, nothing else.
    let git = run(Command::new("git")
        .args(["ls-tree", "-r", "-t", "--name-only", &dist.commit])
        .current_dir(common::repo_root()));
    let mut expected: BTreeSet<String> = String::from_utf8_lossy(&git.stdout)
        .lines()
        .map(|p| format!("{}/{p}", dist.name))
        .collect();
    expected.insert(dist.name.clone());
    let mut listed = tar_list(&dist.source);
    listed.remove("pax_global_header");
    assert_eq!(
        listed,
        expected,
        "{} is not git's {}",
        dist.source.display(),
        dist.commit
    );

    // The vendor tarball: .cargo/config.toml and vendor/, at the top.
    let vendored = tar_list(&dist.vendor);
    assert!(vendored.contains(".cargo/config.toml"), "{vendored:?}");
    let tops: BTreeSet<&str> = vendored.iter().map(|p| p.split('/').next().unwrap()).collect();
    assert_eq!(tops, BTreeSet::from([".cargo", "vendor"]));
    // Every crate of the three lock files, by name and version.
    let vendor = unpack("vendor-check").join("vendor");
    let mut crates = BTreeSet::new();
    for entry in fs::read_dir(&vendor).unwrap().flatten() {
        let manifest = fs::read_to_string(entry.path().join("Cargo.toml")).unwrap();
        crates.insert(package_field(&manifest, "name") + " " + &package_field(&manifest, "version"));
    }
    for lock in ["Cargo.lock", "shim/Cargo.lock", "c-tests/openssl-src/Cargo.lock"] {
        let text = fs::read_to_string(common::repo_root().join(lock)).unwrap();
        for package in text.split("[[package]]").skip(1) {
            if package.contains("source = \"registry+") {
                let crate_ = package_field(package, "name") + " " + &package_field(package, "version");
                assert!(crates.contains(&crate_), "{crate_} of {lock} is not vendored");
            }
        }
    }
    // Crates only other operating systems use are stubs: windows-sys, 19 MB
    // of source, is a Cargo.toml, an empty lib.rs and their checksums.
    let stub = vendor.join("windows-sys");
    let mut files: Vec<String> = tree_contents(&stub).into_keys().collect();
    files.sort();
    assert_eq!(files, [".cargo-checksum.json", "Cargo.toml", "src/lib.rs"]);
    let size = fs::metadata(&dist.vendor).unwrap().len();
    eprintln!("vendor tarball: {} KiB", size / 1024);

    // Reproducible: made again, into another directory, the same bytes.
    let again = common::unique_dir("dist-again");
    run(Command::new("packaging/dist.sh")
        .arg(&again)
        .current_dir(common::repo_root())
        .env("DIST_REF", &dist.commit));
    assert_eq!(
        fs::read_to_string(again.join("SHA256SUMS")).unwrap(),
        fs::read_to_string(dist.dir.join("SHA256SUMS")).unwrap(),
        "make dist is not reproducible"
    );
}

#[test]
fn the_vendor_tarball_serves_every_architecture_the_makefile_builds() {
    if release().is_none() {
        return;
    }
    // make ARCH=... cross-builds from the tarballs too: no crate that any
    // architecture of the Makefile's table compiles (for the command and
    // the shim, their build scripts and tests included) was emptied.
    let tree = unpack("vendor-arches");
    let mut by_dir = std::collections::BTreeMap::new();
    for entry in fs::read_dir(tree.join("vendor")).unwrap().flatten() {
        let manifest = fs::read_to_string(entry.path().join("Cargo.toml")).unwrap();
        let stub = fs::read_to_string(entry.path().join("src/lib.rs"))
            .is_ok_and(|lib| lib.starts_with("// Emptied by cafix's make dist"));
        by_dir.insert(
            package_field(&manifest, "name") + " " + &package_field(&manifest, "version"),
            stub,
        );
    }
    let makefile = fs::read_to_string(tree.join("Makefile")).unwrap();
    let targets: Vec<&str> = makefile
        .lines()
        .filter_map(|l| l.trim().strip_suffix('\\').unwrap_or(l.trim()).split(':').nth(1))
        .filter(|t| t.ends_with("-linux-gnu") || t.ends_with("-linux-gnueabihf"))
        .collect();
    assert_eq!(targets.len(), 7, "the Makefile's ARCHES: {targets:?}");
    for manifest in ["Cargo.toml", "shim/preload/Cargo.toml"] {
        for target in &targets {
            let out = run(&mut offline(
                &tree,
                "cargo",
                &[
                    "metadata",
                    "--offline",
                    "--locked",
                    "--format-version",
                    "1",
                    "--manifest-path",
                    manifest,
                    "--filter-platform",
                    target,
                ],
            ));
            let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for package in metadata["packages"].as_array().unwrap() {
                if package["source"].is_null() {
                    continue;
                }
                let id = format!(
                    "{} {}",
                    package["name"].as_str().unwrap(),
                    package["version"].as_str().unwrap()
                );
                assert_eq!(
                    by_dir.get(&id),
                    Some(&false),
                    "{id}, which {target} builds, is missing or emptied"
                );
            }
        }
    }
}

/// `key = "value"` of a manifest's or lock file entry's first such line.
fn package_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        .to_string()
}

#[test]
fn the_tarballs_build_and_test_with_no_network() {
    if release().is_none() {
        return;
    }
    let (tree, stage) = build_a();
    for file in [
        "usr/bin/cafix",
        "usr/share/man/man1/cafix.1",
        "usr/share/man/man8/libcafix.8",
    ] {
        assert!(stage.join(file).is_file(), "{file} not installed");
    }
    // make check with no network: the unit tests and a CLI test, built from
    // the vendored crates (the tests' own cargo runs find them too).
    let out = offline(
        tree,
        "make",
        &["check", CARGO, "CHECK_ARGS=--lib --bins --test cli_hash"],
    )
    .env_remove("CI")
    .output()
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "make check from the tarballs failed:\n{log}");
    assert!(log.contains("test result: ok"), "{log}");
}

#[test]
fn two_builds_from_the_tarballs_are_identical() {
    if release().is_none() {
        return;
    }
    let (tree_a, stage_a) = build_a();
    // Elsewhere (a deeper directory, the target directory outside the
    // tree), later, in another time zone and locale, with another umask.
    let tree = unpack("b/deeper/still");
    let target = tree.parent().unwrap().join("target-elsewhere");
    let stage = tree.parent().unwrap().join("stage");
    let packages = format!("make deb '{CARGO}' && make rpm '{CARGO}'");
    let script = format!(
        "umask 002 && export TARGET_DIR={t} && make '{CARGO}' && make install PREFIX=/usr DESTDIR={s} '{CARGO}' \
         && {packages}",
        t = target.display(),
        s = stage.display()
    );
    run(offline(&tree, "sh", &["-c", &script])
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "C.UTF-8"));
    let a = tree_contents(stage_a);
    let b = tree_contents(&stage);
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the two builds installed different files"
    );
    let differ: Vec<&String> = a.iter().filter(|(k, v)| b[*k] != **v).map(|(k, _)| k).collect();
    assert!(differ.is_empty(), "different bytes from the same tarballs: {differ:?}");
    for file in ["usr/bin/cafix", "usr/share/bash-completion/completions/cafix"] {
        assert!(a.contains_key(file), "{file} not compared");
    }

    // The packages `make deb` and `make rpm` make of them: the same bytes.
    run(&mut offline(tree_a, "sh", &["-c", &packages]));
    let built = |target: &Path| -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut files = tree_contents(&target.join("debian"));
        files.retain(|name, _| name.ends_with(".deb") && !name.contains('/'));
        files.extend(tree_contents(&target.join("rpm/RPMS")));
        files
    };
    let (a, b) = (built(&tree_a.join("target")), built(&target));
    assert_eq!(a.len(), 4, "not two .debs and two RPMs: {:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let differ: Vec<&String> = a.iter().filter(|(k, v)| b[*k] != **v).map(|(k, _)| k).collect();
    assert!(
        differ.is_empty(),
        "different packages from the same tarballs: {differ:?}"
    );
}

/// Where a broken build must stop.
enum Stops {
    /// Before compiling anything: cargo resolves the whole lock file first.
    BeforeCompiling,
    /// When it comes to the crate: cargo checks a vendored crate's files
    /// when it compiles it, so the crates built before it (libcafix.so's
    /// engine, when the crate is the command's) may be; the crate itself
    /// never is, nor the command.
    AtTheCrate(&'static str),
}

/// A tree from the tarballs, broken by `change`, built offline by `make`:
/// its output. The build must fail where `stops` says, and fetch nothing.
fn broken_build(name: &str, stops: Stops, change: impl FnOnce(&Path)) -> String {
    let tree = unpack(name);
    change(&tree);
    let out: Output = offline(&tree, "make", &[CARGO]).output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "the broken tree built:\n{log}");
    // Nothing fetched: not even an attempt.
    for word in ["Updating", "Downloading", "crates.io index", "network"] {
        assert!(!log.contains(word), "`{word}` in the output:\n{log}");
    }
    let release = tree.join("target/release");
    let built: Vec<String> = fs::read_dir(release.join("deps"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    match stops {
        Stops::BeforeCompiling => assert!(built.is_empty(), "{} artifacts built:\n{log}", built.len()),
        Stops::AtTheCrate(krate) => {
            let prefix = format!("lib{}-", krate.replace('-', "_"));
            assert!(
                !built.iter().any(|f| f.starts_with(&prefix)),
                "{krate} was compiled:\n{log}"
            );
            assert!(!release.join("cafix").exists(), "the command was built:\n{log}");
        }
    }
    log
}

/// The directory of the vendored crate `name`.
fn crate_dir(tree: &Path, name: &str) -> PathBuf {
    let dir = tree.join("vendor").join(name);
    assert!(dir.join("Cargo.toml").is_file(), "{} is not vendored", dir.display());
    dir
}

#[test]
fn a_vendor_tarball_of_another_release_stops_the_build() {
    if release().is_none() {
        return;
    }
    // The sources of a release that locked itoa 1.0.18 (the vendor tarball
    // holds 1.0.19 only): cargo names the crate and both versions.
    let log = broken_build("other-release", Stops::BeforeCompiling, |tree| {
        let lock = tree.join("Cargo.lock");
        let text = fs::read_to_string(&lock).unwrap();
        let version = package_field(text.split("name = \"itoa\"").nth(1).unwrap(), "version");
        let older = format!("{}.{}", version.rsplit_once('.').unwrap().0, 0);
        let text = text.replacen(
            &format!("name = \"itoa\"\nversion = \"{version}\""),
            &format!("name = \"itoa\"\nversion = \"{older}\""),
            1,
        );
        fs::write(&lock, text).unwrap();
    });
    assert!(
        log.contains("failed to select a version for the requirement `itoa") && log.contains("didn't match"),
        "{log}"
    );
}

#[test]
fn a_missing_crate_stops_the_build() {
    if release().is_none() {
        return;
    }
    let log = broken_build("missing-crate", Stops::BeforeCompiling, |tree| {
        fs::remove_dir_all(crate_dir(tree, "itoa")).unwrap();
    });
    assert!(log.contains("no matching package") && log.contains("`itoa`"), "{log}");
}

#[test]
fn a_corrupted_crate_stops_the_build() {
    if release().is_none() {
        return;
    }
    // A source file changed: its checksum in .cargo-checksum.json no longer
    // matches. libc, which libcafix_engine.so, built first, needs early.
    let log = broken_build("corrupted-file", Stops::AtTheCrate("libc"), |tree| {
        let lib = crate_dir(tree, "libc").join("src/lib.rs");
        let mut text = fs::read_to_string(&lib).unwrap();
        text.push_str("\npub fn planted() {}\n");
        fs::write(&lib, text).unwrap();
    });
    assert!(
        log.contains("the listed checksum of") && log.contains("vendor/libc/src/lib.rs"),
        "{log}"
    );
    // The crate's own checksum differs from Cargo.lock's.
    let log = broken_build("corrupted-checksum", Stops::BeforeCompiling, |tree| {
        let sums = crate_dir(tree, "itoa").join(".cargo-checksum.json");
        let text = fs::read_to_string(&sums).unwrap();
        let (head, package) = text.split_once("\"package\":").unwrap();
        let old = package.split('"').nth(1).unwrap().to_string();
        fs::write(
            &sums,
            format!("{head}\"package\":{}", package.replacen(&old, &"0".repeat(64), 1)),
        )
        .unwrap();
    });
    assert!(log.contains("checksum for `itoa v"), "{log}");
}

#[test]
fn debian_copyright_covers_every_vendored_crate() {
    if release().is_none() {
        return;
    }
    // packaging/debian/copyright is what the script writes for this vendor
    // tarball: a crate under another license than MIT OR Apache-2.0 has its
    // own paragraph.
    let vendor = unpack("copyright-check").join("vendor");
    let out = run(Command::new("python3")
        .arg(common::repo_root().join("packaging/debian-copyright.py"))
        .arg(&vendor));
    let committed = fs::read_to_string(common::repo_root().join("packaging/debian/copyright")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "packaging/debian/copyright is stale: run packaging/debian-copyright.py on the vendor tarball's vendor/"
    );
}
