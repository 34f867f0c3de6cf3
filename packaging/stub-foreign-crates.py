#!/usr/bin/env python3
"""Empty the vendored crates that only other operating systems build.

    packaging/stub-foreign-crates.py TREE

TREE is an unpacked release tree whose vendor/ was just written by
`cargo vendor` (make dist runs this). A crate stays whole if any Linux target
below reaches it from one of the lock files: the project's workspace,
shim/preload and c-tests/openssl-src, every dependency kind included (the
tests' too). Any other crate (windows-sys, anstyle-wincon ...) becomes a stub,
as Debian and Fedora do with such crates: its Cargo.toml unchanged (cargo
still resolves the whole lock file, for every platform, so the crate, its
features and its dependencies must be there), every target's source file
replaced by an empty one, all other files gone. The crate's package checksum,
which Cargo.lock holds, stays; its per-file checksums
(.cargo-checksum.json) are those of the stub's files, so cargo still checks
every file it reads.

Prints one line per stubbed crate.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

# The manifests whose lock files the release builds and tests from.
MANIFESTS = ["Cargo.toml", "shim/preload/Cargo.toml", "c-tests/openssl-src/Cargo.toml"]

# Linux targets of the architectures distributions ship: their cfg()s decide
# which platform-specific dependencies count.
LINUX_TARGETS = [
    "x86_64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "i686-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "aarch64-unknown-linux-musl",
    "armv7-unknown-linux-gnueabihf",
    "arm-unknown-linux-gnueabi",
    "riscv64gc-unknown-linux-gnu",
    "powerpc64le-unknown-linux-gnu",
    "powerpc64-unknown-linux-gnu",
    "powerpc-unknown-linux-gnu",
    "s390x-unknown-linux-gnu",
    "loongarch64-unknown-linux-gnu",
    "mips64el-unknown-linux-gnuabi64",
    "sparc64-unknown-linux-gnu",
]

STUB_LIB = "// Emptied by cafix's make dist: only other operating systems build this crate.\n"
STUB_MAIN = STUB_LIB + "fn main() {}\n"


def linux_packages(tree: Path) -> set[tuple[str, str]]:
    """(name, version) of every crates.io package a Linux target reaches."""
    needed = set()
    for manifest in MANIFESTS:
        cmd = ["cargo", "metadata", "--locked", "--offline", "--format-version", "1"]
        cmd += ["--manifest-path", manifest]
        for target in LINUX_TARGETS:
            cmd += ["--filter-platform", target]
        out = subprocess.run(cmd, cwd=tree, check=True, stdout=subprocess.PIPE).stdout
        for package in json.loads(out)["packages"]:
            if package["source"]:
                needed.add((package["name"], package["version"]))
    return needed


def target_files(manifest: dict) -> dict[str, str]:
    """Path -> stub contents for every source file the manifest names."""
    files = {}
    lib = manifest.get("lib")
    if lib is not None:
        files[lib.get("path", "src/lib.rs")] = STUB_LIB
    build = manifest["package"].get("build")
    if isinstance(build, str):
        files[build] = STUB_MAIN
    for kind in ["bin", "example", "test", "bench"]:
        for target in manifest.get(kind, []):
            if "path" in target:
                files[target["path"]] = STUB_MAIN
    if not files or (lib is None and manifest["package"].get("autolib", True)):
        files.setdefault("src/lib.rs", STUB_LIB)
    return files


def stub(crate: Path) -> None:
    manifest_text = (crate / "Cargo.toml").read_bytes()
    checksum = json.loads((crate / ".cargo-checksum.json").read_text())
    manifest = tomllib.loads(manifest_text.decode())
    for entry in crate.iterdir():
        if entry.name in ("Cargo.toml", ".cargo-checksum.json"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    files = {"Cargo.toml": hashlib.sha256(manifest_text).hexdigest()}
    for rel, text in target_files(manifest).items():
        path = crate / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files[rel] = hashlib.sha256(text.encode()).hexdigest()
    checksum["files"] = dict(sorted(files.items()))
    (crate / ".cargo-checksum.json").write_text(json.dumps(checksum, sort_keys=True))


def main() -> None:
    tree = Path(sys.argv[1])
    needed = linux_packages(tree)
    for crate in sorted((tree / "vendor").iterdir()):
        package = tomllib.loads((crate / "Cargo.toml").read_text())["package"]
        if (package["name"], package["version"]) not in needed:
            stub(crate)
            print(f"stubbed {package['name']} {package['version']} (no Linux target uses it)")


if __name__ == "__main__":
    main()
