//! What the tracer records: the processes it saw and their accesses to
//! trust locations.

use std::rc::Rc;

use crate::locations::{self, TrustPath};

use super::sys::{Op, Pid};

/// A trust location, as [`crate::locations`] defines them (the shim's notion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `<dir>/<hash>.<index>` in a trust directory (or one of `SSL_CERT_DIR`).
    HashEntry { dir: Vec<u8>, hash: u32, index: u32 },
    /// A well-known bundle path (index in [`locations::BUNDLE_PATHS`]) or
    /// the tracee's `SSL_CERT_FILE` (`None`).
    Bundle { known: Option<usize> },
    /// A trust directory itself (listed, opened or probed).
    Dir,
}

impl Location {
    /// Classifies an absolute path with the tracee's `SSL_CERT_DIR` and
    /// `SSL_CERT_FILE`.
    pub fn classify(path: &[u8], cert_dir: Option<&[u8]>, cert_file: Option<&[u8]>) -> Option<Location> {
        match locations::classify(path, cert_dir, cert_file) {
            Some(TrustPath::HashEntry { dir, hash, index }) => Some(Location::HashEntry {
                dir: dir.to_vec(),
                hash,
                index,
            }),
            Some(TrustPath::Bundle { known }) => Some(Location::Bundle { known }),
            // What only libcafix.so serves (a JDK's jssecacerts, the local CAs for Node.js).
            Some(TrustPath::JavaTrustStore { .. } | TrustPath::LocalCas) => None,
            None if path.len() > 1 && path[0] == b'/' && locations::is_trust_dir(path, cert_dir) => Some(Location::Dir),
            None => None,
        }
    }

    /// A relative path is resolved (one `readlink` of the tracee's working
    /// directory or descriptor) only when its last component could make it
    /// a trust location; every other relative path is ignored at once.
    pub fn relative_candidate(path: &[u8]) -> bool {
        let name = path.rsplit(|&b| b == b'/').find(|c| !c.is_empty()).unwrap_or(path);
        locations::parse_hash_entry_name(name).is_some()
            || name.ends_with(b".crt")
            || name.ends_with(b".pem")
            || locations::TRUST_DIRS
                .iter()
                .any(|(d, _)| d.as_bytes().rsplit(|&b| b == b'/').next() == Some(name))
    }
}

/// How an access ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The system call succeeded on a real file or directory.
    Found,
    /// `ENOENT`: nothing there.
    Missing,
    /// `ENOENT` because the entry is a symbolic link to nothing.
    BrokenSymlink,
    /// Another error (errno).
    Failed(i32),
    /// Missing, and `--fix` made the call succeed on a replacement.
    Served,
    /// The process ended before the system call returned.
    Unfinished,
}

impl Outcome {
    pub fn word(&self) -> String {
        match self {
            Outcome::Found => "found".into(),
            Outcome::Missing => "missing".into(),
            Outcome::BrokenSymlink => "broken-symlink".into(),
            Outcome::Failed(errno) => format!("error {}", errno_name(*errno)),
            Outcome::Served => "served".into(),
            Outcome::Unfinished => "unfinished".into(),
        }
    }

    /// Was the location absent (before any fix)?
    pub fn absent(&self) -> bool {
        matches!(self, Outcome::Missing | Outcome::BrokenSymlink | Outcome::Served)
    }
}

/// The symbolic name of the errno values a lookup meets.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::ELOOP => "ELOOP",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::EROFS => "EROFS",
        libc::EEXIST => "EEXIST",
        libc::EINVAL => "EINVAL",
        libc::EINTR => "EINTR",
        libc::ENOSYS => "ENOSYS",
        libc::EFAULT => "EFAULT",
        libc::EMFILE => "EMFILE",
        libc::ENXIO => "ENXIO",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

/// How a program was linked (from its ELF headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    Dynamic,
    Static,
    /// A 32-bit program: its system calls are not traced.
    Bits32,
    Unknown,
}

impl Linkage {
    pub fn word(self) -> &'static str {
        match self {
            Linkage::Dynamic => "dynamic",
            Linkage::Static => "static",
            Linkage::Bits32 => "32-bit, not traced",
            Linkage::Unknown => "unknown",
        }
    }

    /// Reads the ELF header and program headers of `path`.
    pub fn of(path: &str) -> Linkage {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(path) else {
            return Linkage::Unknown;
        };
        let mut head = [0u8; 64];
        if f.read_exact(&mut head).is_err() || &head[..4] != b"\x7fELF" {
            return Linkage::Unknown;
        }
        match head[4] {
            1 => return Linkage::Bits32,
            2 => {}
            _ => return Linkage::Unknown,
        }
        // x32 programs are ELFCLASS32 too; everything 64-bit here is little endian x86_64.
        let phoff = u64::from_le_bytes(head[0x20..0x28].try_into().unwrap());
        let phentsize = u16::from_le_bytes([head[0x36], head[0x37]]) as usize;
        let phnum = u16::from_le_bytes([head[0x38], head[0x39]]) as usize;
        if phentsize < 4 || phnum == 0 || phnum > 4096 {
            return Linkage::Unknown;
        }
        let mut phdrs = vec![0u8; phentsize * phnum];
        if f.seek(SeekFrom::Start(phoff)).is_err() || f.read_exact(&mut phdrs).is_err() {
            return Linkage::Unknown;
        }
        const PT_INTERP: u32 = 3;
        if phdrs
            .chunks_exact(phentsize)
            .any(|p| u32::from_le_bytes(p[..4].try_into().unwrap()) == PT_INTERP)
        {
            Linkage::Dynamic
        } else {
            Linkage::Static
        }
    }
}

