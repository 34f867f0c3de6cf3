//! `make install`, `make uninstall`, `make deb` and `make rpm`: what a
//! packager runs; and `LD_PRELOAD=libcafix.so PROGRAM`, by name, against the
//! installed files, as users type it.
//!
//! The by-name runs happen in a private mount namespace (`unshare -m`) where
//! the staged `usr/lib` is overlaid, read-only, on the real `/usr/lib`: the
//! staged files appear in the real directories (`/usr/lib/<multiarch>`,
//! `/usr/lib/cafix`) next to the host's, which are neither replaced nor
//! touched. Needs root, `unshare`, overlayfs, `setpriv`, `cc`, `dpkg-deb`,
//! `dpkg-architecture` and `rpmbuild`; a missing one fails the test. Builds
//! the release binaries (a few minutes the first time).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use cafix_common::locations::BUNDLE_PATHS;

/// What `make install PREFIX=/usr` puts under DESTDIR besides the libraries.
const INSTALLED: &[&str] = &[
    "usr/bin/cafix",
    "usr/share/man/man1/cafix.1",
    "usr/share/man/man8/libcafix.8",
    "usr/share/bash-completion/completions/cafix",
    "usr/share/zsh/vendor-completions/_cafix",
    "usr/share/fish/vendor_completions.d/cafix.fish",
    "etc/cafix.conf.example",
];

/// The stable path (wrappers, .desktop files, /etc/ld.so.preload).
const PKGLIBDIR: &str = "/usr/lib/cafix";

/// Every `make` of this file's tests: they share target/generated, which
/// each install rewrites.
static MAKE: Mutex<()> = Mutex::new(());

