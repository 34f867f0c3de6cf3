#!/usr/bin/env bash
# cafix's benchmarks: what libcafix.so costs the programs it is preloaded
# into. Results and how to read them: docs/BENCHMARKS.md.
#
#   benches/run.sh            # 7 rounds of everything (31 of procs.sh, 100 of the handshakes; about 15 minutes)
#   ROUNDS=3 QUICK=1 benches/run.sh   # a smoke run (iteration counts / 10)
#   SECTIONS=gnutls benches/run.sh    # only the named sections (comma-separated):
#                                     # stat spawn firstmiss verify procs handshake gnutls doctor java arches
#   CAFIX_BASE=/tmp/cafix-main SECTIONS=doctor benches/run.sh
#                                     # `cafix doctor` of this tree against another build of cafix
#   BASE_SO=/other/build/libcafix.so SECTIONS=arches benches/run.sh
#                                     # section 10 (instructions only; not part of "all"):
#                                     # this build against another one (its engine beside
#                                     # it) and against none, in 64- and 32-bit processes
#
# Every comparison runs its variants interleaved in ONE run (A B, then B A,
# ... for ROUNDS rounds), each variant a fresh process that times its own
# loop with clock_gettime; the table shows the median of the rounds, the
# ratio of the medians and, as the noise, the range of the per-round ratios.
# Children run with an empty environment (`env -i PATH=...`): no SSL_CERT_*,
# no CAFIX_*. Needs root, cc, libssl-dev, libgnutls28-dev and openssl;
# valgrind (instruction counts), hyperfine and unshare are used when present.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-7}
# The 1000-process script is the noisiest measure (a second or two per run,
# the whole machine involved, a few per cent to resolve): it gets more rounds.
PROCS_ROUNDS=${PROCS_ROUNDS:-$((4 * ROUNDS + 3))}
# One verified handshake per process: three variants a round, 100 rounds.
HS_ROUNDS=${HS_ROUNDS:-100}
QUICK=${QUICK:-0}
# GnuTLS credentials + verify: three variants a round (off, on, off again), one process each.
GT_ROUNDS=${GT_ROUNDS:-$((2 * ROUNDS + 1))}
# `cafix doctor`: one process a variant a round (this build, and CAFIX_BASE's when given).
DOCTOR_ROUNDS=${DOCTOR_ROUNDS:-$((4 * ROUNDS + 3))}
CAFIX_BASE=${CAFIX_BASE:-}
SECTIONS=${SECTIONS:-all}
want() { { [ "$SECTIONS" = all ] && [ "$1" != arches ]; } || [[ ",$SECTIONS," == *",$1,"* ]]; }
W=$(mktemp -d /tmp/cafix-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/res"

n() { if [ "$QUICK" = 1 ]; then echo $(( $1 / 10 )); else echo "$1"; fi; }
say() { printf '%s\n' "$*" >&2; }
PATHVAR=PATH=/usr/local/bin:/usr/bin:/bin
clean() { env -i "$PATHVAR" "$@"; }

# ---- build -------------------------------------------------------------------
say "building libcafix.so, libcafix_engine.so and the bundle_index bench (release)..."
cargo build --release -p cafix-engine >&2
cargo build --release --manifest-path shim/preload/Cargo.toml --target-dir target >&2
if want firstmiss; then cargo bench --bench bundle_index --no-run 2>&1 | tail -1 >&2; fi
if want doctor; then cargo build --release --bin cafix >&2; fi
SO=$ROOT/target/release/libcafix.so
for p in stat_loop spawn_true first_miss alternate; do
    cc -O2 -Wall -o "$W/bin/$p" "benches/$p.c"
done
cc -O2 -Wall -o "$W/bin/verify_loop" benches/verify_loop.c -lcrypto
cc -O2 -Wall -o "$W/bin/tls_client" benches/tls_client.c -lssl -lcrypto
cc -O2 -Wall -o "$W/bin/gnutls_verify_loop" benches/gnutls_verify_loop.c $(pkg-config --cflags --libs gnutls)
# A reference preload for the start-up decomposition: an empty object.
echo 'void cafix_bench_empty(void) {}' >"$W/empty.c"
cc -O2 -shared -fPIC -o "$W/libempty.so" "$W/empty.c"
B=$W/bin

# ---- result bookkeeping ------------------------------------------------------
rec() { echo "$2" >>"$W/res/$1"; }
med() { sort -g "$W/res/$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {printf "%.3f", a/b}'; }
# Range of the per-round ratios $1/$2 (line i of each file is round i).
# Range of the per-round ratios and, in parentheses, their median: on a VM
# whose speed drifts between rounds this is steadier than the ratio of the
# medians, since both variants of a round ran seconds apart.
spread() {
    paste "$W/res/$1" "$W/res/$2" | awk '{print $1/$2}' | sort -g |
        awk '{r[NR]=$1} END {m = (NR%2) ? r[(NR+1)/2] : (r[NR/2]+r[NR/2+1])/2; printf "%.3f–%.3f (median %.3f)", r[1], r[NR], m}'
}
verdict() { # ratio target range
    awk -v r="$1" -v t="$2" -v s="$3" 'BEGIN {
        split(s, x, "–"); v = (r <= t) ? "met" : "**missed**";
        if (x[1] <= t && x[2] > t) v = v " (noise straddles)";
        print v }'
}
TABLE=$W/table.md
row() { printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$@" >>"$TABLE"; }
# A "without vs with" row from result keys: label unit keyA keyB target.
pair_row() {
    local r s; r=$(ratio "$4" "$3"); s=$(spread "$4" "$3")
    row "$1" "$(med "$3") $2" "$(med "$4") $2" "**$r×**" "$s" "≤ $5" "$(verdict "$r" "$5" "$s")"
}
# Alternating order: odd rounds A then B, even rounds B then A.
order() { if (( $1 % 2 )); then echo "$2 $3"; else echo "$3 $2"; fi; }

# ---- machine -----------------------------------------------------------------
{
    echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel $(uname -r); $(ldd --version | head -1 | sed 's/^ldd //'); $(openssl version); $(rustc --version)"
    for so in "$SO" "${SO%/*}/libcafix_engine.so"; do
        echo "${so##*/} $(stat -c %s "$so") bytes, NEEDED: $(readelf -d "$so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
    done
    echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shim || echo ' (+ uncommitted src/shim changes)'); rounds $ROUNDS ($PROCS_ROUNDS for procs.sh, $GT_ROUNDS for GnuTLS, $DOCTOR_ROUNDS for the doctor); quick $QUICK; sections $SECTIONS"
    echo "GnuTLS $(pkg-config --modversion gnutls) ($(readlink -f "$(gcc -print-file-name=libgnutls.so)"))"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$W/machine"
cat "$W/machine" >&2

{
    echo "| measure | without shim | with shim | ratio (medians) | per-round ratios | target | |"
    echo "|---|---|---|---|---|---|---|"
} >"$TABLE"

BUNDLE=/etc/ssl/certs/ca-certificates.crt
TD=/usr/local/ssl/certs # a trust directory (locations.rs) that does not exist here

# ---- 1. hook fast path -------------------------------------------------------
if want stat; then
say "1. stat / fopen on unrelated paths..."
EXISTING=/usr/lib/os-release
MISSING=/usr/share/doc/cafix-bench/no-such-file
[ -e "$EXISTING" ] || EXISTING=$B/stat_loop
[ ! -e "$MISSING" ]
# Also, for information: missing paths that look like trust files but are
# in no trust location (an application's own CApath / CA file). These take
# the shim's slow path (lock + classification) by design.
HASHMISS=/opt/app/capath/4042bcee.0
PEMMISS=/opt/app/certs/client.pem
[ ! -e "$HASHMISS" ] && [ ! -e "$PEMMISS" ]
declare -A N1=([stat]=$(n 2000000) [statmiss]=$(n 2000000) [fopen]=$(n 500000) [hashmiss]=$(n 500000) [pemmiss]=$(n 500000))
declare -A P1=([stat]=$EXISTING [statmiss]=$MISSING [fopen]=$EXISTING [hashmiss]=$HASHMISS [pemmiss]=$PEMMISS)
declare -A M1=([stat]=stat [statmiss]=statmiss [fopen]=fopen [hashmiss]=statmiss [pemmiss]=statmiss)
for ((r = 1; r <= ROUNDS; r++)); do
    for m in stat statmiss fopen hashmiss pemmiss; do
        for v in $(order "$r" off on); do
            if [ "$v" = on ]; then pre=(LD_PRELOAD="$SO"); else pre=(); fi
            rec "$m.$v" "$(clean "${pre[@]}" "$B/stat_loop" "${M1[$m]}" "${P1[$m]}" "${N1[$m]}")"
        done
    done
done
pair_row "\`stat()\` of an existing unrelated file ($EXISTING), ns/call" ns stat.off stat.on 1.02
pair_row "\`stat()\` of a missing unrelated path (ENOENT, not trust-shaped), ns/call" ns statmiss.off statmiss.on 1.02
pair_row "\`fopen\`+\`fclose\` of an existing unrelated file, ns/call" ns fopen.off fopen.on 1.02
for m in hashmiss pemmiss; do
    row "  information: \`stat()\` of a missing trust-shaped path in no trust location (${P1[$m]}), ns/call" "$(med "$m.off") ns" "$(med "$m.on") ns" "$(ratio "$m.on" "$m.off")×" "$(spread "$m.on" "$m.off")" "" "(slow path by design)"
done
fi # stat

# ---- 2. process start --------------------------------------------------------
if want spawn; then
say "2. /bin/true start..."
NSPAWN=$(n 2000)
for ((r = 1; r <= ROUNDS; r++)); do
    rot=(off on empty)
    for ((i = 0; i < 3; i++)); do
        v=${rot[(i + r) % 3]}
        case $v in
            off) env=() ;;
            on) env=(LD_PRELOAD="$SO") ;;
            empty) env=(LD_PRELOAD="$W/libempty.so") ;;
        esac
        rec "spawn.$v" "$("$B/spawn_true" "$NSPAWN" /bin/true "${env[@]}")"
    done
