#!/usr/bin/env bash
# A bounded fuzz run of every target, from the committed seeds: part of CI.
# FUZZ_SECONDS per target (default 40). Fails on any crash, or if the
# nightly toolchain cargo-fuzz needs is missing.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-40}
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz/ci.sh: no nightly toolchain (cargo fuzz needs one)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
targets=$(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.toml | grep -v '^cafix-fuzz$')
cargo +nightly fuzz build -O
for target in $targets; do
    # A scratch copy of the seeds, so CI adds nothing to the repository.
    work=$(mktemp -d)
    cp corpus/"$target"/seed-* "$work"/
    echo "fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run -O "$target" "$work" -- -max_total_time="$seconds" 2>&1 | tail -n 1
    rm -rf "$work"
done
echo "fuzz: $(echo $targets | wc -w) targets ran ${seconds}s each without a crash"
