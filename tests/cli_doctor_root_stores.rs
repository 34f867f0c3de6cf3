//! `cafix doctor` on programs' own root stores, with the real things: a
//! local CA installed the Debian way (the real `update-ca-certificates`, in a
//! private mount namespace whose `/etc` is an overlay, so the host is never
//! touched), a venv with certifi from PyPI, a conda-like prefix holding a copy
//! of certifi's file, Java keystores written by ca-certificates-java and by
//! keytool, and Node.js' compiled-in roots.
//!
//! The doctor runs in a namespace of its own with the installed
//! `/etc/ssl/certs` and the anchor directory bound over the real ones, and a
//! fake HOME as its home and current directory.
//!
//! Needs root, util-linux, ca-certificates, python3 + python3-venv (and
//! PyPI once, for certifi), nodejs, and ca-certificates-java with a JRE
//! (default-jre-headless): a missing piece fails the test with a message.

mod cli_common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use cli_common::*;

const NODE: &str = "/usr/bin/node";
const HOST_JAVA_CACERTS: &str = "/etc/ssl/certs/java/cacerts";
const ANCHOR_FILE: &str = "/usr/local/share/ca-certificates/corp/corp-root.crt";

struct World {
    /// Holds every file below (never dropped: the world is static).
    _dir: TempDir,
    /// The local CA's common name and PEM file.
    cn: String,
    ca_pem: PathBuf,
    /// A CA under the anchor directory that the update tool has not seen.
    pending_cn: String,
    pending_pem: PathBuf,
    /// Bound over /usr/local/share/ca-certificates.
    anchors: PathBuf,
    anchors_with_pending: PathBuf,
    /// /etc/ssl/certs after `update-ca-certificates --fresh` with the local CA.
    certs: PathBuf,
    /// A venv with certifi from PyPI (cached under target/).
    venv: PathBuf,
    /// A JKS keystore from ca-certificates-java (the host's, without the
    /// test's local CA) and the same as PKCS #12, converted by keytool.
    jks: PathBuf,
    p12: PathBuf,
    /// Trusted-certificate entries of `jks`, as keytool counts them.
    jks_count: usize,
}

fn checked(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `target/doctor-root-stores-venv`: Debian's python3 with certifi from
/// PyPI, made on first use and kept.
fn venv() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let venv = target.join("doctor-root-stores-venv");
    let ready = venv.join(".cafix-ready-1");
    if !ready.exists() {
        let _ = fs::remove_dir_all(&venv);
        assert!(
            Path::new("/usr/bin/python3").exists(),
            "/usr/bin/python3 is missing (apt-get install python3 python3-venv)"
        );
        checked(
            clean_env(Command::new("/usr/bin/python3").arg("-m").arg("venv").arg(&venv)),
            "python3 -m venv (apt-get install python3-venv)",
        );
        checked(
            clean_env(Command::new(venv.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "certifi",
            ])),
            "pip install certifi (from PyPI)",
        );
        fs::write(&ready, "").unwrap();
    }
    venv
}

/// `lib/python3.X/site-packages` of a venv.
fn site_packages(venv: &Path) -> PathBuf {
    let lib = venv.join("lib");
    let py = fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("python3"))
        .unwrap_or_else(|| panic!("no python3.X in {}", lib.display()));
    py.join("site-packages")
}

fn overlay_etc(work: &Path) -> String {
    fs::create_dir_all(work.join("upper")).unwrap();
    fs::create_dir_all(work.join("work")).unwrap();
    format!(
        "mount -t overlay overlay -o lowerdir=/etc,upperdir={0}/upper,workdir={0}/work /etc",
        work.display()
    )
}

