//! Records that reach the people who read them: libcafix.so's records sent
//! to a real systemd-journald and a real rsyslogd, each running in a private
//! mount and PID namespace (its own `/run`, its own `/dev` with `/dev/log`
//! only when a daemon makes it, `/etc` overlaid so `/etc/cafix.conf` can be
//! written), from real clients (curl, Python, gnutls-cli, wget) that fail to
//! verify a loopback server; then read back with `journalctl`, from
//! rsyslog's file, and summarised by `cafix log`. And the bad input: no log
//! socket at all, a socket path that is a regular file or another user's
//! socket, a daemon that does not keep up, an entry too large for a
//! datagram, a program that closes and reuses descriptors, forks and
//! threads racing on the first record, a setuid program with hostile log
//! variables, a program that retries in a loop. The host's /run, /dev and
//! /etc are never touched.
//!
//! Needs root, `unshare`, `setpriv`, overlayfs, systemd-journald
//! (/lib/systemd/systemd-journald, package systemd), rsyslogd (rsyslog),
//! curl, python3, gnutls-cli and wget: a missing one fails the test.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const JOURNALD: &str = "/lib/systemd/systemd-journald";
const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// Which log daemons run in the namespace.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Daemons {
    /// None: no journal socket, no /dev/log.
    None,
    /// systemd-journald, with /dev/log its syslog socket, as on a systemd machine.
    Journald,
    /// rsyslogd on /dev/log, writing /var/log/syslog (Debian 12's default,
    /// RFC 3339 times) and /var/log/traditional (`Mmm dd hh:mm:ss`).
    Rsyslog,
}

/// Sets up the namespace (as root, before anything runs in it): `/etc`
/// overlaid, the scenario's certificates over /etc/ssl/certs, a tmpfs on
/// /run and on /var/log, a private /dev holding the usual
/// devices only, then `/etc/cafix.conf` if given and the daemons. `$1` is
/// the certificates, `$2` the work directory.
const SETUP: &str = r#"set -e
certs=$1; work=$2; shift 2
mkdir -p "$work/etc-upper" "$work/etc-work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$work/etc-upper,workdir=$work/etc-work" /etc
mount --bind "$certs" /etc/ssl/certs
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=755 tmpfs /var/log
mkdir /run/host-dev
mount --rbind /dev /run/host-dev
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty; do touch /dev/$n; mount --bind /run/host-dev/$n /dev/$n; done
mkdir /dev/shm && mount -t tmpfs tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
rm -f /etc/cafix.conf
if [ -n "${CAFIX_TEST_CONF-}" ]; then printf '%s\n' "$CAFIX_TEST_CONF" > /etc/cafix.conf; chmod 644 /etc/cafix.conf; fi
unset CAFIX_TEST_CONF
wait_for() { i=0; while [ ! -S "$1" ]; do i=$((i+1)); [ $i -gt 100 ] && { echo "cafix-log-test: no $1" >&2; exit 1; }; sleep 0.05; done; }
case "$CAFIX_TEST_DAEMONS" in
Journald)
    mkdir -p /run/systemd/journal
    /lib/systemd/systemd-journald </dev/null >"$work/journald.log" 2>&1 &
    wait_for /run/systemd/journal/socket
    wait_for /run/systemd/journal/dev-log
    ln -s /run/systemd/journal/dev-log /dev/log ;;
Rsyslog)
    mkdir -p /run/rsyslog
    cat >/run/rsyslog/rsyslog.conf <<'EOF'
module(load="imuxsock" SysSock.Name="/dev/log")
global(workDirectory="/run/rsyslog")
*.* action(type="omfile" file="/var/log/syslog")
*.* action(type="omfile" file="/var/log/traditional" template="RSYSLOG_TraditionalFileFormat")
EOF
    /usr/sbin/rsyslogd -n -f /run/rsyslog/rsyslog.conf -i /run/rsyslog/pid </dev/null >"$work/rsyslogd.log" 2>&1 &
    wait_for /dev/log ;;
esac
echo 'cafix-log-test: ready' >&2
set +e
# client NAME COMMAND...: runs COMMAND with libcafix.so, output in $work/NAME.{out,err,rc}.
client() { name=$1; shift; LD_PRELOAD=$CAFIX_SHIM "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err"; echo $? >"$work/$name.rc"; }
# plain NAME COMMAND...: the same without it.
plain() { name=$1; shift; "$@" </dev/null >"$work/$name.out" 2>"$work/$name.err"; echo $? >"$work/$name.rc"; }
# Lets the daemons write what they received.
settle() { sleep 0.5; }
# The journal's cafix entries, in $work/journal.json.
save_journal() { settle; journalctl -o json --all --no-pager SYSLOG_IDENTIFIER=cafix >"$work/journal.json"; }
"#;