fn make(args: &[&str]) -> String {
    let _one_at_a_time = MAKE.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new("make")
        .args(args)
        .current_dir(common::repo_root())
        .env("TARGET_DIR", common::target_dir())
        .env_remove("LIBDIR")
        .output()
        .expect("make must be installed");
    assert!(
        out.status.success(),
        "make {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Makefile's LIBDIR for PREFIX=/usr, checked against the distribution:
/// on Debian the multiarch directory, where the dynamic loader finds
/// libraries by name without ld.so.cache.
fn libdir() -> &'static str {
    static LIBDIR: OnceLock<String> = OnceLock::new();
    LIBDIR.get_or_init(|| {
        let libdir = make(&["-s", "print-libdir", "PREFIX=/usr"]).trim().to_string();
        let multiarch = Command::new("dpkg-architecture")
            .arg("-qDEB_HOST_MULTIARCH")
            .output()
            .expect("dpkg-architecture must be installed (dpkg-dev)");
        assert!(multiarch.status.success());
        let multiarch = String::from_utf8_lossy(&multiarch.stdout).trim().to_string();
        assert_eq!(
            libdir,
            format!("/usr/lib/{multiarch}"),
            "LIBDIR is not Debian's multiarch directory"
        );
        libdir
    })
}

/// The two libraries: the files in LIBDIR and the links to them at the
/// stable path, relative to DESTDIR.
fn library_entries(libdir: &str) -> Vec<String> {
    let lib = libdir.trim_start_matches('/');
    let pkg = PKGLIBDIR.trim_start_matches('/');
    ["libcafix.so", "libcafix_engine.so"]
        .iter()
        .flat_map(|name| [format!("{lib}/{name}"), format!("{pkg}/{name}")])
        .collect()
}

/// Every file and symbolic link under `root`, as `path` or `path -> target`
/// (relative to `root`, without `skip`).
fn entries(root: &Path, skip: &str) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, skip: &str, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if rel == skip {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                out.insert(format!("{rel} -> {}", fs::read_link(&path).unwrap().display()));
            } else if kind.is_dir() {
                walk(root, &path, skip, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, skip, &mut out);
    out
}

/// `entries` with the man pages compressed, as both packages ship them.
fn gzipped_man_pages(entries: &BTreeSet<String>) -> BTreeSet<String> {
    entries
        .iter()
        .map(|e| {
            if e.contains("/man/man") {
                format!("{e}.gz")
            } else {
                e.clone()
            }
        })
        .collect()
}

#[test]
fn install_uninstall_and_deb() {
    let libdir = libdir();
    let stage = common::unique_dir("packaging");
    let destdir = format!("DESTDIR={}", stage.display());
    make(&["install", "PREFIX=/usr", &destdir]);
    for file in INSTALLED {
        let path = stage.join(file);
        assert!(path.is_file(), "{} not installed", path.display());
    }
    // The libraries are files in LIBDIR; the stable path holds relative
    // links to them (so a link stays right in any DESTDIR or chroot).
    let lib = stage.join(libdir.trim_start_matches('/'));
    let pkg = stage.join(PKGLIBDIR.trim_start_matches('/'));
    for name in ["libcafix.so", "libcafix_engine.so"] {
        let file = lib.join(name);
        assert!(
            file.symlink_metadata().is_ok_and(|m| m.file_type().is_file()),
            "{} is not a file",
            file.display()
        );
        let link = fs::read_link(pkg.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", pkg.display()));
        assert!(link.is_relative(), "{} -> {}", pkg.join(name).display(), link.display());
        assert_eq!(
            fs::canonicalize(pkg.join(name)).unwrap(),
            fs::canonicalize(&file).unwrap()
        );
    }
    // The installed command finds the installed library (../lib/cafix/, the
    // link, which it resolves).
    let out = Command::new(stage.join("usr/bin/cafix"))
        .args(["run", "--", "sh", "-c", "echo $LD_PRELOAD"])
        .env_remove("LD_PRELOAD")
        .env_remove("CAFIX_LIB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        fs::canonicalize(lib.join("libcafix.so")).unwrap().display().to_string()
    );
    // The installed libcafix.so, named by its stable path, loads the
    // installed engine next to it, on the first lookup of a trust path (a
    // `<hash>.0` no bundle has), and not before.
    let front = pkg.join("libcafix.so");
    let out = Command::new("sh")
        .args([
            "-c",
            "grep -c libcafix_engine /proc/$$/maps; test -e /etc/ssl/certs/00000000.0; grep libcafix_engine /proc/$$/maps",
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LD_PRELOAD", &front)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("0"), "engine loaded before any lookup:\n{stdout}");
    let engine = fs::canonicalize(lib.join("libcafix_engine.so")).unwrap();
    assert!(
        lines.next().is_some_and(|l| l.ends_with(&engine.display().to_string())),
        "the installed engine was not loaded:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The man pages are real roff.
    let page = fs::read_to_string(stage.join("usr/share/man/man8/libcafix.8")).unwrap();
    assert!(page.contains(".TH") && page.contains("CAFIX_LOG"), "{page}");
    let installed = entries(&stage, "");

    make(&["uninstall", "PREFIX=/usr", &destdir]);
    for file in INSTALLED.iter().map(|f| f.to_string()).chain(library_entries(libdir)) {
        assert!(
            stage.join(&file).symlink_metadata().is_err(),
            "{file} left after uninstall"
        );
    }
    assert!(!pkg.exists(), "{} left after uninstall", pkg.display());

    // The two .debs hold exactly what `make install` installed, links
    // included: libcafix the libraries (and their page), cafix the rest.
    packages_built("deb", None);
    let (lib_deb, bin_deb) = (deb_path("libcafix", host_arch()), deb_path("cafix", host_arch()));
    let in_lib = deb_entries(&lib_deb);
    let in_bin = deb_entries(&bin_deb);
    assert!(in_lib.is_disjoint(&in_bin), "{in_lib:?}\n{in_bin:?}");
    let lib_files: BTreeSet<String> = ["libcafix.so", "libcafix_engine.so"]
        .iter()
        .map(|name| format!("{}/{name}", libdir.trim_start_matches('/')))
        .chain(["usr/share/man/man8/libcafix.8.gz".to_string()])
        .collect();
    assert_eq!(in_lib, lib_files, "{}", lib_deb.display());
    // Man pages are compressed in the packages, as Debian policy asks.
    assert_eq!(
        in_lib.union(&in_bin).cloned().collect::<BTreeSet<_>>(),
        gzipped_man_pages(&installed),
        "the packages differ from make install"
    );
    assert_eq!(deb_field(&lib_deb, "Package"), "libcafix");
    assert_eq!(deb_field(&lib_deb, "Multi-Arch"), "same");
    assert_eq!(deb_field(&bin_deb, "Package"), "cafix");
    assert!(
        deb_field(&bin_deb, "Depends").contains(&format!("libcafix (= {})", env!("CARGO_PKG_VERSION"))),
        "{}",
        deb_field(&bin_deb, "Depends")
    );
    // ldconfig runs after unpacking, so ld.so.cache names the library.
    let triggers = Command::new("dpkg-deb")
        .arg("-I")
        .arg(&lib_deb)
        .arg("triggers")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&triggers.stdout).contains("activate-noawait ldconfig"),
        "no ldconfig trigger in {}",
        lib_deb.display()
    );
    let _ = fs::remove_dir_all(&stage);
}

/// `make deb` or `make rpm` (`kind`), for this machine or `arch`, once per
/// test process: tests running side by side read the same files.
fn packages_built(kind: &str, arch: Option<&str>) {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let key = format!("{kind} {arch:?}");
    if !built.contains(&key) {
        match arch {
            Some(arch) => make(&[kind, &format!("ARCH={arch}")]),
            None => make(&[kind]),
        };
        built.insert(key);
    }
}

/// This machine's Debian architecture.
fn host_arch() -> &'static str {
    static ARCH: OnceLock<String> = OnceLock::new();
    ARCH.get_or_init(|| {
        let out = Command::new("dpkg")
            .arg("--print-architecture")
            .output()
            .expect("dpkg must be installed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// `target/debian/<package>_<version>_<arch>.deb`, which must exist.
fn deb_path(package: &str, arch: &str) -> PathBuf {
    let deb = common::target_dir()
        .join("debian")
        .join(format!("{package}_{}_{arch}.deb", env!("CARGO_PKG_VERSION")));
    assert!(deb.is_file(), "{} was not built", deb.display());
    deb
}

/// The files and links of a .deb, as `path` or `path -> target`.
fn deb_entries(deb: &Path) -> BTreeSet<String> {
    let listing = Command::new("dpkg-deb").arg("-c").arg(deb).output().expect("dpkg-deb");
    assert!(listing.status.success());
    // `drwxr-xr-x root/root 0 2026-12-02 07:49 ./usr/` and
    // `lrwxrwxrwx root/root 0 ... ./usr/lib/cafix/libcafix.so -> ../x86_64-linux-gnu/libcafix.so`
    String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_once(" ./").map(|(_, path)| path.to_string()))
        .collect()
}

fn deb_field(deb: &Path, name: &str) -> String {
    let out = Command::new("dpkg-deb").arg("-f").arg(deb).arg(name).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn rpm_holds_what_make_install_installs() {
    let rpm_eval = |expr: &str| {
        let out = Command::new("rpm")
            .args(["--eval", expr])
            .output()
            .expect("rpm must be installed (Debian package rpm)");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // What `make install` installs with the RPM's directories (Fedora's
    // libdir is /usr/lib64).
    let rpm_libdir = rpm_eval("%{_libdir}");
    assert_eq!(rpm_libdir, "/usr/lib64");
    let stage = common::unique_dir("packaging-rpm");
    let destdir = format!("DESTDIR={}", stage.display());
    make(&["install", "PREFIX=/usr", &format!("LIBDIR={rpm_libdir}"), &destdir]);
    let installed = entries(&stage, "");
    assert!(
        installed.contains("usr/lib/cafix/libcafix.so -> ../../lib64/libcafix.so"),
        "{installed:?}"
    );

    packages_built("rpm", None);
    let rpms = common::target_dir().join("rpm/RPMS/x86_64");
    let version = env!("CARGO_PKG_VERSION");
    let (libs_rpm, bin_rpm) = (
        rpms.join(format!("cafix-libs-{version}-1.x86_64.rpm")),
        rpms.join(format!("cafix-{version}-1.x86_64.rpm")),
    );
    let (in_libs, in_bin) = (rpm_entries(&libs_rpm), rpm_entries(&bin_rpm));
    assert_eq!(
        in_libs,
        BTreeSet::from([
            "usr/lib64/libcafix.so".to_string(),
            "usr/lib64/libcafix_engine.so".to_string(),
            "usr/share/man/man8/libcafix.8.gz".to_string()
        ])
    );
    assert_eq!(
        in_libs.union(&in_bin).cloned().collect::<BTreeSet<_>>(),
        gzipped_man_pages(&installed),
        "the RPMs differ from make install"
    );
    for (rpm, name) in [(&libs_rpm, "cafix-libs"), (&bin_rpm, "cafix")] {
        // `rpm -qlp`, the list a packager reads, names the same paths.
        let out = Command::new("rpm").arg("-qlp").arg(rpm).output().unwrap();
        let qlp: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_start_matches('/').to_string())
            .filter(|l| l != "usr/lib/cafix")
            .collect();
        let paths: BTreeSet<String> = rpm_entries(rpm)
            .iter()
            .map(|e| e.split(" -> ").next().unwrap().to_string())
            .collect();
        assert_eq!(qlp, paths);
        assert_eq!(
            rpm_query(rpm, "%{NAME} %{VERSION} %{ARCH}"),
            format!("{name} {version} x86_64")
        );
    }
    assert!(
        rpm_query(&bin_rpm, "[%{REQUIRENAME} %{REQUIREVERSION}\\n]")
            .contains(&format!("cafix-libs(x86-64) {version}-1")),
        "cafix does not require its libraries"
    );
    let _ = fs::remove_dir_all(&stage);
}

/// The files and links of an RPM, as `path` or `path -> target`.
fn rpm_entries(rpm: &Path) -> BTreeSet<String> {
    let listing = rpm_query(rpm, "[%{FILEMODES:perms} %{FILENAMES} %{FILELINKTOS}\\n]");
    listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .map(|l| {
            let mut fields = l.split(' ');
            let (perms, path) = (fields.next().unwrap(), fields.next().unwrap().trim_start_matches('/'));
            let target = fields.next().unwrap_or("");
            if perms.starts_with('l') {
                format!("{path} -> {target}")
            } else {
                path.to_string()
            }
        })
        .collect()
}

fn rpm_query(rpm: &Path, format: &str) -> String {
    assert!(rpm.is_file(), "{} was not built", rpm.display());
    let out = Command::new("rpm")
        .args(["-qp", "--qf", format])
        .arg(rpm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `make install PREFIX=/usr` into a staging root, once for the tests below.
fn staged() -> &'static Path {
    static STAGE: OnceLock<PathBuf> = OnceLock::new();
    STAGE.get_or_init(|| {
        let stage = common::unique_dir("packaging-by-name");
        make(&["install", "PREFIX=/usr", &format!("DESTDIR={}", stage.display())]);
        stage
    })
}

/// The source of [`probe`]: opens each path and prints its first line (or
/// `missing`), then the libcafix objects mapped into it.
const PROBE_C: &str = r#"#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char line[4096];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        if (!f) { printf("%s: missing\n", argv[i]); continue; }
        if (!fgets(line, sizeof line, f)) line[0] = 0;
        line[strcspn(line, "\n")] = 0;
        printf("%s: %s\n", argv[i], line);
        fclose(f);
    }
    FILE *maps = fopen("/proc/self/maps", "r");
    while (maps && fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (path && strstr(path, "libcafix")) printf("mapped: %s", path);
    }
    return 0;
}
"#;

/// [`PROBE_C`] built by `compiler` into the scratch directory as `name`.
fn build_probe(compiler: &str, name: &str) -> PathBuf {
    let dir = common::unique_dir(&format!("packaging-{name}"));
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let src = dir.join("probe.c");
    fs::write(&src, PROBE_C).unwrap();
    let bin = dir.join(name);
    let status = Command::new(compiler)
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("{compiler} must be installed: {e}"));
    assert!(status.success(), "{compiler} failed");
    bin
}

/// The probe, for this machine.
fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| build_probe("cc", "probe"))
}

/// The probe as a 32-bit (i386) program, built with Debian's cross
/// compiler (gcc-multilib cannot be installed beside the cross compilers).
fn probe32() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| build_probe("i686-linux-gnu-gcc", "probe32"))
}

