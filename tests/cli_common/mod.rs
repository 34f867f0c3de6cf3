//! Shared by the tests of the `cafix` command (tests/cli_*.rs): the built
//! binary with a clean environment, a throw-away PKI made with the openssl
//! crate (so validity dates can lie in the past or the future), real
//! `openssl s_server` endpoints on 127.0.0.1, and private mount namespaces
//! with a directory bind-mounted over /etc/ssl/certs.
//!
//! Whatever a test needs (the openssl command, unshare, mount, root) must be
//! there: a missing piece fails the test with a message, nothing is skipped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509Builder, X509Extension, X509NameBuilder, X509};

// Each harness stands alone; a test that uses two of them loads this twice.
#[allow(clippy::duplicate_mod)]
#[path = "../shared_build/mod.rs"]
mod shared_build;
#[allow(clippy::duplicate_mod)]
#[path = "../shared_env/mod.rs"]
mod shared_env;

/// The machine's system bundle (the ca-certificates package).
pub const MACHINE_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cafix")
}

/// Removes the trust variables and every `CAFIX_*` from a command's environment.
pub fn clean_env(cmd: &mut Command) -> &mut Command {
    shared_env::clear_env(cmd)
}

/// `cafix ARGS` with a clean environment.
pub fn cafix(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    clean_env(&mut cmd);
    cmd.args(args).stdin(Stdio::null());
    cmd
}

/// What a finished command said.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Asserts one `cafix: ...` error line on stderr and nothing that looks like a panic.
    pub fn assert_one_error_line(&self, code: i32, needle: &str) {
        assert_eq!(
            self.code, code,
            "exit status\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one error line expected, got:\n{}", self.stderr);
        assert!(lines[0].starts_with("cafix: "), "{}", lines[0]);
        assert!(lines[0].contains(needle), "{:?} not in {:?}", needle, lines[0]);
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "{}",
            self.stderr
        );
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn run(mut cmd: Command) -> Run {
    // A binary copied a moment ago can be "busy" while another test
    // thread's fork still holds the copy's descriptor (until its exec
    // closes it): ETXTBSY, worth a few retries.
    let mut tries = 0;
    loop {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 20 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            result => return Run::from(result.unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))),
        }
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory under Cargo's target/tmp. Directories left by test
    /// processes that are gone (the PKI lives in a static, never dropped)
    /// are removed first.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        static SWEPT: OnceLock<()> = OnceLock::new();
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        SWEPT.get_or_init(|| sweep(base));
        let dir = base.join(format!(
            "cafix-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }

    pub fn s(&self, p: &str) -> String {
        self.0.join(p).to_str().unwrap().to_string()
    }
}

/// Removes `cafix-cli-<tag>-<pid>-<n>` directories of processes that no longer run.
fn sweep(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("cafix-cli-") else {
            continue;
        };
        let mut parts = rest.rsplit('-');
        let (_, pid) = (parts.next(), parts.next().and_then(|p| p.parse::<u32>().ok()));
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// PKI
// ---------------------------------------------------------------------------

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

const DAY: i64 = 86_400;

pub fn new_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// What to put in a certificate.
pub struct Spec<'a> {
    pub cn: &'a str,
    pub ca: bool,
    pub san: &'a [&'a str],
    pub not_before: i64,
    pub not_after: i64,
    pub aia: Option<&'a str>,
}

