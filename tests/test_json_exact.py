"""JSON models read back bit for bit: float32 weights are written as the shortest decimal that
rounds back to them and read with integer arithmetic, so a float32 board (whose own float
formatting and parsing are not exact) keeps every bit, and every runtime reads every other's
files the same."""
import json
import random
import struct
from fractions import Fraction

import pytest

# a float32 network whose weights cover many binades, signs, subnormals and the float32 extremes
MAKE = """
import json, struct, micronn
from micronn.rng import Random
net = micronn.Network([6, 9, 4], seed=3)
r = Random(8)
L = net.layers[0]
for k in range(len(L.W)):
    L.W[k] = (r.random() - 0.5) * 10.0 ** (r.next32() %% 12 - 8)
special = [1e-40, -1.4e-45, 3.4028234e38, -1.17549435e-38, 0.1, 1.0, -0.0, 16777217.0, 2.5e-7]
for k, v in enumerate(special):
    L.W[k] = v
net.save(%r, format="json")
bits = [list(struct.unpack("<%%dI" %% len(p), bytes(p))) for p in net.buffers()]
print(json.dumps(bits))
"""

LOAD = """
import json, struct, micronn
net = micronn.load(%r)
print(json.dumps([list(struct.unpack("<%%dI" %% len(p), bytes(p))) for p in net.buffers()]))
"""


def test_a_json_model_reads_back_bit_for_bit(rt, tmp_path):
    path = str(tmp_path / "m.json")
    saved = rt.run(MAKE % path)
    assert rt.run(LOAD % path) == saved


@pytest.mark.parametrize("writer,reader", [("cpython", "micropython"), ("micropython", "cpython")])
def test_a_json_model_from_one_runtime_reads_the_same_on_the_other(request, tmp_path, writer, reader):
    w, r = request.getfixturevalue(writer), request.getfixturevalue(reader)
    path = str(tmp_path / "m.json")
    saved = w.run(MAKE % path)
    assert r.run(LOAD % path) == saved
    text = (tmp_path / "m.json").read_text()
    doc = json.loads(text)      # standard JSON, numbers included
    assert doc["format"] == "micronn" and doc["dtype"] == "f"


def bits(v):
    return struct.unpack("<I", struct.pack("<f", v))[0]


def test_decimals_are_the_shortest_that_round_back(cpython):
    """f32_text against CPython's own (correctly rounded) parsing, and f32_bits against
    struct's rounding of the same decimals, on random and edge float32 values."""
    r = random.Random(4)
    values = [0.0, 1.0, 0.1, -2.5, 1e-45, 1e-40, 1.1754943508222875e-38, 3.4028234663852886e38, 123456.7]
    while len(values) < 3000:
        b = r.getrandbits(32)
        if (b >> 23) & 0xFF != 255:
            values.append(struct.unpack("<f", struct.pack("<I", b))[0])
    decs = decimals(r)
    got = cpython.run("""
import json
from micronn import store
vals = json.loads(%r)
texts = [store.f32_text(v) for v in vals]
dec = json.loads(%r)
print(json.dumps([texts, [store.f32_bits(n, d, k) for n, d, k in dec]]))
""" % (json.dumps(values), json.dumps(decs)))
    texts, parsed = got
    for v, t in zip(values, texts):
        assert bits(float(t)) == bits(v), (v, t)
        digits = len(t.lstrip("-").split("e")[0].replace(".", "").strip("0"))
        assert digits <= 9
        if digits > 1:          # one digit fewer does not read back
            shorter = "%.*g" % (digits - 1, v)
            assert bits(float(shorter)) != bits(v), (v, t, shorter)
    for (neg, d, k), b in zip(decs, parsed):
        assert b == round32(neg, Fraction(d) * Fraction(10) ** k), (neg, d, k)


def round32(neg, v):
    """float32 bits of (-1)**neg * v (a Fraction >= 0) rounded to nearest even, exactly."""
    def nearest(x):             # to nearest integer, ties to even
        m = x.numerator // x.denominator
        rem = x - m
        return m + 1 if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and m & 1) else m
    if v < Fraction(2) ** -126:
        return (neg << 31) | nearest(v * Fraction(2) ** 149)     # subnormal (2**23: the least normal)
    e = 127
    while v >= Fraction(2) ** (e - 126):
        e += 1
    while v < Fraction(2) ** (e - 127):
        e -= 1
    m = nearest(v * Fraction(2) ** (150 - e))
    if m == 2 ** 24:
        m, e = 2 ** 23, e + 1
    if e >= 255:
        return (neg << 31) | 0x7F800000
    return (neg << 31) | (e << 23) | (m & 0x7FFFFF)


def decimals(r):
    """(sign, digits, exponent) triples: any decimal a person might write, ties included."""
    out = [(0, 1, -1), (0, 5, -46), (1, 14, -46), (0, 34028235, 31), (0, 34028236, 31), (0, 1, 39),
           (0, 16777217, 0), (0, 16777219, 0), (1, 33554435, 0), (0, 0, 0)]
    for _ in range(2000):
        out.append((r.getrandbits(1), r.getrandbits(r.randint(1, 60)), r.randint(-60, 30)))
    return out