/// The system bundle libcafix.so serves from (the environment is cleared),
/// and a well-known bundle path this machine lacks, which it serves.
fn bundles() -> (&'static str, &'static str) {
    let system = BUNDLE_PATHS
        .iter()
        .map(|(p, _)| *p)
        .find(|p| Path::new(p).is_file())
        .expect("no system CA bundle (ca-certificates)");
    let missing = BUNDLE_PATHS
        .iter()
        .map(|(p, _)| *p)
        .find(|p| !Path::new(p).exists() && !Path::new(p).is_symlink())
        .expect("every well-known bundle path exists here");
    (system, missing)
}

fn first_line(path: &str) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Runs `script` (sh) in a private mount namespace where `lib` is overlaid
/// read-only on `/usr/lib` and, with `etc_preload`, `/etc` is overlaid too
/// (a writable upper layer in the scratch directory) with that line as its
/// `/etc/ld.so.preload`. The environment is cleared of every trust variable.
fn with_staged_lib(lib: &Path, etc_preload: Option<&str>, script: &str) -> Output {
    let etc = match etc_preload {
        Some(line) => {
            let ov = common::unique_dir("packaging-etc");
            fs::create_dir_all(ov.join("upper")).unwrap();
            fs::create_dir_all(ov.join("work")).unwrap();
            format!(
                "mount -t overlay overlay -o lowerdir=/etc,upperdir={u},workdir={w} /etc\nprintf '%s\\n' '{line}' > /etc/ld.so.preload\n",
                u = ov.join("upper").display(),
                w = ov.join("work").display(),
            )
        }
        None => String::new(),
    };
    // Two lower layers and no upper one: read-only, nothing written anywhere.
    let setup = format!(
        "set -e\nmount -t overlay overlay -o lowerdir={}:/usr/lib /usr/lib\n{etc}set +e\n{script}",
        lib.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &setup])
        .current_dir("/");
    common::clear_env(&mut cmd);
    let out = cmd.output().expect("unshare must be installed (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare: ") && !stderr.contains("mount: "),
        "could not set up the mount namespace: {stderr}"
    );
    out
}

