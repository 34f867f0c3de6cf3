//! NSS programs trust the administrator's local CAs under cafix, in memory,
//! and nothing else: Debian's Chromium (the system libnss3), Firefox ESR
//! (its own libnss3), NSS's tools (`tstclnt`, `vfychain`) and a C program
//! that initialises NSS in every way programs do (`c-tests/nss_client.c`).
//!
//! The machine is made once per test process with the helpers
//! scenario_local_cas.rs and scenario_java.rs use
//! (tests/common/local_ca_machine.rs): in a private mount namespace whose
//! `/etc` is an overlay, the local CA is installed the documented way
//! (`update-ca-certificates` over an anchor directory bound on
//! `/usr/local/share/ca-certificates`, which also holds a corrupt file and
//! a CA NSS refuses as an anchor, its key being 512-bit RSA), and a root
//! that is *not* a local CA is appended to the bundle alone. Every client then runs
//! in a namespace of its own with that `/etc/ssl/certs`, with a fresh HOME,
//! without cafix, under `cafix run`, or with libcafix.so in the overlay's
//! `/etc/ld.so.preload`. The servers are `openssl s_server -WWW` on
//! loopback, each page unique to its run; Firefox's verdict is read from a
//! plain-HTTP loopback beacon the page's image points at, and from the
//! screenshot it writes only for a page it loaded.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::local_ca_machine::{
    make_ca, make_leaf, run_checked, s_server, text, Ca, Cafix, Client, Machine, TlsServer, CNF, EC_KEY,
};
use common::path_str;

/// What Chromium says when it does not trust the server.
const CHROMIUM_UNTRUSTED: &str = "net::ERR_CERT_AUTHORITY_INVALID";
/// What NSS says of a certificate whose issuer it does not trust.
const NSS_UNKNOWN_ISSUER: &str = "SEC_ERROR_UNKNOWN_ISSUER";

struct World {
    /// `/etc/ssl/certs` after `update-ca-certificates`, plus the bundle-only root.
    machine: Machine,
    local_ca: Ca,
    /// In the system bundle, not a local CA.
    bundle_only: Ca,
    /// Never in the system bundle.
    private_ca: Ca,
    /// A local CA with a 512-bit RSA key: NSS refuses it as an anchor.
    refused_ca: Ca,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = common::unique_dir("nss");
        // World-readable: the sandboxed Chromium runs as an unprivileged user.
        set_mode(&dir, 0o755);
        fs::write(dir.join("openssl.cnf"), CNF).unwrap();
        let tag = common::random_hex(8);
        let local_ca = make_ca(&dir, "local-ca", &format!("cafix NSS Local CA {tag}"), &EC_KEY);
        let bundle_only = make_ca(
            &dir,
            "bundle-only",
            &format!("cafix NSS Bundle-only Root {tag}"),
            &EC_KEY,
        );
        let private_ca = make_ca(&dir, "private-ca", &format!("cafix NSS Private CA {tag}"), &EC_KEY);
        // A 512-bit RSA key: NSS (and Chromium) refuse what it signs.
        let refused_ca = make_ca(
            &dir,
            "refused-ca",
            &format!("cafix NSS Refused CA {tag}"),
            &["-newkey", "rsa:512"],
        );

        let anchors = dir.join("anchors");
        fs::create_dir_all(anchors.join("corp")).unwrap();
        fs::copy(&local_ca.cert, anchors.join("corp/corp-root.crt")).unwrap();
        fs::copy(&refused_ca.cert, anchors.join("corp/refused.crt")).unwrap();
        fs::write(
            anchors.join("corrupt.crt"),
            "-----BEGIN CERTIFICATE-----\nnot base64 at all\n",
        )
        .unwrap();
        let machine = Machine::install(&dir, &anchors);
        machine.append_to_bundle(&[&local_ca, &refused_ca], &bundle_only);
        World {
            machine,
            local_ca,
            bundle_only,
            private_ca,
            refused_ca,
        }
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// `args` on the world's machine with `home` as HOME.
fn client_with_home(mode: Cafix, home: &Path, args: &[&str]) -> Client<'static> {
    Client::new(&world().machine, mode, args).home(home)
}

