//! The machine of the local-CA scenarios (scenario_local_cas.rs,
//! scenario_java.rs, scenario_nss.rs): throw-away CAs and `localhost` leaves
//! made with the `openssl` command; a local CA installed the documented way
//! (`update-ca-certificates`) under an overlay on `/etc`, without touching
//! the host ([`Machine`]); every client in a namespace of its own with the
//! `/etc/ssl/certs` that produced, without cafix, under `cafix run` or with
//! libcafix.so in the overlay's `/etc/ld.so.preload` ([`Client`]); and
//! `openssl s_server` on loopback ([`s_server`]).
//!
//! scenario_local_cas.rs and scenario_java.rs share one [`World`] (a local
//! CA, a root only the bundle has, a private CA); scenario_nss.rs builds its
//! own on the same [`Machine`], its anchor directory also holding a corrupt
//! file and a CA NSS refuses.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{clear_env, path_str, random_hex};

// ---- CAs and leaves ----------------------------------------------------------

/// The `openssl.cnf` [`make_ca`] and [`make_leaf`] expect in their directory.
pub const CNF: &str = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n\
[v3_root]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
subjectKeyIdentifier = hash\n\
[v3_server]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n\
extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost, IP:127.0.0.1\n\
subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n";

/// `openssl req -newkey` arguments for a P-256 key.
pub const EC_KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

/// A CA: its certificate and key files, and its common name.
pub struct Ca {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cn: String,
}

/// Runs `cmd`; its output, or a panic naming `what` with its output.
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

fn openssl(args: &[&str]) {
    run_checked(
        Command::new("openssl").args(args),
        &format!("openssl {}", args.join(" ")),
    );
}

/// A self-signed CA `cn` in `dir` (which holds [`CNF`] as `openssl.cnf`),
/// its key made by `newkey` (`openssl req` arguments, such as [`EC_KEY`]).
#[rustfmt::skip]
pub fn make_ca(dir: &Path, name: &str, cn: &str, newkey: &[&str]) -> Ca {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let cnf = dir.join("openssl.cnf");
    let subject = format!("/CN={cn}/O=cafix tests");
    let mut args = vec!["req", "-x509", "-config", path_str(&cnf), "-extensions", "v3_root"];
    args.extend(newkey);
    args.extend(["-nodes", "-days", "3", "-subj", &subject, "-keyout", path_str(&key), "-out", path_str(&cert)]);
    openssl(&args);
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
        "-set_serial", &format!("0x{}", random_hex(16)), "-extfile", path_str(&cnf),
        "-extensions", "v3_server", "-out", path_str(&cert),
    ]);
    (cert, key)
}

// ---- the machine -----------------------------------------------------------------

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

/// A machine with local CAs installed: what its clients' namespaces bind.
pub struct Machine {
    /// The scenario's own directory (CAs, leaves, each run's overlay).
    pub dir: PathBuf,
    /// `/etc/ssl/certs` as `update-ca-certificates` left it.
    pub certs: PathBuf,
    /// What is bound over `/usr/local/share/ca-certificates`.
    pub anchors: PathBuf,
}

impl Machine {
    /// Installs the anchor directory `anchors` as the administrator does: in
    /// a private mount namespace whose `/etc` is an overlay (under `dir`),
    /// bound over `/usr/local/share/ca-certificates`,
    /// `update-ca-certificates --fresh`; the `/etc/ssl/certs` it produced,
    /// copied to `dir/certs`.
    pub fn install(dir: &Path, anchors: &Path) -> Machine {
        let certs = dir.join("certs");
        fs::create_dir_all(&certs).unwrap();
        let script = format!(
            "set -e\n{overlay}\nmount --bind {anchors} /usr/local/share/ca-certificates\n\
             update-ca-certificates --fresh >/dev/null 2>&1\ncp -a /etc/ssl/certs/. {certs}/\n",
            overlay = overlay_etc(&dir.join("install")),
            anchors = path_str(anchors),
            certs = path_str(&certs),
        );
        run_checked(
            clear_env(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script])),
            "update-ca-certificates in a mount namespace (needs root, util-linux, ca-certificates)",
        );
        Machine {
            dir: dir.to_path_buf(),
            certs,
            anchors: anchors.to_path_buf(),
        }
    }

    /// The system bundle `update-ca-certificates` wrote.
    pub fn bundle(&self) -> PathBuf {
        self.certs.join("ca-certificates.crt")
    }

    /// Asserts that the bundle holds each CA of `installed`, then appends
    /// `bundle_only` to it alone (a root of the bundle that is no local CA).
    pub fn append_to_bundle(&self, installed: &[&Ca], bundle_only: &Ca) {
        let mut text = fs::read_to_string(self.bundle()).unwrap();
        for ca in installed {
            let pem = fs::read_to_string(&ca.cert).unwrap();
            assert!(
                text.contains(pem.trim()),
                "update-ca-certificates did not add {}",
                ca.cn
            );
        }
        text.push_str(&fs::read_to_string(&bundle_only.cert).unwrap());
        fs::write(self.bundle(), text).unwrap();
    }
}

