//! `cafix trace --fix` on the machinery level: the path register is put
//! back after a rewritten system call (x86_64 preserves it across
//! `syscall`, compiled code relies on that), concurrent threads each get
//! their own replacement, a thread other than the leader may exec, and
//! job control (SIGSTOP/SIGCONT) keeps working. Each run happens in a
//! private mount namespace whose `/etc/ssl/certs` holds only the machine's
//! bundle, so every `<hash>.0` of a bundle CA is missing there.

mod trace_harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use trace_harness::*;

const BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A certs directory with only the machine's bundle in it.
fn bundle_only_dir(name: &str) -> PathBuf {
    let dir = scratch(name).join("certs");
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = std::fs::read(BUNDLE).expect("the machine's CA bundle (apt-get install ca-certificates)");
    std::fs::write(dir.join("ca-certificates.crt"), bundle).unwrap();
    dir
}

/// The subject hash of the bundle's first certificate, and its subject.
fn bundle_ca() -> &'static (String, String) {
    static CA: OnceLock<(String, String)> = OnceLock::new();
    CA.get_or_init(|| {
        let out = Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject_hash",
                "-subject",
                "-nameopt",
                "RFC2253",
                "-in",
                BUNDLE,
            ])
            .output()
            .expect("openssl");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let hash = lines.next().unwrap().trim().to_string();
        let subject = lines.next().unwrap().trim().trim_start_matches("subject=").to_string();
        (hash, subject)
    })
}

fn cc(name: &str, source: &str) -> PathBuf {
    let dir = scratch(&format!("cc-{name}"));
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let bin = dir.join(name);
    let out = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("cc (apt-get install gcc)");
    assert!(
        out.status.success(),
        "cc failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

fn trace_fix_in(dir: &Path, json_out: &Path, command: &[&str]) -> Output {
    let mut inner = clean(cafix());
    inner
        .arg("trace")
        .arg("--fix")
        .arg("--json")
        .arg("-o")
        .arg(json_out)
        .arg("--")
        .args(command);
    run(&mut in_namespace(dir, &mut inner))
}

/// `stat()` through an inline `syscall` whose `rdi` is an in/out operand:
/// exits 3 if the kernel (or the tracer) changed `rdi`.
const REGISTER_CHECK: &str = r#"
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    (void)argc;
    const char *path = argv[1];
    struct stat st;
    for (int i = 0; i < 3; i++) {
        register long rdi __asm__("rdi") = (long)path;
        register long rsi __asm__("rsi") = (long)&st;
        long ret;
        __asm__ volatile("syscall" : "=a"(ret), "+r"(rdi), "+r"(rsi) : "a"((long)SYS_stat) : "rcx", "r11", "memory");
        if (rdi != (long)path || rsi != (long)&st) { printf("registers changed\n"); return 3; }
        if (ret != 0) { printf("stat failed: %ld\n", ret); return 1; }
    }
    printf("size %lld\n", (long long)st.st_size);
    return 0;
}
"#;

#[test]
fn the_path_register_is_put_back() {
    let (hash, _) = bundle_ca();
    let bin = cc("regcheck", REGISTER_CHECK);
    let dir = bundle_only_dir("regcheck");
    let entry = format!("/etc/ssl/certs/{hash}.0");
    let json_file = dir.parent().unwrap().join("regcheck.json");
    // The replacement files go to a runtime directory of this test's own
    // (other tests of this file run in parallel and serve the same CA).
    let runtime = dir.parent().unwrap().join("regcheck-runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut inner = clean(cafix());
    inner
        .env("XDG_RUNTIME_DIR", &runtime)
        .args(["trace", "--fix", "--json", "-o"])
        .arg(&json_file)
        .args(["--", bin.to_str().unwrap(), &entry]);
    let out = run(&mut in_namespace(&dir, &mut inner));
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.starts_with("size "), "{out}");
    let json = read_json(&json_file, &out);
    let a = access(&json, &entry, "stat").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(a["outcome"], "served");
    assert_eq!(a["count"], 3);
    let served = json["fixed"][0]["served"].as_str().unwrap().to_string();
    assert!(!served.is_empty());
    // The runtime directory the trace made there is gone after the run.
    let left: Vec<_> = std::fs::read_dir(&runtime)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left after the run: {left:?}");
}

/// Eight threads open() the same missing entry and a missing bundle path
/// 50 times each; every open must succeed and read a certificate.
const THREADS: &str = r#"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static const char *entry;
static int failures;
static void *work(void *arg) {
    (void)arg;
    char buf[64];
    for (int i = 0; i < 50; i++) {
        const char *p = (i % 2) ? entry : "/usr/local/ssl/cert.pem";
        int fd = open(p, O_RDONLY);
        if (fd < 0) { __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST); continue; }
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = 0;
        if (!strstr(buf, "-----BEGIN CERTIFICATE-----")) __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}
int main(int argc, char **argv) {
    (void)argc;
    entry = argv[1];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    printf("failures %d\n", failures);
    return failures ? 1 : 0;
}
"#;

#[test]
fn concurrent_threads_are_all_served() {
    assert!(
        !Path::new("/usr/local/ssl").exists(),
        "/usr/local/ssl exists on this machine"
    );
    let (hash, _) = bundle_ca();
    let bin = cc("threads", THREADS);
    let dir = bundle_only_dir("threads");
    let entry = format!("/etc/ssl/certs/{hash}.0");
    let json_file = dir.parent().unwrap().join("threads.json");
    let out = trace_fix_in(&dir, &json_file, &[bin.to_str().unwrap(), &entry]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout.trim(), "failures 0", "{out}");
    let json = read_json(&json_file, &out);
    assert_eq!(access(&json, &entry, "open").unwrap()["count"], 200);
    assert_eq!(access(&json, "/usr/local/ssl/cert.pem", "open").unwrap()["count"], 200);
    assert_eq!(json["system_bundle"]["read"], true);
}

#[test]
fn a_thread_that_execs_takes_over_the_process() {
    // A non-leader thread execs; the new program's lookups are still traced.
    let script = "import os, threading, time\n\
                  def go():\n    os.execv('/bin/sh', ['sh', '-c', 'test -e /etc/ssl/certs/abcabc01.0; exit 8'])\n\
                  threading.Thread(target=go).start()\n\
                  time.sleep(30)\n";
    let (out, json) = trace_json(&[], &[], &[python3().to_str().unwrap(), "-I", "-c", script]);
    assert_eq!(out.code(), Some(8), "{out}");
    let a = access(&json, "/etc/ssl/certs/abcabc01.0", "stat").unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(a["outcome"], "missing");
    assert_eq!(a["programs"], serde_json::json!(["/usr/bin/dash"]));
}

#[test]
fn job_control_still_works() {
    let dir = scratch("jobcontrol");
    let pidfile = dir.join("pid");
    let mut cmd = clean(cafix());
    cmd.args([
        "trace",
        "--",
        "sh",
        "-c",
        &format!("echo $$ > {}; kill -STOP $$; exit 4", pidfile.display()),
    ]);
    let child = spawn(&mut cmd);
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid: i32 = loop {
        if let Some(p) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break p;
        }
        assert!(Instant::now() < deadline, "the tracee never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Wait until it is stopped (group-stop under the tracer: state t).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start().chars().next();
        if matches!(state, Some('t') | Some('T')) {
            break;
        }
        assert!(Instant::now() < deadline, "the tracee never stopped: {stat}");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let out = finish(child, "cafix trace sh (SIGSTOP/SIGCONT)".into());
    assert_eq!(out.code(), Some(4), "{out}");
}
