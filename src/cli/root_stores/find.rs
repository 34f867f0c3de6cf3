//! Where programs keep their own roots: the well-known places (system and
//! user site-packages, pyenv, pipx, poetry, conda, the JVMs), then a walk of
//! the current and the home directory for venvs and conda environments,
//! bounded in depth and time. Nothing is followed through a symbolic link
//! during the walk, and every directory is entered once.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Kind;

/// Directory levels the walk goes below the current and the home directory
/// (a venv or conda environment found there is looked into whatever its depth).
pub const WALK_DEPTH: usize = 5;
/// The walk stops after this long; what it found until then is reported.
pub const WALK_BUDGET: Duration = Duration::from_secs(2);

/// Never entered by the walk: large trees that hold no Python environment.
const SKIP_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "__pycache__",
    ".cache",
    ".cargo",
    ".rustup",
    ".npm",
    ".nvm",
    ".m2",
    ".gradle",
    ".ccache",
    ".Trash",
    "Trash",
    ".mozilla",
    ".thunderbird",
    ".var",
    "snap",
    "proc",
    "sys",
    "dev",
];

/// Names of conda installations (a prefix is recognised by `conda-meta/`
/// too; a copied or half-installed one may lack it).
const CONDA_NAMES: &[&str] = &[
    "miniconda",
    "anaconda",
    "miniforge",
    "mambaforge",
    "micromamba",
    "conda",
    ".conda",
];

/// What the search looks at besides the file system.
#[derive(Debug, Clone, Default)]
pub struct Places {
    pub home: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
    pub virtual_env: Option<PathBuf>,
    pub conda_prefix: Option<PathBuf>,
    pub pyenv_root: Option<PathBuf>,
    pub pipx_home: Option<PathBuf>,
    pub java_home: Option<PathBuf>,
    /// `PATH`, split.
    pub path: Vec<PathBuf>,
    pub depth: usize,
    pub budget: Duration,
}

impl Places {
    /// From this process's environment.
    pub fn from_env() -> Places {
        let var = |n: &str| std::env::var_os(n).filter(|v| !v.is_empty()).map(PathBuf::from);
        Places {
            home: var("HOME").or_else(home_of_user),
            cwd: std::env::current_dir().ok(),
            virtual_env: var("VIRTUAL_ENV"),
            conda_prefix: var("CONDA_PREFIX"),
            pyenv_root: var("PYENV_ROOT"),
            pipx_home: var("PIPX_HOME"),
            java_home: var("JAVA_HOME"),
            path: std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).filter(|d| d.is_absolute()).collect())
                .unwrap_or_default(),
            depth: WALK_DEPTH,
            budget: WALK_BUDGET,
        }
    }
}

fn home_of_user() -> Option<PathBuf> {
    // SAFETY: getpwuid returns a pointer into static storage or NULL; read at once.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_dir.is_null() {
            return None;
        }
        let dir = std::ffi::CStr::from_ptr((*pw).pw_dir);
        Some(PathBuf::from(std::ffi::OsStr::from_encoded_bytes_unchecked(
            dir.to_bytes(),
        )))
    }
}

/// A root store file found, before it is read.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub kind: Kind,
    /// As found (the first name, for a file reached by several).
    pub path: PathBuf,
    pub canonical: PathBuf,
    /// Other names of the same file (symbolic links: a JVM's `cacerts`).
    pub aliases: Vec<PathBuf>,
    /// The venv, conda environment or Python prefix it belongs to.
    pub environment: Option<PathBuf>,
}

/// The search's result.
#[derive(Debug, Default)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    /// Directories the walk listed.
    pub dirs_walked: usize,
    /// The walk ran out of time (`budget`) before it was done.
    pub budget_exhausted: bool,
}

struct Finder {
    found: Found,
    seen_dirs: HashSet<(u64, u64)>,
    seen_prefixes: HashSet<PathBuf>,
    deadline: Instant,
    depth: usize,
}

/// Subdirectories of `dir` whose names `pick` accepts, sorted (following
/// symbolic links: these are the well-known places, not the walk).
fn subdirs(dir: &Path, pick: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(&pick))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

