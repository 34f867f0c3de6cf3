//! `cafix run` (preload, kept LD_PRELOAD entries, log variables, exec
//! errors), and what the command says about itself: --help with exit
//! statuses, the man pages, completions, colour.

mod cli_common;

use std::path::Path;

use cli_common::*;

/// Prints what the preloaded command sees, one variable a line.
const SHOW_ENV: &str = r#"printf '%s\n' "LD_PRELOAD=$LD_PRELOAD" "CAFIX_LOG=$CAFIX_LOG" "CAFIX_LOG_FILE=$CAFIX_LOG_FILE" "CAFIX_LOG_FORMAT=$CAFIX_LOG_FORMAT" "CAFIX_LOG_TARGET=$CAFIX_LOG_TARGET" "CAFIX_BUNDLE=$CAFIX_BUNDLE" "CAFIX_SERVE=$CAFIX_SERVE""#;

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

#[test]
fn preloads_the_library_and_keeps_existing_entries() {
    let lib = shim();
    // An entry already there (libc itself: harmless to preload) must stay, after cafix's.
    let libc = std::fs::canonicalize("/lib/x86_64-linux-gnu/libc.so.6")
        .or_else(|_| std::fs::canonicalize("/lib64/libc.so.6"))
        .expect("libc.so.6");
    let work = TempDir::new("run");
    let mut cmd = cafix(&[
        "run",
        "--log",
        "info",
        "--log-file",
        "rel.log",
        "--log-format",
        "json",
        "--log-target",
        "journal",
        "--",
        "sh",
        "-c",
        SHOW_ENV,
    ]);
    cmd.env("LD_PRELOAD", &libc).current_dir(work.path());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r}");
    let preload = line(&r.stdout, "LD_PRELOAD");
    assert_eq!(preload, format!("{}:{}", lib.display(), libc.display()), "{r}");
    assert_eq!(line(&r.stdout, "CAFIX_LOG"), "info");
    assert_eq!(
        line(&r.stdout, "CAFIX_LOG_FILE"),
        work.join("rel.log").to_str().unwrap(),
        "made absolute"
    );
    assert_eq!(line(&r.stdout, "CAFIX_LOG_FORMAT"), "json");
    assert_eq!(line(&r.stdout, "CAFIX_LOG_TARGET"), "journal");
    assert_eq!(line(&r.stdout, "CAFIX_SERVE"), "");
    assert!(r.stderr.is_empty(), "{r}");

    // Without options nothing but LD_PRELOAD is set; --bundle and --no-serve map to their variables.
    let r = run(cafix(&[
        "run",
        "--bundle",
        MACHINE_BUNDLE,
        "--no-serve",
        "sh",
        "-c",
        SHOW_ENV,
    ]));
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(line(&r.stdout, "LD_PRELOAD"), lib.to_str().unwrap());
    assert_eq!(line(&r.stdout, "CAFIX_LOG"), "");
    assert_eq!(line(&r.stdout, "CAFIX_BUNDLE"), MACHINE_BUNDLE);
    assert_eq!(line(&r.stdout, "CAFIX_SERVE"), "0");
}

#[test]
fn the_library_is_really_loaded() {
    let lib = shim();
    let r = run(cafix(&["run", "--", "sh", "-c", "cat /proc/$$/maps"]));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains(lib.to_str().unwrap()), "libcafix.so not mapped:\n{r}");
}

#[test]
fn exit_status_is_the_commands() {
    shim();
    let r = run(cafix(&["run", "--", "sh", "-c", "exit 7"]));
    assert_eq!(r.code, 7, "{r}");
    run(cafix(&["run", "--", "/nonexistent/program"])).assert_one_error_line(127, "command not found");
    let dir = TempDir::new("noexec");
    std::fs::write(dir.join("script"), "#!/bin/sh\n").unwrap();
    run(cafix(&["run", "--", &dir.s("script")])).assert_one_error_line(126, "Permission denied");
}

