//! A CA the administrator installed the documented way reaches programs that
//! carry their own copy of the public roots: requests and httpx (certifi),
//! pip (its vendored certifi), Node.js (roots compiled in; `node` and `npm`).
//!
//! The machine (tests/common/local_ca_machine.rs, shared with
//! scenario_java.rs) is built once per test process: the real
//! `update-ca-certificates` in a private mount namespace, every client in a
//! namespace of its own. The server is `openssl s_server` on loopback
//! with a leaf signed by the local CA. Every case is run both ways: rejected
//! without cafix, with the expected error, and trusted with it — or, for the
//! negative cases, still rejected with it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::local_ca_machine::*;
use common::{clear_env, path_str};

/// The Python side: the venv and the certifi copies in it.
struct Py {
    /// The venv with requests and httpx from PyPI.
    venv: PathBuf,
    /// The venv's certifi `cacert.pem`.
    certifi: PathBuf,
    /// pip's vendored certifi `cacert.pem`.
    pip_certifi: PathBuf,
}

fn python_env() -> &'static Py {
    static PY: OnceLock<Py> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = venv();
        let python = venv.join("bin/python");
        let certifi = python_value(&python, "import certifi; print(certifi.where())");
        let pip_certifi = python_value(&python, "from pip._vendor import certifi; print(certifi.where())");
        Py {
            venv,
            certifi,
            pip_certifi,
        }
    })
}

/// `target/local-cas-venv`: Debian's python3 with requests, httpx and pip
/// from PyPI (Debian's own pip wheel is patched to use the system bundle;
/// PyPI's vendors certifi's), made on first use and kept (pip needs the
/// network only then).
fn venv() -> PathBuf {
    pypi_venv("local-cas-venv", ".cafix-ready-2", &["requests", "httpx", "pip==24.0"])
}

fn python_value(python: &Path, code: &str) -> PathBuf {
    let out = run_checked(clear_env(Command::new(python).args(["-c", code])), code);
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Python: `VERIFY` is `certifi` (requests' default), or a file to pin.
const REQUESTS: &str = r#"
import sys, requests
url, verify = sys.argv[1], sys.argv[2]
try:
    r = requests.get(url, timeout=15, verify=True if verify == "certifi" else verify)
    print("OK", r.status_code)
except Exception as e:
    print("ERROR", e)
    sys.exit(1)
"#;

const HTTPX: &str = r#"
import sys, httpx
try:
    print("OK", httpx.get(sys.argv[1], timeout=15).status_code)
except Exception as e:
    print("ERROR", e)
    sys.exit(1)
"#;

const PIP_REQUESTS: &str = r#"
import sys
from pip._vendor import requests
try:
    print("OK", requests.get(sys.argv[1], timeout=15).status_code)
except Exception as e:
    print("ERROR", e)
    sys.exit(1)
"#;

const NODE: &str = r#"
require('https').get(process.argv[1], r => { console.log('OK', r.statusCode); process.exit(0); })
  .on('error', e => { console.log('ERROR', e.code, e.message); process.exit(1); });
"#;

fn python() -> String {
    path_str(&python_env().venv.join("bin/python")).to_string()
}

/// The record of the injection, naming the local CA and the file.
fn assert_added_line(out: &Output, file: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("local CA(s)") && l.contains(path_str(file)))
        .unwrap_or_else(|| panic!("no 'added local CA' line for {}:\n{stderr}", file.display()));
    assert!(line.contains(": info: added 1 local CA(s) ("), "{line}");
    assert!(line.contains(&world().local_ca.cn), "{line}");
    assert_eq!(
        stderr.matches("local CA(s)").count(),
        1,
        "one line per file, however many stores load it:\n{stderr}"
    );
}

const SELF_SIGNED_IN_CHAIN: &str = "certificate verify failed";

#[test]
fn requests_from_a_venv_trusts_the_local_ca_under_cafix_run_and_system_wide() {
    let url = local_server().url();
    let py = python();
    let args = [py.as_str(), "-c", REQUESTS, &url, "certifi"];
    assert_rejected(
        &client(Cafix::Without, &args, &[]),
        SELF_SIGNED_IN_CHAIN,
        "requests without cafix",
    );
    for mode in [Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[]);
        assert_trusted(&out, &format!("requests ({mode:?})"));
        assert_added_line(&out, &python_env().certifi);
    }
}