/// `mapped:` lines of the probe, without duplicates.
fn mapped(stdout: &str) -> BTreeSet<&str> {
    stdout.lines().filter_map(|l| l.strip_prefix("mapped: ")).collect()
}

#[test]
fn ld_preload_by_name_loads_the_installed_pair() {
    let libdir = libdir();
    let lib = staged().join("usr/lib");
    let probe = probe();
    let (system, missing) = bundles();
    let served = format!("{missing}: {}", first_line(system));
    // The loader may record the library under /lib/<multiarch> (usrmerge:
    // /lib is a link to usr/lib) or /usr/lib/<multiarch>.
    let tail = libdir.trim_start_matches("/usr");
    let check = |how: &str, out: &Output| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{how}: {stdout}{stderr}");
        assert!(!stderr.contains("ERROR: ld.so"), "{how}: not preloaded: {stderr}");
        assert!(
            stdout.lines().any(|l| l == served),
            "{how}: {missing} not served:\n{stdout}{stderr}"
        );
        let maps = mapped(&stdout);
        for name in ["libcafix.so", "libcafix_engine.so"] {
            assert!(
                maps.iter().any(|m| m.ends_with(&format!("{tail}/{name}"))),
                "{how}: {name} not loaded from {libdir}:\n{stdout}{stderr}"
            );
        }
    };
    // By name, as users type it; by the stable path (a link: the engine is
    // then looked for in /usr/lib/cafix/, where its link is); and as the
    // README tells /etc/ld.so.preload to name it, with the loader's $LIB.
    for how in ["libcafix.so", "/usr/lib/cafix/libcafix.so", "/usr/$LIB/libcafix.so"] {
        let out = with_staged_lib(
            &lib,
            None,
            &format!("LD_PRELOAD='{how}' exec {} {missing}", probe.display()),
        );
        check(&format!("LD_PRELOAD={how}"), &out);
    }
    let out = with_staged_lib(
        &lib,
        Some("/usr/$LIB/libcafix.so"),
        &format!("exec {} {missing}", probe.display()),
    );
    check("/etc/ld.so.preload with /usr/$LIB/libcafix.so", &out);
}

