//! Programs' own root stores, for `cafix doctor`: certifi copies (and pip's
//! and botocore's), conda's `ssl/cacert.pem`, Java `cacerts` and Node.js'
//! compiled-in roots. Each is read and judged by the library's rule
//! (`local_cas::judge_copy`): a copy of the public roots that lacks a local
//! CA breaks its programs for servers under that CA; a store that is not a
//! copy is the program's own trust and is left alone.

pub mod find;
pub mod keystore;
pub mod proc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::doctor::verdict::{Finding, Severity};
use super::hash::system_config_text;
use super::style;
use crate::audit;
use crate::bundle::{BundleIndex, MAX_BUNDLE_BYTES};
use crate::config::{Config, SYSTEM_CONFIG_PATH};
use crate::local_cas::{self, AnchorSources, LocalCas, LOCAL_ANCHOR_DIRS};
use crate::locations::BUNDLE_PATHS;
use crate::pem::{self, PemItem};
use find::{Candidate, Places};
use proc::Outcome;

/// How long `node` may take to print its roots.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(3);

/// Prints `process.version`, whether this Node.js uses OpenSSL's default
/// store instead of its own roots (built with `--openssl-use-def-ca-store`),
/// then the compiled-in roots.
const NODE_SCRIPT: &str = "const v=(process.config&&process.config.variables)||{};\
console.log(process.version);console.log(v.openssl_use_def_ca_store?'system':'bundled');\
console.log(require('tls').rootCertificates.join('\\n'))";

/// Variables with which a shell points programs past these stores.
const OVERRIDES: &[&str] = &[
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "PIP_CERT",
    "AWS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
];

/// What kind of store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `site-packages/certifi/cacert.pem`.
    Certifi,
    /// `site-packages/pip/_vendor/certifi/cacert.pem`.
    Pip,
    /// `site-packages/botocore/cacert.pem`.
    Botocore,
    /// `<conda prefix>/ssl/cacert.pem`.
    Conda,
    /// A JVM's `cacerts` keystore.
    Java,
    /// The roots compiled into a `node` binary.
    Node,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Certifi => "certifi",
            Kind::Pip => "pip",
            Kind::Botocore => "botocore",
            Kind::Conda => "conda",
            Kind::Java => "java",
            Kind::Node => "node",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Certifi => "certifi",
            Kind::Pip => "pip",
            Kind::Botocore => "botocore",
            Kind::Conda => "conda",
            Kind::Java => "Java",
            Kind::Node => "Node.js",
        }
    }

    fn singular(self) -> &'static str {
        match self {
            Kind::Certifi => "the certifi copy",
            Kind::Pip => "pip's vendored certifi",
            Kind::Botocore => "botocore's copy",
            Kind::Conda => "the conda CA file",
            Kind::Java => "the Java keystore",
            Kind::Node => "Node.js",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Certifi => "certifi copies",
            Kind::Pip => "copies of pip's vendored certifi",
            Kind::Botocore => "botocore copies",
            Kind::Conda => "conda CA files",
            Kind::Java => "Java keystores",
            Kind::Node => "Node.js binaries",
        }
    }

    /// How libcafix.so adds the local CAs where such a store is read.
    pub fn how_the_preload_adds(self) -> &'static str {
        match self {
            Kind::Java => "(a jssecacerts served to the JVM)",
            Kind::Node => "(NODE_EXTRA_CA_CERTS answered)",
            _ => "when it is loaded",
        }
    }
}

/// What a store holds, as read.
#[derive(Debug, Clone)]
pub enum Content {
    /// The certificates (DER).
    Certs(Vec<Vec<u8>>),
    /// The program does not use it (why).
    Unused(String),
    /// Could not be read (why).
    NotJudged(String),
}

/// One store, read.
#[derive(Debug, Clone)]
pub struct Store {
    pub kind: Kind,
    /// The file (for Node.js: the binary).
    pub path: PathBuf,
    pub canonical: PathBuf,
    pub aliases: Vec<PathBuf>,
    /// The venv, conda environment or Python prefix.
    pub environment: Option<PathBuf>,
    /// `pip 24.0`, `JKS`, `v20.20.2` …
    pub detail: Option<String>,
    /// pip's or Node.js' version.
    pub version: Option<Vec<u32>>,
    pub content: Content,
    /// Why libcafix.so adds no local CA where the program reads this store,
    /// even where it is preloaded (`None`: it adds them).
    pub not_served: Option<String>,
}