#[test]
fn httpx_from_a_venv_trusts_the_local_ca_under_cafix_run_and_system_wide() {
    let url = local_server().url();
    let py = python();
    let args = [py.as_str(), "-c", HTTPX, &url];
    assert_rejected(
        &client(Cafix::Without, &args, &[]),
        SELF_SIGNED_IN_CHAIN,
        "httpx without cafix",
    );
    for mode in [Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[]);
        assert_trusted(&out, &format!("httpx ({mode:?})"));
        assert_added_line(&out, &python_env().certifi);
    }
}

#[test]
fn pips_vendored_certifi_gets_the_local_ca() {
    let url = local_server().url();
    let py = python();
    let args = [py.as_str(), "-c", PIP_REQUESTS, &url];
    assert_rejected(
        &client(Cafix::Without, &args, &[]),
        SELF_SIGNED_IN_CHAIN,
        "pip's requests without cafix",
    );
    for mode in [Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[]);
        assert_trusted(&out, &format!("pip's requests ({mode:?})"));
        assert_added_line(&out, &python_env().pip_certifi);
    }
}

fn node() -> &'static str {
    assert!(
        Path::new("/usr/bin/node").exists(),
        "/usr/bin/node is missing (apt-get install nodejs)"
    );
    "/usr/bin/node"
}

/// Node.js's error for a server whose issuer it does not trust.
const NODE_UNTRUSTED: &str = "UNABLE_TO_VERIFY_LEAF_SIGNATURE";

#[test]
fn node_trusts_the_local_ca_with_no_variable_under_cafix_run_and_system_wide() {
    let url = local_server().url();
    let args = [node(), "-e", NODE, &url];
    assert_rejected(
        &client(Cafix::Without, &args, &[]),
        NODE_UNTRUSTED,
        "node without cafix",
    );
    for mode in [Cafix::Run, Cafix::SystemWide] {
        // Nothing is written for it (cafix run used to write a file in $XDG_RUNTIME_DIR/cafix).
        let runtime = world().machine.dir.join(format!("node-runtime-{mode:?}"));
        fs::create_dir_all(&runtime).unwrap();
        let out = client(mode, &args, &[("XDG_RUNTIME_DIR", path_str(&runtime))]);
        assert_trusted(&out, &format!("node ({mode:?}), nobody set NODE_EXTRA_CA_CERTS"));
        assert_eq!(
            fs::read_dir(&runtime).unwrap().count(),
            0,
            "{} is not empty",
            runtime.display()
        );
    }
    // NODE_EXTRA_CA_CERTS the user set is the user's: left as it is.
    let other = world().private_ca.cert.clone();
    for mode in [Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[("NODE_EXTRA_CA_CERTS", path_str(&other))]);
        assert_rejected(
            &out,
            NODE_UNTRUSTED,
            &format!("node with the user's own NODE_EXTRA_CA_CERTS ({mode:?})"),
        );
    }
}

#[test]
fn npm_trusts_the_local_ca_system_wide() {
    let url = local_server().url();
    // npm's own configuration files are empty: no `cafile` of the machine's.
    let config = world().machine.dir.join("npm-config");
    fs::create_dir_all(&config).unwrap();
    let (user, global) = (config.join("user"), config.join("global"));
    fs::write(&user, "").unwrap();
    fs::write(&global, "").unwrap();
    let env = [
        ("HOME", path_str(&config)),
        ("npm_config_userconfig", path_str(&user)),
        ("npm_config_globalconfig", path_str(&global)),
        ("PATH", "/usr/bin:/bin"),
    ];
    assert!(
        Path::new("/usr/bin/npm").exists(),
        "/usr/bin/npm is missing (apt-get install nodejs)"
    );
    let args = [
        "/usr/bin/npm",
        "ping",
        "--registry",
        &url,
        "--fetch-retries=0",
        "--fetch-timeout=15000",
    ];
    assert_rejected(
        &client(Cafix::Without, &args, &env),
        NODE_UNTRUSTED,
        "npm without cafix",
    );
    let out = client(Cafix::SystemWide, &args, &env);
    assert!(
        out.status.success() && text(&out).contains("PONG"),
        "npm ping under the system-wide preload:\n{}",
        text(&out)
    );
}

