//! The harness of the scenario tests: a throw-away PKI, local HTTPS servers,
//! the test clients, and broken trust layouts built in private mount
//! namespaces.
//!
//! A [`Scenario`] is a directory that is bind-mounted over `/etc/ssl/certs`
//! inside a private mount namespace (`unshare -m --propagation private`) for
//! each command it runs; the host's `/etc/ssl/certs` is never touched. By
//! default it holds exactly:
//!
//! - `ca-certificates.crt`: the machine's real system bundle with the test
//!   root appended, so the test root *is* in the system bundle;
//! - `<unrelated hash>.0`: one valid c_rehash-style entry of an unrelated CA,
//!   so Qt sees a hash-named file and switches to on-demand lookup.
//!
//! The test root's own `<hash>.0` is missing: the situation libcafix.so
//! repairs. Variants add a broken symlink, a colliding `.0` entry, or an
//! application-private CA directory.
//!
//! Everything needs root, `unshare`, `setpriv`, `mount`, the `openssl` command, a C and
//! C++ compiler, libssl-dev and the Qt 5/6 development packages. A missing
//! piece fails the test with a message; nothing is ever skipped.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The trust directory every scenario replaces.
pub const TRUST_DIR: &str = "/etc/ssl/certs";
/// The system bundle, as seen inside a scenario.
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Qt's text for `QSslError::UnableToGetLocalIssuerCertificate`.
pub const QT_LOCAL_ISSUER_ERROR: &str = "The issuer certificate of a locally looked up certificate could not be found";
/// OpenSSL's text for `X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY` (20).
pub const OPENSSL_LOCAL_ISSUER_ERROR: &str = "unable to get local issuer certificate";

/// How long a client may run before the harness kills it and fails.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to accept connections.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

// Each harness stands alone; a test that uses two of them loads this twice.
#[allow(clippy::duplicate_mod)]
#[path = "../shared_build/mod.rs"]
mod shared_build;
#[allow(clippy::duplicate_mod)]
#[path = "../shared_env/mod.rs"]
mod shared_env;
#[allow(unused_imports)]
pub use shared_env::{clear_env, needs_other_arch, needs_real_root, real_root, skip, CLEARED_ENV};

pub mod local_ca_machine;

/// What the namespace wrapper prints to stderr once the bind mount is in
/// place; the harness requires it and strips it from the output.
const NAMESPACE_READY: &str = "cafix-harness: mount namespace ready";

/// The wrapper run by `unshare`: `$1` is the directory to mount over
/// `/etc/ssl/certs`, the rest is the command; `CAFIX_HARNESS_BINDS` holds
/// more bind mounts, one `source|target` a line. The preload is set only
/// for the final `exec`, so neither `unshare`, `sh` nor `mount` runs with it.
const NAMESPACE_SCRIPT: &str = r#"set -e
mount --bind "$1" /etc/ssl/certs
if [ -n "${CAFIX_HARNESS_BINDS-}" ]; then
  printf '%s\n' "$CAFIX_HARNESS_BINDS" | while IFS='|' read -r src dst; do mount --bind "$src" "$dst"; done
fi
unset CAFIX_HARNESS_BINDS
echo 'cafix-harness: mount namespace ready' >&2
shift
if [ -n "${CAFIX_HARNESS_PRELOAD-}" ]; then LD_PRELOAD=$CAFIX_HARNESS_PRELOAD; export LD_PRELOAD; fi
unset CAFIX_HARNESS_PRELOAD
exec "$@"
"#;

// ---------------------------------------------------------------------------
// Paths and helpers
// ---------------------------------------------------------------------------

/// The repository root (the root crate's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the repository
/// root if relative) or `<repo>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// This test process's scratch directory, `<target>/cafix-tests/rehash-<pid>`.
/// Directories of earlier runs whose process is gone are removed first.
pub fn work_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = target_dir().join("cafix-tests");
        fs::create_dir_all(&base).unwrap_or_else(|e| panic!("cannot create {}: {e}", base.display()));
        if let Ok(entries) = fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("rehash-").and_then(|p| p.parse::<u32>().ok()) {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
        }
        let dir = base.join(format!("rehash-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        dir
    })
}

/// A fresh, unique directory under [`work_root`].
pub fn unique_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = work_root().join(format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Random lowercase hex, `len` characters (no dependency needed).
pub fn random_hex(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        hasher.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(len);
    out
}

pub fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
}

/// Runs the `openssl` command; its stdout, or a panic with its stderr.
pub fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .env_remove("OPENSSL_CONF")
        .output()
        .unwrap_or_else(|e| panic!("the openssl command must be installed (apt-get install openssl): {e}"));
    assert!(
        out.status.success(),
        "openssl {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("openssl printed non-UTF-8")
}

// ---------------------------------------------------------------------------
// PKI
// ---------------------------------------------------------------------------

