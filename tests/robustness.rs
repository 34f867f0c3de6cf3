//! libcafix.so under load and faults: many threads serving at once, fork
//! while another thread indexes, signal handlers that call `stat`, errno on
//! every path, `dlclose`/re-`dlopen` of libcrypto, programs that close all
//! descriptors, an injected panic, and another preloaded library that wraps
//! the same functions; the GnuTLS hooks given bad input, and called in a
//! process without GnuTLS; the NSS hooks called in a process without NSS.
//! Each run is a real C program.
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
    run_program(program(), preload, env, args)
}

/// Runs `program` with `args` in a namespace where `/usr/local` is empty.
fn run_program(program: &Path, preload: bool, env: &[(&str, &str)], args: &[&str]) -> Output {
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
    cmd.arg(program).args(args);
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

// ---- GnuTLS ----------------------------------------------------------------

/// cafix's records as JSON lines, so a record is one line.
const JSON: (&str, &str) = ("CAFIX_LOG_FORMAT", "json");

/// `c-tests/gnutls_robust.c`, built by c-tests/Makefile into this test
/// process's directory: linked to libgnutls, and not linked.
struct GnutlsPrograms {
    linked: PathBuf,
    nolink: PathBuf,
}

fn gnutls_programs() -> &'static GnutlsPrograms {
    static BINS: OnceLock<GnutlsPrograms> = OnceLock::new();
    BINS.get_or_init(|| {
        let dir = common::target_dir()
            .join("cafix-tests")
            .join(format!("{}-gnutls", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let programs = GnutlsPrograms {
            linked: dir.join("gnutls_robust"),
            nolink: dir.join("gnutls_robust_nolink"),
        };
        let out = Command::new("make")
            .arg("-C")
            .arg(common::repo_root().join("c-tests"))
            .arg(format!("OUT={}", dir.display()))
            .arg(&programs.linked)
            .arg(&programs.nolink)
            .output()
            .expect("make must be installed");
        assert!(
            out.status.success(),
            "building c-tests/gnutls_robust.c failed (needs libgnutls28-dev and pkg-config):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        programs
    })
}

/// What cafix wrote to stderr, by the program's step it followed (the
/// program announces each with "gnutls_robust: step NAME"; it writes
/// nothing else to stderr, so every other line is cafix's).
type Steps = Vec<(String, Vec<String>)>;

fn lines_by_step(stderr: &str) -> Steps {
    let mut steps: Steps = vec![("(before the first step)".to_string(), Vec::new())];
    for line in stderr.lines() {
        let step = line
            .strip_prefix("gnutls_robust: step ")
            .or_else(|| line.strip_prefix("nss_robust: step "));
        match step {
            Some(name) => steps.push((name.to_string(), Vec::new())),
            None => steps.last_mut().unwrap().1.push(line.to_string()),
        }
    }
    steps
}

/// cafix's lines after step `name`, which must have run.
fn at<'a>(steps: &'a Steps, name: &str) -> &'a [String] {
    match steps.iter().find(|(step, _)| step == name) {
        Some((_, lines)) => lines,
        None => panic!("no step {name:?} in {steps:#?}"),
    }
}

/// One mode of `gnutls_robust` run without cafix, with it (JSON, the
/// default level) and with it at debug: each run must succeed (no crash),
/// print exactly what the run without cafix printed, and get at most one
/// line from cafix per step.
struct Compared {
    /// stdout, the same in all three runs.
    out: String,
    /// cafix's lines at the default level, by step.
    steps: Steps,
    /// The same at debug.
    debug: Steps,
}

fn gnutls_compared(args: &[&str]) -> Compared {
    let bin = &gnutls_programs().linked;
    let without = run_program(bin, false, &[], args);
    let with = run_program(bin, true, &[JSON], args);
    let debug = run_program(bin, true, &[JSON, ("CAFIX_LOG", "debug")], args);
    let (out, err) = text(&without);
    assert!(
        without.status.success(),
        "{args:?} without cafix: {:?}\n{out}{err}",
        without.status
    );
    assert!(
        lines_by_step(&err).iter().all(|(_, lines)| lines.is_empty()),
        "without cafix the program writes only its steps to stderr:\n{err}"
    );
    assert!(out.ends_with("== end\n"), "{out}");
    let mut steps = Vec::new();
    for (what, run) in [("with cafix", &with), ("with cafix at debug", &debug)] {
        let (out_with, err_with) = text(run);
        assert!(
            run.status.success(),
            "{args:?} {what}: the host failed ({:?})\n{out_with}{err_with}",
            run.status
        );
        assert_eq!(
            out_with, out,
            "{args:?} {what}: GnuTLS answered differently\n{err_with}"
        );
        let by_step = lines_by_step(&err_with);
        for (step, lines) in &by_step {
            assert!(
                lines.len() <= 1,
                "{args:?} {what}: {} lines from cafix after step {step:?}, at most one expected:\n{}",
                lines.len(),
                lines.join("\n")
            );
        }
        steps.push(by_step);
    }
    let debug = steps.pop().unwrap();
    let steps = steps.pop().unwrap();
    Compared { out, steps, debug }
}

fn assert_silent(c: &Compared) {
    for (step, lines) in &c.steps {
        assert!(
            lines.is_empty(),
            "step {step:?}: cafix logged at the default level: {lines:?}"
        );
    }
}

fn assert_has_line(out: &str, line: &str) {
    assert!(out.lines().any(|l| l == line), "expected the line {line:?} in:\n{out}");
}

/// A hooked function the program found defined and called twice (the
/// program has no library of its own for it): what the call printed, the
/// same both times.
fn called_twice_alike<'a>(out: &'a str, name: &str) -> &'a str {
    assert_has_line(out, &format!("{name} defined"));
    let calls: Vec<&str> = out.lines().filter(|l| l.starts_with(&format!("{name}("))).collect();
    assert_eq!(calls.len(), 2, "{name}: {out}");
    assert_eq!(calls[0], calls[1]);
    calls[0]
}

