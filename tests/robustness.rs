//! libcafix.so under load and faults: many threads serving at once, fork
//! while another thread indexes, signal handlers that call `stat`, errno on
//! every path, `dlclose`/re-`dlopen` of libcrypto, programs that close all
//! descriptors, an injected panic, and another preloaded library that wraps
//! the same functions. Each run is a real C program.
//!
//! The served location is `/usr/local/ssl/certs/<hash>.0` (OpenSSL's default
//! OPENSSLDIR, a trust directory); a private mount namespace puts an empty
//! tmpfs over `/usr/local` so it is missing whatever the host has, and the
//! certificate served is ISRG Root X1 from the machine's bundle.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// ISRG Root X1: in every Mozilla-derived bundle.
const SERVED: &str = "/usr/local/ssl/certs/4042bcee.0";

fn program() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| compile("robust.c", "robust", &["-pthread"]))
}

/// `c-tests/interposer.c` built as a preloadable library.
fn interposer() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| compile("interposer.c", "libinterposer.so", &["-shared", "-fPIC"]))
}

/// Compiles `c-tests/<source>` into the tests' directory, named per test process.
fn compile(source: &str, name: &str, flags: &[&str]) -> PathBuf {
    let dir = common::target_dir().join("cafix-tests");
    fs::create_dir_all(&dir).unwrap();
    let out_path = dir.join(format!("{}-{name}", std::process::id()));
    let out = Command::new("cc")
        .args(["-O1", "-Wall"])
        .args(flags)
        .arg("-o")
        .arg(&out_path)
        .arg(common::repo_root().join("c-tests").join(source))
        .arg("-ldl")
        .output()
        .expect("cc must be installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out_path
}

/// Runs the program with `args` in a namespace where `/usr/local` is empty.
fn run(preload: bool, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs none /usr/local && exec \"$@\"",
        "sh",
    ]);
    cmd.arg(program()).args(args);
    common::clear_env(&mut cmd);
    if preload {
        cmd.env("LD_PRELOAD", common::shim());
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("unshare must be installed (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("unshare: ") && !stderr.contains("mount: "),
        "no namespace: {stderr}"
    );
    out
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn thirty_two_threads_serve_at_once() {
    let without = run(false, &[], &["threads", SERVED]);
    let (out, _) = text(&without);
    assert!(
        out.contains("served 0 of 6400"),
        "without the shim nothing is there: {out}"
    );
    let with = run(true, &[], &["threads", SERVED]);
    let (out, err) = text(&with);
    assert!(with.status.success(), "{out}{err}");
    assert!(out.contains("served 6400 of 6400"), "{out}{err}");
}

#[test]
fn fork_while_another_thread_indexes() {
    let with = run(true, &[], &["fork", SERVED]);
    let (out, err) = text(&with);
    assert!(with.status.success(), "{out}{err}");
    assert!(out.contains("children served 50 of 50"), "{out}{err}");
}

#[test]
fn signal_handlers_calling_stat() {
    let with = run(true, &[], &["signals", SERVED]);
    let (out, err) = text(&with);
    assert!(with.status.success(), "{out}{err}");
    assert!(out.contains("main loop served 20000 of 20000"), "{out}{err}");
    // The exit status says: every handler lookup that was served kept errno,
    // and some were served (the rest interrupted the shim itself and got the
    // real answer, as documented).
    assert!(out.contains("handler calls"), "{out}");
    assert!(!out.contains("handler calls 0 "), "the timer never fired: {out}");
}

#[test]
fn errno_is_kept_on_every_path() {
    // Unrelated paths: errno exactly as without the shim.
    let args = [
        "errno",
        "/etc/hostname",
        "/nonexistent/x",
        "/etc/ssl/certs/ffffffff.0",
        "/opt/app/4042bcee.0",
    ];
    let without = text(&run(false, &[], &args)).0;
    let with = text(&run(true, &[], &args)).0;
    assert_eq!(with, without);
    assert!(without.contains("/nonexistent/x stat=-1 errno=2"), "{without}");
    // A served path: success, and errno left as the caller set it (4242).
    let served = text(&run(true, &[], &["errno", SERVED])).0;
    assert!(served.contains(&format!("{SERVED} stat=0 errno=4242")), "{served}");
    assert!(served.contains(&format!("{SERVED} fopen=ok errno=4242")), "{served}");
    assert!(served.contains(&format!("{SERVED} open=ok errno=4242")), "{served}");
    assert!(served.contains(&format!("{SERVED} access=0 errno=4242")), "{served}");
    let not_served = text(&run(false, &[], &["errno", SERVED])).0;
    assert!(
        not_served.contains(&format!("{SERVED} stat=-1 errno=2")),
        "{not_served}"
    );
}

#[test]
fn dlclose_and_dlopen_libcrypto_again() {
    let without = run(
        false,
        &[],
        &["dlopen", "/usr/local/ssl/certs", "/etc/ssl/certs/4042bcee.0"],
    );
    let (out, _) = text(&without);
    assert!(
        out.contains("round 0 verify=0"),
        "without the shim the root is not found: {out}"
    );
    let with = run(
        true,
        &[("CAFIX_LOG", "info")],
        &["dlopen", "/usr/local/ssl/certs", "/etc/ssl/certs/4042bcee.0"],
    );
    let (out, err) = text(&with);
    assert!(with.status.success(), "{out}{err}");
    for round in 0..3 {
        assert!(out.contains(&format!("round {round} verify=1")), "{out}{err}");
    }
}

#[test]
fn programs_that_close_all_descriptors_get_nothing_written_into_their_files() {
    let dir = common::target_dir()
        .join("cafix-tests")
        .join(format!("closefds-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let own = dir.join("own-file.txt");
    let log = dir.join("cafix.log");
    let _ = fs::remove_file(&log);
    // stderr: the program closes fds 0-2 and opens its own file, which lands on fd 0..2.
    let with = run(
        true,
        &[("CAFIX_LOG", "debug")],
        &["closefds", SERVED, own.to_str().unwrap()],
    );
    let (out, err) = text(&with);
    assert!(with.status.success(), "{out}{err}");
    assert_eq!(
        fs::read_to_string(&own).unwrap(),
        "the program's own text\n",
        "the shim wrote into the program's file"
    );
    // A log file: written, opened and closed per record.
    let with = run(
        true,
        &[("CAFIX_LOG", "info"), ("CAFIX_LOG_FILE", log.to_str().unwrap())],
        &["closefds", SERVED, own.to_str().unwrap()],
    );
    assert!(with.status.success());
    assert_eq!(fs::read_to_string(&own).unwrap(), "the program's own text\n");
    let logged = fs::read_to_string(&log).expect("the log file was written");
    assert!(
        logged.contains("4042bcee.0 is missing; served \"CN=ISRG Root X1"),
        "{logged}"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_panic_in_the_shim_never_reaches_the_host() {
    // Debug builds of the shim panic on purpose when CAFIX_DEBUG_PANIC is set.
    let with = run(true, &[("CAFIX_DEBUG_PANIC", "1")], &["errno", SERVED]);
    let (out, err) = text(&with);
    assert!(with.status.success(), "the host died: {out}{err}");
    // Answered as if cafix were not there, and said once per call.
    assert!(out.contains(&format!("{SERVED} stat=-1 errno=2")), "{out}");
    assert!(err.contains("internal error (panicked at"), "{err}");
}

#[test]
fn odd_openssl_calls_pass_through_or_fail_as_openssl_does() {
    let without = run(false, &[], &["openssl-odd", "-"]);
    let with = run(true, &[], &["openssl-odd", "-"]);
    let (out_without, err_without) = text(&without);
    let (out_with, err_with) = text(&with);
    assert!(without.status.success(), "{out_without}{err_without}");
    assert!(with.status.success(), "the host crashed: {out_with}{err_with}");
    // Without any OpenSSL in the process only the shim defines the names;
    // its hooks find no real function and fail as OpenSSL reports failure.
    assert!(out_without.contains("no openssl: verify undefined"), "{out_without}");
    for line in [
        "no openssl: verify defined",
        "no openssl: X509_verify_cert(NULL)=-1",
        "no openssl: X509_STORE_load_locations(NULL, /x, NULL)=0",
        "no openssl: X509_STORE_free(NULL) returned",
    ] {
        assert!(out_with.contains(line), "expected {line:?}:\n{out_with}{err_with}");
    }
    assert!(
        err_with.contains("X509_verify_cert: no OpenSSL reachable from the caller defines it"),
        "the unresolved call is logged: {err_with}"
    );
    // With a real libcrypto, NULL and missing arguments get OpenSSL's own answers.
    let real_part = |out: &str| {
        out.lines()
            .filter(|l| !l.starts_with("no openssl:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(real_part(&out_with), real_part(&out_without), "{err_with}");
    assert!(out_with.ends_with("done\n"), "{out_with}");
}

/// libcafix.so finds its real functions by reading the symbol tables of the
/// objects loaded after it; that must give what `dlsym(RTLD_NEXT)` gives, so
/// a second preloaded library that wraps the same functions (libfaketime,
/// fakeroot, a sandbox) still sees every call, in either preload order, and
/// the trust file is still served through it.
#[test]
fn another_preload_wrapping_the_same_functions_keeps_its_place() {
    let shim = common::path_str(common::shim()).to_string();
    let other = common::path_str(interposer()).to_string();
    let alone = run(false, &[("LD_PRELOAD", &other)], &["errno", SERVED]);
    let (out, err) = text(&alone);
    assert!(
        out.contains(&format!("{SERVED} stat=-1 errno=2")),
        "the path must be missing here: {out}{err}"
    );
    for order in [format!("{shim}:{other}"), format!("{other}:{shim}")] {
        let both = run(false, &[("LD_PRELOAD", &order)], &["errno", SERVED]);
        let (out, err) = text(&both);
        assert!(both.status.success(), "LD_PRELOAD={order}: {out}{err}");
        for call in ["stat", "fopen", "open", "access"] {
            let seen = format!("interposer: {call} {SERVED}\n");
            assert_eq!(
                err.matches(&seen).count(),
                1,
                "LD_PRELOAD={order}: {call} must pass the interposer once: {err}"
            );
        }
        for served in [
            "stat=0 errno=4242",
            "fopen=ok errno=4242",
            "open=ok errno=4242",
            "access=0 errno=4242",
        ] {
            assert!(
                out.contains(&format!("{SERVED} {served}")),
                "LD_PRELOAD={order}: {out}{err}"
            );
        }
    }
}
