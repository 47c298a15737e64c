"""Training float32 networks on the integer kernels (exact.py) against exact arithmetic and
against the float kernels.

- exact.fma is the fused multiply-add rounded once to nearest even: checked against exact
  rational arithmetic (fractions) on random, tie and cancellation cases, and bit for bit between
  viper (64-bit and 32-bit ports) and plain Python.
- exact.squash (sigmoid, tanh) is within 2**-26 of the true value before its final rounding.
- Training with the integer kernels (net.fast, the default under viper) follows the float
  kernels (net.fast = False): the loss curve over 300 epochs within 1e-4 relative.
"""
import json
import math
import random
import struct
from fractions import Fraction

import pytest

from conftest import LIB, float64_only


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def value(b):
    """The exact value of float32 bits, subnormals counting as zero (as the kernels do)."""
    e = (b >> 23) & 0xFF
    if e == 0:
        return Fraction(0)
    v = Fraction((b & 0x7FFFFF) | 0x800000) * Fraction(2) ** (e - 150)
    return -v if b >> 31 else v


def round32(v):
    """v rounded to nearest even float32 bits; below the normal range 0, above it inf."""
    if v == 0:
        return 0
    sign = 1 if v < 0 else 0
    v = abs(v)
    e = v.numerator.bit_length() - v.denominator.bit_length() + 127
    while v * Fraction(2) ** (150 - e) >= 2 ** 24:
        e += 1
    while v * Fraction(2) ** (150 - e) < 2 ** 23:
        e -= 1
    s = v * Fraction(2) ** (150 - e)
    m = s.numerator // s.denominator
    rem = s - m
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and m & 1):
        m += 1
        if m == 2 ** 24:
            m, e = 2 ** 23, e + 1
    if e >= 255:
        return (sign << 31) | 0x7F800000
    return 0 if e <= 0 else (sign << 31) | (e << 23) | (m & 0x7FFFFF)


def fma_exact(a, g, x, neg):
    """What exact.fma must give for one element: float32(a +- g * x) rounded once."""
    if 255 in [(b >> 23) & 0xFF for b in (a, g, x)]:
        return 0x7FC00000
    p = value(g) * value(x)
    if p == 0:
        return a if (a >> 23) & 0xFF else 0
    return round32(value(a) - p if neg else value(a) + p)


def fma_cases(seed, n):
    """(a, g, x, neg) bits: random binades, products near -a (cancellation), a near the
    product's size, short mantissas (exact ties), zeros, extremes, inf and nan."""
    r = random.Random(seed)

    def rnd(lo=1, hi=254, short=False):
        e = r.randint(lo, hi)
        m = (r.getrandbits(4) << 19) | r.choice([0, 1, 1 << 10]) if short else r.getrandbits(23)
        return (r.getrandbits(1) << 31) | (e << 23) | m

    out = []
    for k in range(n):
        kind = k % 5
        neg = r.getrandbits(1)
        g, x = rnd(100, 150, kind == 3), rnd(100, 150, kind == 3)
        if kind == 0:
            a = rnd(90, 160)
        elif kind in (1, 3):            # |a| near |g x|: cancellation, ties
            e = ((g >> 23) & 0xFF) + ((x >> 23) & 0xFF) - 127 + r.randint(-3, 3)
            a = rnd(max(1, e - 1), min(254, e + 1), kind == 3)
        elif kind == 2:                 # a = -(g x) rounded, nudged by a few units
            p = round32(-value(g) * value(x) if not neg else value(g) * value(x))
            a = p + r.randint(-3, 3) if 0 < (p >> 23) & 0xFF < 254 else p
        else:
            a = r.choice([0, 1, bits(1.0), bits(-0.0), rnd(1, 30), rnd(220, 254), 0x7F800000, 0x7FC00000])
            g = r.choice([g, 0, bits(2.0 ** 100), bits(2.0 ** -100), 0x80000000])
        out.append((a & 0xFFFFFFFF, g, x, neg))
    return out


