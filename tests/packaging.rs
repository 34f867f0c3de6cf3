//! `make install`, `make uninstall` and `make deb`: what a packager runs.
//! Builds the release binaries (a few minutes the first time).

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

/// Everything `make install PREFIX=/usr` puts under DESTDIR.
const INSTALLED: &[&str] = &[
    "usr/bin/cafix",
    "usr/lib/cafix/libcafix.so",
    "usr/lib/cafix/libcafix_engine.so",
    "usr/share/man/man1/cafix.1",
    "usr/share/man/man8/libcafix.8",
    "usr/share/bash-completion/completions/cafix",
    "usr/share/zsh/vendor-completions/_cafix",
    "usr/share/fish/vendor_completions.d/cafix.fish",
    "etc/cafix.conf.example",
];

fn make(args: &[&str]) {
    let out = Command::new("make")
        .args(args)
        .current_dir(common::repo_root())
        .env("TARGET_DIR", common::target_dir())
        .output()
        .expect("make must be installed");
    assert!(
        out.status.success(),
        "make {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn install_uninstall_and_deb() {
    let stage = common::unique_dir("packaging");
    let destdir = format!("DESTDIR={}", stage.display());
    make(&["install", "PREFIX=/usr", &destdir]);
    for file in INSTALLED {
        let path = stage.join(file);
        assert!(path.is_file(), "{} not installed", path.display());
    }
    // The installed command finds the installed library (../lib/cafix/).
    let out = Command::new(stage.join("usr/bin/cafix"))
        .args(["run", "--", "sh", "-c", "echo $LD_PRELOAD"])
        .env_remove("LD_PRELOAD")
        .env_remove("CAFIX_LIB")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        stage.join("usr/lib/cafix/libcafix.so").display().to_string()
    );
    // The installed libcafix.so loads the installed engine next to it, on
    // the first lookup of a trust path (a `<hash>.0` no bundle has), and
    // not before.
    let front = stage.join("usr/lib/cafix/libcafix.so");
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
    assert!(
        lines
            .next()
            .is_some_and(|l| l.ends_with(&stage.join("usr/lib/cafix/libcafix_engine.so").display().to_string())),
        "the installed engine was not loaded:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The man pages are real roff.
    let page = fs::read_to_string(stage.join("usr/share/man/man8/libcafix.8")).unwrap();
    assert!(page.contains(".TH") && page.contains("CAFIX_LOG"), "{page}");

    make(&["uninstall", "PREFIX=/usr", &destdir]);
    for file in INSTALLED {
        assert!(!stage.join(file).exists(), "{file} left after uninstall");
    }

    make(&["deb"]);
    let debian = common::target_dir().join("debian");
    let deb = fs::read_dir(&debian)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("make deb wrote no .deb");
    let listing = Command::new("dpkg-deb").arg("-c").arg(&deb).output().expect("dpkg-deb");
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in INSTALLED {
        // Man pages are compressed in the package, as Debian policy asks.
        let file = if file.contains("/man/") {
            format!("{file}.gz")
        } else {
            file.to_string()
        };
        assert!(
            listing.contains(&format!("./{file}")),
            "{file} not in {}:\n{listing}",
            deb.display()
        );
    }
    let fields = Command::new("dpkg-deb")
        .arg("-f")
        .arg(&deb)
        .arg("Package")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&fields.stdout).trim(), "cafix");
    let _ = fs::remove_dir_all(Path::new(&stage));
}
