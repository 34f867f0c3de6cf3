//! Which architecture an ELF file is built for, from the first bytes of
//! its header: libcafix.so compares its engine's with its own when the
//! engine does not load, to say "built for aarch64" instead of the loader's
//! "No such file or directory" (what glibc answers for another machine).

/// The identity of an ELF object: word size, byte order and machine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ElfIdent {
    /// `ELFCLASS32` (1) or `ELFCLASS64` (2).
    pub class: u8,
    /// `ELFDATA2LSB` (1) or `ELFDATA2MSB` (2).
    pub data: u8,
    /// `e_machine`.
    pub machine: u16,
}

/// How many bytes [`ElfIdent::parse`] needs: `e_ident`, `e_type`, `e_machine`.
pub const HEADER_BYTES: usize = 20;

const EM_386: u16 = 3;
const EM_PPC64: u16 = 21;
const EM_S390: u16 = 22;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;

impl ElfIdent {
    /// The identity in an ELF header's first [`HEADER_BYTES`]; `None` for
    /// anything that is not one.
    pub fn parse(header: &[u8]) -> Option<ElfIdent> {
        let bytes = header.get(..HEADER_BYTES)?;
        if bytes.get(..4)? != b"\x7fELF" {
            return None;
        }
        let (class, data) = (bytes[4], bytes[5]);
        let machine = [bytes[18], bytes[19]];
        let machine = match data {
            1 => u16::from_le_bytes(machine),
            2 => u16::from_be_bytes(machine),
            _ => return None,
        };
        matches!(class, 1 | 2).then_some(ElfIdent { class, data, machine })
    }

    /// The architecture's usual name (`uname -m`'s), or `None` for one
    /// this table does not know.
    pub fn arch_name(&self) -> Option<&'static str> {
        let bits64 = self.class == 2;
        let little = self.data == 1;
        Some(match self.machine {
            EM_386 => "i386",
            EM_X86_64 if bits64 => "x86_64",
            EM_X86_64 => "x32",
            EM_AARCH64 if little => "aarch64",
            EM_AARCH64 => "aarch64_be",
            EM_ARM => "arm",
            EM_PPC64 if little => "ppc64le",
            EM_PPC64 => "ppc64",
            EM_RISCV if bits64 => "riscv64",
            EM_RISCV => "riscv32",
            EM_S390 if bits64 => "s390x",
            EM_S390 => "s390",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(class: u8, data: u8, machine: u16) -> Vec<u8> {
        let mut h = b"\x7fELF".to_vec();
        h.extend([class, data, 1, 0]);
        h.resize(16, 0);
        let (t, m) = if data == 2 {
            (3u16.to_be_bytes(), machine.to_be_bytes())
        } else {
            (3u16.to_le_bytes(), machine.to_le_bytes())
        };
        h.extend(t);
        h.extend(m);
        h
    }

    #[test]
    fn names_the_architectures_distributions_ship() {
        for (class, data, machine, name) in [
            (2, 1, EM_X86_64, "x86_64"),
            (1, 1, EM_386, "i386"),
            (2, 1, EM_AARCH64, "aarch64"),
            (1, 1, EM_ARM, "arm"),
            (2, 1, EM_PPC64, "ppc64le"),
            (2, 2, EM_PPC64, "ppc64"),
            (2, 1, EM_RISCV, "riscv64"),
            (2, 2, EM_S390, "s390x"),
            (1, 1, EM_X86_64, "x32"),
        ] {
            let id = ElfIdent::parse(&header(class, data, machine)).unwrap();
            assert_eq!(id, ElfIdent { class, data, machine });
            assert_eq!(id.arch_name(), Some(name));
        }
        assert_eq!(ElfIdent::parse(&header(2, 1, 9999)).unwrap().arch_name(), None);
    }

    #[test]
    fn anything_else_is_no_elf() {
        assert_eq!(ElfIdent::parse(b""), None);
        assert_eq!(ElfIdent::parse(&header(2, 1, EM_X86_64)[..19]), None);
        let mut bad = header(2, 1, EM_X86_64);
        bad[0] = b'#';
        assert_eq!(ElfIdent::parse(&bad), None);
        for (i, v) in [(4, 3), (5, 0)] {
            let mut bad = header(2, 1, EM_X86_64);
            bad[i] = v;
            assert_eq!(ElfIdent::parse(&bad), None);
        }
    }

    /// The test binary's own header, as the loader mapped it, is this target's.
    #[test]
    fn this_targets_own_header() {
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let id = ElfIdent::parse(&exe).unwrap();
        let expected = match std::env::consts::ARCH {
            "x86" => "i386",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            other => other,
        };
        assert_eq!(id.arch_name(), Some(expected));
        assert_eq!(id.class == 2, cfg!(target_pointer_width = "64"));
    }
}
