"""rows.py, the dense kernels as CPython runs them, against kernels.py's (the same source
everywhere else): the same results bit for bit, float32 and float64, with and without biases,
rows with a zero delta, and signed zeros, overflow and nan in the weights."""
import array
import json
import random
import sys

import pytest

from conftest import LIB

CASES = [(1, 1, 1), (3, 4, 0), (16, 32, 1), (32, 4, 1), (7, 5, 0), (5, 20, 0)]


def layer(r, n_in, n_out, tc, special=False, off=True):
    W = array.array(tc, [r.uniform(-0.8, 0.8) for _ in range(n_in * n_out)])
    if special:     # -0.0 in a row that does not change; a step past float32's range; nan
        W[0] = -0.0
        W[n_in * (n_out - 1)] = 3e38 if n_out > 1 else -0.0
        W[-1] = float("nan")
    b = array.array(tc, [r.uniform(-0.2, 0.2) for _ in range(n_out)])
    x = [r.uniform(-1, 1) for _ in range(n_in)]
    delta = [r.uniform(-0.5, 0.5) if j % 3 or not off else 0.0 for j in range(n_out)]
    return W, b, x, delta


@pytest.mark.parametrize("off", [True, False])     # with and without units that are off
@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("tc", ["f", "d"])
@pytest.mark.parametrize("n_in,n_out,has_b", CASES)
def test_rows_are_the_kernels_on_cpython(tc, n_in, n_out, has_b, special, off):
    sys.path.insert(0, str(LIB))
    from micronn import kernels, rows
    results = []
    for mod in (kernels, rows):
        r = random.Random(n_in * 100 + n_out)
        W, b, x, delta = layer(r, n_in, n_out, tc, special, off)
        if special:
            x[0] = -1e30 if n_in > 1 else x[0]
        out = [0.0] * n_out
        mod.dense_forward(x, W, b, has_b, n_in, n_out, out)
        dprev = [9.0] * n_in
        mod.dense_backward_sgd(x, W, b, has_b, n_in, n_out, delta, dprev, 1, 0.3)
        GW = array.array(tc, [r.uniform(-1, 1) for _ in range(n_in * n_out)])
        Gb = array.array(tc, [0.5] * n_out)
        dacc = [9.0] * n_in
        mod.dense_backward_acc(x, W, GW, Gb, has_b, n_in, n_out, delta, dacc, 1)
        mod.dense_backward_sgd(x, W, b, has_b, n_in, n_out, delta, None, 0, 0.1)    # the first layer
        results.append(json.dumps([out, list(W), list(b), dprev, list(GW), list(Gb), dacc]))
    assert results[0] == results[1]


@pytest.mark.parametrize("tc", ["f", "d"])
def test_load_row_is_the_kernels_on_cpython(tc):
    sys.path.insert(0, str(LIB))
    from micronn import kernels, rows
    row = [0.1, -0.0, 3, True, 1e39, -2.5e-45] * 2
    flat = array.array("d", row * 3)
    for src, off in ((row, 0), (tuple(row), 0), (flat, 6), (flat, 7), (array.array("f", row[:9]), 0)):
        n = min(len(row), len(src) - off)
        got = []
        for mod in (kernels, rows):
            a, longer, lst = array.array(tc, [7.0] * n), array.array(tc, [7.0] * (n + 2)), [7.0] * (n + 1)
            for dst in (a, longer, lst):
                mod.load_row(src, off, dst, n)
            got.append(repr([a, longer, lst]))
        assert got[0] == got[1]


def test_cpython_trains_with_rows(cpython):
    """A float32 network on CPython trains through rows.py, as a board's kernels would."""
    got = cpython.run("""
import json, micronn
from micronn import network, rows
net = micronn.Network([3, 4, 1], activation="sigmoid", output="sigmoid", bias=False, init="uniform", seed=1)
loss = net.fit([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], [0, 1, 1, 0], epochs=1500, lr=1.0, loss="sse")
print(json.dumps([network.dense is rows, loss]))
""")
    assert got[0] is True and got[1] < 0.05
