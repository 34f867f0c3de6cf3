//! Where programs look for system trust, and what a looked-up path is.
//!
//! These tables are the only places cafix ever serves certificates: a path is
//! a *trust location* only if it is named here (or by `SSL_CERT_DIR` /
//! `SSL_CERT_FILE` outside secure-exec). An application's own directory or
//! file is never one, so cafix cannot widen an application's private trust.
//!
//! Everything in this module is allocation-free on the paths a hook takes
//! for an unrelated file: [`quick_candidate`] looks only at bytes.

/// Directories that programs scan for c_rehash-style `<hash>.<n>` entries.
///
/// Each entry: (directory without trailing slash, who looks there).
pub const TRUST_DIRS: &[(&str, &str)] = &[
    (
        "/etc/ssl/certs",
        "Debian/Ubuntu/Alpine/Arch/openSUSE OPENSSLDIR/certs; Qt",
    ),
    ("/usr/lib/ssl/certs", "Debian's OPENSSLDIR (/usr/lib/ssl)/certs; Qt"),
    ("/usr/share/ssl", "Qt"),
    ("/usr/share/ssl/certs", "old Red Hat/Mandriva OPENSSLDIR/certs"),
    ("/usr/local/ssl", "Qt"),
    (
        "/usr/local/ssl/certs",
        "OpenSSL's built-in default OPENSSLDIR (/usr/local/ssl)/certs; Qt",
    ),
    ("/var/ssl/certs", "AIX; Qt"),
    ("/etc/openssl/certs", "NetBSD OPENSSLDIR/certs; Qt"),
    ("/opt/openssl/certs", "Qt"),
    ("/etc/ssl", "Qt"),
    (
        "/etc/pki/tls/certs",
        "Fedora/RHEL/CentOS OPENSSLDIR (/etc/pki/tls)/certs",
    ),
    (
        "/usr/local/openssl/certs",
        "hand-built OpenSSL with --prefix=/usr/local/openssl",
    ),
    (
        "/usr/local/etc/openssl/certs",
        "Homebrew/FreeBSD ports OPENSSLDIR/certs",
    ),
    ("/usr/local/share/certs", "FreeBSD"),
    ("/system/etc/security/cacerts", "Android"),
];

/// Well-known CA bundle files of distributions and OpenSSL builds.
///
/// Each entry: (path, where it comes from). The order is also the order in
/// which the system bundle is searched (after `SSL_CERT_FILE`), following
/// openssl-probe and rustls-native-certs.
pub const BUNDLE_PATHS: &[(&str, &str)] = &[
    (
        "/etc/ssl/certs/ca-certificates.crt",
        "Debian, Ubuntu, Gentoo, Arch (ca-certificates)",
    ),
    (
        "/etc/pki/tls/certs/ca-bundle.crt",
        "Fedora, RHEL, CentOS (ca-certificates, legacy path)",
    ),
    (
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "Fedora, RHEL 7+ (update-ca-trust)",
    ),
    ("/etc/ssl/ca-bundle.pem", "openSUSE, SLES"),
    (
        "/etc/ssl/cert.pem",
        "Alpine, Arch (OPENSSLDIR/cert.pem), macOS, OpenBSD, LibreSSL",
    ),
    ("/usr/local/share/certs/ca-root-nss.crt", "FreeBSD (ca_root_nss)"),
    ("/etc/pki/tls/cert.pem", "Fedora/RHEL OPENSSLDIR/cert.pem"),
    ("/etc/pki/tls/cacert.pem", "old Mandriva/OpenELEC"),
    ("/etc/openssl/certs/ca-certificates.crt", "NetBSD (mozilla-rootcerts)"),
    ("/etc/openssl/cert.pem", "NetBSD OPENSSLDIR/cert.pem"),
    (
        "/usr/local/ssl/cert.pem",
        "OpenSSL's built-in default OPENSSLDIR (static builds, AppImages, conda, PyInstaller)",
    ),
    ("/usr/lib/ssl/cert.pem", "Debian's OPENSSLDIR/cert.pem"),
    ("/usr/local/etc/openssl/cert.pem", "Homebrew, FreeBSD ports OpenSSL"),
    ("/usr/share/ssl/certs/ca-bundle.crt", "old Red Hat"),
    ("/etc/certs/ca-certificates.crt", "Solaris, illumos"),
    (
        "/var/lib/ca-certificates/ca-bundle.pem",
        "openSUSE (p11-kit extraction)",
    ),
    (
        "/etc/ssl/certs/ca-bundle.crt",
        "Void Linux, some embedded distributions",
    ),
    ("/system/etc/security/cacerts.pem", "Android toolchains"),
];