#[test]
fn ld_preload_by_name_without_the_engine_serves_nothing_and_says_where_it_looked() {
    let libdir = libdir();
    let probe = probe();
    let (_, missing) = bundles();
    let tail = libdir.trim_start_matches("/usr");
    let engine = format!("{tail}/libcafix_engine.so");
    let variant = |name: &str, change: &dyn Fn(&Path)| {
        let root = common::unique_dir(name);
        let status = Command::new("cp")
            .arg("-a")
            .arg(staged().join("usr/lib"))
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success());
        let lib = root.join("lib");
        change(
            &lib.join(libdir.trim_start_matches("/usr/lib/"))
                .join("libcafix_engine.so"),
        );
        lib
    };
    // The program runs, nothing is served, and one line says why (`says`).
    let check_one_line = |how: &str, out: &Output, says: &dyn Fn(&str) -> bool| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{how}: {stdout}{stderr}");
        assert!(
            stdout.lines().any(|l| l == format!("{missing}: missing")),
            "{how}: served:\n{stdout}"
        );
        assert!(
            mapped(&stdout).iter().all(|m| !m.contains("libcafix_engine")),
            "{how}:\n{stdout}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{how}: not one line:\n{stderr}");
        assert!(lines[0].starts_with("cafix[") && says(lines[0]), "{how}: {stderr}");
    };
    // The path it looked in, and why it could not load it.
    let check = |how: &str, out: &Output, why: &str| {
        check_one_line(how, out, &|line| {
            line.contains(&format!("{engine}: ")) && line.contains(why) && line.contains("nothing will be served")
        })
    };

    let gone = variant("packaging-no-engine", &|engine| fs::remove_file(engine).unwrap());
    let out = with_staged_lib(
        &gone,
        None,
        &format!("LD_PRELOAD=libcafix.so exec {} {missing}", probe.display()),
    );
    check("engine missing", &out, "No such file or directory");

    // Unreadable: root reads any file, so the program runs as nobody, a
    // user that exists only for the machine's own root.
    if common::needs_real_root("runs the program as nobody (setpriv), to whom the engine is unreadable") {
        let locked = variant("packaging-locked-engine", &|engine| {
            fs::set_permissions(engine, fs::Permissions::from_mode(0o600)).unwrap()
        });
        let out = with_staged_lib(
            &locked,
            None,
            &format!(
                "exec setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD=libcafix.so {} {missing}",
                probe.display()
            ),
        );
        check("engine unreadable", &out, "Permission denied");
    }

    // An engine of another architecture (a package of the wrong one, a copy
    // from another machine): glibc would say "No such file or directory"
    // for another machine, so the front names what it found.
    for (arch, name) in [("i386", "i386"), ("arm64", "aarch64")] {
        if !common::needs_other_arch(arch) {
            continue;
        }
        let foreign = cross_lib(arch).join("libcafix_engine.so");
        let swapped = variant(&format!("packaging-{arch}-engine"), &|engine| {
            fs::copy(&foreign, engine).unwrap();
        });
        let out = with_staged_lib(
            &swapped,
            None,
            &format!("LD_PRELOAD=libcafix.so exec {} {missing}", probe.display()),
        );
        let expected = format!(
            "{engine} is built for {name}, not for this {} process; nothing will be served",
            std::env::consts::ARCH
        );
        check_one_line(&format!("{arch} engine"), &out, &|line| line.ends_with(&expected));
    }
}