done
pair_row "posix_spawn + wait of \`/bin/true\` (N=$NSPAWN per round), µs/process" µs spawn.off spawn.on 1.10
row "  reference: an empty preloaded object, µs/process" "$(med spawn.off) µs" "$(med spawn.empty) µs" "$(ratio spawn.empty spawn.off)×" "$(spread spawn.empty spawn.off)" "" "(decomposition)"

if command -v hyperfine >/dev/null && command -v python3 >/dev/null; then
    say "   hyperfine..."
    hyperfine -N --style none --warmup 100 --runs "$(n 2000)" --export-json "$W/hf.json" \
        "env -i /bin/true" "env -i LD_PRELOAD=$SO /bin/true" >/dev/null 2>&1 || true
    if [ -s "$W/hf.json" ]; then
        read -r hoff hon < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(*("%.1f" % (x["median"]*1e6) for x in r))' "$W/hf.json")
        h=$(awk -v a="$hon" -v b="$hoff" 'BEGIN {printf "%.3f", a/b}')
        row "hyperfine -N: \`env -i [LD_PRELOAD=…] /bin/true\` (env's own exec in both), µs median" "$hoff µs" "$hon µs" "$h×" "(one run each)" "" "(+$(awk -v a="$hon" -v b="$hoff" 'BEGIN {printf "%.0f", a-b}') µs)"
    fi
fi
fi # spawn

