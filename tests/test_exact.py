"""The integer-exact float32 kernels (exact.py) against the float kernels they replace.

The same source runs compiled by viper under MicroPython and as plain Python under CPython:
the float32 results must agree bit for bit between the two, and stay within 1e-6 (relative to
max(1, |value|)) of the float path.
"""
import functools
import json

import pytest

# key: code; every case runs once per runtime, all in one interpreter (the `results` fixture)
CASES = {}


@pytest.fixture(scope="session")
def results():
    return functools.cache(lambda rt: rt.run_batch(CASES))


# random layers: widths around the 32-term carry chunks, tiny and zero weights, with and
# without biases; the inputs cover several binades.  Drawn here and sent as float32 bits, so
# that every runtime gets the same numbers (a float32 runtime's own uniform() and products round
# differently).


def _layers():
    import array
    import binascii
    from micronn.rng import Random
    r = Random(11)

    def rnd(n, lo, hi):
        return array.array("f", [r.uniform(lo, hi) for _ in range(n)])
    cases = []
    for n_in, n_out, has_b in ((1, 1, 1), (3, 4, 0), (31, 5, 1), (32, 3, 1), (33, 2, 0), (64, 10, 1),
                               (100, 7, 1), (7, 3, 1), (16, 32, 1)):
        X = rnd(n_in, -3.0, 3.0)
        W = rnd(n_in * n_out, -0.7, 0.7)
        B = rnd(n_out, -1.0, 1.0)
        for k in range(0, len(W), 5):
            W[k] *= 1e-4               # small weights next to big ones in a row
        for k in range(2, len(W), 7):
            W[k] = 0.0
        X[0] = X[0] * 1e-3
        if n_in > 2:
            X[1] = 0.0
        cases.append([binascii.hexlify(bytes(a)).decode() for a in (X, W, B)] + [has_b, n_in, n_out])
    return cases


LAYERS = """
import array, binascii, json, struct
from micronn import exact, kernels
def floats(h):
    raw = binascii.unhexlify(h)
    return array.array("f", struct.unpack("<%%df" %% (len(raw) // 4), raw))
cases = []
for hx, hw, hb, has_b, n_in, n_out in json.loads(%r):
    cases.append((floats(hx), floats(hw), floats(hb) if has_b else None, has_b, n_in, n_out))
""" % json.dumps(_layers())


CASES["layers"] = LAYERS + """
out = []
for X, W, B, has_b, n_in, n_out in cases:
    S = array.array("i", bytearray(8 * (n_in + 1)))
    O = array.array("f", bytearray(4 * n_out))
    ex = exact.align(X, n_in, has_b, S)
    ok = exact.dense(W, S, S, ex, n_in, W, W if B is None else B, has_b, n_out, O, n_in, 1)
    ref = [0.0] * n_out
    kernels.dense_forward(list(X), W, B, has_b, n_in, n_out, ref)
    bits = list(array.array("I", bytes(O)))
    out.append([ok, ex, bits, list(O), ref])
print(json.dumps(out))
"""


def test_dense_is_within_1e6_of_the_float_kernel(rt, results):
    for ok, ex, bits, got, ref in results(rt)["layers"].value:
        assert ok == 1 and ex > 0
        for g, f in zip(got, ref):
            assert abs(g - f) <= 1e-6 * max(1.0, abs(f)), (g, f)


def test_viper_and_plain_python_agree_bit_for_bit(cpython, upy, results):
    """On every MicroPython (64-bit and 32-bit machine words, float64 and float32) as under CPython."""
    a = results(cpython)["layers"].value
    b = results(upy)["layers"].value
    assert [c[:3] for c in a] == [c[:3] for c in b]


CASES["rounding"] = """
import array, json
from micronn import exact
def one(x, w, b=None):
    n = len(x)
    X = array.array("f", x)
    W = array.array("f", w)
    S = array.array("i", bytearray(8 * (n + 1)))
    O = array.array("f", [7.0])
    has_b = 0 if b is None else 1
    ex = exact.align(X, n, has_b, S)
    if ex < 0:
        return "nonfinite"
    if not exact.dense(W, S, S, ex, n, W, W if b is None else array.array("f", [b]), has_b, 1, O, n, 1):
        return "nonfinite"
    return array.array("I", bytes(O))[0]        # the bits: a float32's str() need not read back
u = 2.0 ** -12
v = 2.0 ** -23
print(json.dumps([
    one([1.0 + u], [1.0 + u]),                  # 1 + 2u + u*u: a tie, stays even
    one([1.0 + u + v], [1.0 + u]),              # just above the tie: up
    one([1.0 + u, 1.0], [1.0 + u, -1.0]),       # cancellation leaves 2u + u*u exactly
    one([1.5, -1.25], [1.75, 1.5], 0.75),       # a plain sum with a bias
    one([3.0], [-2.0], 0.5),                    # -5.5
    one([2.0 ** 100, 2.0 ** 100], [2.0 ** 27, 2.0 ** 27]),   # overflows float32: inf
    one([2.0 ** -70], [2.0 ** -70]),            # underflows: 0
    one([0.0, 0.0], [1.0, 2.0], 0.0),           # all zero
    one([float("inf")], [1.0]),
    one([1.0], [float("nan")]),
]))
"""