/// `make build-lib ARCH=<arch>` (release, cross-built): the directory
/// holding that architecture's libcafix.so and libcafix_engine.so.
fn cross_lib(arch: &str) -> PathBuf {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let triple = match arch {
        "i386" => "i686-unknown-linux-gnu",
        "arm64" => "aarch64-unknown-linux-gnu",
        other => panic!("no Rust target for {other} here"),
    };
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.insert(arch.to_string()) {
        make(&["build-lib", &format!("ARCH={arch}")]);
    }
    common::target_dir().join(triple).join("release")
}

/// A fresh dpkg database under a staging root, with i386 added, and `debs`
/// installed into it as `dpkg -i` would on a machine: dpkg refuses a file
/// one package would take from another (unless both are the same file of a
/// `Multi-Arch: same` package). Dependencies outside the root are ignored
/// and no trigger runs.
fn dpkg_install_into(root: &Path, debs: &[PathBuf]) -> Output {
    fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    fs::create_dir_all(root.join("var/lib/dpkg/updates")).unwrap();
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let dpkg = |args: &[&str]| {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--root={}", root.display())).args(args);
        cmd
    };
    assert!(dpkg(&["--add-architecture", "i386"]).status().unwrap().success());
    dpkg(&["--force-depends", "--no-triggers", "-i"])
        .args(debs)
        .output()
        .expect("dpkg must be installed")
}

