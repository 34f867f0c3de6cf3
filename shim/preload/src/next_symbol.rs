//! `dlsym(RTLD_NEXT, name)` for the real functions, without `dlsym`: the
//! load-time constructor reads the GNU hash tables of the objects loaded
//! after libcafix.so, in the loader's search order, and applies the
//! loader's own rules (`cafix::elf_lookup`). 25 `dlsym` calls were ~22,700
//! instructions in the start of every process the shim is preloaded into;
//! the whole constructor with this walk is ~11,400.
//!
//! It runs once, from the constructor, where nothing else is loading or
//! unloading objects (`dl_iterate_phdr` holds the loader's lock anyway).
//! Every pointer it computes from a dynamic section is checked to lie inside
//! the object's loaded segments; any object or symbol it cannot read with
//! certainty leaves the name to `dlsym` (the caller's fallback), so the
//! answer is always the loader's. Offsets are computed with checked
//! arithmetic, so a corrupt table cannot make this code panic (it runs inside
//! an `extern "C"` callback, where a panic would abort the host).

use core::ffi::{c_int, c_void};
use core::mem::size_of;

use cafix_common::elf_lookup::{
    binding, bloom_may_contain, bloom_word_index, chain_entry_matches, check_match, Binding, Match, SymbolEntry,
};

#[cfg(target_pointer_width = "64")]
type Sym = libc::Elf64_Sym;
#[cfg(target_pointer_width = "32")]
type Sym = libc::Elf32_Sym;

/// One `ElfW(Dyn)`: a tag and a value or address, both word-sized.
#[repr(C)]
struct Dyn {
    tag: isize,
    val: usize,
}

const DT_NULL: isize = 0;
const DT_STRTAB: isize = 5;
const DT_SYMTAB: isize = 6;
const DT_GNU_HASH: isize = 0x6fff_fef5;
const DT_VERSYM: isize = 0x6fff_fff0;
/// Program headers beyond this many are not looked at (objects have ~10).
const MAX_SEGMENTS: usize = 32;

/// Where each name stands during the walk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Found(*mut c_void),
    AskLoader,
}

struct Walk<'a> {
    /// An address inside libcafix.so: the walk starts after the object holding it.
    anchor: usize,
    past_self: bool,
    /// Each name and its GNU hash.
    keys: &'a [(&'a [u8], u32)],
    states: &'a mut [State],
}

/// At most this many names (the shim has 26).
const MAX_NAMES: usize = 32;

/// Resolves each name (given with its GNU hash) as `dlsym(RTLD_NEXT, name)`
/// called from libcafix.so would: `out[i]` is the address, or `None` when
/// the loader must be asked (an object or a symbol this reader does not
/// handle, or no definition found: `dlsym` then has the last word, and its
/// error handling).
pub fn resolve(keys: &[(&[u8], u32)], out: &mut [Option<*mut c_void>]) {
    let n = keys.len().min(MAX_NAMES);
    let mut states = [State::Pending; MAX_NAMES];
    let mut walk = Walk {
        anchor: resolve as *const () as usize,
        past_self: false,
        keys: &keys[..n],
        states: &mut states[..n],
    };
    // SAFETY: `visit` only reads the loader's data for the duration of the
    // call and writes `walk`, which outlives it.
    unsafe { libc::dl_iterate_phdr(Some(visit), &mut walk as *mut Walk as *mut c_void) };
    for (slot, state) in out.iter_mut().zip(walk.states.iter()) {
        *slot = match *state {
            State::Found(p) => Some(p),
            State::Pending | State::AskLoader => None,
        };
    }
}

unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `Walk` passed by `resolve`; `info` is the
    // loader's description of one object, valid during this call.
    let (walk, info) = unsafe { (&mut *(data as *mut Walk), &*info) };
    if !walk.past_self {
        // SAFETY: forwarded: `info` comes from the loader.
        walk.past_self = unsafe { load_segments(info) }.any(|(start, len)| walk.anchor.wrapping_sub(start) < len);
        return 0;
    }
    // SAFETY: forwarded: `info` comes from the loader.
    let Some(object) = (unsafe { Object::read(info) }) else {
        // An object we cannot read may define any of the names, and it comes
        // before the objects after it: those names go to the loader.
        for state in walk.states.iter_mut().filter(|s| **s == State::Pending) {
            *state = State::AskLoader;
        }
        return 1;
    };
    for (&(name, hash), state) in walk.keys.iter().zip(walk.states.iter_mut()) {
        if *state == State::Pending {
            *state = object.lookup(name, hash);
        }
    }
    c_int::from(!walk.states.contains(&State::Pending))
}

/// The offset of element `index` of `size` bytes in an array at `start`.
fn element(start: usize, index: usize, size: usize) -> Option<usize> {
    index.checked_mul(size)?.checked_add(start)
}

/// The `PT_LOAD` segments of an object, as (start address, length).
///
/// # Safety
/// `info` describes a loaded object (from `dl_iterate_phdr`).
unsafe fn load_segments(info: &libc::dl_phdr_info) -> impl Iterator<Item = (usize, usize)> + '_ {
    let base = info.dlpi_addr as usize;
    (0..usize::from(info.dlpi_phnum)).filter_map(move |i| {
        // SAFETY: the loader's program header array has dlpi_phnum entries.
        let ph = unsafe { &*info.dlpi_phdr.add(i) };
        (ph.p_type == libc::PT_LOAD).then(|| (base.wrapping_add(ph.p_vaddr as usize), ph.p_memsz as usize))
    })
}

/// A table inside an object: where it starts and where the loaded segment
/// holding it ends, the bound for every read from it. Only [`Object::read`]
/// makes one, from a segment the loader reported, which is what makes the
/// reads through [`Object::read_at`] sound.
#[derive(Clone, Copy)]
struct Table {
    start: usize,
    /// Bytes from `start` to the end of its segment; 0 for a missing table.
    room: usize,
}

impl Table {
    const NONE: Table = Table { start: 0, room: 0 };

    /// The address of `len` bytes at `offset` into the table, if they lie
    /// inside its segment.
    #[inline]
    fn at(&self, offset: usize, len: usize) -> Option<usize> {
        (offset.checked_add(len)? <= self.room).then_some(self.start + offset)
    }
}

/// The tables of one loaded object.
struct Object {
    base: usize,
    /// The GNU hash table's header: buckets, first hashed symbol, Bloom
    /// filter words, Bloom shift.
    header: [u32; 4],
    gnu_hash: Table,
    symtab: Table,
    strtab: Table,
    versym: Table,
}

