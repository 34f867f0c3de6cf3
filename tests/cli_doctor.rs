//! `cafix doctor` on broken trust layouts, each in a private mount namespace
//! with a temporary directory bind-mounted over /etc/ssl/certs (the host's
//! is never touched) and an empty one over /usr/local/share/ca-certificates
//! (no local CAs: programs' own root stores are not searched); and `cafix check` / `cafix run` in the Zeal case, where
//! a stray hash file makes Qt look CAs up on demand only.

mod cli_common;

use std::os::unix::fs::symlink;
use std::path::Path;

use cli_common::*;

/// A directory to stand for /etc/ssl/certs: the machine's bundle, plus
/// `extra` PEM appended to it.
fn layout(tag: &str, extra: &[u8]) -> TempDir {
    let dir = TempDir::new(tag);
    let mut bundle = std::fs::read(MACHINE_BUNDLE).expect("this test needs the machine's CA bundle (ca-certificates)");
    bundle.extend_from_slice(extra);
    std::fs::write(dir.join("ca-certificates.crt"), &bundle).unwrap();
    dir
}

/// `layout` plus one file per CA and a full `openssl rehash`.
fn healthy_layout(tag: &str, extra: &[u8]) -> (TempDir, usize) {
    let dir = layout(tag, extra);
    let bundle = std::fs::read(dir.join("ca-certificates.crt")).unwrap();
    let n = split_and_rehash(&bundle, dir.path());
    (dir, n)
}

/// `cafix doctor ARGS` with `certs` over /etc/ssl/certs and an empty
/// directory over /usr/local/share/ca-certificates: the host's own local CAs
/// (and the root stores that lack them) stay out of these layouts.
fn doctor(certs: &Path, args: &[&str]) -> Run {
    assert!(is_root(), "the namespace tests need root (unshare -m, mount --bind)");
    let anchors = TempDir::new("no-anchors");
    let mut cmd = std::process::Command::new("unshare");
    clean_env(&mut cmd);
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$1\" /etc/ssl/certs && mount --bind \"$2\" /usr/local/share/ca-certificates && shift 2 && exec \"$@\"",
        "sh",
    ])
    .arg(certs)
    .arg(anchors.path())
    .arg(bin())
    .arg("doctor")
    .args(args)
    .stdin(std::process::Stdio::null());
    let r = run(cmd);
    assert!(
        !r.stderr.contains("unshare: ") && !r.stderr.contains("mount: "),
        "namespace setup failed: {}",
        r.stderr
    );
    r
}

fn codes(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "problem")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn finding<'a>(v: &'a serde_json::Value, code: &str) -> &'a serde_json::Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} finding in {v:#}"))
}

fn entry_name_of(pem_path: &Path) -> String {
    format!("{}.0", openssl_subject_hash(pem_path.to_str().unwrap()))
}

