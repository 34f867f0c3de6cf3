//! The source packages a distribution builds from the release tarballs
//! (tests/dist_harness): Debian's (packaging/debian, `dpkg-buildpackage
//! -us -uc`) and the RPM spec (packaging/cafix.spec, `rpmbuild -ba`), each
//! built with no network (`unshare -n`), by a user that is not root (nobody;
//! as `make check`'s user namespace, that user), with the machine's own
//! Rust (PATH without rustup: Debian's rustc-web/cargo-web), Debian's
//! running all its tests (make check as that user, in a user namespace of
//! its own: what a distribution's build runs; RPM's %check runs the same,
//! skipped here for time); each package split as `make deb` and `make rpm`
//! split it, together holding exactly what `make install` installs; lintian
//! reports no error.
//!
//! Needs a git checkout, root or `make check`'s user namespace,
//! dpkg-buildpackage (dpkg-dev, debhelper), lintian, rpmbuild (rpm), ip
//! (iproute2), and Rust 1.88 or later in /usr/bin. Two release builds and
//! the whole test suite: the longest test file.

mod common;
mod dist_harness;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dist_harness::{release, run, SOURCE_DATE_EPOCH};

/// A fresh directory `name` for a package build, with its HOME inside, in
/// the system's temporary directory (nobody must reach it: a clone under
/// /root would not do), owned by the user that builds (nobody, when root
/// runs this).
fn build_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cafix-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("home")).unwrap();
    dir
}