impl<'a> Spec<'a> {
    pub fn ca(cn: &'a str) -> Spec<'a> {
        Spec {
            cn,
            ca: true,
            san: &[],
            not_before: now() - DAY,
            not_after: now() + 3650 * DAY,
            aia: None,
        }
    }
    pub fn leaf(cn: &'a str, san: &'a [&'a str]) -> Spec<'a> {
        Spec {
            cn,
            ca: false,
            san,
            not_before: now() - DAY,
            not_after: now() + 365 * DAY,
            aia: None,
        }
    }
}

/// A certificate for `key`, signed by `issuer` (or self-signed).
pub fn make_cert(spec: &Spec<'_>, key: &PKey<Private>, issuer: Option<(&X509, &PKey<Private>)>) -> X509 {
    static SERIAL: AtomicU32 = AtomicU32::new(1);
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "cafix tests").unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, spec.cn).unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(SERIAL.fetch_add(1, Ordering::Relaxed) + 1000 * std::process::id()).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap()).unwrap();
    b.set_subject_name(&name).unwrap();
    match issuer {
        Some((c, _)) => b.set_issuer_name(c.subject_name()).unwrap(),
        None => b.set_issuer_name(&name).unwrap(),
    }
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(spec.not_before).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(spec.not_after).unwrap()).unwrap();
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build().unwrap())
            .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
        b.append_extension(KeyUsage::new().critical().digital_signature().build().unwrap())
            .unwrap();
    }
    if !spec.san.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in spec.san {
            match s.strip_prefix("IP:") {
                Some(ip) => san.ip(ip),
                None => san.dns(s),
            };
        }
        let ctx = b.x509v3_context(issuer.map(|(c, _)| &**c), None);
        let ext = san.build(&ctx).unwrap();
        b.append_extension(ext).unwrap();
    }
    if let Some(url) = spec.aia {
        let ctx = b.x509v3_context(issuer.map(|(c, _)| &**c), None);
        #[allow(deprecated)]
        let ext = X509Extension::new_nid(None, Some(&ctx), Nid::INFO_ACCESS, &format!("caIssuers;URI:{url}")).unwrap();
        b.append_extension(ext).unwrap();
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

pub fn write_pem(path: &Path, certs: &[&X509]) {
    let mut out = Vec::new();
    for c in certs {
        out.extend_from_slice(&c.to_pem().unwrap());
    }
    std::fs::write(path, out).unwrap();
}

pub fn write_key(path: &Path, key: &PKey<Private>) {
    std::fs::write(path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
}

/// The files of the test PKI, in one directory made once per test process.
pub struct Pki {
    pub dir: TempDir,
    pub root: X509,
    pub self_signed: X509,
}

impl Pki {
    pub fn path(&self, name: &str) -> String {
        self.dir.s(name)
    }
}

/// A root, an intermediate, server certificates (good, expired, not yet
/// valid, wrong name, self-signed), client certificates (from the root, from
/// another CA).
///
/// Files: root.pem, int.pem, leaf.pem + leaf.key (SAN localhost,
/// 127.0.0.1; AIA caIssuers), chain.pem (leaf + int), fullchain.pem (leaf,
/// int, root), expired.pem, future.pem, wrongname.pem (all with leaf.key),
/// self.pem + self.key, client.pem + client.key, rogue.pem + rogue.key
/// (issued by another CA), other-ca.pem.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = TempDir::new("pki");
        let root_key = new_key();
        let root = make_cert(&Spec::ca("cafix CLI Test Root"), &root_key, None);
        let int_key = new_key();
        let int = make_cert(
            &Spec::ca("cafix CLI Test Intermediate"),
            &int_key,
            Some((&root, &root_key)),
        );
        let leaf_key = new_key();
        let names: &[&str] = &["localhost", "IP:127.0.0.1"];
        let leaf = make_cert(
            &Spec {
                aia: Some("http://ca.invalid/intermediate.der"),
                ..Spec::leaf("localhost", names)
            },
            &leaf_key,
            Some((&int, &int_key)),
        );
        let expired = make_cert(
            &Spec {
                not_before: now() - 400 * DAY,
                not_after: now() - 30 * DAY,
                ..Spec::leaf("localhost", names)
            },
            &leaf_key,
            Some((&int, &int_key)),
        );
        let future = make_cert(
            &Spec {
                not_before: now() + 30 * DAY,
                not_after: now() + 400 * DAY,
                ..Spec::leaf("localhost", names)
            },
            &leaf_key,
            Some((&int, &int_key)),
        );
        let wrong = make_cert(
            &Spec::leaf("other.example", &["other.example", "www.other.example"]),
            &leaf_key,
            Some((&int, &int_key)),
        );
        let self_key = new_key();
        let self_signed = make_cert(&Spec::leaf("cafix self-signed server", names), &self_key, None);
        let client_key = new_key();
        let client = make_cert(
            &Spec::leaf("cafix test client", &[]),
            &client_key,
            Some((&root, &root_key)),
        );
        let other_key = new_key();
        let other = make_cert(&Spec::ca("cafix Other CA"), &other_key, None);
        let rogue_key = new_key();
        let rogue = make_cert(
            &Spec::leaf("cafix rogue client", &[]),
            &rogue_key,
            Some((&other, &other_key)),
        );

        write_pem(&dir.join("root.pem"), &[&root]);
        write_pem(&dir.join("int.pem"), &[&int]);
        write_pem(&dir.join("leaf.pem"), &[&leaf]);
        write_key(&dir.join("leaf.key"), &leaf_key);
        write_pem(&dir.join("chain.pem"), &[&leaf, &int]);
        write_pem(&dir.join("fullchain.pem"), &[&leaf, &int, &root]);
        write_pem(&dir.join("int+root.pem"), &[&int, &root]);
        write_pem(&dir.join("expired.pem"), &[&expired]);
        write_pem(&dir.join("future.pem"), &[&future]);
        write_pem(&dir.join("wrongname.pem"), &[&wrong]);
        write_pem(&dir.join("self.pem"), &[&self_signed]);
        write_key(&dir.join("self.key"), &self_key);
        write_pem(&dir.join("client.pem"), &[&client]);
        write_key(&dir.join("client.key"), &client_key);
        write_pem(&dir.join("rogue.pem"), &[&rogue]);
        write_key(&dir.join("rogue.key"), &rogue_key);
        write_pem(&dir.join("other-ca.pem"), &[&other]);
        Pki { dir, root, self_signed }
    })
}

