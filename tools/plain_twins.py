"""Write lib/micronn/_plain_<name>.py for every lib module with viper code: the same source
with each @micropython.viper/native line emptied (line numbers stay the original's).

    python tools/plain_twins.py          # or: make twins

Firmware without a native emitter (CircuitPython by default, the WASI port, builds without
MICROPY_EMIT_*) refuses to compile a viper function: importing kernels.py there is a
SyntaxError, and a native .mpy for another architecture a ValueError.  micronn/__init__.py
catches that and imports these twins under the modules' own names (micronn._plain).  They are
generated, never edited; tests/test_no_native.py checks that they are current.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "micronn"
DECORATOR = re.compile(r"^[ \t]*@micropython\.(viper|native)[ \t]*$", re.M)
PREFIX = "_plain_"


def viper_modules():
    """Names of the lib modules with native code, in import order (a twin imports the ones before)."""
    found = [p.stem for p in sorted(LIB.glob("*.py"))
             if not p.stem.startswith(PREFIX) and p.stem != "_upy" and DECORATOR.search(p.read_text())]
    order = ["kernels", "exact", "optim", "quant"]
    return [m for m in order if m in found] + [m for m in found if m not in order]


def twin(name):
    src = (LIB / (name + ".py")).read_text()
    return DECORATOR.sub("", src) + (
        "\n# Generated from %s.py by tools/plain_twins.py (the same source, native decorators removed):\n"
        "# micronn imports it as micronn.%s on firmware without a native emitter.  Do not edit.\n"
        % (name, name))


def expected():
    return {PREFIX + name + ".py": twin(name) for name in viper_modules()}


if __name__ == "__main__":
    want = expected()
    for old in LIB.glob(PREFIX + "*.py"):
        if old.name not in want:
            old.unlink()
    for fname, text in want.items():
        (LIB / fname).write_text(text)
    print("plain twins: %s" % ", ".join(sorted(want)))
    sys.exit(0)