impl Store {
    /// Does libcafix.so, where preloaded, add the local CAs the store lacks
    /// where its programs read it? Copies loaded through OpenSSL, Java's
    /// `cacerts` (a served `jssecacerts`), Node.js (`NODE_EXTRA_CA_CERTS`
    /// answered), each unless `not_served` says why not.
    pub fn preload_adds(&self) -> bool {
        self.not_served.is_none()
    }
}

/// What a store is to this machine's local CAs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// A copy of the public roots that lacks local CAs: a problem.
    Lacks,
    /// Lacks local CAs, but the system-wide preload adds them when the file is loaded.
    Covered,
    /// A copy with every local CA.
    Complete,
    /// The system bundle itself (a link to it).
    SystemBundle,
    /// Not a copy of the public roots: the program's own trust, left alone.
    OwnTrust,
    Unused(String),
    NotJudged(String),
}

impl State {
    pub fn code(&self) -> &'static str {
        match self {
            State::Lacks => "lacks",
            State::Covered => "covered",
            State::Complete => "complete",
            State::SystemBundle => "system-bundle",
            State::OwnTrust => "own-trust",
            State::Unused(_) => "unused",
            State::NotJudged(_) => "not-judged",
        }
    }
}

/// A store with its judgement.
#[derive(Debug, Clone)]
pub struct Judged {
    pub store: Store,
    pub state: State,
    pub certs: Option<usize>,
    pub in_bundle: Option<usize>,
    /// Indices into [`LocalCas::cas`].
    pub lacking: Vec<usize>,
}

impl Judged {
    /// Does the store hold this certificate?
    pub fn holds(&self, der: &[u8]) -> Option<bool> {
        match &self.store.content {
            Content::Certs(ders) => Some(ders.iter().any(|d| d == der)),
            _ => None,
        }
    }
}

/// The homes of the JDKs that read a Java store (by its path and its
/// aliases: the links of the JDKs that share it).
pub fn jvms_using(s: &Store) -> Vec<String> {
    let mut jvms: Vec<String> = std::iter::once(&s.path)
        .chain(&s.aliases)
        .filter_map(|p| find::jvm_of(p))
        .map(|j| j.display().to_string())
        .collect();
    jvms.dedup();
    jvms
}

/// libcafix.so in `/etc/ld.so.preload`, and whether it adds local CAs.
#[derive(Debug, Clone, Default)]
pub struct SystemPreload {
    pub library: Option<PathBuf>,
    /// `local_cas_inject` and `serve` are not turned off in `/etc/cafix.conf`.
    pub injects: bool,
}

impl SystemPreload {
    pub fn read() -> SystemPreload {
        let text = audit::read_limited(Path::new("/etc/ld.so.preload"), 64 * 1024).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let library = text
            .split(|c: char| c.is_whitespace() || c == ':')
            .filter(|e| !e.starts_with('#'))
            .map(PathBuf::from)
            .find(|p| p.file_name().is_some_and(|n| n == "libcafix.so") && p.is_file());
        let config = Config::resolve(system_config_text().as_deref(), &|_| None, false);
        SystemPreload {
            library,
            injects: config.local_cas_inject && config.serve,
        }
    }

    fn active(&self) -> bool {
        self.library.is_some() && self.injects
    }
}

/// The local CAs as libcafix.so finds them (anchor directories, `local_cas`
/// in `/etc/cafix.conf`), checked against `bundle`.
pub fn local_cas_here(bundle: Option<&BundleIndex>) -> LocalCas {
    let config = Config::resolve(system_config_text().as_deref(), &|_| None, false);
    local_cas::discover(&AnchorSources::system(config.local_cas, false), || bundle)
}

fn pem_ders(bytes: &[u8]) -> Vec<Vec<u8>> {
    pem::sections(bytes)
        .into_iter()
        .filter_map(|s| match s {
            PemItem::Certificate(der) => Some(der),
            _ => None,
        })
        .collect()
}

fn parse_version(text: &str) -> Option<Vec<u32>> {
    let v: Vec<u32> = text
        .trim()
        .trim_start_matches('v')
        .split('.')
        .map_while(|p| p.parse().ok())
        .collect();
    (!v.is_empty()).then_some(v)
}

fn at_least(v: &[u32], min: &[u32]) -> bool {
    let pad = |x: &[u32], i: usize| x.get(i).copied().unwrap_or(0);
    for i in 0..v.len().max(min.len()) {
        if pad(v, i) != pad(min, i) {
            return pad(v, i) > pad(min, i);
        }
    }
    true
}

/// Node.js has `--use-system-ca` from 23.8, and in 22.15 and later 22.x.
pub fn node_has_use_system_ca(version: &[u32]) -> bool {
    match version.first() {
        Some(22) => at_least(version, &[22, 15]),
        Some(_) => at_least(version, &[23, 8]),
        None => false,
    }
}