/// libcafix.so and its engine copied where `nobody` can read them.
fn readable_shim() -> PathBuf {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let dir = world().machine.dir.join("shim");
        fs::create_dir_all(&dir).unwrap();
        let shim = common::shim();
        for name in ["libcafix.so", "libcafix_engine.so"] {
            fs::copy(shim.with_file_name(name), dir.join(name)).unwrap();
            set_mode(&dir.join(name), 0o755);
        }
        set_mode(&dir, 0o755);
        dir.join("libcafix.so")
    })
    .clone()
}

/// A fresh HOME (owned by `nobody` when `unprivileged`).
fn fresh_home(unprivileged: bool) -> PathBuf {
    let home = common::unique_dir("nss-home");
    set_mode(&home, 0o755);
    if unprivileged {
        run_checked(
            Command::new("chown").args(["-R", "nobody:nogroup", path_str(&home)]),
            "chown",
        );
    }
    home
}

// ---- servers ---------------------------------------------------------------

/// `openssl s_server -WWW` on loopback with a leaf signed by a CA, serving
/// the pages [`Server::page`] writes.
struct Server {
    /// Kept for its life: the server dies with it.
    _tls: TlsServer,
    port: u16,
    www: PathBuf,
}

impl Server {
    fn start(ca: &Ca, name: &str) -> Server {
        let w = world();
        let (cert, key) = make_leaf(&w.machine.dir, &format!("leaf-{name}"), ca);
        let www = w.machine.dir.join(format!("www-{name}"));
        fs::create_dir_all(&www).unwrap();
        let tls = s_server(&cert, &key, "-WWW", &www);
        let port = tls.port;
        Server { _tls: tls, port, www }
    }

    /// A new page whose text and beacon image are unique: (URL, marker).
    fn page(&self) -> (String, String) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let marker = format!(
            "cafix-nss-page-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let html = format!(
            "<html><body><p>{marker}</p><img src=\"http://127.0.0.1:{}/{marker}.png\"></body></html>\n",
            beacon().port
        );
        fs::write(self.www.join(format!("{marker}.html")), html).unwrap();
        (format!("https://localhost:{}/{marker}.html", self.port), marker)
    }
}

fn server(which: &str) -> &'static Server {
    static SERVERS: OnceLock<Mutex<BTreeMap<String, &'static Server>>> = OnceLock::new();
    let mut servers = SERVERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    servers.entry(which.to_string()).or_insert_with(|| {
        let w = world();
        let ca = match which {
            "local" => &w.local_ca,
            "bundle-only" => &w.bundle_only,
            "private" => &w.private_ca,
            "refused" => &w.refused_ca,
            _ => unreachable!(),
        };
        Box::leak(Box::new(Server::start(ca, which)))
    })
}

/// A plain-HTTP loopback server that records the paths asked of it.
struct Beacon {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

fn beacon() -> &'static Beacon {
    static BEACON: OnceLock<Beacon> = OnceLock::new();
    BEACON.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 2048];
                let n = stream.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                if let Some(path) = request.split_whitespace().nth(1) {
                    log.lock().unwrap().push(path.to_string());
                }
                let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
            }
        });
        Beacon { port, seen }
    })
}

fn beacon_saw(marker: &str) -> bool {
    let wanted = format!("/{marker}.png");
    beacon().seen.lock().unwrap().contains(&wanted)
}

// ---- what the browsers and tools say ----------------------------------------

fn chromium(mode: Cafix, home: &Path, url: &str, unprivileged: bool) -> Output {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing (apt-get install chromium)"
    );
    let profile = home.join("chromium-profile");
    let profile = format!("--user-data-dir={}", path_str(&profile));
    let mut args = vec!["chromium", "--headless"];
    if !unprivileged {
        args.push("--no-sandbox"); // root: Chromium refuses its sandbox
    }
    args.extend([
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &profile,
        "--dump-dom",
        url,
    ]);
    let client = client_with_home(mode, home, &args);
    if unprivileged {
        client.unprivileged(&readable_shim()).run()
    } else {
        client.run()
    }
}

