//! `cafix man --out DIR`: writes cafix.1, generated from the clap
//! definitions (so it matches `--help`), and libcafix.8, written by hand in
//! docs/man/libcafix.8. docs/man/cafix.1 is this output, committed; a test
//! keeps it up to date (`cargo run -- man --out docs/man`).

use clap::CommandFactory;
use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

use super::args::{Cli, ManArgs};

/// The preload library's page, written by hand.
pub const LIBCAFIX_8: &str = include_str!("../../docs/man/libcafix.8");

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
healthy (\fBdoctor\fR), verified (\fBcheck\fR), found (\fBlookup\fR), all files read (\fBhash\fR),
no failed verification recorded (\fBlog\fR)
.TP
.B 1
\fBdoctor\fR found a problem (warnings alone do not count); \fBcheck\fR failed (the cause is classified);
\fBlookup\fR found nothing; \fBlog\fR read a failed verification
.TP
.B 2
cafix could not do its job: bad arguments, an unreadable or malformed input file, a name that does not
resolve, a refused connection, a timeout, a port that does not speak TLS, libcafix.so not found.
The reason is one line on standard error, starting with \fBcafix:\fR.
.PP
\fBrun\fR replaces itself with the command (exec), so its status is the command's own; 126 if the
command cannot be executed, 127 if it is not found. \fBtrace\fR exits with the traced command's status.
"#;