/// One certificate of the test PKI.
#[derive(Debug, Clone)]
pub struct Cert {
    /// PEM certificate (only this certificate).
    pub cert: PathBuf,
    /// PEM private key (unencrypted).
    pub key: PathBuf,
    /// The subject's common name.
    pub cn: String,
    /// The subject as OpenSSL prints it in RFC 2253 order (`O=...,CN=...`).
    pub subject: String,
    /// `openssl x509 -subject_hash`: 8 lowercase hex digits.
    pub hash: String,
}

impl Cert {
    /// The certificate's PEM text.
    pub fn pem(&self) -> String {
        fs::read_to_string(&self.cert).unwrap_or_else(|e| panic!("{}: {e}", self.cert.display()))
    }
}

/// The per-process test PKI (see [`pki`]).
#[derive(Debug)]
pub struct Pki {
    pub dir: PathBuf,
    /// `CN=cafix Test Root CA <random>, O=cafix tests`: appended to the
    /// scenarios' system bundle, its hash entry missing.
    pub root: Cert,
    /// Signed by `root`; sent by the server.
    pub intermediate: Cert,
    /// `CN=localhost`, SAN DNS:localhost and IP:127.0.0.1, signed by `intermediate`.
    pub leaf: Cert,
    /// What the server sends: leaf + intermediate (never the root).
    pub server_chain: PathBuf,
    /// A self-signed CA unrelated to everything: the one valid hash entry.
    pub unrelated: Cert,
    /// A self-signed CA stored under the *root's* hash name (`.0` collision).
    pub decoy: Cert,
    /// The application-private CA that issues client certificates.
    pub client_ca: Cert,
    /// A client certificate from `client_ca` (`cert` holds only the leaf).
    pub client: Cert,
    /// A client certificate signed by the test root: valid for the system
    /// bundle, but not for an application's private CA directory.
    pub rogue_client: Cert,
    /// The machine's real system bundle with `root` appended.
    pub bundle: PathBuf,
}

const OPENSSL_CNF: &str = r#"[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only

[dn]
CN = unused

[v3_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"#;

struct PkiWriter {
    dir: PathBuf,
    cnf: PathBuf,
}

impl PkiWriter {
    fn finish(&self, name: &str, cn: &str) -> Cert {
        let cert = self.dir.join(format!("{name}.pem"));
        let key = self.dir.join(format!("{name}.key"));
        let c = path_str(&cert);
        let subject = openssl(&["x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", c]);
        let subject = subject.trim().trim_start_matches("subject=").to_string();
        let hash = openssl(&["x509", "-noout", "-subject_hash", "-in", c])
            .trim()
            .to_string();
        assert!(
            hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "odd subject hash {hash:?}"
        );
        Cert {
            cert,
            key,
            cn: cn.to_string(),
            subject,
            hash,
        }
    }

    /// A self-signed CA.
    #[rustfmt::skip]
    fn self_signed(&self, name: &str, cn: &str, org: &str) -> Cert {
        let cert = self.dir.join(format!("{name}.pem"));
        let key = self.dir.join(format!("{name}.key"));
        openssl(&[
            "req", "-x509", "-config", path_str(&self.cnf), "-extensions", "v3_root",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "3",
            "-set_serial", &format!("0x{}", random_hex(16)),
            "-subj", &format!("/CN={cn}/O={org}"),
            "-keyout", path_str(&key), "-out", path_str(&cert),
        ]);
        self.finish(name, cn)
    }

    /// A certificate with extensions `section`, signed by `issuer`.
    #[rustfmt::skip]
    fn signed(&self, name: &str, subj: &str, cn: &str, section: &str, issuer: &Cert) -> Cert {
        let cert = self.dir.join(format!("{name}.pem"));
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        openssl(&[
            "req", "-new", "-config", path_str(&self.cnf),
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", subj, "-keyout", path_str(&key), "-out", path_str(&csr),
        ]);
        openssl(&[
            "x509", "-req", "-in", path_str(&csr), "-days", "2",
            "-CA", path_str(&issuer.cert), "-CAkey", path_str(&issuer.key),
            "-set_serial", &format!("0x{}", random_hex(16)),
            "-extfile", path_str(&self.cnf), "-extensions", section,
            "-out", path_str(&cert),
        ]);
        self.finish(name, cn)
    }
}

/// The test PKI of this process, generated on first use with the `openssl`
/// command into `<work root>/pki`: fresh keys and a random root name per run.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = work_root().join("pki");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let cnf = dir.join("openssl.cnf");
        fs::write(&cnf, OPENSSL_CNF).unwrap();
        let w = PkiWriter { dir: dir.clone(), cnf };
        let tag = random_hex(8);

        let root_cn = format!("cafix Test Root CA {tag}");
        let root = w.self_signed("root", &root_cn, "cafix tests");
        let intermediate_cn = format!("cafix Test Intermediate CA {tag}");
        let intermediate = w.signed(
            "intermediate",
            &format!("/CN={intermediate_cn}/O=cafix tests"),
            &intermediate_cn,
            "v3_intermediate",
            &root,
        );
        let leaf = w.signed(
            "leaf",
            "/CN=localhost/O=cafix tests",
            "localhost",
            "v3_server",
            &intermediate,
        );
        let server_chain = dir.join("server-chain.pem");
        fs::write(&server_chain, leaf.pem() + &intermediate.pem()).unwrap();

        let unrelated = w.self_signed("unrelated", &format!("cafix Unrelated CA {tag}"), "cafix tests");
        let decoy = w.self_signed("decoy", &format!("cafix Decoy CA {tag}"), "cafix tests");
        let client_ca = w.self_signed("client-ca", &format!("cafix App Client CA {tag}"), "cafix app");
        let client_cn = format!("cafix app client {tag}");
        let client = w.signed(
            "client",
            &format!("/CN={client_cn}/O=cafix app"),
            &client_cn,
            "v3_client",
            &client_ca,
        );
        let rogue_cn = format!("cafix rogue client {tag}");
        let rogue_client = w.signed(
            "rogue-client",
            &format!("/CN={rogue_cn}/O=cafix tests"),
            &rogue_cn,
            "v3_client",
            &root,
        );

        for (a, b) in [
            (&root, &unrelated),
            (&root, &decoy),
            (&root, &intermediate),
            (&root, &client_ca),
        ] {
            assert_ne!(
                a.hash, b.hash,
                "subject hash collision between {} and {}; rerun",
                a.cn, b.cn
            );
        }

        let real = fs::read_to_string(SYSTEM_BUNDLE).unwrap_or_else(|e| {
            panic!("the machine's system bundle {SYSTEM_BUNDLE} is needed (apt-get install ca-certificates): {e}")
        });
        assert!(
            real.contains("-----BEGIN CERTIFICATE-----"),
            "{SYSTEM_BUNDLE} holds no certificate"
        );
        let bundle = dir.join("ca-certificates.crt");
        let mut text = real;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&root.pem());
        fs::write(&bundle, text).unwrap();

        Pki {
            dir,
            root,
            intermediate,
            leaf,
            server_chain,
            unrelated,
            decoy,
            client_ca,
            client,
            rogue_client,
            bundle,
        }
    })
}

