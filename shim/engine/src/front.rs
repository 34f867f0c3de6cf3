//! What libcafix.so handed the engine at init, for every module that needs
//! the front's services: where it is loaded (so its trampolines count as the
//! engine's own) and `dlsym(RTLD_NEXT)` relative to it (the engine's own
//! would see only the engine's dependencies).

use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;

use cafix_common::engine_abi::FrontInfo;

/// What the front said at init.
pub struct Front {
    /// Any address inside libcafix.so.
    pub anchor: usize,
    dlsym_next: unsafe extern "C" fn(*const c_char) -> *mut c_void,
}

static FRONT: OnceLock<Front> = OnceLock::new();

pub fn front() -> Option<&'static Front> {
    FRONT.get()
}

impl Front {
    /// `dlsym(RTLD_NEXT, name)` relative to libcafix.so: the next definition
    /// in the program's scope after the preload.
    pub fn dlsym_next(&self, name: &CStr) -> *mut c_void {
        // SAFETY: the front's function takes a NUL-terminated name.
        unsafe { (self.dlsym_next)(name.as_ptr()) }
    }
}

/// Keeps what the front said; the first call wins.
pub fn remember(info: &FrontInfo) {
    let _ = FRONT.set(Front {
        anchor: info.front_anchor as usize,
        dlsym_next: info.dlsym_next,
    });
}
