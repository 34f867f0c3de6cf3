//! `cafix trace` with ordinary programs: exit statuses and signals passed
//! through, bad input, threads, forks, vforks and execs followed, signals
//! forwarded, no orphan left, the fallbacks (no seccomp filter, no
//! PTRACE_GET_SYSCALL_INFO) seeing the same accesses, and writes never
//! redirected. Needs root (mount namespaces), python3, strace.

mod trace_harness;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use trace_harness::*;

fn trace(args: &[&str]) -> Output {
    let mut cmd = clean(cafix());
    cmd.arg("trace").args(args);
    run(&mut cmd)
}

#[test]
fn exit_codes_and_signals_pass_through() {
    let out = trace(&["--", "sh", "-c", "exit 3"]);
    assert_eq!(out.code(), Some(3), "{out}");
    assert!(
        out.stderr
            .contains("cafix trace: `sh -c 'exit 3'` exited with status 3"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("cafix trace: verdict: never looked at a system trust location"),
        "{out}"
    );

    let out = trace(&["--", "true"]);
    assert_eq!(out.code(), Some(0), "{out}");

    // Killed by a signal: 128 + the signal, as a shell says (cafix itself exits).
    let (out, json) = trace_json(&[], &[], &["sh", "-c", "kill -SEGV $$"]);
    assert_eq!(out.code(), Some(139), "{out}");
    assert_eq!(json["exit"]["status"], 139);
    assert_eq!(json["exit"]["signal"], "SIGSEGV");
    assert_eq!(json["exit"]["code"], serde_json::Value::Null);

    let out = trace(&["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.code(), Some(143), "{out}");
    assert!(out.stderr.contains("was killed by SIGTERM (status 143)"), "{out}");

    // A status from a grandchild's exit does not leak: only the command's counts.
    let out = trace(&["--", "sh", "-c", "(exit 9); sh -c 'exit 4' ; exit 5"]);
    assert_eq!(out.code(), Some(5), "{out}");
}

#[test]
fn a_missing_command_is_one_line_and_127() {
    let out = trace(&["--", "cafix-no-such-command-xyz", "arg"]);
    assert_eq!(out.code(), Some(127), "{out}");
    assert_eq!(
        out.stderr, "cafix trace: cafix-no-such-command-xyz: command not found\n",
        "{out}"
    );
    assert_eq!(out.stdout, "");

    let out = trace(&["--", "/nonexistent/dir/cmd"]);
    assert_eq!(out.code(), Some(127), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");

    // Not executable: 126, like a shell.
    let dir = scratch("noexec");
    let file = dir.join("script");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = trace(&["--", file.to_str().unwrap()]);
    assert_eq!(out.code(), Some(126), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("Permission denied"), "{out}");

    // A script without #! runs with /bin/sh, as execvp does.
    let file = dir.join("noshebang");
    std::fs::write(&file, "exit 6\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = trace(&["--", file.to_str().unwrap()]);
    assert_eq!(out.code(), Some(6), "{out}");
}

#[test]
fn bad_invocations_fail_before_running_anything() {
    let out = trace(&[]);
    assert_eq!(out.code(), Some(2), "{out}");

    let dir = scratch("badout");
    let marker = dir.join("ran");
    let out = trace(&[
        "-o",
        "/nonexistent/dir/summary",
        "--",
        "touch",
        marker.to_str().unwrap(),
    ]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("/nonexistent/dir/summary"), "{out}");
    assert!(
        !marker.exists(),
        "the command ran although the summary could not be written"
    );
}

#[test]
fn ptrace_refused_is_a_clear_error() {
    // Under strace -f the command is already traced: PTRACE_SEIZE fails.
    assert!(
        Command::new("strace").arg("-V").output().is_ok(),
        "strace is needed (apt-get install strace)"
    );
    let mut cmd = clean("strace");
    cmd.args(["-f", "-o", "/dev/null"])
        .arg(cafix())
        .args(["trace", "--", "true"]);
    let out = run(&mut cmd);
    assert_eq!(out.code(), Some(2), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(out.stderr.contains("already traced by process"), "{out}");
    assert!(out.stderr.contains("strace"), "{out}");
}

/// Python with 8 threads, each stat()ing its own hash entries (missing) and
/// the system bundle (found), then exiting with 7.
const THREADS: &str = r#"
import os, sys, threading
def work(t):
    for i in range(5):
        try:
            os.stat(f"/etc/ssl/certs/deadbe{t:02x}.{i}")
        except FileNotFoundError:
            pass
    os.stat("/etc/ssl/certs/ca-certificates.crt")
threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
sys.exit(7)
"#;

fn expected_thread_paths() -> BTreeSet<String> {
    (0..8)
        .flat_map(|t| (0..5).map(move |i| format!("/etc/ssl/certs/deadbe{t:02x}.{i}")))
        .collect()
}

fn check_threads(env: &[(&str, &str)]) -> serde_json::Value {
    let (out, json) = trace_json(&[], env, &[python3().to_str().unwrap(), "-I", "-c", THREADS]);
    assert_eq!(out.code(), Some(7), "{out}");
    let missing: BTreeSet<String> = accesses(&json)
        .into_iter()
        .filter(|(p, op, outcome)| p.contains("/deadbe") && op == "stat" && outcome == "missing")
        .map(|(p, _, _)| p)
        .collect();
    assert_eq!(missing, expected_thread_paths(), "{env:?}\n{json:#}");
    let bundle = access(&json, "/etc/ssl/certs/ca-certificates.crt", "stat").expect("bundle stat");
    assert_eq!(bundle["outcome"], "found");
    assert_eq!(bundle["count"], 8, "{bundle:#}");
    for t in 0..8 {
        let h = hash(&json, &format!("deadbe{t:02x}")).expect("hash record");
        assert_eq!(h["indexes"], serde_json::json!([0, 1, 2, 3, 4]));
        assert_eq!(h["missing"], true);
        assert_eq!(h["in_system_bundle"], false);
    }
    json
}

#[test]
fn threads_are_followed() {
    let json = check_threads(&[]);
    assert_eq!(json["mode"]["seccomp"], true);
    assert_eq!(json["mode"]["syscall_info"], true);
}

#[test]
fn the_fallbacks_see_the_same_accesses() {
    let json = check_threads(&[("CAFIX_TRACE_NO_SECCOMP", "1")]);
    assert_eq!(json["mode"]["seccomp"], false);
    let json = check_threads(&[("CAFIX_TRACE_NO_SYSCALL_INFO", "1")]);
    assert_eq!(json["mode"]["syscall_info"], false);
    let json = check_threads(&[("CAFIX_TRACE_NO_SECCOMP", "1"), ("CAFIX_TRACE_NO_SYSCALL_INFO", "1")]);
    assert_eq!(
        (json["mode"]["seccomp"].clone(), json["mode"]["syscall_info"].clone()),
        (false.into(), false.into())
    );
}

/// fork() children (each looks up its own entry and exits with its number),
/// a subprocess (vfork + exec of /bin/sh, which stats an entry), and the
/// parent's own status.
const FORKS: &str = r#"
import os, subprocess, sys
codes = []
for n in range(1, 4):
    pid = os.fork()
    if pid == 0:
        os.access(f"/etc/ssl/certs/facade0{n}.0", os.R_OK)
        os._exit(10 + n)
    _, status = os.waitpid(pid, 0)
    codes.append(os.waitstatus_to_exitcode(status))
r = subprocess.run(["/bin/sh", "-c", "test -e /etc/ssl/certs/facade99.0; exit 21"])
codes.append(r.returncode)
print(codes)
sys.exit(5 if codes == [11, 12, 13, 21] else 1)
"#;

#[test]
fn forks_vforks_and_execs_are_followed() {
    let (out, json) = trace_json(&[], &[], &[python3().to_str().unwrap(), "-I", "-c", FORKS]);
    assert_eq!(out.code(), Some(5), "{out}");
    assert_eq!(out.stdout.trim(), "[11, 12, 13, 21]");
    let mut pids = BTreeSet::new();
    for n in 1..=3 {
        let a = access(&json, &format!("/etc/ssl/certs/facade0{n}.0"), "access").unwrap_or_else(|| panic!("{json:#}"));
        assert_eq!(a["outcome"], "missing");
        pids.insert(a["pids"][0].as_i64().unwrap());
    }
    assert_eq!(pids.len(), 3, "each fork child is its own process: {json:#}");
    let sh = access(&json, "/etc/ssl/certs/facade99.0", "stat").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(sh["programs"], serde_json::json!(["/usr/bin/dash"]), "{sh:#}");
    let programs: Vec<&str> = json["programs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["exe"].as_str().unwrap())
        .collect();
    assert!(programs.contains(&"/usr/bin/dash"), "{programs:?}");
    assert!(programs.iter().any(|p| p.contains("python3")), "{programs:?}");
}

/// The tracee's pid, written by `sh -c 'echo $$ > file; exec ...'`.
fn wait_for_pid(file: &std::path::Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "the tracee never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn gone(pid: i32) -> bool {
    // Gone, or a zombie waiting for init: not running, not stopped.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

fn wait_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn sigterm_and_sigint_are_forwarded_and_nothing_is_left_behind() {
    let dir = scratch("signals");
    for (sig, handled) in [(libc::SIGTERM, false), (libc::SIGINT, true)] {
        let pidfile = dir.join(format!("pid-{sig}"));
        let script = format!(
            "trap 'exit 42' INT; echo $$ > {}; while :; do sleep 0.05; done",
            pidfile.display()
        );
        let mut cmd = clean(cafix());
        // `env --default-signal`: a shell cannot trap a signal ignored when
        // it started, and a test run started in the background (`cmd &` in
        // a script) inherits SIGINT ignored.
        cmd.args(["trace", "--", "env", "--default-signal=INT", "sh", "-c", &script]);
        let child = spawn(&mut cmd);
        let tracer = child.id() as i32;
        let pid = wait_for_pid(&pidfile);
        unsafe { libc::kill(tracer, sig) };
        let out = finish(child, format!("cafix trace sh (signal {sig})"));
        let expected = if handled { 42 } else { 128 + sig };
        assert_eq!(out.code(), Some(expected), "{out}");
        assert!(
            out.stderr.contains("cafix trace: verdict:"),
            "a summary is still printed:\n{out}"
        );
        assert!(wait_gone(pid), "the tracee {pid} survived");
    }
}

#[test]
fn a_killed_tracer_takes_its_tracees_with_it() {
    let dir = scratch("exitkill");
    let pidfile = dir.join("pid");
    let mut cmd = clean(cafix());
    cmd.args([
        "trace",
        "--",
        "sh",
        "-c",
        &format!("echo $$ > {}; exec sleep 60", pidfile.display()),
    ]);
    let mut child = spawn(&mut cmd);
    let pid = wait_for_pid(&pidfile);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(wait_gone(pid), "PTRACE_O_EXITKILL did not kill the tracee {pid}");
}

#[test]
fn the_tracee_environment_decides_ssl_cert_dir_and_file() {
    // Only the traced program has SSL_CERT_DIR / SSL_CERT_FILE (set by env(1)
    // after the tracer started): its lookups there are trust locations.
    let dir = scratch("certdir");
    let d = dir.to_str().unwrap();
    let script = format!("test -e {d}/0badf00d.0; test -e {d}/bundle.txt; test -e {d}/other.txt; exit 0");
    let (out, json) = trace_json(
        &[],
        &[],
        &[
            "env",
            &format!("SSL_CERT_DIR=/x:{d}"),
            &format!("SSL_CERT_FILE={d}/bundle.txt"),
            "sh",
            "-c",
            &script,
        ],
    );
    assert_eq!(out.code(), Some(0), "{out}");
    let entry = access(&json, &format!("{d}/0badf00d.0"), "stat").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(entry["location"]["kind"], "hash-entry");
    let bundle = access(&json, &format!("{d}/bundle.txt"), "stat").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(bundle["location"]["kind"], "bundle");
    assert!(access(&json, &format!("{d}/other.txt"), "stat").is_none(), "{json:#}");
}

#[test]
fn writes_and_real_entries_are_never_redirected() {
    // A private /etc/ssl/certs holding one real entry.
    let certs = scratch("writes");
    let bundle = std::fs::read("/etc/ssl/certs/ca-certificates.crt").expect("the machine's CA bundle");
    std::fs::write(certs.join("ca-certificates.crt"), &bundle).unwrap();
    std::fs::write(certs.join("4042bcee.0"), "real entry\n").unwrap();
    let out_file = certs.join("..").join("writes.json");
    let script = "cat /etc/ssl/certs/4042bcee.0; echo new > /etc/ssl/certs/4042bcee.1; \
                  test -w /etc/ssl/certs/4042bcee.2 || echo not-writable; cat /etc/ssl/certs/4042bcee.1";
    let mut inner = clean(cafix());
    inner
        .arg("trace")
        .arg("--fix")
        .arg("--json")
        .arg("-o")
        .arg(&out_file)
        .args(["--", "sh", "-c", script]);
    let out = run(&mut in_namespace(&certs, &mut inner));
    assert_eq!(out.code(), Some(0), "{out}");
    // The real entry was read as it is; the created one too; the W_OK probe was not served.
    assert_eq!(out.stdout, "real entry\nnot-writable\nnew\n", "{out}");
    let json = read_json(&out_file, &out);
    let created = json["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "/etc/ssl/certs/4042bcee.1" && a["write"] == true)
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(created["served"], serde_json::Value::Null);
    assert_eq!(json["fixed"], serde_json::json!([]), "{json:#}");
    assert_eq!(std::fs::read_to_string(certs.join("4042bcee.1")).unwrap(), "new\n");
}

#[test]
fn text_summary_names_the_bundle_reads() {
    let (out, json) = trace_json(
        &[],
        &[],
        &["sh", "-c", "cat /etc/ssl/certs/ca-certificates.crt > /dev/null"],
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(json["system_bundle"]["read"], true, "{json:#}");
    assert!(
        json["verdict"].as_str().unwrap().starts_with("read the system bundle"),
        "{json:#}"
    );
}

/// A 32-bit (i386) program on x86_64: its system calls are not traced, and
/// the summary says so plainly rather than reporting that it looked at no
/// trust location; its exit status passes through.
#[test]
fn a_32_bit_program_is_said_to_be_untraced() {
    if !needs_other_arch("i386") {
        return;
    }
    let dir = scratch("i386-program");
    let src = dir.join("open_bundle.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { FILE *f = fopen(\"/etc/ssl/certs/ca-certificates.crt\", \"r\"); return f ? 7 : 8; }\n",
    )
    .unwrap();
    let bin = dir.join("open_bundle32");
    let status = Command::new("i686-linux-gnu-gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("i686-linux-gnu-gcc must be installed (gcc-i686-linux-gnu)");
    assert!(status.success());
    let (out, json) = trace_json(&[], &[], &[bin.to_str().unwrap()]);
    assert_eq!(out.code(), Some(7), "{out}");
    let note = format!(
        "{} is a 32-bit program: its file accesses are not traced",
        bin.display()
    );
    assert!(
        json["notes"]
            .as_array()
            .is_some_and(|notes| notes.iter().any(|n| n == &serde_json::json!(note))),
        "{json}"
    );
    assert!(accesses(&json).is_empty(), "{json}");
}