/// Prints what the process and a child it starts see of NODE_EXTRA_CA_CERTS,
/// then fetches the URL.
const NODE_ENV: &str = r#"
const { execSync } = require('child_process');
console.log('self=' + process.env.NODE_EXTRA_CA_CERTS);
console.log('child=' + execSync('echo ${NODE_EXTRA_CA_CERTS-unset}', { shell: '/bin/sh' }).toString().trim());
console.log('secure=' + (process.getuid() !== process.geteuid()));
require('https').get(process.argv[1], r => { console.log('OK', r.statusCode); process.exit(0); })
  .on('error', e => { console.log('ERROR', e.code, e.message); process.exit(1); });
"#;

#[test]
fn a_child_of_node_inherits_no_variable_and_secure_exec_gets_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let url = local_server().url();
    let out = client(Cafix::SystemWide, &[node(), "-e", NODE_ENV, &url], &[]);
    assert_trusted(&out, "node under the system-wide preload");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("self={}", cafix::locations::LOCAL_CAS_PEM.to_str().unwrap())),
        "{stdout}"
    );
    assert!(
        stdout.contains("child=unset"),
        "nothing is set in the environment: {stdout}"
    );

    // A machine without local CAs (nothing in the anchor directories): Node
    // is told nothing, so it does not build its root store at start.
    let empty = world().machine.dir.join("no-anchors");
    fs::create_dir_all(&empty).unwrap();
    let script = format!(
        "mount --bind {} /usr/local/share/ca-certificates && exec \"$0\" \"$@\"",
        path_str(&empty)
    );
    let out = client(
        Cafix::SystemWide,
        &["sh", "-c", &script, node(), "-e", NODE_ENV, &url],
        &[],
    );
    assert_rejected(&out, NODE_UNTRUSTED, "node on a machine without local CAs");
    assert!(text(&out).contains("self=undefined"), "{}", text(&out));

    // A set-user-ID copy of node run by nobody: AT_SECURE.
    let dir = world().machine.dir.join("setuid-node");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let setuid = dir.join("node");
    if !setuid.exists() {
        fs::copy(node(), &setuid).unwrap();
    }
    fs::set_permissions(&setuid, fs::Permissions::from_mode(0o4755)).unwrap();
    let args = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        path_str(&setuid),
        "-e",
        NODE_ENV,
        &url,
    ];
    let out = client(Cafix::SystemWide, &args, &[]);
    let all = text(&out);
    assert!(all.contains("secure=true"), "{all}");
    assert!(all.contains("self=undefined"), "secure-exec gets no answer: {all}");
    assert_rejected(&out, NODE_UNTRUSTED, "set-user-ID node");
}

#[test]
fn a_program_pinning_its_own_ca_file_gets_nothing_added() {
    let w = world();
    let url = local_server().url();
    let py = python();
    let pinned = path_str(&w.private_ca.cert);
    let args = [py.as_str(), "-c", REQUESTS, &url, pinned];
    for mode in [Cafix::Without, Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[]);
        assert_rejected(&out, SELF_SIGNED_IN_CHAIN, &format!("requests verify=FILE ({mode:?})"));
        assert!(!text(&out).contains("local CA(s)"), "{}", text(&out));
    }
    let empty = w.machine.dir.join("empty-capath");
    fs::create_dir_all(&empty).unwrap();
    let args = ["curl", "-sS", "--cacert", pinned, "--capath", path_str(&empty), &url];
    for mode in [Cafix::Without, Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[]);
        assert_rejected(
            &out,
            "curl: (60)",
            &format!("curl --cacert FILE --capath EMPTY ({mode:?})"),
        );
        assert!(!text(&out).contains("local CA(s)"), "{}", text(&out));
    }
}

#[test]
fn a_public_root_the_copy_dropped_is_not_added() {
    let w = world();
    let dropped = server(&w.dropped_root, "dropped-leaf");
    let url = dropped.url();
    // It is in the system bundle: curl, with the system's trust, accepts it …
    assert_trusted_curl(&client(
        Cafix::Without,
        &["curl", "-sS", "-o", "/dev/null", "-w", "OK %{http_code}\n", &url],
        &[],
    ));
    // … but the copy does not have it, and cafix adds only local CAs.
    let py = python();
    for mode in [Cafix::Without, Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &[py.as_str(), "-c", REQUESTS, &url, "certifi"], &[]);
        assert_rejected(
            &out,
            SELF_SIGNED_IN_CHAIN,
            &format!("requests to a dropped root ({mode:?})"),
        );
        let added: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("local CA(s)"))
            .map(str::to_string)
            .collect();
        assert!(added.iter().all(|l| !l.contains(&w.dropped_root.cn)), "{added:?}");
    }
}

