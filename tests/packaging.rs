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

/// The files `dir` (searched recursively) holds with extension `ext`.
fn find_packages(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The single file `dir` (searched recursively) holds with extension `ext`.
fn find_package(dir: &Path, ext: &str) -> PathBuf {
    let mut found = find_packages(dir, ext);
    assert_eq!(found.len(), 1, "expected one .{ext} under {}: {found:?}", dir.display());
    found.pop().unwrap()
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

    // The .deb holds exactly what `make install` installed, links included.
    make(&["deb"]);
    let deb = find_package(&common::target_dir().join("debian"), "deb");
    let listing = Command::new("dpkg-deb").arg("-c").arg(&deb).output().expect("dpkg-deb");
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    // `drwxr-xr-x root/root 0 2026-12-02 07:49 ./usr/` and
    // `lrwxrwxrwx root/root 0 ... ./usr/lib/cafix/libcafix.so -> ../x86_64-linux-gnu/libcafix.so`
    let in_deb: BTreeSet<String> = listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_once(" ./").map(|(_, path)| path.to_string()))
        .collect();
    // Man pages are compressed in the package, as Debian policy asks.
    assert_eq!(
        in_deb,
        gzipped_man_pages(&installed),
        "{} differs from make install:\n{listing}",
        deb.display()
    );
    let field = |name: &str| {
        let out = Command::new("dpkg-deb").arg("-f").arg(&deb).arg(name).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(field("Package"), "cafix");
    // ldconfig runs after unpacking, so ld.so.cache names the library.
    let triggers = Command::new("dpkg-deb")
        .arg("-I")
        .arg(&deb)
        .arg("triggers")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&triggers.stdout).contains("activate-noawait ldconfig"),
        "no ldconfig trigger in {}",
        deb.display()
    );
    let _ = fs::remove_dir_all(&stage);
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

    make(&["rpm"]);
    // Two packages: cafix-libs (the libraries and libcafix(8), co-installable
    // for two architectures) and cafix (the rest); together what `make
    // install` installed.
    let rpms = find_packages(&common::target_dir().join("rpm/RPMS"), "rpm");
    let mut in_rpms = BTreeSet::new();
    let mut names = BTreeSet::new();
    for rpm in &rpms {
        let out = Command::new("rpm")
            .args(["-qp", "--qf", "[%{FILEMODES:perms} %{FILENAMES} %{FILELINKTOS}\\n]"])
            .arg(rpm)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let listing = String::from_utf8_lossy(&out.stdout);
        let in_rpm: BTreeSet<String> = listing
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
            .collect();
        // `rpm -qlp`, the list a packager reads, names the same paths.
        let out = Command::new("rpm").arg("-qlp").arg(rpm).output().unwrap();
        let qlp: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_start_matches('/').to_string())
            .filter(|l| l != "usr/lib/cafix")
            .collect();
        let paths: BTreeSet<String> = in_rpm
            .iter()
            .map(|e| e.split(" -> ").next().unwrap().to_string())
            .collect();
        assert_eq!(qlp, paths);
        let out = Command::new("rpm")
            .args(["-qp", "--qf", "%{NAME} %{VERSION}"])
            .arg(rpm)
            .output()
            .unwrap();
        let name = String::from_utf8_lossy(&out.stdout).into_owned();
        if name.starts_with("cafix-libs ") {
            let libdir = rpm_libdir.trim_start_matches('/');
            let expected = [
                format!("{libdir}/libcafix.so"),
                format!("{libdir}/libcafix_engine.so"),
                "usr/share/man/man8/libcafix.8.gz".to_string(),
            ];
            assert_eq!(in_rpm, BTreeSet::from(expected), "{}:\n{listing}", rpm.display());
        }
        assert!(
            in_rpms.is_disjoint(&in_rpm),
            "{} repeats files:\n{listing}",
            rpm.display()
        );
        in_rpms.extend(in_rpm);
        names.insert(name);
    }
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        names,
        BTreeSet::from([format!("cafix {version}"), format!("cafix-libs {version}")])
    );
    assert_eq!(
        in_rpms,
        gzipped_man_pages(&installed),
        "{rpms:?} differ from make install"
    );
    let _ = fs::remove_dir_all(&stage);
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

/// A program that opens each path and prints its first line (or `missing`),
/// then the libcafix objects mapped into it.
fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let dir = common::unique_dir("packaging-probe");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let src = dir.join("probe.c");
        fs::write(
            &src,
            r#"#include <stdio.h>
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
"#,
        )
        .unwrap();
        let bin = dir.join("probe");
        let status = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .expect("cc must be installed");
        assert!(status.success());
        bin
    })
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
    let check = |how: &str, out: &Output, why: &str| {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The program runs, and nothing is served.
        assert!(out.status.success(), "{how}: {stdout}{stderr}");
        assert!(
            stdout.lines().any(|l| l == format!("{missing}: missing")),
            "{how}: served:\n{stdout}"
        );
        assert!(
            mapped(&stdout).iter().all(|m| !m.contains("libcafix_engine")),
            "{how}:\n{stdout}"
        );
        // One line, naming the path it looked in.
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{how}: not one line:\n{stderr}");
        assert!(
            lines[0].starts_with("cafix[")
                && lines[0].contains(&format!("{engine}: "))
                && lines[0].contains(why)
                && lines[0].contains("nothing will be served"),
            "{how}: {stderr}"
        );
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
    if !common::needs_real_root("runs the program as nobody (setpriv), to whom the engine is unreadable") {
        return;
    }
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