/// One run of a script in a fresh log namespace.
struct LogNs {
    work: PathBuf,
}

impl LogNs {
    /// Runs `script` (sh, after [`SETUP`]) with `daemons`, `/etc/cafix.conf`
    /// holding `conf` (none if `None`), and `env`; waits at most a minute.
    fn run(scenario: &Scenario, daemons: Daemons, conf: Option<&str>, env: &[(&str, &str)], script: &str) -> LogNs {
        for tool in [
            JOURNALD,
            RSYSLOGD,
            "/usr/bin/curl",
            "/usr/bin/gnutls-cli",
            "/usr/bin/wget",
        ] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install systemd, rsyslog, curl, gnutls-bin and wget (test.sh does)"
            );
        }
        let work = unique_dir("logns");
        fs::set_permissions(&work, fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new("unshare");
        cmd.args([
            "-m",
            "-p",
            "-f",
            "--mount-proc",
            "--propagation",
            "private",
            "setpriv",
            "--pdeathsig",
            "KILL",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!("{SETUP}\n{script}"))
        .arg("sh")
        .arg(scenario.certs_dir())
        .arg(&work);
        clear_env(&mut cmd);
        cmd.env("CAFIX_SHIM", shim())
            .env("CAFIX", env!("CARGO_BIN_EXE_cafix"))
            .env("PYTHON", python3())
            .env("WORK", &work)
            .env("CAFIX_TEST_DAEMONS", format!("{daemons:?}"));
        if let Some(conf) = conf {
            cmd.env("CAFIX_TEST_CONF", conf);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(fs::File::create(work.join("script.out")).unwrap())
            .stderr(fs::File::create(work.join("script.err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare (util-linux must be installed): {e}"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the log namespace did not finish within a minute:\n{}",
                    LogNs { work }.debug()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let ns = LogNs { work };
        assert!(
            ns.read("script.err").contains("cafix-log-test: ready"),
            "could not set up the log namespace ({status}); needs root, unshare, setpriv, overlayfs, \
             tmpfs and the daemons:\n{}",
            ns.debug()
        );
        ns
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// A client's exit status, stdout + stderr, and stderr.
    fn client(&self, name: &str) -> (i32, String, String) {
        let rc = self
            .read(&format!("{name}.rc"))
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} did not run:\n{}", self.debug()));
        let err = self.read(&format!("{name}.err"));
        (rc, format!("{}{err}", self.read(&format!("{name}.out"))), err)
    }

    /// The journal entries the script saved with `journalctl -o json --all > FILE`.
    fn journal(&self, name: &str) -> Vec<Value> {
        self.read(name)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad journal line {l:?}: {e}")))
            .collect()
    }

    fn debug(&self) -> String {
        let mut out = String::new();
        if let Ok(dir) = fs::read_dir(&self.work) {
            let mut names: Vec<PathBuf> = dir.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
            names.sort();
            for p in names {
                let text = fs::read_to_string(&p).unwrap_or_default();
                let text: String = text.chars().take(4000).collect();
                out.push_str(&format!("--- {} ---\n{text}\n", p.display()));
            }
        }
        out
    }
}

/// The machine's bundle alone: the test root is trusted nowhere, so every
/// client fails at depth 1 whether or not cafix is there.
fn untrusted_root() -> Scenario {
    let real = fs::read(SYSTEM_BUNDLE).unwrap();
    Scenario::new()
        .without_hash_entries()
        .with_file("ca-certificates.crt", real)
}

fn field<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key].as_str().unwrap_or_else(|| panic!("no {key} in {entry}"))
}

/// No record reached this output, as a text line or a JSON object.
fn no_record(output: &str) -> bool {
    !output.contains("cafix[") && !output.contains("{\"cafix\":")
}

fn failures(entries: &[Value]) -> Vec<&Value> {
    entries.iter().filter(|e| e["CAFIX_EVENT"] == "verify-failed").collect()
}

fn curl(port: u16) -> String {
    format!("/usr/bin/curl -sS --max-time 10 https://localhost:{port}/index.txt")
}

fn python_client(port: u16) -> String {
    format!("\"$PYTHON\" -I -c '{PYTHON_CLIENT}' /etc/ssl/certs localhost {port}")
}

fn gnutls_cli(port: u16) -> String {
    format!("/usr/bin/gnutls-cli --port {port} localhost")
}

fn wget(port: u16) -> String {
    format!("/usr/bin/wget --no-config --tries=1 --timeout=10 -O - https://localhost:{port}/index.txt")
}

/// What each client says when the root is not trusted.
const CLIENTS: [(&str, &str); 4] = [
    ("curl", OPENSSL_LOCAL_ISSUER_ERROR),
    ("python3", OPENSSL_LOCAL_ISSUER_ERROR),
    ("gnutls-cli", "certificate is NOT trusted"),
    ("wget", "The certificate of ‘localhost’ is not trusted"),
];

fn client_commands(port: u16) -> String {
    format!(
        "client curl {}\nclient python3 {}\nclient gnutls-cli {}\nclient wget {}\n",
        curl(port),
        python_client(port),
        gnutls_cli(port),
        wget(port)
    )
}

#[test]
fn the_journal_gets_each_failure_with_the_program_and_the_server_and_cafix_log_reads_it() {
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let port = srv.port;
    let ns = LogNs::run(
        &scenario,
        Daemons::Journald,
        Some("log_target = journal"),
        &[],
        &format!(
            "{clients}
plain curl-plain {curl}
save_journal
journalctl -o short --no-pager SYSLOG_IDENTIFIER=cafix >$work/journal.txt
$CAFIX log >$work/log.out 2>$work/log.err; echo $? >$work/log.rc
$CAFIX log --json --program wget >$work/log-wget.json; echo $? >$work/log-wget.rc
$CAFIX log --host localhost:1 >$work/log-none.out; echo $? >$work/log-none.rc
",
            clients = client_commands(port),
            curl = curl(port)
        ),
    );
    // Each client fails as it does without cafix, and its stderr has no record.
    for (name, error) in CLIENTS {
        let (rc, all, err) = ns.client(name);
        assert_ne!(rc, 0, "{name} must fail:\n{}", ns.debug());
        assert!(all.contains(error), "{name} should say {error:?}:\n{all}");
        assert!(no_record(&err), "a record reached {name}'s stderr:\n{err}");
    }
    let (rc, all, _) = ns.client("curl-plain");
    assert!(rc != 0 && all.contains(OPENSSL_LOCAL_ISSUER_ERROR), "{all}");

    let entries = ns.journal("journal.json");
    let failed = failures(&entries);
    assert_eq!(failed.len(), 4, "one record per client:\n{}", ns.debug());
    for (name, _) in CLIENTS {
        let e = failed
            .iter()
            .find(|e| e["CAFIX_PROGRAM"] == name)
            .unwrap_or_else(|| panic!("no record of {name}:\n{}", ns.debug()));
        assert_eq!(field(e, "SYSLOG_IDENTIFIER"), "cafix");
        assert_eq!(field(e, "PRIORITY"), "4");
        assert_eq!(field(e, "_TRANSPORT"), "journal", "{e}");
        // journald reads _COMM from /proc: a process that is gone by then has none.
        if let Some(comm) = e["_COMM"].as_str() {
            assert_eq!(comm, name, "{e}");
        }
        assert_eq!(field(e, "SYSLOG_PID"), field(e, "_PID"), "{e}");
        // The failure is at the intermediate (depth 1); the server's own
        // certificate is named all the same.
        assert!(field(e, "CAFIX_CERTIFICATE").contains(&pki().intermediate.cn), "{e}");
        assert_eq!(field(e, "CAFIX_LEAF_SUBJECT"), "O=cafix tests, CN=localhost", "{e}");
        assert!(field(e, "CAFIX_LEAF_NAMES").contains("DNS:localhost"), "{e}");
        assert_eq!(field(e, "CAFIX_HINT_CLASS"), "root-not-in-bundle", "{e}");
        assert_eq!(field(e, "CAFIX_CAUSE"), "root not in the system bundle", "{e}");
        assert_eq!(field(e, "CAFIX_PEER"), format!("127.0.0.1:{port}"), "{name}: {e}");
        let server = field(e, "CAFIX_SERVER");
        let message = field(e, "MESSAGE");
        assert!(message.starts_with("certificate verification failed: "), "{e}");
        assert!(message.contains(&format!("\n  program: {name}\n")), "{e}");
        assert!(message.contains(&format!("\n  server: {server}\n")), "{e}");
        match name {
            // The name verification was to match (Python, gnutls-cli) or the SNI (curl);
            // curl's BIO is not a descriptor: its only TCP connection.
            "curl" => assert_eq!(
                server,
                format!("localhost:{port} (address 127.0.0.1, the process's only TCP connection)")
            ),
            "python3" | "gnutls-cli" => {
                assert_eq!(server, format!("localhost:{port} (address 127.0.0.1)"), "{e}")
            }
            // wget's verify_peers2 is given no name; the descriptor gives the address.
            _ => assert_eq!(server, format!("127.0.0.1:{port}"), "{e}"),
        }
    }
    assert!(ns.read("journal.txt").contains("cafix["), "{}", ns.read("journal.txt"));

    // cafix log, in the same namespace, from the journal.
    let (log, rc) = (ns.read("log.out"), ns.read("log.rc"));
    assert_eq!(rc.trim(), "1", "a failure was recorded:\n{log}{}", ns.read("log.err"));
    for line in [
        format!("curl → localhost:{port}  root not in the system bundle  once at "),
        format!("python3 → localhost:{port}  root not in the system bundle  once at "),
        format!("gnutls-cli → localhost:{port}  root not in the system bundle  once at "),
        format!("wget → 127.0.0.1:{port}  root not in the system bundle  once at "),
    ] {
        assert!(log.lines().any(|l| l.starts_with(&line)), "{line:?} not in:\n{log}");
    }
    assert!(log.contains("fix: if it should be trusted, install the root"), "{log}");
    assert!(log.contains("read from the journal"), "{log}");
    let wget_only: Value = serde_json::from_str(&ns.read("log-wget.json")).unwrap();
    assert_eq!(ns.read("log-wget.rc").trim(), "1");
    let f = &wget_only["failures"];
    assert_eq!(f.as_array().unwrap().len(), 1, "{wget_only}");
    assert_eq!(f[0]["program"], "wget");
    assert_eq!(f[0]["count"], 1);
    assert_eq!(f[0]["hint_class"], "root-not-in-bundle");
    assert_eq!(
        f[0]["server_certificate"], "O=cafix tests, CN=localhost (DNS:localhost, IP:127.0.0.1)",
        "{wget_only}"
    );
    assert_eq!(ns.read("log-none.rc").trim(), "0", "{}", ns.read("log-none.out"));
    assert!(ns.read("log-none.out").contains("No failed verification"));
}

#[test]
fn without_journald_records_go_to_dev_log_as_syslog_writes_them() {
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let port = srv.port;
    // log_target = journal, but no journald: /dev/log (rsyslog) takes them.
    let ns = LogNs::run(
        &scenario,
        Daemons::Rsyslog,
        Some("log_target = journal"),
        &[],
        &format!(
            "client curl {curl}
client gnutls-cli {gnutls}
client python3 env CAFIX_LOG_FORMAT=json {python}
settle
cp /var/log/syslog /var/log/traditional $work/
$CAFIX log >$work/log.out; echo $? >$work/log.rc
$CAFIX log --json /var/log/traditional >$work/log-traditional.json
$CAFIX log --since 1m --program gnutls-cli --host localhost /var/log/syslog >$work/log-gnutls.out
",
            curl = curl(port),
            gnutls = gnutls_cli(port),
            python = python_client(port)
        ),
    );
    for name in ["curl", "gnutls-cli", "python3"] {
        let (rc, _, err) = ns.client(name);
        assert_ne!(rc, 0);
        assert!(no_record(&err), "{name}'s stderr got a record:\n{err}");
    }
    let messages = ns.read("syslog");
    // One syslog line per line of the text record, tag and pid as glibc's syslog() writes them.
    let curl_pid = messages
        .lines()
        .find(|l| l.contains("  program: curl"))
        .and_then(|l| l.split("cafix[").nth(1))
        .and_then(|r| r.split(']').next())
        .unwrap_or_else(|| panic!("no curl record in rsyslog's file:\n{messages}"))
        .to_string();
    let curl_lines: Vec<&str> = messages
        .lines()
        .filter(|l| l.contains(&format!(" cafix[{curl_pid}]: ")))
        .collect();
    assert!(
        curl_lines[0].contains(": warning: certificate verification failed: unable to get local issuer certificate"),
        "{messages}"
    );
    for expected in [
        "  program: curl".to_string(),
        format!("  server: localhost:{port} (address 127.0.0.1, the process's only TCP connection)"),
        "  server certificate: O=cafix tests, CN=localhost (DNS:localhost, IP:127.0.0.1)".to_string(),
        "  cause: root not in the system bundle".to_string(),
    ] {
        assert!(
            curl_lines.iter().any(|l| l.ends_with(&expected)),
            "{expected:?} not in:\n{messages}"
        );
    }
    // Debian's default file format: RFC 3339 time, then the host name.
    assert!(
        curl_lines[0].as_bytes()[4] == b'-' && curl_lines[0].as_bytes()[10] == b'T',
        "{}",
        curl_lines[0]
    );
    // JSON records are one line each.
    let json_line = messages
        .lines()
        .find(|l| l.contains("cafix[") && l.contains("{\"cafix\":1"))
        .unwrap_or_else(|| panic!("no JSON record:\n{messages}"));
    assert!(json_line.contains("\"program\":\"python3\""), "{json_line}");
    assert!(ns
        .read("traditional")
        .lines()
        .any(|l| l.contains("  program: gnutls-cli")));

    let log = ns.read("log.out");
    assert_eq!(ns.read("log.rc").trim(), "1", "{log}");
    assert!(log.contains("read from /var/log/syslog"), "no journal here: {log}");
    for program in ["curl", "gnutls-cli", "python3"] {
        let line = format!("{program} → localhost:{port}  root not in the system bundle  once at ");
        assert!(log.lines().any(|l| l.starts_with(&line)), "{line:?} not in:\n{log}");
    }
    let traditional: Value = serde_json::from_str(&ns.read("log-traditional.json")).unwrap();
    assert_eq!(traditional["failures"].as_array().unwrap().len(), 3, "{traditional}");
    assert!(traditional["failures"][0]["first"].as_str().unwrap().ends_with('Z'));
    let gnutls = ns.read("log-gnutls.out");
    assert!(
        gnutls.starts_with(&format!("gnutls-cli → localhost:{port}")),
        "{gnutls}"
    );
    assert_eq!(gnutls.matches(" → ").count(), 1, "{gnutls}");
}

#[test]
fn with_no_journal_and_no_dev_log_records_go_to_stderr() {
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let ns = LogNs::run(
        &scenario,
        Daemons::None,
        Some("log_target = journal"),
        &[],
        &format!(
            "client curl {}\nclient gnutls-cli {}\n",
            curl(srv.port),
            gnutls_cli(srv.port)
        ),
    );
    for name in ["curl", "gnutls-cli"] {
        let (rc, _, err) = ns.client(name);
        assert_ne!(rc, 0);
        assert!(
            err.lines()
                .any(|l| l.starts_with("cafix[") && l.contains("warning: certificate verification failed")),
            "{name}: {err}"
        );
        assert!(err.contains(&format!("  program: {name}")), "{err}");
        // A missing socket is the normal case of a daemon that does not run: nothing said about it.
        assert!(!err.contains("not used"), "{err}");
    }
}

#[test]
fn a_journal_socket_that_is_a_file_or_another_users_is_never_written_to() {
    if !needs_real_root("a journal socket owned by another user (uid 12345)") {
        return;
    }
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let listener = r#"
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chown(path, 12345, 12345)
f = open(out, "wb")
open(out + ".ready", "w").close()
s.settimeout(5)
with f:
    try:
        while True:
            f.write(s.recv(1 << 20)); f.flush()
    except OSError:
        pass
"#;
    let ns = LogNs::run(
        &scenario,
        Daemons::Rsyslog,
        Some("log_target = journal"),
        &[],
        &format!(
            "mkdir -p /run/systemd/journal
echo not a socket >/run/systemd/journal/socket
client curl-file {curl}
rm /run/systemd/journal/socket
\"$PYTHON\" -c '{listener}' /run/systemd/journal/socket $work/other-user.received &
while [ ! -e $work/other-user.received.ready ]; do sleep 0.05; done
client curl-other {curl}
settle
cp /var/log/syslog $work/messages
cat /run/systemd/journal/socket 2>/dev/null >$work/file-after || true
",
            curl = curl(srv.port)
        ),
    );
    let messages = ns.read("messages");
    for (name, why) in [
        ("curl-file", "/run/systemd/journal/socket not used: it is not a socket; records go to /dev/log"),
        (
            "curl-other",
            "/run/systemd/journal/socket not used: it belongs to user 12345, neither root nor this process's user; records go to /dev/log",
        ),
    ] {
        let (rc, _, err) = ns.client(name);
        assert_ne!(rc, 0);
        assert!(no_record(&err), "{err}");
        assert!(messages.contains(why), "{why:?} not in:\n{messages}");
    }
    assert_eq!(
        messages.matches("warning: certificate verification failed").count(),
        2,
        "both records reached /dev/log:\n{messages}"
    );
    assert_eq!(ns.read("other-user.received"), "", "another user's socket got a record");
    assert_eq!(fs::metadata(ns.path("other-user.received")).unwrap().len(), 0);
}

/// A fake journald: binds the journal socket, fills its own queue until a
/// send would block (so the shim's sends find it full), writes `.full`,
/// waits for `.go`, then keeps what it receives (the filler dropped).
const SLOW_JOURNAL: &str = r#"
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
filler.setblocking(False)
n = 0
while True:
    try:
        filler.sendto(b"FILLER", path); n += 1
    except BlockingIOError:
        break
open(out + ".full", "w").write(str(n))
while not os.path.exists(out + ".go"):
    time.sleep(0.02)
s.settimeout(3)
with open(out, "wb") as f:
    try:
        while True:
            d = s.recv(1 << 20)
            if d != b"FILLER":
                f.write(d + b"\n--END--\n"); f.flush()
    except OSError:
        pass
"#;

/// The start of the Python programs below: `attempt()` makes one
/// handshake with the server on port `argv[1]` (with `ctx`, or the default
/// context) and returns its error.
const ATTEMPT: &str = r#"
import os, socket, ssl, sys, threading, time
port = int(sys.argv[1])
def attempt(ctx=None):
    ctx = ctx or ssl.create_default_context()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            ctx.wrap_socket(s, server_hostname="localhost")
    except ssl.SSLError as e:
        return e
"#;

/// Runs the Python `program` (after [`ATTEMPT`]) with libcafix.so and
/// `extra` arguments against the server of [`untrusted_root`], journald
/// running and `conf` in /etc/cafix.conf: the namespace, the client's
/// (status, output, stderr) and the journal's cafix entries.
fn python_with_journal(conf: &str, program: &str, extra: &str) -> (LogNs, (i32, String, String), Vec<Value>) {
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let ns = LogNs::run(
        &scenario,
        Daemons::Journald,
        Some(conf),
        &[],
        &format!(
            "client python \"$PYTHON\" -c '{ATTEMPT}{program}' {port} {extra}\nsave_journal\n$CAFIX log >$work/log.out; echo $? >$work/log.rc\n",
            port = srv.port
        ),
    );
    let client = ns.client("python");
    let entries = ns.journal("journal.json");
    (ns, client, entries)
}

/// Python that fails `argv[2]` handshakes, then touches `$GO`, waits, and fails one more.
const RETRIES_THEN_GO: &str = r#"
n = int(sys.argv[2])
for _ in range(n):
    print("attempt:", attempt())
go = os.environ.get("GO")
if go:
    open(go, "w").close()
    time.sleep(0.5)
    print("after go:", attempt())
"#;

#[test]
fn a_journal_that_does_not_keep_up_never_blocks_and_the_drops_are_told() {
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let ns = LogNs::run(
        &scenario,
        Daemons::None,
        Some("log_target = journal"),
        &[],
        &format!(
            "mkdir -p /run/systemd/journal
\"$PYTHON\" -c '{SLOW_JOURNAL}' /run/systemd/journal/socket $work/received &
while [ ! -e $work/received.full ]; do sleep 0.05; done
client retries env GO=$work/received.go \"$PYTHON\" -c '{ATTEMPT}{RETRIES_THEN_GO}' {port} 3
sleep 3.5
",
            port = srv.port
        ),
    );
    let (rc, out, err) = ns.client("retries");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out.matches("CERTIFICATE_VERIFY_FAILED").count(), 4, "{out}");
    assert!(no_record(&err), "{err}");
    let received = ns.read("received");
    let records: Vec<&str> = received.split("\n--END--\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(records.len(), 1, "three dropped, the fourth received:\n{received}");
    assert!(records[0].contains("CAFIX_EVENT=verify-failed\n"), "{}", records[0]);
    assert!(
        records[0].contains("\nCAFIX_RECORDS_DROPPED_BEFORE_THIS_ONE=3 (the log socket was full)\n"),
        "{}",
        records[0]
    );
}

#[test]
fn an_entry_too_large_for_a_datagram_goes_in_a_memfd() {
    // 5,000 trust directories the program gave its store: the record's
    // `trust sources` is ~450 KB, more than a datagram may carry (~208 KB).
    let many_dirs = r#"
ctx = ssl.create_default_context()
for i in range(5000):
    ctx.load_verify_locations(capath="/nonexistent/a-trust-directory-with-a-long-name-to-make-a-large-record/%05d" % i)
print("failed:", attempt(ctx))
"#;
    let (ns, (rc, out, err), entries) = python_with_journal("log_target = journal", many_dirs, "");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("CERTIFICATE_VERIFY_FAILED"), "{out}");
    assert!(no_record(&err), "{err}");
    let failed = failures(&entries);
    assert_eq!(failed.len(), 1, "{}", ns.debug());
    let sources = field(failed[0], "CAFIX_TRUST_SOURCES");
    assert!(sources.len() > 300_000, "{}", sources.len());
    let dir = "dir /nonexistent/a-trust-directory-with-a-long-name-to-make-a-large-record/";
    assert_eq!(sources.matches(dir).count(), 5000);
    assert!(
        sources.ends_with(&format!("{dir}04999")),
        "{}",
        &sources[sources.len() - 100..]
    );
}

#[test]
fn a_program_that_closes_and_reuses_descriptors_is_never_written_into() {
    // The program closes 0-2 and opens its own files there, and holds its
    // own datagram sockets on every number from 3 to 63; then it fails a
    // handshake. The record goes to the journal; none of its descriptors
    // gets a byte.
    let reuser = r#"
work = sys.argv[2]
for fd in (0, 1, 2):
    os.close(fd)
    assert os.open("%s/own-%d" % (work, fd), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) == fd
pairs = []
while True:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    pairs.append((a, b))
    if max(a.fileno(), b.fileno()) >= 63:
        break
for a, b in pairs:
    a.setblocking(False); b.setblocking(False)
attempt()
got = 0
for a, b in pairs:
    for x in (a, b):
        try:
            got += len(x.recv(65536))
        except BlockingIOError:
            pass
os.write(1, b"own text\n")
with open(work + "/reuser.result", "w") as f:
    f.write("bytes received by its own sockets: %d\n" % got)
"#;
    let (ns, _, entries) = python_with_journal("log_target = journal", reuser, "$work");
    assert_eq!(
        ns.read("reuser.result"),
        "bytes received by its own sockets: 0\n",
        "{}",
        ns.debug()
    );
    assert_eq!(ns.read("own-0"), "");
    assert_eq!(ns.read("own-1"), "own text\n");
    assert_eq!(ns.read("own-2"), "", "the program's own fd 2 got a record");
    let failed = failures(&entries);
    assert_eq!(failed.len(), 1, "{}", ns.debug());
    assert_eq!(failed[0]["CAFIX_PROGRAM"], "python3");
}

#[test]
fn forks_and_threads_racing_on_the_first_record_all_reach_the_journal() {
    // Four threads fail at once in a process that has logged nothing yet,
    // while the main thread forks two children that fail too.
    let racer = r#"
barrier = threading.Barrier(5)
def run():
    barrier.wait(); attempt()
threads = [threading.Thread(target=run) for _ in range(4)]
for t in threads: t.start()
barrier.wait()
children = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        attempt(); os._exit(0)
    children.append(pid)
for t in threads: t.join()
for pid in children:
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
print("done")
"#;
    let (ns, (rc, out, _), entries) = python_with_journal("log_target = journal", racer, "");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("done"), "{out}");
    let failed = failures(&entries);
    assert_eq!(failed.len(), 6, "{}", ns.debug());
    let pids: std::collections::BTreeSet<&str> = failed.iter().map(|e| field(e, "_PID")).collect();
    assert_eq!(pids.len(), 3, "the parent and two children: {pids:?}");
}