#[test]
fn libcafix_of_amd64_and_i386_install_side_by_side_and_ld_so_preload_serves_both() {
    if !common::needs_other_arch("i386") {
        return;
    }
    let libdir = libdir();
    packages_built("deb", None);
    packages_built("deb", Some("i386"));
    let (lib64, lib32, bin) = (
        deb_path("libcafix", host_arch()),
        deb_path("libcafix", "i386"),
        deb_path("cafix", host_arch()),
    );
    assert_eq!(deb_field(&lib32, "Architecture"), "i386");
    assert!(
        deb_entries(&lib32).contains("usr/lib/i386-linux-gnu/libcafix.so"),
        "{:?}",
        deb_entries(&lib32)
    );
    let root = common::unique_dir("packaging-multiarch");
    let out = dpkg_install_into(&root, &[lib64.clone(), lib32.clone(), bin]);
    assert!(
        out.status.success(),
        "the packages do not install side by side:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tail = libdir.trim_start_matches("/usr");
    for (dir, name) in [(tail, "libcafix.so"), ("/lib/i386-linux-gnu", "libcafix.so")] {
        assert!(
            root.join("usr").join(&dir[1..]).join(name).is_file(),
            "{dir}/{name} not installed"
        );
    }

    // /etc/ld.so.preload as the README says to write it: each process
    // loads the library of its own word size, says nothing, and is served.
    let (_, missing) = bundles();
    let script = format!(
        "{} {missing}; echo ===; {} {missing}",
        probe().display(),
        probe32().display()
    );
    let out = with_staged_lib(&root.join("usr/lib"), Some("/usr/$LIB/libcafix.so"), &script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stderr, "", "a loader or cafix message:\n{stderr}");
    let (out64, out32) = stdout.split_once("===\n").unwrap();
    let served = format!("{missing}: -----BEGIN CERTIFICATE-----");
    for (what, out, dir) in [("64-bit", out64, tail), ("32-bit", out32, "/lib/i386-linux-gnu")] {
        assert!(out.lines().any(|l| l == served), "{what}: {missing} not served:\n{out}");
        let maps = mapped(out);
        for name in ["libcafix.so", "libcafix_engine.so"] {
            assert!(
                maps.iter().any(|m| m.ends_with(&format!("{dir}/{name}"))),
                "{what}: {name} not loaded from {dir}:\n{out}"
            );
        }
    }

    // Without the i386 package (the machine of the issue): the 32-bit
    // process gets the loader's one line, runs, and is not served.
    let only64 = common::unique_dir("packaging-only-amd64");
    let out = dpkg_install_into(&only64, &[lib64]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = with_staged_lib(
        &only64.join("usr/lib"),
        Some("/usr/$LIB/libcafix.so"),
        &format!("{} {missing}", probe32().display()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("{missing}: missing")), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("ERROR: ld.so: object '/usr/$LIB/libcafix.so' from /etc/ld.so.preload cannot be preloaded"),
        "{stderr}"
    );
}

/// A process given only the library of the other word size, by path: the
/// loader's one line, and the program runs as without it.
#[test]
fn a_library_of_the_other_word_size_gets_the_loaders_one_line_and_the_program_runs() {
    if !common::needs_other_arch("i386") {
        return;
    }
    let (_, missing) = bundles();
    let lib64 = staged().join(libdir().trim_start_matches('/')).join("libcafix.so");
    let lib32 = cross_lib("i386").join("libcafix.so");
    for (probe, lib, class) in [(probe32(), &lib64, "ELFCLASS64"), (probe(), &lib32, "ELFCLASS32")] {
        let out = Command::new(probe)
            .arg(missing)
            .env_clear()
            .env("LD_PRELOAD", lib)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert_eq!(stdout.trim_end(), format!("{missing}: missing"), "{stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "ERROR: ld.so: object '{}' from LD_PRELOAD cannot be preloaded (wrong ELF class: {class}): ignored.",
                lib.display()
            )
        );
    }
}

#[test]
fn cafix_libs_rpms_of_x86_64_and_i686_install_side_by_side() {
    if !common::needs_other_arch("i386") {
        return;
    }
    packages_built("rpm", None);
    packages_built("rpm", Some("i386"));
    let version = env!("CARGO_PKG_VERSION");
    let rpms = common::target_dir().join("rpm/RPMS");
    let lib32 = rpms.join(format!("i686/cafix-libs-{version}-1.i686.rpm"));
    let lib64 = rpms.join(format!("x86_64/cafix-libs-{version}-1.x86_64.rpm"));
    let bin = rpms.join(format!("x86_64/cafix-{version}-1.x86_64.rpm"));
    assert_eq!(
        rpm_entries(&lib32),
        BTreeSet::from([
            "usr/lib/libcafix.so".to_string(),
            "usr/lib/libcafix_engine.so".to_string(),
            "usr/share/man/man8/libcafix.8.gz".to_string()
        ])
    );
    assert_eq!(rpm_query(&lib32, "%{ARCH}"), "i686");
    // rpm checks file conflicts between packages as it installs them.
    let root = common::unique_dir("packaging-rpm-multilib");
    let rpm = |args: &[&str]| {
        let out = Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(args)
            .output()
            .expect("rpm must be installed");
        assert!(
            out.status.success(),
            "rpm {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    rpm(&["--initdb"]);
    rpm(&[
        "-i",
        "--nodeps",
        "--noscripts",
        "--notriggers",
        lib64.to_str().unwrap(),
        lib32.to_str().unwrap(),
        bin.to_str().unwrap(),
    ]);
    let installed: BTreeSet<String> = rpm(&["-qa", "--qf", "%{NAME}.%{ARCH}\\n"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        installed,
        BTreeSet::from([
            "cafix-libs.x86_64".to_string(),
            "cafix-libs.i686".to_string(),
            "cafix.x86_64".to_string()
        ])
    );
    for file in ["usr/lib64/libcafix.so", "usr/lib/libcafix.so"] {
        assert!(root.join(file).is_file(), "{file}");
    }
}

/// `make deb ARCH=arm64` and `make rpm ARCH=arm64` cross-build packages of
/// that architecture: its multiarch directory, its ELF files.
#[test]
fn packages_for_arm64_are_cross_built() {
    if !common::needs_other_arch("arm64") {
        return;
    }
    packages_built("deb", Some("arm64"));
    packages_built("rpm", Some("arm64"));
    let version = env!("CARGO_PKG_VERSION");
    let root = common::unique_dir("packaging-arm64");
    for (package, files) in [
        (
            "libcafix",
            &[
                "usr/lib/aarch64-linux-gnu/libcafix.so",
                "usr/lib/aarch64-linux-gnu/libcafix_engine.so",
            ][..],
        ),
        ("cafix", &["usr/bin/cafix"][..]),
    ] {
        let deb = deb_path(package, "arm64");
        assert_eq!(deb_field(&deb, "Architecture"), "arm64");
        let status = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success());
        for file in files {
            let bytes = fs::read(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let arch = cafix_common::elf_ident::ElfIdent::parse(&bytes).and_then(|id| id.arch_name());
            assert_eq!(arch, Some("aarch64"), "{file}");
        }
    }
    let libs = common::target_dir().join(format!("rpm/RPMS/aarch64/cafix-libs-{version}-1.aarch64.rpm"));
    assert_eq!(rpm_query(&libs, "%{ARCH}"), "aarch64");
    assert!(
        rpm_entries(&libs).contains("usr/lib64/libcafix.so"),
        "{:?}",
        rpm_entries(&libs)
    );
}