// ---- clients ---------------------------------------------------------------------

/// How libcafix.so reaches the client.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cafix {
    Without,
    /// `cafix run -- CLIENT`.
    Run,
    /// libcafix.so in `/etc/ld.so.preload`.
    SystemWide,
}

impl Cafix {
    pub const ALL: [Cafix; 3] = [Cafix::Without, Cafix::Run, Cafix::SystemWide];
}

/// How long a client may run before it is killed and the test fails (a
/// browser's first start included).
const CLIENT_LIMIT: Duration = Duration::from_secs(90);

/// A client to run on a [`Machine`]: in a private mount namespace whose
/// `/etc` is an overlay of the real one, with the machine's
/// `/etc/ssl/certs` and anchor directory bound in place, `CAFIX_LOG=info`
/// and an `XDG_RUNTIME_DIR` of its own.
pub struct Client<'a> {
    machine: &'a Machine,
    mode: Cafix,
    args: Vec<String>,
    env: Vec<(String, String)>,
    mounts: String,
    /// Run as `nobody` (and so with Chromium's sandbox).
    unprivileged: bool,
    /// The libcafix.so to preload.
    shim: PathBuf,
}

impl<'a> Client<'a> {
    pub fn new(machine: &'a Machine, mode: Cafix, args: &[&str]) -> Client<'a> {
        Client {
            machine,
            mode,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            mounts: String::new(),
            unprivileged: false,
            shim: super::shim().to_path_buf(),
        }
    }

    /// Sets these variables (after the defaults, so they win).
    pub fn envs(mut self, env: &[(&str, &str)]) -> Client<'a> {
        self.env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    pub fn home(self, home: &Path) -> Client<'a> {
        self.envs(&[("HOME", path_str(home))])
    }

    /// Shell lines run in the namespace before the client (more mounts).
    pub fn mounts(mut self, lines: &str) -> Client<'a> {
        self.mounts = lines.to_string();
        self
    }

    /// Runs it as `nobody`, preloading `shim` (a copy `nobody` can read).
    pub fn unprivileged(mut self, shim: &Path) -> Client<'a> {
        self.unprivileged = true;
        self.shim = shim.to_path_buf();
        self
    }

    pub fn run(&self) -> Output {
        static N: AtomicUsize = AtomicUsize::new(0);
        let m = self.machine;
        let run_dir = m.dir.join(format!("run-{}", N.fetch_add(1, Ordering::Relaxed)));
        let preload = match self.mode {
            Cafix::SystemWide => format!("echo {} > /etc/ld.so.preload\n", path_str(&self.shim)),
            _ => String::new(),
        };
        let script = format!(
            "set -e\n{overlay}\nmount --bind {certs} /etc/ssl/certs\n{mounts}\n\
             mount --bind {anchors} /usr/local/share/ca-certificates\n{preload}set +e\nexec \"$@\"\n",
            overlay = overlay_etc(&run_dir),
            certs = path_str(&m.certs),
            mounts = self.mounts,
            anchors = path_str(&m.anchors),
        );
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "private", "sh", "-c", &script, "sh"]);
        if self.unprivileged {
            cmd.args(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]);
        }
        if self.mode == Cafix::Run {
            cmd.args([env!("CARGO_BIN_EXE_cafix"), "run", "--"]);
        }
        cmd.args(&self.args);
        clear_env(&mut cmd);
        cmd.env("CAFIX_LIB", &self.shim)
            .env("CAFIX_LOG", "info")
            .env("XDG_RUNTIME_DIR", &run_dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read both pipes while waiting: a browser writes a lot to stderr.
        let reader = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                buf
            })
        };
        let stdout = reader(Box::new(child.stdout.take().unwrap()));
        let stderr = reader(Box::new(child.stderr.take().unwrap()));
        let deadline = Instant::now() + CLIENT_LIMIT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{:?} ({:?}) did not finish in {CLIENT_LIMIT:?}", self.args, self.mode);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }
}