// ---------------------------------------------------------------------------
// Builds: the shim and the C/C++ clients
// ---------------------------------------------------------------------------

/// `libcafix.so` (with `libcafix_engine.so` beside it), built once per process.
pub fn shim() -> &'static Path {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| shared_build::build_shim(&repo_root(), &target_dir()))
}

/// The compiled clients of `c-tests/`.
#[derive(Debug)]
pub struct Clients {
    /// `qt5_fetch URL`: QNetworkAccessManager on Qt 5.
    pub qt5: PathBuf,
    /// `qt6_fetch URL`: the same source on Qt 6.
    pub qt6: PathBuf,
    /// `openssl_client MODE LOCATION HOST PORT [CERT KEY]`, linked to libssl.
    pub openssl: PathBuf,
    /// The same, with libssl.so.3/libcrypto.so.3 dlopen()ed (RTLD_LOCAL) and
    /// every function taken with dlsym().
    pub dlopen: PathBuf,
    /// The same, opening `libcrypto.so` then `libssl.so` as Debian's Qt 5/6
    /// do when libssl-dev is installed.
    pub dlopen_unversioned: PathBuf,
    /// `side_by_side_client CRYPTO_A SSL_A CRYPTO_B SSL_B MODE LOCATION HOST
    /// PORT`: two OpenSSL versions dlopen()ed RTLD_LOCAL into one process.
    pub side_by_side: PathBuf,
}

/// Builds the clients once per process: `make -C c-tests OUT=<target>/c-tests`.
pub fn clients() -> &'static Clients {
    static CLIENTS: OnceLock<Clients> = OnceLock::new();
    CLIENTS.get_or_init(|| {
        let out = target_dir().join("c-tests");
        let result = Command::new("make")
            .arg("-C")
            .arg(repo_root().join("c-tests"))
            .arg(format!("OUT={}", out.display()))
            .output()
            .unwrap_or_else(|e| panic!("make must be installed (apt-get install make): {e}"));
        assert!(
            result.status.success(),
            "building the test clients failed (needs g++, libssl-dev, qtbase5-dev, qt6-base-dev, pkg-config):\n{}\n{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
        let clients = Clients {
            qt5: out.join("qt5_fetch"),
            qt6: out.join("qt6_fetch"),
            openssl: out.join("openssl_client"),
            dlopen: out.join("dlopen_client"),
            dlopen_unversioned: out.join("dlopen_client_unversioned"),
            side_by_side: out.join("side_by_side_client"),
        };
        for bin in [
            &clients.qt5,
            &clients.qt6,
            &clients.openssl,
            &clients.dlopen,
            &clients.dlopen_unversioned,
            &clients.side_by_side,
        ] {
            assert!(bin.is_file(), "{} is missing after make", bin.display());
        }
        clients
    })
}