/// `site-packages` of a store under it (`levels` directories up).
fn ancestor(path: &Path, levels: usize) -> Option<&Path> {
    let mut p = path;
    for _ in 0..levels {
        p = p.parent()?;
    }
    Some(p)
}

/// `(3, 11)` from `.../lib/python3.11/site-packages`.
fn python_of(site_packages: &Path) -> Option<Vec<u32>> {
    let name = site_packages.parent()?.file_name()?.to_str()?;
    parse_version(name.strip_prefix("python")?)
}

/// Debian's and Fedora's certifi (and Debian's pip) are patched so that
/// `where()` returns the system bundle: the cacert.pem beside is unused.
fn patched_to_system(certifi_dir: &Path) -> Option<&'static str> {
    let core = audit::read_limited(&certifi_dir.join("core.py"), 64 * 1024).ok()?;
    let core = String::from_utf8_lossy(&core);
    BUNDLE_PATHS
        .iter()
        .map(|(p, _)| *p)
        .find(|p| core.contains(&format!("'{p}'")) || core.contains(&format!("\"{p}\"")))
}

fn read_store_file(path: &Path) -> Result<Vec<u8>, String> {
    let bytes = audit::read_limited(path, MAX_BUNDLE_BYTES as u64 + 1).map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(format!("larger than {} MiB", MAX_BUNDLE_BYTES >> 20));
    }
    Ok(bytes)
}

/// Reads a found file.
fn load(c: Candidate, places: &Places) -> Store {
    let mut store = Store {
        kind: c.kind,
        path: c.path,
        canonical: c.canonical,
        aliases: c.aliases,
        environment: c.environment,
        detail: None,
        version: None,
        content: Content::NotJudged(String::new()),
        not_served: None,
    };
    let mut unused = None;
    match store.kind {
        Kind::Certifi => {
            if let Some(p) = store.path.parent().and_then(patched_to_system) {
                unused = Some(format!("this certifi is patched to use the system bundle {p}"));
            }
        }
        Kind::Pip => {
            let sp = ancestor(&store.path, 4).map(Path::to_path_buf);
            if let Some(p) = store.path.parent().and_then(patched_to_system) {
                unused = Some(format!("this pip is patched to use the system bundle {p}"));
            }
            let version = sp.as_deref().and_then(|sp| {
                std::fs::read_dir(sp).ok()?.flatten().find_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    parse_version(name.strip_prefix("pip-")?.strip_suffix(".dist-info")?)
                })
            });
            let python = sp.as_deref().and_then(python_of);
            if let Some(v) = &version {
                store.detail = Some(format!(
                    "pip {}",
                    v.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
                ));
                let py310 = python.as_deref().is_some_and(|p| at_least(p, &[3, 10]));
                if unused.is_none() && at_least(v, &[24, 2]) && py310 {
                    unused = Some(
                        "pip 24.2 and later use the system's trust (truststore) on Python 3.10+, not this copy"
                            .to_string(),
                    );
                }
            }
            store.version = version;
        }
        Kind::Botocore
            if store
                .path
                .parent()
                .and_then(Path::parent)
                .is_some_and(|sp| sp.join("certifi/cacert.pem").exists()) =>
        {
            unused = Some("botocore uses certifi, installed beside it, instead".to_string());
        }
        _ => {}
    }
    if let Some(why) = unused {
        store.content = Content::Unused(why);
        return store;
    }
    store.content = match read_store_file(&store.canonical) {
        Err(why) => Content::NotJudged(why),
        Ok(bytes) if store.kind == Kind::Java => {
            let mut keytools: Vec<PathBuf> = std::iter::once(&store.path)
                .chain(&store.aliases)
                .filter_map(|p| find::jvm_of(p))
                .map(|jvm| jvm.join("bin/keytool"))
                .collect();
            keytools.extend(places.java_home.as_ref().map(|j| j.join("bin/keytool")));
            keytools.extend(find::on_path(&places.path, "keytool"));
            match keystore::read(&bytes, &store.canonical, &keytools) {
                Ok(k) => {
                    store.detail = Some(k.detail);
                    store.not_served = if store.path.file_name().is_some_and(|n| n == "jssecacerts") {
                        Some("a jssecacerts that exists is used as it is".to_string())
                    } else {
                        k.not_served
                    };
                    Content::Certs(k.certs)
                }
                Err(why) => Content::NotJudged(why),
            }
        }
        Ok(bytes) => {
            let ders = pem_ders(&bytes);
            if ders.is_empty() {
                Content::NotJudged("no PEM certificate in it".to_string())
            } else {
                Content::Certs(ders)
            }
        }
    };
    store
}