impl Object {
    /// Reads an object's dynamic section. `None` if it has no GNU hash
    /// table or anything points outside its loaded segments.
    ///
    /// # Safety
    /// `info` describes a loaded object (from `dl_iterate_phdr`).
    unsafe fn read(info: &libc::dl_phdr_info) -> Option<Object> {
        let base = info.dlpi_addr as usize;
        let mut segments = [(0usize, 0usize); MAX_SEGMENTS];
        let mut nsegments = 0;
        // SAFETY: forwarded from this function's contract.
        for (slot, segment) in segments.iter_mut().zip(unsafe { load_segments(info) }) {
            *slot = segment;
            nsegments += 1;
        }
        let segments = segments.get(..nsegments)?;
        // The segment end for an address inside one, else None.
        let segment_end = |address: usize| {
            segments
                .iter()
                .find(|&&(start, len)| address >= start && address - start < len)
                .map(|&(start, len)| start.saturating_add(len))
        };
        // A dynamic-section address: the loader has relocated it in place on
        // most architectures (an absolute address inside the object), but not
        // in read-only dynamic sections such as the vDSO's (an offset from the base).
        let table = |value: usize| {
            [value, base.wrapping_add(value)].into_iter().find_map(|start| {
                segment_end(start).map(|end| Table {
                    start,
                    room: end - start,
                })
            })
        };
        let dynamic = (0..usize::from(info.dlpi_phnum)).find_map(|i| {
            // SAFETY: the loader's program header array has dlpi_phnum entries.
            let ph = unsafe { &*info.dlpi_phdr.add(i) };
            (ph.p_type == libc::PT_DYNAMIC).then(|| Table {
                start: base.wrapping_add(ph.p_vaddr as usize),
                room: ph.p_memsz as usize,
            })
        })?;
        // PT_DYNAMIC must itself lie in a loaded segment.
        if segment_end(dynamic.start).is_none_or(|end| end - dynamic.start < dynamic.room) {
            return None;
        }
        let mut object = Object {
            base,
            header: [0; 4],
            gnu_hash: Table::NONE,
            symtab: Table::NONE,
            strtab: Table::NONE,
            versym: Table::NONE,
        };
        let mut offset = 0;
        while let Some(at) = dynamic.at(offset, size_of::<Dyn>()) {
            offset += size_of::<Dyn>();
            // SAFETY: inside PT_DYNAMIC, which lies in a loaded segment.
            let entry = unsafe { core::ptr::read_unaligned(at as *const Dyn) };
            let slot = match entry.tag {
                DT_NULL => break,
                DT_GNU_HASH => &mut object.gnu_hash,
                DT_SYMTAB => &mut object.symtab,
                DT_STRTAB => &mut object.strtab,
                DT_VERSYM => &mut object.versym,
                _ => continue,
            };
            *slot = table(entry.val)?;
        }
        if object.gnu_hash.room == 0 || object.symtab.room == 0 || object.strtab.room == 0 {
            return None;
        }
        object.header = Self::read_at(&object.gnu_hash, 0)?;
        Some(object)
    }

    /// Reads a `T` at `offset` into `table`, if it lies inside the table's segment.
    fn read_at<T: Copy>(table: &Table, offset: usize) -> Option<T> {
        let address = table.at(offset, size_of::<T>())?;
        // SAFETY: `size_of::<T>()` bytes at `address` lie inside a loaded
        // segment of the object (`Table::at`); T is plain data.
        Some(unsafe { core::ptr::read_unaligned(address as *const T) })
    }

    /// `do_lookup_x` for one object: `name` with GNU hash `hash`.
    fn lookup(&self, name: &[u8], hash: u32) -> State {
        self.try_lookup(name, hash).unwrap_or(State::AskLoader)
    }

