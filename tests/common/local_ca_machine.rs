//! What the local-CA scenarios (scenario_local_cas.rs, scenario_nss.rs)
//! share: throw-away CAs and `localhost` leaves made with the `openssl`
//! command, and the overlay on `/etc` under which a CA is installed the
//! documented way (`update-ca-certificates`) without touching the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{clear_env, path_str, random_hex};

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

/// Installs the anchor directory `anchors` as the administrator does: in a
/// private mount namespace whose `/etc` is an overlay (under `dir`), bound
/// over `/usr/local/share/ca-certificates`, `update-ca-certificates --fresh`;
/// the `/etc/ssl/certs` it produced, copied to `dir/certs`.
pub fn install_anchors(dir: &Path, anchors: &Path) -> PathBuf {
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
    certs
}

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