fn keytool_count(store: &Path) -> usize {
    let out = checked(
        Command::new("keytool")
            .args(["-list", "-storepass", "changeit", "-keystore"])
            .arg(store),
        "keytool -list",
    );
    out.lines().filter(|l| l.contains("trustedCertEntry")).count()
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        assert!(is_root(), "these tests need root (unshare -m, mount)");
        assert!(
            Path::new(NODE).exists(),
            "{NODE} is missing: the Node.js store cannot be tested (apt-get install nodejs)"
        );
        assert!(
            Path::new(HOST_JAVA_CACERTS).is_file(),
            "{HOST_JAVA_CACERTS} is missing: the Java stores cannot be tested \
             (apt-get install ca-certificates-java default-jre-headless)"
        );
        let dir = TempDir::new("rootstores");
        let tag = format!("{:08x}", std::process::id().wrapping_mul(2_654_435_761));
        let cn = format!("cafix Doctor Local CA {tag}");
        let pending_cn = format!("cafix Doctor Pending CA {tag}");
        let ca = make_cert(&Spec::ca(&cn), &new_key(), None);
        let pending = make_cert(&Spec::ca(&pending_cn), &new_key(), None);
        let ca_pem = dir.join("local-ca.pem");
        let pending_pem = dir.join("pending-ca.pem");
        write_pem(&ca_pem, &[&ca]);
        write_pem(&pending_pem, &[&pending]);

        let anchors = dir.join("anchors");
        fs::create_dir_all(anchors.join("corp")).unwrap();
        fs::copy(&ca_pem, anchors.join("corp/corp-root.crt")).unwrap();
        let certs = dir.join("certs");
        fs::create_dir_all(&certs).unwrap();
        let script = format!(
            "set -e\n{}\nmount --bind {} /usr/local/share/ca-certificates\n\
             update-ca-certificates --fresh >/dev/null 2>&1\ncp -a /etc/ssl/certs/. {}/\n",
            overlay_etc(&dir.join("install")),
            anchors.display(),
            certs.display()
        );
        checked(
            clean_env(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script])),
            "update-ca-certificates in a mount namespace (root, util-linux, ca-certificates)",
        );
        let bundle = fs::read_to_string(certs.join("ca-certificates.crt")).unwrap();
        let pem = fs::read_to_string(&ca_pem).unwrap();
        assert!(
            bundle.contains(pem.trim()),
            "update-ca-certificates did not add the local CA"
        );
        assert!(
            certs.join("java/cacerts").is_file(),
            "ca-certificates-java's hook did not write java/cacerts (is a JRE installed?)"
        );
        // A second anchor directory: the local CA plus one the tool never saw.
        let anchors_with_pending = dir.join("anchors-pending");
        fs::create_dir_all(anchors_with_pending.join("corp")).unwrap();
        fs::copy(&ca_pem, anchors_with_pending.join("corp/corp-root.crt")).unwrap();
        fs::copy(&pending_pem, anchors_with_pending.join("pending.crt")).unwrap();

        // Java: the host's keystore (ca-certificates-java, JKS) lacks the
        // test's CA; keytool converts it to PKCS #12.
        let jks = dir.join("jks-cacerts");
        fs::copy(HOST_JAVA_CACERTS, &jks).unwrap();
        let p12 = dir.join("p12-cacerts");
        checked(
            Command::new("keytool")
                .args([
                    "-importkeystore",
                    "-noprompt",
                    "-srcstorepass",
                    "changeit",
                    "-deststorepass",
                ])
                .args(["changeit", "-deststoretype", "PKCS12", "-srckeystore"])
                .arg(&jks)
                .arg("-destkeystore")
                .arg(&p12),
            "keytool -importkeystore (a JRE: default-jre-headless)",
        );
        let jks_count = keytool_count(&jks);
        assert!(jks_count >= 50, "{HOST_JAVA_CACERTS} holds {jks_count} certificates");
        World {
            _dir: dir,
            cn,
            ca_pem,
            pending_cn,
            pending_pem,
            anchors,
            anchors_with_pending,
            certs,
            venv: venv(),
            jks,
            p12,
            jks_count,
        }
    })
}

/// A fake HOME: `proj/.venv` (the cached venv), `miniconda3` (conda-meta
/// and a copy of certifi's file as ssl/cacert.pem), `jvm-jks` (JAVA_HOME,
/// the JKS keystore) and `.jdks/p12` (the PKCS #12 one).
struct Home {
    dir: TempDir,
}

