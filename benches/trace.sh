#!/usr/bin/env bash
# What `cafix trace` costs the traced command: file-heavy commands run
# plain, under `cafix trace` (seccomp filter: only path lookups that can name
# a trust location stop the command), under `cafix trace` without the filter
# (CAFIX_TRACE_NO_SECCOMP=1: every system call stops it, the fallback for
# kernels without SECCOMP_RET_TRACE), with the filter but without the
# tracer's 100 µs polling (CAFIX_TRACE_SPIN_US=0), and with tracer and
# command sharing one CPU (CAFIX_TRACE_ONE_CPU=1).
# Results and how to read them: docs/BENCHMARKS.md (the latest figures and
# the method, "`cafix trace`") and docs/benchmarks-history.md ("cafix trace").
#
#   benches/trace.sh                     # 5 rounds, about 4 minutes
#   ROUNDS=3 RUNS=5 benches/trace.sh     # quicker, noisier
#
# Method (as benches/run.sh): the variants run interleaved, ROUNDS rounds,
# the order rotating each round; in each round every variant is one
# hyperfine run of RUNS timed runs (after 2 warm-ups) of a fresh process,
# and gives its median. The table shows the median over the rounds, the
# ratio of the medians to "plain", and as the noise the range of the
# per-round ratios.
#
# Needs hyperfine (apt-get install hyperfine), python3, cc. Not a test:
# nothing here passes or fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-10}
W=$(mktemp -d /tmp/cafix-trace-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }

echo "building cafix (release)..." >&2
cargo build --release --bin cafix >&2
CAFIX=$PWD/target/release/cafix
cc -O2 -Wall -o "$W/stat_loop" benches/stat_loop.c
cat >"$W/imports.py" <<'EOF'
import json, email.parser, http.client, xml.dom.minidom, unittest, asyncio, ssl, decimal, argparse, logging, sqlite3, urllib.request
EOF

# Children get an empty environment: no SSL_CERT_*, no CAFIX_*.
CLEAN="env -i PATH=/usr/local/bin:/usr/bin:/bin"
VARIANTS=("plain" "trace" "poll 0" "one CPU" "no filter")
prefix() {
    case $1 in
    plain) echo "$CLEAN" ;;
    trace) echo "$CLEAN $CAFIX trace -o /dev/null --" ;;
    "one CPU") echo "$CLEAN CAFIX_TRACE_ONE_CPU=1 $CAFIX trace -o /dev/null --" ;;
    "poll 0") echo "$CLEAN CAFIX_TRACE_SPIN_US=0 $CAFIX trace -o /dev/null --" ;;
    "no filter") echo "$CLEAN CAFIX_TRACE_NO_SECCOMP=1 $CAFIX trace -o /dev/null --" ;;
    esac
}

WORKLOADS=(find python stat_loop true)
workload() {
    case $1 in
    find) echo "find /usr/share -name *.txt" ;;
    python) echo "/usr/bin/python3 -I $W/imports.py" ;;
    stat_loop) echo "$W/stat_loop statmiss /usr/share/cafix-bench-missing 20000" ;;
    true) echo "/bin/true" ;;
    esac
}

for round in $(seq 1 "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        n=${#VARIANTS[@]}
        for i in $(seq 0 $((n - 1))); do
            v=${VARIANTS[$(((i + round) % n))]}
            echo "round $round/$ROUNDS: $w, $v" >&2
            hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$W/$w.$v.$round.json" \
                "$(prefix "$v") $(workload "$w")" >/dev/null 2>&1
        done
    done
done

python3 - "$W" "$ROUNDS" "$(nproc)" "$(uname -r)" "${VARIANTS[@]}" <<'EOF'
import json, statistics, sys
w, rounds, cpus, kernel, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
names = {
    "find": "`find /usr/share -name '*.txt'` (directory walk, ~10 000 lookups relative to a directory fd)",
    "python": "`python3 -I imports.py` (12 stdlib packages: ~800 absolute stat/open)",
    "stat_loop": "`stat_loop statmiss` (22 000 `stat()` of a missing absolute path: the worst case)",
    "true": "`/bin/true` (start-up only)",
}
def med(wl, v, r):
    return statistics.median(json.load(open(f"{w}/{wl}.{v}.{r}.json"))["results"][0]["times"])
print(f"\n{cpus} CPUs, Linux {kernel}; {rounds} rounds\n")
print("| command | " + " | ".join(variants) + " |")
print("|---" * (len(variants) + 1) + "|")
per_stop = {}
for wl, what in names.items():
    base = [med(wl, "plain", r) for r in range(1, rounds + 1)]
    cells = [f"{statistics.median(base)*1e3:.1f} ms"]
    for v in variants[1:]:
        t = [med(wl, v, r) for r in range(1, rounds + 1)]
        ratios = [a / b for a, b in zip(t, base)]
        cells.append(f"{statistics.median(t)*1e3:.1f} ms **{statistics.median(t)/statistics.median(base):.2f}×** ({min(ratios):.2f}–{max(ratios):.2f})")
        if wl == "stat_loop":
            per_stop[v] = (statistics.median(t) - statistics.median(base)) / 22000 * 1e6
    print(f"| {what} | " + " | ".join(cells) + " |")
print()
for v, us in per_stop.items():
    print(f"- per traced `stat()`, {v}: {us:.1f} µs")
EOF