fn assert_chromium_shows(out: &Output, marker: &str, what: &str) {
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(marker),
        "{what}: Chromium should show the page:\n{}",
        text(out)
    );
    assert!(!text(out).contains(CHROMIUM_UNTRUSTED), "{what}:\n{}", text(out));
}

fn assert_chromium_refuses(out: &Output, marker: &str, what: &str) {
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(marker) && text(out).contains(CHROMIUM_UNTRUSTED),
        "{what}: Chromium should refuse the server with {CHROMIUM_UNTRUSTED}:\n{}",
        text(out)
    );
}

/// The one line saying which local CAs NSS got.
fn assert_added_line(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("local CA(s)")).collect();
    assert_eq!(lines.len(), 1, "{what}: one line of added local CAs:\n{stderr}");
    let line = lines[0];
    assert!(line.contains(": info: added 2 local CA(s) ("), "{what}: {line}");
    assert!(line.contains(&world().local_ca.cn), "{what}: {line}");
    assert!(line.contains("nothing is written"), "{what}: {line}");
}

/// SHA-256 of every file under `dirs` (that exist), by path.
fn hashes(dirs: &[&Path]) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let sum = Command::new("sha256sum").arg(&path).output().unwrap();
                out.insert(path, String::from_utf8_lossy(&sum.stdout).into_owned());
            }
        }
    }
    out
}

fn new_nssdb(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    run_checked(
        Command::new("certutil").args(["-N", "-d", &format!("sql:{}", path_str(dir)), "--empty-password"]),
        "certutil -N (apt-get install libnss3-tools)",
    );
}