/// Directories where administrators put the CAs they add, by distribution.
/// Their certificates become trusted when the distribution's update tool has
/// copied them into the system bundle; cafix counts one as a *local CA* only
/// then (it never trusts a file just because it sits here).
///
/// Each entry: (directory, whose tool reads it). Walked recursively.
pub const LOCAL_ANCHOR_DIRS: &[(&str, &str)] = &[
    (
        "/usr/local/share/ca-certificates",
        "Debian, Ubuntu, Alpine (update-ca-certificates)",
    ),
    (
        "/etc/pki/ca-trust/source/anchors",
        "Fedora, RHEL, CentOS (update-ca-trust)",
    ),
    (
        "/usr/share/pki/ca-trust-source/anchors",
        "Fedora, RHEL, CentOS (update-ca-trust, packaged anchors)",
    ),
    ("/etc/pki/trust/anchors", "openSUSE, SLES (update-ca-certificates)"),
    (
        "/etc/ca-certificates/trust-source/anchors",
        "Arch (update-ca-trust / trust extract-compat)",
    ),
];

/// What JSSE looks for before a JDK's `cacerts`: `<java.home>/lib/security/jssecacerts`
/// (`jre/lib/security` in a JDK 8). cafix answers it, when it is missing,
/// with that `cacerts` plus the local CAs it lacks (engine: `java.rs`).
pub const JSSE_TRUST_STORE_SUFFIX: &[u8] = b"/lib/security/jssecacerts";

/// The local CAs as one PEM file, served from memory when missing: what a
/// Node.js process is told `NODE_EXTRA_CA_CERTS` names when nobody set it
/// (libcafix.so's `getenv`). Never written to disk.
pub const LOCAL_CAS_PEM: &core::ffi::CStr = c"/etc/ssl/certs/cafix-local-cas.pem";

/// Shortest and longest entry of [`BUNDLE_PATHS`]: a cheap first test in the fast path.
const MIN_BUNDLE_PATH_LEN: usize = bundle_path_len_bound(false);
const MAX_BUNDLE_PATH_LEN: usize = bundle_path_len_bound(true);

const fn bundle_path_len_bound(longest: bool) -> usize {
    let mut bound = if longest { 0 } else { usize::MAX };
    let mut i = 0;
    while i < BUNDLE_PATHS.len() {
        let len = BUNDLE_PATHS[i].0.len();
        if (longest && len > bound) || (!longest && len < bound) {
            bound = len;
        }
        i += 1;
    }
    bound
}

