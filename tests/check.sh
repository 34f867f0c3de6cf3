#!/usr/bin/env bash
# Builds the shim and the CLI and runs every unit, integration and scenario
# test, as root or as any other user: what `make check` and ./test.sh run.
#
#   tests/check.sh [ARGS]   ARGS go to the last `cargo test` (a test target,
#                           a name filter, --lib ...)
#
# As root every test runs. Another user runs them in a user namespace of its
# own where it is root (unshare --map-root-user): the private mount
# namespaces, bind mounts over /etc/ssl/certs and overlays of the scenario
# tests work there. What needs more, the machine's own root (a setuid
# program, another user, dpkg's database), is skipped with one line saying
# why: a test by tests/shared_env's needs_real_root, whole test files by the
# list below. With CI set, a would-be skip fails instead. Where the kernel
# grants no user namespace, one line says so and only the tests that need
# none run.
#
# Environment: CARGO, the cargo command with its options (make check passes
# its own, e.g. "cargo --offline --locked"); CI.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a cargo <<<"${CARGO:-cargo}"
# The tests run make themselves (make install, deb, rpm, dist; c-tests):
# not with the flags of the make that may have started this (`make -C DIR
# check` has its `make -s` print "Entering directory").
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

ci() { [ -n "${CI-}" ] && [ "$CI" != false ] && [ "$CI" != 0 ]; }

# Test files that need the machine's own root throughout, and why.
ANCHORS="installs a local CA with update-ca-certificates, whose ca-certificates-java hook runs dpkg's triggers in the machine's dpkg database"
declare -A REAL_ROOT_TESTS=(
    [cli_doctor_root_stores]=$ANCHORS
    [scenario_local_cas]=$ANCHORS
    [scenario_java]=$ANCHORS
    [scenario_nss]=$ANCHORS
)
# The tests that need neither root nor a namespace.
UNPRIVILEGED_TESTS=(--lib --bins --test bundle_index --test cli_check --test cli_hash --test subject_hash)

if [ "$(id -u)" != 0 ]; then
    if why=$(unshare --map-root-user true 2>&1); then
        echo "check: as $(id -un), in a user namespace where it is root (unshare --map-root-user)" >&2
        # `cafix run` keeps its runtime files in $XDG_RUNTIME_DIR/cafix, else
        # /tmp/cafix-<uid>: in the namespace that would be /tmp/cafix-0, the
        # real root's.
        if [ -z "${XDG_RUNTIME_DIR-}" ] || [ ! -O "$XDG_RUNTIME_DIR" ]; then
            XDG_RUNTIME_DIR=$PWD/target/check-runtime
            mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
            export XDG_RUNTIME_DIR
        fi
        # Root's tools (update-ca-certificates ...), as root's PATH has them.
        case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac
        CAFIX_CHECK_USER=$(id -un) exec unshare --map-root-user "$0" "$@"
    fi
    if ci; then
        echo "check: no user namespace here (unshare --map-root-user: $why), and CI is set: nothing may be skipped" >&2
        exit 1
    fi
    echo "check: no user namespace here (unshare --map-root-user: $why): the scenario tests are skipped; the unit and CLI tests run" >&2
    "${cargo[@]}" test --manifest-path shim/preload/Cargo.toml --target-dir target
    exec "${cargo[@]}" test "${UNPRIVILEGED_TESTS[@]}" "$@"
fi

# In the user namespace, with no ARGS: every test file but those above.
selection=(--workspace "$@")
if [ -n "${CAFIX_CHECK_USER-}" ] && [ $# -eq 0 ]; then
    selection=(--workspace --lib --bins)
    for file in tests/*.rs; do
        name=$(basename "$file" .rs)
        if [ -n "${REAL_ROOT_TESTS[$name]-}" ]; then
            if ci; then
                echo "check: $name needs the real root (${REAL_ROOT_TESTS[$name]}), and CI is set: nothing may be skipped" >&2
                exit 1
            fi
            echo "skipped $name: needs the real root: ${REAL_ROOT_TESTS[$name]}" >&2
        else
            selection+=(--test "$name")
        fi
    done
fi

"${cargo[@]}" build --workspace
# libcafix.so is in its own workspace (built with panic = "abort"); its unit
# tests, then a build into the shared target directory for the tests below.
"${cargo[@]}" test --manifest-path shim/preload/Cargo.toml --target-dir target
"${cargo[@]}" build --manifest-path shim/preload/Cargo.toml --target-dir target
# Every test binary runs, even after one failed: a packager sees them all.
status=0
"${cargo[@]}" test --no-fail-fast "${selection[@]}" || status=$?
echo "check: exit $status after $SECONDS s, as $(id -un)${CAFIX_CHECK_USER:+ ($CAFIX_CHECK_USER)}" >&2
exit "$status"
