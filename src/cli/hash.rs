//! `cafix hash` (subject hashes as c_rehash names them) and `cafix lookup`
//! (which certificates have a subject hash).

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::args::{HashArgs, LookupArgs};
use super::style;
use crate::audit::{self, format_rfc3339, format_utc, DirScan, EntryProblem};
use crate::bundle::{self, BundleIndex, CaCert, MAX_BUNDLE_BYTES};
use crate::config::{Config, MAX_CONFIG_BYTES, SYSTEM_CONFIG_PATH};
use crate::explain::sha256_hex;
use crate::pem::{self, PemItem};
use crate::subject_hash::hash_hex;

/// The certificates of one input file, or why there are none.
pub(super) fn read_certificates(path: &Path) -> Result<Vec<CaCert>, String> {
    let shown = path.display();
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .take(MAX_BUNDLE_BYTES as u64 + 1)
            .read_to_end(&mut b)
            .map_err(|e| format!("standard input: {e}"))?;
        b
    } else {
        if path.is_dir() {
            return Err(format!("{shown}: is a directory"));
        }
        audit::read_limited(path, MAX_BUNDLE_BYTES as u64 + 1).map_err(|e| format!("{shown}: {e}"))?
    };
    let shown = if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        shown.to_string()
    };
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(format!("{shown}: larger than {} MiB", MAX_BUNDLE_BYTES >> 20));
    }
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut certs = Vec::new();
        let (mut others, mut unparsable) = (0, 0);
        for item in pem::sections(&bytes) {
            match item {
                PemItem::Certificate(der) => match CaCert::from_der(der) {
                    Some(c) => certs.push(c),
                    None => unparsable += 1,
                },
                PemItem::Other => others += 1,
                PemItem::Malformed(why) => {
                    return Err(format!(
                        "{shown}: bad PEM after {} certificate(s): {why}",
                        certs.len() + unparsable
                    ));
                }
            }
        }
        if unparsable > 0 {
            return Err(format!("{shown}: {unparsable} certificate(s) could not be parsed"));
        }
        if certs.is_empty() {
            return Err(format!("{shown}: no certificate in it ({others} other PEM section(s))"));
        }
        Ok(certs)
    } else {
        match CaCert::from_der(bytes) {
            Some(c) => Ok(vec![c]),
            None => Err(format!("{shown}: not a certificate (neither PEM nor DER)")),
        }
    }
}

fn cert_json(c: &CaCert) -> Value {
    json!({
        "subject": c.subject,
        "issuer": c.issuer,
        "subject_hash": hash_hex(c.subject_hash),
        "issuer_hash": c.issuer_hash.map(hash_hex),
        "not_before": format_rfc3339(c.not_before),
        "not_after": format_rfc3339(c.not_after),
        "sha256": sha256_hex(&c.der),
        "pin": format!("sha256${}", sha256_hex(&c.der)),
    })
}

pub fn run_hash(args: &HashArgs) -> Result<i32, String> {
    let mut failed = false;
    let mut next_index: HashMap<u32, u32> = HashMap::new();
    let mut seen: HashMap<Vec<u8>, String> = HashMap::new();
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        let certs = match read_certificates(path) {
            Ok(c) => c,
            Err(e) => {
                if !args.json {
                    eprintln!("cafix: {e}");
                }
                errors.push(e);
                failed = true;
                continue;
            }
        };
        let many = certs.len() > 1;
        for (k, c) in certs.iter().enumerate() {
            let hash = hash_hex(c.subject_hash);
            let duplicate_of = seen.get(&c.der).cloned();
            let name = match &duplicate_of {
                Some(n) => n.clone(),
                None => {
                    let n = next_index.entry(c.subject_hash).or_insert(0);
                    let name = format!("{hash}.{n}");
                    *n += 1;
                    seen.insert(c.der.clone(), name.clone());
                    name
                }
            };
            let place = if many {
                format!("{}, certificate {}", path.display(), k + 1)
            } else {
                path.display().to_string()
            };
            if args.json {
                let mut v = cert_json(c);
                v["file"] = json!(path.display().to_string());
                v["index_in_file"] = json!(k);
                v["name"] = json!(name);
                v["duplicate"] = json!(duplicate_of.is_some());
                items.push(v);
            } else {
                let note = if duplicate_of.is_some() {
                    style::dim(" (duplicate: c_rehash skips it)")
                } else {
                    String::new()
                };
                println!(
                    "{}  {}  {}{note}",
                    style::bold(&name),
                    c.subject,
                    style::dim(&format!("({place})"))
                );
            }
        }
    }
    if args.json {
        style::print_json(&json!({ "certificates": items, "errors": errors }));
    }
    Ok(if failed { 2 } else { 0 })
}

