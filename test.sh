#!/usr/bin/env bash
# The project's test command (see README): builds the shim and the CLI, then
# runs every unit, integration and scenario test. Needs root for the mount
# namespace scenarios.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --workspace
cargo test --workspace
