//! The environment every test child starts from, shared by the harnesses
//! (tests/common, tests/cli_common, tests/trace_harness).
//!
//! This machine exports the trust variables below, and CI inherits them: a
//! test that passed only because of them would prove nothing. So every child
//! runs without them and without any `CAFIX_*`; a test about one of them
//! sets it again on purpose.

#![allow(dead_code)]

use std::process::Command;

/// Variables removed from every child's environment.
pub const CLEARED_ENV: &[&str] = &[
    // What TLS clients trust.
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "PIP_CERT",
    "NIX_SSL_CERT_FILE",
    "AWS_CA_BUNDLE",
    "HTTPLIB2_CA_CERTS",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
    // Which libraries load, and how OpenSSL is configured.
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "OPENSSL_CONF",
    "OPENSSL_MODULES",
    "OPENSSL_ENGINES",
    // Where connections go.
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    // How the cafix command prints.
    "NO_COLOR",
];

/// Removes [`CLEARED_ENV`] and every `CAFIX_*` variable from `cmd`'s
/// environment.
pub fn clear_env(cmd: &mut Command) -> &mut Command {
    for var in CLEARED_ENV {
        cmd.env_remove(var);
    }
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CAFIX_") {
            cmd.env_remove(&key);
        }
    }
    cmd
}