/// `4042bcee`, `4042BCEE`, `4042bcee.0`, `/etc/ssl/certs/4042bcee.1` → the hash.
pub fn parse_hash_argument(arg: &str) -> Option<u32> {
    let name = arg.rsplit('/').next().unwrap_or(arg).trim();
    let hex = match name.split_once('.') {
        Some((h, n)) if !n.is_empty() && n.trim_start_matches('r').bytes().all(|b| b.is_ascii_digit()) => h,
        Some(_) => return None,
        None => name,
    };
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// The configuration `cafix` reads from its own environment (as the shim would).
pub fn env_config() -> Config {
    let env = |name: &str| std::env::var_os(name).map(|v| v.as_bytes().to_vec());
    Config::resolve(None, &env, false)
}

/// `/etc/cafix.conf` as libcafix.so reads it: a regular file owned by root,
/// not writable by group or others, at most `MAX_CONFIG_BYTES`, UTF-8.
pub(super) fn system_config_text() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(SYSTEM_CONFIG_PATH).ok()?;
    if !meta.is_file() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return None;
    }
    let limit = MAX_CONFIG_BYTES as u64;
    let bytes = audit::read_limited(Path::new(SYSTEM_CONFIG_PATH), limit + 1).ok()?;
    if bytes.len() as u64 > limit {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// The system bundle as the shim would find it from here, indexed.
pub fn system_bundle() -> (Option<PathBuf>, Option<Result<BundleIndex, String>>) {
    let config = env_config();
    let is_file = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0);
    let path = bundle::find_system_bundle(&config, &is_file);
    let index = path.as_deref().map(audit::read_bundle);
    (path, index)
}

