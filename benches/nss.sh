#!/usr/bin/env bash
# What the token of local CAs costs NSS programs (issue: browsers and every
# NSS program trust the administrator's CAs). Results: docs/BENCHMARKS.md.
#
#   benches/nss.sh              # 15 rounds
#   ROUNDS=5 benches/nss.sh     # quicker
#   ROUNDS=0 BASE_SO=/other/build/libcafix.so benches/nss.sh
#                               # instructions only, with another build of
#                               # libcafix.so (its engine beside it) too
#
# In a private mount namespace a local CA is installed (bound in as the one
# file of /usr/local/share/ca-certificates, and in the bundle the library
# serves from, CAFIX_BUNDLE), so under libcafix.so every NSS program with
# built-in roots gets the token. The server's own CA is another one, trusted
# through the user's NSS database in both variants, so both load the page
# and the difference is what cafix adds. Variants alternate process by
# process (off, on; then on, off), each a fresh process:
#   chromium   headless Chromium (as root, --no-sandbox) to the page's DOM
#   tstclnt    one handshake, NSS's tstclnt with the database and built-in roots
# and, in instructions (callgrind, user space): the tstclnt handshake, and
# /bin/true (a program that never initialises NSS).
# Needs root, chromium, libnss3-tools, openssl, unshare, valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-15}
W=$(mktemp -d /tmp/cafix-bench-nss.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$W"' EXIT
say() { printf '%s\n' "$*" >&2; }

say "building (release)..."
cargo build --release -p cafix-engine >&2
cargo build --release --manifest-path shim/preload/Cargo.toml --target-dir target >&2
SO=$ROOT/target/release/libcafix.so

# Two CAs: the local one (installed, never used by the server) and the server's.
mkdir -p "$W/anchors" "$W/www" "$W/home/.local/share/pki"
ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1/O=cafix bench" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -keyout "$2.key" -out "$2.pem" 2>/dev/null; }
ca "cafix bench local CA" "$W/local"
ca "cafix bench server CA" "$W/server-ca"
cp "$W/local.pem" "$W/anchors/local.crt"
cat /etc/ssl/certs/ca-certificates.crt "$W/local.pem" >"$W/bundle.pem"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$W/leaf.key" -out "$W/leaf.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n' >"$W/leaf.ext"
openssl x509 -req -in "$W/leaf.csr" -days 2 -CA "$W/server-ca.pem" -CAkey "$W/server-ca.key" -set_serial 7 \
    -extfile "$W/leaf.ext" -out "$W/leaf.pem" 2>/dev/null
DB=$W/home/.local/share/pki/nssdb
mkdir -p "$DB"
certutil -N -d "sql:$DB" --empty-password
certutil -A -d "sql:$DB" -n server-ca -t C,, -i "$W/server-ca.pem"
echo '<html><body>cafix-bench-page</body></html>' >"$W/www/page.html"
printf 'GET /page.html HTTP/1.0\r\n\r\n' >"$W/request"
PORT=$((20000 + RANDOM % 20000))
(cd "$W/www" && exec openssl s_server -accept "127.0.0.1:$PORT" -cert "$W/leaf.pem" -key "$W/leaf.key" -WWW -quiet \
    -no-CAfile -no-CApath -no-CAstore >/dev/null 2>&1) &
SERVER=$!
sleep 0.5
URL=https://localhost:$PORT/page.html

# Runs "$@" in the namespace, clean environment, HOME with the database.
in_ns() {
    env -i PATH=/usr/bin:/bin HOME="$W/home" unshare -m --propagation private sh -c \
        'mount --bind "$0" /usr/local/share/ca-certificates && exec "$@"' "$W/anchors" "$@"
}
BASE_SO=${BASE_SO:-}
on() { in_ns env LD_PRELOAD="$SO" CAFIX_BUNDLE="$W/bundle.pem" CAFIX_LOG=error "$@"; }
base() { in_ns env LD_PRELOAD="$BASE_SO" CAFIX_BUNDLE="$W/bundle.pem" CAFIX_LOG=error "$@"; }
off() { in_ns "$@"; }
chromium_page() {
    rm -rf "$W/profile"
    "$@" chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$W/profile" --dump-dom "$URL" 2>/dev/null
}
tstclnt_page() { "$@" sh -c 'exec tstclnt -h localhost -p "$0" -4 -d "sql:$1" -b <"$2" 2>/dev/null' "$PORT" "$DB" "$W/request"; }

# Sanity: both variants load the page; with the library the token is added.
for v in off on; do
    chromium_page $v | grep -q cafix-bench-page || { say "chromium ($v) did not load the page"; exit 1; }
    tstclnt_page $v | grep -q cafix-bench-page || { say "tstclnt ($v) did not load the page"; exit 1; }
done
line=$(in_ns env LD_PRELOAD="$SO" CAFIX_BUNDLE="$W/bundle.pem" CAFIX_LOG=info \
    sh -c 'exec tstclnt -h localhost -p "$0" -4 -d "sql:$1" -b <"$2"' "$PORT" "$DB" "$W/request" 2>&1 >/dev/null)
case $line in *"added 1 local CA(s) (cafix bench local CA) to NSS"*) ;; *) say "no token: $line"; exit 1 ;; esac

us() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(((t1 - t0) / 1000)); }
for t in chromium tstclnt; do : >"$W/$t.off"; : >"$W/$t.on"; done
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order="off on"; else order="on off"; fi
    for v in $order; do
        us chromium_page $v >>"$W/chromium.$v"
        us tstclnt_page $v >>"$W/tstclnt.$v"
    done
done

med() { sort -g "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
spread() { paste "$1" "$2" | awk '{print $1/$2}' | sort -g | awk '{r[NR]=$1} END {m = (NR%2) ? r[(NR+1)/2] : (r[NR/2]+r[NR/2+1])/2; printf "%.3f–%.3f (median %.3f)", r[1], r[NR], m}'; }
if ((ROUNDS > 0)); then
echo "| | without | with libcafix.so | ratio (medians) | per-round ratios |"
echo "|---|---|---|---|---|"
fi
for t in chromium tstclnt; do
    ((ROUNDS > 0)) || break
    case $t in
        chromium) label="headless Chromium to the page's DOM (fresh profile), ms" ;;
        tstclnt) label="tstclnt: NSS init with the database and built-in roots, one handshake, ms" ;;
    esac
    a=$(med "$W/$t.on"); b=$(med "$W/$t.off")
    printf '| %s, median of %d | %.1f | %.1f | %.3f× | %s |\n' "$label" "$ROUNDS" "$(awk -v x="$b" 'BEGIN {print x/1000}')" \
        "$(awk -v x="$a" 'BEGIN {print x/1000}')" "$(awk -v a="$a" -v b="$b" 'BEGIN {print a/b}')" "$(spread "$W/$t.on" "$W/$t.off")"
done

# Instructions, user space: deterministic where wall time on this VM is not.
ir() { "$@" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
hs_off=$(ir off sh -c 'exec valgrind --tool=callgrind --callgrind-out-file=/dev/null tstclnt -h localhost -p "$0" -4 -d "sql:$1" -b <"$2"' "$PORT" "$DB" "$W/request")
hs_on=$(ir on sh -c 'exec valgrind --tool=callgrind --callgrind-out-file=/dev/null tstclnt -h localhost -p "$0" -4 -d "sql:$1" -b <"$2"' "$PORT" "$DB" "$W/request")
true_on=$(ir env -i LD_PRELOAD="$SO" valgrind --tool=callgrind --callgrind-out-file=/dev/null /bin/true)
true_off=$(ir env -i valgrind --tool=callgrind --callgrind-out-file=/dev/null /bin/true)
if [ -n "$BASE_SO" ]; then
    hs_base=$(ir base sh -c 'exec valgrind --tool=callgrind --callgrind-out-file=/dev/null tstclnt -h localhost -p "$0" -4 -d "sql:$1" -b <"$2"' "$PORT" "$DB" "$W/request")
    true_base=$(ir env -i LD_PRELOAD="$BASE_SO" valgrind --tool=callgrind --callgrind-out-file=/dev/null /bin/true)
fi
# One row of instructions: label, before, after.
irow() { printf '| %s | %s | %s | %+d | %.4f× |\n' "$1" "$2" "$3" "$((${3//,/} - ${2//,/}))" \
    "$(awk -v a="${3//,/}" -v b="${2//,/}" 'BEGIN {print a/b}')"; }
echo
echo "| instructions (callgrind, user space) | without | with libcafix.so | difference | ratio |"
echo "|---|---|---|---|---|"
irow "tstclnt, one verified handshake" "$hs_off" "$hs_on"
irow "/bin/true (never initialises NSS)" "$true_off" "$true_on"
if [ -n "$BASE_SO" ]; then
    echo
    echo "base build: $BASE_SO"
    echo
    echo "| instructions (callgrind, user space) | base build | this build | difference | this / base |"
    echo "|---|---|---|---|---|"
    irow "tstclnt, one verified handshake" "$hs_base" "$hs_on"
    irow "/bin/true (never initialises NSS)" "$true_base" "$true_on"
fi