const REST: &str = r#".SH "CHECK CLASSES"
A failed \fBcheck\fR names exactly one cause (\fB\-\-json\fR: \fIclass\fR):
.TP
.B protocol-version
no protocol version both sides speak; the versions the server speaks are probed and shown
.TP
.B cipher
no common cipher; the cipher the server picks when offered all of them is shown
.TP
.B untrusted-root
the chain ends at a root (or a CA) the trust store does not hold, or the server's certificate is
self-signed; for a self-signed server the fingerprint to pin (\fBsha256$\fR\fIhex\fR) is printed
.TP
.B incomplete-chain
the server omitted an intermediate: the issuer of its certificate is neither sent nor trusted
(the certificate's AIA URL is shown when it has one)
.TP
.B hostname-mismatch
the certificate does not name the host (its subjectAltName entries are shown)
.TP
.B validity
a certificate of the chain has expired or is not valid yet
.TP
.B client-cert-required
the server requires a client certificate and none was given (its acceptable CA names are shown)
.TP
.B client-cert-rejected
the server did not accept the client certificate (its acceptable CA names are shown)
.TP
.B other
anything else, with OpenSSL's words
.PP
Besides OpenSSL's way (default paths, or \fB\-\-cacert\fR/\fB\-\-capath\fR), the chain is verified
the way a Qt 5.15/6 program here would: when any of Qt's directories (/etc/ssl/certs/,
/usr/lib/ssl/certs/, /usr/share/ssl/, /usr/local/ssl/, /var/ssl/certs/, /usr/local/ssl/certs/,
/etc/openssl/certs/, /opt/openssl/certs/, /etc/ssl/) holds a file named like
\fI[0-9a-f]{8}.[0-9]\fR, Qt only looks CAs up on demand in those directories and never loads a
bundle; otherwise it loads their *.pem and *.crt files. A CA that is in the system bundle but not
found that way makes Qt programs fail with "The issuer certificate of a locally looked up
certificate could not be found" while curl works; \fBcafix run\fR fixes that.
.SH ENVIRONMENT
.TP
.B NO_COLOR
when set and not empty, no colour (as with \fB\-\-color never\fR)
.TP
.B CAFIX_LIB
the libcafix.so that \fBrun\fR preloads
.TP
.B SSL_CERT_FILE\fR, \fBSSL_CERT_DIR
OpenSSL's overrides of its default CA file and directory: \fBcheck\fR verifies with them as OpenSSL
programs would, \fBdoctor\fR reports them
.TP
.B CAFIX_BUNDLE
the system bundle \fBdoctor\fR and \fBlookup\fR report, as libcafix.so would serve from it
.PP
\fBrun\fR sets CAFIX_LOG, CAFIX_LOG_FILE, CAFIX_LOG_FORMAT, CAFIX_LOG_TARGET, CAFIX_BUNDLE and
CAFIX_SERVE for the command from its options; see \fBlibcafix\fR(8), which also gives Node.js and every JDK
the local CAs (no variable is set and no file written for them).
.SH EXAMPLES
.TP
.B cafix run \-\- zeal
run Zeal with missing trust entries served from the system bundle
.TP
.B cafix run \-\-log info \-\-log\-file /tmp/cafix.log \-\- python3 app.py
the same, logging what was served
.TP
.B cafix doctor
audit this machine's trust store; \fB\-\-json\fR for tools
.TP
.B cafix check https://example.org
why does (or would) a connection to example.org fail here, for OpenSSL and for Qt programs?
.TP
.B cafix check mtls.example.org:8443 \-\-cert me.pem \-\-key me.key
the same with a client certificate
.TP
.B cafix hash /usr/local/share/ca-certificates/*.crt
the <hash>.0 names c_rehash gives them
.TP
.B cafix lookup 4042bcee
which CA a missing /etc/ssl/certs/4042bcee.0 stands for (ISRG Root X1)
.TP
.B cafix log \-\-since today
which programs failed to verify which servers today, why, and the fix (from the journal, where
\fBlog_target = journal\fR in /etc/cafix.conf sends libcafix.so's records)
.SH PLATFORMS
cafix is built for x86_64, i386, aarch64, 32-bit ARM (hard float), ppc64le, riscv64 and s390x Linux
with glibc 2.34 or later, from Rust 1.88 or later, and tested on x86_64, i386 (natively) and aarch64
(under qemu-user). \fBtrace\fR knows the system calls of x86_64 only: there, a 32-bit program it runs
runs untraced, and the summary says so; on any other architecture it exits with status 2 and one line
before running anything. The other commands work everywhere.
.SH "SEE ALSO"
\fBlibcafix\fR(8), \fBjournalctl\fR(1), \fBopenssl\-rehash\fR(1), \fBopenssl\-s_client\fR(1), \fBupdate\-ca\-certificates\fR(8),
\fBld.so\fR(8)
"#;

fn option_heading(arg: &clap::Arg) -> Vec<Inline> {
    let value = || {
        arg.get_value_names()
            .map(|names| names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| arg.get_id().as_str().to_ascii_uppercase())
    };
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let mut out = Vec::new();
    if arg.is_positional() {
        let dots = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            "..."
        } else {
            ""
        };
        out.push(italic(format!("{}{dots}", value())));
        return out;
    }
    if let Some(s) = arg.get_short() {
        out.push(bold(format!("-{s}")));
        if arg.get_long().is_some() {
            out.push(roman(", "));
        }
    }
    if let Some(l) = arg.get_long() {
        out.push(bold(format!("--{l}")));
    }
    if takes_value {
        out.push(roman(" "));
        out.push(italic(value()));
    }
    out
}

fn option_help(arg: &clap::Arg) -> String {
    let mut help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !possible.is_empty() && arg.get_num_args().is_some_and(|n| n.takes_values()) {
        help.push_str(&format!(" [values: {}]", possible.join(", ")));
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    let defaults: Vec<String> = if !takes_value {
        Vec::new()
    } else {
        arg.get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect()
    };
    if !defaults.is_empty() {
        help.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    help
}

/// cafix(1) as roff.
pub fn cafix_1() -> String {
    let mut cmd = Cli::command();
    cmd.build();
    let mut man = Man::new(cmd.clone())
        .manual("User Commands")
        .source(format!("cafix {}", env!("CARGO_PKG_VERSION")));
    if let Some(date) = page_date() {
        man = man.date(date);
    }
    let mut out: Vec<u8> = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    let mut r = Roff::new();
    r.control("SH", ["COMMANDS"]);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim().to_string();
        r.control("SS", [usage.as_str()]);
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|a| a.to_string())
            .unwrap_or_default();
        for (i, para) in about.split("\n\n").enumerate() {
            if i > 0 {
                r.control("PP", [] as [&str; 0]);
            }
            r.text([roman(para.replace('\n', " "))]);
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version" | "color"))
        {
            r.control("TP", [] as [&str; 0]);
            r.text(option_heading(arg));
            r.text([roman(option_help(arg))]);
        }
        if let Some(after) = sub.get_after_help() {
            r.control("PP", [] as [&str; 0]);
            r.text([roman(after.to_string().replace('\n', " "))]);
        }
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(&r.to_roff());
    text.push_str(EXIT_STATUS);
    text.push_str(REST);
    text
}

/// libcafix(8), dated as [`page_date`] says.
pub fn libcafix_8() -> String {
    match page_date() {
        Some(date) => LIBCAFIX_8.replacen(".TH LIBCAFIX 8 \"\"", &format!(".TH LIBCAFIX 8 \"{date}\""), 1),
        None => LIBCAFIX_8.to_string(),
    }
}

/// The date of the pages' .TH lines: the UTC day of SOURCE_DATE_EPOCH, which
/// a reproducible build sets (dpkg-buildpackage, rpmbuild); without it none,
/// so the pages never depend on when they were made.
fn page_date() -> Option<String> {
    let seconds: i64 = std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()?;
    Some(day_of(seconds))
}

/// YYYY-MM-DD of the UTC day `seconds` after the epoch falls on.
fn day_of(seconds: i64) -> String {
    let (year, month, day) = crate::record::civil_from_days(seconds.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

pub fn run(args: &ManArgs) -> Result<i32, String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    for (name, text) in [("cafix.1", cafix_1()), ("libcafix.8", libcafix_8())] {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::day_of;

    #[test]
    fn page_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(-1), "1969-12-31");
        assert_eq!(day_of(1_796_601_600), "2026-12-07");
        assert_eq!(day_of(1_796_601_600 + 86_399), "2026-12-07");
        assert_eq!(day_of(1_709_164_800), "2024-02-29");
    }
}
