//! The machine of the local-CA scenarios (tests/scenario_local_cas.rs,
//! tests/scenario_java.rs), built once per test process: in a private mount
//! namespace whose `/etc` is an overlay of the real one, the test's anchor
//! directory is bound over `/usr/local/share/ca-certificates` and the real
//! `update-ca-certificates --fresh` runs; the `/etc/ssl/certs` it produced
//! is kept. Every client then runs in a namespace of its own with that
//! directory bound over `/etc/ssl/certs` (and, for the system-wide case,
//! libcafix.so in the overlay's `/etc/ld.so.preload`). The host's files are
//! never touched; its own local CAs are hidden by the bind mount.
//!
//! The servers are `openssl s_server -www` on loopback with a leaf signed
//! by the CA a case needs.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{self, clear_env, path_str};

/// Everything the cases share, made once.
pub struct World {
    pub dir: PathBuf,
    /// `/etc/ssl/certs` after `update-ca-certificates` with the local CA installed,
    /// plus the dropped public root appended to the bundle.
    pub certs: PathBuf,
    /// What is bound over `/usr/local/share/ca-certificates`.
    pub anchors: PathBuf,
    /// The local CA (`cafix Local Corp CA <tag>`), as installed.
    pub local_ca: Ca,
    /// A root in the system bundle that is not a local CA and that the
    /// certifi copy does not hold: as a public root certifi dropped.
    pub dropped_root: Ca,
    /// A private CA a program pins (never in the system bundle).
    pub private_ca: Ca,
}

pub struct Ca {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cn: String,
}

pub fn run_checked(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn openssl(args: &[&str]) {
    run_checked(
        Command::new("openssl").args(args),
        &format!("openssl {}", args.join(" ")),
    );
}

pub const CNF: &str = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n\
[v3_root]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
subjectKeyIdentifier = hash\n\
[v3_server]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n\
extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n\
subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n";

#[rustfmt::skip]
pub fn make_ca(dir: &Path, name: &str, cn: &str) -> Ca {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    openssl(&[
        "req", "-x509", "-config", path_str(&dir.join("openssl.cnf")), "-extensions", "v3_root",
        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3",
        "-subj", &format!("/CN={cn}/O=cafix tests"), "-keyout", path_str(&key), "-out", path_str(&cert),
    ]);
    Ca { cert, key, cn: cn.to_string() }
}

/// A `localhost` leaf signed by `ca`: (cert, key).
#[rustfmt::skip]
pub fn make_leaf(dir: &Path, name: &str, ca: &Ca) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let cnf = dir.join("openssl.cnf");
    openssl(&[
        "req", "-new", "-config", path_str(&cnf), "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-subj", "/CN=localhost", "-keyout", path_str(&key), "-out", path_str(&csr),
    ]);
    openssl(&[
        "x509", "-req", "-in", path_str(&csr), "-days", "2", "-CA", path_str(&ca.cert), "-CAkey", path_str(&ca.key),
        "-set_serial", &format!("0x{}", common::random_hex(16)), "-extfile", path_str(&cnf),
        "-extensions", "v3_server", "-out", path_str(&cert),
    ]);
    (cert, key)
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = common::unique_dir("local-cas");
        fs::write(dir.join("openssl.cnf"), CNF).unwrap();
        let tag = common::random_hex(8);
        let local_ca = make_ca(&dir, "local-ca", &format!("cafix Local Corp CA {tag}"));
        let dropped_root = make_ca(&dir, "dropped-root", &format!("cafix Dropped Public Root {tag}"));
        let private_ca = make_ca(&dir, "private-ca", &format!("cafix Pinned Private CA {tag}"));

        // Install the local CA as the administrator does, in a namespace.
        let anchors = dir.join("anchors");
        fs::create_dir_all(anchors.join("corp")).unwrap();
        fs::copy(&local_ca.cert, anchors.join("corp/corp-root.crt")).unwrap();
        let certs = dir.join("certs");
        fs::create_dir_all(&certs).unwrap();
        let script = format!(
            "set -e\n{overlay}\nmount --bind {anchors} /usr/local/share/ca-certificates\n\
             update-ca-certificates --fresh >/dev/null 2>&1\ncp -a /etc/ssl/certs/. {certs}/\n",
            overlay = overlay_etc(&dir.join("install")),
            anchors = path_str(&anchors),
            certs = path_str(&certs),
        );
        run_checked(
            clear_env(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script])),
            "update-ca-certificates in a mount namespace (needs root, util-linux, ca-certificates)",
        );
        let bundle = certs.join("ca-certificates.crt");
        let mut text = fs::read_to_string(&bundle).unwrap();
        let local_pem = fs::read_to_string(&local_ca.cert).unwrap();
        assert!(
            text.contains(local_pem.trim()),
            "update-ca-certificates did not add the local CA"
        );
        text.push_str(&fs::read_to_string(&dropped_root.cert).unwrap());
        fs::write(&bundle, text).unwrap();

        World {
            dir,
            certs,
            anchors,
            local_ca,
            dropped_root,
            private_ca,
        }
    })
}