/// Starts `node` printing its roots.
fn start_node(binary: &Path) -> Result<proc::Running, String> {
    let mut cmd = std::process::Command::new(binary);
    cmd.args(["-e", NODE_SCRIPT])
        .env_remove("NODE_OPTIONS")
        .env_remove("NODE_EXTRA_CA_CERTS");
    proc::start(cmd, NODE_TIMEOUT)
}

fn node_store(binary: &Path, outcome: Result<Outcome, String>) -> Store {
    let mut store = Store {
        kind: Kind::Node,
        path: binary.to_path_buf(),
        canonical: std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_path_buf()),
        aliases: Vec::new(),
        environment: None,
        detail: None,
        version: None,
        content: Content::NotJudged(String::new()),
        not_served: None,
    };
    store.content = match outcome {
        Err(e) | Ok(Outcome::NotRun(e)) => Content::NotJudged(format!("cannot be run: {e}")),
        Ok(Outcome::TimedOut) => Content::NotJudged(format!("did not print its roots in {} s", NODE_TIMEOUT.as_secs())),
        Ok(Outcome::Exited { code: 0, stdout, .. }) => {
            let text = String::from_utf8_lossy(&stdout);
            let mut lines = text.lines();
            let version = lines.next().unwrap_or("").trim().to_string();
            let mode = lines.next().unwrap_or("").trim().to_string();
            store.version = parse_version(&version);
            store.detail = Some(version);
            if mode == "system" {
                Content::Unused(
                    "built to use OpenSSL's default store (the system's trust) instead of its compiled-in roots"
                        .to_string(),
                )
            } else {
                let ders = pem_ders(&stdout);
                if ders.is_empty() {
                    Content::NotJudged("printed no root certificate".to_string())
                } else {
                    Content::Certs(ders)
                }
            }
        }
        Ok(Outcome::Exited { code, stderr, .. }) => {
            let said = String::from_utf8_lossy(&stderr);
            let said = said.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
            Content::NotJudged(format!("exited with {code}: {said}"))
        }
    };
    store
}

fn judge(store: Store, bundle: Option<&BundleIndex>, local: &LocalCas, preload: &SystemPreload) -> Judged {
    let mut j = Judged {
        store,
        state: State::NotJudged(String::new()),
        certs: None,
        in_bundle: None,
        lacking: Vec::new(),
    };
    let ders = match &j.store.content {
        Content::Unused(why) => {
            j.state = State::Unused(why.clone());
            return j;
        }
        Content::NotJudged(why) => {
            j.state = State::NotJudged(why.clone());
            return j;
        }
        Content::Certs(ders) => ders,
    };
    let Some(bundle) = bundle else {
        j.state = State::NotJudged("no system bundle to compare it with".to_string());
        return j;
    };
    let pem: Vec<u8> = ders.iter().flat_map(|d| pem::encode_certificate(d)).collect();
    let judgement = local_cas::judge_copy(&pem, bundle, local);
    j.certs = Some(judgement.certs);
    j.in_bundle = Some(judgement.in_bundle);
    j.lacking = judgement.lacking;
    let bundle_canonical = std::fs::canonicalize(&bundle.path).unwrap_or_else(|_| bundle.path.clone());
    j.state = if j.store.kind != Kind::Node && j.store.canonical == bundle_canonical {
        State::SystemBundle
    } else if !judgement.is_copy {
        State::OwnTrust
    } else if j.lacking.is_empty() {
        State::Complete
    } else if j.store.preload_adds() && preload.active() {
        State::Covered
    } else {
        State::Lacks
    };
    j
}

/// The section of `cafix doctor`.
#[derive(Debug)]
pub struct Section {
    pub local: LocalCas,
    /// Were stores searched? (Not when there are no local CAs, unless asked.)
    pub searched: bool,
    pub stores: Vec<Judged>,
    pub dirs_walked: usize,
    pub walked: Vec<PathBuf>,
    pub budget_exhausted: bool,
    pub elapsed: Duration,
    pub preload: SystemPreload,
    /// Trust variables this process's environment sets.
    pub overrides: Vec<String>,
    pub bundle_path: Option<PathBuf>,
}

impl Section {
    /// Finds the local CAs and, if there are any (or `always`), the stores.
    pub fn run(bundle: Option<&BundleIndex>, always: bool) -> Section {
        Section::run_with(bundle, local_cas_here(bundle), &Places::from_env(), always)
    }