/// The JDK homes under `dir`: each picked subdirectory with a `bin/java`
/// or a `lib/security` (or `jre/…`), or else its own subdirectories that
/// have one (Gradle has kept a JDK one level down,
/// `<vendor-version>/jdk-<version>`).
fn jdk_homes(dir: &Path, pick: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let is_home = |d: &Path| {
        ["bin/java", "jre/bin/java", "lib/security", "jre/lib/security"]
            .iter()
            .any(|rel| d.join(rel).exists())
    };
    let mut out = Vec::new();
    for sub in subdirs(dir, pick) {
        if is_home(&sub) {
            out.push(sub);
        } else {
            out.extend(subdirs(&sub, |_| true).into_iter().filter(|d| is_home(d)));
        }
    }
    out
}

fn python_dir(name: &str) -> bool {
    name.starts_with("python") && name[6..].chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Is `dir` named like a conda installation (`miniconda3`, `anaconda3`,
/// `miniforge3`, pyenv's `miniconda3-latest` …)?
fn conda_named(dir: &Path) -> bool {
    dir.file_name()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase)
        .is_some_and(|n| CONDA_NAMES.iter().any(|c| n.starts_with(c)))
}

impl Finder {
    fn add(&mut self, kind: Kind, path: &Path, environment: Option<&Path>) {
        let Ok(canonical) = std::fs::canonicalize(path) else {
            return;
        };
        if !canonical.is_file() {
            return;
        }
        if let Some(c) = self.found.candidates.iter_mut().find(|c| c.canonical == canonical) {
            if c.path != path && !c.aliases.iter().any(|a| a == path) {
                c.aliases.push(path.to_path_buf());
            }
            return;
        }
        self.found.candidates.push(Candidate {
            kind,
            path: path.to_path_buf(),
            canonical,
            aliases: Vec::new(),
            environment: environment.map(Path::to_path_buf),
        });
    }

    /// certifi, pip's vendored certifi and botocore's copy in one
    /// site-packages (or dist-packages) directory.
    fn site_packages(&mut self, sp: &Path) {
        let environment = sp.parent().and_then(Path::parent).and_then(Path::parent);
        for (kind, rel) in [
            (Kind::Certifi, "certifi/cacert.pem"),
            (Kind::Pip, "pip/_vendor/certifi/cacert.pem"),
            (Kind::Botocore, "botocore/cacert.pem"),
        ] {
            let file = sp.join(rel);
            if file.exists() {
                self.add(kind, &file, environment);
            }
        }
    }

    /// A Python prefix (venv, pyenv version, conda environment): its
    /// site-packages, and for conda its `ssl/cacert.pem` and `envs/*`.
    fn prefix(&mut self, prefix: &Path) {
        let key = std::fs::canonicalize(prefix).unwrap_or_else(|_| prefix.to_path_buf());
        if !self.seen_prefixes.insert(key) {
            return;
        }
        let mut libs: Vec<PathBuf> = Vec::new();
        for lib in ["lib", "lib64"] {
            // A venv's lib64 is a link to its lib.
            match std::fs::canonicalize(prefix.join(lib)) {
                Ok(c) if !libs.contains(&c) => libs.push(c),
                _ => continue,
            }
            for py in subdirs(&prefix.join(lib), python_dir) {
                for sp in ["site-packages", "dist-packages"] {
                    let sp = py.join(sp);
                    if sp.is_dir() {
                        self.site_packages(&sp);
                    }
                }
            }
        }
        let conda = prefix.join("conda-meta").is_dir() || conda_named(prefix);
        if conda {
            let file = prefix.join("ssl/cacert.pem");
            if file.exists() {
                self.add(Kind::Conda, &file, Some(prefix));
            }
            for env in subdirs(&prefix.join("envs"), |_| true) {
                self.prefix(&env);
            }
        }
    }

    fn out_of_time(&mut self) -> bool {
        if Instant::now() >= self.deadline {
            self.found.budget_exhausted = true;
        }
        self.found.budget_exhausted
    }

    /// The walk: venvs (`pyvenv.cfg`), conda environments (`conda-meta/`)
    /// and site-packages directories below `dir`.
    fn walk(&mut self, dir: &Path, depth: usize) {
        if self.out_of_time() {
            return;
        }
        let Ok(meta) = std::fs::symlink_metadata(dir) else {
            return;
        };
        if !meta.is_dir() || !self.seen_dirs.insert((meta.dev(), meta.ino())) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        self.found.dirs_walked += 1;
        let mut subdirs = Vec::new();
        let (mut venv, mut conda, mut cache) = (false, false, false);
        for e in entries.flatten() {
            let name = e.file_name();
            match name.to_str() {
                Some("pyvenv.cfg") => venv = true,
                Some("conda-meta") => conda = true,
                Some("CACHEDIR.TAG") => cache = true,
                _ => {}
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                subdirs.push(e.path());
            }
        }
        let name = dir.file_name().and_then(OsStr::to_str).unwrap_or("");
        if venv || conda || (conda_named(dir) && dir.join("ssl/cacert.pem").is_file()) {
            self.prefix(dir);
            return;
        }
        if name == "site-packages" || name == "dist-packages" {
            self.site_packages(dir);
            return;
        }
        if cache || depth >= self.depth {
            return;
        }
        subdirs.sort();
        for sub in subdirs {
            let skip = sub
                .file_name()
                .and_then(OsStr::to_str)
                .is_some_and(|n| SKIP_DIRS.contains(&n));
            if !skip {
                self.walk(&sub, depth + 1);
            }
        }
    }
}

/// The JVM directories that `path` (a `cacerts`) belongs to:
/// `<jvm>/lib/security/cacerts` or `<jvm>/jre/lib/security/cacerts`.
pub fn jvm_of(path: &Path) -> Option<PathBuf> {
    let security = path.parent()?;
    let lib = security.parent()?;
    if security.file_name()? != "security" || lib.file_name()? != "lib" {
        return None;
    }
    let home = lib.parent()?;
    if home.file_name()? == "jre" && home.parent()?.join("bin").is_dir() {
        return home.parent().map(Path::to_path_buf);
    }
    Some(home.to_path_buf())
}

/// Searches everything. Java's shared store files come first so the real
/// file is the name a store is shown by and the JVMs' links are its aliases.
pub fn search(places: &Places) -> Found {
    let mut f = Finder {
        found: Found::default(),
        seen_dirs: HashSet::new(),
        seen_prefixes: HashSet::new(),
        deadline: Instant::now() + places.budget,
        depth: places.depth,
    };

    // --- Java ---
    for shared in [
        "/etc/ssl/certs/java/cacerts",
        "/etc/pki/ca-trust/extracted/java/cacerts",
        "/etc/pki/java/cacerts",
    ] {
        f.add(Kind::Java, Path::new(shared), None);
    }
    let mut jvms: Vec<PathBuf> = Vec::new();
    jvms.extend(places.java_home.clone());
    for dir in places.path.iter() {
        if let Ok(java) = std::fs::canonicalize(dir.join("java")) {
            // <jvm>/bin/java or <jvm>/jre/bin/java
            if let Some(home) = java.parent().and_then(Path::parent) {
                jvms.push(home.to_path_buf());
            }
        }
    }
    jvms.extend(subdirs(Path::new("/usr/lib/jvm"), |_| true));
    jvms.extend(subdirs(Path::new("/usr/java"), |_| true));
    jvms.extend(subdirs(Path::new("/opt"), |n| {
        n.contains("jdk") || n.contains("jre") || n.contains("java")
    }));
    if let Some(home) = &places.home {
        // SDKMAN's, IntelliJ's and Gradle's toolchains.
        jvms.extend(jdk_homes(&home.join(".sdkman/candidates/java"), |n| n != "current"));
        jvms.extend(jdk_homes(&home.join(".jdks"), |_| true));
        jvms.extend(jdk_homes(&home.join(".gradle/jdks"), |_| true));
    }
    for jvm in &jvms {
        for rel in ["lib/security", "jre/lib/security"] {
            // JSSE reads jssecacerts instead of cacerts when it exists.
            // Looked for in the directory's listing, which says what is on
            // disk in any process (libcafix.so answers a missing one's
            // `stat` only in a JVM).
            let dir = jvm.join(rel);
            let listed = |name: &str| {
                std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.any(|e| e.is_ok_and(|e| e.file_name() == name)))
            };
            if let Some(name) = ["jssecacerts", "cacerts"].into_iter().find(|n| listed(n)) {
                f.add(Kind::Java, &dir.join(name), Some(jvm));
            }
        }
    }

    // --- Python: the system's and the user's, pyenv, pipx, poetry ---
    for base in ["/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64"] {
        for py in subdirs(Path::new(base), python_dir) {
            for sp in ["site-packages", "dist-packages"] {
                let sp = py.join(sp);
                if sp.is_dir() {
                    f.site_packages(&sp);
                }
            }
        }
    }
    let mut prefixes: Vec<PathBuf> = Vec::new();
    prefixes.extend(places.virtual_env.clone());
    prefixes.extend(places.conda_prefix.clone());
    let home = places.home.clone();
    if let Some(home) = &home {
        for py in subdirs(&home.join(".local/lib"), python_dir) {
            let sp = py.join("site-packages");
            if sp.is_dir() {
                f.site_packages(&sp);
            }
        }
    }
    let pyenv = places
        .pyenv_root
        .clone()
        .or_else(|| home.as_ref().map(|h| h.join(".pyenv")));
    if let Some(pyenv) = pyenv {
        for version in subdirs(&pyenv.join("versions"), |_| true) {
            prefixes.extend(subdirs(&version.join("envs"), |_| true));
            prefixes.push(version);
        }
    }
    let mut venv_homes: Vec<PathBuf> = Vec::new();
    venv_homes.extend(places.pipx_home.as_ref().map(|p| p.join("venvs")));
    if let Some(home) = &home {
        for rel in [
            ".local/pipx/venvs",
            ".local/share/pipx/venvs",
            ".cache/pypoetry/virtualenvs",
            ".local/share/virtualenvs",
            ".virtualenvs",
            ".local/share/uv/tools",
            ".conda/envs",
        ] {
            venv_homes.push(home.join(rel));
        }
        for name in [
            "miniconda3",
            "anaconda3",
            "miniforge3",
            "mambaforge",
            "micromamba",
            ".conda",
        ] {
            prefixes.push(home.join(name));
        }
    }
    for name in ["conda", "miniconda3", "anaconda3", "miniforge3", "mambaforge"] {
        prefixes.push(Path::new("/opt").join(name));
    }
    for dir in venv_homes {
        prefixes.extend(subdirs(&dir, |_| true));
    }
    for p in prefixes {
        if p.is_dir() {
            f.prefix(&p);
        }
    }

    // --- The walk: the current directory first (its own depth), then home ---
    let mut roots: Vec<PathBuf> = Vec::new();
    roots.extend(places.cwd.clone());
    roots.extend(home);
    for root in roots {
        f.walk(&root, 0);
    }
    f.found
}