/// The certificates an NSS database holds (`certutil -L`).
fn nssdb_certificates(dir: &Path) -> String {
    let out = run_checked(
        Command::new("certutil").args(["-L", "-d", &format!("sql:{}", path_str(dir))]),
        "certutil -L",
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---- Chromium ----------------------------------------------------------------

#[test]
fn chromium_trusts_the_local_ca_under_cafix_run_and_system_wide_and_writes_nothing() {
    let server = server("local");
    for mode in Cafix::ALL {
        // A user NSS database that exists (Chromium's M146+ path) and the
        // older one, hashed before and after.
        let home = fresh_home(false);
        let dbs = [home.join(".local/share/pki/nssdb"), home.join(".pki/nssdb")];
        let dbs = [dbs[0].as_path(), dbs[1].as_path()];
        for db in dbs {
            new_nssdb(db);
        }
        let before = hashes(&dbs);
        let (url, marker) = server.page();
        let out = chromium(mode, &home, &url, false);
        if mode == Cafix::Without {
            assert_chromium_refuses(&out, &marker, "Chromium without cafix");
        } else {
            assert_chromium_shows(&out, &marker, &format!("Chromium ({mode:?})"));
            assert_added_line(&out, &format!("Chromium ({mode:?})"));
        }
        assert_eq!(hashes(&dbs), before, "{mode:?}: the NSS databases changed");
    }
}

#[test]
fn chromium_without_a_user_nss_database_gets_one_with_no_certificate_in_it() {
    let server = server("local");
    let home = fresh_home(false);
    let (url, marker) = server.page();
    let out = chromium(Cafix::Run, &home, &url, false);
    assert_chromium_shows(&out, &marker, "Chromium with no NSS database yet");
    // Chromium made its database; cafix put nothing in it.
    let db = home.join(".local/share/pki/nssdb");
    assert!(
        db.join("cert9.db").is_file(),
        "Chromium did not create {}",
        db.display()
    );
    let listed = nssdb_certificates(&db);
    assert!(!listed.contains("cafix"), "{listed}");
}

#[test]
fn chromium_keeps_its_root_store_under_cafix() {
    // A root the system bundle holds but the administrator did not install
    // as a local CA, and a private CA: refused with and without cafix.
    for which in ["bundle-only", "private", "refused"] {
        let server = server(which);
        for mode in [Cafix::Without, Cafix::Run] {
            let home = fresh_home(false);
            let (url, marker) = server.page();
            let out = chromium(mode, &home, &url, false);
            assert!(
                !String::from_utf8_lossy(&out.stdout).contains(&marker) && text(&out).contains("net::ERR_CERT_"),
                "{which} ({mode:?}): Chromium should refuse the server:\n{}",
                text(&out)
            );
        }
    }
}

#[test]
fn chromium_with_its_sandbox_an_existing_profile_and_an_unreadable_nss_database() {
    let server = server("local");
    let home = fresh_home(true);
    // The same profile, first without cafix, then with it: it exists by then.
    let (url, marker) = server.page();
    let out = chromium(Cafix::Without, &home, &url, true);
    assert_chromium_refuses(&out, &marker, "sandboxed Chromium without cafix");
    assert!(!text(&out).contains("No usable sandbox"), "{}", text(&out));
    let db = home.join(".local/share/pki/nssdb");
    let before = hashes(&[&db]);
    let (url, marker) = server.page();
    let out = chromium(Cafix::Run, &home, &url, true);
    assert_chromium_shows(&out, &marker, "sandboxed Chromium with an existing profile");
    assert_added_line(&out, "sandboxed Chromium");
    assert_eq!(hashes(&[&db]), before, "the NSS database changed");

    // A user NSS database the user can neither read nor write: Chromium
    // goes on without it, and so does cafix.
    let home = fresh_home(true);
    let db = home.join(".local/share/pki/nssdb");
    new_nssdb(&db);
    set_mode(&db, 0o000);
    let before = hashes(&[&db]);
    let (url, marker) = server.page();
    let out = chromium(Cafix::Run, &home, &url, true);
    set_mode(&db, 0o700);
    assert_chromium_shows(&out, &marker, "sandboxed Chromium, NSS database unreadable");
    assert_eq!(hashes(&[&db]), before, "the unreadable NSS database changed");
}

// ---- Firefox -----------------------------------------------------------------

/// Firefox ESR headless on `url` with `profile`: whether it wrote its
/// screenshot (it does only for a page it loaded). On a certificate error
/// it waits for good, so it gets 30 s (a page loads in a few).
fn firefox(mode: Cafix, home: &Path, profile: &Path, url: &str) -> (Output, bool) {
    assert!(
        Path::new("/usr/bin/firefox-esr").exists(),
        "/usr/bin/firefox-esr is missing (apt-get install firefox-esr)"
    );
    let shot = home.join(format!("shot-{}.png", common::random_hex(8)));
    let args = [
        "timeout",
        "--kill-after=5",
        "30",
        "firefox-esr",
        "--headless",
        "--no-remote",
        "--profile",
        path_str(profile),
        "--screenshot",
        path_str(&shot),
        url,
    ];
    let out = client_with_home(mode, home, &args).run();
    (out, shot.is_file())
}

/// A Firefox profile made and used once by Firefox itself, without cafix.
fn firefox_profile(home: &Path) -> PathBuf {
    let profile = home.join("firefox-profile");
    fs::create_dir_all(&profile).unwrap();
    let (out, _) = firefox(Cafix::Without, home, &profile, "about:blank");
    assert!(
        profile.join("cert9.db").is_file(),
        "Firefox made no profile:\n{}",
        text(&out)
    );
    profile
}

/// The profile's NSS files: its certificate and key databases, its module list.
fn profile_nss_hashes(profile: &Path) -> BTreeMap<PathBuf, String> {
    hashes(&[profile])
        .into_iter()
        .filter(|(path, _)| {
            let name = path.file_name().unwrap().to_string_lossy();
            ["cert9.db", "key4.db", "pkcs11.txt"].contains(&name.as_ref())
        })
        .collect()
}

#[test]
fn firefox_trusts_the_local_ca_under_cafix_run_and_system_wide_and_writes_nothing() {
    let server = server("local");
    for mode in Cafix::ALL {
        let home = fresh_home(false);
        let profile = firefox_profile(&home);
        let before = profile_nss_hashes(&profile);
        assert_eq!(before.len(), 3, "{before:?}");
        let (url, marker) = server.page();
        let (out, shot) = firefox(mode, &home, &profile, &url);
        if mode == Cafix::Without {
            assert!(
                !shot && !beacon_saw(&marker),
                "Firefox without cafix should refuse the server:\n{}",
                text(&out)
            );
        } else {
            assert!(
                shot && beacon_saw(&marker),
                "Firefox ({mode:?}) should load the page:\n{}",
                text(&out)
            );
            assert_added_line(&out, &format!("Firefox ({mode:?})"));
            assert!(text(&out).contains("/usr/lib/firefox-esr/libnss3.so"), "{}", text(&out));
        }
        assert_eq!(
            profile_nss_hashes(&profile),
            before,
            "{mode:?}: the profile's NSS files changed"
        );
    }
}

#[test]
fn firefox_keeps_its_built_in_roots_under_cafix() {
    let home = fresh_home(false);
    let profile = firefox_profile(&home);
    for which in ["bundle-only", "private"] {
        let (url, marker) = server(which).page();
        let (out, shot) = firefox(Cafix::Run, &home, &profile, &url);
        assert!(
            !shot && !beacon_saw(&marker),
            "{which}: Firefox under cafix should refuse the server:\n{}",
            text(&out)
        );
    }
}

// ---- NSS's tools ---------------------------------------------------------------

/// `tstclnt` asking `server` for a new page: its output and the page's marker.
fn tstclnt(mode: Cafix, server: &Server, extra: &[&str]) -> (Output, String) {
    let home = fresh_home(false);
    let (url, marker) = server.page();
    let request = home.join("request");
    fs::write(&request, format!("GET /{marker}.html HTTP/1.0\r\n\r\n")).unwrap();
    assert!(url.ends_with(&format!("/{marker}.html")));
    // tstclnt reads the request from its standard input.
    let script = format!("exec \"$@\" < {}", path_str(&request));
    let port = server.port.to_string();
    let mut args = vec![
        "sh",
        "-c",
        &script,
        "sh",
        "tstclnt",
        "-h",
        "localhost",
        "-p",
        &port,
        "-4",
    ];
    args.extend(extra);
    (client_with_home(mode, &home, &args).run(), marker)
}

#[test]
fn tstclnt_and_vfychain_with_built_in_roots_trust_the_local_ca() {
    let server = server("local");
    for mode in Cafix::ALL {
        // -D: no database; -b: NSS's built-in roots.
        let (out, marker) = tstclnt(mode, server, &["-D", "-b"]);
        if mode == Cafix::Without {
            assert!(
                text(&out).contains(NSS_UNKNOWN_ISSUER),
                "tstclnt without cafix:\n{}",
                text(&out)
            );
        } else {
            assert!(
                String::from_utf8_lossy(&out.stdout).contains(&marker),
                "tstclnt ({mode:?}):\n{}",
                text(&out)
            );
            assert_added_line(&out, &format!("tstclnt ({mode:?})"));
        }
    }
    let w = world();
    let (leaf, _) = make_leaf(&w.machine.dir, "vfychain-leaf", &w.local_ca);
    for mode in Cafix::ALL {
        let home = fresh_home(false);
        let out = client_with_home(mode, &home, &["vfychain", "-u", "1", "-a", path_str(&leaf)]).run();
        let said = text(&out);
        if mode == Cafix::Without {
            assert!(
                said.contains("issuer is not recognized"),
                "vfychain without cafix:\n{said}"
            );
        } else {
            assert!(said.contains("Chain is good!"), "vfychain ({mode:?}):\n{said}");
        }
    }
}

#[test]
fn tstclnt_with_only_its_own_database_gets_nothing_added() {
    // Its NSS has no built-in roots: its trust is its database, which cafix
    // never widens.
    let server = server("local");
    let db = common::unique_dir("nss-tstclnt-db");
    new_nssdb(&db);
    let before = hashes(&[&db]);
    let dbarg = format!("sql:{}", path_str(&db));
    for mode in Cafix::ALL {
        let (out, marker) = tstclnt(mode, server, &["-d", &dbarg]);
        assert!(
            text(&out).contains(NSS_UNKNOWN_ISSUER) && !String::from_utf8_lossy(&out.stdout).contains(&marker),
            "tstclnt -d ({mode:?}):\n{}",
            text(&out)
        );
        assert!(!text(&out).contains("local CA(s)"), "{}", text(&out));
    }
    assert_eq!(hashes(&[&db]), before);
}

#[test]
fn tstclnt_still_refuses_a_bundle_only_root_a_private_ca_and_a_ca_nss_refuses() {
    for which in ["bundle-only", "private", "refused"] {
        for mode in [Cafix::Without, Cafix::Run] {
            let (out, marker) = tstclnt(mode, server(which), &["-D", "-b"]);
            assert!(
                !out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(&marker),
                "tstclnt, {which} ({mode:?}) should refuse:\n{}",
                text(&out)
            );
            assert!(text(&out).contains("SEC_ERROR_"), "{}", text(&out));
            assert!(!text(&out).contains("panicked"), "{}", text(&out));
        }
    }
}

// ---- every way to initialise NSS ----------------------------------------------

fn nss_client() -> &'static Path {
    static CLIENT: OnceLock<PathBuf> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let out = common::target_dir().join("c-tests");
        let bin = out.join("nss_client");
        run_checked(
            Command::new("make")
                .arg("-C")
                .arg(common::repo_root().join("c-tests"))
                .arg(format!("OUT={}", out.display()))
                .arg(&bin),
            "make nss_client (needs gcc, pkg-config, libnss3-dev)",
        );
        bin
    })
}