impl Home {
    fn new(tag: &str) -> Home {
        let w = world();
        let dir = TempDir::new(tag);
        fs::create_dir_all(dir.join("proj")).unwrap();
        checked(
            Command::new("cp").arg("-a").arg(&w.venv).arg(dir.join("proj/.venv")),
            "cp -a of the venv",
        );
        let home = Home { dir };
        fs::create_dir_all(home.path().join("miniconda3/conda-meta")).unwrap();
        fs::write(home.path().join("miniconda3/conda-meta/history"), "").unwrap();
        fs::create_dir_all(home.path().join("miniconda3/ssl")).unwrap();
        fs::copy(home.certifi(), home.conda()).unwrap();
        for (file, rel) in [(&w.jks, "jvm-jks"), (&w.p12, ".jdks/p12")] {
            let sec = home.path().join(rel).join("lib/security");
            fs::create_dir_all(&sec).unwrap();
            fs::copy(file, sec.join("cacerts")).unwrap();
        }
        home
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn certifi(&self) -> PathBuf {
        site_packages(&self.path().join("proj/.venv")).join("certifi/cacert.pem")
    }
    fn conda(&self) -> PathBuf {
        self.path().join("miniconda3/ssl/cacert.pem")
    }
    fn jks(&self) -> PathBuf {
        self.path().join("jvm-jks/lib/security/cacerts")
    }
    fn p12(&self) -> PathBuf {
        self.path().join(".jdks/p12/lib/security/cacerts")
    }
}

/// `cafix doctor ARGS` with `certs` over /etc/ssl/certs and `anchors` over
/// /usr/local/share/ca-certificates; `preload` (a work directory) puts
/// libcafix.so in an overlay's /etc/ld.so.preload.
fn doctor_with(
    certs: &Path,
    anchors: &Path,
    home: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    preload: Option<&Path>,
) -> Run {
    let mut script = String::from("set -e\n");
    if let Some(work) = preload {
        script.push_str(&overlay_etc(work));
        script.push_str(&format!("\necho {} > /etc/ld.so.preload\n", shim().display()));
    }
    script.push_str("mount --bind \"$1\" /etc/ssl/certs\nmount --bind \"$2\" /usr/local/share/ca-certificates\nshift 2\nset +e\nexec \"$@\"\n");
    let mut cmd = Command::new("unshare");
    clean_env(&mut cmd);
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"])
        .arg(certs)
        .arg(anchors)
        .arg(bin())
        .arg("doctor")
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("JAVA_HOME", home.join("jvm-jks"))
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    for var in [
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PYENV_ROOT",
        "PIPX_HOME",
        "NODE_OPTIONS",
        "JAVA_TOOL_OPTIONS",
    ] {
        cmd.env_remove(var);
    }
    let r = run(cmd);
    assert!(
        !r.stderr.contains("unshare: ") && !r.stderr.contains("mount: "),
        "namespace setup failed: {r}"
    );
    r
}

fn doctor(home: &Home, args: &[&str]) -> Run {
    let w = world();
    doctor_with(&w.certs, &w.anchors, home.path(), args, &[], None)
}

/// The line of the section that shows `path`, and the one after it.
fn store_lines<'a>(out: &'a str, kind: &str, path: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.trim_start().starts_with(kind) && l.contains(&format!(" {path}")))
        .unwrap_or_else(|| panic!("no {kind} line for {path} in:\n{out}"));
    (lines[i], lines.get(i + 1).copied().unwrap_or(""))
}