/// What a looked-up path is to cafix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustPath<'a> {
    /// `<dir>/<8 hex>.<n>` in a trust directory. `dir` is the directory as
    /// written, with trailing slashes removed.
    HashEntry { dir: &'a [u8], hash: u32, index: u32 },
    /// One of [`BUNDLE_PATHS`] (its index), or the path named by `SSL_CERT_FILE`.
    Bundle { known: Option<usize> },
    /// `<security_dir>/jssecacerts` ([`JSSE_TRUST_STORE_SUFFIX`]); the JDK's
    /// `cacerts` is in the same directory.
    JavaTrustStore { security_dir: &'a [u8] },
    /// [`LOCAL_CAS_PEM`].
    LocalCas,
}

/// Could `path` be a trust location at all? Looks only at the bytes of the
/// path: no allocation, no lock, no system call. False for almost every path
/// a program touches; the hooks call the real function untouched then.
#[inline]
pub fn quick_candidate(path: &[u8]) -> bool {
    let n = path.len();
    // The shortest candidate is `/` + `xxxxxxxx.0`.
    if n < 11 || path[0] != b'/' {
        return false;
    }
    // The last byte rejects almost every path at once.
    match path[n - 1] {
        b'0'..=b'9' => {
            // `/<8 lowercase hex>.<1 to 9 digits>` as the last component.
            let digits = path.iter().rev().take(10).take_while(|b| b.is_ascii_digit()).count();
            if digits > 9 || n < digits + 10 {
                return false;
            }
            let dot = n - digits - 1;
            // `%d` writes no leading zeros: `.0` is asked for, `.00` never.
            let canonical_index = digits == 1 || path[dot + 1] != b'0';
            canonical_index
                && path[dot] == b'.'
                && path[dot - 9] == b'/'
                && path[dot - 8..dot].iter().all(|&b| is_lower_hex(b))
        }
        b't' | b'm' => (MIN_BUNDLE_PATH_LEN..=MAX_BUNDLE_PATH_LEN).contains(&n) && looks_like_bundle_name(path),
        b's' => path.ends_with(JSSE_TRUST_STORE_SUFFIX),
        _ => false,
    }
}

#[inline]
fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[inline]
fn looks_like_bundle_name(name: &[u8]) -> bool {
    name.ends_with(b".crt") || name.ends_with(b".pem")
}

/// `8 lowercase hex digits . decimal` — the names `openssl rehash` writes and
/// OpenSSL's directory lookup asks for (`%08lx.%d`).
#[inline]
fn looks_like_hash_entry(name: &[u8]) -> bool {
    name.len() >= 10
        && name.len() <= 18
        && name[8] == b'.'
        && name[..8].iter().all(|&b| is_lower_hex(b))
        && name[9..].iter().all(u8::is_ascii_digit)
        && (name.len() == 10 || name[9] != b'0')
}

/// Splits a hash-entry name into (hash, index).
pub fn parse_hash_entry_name(name: &[u8]) -> Option<(u32, u32)> {
    if !looks_like_hash_entry(name) {
        return None;
    }
    let hash = u32::from_str_radix(core::str::from_utf8(&name[..8]).ok()?, 16).ok()?;
    let index = core::str::from_utf8(&name[9..]).ok()?.parse::<u32>().ok()?;
    Some((hash, index))
}

/// `dir` without trailing slashes; `/` stays `/`.
pub fn trim_trailing_slashes(dir: &[u8]) -> &[u8] {
    let mut end = dir.len();
    while end > 1 && dir[end - 1] == b'/' {
        end -= 1;
    }
    &dir[..end]
}

/// Is `dir` (trailing slashes ignored; inner `//` collapsed) a trust directory?
/// `extra` are the directories of `SSL_CERT_DIR` (colon-separated), when honoured.
pub fn is_trust_dir(dir: &[u8], extra: Option<&[u8]>) -> bool {
    let dir = trim_trailing_slashes(dir);
    if TRUST_DIRS.iter().any(|(d, _)| same_path(d.as_bytes(), dir)) {
        return true;
    }
    match extra {
        Some(list) => list
            .split(|&b| b == b':')
            .filter(|d| d.first() == Some(&b'/'))
            .any(|d| same_path(trim_trailing_slashes(d), dir)),
        None => false,
    }
}

/// Compares two absolute paths treating runs of `/` as one.
pub fn same_path(a: &[u8], b: &[u8]) -> bool {
    let mut a = a.iter().copied().peekable();
    let mut b = b.iter().copied().peekable();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {
                if x == b'/' {
                    while a.peek() == Some(&b'/') {
                        a.next();
                    }
                    while b.peek() == Some(&b'/') {
                        b.next();
                    }
                }
            }
            _ => return false,
        }
    }
}

