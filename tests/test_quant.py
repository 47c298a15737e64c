"""int8 models: the viper kernels against their plain-Python fallback, accuracy against the
float model, .mnn files, and errors."""
import functools

import pytest

NETS = """
import array, json, micronn
from micronn.rng import Random
r = Random(4)
def rows(n, width, lo=-1.0, hi=1.0):
    return [[r.uniform(lo, hi) for _ in range(width)] for _ in range(n)]
cases = [([16, 32, 32, 4], "sigmoid", "sigmoid", True), ([64, 64, 10], "relu", "softmax", True),
         ([3, 4, 1], "sigmoid", "sigmoid", False), ([8, 16, 3], "tanh", "tanh", True),
         ([8, 12, 5, 2], "leaky_relu", "linear", True), ([5, 300, 2], "linear", "relu", True)]
def models(only):     # the model cases[only], its data drawn as if the ones before were made too
    for k, (sizes, act, out, bias) in enumerate(cases):
        if k < only:
            for _ in range(40 * sizes[0]):
                r.uniform(-1.0, 1.0)
        elif k == only:
            net = micronn.Network(sizes, activation=act, output=out, bias=bias, seed=2)
            X = rows(40, sizes[0])
            yield net, X, micronn.quantize(net, X=X), micronn.quantize(net)
"""
# one case per model: a 64-64-10 network with its 40 rows of boxed floats takes a third of a
# 192 KB board's heap, too much to keep beside the others
N_NETS = 6


MODELS = NETS + """
res = []
for net, X, q, q0 in models(%d):
    raw = []
    for x in X:
        q.predict(x)
        raw.append(list(q._acc))
    want = net.predict_many(X)
    diff = lambda m: max(max(abs(a - b) for a, b in zip(u, v)) for u, v in zip(m.predict_many(X), want))
    res.append({"raw": raw, "out": q.predict_many(X), "diff": diff(q), "diff0": diff(q0),
                "nbytes": q.nbytes, "params": q.n_params, "wbytes": len(q.W)})
net = X = q = q0 = want = diff = None     # room for the JSON (a 192 KB board)
print(json.dumps(res))
"""

ACCUMULATORS = """
import json, micronn
net = micronn.Network([300, 3, 2], activation="relu", output="linear", seed=1)
for L in net.layers:
    for k in range(len(L.W)):
        L.W[k] = 1.0 if k % 2 else -1.0
    for j in range(L.n_out):
        L.b[j] = 50.0
q = micronn.quantize(net)
res = []
for x in ([1.0] * 300, [-1.0] * 300, [1.0, -1.0] * 150, [5.0] * 300):
    res.append([q.predict(x), list(q._acc)])
print(json.dumps(res))
"""

SAVE_LOAD = NETS + """
from micronn import store
res = []
for net, X, q, q0 in models(%(k)d):
    q.save(%(path)r)
    again = micronn.load(%(path)r)
    with open(%(path)r, "rb") as f:
        info = store.describe(f)
    res.append([again.predict_many(X) == q.predict_many(X), info["dtype"], info["nbytes"], q.nbytes,
                again.sizes == q.sizes, again.activations == q.activations])
print(json.dumps(res))
"""

# the file is damaged here, on the runtime, as a copy that ends early and one with a flipped byte
DAMAGED = """
import json, micronn
net = micronn.Network([4, 6, 2], seed=1)
micronn.quantize(net).save(%(path)r)
with open(%(path)r, "rb") as f:
    data = f.read()
bad = bytearray(data)
bad[30] ^= 0xFF
res = []
for name, content in ((%(short)r, data[:-10]), (%(flip)r, bytes(bad))):
    with open(name, "wb") as f:
        f.write(content)
    try:
        micronn.load(name)
        res.append(["no exception", ""])
    except Exception as e:
        res.append([type(e).__name__, str(e)])
print(json.dumps(res))
"""

FLOAT_MODEL = """
import json, micronn
net = micronn.Network([3, 5, 2], seed=3)
net.save(%(path)r)
again = micronn.load(%(path)r)
print(json.dumps([again.dtype, again.predict([0.1, 0.2, 0.3]) == net.predict([0.1, 0.2, 0.3])]))
"""