/// The clients of `c-tests/build-openssl-clients.sh`, linked to OpenSSL
/// built from the `openssl-src` crate's sources with its default
/// `OPENSSLDIR=/usr/local/ssl` (see [`openssl_builds`]).
#[derive(Debug)]
pub struct OpensslBuilds {
    /// `default_paths_client-1.1.1`: OpenSSL 1.1.1 shared libraries.
    pub shared_111: PathBuf,
    /// `default_paths_client-4-static`: OpenSSL 4.x static, glibc dynamic.
    pub openssl_static: PathBuf,
    /// `default_paths_client-4-fullstatic`: OpenSSL 4.x and glibc static.
    pub fullstatic: PathBuf,
    /// The 1.1.1 installation (`lib/libssl.so.1.1`, `lib/libcrypto.so.1.1`).
    pub prefix_111: PathBuf,
}

/// Builds OpenSSL 1.1.1 and 4.x once per machine (cached by
/// `c-tests/build-openssl.sh` under `~/.cache/cafix-tests`) and the clients
/// once per test process, into `<target>/openssl-clients`.
pub fn openssl_builds() -> &'static OpensslBuilds {
    static BUILT: OnceLock<OpensslBuilds> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = target_dir().join("openssl-clients");
        let result = Command::new(repo_root().join("c-tests/build-openssl-clients.sh"))
            .arg(&out)
            .output()
            .unwrap_or_else(|e| panic!("cannot run c-tests/build-openssl-clients.sh: {e}"));
        assert!(
            result.status.success(),
            "building the OpenSSL clients failed (needs gcc, make, perl, libc6-dev, cargo):\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
        let prefix = Command::new(repo_root().join("c-tests/build-openssl.sh"))
            .arg("1.1.1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run c-tests/build-openssl.sh: {e}"));
        assert!(prefix.status.success(), "c-tests/build-openssl.sh 1.1.1 failed");
        let builds = OpensslBuilds {
            shared_111: out.join("default_paths_client-1.1.1"),
            openssl_static: out.join("default_paths_client-4-static"),
            fullstatic: out.join("default_paths_client-4-fullstatic"),
            prefix_111: PathBuf::from(String::from_utf8(prefix.stdout).unwrap().trim()),
        };
        for file in [
            &builds.shared_111,
            &builds.openssl_static,
            &builds.fullstatic,
            &builds.prefix_111.join("lib/libssl.so.1.1"),
            &builds.prefix_111.join("lib/libcrypto.so.1.1"),
        ] {
            assert!(file.is_file(), "{} is missing", file.display());
        }
        builds
    })
}

/// The Python used for the Python client: `/usr/bin/python3` (Debian's),
/// checked to import an `_ssl` that links the system's libssl.
pub fn python3() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = PathBuf::from("/usr/bin/python3");
        assert!(python.exists(), "/usr/bin/python3 is missing (apt-get install python3)");
        let out = Command::new(&python)
            .args([
                "-I",
                "-c",
                "import ssl, sys, _ssl; print(getattr(_ssl, '__file__', sys.executable)); print(ssl.OPENSSL_VERSION)",
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run /usr/bin/python3: {e}"));
        assert!(
            out.status.success(),
            "/usr/bin/python3 has no ssl module: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let module = text.lines().next().unwrap_or_default().to_string();
        let ldd = Command::new("ldd")
            .arg(&module)
            .output()
            .expect("ldd must be installed");
        let ldd = String::from_utf8_lossy(&ldd.stdout).into_owned();
        let libssl = ldd
            .lines()
            .find(|l| l.contains("libssl.so"))
            .and_then(|l| l.split("=>").nth(1))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("{module} links no libssl:\n{ldd}"));
        let real = fs::canonicalize(libssl).unwrap();
        assert!(
            real.starts_with("/usr/lib") && !real.starts_with("/usr/local"),
            "{module} uses {} ({}), not the system OpenSSL",
            real.display(),
            text.lines().nth(1).unwrap_or_default()
        );
        python
    })
}