#[test]
fn a_retrying_program_is_limited_and_the_rest_counted_at_exit() {
    let (ns, (rc, out, _), entries) = python_with_journal("log_target = journal\nlog_rate = 3", RETRIES_THEN_GO, "20");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out.matches("CERTIFICATE_VERIFY_FAILED").count(), 20, "{out}");
    assert_eq!(failures(&entries).len(), 3, "{}", ns.debug());
    let told: Vec<&Value> = entries.iter().filter(|e| e["CAFIX_EVENT"] == "suppressed").collect();
    assert_eq!(told.len(), 1, "{}", ns.debug());
    assert_eq!(field(told[0], "CAFIX_SUPPRESSED"), "17", "{}", told[0]);
    assert_eq!(field(told[0], "CAFIX_PROGRAM"), "python3");
    assert_eq!(field(told[0], "CAFIX_HINT_CLASS"), "root-not-in-bundle");
    assert!(
        field(told[0], "MESSAGE").starts_with("17 more record(s) like this were not written since "),
        "{}",
        told[0]
    );
    let log = ns.read("log.out");
    assert!(log.starts_with("python3 → localhost:"), "{log}");
    assert!(log.contains("  root not in the system bundle  20× since "), "{log}");
    assert_eq!(ns.read("log.rc").trim(), "1");
}

