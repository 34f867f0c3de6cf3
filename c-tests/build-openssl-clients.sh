#!/usr/bin/env bash
# Build default_paths_client.c against the OpenSSL builds of
# build-openssl.sh (built first if not cached yet):
#
#   OUTDIR/default_paths_client-1.1.1        OpenSSL 1.1.1w shared libraries,
#                                            RUNPATH to the cache's lib/
#   OUTDIR/default_paths_client-4-static     OpenSSL 4.x linked statically into
#                                            the binary, glibc dynamic: libcrypto's
#                                            file access goes through glibc's
#                                            exported functions
#   OUTDIR/default_paths_client-4-fullstatic OpenSSL 4.x and glibc both static
#                                            (-static): no dynamic linker, so no
#                                            LD_PRELOAD; only ptrace can see it
#
# Every build of OpenSSL here has OPENSSLDIR=/usr/local/ssl.
# Prints the three paths on stdout. Needs gcc, make, perl, cargo and glibc's
# static libc.a (libc6-dev) for the fully static one.
#
# usage: c-tests/build-openssl-clients.sh OUTDIR
set -euo pipefail

[ $# -eq 1 ] || {
    echo "usage: $0 OUTDIR" >&2
    exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
src=$here/default_paths_client.c
cc=${CC:-cc}
cflags=(-O1 -g -Wall -Wextra)

p111=$("$here/build-openssl.sh" 1.1.1)
p4=$("$here/build-openssl.sh" 4)

# Link to NAME.tmp, check, then move into place.
finish() {
    mv "$1.tmp" "$1"
    echo "$1"
}

# 1.1.1, shared.
bin=$out/default_paths_client-1.1.1
"$cc" "${cflags[@]}" -I"$p111/include" -o "$bin.tmp" "$src" \
    -L"$p111/lib" -Wl,-rpath,"$p111/lib" -lssl -lcrypto
readelf -d "$bin.tmp" | grep -q 'NEEDED.*libssl\.so\.1\.1' || {
    echo "$bin is not linked to libssl.so.1.1" >&2
    exit 1
}
finish "$bin"

# 4.x, libssl/libcrypto static, the rest dynamic.
bin=$out/default_paths_client-4-static
"$cc" "${cflags[@]}" -I"$p4/include" -o "$bin.tmp" "$src" \
    -L"$p4/lib" -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic -ldl -pthread
if readelf -d "$bin.tmp" | grep -E 'NEEDED.*lib(ssl|crypto)'; then
    echo "$bin must not need a shared libssl/libcrypto" >&2
    exit 1
fi
finish "$bin"

# 4.x and glibc, all static. glibc warns that getaddrinfo/dlopen in a
# static binary need the shared libraries at run time: the client only
# resolves numeric addresses and OpenSSL loads no module, so both are fine.
bin=$out/default_paths_client-4-fullstatic
if ! "$cc" "${cflags[@]}" -static -I"$p4/include" -o "$bin.tmp" "$src" \
    -L"$p4/lib" -lssl -lcrypto -ldl -pthread 2>"$bin.log"; then
    cat "$bin.log" >&2
    exit 1
fi
# Show what is left after dropping those known warnings and their
# "in function" lines.
grep -v -E 'requires at runtime the shared libraries|: in function .' "$bin.log" >&2 || true
rm -f "$bin.log"
if readelf -l "$bin.tmp" | grep -q INTERP; then
    echo "$bin is not fully static" >&2
    exit 1
fi
finish "$bin"
