#!/usr/bin/env bash
# The project's test command (see README): builds the shim and the CLI, then
# runs every unit, integration and scenario test. Needs root for the mount
# namespace scenarios.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --workspace
# libcafix.so is its own workspace (built with panic = "abort"); its unit
# tests, then a build into the shared target directory for the tests above.
cargo test --manifest-path shim/preload/Cargo.toml --target-dir target
cargo build --manifest-path shim/preload/Cargo.toml --target-dir target
cargo test --workspace