fn assert_trusted_curl(out: &Output) {
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK 200"),
        "curl with the system's trust should accept the dropped root:\n{}",
        text(out)
    );
}

#[test]
fn a_ca_file_under_the_threshold_gets_nothing() {
    let w = world();
    let url = local_server().url();
    // 49 public roots: a company bundle, not a copy of the public roots.
    let certifi = fs::read_to_string(&python_env().certifi).unwrap();
    let sections: Vec<&str> = certifi.split_inclusive("-----END CERTIFICATE-----\n").collect();
    let small = w.machine.dir.join("forty-nine.pem");
    fs::write(&small, sections[..49].concat()).unwrap();
    let py = python();
    let args = [py.as_str(), "-c", REQUESTS, &url, path_str(&small)];
    for mode in [Cafix::Without, Cafix::Run, Cafix::SystemWide] {
        let out = client(mode, &args, &[]);
        assert_rejected(
            &out,
            SELF_SIGNED_IN_CHAIN,
            &format!("requests with 49 roots ({mode:?})"),
        );
        assert!(!text(&out).contains("local CA(s)"), "{}", text(&out));
    }
}

#[test]
fn the_copy_keeps_its_bytes_and_injection_can_be_turned_off() {
    let w = world();
    let url = local_server().url();
    let certifi = path_str(&python_env().certifi);
    let before = fs::read(&python_env().certifi).unwrap();
    let py = python();
    // Reads of the file as data see its real bytes, with cafix loaded and
    // after a store was given the local CA.
    let read_back = r#"
import sys, hashlib, requests
requests.get(sys.argv[1], timeout=15)
print(hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest())
"#;
    let out = client(Cafix::SystemWide, &[py.as_str(), "-c", read_back, &url, certifi], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let sha = |bytes: &[u8]| -> String {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sha(&before));
    let out = client(Cafix::SystemWide, &["sha256sum", certifi], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&sha(&before)),
        "{}",
        text(&out)
    );
    let copy = w.machine.dir.join("cp-of-certifi.pem");
    let out = client(Cafix::SystemWide, &["cp", certifi, path_str(&copy)], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fs::read(&copy).unwrap(), before);
    assert_eq!(
        fs::read(&python_env().certifi).unwrap(),
        before,
        "the copy itself is never changed"
    );

    // CAFIX_LOCAL_CAS=off: the program trusts exactly what it did before.
    let args = [py.as_str(), "-c", REQUESTS, &url, "certifi"];
    let out = client(Cafix::Run, &args, &[("CAFIX_LOCAL_CAS", "off")]);
    assert_rejected(&out, SELF_SIGNED_IN_CHAIN, "requests with CAFIX_LOCAL_CAS=off");
    assert!(!text(&out).contains("local CA(s)"), "{}", text(&out));
}

/// A setuid-root program that loads `COPY` into a store and verifies `LEAF`
/// offline: prints `secure=<AT_SECURE> verify=<1|0> <error>`.
const VERIFY_C: &str = r#"#include <stdio.h>
#include <sys/auxv.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argv[2], "r");
    X509 *leaf = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (!leaf) return 2;
    X509_STORE *store = X509_STORE_new();
    if (X509_STORE_load_locations(store, argv[1], NULL) != 1) return 3;
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    int rc = X509_verify_cert(ctx);
    printf("secure=%lu verify=%d %s\n", getauxval(AT_SECURE), rc,
           X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    return 0;
}
"#;