FMA = """
import array, json, struct
from micronn import exact
cases = json.loads(%r)
n = len(cases)
def arr(vals):
    return array.array("f", struct.unpack("<%%df" %% n, struct.pack("<%%dI" %% n, *vals)))
A, G, X = [arr([c[k] for c in cases]) for k in range(3)]
out = []
for neg in (0, 1):
    T = arr([0] * n)
    # element by element: one row per case (xrow 1, cols 1), each with its own g and x
    exact.fma(T, A, 1, G, X, n, 1, 1, neg)
    out.append(list(struct.unpack("<%%dI" %% n, bytes(T))))
print(json.dumps(out))
"""


def test_fma_is_the_exactly_rounded_fused_multiply_add(cpython):
    cases = fma_cases(1, 3000)
    got = cpython.run(FMA % json.dumps([c[:3] for c in cases]))
    for neg in (0, 1):
        want = [fma_exact(a, g, x, neg) for a, g, x, _ in cases]
        bad = [(cases[i], hex(got[neg][i]), hex(want[i])) for i in range(len(cases)) if got[neg][i] != want[i]]
        assert not bad, bad[:5]


def test_fma_gives_the_same_bits_under_viper(cpython, micropython):
    cases = json.dumps([c[:3] for c in fma_cases(2, 2000)])
    assert micropython.run(FMA % cases) == cpython.run(FMA % cases)


def test_fma_outer_product_and_constants(rt):
    """The shapes training uses: W -= g x (rows of g, columns of x), a scaled copy (has_a 0),
    1 - y y (has_a 2) and T aliasing its inputs."""
    got = rt.run("""
import array, json
from micronn import exact
W = array.array("f", [0.5, -0.25, 1.0, 0.0, 3.0, -2.0])
G = array.array("f", [0.125, -1.0])
X = array.array("f", [2.0, 0.5, 0.0])
exact.fma(W, W, 1, G, X, 2, 3, 0, 1)            # W[j][i] -= G[j] * X[i]
Y = array.array("f", [0.5, -0.75, 0.0])
R = array.array("f", [9.0] * 3)
exact.fma(R, R, 2, Y, Y, 3, 1, 1, 1)            # 1 - y * y
S = array.array("f", [7.0] * 3)
exact.fma(S, S, 0, array.array("f", [3.0]), X, 1, 3, 0, 0)     # 3 x
print(json.dumps([list(W), list(R), list(S)]))
""")
    assert got == [[0.25, -0.3125, 1.0, 2.0, 3.5, -2.0], [0.75, 0.4375, 1.0], [6.0, 1.5, 0.0]]


SQUASH = """
import array, json, struct
from micronn import exact
zs = json.loads(%r)                 # float32 bits: a float32 port's own parsing is not exact
n = len(zs)
out = []
for th in (0, 1):
    Y = array.array("f", struct.unpack("<%%df" %% n, struct.pack("<%%dI" %% n, *zs)))
    exact.squash(Y, len(Y), th, exact.table())
    out.append(list(struct.unpack("<%%dI" %% len(Y), bytes(Y))))
print(json.dumps(out))
"""


def squash_inputs():
    r = random.Random(3)
    zs = [0.0, 1e-30, -1e-9, 1e-4, 0.5, -0.5, 1.0, -2.5, 8.0, 15.9, 19.99, 20.0, 20.5, -25.0, 100.0,
          -1e30, 3e38]
    return [f32(z) for z in zs + [r.uniform(-22, 22) for _ in range(3000)] + [r.uniform(-0.2, 0.2) for _ in range(500)]]


