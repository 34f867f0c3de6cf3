#!/usr/bin/env python3
"""Write packaging/debian/copyright from a release's vendored crates.

    packaging/debian-copyright.py VENDOR_DIR > packaging/debian/copyright

VENDOR_DIR is the vendor/ of make dist's vendor tarball. The Debian source
tree has the crates in vendor/vendor/ (dpkg-source unpacks the orig-vendor
component into vendor/). Crates under "MIT OR Apache-2.0" (in any spelling)
are covered by the one vendor paragraph; every other crate gets its own, and
so does the C source the openssl-src crates carry. A license this script has
no text for stops it: add the text below. tests/dist.rs checks the committed
file against the vendor tarball.
"""

import sys
import tomllib
from pathlib import Path

DEFAULT = frozenset({"Expat", "Apache-2.0"})

# Texts of the licenses not in /usr/share/common-licenses. Unicode-3.0,
# Unlicense, ISC, BSD-3-clause (subtle's, with its copyright notice) and
# OpenSSL come from the crates' own files.
EXPAT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
APACHE = "On Debian systems, the full text of the Apache License, Version 2.0\ncan be found in /usr/share/common-licenses/Apache-2.0.\n"
TEXT_FILES = {
    "Unicode-3.0": ["LICENSE-UNICODE"],
    "Unlicense": ["UNLICENSE"],
    "OpenSSL": ["openssl/LICENSE"],
    "ISC": ["LICENSE"],
    "BSD-3-clause": ["LICENSE"],
}
PUBLIC_DOMAIN = "The file says: \"This file is in the Public Domain\".\n"
SPDX_TO_DEP5 = {
    "MIT": "Expat",
    "Apache-2.0": "Apache-2.0",
    "Unlicense": "Unlicense",
    "Unicode-3.0": "Unicode-3.0",
    "ISC": "ISC",
    "BSD-3-Clause": "BSD-3-clause",
}
# Files a crate carries under another license than its own: (crate, path,
# license, who, what).
EMBEDDED = [
    ("cryptoki-sys", "vendor/pkcs11.h", "public-domain", "the PKCS #11 header's authors", "The PKCS #11 header the crate ships."),
]


def dep5(spdx: str) -> str:
    """An SPDX expression (or the old A/B form) in DEP-5 spelling."""
    words = spdx.replace("/", " OR ").replace("(", " ( ").replace(")", " ) ").split()
    out = []
    for w in words:
        if w in ("OR", "AND"):
            out.append(w.lower())
        elif w in "()":
            out.append(w)
        elif w in SPDX_TO_DEP5:
            out.append(SPDX_TO_DEP5[w])
        else:
            sys.exit(f"debian-copyright: unknown license {w!r} in {spdx!r}: add its text to this script")
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def names(expression: str) -> set[str]:
    return {w for w in expression.replace("(", " ").replace(")", " ").split() if w not in ("or", "and")}


def formatted(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    return "\n".join(" " + line.rstrip() if line.strip() else " ." for line in lines)


def main() -> None:
    vendor = Path(sys.argv[1])
    paragraphs = []
    texts = {}  # license name -> the crate directory holding its text
    for crate in sorted(vendor.iterdir()):
        package = tomllib.loads((crate / "Cargo.toml").read_text())["package"]
        expression = dep5(package["license"])
        if names(expression) != DEFAULT or " and " in expression:
            authors = ", ".join(package.get("authors") or [f"the {package['name']} authors"])
            paragraphs.append((f"vendor/vendor/{crate.name}/*", authors, expression, None))
            for name in names(expression):
                texts.setdefault(name, crate)
        if package["name"] == "openssl-src":
            licence = (crate / "openssl/LICENSE.txt").exists() and "openssl/LICENSE.txt" or "openssl/LICENSE"
            text = (crate / licence).read_text()
            name = "Apache-2.0" if "Apache License" in text and "Version 2.0" in text else "OpenSSL"
            paragraphs.append(
                (f"vendor/vendor/{crate.name}/openssl/*", "The OpenSSL Project Authors", name, f"OpenSSL {package['version'].split('+')[-1]}, as the crate ships it.")
            )
            texts.setdefault(name, crate)
        for owner, path, name, who, what in EMBEDDED:
            if package["name"] == owner and (crate / path).exists():
                paragraphs.append((f"vendor/vendor/{crate.name}/{path}", who, name, what))
                texts.setdefault(name, crate)

    out = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        "Upstream-Name: cafix",
        "Comment: Generated by packaging/debian-copyright.py from the release's vendor",
        " tarball, which dpkg-source unpacks into vendor/.",
        "",
        "Files: *",
        "Copyright: 2026 cafix developers",
        "License: Expat or Apache-2.0",
        "",
        "Files: vendor/*",
        "Copyright: the authors each crate's Cargo.toml names",
        "License: Expat or Apache-2.0",
        "Comment: Crates from crates.io. Those under another license follow.",
    ]
    for files, copyright, licence, comment in paragraphs:
        out += ["", f"Files: {files}", f"Copyright: {copyright}", f"License: {licence}"]
        if comment:
            out.append(f"Comment: {comment}")
    used = {"Expat", "Apache-2.0"} | set(texts)
    for name in sorted(used):
        if name == "Expat":
            text = EXPAT
        elif name == "Apache-2.0":
            text = APACHE
        elif name == "public-domain":
            text = PUBLIC_DOMAIN
        else:
            crate = texts[name]
            text = next((crate / f).read_text() for f in TEXT_FILES[name] if (crate / f).exists())
        out += ["", f"License: {name}", formatted(text)]
    print("\n".join(out))


if __name__ == "__main__":
    main()
