//! libcafix.so preloaded system-wide, through `/etc/ld.so.preload`, as a
//! packager may ship it: secure-exec processes ignore hostile `CAFIX_*`
//! settings, and everyday programs behave exactly as without it.
//!
//! Each run happens in a private mount namespace whose `/etc` is an overlay
//! of the real one, so `/etc/ld.so.preload` exists only there; the host is
//! never touched. Needs root, `unshare`, overlayfs and `setpriv`: a missing
//! one fails the test.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory of this test under target/, readable by everyone
/// (the secure-exec test runs as `nobody`).
fn scratch(name: &str) -> PathBuf {
    let dir = common::target_dir()
        .join("cafix-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Runs `script` (sh) in a private mount namespace with `/etc` overlaid and,
/// if `preload`, the shim in `/etc/ld.so.preload`. The environment is cleared
/// of every trust variable; `env` is added.
fn in_namespace(work: &Path, preload: bool, env: &[(&str, &str)], script: &str) -> Output {
    let ov = work.join(format!("overlay-{}", if preload { "with" } else { "without" }));
    let _ = fs::remove_dir_all(&ov);
    fs::create_dir_all(ov.join("upper")).unwrap();
    fs::create_dir_all(ov.join("work")).unwrap();
    let setup =
        format!(
        "set -e; mount -t overlay overlay -o lowerdir=/etc,upperdir={u},workdir={w} /etc; {preload}\nset +e\n{script}",
        u = ov.join("upper").display(),
        w = ov.join("work").display(),
        preload =
            if preload { format!("echo {} > /etc/ld.so.preload", common::shim().display()) } else { String::new() },
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &setup]);
    common::clear_env(&mut cmd);
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("unshare must be installed (util-linux)");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unshare: "),
        "could not create a mount namespace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A small program that stats each path and says whether it was there, and
/// whether it runs secure-exec (`AT_SECURE`).
fn build_probe(dir: &Path) -> PathBuf {
    let src = dir.join("probe.c");
    fs::write(
        &src,
        r#"#include <stdio.h>
#include <sys/stat.h>
#include <sys/auxv.h>
int main(int argc, char **argv) {
    printf("secure=%lu\n", getauxval(AT_SECURE));
    for (int i = 1; i < argc; i++) {
        struct stat st;
        printf("%s %s\n", argv[i], stat(argv[i], &st) == 0 ? "found" : "missing");
    }
    return 0;
}
"#,
    )
    .unwrap();
    let bin = dir.join("probe");
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc must be installed");
    assert!(status.success());
    bin
}

#[test]
fn secure_exec_ignores_hostile_settings() {
    if !common::needs_real_root("a setuid-root program run by nobody: secure-exec") {
        return;
    }
    let work = scratch("secure-exec");
    // An attacker's CA, offered through every variable that could add trust.
    let evil_key = work.join("evil.key");
    let evil = work.join("evil.pem");
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=cafix attacker CA",
        "-keyout",
        evil_key.to_str().unwrap(),
        "-out",
        evil.to_str().unwrap(),
    ]);
    fs::set_permissions(&evil, fs::Permissions::from_mode(0o644)).unwrap();
    let evil_hash = openssl(&["x509", "-noout", "-subject_hash", "-in", evil.to_str().unwrap()])
        .trim()
        .to_string();
    let evil_dir = work.join("evil-dir");
    fs::create_dir_all(&evil_dir).unwrap();
    // A directory only root may write to: a setuid-root process could.
    let root_only = work.join("root-only");
    fs::create_dir_all(&root_only).unwrap();
    fs::set_permissions(&root_only, fs::Permissions::from_mode(0o755)).unwrap();
    let log_file = root_only.join("cafix.log");

    let probe = build_probe(&work);
    let setuid_probe = work.join("probe-setuid");
    fs::copy(&probe, &setuid_probe).unwrap();
    fs::set_permissions(&setuid_probe, fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o755)).unwrap();

    let wanted_in_trust_dir = format!("/etc/ssl/certs/{evil_hash}.0");
    let wanted_in_env_dir = evil_dir.join(format!("{evil_hash}.0"));
    let hostile = [
        ("CAFIX_BUNDLE", evil.to_str().unwrap()),
        ("SSL_CERT_FILE", evil.to_str().unwrap()),
        ("SSL_CERT_DIR", evil_dir.to_str().unwrap()),
        ("CAFIX_LOG", "debug"),
        ("CAFIX_LOG_FILE", log_file.to_str().unwrap()),
    ];
    let run_as_nobody = |bin: &Path| {
        in_namespace(
            &work,
            true,
            &hostile,
            &format!(
                "exec setpriv --reuid=65534 --regid=65534 --clear-groups {} {} {}",
                bin.display(),
                wanted_in_trust_dir,
                wanted_in_env_dir.display()
            ),
        )
    };

    // Control: the same program without the setuid bit honours the
    // environment, so the hostile bundle is served. This proves the
    // secure-exec run below would notice if the shim listened.
    let plain = run_as_nobody(&probe);
    let plain_out = String::from_utf8_lossy(&plain.stdout);
    assert!(plain_out.contains("secure=0"), "{plain_out}");
    assert!(
        plain_out.contains(&format!("{wanted_in_trust_dir} found")),
        "control did not serve: {plain_out}"
    );
    assert!(
        plain_out.contains(&format!("{} found", wanted_in_env_dir.display())),
        "control: SSL_CERT_DIR not honoured: {plain_out}"
    );

    // Secure-exec: nothing of the environment counts, nothing is written.
    let secure = run_as_nobody(&setuid_probe);
    let secure_out = String::from_utf8_lossy(&secure.stdout);
    let secure_err = String::from_utf8_lossy(&secure.stderr);
    assert!(
        secure_out.contains("secure=1"),
        "the probe did not run secure-exec: {secure_out} {secure_err}"
    );
    assert!(
        secure_out.contains(&format!("{wanted_in_trust_dir} missing")),
        "{secure_out}"
    );
    assert!(
        secure_out.contains(&format!("{} missing", wanted_in_env_dir.display())),
        "{secure_out}"
    );
    assert!(!log_file.exists(), "a secure-exec process wrote {}", log_file.display());
    assert!(
        secure_err.contains("CAFIX_BUNDLE ignored: this is a secure-exec"),
        "the refusal is not said: {secure_err}"
    );
    let _ = fs::remove_dir_all(&work);
}

