//! What libcafix.so knows of the hooked library functions at run time
//! (`engine_abi::LIBRARIES`): their names and failure values, generated as
//! plain bytes and numbers by build.rs, and where each one's trampoline
//! goes. The loader of the engine ([`crate::engine`]) fills the targets; the
//! trampolines ([`crate::trampolines`]) read them.

use core::ffi::{c_int, c_void, CStr};
use core::sync::atomic::AtomicPtr;

use cafix_common::engine_abi::LIBRARY_HOOK_COUNT;

/// Per library hook, in `engine_abi::library_hook` order: the engine's
/// hook, or, once the engine is known to be unavailable, the next
/// definition; null until one is known. In a section of its own, so that
/// the C trampolines find it as `__start_cafix_trampoline_targets`, a
/// symbol the linker defines and keeps local.
#[used]
#[link_section = "cafix_trampoline_targets"]
pub static TARGETS: [AtomicPtr<c_void>; LIBRARY_HOOK_COUNT] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; LIBRARY_HOOK_COUNT];

/// The name of library hook `index` (`engine_abi::library_hook(index).name`).
pub fn hook_name(index: usize) -> Option<&'static CStr> {
    let start = usize::from(*HOOK_NAME_AT.get(index)?);
    CStr::from_bytes_until_nul(HOOK_NAMES.get(start..)?).ok()
}

/// What library hook `index` returns when no library in the process
/// defines the function (`engine_abi::library_hook(index).failure`).
pub fn hook_failure(index: usize) -> Option<c_int> {
    HOOK_FAILURE.get(index).copied()
}

// HOOK_NAMES, HOOK_NAME_AT, HOOK_FAILURE: what the front needs of
// engine_abi::LIBRARIES at run time, without pointers to relocate.
include!(concat!(env!("OUT_DIR"), "/hook_table.rs"));