fn store<'a>(v: &'a serde_json::Value, path: &Path) -> &'a serde_json::Value {
    v["root_stores"]["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path.to_str().unwrap())
        .unwrap_or_else(|| panic!("no store {} in {:#}", path.display(), v["root_stores"]))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn stores_lacking_the_local_ca_are_named_with_their_programs_and_fixes() {
    let w = world();
    let home = Home::new("lacking");
    let r = doctor(&home, &[]);
    assert_eq!(r.code, 1, "{r}");
    let out = &r.stdout;
    assert!(out.contains("Programs' own root stores"), "{r}");
    assert!(out.contains(&format!("local CAs: {} ({ANCHOR_FILE})", w.cn)), "{r}");
    let lacks = format!("a copy of the public roots; lacks {}", w.cn);

    let (line, next) = store_lines(out, "certifi", s(&home.certifi()));
    assert!(line.contains(&lacks), "{line}");
    assert!(
        !line.contains("lib64"),
        "the venv's lib64 link is not a second name: {line}"
    );
    let venv = home.path().join("proj/.venv");
    assert!(
        next.contains(&format!(
            "breaks requests, httpx, poetry and other Python programs using certifi in {}",
            venv.display()
        )),
        "{next}"
    );
    let (line, next) = store_lines(out, "conda", s(&home.conda()));
    assert!(line.contains(&lacks), "{line}");
    assert!(
        next.contains("breaks conda, and the Python and OpenSSL programs of"),
        "{next}"
    );
    let (line, next) = store_lines(out, "Node.js", NODE);
    assert!(line.contains("compiled-in roots") && line.contains(&lacks), "{line}");
    assert!(next.contains("breaks Node.js programs"), "{next}");
    let (line, next) = store_lines(out, "Java", s(&home.jks()));
    assert!(line.contains("(JKS)"), "{line}");
    assert!(
        line.contains(&format!(": {} certificates, {lacks}", w.jks_count)),
        "{line}"
    );
    assert!(
        next.contains(&format!(
            "Java programs run by {}",
            home.path().join("jvm-jks").display()
        )),
        "{next}"
    );
    let (line, _) = store_lines(out, "Java", s(&home.p12()));
    assert!(line.contains("(PKCS12, certificates encrypted)"), "{line}");
    assert!(
        line.contains(&format!(": {} certificates, {lacks}", w.jks_count)),
        "{line}"
    );
    // update-ca-certificates' Java hook put the local CA into the shared keystore.
    let (line, _) = store_lines(out, "Java", HOST_JAVA_CACERTS);
    assert!(line.contains("has every local CA"), "{line}");

    // The findings: one problem per store, each with its fix.
    let problem = |needle: &str| {
        out.lines()
            .position(|l| l.starts_with("problem: ") && l.contains(needle))
            .unwrap_or_else(|| panic!("no problem naming {needle}:\n{out}"))
    };
    let fixes_after = |i: usize| -> String {
        out.lines()
            .skip(i + 1)
            .take_while(|l| l.starts_with("    "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let quoted = format!("lacks the local CA \"{}\"", w.cn);
    let i = problem(&format!("the certifi copy {}", s(&home.certifi())));
    assert!(out.lines().nth(i).unwrap().contains(&quoted), "{r}");
    let fixes = fixes_after(i);
    assert!(
        fixes.contains("fix: run them with `cafix run -- PROGRAM`, or preload libcafix.so system-wide"),
        "{fixes}"
    );
    assert!(
        fixes.contains("`REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt`"),
        "{fixes}"
    );
    let fixes = fixes_after(problem(&format!("the conda CA file {}", s(&home.conda()))));
    assert!(
        fixes.contains("`conda config --set ssl_verify /etc/ssl/certs/ca-certificates.crt`"),
        "{fixes}"
    );
    let i = problem("Node.js v");
    assert!(out.lines().nth(i).unwrap().contains(&quoted), "{r}");
    let fixes = fixes_after(i);
    assert!(
        fixes.contains("cafix tells Node.js that NODE_EXTRA_CA_CERTS, when unset, names a file of the local CAs"),
        "{fixes}"
    );
    assert!(
        fixes.contains(&format!("NODE_EXTRA_CA_CERTS={ANCHOR_FILE}")) || fixes.contains("--use-system-ca"),
        "{fixes}"
    );
    let fixes = fixes_after(problem(&format!("the Java keystore {}", s(&home.jks()))));
    assert!(
        fixes.contains("cafix serves this JDK a jssecacerts of its cacerts plus the local CAs"),
        "{fixes}"
    );
    assert!(
        fixes.contains(&format!(
            "-importcert -keystore {} -storepass changeit -noprompt -alias cafix-doctor-local-ca-",
            s(&home.jks())
        )) && fixes.contains(&format!("-file {ANCHOR_FILE}`")),
        "{fixes}"
    );
    assert!(out.contains("Verdict: "), "{r}");

    let r = doctor(&home, &["--json"]);
    assert_eq!(r.code, 1, "{r}");
    let v = r.json();
    assert_eq!(v["verdict"], "problems");
    assert_eq!(v["root_stores"]["searched"], true);
    assert_eq!(v["root_stores"]["local_cas"]["cas"][0]["name"], w.cn.as_str());
    assert_eq!(v["root_stores"]["local_cas"]["cas"][0]["source"], ANCHOR_FILE);
    for path in [
        home.certifi(),
        home.conda(),
        home.jks(),
        home.p12(),
        PathBuf::from(NODE),
    ] {
        let st = store(&v, &path);
        assert_eq!(st["state"], "lacks", "{st:#}");
        assert_eq!(st["copy_of_public_roots"], true, "{st:#}");
        assert_eq!(st["lacking"][0]["name"], w.cn.as_str(), "{st:#}");
        assert!(
            st["lacking"][0]["subject"]
                .as_str()
                .unwrap()
                .contains(&format!("CN={}", w.cn)),
            "{st:#}"
        );
        assert!(!st["programs"].as_str().unwrap().is_empty(), "{st:#}");
        assert!(!st["fixes"].as_array().unwrap().is_empty(), "{st:#}");
    }
    assert_eq!(store(&v, &home.certifi())["kind"], "certifi");
    assert_eq!(store(&v, &home.conda())["kind"], "conda");
    assert_eq!(store(&v, &home.jks())["detail"], "JKS");
    assert_eq!(store(&v, &home.jks())["certificates"], w.jks_count);
    assert_eq!(store(&v, &home.p12())["detail"], "PKCS12, certificates encrypted");
    assert_eq!(store(&v, Path::new(HOST_JAVA_CACERTS))["state"], "complete");
    let lacking_findings = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "root-store-lacks-local-cas" && f["severity"] == "problem")
        .count();
    assert_eq!(lacking_findings, 5, "{:#}", v["findings"]);
}

#[test]
fn a_copy_that_has_the_local_ca_is_fine() {
    let w = world();
    let home = Home::new("complete");
    let pem = fs::read(&w.ca_pem).unwrap();
    for file in [home.certifi(), home.conda()] {
        let mut bytes = fs::read(&file).unwrap();
        bytes.extend_from_slice(&pem);
        fs::write(&file, bytes).unwrap();
    }
    let r = doctor(&home, &[]);
    let (line, _) = store_lines(&r.stdout, "certifi", s(&home.certifi()));
    assert!(line.contains("; has every local CA"), "{line}");
    let (line, _) = store_lines(&r.stdout, "conda", s(&home.conda()));
    assert!(line.contains("; has every local CA"), "{line}");
    assert!(
        !r.stdout.contains(&format!("the certifi copy {}", s(&home.certifi()))),
        "{r}"
    );
    assert!(
        !r.stdout.contains(&format!("the conda CA file {}", s(&home.conda()))),
        "{r}"
    );
    // Node.js and the Java copies still lack it.
    assert_eq!(r.code, 1, "{r}");

    // A shell that points programs elsewhere is noted, not trusted.
    let v = doctor_with(
        &w.certs,
        &w.anchors,
        home.path(),
        &["--json"],
        &[("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")],
        None,
    )
    .json();
    assert_eq!(store(&v, &home.certifi())["state"], "complete");
    assert_eq!(
        v["root_stores"]["environment_overrides"],
        serde_json::json!(["REQUESTS_CA_BUNDLE"])
    );
}

#[test]
fn without_local_cas_the_section_is_one_line() {
    let home = Home::new("nolocal");
    // The machine's bundle, complete as a hash directory; no anchor file.
    let certs = TempDir::new("nolocal-certs");
    let bundle = fs::read(MACHINE_BUNDLE).expect("the machine's CA bundle (ca-certificates)");
    fs::write(certs.join("ca-certificates.crt"), &bundle).unwrap();
    split_and_rehash(&bundle, certs.path());
    let anchors = TempDir::new("nolocal-anchors");
    let r = doctor_with(certs.path(), anchors.path(), home.path(), &[], &[], None);
    assert_eq!(r.code, 0, "{r}");
    let section: Vec<&str> = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Programs' own root stores"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(section.len(), 1, "{r}");
    assert!(
        section[0].starts_with("  no local CAs (no certificate under /usr/local/share/ca-certificates, "),
        "{r}"
    );
    assert!(
        section[0].ends_with("is in the system bundle): nothing for them to lack"),
        "{r}"
    );
    let v = doctor_with(certs.path(), anchors.path(), home.path(), &["--json"], &[], None).json();
    assert_eq!(v["root_stores"]["searched"], false);
    assert_eq!(v["root_stores"]["stores"].as_array().unwrap().len(), 0);
    assert_eq!(v["root_stores"]["local_cas"]["cas"].as_array().unwrap().len(), 0);
}

#[test]
fn ca_says_where_the_local_ca_is_trusted() {
    let w = world();
    let home = Home::new("where");
    let r = doctor(&home, &["--ca", s(&w.ca_pem)]);
    assert_eq!(r.code, 1, "{r}");
    let out = &r.stdout;
    let hash = openssl_subject_hash(s(&w.ca_pem));
    assert!(out.contains(&format!("subject hash {hash}")), "{r}");
    assert!(
        out.contains("  system bundle /etc/ssl/certs/ca-certificates.crt: yes"),
        "{r}"
    );
    assert!(
        out.contains(&format!("  local CA: yes ({ANCHOR_FILE}, in the system bundle)")),
        "{r}"
    );
    assert!(
        out.contains(&format!("/etc/ssl/certs (also /usr/lib/ssl/certs): found ({hash}.0)")),
        "{r}"
    );
    assert!(out.contains("  Qt 5.15/6: found on demand in /etc/ssl/certs"), "{r}");
    assert!(
        out.contains(&format!("    certifi {}: no (`cafix run` adds it", s(&home.certifi()))),
        "{r}"
    );
    assert!(out.contains(&format!("    conda {}: no", s(&home.conda()))), "{r}");
    let jdk = home.path().join("jvm-jks");
    assert!(
        out.contains(&format!("    Java {} (JDK {}): no", s(&home.jks()), jdk.display())),
        "{r}"
    );
    let shared = out
        .lines()
        .find(|l| l.starts_with(&format!("    Java {HOST_JAVA_CACERTS} (JDK ")))
        .unwrap_or_else(|| panic!("no line for {HOST_JAVA_CACERTS} naming its JDKs: {r}"));
    assert!(shared.ends_with(": yes"), "{shared}");
    assert!(out.contains(&format!("    Node.js {NODE} v")), "{r}");
    assert!(out.contains("Verdict: not trusted in "), "{r}");

    let r = doctor(&home, &["--ca", s(&w.ca_pem), "--json"]);
    assert_eq!(r.code, 1, "{r}");
    let v = r.json();
    assert_eq!(v["verdict"], "gaps");
    let places = v["certificates"][0]["places"].as_array().unwrap();
    let place = |what: &str, name: &str| {
        places
            .iter()
            .find(|p| p["what"] == what && p["name"].as_str().unwrap().contains(name))
            .unwrap_or_else(|| panic!("no {what} {name} in {places:#?}"))
    };
    assert_eq!(place("system-bundle", "")["trusted"], true);
    assert_eq!(place("local-ca", "")["detail"]["state"], "local");
    assert_eq!(place("qt", "")["trusted"], true);
    assert_eq!(place("root-store", s(&home.certifi()))["trusted"], false);
    assert_eq!(place("root-store", NODE)["trusted"], false);
    assert_eq!(place("root-store", HOST_JAVA_CACERTS)["trusted"], true);
    let gaps = v["certificates"][0]["not_trusted_in"].as_array().unwrap();
    assert!(
        gaps.iter().all(|g| g.as_str().unwrap().contains(" /")),
        "only stores: {gaps:?}"
    );
}

#[test]
fn a_ca_waiting_for_the_update_tool_is_pending() {
    let w = world();
    let home = Home::new("pending");
    let r = doctor_with(
        &w.certs,
        &w.anchors_with_pending,
        home.path(),
        &["--ca", s(&w.pending_pem)],
        &[],
        None,
    );
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.stdout.contains(
            "  local CA: pending: /usr/local/share/ca-certificates/pending.crt is not in the system bundle yet"
        ),
        "{r}"
    );
    assert!(
        r.stdout
            .contains("  system bundle /etc/ssl/certs/ca-certificates.crt: no"),
        "{r}"
    );
    let v = doctor_with(&w.certs, &w.anchors_with_pending, home.path(), &["--json"], &[], None).json();
    let pending = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "local-cas-pending")
        .unwrap_or_else(|| panic!("no local-cas-pending finding: {:#}", v["findings"]));
    assert_eq!(pending["severity"], "warning");
    assert!(
        pending["items"][0].as_str().unwrap().starts_with(&w.pending_cn),
        "{pending:#}"
    );
    // Only the installed CA is a local CA.
    assert_eq!(v["root_stores"]["local_cas"]["cas"].as_array().unwrap().len(), 1);
}

#[test]
fn the_system_wide_preload_covers_the_copies_every_jdk_and_node() {
    let w = world();
    let home = Home::new("preload");
    let etc = TempDir::new("preload-etc");
    let r = doctor_with(&w.certs, &w.anchors, home.path(), &[], &[], Some(etc.path()));
    let (line, _) = store_lines(&r.stdout, "certifi", s(&home.certifi()));
    assert!(
        line.contains("which the system-wide preload adds when it is loaded"),
        "{line}"
    );
    let (line, _) = store_lines(&r.stdout, "conda", s(&home.conda()));
    assert!(
        line.contains("which the system-wide preload adds when it is loaded"),
        "{line}"
    );
    // Node.js and every JDK too: NODE_EXTRA_CA_CERTS answered, jssecacerts served.
    let (line, _) = store_lines(&r.stdout, "Node.js", NODE);
    assert!(
        line.contains("which the system-wide preload adds (NODE_EXTRA_CA_CERTS answered)"),
        "{line}"
    );
    let (line, _) = store_lines(&r.stdout, "Java", s(&home.jks()));
    assert!(
        line.contains("which the system-wide preload adds (a jssecacerts served to the JVM)"),
        "{line}"
    );
    assert!(
        !r.stdout.contains(&format!("the certifi copy {}", s(&home.certifi()))),
        "{r}"
    );
    // Every store lacking the local CA is covered: no problem is left.
    assert!(!r.stdout.contains("problem: "), "{r}");
    assert_eq!(r.code, 0, "{r}");
}

#[test]
fn every_jdk_is_listed_and_a_jssecacerts_that_exists_is_judged_instead() {
    let w = world();
    let home = Home::new("jdks");
    // Gradle's toolchain (one level down) and a JDK with its own jssecacerts.
    let gradle = home
        .path()
        .join(".gradle/jdks/eclipse_adoptium-21-amd64-linux/jdk-21.0.5+11");
    let own = home.path().join(".jdks/own-jssecacerts");
    for (jdk, file) in [(&gradle, "cacerts"), (&own, "cacerts"), (&own, "jssecacerts")] {
        fs::create_dir_all(jdk.join("bin")).unwrap();
        fs::write(jdk.join("bin/java"), "").unwrap();
        fs::create_dir_all(jdk.join("lib/security")).unwrap();
        fs::copy(&w.jks, jdk.join("lib/security").join(file)).unwrap();
    }
    let etc = TempDir::new("jdks-etc");
    let r = doctor_with(&w.certs, &w.anchors, home.path(), &[], &[], Some(etc.path()));
    let gradle_store = gradle.join("lib/security/cacerts");
    let (line, _) = store_lines(&r.stdout, "Java", s(&gradle_store));
    assert!(line.contains("which the system-wide preload adds"), "{line}");
    // The JVM reads the jssecacerts that exists, which cafix leaves alone.
    let own_store = own.join("lib/security/jssecacerts");
    let (line, _) = store_lines(&r.stdout, "Java", s(&own_store));
    assert!(line.contains("lacks"), "{line}");
    assert!(!r.stdout.contains(s(&own.join("lib/security/cacerts"))), "{r}");
    let out = &r.stdout;
    let i = out
        .lines()
        .position(|l| l.starts_with("problem: ") && l.contains(s(&own_store)))
        .unwrap_or_else(|| panic!("no problem for {}: {r}", own_store.display()));
    let fixes: String = out.lines().skip(i + 1).take_while(|l| l.starts_with("    ")).collect();
    assert!(
        fixes.contains("cafix adds nothing here: a jssecacerts that exists is used as it is"),
        "{fixes}"
    );
    assert!(fixes.contains("-importcert -keystore"), "{fixes}");

    // --ca names every JDK it found.
    let r = doctor(&home, &["--ca", s(&w.ca_pem)]);
    for jdk in [
        &gradle,
        &own,
        &home.path().join("jvm-jks"),
        &home.path().join(".jdks/p12"),
    ] {
        assert!(
            r.stdout.contains(&format!("(JDK {})", jdk.display())),
            "{}: {r}",
            jdk.display()
        );
    }
}