#[test]
fn everyday_programs_behave_the_same_with_system_wide_preload() {
    let work = scratch("soak");
    let repo = work.join("repo");
    let commands: Vec<String> = vec![
        "ls -la /etc/ssl/certs/ca-certificates.crt /usr/bin/env".into(),
        "cat /etc/os-release | sort | head -5".into(),
        "bash -c 'echo from bash; ls /nonexistent; exit 3'".into(),
        "python3 -c 'import ssl, os; ctx = ssl.create_default_context(); print(ssl.OPENSSL_VERSION, len(ctx.get_ca_certs()) >= 0); print(os.path.exists(\"/etc/ssl/certs\"))'".into(),
        "perl -MIO::Socket::SSL -e 'print \"perl ok\\n\"'".into(),
        "ruby -ropenssl -e 'puts OpenSSL::X509::DEFAULT_CERT_FILE'".into(),
        format!("git init -q {r} && git -C {r} status --short && git --version", r = repo.display()),
        "curl --version | head -1".into(),
        "curl -sS https://127.0.0.1:1/ 2>&1 | sed 's/after [0-9]* ms/after N ms/'".into(),
        "apt-cache policy openssl | head -3".into(),
        // GnuTLS programs: credentials with the system trust, then no server.
        "wget -q --tries=1 --timeout=5 https://127.0.0.1:1/; echo wget exit $?".into(),
        "GIT_TERMINAL_PROMPT=0 git ls-remote https://127.0.0.1:1/repo.git 2>&1 | sed 's/after [0-9]* ms/after N ms/'".into(),
        "gnutls-cli --version | head -1".into(),
        "ssh -V".into(),
        "openssl version".into(),
        "openssl verify /etc/ssl/certs/ca-certificates.crt".into(),
        "stat -c '%n %s' /etc/ssl/certs/4042bcee.0 /usr/lib/ssl/cert.pem".into(),
        // The Qt client: it scans Qt's certificate directories and sets up OpenSSL.
        format!("{} https://127.0.0.1:1/", common::clients().qt5.display()),
    ];
    for command in &commands {
        let _ = fs::remove_dir_all(&repo);
        let without = in_namespace(&work, false, &[], command);
        let _ = fs::remove_dir_all(&repo);
        let with = in_namespace(&work, true, &[], command);
        assert_eq!(
            String::from_utf8_lossy(&with.stdout),
            String::from_utf8_lossy(&without.stdout),
            "stdout differs for {command}"
        );
        assert_eq!(
            String::from_utf8_lossy(&with.stderr),
            String::from_utf8_lossy(&without.stderr),
            "stderr differs for {command}"
        );
        assert_eq!(
            with.status.code(),
            without.status.code(),
            "exit status differs for {command}"
        );
    }
    let _ = fs::remove_dir_all(&work);
}