/// One line from cafix for the two calls of `name`, saying that no
/// `library` defines it; that line.
fn assert_unresolved_once<'a>(steps: &'a Steps, name: &str, library: &str) -> &'a [String] {
    let lines = at(steps, name);
    assert_eq!(lines.len(), 1, "{name}: one line expected for two calls: {lines:?}");
    assert!(
        lines[0].contains("\"event\":\"unresolved-symbol\"")
            && lines[0].contains(&format!("{name}: no {library} reachable from the caller defines it")),
        "{name}: {}",
        lines[0]
    );
    lines
}

/// The program's steps are every hooked function of `hooks`, in
/// engine_abi's order, then `end`.
fn assert_every_hook_called_in_order(out: &str, hooks: &[cafix::engine_abi::LibraryHook]) {
    let named: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("== ")).collect();
    let hooks: Vec<&str> = hooks.iter().map(|h| h.name.to_str().unwrap()).collect();
    assert_eq!(
        named[..named.len() - 1],
        hooks[..],
        "the program calls every hooked name, in engine_abi's order"
    );
    assert_eq!(named.last(), Some(&"end"), "{out}");
}

#[test]
fn gnutls_null_and_empty_arguments_are_answered_as_without_cafix() {
    let c = gnutls_compared(&["null"]);
    for line in [
        "gnutls_certificate_free_credentials(NULL) returned",
        "gnutls_x509_trust_list_deinit(NULL, 1) returned",
        "gnutls_x509_trust_list_verify_crt(NULL, NULL, 0, 0, &status, NULL)=-50 (The request is invalid.)",
        "gnutls_x509_trust_list_verify_crt2(NULL, NULL, 0, &host, 1, 0, &status, NULL)=-50 (The request is invalid.)",
        "gnutls_x509_trust_list_add_system_trust(list, 0, 0) added certificates",
        "gnutls_x509_trust_list_verify_crt(list, NULL, 0, 0, &status, NULL)=-50 (The request is invalid.)",
        "gnutls_x509_trust_list_verify_crt(list, {NULL}, 0, 0, &status, NULL)=-50 (The request is invalid.)",
        "gnutls_x509_trust_list_verify_crt2(list, NULL, 0, NULL, 0, 0, &status, NULL)=-50 (The request is invalid.)",
        "gnutls_x509_trust_list_deinit(list, 1) returned",
        "gnutls_certificate_free_credentials(cred) returned",
    ] {
        assert_has_line(&c.out, line);
    }
    // What GnuTLS 3.7.9 itself dereferences unchecked (a NULL session, NULL
    // credentials to set_x509_system_trust, a NULL certificate) ran in
    // children; each ended the same way with cafix (stdout compared).
    for call in [
        "gnutls_certificate_verify_peers2(NULL, &status)",
        "gnutls_certificate_verify_peers3(NULL, host, &status)",
        "gnutls_certificate_verify_peers(NULL, NULL, 0, &status)",
        "gnutls_certificate_set_x509_system_trust(NULL)",
        "gnutls_x509_crt_check_hostname(NULL, host)",
        "gnutls_handshake(NULL)",
    ] {
        assert!(
            c.out.lines().any(|l| l.starts_with(call)),
            "{call} did not run:\n{}",
            c.out
        );
    }
    // No verification failed: nothing at the default level.
    assert_silent(&c);
}