fn local_leaf_der() -> &'static Path {
    static LEAF: OnceLock<PathBuf> = OnceLock::new();
    LEAF.get_or_init(|| {
        let w = world();
        let (pem, _) = make_leaf(&w.machine.dir, "nss-client-leaf", &w.local_ca);
        let der = w.machine.dir.join("nss-client-leaf.der");
        common::openssl(&["x509", "-in", path_str(&pem), "-outform", "DER", "-out", path_str(&der)]);
        der
    })
}

#[test]
fn nss_initialised_in_every_way_programs_do() {
    let client = path_str(nss_client()).to_string();
    let leaf = path_str(local_leaf_der()).to_string();
    // (mode, verdict and token count under cafix, lines of the whole output)
    let cases: [(&str, &str); 8] = [
        ("init", "verify: ok\ntoken: 1\n"),
        (
            "twice",
            "verify: ok\ntoken: 1\nroots: SEC_ERROR_UNKNOWN_PKCS11_ERROR\nverify: ok\ntoken: 1\n",
        ),
        ("readonly", "verify: ok\ntoken: 1\n"),
        ("context", "verify: ok\ntoken: 1\nshutdown: ok\n"),
        (
            "reinit",
            "verify: ok\ntoken: 1\nshutdown: ok\nverify: ok\ntoken: 1\nshutdown: ok\n",
        ),
        ("nodbroots", "verify: ok\ntoken: 1\n"),
        // The program's NSS has no built-in roots: nothing added.
        ("noroots", "verify: SEC_ERROR_UNKNOWN_ISSUER\ntoken: 0\n"),
        ("nodb", "verify: SEC_ERROR_UNKNOWN_ISSUER\ntoken: 0\n"),
    ];
    for (mode, expected) in cases {
        let db = common::unique_dir("nss-client-db");
        new_nssdb(&db);
        let before = hashes(&[&db]);
        let dbarg = format!("sql:{}", path_str(&db));
        let home = fresh_home(false);
        for cafix in Cafix::ALL {
            let out = client_with_home(cafix, &home, &[&client, mode, &leaf, &dbarg]).run();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let want = if cafix == Cafix::Without {
                expected
                    .replace("verify: ok", "verify: SEC_ERROR_UNKNOWN_ISSUER")
                    .replace("token: 1", "token: 0")
            } else {
                expected.to_string()
            };
            assert!(out.status.success(), "{mode} ({cafix:?}):\n{}", text(&out));
            assert_eq!(stdout, want, "{mode} ({cafix:?}):\n{}", text(&out));
            let added = String::from_utf8_lossy(&out.stderr).matches("local CA(s)").count();
            assert!(added <= 1, "{mode} ({cafix:?}): at most one line:\n{}", text(&out));
        }
        assert_eq!(hashes(&[&db]), before, "{mode}: the database changed");
    }
}