/// `program args` in `dir`, offline, as a user that is not root, in a clean
/// environment whose PATH has no rustup: the distribution's own tools.
fn as_packager(dir: &Path, program: &str, args: &[&str]) -> Command {
    let home = dir.ancestors().find(|d| d.join("home").is_dir()).unwrap().join("home");
    let mut cmd = Command::new("unshare");
    // No network but loopback, which the scenario tests' servers use.
    cmd.args(["-n", "--", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh"]);
    if common::real_root() {
        let top = home.parent().unwrap();
        run(Command::new("chown").args(["-R", "65534:65534"]).arg(top));
        cmd.args(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    }
    cmd.arg(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", &home)
        .env("LC_ALL", "C.UTF-8")
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    cmd
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file and symbolic link under `root` as `path` or `path -> target`,
/// man pages as the packages compress them (`.gz`, if they are not yet).
fn installed(root: &Path) -> BTreeSet<String> {
    dist_harness::tree_contents(root)
        .into_iter()
        .map(|(path, bytes)| match path.strip_suffix(" ->") {
            Some(link) => format!("{link} -> {}", String::from_utf8_lossy(&bytes)),
            None if path.contains("/man/man") && !path.ends_with(".gz") => format!("{path}.gz"),
            None => path,
        })
        .collect()
}

/// The files of a .deb (`dpkg-deb -c`), as [`installed`] names them,
/// without directories and without Debian's own (/usr/share/doc/<package>,
/// /usr/share/lintian/overrides/<package>).
fn deb_files(deb: &Path) -> BTreeSet<String> {
    let out = run(Command::new("dpkg-deb").arg("-c").arg(deb));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_once(" ./").map(|(_, path)| path.to_string()))
        .filter(|p| !p.starts_with("usr/share/doc/") && !p.starts_with("usr/share/lintian/"))
        .collect()
}

#[test]
fn debian_source_package_builds_offline_as_a_user_with_debians_rust() {
    let Some(dist) = release() else { return };
    let work = build_dir("deb-source");
    // The upstream tarballs as Debian names them; the tree as dpkg-source
    // unpacks them (the orig-vendor component into vendor/), debian/ from
    // the source tarball's packaging/debian.
    let orig = work.join(format!("cafix_{}.orig.tar.xz", dist.version));
    fs::copy(&dist.source, &orig).unwrap();
    fs::copy(
        &dist.vendor,
        work.join(format!("cafix_{}.orig-vendor.tar.xz", dist.version)),
    )
    .unwrap();
    run(Command::new("tar").arg("-xf").arg(&orig).arg("-C").arg(&work));
    let tree = work.join(&dist.name);
    fs::create_dir(tree.join("vendor")).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&dist.vendor)
        .arg("-C")
        .arg(tree.join("vendor")));
    run(Command::new("cp")
        .arg("-a")
        .arg(tree.join("packaging/debian"))
        .arg(tree.join("debian")));

    let out = as_packager(&tree, "dpkg-buildpackage", &["-us", "-uc"])
        .output()
        .expect("dpkg-buildpackage must be installed (dpkg-dev, debhelper)");
    let log = output_text(&out);
    assert!(out.status.success(), "dpkg-buildpackage failed:\n{log}");
    // Built by Debian's Rust, and tested: dh_auto_test's make check runs
    // every test, in a user namespace (the unprivileged user's), those that
    // need the machine's real root or what only test.sh installs saying so
    // in one line each.
    assert!(log.contains("cargo --offline --locked"), "{log}");
    if common::real_root() {
        assert!(log.contains("check: as nobody, in a user namespace"), "{log}");
    }
    for file in ["scenario_rehash", "scenario_bundle_paths", "cli_run", "packaging"] {
        assert!(
            log.contains(&format!("tests/{file}.rs")),
            "make check ran no tests/{file}.rs:\n{log}"
        );
    }
    assert!(
        log.contains("test result: ok") && !log.contains("test result: FAILED"),
        "dh_auto_test:\n{log}"
    );
    if let Some(took) = log.lines().find(|l| l.starts_with("check: exit 0 after")) {
        eprintln!("{took}");
    }
    let skipped: Vec<&str> = log.lines().filter(|l| l.starts_with("skipped ")).collect();
    eprintln!(
        "make check as nobody skipped {}:\n{}",
        skipped.len(),
        skipped.join("\n")
    );

    // The source package: both upstream tarballs and debian/.
    let version = format!("{}-1", dist.version);
    let dsc = work.join(format!("cafix_{version}.dsc"));
    let dsc_text = fs::read_to_string(&dsc).unwrap_or_else(|e| panic!("{}: {e}\n{log}", dsc.display()));
    for file in ["orig.tar.xz", "orig-vendor.tar.xz"] {
        assert!(
            dsc_text.contains(&format!("cafix_{}.{file}", dist.version)),
            "{dsc_text}"
        );
    }
    let unpacked = work.join("unpacked");
    run(Command::new("dpkg-source").arg("-x").arg(&dsc).arg(&unpacked));
    for path in [
        "debian/rules",
        "vendor/.cargo/config.toml",
        "vendor/vendor/libc/Cargo.toml",
    ] {
        assert!(unpacked.join(path).exists(), "dpkg-source -x gives no {path}");
    }

    // Split as `make deb` splits: libcafix (Multi-Arch: same) holds the
    // libraries and libcafix(8), cafix the rest; together exactly what
    // `make install PREFIX=/usr` installed into debian/tmp.
    let arch = String::from_utf8(run(Command::new("dpkg").arg("--print-architecture")).stdout).unwrap();
    let deb = |name: &str| work.join(format!("{name}_{version}_{}.deb", arch.trim()));
    let lib = deb_files(&deb("libcafix"));
    let bin = deb_files(&deb("cafix"));
    let expected = installed(&tree.join("debian/tmp"));
    let multiarch =
        String::from_utf8(run(Command::new("dpkg-architecture").arg("-qDEB_HOST_MULTIARCH")).stdout).unwrap();
    let libdir = format!("usr/lib/{}", multiarch.trim());
    assert_eq!(
        lib,
        BTreeSet::from([
            format!("{libdir}/libcafix.so"),
            format!("{libdir}/libcafix_engine.so"),
            "usr/share/man/man8/libcafix.8.gz".to_string(),
        ])
    );
    assert!(lib.is_disjoint(&bin));
    assert_eq!(lib.union(&bin).cloned().collect::<BTreeSet<_>>(), expected);
    let field = |deb: &Path, name: &str| {
        String::from_utf8(run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name)).stdout).unwrap()
    };
    assert_eq!(field(&deb("libcafix"), "Multi-Arch").trim(), "same");
    assert!(field(&deb("cafix"), "Depends").contains(&format!("libcafix (= {version})")));
    let triggers = run(Command::new("dpkg-deb").arg("-I").arg(deb("libcafix")).arg("triggers"));
    assert!(String::from_utf8_lossy(&triggers.stdout).contains("activate-noawait ldconfig"));

    // lintian: no error, on the source and the binary packages.
    let changes = work.join(format!("cafix_{version}_{}.changes", arch.trim()));
    let out = as_packager(&work, "lintian", &["--fail-on", "error"])
        .arg(&changes)
        .output()
        .expect("lintian must be installed");
    let report = output_text(&out);
    assert!(
        out.status.success() && !report.lines().any(|l| l.starts_with("E: ")),
        "lintian reports errors:\n{report}"
    );
    eprintln!("lintian:\n{report}");
    let _ = fs::remove_dir_all(&work);
}