/// Trust directories to search: the table's, then `SSL_CERT_DIR`'s.
pub fn trust_dir_scans() -> Vec<DirScan> {
    let extra: Vec<String> = std::env::var("SSL_CERT_DIR")
        .ok()
        .map(|v| {
            v.split(':')
                .filter(|d| d.starts_with('/'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut dirs: Vec<(&str, &str)> = crate::locations::TRUST_DIRS.to_vec();
    dirs.extend(extra.iter().map(|d| (d.as_str(), "SSL_CERT_DIR")));
    audit::scan_dirs(dirs)
}

pub fn run_lookup(args: &LookupArgs) -> Result<i32, String> {
    let hash = parse_hash_argument(&args.hash).ok_or_else(|| {
        format!(
            "{:?} is not a subject hash (8 hex digits, like 4042bcee or 4042bcee.0)",
            args.hash
        )
    })?;
    let hex = hash_hex(hash);
    let (bundle_path, bundle) = system_bundle();
    let bundle = match bundle {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            eprintln!("cafix: warning: {e}");
            None
        }
        None => None,
    };
    // Distinct certificates, in the order found, with where each was found.
    struct Found {
        cert: CaCert,
        places: Vec<String>,
    }
    let mut found: Vec<Found> = Vec::new();
    let mut add = |cert: &CaCert, place: String| match found.iter_mut().find(|f| f.cert.der == cert.der) {
        Some(f) => f.places.push(place),
        None => found.push(Found {
            cert: cert.clone(),
            places: vec![place],
        }),
    };
    if let Some(b) = &bundle {
        for c in b.with_hash(hash) {
            add(c, format!("system bundle {}", b.path.display()));
        }
    }
    let scans = trust_dir_scans();
    let mut broken = Vec::new();
    for scan in &scans {
        let also = if scan.aliases.is_empty() {
            String::new()
        } else {
            format!(
                " (also {})",
                scan.aliases
                    .iter()
                    .map(|a| a.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        for e in scan.entries.iter().filter(|e| e.hash == hash) {
            let link = e
                .link_target
                .as_ref()
                .map(|t| format!(" -> {}", t.display()))
                .unwrap_or_default();
            match &e.problem {
                None => {
                    for c in &e.certs {
                        add(c, format!("{}{link}{also}", e.path.display()));
                    }
                }
                Some(p) => broken.push(format!("{}{link}: {}", e.path.display(), describe_problem(p))),
            }
        }
    }
    let searched: Vec<String> = scans.iter().map(|s| s.path.display().to_string()).collect();
    if args.json {
        style::print_json(&json!({
            "hash": hex,
            "bundle": bundle_path.as_ref().map(|p| p.display().to_string()),
            "dirs_searched": searched,
            "certificates": found.iter().map(|f| {
                let mut v = cert_json(&f.cert);
                v["found_in"] = json!(f.places);
                v
            }).collect::<Vec<_>>(),
            "broken_entries": broken,
        }));
    } else if found.is_empty() {
        println!(
            "{}: no certificate with this subject hash in {} or in {}",
            style::bold(&hex),
            bundle_path
                .as_ref()
                .map_or("(no system bundle found)".to_string(), |p| p.display().to_string()),
            if searched.is_empty() {
                "any trust directory".to_string()
            } else {
                searched.join(", ")
            }
        );
    } else {
        println!("{}: {} certificate(s)", style::bold(&hex), found.len());
        let now = audit::now();
        for f in &found {
            let c = &f.cert;
            println!("  {}", style::bold(&c.subject));
            if c.issuer != c.subject {
                println!("    issuer: {}", c.issuer);
            }
            let validity = format!("valid {} to {}", format_utc(c.not_before), format_utc(c.not_after));
            let validity = if c.not_after < now {
                style::warn(&format!("{validity} (expired)"))
            } else if c.not_before > now {
                style::warn(&format!("{validity} (not yet valid)"))
            } else {
                validity
            };
            println!("    {validity}");
            println!("    sha256${}", sha256_hex(&c.der));
            for p in &f.places {
                println!("    in {p}");
            }
        }
    }
    if !args.json {
        for b in &broken {
            println!("  {} {b}", style::warn("broken entry:"));
        }
    }
    Ok(if found.is_empty() { 1 } else { 0 })
}

/// One line about a bad hash entry.
pub fn describe_problem(p: &EntryProblem) -> String {
    match p {
        EntryProblem::BrokenSymlink { target } => format!("broken symbolic link (to {})", target.display()),
        EntryProblem::Unreadable(e) => format!("unreadable: {e}"),
        EntryProblem::NotCertificate => "not a PEM certificate".to_string(),
        EntryProblem::Stale { actual } => format!(
            "stale: holds a certificate with subject hash {}, not the name's",
            actual.iter().map(|h| hash_hex(*h)).collect::<Vec<_>>().join(", ")
        ),
        EntryProblem::Unreachable => {
            "unreachable: a lower-numbered entry of this hash is missing, and OpenSSL stops there".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_arguments() {
        assert_eq!(parse_hash_argument("4042bcee"), Some(0x4042bcee));
        assert_eq!(parse_hash_argument("4042BCEE.0"), Some(0x4042bcee));
        assert_eq!(parse_hash_argument("/etc/ssl/certs/4042bcee.12"), Some(0x4042bcee));
        assert_eq!(parse_hash_argument("4042bcee.r0"), Some(0x4042bcee));
        assert_eq!(parse_hash_argument("4042bce"), None);
        assert_eq!(parse_hash_argument("4042bcee.x"), None);
        assert_eq!(parse_hash_argument("ISRG"), None);
    }
}