#[test]
fn a_program_that_never_initialises_nss_loads_nothing_of_cafix() {
    let home = fresh_home(false);
    for mode in [Cafix::Run, Cafix::SystemWide] {
        let out = client_with_home(
            mode,
            &home,
            &["sh", "-c", "grep -c libcafix_engine /proc/self/maps || true"],
        )
        .run();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "0",
            "{mode:?}:\n{}",
            text(&out)
        );
    }
}

#[test]
fn the_corrupt_anchor_file_is_said_once_and_the_refused_ca_changes_nothing() {
    // The world's anchor directory holds a corrupt file and a CA NSS
    // refuses; the local CA still reaches NSS, and the run says what was
    // skipped in one line.
    let client = path_str(nss_client()).to_string();
    let leaf = path_str(local_leaf_der()).to_string();
    let home = fresh_home(false);
    let db = common::unique_dir("nss-bad-db");
    new_nssdb(&db);
    let dbarg = format!("sql:{}", path_str(&db));
    let out = client_with_home(Cafix::Run, &home, &[&client, "init", &leaf, &dbarg]).run();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "verify: ok\ntoken: 1\n",
        "{}",
        text(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().filter(|l| l.contains("corrupt.crt")).count(),
        1,
        "one line about the corrupt file:\n{stderr}"
    );
    assert!(stderr.contains(&world().refused_ca.cn), "{stderr}");
}