/// Shell lines that overlay `/etc` with a fresh upper layer under `work`.
pub fn overlay_etc(work: &Path) -> String {
    let _ = fs::remove_dir_all(work);
    fs::create_dir_all(work.join("upper")).unwrap();
    fs::create_dir_all(work.join("work")).unwrap();
    format!(
        "mount -t overlay overlay -o lowerdir=/etc,upperdir={}/upper,workdir={}/work /etc",
        path_str(work),
        path_str(work)
    )
}

/// How libcafix.so reaches the client.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cafix {
    Without,
    /// `cafix run -- CLIENT`.
    Run,
    /// libcafix.so in `/etc/ld.so.preload`.
    SystemWide,
}

/// Runs `args` in a namespace with the installed `/etc/ssl/certs`.
pub fn client(mode: Cafix, args: &[&str], env: &[(&str, &str)]) -> Output {
    client_with(mode, args, env, "")
}

/// The same, with more shell lines (`mounts`) run before the client.
pub fn client_with(mode: Cafix, args: &[&str], env: &[(&str, &str)], mounts: &str) -> Output {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let w = world();
    let run_dir = w
        .dir
        .join(format!("run-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let preload = match mode {
        Cafix::SystemWide => format!("echo {} > /etc/ld.so.preload\n", path_str(common::shim())),
        _ => String::new(),
    };
    let script = format!(
        "set -e\n{overlay}\nmount --bind {certs} /etc/ssl/certs\n\
         {mounts}\nmount --bind {anchors} /usr/local/share/ca-certificates\n{preload}set +e\nexec \"$@\"\n",
        overlay = overlay_etc(&run_dir),
        certs = path_str(&w.certs),
        anchors = path_str(&w.anchors),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"]);
    if mode == Cafix::Run {
        cmd.args([env!("CARGO_BIN_EXE_cafix"), "run", "--"]);
    }
    cmd.args(args);
    clear_env(&mut cmd);
    cmd.env("CAFIX_LIB", common::shim())
        .env("CAFIX_LOG", "info")
        .env("XDG_RUNTIME_DIR", &run_dir)
        .envs(env.iter().copied());
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} ({mode:?}) did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn url(&self) -> String {
        format!("https://localhost:{}/", self.port)
    }
}

/// `openssl s_server -www` on loopback with a leaf signed by `ca` (the leaf only).
pub fn server(ca: &Ca, name: &str) -> Server {
    let (cert, key) = make_leaf(&world().dir, name, ca);
    for _ in 0..5 {
        let port = common::free_port();
        let mut child = clear_env(Command::new("openssl").args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            path_str(&cert),
            "-key",
            path_str(&key),
            "-www",
            "-quiet",
            // The leaf alone: no chain built from the host's trust.
            "-no-CAfile",
            "-no-CApath",
            "-no-CAstore",
        ]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl must be installed");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Server { child, port };
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("the test server did not start");
}

pub fn local_server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| server(&world().local_ca, "local-leaf"))
}

pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn assert_trusted(out: &Output, what: &str) {
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK 200"),
        "{what} should trust the server:\n{}",
        text(out)
    );
}

pub fn assert_rejected(out: &Output, expected: &str, what: &str) {
    let all = text(out);
    assert!(!out.status.success(), "{what} should reject the server:\n{all}");
    assert!(all.contains(expected), "{what}: expected {expected:?}:\n{all}");
}

/// `target/<name>`: a venv of Debian's python3 with `packages` from PyPI,
/// made on first use and kept (pip needs the network only then); `marker`
/// names the version of this recipe (change it to remake the venv).
pub fn pypi_venv(name: &str, marker: &str, packages: &[&str]) -> PathBuf {
    let venv = common::target_dir().join(name);
    let python = venv.join("bin/python");
    let ready = venv.join(marker);
    if !ready.exists() {
        let _ = fs::remove_dir_all(&venv);
        assert!(
            Path::new("/usr/bin/python3").exists(),
            "/usr/bin/python3 is missing (apt-get install python3 python3-venv)"
        );
        run_checked(
            clear_env(Command::new("/usr/bin/python3").args(["-m", "venv", path_str(&venv)])),
            "python3 -m venv (apt-get install python3-venv)",
        );
        run_checked(
            clear_env(
                Command::new(&python)
                    .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                    .args(packages),
            ),
            &format!("pip install {} (from PyPI)", packages.join(" ")),
        );
        fs::write(&ready, "").unwrap();
    }
    venv
}