/// The Python client, run as `python3 -I -c PYTHON_CLIENT LOCATION HOST
/// PORT`: `ssl.create_default_context(capath=LOCATION)` (no cafile, so no
/// defaults are loaded), or `cafile=FILE` when LOCATION is `cafile=FILE`;
/// SNI and host name `localhost`, `GET /index.txt`. Prints `OK <status
/// line>` or `ERROR: <exception>` (exit 1).
pub const PYTHON_CLIENT: &str = r#"
import socket, ssl, sys
location, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
kind, path = location.split("=", 1) if location.startswith("cafile=") else ("capath", location)
print(f"python_client: {sys.executable} {ssl.OPENSSL_VERSION}, {kind} {path}", file=sys.stderr)
try:
    ctx = ssl.create_default_context(**{kind: path})
    with socket.create_connection((host, port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"GET /index.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
            line = tls.recv(256).split(b"\r\n")[0].decode()
    print("OK", line)
except Exception as e:
    print(f"ERROR: {e}")
    sys.exit(1)
"#;

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// What a command did.
pub struct RunOutput {
    /// The command line, for messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    /// Stderr without the harness's own namespace line.
    pub stderr: String,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout followed by stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The shim's log lines (`cafix[<pid>]: ...`) on stderr.
    pub fn cafix_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with("cafix[")).collect()
    }

    /// The shim's records of `event` when it logged JSON lines
    /// (`CAFIX_LOG_FORMAT=json`); a line that does not parse fails the test.
    pub fn json_records(&self, event: &str) -> Vec<serde_json::Value> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("{\"cafix\":"))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON record {l:?}: {e}\n{self}")))
            .filter(|r: &serde_json::Value| r["event"] == event)
            .collect()
    }
}

impl fmt::Debug for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\n{}\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

impl fmt::Display for RunOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

fn describe(program: &OsStr, args: &[OsString]) -> String {
    let mut s = program.to_string_lossy().into_owned();
    for a in args {
        s.push(' ');
        let a = a.to_string_lossy();
        if a.contains(char::is_whitespace) || a.is_empty() {
            s.push_str(&format!("'{}'", a.replace('\n', "\\n")));
        } else {
            s.push_str(&a);
        }
    }
    s
}