// ---- the doctor ----------------------------------------------------------------

#[test]
fn the_doctor_lists_nss_stores_what_each_lacks_and_the_fixes_reading_them_only() {
    let w = world();
    let home = fresh_home(false);
    let chromium_db = home.join(".local/share/pki/nssdb");
    let profile = home.join(".mozilla/firefox/abc.default-esr");
    new_nssdb(&chromium_db);
    new_nssdb(&profile);
    // Chromium's database trusts the local CA (as `certutil -A` leaves it);
    // the Firefox profile does not.
    run_checked(
        Command::new("certutil").args([
            "-A",
            "-d",
            &format!("sql:{}", path_str(&chromium_db)),
            "-n",
            "corp",
            "-t",
            "C,,",
            "-i",
            path_str(&w.local_ca.cert),
        ]),
        "certutil -A",
    );
    let before = hashes(&[&chromium_db, &profile]);
    let cafix = env!("CARGO_BIN_EXE_cafix");

    let out = client_with_home(Cafix::Without, &home, &[cafix, "doctor", "--json"]).run();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", text(&out)));
    let stores = report["nss"]["stores"].as_array().expect("an nss.stores array");
    let store = |path: &Path| {
        stores
            .iter()
            .find(|s| s["path"] == path_str(path))
            .unwrap_or_else(|| panic!("{} not listed: {stores:?}", path.display()))
    };
    assert_eq!(store(&chromium_db)["app"], "chromium");
    // (The world's other local CA, the one NSS refuses, is lacking there.)
    let chromium_lacks = store(&chromium_db)["lacking"].to_string();
    assert!(!chromium_lacks.contains(&w.local_ca.cn), "{chromium_lacks}");
    let firefox = store(&profile);
    assert_eq!(firefox["app"], "firefox");
    let lacking: Vec<&str> = firefox["lacking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(lacking.contains(&w.local_ca.cn.as_str()), "{firefox}");
    let fixes = firefox["fixes"].to_string();
    assert!(
        fixes.contains(&format!("certutil -A -d sql:{}", path_str(&profile))),
        "{fixes}"
    );
    assert_eq!(report["nss"]["cafix_adds"], "cafix-run");
    let findings = report["findings"].to_string();
    assert!(findings.contains("nss-store-lacks-local-ca"), "{findings}");
    assert!(findings.contains("policies.json"), "{findings}");

    // `--ca`: where that one CA is trusted, NSS's stores included.
    let out = client_with_home(
        Cafix::Without,
        &home,
        &[cafix, "doctor", "--ca", path_str(&w.local_ca.cert)],
    )
    .run();
    let said = String::from_utf8_lossy(&out.stdout);
    let line = |needle: &str| {
        said.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line for {needle}:\n{said}"))
            .to_string()
    };
    assert!(said.contains("NSS databases and profiles"), "{said}");
    assert!(line(path_str(&chromium_db)).ends_with("yes"), "{said}");
    assert!(line(path_str(&profile)).contains("cafix adds it in memory"), "{said}");

    assert_eq!(
        hashes(&[&chromium_db, &profile]),
        before,
        "the doctor wrote to a database"
    );
}