#[test]
fn rpm_source_package_builds_offline_as_a_user() {
    let Some(dist) = release() else { return };
    let work = build_dir("rpm-source");
    let sources = work.join("SOURCES");
    fs::create_dir_all(&sources).unwrap();
    fs::copy(&dist.source, sources.join(dist.source.file_name().unwrap())).unwrap();
    fs::copy(&dist.vendor, sources.join(dist.vendor.file_name().unwrap())).unwrap();
    // The spec as the source tarball has it.
    run(Command::new("tar")
        .arg("-xf")
        .arg(&dist.source)
        .arg("-C")
        .arg(&work)
        .arg(format!("{}/packaging/cafix.spec", dist.name)));
    let spec = work.join(&dist.name).join("packaging/cafix.spec");
    let topdir = work.join("rpmbuild");
    // --nodeps: BuildRequires name Fedora's packages, which no rpm database
    // here knows; the build needs what they provide (Debian's).
    let out = as_packager(
        &work,
        "rpmbuild",
        &[
            "-ba",
            "--nodeps",
            "--noclean",
            "--define",
            &format!("_topdir {}", topdir.display()),
            "--define",
            &format!("_sourcedir {}", sources.display()),
            // %check is the make check the Debian build's test phase runs
            // above; here it would only rebuild everything for the tests.
            "--without",
            "check",
        ],
    )
    .arg(&spec)
    .output()
    .expect("rpmbuild must be installed (rpm)");
    let log = output_text(&out);
    assert!(out.status.success(), "rpmbuild -ba failed:\n{log}");

    let rpm_eval = |expr: &str| String::from_utf8(run(Command::new("rpm").args(["--eval", expr])).stdout).unwrap();
    let arch = rpm_eval("%{_arch}");
    let rpm = |name: &str| topdir.join(format!("RPMS/{a}/{name}-{}-1.{a}.rpm", dist.version, a = arch.trim()));
    let srpm = topdir.join(format!("SRPMS/cafix-{}-1.src.rpm", dist.version));
    let out = run(Command::new("rpm").args(["-qlp"]).arg(&srpm));
    let in_srpm = String::from_utf8_lossy(&out.stdout);
    for file in [&dist.source, &dist.vendor] {
        assert!(
            in_srpm.contains(file.file_name().unwrap().to_str().unwrap()),
            "{in_srpm}"
        );
    }

    // What %install's `make install` installed with the RPM's directories
    // (--noclean keeps the build root).
    let expected = installed(&topdir.join(format!("BUILDROOT/cafix-{}-1.{}", dist.version, arch.trim())));

    // Split as `make rpm` splits: cafix-libs the libraries and libcafix(8).
    let listing = |rpm: &Path| -> BTreeSet<String> {
        let out = run(Command::new("rpm")
            .args(["-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES} %{FILELINKTOS}\\n]"])
            .arg(rpm));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('d'))
            .map(|l| {
                let mut fields = l.split(' ');
                let (perms, path) = (fields.next().unwrap(), fields.next().unwrap().trim_start_matches('/'));
                match fields.next() {
                    Some(target) if perms.starts_with('l') => format!("{path} -> {target}"),
                    _ => path.to_string(),
                }
            })
            .collect()
    };
    let libs = listing(&rpm("cafix-libs"));
    let bin = listing(&rpm("cafix"));
    let libdir = rpm_eval("%{_libdir}");
    let libdir = libdir.trim().trim_start_matches('/');
    assert_eq!(
        libs,
        BTreeSet::from([
            format!("{libdir}/libcafix.so"),
            format!("{libdir}/libcafix_engine.so"),
            "usr/share/man/man8/libcafix.8.gz".to_string(),
        ])
    );
    assert_eq!(libs.union(&bin).cloned().collect::<BTreeSet<_>>(), expected);
    let requires = run(Command::new("rpm").args(["-qp", "--requires"]).arg(rpm("cafix")));
    assert!(
        String::from_utf8_lossy(&requires.stdout).contains(&format!("cafix-libs(x86-64) = {}-1", dist.version))
            || arch.trim() != "x86_64",
        "{}",
        String::from_utf8_lossy(&requires.stdout)
    );
    let _ = fs::remove_dir_all(&work);
}