/// Checks and strips the namespace wrapper's line; panics if it never came.
fn strip_namespace_line(stderr: &str, command: &str, status: ExitStatus) -> String {
    if !stderr.lines().any(|l| l == NAMESPACE_READY) {
        panic!(
            "could not set up the mount namespace for `{command}` ({status}); the scenario tests need root, \
             `unshare` and `setpriv` (util-linux) and bind mounts:\n{stderr}"
        );
    }
    let mut out = String::new();
    for line in stderr.lines().filter(|l| *l != NAMESPACE_READY) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// A broken trust layout, see the module documentation.
pub struct Scenario {
    dir: PathBuf,
    certs: PathBuf,
    app_ca: Option<PathBuf>,
    /// More bind mounts: (source, target).
    binds: Vec<(PathBuf, PathBuf)>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// The default layout: the bundle with the test root appended and one
    /// unrelated valid hash entry; the root's hash entry is missing.
    pub fn new() -> Scenario {
        let pki = pki();
        let dir = unique_dir("scenario");
        let certs = dir.join("certs");
        fs::create_dir_all(&certs).unwrap();
        fs::copy(&pki.bundle, certs.join("ca-certificates.crt")).unwrap();
        fs::write(certs.join(format!("{}.0", pki.unrelated.hash)), pki.unrelated.pem()).unwrap();
        Scenario {
            dir,
            certs,
            app_ca: None,
            binds: Vec::new(),
        }
    }

    /// Removes the unrelated hash entry: only the bundle is left, so Qt does
    /// not switch to on-demand lookup (a control case).
    pub fn without_hash_entries(self) -> Self {
        fs::remove_file(self.certs.join(format!("{}.0", pki().unrelated.hash))).unwrap();
        self
    }

    /// Adds `<root hash>.0 -> /nonexistent`, a dangling symlink.
    pub fn with_broken_root_symlink(self) -> Self {
        symlink("/nonexistent", self.certs.join(format!("{}.0", pki().root.hash))).unwrap();
        self
    }

    /// Puts a different, valid CA (the decoy) under the root's hash name
    /// `<root hash>.0`, as a genuine hash collision would: the root can only
    /// be found as `<root hash>.1`.
    pub fn with_root_hash_collision(self) -> Self {
        fs::write(self.certs.join(format!("{}.0", pki().root.hash)), pki().decoy.pem()).unwrap();
        self
    }

    /// Adds any file to the replaced `/etc/ssl/certs`.
    pub fn with_file(self, name: &str, contents: impl AsRef<[u8]>) -> Self {
        fs::write(self.certs.join(name), contents).unwrap();
        self
    }

    /// Creates an application-private CA directory (outside every trust
    /// location) holding only the client CA's hash entry; see
    /// [`Scenario::app_ca_dir`].
    pub fn with_app_ca_dir(mut self) -> Self {
        let app = self.dir.join("appca");
        fs::create_dir_all(&app).unwrap();
        fs::write(app.join(format!("{}.0", pki().client_ca.hash)), pki().client_ca.pem()).unwrap();
        self.app_ca = Some(app);
        self
    }

    /// Binds `source` over `target` too (a directory of the scenario over
    /// an anchor directory, say) for each command the scenario runs.
    pub fn with_bind(mut self, source: &Path, target: &str) -> Self {
        self.binds.push((source.to_path_buf(), PathBuf::from(target)));
        self
    }

    /// The application-private CA directory ([`Scenario::with_app_ca_dir`]).
    pub fn app_ca_dir(&self) -> &Path {
        self.app_ca
            .as_deref()
            .expect("Scenario::with_app_ca_dir() was not called")
    }

    /// The directory that replaces `/etc/ssl/certs`.
    pub fn certs_dir(&self) -> &Path {
        &self.certs
    }

    /// The scenario's own scratch directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A `Command` running `program args` in a private mount namespace with
    /// this scenario over `/etc/ssl/certs`. The environment is cleared of
    /// [`CLEARED_ENV`] and every `CAFIX_*`; with `preload`, the program gets
    /// `LD_PRELOAD=<libcafix.so>` and `CAFIX_LOG=info`; `env` comes last.
    pub fn command<S: AsRef<OsStr>>(
        &self,
        program: impl AsRef<OsStr>,
        args: &[S],
        env: &[(&str, &str)],
        preload: bool,
    ) -> (Command, String) {
        self.command_preloading(preload.then(shim), program, args, env)
    }

    /// [`Scenario::command`] with `library` preloaded (a build for another
    /// architecture, say), or none.
    pub fn command_preloading<S: AsRef<OsStr>>(
        &self,
        library: Option<&Path>,
        program: impl AsRef<OsStr>,
        args: &[S],
        env: &[(&str, &str)],
    ) -> (Command, String) {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
        let program = program.as_ref();
        let line = format!(
            "{}{}",
            if library.is_some() {
                "LD_PRELOAD=libcafix.so "
            } else {
                ""
            },
            describe(program, &args)
        );
        let mut cmd = Command::new("unshare");
        // setpriv: the program dies with the test thread that started it, so
        // an interrupted test run leaves no server behind.
        cmd.args(["-m", "--propagation", "private", "setpriv", "--pdeathsig", "KILL", "--"])
            .args(["sh", "-c", NAMESPACE_SCRIPT, "sh"])
            .arg(&self.certs)
            .arg(program)
            .args(&args);
        clear_env(&mut cmd);
        if !self.binds.is_empty() {
            let binds: Vec<String> = self
                .binds
                .iter()
                .map(|(src, dst)| format!("{}|{}", src.display(), dst.display()))
                .collect();
            cmd.env("CAFIX_HARNESS_BINDS", binds.join("\n"));
        }
        if let Some(library) = library {
            cmd.env("CAFIX_HARNESS_PRELOAD", library);
            cmd.env("CAFIX_LOG", "info");
        }
        cmd.envs(env.iter().copied());
        (cmd, line)
    }

    /// Runs a command in the scenario (see [`Scenario::command`]) and waits
    /// at most [`CLIENT_TIMEOUT`]; a hung command fails the test.
    pub fn run<S: AsRef<OsStr>>(
        &self,
        program: impl AsRef<OsStr>,
        args: &[S],
        env: &[(&str, &str)],
        preload: bool,
    ) -> RunOutput {
        self.run_preloading(preload.then(shim), program, args, env)
    }

    /// [`Scenario::run`] with `library` preloaded, or none.
    pub fn run_preloading<S: AsRef<OsStr>>(
        &self,
        library: Option<&Path>,
        program: impl AsRef<OsStr>,
        args: &[S],
        env: &[(&str, &str)],
    ) -> RunOutput {
        let (mut cmd, line) = self.command_preloading(library, program, args, env);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare (util-linux must be installed): {e}"));
        let stdout = spawn_reader(child.stdout.take().unwrap());
        let stderr = spawn_reader(child.stderr.take().unwrap());
        let deadline = Instant::now() + CLIENT_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait().unwrap();
                let out = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
                let err = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
                panic!("`{line}` did not finish within {CLIENT_TIMEOUT:?} ({status}):\n{out}\n{err}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
        let stderr = strip_namespace_line(&stderr, &line, status);
        RunOutput {
            command: line,
            status,
            stdout,
            stderr,
        }
    }

    /// `cafix trace [--fix] --json -o FILE -- COMMAND` in this scenario:
    /// the run and the JSON summary it wrote.
    pub fn trace(&self, fix: bool, command: &[&str]) -> (RunOutput, serde_json::Value) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let file = self
            .dir
            .join(format!("trace-{}.json", N.fetch_add(1, Ordering::Relaxed)));
        let mut args: Vec<&str> = vec!["trace"];
        if fix {
            args.push("--fix");
        }
        args.extend(["--json", "-o", path_str(&file), "--"]);
        args.extend_from_slice(command);
        let out = self.run(env!("CARGO_BIN_EXE_cafix"), &args, &[], false);
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("no summary ({e}):\n{out}"));
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{text}\n{out}"));
        (out, json)
    }

    /// Starts the HTTPS server in this scenario: `openssl s_server -HTTP` on
    /// a free loopback port, sending leaf + intermediate (not the root) and
    /// serving `/index.txt` (see [`SERVER_RESPONSE`]).
    pub fn start_server(&self) -> Server {
        self.spawn_server(&[], false, "server")
    }

    /// Starts `openssl s_server -HTTP` sending `cert` (a PEM file, leaf
    /// first, sent as it is: no chain is added) with `key`, plus `extra`
    /// arguments; with `preload` the shim runs inside the server. For the
    /// failure classes: an omitted intermediate, an expired, future-dated,
    /// wrongly named or self-signed leaf.
    pub fn start_server_with(&self, cert: &Path, key: &Path, extra: &[&str], preload: bool) -> Server {
        let mut args = vec!["-cert", path_str(cert), "-key", path_str(key)];
        args.extend_from_slice(extra);
        self.spawn_server_args(&args, preload, "custom-server")
    }

    /// Starts an HTTPS server that requires a client certificate and checks
    /// it against `capath` only (`-Verify 1 -verify_return_error -CApath
    /// <capath> -no-CAfile -no-CAstore`: s_server would otherwise also load
    /// OpenSSL's default file, the system bundle). With `preload` the shim
    /// runs inside the server.
    pub fn start_client_auth_server(&self, capath: &Path, preload: bool) -> Server {
        let capath = path_str(capath).to_string();
        self.spawn_server(
            &[
                "-Verify",
                "1",
                "-verify_return_error",
                "-CApath",
                &capath,
                "-no-CAfile",
                "-no-CAstore",
            ],
            preload,
            "mtls-server",
        )
    }

    /// The same, checking client certificates against the file `cafile`
    /// only (`-CAfile <cafile> -no-CApath -no-CAstore`).
    pub fn start_client_auth_server_with_file(&self, cafile: &Path, preload: bool) -> Server {
        let cafile = path_str(cafile).to_string();
        self.spawn_server(
            &[
                "-Verify",
                "1",
                "-verify_return_error",
                "-CAfile",
                &cafile,
                "-no-CApath",
                "-no-CAstore",
            ],
            preload,
            "mtls-server",
        )
    }

    fn spawn_server(&self, extra: &[&str], preload: bool, name: &str) -> Server {
        let pki = pki();
        #[rustfmt::skip]
        let mut args: Vec<&str> = vec![
            "-cert", path_str(&pki.leaf.cert), "-key", path_str(&pki.leaf.key),
            "-cert_chain", path_str(&pki.intermediate.cert),
        ];
        args.extend_from_slice(extra);
        self.spawn_server_args(&args, preload, name)
    }

    /// `openssl s_server -accept 127.0.0.1:<free port> -HTTP ARGS` serving
    /// [`SERVER_RESPONSE`], retried on another port if the port was taken.
    fn spawn_server_args(&self, extra: &[&str], preload: bool, name: &str) -> Server {
        let www = self.dir.join("www");
        fs::create_dir_all(&www).unwrap();
        fs::write(www.join("index.txt"), SERVER_RESPONSE).unwrap();
        let mut last_log = String::new();
        for attempt in 0..5 {
            let port = free_port();
            let accept = format!("127.0.0.1:{port}");
            let mut args: Vec<&str> = vec!["s_server", "-accept", &accept, "-HTTP"];
            args.extend_from_slice(extra);
            let stdout_log = self.dir.join(format!("{name}-{port}-{attempt}.out"));
            let stderr_log = self.dir.join(format!("{name}-{port}-{attempt}.err"));
            let (mut cmd, line) = self.command("openssl", &args, &[], preload);
            let child = cmd
                .current_dir(&www)
                .stdin(Stdio::null())
                .stdout(fs::File::create(&stdout_log).unwrap())
                .stderr(fs::File::create(&stderr_log).unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run unshare (util-linux must be installed): {e}"));
            let mut server = Server {
                child,
                port,
                command: line,
                stdout_log,
                stderr_log,
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(log) if log.contains("in use") => last_log = log,
                Err(log) => panic!("the test server did not start: `{}`\n{log}", server.command),
            }
        }
        panic!("no free port for the test server after 5 attempts:\n{last_log}");
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("scenario kept for inspection: {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a loopback port");
    listener.local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// What the test server answers to `GET /index.txt`: `s_server -HTTP` sends
/// a file as the complete response. A length is needed: with `-www` (no
/// Content-Length, HTTP/1.0) Qt 5 waits for the TCP close after the server's
/// close_notify while s_server waits for the client, until a timeout.
pub const SERVER_RESPONSE: &str =
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\ncafix ok\n";

/// A running `openssl s_server` in a scenario, killed on drop. It also dies
/// with the thread that started it (`setpriv --pdeathsig`): keep it on that
/// thread.
pub struct Server {
    child: Child,
    pub port: u16,
    pub command: String,
    stdout_log: PathBuf,
    stderr_log: PathBuf,
}

impl Server {
    /// `https://localhost:<port>/index.txt`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}/index.txt", self.port)
    }

    /// The server's stdout and stderr so far (without the namespace line).
    pub fn log(&self) -> String {
        let out = fs::read_to_string(&self.stdout_log).unwrap_or_default();
        let err = fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let err: String = err
            .lines()
            .filter(|l| *l != NAMESPACE_READY)
            .map(|l| format!("{l}\n"))
            .collect();
        format!("{out}{err}")
    }

    /// The shim's log lines in the server's output.
    pub fn cafix_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.starts_with("cafix["))
            .map(str::to_string)
            .collect()
    }

    /// Waits until s_server says ACCEPT and the port takes connections.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let err = fs::read_to_string(&self.stderr_log).unwrap_or_default();
                let log = format!("exited with {status}\n{}", self.log());
                if !err.lines().any(|l| l == NAMESPACE_READY) {
                    strip_namespace_line(&err, &self.command, status);
                }
                return Err(log);
            }
            let accepted = fs::read_to_string(&self.stdout_log)
                .unwrap_or_default()
                .lines()
                .any(|l| l == "ACCEPT");
            if accepted {
                let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
                if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("not ready within {SERVER_START_TIMEOUT:?}\n{}", self.log()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- server `{}` ---\n{}", self.command, self.log());
        }
    }
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/// The clients a scenario can be checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// `qt5_fetch https://localhost:<port>/`
    Qt5,
    /// `qt6_fetch https://localhost:<port>/`
    Qt6,
    /// `openssl_client capath /etc/ssl/certs localhost <port>`
    OpensslCapath,
    /// `dlopen_client capath /etc/ssl/certs localhost <port>`
    DlopenCapath,
    /// `dlopen_client_unversioned dir /etc/ssl/certs/ localhost <port>`:
    /// OpenSSL loaded and called as Qt 5.15/6 do it with OpenSSL 3
    /// (`SSL_CTX_load_verify_dir`, trailing slash, `libssl.so` dlopen()ed).
    DlopenQtStyle,
    /// `python3 -c PYTHON_CLIENT /etc/ssl/certs 127.0.0.1 <port>`
    PythonCapath,
}