ERRORS = [
    ("micronn.quantize(micronn.Network([2, 2]), bits=16)", "only 8-bit"),
    ("micronn.quantize(micronn.Network([2, 2])).predict([1.0])", "expected 2"),
    ("micronn.quantize(micronn.Network([2, 2])).predict([1.0, 'a'])", "input 1"),
    ("micronn.quantize(micronn.Network([2, 2])).predict([1.0, float('nan')])", "input 1"),
    ("micronn.quantize(micronn.Network([2, 2])).save('x.json', format='json')", ".mnn only"),
]


@pytest.fixture(scope="session")
def results(tmp_path_factory):
    """Every case of this file run once per runtime, all in one interpreter; {key: Result}."""
    @functools.cache
    def on(rt):
        tmp = tmp_path_factory.mktemp("quant-" + rt.name)
        cases = {"accumulators": ACCUMULATORS,
                 "damaged": DAMAGED % {"path": str(tmp / "d.mnn"), "short": str(tmp / "short.mnn"),
                                       "flip": str(tmp / "flip.mnn")},
                 "float-model": FLOAT_MODEL % {"path": str(tmp / "f.mnn")}}
        for k in range(N_NETS):
            cases["models", k] = MODELS % k
            cases["save-load", k] = SAVE_LOAD % {"path": str(tmp / "q.mnn"), "k": k}
        for code, _ in ERRORS:
            cases["error", code] = "import micronn\n" + code
        got = rt.run_batch(cases)
        for name in ("models", "save-load"):        # the models' results in one list, as one case
            got[name] = Joined([got[name, k] for k in range(N_NETS)])
        return got
    return on


class Joined:
    """The results of one case per model as one: value is the list of their values."""

    def __init__(self, parts):
        self.parts = parts

    @property
    def value(self):
        return [v for part in self.parts for v in part.value]


def test_integer_kernels_are_bit_exact_against_the_plain_python_fallback(cpython, upy, results):
    a = results(cpython)["models"].value
    b = results(upy)["models"].value
    for x, y in zip(a, b):
        assert x["raw"] == y["raw"]
        for u, v in zip(x["out"], y["out"]):
            # the integers agree exactly; the float scales come from calibration through each
            # runtime's float forward pass, so they may differ in the last float32 bits
            assert max(abs(p - q) for p, q in zip(u, v)) <= 1e-6


def test_int8_outputs_stay_close_to_the_float_model(rt, results):
    got = results(rt)["models"].value
    # sigmoid/softmax/tanh outputs are within a few hundredths; the unbounded ones relative to
    # their size (the linear 300-unit layer is the hardest case)
    limits = [0.01, 0.03, 0.01, 0.03, 0.1, 0.1]
    for k, (case, limit) in enumerate(zip(got, limits)):
        assert case["diff"] <= limit, case["diff"]
        if k < 4:       # bounded hidden layers do without calibration data
            assert case["diff0"] <= 3 * limit
        if k < 2:       # the bench's networks: one byte a weight, four a bias, a small table
            assert case["nbytes"] <= 1.25 * case["params"]


def test_accumulators_fit_32_bits_at_the_extremes(cpython, upy, results):
    a = results(cpython)["accumulators"].value
    b = results(upy)["accumulators"].value
    assert [r[1] for r in a] == [r[1] for r in b]
    for out, raw in a:
        assert all(0 <= v < 2 ** 31 for v in raw)


def test_a_quantized_model_saves_loads_and_predicts_the_same(rt, results):
    for same, dtype, described, nbytes, sizes, acts in results(rt)["save-load"].value:
        assert same and sizes and acts
        assert dtype == "b" and described == nbytes


def test_damaged_quantized_files_are_refused(rt, results):
    got = results(rt)["damaged"].value
    assert len(got) == 2
    for (kind, msg), name, words in zip(got, ("short.mnn", "flip.mnn"), ("truncated", "corrupted")):
        assert kind == "ValueError" and words in msg and name in msg


def test_float_models_still_load_next_to_quantized_ones(rt, results):
    assert results(rt)["float-model"].value == ["f", True]


@pytest.mark.parametrize("code,words", ERRORS)
def test_clear_errors(rt, results, code, words):
    kind, msg = results(rt)["error", code].raised()
    assert kind == "ValueError" and words in msg, msg
