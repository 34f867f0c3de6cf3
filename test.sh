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
# NSS's tools), their compilers and libraries, the namespace and tracing
# tools, the packagers' tools (dpkg-deb, dpkg-architecture, rpmbuild), the
# log daemons the log tests run in private namespaces (systemd-journald,
# rsyslogd). A Debian build's make check needs the same: they are
# packaging/debian/control's Build-Depends (tests/source_packages.rs).
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

# What only a git checkout's tests use: the release tarballs' and source
# packages' builds (tests/dist.rs, tests/source_packages.rs) with Debian's
# own Rust, debhelper and lintian, offline but for loopback (ip).
CHECKOUT_PACKAGES=(cargo-web rustc-web debhelper lintian xz-utils iproute2)

# Every architecture a distribution ships (make all-arches): Debian's cross
# compilers and C libraries to link against, and qemu-user for arm64's tests
# (gcc-multilib cannot be installed beside them). Without them, a native
# package build, the other architectures' tests say so and pass.
CROSS_PACKAGES=(
    gcc-i686-linux-gnu gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
    gcc-powerpc64le-linux-gnu gcc-riscv64-linux-gnu gcc-s390x-linux-gnu
    libc6-dev-i386-cross libc6-dev-arm64-cross libc6-dev-armhf-cross
    libc6-dev-ppc64el-cross libc6-dev-riscv64-cross libc6-dev-s390x-cross
    qemu-user-static
)

# Multiarch packages of the architectures whose programs the tests run
# (tests/other_arches.rs, tests/packaging.rs) and whose `cafix` is linked:
# i386 natively, arm64 under qemu-user.
FOREIGN_ARCHES=(i386 arm64)
FOREIGN_PACKAGES=(libc6 libssl3 libssl-dev libgnutls30 libgnutls28-dev)
# Multi-Arch: same packages must have one version on every architecture,
# and a foreign architecture's mirror can lag the amd64 security update:
# these get the newest version all of them have.
SAME_VERSION=(libssl3 libssl-dev libgnutls30 libgnutls28-dev)

install_missing() {
    if ! command -v dpkg-query >/dev/null; then
        echo "test.sh: not a Debian system; make sure the equivalents of these are installed: ${PACKAGES[*]} ${CHECKOUT_PACKAGES[*]} ${CROSS_PACKAGES[*]}" >&2
        return
    fi
    local native wanted=("${PACKAGES[@]}" "${CHECKOUT_PACKAGES[@]}" "${CROSS_PACKAGES[@]}") a p
    native=$(dpkg --print-architecture)
    for a in "${FOREIGN_ARCHES[@]}"; do
        for p in "${FOREIGN_PACKAGES[@]}"; do wanted+=("$p:$a"); done
    done
    # One dpkg-query for the whole list; a package it does not know at all
    # prints no line and counts as missing too.
    local -A installed=()
    local missing=() status name arch
    while read -r status name arch; do
        [ "$status" = ii ] || continue
        installed[$name:$arch]=1
        if [ "$arch" = "$native" ] || [ "$arch" = all ]; then installed[$name]=1; fi
    done < <(dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Architecture}\n' "${wanted[@]}" 2>/dev/null || true)
    for p in "${wanted[@]}"; do
        [ -n "${installed[$p]-}" ] || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    local add_arches="" a
    for a in "${FOREIGN_ARCHES[@]}"; do
        dpkg --print-foreign-architectures | grep -qx "$a" || add_arches+=" $a"
    done
    local cmd="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        [ -n "$add_arches" ] && echo "test.sh: as root run: for a in$add_arches; do dpkg --add-architecture \$a; done; apt-get update" >&2
        echo "test.sh: missing packages; as root run: $cmd" >&2
        exit 1
    fi
    echo "test.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    for a in $add_arches; do dpkg --add-architecture "$a"; done
    apt-get update -qq
    # The missing ones, with the versions of SAME_VERSION pinned alike.
    local pins pinned final=()
    pins=$(same_versions)
    pinned=" $(echo "$pins" | sed 's/=.*//' | tr '\n' ' ') "
    for p in "${missing[@]}"; do
        [[ "$pinned" == *" $p "* ]] || final+=("$p")
    done
    # shellcheck disable=SC2206 # one `name=version` a line
    final+=($pins)
    apt-get install -y --no-install-recommends -qq "${final[@]}" >/dev/null
}

# `name=V name:i386=V name:arm64=V` for each of SAME_VERSION, V the newest
# version apt offers for all those architectures.
same_versions() {
    local p a versions common best v
    for p in "${SAME_VERSION[@]}"; do
        common=""
        for a in "$(dpkg --print-architecture)" "${FOREIGN_ARCHES[@]}"; do
            versions=$(apt-cache madison "$p:$a" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -u)
            if [ -z "$common" ]; then common=$versions; else common=$(comm -12 <(echo "$common") <(echo "$versions")); fi
        done
        best=""
        for v in $common; do
            if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
        done
        if [ -z "$best" ]; then
            echo "test.sh: no version of $p exists for $(dpkg --print-architecture) ${FOREIGN_ARCHES[*]} alike" >&2
            exit 1
        fi
        echo "$p=$best"
        for a in "${FOREIGN_ARCHES[@]}"; do echo "$p:$a=$best"; done
    done
}

install_missing
[ "${1-}" = --deps ] && exit 0
if ! command -v cargo >/dev/null; then
    echo "test.sh: cargo not found: install Rust 1.88 or later (Debian 12: apt-get install cargo-web rustc-web; or https://rustup.rs)" >&2
    exit 1
fi
# The Rust standard libraries of the other architectures (rustup's; a
# distribution's Rust packages them as rust-std for each target).
TARGETS=(i686-unknown-linux-gnu aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf
    powerpc64le-unknown-linux-gnu riscv64gc-unknown-linux-gnu s390x-unknown-linux-gnu)
if command -v rustup >/dev/null; then
    rustup target add "${TARGETS[@]}"
else
    echo "test.sh: rustup not found: the standard libraries of ${TARGETS[*]} are needed" >&2
    exit 1
fi

# libcafix.so and its engine linked for every architecture, cafix for
# amd64, i386 and arm64, checked for the rest (each step's time printed);
# the tests use the i386 and arm64 builds.
make all-arches
# The build and every test (also `make check`).
tests/check.sh
# The shim crates' unit tests on i386 (natively) and arm64 (under qemu-user).
make test-shim ARCH=i386
make test-shim ARCH=arm64