#[test]
fn gnutls_verification_of_a_session_that_never_handshook() {
    let c = gnutls_compared(&["fresh"]);
    // GnuTLS 3.7.9 answers GNUTLS_E_INVALID_REQUEST here, not
    // GNUTLS_E_NO_CERTIFICATE_FOUND: before a handshake the session has no
    // authentication type, and verify_peers checks that first
    // (CHECK_AUTH_TYPE, lib/cert-session.c). The next test has the peer
    // without a certificate.
    let verifies: Vec<&str> = c
        .out
        .lines()
        .filter(|l| !l.starts_with("==") && l.contains(": gnutls_certificate_verify_peers"))
        .collect();
    assert_eq!(verifies.len(), 12, "{}", c.out);
    for line in verifies {
        assert!(line.ends_with("=-50 (The request is invalid.)"), "{line}");
    }
    assert_has_line(
        &c.out,
        "gnutls_certificate_set_x509_system_trust(cred) added certificates",
    );
    assert_silent(&c);
}

#[test]
fn gnutls_verification_of_a_peer_without_certificates() {
    let c = gnutls_compared(&["no-peer-cert"]);
    assert_has_line(&c.out, "server: handshake=0");
    assert_has_line(&c.out, "client: handshake=0");
    let verifies: Vec<&str> = c
        .out
        .lines()
        .filter(|l| l.starts_with("server, client sent no certificate: gnutls_certificate_verify_peers"))
        .collect();
    assert_eq!(verifies.len(), 6, "{}", c.out);
    for line in verifies {
        assert!(line.ends_with("=-49 (No certificate was found.)"), "{line}");
    }
    // No verification took place: said at debug only.
    assert_silent(&c);
    for (step, lines) in &c.debug {
        if step.contains("verify_peers") {
            assert!(lines[0].contains("\"event\":\"verify-error\""), "{step}: {lines:?}");
        }
    }
}

