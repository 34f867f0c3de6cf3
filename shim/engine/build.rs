//! Links the unwinder into libcafix_engine.so instead of depending on
//! libgcc_s.so.1.
//!
//! Rust's std asks the linker for `-lgcc_s` (the unwinder behind
//! `catch_unwind`, which the hooks need so a panic never crosses into the
//! host). Loading libgcc_s.so.1 costs about 125 µs (docs/benchmarks-history.md), and
//! programs such as `/bin/true` and most C programs do not have it loaded;
//! the engine's load (the first lookup of a missing trust location) should
//! be one object, not two. GCC's static unwinder, libgcc_eh.a, is the same code built for static linking;
//! offered as `libgcc_s.a` in a directory searched first, it satisfies
//! `-lgcc_s` and the library then needs only libc. Its symbols stay local
//! (the cdylib exports only the hooks). If no C compiler can name the file,
//! the shared unwinder is used as before.
//!
//! For a cross build the C compiler is the target's (the cc crate's
//! choice, as for libcafix.so's trampolines).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Bind the engine's imports from libc lazily (Rust links with -z now):
    // most of them serve code paths a given program never reaches.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,lazy");
    // The engine's references to its own exports (the OpenSSL stubs'
    // addresses) bind inside the library at link time instead of by symbol
    // lookups when it is loaded.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-Bsymbolic-functions");
    // The target's C compiler (a cross compiler's own libgcc_eh.a when
    // cross-building), as the cc crate finds it: CC_<target>, CC, or the
    // target's usual name.
    let cc = cc::Build::new().cargo_metadata(false).get_compiler();
    let Ok(out) = Command::new(cc.path()).arg("-print-file-name=libgcc_eh.a").output() else {
        println!(
            "cargo:warning=cannot run {}; libcafix_engine.so will need libgcc_s.so.1",
            cc.path().display()
        );
        return;
    };
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !path.is_absolute() || !path.exists() {
        println!("cargo:warning=no libgcc_eh.a found; libcafix_engine.so will need libgcc_s.so.1");
        return;
    }
    let dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("static-unwinder");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/static-unwinder");
    std::fs::copy(&path, dir.join("libgcc_s.a")).expect("copy libgcc_eh.a");
    println!("cargo:rustc-link-search=native={}", dir.display());
}
