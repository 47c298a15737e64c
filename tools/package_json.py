"""Write package.json, the file `mpremote mip install` (and mip on a board) reads, from
pyproject.toml's version and the files in lib/micronn; and put that version into the two
places that cannot read pyproject.toml (lib/micronn/__init__.py's __version__, which a board
reports, and manifest.py's metadata), so pyproject.toml is the one place it is changed.

    python tools/package_json.py          # or: make package.json

Every url is relative to package.json, so the same file serves `mpremote mip install
github:OWNER/REPO` (mip fetches lib/micronn/x.py from the repository next to it) and
`mpremote mip install ./package.json` from a checkout.  tests/test_mip.py checks that the
checked-in file is what this writes.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def version():
    text = (ROOT / "pyproject.toml").read_text()
    m = re.search(r'(?m)^version\s*=\s*"([^"]+)"', text)
    if not m:
        sys.exit("pyproject.toml has no version")
    return m.group(1)


def package():
    files = sorted((ROOT / "lib" / "micronn").glob("*.py"))
    return {
        "urls": [["micronn/" + f.name, "lib/micronn/" + f.name] for f in files],
        "deps": [],
        "version": version(),
    }


def text():
    """package() as JSON, one url pair a line."""
    pkg = package()
    urls = ",\n".join("    " + json.dumps(u) for u in pkg["urls"])
    return '{\n  "urls": [\n%s\n  ],\n  "deps": %s,\n  "version": %s\n}\n' % (
        urls, json.dumps(pkg["deps"]), json.dumps(pkg["version"]))


# (file, the version literal in it)
STAMPED = (("lib/micronn/__init__.py", r'(?m)^(__version__ = ")([^"]+)(")'),
           ("manifest.py", r'(metadata\([^)]*version=")([^"]+)(")'))


def stamp():
    """Put pyproject.toml's version into the files of STAMPED (unchanged files are not written)."""
    v = version()
    for name, pattern in STAMPED:
        path = ROOT / name
        old = path.read_text()
        new, n = re.subn(pattern, lambda m: m.group(1) + v + m.group(3), old)
        if n != 1:
            sys.exit("%s: no version literal to set" % name)
        if new != old:
            path.write_text(new)


if __name__ == "__main__":
    stamp()
    (ROOT / "package.json").write_text(text())
    print("package.json: micronn %s, %d files" % (version(), len(package()["urls"])))