#[test]
fn secure_exec_counts_only_root_owned_local_ca_sources_and_ignores_the_environment() {
    use std::os::unix::fs::{chown, PermissionsExt};
    let w = world();
    let dir = w.machine.dir.join("secure");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let src = dir.join("verify.c");
    fs::write(&src, VERIFY_C).unwrap();
    let plain = dir.join("verify");
    run_checked(
        Command::new("cc").arg("-o").arg(&plain).arg(&src).arg("-lcrypto"),
        "cc verify.c -lcrypto (gcc, libssl-dev)",
    );
    let setuid = dir.join("verify-setuid");
    fs::copy(&plain, &setuid).unwrap();
    fs::set_permissions(&setuid, fs::Permissions::from_mode(0o4755)).unwrap();
    let copy = dir.join("copy.pem");
    fs::copy(&python_env().certifi, &copy).unwrap();
    fs::write(dir.join("openssl.cnf"), CNF).unwrap();
    let (local_leaf, _) = make_leaf(&dir, "secure-local-leaf", &w.local_ca);
    let (dropped_leaf, _) = make_leaf(&dir, "secure-dropped-leaf", &w.dropped_root);
    // The dropped root, named by /etc/cafix.conf in a file nobody owns: a
    // local CA for ordinary processes (it is in the system bundle), not for
    // secure-exec ones.
    let named = dir.join("named-by-conf.pem");
    fs::copy(&w.dropped_root.cert, &named).unwrap();
    chown(&named, Some(65534), Some(65534)).unwrap();
    let conf = format!("local_cas = {}", path_str(&named));
    let hostile = [
        ("CAFIX_LOCAL_CAS", "off"),
        ("CAFIX_BUNDLE", "/nonexistent/evil.pem"),
        ("SSL_CERT_FILE", "/nonexistent/evil.pem"),
        ("SSL_CERT_DIR", "/nonexistent"),
    ];
    let run = |bin: &Path, leaf: &Path, env: &[(&str, &str)]| -> String {
        let out = client(
            Cafix::SystemWide,
            &[
                "sh",
                "-c",
                "printf '%s\\n' \"$0\" > /etc/cafix.conf && exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$@\"",
                &conf,
                path_str(bin),
                path_str(&copy),
                path_str(leaf),
            ],
            env,
        );
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Ordinary process: both the anchor CA and the conf-named one count.
    assert!(run(&plain, &local_leaf, &[]).contains("secure=0 verify=1"));
    assert!(run(&plain, &dropped_leaf, &[]).contains("secure=0 verify=1"));
    // … and the environment can turn injection off.
    assert!(run(&plain, &local_leaf, &[("CAFIX_LOCAL_CAS", "off")]).contains("secure=0 verify=0"));
    // Secure-exec: the root-owned anchor still counts, hostile variables are
    // ignored, the file nobody owns does not count.
    let out = run(&setuid, &local_leaf, &hostile);
    assert!(out.contains("secure=1 verify=1"), "{out}");
    let out = run(&setuid, &dropped_leaf, &hostile);
    assert!(out.contains("secure=1 verify=0"), "{out}");
}

#[test]
fn an_openssl_with_its_own_copy_as_default_file_gets_the_local_ca() {
    // conda's shape: an OpenSSL whose OPENSSLDIR (here the built-in
    // /usr/local/ssl of OpenSSL 1.1.1 built from source) holds its own copy
    // of the public roots as cert.pem, loaded by SSL_CTX_set_default_verify_paths.
    let w = world();
    let builds = common::openssl_builds();
    let ssl_dir = w.machine.dir.join("own-openssldir");
    fs::create_dir_all(ssl_dir.join("certs")).unwrap();
    fs::copy(&python_env().certifi, ssl_dir.join("cert.pem")).unwrap();
    // /usr/local/ssl need not exist on the host: an overlay of /usr/local
    // makes the mount point in the namespace only.
    let layer = w.machine.dir.join("usr-local-layer");
    let _ = fs::remove_dir_all(&layer);
    fs::create_dir_all(layer.join("upper")).unwrap();
    fs::create_dir_all(layer.join("work")).unwrap();
    let mounts = format!(
        "mount -t overlay overlay -o lowerdir=/usr/local,upperdir={l}/upper,workdir={l}/work /usr/local\n\
         mkdir -p /usr/local/ssl\nmount --bind {d} /usr/local/ssl",
        l = path_str(&layer),
        d = path_str(&ssl_dir)
    );
    let port = local_server().port.to_string();
    let args = [path_str(&builds.shared_111), "127.0.0.1", port.as_str(), "localhost"];
    let out = client_with(Cafix::Without, &args, &[], &mounts);
    assert_rejected(
        &out,
        "ERROR: unable to get local issuer certificate (OpenSSL 1.1.1",
        "OpenSSL 1.1.1 defaults",
    );
    let out = client_with(Cafix::SystemWide, &args, &[], &mounts);
    assert!(
        out.status.success() && text(&out).contains("OK OpenSSL 1.1.1"),
        "{}",
        text(&out)
    );
    assert_added_line(&out, Path::new("/usr/local/ssl/cert.pem"));
}