    /// `None` when a read would leave the object's segments.
    fn try_lookup(&self, name: &[u8], hash: u32) -> Option<State> {
        let word_bits = usize::BITS;
        let word = size_of::<usize>();
        let [nbuckets, symoffset, bloom_words, shift] = self.header;
        if nbuckets == 0 {
            return Some(State::Pending);
        }
        if !bloom_words.is_power_of_two() {
            return None;
        }
        let bloom = 16;
        let buckets = element(bloom, bloom_words as usize, word)?;
        let chain = element(buckets, nbuckets as usize, 4)?;
        let bloom_word: usize = Self::read_at(
            &self.gnu_hash,
            element(bloom, bloom_word_index(hash, bloom_words, word_bits), word)?,
        )?;
        if !bloom_may_contain(bloom_word as u64, hash, shift, word_bits) {
            return Some(State::Pending);
        }
        let mut index: u32 = Self::read_at(&self.gnu_hash, element(buckets, (hash % nbuckets) as usize, 4)?)?;
        if index < symoffset {
            return Some(State::Pending);
        }
        let mut chosen: Option<SymbolEntry> = None;
        let mut versioned: Option<SymbolEntry> = None;
        let mut versions = 0u32;
        loop {
            let entry: u32 = Self::read_at(&self.gnu_hash, element(chain, (index - symoffset) as usize, 4)?)?;
            if chain_entry_matches(entry, hash) {
                let sym: Sym = Self::read_at(&self.symtab, element(0, index as usize, size_of::<Sym>())?)?;
                if self.name_is(sym.st_name as usize, name)? {
                    let versym = if self.versym.room == 0 {
                        None
                    } else {
                        Some(Self::read_at(&self.versym, element(0, index as usize, 2)?)?)
                    };
                    let candidate = SymbolEntry {
                        info: sym.st_info,
                        other: sym.st_other,
                        shndx: sym.st_shndx,
                        value: sym.st_value as u64,
                        versym,
                    };
                    match check_match(&candidate) {
                        Match::No => {}
                        Match::Yes => {
                            chosen = Some(candidate);
                            break;
                        }
                        Match::Versioned => {
                            if versions == 0 {
                                versioned = Some(candidate);
                            }
                            versions = versions.saturating_add(1);
                        }
                    }
                }
            }
            if entry & 1 == 1 {
                break;
            }
            index = index.checked_add(1)?;
        }
        let Some(sym) = chosen.or(if versions == 1 { versioned } else { None }) else {
            return Some(State::Pending);
        };
        Some(match binding(&sym) {
            Binding::Use => State::Found(self.base.wrapping_add(sym.value as usize) as *mut c_void),
            Binding::NextObject => State::Pending,
            Binding::AskLoader => State::AskLoader,
        })
    }

    /// Is the string at `offset` in the string table `name`? `None` if it
    /// runs out of the object's segment.
    fn name_is(&self, offset: usize, name: &[u8]) -> Option<bool> {
        // The name plus its terminator must be readable to compare.
        let len = name.len().checked_add(1)?;
        let start = self.strtab.at(offset, len)?;
        // SAFETY: `len` bytes from `start` lie inside a loaded segment.
        let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, len) };
        let (&terminator, chars) = bytes.split_last()?;
        Some(chars == name && terminator == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cafix_common::elf_lookup::gnu_hash;
    use core::ffi::CStr;

    /// In a test binary the shim's code is part of the executable, so "after
    /// self" is "after the executable", and `dlsym(RTLD_NEXT)` called from
    /// the executable must give the same answers.
    #[test]
    fn agrees_with_dlsym_rtld_next() {
        let names: Vec<&CStr> = crate::real::ALL
            .iter()
            .map(|r| r.name())
            .chain([
                c"malloc",
                c"pthread_create",
                c"gnu_get_libc_version",
                c"realpath",
                c"environ",
                c"_dl_find_object",
                c"cafix_no_such_symbol",
            ])
            .collect();
        let keys: Vec<(&[u8], u32)> = names.iter().map(|n| (n.to_bytes(), gnu_hash(n.to_bytes()))).collect();
        for (real, key) in crate::real::ALL.iter().zip(&keys) {
            assert_eq!(real.key(), *key, "the compile-time hash is dl_new_hash");
        }
        let mut ours = vec![None; names.len()];
        resolve(&keys, &mut ours);
        let hooked = crate::real::ALL.len();
        for (i, (name, ours)) in names.iter().zip(&ours).enumerate() {
            // SAFETY: dlsym with a NUL-terminated name.
            let theirs = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
            match ours {
                Some(p) => assert_eq!(*p, theirs, "{name:?}: the walk and dlsym(RTLD_NEXT) disagree"),
                // Every hooked function this C library has is found without dlsym.
                None if i < hooked => assert!(theirs.is_null(), "{name:?} left to dlsym, which finds {theirs:?}"),
                None => {}
            }
        }
        assert!(ours[..hooked].iter().filter(|p| p.is_some()).count() >= 13, "{ours:?}");
        assert!(ours[hooked..hooked + 6].iter().all(Option::is_some), "{ours:?}");
        assert_eq!(ours.last(), Some(&None), "a name nobody defines is left to dlsym");
    }
}