#[test]
fn gnutls_trust_list_verification_of_a_chain_of_100_certificates() {
    let c = gnutls_compared(&["chain", "100"]);
    assert_has_line(
        &c.out,
        "gnutls_x509_trust_list_add_system_trust(list, 0, 0) added certificates",
    );
    // Against the system trust: the self-signed end (CA 99) is trusted by
    // nobody. One verify-failed record each, naming it.
    let untrusted = " status=0x42 (The certificate is NOT trusted. The certificate issuer is unknown. )";
    for (step, call) in [
        (
            "trust_list_verify_crt(chain)",
            "gnutls_x509_trust_list_verify_crt(list, chain of 100, 0, &status, NULL)=0",
        ),
        (
            "trust_list_verify_crt2(chain, host)",
            "gnutls_x509_trust_list_verify_crt2(list, chain of 100, host, 0, &status, NULL)=0",
        ),
    ] {
        assert_has_line(&c.out, &format!("{call}{untrusted}"));
        let lines = at(&c.steps, step);
        assert_eq!(lines.len(), 1, "{step}: one record expected: {lines:?}");
        for part in [
            "\"event\":\"verify-failed\"",
            "\"status\":\"0x42\"",
            "\"certificate\":\"CN=cafix robustness CA 99, O=cafix robustness\"",
        ] {
            assert!(lines[0].contains(part), "{step}: {part} expected in {}", lines[0]);
        }
    }
    // Its own end trusted, all 100 verify: nothing at the default level.
    assert_has_line(
        &c.out,
        "gnutls_x509_trust_list_verify_crt2(own root, chain of 100, host, 0, &status, NULL)=0 status=0x0 (The certificate is trusted. )",
    );
    assert!(at(&c.steps, "trust_list_verify_crt2(chain, its own root trusted)").is_empty());
    // The same with a name the leaf lacks: GnuTLS's verifier calls its own
    // (hooked) check_hostname2, and still one record.
    assert_has_line(
        &c.out,
        "gnutls_x509_trust_list_verify_crt2(own root, chain of 100, other name, 0, &status, NULL)=0 status=0x4002 (The certificate is NOT trusted. The name in the certificate does not match the expected. )",
    );
    // A host name check right after the failed verification of that chain:
    // already told, no second record.
    assert_has_line(
        &c.out,
        "gnutls_x509_crt_check_hostname(leaf, other.cafix.test)=0 after the failure",
    );
    assert!(at(&c.steps, "crt_check_hostname(leaf, other name, after the failure)").is_empty());
    assert!(at(&c.steps, "trust_list_verify_crt2(chain, its own root trusted, again)").is_empty());
    // The program's own host name checks of the leaf it just verified.
    assert_has_line(&c.out, "gnutls_x509_crt_check_hostname(leaf, other.cafix.test)=0");
    assert_has_line(&c.out, "gnutls_x509_crt_check_hostname2(leaf, other.cafix.test, 0)=0");
    assert_has_line(&c.out, "gnutls_x509_crt_check_hostname(leaf, robust.cafix.test)=1");
    for step in [
        "trust_list_verify_crt2(chain, its own root trusted, other name)",
        "crt_check_hostname(leaf, other name)",
        "crt_check_hostname2(leaf, other name)",
    ] {
        let lines = at(&c.steps, step);
        assert_eq!(lines.len(), 1, "{step}: one record expected: {lines:?}");
        assert!(lines[0].contains("\"status\":\"0x4002\""), "{step}: {}", lines[0]);
        assert!(
            lines[0].contains("\"hint_class\":\"hostname-mismatch\""),
            "{step}: {}",
            lines[0]
        );
    }
    assert!(at(&c.steps, "crt_check_hostname(leaf, its name)").is_empty());
}