impl Client {
    pub const ALL: [Client; 6] = [
        Client::Qt5,
        Client::Qt6,
        Client::OpensslCapath,
        Client::DlopenCapath,
        Client::DlopenQtStyle,
        Client::PythonCapath,
    ];

    /// The text the client prints when the root's hash entry is missing.
    pub fn local_issuer_error(self) -> &'static str {
        match self {
            Client::Qt5 | Client::Qt6 => QT_LOCAL_ISSUER_ERROR,
            _ => OPENSSL_LOCAL_ISSUER_ERROR,
        }
    }

    /// Runs the client against `server` inside `scenario`.
    pub fn run(self, scenario: &Scenario, server: &Server, preload: bool) -> RunOutput {
        let port = server.port.to_string();
        match self {
            Client::Qt5 => scenario.run(&clients().qt5, &[server.url()], &[], preload),
            Client::Qt6 => scenario.run(&clients().qt6, &[server.url()], &[], preload),
            Client::OpensslCapath => scenario.run(
                &clients().openssl,
                &["capath", TRUST_DIR, "localhost", &port],
                &[],
                preload,
            ),
            Client::DlopenCapath => scenario.run(
                &clients().dlopen,
                &["capath", TRUST_DIR, "localhost", &port],
                &[],
                preload,
            ),
            Client::DlopenQtStyle => scenario.run(
                &clients().dlopen_unversioned,
                &["dir", "/etc/ssl/certs/", "localhost", &port],
                &[],
                preload,
            ),
            Client::PythonCapath => scenario.run(
                python3(),
                &["-I", "-c", PYTHON_CLIENT, TRUST_DIR, "127.0.0.1", &port],
                &[],
                preload,
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------

/// The client failed, printing `expected` (and no `OK`).
pub fn assert_failed_with(out: &RunOutput, expected: &str) {
    assert!(!out.success(), "expected a failure, the client succeeded:\n{out}");
    assert!(
        out.stdout.contains("ERROR"),
        "the client failed without saying ERROR:\n{out}"
    );
    assert!(
        out.all().contains(expected),
        "expected the error text {expected:?}:\n{out}"
    );
}

/// The client succeeded and said `OK`.
pub fn assert_succeeded(out: &RunOutput) {
    assert!(
        out.success() && out.stdout.starts_with("OK"),
        "expected success:\n{out}"
    );
}

/// A shim log line (`cafix[...`) says it served `entry` (e.g. `4042bcee.0`)
/// with the certificate named `cn`.
pub fn assert_served(lines: &[&str], entry: &str, cn: &str, context: &dyn fmt::Display) {
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("cafix[") && l.contains(entry) && l.contains(cn) && l.contains("served")),
        "no shim log line says it served {entry} ({cn}):\n{context}"
    );
}