/// `openssl x509 -subject_hash` of a PEM file's first certificate.
pub fn openssl_subject_hash(pem: &str) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-subject_hash", "-in", pem])
        .output()
        .expect("the openssl command must be installed");
    assert!(
        out.status.success(),
        "openssl x509 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// An `openssl s_server` on 127.0.0.1, killed when dropped.
pub struct Server {
    child: Child,
    _stdin: Option<ChildStdin>,
    pub port: u16,
}

impl Server {
    /// Starts `openssl s_server -accept 127.0.0.1:0 ARGS` in `dir` and waits
    /// for the port it reports.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new("openssl")
            .arg("s_server")
            .args(["-accept", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .env_remove("OPENSSL_CONF")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the openssl command must be installed");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let mut sent = false;
            // Keep reading until the server exits so it never blocks on a full pipe.
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if !sent {
                    if let Some(port) = line
                        .trim()
                        .strip_prefix("ACCEPT ")
                        .and_then(|a| a.rsplit(':').next()?.parse::<u16>().ok())
                    {
                        let _ = tx.send(port);
                        sent = true;
                    }
                }
                line.clear();
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("openssl s_server {args:?} did not start ({status:?})");
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s_server on port {port} does not accept");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            _stdin: stdin,
            port,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Mount namespaces
// ---------------------------------------------------------------------------

/// Runs `program ARGS` in a private mount namespace where `certs` is
/// bind-mounted over /etc/ssl/certs. The host's /etc/ssl/certs is untouched.
pub fn in_namespace(certs: &Path, program: &str, args: &[&str]) -> Run {
    assert!(is_root(), "the namespace tests need root (unshare -m, mount --bind)");
    let mut cmd = Command::new("unshare");
    clean_env(&mut cmd);
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$1\" /etc/ssl/certs && shift && exec \"$@\"",
        "sh",
    ])
    .arg(certs)
    .arg(program)
    .args(args)
    .stdin(Stdio::null());
    let out = cmd.output().expect("unshare (util-linux) must be installed");
    let r = Run::from(out);
    assert!(
        !r.stderr.contains("unshare: ") && !r.stderr.contains("mount: "),
        "namespace setup failed: {}",
        r.stderr
    );
    r
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// libcafix.so (with libcafix_engine.so beside it), built once, next to the
/// cafix binary, where `cafix run` looks for it.
pub fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target_dir = Path::new(bin()).parent().unwrap().parent().unwrap();
        shared_build::build_shim(&root, target_dir)
    })
}

/// Splits a PEM bundle into one file per certificate in `dir` (`ca-<n>.pem`)
/// and runs `openssl rehash` there: a complete hash directory.
pub fn split_and_rehash(bundle: &[u8], dir: &Path) -> usize {
    let certs = X509::stack_from_pem(bundle).expect("a PEM bundle");
    for (i, c) in certs.iter().enumerate() {
        std::fs::write(dir.join(format!("ca-{i}.pem")), c.to_pem().unwrap()).unwrap();
    }
    let out = Command::new("openssl")
        .arg("rehash")
        .arg(dir)
        .output()
        .expect("the openssl command must be installed");
    assert!(
        out.status.success(),
        "openssl rehash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    certs.len()
}