    pub fn run_with(bundle: Option<&BundleIndex>, local: LocalCas, places: &Places, always: bool) -> Section {
        let start = Instant::now();
        let mut section = Section {
            local,
            searched: false,
            stores: Vec::new(),
            dirs_walked: 0,
            walked: Vec::new(),
            budget_exhausted: false,
            elapsed: Duration::ZERO,
            preload: SystemPreload::default(),
            overrides: OVERRIDES
                .iter()
                .filter(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
                .map(|v| v.to_string())
                .collect(),
            bundle_path: bundle.map(|b| b.path.clone()),
        };
        if section.local.is_empty() && !always {
            section.elapsed = start.elapsed();
            return section;
        }
        section.searched = true;
        section.preload = SystemPreload::read();
        // Node.js runs while the file system is searched.
        let nodes: Vec<(PathBuf, Result<proc::Running, String>)> = find::node_binaries(&places.path)
            .into_iter()
            .map(|b| {
                let r = start_node(&b);
                (b, r)
            })
            .collect();
        let found = find::search(places);
        section.dirs_walked = found.dirs_walked;
        section.budget_exhausted = found.budget_exhausted;
        section.walked = places.cwd.iter().chain(&places.home).cloned().collect();
        section.walked.dedup();
        let mut stores: Vec<Store> = found.candidates.into_iter().map(|c| load(c, places)).collect();
        for (binary, running) in nodes {
            stores.push(node_store(&binary, running.map(proc::Running::finish)));
        }
        stores.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
        section.stores = stores
            .into_iter()
            .map(|s| judge(s, bundle, &section.local, &section.preload))
            .collect();
        section.elapsed = start.elapsed();
        section
    }

    fn names(&self, idx: &[usize]) -> Vec<String> {
        idx.iter()
            .map(|&i| self.local.cas[i].short_name().to_string())
            .collect()
    }

    fn bundle_text(&self) -> String {
        self.bundle_path
            .as_ref()
            .map_or("/etc/ssl/certs/ca-certificates.crt".to_string(), |p| {
                p.display().to_string()
            })
    }

    /// Which programs a store lacking local CAs breaks.
    pub fn programs(&self, s: &Store) -> String {
        let within = s
            .environment
            .as_ref()
            .map(|e| format!(" in {}", e.display()))
            .unwrap_or_default();
        match s.kind {
            Kind::Certifi => format!("requests, httpx, poetry and other Python programs using certifi{within}"),
            Kind::Pip => format!(
                "{}{within} (pip before 24.2 verifies with this copy)",
                s.detail.as_deref().unwrap_or("pip")
            ),
            Kind::Botocore => {
                format!("awscli and boto3{within} (botocore's own copy: certifi is not installed beside it)")
            }
            Kind::Conda => format!(
                "conda, and the Python and OpenSSL programs of {} (its OpenSSL's default CA file)",
                s.environment
                    .as_deref()
                    .unwrap_or(Path::new("that environment"))
                    .display()
            ),
            Kind::Java => {
                let jvms = jvms_using(s);
                if jvms.is_empty() {
                    format!(
                        "Java programs whose JVM uses {} (Maven, Gradle, IDEs …)",
                        s.path.display()
                    )
                } else {
                    format!("Java programs run by {} (Maven, Gradle, IDEs …)", jvms.join(", "))
                }
            }
            Kind::Node => format!("Node.js programs (npm, npx, yarn …) run by {}", s.path.display()),
        }
    }

    fn fixes(&self, s: &Store, lacking: &[usize]) -> Vec<String> {
        let b = self.bundle_text();
        let mut fixes = Vec::new();
        if let Some(why) = &s.not_served {
            fixes.push(format!("cafix adds nothing here: {why}"));
        } else {
            let how = match s.kind {
                Kind::Java => "cafix serves this JDK a jssecacerts of its cacerts plus the local CAs, from memory, leaving cacerts as it is",
                Kind::Node => "cafix tells Node.js that NODE_EXTRA_CA_CERTS, when unset, names a file of the local CAs served from memory",
                _ => "cafix adds the local CAs to each store loaded from a copy of the public roots, leaving the file as it is",
            };
            let mut f = format!(
                "run them with `cafix run -- PROGRAM`, or preload libcafix.so system-wide (its path in /etc/ld.so.preload): {how}"
            );
            if self.preload.library.is_some() && !self.preload.injects {
                f.push_str(&format!(
                    " (libcafix.so is in /etc/ld.so.preload, but {SYSTEM_CONFIG_PATH} turns that off: `local_cas_inject = no` or `serve = no`)"
                ));
            }
            fixes.push(f);
        }
        match s.kind {
            Kind::Certifi => fixes.push(format!(
                "or point them at the system bundle: `REQUESTS_CA_BUNDLE={b}` (requests), `SSL_CERT_FILE={b}` (httpx), \
                 or install pip-system-certs into the environment"
            )),
            Kind::Pip => fixes.push(format!(
                "or upgrade pip (24.2 and later use the system's trust on Python 3.10+): `python -m pip install --upgrade pip`; \
                 or `pip config set global.cert {b}`"
            )),
            Kind::Botocore => fixes.push(format!("or `AWS_CA_BUNDLE={b}` (or `ca_bundle = {b}` in ~/.aws/config)")),
            Kind::Conda => fixes.push(format!(
                "or `conda config --set ssl_verify {b}` (conda itself) and `SSL_CERT_FILE={b}` (its Python and OpenSSL)"
            )),
            Kind::Java => {
                let canonical = s.canonical.to_string_lossy();
                if canonical == "/etc/ssl/certs/java/cacerts" {
                    fixes.push(
                        "or `update-ca-certificates --fresh`: ca-certificates-java's hook rebuilds it from the system's CAs (it needs a Java runtime)"
                            .to_string(),
                    );
                } else if canonical.starts_with("/etc/pki/") {
                    fixes.push("or `update-ca-trust extract`: it rebuilds it from the system's CAs".to_string());
                } else {
                    let keytool = std::iter::once(&s.path)
                        .chain(&s.aliases)
                        .filter_map(|p| find::jvm_of(p))
                        .map(|j| j.join("bin/keytool"))
                        .find(|k| k.is_file())
                        .map_or("keytool".to_string(), |k| k.display().to_string());
                    for &i in lacking {
                        let ca = &self.local.cas[i];
                        let alias: String = ca
                            .short_name()
                            .chars()
                            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
                            .collect();
                        fixes.push(format!(
                            "or `{keytool} -importcert -keystore {} -storepass changeit -noprompt -alias {alias} -file {}`",
                            s.path.display(),
                            ca.source.display()
                        ));
                    }
                }
            }
            Kind::Node => {
                // The local CAs' own file when there is one, else the system bundle.
                let mut sources: Vec<&Path> = lacking.iter().map(|&i| self.local.cas[i].source.as_path()).collect();
                sources.dedup();
                let file = match sources.as_slice() {
                    [one] => one.display().to_string(),
                    _ => b.clone(),
                };
                let version = s.detail.as_deref().unwrap_or("this Node.js");
                if s.version.as_deref().is_some_and(node_has_use_system_ca) {
                    fixes.push(format!(
                        "or `node --use-system-ca` / `NODE_OPTIONS=--use-system-ca` ({version} then trusts the system's store)"
                    ));
                } else {
                    fixes.push(format!(
                        "or `NODE_EXTRA_CA_CERTS={file}` ({version} has no --use-system-ca, which came with Node.js 23.8 and 22.15)"
                    ));
                }
            }
        }
        fixes
    }

    /// Problems and warnings for the verdict.
    pub(in crate::cli) fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if !self.local.pending.is_empty() {
            out.push(
                Finding::new(
                    Severity::Warning,
                    "local-cas-pending",
                    format!(
                        "{} certificate(s) under the anchor directories are not in the system bundle: this machine does not trust them yet",
                        self.local.pending.len()
                    ),
                )
                .items(
                    self.local
                        .pending
                        .iter()
                        .map(|c| format!("{} ({})", c.short_name(), c.source.display()))
                        .collect(),
                )
                .fix("run the update tool: `update-ca-certificates` (Debian, Ubuntu, Alpine, SUSE) or `update-ca-trust` (Fedora, RHEL, Arch)"),
            );
        }
        if !self.local.problems.is_empty() {
            out.push(
                Finding::new(
                    Severity::Warning,
                    "local-ca-files-unusable",
                    "files under the anchor directories that hold no usable certificate",
                )
                .items(self.local.problems.clone()),
            );
        }
        // Stores lacking the same local CAs are one finding per kind (Java
        // and Node.js: per store, their fixes name it).
        let mut groups: Vec<(Kind, Vec<usize>, Vec<&Judged>)> = Vec::new();
        for j in self.stores.iter().filter(|j| j.state == State::Lacks) {
            let per_store = matches!(j.store.kind, Kind::Java | Kind::Node);
            match groups
                .iter_mut()
                .find(|(k, l, _)| !per_store && *k == j.store.kind && *l == j.lacking)
            {
                Some(g) => g.2.push(j),
                None => groups.push((j.store.kind, j.lacking.clone(), vec![j])),
            }
        }
        for (kind, lacking, stores) in groups {
            let names = self.names(&lacking);
            let cas = if names.len() == 1 {
                format!("the local CA \"{}\"", names[0])
            } else {
                format!("{} local CAs ({})", names.len(), names.join(", "))
            };
            let (what, programs) = if stores.len() == 1 {
                let s = &stores[0].store;
                let what = match kind {
                    Kind::Node => format!("Node.js {}", s.detail.as_deref().unwrap_or(""))
                        .trim_end()
                        .to_string(),
                    _ => format!("{} {}", kind.singular(), s.path.display()),
                };
                (format!("{what} lacks"), self.programs(s))
            } else {
                let programs = match kind {
                    Kind::Certifi => "requests, httpx, poetry and other Python programs using them",
                    Kind::Pip => "pip before 24.2 in those environments",
                    Kind::Botocore => "awscli and boto3 in those environments",
                    _ => "conda and the Python and OpenSSL programs of those environments",
                };
                (format!("{} {} lack", stores.len(), kind.plural()), programs.to_string())
            };
            let error = match kind {
                Kind::Java => " (\"PKIX path building failed\")",
                Kind::Node => {
                    " (\"unable to get local issuer certificate\", \"self-signed certificate in certificate chain\")"
                }
                _ => " (\"CERTIFICATE_VERIFY_FAILED\")",
            };
            let mut f = Finding::new(
                Severity::Problem,
                "root-store-lacks-local-cas",
                format!(
                    "{what} {cas}: {programs} reject servers under {}{error}",
                    if names.len() == 1 { "it" } else { "them" }
                ),
            );
            if stores.len() > 1 {
                f = f.items(stores.iter().map(|j| j.store.path.display().to_string()).collect());
            }
            for fix in self.fixes(&stores[0].store, &lacking) {
                f = f.fix(fix);
            }
            out.push(f);
        }
        let mut unjudged: Vec<String> = self
            .stores
            .iter()
            .filter_map(|j| match &j.state {
                State::NotJudged(why) => Some(format!("{} {}: {why}", j.store.kind.label(), j.store.path.display())),
                _ => None,
            })
            .collect();
        if self.budget_exhausted {
            unjudged.push(format!(
                "the search of {} stopped after {} s; stores deeper down are not listed",
                self.walked
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and "),
                find::WALK_BUDGET.as_secs()
            ));
        }
        if !unjudged.is_empty() {
            out.push(
                Finding::new(
                    Severity::Warning,
                    "root-stores-not-judged",
                    format!("{} root store(s) or places could not be judged", unjudged.len()),
                )
                .items(unjudged),
            );
        }
        out
    }