#[test]
fn a_setuid_program_with_hostile_log_variables_logs_where_the_administrator_said() {
    if !needs_real_root("a setuid-root program run by nobody: secure-exec") {
        return;
    }
    // A setuid-root `stat` run by nobody looks a hash entry up that nothing
    // has: one warning. The environment asks for stderr, JSON, debug, no
    // limit and a file; only /etc/cafix.conf counts: the journal, warn.
    let scenario = untrusted_root();
    let probe = scenario.dir().join("stat-setuid");
    fs::copy("/usr/bin/stat", &probe).unwrap();
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(scenario.dir(), fs::Permissions::from_mode(0o755)).unwrap();
    let hostile_file = scenario.dir().join("hostile.log");
    let ns = LogNs::run(
        &scenario,
        Daemons::Journald,
        Some("log_target = journal\nlog = warn"),
        &[
            ("CAFIX_LOG_TARGET", "stderr"),
            ("CAFIX_LOG_FORMAT", "json"),
            ("CAFIX_LOG", "debug"),
            ("CAFIX_LOG_RATE", "0"),
            ("CAFIX_LOG_FILE", path_str(&hostile_file)),
        ],
        &format!(
            "echo \"$CAFIX_SHIM\" >/etc/ld.so.preload
plain setuid setpriv --reuid=65534 --regid=65534 --clear-groups {probe} /etc/ssl/certs/deadbeef.0
rm /etc/ld.so.preload
save_journal
",
            probe = probe.display()
        ),
    );
    let (rc, _, err) = ns.client("setuid");
    assert_ne!(rc, 0, "stat of a missing file fails");
    assert!(no_record(&err), "the setuid program's stderr got a record:\n{err}");
    assert!(
        !hostile_file.exists(),
        "a setuid program wrote {}",
        hostile_file.display()
    );
    let entries = ns.journal("journal.json");
    let unresolved: Vec<&Value> = entries.iter().filter(|e| e["CAFIX_EVENT"] == "unresolved").collect();
    assert_eq!(unresolved.len(), 1, "{}", ns.debug());
    assert!(field(unresolved[0], "MESSAGE").contains("/etc/ssl/certs/deadbeef.0 is missing"));
    assert_eq!(field(unresolved[0], "_UID"), "65534", "{}", unresolved[0]);
    let notes: Vec<&str> = entries
        .iter()
        .filter(|e| e["CAFIX_EVENT"] == "config")
        .map(|e| field(e, "MESSAGE"))
        .collect();
    for var in [
        "CAFIX_LOG_TARGET",
        "CAFIX_LOG_FORMAT",
        "CAFIX_LOG_RATE",
        "CAFIX_LOG_FILE",
        "CAFIX_LOG",
    ] {
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with(&format!("{var} ignored: this is a secure-exec"))),
            "{var}: {notes:?}"
        );
    }
    assert!(
        !entries.iter().any(|e| e["PRIORITY"] == "7"),
        "debug records from a setuid program:\n{}",
        ns.debug()
    );
}

