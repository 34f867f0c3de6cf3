//! Running a helper (`node`, `keytool`) with a deadline, its output read
//! while it runs (Node.js prints ~200 KB of roots, more than a pipe holds).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// At most this much of a helper's output is kept.
const MAX_OUTPUT: u64 = 16 * 1024 * 1024;

#[derive(Debug)]
pub enum Outcome {
    Exited {
        code: i32,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
    },
    TimedOut,
    NotRun(String),
}

/// A helper started now and waited for later, so it runs while the
/// doctor does other work.
pub struct Running {
    child: Child,
    started: Instant,
    timeout: Duration,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

fn reader(stream: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    let mut stream = stream?;
    std::thread::Builder::new()
        .name("cafix-helper-output".to_string())
        .spawn(move || {
            let mut out = Vec::new();
            let _ = (&mut stream).take(MAX_OUTPUT).read_to_end(&mut out);
            // Drain the rest so the helper is never blocked on a full pipe.
            let _ = std::io::copy(&mut stream, &mut std::io::sink());
            out
        })
        .ok()
}

/// Starts `cmd` (standard input closed, output captured).
pub fn start(mut cmd: Command, timeout: Duration) -> Result<Running, String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| e.to_string())?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    Ok(Running {
        child,
        started: Instant::now(),
        timeout,
        stdout,
        stderr,
    })
}

impl Running {
    /// Waits until the helper exits or its time is up (then it is killed).
    pub fn finish(mut self) -> Outcome {
        let deadline = self.started + self.timeout;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => break None,
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => return Outcome::NotRun(e.to_string()),
            }
        };
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Outcome::TimedOut;
        };
        let join = |h: Option<JoinHandle<Vec<u8>>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        Outcome::Exited {
            code: status.code().unwrap_or(-1),
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

/// Runs `cmd` to completion or until `timeout`.
pub fn run_with_timeout(cmd: Command, timeout: Duration) -> Outcome {
    match start(cmd, timeout) {
        Ok(running) => running.finish(),
        Err(e) => Outcome::NotRun(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_larger_than_a_pipe_and_timeouts() {
        let mut big = Command::new("sh");
        big.args(["-c", "head -c 300000 /dev/zero; echo oops >&2; exit 3"]);
        match run_with_timeout(big, Duration::from_secs(20)) {
            Outcome::Exited { code, stdout, stderr } => {
                assert_eq!((code, stdout.len()), (3, 300_000));
                assert_eq!(stderr, b"oops\n");
            }
            other => panic!("{other:?}"),
        }
        let mut slow = Command::new("sleep");
        slow.arg("30");
        let t = Instant::now();
        assert!(matches!(
            run_with_timeout(slow, Duration::from_millis(100)),
            Outcome::TimedOut
        ));
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(matches!(
            run_with_timeout(Command::new("/nonexistent/cafix-helper"), Duration::from_secs(1)),
            Outcome::NotRun(_)
        ));
    }
}