def test_sums_are_rounded_once_to_nearest_even(rt, results):
    """Where the aligned inputs are exact (values within a binade of the largest), the result
    is the exact sum rounded once to float32, as float32(double sum) computes it here."""
    got = results(rt)["rounding"].value
    u = 2.0 ** -12
    v = 2.0 ** -23
    want = [_f32((1 + u) * (1 + u)), _f32((1 + u + v) * (1 + u)), _f32((1 + u) ** 2 - 1),
            1.5 * 1.75 - 1.25 * 1.5 + 0.75, -5.5, float("inf"), 0.0, 0.0]
    assert [_from_bits(g) for g in got[:8]] == want
    assert want[0] == 1 + 2 * u and want[1] == 1 + 2 * u + 2 * v    # the cases test what they say
    assert got[8:] == ["nonfinite", "nonfinite"]


def _f32(x):
    import struct
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _from_bits(bits):
    import struct
    return struct.unpack("<f", struct.pack("<I", bits))[0]


NET = """
import json, micronn
from micronn.rng import Random
r = Random(5)
X = [[r.uniform(-1, 1) for _ in range(16)] for _ in range(6)]
Y = [[r.uniform(0, 1) for _ in range(4)] for _ in range(6)]
def make(fast, act="sigmoid", out="sigmoid", bias=True):
    net = micronn.Network([16, 32, 32, 4], activation=act, output=out, bias=bias, seed=3)
    net.fast = fast
    return net
"""


PAIRS = [("sigmoid", "sigmoid"), ("relu", "linear"), ("tanh", "softmax")]
for pair in PAIRS:
    CASES["net", pair] = NET + """
res = []
for fast in (True, False):
    net = make(fast, %r, %r)
    res.append([net.predict(X[0]), net.predict_many(X), net.evaluate(X, Y, "mse")])
print(json.dumps(res))
""" % pair


@pytest.mark.parametrize("act,out", PAIRS)
def test_network_predictions_match_the_float_path(rt, results, act, out):
    (p1, m1, e1), (p0, m0, e0) = results(rt)["net", (act, out)].value
    for a, b in zip([p1] + m1, [p0] + m0):
        for g, f in zip(a, b):
            assert abs(g - f) <= 1e-6 * max(1.0, abs(f))
    assert abs(e1 - e0) <= 1e-6


CASES["training"] = NET + """
res = []
first = None
for fast in (True, False):
    net = make(fast)
    loss = net.fit(X, Y, epochs=3, lr=0.2, loss="mse", batch_size=1, shuffle=False)
    loss2 = net.fit(X, Y, epochs=2, lr=0.2, loss="mse", batch_size=3, shuffle=False)
    res.append([loss, loss2])
    # the weights compared where they are (a float32 board's heap does not hold both sets as JSON)
    arrays = [a for L in net.layers for a in (L.W, L.b) if a is not None]
    if first is None:
        first = arrays
    else:
        res.append(max(abs(a[i] - b[i]) for a, b in zip(first, arrays) for i in range(len(a))))
        res.append(sum(len(a) for a in arrays))
print(json.dumps(res))
"""


def test_training_with_the_fast_forward_stays_with_the_float_path(rt, results):
    (l1, k1), (l0, k0), worst, count = results(rt)["training"].value
    assert abs(l1 - l0) <= 1e-6 and abs(k1 - k0) <= 1e-6
    assert count == 16 * 32 + 32 + 32 * 32 + 32 + 32 * 4 + 4       # every weight and bias compared
    assert worst <= 1e-6


CASES["fast"] = """
import json, micronn
print(json.dumps([micronn.Network([2, 2]).fast, micronn.Network([2, 2], dtype="d").fast]))
"""


def test_fast_is_on_under_viper_only(rt, results):
    assert results(rt)["fast"].value == [rt.kind == "micropython", False]


CASES["nonfinite"] = """
import json, micronn
net = micronn.Network([2, 3, 1], activation="relu", output="linear", seed=1)
net.fast = True
net.layers[0].W[1] = float("inf")      # set_weights would refuse it
print(json.dumps(str(net.predict([1.0, 1.0])[0])))
"""


def test_a_nonfinite_weight_falls_back_to_the_float_kernel(rt, results):
    assert results(rt)["nonfinite"].value in ("inf", "-inf", "nan")
