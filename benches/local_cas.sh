#!/usr/bin/env bash
# What adding local CAs to a store loaded from a copy of the public roots
# costs (issue: the CAs this machine added, trusted by programs that carry
# their own roots). Results: docs/BENCHMARKS.md and docs/benchmarks-history.md.
#
#   benches/local_cas.sh             # 7 rounds
#   ROUNDS=3 benches/local_cas.sh    # quicker
#
# In a private mount namespace a test CA is bound in as the one file of
# /usr/local/share/ca-certificates and is in the system bundle the library
# serves from (CAFIX_BUNDLE: the machine's bundle plus that CA), so it is a
# local CA. The loaded file is the machine's bundle without it (150 public
# roots: a copy of the public roots, lacking the local CA). Variants run
# interleaved, each a fresh process (env -i):
#   loop  N loads per process: steady state, the judgement cached per file
#   first the first load in a process: engine load, bundle index, anchor
#         walk and judgement of the file included
# Needs root, cc, libssl-dev, openssl, unshare.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-7}
N=${N:-300}
FIRSTS=${FIRSTS:-15}
W=$(mktemp -d /tmp/cafix-bench-lca.XXXXXX)
trap 'rm -rf "$W"' EXIT
say() { printf '%s\n' "$*" >&2; }

say "building (release)..."
make -s build >&2
SO=$ROOT/target/release/libcafix.so
cc -O2 -Wall -o "$W/load_copy" benches/load_copy.c -lssl -lcrypto

mkdir -p "$W/anchors"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=cafix bench local CA/O=cafix bench" -keyout "$W/ca.key" -out "$W/anchors/bench.crt" 2>/dev/null
cp /etc/ssl/certs/ca-certificates.crt "$W/copy.pem"
cat /etc/ssl/certs/ca-certificates.crt "$W/anchors/bench.crt" >"$W/bundle.pem"

# Runs "$@" in the namespace with a clean environment.
in_ns() {
    env -i PATH=/usr/bin:/bin unshare -m --propagation private sh -c \
        'mount --bind "$0" /usr/local/share/ca-certificates && exec "$@"' "$W/anchors" "$@"
}
with() { in_ns env LD_PRELOAD="$SO" CAFIX_BUNDLE="$W/bundle.pem" CAFIX_LOG=error "$@"; }
without() { in_ns "$@"; }

# Sanity: with the library the local CA is added (one info line).
line=$(in_ns env LD_PRELOAD="$SO" CAFIX_BUNDLE="$W/bundle.pem" CAFIX_LOG=info "$W/load_copy" "$W/copy.pem" first 2>&1 >/dev/null)
case $line in *"added 1 local CA(s) (cafix bench local CA)"*) ;; *) say "no injection: $line"; exit 1 ;; esac

med() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
: >"$W/loop.a"; : >"$W/loop.b"; : >"$W/first.a"; : >"$W/first.b"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order="b a"; else order="a b"; fi
    for v in $order; do
        if [ "$v" = a ]; then run=with; else run=without; fi
        $run "$W/load_copy" "$W/copy.pem" "$N" >>"$W/loop.$v"
        for ((i = 0; i < FIRSTS; i++)); do $run "$W/load_copy" "$W/copy.pem" first >>"$W/first.$v"; done
    done
done
la=$(med <"$W/loop.a"); lb=$(med <"$W/loop.b"); fa=$(med <"$W/first.a"); fb=$(med <"$W/first.b")
ratios=$(paste "$W/loop.a" "$W/loop.b" | awk '{print $1/$2}' | sort -g | tr '\n' ' ')
echo "| | without | with libcafix.so | ratio |"
echo "|---|---|---|---|"
printf '| new SSL_CTX + load of a 150-root copy + free, µs/iteration (median of %d rounds × %d) | %s | %s | %s× (per round: %s) |\n' \
    "$ROUNDS" "$N" "$lb" "$la" "$(awk -v a="$la" -v b="$lb" 'BEGIN {printf "%.3f", a/b}')" "$ratios"
printf '| the first such load in a process, µs (median of %d) | %s | %s | %s× |\n' \
    "$((ROUNDS * FIRSTS))" "$fb" "$fa" "$(awk -v a="$fa" -v b="$fb" 'BEGIN {printf "%.2f", a/b}')"