/// The packages test.sh installs for the tests that a Debian build already
/// has: build-essential's, Essential ones, and the Build-Depends of the
/// build itself.
const BUILD_ENVIRONMENT: &[&str] = &[
    "gcc",
    "g++",
    "make",
    "dpkg",
    "dpkg-dev",
    "perl",
    "binutils",
    "util-linux",
    "libssl-dev",
    "pkg-config",
];

#[test]
fn debian_build_depends_name_what_the_tests_need() {
    // Every package test.sh installs for the tests is a Build-Depends of
    // debian/control (`<!nocheck>`: only make check needs it).
    let root = common::repo_root();
    let test_sh = fs::read_to_string(root.join("test.sh")).unwrap();
    let list = test_sh
        .split_once("PACKAGES=(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("no PACKAGES=( ... ) in test.sh")
        .0;
    let control = fs::read_to_string(root.join("packaging/debian/control")).unwrap();
    let build_depends = control
        .split_once("Build-Depends:")
        .map(|(_, rest)| {
            rest.split("\n\n")
                .next()
                .unwrap()
                .split("\nStandards-Version")
                .next()
                .unwrap()
        })
        .unwrap();
    let named: BTreeSet<&str> = build_depends
        .split(',')
        .flat_map(|d| d.split('|'))
        .filter_map(|d| d.split_whitespace().next())
        .collect();
    let missing: Vec<&str> = list
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .flat_map(str::split_whitespace)
        .filter(|p| !BUILD_ENVIRONMENT.contains(p) && !named.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "test.sh installs {missing:?} for the tests; add them to packaging/debian/control's Build-Depends with <!nocheck>"
    );
}

#[test]
fn the_packages_version_is_the_crates() {
    let root = common::repo_root();
    let version = env!("CARGO_PKG_VERSION");
    let changelog = fs::read_to_string(root.join("packaging/debian/changelog")).unwrap();
    let first = changelog.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("cafix ({version}-")),
        "packaging/debian/changelog's last entry is not for {version}: {first}"
    );
    let spec = fs::read_to_string(root.join("packaging/cafix.spec")).unwrap();
    let spec_version = spec
        .lines()
        .find_map(|l| l.strip_prefix("Version:"))
        .map(str::trim)
        .unwrap();
    assert_eq!(spec_version, version, "packaging/cafix.spec's Version");
}

/// The paths `make -n <target>` would install (files and links) under
/// DESTDIR, with `vars` (PREFIX, LIBDIR ...): what the rule installs,
/// without building anything.
fn make_would_install(target: &str, vars: &[String]) -> BTreeSet<String> {
    const DESTDIR: &str = "/cafix-destdir";
    let out = run(Command::new("make")
        .args(["-n", target, &format!("DESTDIR={DESTDIR}")])
        .args(vars)
        .current_dir(common::repo_root())
        .env_remove("MAKEFLAGS")
        .env_remove("LIBDIR"));
    let mut paths = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            // The destinations of `install -D…` and `ln -s…`; not the
            // directory `install -d` makes.
            if let Some(path) = word.strip_prefix(DESTDIR) {
                if i == 0 || words[i - 1] != "-d" {
                    paths.insert(path.trim_start_matches('/').trim_end_matches(';').to_string());
                }
            }
        }
    }
    assert!(!paths.is_empty(), "make -n {target} installs nothing?\n{out:?}");
    paths
}

/// `make install-lib` and `make install-bin`'s paths with `vars`.
fn make_install_split(vars: &[String]) -> [BTreeSet<String>; 2] {
    let lib = make_would_install("install-lib", vars);
    let bin = make_would_install("install-bin", vars);
    assert!(lib.is_disjoint(&bin), "{lib:?} {bin:?}");
    [lib, bin]
}