#[test]
fn healthy_store() {
    let (dir, n) = healthy_layout("healthy", &[]);
    let text = doctor(dir.path(), &[]);
    assert_eq!(text.code, 0, "{text}");
    assert!(text.stdout.contains("Verdict: healthy"), "{text}");
    assert!(
        text.stdout
            .contains(&format!("/etc/ssl/certs/ca-certificates.crt: {n} certificates")),
        "{text}"
    );
    assert!(
        text.stdout.contains("/etc/ssl/certs (also /usr/lib/ssl/certs)"),
        "{text}"
    );
    assert!(
        text.stdout.contains("every system bundle CA is reachable there"),
        "{text}"
    );
    assert!(
        text.stdout.contains("Programs' own root stores\n  no local CAs ("),
        "{text}"
    );
    let json = doctor(dir.path(), &["--json"]);
    assert_eq!(json.code, 0, "{json}");
    let v = json.json();
    assert_eq!(v["verdict"], "healthy");
    assert_eq!(v["problems"], 0, "{v:#}");
    assert_eq!(v["system_bundle"]["certificates"], n);
    assert_eq!(v["qt"]["mode"], "on-demand");
    assert_eq!(v["qt"]["missing_roots"].as_array().unwrap().len(), 0);
    let certs_dir = v["trust_dirs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "/etc/ssl/certs")
        .unwrap();
    assert_eq!(certs_dir["usable_entries"], n);
    assert_eq!(certs_dir["missing_bundle_cas"].as_array().unwrap().len(), 0);
    assert_eq!(v["openssl"]["cert_file_certificates"], n);
    // GnuTLS (Debian's libgnutls30, installed by test.sh) trusts the bundle too.
    assert_eq!(
        v["gnutls"]["system_trust_file"], "/etc/ssl/certs/ca-certificates.crt",
        "{v:#}"
    );
    assert_eq!(v["gnutls"]["certificates"], n, "{v:#}");
    assert!(
        text.stdout.contains(&format!(
            "libgnutls.so.30: system trust file /etc/ssl/certs/ca-certificates.crt ({n} certificates)"
        )),
        "{text}"
    );
}

#[test]
fn stray_hash_file_makes_qt_miss_the_bundle() {
    let p = pki();
    let dir = layout("stray", &std::fs::read(p.path("root.pem")).unwrap());
    // One unrelated CA as a c_rehash entry: Qt switches to on-demand lookup.
    std::fs::copy(
        p.path("other-ca.pem"),
        dir.join(entry_name_of(&p.dir.join("other-ca.pem"))),
    )
    .unwrap();
    let stray = format!("/etc/ssl/certs/{}", entry_name_of(&p.dir.join("other-ca.pem")));

    let text = doctor(dir.path(), &["--verbose"]);
    assert_eq!(text.code, 1, "{text}");
    assert!(text.stdout.contains("Qt programs will fail"), "{text}");
    assert!(
        text.stdout.contains("cafix CLI Test Root ("),
        "the missing root is named:\n{text}"
    );
    assert!(text.stdout.contains("ISRG Root X1 (4042bcee)"), "{text}");
    assert!(text.stdout.contains("`cafix run -- PROGRAM`"), "{text}");
    assert!(
        text.stdout.contains(&format!("remove the stray file(s) {stray}")),
        "{text}"
    );
    assert!(text.stdout.contains("Verdict: "), "{text}");
    assert!(!text.stdout.contains("Verdict: healthy"), "{text}");

    let json = doctor(dir.path(), &["--json"]);
    assert_eq!(json.code, 1, "{json}");
    let v = json.json();
    assert_eq!(v["verdict"], "problems");
    assert!(codes(&v).contains(&"qt-missing-roots".to_string()), "{v:#}");
    assert!(codes(&v).contains(&"dir-incomplete".to_string()), "{v:#}");
    assert_eq!(v["qt"]["mode"], "on-demand");
    assert_eq!(v["qt"]["triggers"][0], stray);
    let missing: Vec<&str> = v["qt"]["missing_roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(missing.contains(&"cafix CLI Test Root"), "{missing:?}");
    assert!(missing.contains(&"ISRG Root X1"), "{missing:?}");
    // The stray CA is in the directory but not in the bundle.
    let extra = finding(&v, "not-in-bundle");
    assert!(
        extra["items"][0].as_str().unwrap().contains("cafix Other CA"),
        "{extra:#}"
    );
}

#[test]
fn broken_symlink() {
    let p = pki();
    let (dir, _) = healthy_layout("broken", &std::fs::read(p.path("root.pem")).unwrap());
    // The root's file disappears; its hash link stays.
    let root_entry = entry_name_of(&p.dir.join("root.pem"));
    let target = std::fs::read_link(dir.join(&root_entry)).expect("openssl rehash makes symbolic links");
    std::fs::remove_file(dir.join(&target)).unwrap();
    let text = doctor(dir.path(), &[]);
    assert_eq!(text.code, 1, "{text}");
    assert!(text.stdout.contains("1 broken symbolic link(s)"), "{text}");
    assert!(
        text.stdout.contains(&format!("{root_entry} -> {}", target.display())),
        "{text}"
    );
    assert!(text.stdout.contains("openssl rehash /etc/ssl/certs"), "{text}");
    let v = doctor(dir.path(), &["--json"]).json();
    assert!(codes(&v).contains(&"broken-symlinks".to_string()), "{v:#}");
    // Its CA is now missing from the directory, by name.
    let incomplete = finding(&v, "dir-incomplete");
    assert_eq!(incomplete["items"].as_array().unwrap().len(), 1, "{incomplete:#}");
    assert!(
        incomplete["items"][0]
            .as_str()
            .unwrap()
            .starts_with("cafix CLI Test Root"),
        "{incomplete:#}"
    );
    assert!(v["qt"]["missing_roots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "cafix CLI Test Root"));
}

#[test]
fn stale_link() {
    let p = pki();
    let (dir, _) = healthy_layout("stale", &std::fs::read(p.path("root.pem")).unwrap());
    // The root's link now points at another CA's file: stale.
    let root_entry = entry_name_of(&p.dir.join("root.pem"));
    let other = "ca-0.pem";
    std::fs::remove_file(dir.join(&root_entry)).unwrap();
    symlink(other, dir.join(&root_entry)).unwrap();
    let text = doctor(dir.path(), &[]);
    assert_eq!(text.code, 1, "{text}");
    assert!(text.stdout.contains("1 stale entr(ies)"), "{text}");
    assert!(text.stdout.contains(&format!("{root_entry}: stale")), "{text}");
    let v = doctor(dir.path(), &["--json"]).json();
    assert!(codes(&v).contains(&"stale-entries".to_string()), "{v:#}");
    let certs_dir = v["trust_dirs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "/etc/ssl/certs")
        .unwrap();
    assert_eq!(certs_dir["stale"].as_array().unwrap().len(), 1);
    // A lookup of the root by its hash reads another CA: the root is missing.
    let missing = certs_dir["missing_bundle_cas"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{certs_dir:#}");
    assert!(
        missing[0].as_str().unwrap().starts_with("cafix CLI Test Root"),
        "{certs_dir:#}"
    );
}

#[test]
fn missing_bundle() {
    let (dir, _) = healthy_layout("nobundle", &[]);
    std::fs::remove_file(dir.join("ca-certificates.crt")).unwrap();
    let text = doctor(dir.path(), &[]);
    assert_eq!(text.code, 1, "{text}");
    assert!(text.stdout.contains("no system CA bundle found"), "{text}");
    assert!(text.stdout.contains("update-ca-certificates"), "{text}");
    let v = doctor(dir.path(), &["--json"]).json();
    assert!(v["system_bundle"].is_null());
    assert!(codes(&v).contains(&"no-system-bundle".to_string()), "{v:#}");
    let bundle_paths = v["bundle_paths"].as_array().unwrap();
    let debian = bundle_paths
        .iter()
        .find(|b| b["path"] == "/etc/ssl/certs/ca-certificates.crt")
        .unwrap();
    assert_eq!(debian["state"], "missing");
    // Debian's OPENSSLDIR/cert.pem points at it: now a broken link.
    let lib = bundle_paths
        .iter()
        .find(|b| b["path"] == "/usr/lib/ssl/cert.pem")
        .unwrap();
    assert_eq!(lib["state"], "broken-symlink", "{lib:#}");
    assert!(codes(&v).contains(&"broken-bundle-link".to_string()), "{v:#}");
    // The hash directory alone still gives OpenSSL programs their trust;
    // GnuTLS programs, which read only the bundle, trust nothing.
    assert!(!codes(&v).contains(&"openssl-defaults-empty".to_string()), "{v:#}");
    let gnutls = finding(&v, "gnutls-trust-file-missing");
    assert_eq!(gnutls["severity"], "problem", "{gnutls:#}");
    assert!(
        gnutls["message"]
            .as_str()
            .unwrap()
            .contains("trusts /etc/ssl/certs/ca-certificates.crt, which does not exist: git, wget and apt trust no CA"),
        "{gnutls:#}"
    );
    assert!(v["gnutls"]["certificates"].is_null(), "{v:#}");
    assert!(text.stdout.contains("missing or empty"), "{text}");
}

#[test]
fn ssl_cert_file_in_force_is_reported() {
    let (dir, n) = healthy_layout("envfile", &[]);
    let mut cmd = std::process::Command::new("unshare");
    clean_env(&mut cmd);
    cmd.env("SSL_CERT_FILE", "/nonexistent/bundle.pem");
    let anchors = TempDir::new("no-anchors");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$1\" /etc/ssl/certs && mount --bind \"$3\" /usr/local/share/ca-certificates && exec \"$2\" doctor --json",
        "sh",
    ])
    .arg(dir.path())
    .arg(bin())
    .arg(anchors.path());
    let r = run(cmd);
    assert_eq!(r.code, 1, "{r}");
    let v = r.json();
    assert_eq!(v["environment"]["SSL_CERT_FILE"], "/nonexistent/bundle.pem");
    assert!(codes(&v).contains(&"ssl-cert-file-missing".to_string()), "{v:#}");
    assert_eq!(v["openssl"]["cert_file_in_force"], "/nonexistent/bundle.pem");
    // The system bundle is still found at the distribution path.
    assert_eq!(v["system_bundle"]["certificates"], n);
}

/// The Zeal case end to end: curl-like OpenSSL programs verify, Qt programs
/// would not, `cafix check` says so and why, and under `cafix run` (the
/// preload serving the missing entries) the Qt-way verification passes.
#[test]
fn check_predicts_qt_failure_and_run_fixes_it() {
    let p = pki();
    let dir = layout("zeal", &std::fs::read(p.path("root.pem")).unwrap());
    std::fs::copy(
        p.path("other-ca.pem"),
        dir.join(entry_name_of(&p.dir.join("other-ca.pem"))),
    )
    .unwrap();
    let s = Server::start(
        p.dir.path(),
        &["-cert", "leaf.pem", "-key", "leaf.key", "-cert_chain", "int.pem"],
    );

    let r = in_namespace(dir.path(), bin(), &["check", &s.addr()]);
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.stdout.contains("Verification for OpenSSL programs [default paths"),
        "{r}"
    );
    assert!(
        r.stdout
            .contains("The issuer certificate of a locally looked up certificate could not be found"),
        "{r}"
    );
    assert!(
        r.stdout.contains("fix: run Qt programs with `cafix run -- PROGRAM`"),
        "{r}"
    );
    assert!(r.stdout.contains("remove the stray file(s) /etc/ssl/certs/"), "{r}");
    assert!(r.stdout.contains("Result: FAILED for Qt programs"), "{r}");
    let v = in_namespace(dir.path(), bin(), &["check", "--json", &s.addr()]).json();
    assert_eq!(v["verification"]["openssl"]["ok"], true, "{v:#}");
    assert_eq!(v["verification"]["qt"]["ok"], false, "{v:#}");
    assert_eq!(v["verification"]["qt"]["error"], 20);
    assert!(
        v["verification"]["qt"]["diagnosis"]["why"]
            .as_str()
            .unwrap()
            .contains("is in the system bundle but not there"),
        "{v:#}"
    );
    assert!(v["class"].is_null());
    assert_eq!(v["ok"], false);

    // The same check under the preload: the missing root entry is served.
    shim();
    let r = in_namespace(
        dir.path(),
        bin(),
        &["run", "--log", "info", "--", bin(), "check", &s.addr()],
    );
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("Result: OK"), "{r}");
    let root_entry = format!("/etc/ssl/certs/{}", entry_name_of(&p.dir.join("root.pem")));
    assert!(r.stderr.contains(&format!("{root_entry} is missing; served")), "{r}");
}
