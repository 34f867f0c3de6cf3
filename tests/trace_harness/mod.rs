//! Helpers of the `cafix trace` tests (tests/trace_*.rs): running the
//! `cafix` binary with a clean environment and a time limit, reading its
//! JSON summary, and small private mount namespaces for layouts that need
//! no PKI.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

// Each harness stands alone; a test that uses two of them loads this twice.
#[allow(clippy::duplicate_mod)]
#[path = "../shared_env/mod.rs"]
mod shared_env;
#[allow(unused_imports)]
pub use shared_env::needs_other_arch;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The `cafix` binary cargo built for these tests.
pub fn cafix() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cafix"))
}

/// `/usr/bin/python3` (not a pyenv shim: a real ELF the tracer follows).
pub fn python3() -> &'static Path {
    let p = Path::new("/usr/bin/python3");
    assert!(p.exists(), "/usr/bin/python3 is needed (apt-get install python3)");
    p
}

/// A scratch directory under `target/cafix-tests/trace-<pid>/`.
pub fn scratch(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(d))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = base
        .join("cafix-tests")
        .join(format!("trace-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A command with the trust variables and every `CAFIX_*` removed.
pub fn clean(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    shared_env::clear_env(&mut cmd);
    // --fix materialises certificates under $XDG_RUNTIME_DIR: tests get the fallback.
    cmd.env_remove("XDG_RUNTIME_DIR");
    cmd.stdin(Stdio::null());
    cmd
}

/// What a command did.
#[derive(Debug)]
pub struct Output {
    pub line: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\n{}\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
            self.line, self.status, self.stdout, self.stderr
        )
    }
}

fn reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Spawns with piped output.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Waits for a child at most [`TIMEOUT`] (a hung one fails the test).
pub fn finish(mut child: Child, line: String) -> Output {
    let out = reader(child.stdout.take().unwrap());
    let err = reader(child.stderr.take().unwrap());
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let s = child.wait().unwrap();
            panic!("`{line}` hung ({s}):\n{}\n{}", out.join().unwrap(), err.join().unwrap());
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        line,
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

pub fn run(cmd: &mut Command) -> Output {
    let line = format!("{cmd:?}");
    let child = spawn(cmd);
    finish(child, line)
}

/// `cafix trace [extra] --json -o <file> -- command...`, with a clean
/// environment plus `env`; returns the output and the JSON summary.
pub fn trace_json(extra: &[&str], env: &[(&str, &str)], command: &[&str]) -> (Output, Value) {
    let dir = scratch(&format!("json-{}", super_unique()));
    let file = dir.join("summary.json");
    let mut cmd = clean(cafix());
    cmd.arg("trace")
        .args(extra)
        .arg("--json")
        .arg("-o")
        .arg(&file)
        .arg("--")
        .args(command);
    cmd.envs(env.iter().copied());
    let out = run(&mut cmd);
    let json = read_json(&file, &out);
    (out, json)
}

pub fn read_json(file: &Path, out: &Output) -> Value {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("no summary in {}: {e}\n{out}", file.display()));
    assert_eq!(text.lines().count(), 1, "the JSON summary is one line:\n{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{text}\n{out}"))
}

fn super_unique() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The accesses of a summary as (path, op, outcome) triples.
pub fn accesses(json: &Value) -> Vec<(String, String, String)> {
    json["accesses"]
        .as_array()
        .expect("accesses")
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap().to_string(),
                a["op"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The access record of `path` with operation `op`, if any.
pub fn access<'a>(json: &'a Value, path: &str, op: &str) -> Option<&'a Value> {
    json["accesses"]
        .as_array()?
        .iter()
        .find(|a| a["path"] == path && a["op"] == op)
}

/// The hash record of `hash`.
pub fn hash<'a>(json: &'a Value, hash: &str) -> Option<&'a Value> {
    json["hashes"].as_array()?.iter().find(|h| h["hash"] == hash)
}

/// Runs `command` in a private mount namespace with `dir` bound over
/// `/etc/ssl/certs` (the host's directory is never touched).
pub fn in_namespace(dir: &Path, command: &mut Command) -> Command {
    let mut cmd = clean("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$0\" /etc/ssl/certs && exec \"$@\"",
    ])
    .arg(dir)
    .arg(command.get_program())
    .args(command.get_args());
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}
