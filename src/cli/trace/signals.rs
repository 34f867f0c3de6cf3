//! Forwarding termination signals sent to the tracer.
//!
//! While the command runs, `SIGINT`, `SIGTERM`, `SIGHUP` and `SIGQUIT`
//! do not kill the tracer (that would leave no summary, and `EXITKILL`
//! would `SIGKILL` the command): they are passed on to the command, which
//! decides, and the tracer reports how it ended.
//!
//! A signal the terminal sent to the whole foreground process group
//! (`si_code == SI_KERNEL`) already reached the command if it is still in
//! the tracer's process group; it is not sent a second time. Once the
//! command itself has exited, a forwarded signal goes to every process
//! still traced (the loop does that when `waitpid` returns `EINTR`; the
//! handlers are installed without `SA_RESTART` for this).

use std::sync::atomic::{AtomicI32, Ordering};

use super::sys::Pid;

const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// The command's pid while it runs, 0 after.
static MAIN: AtomicI32 = AtomicI32::new(0);
/// A signal that arrived after the command exited, for the loop.
static LATE: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let main = MAIN.load(Ordering::SeqCst);
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let code = if info.is_null() { 0 } else { unsafe { (*info).si_code } };
    if main > 0 {
        // SAFETY: async-signal-safe system calls only.
        unsafe {
            let from_terminal = code == libc::SI_KERNEL;
            if !(from_terminal && libc::getpgid(main) == libc::getpgrp()) {
                libc::kill(main, sig);
            }
        }
    } else if code != libc::SI_KERNEL {
        LATE.store(sig, Ordering::SeqCst);
    }
}

/// The handlers in force while tracing; dropping restores the old ones.
pub struct Forwarding {
    old: Vec<(libc::c_int, libc::sigaction)>,
}

impl Forwarding {
    pub fn install(main: Pid) -> Forwarding {
        MAIN.store(main, Ordering::SeqCst);
        LATE.store(0, Ordering::SeqCst);
        let mut old = Vec::new();
        for sig in FORWARDED {
            // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &action, &mut previous) == 0 {
                    old.push((sig, previous));
                }
            }
        }
        Forwarding { old }
    }

    /// The command has been reaped: its pid may be reused, never signal it again.
    pub fn main_exited(&self) {
        MAIN.store(0, Ordering::SeqCst);
    }

    /// A signal that arrived after the command exited (once).
    pub fn take_late(&self) -> Option<libc::c_int> {
        match LATE.swap(0, Ordering::SeqCst) {
            0 => None,
            sig => Some(sig),
        }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        MAIN.store(0, Ordering::SeqCst);
        for (sig, previous) in &self.old {
            // SAFETY: restoring what sigaction gave us.
            unsafe { libc::sigaction(*sig, previous, std::ptr::null_mut()) };
        }
    }
}