    /// One line per store.
    pub fn print(&self) {
        println!("{}", style::bold("Programs' own root stores"));
        let anchors: Vec<&str> = LOCAL_ANCHOR_DIRS.iter().map(|(d, _)| *d).collect();
        if self.local.is_empty() {
            let pending = if self.local.pending.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} certificate(s) there are not in the system bundle yet)",
                    self.local.pending.len()
                )
            };
            println!(
                "  no local CAs (no certificate under {} is in the system bundle){pending}: nothing for them to lack",
                anchors.join(", ")
            );
            return;
        } else {
            let cas: Vec<String> = self
                .local
                .cas
                .iter()
                .map(|c| format!("{} ({})", c.short_name(), c.source.display()))
                .collect();
            println!("  local CAs: {}", cas.join(", "));
        }
        if self.stores.is_empty() {
            println!("  {}", style::dim("no certifi, conda, Java or Node.js store found"));
        }
        for j in &self.stores {
            let s = &j.store;
            let mut name = s.path.display().to_string();
            let mut extra: Vec<String> = Vec::new();
            if s.kind == Kind::Node {
                name = format!("{} {}", name, s.detail.as_deref().unwrap_or(""))
                    .trim_end()
                    .to_string();
                extra.push("compiled-in roots".to_string());
            } else if let Some(d) = &s.detail {
                extra.push(d.clone());
            }
            if !s.aliases.is_empty() {
                extra.push(format!(
                    "also {}",
                    s.aliases
                        .iter()
                        .map(|a| a.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !extra.is_empty() {
                name = format!("{name} ({})", extra.join("; "));
            }
            let count = j.certs.map(|n| format!("{n} certificates")).unwrap_or_default();
            let lacks = || self.names(&j.lacking).join(", ");
            let state = match &j.state {
                State::Lacks => style::bad(&format!("{count}, a copy of the public roots; lacks {}", lacks())),
                State::Covered => style::good(&format!(
                    "{count}; lacks {}, which the system-wide preload adds {}",
                    lacks(),
                    s.kind.how_the_preload_adds()
                )),
                State::Complete => style::good(&format!("{count}; has every local CA")),
                State::SystemBundle => style::good(&format!("{count}; the system bundle itself")),
                State::OwnTrust => format!(
                    "{count} ({} in the system bundle), not a copy of the public roots: own trust, left alone",
                    j.in_bundle.unwrap_or(0)
                ),
                State::Unused(why) => style::dim(&format!("not used: {why}")),
                State::NotJudged(why) => style::warn(&format!("not judged: {why}")),
            };
            println!("  {:<9} {name}: {state}", s.kind.label());
            if j.state == State::Lacks {
                println!("            breaks {}", self.programs(s));
            }
        }
        let lacking = self.stores.iter().any(|j| j.state == State::Lacks);
        if lacking && !self.overrides.is_empty() {
            println!(
                "  {}",
                style::dim(&format!(
                    "note: this environment sets {}: programs started from it may not use these stores; services, cron jobs and other sessions do",
                    self.overrides.join(", ")
                ))
            );
        }
        let walked: Vec<String> = self.walked.iter().map(|p| p.display().to_string()).collect();
        println!(
            "  {}",
            style::dim(&format!(
                "searched the well-known places and {} director{} under {} in {:.2} s{}",
                self.dirs_walked,
                if self.dirs_walked == 1 { "y" } else { "ies" },
                if walked.is_empty() {
                    "nothing".to_string()
                } else {
                    walked.join(" and ")
                },
                self.elapsed.as_secs_f64(),
                if self.budget_exhausted {
                    " (stopped at the time budget)"
                } else {
                    ""
                }
            ))
        );
    }

    pub fn store_json(&self, j: &Judged) -> Value {
        let s = &j.store;
        let (lacking, programs, fixes) = if j.state == State::Lacks || j.state == State::Covered {
            let l: Vec<Value> = j
                .lacking
                .iter()
                .map(|&i| json!({"name": self.local.cas[i].short_name(), "subject": self.local.cas[i].subject}))
                .collect();
            (l, Some(self.programs(s)), self.fixes(s, &j.lacking))
        } else {
            (Vec::new(), None, Vec::new())
        };
        json!({
            "kind": s.kind.code(),
            "path": s.path.display().to_string(),
            "canonical": s.canonical.display().to_string(),
            "aliases": s.aliases.iter().map(|a| a.display().to_string()).collect::<Vec<_>>(),
            "environment": s.environment.as_ref().map(|e| e.display().to_string()),
            "detail": s.detail,
            "state": j.state.code(),
            "reason": match &j.state { State::Unused(w) | State::NotJudged(w) => Some(w.clone()), _ => None },
            "certificates": j.certs,
            "in_system_bundle": j.in_bundle,
            "copy_of_public_roots": j.certs.map(|_| !matches!(j.state, State::OwnTrust)),
            "lacking": lacking,
            "programs": programs,
            "fixes": fixes,
        })
    }

    pub fn json(&self) -> Value {
        let ca = |c: &local_cas::LocalCa| {
            json!({
                "name": c.short_name(),
                "subject": c.subject,
                "source": c.source.display().to_string(),
                "sha256": crate::explain::sha256_hex(&c.der),
            })
        };
        json!({
            "local_cas": {
                "cas": self.local.cas.iter().map(ca).collect::<Vec<_>>(),
                "pending": self.local.pending.iter().map(ca).collect::<Vec<_>>(),
                "problems": self.local.problems,
            },
            "searched": self.searched,
            "searched_under": self.walked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "directories_walked": self.dirs_walked,
            "budget_exhausted": self.budget_exhausted,
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "system_preload": self.preload.library.as_ref().map(|l| json!({
                "library": l.display().to_string(),
                "adds_local_cas": self.preload.injects,
            })),
            "environment_overrides": self.overrides,
            "stores": self.stores.iter().map(|j| self.store_json(j)).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("v20.20.2"), Some(vec![20, 20, 2]));
        assert_eq!(parse_version("24.0"), Some(vec![24, 0]));
        assert_eq!(parse_version("x"), None);
        assert!(at_least(&[24, 2], &[24, 2]));
        assert!(at_least(&[25], &[24, 2]));
        assert!(!at_least(&[24, 1, 9], &[24, 2]));
        assert!(!node_has_use_system_ca(&[20, 20, 2]));
        assert!(!node_has_use_system_ca(&[22, 14, 0]));
        assert!(node_has_use_system_ca(&[22, 15, 0]));
        assert!(!node_has_use_system_ca(&[23, 7, 0]));
        assert!(node_has_use_system_ca(&[23, 8, 0]));
        assert!(node_has_use_system_ca(&[24, 0, 0]));
    }
}
