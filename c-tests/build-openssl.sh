#!/usr/bin/env bash
# Build a real OpenSSL of a given version from the sources the `openssl-src`
# crate ships (crates.io), configured with the upstream default
# --openssldir=/usr/local/ssl, and install it into a cache outside the repo.
#
#   c-tests/build-openssl.sh 1.1.1   # openssl-src 111.28.2+1.1.1w, shared libraries
#   c-tests/build-openssl.sh 4       # openssl-src 400.0.2+4.0.3,   static libraries
#
# Prints the install prefix (include/ lib/ bin/openssl) as the last and only
# line on stdout. Everything else goes to stderr or to the build log. A second
# run with a complete install is a no-op (it only prints the prefix).
#
# Cache: ${CAFIX_TEST_CACHE:-$HOME/.cache/cafix-tests}/openssl-<version>/
#   .cafix-build       the exact recipe of the install (crate, Configure args);
#                      written last: a prefix without it, or with another
#                      recipe, is rebuilt from scratch
# and ${CAFIX_TEST_CACHE...}/openssl-<version>.build.log: Configure and make
# output of the last build.
#
# Why /usr/local/ssl: that is where OpenSSL built from its own sources (and
# every binary statically linked through the openssl-src crate) looks for
# its trust store: /usr/local/ssl/cert.pem and /usr/local/ssl/certs/. On
# Debian neither exists, which is what libcafix.so has to make up for.
#
# Needs: cargo (crates.io reachable, the .crate already in
# $CARGO_HOME/registry/cache, or a release's vendor/), a C compiler, make, flock (util-linux) and
# Debian's full `perl` package: OpenSSL's Configure uses core modules such as
# IPC::Cmd, File::Compare, FindBin (perl-modules-5.x) and Time::Piece
# (libperl5.x) that the minimal perl-base lacks. No CPAN module beyond the
# core is needed (Text::Template is bundled in openssl/external/perl).
#
# Environment:
#   CAFIX_TEST_CACHE   cache root (default $HOME/.cache/cafix-tests)
#   JOBS               make -j (default: nproc)
#   CC                 C compiler (default: OpenSSL's choice, gcc)
set -euo pipefail

usage() {
    echo "usage: $0 1.1.1|4" >&2
    exit 2
}
[ $# -eq 1 ] || usage

case "$1" in
1.1.1 | 1.1.1w | 111)
    crate_version=111.28.2
    ossl_version=1.1.1w
    link_kind=shared
    ;;
4 | 4.0 | 4.0.3 | 400)
    crate_version=400.0.2
    ossl_version=4.0.3
    # The crate's trimmed sources lack util/mkdef.pl (it excludes
    # util/**/*.pl), which a shared build needs for the libcrypto/libssl
    # linker version scripts: only a static build works from them.
    link_kind=static
    ;;
*) usage ;;
esac

say() { echo "build-openssl: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

cache_root=${CAFIX_TEST_CACHE:-$HOME/.cache/cafix-tests}
prefix=$cache_root/openssl-$ossl_version
openssldir=/usr/local/ssl

case "$(uname -s)-$(uname -m)" in
Linux-x86_64) target=linux-x86_64 ;;
Linux-aarch64) target=linux-aarch64 ;;
Linux-i?86) target=linux-x86 ;;
*) die "unsupported platform $(uname -s)-$(uname -m)" ;;
esac

# Everything that decides what gets built; the stamp holds it.
configure_args=(
    "$target"
    "--prefix=$prefix"
    "--openssldir=$openssldir"
    "--libdir=lib"
    no-tests
)
if [ "$link_kind" = shared ]; then
    # RUNPATH for the installed `openssl` app, so it finds its own
    # libssl.so.1.1 without LD_LIBRARY_PATH.
    configure_args+=(shared "-Wl,-rpath,$prefix/lib")
else
    # As openssl-src builds it: no shared libraries, no loadable modules
    # (the legacy provider would be one).
    configure_args+=(no-shared no-module)
fi
recipe="openssl-src $crate_version+$ossl_version
link $link_kind
configure ${configure_args[*]}
cc ${CC:-default}"

stamp=$prefix/.cafix-build