/// `node` (and Debian's old name `nodejs`) on `PATH`, each binary once.
pub fn node_binaries(path: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for name in ["node", "nodejs"] {
        for dir in path {
            let candidate = dir.join(name);
            let Ok(meta) = std::fs::metadata(&candidate) else {
                continue;
            };
            if !meta.is_file() || meta.mode() & 0o111 == 0 {
                continue;
            }
            let canonical = std::fs::canonicalize(&candidate).unwrap_or_else(|_| candidate.clone());
            if !seen.contains(&canonical) {
                seen.push(canonical);
                out.push(candidate);
            }
            break;
        }
    }
    out
}

/// The first program called `name` on `path`.
pub fn on_path(path: &[PathBuf], name: &str) -> Option<PathBuf> {
    path.iter()
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cafix-find-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }

    fn places(home: &Path, cwd: &Path) -> Places {
        Places {
            home: Some(home.to_path_buf()),
            cwd: Some(cwd.to_path_buf()),
            depth: WALK_DEPTH,
            budget: WALK_BUDGET,
            ..Places::default()
        }
    }

    #[test]
    fn venvs_conda_and_pipx_are_found_and_heavy_trees_skipped() {
        let home = temp("home");
        let sp = "lib/python3.12/site-packages";
        // A venv deep in a project: the venv's own depth does not count.
        touch(&home.join("a/b/c/proj/.venv/pyvenv.cfg"));
        touch(&home.join(format!("a/b/c/proj/.venv/{sp}/certifi/cacert.pem")));
        touch(&home.join(format!("a/b/c/proj/.venv/{sp}/pip/_vendor/certifi/cacert.pem")));
        touch(&home.join("miniconda3/ssl/cacert.pem"));
        touch(&home.join("miniconda3/envs/web/conda-meta/history"));
        touch(&home.join("miniconda3/envs/web/ssl/cacert.pem"));
        touch(&home.join(format!(".local/pipx/venvs/poetry/{sp}/certifi/cacert.pem")));
        touch(&home.join(format!("proj/node_modules/x/.venv/{sp}/certifi/cacert.pem")));
        touch(&home.join("proj/node_modules/x/.venv/pyvenv.cfg"));
        touch(&home.join("target/CACHEDIR.TAG"));
        touch(&home.join(format!("target/v/{sp}/botocore/cacert.pem")));
        touch(&home.join(format!("1/2/3/4/5/6/v/{sp}/botocore/cacert.pem")));
        touch(&home.join("1/2/3/4/5/6/v/pyvenv.cfg"));
        let found = search(&places(&home, &home));
        let rel: Vec<(Kind, String)> = found
            .candidates
            .iter()
            .filter(|c| c.path.starts_with(&home))
            .map(|c| (c.kind, c.path.strip_prefix(&home).unwrap().display().to_string()))
            .collect();
        assert!(
            rel.contains(&(Kind::Certifi, format!("a/b/c/proj/.venv/{sp}/certifi/cacert.pem"))),
            "{rel:?}"
        );
        assert!(rel.contains(&(
            Kind::Pip,
            format!("a/b/c/proj/.venv/{sp}/pip/_vendor/certifi/cacert.pem")
        )));
        assert!(
            rel.contains(&(Kind::Conda, "miniconda3/ssl/cacert.pem".to_string())),
            "{rel:?}"
        );
        assert!(
            rel.contains(&(Kind::Conda, "miniconda3/envs/web/ssl/cacert.pem".to_string())),
            "{rel:?}"
        );
        assert!(rel.contains(&(
            Kind::Certifi,
            format!(".local/pipx/venvs/poetry/{sp}/certifi/cacert.pem")
        )));
        assert_eq!(
            rel.len(),
            5,
            "node_modules, a cache directory and depth 6 are not searched: {rel:?}"
        );
        let venv = found
            .candidates
            .iter()
            .find(|c| c.kind == Kind::Certifi && c.path.starts_with(home.join("a")))
            .unwrap();
        assert_eq!(
            venv.environment.as_deref(),
            Some(home.join("a/b/c/proj/.venv").as_path())
        );
        assert!(!found.budget_exhausted);
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn the_walk_stops_at_its_budget_and_symlinks_are_not_followed() {
        let home = temp("budget");
        fs::create_dir_all(home.join("d")).unwrap();
        std::os::unix::fs::symlink(&home, home.join("d/loop")).unwrap();
        touch(&home.join("elsewhere/v/pyvenv.cfg"));
        touch(&home.join("elsewhere/v/lib/python3.11/site-packages/certifi/cacert.pem"));
        std::os::unix::fs::symlink(home.join("elsewhere"), home.join("d/link")).unwrap();
        let found = search(&places(&home.join("d"), &home.join("d")));
        assert!(
            found.candidates.iter().all(|c| !c.path.starts_with(&home)),
            "{:?}",
            found.candidates
        );
        let found = search(&Places {
            budget: Duration::ZERO,
            ..places(&home, &home)
        });
        assert!(found.budget_exhausted);
        assert_eq!(found.dirs_walked, 0);
        fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn jvm_homes_of_cacerts() {
        assert_eq!(
            jvm_of(Path::new("/usr/lib/jvm/java-17/lib/security/cacerts")),
            Some(PathBuf::from("/usr/lib/jvm/java-17"))
        );
        assert_eq!(jvm_of(Path::new("/etc/ssl/certs/java/cacerts")), None);
    }
}
