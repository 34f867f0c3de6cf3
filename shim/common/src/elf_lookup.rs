//! The dynamic linker's rules for `dlsym(RTLD_NEXT, name)`, for the shim's
//! load-time constructor.
//!
//! The shim needs the next definition of each of the 25 libc functions it
//! hooks. Asking `dlsym` costs ~870 instructions a name (error-state setup,
//! the loader lock, a search of the whole scope): 22,000 instructions, an
//! eighth of `/bin/true`'s start, in every process the shim is preloaded
//! into. Reading the GNU hash tables of the objects loaded after the shim
//! costs ~100 a name. The shim does the reading (raw memory, in its FFI
//! layer); the decisions, which are glibc's `do_lookup_x` and `check_match`
//! (elf/dl-lookup.c), are here, pure and tested. Anything these rules do not
//! cover is [`Binding::AskLoader`]: the shim then asks `dlsym` after all.

/// ELF symbol types (`st_info & 0xf`) and bindings (`st_info >> 4`).
const STT_NOTYPE: u8 = 0;
const STT_OBJECT: u8 = 1;
const STT_FUNC: u8 = 2;
const STT_COMMON: u8 = 5;
const STT_TLS: u8 = 6;
const STT_GNU_IFUNC: u8 = 10;
const STB_LOCAL: u8 = 0;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;
/// Visibilities (`st_other & 3`) that bind locally.
const STV_INTERNAL: u8 = 1;
const STV_HIDDEN: u8 = 2;
const SHN_UNDEF: u16 = 0;
const SHN_ABS: u16 = 0xfff1;
/// `.gnu.version` entries: the index, and the bit that hides a non-default version.
const VERSYM_INDEX: u16 = 0x7fff;
const VERSYM_HIDDEN: u16 = 0x8000;

/// The GNU hash of a symbol name (`dl_new_hash`); `const` so the shim's
/// names are hashed at compile time.
pub const fn gnu_hash(name: &[u8]) -> u32 {
    let mut h = 5381u32;
    let mut i = 0;
    while i < name.len() {
        h = h.wrapping_mul(33).wrapping_add(name[i] as u32);
        i += 1;
    }
    h
}

/// Which word of a GNU hash table's Bloom filter to test for `hash`, given
/// the filter's size in words (a power of two) and the word size in bits
/// (64 in a 64-bit object).
pub fn bloom_word_index(hash: u32, words: u32, word_bits: u32) -> usize {
    ((hash / word_bits) & (words - 1)) as usize
}

/// Whether the Bloom filter word lets `hash` through (both of its bits set);
/// `false` means the object surely does not define the name.
pub fn bloom_may_contain(word: u64, hash: u32, shift: u32, word_bits: u32) -> bool {
    let bit1 = hash % word_bits;
    let bit2 = (hash >> shift) % word_bits;
    (word >> bit1) & (word >> bit2) & 1 == 1
}

/// A hash-chain entry: does it carry `hash`? (The low bit marks the chain's end.)
pub fn chain_entry_matches(entry: u32, hash: u32) -> bool {
    (entry ^ hash) >> 1 == 0
}

/// The parts of a symbol-table entry the rules look at.
#[derive(Clone, Copy, Debug)]
pub struct SymbolEntry {
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    /// Its `.gnu.version` entry, if the object has versions.
    pub versym: Option<u16>,
}

/// What `check_match` makes of an entry whose name is the one looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Not a definition `dlsym` may return; keep looking in this object.
    No,
    /// Unversioned, or the base version: the answer for this object.
    Yes,
    /// A non-hidden versioned definition: the answer only if it is the
    /// object's only one (`num_versions == 1`).
    Versioned,
}

/// glibc's `check_match` for an unversioned lookup with
/// `DL_LOOKUP_RETURN_NEWEST`, which is what `dlsym` does.
pub fn check_match(sym: &SymbolEntry) -> Match {
    let stt = sym.info & 0xf;
    if (sym.value == 0 && sym.shndx != SHN_ABS && stt != STT_TLS) || sym.shndx == SHN_UNDEF {
        return Match::No;
    }
    if !matches!(
        stt,
        STT_NOTYPE | STT_OBJECT | STT_FUNC | STT_COMMON | STT_TLS | STT_GNU_IFUNC
    ) {
        return Match::No;
    }
    match sym.versym {
        Some(v) if v & VERSYM_INDEX >= 2 => {
            if v & VERSYM_HIDDEN == 0 {
                Match::Versioned
            } else {
                Match::No
            }
        }
        _ => Match::Yes,
    }
}

/// What to do with the definition an object gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `dlsym` returns it: the object's base plus `value`.
    Use,
    /// It binds locally (hidden, internal or `STB_LOCAL`): go on to the next object.
    NextObject,
    /// Something these rules do not repeat (an IFUNC, whose resolver must be
    /// called, an absolute or thread-local symbol, `STB_GNU_UNIQUE`): let
    /// `dlsym` answer.
    AskLoader,
}

