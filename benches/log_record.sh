#!/usr/bin/env bash
# What one record costs the program that writes it, by destination: a
# failed X509_verify_cert without libcafix.so, with it at CAFIX_LOG=off (no
# record: its facts are not even gathered), and with its record written to
# stderr, the journal's native socket and /dev/log (rate limit off). The receivers are
# small readers on the two sockets in a private mount namespace (its own
# /run and /dev; the host's are not touched). Per record: user-space
# instructions (callgrind, the difference of a 100- and a 200-iteration run
# over the extra iterations, so start-up cancels out) and system calls
# (strace -c, the same difference). Results: docs/BENCHMARKS.md.
#
#   benches/log_record.sh
#
# Needs root, unshare, cc, libssl-dev, python3, valgrind and strace.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
cargo build --release -p cafix-engine >&2
cargo build --release --manifest-path shim/preload/Cargo.toml --target-dir target >&2
SO=$ROOT/target/release/libcafix.so
W=$(mktemp -d /tmp/cafix-log-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
cc -O2 -Wall -o "$W/log_record" benches/log_record.c -lcrypto
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=cafix log bench" -addext "subjectAltName=DNS:bench.cafix.test" \
    -keyout "$W/leaf.key" -out "$W/leaf.pem" 2>/dev/null
# Counts the datagrams on each socket; writes the count when told "count".
cat >"$W/receiver.py" <<'PY'
import socket, sys, threading
def serve(path, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    n = 0
    while True:
        if s.recv(1 << 20) == b"count":
            open(out, "w").write(str(n))
        else:
            n += 1
for path, out in zip(sys.argv[1::2], sys.argv[2::2]):
    threading.Thread(target=serve, args=(path, out), daemon=True).start()
open(sys.argv[-1] + ".ready", "w").close()
threading.Event().wait()
PY
# Its own network namespace too, for a queue long enough that no record is
# dropped (net.unix.max_dgram_qlen is 10 by default, per namespace).
unshare -m -n -p -f --mount-proc --propagation private env -i PATH=/usr/local/bin:/usr/bin:/bin W="$W" SO="$SO" bash -s <<'EOF'
set -euo pipefail
echo 100000 >/proc/sys/net/unix/max_dgram_qlen
mount -t tmpfs -o mode=755 tmpfs /run
mkdir /run/host-dev && mount --rbind /dev /run/host-dev
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty; do touch /dev/$n; mount --bind /run/host-dev/$n /dev/$n; done
ln -s /proc/self/fd /dev/fd
mkdir -p /run/systemd/journal
python3 "$W/receiver.py" /run/systemd/journal/socket "$W/journal.count" /dev/log "$W/syslog.count" &
while [ ! -e "$W/syslog.count.ready" ]; do sleep 0.05; done
run() { # TARGET N: one process, prints "instructions syscalls"
    local target=$1 n=$2 env=(LD_PRELOAD="$SO" CAFIX_LOG_RATE=0)
    case $target in
        without) env=(CAFIX_NONE=1) ;;
        off) env+=(CAFIX_LOG=off) ;;
        *) env+=(CAFIX_LOG_TARGET="$target") ;;
    esac
    local ir calls
    ir=$(env "${env[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$W/log_record" "$W/leaf.pem" "$n" 2>&1 >/dev/null </dev/null | awk '/Collected/ {print $4}')
    calls=$(strace -f -c -o "$W/strace.out" env "${env[@]}" "$W/log_record" "$W/leaf.pem" "$n" >/dev/null 2>/dev/null </dev/null; awk '$NF == "total" {print $(NF - 2)}' "$W/strace.out")
    echo "$ir $calls"
}
echo "| one failed verification | user-space instructions | system calls | instructions vs stderr | system calls vs stderr |"
echo "|---|---|---|---|---|"
for target in without off stderr journal syslog; do
    read -r i1 c1 < <(run "$target" 100)
    read -r i2 c2 < <(run "$target" 200)
    i=$(( (i2 - i1) / 110 )); c=$(awk -v a="$c1" -v b="$c2" 'BEGIN {printf "%.1f", (b - a) / 110}')
    case $target in
        without) what="without libcafix.so" ;;
        off) what="with it, CAFIX_LOG=off" ;;
        *) what="with it, the record to $target" ;;
    esac
    [ "$target" = stderr ] && { i0=$i; c0=$c; }
    if [ -n "${i0-}" ]; then
        printf '| %s | %d | %s | %+d | %+.1f |\n' "$what" "$i" "$c" "$((i - i0))" "$(awk -v a="$c" -v b="$c0" 'BEGIN {print a - b}')"
    else
        printf '| %s | %d | %s | | |\n' "$what" "$i" "$c"
    fi
done
echo
python3 -c 'import socket, sys
for p in sys.argv[1:]:
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"count", p)' /run/systemd/journal/socket /dev/log
sleep 0.5
# 330 records a target (100 + 10 and 200 + 20 iterations) under each of callgrind and strace.
echo "datagrams received: journal $(cat "$W/journal.count" 2>/dev/null || echo 0) (660 records sent), syslog $(cat "$W/syslog.count" 2>/dev/null || echo 0) (660 records, one datagram a text line)"
EOF