#[test]
fn gnutls_hooks_in_a_process_without_gnutls_fail_as_gnutls_does() {
    use cafix::engine_abi::GNUTLS_HOOKS;
    let bin = &gnutls_programs().nolink;
    let without = run_program(bin, false, &[], &["no-gnutls"]);
    let with = run_program(bin, true, &[JSON], &["no-gnutls"]);
    let (out_without, err_without) = text(&without);
    let (out_with, err_with) = text(&with);
    assert!(without.status.success(), "{out_without}{err_without}");
    assert!(
        with.status.success(),
        "the host crashed: {:?}\n{out_with}{err_with}",
        with.status
    );
    for out in [&out_without, &out_with] {
        assert!(out.starts_with("libgnutls.so.30 loaded: no\n"), "{out}");
        assert!(out.ends_with("== end\n"), "{out}");
    }
    let steps = lines_by_step(&err_with);
    for hook in GNUTLS_HOOKS {
        let name = hook.name.to_str().unwrap();
        // Without cafix nothing defines the name.
        assert_has_line(&out_without, &format!("{name} undefined"));
        // With it only libcafix.so does, and its hook fails the call as
        // GnuTLS reports failure, twice alike, writing no status.
        let call = called_twice_alike(&out_with, name);
        match call.split_once(")=").map(|(_, rest)| rest) {
            None => assert!(call.ends_with(") returned"), "{call}"),
            Some(rest) if name.starts_with("gnutls_x509_crt_check_hostname") => assert_eq!(rest, "0", "{call}"),
            Some(rest) => {
                let rc = rest.split(' ').next().unwrap();
                assert_eq!(rc, "-59", "{name}: GNUTLS_E_INTERNAL_ERROR expected: {call}");
                if rest.contains("status=") {
                    assert!(rest.ends_with(" status=12345"), "{name} wrote the status: {call}");
                }
            }
        }
        assert_unresolved_once(&steps, name, "GnuTLS");
    }
    assert_every_hook_called_in_order(&out_with, &GNUTLS_HOOKS);
    assert!(
        at(&steps, "(before the first step)").is_empty() && at(&steps, "end").is_empty(),
        "{err_with}"
    );
}

// ---- NSS -------------------------------------------------------------------

/// Every NSS function libcafix.so hooks, called twice in a process without
/// NSS (`c-tests/nss_robust.c`): without cafix nothing defines them; with it
/// each call fails as NSS does (`SECFailure`, or a null pointer from those
/// that return one), through the engine's hook, which says once per function
/// that no NSS defines it, and through libcafix.so alone (no engine beside
/// it: the front's own failure functions, and one line saying so).
#[test]
fn nss_hooks_in_a_process_without_nss_fail_as_nss_does() {
    use cafix::engine_abi::{CType, NSS_HOOKS};
    let bin = compile("nss_robust.c", "nss_robust", &[]);
    let alone = common::unique_dir("nss-robust-front-alone").join("libcafix.so");
    fs::copy(common::shim(), &alone).unwrap();
    let without = run_program(&bin, false, &[], &[]);
    let with = run_program(&bin, true, &[JSON], &[]);
    let front_alone = run_program(&bin, false, &[("LD_PRELOAD", common::path_str(&alone))], &[]);
    let (out_without, err_without) = text(&without);
    let (out_with, err_with) = text(&with);
    let (out_alone, err_alone) = text(&front_alone);
    for (out, err, run) in [
        (&out_without, &err_without, &without),
        (&out_with, &err_with, &with),
        (&out_alone, &err_alone, &front_alone),
    ] {
        assert!(run.status.success(), "the host crashed: {:?}\n{out}{err}", run.status);
        assert!(out.starts_with("libnss3.so loaded: no\n"), "{out}");
        assert!(out.ends_with("== end\n"), "{out}");
    }
    let steps = lines_by_step(&err_with);
    for hook in NSS_HOOKS {
        let name = hook.name.to_str().unwrap();
        assert_has_line(&out_without, &format!("{name} undefined"));
        let failure = match hook.returns {
            CType::Ptr => "NULL".to_string(),
            _ => hook.failure.to_string(),
        };
        for out in [&out_with, &out_alone] {
            let call = called_twice_alike(out, name);
            assert_eq!(
                call.rsplit_once(")=").map(|(_, rc)| rc),
                Some(failure.as_str()),
                "{call}"
            );
        }
        let lines = assert_unresolved_once(&steps, name, "NSS");
        assert!(
            lines[0].contains("the call fails as NSS reports failure"),
            "{}",
            lines[0]
        );
    }
    assert_every_hook_called_in_order(&out_with, &NSS_HOOKS);
    assert!(at(&steps, "end").is_empty(), "{err_with}");
    let said: Vec<&str> = err_alone
        .lines()
        .filter(|l| !l.starts_with("nss_robust: step "))
        .collect();
    assert_eq!(said.len(), 1, "{err_alone}");
    assert!(said[0].contains("cannot load the engine"), "{err_alone}");
}