# ---- 3. first miss -----------------------------------------------------------
if want firstmiss; then
say "3. first miss..."
mkdir -p "$W/split"
awk -v d="$W/split" '/-----BEGIN CERTIFICATE-----/ {n++} n {print > (d "/" n ".pem")}' "$BUNDLE"
for f in "$W"/split/*.pem; do openssl x509 -subject_hash -noout -in "$f"; done >"$W/hashes"
H1=4042bcee # ISRG Root X1
grep -qx "$H1" "$W/hashes" || H1=$(head -1 "$W/hashes")
H2=$(grep -vx "$H1" "$W/hashes" | tail -1)
[ ! -e "$TD/$H1.0" ] && [ ! -e "$TD/$H2.0" ] || { say "$TD has $H1.0 or $H2.0: pick another directory"; exit 1; }
for ((r = 1; r <= ROUNDS; r++)); do
    read -r first again other < <(clean LD_PRELOAD="$SO" "$B/first_miss" "$TD/$H1.0" "$TD/$H2.0")
    rec miss.first "$first"; rec miss.again "$again"; rec miss.other "$other"
done
cargo bench --bench bundle_index -- "$BUNDLE" 31 2>/dev/null >"$W/bundle_index.txt"
bench_median() { awk -v re="$1" '$0 ~ re {for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1)}' "$W/bundle_index.txt"; }
PARSE=$(bench_median '^BundleIndex::parse [(]')
PARSE_REF=$(bench_median '^BundleIndex::parse_reference')
NCERT=$(grep -c . "$W/hashes")
row "\`BundleIndex::parse\` of $BUNDLE ($NCERT certificates): the full parse as before (\`parse_reference\`) vs the hash-only index, release, median of 31, same run" "$PARSE_REF ms" "$PARSE ms" "$(awk -v a="$PARSE" -v b="$PARSE_REF" 'BEGIN {printf "%.3f×", a/b}')" "" "≤ 0.5 ms" "$(awk -v p="$PARSE" 'BEGIN {print (p <= 0.5) ? "met" : "**missed**"}')"
row "first miss in the shim: \`stat($TD/$H1.0)\` (engine load + state + bundle read + index + the served certificate's parse), µs" "" "$(med miss.first) µs" "" "$(sort -g "$W/res/miss.first" | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s–%s", lo, hi}') µs" "≤ 1000 µs" "$(awk -v p="$(med miss.first)" 'BEGIN {print (p <= 1000) ? "met" : "**missed**"}')"
row "  the same path again (cached), µs" "" "$(med miss.again) µs" "" "" "" ""
row "  another hash \`$H2.0\`, first time (index built), µs" "" "$(med miss.other) µs" "" "" "" ""
fi # firstmiss

# ---- the test chain (sections 4, 6 and 7) ---------------------------------------
# RSA-2048 root -> intermediate -> leaf (bench.cafix.test); in_a runs a
# command with the root in the system bundle.
P=$W/pki
if want verify || want handshake || want gnutls || want java || want arches; then
mkdir -p "$P/hashdir" "$P/sslcerts"
cat >"$P/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:bench.cafix.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
(
    cd "$P"
    openssl req -x509 -config ext.cnf -extensions ca -newkey rsa:2048 -nodes -keyout root.key -out root.pem \
        -subj "/CN=cafix bench root/O=cafix benchmarks" -days 3650
    openssl req -new -config ext.cnf -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr \
        -subj "/CN=cafix bench intermediate/O=cafix benchmarks"
    openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -out inter.pem \
        -days 3650 -extfile ext.cnf -extensions ca
    openssl req -new -config ext.cnf -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=bench.cafix.test"
    openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -out leaf.pem \
        -days 3650 -extfile ext.cnf -extensions leaf
) >/dev/null 2>&1
RH=$(openssl x509 -subject_hash -noout -in "$P/root.pem")
cp "$P/root.pem" "$P/hashdir/$RH.0"
cat "$BUNDLE" "$P/root.pem" >"$P/sslcerts/ca-certificates.crt"
# (a) needs the test root in the system bundle: a private mount namespace
# with the augmented bundle bound over /etc/ssl/certs (only this process
# tree sees it), else CAFIX_BUNDLE.
if unshare -m --propagation private true 2>/dev/null; then
    A_HOW="private mount namespace, $P/sslcerts bound over /etc/ssl/certs"
    in_a() { # like clean: [VAR=VALUE ...] command ...
        unshare -m --propagation private sh -c 'mount --bind "$0" /etc/ssl/certs && exec "$@"' \
            "$P/sslcerts" env -i "$PATHVAR" "$@"
    }
else
    A_HOW="CAFIX_BUNDLE=<bundle + test root> (no unshare)"
    in_a() { env -i "$PATHVAR" CAFIX_BUNDLE="$P/sslcerts/ca-certificates.crt" "$@"; }
fi
fi # the test chain
V=("$P/leaf.pem" "$P/inter.pem")
# The healthy machine of sections 6 and 10, sourced by their scripts in a
# private mount namespace: a copy of /etc made healthy (the test root in the
# bundle and as a hash-directory entry, bench.cafix.test in /etc/hosts, no
# ld.so.preload) bound over /etc. Needs W and P.
cat >"$W/healthy_etc.sh" <<'EOF'
E=$(mktemp -d "$W/etc-healthy.XXXXXX")
cp -a /etc/. "$E"
rm -f "$E/ld.so.preload"
cp "$P/root.pem" "$E/ssl/certs/cafix-bench-root.pem"
cat "$P/root.pem" >>"$E/ssl/certs/ca-certificates.crt"
openssl rehash "$E/ssl/certs" >/dev/null 2>&1
echo "127.0.0.1 bench.cafix.test" >>"$E/hosts"
mount --bind "$E" /etc
EOF

# s_server with the test chain on a random loopback port, in the background,
# killed on exit: sets SRV_PORT; its log is $W/s_server-$1.log.
SERVERS=()
start_server() {
    SRV_PORT=$((20000 + RANDOM % 20000))
    openssl s_server -accept "127.0.0.1:$SRV_PORT" -cert "$P/leaf.pem" -key "$P/leaf.key" \
        -cert_chain "$P/inter.pem" -www -quiet </dev/null >"$W/s_server-$1.log" 2>&1 &
    SERVERS+=($!)
    trap 'kill "${SERVERS[@]}" 2>/dev/null; rm -rf "$W"' EXIT
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$SRV_PORT") 2>/dev/null && break; sleep 0.05; done
}

# ---- 4. new store + verify ---------------------------------------------------
if want verify; then
say "4. X509_STORE + verify..."
[ ! -e "$TD/$RH.0" ]
ND=$(n 2000)
NF=$(( $(n 400) / 10 ))
verify() { # variant iterations
    case $1 in
        a) in_a LD_PRELOAD="$SO" "$B/verify_loop" dir "$TD" "${V[@]}" "$2" 2>>"$W/a.stderr" || { cat "$W/a.stderr" >&2; exit 1; } ;;
        b) clean "$B/verify_loop" dir "$P/hashdir" "${V[@]}" "$2" ;;
        bs) clean LD_PRELOAD="$SO" "$B/verify_loop" dir "$P/hashdir" "${V[@]}" "$2" ;;
        c) clean "$B/verify_loop" file "$P/sslcerts/ca-certificates.crt" "${V[@]}" "$2" ;;
    esac
}
# Sanity: without the shim, (a) must fail (the root is not in any hash dir).
if in_a "$B/verify_loop" dir "$TD" "${V[@]}" 1 >/dev/null 2>&1; then
    say "(a) verifies without the shim: it would not measure served lookups"; exit 1
fi
for ((r = 1; r <= ROUNDS; r++)); do
    rot=(a b bs c)
    for ((i = 0; i < 4; i++)); do
        v=${rot[(i + r) % 4]}
        if [ "$v" = c ]; then it=$NF; else it=$ND; fi
        rec "verify.$v" "$(verify "$v" "$it")"
    done
done
row "(b) new store + hash dir with the root + verify, no shim, µs/iteration" "$(med verify.b) µs" "" "" "" "" "(baseline)"
r=$(ratio verify.a verify.b); s=$(spread verify.a verify.b)
row "(a) the same, root served by the shim from the bundle ($TD missing), µs/iteration" "" "$(med verify.a) µs" "**$r× (a)/(b)**" "$s" "≤ 1.3" "$(verdict "$r" 1.3 "$s")"
row "(c) new store + whole bundle (\`X509_STORE_load_locations\`) + verify, no shim, µs/iteration" "$(med verify.c) µs" "" "$(ratio verify.c verify.b)× (c)/(b)" "$(spread verify.c verify.b)" "" "(≈70× before)"
pair_row "(b) with vs without the shim preloaded (OpenSSL hooks' overhead), µs/iteration" µs verify.b verify.bs 1.02
fi # verify

# ---- 5. system-wide preload --------------------------------------------------
PRELOAD_HOW=
if want procs; then
say "5. 1000 short processes..."
procs() { # extra env assignments...
    local t0 t1
    t0=$EPOCHREALTIME
    env -i "$PATHVAR" "$@" /bin/bash "$ROOT/benches/procs.sh"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b-a)*1000}'
}
for ((r = 1; r <= PROCS_ROUNDS; r++)); do
    rot=(off on empty)
    for ((i = 0; i < 3; i++)); do
        case ${rot[(i + r) % 3]} in
            off) rec procs.off "$(procs)" ;;
            on) rec procs.on "$(procs LD_PRELOAD="$SO")" ;;
            empty) rec procs.empty "$(procs LD_PRELOAD="$W/libempty.so")" ;;
        esac
    done
done
pair_row "\`benches/procs.sh\` (1000 processes: true, ls, cat, stat) with LD_PRELOAD exported, ms" ms procs.off procs.on 1.05
row "  reference: an empty preloaded object, ms" "$(med procs.off) ms" "$(med procs.empty) ms" "$(ratio procs.empty procs.off)×" "$(spread procs.empty procs.off)" "" "(decomposition)"

# The real thing: /etc/ld.so.preload, in a private mount namespace. If the
# file exists, a copy plus libcafix.so is bound over it; if not (it cannot be
# bound over), a copy of /etc is bound over /etc and the file is created and
# removed in the copy between rounds. Nothing outside the namespace changes.
if unshare -m --propagation private true 2>/dev/null; then
    cat >"$W/preload_inner.sh" <<'EOF'
set -euo pipefail
W=$1 SO=$2 ROUNDS=$3 ROOT=$4 PATHVAR=$5
procs() {
    local t0 t1
    t0=$EPOCHREALTIME
    env -i "$PATHVAR" /bin/bash "$ROOT/benches/procs.sh"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b-a)*1000}'
}
if [ -e /etc/ld.so.preload ]; then
    cp /etc/ld.so.preload "$W/preload.off"
    { cat /etc/ld.so.preload; echo "$SO"; } >"$W/preload.on"
    on() { mount --bind "$W/preload.on" /etc/ld.so.preload; }
    off() { umount /etc/ld.so.preload 2>/dev/null || true; }
else
    cp -a /etc "$W/etc"
    mount --bind "$W/etc" /etc
    on() { echo "$SO" >/etc/ld.so.preload; }
    off() { rm -f /etc/ld.so.preload; }
fi
for ((r = 1; r <= ROUNDS; r++)); do
    if (( r % 2 )); then off; a=$(procs); on; b=$(procs); else on; b=$(procs); off; a=$(procs); fi
    echo "$a $b"
done
off
EOF
    if [ -e /etc/ld.so.preload ]; then PRELOAD_HOW="libcafix.so added to /etc/ld.so.preload (bind mount)"; else PRELOAD_HOW="/etc/ld.so.preload created in a copy of /etc bound over /etc"; fi
    unshare -m --propagation private bash "$W/preload_inner.sh" "$W" "$SO" "$PROCS_ROUNDS" "$ROOT" "$PATHVAR" |
        while read -r a b; do rec sys.off "$a"; rec sys.on "$b"; done
    pair_row "\`benches/procs.sh\` with libcafix.so in /etc/ld.so.preload (private mount namespace), ms" ms sys.off sys.on 1.05
fi
fi # procs

# ---- 6. a healthy machine: one verified handshake per process ---------------
# A complete hash directory (`openssl rehash`, the test root included) and a
# bundle holding the test root; a loopback s_server sends leaf + intermediate.
# Verifying, OpenSSL asks the hash directory for the intermediate's hash
# first, which is legitimately missing: a trust-shaped miss in every client
# process. Each client process does one verified handshake, with and without
# libcafix.so in /etc/ld.so.preload (a scratch copy of /etc bound over /etc
# in a private mount namespace), the variants alternating process by process
# (benches/alternate.c). A third variant adds CAFIX_SERVE=0: the engine is
# loaded (the OpenSSL hooks load it anyway) but the miss reads and indexes
# no bundle, which is the most an on-disk index consulted by the front
# could save.
HS_HOW=
if want handshake && unshare -m --propagation private true 2>/dev/null; then
    say "6. healthy machine: one verified handshake per process ($HS_ROUNDS rounds)..."
    PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || true)
    start_server handshake
    HS_PORT=$SRV_PORT
    cat >"$W/handshake_inner.sh" <<'EOF'
set -euo pipefail
W=$1 SO=$2 ROUNDS=$3 P=$4 PORT=$5 PY=$6 B=$7
. "$W/healthy_etc.sh"
URL=https://bench.cafix.test:$PORT/
clients=(curl c)
[ -n "$PY" ] && clients+=(python)
for client in "${clients[@]}"; do
    case $client in
        curl) cmd=(/usr/bin/curl -sS -o /dev/null "$URL") ;;
        python) cmd=("$PY" -I -c "import urllib.request; urllib.request.urlopen('$URL').read()") ;;
        c) cmd=("$B/tls_client" bench.cafix.test "$PORT") ;;
    esac
    # One process with the log on: the handshake verifies, and the miss is there.
    echo "$SO" >/etc/ld.so.preload
    CAFIX_LOG=debug CAFIX_LOG_FILE="$W/hs-$client.log" "${cmd[@]}" >/dev/null
    rm -f /etc/ld.so.preload
    "$B/alternate" "$ROUNDS" /etc/ld.so.preload off "on:$SO" "on:$SO:CAFIX_SERVE=0" -- "${cmd[@]}" | sed "s/^/$client /"
    # The same three, counted in instructions (deterministic; user space, one
    # process each; LD_PRELOAD here, the object and its work are the same).
    if command -v valgrind >/dev/null && [ "$client" != python ]; then
        ir() { env "$@" valgrind --tool=callgrind --callgrind-out-file=/dev/null "${cmd[@]}" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
        echo "ir-$client $(ir) $(ir LD_PRELOAD="$SO") $(ir LD_PRELOAD="$SO" CAFIX_SERVE=0)"
    fi
done
EOF
    unshare -m --propagation private env -i "$PATHVAR" bash "$W/handshake_inner.sh" "$W" "$SO" "$HS_ROUNDS" "$P" "$HS_PORT" "$PY" "$B" >"$W/handshakes.txt"
    HS_HOW="s_server on 127.0.0.1:$HS_PORT (leaf + intermediate, RSA-2048); clients: curl $(curl --version | head -1 | cut -d' ' -f2), $("${PY:-false}" --version 2>&1 | head -1) urllib, benches/tls_client.c; $HS_ROUNDS rounds of (off, on, CAFIX_SERVE=0), order rotating"
    for client in curl python c; do
        grep "^$client " "$W/handshakes.txt" | while read -r _ off on noserve; do
            rec "hs.$client.off" "$(awk -v v="$off" 'BEGIN {printf "%.3f", v / 1000}')"
            rec "hs.$client.on" "$(awk -v v="$on" 'BEGIN {printf "%.3f", v / 1000}')"
            rec "hs.$client.noserve" "$(awk -v v="$noserve" 'BEGIN {printf "%.3f", v / 1000}')"
        done
        [ -s "$W/res/hs.$client.off" ] || continue
        case $client in
            curl) what="curl" ;;
            python) what="python3 urllib" ;;
            c) what="benches/tls_client.c" ;;
        esac
        miss=$(grep -c "is missing" "$W/hs-$client.log" 2>/dev/null || true)
        pair_row "healthy store, one verified handshake per process, $what, libcafix.so in /etc/ld.so.preload ($miss trust-shaped miss(es) per process), ms" ms "hs.$client.off" "hs.$client.on" 1.02
        row "  the same with CAFIX_SERVE=0 (engine loaded, no bundle read or index), ms" "$(med "hs.$client.off") ms" "$(med "hs.$client.noserve") ms" "$(ratio "hs.$client.noserve" "hs.$client.off")×" "$(spread "hs.$client.noserve" "hs.$client.off")" "" "(decomposition)"
        row "  bundle read + index + lookup on the miss (with vs CAFIX_SERVE=0), ms" "$(med "hs.$client.noserve") ms" "$(med "hs.$client.on") ms" "$(ratio "hs.$client.on" "hs.$client.noserve")×" "$(spread "hs.$client.on" "hs.$client.noserve")" "" "(+$(awk -v a="$(med "hs.$client.on")" -v b="$(med "hs.$client.noserve")" 'BEGIN {printf "%.2f", a - b}') ms)"
    done
    # Instruction counts of one handshake process: off, on, CAFIX_SERVE=0.
    grep '^ir-' "$W/handshakes.txt" | while read -r what off on noserve; do
        [ -n "$noserve" ] || continue
        awk -v w="${what#ir-}" -v a="$off" -v b="$on" -v c="$noserve" 'BEGIN {
            printf "| one verified handshake, %s, whole process | %d | %d | +%d | %.3f× |\n", w, a, b, b - a, b / a
            printf "|   of which engine load + OpenSSL hooks (CAFIX_SERVE=0) / bundle read + index + lookup | | %d | +%d / +%d | %.3f× / %.3f× |\n", c, c - a, b - c, c / a, b / c
        }' >>"$W/hs_ir.md"
    done
fi

# ---- 7. GnuTLS: new credentials + system trust + verify ----------------------
# benches/gnutls_verify_loop.c verify, per iteration: new credentials,
# gnutls_certificate_set_x509_system_trust (GnuTLS parses the whole system
# bundle, as wget does for every connection), the leaf + intermediate
# verified for bench.cafix.test through the credentials' trust list
# (gnutls_x509_trust_list_verify_crt2, what gnutls_certificate_verify_peers2
# does after a handshake), everything freed. The root must be in the bundle
# GnuTLS trusts (/etc/ssl/certs/ca-certificates.crt, compiled in): in_a's
# namespace (GnuTLS reads no CAFIX_BUNDLE, so without unshare the section is
# skipped). libcafix.so's GnuTLS hooks only observe; this is what observing
# costs. For information, two GnuTLS loops that call no hooked function:
# crt-verify (gnutls_x509_crt_verify, which reaches hooked functions through
# libgnutls's own PLT: the engine is loaded) and parse (gnutls_x509_crt_import:
# no hook reached, the engine never loaded). Variants off / on (LD_PRELOAD),
# one process each, alternating, GT_ROUNDS rounds.
GT_HOW=
if want gnutls; then
if unshare -m --propagation private true 2>/dev/null; then
    say "7. GnuTLS: new credentials + system trust + verify ($GT_ROUNDS rounds)..."
    G=("$P/leaf.pem" "$P/inter.pem" bench.cafix.test)
    declare -A NG=([verify]=$(n 60) [crt-verify]=$(n 2000) [parse]=$(n 5000))
    gt() { # off|on mode: µs per iteration; whether the engine was loaded goes to $W/gt-engine.<variant>.<mode>
        local pre=() out
        if [ "$1" = on ]; then pre=(LD_PRELOAD="$SO"); fi
        out=$(in_a "${pre[@]}" "$B/gnutls_verify_loop" "$2" "${G[@]}" "${NG[$2]}" 2>"$W/gt.stderr") ||
            { say "gnutls_verify_loop $2 ($1) failed:"; cat "$W/gt.stderr" >&2; exit 1; }
        sed -n 's/^libcafix_engine.so loaded: //p' "$W/gt.stderr" >"$W/gt-engine.$1.$2"
        grep -v '^libcafix_engine.so loaded: ' "$W/gt.stderr" >>"$W/gt-$1.log" || true
        echo "$out"
    }
    # verify: off, on and off2, a second run of the same program without
    # the shim, whose ratio to off is the noise of the measure (A/A).
    for ((r = 1; r <= GT_ROUNDS; r++)); do
        rot=(off on off2)
        for ((i = 0; i < 3; i++)); do
            v=${rot[(i + r) % 3]}
            t=$(gt "$v" verify)
            rec "gnutls.verify.$v" "$t"
        done
        for m in crt-verify parse; do
            for v in $(order "$r" off on); do
                t=$(gt "$v" "$m")
                rec "gnutls.$m.$v" "$t"
            done
        done
    done
    pair_row "GnuTLS: new credentials + \`gnutls_certificate_set_x509_system_trust\` + \`gnutls_x509_trust_list_verify_crt2\` of leaf + intermediate (root in the bundle), µs/iteration" µs gnutls.verify.off gnutls.verify.on 1.02
    row "  control: the same without the shim again (variant off2), µs/iteration" "$(med gnutls.verify.off) µs" "$(med gnutls.verify.off2) µs" "$(ratio gnutls.verify.off2 gnutls.verify.off)×" "$(spread gnutls.verify.off2 gnutls.verify.off)" "" "(A/A: the noise of the ratio)"
    row "  with the shim vs that second variant, µs/iteration" "$(med gnutls.verify.off2) µs" "$(med gnutls.verify.on) µs" "$(ratio gnutls.verify.on gnutls.verify.off2)×" "$(spread gnutls.verify.on gnutls.verify.off2)" "" ""
    row "  information: \`gnutls_x509_crt_verify\` (not hooked; reaches hooked functions inside libgnutls), µs/iteration" "$(med gnutls.crt-verify.off) µs" "$(med gnutls.crt-verify.on) µs" "$(ratio gnutls.crt-verify.on gnutls.crt-verify.off)×" "$(spread gnutls.crt-verify.on gnutls.crt-verify.off)" "" "(engine loaded: $(cat "$W/gt-engine.on.crt-verify"))"
    row "  information: \`gnutls_x509_crt_import\` of the leaf only (no hooked function reached), µs/iteration" "$(med gnutls.parse.off) µs" "$(med gnutls.parse.on) µs" "$(ratio gnutls.parse.on gnutls.parse.off)×" "$(spread gnutls.parse.on gnutls.parse.off)" "" "(engine loaded: $(cat "$W/gt-engine.on.parse"))"
    GT_HOW="$A_HOW; GnuTLS $(pkg-config --modversion gnutls); iterations verify ${NG[verify]}, crt-verify ${NG[crt-verify]}, parse ${NG[parse]} per process (+ N/10 + 1 warm-up); engine loaded with libcafix.so: verify $(cat "$W/gt-engine.on.verify"), crt-verify $(cat "$W/gt-engine.on.crt-verify"), parse $(cat "$W/gt-engine.on.parse"); cafix's lines at the default level in the $((3 * GT_ROUNDS)) processes with libcafix.so: $(grep -c . "$W/gt-on.log" 2>/dev/null || true)"
else
    say "7. GnuTLS: skipped (needs unshare: the test root must be in GnuTLS's compiled-in bundle)"
fi
fi # gnutls

# ---- 8. cafix doctor -----------------------------------------------------------
# The whole `cafix doctor` as a person runs it on this machine (its text
# report; HOME, so programs' own root stores are searched when there are
# local CAs), wall time of each process from spawn to exit, and its
# instructions (callgrind: the cafix process only, not the `node` it runs).
# With CAFIX_BASE=<another build of cafix> both alternate process by
# process, order rotating, and the ratio is this build's over the base's.
DOCTOR_HOW=
if want doctor; then
    say "8. cafix doctor ($DOCTOR_ROUNDS rounds)..."
    THIS=$ROOT/target/release/cafix
    doctor_ms() { # binary
        local t0 t1
        t0=$EPOCHREALTIME
        env -i "$PATHVAR" HOME="${HOME:-/root}" "$1" doctor >/dev/null 2>&1 || true
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b-a)*1000}'
    }
    for ((r = 1; r <= DOCTOR_ROUNDS; r++)); do
        if [ -n "$CAFIX_BASE" ]; then
            for v in $(order "$r" base this); do
                if [ "$v" = base ]; then rec doctor.base "$(doctor_ms "$CAFIX_BASE")"; else rec doctor.this "$(doctor_ms "$THIS")"; fi
            done
        else
            rec doctor.this "$(doctor_ms "$THIS")"
        fi
    done
    if [ -n "$CAFIX_BASE" ]; then
        pair_row "\`cafix doctor\` on this machine, CAFIX_BASE ($CAFIX_BASE) vs this build, ms" ms doctor.base doctor.this 1.05
    else
        row "\`cafix doctor\` on this machine, ms" "" "$(med doctor.this) ms" "" "$(sort -g "$W/res/doctor.this" | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%s–%s ms", lo, hi}')" "" ""
    fi
    # (doctor exits 1 when it finds a problem)
    searched=$({ env -i "$PATHVAR" HOME="${HOME:-/root}" "$THIS" doctor 2>/dev/null || true; } | grep -m1 -o 'searched the well-known places.*' || true)
    DOCTOR_HOW="HOME=${HOME:-/root}; ${searched:-no local CAs, so no root store searched}"
fi # doctor

# ---- 9. Java and Node.js --------------------------------------------------------
# A private mount namespace whose /etc is a scratch copy with the bench root
# in the system bundle and bench.cafix.test in /etc/hosts. Two machines in
# it, one after the other:
#  healthy: no local CA (an empty /usr/local/share/ca-certificates); the JDK's
#    cacerts (a copy of /etc/ssl/certs/java/cacerts) has the root, imported
#    with keytool. libcafix.so's whole part: the jssecacerts stat that
#    misses, the engine loaded, the anchor directories walked, nothing served.
#  local: the root is a local CA (in the anchor directory); the JDK's cacerts
#    lacks it, so libcafix.so serves jssecacerts (bundle read and indexed,
#    cacerts read, judged, written with the root). Compared with the healthy
#    machine without cafix: the keytool fix the administrator no longer makes.
# Commands: `java -version`, tests/java/Client.java (one verified HTTPS
# request to s_server, leaf + intermediate), `node -e 0`. Wall time
# process-alternated (benches/alternate.c, JV_ROUNDS rounds) and user-space
# instructions (callgrind, one process each, with the flags below that make
# a JVM's and V8's counts repeat).
JV_HOW=
JV_ROUNDS=${JV_ROUNDS:-$((3 * ROUNDS))}
if want java; then
if unshare -m --propagation private true 2>/dev/null && command -v javac >/dev/null && command -v node >/dev/null; then
    say "9. Java and Node.js ($JV_ROUNDS rounds)..."
    JDK=/usr/lib/jvm/java-17-openjdk-amd64
    mkdir -p "$W/java"
    javac --release 11 -nowarn -d "$W/java" tests/java/Client.java
    start_server java
    JV_PORT=$SRV_PORT
    cat >"$W/java_inner.sh" <<'INNER'
set -euo pipefail
W=$1 SO=$2 ROUNDS=$3 P=$4 PORT=$5 B=$6 JDK=$7
E=$W/etc-java
cp -a /etc "$E"
rm -f "$E/ld.so.preload"
cat "$P/root.pem" >>"$E/ssl/certs/ca-certificates.crt"
echo "127.0.0.1 bench.cafix.test" >>"$E/hosts"
cp /etc/ssl/certs/java/cacerts "$W/cacerts-lacking"
cp "$W/cacerts-lacking" "$W/cacerts-healthy"
"$JDK/bin/keytool" -importcert -noprompt -storetype JKS -storepass changeit -alias cafix-bench-root \
    -file "$P/root.pem" -keystore "$W/cacerts-healthy" >/dev/null 2>&1
mkdir -p "$W/anchors-none" "$W/anchors-root"
cp "$P/root.pem" "$W/anchors-root/cafix-bench-root.crt"
mount --bind "$E" /etc
URL=https://bench.cafix.test:$PORT/
java_client=("$JDK/bin/java" -XX:-UsePerfData -cp "$W/java" Client "$URL")
java_version=("$JDK/bin/java" -XX:-UsePerfData -version)
node0=(/usr/bin/node -e 0)
# Counted with what makes a run repeat its count: the JIT compiling in the
# foreground with C1 only and the serial GC (±0.1 %), V8's --predictable
# (±0.001 %); without them a JVM's or node's count varies by several per cent.
JAVA_DET=(-Xbatch -XX:+UseSerialGC -XX:TieredStopAtLevel=1)
ir() { env "$@" valgrind --tool=callgrind --callgrind-out-file=/dev/null "${det[@]}" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
for machine in healthy local; do
    case $machine in
        healthy) mount --bind "$W/cacerts-healthy" /etc/ssl/certs/java/cacerts
                 mount --bind "$W/anchors-none" /usr/local/share/ca-certificates ;;
        local) mount --bind "$W/cacerts-lacking" /etc/ssl/certs/java/cacerts
               mount --bind "$W/anchors-root" /usr/local/share/ca-certificates ;;
    esac
    for what in client version node; do
        case $what in
            client) cmd=("${java_client[@]}") det=("${cmd[0]}" "${JAVA_DET[@]}" "${cmd[@]:1}") ;;
            version) cmd=("${java_version[@]}") det=("${cmd[0]}" "${JAVA_DET[@]}" "${cmd[@]:1}") ;;
            node) cmd=("${node0[@]}") det=(/usr/bin/node --predictable -e 0) ;;
        esac
        # The local machine rejects the server without cafix: "on" only there.
        if [ "$machine" = local ] && [ "$what" = client ]; then
            echo "$SO" >/etc/ld.so.preload
            CAFIX_LOG=info CAFIX_LOG_FILE="$W/java-local.log" "${cmd[@]}" >/dev/null
            rm -f /etc/ld.so.preload
            "$B/alternate" "$ROUNDS" /etc/ld.so.preload "on:$SO" "on:$SO" -- "${cmd[@]}" | sed "s/^/$machine-$what /"
        else
            "$B/alternate" "$ROUNDS" /etc/ld.so.preload off "on:$SO" -- "${cmd[@]}" | sed "s/^/$machine-$what /"
        fi
        if command -v valgrind >/dev/null; then
            if [ "$machine" = local ] && [ "$what" = client ]; then
                echo "ir-$machine-$what - $(ir LD_PRELOAD="$SO")"
            else
                echo "ir-$machine-$what $(ir) $(ir LD_PRELOAD="$SO")"
            fi
        fi
    done
done
INNER
    unshare -m --propagation private env -i "$PATHVAR" bash "$W/java_inner.sh" "$W" "$SO" "$JV_ROUNDS" "$P" "$JV_PORT" "$B" "$JDK" >"$W/java.txt"
    JV_HOW="$("$JDK/bin/java" -version 2>&1 | sed -n 2p), Node.js $(node --version); s_server on 127.0.0.1:$JV_PORT (leaf + intermediate, RSA-2048); $JV_ROUNDS rounds of (off, on), order rotating; served jssecacerts lines in the local machine's log: $(grep -c 'served .*jssecacerts' "$W/java-local.log" 2>/dev/null || true)"
    for key in healthy-client healthy-version healthy-node local-client local-version local-node; do
        grep "^$key " "$W/java.txt" | while read -r _ off on; do
            rec "jv.$key.off" "$(awk -v v="$off" 'BEGIN {printf "%.3f", v / 1000}')"
            rec "jv.$key.on" "$(awk -v v="$on" 'BEGIN {printf "%.3f", v / 1000}')"
        done
    done
    pair_row "\`java -version\` (OpenJDK 17), libcafix.so in /etc/ld.so.preload, ms" ms jv.healthy-version.off jv.healthy-version.on 1.02
    pair_row "one verified HTTPS request, Java (tests/java/Client.java), no local CA (cacerts has the root), ms" ms jv.healthy-client.off jv.healthy-client.on 1.02
    row "  the root a local CA, cacerts lacking it: served jssecacerts vs the keytool fix without cafix, ms" "$(med jv.healthy-client.off) ms" "$(med jv.local-client.on) ms" "$(ratio jv.local-client.on jv.healthy-client.off)×" "(medians of two series)" "" "(information)"
    pair_row "\`node -e 0\` (Node.js $(node --version)), no local CA on the machine, ms" ms jv.healthy-node.off jv.healthy-node.on 1.02
    row "  \`node -e 0\` with a local CA: Node.js 20 builds its root store at start once NODE_EXTRA_CA_CERTS is set, ms" "$(med jv.local-node.off) ms" "$(med jv.local-node.on) ms" "$(ratio jv.local-node.on jv.local-node.off)×" "$(spread jv.local-node.on jv.local-node.off)" "" "(Node's own cost of the variable)"
    grep '^ir-' "$W/java.txt" | while read -r what off on; do
        [ -n "$on" ] || continue
        case ${what#ir-} in
            healthy-client) label="one verified HTTPS request, Java (-Xbatch, C1, serial GC), no local CA, whole process" ;;
            healthy-version) label="\`java -version\` (-Xbatch, C1, serial GC), whole process" ;;
            healthy-node) label="\`node --predictable -e 0\`, no local CA, whole process" ;;
            local-client) label="one verified HTTPS request, Java (-Xbatch, C1, serial GC), jssecacerts served (the root a local CA), whole process" ;;
            local-version) label="\`java -version\` (-Xbatch, C1, serial GC), a local CA on the machine" ;;
            local-node) label="\`node --predictable -e 0\`, a local CA on the machine (Node.js builds its root store)" ;;
        esac
        if [ "$off" = - ]; then
            echo "| $label | | $on | | |" >>"$W/jv_ir.md"
        else
            awk -v w="$label" -v a="$off" -v b="$on" 'BEGIN {printf "| %s | %d | %d | %+d | %.4f× |\n", w, a, b, b - a, b / a}' >>"$W/jv_ir.md"
        fi
    done
else
    say "9. Java and Node.js: skipped (needs unshare, javac and node)"
fi
fi # java

# ---- instruction counts (deterministic) --------------------------------------
CG=$W/cg.md
if command -v valgrind >/dev/null; then
    say "instruction counts (callgrind)..."
    # User-space instructions of one process: [VAR=VALUE ...] command ...
    # (valgrind runs inside the clean environment; it passes LD_PRELOAD on
    # to the program it runs).
    ir() { env -i "$PATHVAR" "${@:1:$(nenv "$@")}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "${@:$(($(nenv "$@") + 1))}" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
    ir_a() { in_a "${@:1:$(nenv "$@")}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "${@:$(($(nenv "$@") + 1))}" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
    nenv() { local k=0; for a in "$@"; do [[ $a == *=* ]] || break; k=$((k + 1)); done; echo "$k"; }
    # Instructions per iteration: the difference of two runs (N1 and N2
    # iterations, each + N/10 warm-up) over the extra iterations, so process
    # start-up cancels out.
    per() { # ir-function n1 n2 [VAR=VALUE ...] command ... (N is appended)
        local f=$1 n1=$2 n2=$3; shift 3
        local i1 i2; i1=$($f "$@" "$n1"); i2=$($f "$@" "$n2")
        awk -v a="$i1" -v b="$i2" -v d="$(( (n2 + n2 / 10) - (n1 + n1 / 10) ))" 'BEGIN {printf "%.0f", (b-a)/d}'
    }
    {
        echo "| instructions (user space, callgrind) | without shim | with shim | difference | ratio |"
        echo "|---|---|---|---|---|"
        if want stat; then for m in stat statmiss fopen hashmiss pemmiss; do
            a=$(per ir 100000 200000 "$B/stat_loop" "${M1[$m]}" "${P1[$m]}")
            b=$(per ir 100000 200000 LD_PRELOAD="$SO" "$B/stat_loop" "${M1[$m]}" "${P1[$m]}")
            echo "| \`stat_loop ${M1[$m]} ${P1[$m]}\`, per call | $a | $b | +$((b - a)) | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b/a}')× |"
        done; fi
        if want spawn || want gnutls; then
        a=$(ir /bin/true); b=$(ir LD_PRELOAD="$SO" /bin/true)
        e=$(ir LD_PRELOAD="$W/libempty.so" /bin/true)
        echo "| \`/bin/true\`, whole process (ld.so included) | $a | $b | +$((b - a)) | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b/a}')× |"
        echo "|   reference: an empty preloaded object | $a | $e | +$((e - a)) | $(awk -v a="$a" -v b="$e" 'BEGIN {printf "%.2f", b/a}')× |"
        fi
        if want verify; then
        b1=$(per ir 100 200 "$B/verify_loop" dir "$P/hashdir" "${V[@]}")
        bs=$(per ir 100 200 LD_PRELOAD="$SO" "$B/verify_loop" dir "$P/hashdir" "${V[@]}")
        a1=$(per ir_a 100 200 LD_PRELOAD="$SO" "$B/verify_loop" dir "$TD" "${V[@]}")
        echo "| (b) new store + hash dir + verify, per iteration | $b1 | $bs | +$((bs - b1)) | $(awk -v a="$b1" -v b="$bs" 'BEGIN {printf "%.3f", b/a}')× |"
        echo "| (a) root served by the shim vs (b) without shim, per iteration | $b1 | $a1 | +$((a1 - b1)) | $(awk -v a="$b1" -v b="$a1" 'BEGIN {printf "%.3f", b/a}')× |"
        fi
        if want gnutls && [ -n "$GT_HOW" ]; then
            # The same three GnuTLS loops; per iteration, then whole
            # processes of one timed iteration (+ one warm-up): the engine's
            # load and the hooks' first calls.
            irow() { awk -v w="$1" -v a="$2" -v b="$3" 'BEGIN {printf "| %s | %d | %d | %+d | %.4f× |\n", w, a, b, b - a, b / a}'; }
            for m in verify crt-verify parse; do
                case $m in verify) n1=10 n2=20 ;; *) n1=1000 n2=2000 ;; esac
                a=$(per ir_a $n1 $n2 "$B/gnutls_verify_loop" "$m" "${G[@]}")
                b=$(per ir_a $n1 $n2 LD_PRELOAD="$SO" "$B/gnutls_verify_loop" "$m" "${G[@]}")
                irow "GnuTLS \`gnutls_verify_loop $m\`, per iteration" "$a" "$b"
            done
            for m in verify crt-verify parse; do
                a=$(ir_a "$B/gnutls_verify_loop" "$m" "${G[@]}" 1)
                b=$(ir_a LD_PRELOAD="$SO" "$B/gnutls_verify_loop" "$m" "${G[@]}" 1)
                irow "GnuTLS \`gnutls_verify_loop $m\`, whole process, 1 + 1 iterations" "$a" "$b"
            done
            e=$(ir_a LD_PRELOAD="$W/libempty.so" "$B/gnutls_verify_loop" parse "${G[@]}" 1)
            irow "  reference: the same parse process with an empty preloaded object" "$a" "$e"
        fi
        if want doctor; then
            # (doctor exits 1 when it finds a problem: the count is still printed)
            doctor_ir() { ir HOME="${HOME:-/root}" "$1" doctor || true; }
            this=$(doctor_ir "$ROOT/target/release/cafix")
            if [ -n "$CAFIX_BASE" ]; then
                base=$(doctor_ir "$CAFIX_BASE")
                echo "| \`cafix doctor\`, the cafix process (CAFIX_BASE / this build) | $base | $this | $((this - base)) | $(awk -v a="$base" -v b="$this" 'BEGIN {printf "%.4f", b/a}')× |"
            else
                echo "| \`cafix doctor\`, the cafix process | | $this | | |"
            fi
        fi
    } >"$CG"
fi

# ---- 10. the portable trampolines; 32-bit processes (instructions) -------------
# Callgrind counts, one process each, side by side: `/bin/true`, and one
# verified handshake on the healthy store of section 6 (curl and
# benches/tls_client.c), without the shim, with $BASE_SO (another build,
# e.g. the commit before a change; optional) and with this build. Then the
# same for 32-bit processes: a 32-bit program that returns at once and
# tls_client.c built for i386 (i686-linux-gnu-gcc, libssl3:i386), without
# and with the i386 build (`make build-lib ARCH=i386`).
AR=$W/arches.md
if want arches && command -v valgrind >/dev/null && unshare -m --propagation private true 2>/dev/null; then
    say "10. instructions: /bin/true and one handshake, ${BASE_SO:+the base build, }this build, and 32-bit processes..."
    make -s build-lib ARCH=i386 >&2
    SO32=$ROOT/target/i686-unknown-linux-gnu/release/libcafix.so
    echo 'int main(void) { return 0; }' >"$W/true.c"
    i686-linux-gnu-gcc -O2 -o "$B/true32" "$W/true.c"
    i686-linux-gnu-gcc -O2 -Wall -o "$B/tls_client32" benches/tls_client.c -lssl -lcrypto
    start_server arches
    AR_PORT=$SRV_PORT
    cat >"$W/arches_inner.sh" <<'EOF'
set -euo pipefail
W=$1 P=$2 PORT=$3 B=$4 SO=$5 SO32=$6 BASE=$7
. "$W/healthy_etc.sh"
# User-space instructions of one process: [VAR=VALUE ...] valgrind ... command ...
VG=(valgrind --tool=callgrind --callgrind-out-file=/dev/null)
ir() { env "$@" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
row() { # what, library, command ...: without, with the base build, with this one
    local what=$1 so=$2; shift 2
    local off base=- on
    off=$(ir "${VG[@]}" "$@")
    if [ -n "$BASE" ] && [ "$so" = "$SO" ]; then base=$(ir LD_PRELOAD="$BASE" "${VG[@]}" "$@"); fi
    on=$(ir LD_PRELOAD="$so" "${VG[@]}" "$@")
    echo "$what|$off|$base|$on"
}
row '`/bin/true`, whole process' "$SO" /bin/true
row "one verified handshake, curl, whole process" "$SO" /usr/bin/curl -sS -o /dev/null "https://bench.cafix.test:$PORT/"
row "one verified handshake, benches/tls_client.c, whole process" "$SO" "$B/tls_client" bench.cafix.test "$PORT"
row "32-bit (i386): a program that returns at once" "$SO32" "$B/true32"
row "32-bit (i386): one verified handshake, benches/tls_client.c (libssl3:i386)" "$SO32" "$B/tls_client32" bench.cafix.test "$PORT"
EOF
    unshare -m --propagation private env -i "$PATHVAR" bash "$W/arches_inner.sh" "$W" "$P" "$AR_PORT" "$B" "$SO" "$SO32" "${BASE_SO:-}" >"$W/arches.txt"
    {
        echo "| instructions (user space, callgrind) | without shim | base build | this build | this / without | this / base |"
        echo "|---|---|---|---|---|---|"
        while IFS='|' read -r what off base on; do
            awk -v w="$what" -v a="$off" -v b="$base" -v c="$on" 'BEGIN {
                if (b == "-") printf "| %s | %d | | %d | %.4f× | |\n", w, a, c, c / a
                else printf "| %s | %d | %d | %d | %.4f× | %.4f× |\n", w, a, b, c, c / a, c / b }'
        done <"$W/arches.txt"
        [ -n "${BASE_SO:-}" ] && echo "base build: $BASE_SO"
    } >"$AR"
fi

# ---- report ------------------------------------------------------------------
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/machine"
echo
cat "$W/machine"
if want verify; then echo "verify (a): $A_HOW; test chain RSA-2048 root → intermediate → leaf, untrusted = [intermediate], root hash $RH"; fi
[ -n "$GT_HOW" ] && echo "GnuTLS loops: $GT_HOW"
[ -n "$PRELOAD_HOW" ] && echo "ld.so.preload: $PRELOAD_HOW"
[ -n "$JV_HOW" ] && echo "Java and Node.js: $JV_HOW"
[ -n "$DOCTOR_HOW" ] && echo "cafix doctor: $DOCTOR_HOW"
[ -n "$HS_HOW" ] && echo "handshakes: $HS_HOW" &&
    echo "handshakes, the curl process's log at debug: $(head -2 "$W/hs-curl.log" 2>/dev/null | cut -c1-160 | paste -sd'|')"
if [ -s "$W/a.stderr" ]; then
    echo "verify (a) logged, once per process ($(wc -l <"$W/a.stderr") lines in $ROUNDS processes): $(head -1 "$W/a.stderr" | cut -c1-220)…"
fi
echo
cat "$TABLE"
if [ -s "$W/jv_ir.md" ]; then cat "$W/jv_ir.md" >>"$W/hs_ir.md"; fi
if [ -s "$W/hs_ir.md" ]; then
    if [ -s "$CG" ]; then cat "$W/hs_ir.md" >>"$CG"; else
        { echo "| instructions (user space, callgrind) | without shim | with shim | difference | ratio |"; echo "|---|---|---|---|---|"; cat "$W/hs_ir.md"; } >"$CG"
    fi
fi
if [ -s "$CG" ]; then echo; cat "$CG"; fi
if [ -s "$AR" ]; then echo; cat "$AR"; fi
if [ -s "$W/bundle_index.txt" ]; then
    echo
    echo "bundle_index bench:"
    sed 's/^/    /' "$W/bundle_index.txt"
fi
echo
echo "raw per-round values (µs, ns or ms as in the table):"
for f in "$W"/res/*; do if [ -e "$f" ]; then printf '    %-14s %s\n' "$(basename "$f")" "$(paste -sd' ' "$f")"; fi; done
