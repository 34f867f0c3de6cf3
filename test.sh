#!/usr/bin/env bash
# The project's test command (see README): installs what the build and the
# tests use when it is missing, builds the shim and the CLI, then runs every
# unit, integration and scenario test. Needs root for the mount namespace
# scenarios (and to install packages).
#
#   ./test.sh          install what is missing, build, test
#   ./test.sh --deps   only install what is missing (what `make` needs too)
#
# On Debian and its derivatives a missing package is installed with apt-get
# when run as root; not as root, the script stops at once and prints the one
# `apt-get install` line to run.
set -euo pipefail
cd "$(dirname "$0")"

# Debian 12 packages the build and the tests use: the clients the scenarios
# run (Qt 5 and 6, Python, Perl, Ruby, curl, OpenSSL, Chromium, Firefox ESR,
# NSS's tools), their compilers and
# libraries, the namespace and tracing tools, and the packagers' tools
# (dpkg-deb, dpkg-architecture, rpmbuild), and the log daemons the log
# tests run in private namespaces (systemd-journald, rsyslogd).
PACKAGES=(
    ca-certificates openssl libssl-dev curl
    g++ gcc make perl pkg-config
    qtbase5-dev qt6-base-dev
    python3 ruby libio-socket-ssl-perl git openssh-client
    util-linux mount strace binutils
    dpkg dpkg-dev rpm
    python3-venv nodejs default-jre-headless ca-certificates-java openjdk-17-jdk-headless
    wget gnutls-bin libgnutls28-dev apt
    systemd rsyslog
    chromium firefox-esr libnss3-tools libnss3-dev
)

install_missing() {
    if ! command -v dpkg-query >/dev/null; then
        echo "test.sh: not a Debian system; make sure the equivalents of these are installed: ${PACKAGES[*]}" >&2
        return
    fi
    # One dpkg-query for the whole list; a package it does not know at all
    # prints no line and counts as missing too.
    local -A installed=()
    local missing=() status name p
    while read -r status name; do
        [ "$status" = ii ] && installed[$name]=1
    done < <(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    for p in "${PACKAGES[@]}"; do
        [ -n "${installed[$p]-}" ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "test.sh: missing packages; as root run: $cmd" >&2
        exit 1
    fi
    echo "test.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # $cmd is the line printed above, split as typed
    $cmd -qq >/dev/null
}

install_missing
[ "${1-}" = --deps ] && exit 0
if ! command -v cargo >/dev/null; then
    echo "test.sh: cargo not found: install Rust 1.80 or later (https://rustup.rs; Debian 12's own cargo is older)" >&2
    exit 1
fi

cargo build --workspace
# libcafix.so is its own workspace (built with panic = "abort"); its unit
# tests, then a build into the shared target directory for the tests above.
cargo test --manifest-path shim/preload/Cargo.toml --target-dir target
cargo build --manifest-path shim/preload/Cargo.toml --target-dir target
cargo test --workspace