/// Index in [`BUNDLE_PATHS`] of `path`, if it is one (slash runs collapsed).
pub fn known_bundle_index(path: &[u8]) -> Option<usize> {
    BUNDLE_PATHS.iter().position(|(p, _)| same_path(p.as_bytes(), path))
}

/// Classifies an absolute path. `cert_dir_env` is `SSL_CERT_DIR` and
/// `cert_file_env` `SSL_CERT_FILE` when they are honoured (not in secure-exec).
pub fn classify<'a>(
    path: &'a [u8],
    cert_dir_env: Option<&[u8]>,
    cert_file_env: Option<&[u8]>,
) -> Option<TrustPath<'a>> {
    if !quick_candidate(path) && !cert_file_env.is_some_and(|f| same_path(f, path)) {
        return None;
    }
    let slash = path.iter().rposition(|&b| b == b'/')?;
    let (dir, name) = (&path[..slash], &path[slash + 1..]);
    if let Some((hash, index)) = parse_hash_entry_name(name) {
        let dir = if dir.is_empty() {
            &path[..1]
        } else {
            trim_trailing_slashes(dir)
        };
        if is_trust_dir(dir, cert_dir_env) {
            return Some(TrustPath::HashEntry { dir, hash, index });
        }
        return None;
    }
    if let Some(i) = known_bundle_index(path) {
        return Some(TrustPath::Bundle { known: Some(i) });
    }
    if path.ends_with(JSSE_TRUST_STORE_SUFFIX) {
        return Some(TrustPath::JavaTrustStore {
            security_dir: &path[..path.len() - b"/jssecacerts".len()],
        });
    }
    if path == LOCAL_CAS_PEM.to_bytes() {
        return Some(TrustPath::LocalCas);
    }
    if cert_file_env.is_some_and(|f| same_path(f, path)) {
        return Some(TrustPath::Bundle { known: None });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_entries_in_trust_dirs_classify() {
        assert_eq!(
            classify(b"/etc/ssl/certs//4042bcee.0", None, None),
            Some(TrustPath::HashEntry {
                dir: b"/etc/ssl/certs",
                hash: 0x4042bcee,
                index: 0
            })
        );
        assert_eq!(
            classify(b"/etc/openssl/certs/8d33f237.12", None, None),
            Some(TrustPath::HashEntry {
                dir: b"/etc/openssl/certs",
                hash: 0x8d33f237,
                index: 12
            })
        );
        assert_eq!(
            classify(b"/etc//ssl///certs///4042bcee.1", None, None)
                .map(|t| matches!(t, TrustPath::HashEntry { index: 1, .. })),
            Some(true)
        );
    }

    #[test]
    fn application_dirs_and_odd_names_are_not_trust_locations() {
        assert_eq!(classify(b"/opt/myapp/ca/4042bcee.0", None, None), None);
        assert_eq!(classify(b"/etc/ssl/certs/4042BCEE.0", None, None), None);
        assert_eq!(classify(b"/etc/ssl/certs/4042bcee.r0", None, None), None);
        assert_eq!(classify(b"/etc/ssl/certs/4042bcee.", None, None), None);
        assert_eq!(classify(b"etc/ssl/certs/4042bcee.0", None, None), None);
        assert_eq!(classify(b"/etc/ssl/certs/../certs/4042bcee.0", None, None), None);
        assert_eq!(classify(b"/home/me/ca-certificates.crt", None, None), None);
        assert_eq!(classify(b"", None, None), None);
        assert_eq!(classify(b"/", None, None), None);
    }

    #[test]
    fn ssl_cert_dir_adds_trust_dirs() {
        let env: &[u8] = b"relative:/srv/certs/:/other";
        assert!(classify(b"/srv/certs/4042bcee.0", Some(env), None).is_some());
        assert!(classify(b"/other/4042bcee.0", Some(env), None).is_some());
        assert!(classify(b"/srv/certs/4042bcee.0", None, None).is_none());
        assert!(classify(b"/relative/4042bcee.0", Some(env), None).is_none());
    }

    #[test]
    fn bundle_paths_classify() {
        assert_eq!(
            classify(b"/etc/pki/tls/certs/ca-bundle.crt", None, None),
            Some(TrustPath::Bundle { known: Some(1) })
        );
        assert_eq!(
            classify(b"/srv/bundle.txt", None, Some(b"/srv/bundle.txt")),
            Some(TrustPath::Bundle { known: None })
        );
    }

    #[test]
    fn every_known_path_passes_the_quick_test() {
        for (p, _) in BUNDLE_PATHS {
            assert!(p.len() <= MAX_BUNDLE_PATH_LEN && p.len() >= MIN_BUNDLE_PATH_LEN, "{p}");
            assert!(quick_candidate(p.as_bytes()), "{p}");
        }
        assert!(!quick_candidate(b"/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!quick_candidate(b"/proc/self/maps"));
        assert!(quick_candidate(b"/4042bcee.0"));
        assert!(quick_candidate(b"/a/4042bcee.123456789"));
        assert!(!quick_candidate(b"/a/4042bcee.1234567890"));
        assert!(!quick_candidate(b"/a/x4042bcee.0"));
        assert!(!quick_candidate(b"/a/042bcee.0"));
        assert!(!quick_candidate(b"4042bcee.0"));
        assert!(!quick_candidate(b"/a/4042bceg.0"));
        assert!(!quick_candidate(b"/a/4042bcee0"));
        assert!(!quick_candidate(b"/a/4042bcee.0/"));
        assert!(!quick_candidate(b"/etc/ssl/cc1204bc.00"));
        assert!(quick_candidate(b"/etc/ssl/cc1204bc.10"));
    }

    #[test]
    fn a_jdks_jssecacerts_and_the_local_cas_file_are_trust_locations() {
        for (path, dir) in [
            (
                &b"/usr/lib/jvm/java-17-openjdk-amd64/lib/security/jssecacerts"[..],
                &b"/usr/lib/jvm/java-17-openjdk-amd64/lib/security"[..],
            ),
            (b"/opt/jdk8/jre/lib/security/jssecacerts", b"/opt/jdk8/jre/lib/security"),
        ] {
            assert!(quick_candidate(path));
            assert_eq!(
                classify(path, None, None),
                Some(TrustPath::JavaTrustStore { security_dir: dir })
            );
        }
        assert!(
            !quick_candidate(b"/usr/lib/jvm/x/lib/security/cacerts"),
            "the real store is never served"
        );
        assert_eq!(classify(b"/opt/jdk/lib/security/jssecacerts.bak", None, None), None);
        assert_eq!(classify(b"/opt/jdk/lib/jssecacerts", None, None), None);
        assert!(!quick_candidate(b"jdk/lib/security/jssecacerts"));
        assert!(!quick_candidate(b"/proc/self/maps"));
        let pem = LOCAL_CAS_PEM.to_bytes();
        assert!(quick_candidate(pem));
        assert_eq!(classify(pem, None, None), Some(TrustPath::LocalCas));
    }

    #[test]
    fn hash_entry_names_parse() {
        assert_eq!(parse_hash_entry_name(b"0000000a.0"), Some((10, 0)));
        assert_eq!(parse_hash_entry_name(b"ffffffff.99"), Some((u32::MAX, 99)));
        assert_eq!(parse_hash_entry_name(b"ffffffff.99999999999"), None);
        assert_eq!(parse_hash_entry_name(b"fffffff.0"), None);
        assert_eq!(parse_hash_entry_name(b"ffffffff.01"), None);
        assert_eq!(parse_hash_entry_name(b"ffffffff.10"), Some((u32::MAX, 10)));
    }
}
