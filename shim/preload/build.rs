//! How libcafix.so is linked.
//!
//! - `-z defs`: every symbol must be defined, so an undefined one fails the
//!   build instead of every program that preloads the library. The panic
//!   handler of an optimised build calls a symbol that nobody defines
//!   (src/lib.rs): if any panicking branch survives optimisation, the
//!   release link fails here instead of a panic aborting some process.
//! - `-nostartfiles`: no crtbeginS/crtendS. They bring nothing this object
//!   uses (its constructor is in `.init_array`, which the loader runs; it
//!   registers no destructor) but four weak or unused imports
//!   (`__gmon_start__`, the `_ITM_*` pair, `__cxa_finalize`) that the loader
//!   would look up in every process, ~3,000 instructions each start.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,defs");
    println!("cargo:rustc-cdylib-link-arg=-nostartfiles");
}