/// `do_lookup_x` after `check_match` chose `sym`.
pub fn binding(sym: &SymbolEntry) -> Binding {
    if matches!(sym.other & 3, STV_INTERNAL | STV_HIDDEN) {
        return Binding::NextObject;
    }
    let stt = sym.info & 0xf;
    if stt == STT_GNU_IFUNC || stt == STT_TLS || sym.shndx == SHN_ABS {
        return Binding::AskLoader;
    }
    match sym.info >> 4 {
        STB_GLOBAL | STB_WEAK => Binding::Use,
        STB_LOCAL => Binding::NextObject,
        _ => Binding::AskLoader,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(bind: u8, versym: Option<u16>) -> SymbolEntry {
        SymbolEntry {
            info: (bind << 4) | STT_FUNC,
            other: 0,
            shndx: 14,
            value: 0x1000,
            versym,
        }
    }

    #[test]
    fn gnu_hash_is_dl_new_hash() {
        // Values from the ELF gABI extension's reference implementation.
        assert_eq!(gnu_hash(b""), 5381);
        assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
        assert_eq!(gnu_hash(b"exit"), 0x7c96_7e3f);
        assert_eq!(gnu_hash(b"syscall"), 0xbac2_12a0);
    }

    #[test]
    fn bloom_filter_bits() {
        let hash = 0x156b_2bb8u32;
        let (shift, bits) = (10, 64);
        let word = (1u64 << (hash % bits)) | (1u64 << ((hash >> shift) % bits));
        assert!(bloom_may_contain(word, hash, shift, bits));
        assert!(!bloom_may_contain(word & !(1u64 << (hash % bits)), hash, shift, bits));
        assert!(!bloom_may_contain(0, hash, shift, bits));
        assert!(bloom_may_contain(u64::MAX, hash, shift, bits));
        assert_eq!(bloom_word_index(hash, 4, 64), ((hash / 64) & 3) as usize);
        assert_eq!(bloom_word_index(hash, 1, 64), 0);
    }

    #[test]
    fn chain_entries_ignore_the_end_bit() {
        assert!(chain_entry_matches(0x156b_2bb8, 0x156b_2bb8));
        assert!(chain_entry_matches(0x156b_2bb9, 0x156b_2bb8));
        assert!(!chain_entry_matches(0x156b_2bba, 0x156b_2bb8));
    }

    #[test]
    fn versions_follow_dlsym() {
        // Unversioned object, or the global (1) or local (0) index: taken.
        assert_eq!(check_match(&func(STB_GLOBAL, None)), Match::Yes);
        assert_eq!(check_match(&func(STB_GLOBAL, Some(1))), Match::Yes);
        assert_eq!(check_match(&func(STB_GLOBAL, Some(1 | VERSYM_HIDDEN))), Match::Yes);
        // stat@@GLIBC_2.33: the default version, taken if it is the only one.
        assert_eq!(check_match(&func(STB_GLOBAL, Some(2))), Match::Versioned);
        assert_eq!(check_match(&func(STB_WEAK, Some(17))), Match::Versioned);
        // realpath@GLIBC_2.2.5 next to realpath@@GLIBC_2.3: never.
        assert_eq!(check_match(&func(STB_GLOBAL, Some(2 | VERSYM_HIDDEN))), Match::No);
    }

    #[test]
    fn only_definitions_match() {
        let undefined = SymbolEntry {
            shndx: SHN_UNDEF,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(check_match(&undefined), Match::No);
        let no_value = SymbolEntry {
            value: 0,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(check_match(&no_value), Match::No);
        let section = SymbolEntry {
            info: (STB_GLOBAL << 4) | 3,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(check_match(&section), Match::No);
        let object = SymbolEntry {
            info: (STB_GLOBAL << 4) | STT_OBJECT,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(check_match(&object), Match::Yes);
        let absolute_zero = SymbolEntry {
            value: 0,
            shndx: SHN_ABS,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(check_match(&absolute_zero), Match::Yes);
    }

    #[test]
    fn bindings() {
        assert_eq!(binding(&func(STB_GLOBAL, None)), Binding::Use);
        assert_eq!(binding(&func(STB_WEAK, None)), Binding::Use);
        assert_eq!(binding(&func(STB_LOCAL, None)), Binding::NextObject);
        let hidden = SymbolEntry {
            other: STV_HIDDEN,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(binding(&hidden), Binding::NextObject);
        let protected = SymbolEntry {
            other: 3,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(binding(&protected), Binding::Use);
        let ifunc = SymbolEntry {
            info: (STB_GLOBAL << 4) | STT_GNU_IFUNC,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(binding(&ifunc), Binding::AskLoader);
        let unique = SymbolEntry {
            info: (10 << 4) | STT_OBJECT,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(binding(&unique), Binding::AskLoader);
        let absolute = SymbolEntry {
            shndx: SHN_ABS,
            ..func(STB_GLOBAL, None)
        };
        assert_eq!(binding(&absolute), Binding::AskLoader);
    }
}