#[test]
fn debian_install_files_split_as_make_install_lib_and_install_bin() {
    // libcafix holds what `make install-lib` installs (as `make deb`'s
    // libcafix), cafix what `make install-bin` does.
    let root = common::repo_root();
    let multiarch = String::from_utf8(run(Command::new("dpkg-architecture").arg("-qDEB_HOST_MULTIARCH")).stdout)
        .unwrap()
        .trim()
        .to_string();
    let listed = |package: &str| -> BTreeSet<String> {
        fs::read_to_string(root.join(format!("packaging/debian/{package}.install")))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().replace("${DEB_HOST_MULTIARCH}", &multiarch))
            .collect()
    };
    let [lib, bin] = make_install_split(&["PREFIX=/usr".to_string()]);
    assert_eq!(listed("libcafix"), lib, "packaging/debian/libcafix.install");
    assert_eq!(listed("cafix"), bin, "packaging/debian/cafix.install");
}

#[test]
fn rpm_spec_files_split_as_make_install_lib_and_install_bin() {
    // cafix-libs holds what `make install-lib` installs with the RPM's
    // directories (as `make rpm`'s), cafix what `make install-bin` does.
    let spec = fs::read_to_string(common::repo_root().join("packaging/cafix.spec")).unwrap();
    let rpm_eval = |expr: &str| String::from_utf8(run(Command::new("rpm").args(["--eval", expr])).stdout).unwrap();
    // A %files section: its lines up to the blank line that ends it.
    let section = |header: &str| -> BTreeSet<String> {
        let mut lines = spec.lines().skip_while(|l| *l != header);
        assert!(lines.next().is_some(), "no {header} in packaging/cafix.spec");
        lines
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| !l.starts_with("%dir"))
            .map(|l| {
                let path = rpm_eval(l.trim()).trim().to_string();
                // A man page's `*`: compressed or not.
                path.trim_start_matches('/').trim_end_matches('*').to_string()
            })
            .collect()
    };
    let vars: Vec<String> = [
        ("PREFIX", "%{_prefix}"),
        ("BINDIR", "%{_bindir}"),
        ("LIBDIR", "%{_libdir}"),
        ("PKGLIBDIR", "%{_prefix}/lib/cafix"),
        ("MANDIR", "%{_mandir}"),
        ("DATADIR", "%{_datadir}"),
        ("SYSCONFDIR", "%{_sysconfdir}"),
    ]
    .iter()
    .map(|(var, macro_)| format!("{var}={}", rpm_eval(macro_).trim()))
    .collect();
    let [lib, bin] = make_install_split(&vars);
    assert_eq!(section("%files libs"), lib, "packaging/cafix.spec's %files libs");
    assert_eq!(section("%files"), bin, "packaging/cafix.spec's %files");
}

/// The fields of each paragraph of a control file, by package name
/// (continuation lines joined to their field).
fn control_paragraphs(text: &str) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    let mut packages = std::collections::BTreeMap::new();
    for paragraph in text.split("\n\n") {
        let mut fields = std::collections::BTreeMap::new();
        let mut last = String::new();
        for line in paragraph.lines() {
            if line.starts_with(' ') {
                let value: &mut String = fields.get_mut(&last).unwrap();
                value.push('\n');
                value.push_str(line);
            } else if let Some((name, value)) = line.split_once(':') {
                last = name.to_string();
                fields.insert(last.clone(), value.trim().to_string());
            }
        }
        if let Some(name) = fields.get("Package").cloned() {
            packages.insert(name, fields);
        }
    }
    packages
}

#[test]
fn debian_control_describes_the_packages_as_make_deb_does() {
    // packaging/debian/control and make deb's packaging/deb/*.control: the
    // same packages, with the same Multi-Arch, section, description and
    // recommendations (the dependencies differ: debhelper computes them).
    let root = common::repo_root();
    let text = fs::read_to_string(root.join("packaging/debian/control")).unwrap();
    let source = control_paragraphs(&text);
    assert_eq!(source.keys().collect::<Vec<_>>(), ["cafix", "libcafix"]);
    // A binary package without a Section has the source's.
    let source_section = text
        .lines()
        .find_map(|l| l.strip_prefix("Section:"))
        .map(str::trim)
        .unwrap();
    for (name, fields) in &source {
        let template = fs::read_to_string(root.join(format!("packaging/deb/{name}.control"))).unwrap();
        let made = &control_paragraphs(&template)[name];
        for field in ["Multi-Arch", "Section", "Description", "Recommends"] {
            let ours = match (field, fields.get(field)) {
                ("Section", None) => Some(source_section),
                (_, value) => value.map(String::as_str),
            };
            assert_eq!(
                ours,
                made.get(field).map(String::as_str),
                "{name}'s {field}: packaging/debian/control against packaging/deb/{name}.control"
            );
        }
    }
}
