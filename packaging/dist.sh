#!/usr/bin/env bash
# make dist: the release tarballs a distribution builds from, with no network.
#
#   packaging/dist.sh OUTDIR
#
# writes into OUTDIR (emptied first):
#   cafix-<version>.tar.xz         the sources: `git archive` of DIST_REF
#                                  (default HEAD), top directory cafix-<version>/
#   cafix-<version>-vendor.tar.xz  every crate the build and the tests need
#                                  (cargo vendor of the three lock files:
#                                  Cargo.lock, shim/Cargo.lock,
#                                  c-tests/openssl-src/Cargo.lock), crates only
#                                  other operating systems use emptied
#                                  (packaging/stub-foreign-crates.py), and the
#                                  .cargo/config.toml that replaces crates.io
#                                  with them: vendor/ and .cargo/ at the top,
#                                  to unpack in the source tree's top directory
#   SHA256SUMS                     both files' sums (sha256sum -c SHA256SUMS)
#
# Both are reproducible: every entry's time is the commit's time (or
# SOURCE_DATE_EPOCH), owner root, modes without the umask's say, sorted by
# name, xz single-threaded.
# Vendoring needs the crates (crates.io, or cargo's registry cache).
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
cd "$(dirname "$0")/.."
ref=${DIST_REF:-HEAD}

git rev-parse --verify -q "$ref^{commit}" >/dev/null || {
    echo "dist: $ref is not a commit of this git repository (a release tarball is made from git)" >&2
    exit 1
}
version=$(git show "$ref:Cargo.toml" | sed -n 's/^version = "\(.*\)"/\1/p' | head -1)
name=cafix-$version
if [ "$ref" = HEAD ] && ! git diff --quiet HEAD --; then
    echo "dist: note: uncommitted changes are not in the tarball (it holds HEAD, $(git rev-parse --short HEAD))" >&2
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct "$ref")}

work=$(mktemp -d "${TMPDIR:-/tmp}/cafix-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT
git archive --format=tar --prefix="$name/" "$ref" >"$work/$name.tar"
tar -xf "$work/$name.tar" -C "$work"
tree=$work/$name

# Vendored from the archived tree's own lock files, so the two tarballs match.
(
    cd "$tree"
    cargo vendor --locked --quiet \
        --sync shim/preload/Cargo.toml --sync c-tests/openssl-src/Cargo.toml vendor >/dev/null
    mkdir .cargo
    cat >.cargo/config.toml <<'EOF'
# From cafix's vendor tarball: the crates in vendor/ replace crates.io, so
# cargo builds with no network (it checks every file against
# vendor/*/.cargo-checksum.json and every crate against Cargo.lock).
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
EOF
)
python3 packaging/stub-foreign-crates.py "$tree" | sed 's/^/dist: /' >&2

reproducible_tar=(tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --mode=go=u,go-w
    --owner=0 --group=0 --numeric-owner --format=pax
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
rm -rf "$out"
mkdir -p "$out"
xz -T1 -6 <"$work/$name.tar" >"$out/$name.tar.xz"
"${reproducible_tar[@]}" -C "$tree" -cf - .cargo vendor | xz -T1 -6 >"$out/$name-vendor.tar.xz"
(cd "$out" && sha256sum "$name.tar.xz" "$name-vendor.tar.xz" >SHA256SUMS)
echo "dist: $(du -k "$out/$name.tar.xz" | cut -f1) KiB $out/$name.tar.xz" >&2
echo "dist: $(du -k "$out/$name-vendor.tar.xz" | cut -f1) KiB $out/$name-vendor.tar.xz ($(du -sk "$tree/vendor" | cut -f1) KiB unpacked)" >&2