#[test]
fn library_not_found_says_where_it_looked() {
    let mut cmd = cafix(&["run", "--", "true"]);
    cmd.env("CAFIX_LIB", "/nonexistent/libcafix.so");
    run(cmd).assert_one_error_line(2, "CAFIX_LIB=/nonexistent/libcafix.so is not a file");

    // A copy of the binary with no library next to it.
    let dir = TempDir::new("nolib");
    let copy = dir.join("bin/cafix");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(bin(), &copy).unwrap();
    let mut cmd = std::process::Command::new(&copy);
    clean_env(&mut cmd).args(["run", "--", "true"]);
    let r = run(cmd);
    r.assert_one_error_line(2, "libcafix.so not found; looked in");
    assert!(
        r.stderr.contains(&format!("{}/libcafix.so", dir.join("bin").display())),
        "{r}"
    );
    assert!(r.stderr.contains("/usr/lib/cafix/libcafix.so"), "{r}");
    // Found through ../lib/cafix/ of the binary, the installed layout.
    std::fs::create_dir_all(dir.join("lib/cafix")).unwrap();
    std::fs::copy(shim(), dir.join("lib/cafix/libcafix.so")).unwrap();
    let mut cmd = std::process::Command::new(&copy);
    clean_env(&mut cmd).args(["run", "--", "sh", "-c", "echo \"$LD_PRELOAD\""]);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(
        r.stdout.trim(),
        dir.join("lib/cafix/libcafix.so")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["run"][..],
        &["run", "--log", "loud", "--", "true"],
        &["frobnicate"],
        &["doctor", "--no-such-flag"],
    ] {
        let r = run(cafix(args));
        assert_eq!(r.code, 2, "{args:?}: {r}");
        assert!(r.stderr.contains("error:"), "{r}");
    }
}

#[test]
fn help_documents_exit_statuses() {
    let r = run(cafix(&["--help"]));
    assert_eq!(r.code, 0, "{r}");
    for word in [
        "run",
        "doctor",
        "check",
        "hash",
        "lookup",
        "trace",
        "Exit status:",
        "2  cafix could not do its job",
    ] {
        assert!(r.stdout.contains(word), "{word:?} not in --help:\n{}", r.stdout);
    }
    assert!(!r.stdout.contains("completions"), "hidden commands stay hidden");
    for cmd in ["run", "doctor", "check", "hash", "lookup", "trace"] {
        let r = run(cafix(&[cmd, "--help"]));
        assert_eq!(r.code, 0, "{r}");
        assert!(r.stdout.contains("Exit status:"), "{cmd} --help:\n{}", r.stdout);
    }
}

#[test]
fn man_pages_are_generated_and_committed() {
    let out = TempDir::new("man");
    let r = run(cafix(&["man", "--out", &out.s("")]));
    assert_eq!(r.code, 0, "{r}");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    for page in ["cafix.1", "libcafix.8"] {
        let generated = std::fs::read_to_string(out.join(page)).unwrap();
        let committed = std::fs::read_to_string(docs.join(page)).unwrap();
        assert!(
            generated == committed,
            "docs/man/{page} is out of date: regenerate it with `cargo run -- man --out docs/man`"
        );
    }
    let page = std::fs::read_to_string(out.join("cafix.1")).unwrap();
    for section in [
        ".SH COMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        "cafix check",
        "cafix log",
        "\\-\\-cacert",
        "client-cert-rejected",
    ] {
        assert!(page.contains(section), "{section:?} not in cafix.1");
    }
    let lib = std::fs::read_to_string(out.join("libcafix.8")).unwrap();
    for word in [
        "CAFIX_LOG",
        "CAFIX_LOG_FILE",
        "CAFIX_LOG_FORMAT",
        "CAFIX_LOG_TARGET",
        "CAFIX_LOG_RATE",
        "CAFIX_BUNDLE",
        "CAFIX_SERVE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "/etc/cafix.conf",
        "log_format",
        "log_target",
        "SYSLOG_IDENTIFIER=cafix",
    ] {
        assert!(lib.contains(word), "{word:?} not in libcafix.8");
    }
}

#[test]
fn completions_and_colour() {
    let r = run(cafix(&["completions", "bash"]));
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("cafix") && r.stdout.contains("doctor"), "{r}");
    // Colour only when asked (stdout is not a terminal here) and never with NO_COLOR in auto.
    let always = run(cafix(&["--color", "always", "lookup", "4042bcee"]));
    assert!(always.stdout.contains("\x1b["), "{always}");
    let auto = run(cafix(&["lookup", "4042bcee"]));
    assert!(!auto.stdout.contains("\x1b["), "{auto}");
    let mut cmd = cafix(&["--color", "auto", "lookup", "4042bcee"]);
    cmd.env("NO_COLOR", "1");
    assert!(!run(cmd).stdout.contains("\x1b["));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // Far more than a pipe holds, read 10 bytes of: no "internal error", no panic.
    let mut cmd = std::process::Command::new("sh");
    clean_env(&mut cmd).args([
        "-c",
        "\"$0\" hash --json \"$1\" \"$1\" \"$1\" | head -c 10 >/dev/null",
        bin(),
        MACHINE_BUNDLE,
    ]);
    let r = run(cmd);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.is_empty(), "{r}");
}