/// A client's status and output, for a failed assertion's message.
pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---- servers ---------------------------------------------------------------------

/// A running `openssl s_server`, killed on drop.
pub struct TlsServer {
    pub child: Child,
    pub port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsServer {
    pub fn url(&self) -> String {
        format!("https://localhost:{}/", self.port)
    }
}

/// `openssl s_server` on a free loopback port with `cert` (the leaf alone:
/// no chain built from the host's trust), answering as `mode` says
/// (`-www`: a status page; `-WWW`: the files of `dir`), run in `dir`, once
/// it accepts connections. It dies with the test process, even one that
/// keeps it in a static: it is started (`setpriv --pdeathsig`) by a thread
/// that lives as long as the process.
pub fn s_server(cert: &Path, key: &Path, mode: &str, dir: &Path) -> TlsServer {
    for _ in 0..5 {
        let port = super::free_port();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--pdeathsig", "KILL", "--", "openssl", "s_server", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args([mode, "-quiet", "-no-CAfile", "-no-CApath", "-no-CAstore"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        clear_env(&mut cmd);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        });
        let mut child = rx
            .recv()
            .unwrap()
            .expect("openssl and setpriv (util-linux) must be installed");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return TlsServer { child, port };
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

// ---- the world of scenario_local_cas.rs and scenario_java.rs -------------------------

/// One local CA installed, made once per test process.
pub struct World {
    pub machine: Machine,
    /// The local CA (`cafix Local Corp CA <tag>`), as installed.
    pub local_ca: Ca,
    /// A root in the system bundle that is not a local CA and that the
    /// certifi copy does not hold: as a public root certifi dropped.
    pub dropped_root: Ca,
    /// A private CA a program pins (never in the system bundle).
    pub private_ca: Ca,
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = super::unique_dir("local-cas");
        fs::write(dir.join("openssl.cnf"), CNF).unwrap();
        let tag = random_hex(8);
        let local_ca = make_ca(&dir, "local-ca", &format!("cafix Local Corp CA {tag}"), &EC_KEY);
        let dropped_root = make_ca(
            &dir,
            "dropped-root",
            &format!("cafix Dropped Public Root {tag}"),
            &EC_KEY,
        );
        let private_ca = make_ca(&dir, "private-ca", &format!("cafix Pinned Private CA {tag}"), &EC_KEY);
        let anchors = dir.join("anchors");
        fs::create_dir_all(anchors.join("corp")).unwrap();
        fs::copy(&local_ca.cert, anchors.join("corp/corp-root.crt")).unwrap();
        let machine = Machine::install(&dir, &anchors);
        machine.append_to_bundle(&[&local_ca], &dropped_root);
        World {
            machine,
            local_ca,
            dropped_root,
            private_ca,
        }
    })
}

/// Runs `args` on the [`world`]'s machine.
pub fn client(mode: Cafix, args: &[&str], env: &[(&str, &str)]) -> Output {
    client_with(mode, args, env, "")
}

/// The same, with more shell lines (`mounts`) run before the client.
pub fn client_with(mode: Cafix, args: &[&str], env: &[(&str, &str)], mounts: &str) -> Output {
    Client::new(&world().machine, mode, args).envs(env).mounts(mounts).run()
}

/// `openssl s_server -www` on loopback with a leaf signed by `ca` (the leaf only).
pub fn server(ca: &Ca, name: &str) -> TlsServer {
    let dir = &world().machine.dir;
    let (cert, key) = make_leaf(dir, name, ca);
    s_server(&cert, &key, "-www", dir)
}

/// The server of the world's local CA.
pub fn local_server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| server(&world().local_ca, "local-leaf"))
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
    let venv = super::target_dir().join(name);
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