def test_sigmoid_and_tanh_are_within_2e26_before_rounding(cpython):
    zs = squash_inputs()
    got = cpython.run(SQUASH % json.dumps([bits(z) for z in zs]))
    for th, row in enumerate(got):
        for z, b in zip(zs, row):
            y = struct.unpack("<f", struct.pack("<I", b))[0]
            want = math.tanh(z) if th else (1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z)))
            ulp = 2.0 ** (math.frexp(want)[1] - 24) if want else 0.0
            # the error bound (absolute, 2**-26 for sigmoid, twice that for tanh = 2 s(2z) - 1),
            # plus half a unit in the last place of the float32 result
            assert abs(y - want) <= (2 if th else 1) * 2.0 ** -26 + ulp / 2, (th, z, y, want)


def test_sigmoid_and_tanh_give_the_same_bits_under_viper(cpython, micropython):
    zs = json.dumps([bits(z) for z in squash_inputs()[:800]])
    assert micropython.run(SQUASH % zs) == cpython.run(SQUASH % zs)


def test_the_table_is_built_exactly(cpython):
    got = cpython.run("""
import json
from micronn import exact
print(json.dumps(list(exact.table())))
""")
    from decimal import Decimal, getcontext
    getcontext().prec = 60
    for n in range(0, len(got) // 2):
        e = (-Decimal(n) / exact_steps()).exp()
        s = 1 / (1 + e)
        assert abs(Decimal(got[2 * n]) - s * 2 ** 30) <= Decimal("0.5000001")
        assert abs(Decimal(got[2 * n + 1]) - s * (1 - s) / exact_steps() * 2 ** 30) <= Decimal("0.5000001")


def exact_steps():
    import sys
    sys.path.insert(0, str(LIB))
    from micronn import exact
    return exact.STEPS


# the bench's networks and a few more, trained with the integer kernels and with the float
# kernels from the same start; the loss of every epoch is recorded in a float64 array
CURVE = """
import array, json, micronn
from micronn.rng import Random
r = Random(12345)
X = [[r.random() for _ in range(%(n_in)d)] for _ in range(8)]
Y = [[1.0 if k == i %% %(n_out)d else 0.0 for k in range(%(n_out)d)] for i in range(8)]
curves = []
for fast in (True, False):
    net = micronn.Network(%(sizes)r, activation=%(act)r, output=%(out)r, seed=1)
    net.fast = fast
    hist = array.array("d", bytearray(8 * %(epochs)d))
    def cb(epoch, loss):
        hist[epoch - 1] = loss
    net.fit(X, Y, epochs=%(epochs)d, lr=%(lr)r, loss=%(loss)r, batch_size=%(bs)r, optimizer=%(opt)r,
            shuffle=%(shuffle)r, callback=cb)
    curves.append(list(hist))
print(json.dumps(curves))
"""

CURVES = {
    # name: sizes, hidden, output, loss, optimizer, batch size, lr, shuffle
    "bench-16-32-32-4": ([16, 32, 32, 4], "sigmoid", "sigmoid", "sse", "sgd", 1, 0.1, False),
    "bench-64-64-10": ([64, 64, 10], "sigmoid", "sigmoid", "sse", "sgd", 1, 0.1, False),
    "tanh-mse-shuffled": ([16, 24, 4], "tanh", "sigmoid", "mse", "sgd", 1, 0.3, True),
    "sigmoid-momentum": ([16, 20, 20, 4], "sigmoid", "linear", "mse", "momentum", 2, 0.02, False),
    "sigmoid-adam": ([16, 16, 4], "sigmoid", "sigmoid", "bce", "adam", 4, 0.01, True),
    # relu-like units: a rounding difference can flip a unit across its kink for one sample,
    # after which the two runs part by more than 1e-4 (as two float runs whose start differs by
    # one unit in the last place can); these two runs have no such flip
    "relu-softmax-minibatch": ([16, 32, 4], "relu", "softmax", "cce", "sgd", 4, 0.2, True),
    "leaky-momentum": ([16, 20, 20, 4], "leaky_relu", "sigmoid", "mse", "momentum", 2, 0.002, False),
}


@pytest.mark.parametrize("name", sorted(CURVES))
def test_the_loss_curve_over_300_epochs_follows_the_float_kernels(micropython, name):
    sizes, act, out, loss, opt, bs, lr, shuffle = CURVES[name]
    fast, ref = micropython.run(CURVE % dict(n_in=sizes[0], n_out=sizes[-1], sizes=sizes, act=act, out=out,
                                             epochs=300, lr=lr, loss=loss, bs=bs, opt=opt, shuffle=shuffle),
                                heap="2m", timeout=600)
    assert ref[-1] < 0.8 * ref[0], "the configuration should learn something"
    worst = max(abs(a - b) / abs(b) for a, b in zip(fast, ref))
    assert worst <= 1e-4, (name, worst)


def test_integer_training_gives_the_same_weights_under_viper_and_plain_python(cpython, micropython):
    float64_only(micropython)   # (each sample's output delta is computed in the runtime's floats)
    code = """
import json, micronn
from micronn.rng import Random
r = Random(7)
X = [[r.uniform(-1, 1) for _ in range(5)] for _ in range(6)]
Y = [[r.random() for _ in range(3)] for _ in range(6)]
out = []
for act, opt, bs in (("sigmoid", "sgd", 1), ("tanh", "momentum", 3), ("leaky_relu", "sgd", 2)):
    net = micronn.Network([5, 7, 3], activation=act, output="sigmoid", seed=2)
    net.fast = True             # the integer kernels, also under CPython (through the _upy shim)
    loss = net.fit(X, Y, epochs=3, lr=0.3, loss="mse", batch_size=bs, optimizer=opt)
    out.append([loss, net.get_weights(), net.predict_many(X)])
print(json.dumps(out))
"""
    a = cpython.run(code)
    b = micropython.run(code)
    for (la, wa, pa), (lb, wb, pb) in zip(a, b):
        assert wa == wb and pa == pb            # the integer kernels: the same bits everywhere
        assert abs(la - lb) <= 1e-6 * abs(la)   # the loss terms are summed in each runtime's float


DENSE = """
import array, json, struct
from micronn import exact
cases = json.loads(%r)              # float32 bits of inputs, weights and biases
out = []
for x, w, b in cases:
    n_in, n_out = len(x), len(b)
    f = lambda v: array.array("f", struct.unpack("<%%df" %% len(v), struct.pack("<%%dI" %% len(v), *v)))
    X, W, B = f(x), f(w), f(b)
    S = array.array("i", bytearray(8 * (max(n_in, n_out) + 1)))
    O = array.array("f", bytearray(4 * n_out))
    ex = exact.align(X, n_in, 1, S)
    ok = exact.dense(W, S, S, ex, n_in, W, B, 1, n_out, O, n_in, 1)
    T = array.array("f", bytearray(4 * n_in))       # and the transposed product, as backward runs it
    ed = exact.align(B, n_out, 0, S)
    okt = exact.dense(W, S, S, ed, n_out, W, W, 0, n_in, T, 1, n_in)
    out.append([ok, okt, list(array.array("I", bytes(O))), list(array.array("I", bytes(T)))])
print(json.dumps(out))
"""


def test_dense_gives_the_same_bits_under_viper(cpython, micropython):
    """The exact dense product (forward and transposed) on float32 bits: viper, 64- or 32-bit,
    and plain Python agree bit for bit."""
    r = random.Random(6)
    cases = []
    for n_in, n_out in ((1, 1), (3, 4), (31, 5), (32, 3), (33, 2), (64, 10), (100, 7)):
        x = [bits(r.uniform(-3, 3) * 10 ** r.randint(-3, 0)) for _ in range(n_in)]
        w = [bits(r.uniform(-0.7, 0.7) * 10 ** r.randint(-5, 0)) if r.random() > 0.1 else 0 for _ in range(n_in * n_out)]
        b = [bits(r.uniform(-1, 1)) for _ in range(n_out)]
        cases.append([x, w, b])
    code = DENSE % json.dumps(cases)
    got = micropython.run(code)
    assert got == cpython.run(code)
    assert all(ok == 1 and okt == 1 for ok, okt, _, _ in got)
