#!/usr/bin/env bash
# The project's test command (see README): installs what the build and the
# tests use when it is missing, builds the shim and the CLI, then runs every
# unit, integration and scenario test (tests/check.sh, also `make check`).
# As root every test runs; another user runs them in a user namespace of its
# own, where the few that need the machine's real root say so and pass.
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
    python3-venv nodejs default-jre-headless ca-certificates-java
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
    echo "test.sh: cargo not found: install Rust 1.88 or later (Debian 12: apt-get install cargo-web rustc-web; or https://rustup.rs)" >&2
    exit 1
fi

exec tests/check.sh