/// A program the tracee ran (one per successful `execve`).
#[derive(Debug, Clone)]
pub struct Program {
    pub pid: Pid,
    pub exe: String,
    pub linkage: Linkage,
}

/// A traced process: what it ran and its trust environment.
#[derive(Debug, Clone)]
pub struct ProcInfo {
    pub pid: Pid,
    pub exe: Rc<str>,
    pub cert_dir: Option<Vec<u8>>,
    pub cert_file: Option<Vec<u8>>,
    /// Same root and mount namespace as the tracer (see `fsview`).
    pub same_view: bool,
}

/// Largest `/proc/<pid>/environ` read.
const MAX_ENVIRON: u64 = 1 << 20;

impl ProcInfo {
    /// Reads a process's program and environment from `/proc`.
    pub fn read(pid: Pid) -> ProcInfo {
        use std::io::Read;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "?".to_string());
        let mut environ = Vec::new();
        if let Ok(f) = std::fs::File::open(format!("/proc/{pid}/environ")) {
            let _ = f.take(MAX_ENVIRON).read_to_end(&mut environ);
        }
        let var = |name: &[u8]| -> Option<Vec<u8>> {
            environ
                .split(|&b| b == 0)
                .find_map(|kv| kv.strip_prefix(name).and_then(|rest| rest.strip_prefix(b"=")))
                .filter(|v| !v.is_empty())
                .map(<[u8]>::to_vec)
        };
        ProcInfo {
            pid,
            exe: exe.into(),
            cert_dir: var(b"SSL_CERT_DIR"),
            cert_file: var(b"SSL_CERT_FILE"),
            same_view: super::fsview::same_view(pid),
        }
    }
}

impl Access {
    /// The operation as the summary names it.
    pub fn op_word(&self) -> &'static str {
        match self.op {
            Op::Stat if self.nofollow => "lstat",
            op => op.word(),
        }
    }
}

/// One access of a trust location by a traced system call.
#[derive(Debug, Clone)]
pub struct Access {
    /// The process (thread group) and its program.
    pub pid: Pid,
    pub program: Rc<str>,
    pub syscall: &'static str,
    pub op: Op,
    /// Opened for writing (or created): never fixed.
    pub write: bool,
    /// A stat that does not follow a final symbolic link (`lstat`,
    /// `AT_SYMLINK_NOFOLLOW`).
    pub nofollow: bool,
    /// The absolute path.
    pub path: Vec<u8>,
    pub location: Location,
    pub outcome: Outcome,
    /// A successful access of the system bundle's file (any name for it).
    pub system_bundle: bool,
    /// With `--fix`: what was served instead.
    pub served: Option<String>,
    /// With `--fix`: why a missing location could not be served.
    pub not_fixed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_classify_like_the_shim_plus_directories() {
        assert_eq!(
            Location::classify(b"/etc/ssl/certs//4042bcee.0", None, None),
            Some(Location::HashEntry {
                dir: b"/etc/ssl/certs".to_vec(),
                hash: 0x4042bcee,
                index: 0
            })
        );
        assert_eq!(
            Location::classify(b"/usr/local/ssl/cert.pem", None, None),
            Some(Location::Bundle {
                known: locations::known_bundle_index(b"/usr/local/ssl/cert.pem")
            })
        );
        assert!(locations::known_bundle_index(b"/usr/local/ssl/cert.pem").is_some());
        assert_eq!(Location::classify(b"/etc/ssl/certs/", None, None), Some(Location::Dir));
        assert_eq!(
            Location::classify(b"/srv/ca", Some(b"/srv/ca"), None),
            Some(Location::Dir)
        );
        assert_eq!(
            Location::classify(b"/srv/b.txt", None, Some(b"/srv/b.txt")),
            Some(Location::Bundle { known: None })
        );
        assert_eq!(Location::classify(b"/usr/lib/libc.so.6", None, None), None);
        assert_eq!(Location::classify(b"/", None, None), None);
    }

    #[test]
    fn relative_paths_are_resolved_only_when_they_could_matter() {
        assert!(Location::relative_candidate(b"4042bcee.0"));
        assert!(Location::relative_candidate(b"ssl/certs/ca-certificates.crt"));
        assert!(Location::relative_candidate(b"certs"));
        assert!(Location::relative_candidate(b"certs/"));
        assert!(!Location::relative_candidate(b"lib/python3.11/os.py"));
        assert!(!Location::relative_candidate(b"share"));
    }

    #[test]
    fn linkage_of_this_test_binary_and_of_sh() {
        assert_eq!(Linkage::of("/bin/sh"), Linkage::Dynamic);
        assert_eq!(Linkage::of("/nonexistent"), Linkage::Unknown);
        assert_eq!(Linkage::of("/etc/passwd"), Linkage::Unknown);
    }
}
