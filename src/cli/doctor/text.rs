//! Phrases several sections of `cafix doctor` share.

use std::path::{Path, PathBuf};

use crate::audit::DirScan;
use crate::bundle::CaCert;
use crate::subject_hash::hash_hex;

/// How many names the text output lists before "… and N more".
const SHORT_LIST: usize = 12;

/// The names, or the first [`SHORT_LIST`] of them and how many more.
pub(super) fn short_list(items: &[String], verbose: bool) -> String {
    if verbose || items.len() <= SHORT_LIST {
        items.join(", ")
    } else {
        format!(
            "{}, … and {} more (all with --verbose or --json)",
            items[..SHORT_LIST].join(", "),
            items.len() - SHORT_LIST
        )
    }
}

/// `1 entry`, `2 entries`.
pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `GlobalSign Root R46 (002c0b4f)`.
pub(super) fn cert_name(c: &CaCert) -> String {
    format!("{} ({})", c.short_name(), hash_hex(c.subject_hash))
}

/// `/etc/ssl/certs (also /usr/lib/ssl/certs)`.
pub(super) fn dir_label(scan: &DirScan) -> String {
    if scan.aliases.is_empty() {
        scan.path.display().to_string()
    } else {
        let aliases: Vec<String> = scan.aliases.iter().map(|a| a.display().to_string()).collect();
        format!("{} (also {})", scan.path.display(), aliases.join(", "))
    }
}

/// The command that rebuilds a hash directory.
pub(super) fn rehash_fix(dir: &Path) -> String {
    let d = dir.display();
    if dir == Path::new("/etc/ssl/certs") || dir == Path::new("/usr/lib/ssl/certs") {
        format!("complete the directory: `update-ca-certificates --fresh` (Debian/Ubuntu), or `openssl rehash {d}` (c_rehash) if each CA is there as its own PEM file")
    } else {
        format!("complete the directory: `openssl rehash {d}` (c_rehash), with each CA there as its own PEM file")
    }
}

/// `/etc/ssl/certs/8d33f237.0` or `/etc/ssl/certs/002c0b4f.0 and 289 more hash-named file(s)`.
pub(super) fn trigger_text(triggers: &[PathBuf]) -> String {
    match triggers {
        [] => "no hash-named file".to_string(),
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} and {} more hash-named file(s)", first.display(), rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_cut_unless_verbose() {
        let items: Vec<String> = (0..14).map(|i| i.to_string()).collect();
        assert_eq!(
            short_list(&items, false),
            "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, … and 2 more (all with --verbose or --json)"
        );
        assert_eq!(short_list(&items, true).matches(", ").count(), 13);
        assert_eq!(short_list(&items[..12], false).matches(", ").count(), 11);
        assert_eq!(plural(1, "CA", "CAs"), "1 CA");
        assert_eq!(plural(0, "CA", "CAs"), "0 CAs");
    }

    #[test]
    fn triggers_and_rehash_commands() {
        assert_eq!(trigger_text(&[]), "no hash-named file");
        let t = [PathBuf::from("/etc/ssl/certs/a.0"), PathBuf::from("/etc/ssl/certs/b.0")];
        assert_eq!(trigger_text(&t[..1]), "/etc/ssl/certs/a.0");
        assert_eq!(trigger_text(&t), "/etc/ssl/certs/a.0 and 1 more hash-named file(s)");
        assert!(rehash_fix(Path::new("/etc/ssl/certs")).contains("update-ca-certificates --fresh"));
        assert!(rehash_fix(Path::new("/opt/certs")).contains("`openssl rehash /opt/certs`"));
    }
}