#[test]
fn cafix_log_reads_log_files_in_text_and_json_and_says_when_it_cannot() {
    let scenario = untrusted_root();
    let srv = scenario.start_server();
    let ns = LogNs::run(
        &scenario,
        Daemons::None,
        None,
        &[],
        &format!(
            "client curl env CAFIX_LOG_FILE=$work/text.log {curl}
client wget env CAFIX_LOG_FILE=$work/json.log CAFIX_LOG_FORMAT=json {wget}
$CAFIX log $work/text.log $work/json.log >$work/log.out; echo $? >$work/log.rc
$CAFIX log --since 2h --json $work/json.log >$work/log.json; echo $? >$work/log-json.rc
$CAFIX log --since 2099-01-01 $work/text.log >$work/log-future.out; echo $? >$work/log-future.rc
$CAFIX log /nonexistent/cafix.log >$work/log-missing.out 2>$work/log-missing.err; echo $? >$work/log-missing.rc
$CAFIX log --since soon $work/text.log 2>$work/log-bad.err; echo $? >$work/log-bad.rc
",
            curl = curl(srv.port),
            wget = wget(srv.port)
        ),
    );
    let text = ns.read("text.log");
    let first = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("nothing logged:\n{}", ns.debug()));
    assert!(
        first.len() > 28 && first.as_bytes()[10] == b'T' && first[26..].starts_with("Z cafix["),
        "a log file line starts with its time: {first}"
    );
    let json = ns.read("json.log");
    assert!(
        json.starts_with("{\"cafix\":1,\"pid\":") && json.contains(",\"time\":\""),
        "{json}"
    );
    let log = ns.read("log.out");
    assert_eq!(ns.read("log.rc").trim(), "1", "{log}");
    assert!(
        log.contains(&format!("curl → localhost:{}  root not in the system bundle", srv.port)),
        "{log}"
    );
    assert!(
        log.contains(&format!("wget → 127.0.0.1:{}  root not in the system bundle", srv.port)),
        "{log}"
    );
    let summary: Value = serde_json::from_str(&ns.read("log.json")).unwrap();
    assert_eq!(ns.read("log-json.rc").trim(), "1");
    assert_eq!(summary["failures"][0]["program"], "wget", "{summary}");
    assert_eq!(ns.read("log-future.rc").trim(), "0", "{}", ns.read("log-future.out"));
    assert_eq!(ns.read("log-missing.rc").trim(), "2");
    assert!(ns
        .read("log-missing.err")
        .starts_with("cafix: /nonexistent/cafix.log: "));
    assert_eq!(ns.read("log-bad.rc").trim(), "2");
    assert!(ns.read("log-bad.err").contains("--since \"soon\": not a time"));
}