mkdir -p "$cache_root"
exec 9>"$cache_root/.openssl-$ossl_version.lock"
if ! flock -n 9; then
    say "waiting for another build of OpenSSL $ossl_version ($cache_root)"
    flock 9
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] &&
    [ -f "$prefix/include/openssl/ssl.h" ] &&
    { [ -e "$prefix/lib/libssl.so" ] || [ -e "$prefix/lib/libssl.a" ]; }; then
    echo "$prefix"
    exit 0
fi

# --- preflight -----------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found"
command -v make >/dev/null || die "make not found"
command -v "${CC:-cc}" >/dev/null || command -v gcc >/dev/null || die "no C compiler (apt-get install gcc)"
perl_modules="IPC::Cmd File::Compare File::Copy File::Glob File::Path File::Spec::Functions FindBin Getopt::Std Scalar::Util Time::Piece Data::Dumper JSON::PP"
for m in $perl_modules; do
    perl -M"$m" -e 1 2>/dev/null ||
        die "perl module $m missing: OpenSSL's Configure needs the full perl (apt-get install perl), not only perl-base"
done

# --- source, through cargo ------------------------------------------------
# c-tests/openssl-src/Cargo.lock pins both crates. cargo runs in the
# repository, so the crates of a release's vendor tarball (make dist:
# vendor/ and .cargo/config.toml) are used as they are, with no network;
# otherwise the registry cache, then crates.io.
repo=$(cd "$(dirname "$0")/.." && pwd)
pins=$repo/c-tests/openssl-src/Cargo.toml
work=$cache_root/.build-openssl-$ossl_version
rm -rf "$work"
mkdir -p "$work"
say "fetching openssl-src $crate_version through cargo"
(
    cd "$repo"
    # Offline first: a .crate already in $CARGO_HOME/registry/cache needs no
    # network. cargo checks the .crate against the lock file's checksum.
    cargo fetch --locked --offline -q --manifest-path "$pins" 2>/dev/null ||
        cargo fetch --locked -q --manifest-path "$pins"
) >&2 || die "cargo fetch of openssl-src =$crate_version failed"
manifest=$(
    cd "$repo" &&
        cargo metadata --locked --offline --format-version 1 --manifest-path "$pins" |
        perl -MJSON::PP -e '
            local $/; my $m = decode_json(<STDIN>);
            for my $p (@{$m->{packages}}) {
                print $p->{manifest_path}, "\n"
                    if $p->{name} eq "openssl-src" && $p->{version} eq $ARGV[0];
            }' "$crate_version+$ossl_version"
)
[ -n "$manifest" ] && [ -f "$manifest" ] ||
    die "cannot locate the sources of openssl-src $crate_version+$ossl_version (cargo metadata of $pins)"
crate_dir=$(dirname "$manifest")
grep -q "^MAJOR=${ossl_version%%.*}\$" "$crate_dir/openssl/VERSION.dat" 2>/dev/null ||
    grep -q "OPENSSL_VERSION_TEXT.*OpenSSL $ossl_version " "$crate_dir/openssl/include/openssl/opensslv.h" ||
    die "$crate_dir does not hold OpenSSL $ossl_version"

# Build in a private copy: the registry's unpacked sources are shared and
# must stay pristine.
cp -R "$crate_dir/openssl" "$work/src"

# --- configure, build, install -------------------------------------------
log=$prefix.build.log
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
say "building OpenSSL $ossl_version ($link_kind) with -j$jobs; log: $log"
start=$(date +%s)
if ! (
    set -e
    cd "$work/src"
    echo "+ perl ./Configure ${configure_args[*]}"
    perl ./Configure "${configure_args[@]}"
    # build_sw: libraries and the openssl app. Not `all`: the crate ships no
    # doc/ sources to build man pages from.
    echo "+ make -j$jobs build_sw"
    make -j"$jobs" build_sw
    echo "+ make DESTDIR=$work/stage install_sw"
    make DESTDIR="$work/stage" install_sw
) >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "build failed, see $log"
fi
say "built in $(($(date +%s) - start)) s"

# Move the staged install into place in one step; a build that died before
# this left no half-installed prefix behind.
[ -f "$work/stage$prefix/include/openssl/ssl.h" ] || die "install_sw staged nothing under $work/stage$prefix"
rm -rf "$prefix"
mv "$work/stage$prefix" "$prefix"
printf '%s\n' "$recipe" >"$stamp"
rm -rf "$work"

echo "$prefix"
